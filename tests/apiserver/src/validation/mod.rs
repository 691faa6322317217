//! The validation the real server does that matters to a deploy tool: names, labels,
//! annotation and data size, workload selectors, and immutable fields.

use crate::resources::ResourceInfo;
use crate::status::{ApiError, Cause};
use crate::util::go_string_map;
use serde_json::{Map, Value};

const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/// The largest total of a Secret's or ConfigMap's data.
pub const MAX_DATA_BYTES: usize = 1024 * 1024;
/// The largest total of an object's annotations.
pub const MAX_ANNOTATION_BYTES: usize = 256 * 1024;

fn is_alnum_lower(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| is_alnum_lower(c) || c == '-')
        && s.starts_with(is_alnum_lower)
        && s.ends_with(is_alnum_lower)
}

pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

pub fn is_dns1035_label(s: &str) -> bool {
    is_dns1123_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

fn is_name_part(s: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric();
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| ok(c) || matches!(c, '-' | '_' | '.'))
        && s.starts_with(ok)
        && s.ends_with(ok)
}

/// Label and annotation keys: optional DNS prefix, '/', name part.
pub fn is_qualified_name(s: &str) -> bool {
    match s.split_once('/') {
        Some((prefix, name)) => is_dns1123_subdomain(prefix) && is_name_part(name),
        None => is_name_part(s),
    }
}

pub fn is_label_value(s: &str) -> bool {
    s.is_empty() || is_name_part(s)
}

