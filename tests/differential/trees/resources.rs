//! The base: workloads and what goes with them (Services, ConfigMaps, Secrets, ServiceAccounts,
//! HPAs, PVCs, Ingresses, RBAC, PDBs, NetworkPolicies, a custom resource), in one or several
//! files, plus the base kustomization.

use super::{layers, yaml, Made, Rng, World};
use serde_json::{json, Map, Value};

const APPS: &[&str] = &["web", "api", "worker", "cache", "billing"];
const IMAGES: &[&str] = &["nginx", "registry.example.com/team/app", "busybox", "ghcr.io/acme/api"];
const TAGS: &[&str] = &["1.0", "1.25.3", "2024.1", "stable"];

fn made(api_version: &'static str, kind: &'static str, name: &str, body: Value) -> Made {
    Made {
        api_version,
        kind,
        name: name.to_string(),
        containers: Vec::new(),
        images: Vec::new(),
        keys: Vec::new(),
        body,
    }
}

fn labels(app: &str) -> Value {
    json!({"app": app})
}

fn container(rng: &mut Rng, name: &str, image: &str, config: Option<&str>) -> Value {
    let mut c = Map::new();
    c.insert("name".into(), json!(name));
    let reference = match rng.below(8) {
        0 => format!("{image}@sha256:{}", "ab".repeat(32)),
        1 => image.to_string(),
        _ => format!("{image}:{}", rng.pick(TAGS)),
    };
    c.insert("image".into(), json!(reference));
    if rng.chance(50) {
        let port = [8080, 9090, 3000][rng.below(3)];
        let mut p = json!({"containerPort": port});
        if rng.chance(50) {
            p["name"] = json!("http");
        }
        c.insert("ports".into(), json!([p]));
    }
    let mut env = Vec::new();
    if rng.chance(40) {
        env.push(json!({"name": "MODE", "value": *rng.pick(&["fast", "safe", "debug"])}));
    }
    if let (Some(cm), true) = (config, rng.chance(50)) {
        env.push(json!({"name": "SETTING", "valueFrom": {"configMapKeyRef": {"name": cm, "key": "mode"}}}));
    }
    if !env.is_empty() {
        c.insert("env".into(), Value::Array(env));
    }
    if let (Some(cm), true) = (config, rng.chance(30)) {
        c.insert("envFrom".into(), json!([{"configMapRef": {"name": cm}}]));
    }
    if rng.chance(30) {
        c.insert("resources".into(), json!({"limits": {"cpu": "500m", "memory": "256Mi"}}));
    }
    Value::Object(c)
}

/// A Deployment, Job or CronJob named `app` with one or two containers.
fn workload(
    rng: &mut Rng,
    app: &str,
    config: Option<&str>,
    sa: Option<&str>,
    claim: Option<&str>,
    settings: bool,
) -> Made {
    let image = *rng.pick(IMAGES);
    let mut containers = vec![container(rng, "main", image, config)];
    let mut names = vec!["main".to_string()];
    let mut images = vec![image.to_string()];
    if rng.chance(30) {
        let side = *rng.pick(IMAGES);
        containers.push(container(rng, "sidecar", side, None));
        names.push("sidecar".into());
        images.push(side.to_string());
    }
    if settings {
        // The base's generated ConfigMap: its hashed name must reach this reference.
        containers[0]["envFrom"] = json!([{"configMapRef": {"name": "settings"}}]);
    }
    let mut pod = Map::new();
    pod.insert("containers".into(), Value::Array(containers));
    if let Some(sa) = sa {
        pod.insert("serviceAccountName".into(), json!(sa));
    }
    let mut volumes = Vec::new();
    if let (Some(cm), true) = (config, rng.chance(40)) {
        volumes.push(json!({"name": "config", "configMap": {"name": cm}}));
    }
    if let Some(claim) = claim {
        volumes.push(json!({"name": "data", "persistentVolumeClaim": {"claimName": claim}}));
    }
    if !volumes.is_empty() {
        pod.insert("volumes".into(), Value::Array(volumes));
    }
    if rng.chance(15) {
        pod.insert(
            "affinity".into(),
            json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                    "labelSelector": {"matchLabels": labels(app)}}}]}}),
        );
    }
    let template = json!({"metadata": {"labels": labels(app)}, "spec": Value::Object(pod)});
    let (api_version, kind, body) = match rng.below(10) {
        0 => {
            let mut t = template;
            t["spec"]["restartPolicy"] = json!("Never");
            (
                "batch/v1",
                "Job",
                json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": app},
                "spec": {"backoffLimit": 2, "template": t}}),
            )
        }
        1 => {
            let mut t = template;
            t["spec"]["restartPolicy"] = json!("OnFailure");
            (
                "batch/v1",
                "CronJob",
                json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": app},
                "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": t}}}}),
            )
        }
        2 => {
            let mut spec = json!({"selector": {"matchLabels": labels(app)}, "template": template, "serviceName": app});
            if rng.chance(50) {
                spec["volumeClaimTemplates"] = json!([{"metadata": {"name": "state"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]);
            }
            (
                "apps/v1",
                "StatefulSet",
                json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": app, "labels": labels(app)}, "spec": spec}),
            )
        }
        _ => {
            let mut spec = json!({"selector": {"matchLabels": labels(app)}, "template": template});
            if rng.chance(60) {
                spec["replicas"] = json!(1 + rng.below(3));
            }
            (
                "apps/v1",
                "Deployment",
                json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": app, "labels": labels(app)}, "spec": spec}),
            )
        }
    };
    Made { containers: names, images, ..made(api_version, kind, app, body) }
}

