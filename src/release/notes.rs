//! What `install` prints afterwards, as `helm install` prints the chart's NOTES.txt: how to
//! reach a Deployment by its Service type, its Ingress hosts and autoscaler, or how to follow
//! a Job or CronJob. Made from the manifest as applied, so `get notes` says the same later and
//! a user's own overlay gets notes that fit what it renders.

use serde_json::Value;
use std::fmt::Write;

fn find<'a>(manifest: &'a [Value], kind: &str) -> Option<&'a Value> {
    manifest.iter().find(|o| o["kind"] == kind)
}

fn name(o: &Value) -> &str {
    o["metadata"]["name"].as_str().unwrap_or("")
}

/// The notes of release `release` in `namespace` for the objects it applied.
pub fn notes(release: &str, namespace: &str, manifest: &[Value]) -> String {
    let mut t = String::new();
    let ns = format!("-n {namespace}");
    let _ =
        writeln!(t, "Thank you for installing dimtensor!\n\nYour release is named {release} (namespace {namespace}).");
    if let Some(d) = find(manifest, "Deployment") {
        deployment(&mut t, d, manifest, &ns);
    } else if let Some(j) = find(manifest, "Job") {
        let _ = writeln!(t, "\nYour dimtensor Job has been submitted. Follow it:\n");
        let _ = writeln!(t, "  kubectl get job {ns} {}", name(j));
        let _ = writeln!(t, "  kubectl logs {ns} -f -l app.kubernetes.io/instance={release} --prefix");
        let _ = writeln!(t, "  kubectl dimtensor logs {release} {ns} -f    (every pod, new ones too)");
        if let Some(ttl) = j["spec"]["ttlSecondsAfterFinished"].as_i64() {
            let _ = writeln!(t, "\nThe Job is deleted {ttl} seconds after it finishes.");
        }
    } else if let Some(c) = find(manifest, "CronJob") {
        let schedule = c["spec"]["schedule"].as_str().unwrap_or("");
        let _ = writeln!(t, "\nYour dimtensor CronJob has been scheduled ({schedule}). Follow its runs:\n");
        let _ = writeln!(t, "  kubectl get cronjob {ns} {}", name(c));
        let _ = writeln!(t, "  kubectl get jobs {ns} -l app.kubernetes.io/instance={release} --watch");
        let _ = writeln!(t, "  kubectl logs {ns} -f -l app.kubernetes.io/instance={release} --prefix");
        let _ = writeln!(t, "  kubectl dimtensor logs {release} {ns} -f    (every pod, new ones too)");
    }
    let _ = writeln!(t, "\n`kubectl dimtensor status {release} {ns}` shows each resource's state;");
    let _ = writeln!(t, "`kubectl dimtensor doctor {release} {ns}` says what is wrong and how to fix it.");
    t
}

