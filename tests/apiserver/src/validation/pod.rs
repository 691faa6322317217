//! Pod templates as v1.24 validates them (core/validation ValidatePodTemplateSpec,
//! ValidatePodSpec and what it calls), in its order of checks.

use super::names::{self, q};
use super::quantity;
use super::scheduling::{affinity, toleration};
use super::{annotations, labels, s, Errs};
use serde_json::{Map, Value};

const ID_RANGE: &str = "must be between 0 and 2147483647, inclusive";

/// `ValidatePodTemplateSpec` at `at` (`spec.template`).
pub fn template(t: Option<&Value>, at: &str, e: &mut Errs) {
    let meta = t.and_then(|t| t.get("metadata"));
    labels(&format!("{at}.metadata.labels"), meta.and_then(|m| m.get("labels")).and_then(Value::as_object), e);
    annotations(
        &format!("{at}.metadata.annotations"),
        meta.and_then(|m| m.get("annotations")).and_then(Value::as_object),
        e,
    );
    spec(t.and_then(|t| t.get("spec")), &format!("{at}.spec"), e);
}

fn arr(v: &Value, key: &str) -> Vec<Value> {
    v.get(key).and_then(Value::as_array).cloned().unwrap_or_default()
}

/// `ValidatePodSpec`.
pub fn spec(spec: Option<&Value>, at: &str, e: &mut Errs) {
    let null = Value::Null;
    let spec = spec.unwrap_or(&null);
    let volumes = volumes(&arr(spec, "volumes"), &format!("{at}.volumes"), e);
    let containers = arr(spec, "containers");
    let init = arr(spec, "initContainers");
    if containers.is_empty() {
        e.required(&format!("{at}.containers"), "");
    }
    containers_of(&containers, false, &volumes, &format!("{at}.containers"), e);
    containers_of(&init, true, &volumes, &format!("{at}.initContainers"), e);
    let mut all: Vec<&str> = containers.iter().map(|c| s(c, "name")).collect();
    for (i, c) in init.iter().enumerate() {
        let name = s(c, "name");
        if all.contains(&name) {
            e.duplicate(&format!("{at}.initContainers[{i}].name"), &q(name));
        }
        all.push(name);
    }
    match s(spec, "restartPolicy") {
        "Always" | "OnFailure" | "Never" => {}
        "" => e.required(&format!("{at}.restartPolicy"), ""),
        other => e.not_supported(&format!("{at}.restartPolicy"), other, &["Always", "OnFailure", "Never"]),
    }
    let dns = s(spec, "dnsPolicy");
    match dns {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => e.required(&format!("{at}.dnsPolicy"), ""),
        other => e.not_supported(
            &format!("{at}.dnsPolicy"),
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        ),
    }
    labels(&format!("{at}.nodeSelector"), spec.get("nodeSelector").and_then(Value::as_object), e);
    pod_security_context(spec.get("securityContext"), &format!("{at}.securityContext"), e);
    for (i, p) in arr(spec, "imagePullSecrets").iter().enumerate() {
        if p.as_object().is_some_and(|m| m.keys().any(|k| k != "name")) {
            e.invalid(
                &format!("{at}.imagePullSecrets[{i}]"),
                &format!("core.LocalObjectReference{{Name:{}}}", q(s(p, "name"))),
                "only name may be set",
            );
        }
    }
    if let Some(a) = spec.get("affinity").filter(|a| !a.is_null()) {
        affinity(a, &format!("{at}.affinity"), e);
    }
    if dns == "None" {
        let config = spec.get("dnsConfig").filter(|c| !c.is_null());
        match config {
            None => e.required(&format!("{at}.dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None"),
            Some(c) if arr(c, "nameservers").is_empty() => e.required(
                &format!("{at}.dnsConfig.nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            ),
            Some(_) => {}
        }
    }
    let sa = s(spec, "serviceAccountName");
    if !sa.is_empty() {
        e.each(&format!("{at}.serviceAccountName"), sa, names::dns1123_subdomain(sa));
    }
    for (i, t) in arr(spec, "tolerations").iter().enumerate() {
        toleration(t, &format!("{at}.tolerations[{i}]"), e);
    }
    let pc = s(spec, "priorityClassName");
    if !pc.is_empty() {
        e.each(&format!("{at}.priorityClassName"), pc, names::dns1123_subdomain(pc));
    }
}

/// `ValidateVolumes`: the names it returns are what mounts may refer to.
fn volumes(vols: &[Value], at: &str, e: &mut Errs) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for (i, v) in vols.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let name = s(v, "name");
        if name.is_empty() {
            e.required(&format!("{here}.name"), "");
        } else {
            e.each(&format!("{here}.name"), name, names::dns1123_label(name));
        }
        let sources: Vec<&String> = v
            .as_object()
            .map(|m| m.iter().filter(|(k, x)| *k != "name" && !x.is_null()).map(|(k, _)| k).collect())
            .unwrap_or_default();
        match sources.as_slice() {
            [] => e.required(&here, "must specify a volume type"),
            [_] => {}
            [_, rest @ ..] => {
                for k in rest {
                    e.forbidden(&format!("{here}.{k}"), "may not specify more than 1 volume type");
                }
            }
        }
        // The name each of these sources refers to is required.
        for (source, name) in [("configMap", "name"), ("secret", "secretName"), ("persistentVolumeClaim", "claimName")]
        {
            if v.get(source).is_some_and(|src| !src.is_null() && s(src, name).is_empty()) {
                e.required(&format!("{here}.{source}.{name}"), "");
            }
        }
        if !name.is_empty() && seen.iter().any(|n| n == name) {
            e.duplicate(&format!("{here}.name"), &q(name));
        } else if !name.is_empty() {
            seen.push(name.to_string());
        }
    }
    seen
}

/// `validateContainers` / `validateInitContainers` for one list.
fn containers_of(list: &[Value], init: bool, volumes: &[String], at: &str, e: &mut Errs) {
    let mut names_seen: Vec<&str> = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let name = s(c, "name");
        if name.is_empty() {
            e.required(&format!("{here}.name"), "");
        } else {
            e.each(&format!("{here}.name"), name, names::dns1123_label(name));
        }
        if names_seen.contains(&name) {
            e.duplicate(&format!("{here}.name"), &q(name));
        } else {
            names_seen.push(name);
        }
        if s(c, "image").is_empty() {
            e.required(&format!("{here}.image"), "");
        }
        if init {
            for k in ["lifecycle", "livenessProbe", "readinessProbe", "startupProbe"] {
                if c.get(k).is_some_and(|p| !p.is_null()) {
                    e.invalid(&format!("{here}.{k}"), "{...}", "must not be set for init containers");
                }
            }
        } else {
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                if let Some(p) = c.get(probe).filter(|p| !p.is_null()) {
                    self::probe(p, &format!("{here}.{probe}"), e);
                    let success = p.get("successThreshold").and_then(Value::as_i64).unwrap_or(1);
                    if probe != "readinessProbe" && success != 1 {
                        e.invalid(&format!("{here}.{probe}.successThreshold"), &success.to_string(), "must be 1");
                    }
                }
            }
        }
        ports(&arr(c, "ports"), &format!("{here}.ports"), e);
        env(&arr(c, "env"), &format!("{here}.env"), e);
        env_from(&arr(c, "envFrom"), &format!("{here}.envFrom"), e);
        mounts(&arr(c, "volumeMounts"), volumes, &format!("{here}.volumeMounts"), e);
        match s(c, "imagePullPolicy") {
            "Always" | "IfNotPresent" | "Never" => {}
            "" => e.required(&format!("{here}.imagePullPolicy"), ""),
            other => e.not_supported(&format!("{here}.imagePullPolicy"), other, &["Always", "IfNotPresent", "Never"]),
        }
        resources(c.get("resources"), &format!("{here}.resources"), e);
        security_context(c.get("securityContext"), &format!("{here}.securityContext"), e);
    }
}

