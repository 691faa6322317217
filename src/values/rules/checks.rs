//! The rules across parameters, or with logic of their own, that the table's `Custom` and
//! `Required` rows name (v1.24 sources beside each row in `table.rs`).

use super::{cron, k8s, quantity, Context, Report};
use serde_json::Value;

pub(super) fn always(_: &Context) -> bool {
    true
}
pub(super) fn job_pod(cx: &Context) -> bool {
    !cx.is_deployment()
}
pub(super) fn deployment(cx: &Context) -> bool {
    cx.is_deployment()
}
pub(super) fn service_rendered(cx: &Context) -> bool {
    cx.has_service()
}
pub(super) fn autoscaled(cx: &Context) -> bool {
    cx.is_deployment() && cx.on("autoscaling.enabled")
}
pub(super) fn persistence_on(cx: &Context) -> bool {
    cx.on("persistence.enabled")
}
pub(super) fn claim_rendered(cx: &Context) -> bool {
    cx.on("persistence.enabled") && cx.str("persistence.existingClaim").is_empty()
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

/// The chart's fullname names every object: a DNS-1123 subdomain, a DNS-1035 label for the
/// Service. A CronJob's name is cut to 52 characters (the controller appends 11), a Job's to 63
/// (its pods' `job-name` label), both by the release layer.
pub(super) fn names(cx: &Context, r: &mut Report) {
    let key = match cx.touched("fullnameOverride") && !cx.str("fullnameOverride").is_empty() {
        true => "fullnameOverride",
        false => "nameOverride",
    };
    let full = cx.fullname;
    if let Some(m) = k8s::dns1123_subdomain(full).into_iter().next() {
        return r.refuse(key, &s(full), "metadata.name (the chart's fullname names every object)", &m);
    }
    if cx.has_service() {
        if let Some(m) = k8s::dns1035_label(full).into_iter().next() {
            r.refuse(key, &s(full), "a Service's metadata.name (the fullname)", &m);
        }
    }
}

pub(super) fn name_label(cx: &Context, r: &mut Report) {
    if let Some(m) = k8s::label_value(cx.name).into_iter().next() {
        r.refuse("nameOverride", &s(cx.name), "the label app.kubernetes.io/name", &m);
    }
}

pub(super) fn image(cx: &Context, r: &mut Report) {
    for key in ["global.imageRegistry", "image.registry", "image.repository", "image.tag"] {
        let v = cx.get(key);
        if cx.touched(key) && v.as_str().is_some_and(|t| t.chars().any(char::is_whitespace)) {
            return r.refuse(key, v, "part of an image reference", "must not contain whitespace");
        }
    }
    if cx.touched("image.repository") && cx.str("image.repository").is_empty() {
        r.refuse(
            "image.repository",
            cx.get("image.repository"),
            "part of an image reference",
            "Required value: the image needs a repository",
        );
    }
}

pub(super) fn secret_base64(cx: &Context, r: &mut Report) {
    for (k, v) in cx.get("secret.data").as_object().into_iter().flatten() {
        let text: String = v.as_str().unwrap_or("").chars().filter(|c| !c.is_whitespace()).collect();
        if base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text.as_bytes()).is_err() {
            return r.refuse(
                &format!("secret.data.{k}"),
                v,
                "Secret data",
                "is not base64 (the chart takes secret.data already encoded; use secret.stringData for plain text)",
            );
        }
    }
}

pub(super) fn indexed_job(cx: &Context, r: &mut Report) {
    let completions = cx.get("job.completions").as_i64().unwrap_or(1);
    if cx.is_deployment() || completions <= 1 {
        return;
    }
    for key in ["job.completions", "job.parallelism"] {
        let v = cx.get(key);
        if v.as_i64().is_some_and(|n| n > 100_000) {
            return r.refuse(
                key,
                v,
                &format!("spec.{} of an Indexed Job (completions above 1 make one)", &key[4..]),
                "must be less than or equal to 100000 when completion mode is Indexed",
            );
        }
    }
}

pub(super) fn schedule(cx: &Context, r: &mut Report) {
    let v = cx.get("cronjob.schedule");
    match v.as_str() {
        Some(spec) => {
            if let Err(m) = cron::parse_standard(spec) {
                r.refuse(
                    "cronjob.schedule",
                    v,
                    "a CronJob schedule (spec.schedule, standard cron: five fields, e.g. \"0 2 * * *\", or @daily)",
                    &m,
                );
            }
        }
        None => r.refuse("cronjob.schedule", v, "spec.schedule", "Required value"),
    }
}

