//! Patches of every kind (strategic merge inline, from files and legacy; JSON 6902 inline, from
//! files and legacy; targets by name, kind, regex and label selector; renames) and
//! replacements, aimed at the resources the base made.

use super::{yaml, Made, Rng, World};
use serde_json::{json, Map, Value};

/// The pod spec's path in a workload's body.
fn pod_path(kind: &str) -> &'static [&'static str] {
    match kind {
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => &["spec", "template", "spec"],
    }
}

/// `{a: {b: {c: leaf}}}` for the path `a.b.c`.
fn nest(path: &[&str], leaf: Value) -> Value {
    path.iter().rev().fold(leaf, |acc, k| Value::Object([(k.to_string(), acc)].into_iter().collect()))
}

fn merge_into(dst: &mut Value, src: Value) {
    match (dst, src) {
        (Value::Object(d), Value::Object(s)) => {
            for (k, v) in s {
                match d.get_mut(&k) {
                    Some(existing) => merge_into(existing, v),
                    None => {
                        d.insert(k, v);
                    }
                }
            }
        }
        (d, s) => *d = s,
    }
}

/// The body of a strategic-merge patch for `m` (without its header).
fn smp_body(rng: &mut Rng, m: &Made) -> Value {
    let container = m.containers.first().cloned().unwrap_or_else(|| "main".into());
    match m.kind {
        "Deployment" | "Job" | "CronJob" | "StatefulSet" => {
            let pod = pod_path(m.kind);
            match rng.below(12) {
                0 if m.kind == "Deployment" => json!({"spec": {"replicas": 2 + rng.below(4)}}),
                1 => nest(pod, json!({"containers": [{"name": container, "image": "nginx:1.27"}]})),
                2 => nest(pod, json!({"containers": [{"name": container, "env": [{"name": "EXTRA", "value": "1"}]}]})),
                3 => nest(
                    pod,
                    json!({"containers": [{"name": format!("extra{}", rng.serial()), "image": "busybox:1.36"}]}),
                ),
                4 if m.containers.len() > 1 => {
                    nest(pod, json!({"containers": [{"name": m.containers[1], "$patch": "delete"}]}))
                }
                5 => json!({"metadata": {"labels": {"tier": "backend"}, "annotations": {"patched": "true"}}}),
                6 => {
                    let mut p = nest(&pod[..pod.len() - 1], json!({"metadata": {"labels": {"version": "v2"}}}));
                    merge_into(&mut p, json!({"metadata": {"labels": {"tier": "backend"}}}));
                    p
                }
                7 => {
                    nest(pod, json!({"containers": [{"name": container, "resources": {"limits": {"memory": "1Gi"}}}]}))
                }
                8 => nest(
                    pod,
                    json!({"containers": [{"name": container, "ports": [{"containerPort": 9090, "name": "metrics"}]}]}),
                ),
                9 => nest(
                    pod,
                    json!({"volumes": [{"name": "scratch", "emptyDir": {}}], "nodeSelector": {"disk": "ssd"}}),
                ),
                10 => nest(pod, json!({"tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]})),
                _ => nest(pod, json!({"serviceAccountName": "runner", "securityContext": {"runAsNonRoot": true}})),
            }
        }
        "Service" => match rng.below(3) {
            0 => json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}),
            1 => json!({"spec": {"type": "NodePort"}}),
            _ => json!({"spec": {"ports": [{"port": 443, "targetPort": 8443, "name": "https"}]}}),
        },
        "ConfigMap" => match rng.below(3) {
            0 => json!({"data": {"extra": "yes-please"}}),
            1 if m.keys.len() > 1 => nest(&["data", &m.keys[1]], Value::Null),
            _ => json!({"data": {"mode": "patched"}}),
        },
        "Secret" => json!({"stringData": {"extra": "value"}}),
        "Widget" => match rng.below(2) {
            0 => json!({"spec": {"size": 7}}),
            _ => json!({"spec": {"items": [{"name": "b", "weight": 2}]}}),
        },
        _ => json!({"metadata": {"annotations": {"patched": "true"}}}),
    }
}

fn smp(rng: &mut Rng, m: &Made, name: &str) -> Value {
    let mut p = json!({"apiVersion": m.api_version, "kind": m.kind, "metadata": {"name": name}});
    let small = matches!(m.kind, "PodDisruptionBudget" | "NetworkPolicy" | "Secret" | "ConfigMap" | "Widget");
    match rng.below(12) {
        0 if small => p["$patch"] = json!("delete"),
        _ => merge_into(&mut p, smp_body(rng, m)),
    }
    p
}

/// JSON 6902 operations for `m`; some fail on purpose (a missing parent, a missing key).
fn ops(rng: &mut Rng, m: &Made) -> Value {
    let pod = format!("/{}", pod_path(m.kind).join("/"));
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let op = match (m.kind, rng.below(9)) {
            ("Deployment", 0) => json!({"op": "replace", "path": "/spec/replicas", "value": 4}),
            ("Deployment" | "Job" | "CronJob" | "StatefulSet", 1) => {
                json!({"op": "replace", "path": format!("{pod}/containers/0/image"), "value": "nginx:1.27"})
            }
            ("Deployment" | "Job" | "CronJob" | "StatefulSet", 2) => {
                let name = format!("extra{}", rng.serial());
                json!({"op": "add", "path": format!("{pod}/containers/-"), "value": {"name": name, "image": "busybox:1.36"}})
            }
            ("Deployment" | "Job" | "CronJob" | "StatefulSet", 3) => {
                json!({"op": "add", "path": format!("{pod}/nodeSelector"), "value": {"disk": "ssd"}})
            }
            ("Deployment" | "Job" | "CronJob" | "StatefulSet", 4) => {
                json!({"op": "add", "path": format!("{pod}/nodeSelector/disk"), "value": "ssd"})
            }
            ("ConfigMap", 0 | 1) => json!({"op": "add", "path": "/data/extra", "value": "x"}),
            ("ConfigMap", 2) => json!({"op": "replace", "path": "/data/mode", "value": "slow"}),
            ("ConfigMap", 3) => json!({"op": "remove", "path": "/data/level"}),
            ("ConfigMap", 4) => json!({"op": "copy", "from": "/data/mode", "path": "/data/copy"}),
            ("Service", 0 | 1) => json!({"op": "replace", "path": "/spec/ports/0/port", "value": 8080}),
            ("Service", 2) => json!({"op": "add", "path": "/spec/type", "value": "ClusterIP"}),
            ("Deployment" | "Job" | "CronJob" | "StatefulSet", 5) if m.containers.len() > 1 => {
                json!({"op": "move", "from": format!("{pod}/containers/1"), "path": format!("{pod}/containers/0")})
            }
            ("Deployment" | "StatefulSet", 6) => {
                json!({"op": "remove", "path": format!("{pod}/containers/0/env")})
            }
            ("Deployment" | "StatefulSet", 7) => {
                json!({"op": "add", "path": format!("{pod}/containers/0/args"), "value": ["--verbose"]})
            }
            (_, 5) => json!({"op": "add", "path": "/metadata/annotations/owner", "value": "ml-team"}),
            (_, 6) => json!({"op": "add", "path": "/metadata/labels/tier", "value": "backend"}),
            (_, 7) => json!({"op": "copy", "from": "/metadata/name", "path": "/metadata/annotations/original-name"}),
            (_, _) => json!({"op": "test", "path": "/kind", "value": m.kind}),
        };
        out.push(op);
    }
    Value::Array(out)
}

