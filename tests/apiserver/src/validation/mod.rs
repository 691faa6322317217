//! The validation a real kube-apiserver **v1.24** does on create and update, for every field
//! the chart renders: object names, labels and annotations; pod templates (containers, env,
//! probes, resources, volumes, tolerations, affinity, security contexts); Deployments, Jobs,
//! CronJobs, Services, Ingresses, HPAs, PVCs, ConfigMaps and Secrets; and immutable fields.
//! Each rule follows the Kubernetes function named beside it (k8s.io/kubernetes
//! pkg/apis/{core,apps,batch,networking,autoscaling}/validation, apimachinery validation), and
//! the Status bodies follow the `val-*` captures.

mod cron;
mod kinds;
pub mod names;
mod network;
mod pod;
mod quantity;
mod scheduling;

use crate::resources::ResourceInfo;
use crate::status::{ApiError, Cause};
use crate::util::go_string_map;
use names::q;
use serde_json::{Map, Value};

pub use names::{DNS1035_LABEL_MSG, DNS1123_LABEL_MSG, DNS1123_SUBDOMAIN_MSG};

/// The largest total of a Secret's or ConfigMap's data.
pub const MAX_DATA_BYTES: usize = 1024 * 1024;
/// The largest total of an object's annotations.
pub const MAX_ANNOTATION_BYTES: usize = 256 * 1024;

/// The default `--service-node-port-range`.
pub const DEFAULT_NODE_PORTS: (i64, i64) = (30000, 32767);

pub fn is_dns1123_label(s: &str) -> bool {
    names::dns1123_label(s).is_empty()
}

pub fn is_dns1123_subdomain(s: &str) -> bool {
    names::dns1123_subdomain(s).is_empty()
}

pub fn is_dns1035_label(s: &str) -> bool {
    names::dns1035_label(s).is_empty()
}

/// Label and annotation keys: optional DNS prefix, '/', name part.
pub fn is_qualified_name(s: &str) -> bool {
    names::qualified_name(s).is_empty()
}

pub fn is_label_value(s: &str) -> bool {
    names::label_value(s).is_empty()
}

/// Field errors in the order validation finds them (`field.ErrorList`).
#[derive(Default)]
pub(crate) struct Errs(pub Vec<Cause>);

impl Errs {
    /// `field.Invalid` with an already Go-formatted value.
    pub fn invalid(&mut self, field: &str, value: &str, detail: &str) {
        self.0.push(Cause::invalid(field, value, detail));
    }
    /// One `field.Invalid` per message, for a string value.
    pub fn each(&mut self, field: &str, value: &str, msgs: Vec<String>) {
        for m in msgs {
            self.invalid(field, &q(value), &m);
        }
    }
    pub fn required(&mut self, field: &str, detail: &str) {
        self.0.push(Cause::required(field, detail));
    }
    pub fn forbidden(&mut self, field: &str, detail: &str) {
        self.0.push(Cause::forbidden(field, detail));
    }
    pub fn not_supported(&mut self, field: &str, value: &str, supported: &[&str]) {
        self.0.push(Cause::not_supported(field, &q(value), supported));
    }
    pub fn duplicate(&mut self, field: &str, value: &str) {
        self.0.push(Cause::new("FieldValueDuplicate", format!("Duplicate value: {value}"), field));
    }
    pub fn not_found(&mut self, field: &str, value: &str) {
        self.0.push(Cause::new("FieldValueNotFound", format!("Not found: {}", q(value)), field));
    }
    pub fn nonnegative(&mut self, field: &str, v: Option<i64>) {
        if let Some(n) = v.filter(|n| *n < 0) {
            self.invalid(field, &n.to_string(), "must be greater than or equal to 0");
        }
    }
}

/// A string field of `v` ("" when absent).
pub(crate) fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Options of the server that change validation (its flags).
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `--service-node-port-range`.
    pub node_ports: (i64, i64),
}

impl Default for Options {
    fn default() -> Self {
        Options { node_ports: DEFAULT_NODE_PORTS }
    }
}

/// Which name rule a resource uses (None: RBAC's path-segment names).
fn name_rule(info: &ResourceInfo) -> Option<fn(&str) -> Vec<String>> {
    match (info.group.as_str(), info.plural.as_str()) {
        ("rbac.authorization.k8s.io", _) => None,
        ("", "namespaces") => Some(names::dns1123_label),
        ("", "services") => Some(names::dns1035_label),
        _ => Some(names::dns1123_subdomain),
    }
}

/// `ValidateLabels`: keys are qualified names, values label values.
pub(crate) fn labels(at: &str, m: Option<&Map<String, Value>>, e: &mut Errs) {
    for (k, v) in m.into_iter().flatten() {
        e.each(at, k, names::qualified_name(k));
        e.each(at, v.as_str().unwrap_or(""), names::label_value(v.as_str().unwrap_or("")));
    }
}

/// `ValidateAnnotations`: keys are qualified names once lower-cased; 256 KiB in all.
pub(crate) fn annotations(at: &str, m: Option<&Map<String, Value>>, e: &mut Errs) {
    let Some(m) = m else { return };
    for k in m.keys() {
        e.each(at, k, names::qualified_name(&k.to_lowercase()));
    }
    let size: usize = m.iter().map(|(k, v)| k.len() + v.as_str().map_or(0, str::len)).sum();
    if size > MAX_ANNOTATION_BYTES {
        e.0.push(Cause::too_long(at, MAX_ANNOTATION_BYTES));
    }
}

