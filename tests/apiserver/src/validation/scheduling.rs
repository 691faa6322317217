//! Scheduling fields of a pod spec (core/validation ValidateTolerations, validateAffinity).

use super::names::{self, q};
use super::{labels, s, Errs};
use serde_json::Value;

fn arr(v: &Value, key: &str) -> Vec<Value> {
    v.get(key).and_then(Value::as_array).cloned().unwrap_or_default()
}

/// `ValidateTolerations` for one toleration.
pub(super) fn toleration(t: &Value, at: &str, e: &mut Errs) {
    let (key, op, effect, value) = (s(t, "key"), s(t, "operator"), s(t, "effect"), s(t, "value"));
    if !key.is_empty() {
        e.each(&format!("{at}.key"), key, names::qualified_name(key));
    }
    if key.is_empty() && op != "Exists" {
        e.invalid(
            &format!("{at}.operator"),
            &q(op),
            "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
        );
    }
    if t.get("tolerationSeconds").is_some_and(|v| !v.is_null()) && effect != "NoExecute" {
        e.invalid(&format!("{at}.effect"), &q(effect), "effect must be 'NoExecute' when `tolerationSeconds` is set");
    }
    match op {
        "Equal" | "" => {
            let errs = names::label_value(value);
            if !errs.is_empty() {
                e.invalid(&format!("{at}.operator"), &q(value), &errs.join(";"));
            }
        }
        "Exists" if !value.is_empty() => e.invalid(
            &format!("{at}.operator"),
            "core.Toleration{...}",
            "value must be empty when `operator` is 'Exists'",
        ),
        "Exists" => {}
        other => e.not_supported(&format!("{at}.operator"), other, &["Equal", "Exists"]),
    }
    if !matches!(effect, "" | "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
        e.not_supported(&format!("{at}.effect"), effect, &["NoSchedule", "PreferNoSchedule", "NoExecute"]);
    }
}

/// `validateAffinity`.
pub(super) fn affinity(a: &Value, at: &str, e: &mut Errs) {
    if let Some(node) = a.get("nodeAffinity").filter(|v| !v.is_null()) {
        let here = format!("{at}.nodeAffinity");
        if let Some(req) = node.get("requiredDuringSchedulingIgnoredDuringExecution").filter(|v| !v.is_null()) {
            let terms = arr(req, "nodeSelectorTerms");
            let tat = format!("{here}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms");
            if terms.is_empty() {
                e.required(&tat, "must have at least one node selector term");
            }
            for (i, t) in terms.iter().enumerate() {
                node_selector_term(t, &format!("{tat}[{i}]"), e);
            }
        }
        for (i, p) in arr(node, "preferredDuringSchedulingIgnoredDuringExecution").iter().enumerate() {
            let pat = format!("{here}.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
            weight(p, &pat, e);
            node_selector_term(&p["preference"], &format!("{pat}.preference"), e);
        }
    }
    for kind in ["podAffinity", "podAntiAffinity"] {
        let Some(pa) = a.get(kind).filter(|v| !v.is_null()) else { continue };
        for (i, t) in arr(pa, "requiredDuringSchedulingIgnoredDuringExecution").iter().enumerate() {
            pod_affinity_term(t, &format!("{at}.{kind}.requiredDuringSchedulingIgnoredDuringExecution[{i}]"), e);
        }
        for (i, w) in arr(pa, "preferredDuringSchedulingIgnoredDuringExecution").iter().enumerate() {
            let wat = format!("{at}.{kind}.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
            weight(w, &wat, e);
            pod_affinity_term(&w["podAffinityTerm"], &format!("{wat}.podAffinityTerm"), e);
        }
    }
}

fn weight(w: &Value, at: &str, e: &mut Errs) {
    let n = w.get("weight").and_then(Value::as_i64).unwrap_or(0);
    if !(1..=100).contains(&n) {
        e.invalid(&format!("{at}.weight"), &n.to_string(), "must be in the range 1-100");
    }
}

fn node_selector_term(t: &Value, at: &str, e: &mut Errs) {
    for (i, r) in arr(t, "matchExpressions").iter().enumerate() {
        requirement(r, &format!("{at}.matchExpressions[{i}]"), true, e);
    }
}

/// `validateNodeSelectorRequirement` (`node`: `Gt`/`Lt` allowed) or
/// `ValidateLabelSelectorRequirement`.
fn requirement(r: &Value, at: &str, node: bool, e: &mut Errs) {
    let values = arr(r, "values");
    match s(r, "operator") {
        "In" | "NotIn" if values.is_empty() => {
            e.required(&format!("{at}.values"), "must be specified when `operator` is 'In' or 'NotIn'")
        }
        "Exists" | "DoesNotExist" if !values.is_empty() => {
            e.forbidden(&format!("{at}.values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        }
        "Gt" | "Lt" if node && values.len() != 1 => {
            e.required(&format!("{at}.values"), "must be specified single value when `operator` is 'Lt' or 'Gt'")
        }
        "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
        "Gt" | "Lt" if node => {}
        other if node => e.invalid(&format!("{at}.operator"), &q(other), "not a valid selector operator"),
        other => e.invalid(&format!("{at}.operator"), &q(other), "not a valid pod selector operator"),
    }
    let key = s(r, "key");
    e.each(&format!("{at}.key"), key, names::qualified_name(key));
}

fn pod_affinity_term(t: &Value, at: &str, e: &mut Errs) {
    if let Some(sel) = t.get("labelSelector").filter(|v| !v.is_null()) {
        let here = format!("{at}.labelSelector");
        labels(&format!("{here}.matchLabels"), sel.get("matchLabels").and_then(Value::as_object), e);
        for (i, r) in arr(sel, "matchExpressions").iter().enumerate() {
            requirement(r, &format!("{here}.matchExpressions[{i}]"), false, e);
        }
    }
    let key = s(t, "topologyKey");
    if key.is_empty() {
        e.required(&format!("{at}.topologyKey"), "can not be empty");
    }
    e.each(&format!("{at}.topologyKey"), key, names::qualified_name(key));
}
