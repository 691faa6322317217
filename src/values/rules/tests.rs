//! The table covers every parameter, and single checks read like the API server's refusals.

use super::*;
use crate::values::schema::{self, Type};

fn keys_with_rules() -> Vec<&'static str> {
    RULES.iter().flat_map(|r| r.keys.iter().copied()).collect()
}

#[test]
fn every_parameter_has_a_rule_or_is_listed_as_needing_none() {
    let covered = keys_with_rules();
    let missing: Vec<&str> =
        schema::params().iter().map(|p| p.path).filter(|p| !covered.contains(p) && !NO_RULE.contains(p)).collect();
    assert!(missing.is_empty(), "parameters with no Kubernetes rule: {missing:?}; add a row to RULES (or to NO_RULE)");
    for k in covered.iter().chain(NO_RULE) {
        assert!(schema::param(k).is_some(), "rule for `{k}`, which is not a parameter");
    }
}

#[test]
fn every_list_and_object_parameter_has_its_kubernetes_type() {
    for p in schema::params().iter().filter(|p| matches!(p.ty, Type::List | Type::Object)) {
        assert!(shape_of(p.path).is_some(), "`{}` has no Shape: add an object! row to RULES", p.path);
    }
}

#[test]
fn every_integer_has_a_range() {
    for p in schema::params().iter().filter(|p| p.ty == Type::Int) {
        let ranged = RULES
            .iter()
            .any(|r| r.keys.first() == Some(&p.path) && matches!(r.check, Check::Int { .. } | Check::Custom(_)));
        assert!(ranged, "`{}` has no range: Kubernetes integers are 32 bits at most", p.path);
    }
}

#[test]
fn every_rule_names_its_source() {
    for r in RULES {
        assert!(!r.source.is_empty() && !r.keys.is_empty());
    }
}

fn refusal(key: &str, value: serde_json::Value, shape: Shape) -> String {
    let mut r = Report::detached();
    objects::check(key, &value, shape, &objects::Pod::default(), &mut r);
    r.into_result().err().map(|e| e.to_string()).unwrap_or_default()
}

#[test]
fn pass_through_values_read_as_their_kubernetes_types() {
    use serde_json::json;
    let e = refusal("container.env", json!([{"name": "A", "value": 8080}]), Shape::Env);
    assert!(e.contains("container.env[0]") && e.contains("EnvVar") && e.contains("expected a string"), "{e}");
    let e = refusal("tolerations", json!([{"operator": "Exists", "value": "x", "key": "k"}]), Shape::Tolerations);
    assert!(e.contains("tolerations[0].operator") && e.contains("value must be empty"), "{e}");
    let e = refusal("volumes", json!([{"name": "v"}]), Shape::Volumes);
    assert!(e.contains("must specify a volume type"), "{e}");
    assert_eq!(refusal("container.env", json!([{"name": "OK", "value": "1"}]), Shape::Env), "");
}

#[test]
fn env_names_only_old_servers_refuse_are_warnings() {
    let mut r = Report::detached();
    objects::check(
        "container.env",
        &serde_json::json!([{"name": "1BAD"}]),
        Shape::Env,
        &objects::Pod::default(),
        &mut r,
    );
    let w = r.into_result().unwrap();
    assert_eq!(w.len(), 1);
    assert!(w[0].to_string().contains("container.env[0].name") && w[0].message.contains("1.34"), "{}", w[0]);
}
