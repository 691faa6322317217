//! The benchmark corpus: N apps shaped like production inference servers, and one overlay over
//! all of them that exercises every transformer Kustomize users lean on. Shared by the render
//! benchmarks, `examples/corpus.rs` (which writes it to disk for `benches/compare.sh`) and
//! `tests/bench_corpus.rs` (which checks that Kustomize and we render it the same).
//!
//! Deterministic: the same N gives the same bytes, so runs on different machines compare.
//!
//! Layout (relative paths):
//! ```text
//! base/kustomization.yaml          lists every app's four files
//! base/appNNNN-{deployment,service,configmap,serviceaccount}.yaml
//! overlay/kustomization.yaml       namePrefix, labels (includeSelectors), commonAnnotations,
//!                                  images (newName+newTag, digest), configMapGenerator,
//!                                  one strategic-merge patch per Deployment, one JSON 6902
//!                                  patch reaching every Deployment through a labelSelector
//! overlay/patches/appNNNN.yaml     the per-Deployment strategic-merge patches
//! overlay/json6902.yaml            the JSON 6902 operations
//! overlay/shared.properties        the generated ConfigMap's file source
//! ```

#![allow(dead_code)] // each user of this module takes a different part of it

use std::fmt::Write as _;
use std::path::Path;

/// The corpus's files as `(relative path, contents)`, in a stable order.
pub fn files(n: usize) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(4 * n + 5);
    let mut base = String::from("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n");
    let mut patches = String::new();
    for i in 0..n {
        let app = app_name(i);
        for (kind, text) in [
            ("deployment", deployment(&app, i)),
            ("service", service(&app)),
            ("configmap", configmap(&app, i)),
            ("serviceaccount", service_account(&app)),
        ] {
            let _ = writeln!(base, "- {app}-{kind}.yaml");
            out.push((format!("base/{app}-{kind}.yaml"), text));
        }
        let _ = writeln!(patches, "- path: patches/{app}.yaml");
        out.push((format!("overlay/patches/{app}.yaml"), smp_patch(&app, i)));
    }
    out.push(("base/kustomization.yaml".into(), base));
    out.push(("overlay/kustomization.yaml".into(), overlay(&patches)));
    out.push(("overlay/json6902.yaml".into(), JSON6902.into()));
    out.push(("overlay/shared.properties".into(), SHARED_PROPERTIES.into()));
    out
}

/// Writes the corpus under `dir` (which it creates); the overlay to build is `dir/overlay`.
pub fn write(n: usize, dir: &Path) -> std::io::Result<()> {
    for (rel, text) in files(n) {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(())
}

/// Resources the overlay renders for `n` apps: four per app plus the generated ConfigMap.
pub fn resource_count(n: usize) -> usize {
    4 * n + 1
}

fn app_name(i: usize) -> String {
    format!("app{i:04}")
}

fn deployment(app: &str, i: usize) -> String {
    let port = 8000 + (i % 1000);
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {app}
  labels:
    app.kubernetes.io/name: {app}
    app.kubernetes.io/component: inference
    tier: inference
spec:
  replicas: 2
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: {app}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {app}
        tier: inference
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "{port}"
    spec:
      serviceAccountName: {app}
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        fsGroup: 2000
        seccompProfile:
          type: RuntimeDefault
      initContainers:
      - name: fetch-model
        image: registry.example.com/tools/model-fetcher:1.4.2
        command: ["/bin/fetch", "--dest", "/models", "--model", "{app}"]
        volumeMounts:
        - name: models
          mountPath: /models
        resources:
          requests: {{cpu: 100m, memory: 128Mi}}
          limits: {{cpu: 500m, memory: 256Mi}}
      containers:
      - name: server
        image: registry.example.com/dimtensor/server:4.1.0
        args: ["serve", "--port", "{port}", "--models", "/models"]
        ports:
        - name: http
          containerPort: {port}
          protocol: TCP
        - name: metrics
          containerPort: 9090
          protocol: TCP
        env:
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: POD_IP
          valueFrom:
            fieldRef:
              fieldPath: status.podIP
        - name: MEMORY_LIMIT
          valueFrom:
            resourceFieldRef:
              containerName: server
              resource: limits.memory
        - name: DIMTENSOR_WORKERS
          value: "4"
        envFrom:
        - configMapRef:
            name: {app}
        - configMapRef:
            name: shared-config
        startupProbe:
          httpGet: {{path: /healthz, port: http}}
          failureThreshold: 30
          periodSeconds: 10
        readinessProbe:
          httpGet: {{path: /ready, port: http}}
          periodSeconds: 5
        livenessProbe:
          httpGet: {{path: /healthz, port: http}}
          initialDelaySeconds: 15
          periodSeconds: 20
        resources:
          requests: {{cpu: "2", memory: 8Gi, nvidia.com/gpu: 1}}
          limits: {{cpu: "4", memory: 16Gi, nvidia.com/gpu: 1}}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities:
            drop: [ALL]
        volumeMounts:
        - name: models
          mountPath: /models
          readOnly: true
        - name: config
          mountPath: /etc/dimtensor
        - name: shared
          mountPath: /etc/shared
        - name: cache
          mountPath: /var/cache/dimtensor
      - name: metrics-proxy
        image: registry.example.com/dimtensor/metrics-proxy:0.9.1
        ports:
        - name: proxy
          containerPort: 9091
        resources:
          requests: {{cpu: 50m, memory: 64Mi}}
          limits: {{cpu: 200m, memory: 128Mi}}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions:
              - key: nvidia.com/gpu.present
                operator: In
                values: ["true"]
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              topologyKey: kubernetes.io/hostname
              labelSelector:
                matchLabels:
                  app.kubernetes.io/name: {app}
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: topology.kubernetes.io/zone
        whenUnsatisfiable: ScheduleAnyway
        labelSelector:
          matchLabels:
            app.kubernetes.io/name: {app}
      tolerations:
      - key: nvidia.com/gpu
        operator: Exists
        effect: NoSchedule
      volumes:
      - name: models
        emptyDir:
          sizeLimit: 20Gi
      - name: config
        configMap:
          name: {app}
      - name: shared
        configMap:
          name: shared-config
      - name: cache
        emptyDir:
          medium: Memory
          sizeLimit: 1Gi
"#
    )
}