pub(super) fn dns_policy(cx: &Context, r: &mut Report) {
    if cx.str("dnsPolicy") == "None" {
        r.refuse(
            "dnsPolicy",
            cx.get("dnsPolicy"),
            "spec.dnsPolicy without spec.dnsConfig",
            "must provide `dnsConfig` when `dnsPolicy` is None (the chart has no dnsConfig parameter)",
        );
    }
}

/// An int-or-string of a rolling update: an integer, a numeric string (made a number), or a
/// percentage.
fn int_or_percent(v: &Value) -> Option<(i64, bool)> {
    match v {
        Value::Number(n) => n.as_i64().map(|n| (n, false)),
        Value::String(t) => match t.strip_suffix('%') {
            Some(p) => p.parse().ok().filter(|_| k8s::percent(t).is_empty()).map(|p| (p, true)),
            None => t.parse().ok().map(|n| (n, false)),
        },
        _ => None,
    }
}

pub(super) fn rolling_update(cx: &Context, r: &mut Report) {
    if !cx.is_deployment() || cx.str("strategy.type") == "Recreate" {
        return;
    }
    let (surge_key, unavailable_key) = ("strategy.rollingUpdate.maxSurge", "strategy.rollingUpdate.maxUnavailable");
    let mut parsed = Vec::new();
    for key in [surge_key, unavailable_key] {
        let v = cx.get(key);
        match int_or_percent(v) {
            // Removed: the API server defaults it to 25%.
            _ if v.is_null() => parsed.push((25, true)),
            Some((n, _)) if n < 0 => {
                return r.refuse(key, v, &format!("spec.{}", &key[9..]), "must be greater than or equal to 0")
            }
            Some(p) => parsed.push(p),
            None => return r.refuse(key, v, &format!("spec.{}", &key[9..]), &k8s::percent("").join("")),
        }
    }
    if parsed[0].0 == 0 && parsed[1].0 == 0 {
        let key = if cx.touched(unavailable_key) { unavailable_key } else { surge_key };
        return r.refuse(
            key,
            cx.get(key),
            "spec.strategy.rollingUpdate",
            "maxSurge and maxUnavailable are both 0: maxUnavailable may not be 0 when `maxSurge` is 0 (a rollout could never make progress)",
        );
    }
    if parsed[1].1 && parsed[1].0 > 100 {
        r.refuse(
            unavailable_key,
            cx.get(unavailable_key),
            "spec.strategy.rollingUpdate.maxUnavailable",
            "must not be greater than 100%",
        );
    }
}

/// Each request within its limit, the untouched side as the overlay renders it (a limit set
/// below the default request is refused, naming the limit).
pub(super) fn requests_within_limits(cx: &Context, r: &mut Report) {
    let rendered = cx.container()["resources"].clone();
    for name in ["cpu", "memory"] {
        let (req_key, lim_key) = (format!("resources.requests.{name}"), format!("resources.limits.{name}"));
        let req = cx.rendered_or_set(&req_key, &rendered["requests"][name]);
        let lim = cx.rendered_or_set(&lim_key, &rendered["limits"][name]);
        let (Some(rq), Some(lq)) = (quantity::of(req), quantity::of(lim)) else { continue };
        if rq > lq {
            let key = if cx.touched(&lim_key) { &lim_key } else { &req_key };
            let rule = format!(
                "the request ({}) is above the limit ({}): requests must be less than or equal to the {name} limit",
                show_q(req),
                show_q(lim)
            );
            return r.refuse(key, cx.get(key), "container resources", &rule);
        }
    }
}

