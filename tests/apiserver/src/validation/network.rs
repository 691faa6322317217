//! Services (core ValidateService, the node port allocator) and Ingresses (networking
//! ValidateIngressCreate), as v1.24 validates them.

use super::names::{self, q};
use super::{pod, s, Errs, Options, DEFAULT_NODE_PORTS};
use crate::resources::ResourceInfo;
use serde_json::Value;

pub(super) fn service(obj: &Value, old: Option<&Value>, e: &mut Errs) {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let typ = spec.get("type").and_then(Value::as_str).unwrap_or("ClusterIP");
    let ports = spec.get("ports").and_then(Value::as_array).cloned().unwrap_or_default();
    let headless = s(spec, "clusterIP") == "None";
    if typ != "ExternalName" && !headless && ports.is_empty() {
        e.required("spec.ports", "");
    }
    let mut port_names: Vec<&str> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let at = format!("spec.ports[{i}]");
        let name = s(p, "name");
        if ports.len() > 1 && name.is_empty() {
            e.required(&format!("{at}.name"), "");
        } else if !name.is_empty() {
            e.each(&format!("{at}.name"), name, names::dns1123_label(name));
            if port_names.contains(&name) {
                e.duplicate(&format!("{at}.name"), &q(name));
            }
            port_names.push(name);
        }
        let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
        for m in names::port_num(port) {
            e.invalid(&format!("{at}.port"), &port.to_string(), &m);
        }
        match s(p, "protocol") {
            "TCP" | "UDP" | "SCTP" => {}
            "" => e.required(&format!("{at}.protocol"), ""),
            other => e.not_supported(&format!("{at}.protocol"), other, &["SCTP", "TCP", "UDP"]),
        }
        pod::port_num_or_name(p.get("targetPort"), &format!("{at}.targetPort"), e);
    }
    match typ {
        "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName" => {}
        other => e.not_supported("spec.type", other, &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]),
    }
    if typ == "ClusterIP" {
        for (i, p) in ports.iter().enumerate() {
            if p.get("nodePort").and_then(Value::as_i64).is_some_and(|n| n != 0) {
                e.forbidden(&format!("spec.ports[{i}].nodePort"), "may not be used when `type` is 'ClusterIP'");
            }
        }
    }
    let ranges: Vec<String> = spec
        .get("loadBalancerSourceRanges")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|r| r.as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default();
    if !ranges.is_empty() {
        if typ != "LoadBalancer" {
            e.forbidden("spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'");
        }
        if !ranges.iter().all(|r| names::is_cidr(r)) {
            e.invalid(
                "spec.LoadBalancerSourceRanges",
                &q(&format!("[{}]", ranges.join(" "))),
                "must be a list of IP ranges. For example, 10.240.0.0/24,10.250.0.0/24 ",
            );
        }
    }
    if let Some(old) = old {
        let old_ip = old.pointer("/spec/clusterIP").and_then(Value::as_str).unwrap_or("");
        let new_ip = s(spec, "clusterIP");
        if !old_ip.is_empty() && old_ip != new_ip && typ != "ExternalName" {
            e.invalid("spec.clusterIPs[0]", &format!("[]string{{{}}}", q(new_ip)), "may not change once set");
        }
    }
}

/// The node port allocator (registry/core/service): a port outside `--service-node-port-range`.
pub fn node_port_range(info: &ResourceInfo, obj: &Value, opts: &Options, e: &mut Errs) {
    if (info.group.as_str(), info.kind.as_str()) != ("", "Service") {
        return;
    }
    let typ = obj.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP");
    if typ != "NodePort" && typ != "LoadBalancer" {
        return;
    }
    let (lo, hi) = opts.node_ports;
    let ports = obj.pointer("/spec/ports").and_then(Value::as_array).cloned().unwrap_or_default();
    for (i, p) in ports.iter().enumerate() {
        if let Some(n) = p.get("nodePort").and_then(Value::as_i64).filter(|n| *n != 0 && !(lo..=hi).contains(n)) {
            let range = if (lo, hi) == DEFAULT_NODE_PORTS { "30000-32767".to_string() } else { format!("{lo}-{hi}") };
            e.invalid(
                &format!("spec.ports[{i}].nodePort"),
                &n.to_string(),
                &format!("provided port is not in the valid range. The range of valid ports is {range}"),
            );
        }
    }
}

