//! Decode-time defaults, like the real server's SetDefaults functions: they are applied before
//! field ownership is computed, so the writer owns them (see `strategy` for what nobody owns).

use crate::resources::ResourceInfo;
use crate::util::{default_field, ensure_object, reorder};
use base64::Engine;
use serde_json::{json, Map, Value};

/// Applies the defaults a real v1.24 server applies when decoding the object.
pub fn apply_defaults(info: &ResourceInfo, obj: &mut Value) -> Result<(), String> {
    if info.custom {
        return Ok(());
    }
    match (info.group.as_str(), info.kind.as_str()) {
        ("apps", "Deployment") => deployment(obj),
        ("apps", "StatefulSet") => statefulset(obj),
        ("apps", "DaemonSet") => daemonset(obj),
        ("apps", "ReplicaSet") => {
            if let Some(spec) = ensure_object(obj, &["spec"]) {
                default_field(spec, "replicas", json!(1));
            }
            template(obj, &["spec", "template"]);
        }
        ("batch", "Job") => job(obj),
        ("batch", "CronJob") => cronjob(obj),
        ("", "Pod") => {
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                pod_spec(spec);
            }
        }
        ("", "Service") => service(obj),
        ("", "Secret") => secret(obj)?,
        ("", "Namespace") => {
            let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
            if let Some(labels) = ensure_object(obj, &["metadata", "labels"]) {
                labels.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(spec) = ensure_object(obj, &["spec"]) {
                default_field(spec, "volumeMode", json!("Filesystem"));
            }
        }
        // SetDefaults_StorageClass: top-level fields, no spec.
        ("storage.k8s.io", "StorageClass") => {
            if let Some(sc) = obj.as_object_mut() {
                default_field(sc, "reclaimPolicy", json!("Delete"));
                default_field(sc, "volumeBindingMode", json!("Immediate"));
            }
        }
        _ => {}
    }
    Ok(())
}

fn deployment(obj: &mut Value) {
    let Some(spec) = ensure_object(obj, &["spec"]) else { return };
    default_field(spec, "replicas", json!(1));
    let strategy = spec.entry("strategy").or_insert_with(|| json!({}));
    if let Some(st) = strategy.as_object_mut() {
        default_field(st, "type", json!("RollingUpdate"));
        if st.get("type") == Some(&json!("RollingUpdate")) {
            let ru = st.entry("rollingUpdate").or_insert_with(|| json!({}));
            if let Some(ru) = ru.as_object_mut() {
                default_field(ru, "maxUnavailable", json!("25%"));
                default_field(ru, "maxSurge", json!("25%"));
            }
        }
    }
    default_field(spec, "revisionHistoryLimit", json!(10));
    default_field(spec, "progressDeadlineSeconds", json!(600));
    reorder(
        spec,
        &[
            "replicas",
            "selector",
            "template",
            "strategy",
            "minReadySeconds",
            "revisionHistoryLimit",
            "paused",
            "progressDeadlineSeconds",
        ],
    );
    template(obj, &["spec", "template"]);
}

fn statefulset(obj: &mut Value) {
    let Some(spec) = ensure_object(obj, &["spec"]) else { return };
    default_field(spec, "replicas", json!(1));
    default_field(spec, "podManagementPolicy", json!("OrderedReady"));
    default_field(spec, "updateStrategy", json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}));
    default_field(spec, "revisionHistoryLimit", json!(10));
    template(obj, &["spec", "template"]);
}

fn daemonset(obj: &mut Value) {
    let Some(spec) = ensure_object(obj, &["spec"]) else { return };
    default_field(
        spec,
        "updateStrategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
    );
    default_field(spec, "revisionHistoryLimit", json!(10));
    template(obj, &["spec", "template"]);
}

