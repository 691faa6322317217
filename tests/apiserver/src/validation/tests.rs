//! Unit checks of single rules; `tests/api/captures.rs` replays the captured refusals over HTTP.

use super::*;
use crate::resources::Registry;
use serde_json::{json, Value};

fn info(av: &str, kind: &str) -> ResourceInfo {
    Registry::new(&[]).by_kind(av, kind).unwrap().clone()
}

/// Validates as the server does: after the decode-time defaults.
fn v(av: &str, kind: &str, obj: &Value, old: Option<&Value>) -> Result<(), ApiError> {
    let i = info(av, kind);
    let defaulted = |o: &Value| {
        let mut o = o.clone();
        crate::defaults::apply_defaults(&i, &mut o).unwrap();
        o
    };
    validate(&i, &defaulted(obj), old.map(defaulted).as_ref(), &Options::default())
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
    let err = v("apps/v1", "Deployment", &d, None).unwrap_err();
    assert_eq!(err.message, "Deployment.apps \"bad\" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{\"app.kubernetes.io/name\":\"web\"}: `selector` does not match template `labels`");
}

#[test]
fn job_template_is_immutable() {
    let j = |img: &str| {
        json!({"metadata": {"name": "train"}, "spec": {"selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "t", "image": img}]}}}})
    };
    let err = v("batch/v1", "Job", &j("2"), Some(&j("1"))).unwrap_err();
    assert_eq!(err.code, 422);
    assert_eq!(err.body["details"]["causes"][0]["field"], "spec.template");
    assert!(err.message.ends_with("field is immutable"));
    assert!(v("batch/v1", "Job", &j("1"), Some(&j("1"))).is_ok());
}

#[test]
fn names_and_sizes() {
    let bad = json!({"metadata": {"name": "Bad_Name"}});
    assert_eq!(v("v1", "ConfigMap", &bad, None).unwrap_err().body["details"]["causes"][0]["field"], "metadata.name");
    let big = json!({"metadata": {"name": "s"}, "data": {"k": "A".repeat(1_500_000)}});
    let err = v("v1", "Secret", &big, None).unwrap_err();
    assert_eq!(err.message, "Secret \"s\" is invalid: data: Too long: must have at most 1048576 bytes");
}

#[test]
fn service_cluster_ip_is_immutable() {
    let s = |ip: &str| json!({"metadata": {"name": "svc"}, "spec": {"clusterIP": ip, "ports": [{"port": 80}]}});
    let err = v("v1", "Service", &s("10.96.0.9"), Some(&s("10.96.0.1"))).unwrap_err();
    assert_eq!(err.body["details"]["causes"][0]["field"], "spec.clusterIPs[0]");
}
