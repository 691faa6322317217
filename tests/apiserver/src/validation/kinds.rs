//! Per-kind validation (v1.24): apps ValidateDeployment, batch ValidateJob/ValidateCronJob,
//! core ValidatePersistentVolumeClaim/ValidateConfigMap/ValidateSecret, autoscaling
//! ValidateHorizontalPodAutoscaler; Services and Ingresses are in `network`.

use super::names::{self, q};
use super::network::{ingress, service};
use super::MAX_DATA_BYTES;
use super::{cron, go_template, pod, quantity, s, selector_is_empty, selector_matches, selector_value, Errs};
use crate::resources::ResourceInfo;
use crate::status::Cause;
use crate::util::go_string_map;
use serde_json::Value;

pub fn validate(info: &ResourceInfo, obj: &Value, old: Option<&Value>, e: &mut Errs) {
    match (info.group.as_str(), info.kind.as_str()) {
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => workload(info, obj, old, e),
        ("batch", "Job") => job(obj, old, e),
        ("batch", "CronJob") => cronjob(obj, old, e),
        ("", "Service") => service(obj, old, e),
        ("", "Secret") => data(obj, &["data"], "data", e),
        ("", "ConfigMap") => data(obj, &["data", "binaryData"], "", e),
        ("", "PersistentVolumeClaim") => pvc(obj, e),
        ("", "Pod") => pod::spec(obj.get("spec"), "spec", e),
        ("networking.k8s.io", "Ingress") => ingress(obj, e),
        ("autoscaling", "HorizontalPodAutoscaler") => hpa(obj, e),
        _ => {}
    }
}

fn num(v: &Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(Value::as_i64)
}

/// `intstr.IntOrString` as `%#v` prints it.
fn go_intstr(v: &Value) -> String {
    match v {
        Value::String(t) => format!("intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}", q(t)),
        other => format!("intstr.IntOrString{{Type:0, IntVal:{}, StrVal:\"\"}}", other.as_i64().unwrap_or(0)),
    }
}

/// The value of an int-or-percent: (number, is a percentage); None when not a valid percent.
fn int_or_percent(v: &Value) -> Option<(i64, bool)> {
    match v {
        Value::String(t) if names::is_percent(t) => t.trim_end_matches('%').parse().ok().map(|n| (n, true)),
        Value::String(_) => None,
        other => Some((other.as_i64().unwrap_or(0), false)),
    }
}

fn workload(info: &ResourceInfo, obj: &Value, old: Option<&Value>, e: &mut Errs) {
    let spec = obj.get("spec");
    let sel = spec.and_then(|s| s.get("selector"));
    let template_labels = obj.pointer("/spec/template/metadata/labels").and_then(Value::as_object);
    if sel.is_none() {
        e.required("spec.selector", "");
    } else if selector_is_empty(sel) {
        e.invalid("spec.selector", &selector_value(sel), "empty selector is invalid for deployment");
    } else if let Some(sel) = sel {
        if !selector_matches(sel, template_labels) {
            e.invalid(
                "spec.template.metadata.labels",
                &go_string_map(template_labels),
                "`selector` does not match template `labels`",
            );
        }
    }
    e.nonnegative("spec.replicas", num(obj, "/spec/replicas"));
    pod::template(obj.pointer("/spec/template"), "spec.template", e);
    if info.kind == "Deployment" {
        match s(obj.pointer("/spec/template/spec").unwrap_or(&Value::Null), "restartPolicy") {
            "Always" | "" => {}
            other => e.not_supported("spec.template.spec.restartPolicy", other, &["Always"]),
        }
        strategy(obj, e);
    }
    if let Some(old) = old {
        let old_sel = old.pointer("/spec/selector");
        if old_sel.is_some() && old_sel != sel {
            e.invalid("spec.selector", &selector_value(sel), "field is immutable");
        }
    }
}

/// `ValidateDeploymentStrategy` and `ValidateRollingUpdateDeployment`.
fn strategy(obj: &Value, e: &mut Errs) {
    let Some(st) = obj.pointer("/spec/strategy") else { return };
    let ru = st.get("rollingUpdate").filter(|v| !v.is_null());
    match s(st, "type") {
        "Recreate" => {
            if ru.is_some() {
                e.forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'");
            }
        }
        "RollingUpdate" => {
            let Some(ru) = ru else {
                return e.required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil");
            };
            let null = Value::Null;
            let (unavailable, surge) = (ru.get("maxUnavailable").unwrap_or(&null), ru.get("maxSurge").unwrap_or(&null));
            for (field, v) in [("maxUnavailable", unavailable), ("maxSurge", surge)] {
                let at = format!("spec.strategy.rollingUpdate.{field}");
                match int_or_percent(v) {
                    None => e.invalid(&at, &go_intstr(v), names::PERCENT_MSG),
                    Some((n, false)) if n < 0 => e.invalid(&at, &n.to_string(), "must be greater than or equal to 0"),
                    _ => {}
                }
            }
            let zero = |v: &Value| int_or_percent(v).map(|(n, _)| n) == Some(0);
            if zero(unavailable) && zero(surge) {
                e.invalid(
                    "spec.strategy.rollingUpdate.maxUnavailable",
                    &go_intstr(unavailable),
                    "may not be 0 when `maxSurge` is 0",
                );
            }
            if let Some((n, true)) = int_or_percent(unavailable) {
                if n > 100 {
                    e.invalid(
                        "spec.strategy.rollingUpdate.maxUnavailable",
                        &go_intstr(unavailable),
                        "must not be greater than 100%",
                    );
                }
            }
        }
        "" => e.required("spec.strategy.type", ""),
        other => e.not_supported("spec.strategy.type", other, &["Recreate", "RollingUpdate"]),
    }
}

