//! The seed's "HPA not working": metrics-server missing (`metrics.k8s.io` not served), or the
//! HPA itself reporting `ScalingActive=False` / `AbleToScale=False`.

use super::{Facts, Finding};

pub fn metrics_server(facts: &Facts) -> Vec<Finding> {
    if facts.metrics_api != Ok(false) {
        return Vec::new();
    }
    facts
        .live
        .objects
        .iter()
        .filter(|o| o.id.gvk.kind == "HorizontalPodAutoscaler")
        .map(|o| Finding {
            check: "metrics-server",
            resource: o.id.clone(),
            what: "the metrics.k8s.io API is not served: metrics-server is not installed".to_string(),
            why: format!(
                "HorizontalPodAutoscaler {} cannot read CPU or memory use, so it never scales (the Deployment stays at its current size)",
                o.id.name
            ),
            fix: vec![
                "kubectl apply -f https://github.com/kubernetes-sigs/metrics-server/releases/latest/download/components.yaml"
                    .to_string(),
                "kubectl get deployment metrics-server -n kube-system".to_string(),
            ],
        })
        .collect()
}

pub fn hpa_scaling(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, hpa) in facts.live_of("HorizontalPodAutoscaler") {
        let conditions = hpa["status"]["conditions"].as_array().into_iter().flatten();
        let Some(c) = conditions
            .filter(|c| c["status"] == "False")
            .find(|c| c["type"] == "ScalingActive" || c["type"] == "AbleToScale")
        else {
            continue;
        };
        let text = |k: &str| c[k].as_str().unwrap_or("").to_string();
        let mut fix = vec![format!("kubectl describe hpa {} -n {}", id.name, facts.namespace)];
        if text("message").contains("missing request for") {
            fix.push(format!(
                "the HPA computes utilization from requests: kubectl dimtensor upgrade {} --set resources.requests.cpu=<amount>",
                facts.name
            ));
        }
        out.push(Finding {
            check: "hpa-scaling",
            resource: id.clone(),
            what: format!("{}=False ({}): {}", text("type"), text("reason"), text("message")),
            why: format!("HorizontalPodAutoscaler {} does not scale the Deployment while this lasts", id.name),
            fix,
        });
    }
    out
}
