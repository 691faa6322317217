//! Lists and objects the chart passes into the rendered objects as given (env, tolerations,
//! affinity, extra containers and volumes, ...). Each becomes a Kubernetes type: it must first
//! read as that type (what the API server decodes; k8s-openapi's types stand in for it), then
//! pass the v1.24 rules `core/validation` applies to it (ValidateEnv, ValidateTolerations,
//! validateAffinity, validateContainers, ValidateVolumes, ...).

use super::k8s;
use super::quantity;
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
fn typed<T: DeserializeOwned>(at: &str, v: &Value, r: &mut Report) -> Option<T> {
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
fn each(key: &str, value: &Value, r: &mut Report, mut f: impl FnMut(&str, &Value, &mut Report)) {
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
fn first(at: &str, value: &str, field: &str, errs: Vec<String>, r: &mut Report) {
    if let Some(m) = errs.into_iter().next() {
        r.refuse(at, &Value::String(value.to_string()), field, &m);
    }
}

fn env(key: &str, value: &Value, r: &mut Report) {
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

fn env_from(key: &str, value: &Value, r: &mut Report) {
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

fn affinity(key: &str, value: &Value, r: &mut Report) {
    let Some(a) = typed::<core::Affinity>(key, value, r) else { return };
    if let Some(node) = &a.node_affinity {
        if let Some(req) = &node.required_during_scheduling_ignored_during_execution {
            let at = format!("{key}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms");
            if req.node_selector_terms.is_empty() {
                r.refuse(&at, value, "nodeSelectorTerms", "must have at least one node selector term");
            }
            for (i, t) in req.node_selector_terms.iter().enumerate() {
                node_selector_term(&format!("{at}[{i}]"), t, r);
            }
        }
        for (i, p) in node.preferred_during_scheduling_ignored_during_execution.iter().flatten().enumerate() {
            let at = format!("{key}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
            weight(&at, p.weight, r);
            node_selector_term(&format!("{at}.preference"), &p.preference, r);
        }
    }
    let pod_terms = [
        (
            "podAffinity",
            a.pod_affinity.as_ref().map(|p| {
                (
                    &p.required_during_scheduling_ignored_during_execution,
                    &p.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
        (
            "podAntiAffinity",
            a.pod_anti_affinity.as_ref().map(|p| {
                (
                    &p.required_during_scheduling_ignored_during_execution,
                    &p.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
    ];
    for (name, terms) in pod_terms {
        let Some((required, preferred)) = terms else { continue };
        for (i, t) in required.iter().flatten().enumerate() {
            pod_affinity_term(&format!("{key}.{name}.requiredDuringSchedulingIgnoredDuringExecution[{i}]"), t, r);
        }
        for (i, w) in preferred.iter().flatten().enumerate() {
            let at = format!("{key}.{name}.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
            weight(&at, w.weight, r);
            pod_affinity_term(&format!("{at}.podAffinityTerm"), &w.pod_affinity_term, r);
        }
    }
}

fn weight(at: &str, w: i32, r: &mut Report) {
    if !(1..=100).contains(&w) {
        r.refuse(&format!("{at}.weight"), &Value::from(w), "affinity weight", "must be in the range 1-100");
    }
}

fn node_selector_term(at: &str, t: &core::NodeSelectorTerm, r: &mut Report) {
    for (i, e) in t.match_expressions.iter().flatten().enumerate() {
        let at = format!("{at}.matchExpressions[{i}]");
        first(&format!("{at}.key"), &e.key, "matchExpressions[].key", k8s::qualified_name(&e.key), r);
        let values = e.values.as_deref().unwrap_or_default();
        let why = match e.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => Some("must be specified when `operator` is 'In' or 'NotIn'"),
            "Exists" | "DoesNotExist" if !values.is_empty() => {
                Some("may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
            }
            "Gt" | "Lt" if values.len() != 1 || values[0].parse::<i64>().is_err() => {
                Some("must be specified single integer value when `operator` is 'Lt' or 'Gt'")
            }
            "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt" => None,
            _ => Some("not a valid selector operator"),
        };
        if let Some(why) = why {
            r.refuse(&format!("{at}.operator"), &Value::String(e.operator.clone()), "matchExpressions[].operator", why);
        }
    }
}

fn pod_affinity_term(at: &str, t: &core::PodAffinityTerm, r: &mut Report) {
    if t.topology_key.is_empty() {
        r.refuse(&format!("{at}.topologyKey"), &Value::String(String::new()), "topologyKey", "can not be empty");
    } else {
        first(&format!("{at}.topologyKey"), &t.topology_key, "topologyKey", k8s::qualified_name(&t.topology_key), r);
    }
    if let Some(sel) = &t.label_selector {
        label_selector(&format!("{at}.labelSelector"), sel, r);
    }
}

fn label_selector(at: &str, sel: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector, r: &mut Report) {
    for (k, v) in sel.match_labels.iter().flatten() {
        first(&format!("{at}.matchLabels"), k, "matchLabels", k8s::qualified_name(k), r);
        first(&format!("{at}.matchLabels.{k}"), v, "matchLabels", k8s::label_value(v), r);
    }
    for (i, e) in sel.match_expressions.iter().flatten().enumerate() {
        let at = format!("{at}.matchExpressions[{i}]");
        first(&format!("{at}.key"), &e.key, "matchExpressions[].key", k8s::qualified_name(&e.key), r);
        let values = e.values.as_deref().unwrap_or_default();
        let why = match e.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => Some("must be specified when `operator` is 'In' or 'NotIn'"),
            "Exists" | "DoesNotExist" if !values.is_empty() => {
                Some("may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
            }
            "In" | "NotIn" | "Exists" | "DoesNotExist" => None,
            _ => Some("not a valid selector operator"),
        };
        if let Some(why) = why {
            r.refuse(&format!("{at}.operator"), &Value::String(e.operator.clone()), "matchExpressions[].operator", why);
        }
        for (j, v) in values.iter().enumerate() {
            first(&format!("{at}.values[{j}]"), v, "matchExpressions[].values", k8s::label_value(v), r);
        }
    }
}

const ID_RANGE: &str = "must be between 0 and 2147483647, inclusive";

fn id(at: &str, v: Option<i64>, r: &mut Report) {
    if let Some(n) = v.filter(|n| !(0..=i64::from(i32::MAX)).contains(n)) {
        r.refuse(at, &Value::from(n), "securityContext", ID_RANGE);
    }
}

fn pod_security_context(key: &str, value: &Value, r: &mut Report) {
    let Some(s) = typed::<core::PodSecurityContext>(key, value, r) else { return };
    id(&format!("{key}.runAsUser"), s.run_as_user, r);
    id(&format!("{key}.runAsGroup"), s.run_as_group, r);
    id(&format!("{key}.fsGroup"), s.fs_group, r);
    for (i, g) in s.supplemental_groups.iter().flatten().enumerate() {
        id(&format!("{key}.supplementalGroups[{i}]"), Some(*g), r);
    }
}

fn security_context(key: &str, value: &Value, r: &mut Report) {
    let Some(s) = typed::<core::SecurityContext>(key, value, r) else { return };
    id(&format!("{key}.runAsUser"), s.run_as_user, r);
    id(&format!("{key}.runAsGroup"), s.run_as_group, r);
    if s.allow_privilege_escalation == Some(false) {
        if s.privileged == Some(true) {
            r.refuse(
                key,
                value,
                "securityContext",
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            );
        }
        let adds = s.capabilities.as_ref().and_then(|c| c.add.as_ref());
        if adds.is_some_and(|a| a.iter().any(|c| c == "SYS_ADMIN" || c == "CAP_SYS_ADMIN")) {
            r.refuse(
                key,
                value,
                "securityContext",
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            );
        }
    }
}

fn containers(key: &str, value: &Value, init: bool, pod: &Pod, r: &mut Report) {
    let mut seen: Vec<String> = Vec::new();
    each(key, value, r, |at, v, r| {
        let Some(c) = typed::<core::Container>(at, v, r) else { return };
        let name_at = format!("{at}.name");
        if c.name.is_empty() {
            r.refuse(&name_at, v, "containers[].name", "Required value");
        } else {
            first(&name_at, &c.name, "containers[].name", k8s::dns1123_label(&c.name), r);
        }
        let clash = if init {
            pod.containers.contains(&c.name) || pod.main_container == c.name
        } else {
            pod.init_containers.contains(&c.name)
        };
        if seen.contains(&c.name) || clash {
            r.refuse(
                &name_at,
                &Value::String(c.name.clone()),
                "containers[].name",
                "Duplicate value: container names must be unique in a pod (init containers included)",
            );
        }
        seen.push(c.name.clone());
        match c.image.as_deref() {
            None | Some("") => r.refuse(&format!("{at}.image"), v, "containers[].image", "Required value"),
            Some(img) if img.trim() != img => r.refuse(
                &format!("{at}.image"),
                &Value::String(img.into()),
                "containers[].image",
                "must not have leading or trailing whitespace",
            ),
            _ => {}
        }
        if let Some(p) = c.image_pull_policy.as_deref().filter(|p| !matches!(*p, "Always" | "IfNotPresent" | "Never")) {
            r.refuse(
                &format!("{at}.imagePullPolicy"),
                &Value::String(p.into()),
                "imagePullPolicy",
                "supported values: \"Always\", \"IfNotPresent\", \"Never\"",
            );
        }
        let mut port_names = Vec::new();
        for (i, p) in c.ports.iter().flatten().enumerate() {
            let pat = format!("{at}.ports[{i}]");
            if let Some(m) = k8s::port_num(i64::from(p.container_port)).into_iter().next() {
                r.refuse(&format!("{pat}.containerPort"), &Value::from(p.container_port), "containerPort", &m);
            }
            if let Some(n) = p.name.as_deref().filter(|n| !n.is_empty()) {
                first(&format!("{pat}.name"), n, "ports[].name", k8s::port_name(n), r);
                if port_names.contains(&n) {
                    r.refuse(&format!("{pat}.name"), &Value::String(n.into()), "ports[].name", "Duplicate value");
                }
                port_names.push(n);
            }
        }
        if let Some(env) = v.get("env") {
            self::env(&format!("{at}.env"), env, r);
        }
        if let Some(from) = v.get("envFrom") {
            env_from(&format!("{at}.envFrom"), from, r);
        }
        if let Some(res) = v.get("resources") {
            resources(&format!("{at}.resources"), res, r);
        }
        for probe in ["livenessProbe", "readinessProbe", "startupProbe", "lifecycle"] {
            let Some(p) = v.get(probe).filter(|p| !p.is_null()) else { continue };
            if init {
                r.refuse(&format!("{at}.{probe}"), p, probe, "must not be set for init containers");
                continue;
            }
            for f in ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"]
            {
                if let Some(n) = p.get(f).and_then(Value::as_i64).filter(|n| *n < 0) {
                    r.refuse(
                        &format!("{at}.{probe}.{f}"),
                        &Value::from(n),
                        probe,
                        "must be greater than or equal to 0",
                    );
                }
            }
            if probe != "readinessProbe" && p.get("successThreshold").and_then(Value::as_i64).is_some_and(|n| n > 1) {
                r.refuse(&format!("{at}.{probe}.successThreshold"), &p["successThreshold"], probe, "must be 1");
            }
        }
        let mut paths = Vec::new();
        for (i, m) in c.volume_mounts.iter().flatten().enumerate() {
            mount(&format!("{at}.volumeMounts[{i}]"), m, pod, &mut paths, r);
        }
        if let Some(s) = v.get("securityContext").filter(|s| !s.is_null()) {
            security_context(&format!("{at}.securityContext"), s, r);
        }
    });
}

/// Requests and limits: non-negative, requests within limits, extended resources whole and equal.
pub fn resources(at: &str, res: &Value, r: &mut Report) {
    for side in ["requests", "limits"] {
        for (name, q) in res.get(side).and_then(Value::as_object).into_iter().flatten() {
            match quantity::of(q) {
                None => r.refuse(
                    &format!("{at}.{side}.{name}"),
                    q,
                    "resources",
                    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                ),
                Some(n) if n.is_negative() => {
                    r.refuse(&format!("{at}.{side}.{name}"), q, "resources", "must be greater than or equal to 0")
                }
                Some(n) if name.contains('/') && !n.is_integer() => {
                    r.refuse(&format!("{at}.{side}.{name}"), q, "resources", "must be an integer")
                }
                Some(_) => {}
            }
        }
    }
    for (name, req) in res.get("requests").and_then(Value::as_object).into_iter().flatten() {
        let lim = res.get("limits").and_then(|l| l.get(name));
        let extended = name.contains('/') && !name.starts_with("kubernetes.io/");
        let (Some(rq), lq) = (quantity::of(req), lim.and_then(quantity::of)) else { continue };
        match lq {
            Some(l) if extended && l != rq => r.refuse(
                &format!("{at}.requests.{name}"),
                req,
                "resources.requests",
                &format!("must be equal to {name} limit"),
            ),
            Some(l) if rq > l => r.refuse(
                &format!("{at}.requests.{name}"),
                req,
                "resources.requests",
                &format!("must be less than or equal to {name} limit"),
            ),
            None if extended => r.refuse(
                &format!("{at}.limits.{name}"),
                req,
                "resources.limits",
                "Limit must be set for non overcommitable resources",
            ),
            _ => {}
        }
    }
}

fn mount(at: &str, m: &core::VolumeMount, pod: &Pod, paths: &mut Vec<String>, r: &mut Report) {
    if m.name.is_empty() {
        r.refuse(&format!("{at}.name"), &Value::String(String::new()), "volumeMounts[].name", "Required value");
    } else if !pod.volumes.contains(&m.name) {
        r.refuse(
            &format!("{at}.name"),
            &Value::String(m.name.clone()),
            "volumeMounts[].name",
            &format!("Not found: no volume named {:?} in the pod (volumes: {})", m.name, pod.volumes.join(", ")),
        );
    }
    if m.mount_path.is_empty() {
        r.refuse(
            &format!("{at}.mountPath"),
            &Value::String(String::new()),
            "volumeMounts[].mountPath",
            "Required value",
        );
    } else if paths.contains(&m.mount_path) {
        r.refuse(
            &format!("{at}.mountPath"),
            &Value::String(m.mount_path.clone()),
            "volumeMounts[].mountPath",
            "must be unique",
        );
    }
    paths.push(m.mount_path.clone());
    if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
        if sub.starts_with('/') || sub.split('/').any(|p| p == "..") {
            r.refuse(
                &format!("{at}.subPath"),
                &Value::String(sub.into()),
                "volumeMounts[].subPath",
                "must be a relative path without '..'",
            );
        }
    }
}

fn volume_mounts(key: &str, value: &Value, pod: &Pod, r: &mut Report) {
    let mut paths = Vec::new();
    each(key, value, r, |at, v, r| {
        if let Some(m) = typed::<core::VolumeMount>(at, v, r) {
            mount(at, &m, pod, &mut paths, r);
        }
    });
}

fn volumes(key: &str, value: &Value, pod: &Pod, r: &mut Report) {
    let mut seen = Vec::new();
    each(key, value, r, |at, v, r| {
        let Some(vol) = typed::<core::Volume>(at, v, r) else { return };
        let name_at = format!("{at}.name");
        if vol.name.is_empty() {
            r.refuse(&name_at, v, "volumes[].name", "Required value");
        } else {
            first(&name_at, &vol.name, "volumes[].name", k8s::dns1123_label(&vol.name), r);
        }
        if seen.contains(&vol.name) {
            r.refuse(&name_at, &Value::String(vol.name.clone()), "volumes[].name", "Duplicate value");
        } else if pod.chart_volumes.contains(&vol.name) {
            r.refuse(&name_at, &Value::String(vol.name.clone()), "volumes[].name", "Duplicate value: the chart's pod already has this volume (it would merge with it and have two sources)");
        }
        seen.push(vol.name.clone());
        let sources = v.as_object().map_or(0, |m| m.iter().filter(|(k, s)| *k != "name" && !s.is_null()).count());
        match sources {
            0 => r.refuse(at, v, "volumes[]", "must specify a volume type"),
            1 => {}
            _ => r.refuse(at, v, "volumes[]", "may not specify more than 1 volume type"),
        }
        let config_map = vol.config_map.as_ref().map(|c| c.name.clone());
        let secret = vol.secret.as_ref().map(|s| s.secret_name.clone().unwrap_or_default());
        for (src, name) in [("configMap.name", config_map), ("secret.secretName", secret)] {
            if name.is_some_and(|n| n.is_empty()) {
                r.refuse(&format!("{at}.{src}"), v, "volumes[]", "Required value");
            }
        }
        if let Some(pvc) = &vol.persistent_volume_claim {
            if pvc.claim_name.is_empty() {
                r.refuse(&format!("{at}.persistentVolumeClaim.claimName"), v, "volumes[]", "Required value");
            }
        }
    });
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
