//! Render benchmark: generates N apps (a Deployment, Service, ConfigMap and ServiceAccount each,
//! plus an overlay with a prefix, labels, images, a generator and one patch per Deployment) and
//! times `overlay::build` on them, to show rendering stays linear in the number of resources.
//!
//! Run: `cargo bench --bench render` (add `-- 1000` for a larger N). Prints the median of
//! several runs per N and the time per resource.

use dimtensor::load::MemFs;
use dimtensor::overlay;
use std::path::Path;
use std::time::{Duration, Instant};

fn corpus(n: usize) -> MemFs {
    let mut fs = MemFs::new();
    let mut resources = String::from("resources:\n");
    let mut patches = String::from("patches:\n");
    for i in 0..n {
        let app = format!("app{i:04}");
        fs.insert(format!("/c/base/{app}-deploy.yaml"), format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\n  labels: {{app: {app}, tier: ml}}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: {app}}}\n  template:\n    metadata:\n      labels: {{app: {app}}}\n    spec:\n      serviceAccountName: {app}\n      initContainers:\n      - name: init\n        image: busybox:1.36\n      containers:\n      - name: server\n        image: docker.io/dimtensor:latest\n        ports: [{{name: http, containerPort: 8080}}]\n        env:\n        - {{name: POD, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}\n        envFrom: [{{configMapRef: {{name: {app}}}}}]\n        resources: {{limits: {{nvidia.com/gpu: 1}}}}\n        volumeMounts: [{{name: cfg, mountPath: /config}}]\n      - name: sidecar\n        image: docker.io/envoy:v1\n      volumes:\n      - {{name: cfg, configMap: {{name: {app}}}}}\n      tolerations: [{{key: gpu, operator: Exists}}]\n"));
        fs.insert(format!("/c/base/{app}-svc.yaml"), format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: {app}\nspec:\n  selector: {{app: {app}}}\n  ports: [{{name: http, port: 80, targetPort: http}}]\n"));
        fs.insert(
            format!("/c/base/{app}-cm.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {app}\ndata:\n  mode: fast\n"),
        );
        fs.insert(
            format!("/c/base/{app}-sa.yaml"),
            format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {app}\n"),
        );
        for kind in ["deploy", "svc", "cm", "sa"] {
            resources.push_str(&format!("- {app}-{kind}.yaml\n"));
        }
        patches.push_str(&format!("- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: {app}\n    spec:\n      replicas: 3\n      template:\n        spec:\n          containers:\n          - name: server\n            env:\n            - name: EXTRA\n              value: \"1\"\n"));
    }
    fs.insert("/c/base/kustomization.yaml", resources);
    fs.insert(
        "/c/overlay/kustomization.yaml",
        format!("resources: [../base]\nnamePrefix: prod-\nlabels:\n- pairs: {{team: physics}}\n  includeSelectors: true\ncommonAnnotations: {{owner: ml}}\nimages:\n- name: docker.io/dimtensor\n  newTag: 4.2.0\nconfigMapGenerator:\n- name: shared\n  literals: [a=b]\n{patches}"),
    );
    fs
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![1, 10, 100, 500] } else { sizes };
    println!("{:>6} {:>10} {:>12} {:>14}", "apps", "resources", "median", "per resource");
    for n in sizes {
        let fs = corpus(n);
        let runs = if n >= 500 { 3 } else { 7 };
        let mut times = Vec::new();
        let mut count = 0;
        for _ in 0..runs {
            let start = Instant::now();
            let set = overlay::build(&fs, Path::new("/c/overlay")).expect("corpus builds");
            times.push(start.elapsed());
            count = set.len();
        }
        let m = median(times);
        println!(
            "{n:>6} {count:>10} {:>10.2}ms {:>12.1}µs",
            m.as_secs_f64() * 1e3,
            m.as_secs_f64() * 1e6 / count as f64
        );
    }
}