/// `validateProbe` (after defaults: zero periods, thresholds and timeouts were defaulted).
fn probe(p: &Value, at: &str, e: &mut Errs) {
    let handlers =
        ["exec", "httpGet", "tcpSocket", "grpc"].iter().filter(|h| p.get(**h).is_some_and(|v| !v.is_null())).count();
    if handlers == 0 {
        e.required(at, "must specify a handler type");
    }
    if let Some(h) = p.get("httpGet").filter(|h| !h.is_null()) {
        if s(h, "path").is_empty() {
            e.required(&format!("{at}.httpGet.path"), "");
        }
        port_num_or_name(h.get("port"), &format!("{at}.httpGet.port"), e);
    }
    for f in ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"] {
        e.nonnegative(&format!("{at}.{f}"), p.get(f).and_then(Value::as_i64));
    }
}

/// `ValidatePortNumOrName`.
pub fn port_num_or_name(port: Option<&Value>, at: &str, e: &mut Errs) {
    match port {
        Some(Value::Number(n)) => {
            let n = n.as_i64().unwrap_or(0);
            for m in names::port_num(n) {
                e.invalid(at, &n.to_string(), &m);
            }
        }
        Some(Value::String(p)) => e.each(at, p, names::port_name(p)),
        _ => e.invalid(at, "0", "must be between 1 and 65535, inclusive"),
    }
}