fn job(obj: &mut Value) {
    let Some(spec) = ensure_object(obj, &["spec"]) else { return };
    if spec.get("completions").is_none() && spec.get("parallelism").is_none() {
        spec.insert("completions".into(), json!(1));
    }
    default_field(spec, "parallelism", json!(1));
    default_field(spec, "backoffLimit", json!(6));
    default_field(spec, "completionMode", json!("NonIndexed"));
    default_field(spec, "suspend", json!(false));
    template(obj, &["spec", "template"]);
    order_job_spec(obj);
}

pub(crate) fn order_job_spec(obj: &mut Value) {
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        reorder(
            spec,
            &[
                "parallelism",
                "completions",
                "activeDeadlineSeconds",
                "podFailurePolicy",
                "backoffLimit",
                "selector",
                "manualSelector",
                "template",
                "ttlSecondsAfterFinished",
                "completionMode",
                "suspend",
            ],
        );
    }
}

fn cronjob(obj: &mut Value) {
    let Some(spec) = ensure_object(obj, &["spec"]) else { return };
    default_field(spec, "concurrencyPolicy", json!("Allow"));
    default_field(spec, "suspend", json!(false));
    default_field(spec, "successfulJobsHistoryLimit", json!(3));
    default_field(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(meta) = ensure_object(obj, &["spec", "jobTemplate", "metadata"]) {
        creation_timestamp_first(meta);
    }
    template(obj, &["spec", "jobTemplate", "spec", "template"]);
}

/// Pod template: `metadata.creationTimestamp: null` plus pod spec defaults.
fn template(obj: &mut Value, at: &[&str]) {
    let Some(t) = obj.pointer_mut(&format!("/{}", at.join("/"))).and_then(Value::as_object_mut) else { return };
    if let Some(meta) = t.entry("metadata").or_insert_with(|| json!({})).as_object_mut() {
        creation_timestamp_first(meta);
    }
    if let Some(spec) = t.get_mut("spec").and_then(Value::as_object_mut) {
        pod_spec(spec);
    }
}

fn creation_timestamp_first(meta: &mut Map<String, Value>) {
    meta.insert("creationTimestamp".into(), Value::Null);
    reorder(meta, &["name", "generateName", "namespace", "creationTimestamp"]);
}

fn pod_spec(spec: &mut Map<String, Value>) {
    for list in ["initContainers", "containers"] {
        if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                container(c);
            }
        }
    }
    if let Some(vols) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
        for v in vols.iter_mut().filter_map(Value::as_object_mut) {
            for src in ["configMap", "secret"] {
                if let Some(s) = v.get_mut(src).and_then(Value::as_object_mut) {
                    default_field(s, "defaultMode", json!(420));
                }
            }
        }
    }
    default_field(spec, "restartPolicy", json!("Always"));
    default_field(spec, "terminationGracePeriodSeconds", json!(30));
    default_field(spec, "dnsPolicy", json!("ClusterFirst"));
    default_field(spec, "securityContext", json!({}));
    default_field(spec, "schedulerName", json!("default-scheduler"));
}

fn container(c: &mut Map<String, Value>) {
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            default_field(p, "protocol", json!("TCP"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).and_then(Value::as_object_mut) {
            if let Some(h) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
                zero_default(h, "path", json!("/"));
                default_field(h, "scheme", json!("HTTP"));
            }
            // SetDefaults_Probe replaces zero values, not only missing ones.
            zero_default(p, "timeoutSeconds", json!(1));
            zero_default(p, "periodSeconds", json!(10));
            zero_default(p, "successThreshold", json!(1));
            zero_default(p, "failureThreshold", json!(3));
        }
    }
    default_field(c, "resources", json!({}));
    default_field(c, "terminationMessagePath", json!("/dev/termination-log"));
    default_field(c, "terminationMessagePolicy", json!("File"));
    let image = c.get("image").and_then(Value::as_str).unwrap_or("");
    default_field(c, "imagePullPolicy", json!(pull_policy(image)));
}

/// Like [`default_field`], but a zero value (0 or "") is replaced too, as Go defaulting does
/// for fields that are not pointers.
fn zero_default(map: &mut Map<String, Value>, key: &str, value: Value) {
    let zero = match map.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::Number(n)) => n.as_i64() == Some(0),
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    };
    if zero {
        map.insert(key.to_string(), value);
    }
}