fn show_q(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn success_threshold(cx: &Context, r: &mut Report) {
    for key in ["livenessProbe.successThreshold", "startupProbe.successThreshold"] {
        let v = cx.get(key);
        if cx.touched(key) && v.as_i64().is_some_and(|n| n != 1 && n != 0) {
            return r.refuse(
                key,
                v,
                &format!("{}", key.replace(".successThreshold", "'s successThreshold")),
                "must be 1 for liveness and startup probes",
            );
        }
    }
}

pub(super) fn mount_path(cx: &Context, r: &mut Report) {
    if !cx.on("persistence.enabled") {
        return;
    }
    let v = cx.get("persistence.mountPath");
    let path = v.as_str().unwrap_or("");
    if path.is_empty() {
        return r.refuse("persistence.mountPath", v, "volumeMounts[].mountPath", "Required value");
    }
    let taken: Vec<String> = cx.container()["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["name"] != "data")
        .filter_map(|m| m["mountPath"].as_str().map(str::to_string))
        .collect();
    if taken.iter().any(|p| p == path) {
        r.refuse(
            "persistence.mountPath",
            v,
            "volumeMounts[].mountPath",
            "must be unique: the chart's container already mounts a volume there",
        );
    }
}

pub(super) fn access_mode(cx: &Context, r: &mut Report) {
    if cx.str("persistence.accessMode") == "ReadWriteOncePod" && cx.on("persistence.enabled") {
        r.warn("persistence.accessMode", "ReadWriteOncePod needs the ReadWriteOncePod feature gate in Kubernetes v1.24 (alpha, off by default; beta and on from 1.27): the server decides");
    }
}

pub(super) fn node_port(cx: &Context, r: &mut Report) {
    if !cx.touched("service.nodePort") || !cx.has_service() {
        return;
    }
    let v = cx.get("service.nodePort");
    let n = match super::super::layers::node_port_number(v) {
        Ok(Some(n)) => n,
        Ok(None) => return,
        Err(()) => return r.refuse("service.nodePort", v, "spec.ports[].nodePort", "must be a port number"),
    };
    if let Some(m) = k8s::port_num(n).into_iter().next() {
        return r.refuse("service.nodePort", v, "spec.ports[].nodePort", &m);
    }
    let ty = cx.service_type();
    if ty == "ClusterIP" {
        r.warn("service.nodePort", &format!("{n} is not rendered: service.type is ClusterIP, and node ports need NodePort or LoadBalancer (as the chart, which renders it only for NodePort)"));
    } else if !(30000..=32767).contains(&n) {
        r.warn("service.nodePort", &format!("{n} is outside the default node port range 30000-32767; the API server's --service-node-port-range decides"));
    }
}

pub(super) fn source_ranges_type(cx: &Context, r: &mut Report) {
    let v = cx.get("service.loadBalancerSourceRanges");
    if !cx.has_service() || v.as_array().map_or(true, Vec::is_empty) {
        return;
    }
    let ty = cx.service_type();
    if ty != "LoadBalancer" {
        let key = if cx.touched("service.loadBalancerSourceRanges") {
            "service.loadBalancerSourceRanges"
        } else {
            "service.type"
        };
        r.refuse(
            key,
            cx.get(key),
            &format!("spec.loadBalancerSourceRanges of a {ty} Service"),
            "Forbidden: may only be used when `type` is 'LoadBalancer'",
        );
    }
}

pub(super) fn ingress_rules(cx: &Context, r: &mut Report) {
    let hosts = cx.get("ingress.hosts");
    if cx.is_deployment() && cx.on("ingress.enabled") && hosts.as_array().map_or(true, Vec::is_empty) {
        let key = if cx.touched("ingress.hosts") { "ingress.hosts" } else { "ingress.enabled" };
        r.refuse(key, cx.get(key), "an Ingress's spec.rules", "either `defaultBackend` or `rules` must be specified: give at least one host (the chart has no default backend parameter)");
    }
}

pub(super) fn load_balancer_ip(cx: &Context, r: &mut Report) {
    let v = cx.get("service.loadBalancerIP");
    if let Some(t) = v.as_str().filter(|t| !t.is_empty()) {
        if t.parse::<std::net::IpAddr>().is_err() {
            r.refuse("service.loadBalancerIP", v, "spec.loadBalancerIP", "must be a valid IP address");
        }
    }
}

pub(super) fn min_max_replicas(cx: &Context, r: &mut Report) {
    let (min, max) = (cx.get("autoscaling.minReplicas").as_i64(), cx.get("autoscaling.maxReplicas").as_i64());
    if !cx.on("autoscaling.enabled") || !cx.is_deployment() {
        return;
    }
    if let (Some(min), Some(max)) = (min, max) {
        if min > max {
            let key = if cx.touched("autoscaling.minReplicas") {
                "autoscaling.minReplicas"
            } else {
                "autoscaling.maxReplicas"
            };
            r.refuse(key, cx.get(key), "spec.maxReplicas", &format!("minReplicas ({min}) is greater than maxReplicas ({max}): maxReplicas must be greater than or equal to `minReplicas`"));
        }
    }
}
