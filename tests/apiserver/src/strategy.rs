//! Strategy preparation the real registry does after ownership is computed, so no manager
//! owns it: Job selectors and labels, Service cluster IPs and node ports, namespace finalizers,
//! initial status; plus the serialisation order and the "empty object" a create starts from.

use crate::defaults::order_job_spec;
use crate::resources::ResourceInfo;
use crate::util::{default_field, ensure_object, reorder};
use serde_json::{json, Map, Value};

/// Allocates cluster IPs and node ports.
#[derive(Debug, Default)]
pub struct Allocator {
    next_ip: u32,
    next_node_port: u32,
}

impl Allocator {
    fn cluster_ip(&mut self) -> String {
        self.next_ip += 1;
        let n = self.next_ip + 1;
        format!("10.96.{}.{}", (n / 254) % 256, n % 254 + 1)
    }
    fn node_port(&mut self) -> u32 {
        self.next_node_port += 1;
        30000 + self.next_node_port % 2768
    }
}

/// Strategy preparation on create (not owned by any manager). `uid` is the new object's uid.
pub fn prepare_create(info: &ResourceInfo, obj: &mut Value, uid: &str, alloc: &mut Allocator) {
    match (info.group.as_str(), info.kind.as_str()) {
        ("batch", "Job") => job_selector(obj, uid),
        ("", "Service") => allocate_service(obj, None, alloc),
        ("", "Namespace") => {
            if let Some(spec) = ensure_object(obj, &["spec"]) {
                default_field(spec, "finalizers", json!(["kubernetes"]));
            }
        }
        _ => {}
    }
}

/// Strategy preparation on update: keep what the server allocated.
pub fn prepare_update(info: &ResourceInfo, old: &Value, new: &mut Value, alloc: &mut Allocator) {
    match (info.group.as_str(), info.kind.as_str()) {
        ("", "Service") => allocate_service(new, Some(old), alloc),
        ("", "Namespace") => {
            if let (Some(f), Some(spec)) = (old.pointer("/spec/finalizers").cloned(), ensure_object(new, &["spec"])) {
                default_field(spec, "finalizers", f);
            }
        }
        _ => {}
    }
}

fn job_selector(obj: &mut Value, uid: &str) {
    let manual = obj.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true);
    if manual {
        return;
    }
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
    if let Some(labels) = ensure_object(obj, &["spec", "template", "metadata", "labels"]) {
        let mut fresh = Map::new();
        fresh.insert("controller-uid".into(), json!(uid));
        fresh.insert("job-name".into(), json!(name));
        for (k, v) in std::mem::take(labels) {
            fresh.entry(k).or_insert(v);
        }
        *labels = fresh;
    }
    let template_labels = obj.pointer("/spec/template/metadata/labels").cloned().unwrap_or(json!({}));
    if let Some(spec) = ensure_object(obj, &["spec"]) {
        spec.insert("selector".into(), json!({"matchLabels": {"controller-uid": uid}}));
    }
    if let Some(meta) = ensure_object(obj, &["metadata"]) {
        let empty = meta.get("labels").and_then(Value::as_object).map_or(true, Map::is_empty);
        if empty {
            meta.insert("labels".into(), template_labels);
        }
        let ann = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(ann) = ann.as_object_mut() {
            ann.insert("batch.kubernetes.io/job-tracking".into(), json!(""));
        }
        reorder(meta, META_ORDER);
    }
    order_job_spec(obj);
}

fn allocate_service(obj: &mut Value, old: Option<&Value>, alloc: &mut Allocator) {
    let Some(spec) = ensure_object(obj, &["spec"]) else { return };
    let typ = spec.get("type").and_then(Value::as_str).unwrap_or("ClusterIP").to_string();
    if typ == "ExternalName" {
        return;
    }
    let old_spec = old.and_then(|o| o.get("spec"));
    let has_ip = spec.get("clusterIP").and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    if !has_ip {
        let ip = old_spec
            .and_then(|s| s.get("clusterIP"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| alloc.cluster_ip());
        spec.insert("clusterIP".into(), json!(ip));
    }
    let ip = spec.get("clusterIP").cloned().unwrap_or(Value::Null);
    default_field(spec, "clusterIPs", json!([ip]));
    default_field(spec, "ipFamilies", json!(["IPv4"]));
    default_field(spec, "ipFamilyPolicy", json!("SingleStack"));
    if typ == "NodePort" || typ == "LoadBalancer" {
        default_field(spec, "externalTrafficPolicy", json!("Cluster"));
        let old_ports = old_spec.and_then(|s| s.get("ports")).and_then(Value::as_array).cloned().unwrap_or_default();
        if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
            for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                if p.get("nodePort").is_none() {
                    let prev = old_ports
                        .iter()
                        .find(|o| o.get("port") == p.get("port"))
                        .and_then(|o| o.get("nodePort"))
                        .cloned();
                    p.insert("nodePort".into(), prev.unwrap_or_else(|| json!(alloc.node_port())));
                }
            }
        }
    }
    reorder(
        spec,
        &[
            "ports",
            "selector",
            "clusterIP",
            "clusterIPs",
            "type",
            "externalIPs",
            "sessionAffinity",
            "loadBalancerIP",
            "loadBalancerSourceRanges",
            "externalName",
            "externalTrafficPolicy",
            "healthCheckNodePort",
            "publishNotReadyAddresses",
            "sessionAffinityConfig",
            "ipFamilies",
            "ipFamilyPolicy",
            "allocateLoadBalancerNodePorts",
            "loadBalancerClass",
            "internalTrafficPolicy",
        ],
    );
}