fn deployment(t: &mut String, d: &Value, manifest: &[Value], ns: &str) {
    if let Some(svc) = find(manifest, "Service") {
        let (svc_name, port) = (name(svc), svc["spec"]["ports"][0]["port"].as_i64().unwrap_or(80));
        let _ = writeln!(t, "\nTo reach the dimtensor API:\n");
        match svc["spec"]["type"].as_str().unwrap_or("ClusterIP") {
            "LoadBalancer" => {
                let _ = writeln!(t, "  1. Wait for the external IP (EXTERNAL-IP stops showing <pending>):\n");
                let _ = writeln!(t, "     kubectl get svc {ns} {svc_name} --watch\n");
                let _ = writeln!(t, "  2. Then visit http://<EXTERNAL-IP>:{port}");
            }
            "NodePort" => {
                let _ = writeln!(t, "  1. Get the node port and a node's address:\n");
                let _ = writeln!(t, "     export NODE_PORT=$(kubectl get svc {ns} {svc_name} -o jsonpath='{{.spec.ports[0].nodePort}}')");
                let _ = writeln!(t, "     export NODE_IP=$(kubectl get nodes -o jsonpath='{{.items[0].status.addresses[0].address}}')\n");
                let _ = writeln!(t, "  2. Visit http://$NODE_IP:$NODE_PORT");
            }
            _ => {
                let _ = writeln!(t, "  1. Forward the Service's port to your machine:\n");
                let _ = writeln!(t, "     kubectl port-forward {ns} svc/{svc_name} 8080:{port}\n");
                let _ = writeln!(t, "  2. Visit http://localhost:8080");
            }
        }
    }
    if let Some(ing) = find(manifest, "Ingress") {
        let tls = ing["spec"]["tls"].as_array().is_some_and(|a| !a.is_empty());
        let _ = writeln!(t, "\nThrough the Ingress:");
        for rule in ing["spec"]["rules"].as_array().into_iter().flatten() {
            let _ = writeln!(t, "  http{}://{}", if tls { "s" } else { "" }, rule["host"].as_str().unwrap_or(""));
        }
    }
    if let Some(hpa) = find(manifest, "HorizontalPodAutoscaler") {
        let s = &hpa["spec"];
        let _ = writeln!(
            t,
            "\nAutoscaling between {} and {} replicas. Watch it:\n  kubectl get hpa {ns} {}",
            s["minReplicas"].as_i64().unwrap_or(1),
            s["maxReplicas"].as_i64().unwrap_or(1),
            name(hpa)
        );
    }
    let gpu = &d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"];
    if !gpu.is_null() {
        let _ = writeln!(
            t,
            "\nGPUs per pod: {gpu}. Check one:\n  kubectl exec {ns} -it deployment/{} -- nvidia-smi",
            name(d)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy_with(service_type: &str) -> Vec<Value> {
        vec![
            json!({"kind": "Deployment", "metadata": {"name": "prod-dimtensor"}, "spec": {"template": {"spec": {"containers": [{"name": "dimtensor"}]}}}}),
            json!({"kind": "Service", "metadata": {"name": "prod-dimtensor"}, "spec": {"type": service_type, "ports": [{"port": 80}]}}),
        ]
    }

    #[test]
    fn a_deployment_is_reached_by_its_service_type() {
        let n = notes("prod", "ml", &deploy_with("ClusterIP"));
        assert!(
            n.contains("kubectl port-forward -n ml svc/prod-dimtensor 8080:80") && n.contains("http://localhost:8080"),
            "{n}"
        );
        let n = notes("prod", "ml", &deploy_with("LoadBalancer"));
        assert!(n.contains("kubectl get svc -n ml prod-dimtensor --watch") && n.contains("<EXTERNAL-IP>:80"), "{n}");
        let n = notes("prod", "ml", &deploy_with("NodePort"));
        assert!(n.contains("{.spec.ports[0].nodePort}") && n.contains("$NODE_IP:$NODE_PORT"), "{n}");
    }

    #[test]
    fn jobs_and_cronjobs_are_followed_by_their_instance_label() {
        let job =
            vec![json!({"kind": "Job", "metadata": {"name": "t-dimtensor"}, "spec": {"ttlSecondsAfterFinished": 60}})];
        let n = notes("t", "ml", &job);
        assert!(n.contains("kubectl logs -n ml -f -l app.kubernetes.io/instance=t") && n.contains("60 seconds"), "{n}");
        assert!(
            n.contains("kubectl dimtensor logs t -n ml -f") && n.contains("kubectl dimtensor doctor t -n ml"),
            "{n}"
        );
        let cron =
            vec![json!({"kind": "CronJob", "metadata": {"name": "n-dimtensor"}, "spec": {"schedule": "0 0 * * *"}})];
        let n = notes("n", "ml", &cron);
        assert!(
            n.contains("(0 0 * * *)") && n.contains("kubectl get jobs -n ml -l app.kubernetes.io/instance=n"),
            "{n}"
        );
    }
}