fn ports(list: &[Value], at: &str, e: &mut Errs) {
    let mut seen: Vec<&str> = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let name = s(p, "name");
        if !name.is_empty() {
            let msgs = names::port_name(name);
            if !msgs.is_empty() {
                e.each(&format!("{here}.name"), name, msgs);
            } else if seen.contains(&name) {
                e.duplicate(&format!("{here}.name"), &q(name));
            } else {
                seen.push(name);
            }
        }
        match p.get("containerPort").and_then(Value::as_i64).unwrap_or(0) {
            0 => e.required(&format!("{here}.containerPort"), ""),
            n => {
                for m in names::port_num(n) {
                    e.invalid(&format!("{here}.containerPort"), &n.to_string(), &m);
                }
            }
        }
        match s(p, "protocol") {
            "TCP" | "UDP" | "SCTP" => {}
            "" => e.required(&format!("{here}.protocol"), ""),
            other => e.not_supported(&format!("{here}.protocol"), other, &["SCTP", "TCP", "UDP"]),
        }
    }
}

/// `ValidateEnv` with v1.24's `IsEnvVarName`.
fn env(list: &[Value], at: &str, e: &mut Errs) {
    for (i, v) in list.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let name = s(v, "name");
        if name.is_empty() {
            e.required(&format!("{here}.name"), "");
        } else {
            e.each(&format!("{here}.name"), name, names::env_var_name(name));
        }
        let Some(from) = v.get("valueFrom").filter(|f| !f.is_null()) else { continue };
        let at = format!("{here}.valueFrom");
        let sources = ["fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef"];
        let given: Vec<&str> = sources.iter().copied().filter(|k| from.get(*k).is_some_and(|x| !x.is_null())).collect();
        for k in ["configMapKeyRef", "secretKeyRef"].iter().filter(|k| given.contains(k)) {
            let r = &from[*k];
            if s(r, "name").is_empty() {
                e.required(&format!("{at}.{k}.name"), "");
            }
            match s(r, "key") {
                "" => e.required(&format!("{at}.{k}.key"), ""),
                key => e.each(&format!("{at}.{k}.key"), key, names::config_key(key)),
            }
        }
        if given.is_empty() {
            e.invalid(
                &at,
                "\"\"",
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            );
        } else if !s(v, "value").is_empty() {
            e.invalid(&at, "\"\"", "may not be specified when `value` is not empty");
        } else if given.len() > 1 {
            e.invalid(&at, "\"\"", "may not have more than one field specified at a time");
        }
    }
}

/// `ValidateEnvFrom`.
fn env_from(list: &[Value], at: &str, e: &mut Errs) {
    for (i, v) in list.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let prefix = s(v, "prefix");
        if !prefix.is_empty() {
            e.each(&format!("{here}.prefix"), prefix, names::env_var_name(prefix));
        }
        let mut n = 0;
        for k in ["configMapRef", "secretRef"] {
            let Some(r) = v.get(k).filter(|r| !r.is_null()) else { continue };
            n += 1;
            match s(r, "name") {
                "" => e.required(&format!("{here}.{k}.name"), ""),
                name => e.each(&format!("{here}.{k}.name"), name, names::dns1123_subdomain(name)),
            }
        }
        match n {
            0 => e.invalid(at, "\"\"", "must specify one of: `configMapRef` or `secretRef`"),
            1 => {}
            _ => e.invalid(at, "\"\"", "may not have more than one field specified at a time"),
        }
    }
}

