//! PersistentVolumeClaims that stay Pending: a StorageClass that does not exist, no default
//! StorageClass, or a provisioner that does not bind. A claim under a `WaitForFirstConsumer`
//! class is Pending by design until its pod is scheduled, and is not a problem.

use super::{Facts, Finding};
use serde_json::Value;

const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";

pub fn pvc_pending(facts: &Facts) -> Vec<Finding> {
    let classes: &[Value] = facts.storage_classes.as_deref().unwrap_or(&[]);
    let class = |name: &str| classes.iter().find(|c| c["metadata"]["name"] == name);
    let default = classes.iter().find(|c| c["metadata"]["annotations"][DEFAULT_CLASS] == "true");
    let mut out = Vec::new();
    for (id, pvc) in facts.live_of("PersistentVolumeClaim") {
        if pvc["status"]["phase"] != "Pending" {
            continue;
        }
        let named = pvc["spec"]["storageClassName"].as_str();
        let sc = match named {
            Some(n) => class(n),
            None => default,
        };
        let fix_class = format!(
            "pick an existing class (kubectl get storageclass): kubectl dimtensor upgrade {} --set persistence.storageClass=<class>",
            facts.name
        );
        let (what, fix) = match (named, sc) {
            (Some(""), _) => continue, // statically bound volumes: nothing a class could do
            (Some(n), None) => (format!("StorageClass {n} does not exist"), vec![fix_class]),
            (None, None) => {
                ("it names no StorageClass and the cluster has no default one".to_string(), vec![fix_class])
            }
            (_, Some(c)) if c["volumeBindingMode"] == "WaitForFirstConsumer" => continue,
            (_, Some(c)) => {
                let event = facts
                    .latest_event("PersistentVolumeClaim", &id.name, |e| e["type"] == "Warning")
                    .and_then(|e| e["message"].as_str())
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                let name = c["metadata"]["name"].as_str().unwrap_or("");
                let provisioner = c["provisioner"].as_str().unwrap_or("");
                (
                    format!("it is Pending under StorageClass {name} (provisioner {provisioner}){event}"),
                    vec![format!("kubectl describe pvc {} -n {}", id.name, facts.namespace), fix_class],
                )
            }
        };
        out.push(Finding {
            check: "pvc-pending",
            resource: id.clone(),
            what: format!("PersistentVolumeClaim {} is not bound: {what}", id.name),
            why: "the pods that mount it (checkpoints, results) cannot start until it is bound".to_string(),
            fix,
        });
    }
    out
}
