//! The seed's "GPU Workloads" steps as checks: GPU nodes labelled for the preset's
//! `nodeSelector` (`accelerator: nvidia-gpu`), allocatable `nvidia.com/gpu` (how a missing NVIDIA
//! device plugin shows, whatever its DaemonSet is called), and GPU taints the pods tolerate.

use super::{role, Facts, Finding};
use crate::model::ResId;
use crate::release::live::pod_template;
use serde_json::{Map, Value};

pub const GPU: &str = "nvidia.com/gpu";

/// GPUs one pod of a template asks for (limits; for extended resources requests equal them).
pub fn gpus_per_pod(template: &Value) -> i64 {
    template["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let r = &c["resources"];
            quantity(r["limits"].get(GPU).or(r["requests"].get(GPU)))
        })
        .sum()
}

/// A whole-number quantity (`1`, `"2"`); GPUs are not fractional.
fn quantity(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

fn allocatable(node: &Value) -> i64 {
    quantity(node["status"]["allocatable"].get(GPU))
}

fn node_name(node: &Value) -> &str {
    node["metadata"]["name"].as_str().unwrap_or("")
}

fn selector(template: &Value) -> Map<String, Value> {
    template["spec"]["nodeSelector"].as_object().cloned().unwrap_or_default()
}

fn matches(node: &Value, selector: &Map<String, Value>) -> bool {
    selector.iter().all(|(k, v)| node["metadata"]["labels"].get(k) == Some(v))
}

fn pairs(selector: &Map<String, Value>) -> String {
    selector.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(",")
}

/// A GPU workload of the release: its id, pod template and GPUs per pod.
fn gpu_workloads(facts: &Facts) -> Vec<(&ResId, &Value, i64)> {
    facts
        .live
        .workloads()
        .filter_map(|(id, w)| pod_template(w).map(|t| (id, t, gpus_per_pod(t))))
        .filter(|(_, _, n)| *n > 0)
        .collect()
}

fn nodes(facts: &Facts) -> &[Value] {
    facts.nodes.as_deref().unwrap_or(&[])
}

/// No node carries the labels the pods select (the seed: "Label GPU nodes").
pub fn node_label(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, t) in facts.live.workloads().filter_map(|(id, w)| Some((id, pod_template(w)?))) {
        let sel = selector(t);
        if sel.is_empty() || nodes(facts).iter().any(|n| matches(n, &sel)) {
            continue;
        }
        let labels: Vec<String> =
            sel.iter().map(|(k, v)| format!("kubectl label nodes <node> {k}={}", v.as_str().unwrap_or(""))).collect();
        out.push(Finding {
            check: "gpu-node-label",
            resource: id.clone(),
            what: format!("no node has the label {} that the pods select (nodeSelector)", pairs(&sel)),
            why: format!("the pods of {} can only run on such a node, so they stay Pending", role(id)),
            fix: labels.into_iter().map(|l| format!("{l}   (on each node meant for it)")).collect(),
        });
    }
    out
}

/// No (selected) node advertises `nvidia.com/gpu`, or none has as many as one pod asks for.
pub fn device_plugin(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, t, want) in gpu_workloads(facts) {
        let sel = selector(t);
        let selected: Vec<&Value> = nodes(facts).iter().filter(|n| matches(n, &sel)).collect();
        // With no selected node, gpu-node-label says so; the GPUs are judged over all nodes.
        let pool: Vec<&Value> = if selected.is_empty() { nodes(facts).iter().collect() } else { selected };
        let most = pool.iter().map(|n| allocatable(n)).max().unwrap_or(0);
        let labelled = !sel.is_empty() && nodes(facts).iter().any(|n| matches(n, &sel));
        let scope = if labelled { format!("no node labelled {}", pairs(&sel)) } else { "no node".to_string() };
        let check = [
            "kubectl get nodes -o json | jq '.items[].status.allocatable.\"nvidia.com/gpu\"'".to_string(),
            "kubectl get daemonset nvidia-device-plugin-daemonset -n kube-system".to_string(),
        ];
        if most == 0 {
            out.push(Finding {
                check: "gpu-device-plugin",
                resource: id.clone(),
                what: format!("{scope} has allocatable {GPU}: the NVIDIA device plugin is not running there (or the nodes have no GPUs)"),
                why: format!("each pod of {} asks for {want} {GPU}; the scheduler places it only on a node that advertises them", role(id)),
                fix: [
                    vec!["install the NVIDIA device plugin (https://github.com/NVIDIA/k8s-device-plugin) on the GPU nodes".to_string()],
                    check.to_vec(),
                ]
                .concat(),
            });
        } else if most < want {
            out.push(Finding {
                check: "gpu-device-plugin",
                resource: id.clone(),
                what: format!("each pod asks for {want} {GPU}, but the most any node has is {most}"),
                why: format!("no node can ever take a pod of {}", role(id)),
                fix: vec![format!(
                    "ask for at most {most}: kubectl dimtensor upgrade {} --set resources.gpu.count={most}",
                    facts.name
                )],
            });
        }
    }
    out
}