/// `ValidateVolumeMounts`.
fn mounts(list: &[Value], volumes: &[String], at: &str, e: &mut Errs) {
    let mut paths: Vec<&str> = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let name = s(m, "name");
        if name.is_empty() {
            e.required(&format!("{here}.name"), "");
        }
        if !volumes.iter().any(|v| v == name) {
            e.not_found(&format!("{here}.name"), name);
        }
        let path = s(m, "mountPath");
        if path.is_empty() {
            e.required(&format!("{here}.mountPath"), "");
        }
        if paths.contains(&path) {
            e.invalid(&format!("{here}.mountPath"), &q(path), "must be unique");
        }
        paths.push(path);
        let sub = s(m, "subPath");
        if sub.starts_with('/') {
            e.invalid(&format!("{at}.subPath"), &q(sub), "must be a relative path");
        }
        if sub.split('/').any(|p| p == "..") {
            e.invalid(&format!("{at}.subPath"), &q(sub), "must not contain '..'");
        }
    }
}

/// `ValidateResourceRequirements`: quantities not negative, whole for extended resources,
/// requests within limits (equal for resources that cannot be overcommitted).
fn resources(r: Option<&Value>, at: &str, e: &mut Errs) {
    let Some(r) = r else { return };
    let side = |k: &str| r.get(k).and_then(Value::as_object).cloned().unwrap_or_else(Map::new);
    let (limits, requests) = (side("limits"), side("requests"));
    let extended =
        |name: &str| name.contains('/') && !name.starts_with("kubernetes.io/") && !name.starts_with("requests.");
    for (path, m) in [("limits", &limits), ("requests", &requests)] {
        for (name, v) in m {
            let here = format!("{at}.{path}[{name}]");
            let Some(qty) = quantity::of(v) else { continue };
            if qty.is_negative() {
                e.invalid(&here, &q(&qty.to_string()), "must be greater than or equal to 0");
            }
            if extended(name) && !qty.is_integer() {
                e.invalid(&here, &q(&qty.to_string()), "must be an integer");
            }
        }
    }
    for (name, v) in &requests {
        let Some(req) = quantity::of(v) else { continue };
        match limits.get(name).and_then(quantity::of) {
            Some(lim) if extended(name) && lim.nanos != req.nanos => {
                e.invalid(&format!("{at}.requests"), &q(&req.to_string()), &format!("must be equal to {name} limit"))
            }
            Some(lim) if req.nanos > lim.nanos => e.invalid(
                &format!("{at}.requests"),
                &q(&req.to_string()),
                &format!("must be less than or equal to {name} limit"),
            ),
            None if extended(name) => {
                e.required(&format!("{at}.limits"), "Limit must be set for non overcommitable resources")
            }
            _ => {}
        }
    }
}

fn id(v: Option<&Value>, at: &str, e: &mut Errs) {
    if let Some(n) = v.and_then(Value::as_i64).filter(|n| !(0..=i64::from(i32::MAX)).contains(n)) {
        e.invalid(at, &n.to_string(), ID_RANGE);
    }
}

/// `ValidateSecurityContext`.
fn security_context(sc: Option<&Value>, at: &str, e: &mut Errs) {
    let Some(sc) = sc.filter(|v| !v.is_null()) else { return };
    id(sc.get("runAsUser"), &format!("{at}.runAsUser"), e);
    id(sc.get("runAsGroup"), &format!("{at}.runAsGroup"), e);
    if sc.get("allowPrivilegeEscalation") == Some(&Value::Bool(false)) {
        if sc.get("privileged") == Some(&Value::Bool(true)) {
            e.invalid(
                at,
                "&core.SecurityContext{...}",
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            );
        }
        let adds = sc.pointer("/capabilities/add").and_then(Value::as_array).cloned().unwrap_or_default();
        if adds.iter().any(|c| c == "CAP_SYS_ADMIN") {
            e.invalid(
                at,
                "&core.SecurityContext{...}",
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            );
        }
    }
}

/// `ValidatePodSecurityContext`.
fn pod_security_context(sc: Option<&Value>, at: &str, e: &mut Errs) {
    let Some(sc) = sc.filter(|v| !v.is_null()) else { return };
    id(sc.get("runAsUser"), &format!("{at}.runAsUser"), e);
    id(sc.get("runAsGroup"), &format!("{at}.runAsGroup"), e);
    id(sc.get("fsGroup"), &format!("{at}.fsGroup"), e);
    for (i, g) in arr(sc, "supplementalGroups").iter().enumerate() {
        id(Some(g), &format!("{at}.supplementalGroups[{i}]"), e);
    }
}
