//! PersistentVolumeClaims that are not ready by `--wait`'s rules ([`readiness`]): Pending under
//! a StorageClass that does not exist, with no default StorageClass, or with a provisioner that
//! does not bind; or Lost. A claim under a `WaitForFirstConsumer` class is Pending by design
//! until its pod is scheduled, and is not a problem.

use super::{Facts, Finding};
use crate::apply::wait::{binds_on_first_consumer, readiness, Readiness, Rules};
use crate::model::ResId;
use serde_json::Value;

const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";

pub fn pvc_pending(facts: &Facts) -> Vec<Finding> {
    let classes: &[Value] = facts.storage_classes.as_deref().unwrap_or(&[]);
    let rules = Rules::with_classes(classes);
    let mut out = Vec::new();
    for (id, pvc) in facts.live_of("PersistentVolumeClaim") {
        let fix_class = format!(
            "pick an existing class (kubectl get storageclass): kubectl dimtensor upgrade {} --set persistence.storageClass=<class>",
            facts.name
        );
        let describe = format!("kubectl describe pvc {} -n {}", id.name, facts.namespace);
        let (what, fix) = match readiness(pvc, &rules) {
            // Being deleted is `status`'s to show (it names the finalizers), not a binding problem.
            Readiness::Ready | Readiness::Terminating(_) => continue,
            Readiness::Failed(reason) => (reason, vec![describe, fix_class]),
            Readiness::Pending(_) => match pending(facts, id, pvc, classes) {
                Some((what, true)) => (what, vec![describe, fix_class]),
                Some((what, false)) => (what, vec![fix_class]),
                None => continue,
            },
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

/// Why a Pending claim is not bound, and whether `kubectl describe` tells more (its class
/// exists); None when Pending is by design: a statically bound volume, or a default class that
/// waits for the first consumer.
fn pending(facts: &Facts, id: &ResId, pvc: &Value, classes: &[Value]) -> Option<(String, bool)> {
    let named = pvc["spec"]["storageClassName"].as_str();
    let sc = match named {
        Some(n) => classes.iter().find(|c| c["metadata"]["name"] == n),
        None => classes.iter().find(|c| c["metadata"]["annotations"][DEFAULT_CLASS] == "true"),
    };
    Some(match (named, sc) {
        (Some(""), _) => return None,
        (Some(n), None) => (format!("StorageClass {n} does not exist"), false),
        (None, None) => ("it names no StorageClass and the cluster has no default one".to_string(), false),
        (_, Some(c)) if binds_on_first_consumer(c) => return None,
        (_, Some(c)) => {
            let event = facts
                .latest_event("PersistentVolumeClaim", &id.name, |e| e["type"] == "Warning")
                .and_then(|e| e["message"].as_str())
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            let name = c["metadata"]["name"].as_str().unwrap_or("");
            let provisioner = c["provisioner"].as_str().unwrap_or("");
            (format!("it is Pending under StorageClass {name} (provisioner {provisioner}){event}"), true)
        }
    })
}