/// Whether a toleration tolerates a taint, as `v1.Toleration.ToleratesTaint` decides.
fn tolerates(t: &Value, taint: &Value) -> bool {
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or("").to_string();
    let effect_ok = s(t, "effect").is_empty() || s(t, "effect") == s(taint, "effect");
    let key_ok = s(t, "key").is_empty() || s(t, "key") == s(taint, "key");
    let value_ok = match s(t, "operator").as_str() {
        "Exists" => true,
        "" | "Equal" => s(t, "value") == s(taint, "value"),
        _ => false,
    };
    effect_ok && key_ok && value_ok
}

fn taint_text(taint: &Value) -> String {
    let s = |k: &str| taint[k].as_str().unwrap_or("").to_string();
    match s("value").as_str() {
        "" => format!("{}:{}", s("key"), s("effect")),
        v => format!("{}={v}:{}", s("key"), s("effect")),
    }
}

/// Every GPU node the pods may use has a taint they do not tolerate.
pub fn taint(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, t, _) in gpu_workloads(facts) {
        let sel = selector(t);
        let tolerations: Vec<&Value> = t["spec"]["tolerations"].as_array().into_iter().flatten().collect();
        let blocking = |n: &&Value| -> Vec<Value> {
            n["spec"]["taints"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|taint| matches!(taint["effect"].as_str(), Some("NoSchedule" | "NoExecute")))
                .filter(|taint| !tolerations.iter().any(|tol| tolerates(tol, taint)))
                .cloned()
                .collect()
        };
        let gpu_nodes: Vec<&Value> = nodes(facts).iter().filter(|n| matches(n, &sel) && allocatable(n) > 0).collect();
        if gpu_nodes.is_empty() || gpu_nodes.iter().any(|n| blocking(n).is_empty()) {
            continue;
        }
        let first = blocking(&gpu_nodes[0]);
        let mut names: Vec<String> = first.iter().map(taint_text).collect();
        names.dedup();
        let taint = &first[0];
        let key = taint["key"].as_str().unwrap_or("");
        let effect = taint["effect"].as_str().unwrap_or("");
        out.push(Finding {
            check: "gpu-taint",
            resource: id.clone(),
            what: format!(
                "every GPU node has a taint the pods do not tolerate ({} on {})",
                names.join(", "),
                node_name(gpu_nodes[0])
            ),
            why: format!("the pods of {} are never scheduled onto the GPU nodes", role(id)),
            fix: vec![format!(
                "kubectl dimtensor upgrade {} --set tolerations[0].key={key},tolerations[0].operator=Exists,tolerations[0].effect={effect}",
                facts.name
            )],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tolerations_follow_the_api_rules() {
        let taint = json!({"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"});
        assert!(tolerates(&json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}), &taint));
        assert!(tolerates(&json!({"key": "nvidia.com/gpu", "operator": "Exists"}), &taint));
        assert!(tolerates(&json!({"operator": "Exists"}), &taint), "an empty key with Exists tolerates all");
        assert!(tolerates(&json!({"key": "nvidia.com/gpu", "value": "present"}), &taint));
        assert!(!tolerates(&json!({"key": "nvidia.com/gpu", "value": "absent"}), &taint));
        assert!(!tolerates(&json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}), &taint));
        assert!(!tolerates(&json!({"key": "other", "operator": "Exists"}), &taint));
        assert_eq!(taint_text(&taint), "nvidia.com/gpu=present:NoSchedule");
    }

    #[test]
    fn gpus_are_counted_per_pod() {
        let t = json!({"spec": {"containers": [
            {"resources": {"limits": {"nvidia.com/gpu": 2}}},
            {"resources": {"requests": {"nvidia.com/gpu": "1"}}},
            {"resources": {}}]}});
        assert_eq!(gpus_per_pod(&t), 3);
    }
}
