//! Lists and objects the chart passes into the rendered objects as given (env, tolerations,
//! affinity, extra containers and volumes, ...). Each becomes a Kubernetes type: it must first
//! read as that type (what the API server decodes; k8s-openapi's types stand in for it), then
//! pass the v1.24 rules `core/validation` applies to it (ValidateEnv, ValidateTolerations,
//! validateAffinity, validateContainers, ValidateVolumes, ...).

use super::k8s;
use super::pod_objects::{affinity, containers, pod_security_context, security_context, volume_mounts, volumes};
use super::Report;
use k8s_openapi::api::{autoscaling::v2 as autoscaling, core::v1 as core, networking::v1 as networking};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The Kubernetes type a list or object parameter becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `command`, `args`: strings.
    Strings,
    /// `[]EnvVar`.
    Env,
    /// `[]EnvFromSource`.
    EnvFrom,
    /// `imagePullSecrets`: names, or `{name: ...}`.
    PullSecrets,
    /// `[]Toleration`.
    Tolerations,
    /// `Affinity`.
    Affinity,
    /// `PodSecurityContext`.
    PodSecurityContext,
    /// `SecurityContext` (a container's).
    SecurityContext,
    /// `[]Container` beside the chart's (`init`: init containers).
    Containers { init: bool },
    /// `[]Volume` beside the chart's.
    Volumes,
    /// `[]VolumeMount` for the chart's container.
    VolumeMounts,
    /// `loadBalancerSourceRanges`: CIDRs.
    Cidrs,
    /// The chart's `ingress.hosts`: `[{host, paths: [{path, pathType}]}]`.
    IngressHosts,
    /// `[]IngressTLS`.
    IngressTls,
    /// `[]HPAScalingPolicy`.
    ScalingPolicies,
}

/// What the pod around a pass-through value has: names it must not repeat or must refer to.
#[derive(Debug, Default)]
pub struct Pod {
    /// Volumes of the rendered pod (the chart's and the user's extra ones).
    pub volumes: Vec<String>,
    /// Volumes the chart itself renders (`tmp`, `config`, `data`).
    pub chart_volumes: Vec<String>,
    /// Containers of the rendered pod (the chart's and sidecars).
    pub containers: Vec<String>,
    /// The chart's container.
    pub main_container: String,
    /// Init containers.
    pub init_containers: Vec<String>,
}

/// Checks `value` of `key` as a `shape`.
pub fn check(key: &str, value: &Value, shape: Shape, pod: &Pod, r: &mut Report) {
    match shape {
        Shape::Strings => each(key, value, r, |at, v, r| {
            typed::<String>(at, v, r);
        }),
        Shape::Env => env(key, value, r),
        Shape::EnvFrom => env_from(key, value, r),
        Shape::PullSecrets => each(key, value, r, |at, v, r| {
            if v.is_string() {
                return;
            }
            if typed::<core::LocalObjectReference>(at, v, r).is_some()
                && v.as_object().is_some_and(|m| m.keys().any(|k| k != "name"))
            {
                r.refuse(at, v, "imagePullSecrets", "only name may be set");
            }
        }),
        Shape::Tolerations => each(key, value, r, tolerations),
        Shape::Affinity => affinity(key, value, r),
        Shape::PodSecurityContext => pod_security_context(key, value, r),
        Shape::SecurityContext => security_context(key, value, r),
        Shape::Containers { init } => containers(key, value, init, pod, r),
        Shape::Volumes => volumes(key, value, pod, r),
        Shape::VolumeMounts => volume_mounts(key, value, pod, r),
        Shape::Cidrs => each(key, value, r, |at, v, r| {
            if let Some(s) = typed::<String>(at, v, r) {
                if !k8s::cidr(&s) {
                    r.refuse(
                        at,
                        v,
                        "spec.loadBalancerSourceRanges",
                        "must be a list of IP ranges. For example, 10.240.0.0/24,10.250.0.0/24",
                    );
                }
            }
        }),
        Shape::IngressHosts => ingress_hosts(key, value, r),
        Shape::IngressTls => each(key, value, r, |at, v, r| {
            let Some(tls) = typed::<networking::IngressTLS>(at, v, r) else { return };
            for (i, h) in tls.hosts.iter().flatten().enumerate() {
                first(&format!("{at}.hosts[{i}]"), h, "spec.tls[].hosts", k8s::wildcard_or_subdomain(h), r);
            }
            if let Some(name) = tls.secret_name.filter(|n| !n.is_empty()) {
                first(&format!("{at}.secretName"), &name, "spec.tls[].secretName", k8s::dns1123_subdomain(&name), r);
            }
        }),
        Shape::ScalingPolicies => scaling_policies(key, value, r),
    }
}

/// Reads `v` as the Kubernetes type `T`, refusing what the API server could not decode.
pub(super) fn typed<T: DeserializeOwned>(at: &str, v: &Value, r: &mut Report) -> Option<T> {
    match serde_json::from_value::<T>(v.clone()) {
        Ok(t) => Some(t),
        Err(e) => {
            let ty = std::any::type_name::<T>().rsplit("::").next().unwrap_or("value");
            r.refuse(at, v, ty, &format!("does not read as a Kubernetes {ty}: {e}"));
            None
        }
    }
}