/// A name check and the message its failure carries.
type NameRule = (fn(&str) -> bool, &'static str);

/// Which name rule a resource uses (None: RBAC's path-segment names).
fn name_rule(info: &ResourceInfo) -> Option<NameRule> {
    match (info.group.as_str(), info.plural.as_str()) {
        ("rbac.authorization.k8s.io", _) => None,
        ("", "namespaces") => Some((is_dns1123_label, DNS1123_LABEL_MSG)),
        ("", "services") => Some((is_dns1035_label, DNS1035_LABEL_MSG)),
        _ => Some((is_dns1123_subdomain, DNS1123_SUBDOMAIN_MSG)),
    }
}

/// Metadata checks every object gets on create and update.
fn validate_meta(info: &ResourceInfo, obj: &Value, creating: bool, causes: &mut Vec<Cause>) {
    let meta = obj.get("metadata").and_then(Value::as_object);
    let name = meta.and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or("");
    if creating {
        if name.is_empty() {
            causes.push(Cause::required("metadata.name", "name or generateName is required"));
        } else if let Some((rule, msg)) = name_rule(info) {
            if !rule(name) {
                causes.push(Cause::invalid("metadata.name", &format!("{name:?}"), msg));
            }
        } else if name.contains('/') || name.contains('%') || name == "." || name == ".." {
            causes.push(Cause::invalid("metadata.name", &format!("{name:?}"), "may not contain '/'"));
        }
    }
    if let Some(labels) = meta.and_then(|m| m.get("labels")).and_then(Value::as_object) {
        for (k, v) in labels {
            if !is_qualified_name(k) {
                causes.push(Cause::invalid(
                    "metadata.labels",
                    &format!("{k:?}"),
                    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                ));
            }
            let v = v.as_str().unwrap_or("");
            if !is_label_value(v) {
                causes.push(Cause::invalid(
                    "metadata.labels",
                    &format!("{v:?}"),
                    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                ));
            }
        }
    }
    if let Some(ann) = meta.and_then(|m| m.get("annotations")).and_then(Value::as_object) {
        let size: usize = ann.iter().map(|(k, v)| k.len() + v.as_str().map_or(0, str::len)).sum();
        if size > MAX_ANNOTATION_BYTES {
            causes.push(Cause::too_long("metadata.annotations", MAX_ANNOTATION_BYTES));
        }
    }
}

/// Validates `obj` (after defaults); `old` is the stored object on update.
pub fn validate(info: &ResourceInfo, obj: &Value, old: Option<&Value>) -> Result<(), ApiError> {
    let mut causes = Vec::new();
    validate_meta(info, obj, old.is_none(), &mut causes);
    match (info.group.as_str(), info.kind.as_str()) {
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => workload(obj, old, &mut causes),
        ("batch", "Job") => job(obj, old, &mut causes),
        ("batch", "CronJob") => cronjob(obj, &mut causes),
        ("", "Service") => service(obj, old, &mut causes),
        ("", "Secret") => data_size(obj, &["data"], "data", &mut causes),
        ("", "ConfigMap") => data_size(obj, &["data", "binaryData"], "", &mut causes),
        ("", "Pod") => pod_spec(obj.get("spec"), "spec", &mut causes),
        _ => {}
    }
    if causes.is_empty() {
        return Ok(());
    }
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    Err(ApiError::invalid(&info.group, &info.kind, name, causes))
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

fn workload(obj: &Value, old: Option<&Value>, causes: &mut Vec<Cause>) {
    let spec = obj.get("spec");
    let sel = spec.and_then(|s| s.get("selector"));
    let template_labels = obj.pointer("/spec/template/metadata/labels").and_then(Value::as_object);
    if sel.is_none() {
        causes.push(Cause::required("spec.selector", ""));
    } else if selector_is_empty(sel) {
        causes.push(Cause::invalid("spec.selector", &selector_value(sel), "empty selector is invalid for deployment"));
    } else if let Some(s) = sel {
        if !selector_matches(s, template_labels) {
            causes.push(Cause::invalid(
                "spec.template.metadata.labels",
                &go_string_map(template_labels),
                "`selector` does not match template `labels`",
            ));
        }
    }
    if let Some(r) = spec.and_then(|s| s.get("replicas")).and_then(Value::as_i64) {
        if r < 0 {
            causes.push(Cause::invalid("spec.replicas", &r.to_string(), "must be greater than or equal to 0"));
        }
    }
    pod_spec(obj.pointer("/spec/template/spec"), "spec.template.spec", causes);
    if let Some(old) = old {
        let old_sel = old.pointer("/spec/selector");
        if old_sel.is_some() && old_sel != sel {
            causes.push(Cause::invalid("spec.selector", &selector_value(sel), "field is immutable"));
        }
    }
}

fn job(obj: &Value, old: Option<&Value>, causes: &mut Vec<Cause>) {
    let policy = obj.pointer("/spec/template/spec/restartPolicy").and_then(Value::as_str).unwrap_or("");
    if policy != "Never" && policy != "OnFailure" {
        causes.push(Cause::not_supported(
            "spec.template.spec.restartPolicy",
            &format!("{policy:?}"),
            &["OnFailure", "Never"],
        ));
    }
    pod_spec(obj.pointer("/spec/template/spec"), "spec.template.spec", causes);
    let Some(old) = old else { return };
    if old.pointer("/spec/selector") != obj.pointer("/spec/selector") {
        causes.push(Cause::invalid(
            "spec.selector",
            &selector_value(obj.pointer("/spec/selector")),
            "field is immutable",
        ));
    }
    if old.pointer("/spec/template") != obj.pointer("/spec/template") {
        causes.push(Cause::invalid("spec.template", &go_template(obj.pointer("/spec/template")), "field is immutable"));
    }
    if old.pointer("/spec/completions") != obj.pointer("/spec/completions") {
        let v = obj.pointer("/spec/completions").map_or("null".to_string(), Value::to_string);
        causes.push(Cause::invalid("spec.completions", &v, "field is immutable"));
    }
}

/// An abbreviated `%#v` of a pod template; the real one dumps every Go field and pointer address.
fn go_template(t: Option<&Value>) -> String {
    let labels = t.and_then(|t| t.pointer("/metadata/labels")).and_then(Value::as_object);
    let containers: Vec<String> = t
        .and_then(|t| t.pointer("/spec/containers"))
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    format!("core.Container{{Name:{:?}, Image:{:?}, ...}}", s("name"), s("image"))
                })
                .collect()
        })
        .unwrap_or_default();
    let policy = t.and_then(|t| t.pointer("/spec/restartPolicy")).and_then(Value::as_str).unwrap_or("");
    format!(
        "core.PodTemplateSpec{{ObjectMeta:v1.ObjectMeta{{Labels:{}, ...}}, Spec:core.PodSpec{{Containers:[]core.Container{{{}}}, RestartPolicy:{policy:?}, ...}}}}",
        go_string_map(labels),
        containers.join(", ")
    )
}

fn cronjob(obj: &Value, causes: &mut Vec<Cause>) {
    if obj.pointer("/spec/schedule").and_then(Value::as_str).map_or(true, str::is_empty) {
        causes.push(Cause::required("spec.schedule", ""));
    }
    pod_spec(obj.pointer("/spec/jobTemplate/spec/template/spec"), "spec.jobTemplate.spec.template.spec", causes);
}

fn pod_spec(spec: Option<&Value>, at: &str, causes: &mut Vec<Cause>) {
    let containers = spec.and_then(|s| s.get("containers")).and_then(Value::as_array);
    let Some(containers) = containers.filter(|c| !c.is_empty()) else {
        causes.push(Cause::required(&format!("{at}.containers"), ""));
        return;
    };
    let mut seen = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
        let here = format!("{at}.containers[{i}]");
        if name.is_empty() {
            causes.push(Cause::required(&format!("{here}.name"), ""));
        } else if !is_dns1123_label(name) {
            causes.push(Cause::invalid(&format!("{here}.name"), &format!("{name:?}"), DNS1123_LABEL_MSG));
        } else if seen.contains(&name) {
            causes.push(Cause::new(
                "FieldValueDuplicate",
                format!("Duplicate value: {name:?}"),
                format!("{here}.name"),
            ));
        }
        seen.push(name);
        if c.get("image").and_then(Value::as_str).map_or(true, str::is_empty) {
            causes.push(Cause::required(&format!("{here}.image"), ""));
        }
    }
}