/// `validateJobSpec` at `at` (`spec`, or a CronJob's `spec.jobTemplate.spec`).
fn job_spec(spec: Option<&Value>, at: &str, e: &mut Errs) {
    let null = Value::Null;
    let spec = spec.unwrap_or(&null);
    for f in ["parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished"] {
        e.nonnegative(&format!("{at}.{f}"), spec.get(f).and_then(Value::as_i64));
    }
    if let Some(d) = spec.get("activeDeadlineSeconds").and_then(Value::as_i64).filter(|d| *d <= 0) {
        e.invalid(&format!("{at}.activeDeadlineSeconds"), &d.to_string(), "must be greater than 0");
    }
    match s(spec, "completionMode") {
        "NonIndexed" | "" => {}
        "Indexed" => {
            match spec.get("completions").and_then(Value::as_i64) {
                None => e.required(&format!("{at}.completions"), "when completion mode is Indexed"),
                Some(n) if n > 100_000 => e.invalid(
                    &format!("{at}.completions"),
                    &n.to_string(),
                    "must be less than or equal to 100000 when completion mode is Indexed",
                ),
                Some(_) => {}
            }
            if let Some(n) = spec.get("parallelism").and_then(Value::as_i64).filter(|n| *n > 100_000) {
                e.invalid(
                    &format!("{at}.parallelism"),
                    &n.to_string(),
                    "must be less than or equal to 100000 when completion mode is Indexed",
                );
            }
        }
        other => e.not_supported(&format!("{at}.completionMode"), other, &["NonIndexed", "Indexed"]),
    }
    let policy = spec.pointer("/template/spec/restartPolicy").and_then(Value::as_str).unwrap_or("");
    if policy != "Never" && policy != "OnFailure" {
        e.0.push(Cause::not_supported(
            &format!("{at}.template.spec.restartPolicy"),
            &q(policy),
            &["OnFailure", "Never"],
        ));
    }
    pod::template(spec.get("template"), &format!("{at}.template"), e);
}

fn job(obj: &Value, old: Option<&Value>, e: &mut Errs) {
    job_spec(obj.get("spec"), "spec", e);
    let Some(old) = old else { return };
    if old.pointer("/spec/selector") != obj.pointer("/spec/selector") {
        e.invalid("spec.selector", &selector_value(obj.pointer("/spec/selector")), "field is immutable");
    }
    if old.pointer("/spec/template") != obj.pointer("/spec/template") {
        e.invalid("spec.template", &go_template(obj.pointer("/spec/template")), "field is immutable");
    }
    if old.pointer("/spec/completions") != obj.pointer("/spec/completions") {
        let v = obj.pointer("/spec/completions").map_or("null".to_string(), Value::to_string);
        e.invalid("spec.completions", &v, "field is immutable");
    }
}

/// `ValidateCronJobCreate`/`ValidateCronJobUpdate`.
fn cronjob(obj: &Value, old: Option<&Value>, e: &mut Errs) {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    match spec.get("schedule").and_then(Value::as_str) {
        None | Some("") => e.required("spec.schedule", ""),
        Some(sched) => {
            if let Err(m) = cron::parse_standard(sched) {
                e.invalid("spec.schedule", &q(sched), &m);
            }
        }
    }
    e.nonnegative("spec.startingDeadlineSeconds", spec.get("startingDeadlineSeconds").and_then(Value::as_i64));
    match s(spec, "concurrencyPolicy") {
        "Allow" | "Forbid" | "Replace" => {}
        "" => e.required("spec.concurrencyPolicy", ""),
        other => e.not_supported("spec.concurrencyPolicy", other, &["Allow", "Forbid", "Replace"]),
    }
    e.nonnegative("spec.successfulJobsHistoryLimit", spec.get("successfulJobsHistoryLimit").and_then(Value::as_i64));
    e.nonnegative("spec.failedJobsHistoryLimit", spec.get("failedJobsHistoryLimit").and_then(Value::as_i64));
    let template = spec.get("jobTemplate");
    super::labels(
        "spec.jobTemplate.metadata.labels",
        template.and_then(|t| t.pointer("/metadata/labels")).and_then(Value::as_object),
        e,
    );
    job_spec(template.and_then(|t| t.get("spec")), "spec.jobTemplate.spec", e);
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    if old.is_none() && name.len() > 52 {
        // The controller names each Job `<cronjob>-<11 characters>`; Job names are 63 at most.
        e.invalid("metadata.name", &q(name), "must be no more than 52 characters");
    }
}