/// The status a freshly created object starts with (None: no status field).
pub fn initial_status(info: &ResourceInfo) -> Option<Value> {
    if !info.has_status() {
        return None;
    }
    Some(match (info.group.as_str(), info.kind.as_str()) {
        ("", "Service") => json!({"loadBalancer": {}}),
        ("", "Pod") => json!({"phase": "Pending", "qosClass": "BestEffort"}),
        ("", "Namespace") => json!({"phase": "Active"}),
        ("", "PersistentVolumeClaim") => json!({"phase": "Pending"}),
        _ if info.custom => return None,
        _ => json!({}),
    })
}

/// Real metadata field order.
pub const META_ORDER: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Puts top-level and metadata keys in the order the real server serialises them, and drops
/// empty `labels` and `annotations` as Go does (`omitempty` maps: a patch that removes the last
/// label leaves none).
pub fn normalize_order(obj: &mut Value) {
    if let Some(m) = obj.as_object_mut() {
        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in ["labels", "annotations"] {
                if meta.get(key).and_then(Value::as_object).is_some_and(Map::is_empty) {
                    meta.shift_remove(key);
                }
            }
            reorder(meta, META_ORDER);
        }
        let status = m.shift_remove("status");
        reorder(m, &["kind", "apiVersion", "metadata"]);
        if let Some(s) = status {
            m.insert("status".into(), s);
        }
    }
}

/// What an empty object of this kind looks like serialised: the "before" of a create, so that
/// structs that always exist in Go (spec, template, strategy) are not reported as added.
pub fn baseline(info: &ResourceInfo, new: &Value) -> Value {
    let tmpl = || json!({"metadata": {"creationTimestamp": null}, "spec": {"containers": null}});
    let mut b = json!({"metadata": {"creationTimestamp": null}});
    if new.get("spec").is_some() {
        b["spec"] = match (info.group.as_str(), info.kind.as_str()) {
            ("apps", "Deployment") => json!({"template": tmpl(), "strategy": {}}),
            ("apps", "StatefulSet" | "DaemonSet") => json!({"template": tmpl(), "updateStrategy": {}}),
            ("apps", "ReplicaSet") | ("batch", "Job") => json!({"template": tmpl()}),
            ("batch", "CronJob") => {
                json!({"jobTemplate": {"metadata": {"creationTimestamp": null}, "spec": {"template": tmpl()}}})
            }
            ("", "Pod") => json!({"containers": null}),
            _ => json!({}),
        };
    }
    if new.get("status").is_some() {
        b["status"] = json!({});
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults::apply_defaults;
    use crate::resources::Registry;

    fn info(av: &str, kind: &str) -> ResourceInfo {
        Registry::new(&[]).by_kind(av, kind).unwrap().clone()
    }

    #[test]
    fn services_get_an_ip_that_sticks() {
        let i = info("v1", "Service");
        let mut alloc = Allocator::default();
        let mut s = json!({"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}});
        apply_defaults(&i, &mut s).unwrap();
        prepare_create(&i, &mut s, "u", &mut alloc);
        let ip = s["spec"]["clusterIP"].clone();
        assert!(ip.as_str().unwrap().starts_with("10.96."));
        let mut again = json!({"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}});
        apply_defaults(&i, &mut again).unwrap();
        prepare_update(&i, &s, &mut again, &mut alloc);
        assert_eq!(again["spec"]["clusterIP"], ip);
        assert_eq!(again["spec"]["ports"][0]["targetPort"], 80);
    }

    #[test]
    fn baseline_has_the_structs_go_always_serialises() {
        let d = info("apps/v1", "Deployment");
        let b = baseline(&d, &json!({"spec": {}}));
        assert_eq!(b["spec"]["strategy"], json!({}));
        assert!(b.get("status").is_none());
    }
}