/// Runs `f` on each item of a list (a non-list is refused).
pub(super) fn each(key: &str, value: &Value, r: &mut Report, mut f: impl FnMut(&str, &Value, &mut Report)) {
    match value {
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                f(&format!("{key}[{i}]"), v, r);
            }
        }
        Value::Null => {}
        other => r.refuse(key, other, "a list", "must be a list"),
    }
}

/// Refuses with the first of Kubernetes' messages, if any.
pub(super) fn first(at: &str, value: &str, field: &str, errs: Vec<String>, r: &mut Report) {
    if let Some(m) = errs.into_iter().next() {
        r.refuse(at, &Value::String(value.to_string()), field, &m);
    }
}

pub(super) fn env(key: &str, value: &Value, r: &mut Report) {
    each(key, value, r, |at, v, r| {
        let Some(e) = typed::<core::EnvVar>(at, v, r) else { return };
        env_name(&format!("{at}.name"), &e.name, "env[].name", r);
        if let Some(from) = &e.value_from {
            let sources = [
                from.field_ref.is_some(),
                from.resource_field_ref.is_some(),
                from.config_map_key_ref.is_some(),
                from.secret_key_ref.is_some(),
            ];
            let n = sources.iter().filter(|s| **s).count();
            let at = format!("{at}.valueFrom");
            let key_refs = [
                ("configMapKeyRef", from.config_map_key_ref.as_ref().map(|r| (&r.name, &r.key))),
                ("secretKeyRef", from.secret_key_ref.as_ref().map(|r| (&r.name, &r.key))),
            ];
            for (k, (name, key)) in key_refs.iter().filter_map(|(k, r)| r.map(|r| (*k, r))) {
                if name.is_empty() {
                    r.refuse(&format!("{at}.{k}.name"), v, "env[].valueFrom", "Required value");
                } else if key.is_empty() {
                    r.refuse(&format!("{at}.{k}.key"), v, "env[].valueFrom", "Required value");
                } else {
                    first(&format!("{at}.{k}.key"), key, "env[].valueFrom key", k8s::config_key(key), r);
                }
            }
            if n == 0 {
                r.refuse(
                    &at,
                    v,
                    "env[].valueFrom",
                    "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
                );
            } else if e.value.as_deref().is_some_and(|s| !s.is_empty()) {
                r.refuse(&at, v, "env[].valueFrom", "may not be specified when `value` is not empty");
            } else if n > 1 {
                r.refuse(&at, v, "env[].valueFrom", "may not have more than one field specified at a time");
            }
        }
    });
}

/// An environment variable name: refused when no server takes it, a warning when only servers
/// before relaxed validation (GA in Kubernetes 1.34) refuse it: the dry run decides.
fn env_name(at: &str, name: &str, field: &str, r: &mut Report) {
    if name.is_empty() {
        r.refuse(at, &Value::String(String::new()), field, "Required value");
    } else if let Some(m) = k8s::env_var_name_any_server(name).into_iter().next() {
        r.refuse(at, &Value::String(name.into()), field, &m);
    } else if let Some(m) = k8s::env_var_name(name).into_iter().next() {
        r.warn(at, &format!("`{name}`: Kubernetes before 1.34 refuses this name ({m}); newer servers accept it, so the server decides"));
    }
}

pub(super) fn env_from(key: &str, value: &Value, r: &mut Report) {
    each(key, value, r, |at, v, r| {
        let Some(e) = typed::<core::EnvFromSource>(at, v, r) else { return };
        if let Some(p) = e.prefix.as_deref().filter(|p| !p.is_empty()) {
            env_name(&format!("{at}.prefix"), p, "envFrom[].prefix", r);
        }
        let refs = [
            ("configMapRef", e.config_map_ref.as_ref().map(|c| c.name.as_str())),
            ("secretRef", e.secret_ref.as_ref().map(|s| s.name.as_str())),
        ];
        let given: Vec<_> = refs.iter().filter_map(|(k, n)| n.map(|n| (*k, n))).collect();
        match given.as_slice() {
            [] => r.refuse(at, v, "envFrom[]", "must specify one of: `configMapRef` or `secretRef`"),
            [(k, name)] => {
                let at = format!("{at}.{k}.name");
                if name.is_empty() {
                    r.refuse(&at, &Value::String(String::new()), "envFrom[].name", "Required value");
                } else {
                    first(&at, name, "envFrom[].name", k8s::dns1123_subdomain(name), r);
                }
            }
            _ => r.refuse(at, v, "envFrom[]", "may not have more than one field specified at a time"),
        }
    });
}