/// `validateHorizontalPodAutoscalerSpec` (autoscaling/v2).
fn hpa(obj: &Value, e: &mut Errs) {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let min = spec.get("minReplicas").and_then(Value::as_i64);
    if let Some(m) = min.filter(|m| *m < 1) {
        e.invalid("spec.minReplicas", &m.to_string(), "must be greater than or equal to 1");
    }
    let max = spec.get("maxReplicas").and_then(Value::as_i64).unwrap_or(0);
    if max < 1 {
        e.invalid("spec.maxReplicas", &max.to_string(), "must be greater than 0");
    }
    if min.is_some_and(|m| max < m) {
        e.invalid("spec.maxReplicas", &max.to_string(), "must be greater than or equal to `minReplicas`");
    }
    for (i, m) in spec.get("metrics").and_then(Value::as_array).cloned().unwrap_or_default().iter().enumerate() {
        let at = format!("spec.metrics[{i}]");
        if let Some(u) = m.pointer("/resource/target/averageUtilization").and_then(Value::as_i64).filter(|u| *u < 1) {
            e.invalid(&format!("{at}.resource.target.averageUtilization"), &u.to_string(), "must be greater than 0");
        }
    }
    for dir in ["scaleUp", "scaleDown"] {
        let Some(rules) = spec.pointer(&format!("/behavior/{dir}")).filter(|r| !r.is_null()) else { continue };
        let at = format!("spec.behavior.{dir}");
        if let Some(w) = rules.get("stabilizationWindowSeconds").and_then(Value::as_i64) {
            if w < 0 {
                e.invalid(
                    &format!("{at}.stabilizationWindowSeconds"),
                    &w.to_string(),
                    "must be greater than or equal to zero",
                );
            } else if w > 3600 {
                e.invalid(
                    &format!("{at}.stabilizationWindowSeconds"),
                    &w.to_string(),
                    "must be less than or equal to 3600",
                );
            }
        }
        if let Some(p) =
            rules.get("selectPolicy").and_then(Value::as_str).filter(|p| !matches!(*p, "Max" | "Min" | "Disabled"))
        {
            e.not_supported(&format!("{at}.selectPolicy"), p, &["Disabled", "Max", "Min"]);
        }
        let policies = rules.get("policies").and_then(Value::as_array).cloned();
        if policies.as_ref().is_some_and(Vec::is_empty) {
            e.required(&format!("{at}.policies"), "must specify at least one Policy");
        }
        for (i, p) in policies.unwrap_or_default().iter().enumerate() {
            let pat = format!("{at}.policies[{i}]");
            let t = s(p, "type");
            if t != "Pods" && t != "Percent" {
                e.not_supported(&format!("{pat}.type"), t, &["Percent", "Pods"]);
            }
            let v = p.get("value").and_then(Value::as_i64).unwrap_or(0);
            if v <= 0 {
                e.invalid(&format!("{pat}.value"), &v.to_string(), "must be greater than zero");
            }
            let period = p.get("periodSeconds").and_then(Value::as_i64).unwrap_or(0);
            if period <= 0 {
                e.invalid(&format!("{pat}.periodSeconds"), &period.to_string(), "must be greater than zero");
            } else if period > 1800 {
                e.invalid(&format!("{pat}.periodSeconds"), &period.to_string(), "must be less than or equal to 1800");
            }
        }
    }
}

/// `ValidatePersistentVolumeClaimSpec`; `ReadWriteOncePod` needs a feature gate v1.24 has off.
fn pvc(obj: &Value, e: &mut Errs) {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let modes = spec.get("accessModes").and_then(Value::as_array).cloned().unwrap_or_default();
    if modes.is_empty() {
        e.required("spec.accessModes", "at least 1 access mode is required");
    }
    for m in &modes {
        let m = m.as_str().unwrap_or("");
        if !matches!(m, "ReadWriteOnce" | "ReadOnlyMany" | "ReadWriteMany") {
            e.not_supported("spec.accessModes", m, &["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce"]);
        }
    }
    match spec.pointer("/resources/requests/storage").and_then(quantity::of) {
        None => e.required("spec.resources[storage]", ""),
        Some(q) if !q.is_positive() => {
            e.invalid("spec.resources[storage]", &q.to_string(), "must be greater than zero")
        }
        Some(_) => {}
    }
    let class = s(spec, "storageClassName");
    if !class.is_empty() {
        e.each("spec.storageClassName", class, names::dns1123_subdomain(class));
    }
}

/// ConfigMap and Secret data: keys are config keys, 1 MiB in all.
fn data(obj: &Value, fields: &[&str], at: &str, e: &mut Errs) {
    let mut total = 0;
    for f in fields {
        for (k, v) in obj.get(*f).and_then(Value::as_object).into_iter().flatten() {
            e.each(&format!("{f}[{k}]"), k, names::config_key(k));
            total += k.len() + v.as_str().map_or(0, |s| s.len() * 3 / 4);
        }
    }
    if total > MAX_DATA_BYTES {
        let field = if at.is_empty() { "[]" } else { at };
        e.0.push(Cause::too_long(field, MAX_DATA_BYTES));
    }
}
