//! The pod's own pass-through values (v1.24 core/validation): affinity, security contexts,
//! extra containers, volumes and mounts, and container resources.

use super::objects::{each, env, env_from, first, typed, Pod};
use super::{k8s, quantity, Report};
use k8s_openapi::api::core::v1 as core;
use serde_json::Value;

pub(super) fn affinity(key: &str, value: &Value, r: &mut Report) {
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
        requirement(&format!("{at}.matchExpressions[{i}]"), &e.key, &e.operator, e.values.as_deref(), true, r);
    }
}

/// A selector requirement (`key`, `operator`, `values`); node selectors also take `Gt`/`Lt`.
fn requirement(at: &str, key: &str, op: &str, values: Option<&[String]>, node: bool, r: &mut Report) {
    first(&format!("{at}.key"), key, "matchExpressions[].key", k8s::qualified_name(key), r);
    let values = values.unwrap_or_default();
    let why = match op {
        "In" | "NotIn" if values.is_empty() => Some("must be specified when `operator` is 'In' or 'NotIn'"),
        "Exists" | "DoesNotExist" if !values.is_empty() => {
            Some("may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        }
        "Gt" | "Lt" if node && values.len() != 1 => {
            Some("must be specified single value when `operator` is 'Lt' or 'Gt'")
        }
        "In" | "NotIn" | "Exists" | "DoesNotExist" => None,
        "Gt" | "Lt" if node => None,
        _ => Some("not a valid selector operator"),
    };
    if let Some(why) = why {
        r.refuse(&format!("{at}.operator"), &Value::String(op.to_string()), "matchExpressions[].operator", why);
    }
    if !node {
        for (j, v) in values.iter().enumerate() {
            first(&format!("{at}.values[{j}]"), v, "matchExpressions[].values", k8s::label_value(v), r);
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
        requirement(&format!("{at}.matchExpressions[{i}]"), &e.key, &e.operator, e.values.as_deref(), false, r);
    }
}

const ID_RANGE: &str = "must be between 0 and 2147483647, inclusive";

fn id(at: &str, v: Option<i64>, r: &mut Report) {
    if let Some(n) = v.filter(|n| !(0..=i64::from(i32::MAX)).contains(n)) {
        r.refuse(at, &Value::from(n), "securityContext", ID_RANGE);
    }
}

pub(super) fn pod_security_context(key: &str, value: &Value, r: &mut Report) {
    let Some(s) = typed::<core::PodSecurityContext>(key, value, r) else { return };
    id(&format!("{key}.runAsUser"), s.run_as_user, r);
    id(&format!("{key}.runAsGroup"), s.run_as_group, r);
    id(&format!("{key}.fsGroup"), s.fs_group, r);
    for (i, g) in s.supplemental_groups.iter().flatten().enumerate() {
        id(&format!("{key}.supplementalGroups[{i}]"), Some(*g), r);
    }
}

pub(super) fn security_context(key: &str, value: &Value, r: &mut Report) {
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
        if adds.is_some_and(|a| a.iter().any(|c| c == "CAP_SYS_ADMIN")) {
            r.refuse(
                key,
                value,
                "securityContext",
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            );
        }
    }
}

pub(super) fn containers(key: &str, value: &Value, init: bool, pod: &Pod, r: &mut Report) {
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

pub(super) fn volume_mounts(key: &str, value: &Value, pod: &Pod, r: &mut Report) {
    let mut paths = Vec::new();
    each(key, value, r, |at, v, r| {
        if let Some(m) = typed::<core::VolumeMount>(at, v, r) {
            mount(at, &m, pod, &mut paths, r);
        }
    });
}

pub(super) fn volumes(key: &str, value: &Value, pod: &Pod, r: &mut Report) {
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