/// `ValidateIngressSpec`: class, rules (hosts, paths, backends), TLS.
pub(super) fn ingress(obj: &Value, e: &mut Errs) {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let rules = spec.get("rules").and_then(Value::as_array).cloned().unwrap_or_default();
    if rules.is_empty() && spec.get("defaultBackend").map_or(true, Value::is_null) {
        e.invalid(
            "spec.rules",
            "[]networking.IngressRule(nil)",
            "either `defaultBackend` or `rules` must be specified",
        );
    }
    for (i, r) in rules.iter().enumerate() {
        let at = format!("spec.rules[{i}]");
        let host = s(r, "host");
        if !host.is_empty() {
            if host.parse::<std::net::IpAddr>().is_ok() {
                e.invalid(&format!("{at}.host"), &q(host), "must be a DNS name, not an IP address");
            }
            let msgs = if host.contains('*') {
                names::wildcard_dns1123_subdomain(host)
            } else {
                names::dns1123_subdomain(host)
            };
            e.each(&format!("{at}.host"), host, msgs);
        }
        let Some(http) = r.get("http").filter(|h| !h.is_null()) else { continue };
        let paths = http.get("paths").and_then(Value::as_array).cloned().unwrap_or_default();
        if paths.is_empty() {
            e.required(&format!("{at}.http.paths"), "");
        }
        for (j, p) in paths.iter().enumerate() {
            ingress_path(p, &format!("{at}.http.paths[{j}]"), e);
        }
    }
    if let Some(class) = spec.get("ingressClassName").and_then(Value::as_str) {
        e.each("spec.ingressClassName", class, names::dns1123_subdomain(class));
    }
    for (i, t) in spec.get("tls").and_then(Value::as_array).cloned().unwrap_or_default().iter().enumerate() {
        for (j, h) in t.get("hosts").and_then(Value::as_array).cloned().unwrap_or_default().iter().enumerate() {
            let h = h.as_str().unwrap_or("");
            let msgs = if h.contains('*') { names::wildcard_dns1123_subdomain(h) } else { names::dns1123_subdomain(h) };
            e.each(&format!("spec.tls[{i}].hosts[{j}]"), h, msgs);
        }
        let secret = s(t, "secretName");
        if !secret.is_empty() {
            e.each(&format!("spec.tls[{i}].secretName"), secret, names::dns1123_subdomain(secret));
        }
    }
}

fn ingress_path(p: &Value, at: &str, e: &mut Errs) {
    let path = s(p, "path");
    match p.get("pathType").and_then(Value::as_str) {
        None => e.required(&format!("{at}.pathType"), "pathType must be specified"),
        Some("Exact" | "Prefix") => {
            if !path.starts_with('/') {
                e.invalid(&format!("{at}.path"), &q(path), "must be an absolute path");
            }
            for bad in ["//", "/./", "/../", "%2f", "%2F"] {
                if path.contains(bad) {
                    e.invalid(&format!("{at}.path"), &q(path), &format!("must not contain '{bad}'"));
                }
            }
            for bad in ["/..", "/."] {
                if path.ends_with(bad) {
                    e.invalid(&format!("{at}.path"), &q(path), &format!("cannot end with '{bad}'"));
                }
            }
        }
        Some("ImplementationSpecific") => {
            if !path.is_empty() && !path.starts_with('/') {
                e.invalid(&format!("{at}.path"), &q(path), "must be an absolute path");
            }
        }
        Some(other) => {
            e.not_supported(&format!("{at}.pathType"), other, &["Exact", "ImplementationSpecific", "Prefix"])
        }
    }
    if let Some(svc) = p.pointer("/backend/service").filter(|v| !v.is_null()) {
        let name = s(svc, "name");
        if name.is_empty() {
            e.required(&format!("{at}.backend.service.name"), "");
        } else {
            e.each(&format!("{at}.backend.service.name"), name, names::dns1035_label(name));
        }
        let port = svc.get("port");
        let port_name = port.map(|p| s(p, "name")).unwrap_or("");
        match port.and_then(|p| p.get("number")).and_then(Value::as_i64) {
            Some(n) if !port_name.is_empty() => {
                let _ = n;
                e.invalid(&format!("{at}.backend.service.port"), "{...}", "cannot set both port name & port number");
            }
            Some(n) => {
                for m in names::port_num(n) {
                    e.invalid(&format!("{at}.backend.service.port.number"), &n.to_string(), &m);
                }
            }
            None if port_name.is_empty() => {
                e.required(&format!("{at}.backend.service.port"), "port name or number is required")
            }
            None => e.each(&format!("{at}.backend.service.port.name"), port_name, names::port_name(port_name)),
        }
    }
}