fn service(app: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Service
metadata:
  name: {app}
  labels:
    app.kubernetes.io/name: {app}
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: {app}
  ports:
  - name: http
    port: 80
    targetPort: http
  - name: metrics
    port: 9090
    targetPort: metrics
"#
    )
}

fn configmap(app: &str, i: usize) -> String {
    format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: {app}
  labels:
    app.kubernetes.io/name: {app}
data:
  DIMTENSOR_MODEL: {app}
  DIMTENSOR_BATCH_SIZE: "{batch}"
  DIMTENSOR_UNITS: SI
"#,
        batch = 8 << (i % 4)
    )
}

fn service_account(app: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: ServiceAccount
metadata:
  name: {app}
  labels:
    app.kubernetes.io/name: {app}
"#
    )
}

fn smp_patch(app: &str, i: usize) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {app}
spec:
  replicas: {replicas}
  template:
    spec:
      containers:
      - name: server
        env:
        - name: DIMTENSOR_SHARD
          value: "{i}"
        volumeMounts:
        - name: scratch
          mountPath: /scratch
      tolerations:
      - key: dedicated
        operator: Equal
        value: inference
        effect: NoSchedule
      volumes:
      - name: scratch
        emptyDir: {{}}
"#,
        replicas = 3 + i % 3
    )
}

fn overlay(patches: &str) -> String {
    format!(
        r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../base
namePrefix: prod-
labels:
- pairs:
    env: production
    team: physics-ml
  includeSelectors: true
commonAnnotations:
  owner: ml-platform@example.com
  cost-center: "4711"
images:
- name: registry.example.com/dimtensor/server
  newName: registry.prod.example.com/dimtensor/server
  newTag: 4.2.0
- name: registry.example.com/dimtensor/metrics-proxy
  digest: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
configMapGenerator:
- name: shared-config
  files:
  - shared.properties
  literals:
  - DIMTENSOR_REGION=eu-west-1
patches:
{patches}- path: json6902.yaml
  target:
    group: apps
    version: v1
    kind: Deployment
    labelSelector: tier=inference
"#
    )
}

const JSON6902: &str = r#"- op: add
  path: /spec/template/spec/priorityClassName
  value: inference-high
- op: replace
  path: /spec/revisionHistoryLimit
  value: 10
- op: add
  path: /spec/template/metadata/annotations/dimtensor.io~1patched
  value: "json6902"
"#;

const SHARED_PROPERTIES: &str = "log.level=info\nlog.format=json\nmetrics.enabled=true\n";