/// `Always` for `:latest` or untagged images, like SetDefaults_Container.
fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

fn service(obj: &mut Value) {
    let Some(spec) = ensure_object(obj, &["spec"]) else { return };
    default_field(spec, "type", json!("ClusterIP"));
    let external = spec.get("type") == Some(&json!("ExternalName"));
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            default_field(p, "protocol", json!("TCP"));
            // SetDefaults_Service: a zero or empty target port is the port itself.
            if let Some(port) = p.get("port").cloned() {
                zero_default(p, "targetPort", port);
            }
        }
    }
    default_field(spec, "sessionAffinity", json!("None"));
    if !external {
        default_field(spec, "internalTrafficPolicy", json!("Cluster"));
    }
}

fn secret(obj: &mut Value) -> Result<(), String> {
    let Some(m) = obj.as_object_mut() else { return Ok(()) };
    if let Some(Value::Object(sd)) = m.shift_remove("stringData") {
        let data = m.entry("data").or_insert_with(|| json!({}));
        if let Some(data) = data.as_object_mut() {
            for (k, v) in sd {
                let s = v.as_str().unwrap_or_default();
                data.insert(k, json!(base64::engine::general_purpose::STANDARD.encode(s)));
            }
        }
    }
    if let Some(data) = m.get("data").and_then(Value::as_object) {
        for (k, v) in data {
            let s = v.as_str().unwrap_or_default();
            if base64::engine::general_purpose::STANDARD.decode(s).is_err() {
                return Err(format!("illegal base64 data in Secret data key {k:?}"));
            }
        }
    }
    default_field(m, "type", json!("Opaque"));
    reorder(m, &["kind", "apiVersion", "metadata", "immutable", "data", "type"]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;
    use crate::strategy::{prepare_create, Allocator};

    fn info(av: &str, kind: &str) -> ResourceInfo {
        Registry::new(&[]).by_kind(av, kind).unwrap().clone()
    }

    fn capture_body(name: &str, part: &str) -> Value {
        let path = format!("{}/tests/captures/{name}", env!("CARGO_MANIFEST_DIR"));
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        v[part]["body"].clone()
    }

    #[test]
    fn deployment_defaults_match_capture() {
        let mut d = capture_body("ssa-create.json", "request");
        apply_defaults(&info("apps/v1", "Deployment"), &mut d).unwrap();
        let want = capture_body("ssa-create.json", "response");
        assert_eq!(d["spec"], want["spec"]);
    }

    #[test]
    fn job_defaults_and_selector_match_capture() {
        let mut j = capture_body("job-create.json", "request");
        let i = info("batch/v1", "Job");
        apply_defaults(&i, &mut j).unwrap();
        let want = capture_body("job-create.json", "response");
        let uid = want["metadata"]["uid"].as_str().unwrap();
        prepare_create(&i, &mut j, uid, &mut Allocator::default());
        assert_eq!(j["spec"], want["spec"]);
        assert_eq!(j["metadata"]["labels"], want["metadata"]["labels"]);
        assert_eq!(j["metadata"]["annotations"], want["metadata"]["annotations"]);
    }

    #[test]
    fn secret_string_data_becomes_base64() {
        let mut s = capture_body("secret-create.json", "request");
        apply_defaults(&info("v1", "Secret"), &mut s).unwrap();
        assert_eq!(s["data"], capture_body("secret-create.json", "response")["data"]);
        let mut bad = json!({"data": {"k": "!!!"}});
        assert!(apply_defaults(&info("v1", "Secret"), &mut bad).is_err());
    }

    #[test]
    fn pull_policies() {
        assert_eq!(pull_policy("nginx"), "Always");
        assert_eq!(pull_policy("nginx:latest"), "Always");
        assert_eq!(pull_policy("localhost:5000/nginx"), "Always");
        assert_eq!(pull_policy("docker.io/dimtensor:4.2.0"), "IfNotPresent");
    }
}