fn tolerations(at: &str, v: &Value, r: &mut Report) {
    let Some(t) = typed::<core::Toleration>(at, v, r) else { return };
    let key = t.key.unwrap_or_default();
    let op = t.operator.unwrap_or_default();
    let effect = t.effect.unwrap_or_default();
    let value = t.value.unwrap_or_default();
    if !key.is_empty() {
        first(&format!("{at}.key"), &key, "tolerations[].key", k8s::qualified_name(&key), r);
    }
    if key.is_empty() && op != "Exists" {
        r.refuse(
            &format!("{at}.operator"),
            v,
            "tolerations[].operator",
            "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
        );
    }
    if t.toleration_seconds.is_some() && effect != "NoExecute" {
        r.refuse(
            &format!("{at}.effect"),
            v,
            "tolerations[].effect",
            "effect must be 'NoExecute' when `tolerationSeconds` is set",
        );
    }
    match op.as_str() {
        "Equal" | "" => first(&format!("{at}.value"), &value, "tolerations[].value", k8s::label_value(&value), r),
        "Exists" if !value.is_empty() => r.refuse(
            &format!("{at}.operator"),
            v,
            "tolerations[].operator",
            "value must be empty when `operator` is 'Exists'",
        ),
        "Exists" => {}
        _ => {
            r.refuse(&format!("{at}.operator"), v, "tolerations[].operator", "supported values: \"Equal\", \"Exists\"")
        }
    }
    if !matches!(effect.as_str(), "" | "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
        r.refuse(
            &format!("{at}.effect"),
            v,
            "tolerations[].effect",
            "supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
        );
    }
}

fn ingress_hosts(key: &str, value: &Value, r: &mut Report) {
    each(key, value, r, |at, h, r| {
        let Some(m) = h.as_object() else {
            r.refuse(at, h, "spec.rules[]", "must be a map with host and paths");
            return;
        };
        match m.get("host") {
            None | Some(Value::Null) => {}
            Some(Value::String(host)) if host.is_empty() => {}
            Some(Value::String(host)) => {
                first(&format!("{at}.host"), host, "spec.rules[].host", k8s::ingress_host(host), r)
            }
            Some(other) => r.refuse(&format!("{at}.host"), other, "spec.rules[].host", "must be a string"),
        }
        let Some(paths) = m.get("paths") else { return };
        let Some(list) = paths.as_array() else {
            r.refuse(&format!("{at}.paths"), paths, "spec.rules[].http.paths", "must be a list");
            return;
        };
        if list.is_empty() {
            r.refuse(
                &format!("{at}.paths"),
                paths,
                "spec.rules[].http.paths",
                "Required value: a rule needs at least one path",
            );
        }
        for (i, p) in list.iter().enumerate() {
            let at = format!("{at}.paths[{i}]");
            let path = p.get("path").map_or(Some("/"), Value::as_str);
            let kind = p.get("pathType").map_or(Some("Prefix"), Value::as_str);
            let (Some(path), Some(kind)) = (path, kind) else {
                r.refuse(&at, p, "spec.rules[].http.paths[]", "path and pathType must be strings");
                continue;
            };
            ingress_path(&at, path, kind, r);
        }
    });
}

fn ingress_path(at: &str, path: &str, kind: &str, r: &mut Report) {
    let s = |v: &str| Value::String(v.to_string());
    match kind {
        "Exact" | "Prefix" => {
            if !path.starts_with('/') {
                r.refuse(&format!("{at}.path"), &s(path), "paths[].path", "must be an absolute path");
            }
            for bad in ["//", "/./", "/../", "%2f", "%2F"] {
                if path.contains(bad) {
                    r.refuse(&format!("{at}.path"), &s(path), "paths[].path", &format!("must not contain '{bad}'"));
                }
            }
            for bad in ["/..", "/."] {
                if path.ends_with(bad) {
                    r.refuse(&format!("{at}.path"), &s(path), "paths[].path", &format!("cannot end with '{bad}'"));
                }
            }
        }
        "ImplementationSpecific" => {
            if !path.is_empty() && !path.starts_with('/') {
                r.refuse(&format!("{at}.path"), &s(path), "paths[].path", "must be an absolute path");
            }
        }
        other => r.refuse(
            &format!("{at}.pathType"),
            &s(other),
            "paths[].pathType",
            "supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\"",
        ),
    }
}

fn scaling_policies(key: &str, value: &Value, r: &mut Report) {
    if value.as_array().is_some_and(Vec::is_empty) {
        r.refuse(key, value, "behavior.policies", "Required value: must specify at least one Policy");
    }
    each(key, value, r, |at, v, r| {
        let Some(p) = typed::<autoscaling::HPAScalingPolicy>(at, v, r) else { return };
        if p.type_ != "Pods" && p.type_ != "Percent" {
            r.refuse(
                &format!("{at}.type"),
                &Value::String(p.type_.clone()),
                "policies[].type",
                "supported values: \"Percent\", \"Pods\"",
            );
        }
        if p.value <= 0 {
            r.refuse(&format!("{at}.value"), &Value::from(p.value), "policies[].value", "must be greater than zero");
        }
        if p.period_seconds <= 0 {
            r.refuse(
                &format!("{at}.periodSeconds"),
                &Value::from(p.period_seconds),
                "policies[].periodSeconds",
                "must be greater than zero",
            );
        } else if p.period_seconds > 1800 {
            r.refuse(
                &format!("{at}.periodSeconds"),
                &Value::from(p.period_seconds),
                "policies[].periodSeconds",
                "must be less than or equal to 1800",
            );
        }
    });
}