fn config_map(rng: &mut Rng, name: &str) -> Made {
    let mut data = Map::new();
    data.insert("mode".into(), json!(*rng.pick(&["fast", "safe"])));
    if rng.chance(50) {
        data.insert("level".into(), json!(format!("{}", rng.below(5))));
    }
    let keys = data.keys().cloned().collect();
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data});
    Made { keys, ..made("v1", "ConfigMap", name, body) }
}

/// Writes the base: resources in one or several files and `base/kustomization.yaml`.
pub fn base(rng: &mut Rng, world: &mut World, files: &mut Vec<(String, String)>) {
    let app = *rng.pick(APPS);
    let config = format!("{app}-config");
    let has_config = rng.chance(60);
    let sa = rng.chance(40).then(|| format!("{app}-runner"));
    let claim = rng.chance(20).then(|| format!("{app}-data"));
    let settings = rng.chance(35);
    world.settings = settings;
    let work = workload(rng, app, has_config.then_some(config.as_str()), sa.as_deref(), claim.as_deref(), settings);
    let is_deployment = work.kind == "Deployment";
    let mut all = vec![work];
    if has_config {
        all.push(config_map(rng, &config));
    }
    if let Some(sa) = &sa {
        all.push(made(
            "v1",
            "ServiceAccount",
            sa,
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa}}),
        ));
        if rng.chance(40) {
            let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": sa},
                "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]});
            all.push(made("rbac.authorization.k8s.io/v1", "Role", sa, role));
            let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": sa},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": sa},
                "subjects": [{"kind": "ServiceAccount", "name": sa}]});
            all.push(made("rbac.authorization.k8s.io/v1", "RoleBinding", sa, binding));
        }
    }
    if let Some(claim) = &claim {
        let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": claim},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
        all.push(made("v1", "PersistentVolumeClaim", claim, pvc));
    }
    if rng.chance(25) {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": format!("{app}-token")},
            "type": "Opaque", "stringData": {"token": "s3cr3t"}});
        all.push(Made { keys: vec!["token".into()], ..made("v1", "Secret", &format!("{app}-token"), secret) });
    }
    if is_deployment && rng.chance(60) {
        let mut port = json!({"port": 80, "targetPort": 8080});
        if rng.chance(50) {
            port["name"] = json!("http");
        }
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "labels": labels(app)},
            "spec": {"selector": labels(app), "ports": [port]}});
        all.push(made("v1", "Service", app, svc));
        if rng.chance(25) {
            let ing = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": app},
                "spec": {"rules": [{"host": format!("{app}.example.com"), "http": {"paths": [{"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": app, "port": {"number": 80}}}}]}}]}});
            all.push(made("networking.k8s.io/v1", "Ingress", app, ing));
        }
    }
    if is_deployment && rng.chance(20) {
        let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": app},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                "minReplicas": 2, "maxReplicas": 5}});
        all.push(made("autoscaling/v2", "HorizontalPodAutoscaler", app, hpa));
    }
    if rng.chance(15) {
        let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": app},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": labels(app)}}});
        all.push(made("policy/v1", "PodDisruptionBudget", app, pdb));
    }
    if rng.chance(15) {
        let np = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": app},
            "spec": {"podSelector": {"matchLabels": labels(app)}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "frontend"}}}]}]}});
        all.push(made("networking.k8s.io/v1", "NetworkPolicy", app, np));
    }
    if rng.chance(15) {
        let w = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": app},
            "spec": {"size": 3, "color": "blue", "items": [{"name": "a", "weight": 1}]}});
        all.push(made("example.com/v1", "Widget", app, w));
    }

    // Files: one per resource, or all in one multi-document file.
    let mut listed = Vec::new();
    if rng.chance(8) {
        let items: Vec<Value> = all.iter().map(|m| m.body.clone()).collect();
        files.push(("base/list.yaml".into(), yaml(&json!({"apiVersion": "v1", "kind": "List", "items": items}))));
        listed.push("list.yaml".to_string());
    } else if rng.chance(30) {
        let text: Vec<String> = all.iter().map(|m| yaml(&m.body)).collect();
        files.push(("base/all.yaml".into(), text.join("---\n")));
        listed.push("all.yaml".to_string());
    } else {
        for m in &all {
            let file = format!("{}-{}.yaml", m.kind.to_lowercase(), m.name);
            files.push((format!("base/{file}"), yaml(&m.body)));
            listed.push(file);
        }
    }
    world.resources = all;
    let mut k = Map::new();
    k.insert("resources".into(), json!(listed));
    layers::base_transformers(rng, world, &mut k, files);
    files.push(("base/kustomization.yaml".into(), yaml(&Value::Object(k))));
}

/// A second, small base (`extra/`): another app's ConfigMap and Service, with its own prefix, so
/// overlays that list two bases are covered.
pub fn second_base(rng: &mut Rng, files: &mut Vec<(String, String)>) {
    let app = *rng.pick(&["search", "audit"]);
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("{app}-config")}, "data": {"mode": "fast"}});
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": app},
        "spec": {"selector": labels(app), "ports": [{"port": 80}]}});
    files.push(("extra/resources.yaml".into(), format!("{}---\n{}", yaml(&cm), yaml(&svc))));
    let mut k = json!({"resources": ["resources.yaml"]});
    if rng.chance(50) {
        k["namePrefix"] = json!("x-");
    }
    if rng.chance(30) {
        k["commonLabels"] = json!({"app": app});
    }
    files.push(("extra/kustomization.yaml".into(), yaml(&k)));
}