/// `ValidateObjectMeta`: the name (on create), labels and annotations.
fn validate_meta(info: &ResourceInfo, obj: &Value, creating: bool, e: &mut Errs) {
    let meta = obj.get("metadata").and_then(Value::as_object);
    let name = meta.and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or("");
    if creating {
        if name.is_empty() {
            e.required("metadata.name", "name or generateName is required");
        } else if let Some(rule) = name_rule(info) {
            e.each("metadata.name", name, rule(name));
        } else if name.contains('/') || name.contains('%') || name == "." || name == ".." {
            e.invalid("metadata.name", &q(name), "may not contain '/'");
        }
    }
    labels("metadata.labels", meta.and_then(|m| m.get("labels")).and_then(Value::as_object), e);
    annotations("metadata.annotations", meta.and_then(|m| m.get("annotations")).and_then(Value::as_object), e);
}

/// The group a refusal names: v1.24 validates Ingresses as `extensions` (its first registered
/// group for the internal type), as `val-ingress-class-empty-422.json` shows.
fn error_group(info: &ResourceInfo) -> &str {
    match (info.group.as_str(), info.kind.as_str()) {
        ("networking.k8s.io", "Ingress") => "extensions",
        (g, _) => g,
    }
}

/// Validates `obj` (after defaults); `old` is the stored object on update.
pub fn validate(info: &ResourceInfo, obj: &Value, old: Option<&Value>, opts: &Options) -> Result<(), ApiError> {
    let mut e = Errs::default();
    if !info.custom {
        validate_meta(info, obj, old.is_none(), &mut e);
        kinds::validate(info, obj, old, &mut e);
    }
    if let Some(old) = old {
        finalizers_while_deleting(old, obj, &mut e);
    }
    if e.0.is_empty() {
        // The node port allocator runs after validation, with its own range.
        network::node_port_range(info, obj, opts, &mut e);
    }
    if e.0.is_empty() {
        return Ok(());
    }
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    Err(ApiError::invalid(error_group(info), &info.kind, name, e.0))
}

/// ValidateObjectMetaUpdate: an object being deleted may lose finalizers, never gain one.
fn finalizers_while_deleting(old: &Value, new: &Value, e: &mut Errs) {
    if old.pointer("/metadata/deletionTimestamp").is_none() {
        return;
    }
    let list = |v: &Value| -> Vec<String> {
        let items = v.pointer("/metadata/finalizers").and_then(Value::as_array).cloned().unwrap_or_default();
        items.iter().filter_map(|f| f.as_str().map(str::to_string)).collect()
    };
    let before = list(old);
    let added: Vec<String> = list(new).into_iter().filter(|f| !before.contains(f)).collect();
    if !added.is_empty() {
        let quoted: Vec<String> = added.iter().map(|f| format!("{f:?}")).collect();
        let detail = format!(
            "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
            quoted.join(", ")
        );
        e.forbidden("metadata.finalizers", &detail);
    }
}

fn selector_value(sel: Option<&Value>) -> String {
    let labels = sel.and_then(|s| s.get("matchLabels")).and_then(Value::as_object);
    let exprs = if sel.and_then(|s| s.get("matchExpressions")).is_some_and(|e| !e.is_null()) {
        "[]v1.LabelSelectorRequirement{...}"
    } else {
        "[]v1.LabelSelectorRequirement(nil)"
    };
    format!("v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{exprs}}}", go_string_map(labels))
}

/// True if the selector's matchLabels and matchExpressions hold for `labels`.
pub fn selector_matches(sel: &Value, labels: Option<&Map<String, Value>>) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let ml_ok =
        sel.get("matchLabels").and_then(Value::as_object).map_or(true, |m| m.iter().all(|(k, v)| get(k) == v.as_str()));
    let exprs = sel.get("matchExpressions").and_then(Value::as_array).cloned().unwrap_or_default();
    let ex_ok = exprs.iter().all(|e| {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        match e.get("operator").and_then(Value::as_str).unwrap_or("") {
            "In" => get(key).is_some_and(|v| values.contains(&v)),
            "NotIn" => get(key).map_or(true, |v| !values.contains(&v)),
            "Exists" => get(key).is_some(),
            "DoesNotExist" => get(key).is_none(),
            _ => false,
        }
    });
    ml_ok && ex_ok
}

fn selector_is_empty(sel: Option<&Value>) -> bool {
    let Some(sel) = sel else { return true };
    let labels = sel.get("matchLabels").and_then(Value::as_object).map_or(true, Map::is_empty);
    let exprs = sel.get("matchExpressions").and_then(Value::as_array).map_or(true, Vec::is_empty);
    labels && exprs
}

/// An abbreviated `%#v` of a pod template; the real one dumps every Go field and pointer address.
fn go_template(t: Option<&Value>) -> String {
    let labels = t.and_then(|t| t.pointer("/metadata/labels")).and_then(Value::as_object);
    let containers: Vec<String> = t
        .and_then(|t| t.pointer("/spec/containers"))
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| format!("core.Container{{Name:{}, Image:{}, ...}}", q(s(c, "name")), q(s(c, "image"))))
                .collect()
        })
        .unwrap_or_default();
    let policy = t.and_then(|t| t.pointer("/spec/restartPolicy")).and_then(Value::as_str).unwrap_or("");
    format!(
        "core.PodTemplateSpec{{ObjectMeta:v1.ObjectMeta{{Labels:{}, ...}}, Spec:core.PodSpec{{Containers:[]core.Container{{{}}}, RestartPolicy:{}, ...}}}}",
        go_string_map(labels),
        containers.join(", "),
        q(policy)
    )
}

#[cfg(test)]
mod tests;