/// A `target` choosing `m`: by kind and name, kind only, a name regex, or a label selector.
fn target(rng: &mut Rng, m: &Made) -> Value {
    match rng.below(7) {
        5 => json!({"kind": m.kind, "annotationSelector": "patched!=no"}),
        0 => json!({"kind": m.kind}),
        1 => json!({"kind": m.kind, "name": format!("{}.*", &m.name[..2])}),
        2 if m.body["metadata"]["labels"]["app"].is_string() => {
            json!({"labelSelector": format!("app={}", m.body["metadata"]["labels"]["app"].as_str().unwrap_or(""))})
        }
        3 => {
            json!({"group": m.api_version.split_once('/').map(|(g, _)| g).unwrap_or(""), "version": m.api_version.rsplit('/').next().unwrap_or(""), "kind": m.kind, "name": m.name})
        }
        _ => json!({"kind": m.kind, "name": m.name}),
    }
}

/// One to three patch entries in `k` (and the files they name under `dir`).
pub fn add(rng: &mut Rng, world: &World, k: &mut Map<String, Value>, dir: &str, files: &mut Vec<(String, String)>) {
    if world.resources.is_empty() {
        return;
    }
    let mut patches = Vec::new();
    let mut legacy_smp = Vec::new();
    let mut legacy_json = Vec::new();
    for i in 0..1 + rng.below(3) {
        let m = &world.resources[rng.below(world.resources.len())];
        match rng.below(10) {
            0..=2 => patches.push(json!({"patch": yaml(&smp(rng, m, &m.name))})),
            3 => {
                let file = format!("smp-{i}.yaml");
                files.push((format!("{dir}/{file}"), yaml(&smp(rng, m, &m.name))));
                patches.push(json!({"path": file}));
            }
            4 => patches.push(json!({"target": target(rng, m), "patch": yaml(&smp(rng, m, "placeholder"))})),
            5 | 6 => patches.push(json!({"target": target(rng, m), "patch": yaml(&ops(rng, m))})),
            7 => {
                let file = format!("ops-{i}.yaml");
                files.push((format!("{dir}/{file}"), yaml(&ops(rng, m))));
                legacy_json.push(json!({"target": {"version": m.api_version.rsplit('/').next().unwrap_or("v1"),
                    "group": m.api_version.split_once('/').map(|(g, _)| g).unwrap_or(""), "kind": m.kind, "name": m.name}, "path": file}));
            }
            8 => {
                let file = format!("legacy-{i}.yaml");
                files.push((format!("{dir}/{file}"), yaml(&smp(rng, m, &m.name))));
                legacy_smp.push(json!(file));
            }
            _ => {
                // A rename, which name references must follow (and which may collide).
                let new = format!("{}-renamed", m.name);
                let p = json!({"apiVersion": m.api_version, "kind": m.kind, "metadata": {"name": new}});
                patches.push(json!({"target": {"kind": m.kind, "name": m.name}, "options": {"allowNameChange": true}, "patch": yaml(&p)}));
            }
        }
    }
    if !patches.is_empty() {
        k.insert("patches".into(), Value::Array(patches));
    }
    if !legacy_smp.is_empty() {
        k.insert("patchesStrategicMerge".into(), Value::Array(legacy_smp));
    }
    if !legacy_json.is_empty() {
        k.insert("patchesJson6902".into(), Value::Array(legacy_json));
    }
}