fn service(obj: &Value, old: Option<&Value>, causes: &mut Vec<Cause>) {
    let typ = obj.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP");
    let ports = obj.pointer("/spec/ports").and_then(Value::as_array);
    if typ != "ExternalName" && ports.map_or(true, Vec::is_empty) {
        causes.push(Cause::required("spec.ports", ""));
    }
    for (i, p) in ports.into_iter().flatten().enumerate() {
        let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
        if !(1..=65535).contains(&port) {
            causes.push(Cause::invalid(
                &format!("spec.ports[{i}].port"),
                &port.to_string(),
                "must be between 1 and 65535, inclusive",
            ));
        }
    }
    if let Some(old) = old {
        let old_ip = old.pointer("/spec/clusterIP").and_then(Value::as_str).unwrap_or("");
        let new_ip = obj.pointer("/spec/clusterIP").and_then(Value::as_str).unwrap_or("");
        if !old_ip.is_empty() && old_ip != new_ip && typ != "ExternalName" {
            causes.push(Cause::invalid(
                "spec.clusterIPs[0]",
                &format!("[]string{{{new_ip:?}}}"),
                "may not change once set",
            ));
        }
    }
}

fn data_size(obj: &Value, fields: &[&str], at: &str, causes: &mut Vec<Cause>) {
    let total: usize = fields
        .iter()
        .filter_map(|f| obj.get(*f).and_then(Value::as_object))
        .flat_map(|m| m.iter())
        .map(|(k, v)| k.len() + decoded_len(v))
        .sum();
    if total > MAX_DATA_BYTES {
        let field = if at.is_empty() { "[]" } else { at };
        causes.push(Cause::too_long(field, MAX_DATA_BYTES));
    }
}

fn decoded_len(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.len() * 3 / 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;
    use serde_json::json;

    fn info(av: &str, kind: &str) -> ResourceInfo {
        Registry::new(&[]).by_kind(av, kind).unwrap().clone()
    }

    #[test]
    fn names() {
        assert!(is_dns1123_subdomain("a.b-c"));
        assert!(!is_dns1123_subdomain("Bad_Name"));
        assert!(!is_dns1035_label("1abc"));
        assert!(is_qualified_name("app.kubernetes.io/name"));
        assert!(!is_qualified_name("a b"));
    }

    #[test]
    fn selector_mismatch_matches_the_capture() {
        let d = json!({"metadata": {"name": "bad"}, "spec": {"selector": {"matchLabels": {"app": "other"}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": "web"}}, "spec": {"containers": [{"name": "web", "image": "x"}]}}}});
        let err = validate(&info("apps/v1", "Deployment"), &d, None).unwrap_err();
        assert_eq!(err.message, "Deployment.apps \"bad\" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{\"app.kubernetes.io/name\":\"web\"}: `selector` does not match template `labels`");
    }

    #[test]
    fn job_template_is_immutable() {
        let j = |img: &str| {
            json!({"metadata": {"name": "train"}, "spec": {"selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "t", "image": img}]}}}})
        };
        let err = validate(&info("batch/v1", "Job"), &j("2"), Some(&j("1"))).unwrap_err();
        assert_eq!(err.code, 422);
        assert_eq!(err.body["details"]["causes"][0]["field"], "spec.template");
        assert!(err.message.ends_with("field is immutable"));
        assert!(validate(&info("batch/v1", "Job"), &j("1"), Some(&j("1"))).is_ok());
    }

    #[test]
    fn names_and_sizes() {
        let bad = json!({"metadata": {"name": "Bad_Name"}});
        assert_eq!(
            validate(&info("v1", "ConfigMap"), &bad, None).unwrap_err().body["details"]["causes"][0]["field"],
            "metadata.name"
        );
        let big = json!({"metadata": {"name": "s"}, "data": {"k": "A".repeat(1_500_000)}});
        let err = validate(&info("v1", "Secret"), &big, None).unwrap_err();
        assert_eq!(err.message, "Secret \"s\" is invalid: data: Too long: must have at most 1048576 bytes");
    }

    #[test]
    fn service_cluster_ip_is_immutable() {
        let s = |ip: &str| json!({"metadata": {"name": "svc"}, "spec": {"clusterIP": ip, "ports": [{"port": 80}]}});
        let err = validate(&info("v1", "Service"), &s("10.96.0.9"), Some(&s("10.96.0.1"))).unwrap_err();
        assert_eq!(err.body["details"]["causes"][0]["field"], "spec.clusterIPs[0]");
    }
}