/// One or two replacements between the base's resources.
pub fn replacements(rng: &mut Rng, world: &World, k: &mut Map<String, Value>) {
    let workloads: Vec<&Made> = world.resources.iter().filter(|m| !m.containers.is_empty()).collect();
    let mut sources: Vec<Value> = Vec::new();
    for m in &world.resources {
        match m.kind {
            "ConfigMap" => sources.push(json!({"kind": "ConfigMap", "name": m.name, "fieldPath": "data.mode"})),
            "Service" => sources.push(json!({"kind": "Service", "name": m.name})),
            "Deployment" => sources.push(json!({"kind": "Deployment", "name": m.name,
                "fieldPath": "spec.template.spec.containers.[name=main].image"})),
            _ => {}
        }
    }
    for name in &world.generated {
        sources.push(json!({"kind": "ConfigMap", "name": name, "fieldPath": "metadata.name"}));
    }
    if sources.is_empty() || workloads.is_empty() {
        return;
    }
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(2) {
        let mut source = rng.pick(&sources).clone();
        let w = *rng.pick(&workloads);
        let pod = pod_path(w.kind).join(".");
        let (paths, create): (Vec<String>, bool) = match rng.below(6) {
            0 => (vec!["metadata.annotations.source".into()], true),
            1 => (vec!["metadata.labels.copied".into()], rng.chance(70)),
            2 => (vec![format!("{pod}.containers.[name=main].env.[name=MODE].value")], rng.chance(60)),
            3 => (vec![format!("{pod}.containers.[name=sidecar].image")], rng.chance(50)),
            4 => (vec![format!("{pod}.containers.0.args.0")], true),
            _ => (vec![format!("{pod}.containers.*.env.[name=SOURCE].value")], rng.chance(50)),
        };
        let mut options = Map::new();
        if create {
            options.insert("create".into(), json!(true));
        }
        if rng.chance(15) {
            source["options"] = json!({"delimiter": ":", "index": 0});
        }
        let select = match rng.below(4) {
            0 => json!({"kind": w.kind}),
            1 => json!({"labelSelector": format!("app={}", w.name)}),
            _ => json!({"kind": w.kind, "name": w.name}),
        };
        let mut t = json!({"select": select, "fieldPaths": paths});
        if rng.chance(15) {
            t["reject"] = json!([{"kind": "Service"}, {"name": "nothing-.*"}]);
        }
        if !options.is_empty() {
            t["options"] = Value::Object(options);
        }
        out.push(json!({"source": source, "targets": [t]}));
    }
    k.insert("replacements".into(), Value::Array(out));
}
