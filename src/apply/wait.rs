//! Waiting: workloads rolled out by `kubectl rollout status`'s rules, Jobs finished (only when
//! asked: training can take days), claims bound, LoadBalancer Services with an address, objects
//! gone after a delete. Honest polling of GET, once a second; a timeout names the resource and
//! the last reason its status gave. An object being deleted (a `deletionTimestamp`, held by
//! finalizers) is never ready: it is about to disappear.

use super::Cancel;
use crate::cluster::{Cluster, ClusterError};
use crate::model::{Gvk, ResId};
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("timed out after {secs}s waiting for {id}: {reason}")]
    Timeout { id: ResId, secs: u64, reason: String },
    #[error("{id} failed: {reason}")]
    Failed { id: ResId, reason: String },
    #[error("{id} is being deleted and was still there after {secs}s: {}", held_by(finalizers))]
    StillThere { id: ResId, secs: u64, finalizers: Vec<String> },
    #[error("interrupted while waiting for {id}")]
    Interrupted { id: ResId },
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

fn held_by(finalizers: &[String]) -> String {
    match finalizers {
        [] => "its dependents are still being removed".into(),
        f => format!("it waits on finalizers {} (their controllers remove them)", f.join(", ")),
    }
}

/// Whether an object is ready, not yet ready (with why), failed for good, or being deleted.
#[derive(Debug, PartialEq)]
pub enum Readiness {
    Ready,
    Pending(String),
    Failed(String),
    /// Being deleted, held by these finalizers.
    Terminating(Vec<String>),
}

/// What readiness needs besides the object itself.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Jobs count only once complete (`--wait-for-jobs`); otherwise they are ready once they exist.
    pub jobs: bool,
    /// StorageClass name -> whether it binds volumes only for a first consumer
    /// (`volumeBindingMode: WaitForFirstConsumer`); a claim of such a class stays Pending until
    /// a pod uses it, and that is its ready state.
    pub first_consumer: HashMap<String, bool>,
}

/// The finalizers holding an object that is being deleted; `None` when it is not being deleted.
pub fn terminating(obj: &Value) -> Option<Vec<String>> {
    obj["metadata"]["deletionTimestamp"].as_str()?;
    let list = obj["metadata"]["finalizers"].as_array().map(Vec::as_slice).unwrap_or_default();
    Some(list.iter().filter_map(|f| f.as_str().map(str::to_string)).collect())
}

/// Readiness of a live object; kinds without a notion of readiness are ready once they exist.
pub fn readiness(obj: &Value, rules: &Rules) -> Readiness {
    if let Some(finalizers) = terminating(obj) {
        return Readiness::Terminating(finalizers);
    }
    let status = &obj["status"];
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    let observed = int(&status["observedGeneration"]) >= int(&obj["metadata"]["generation"]);
    match obj["kind"].as_str().unwrap_or("") {
        "Deployment" => deployment(obj),
        // kubectl reports rollout status only for the RollingUpdate strategy (OnDelete: done).
        "StatefulSet" | "DaemonSet"
            if obj["spec"]["updateStrategy"]["type"].as_str().unwrap_or("RollingUpdate") != "RollingUpdate" =>
        {
            Readiness::Ready
        }
        "StatefulSet" | "DaemonSet" if !observed || status["observedGeneration"].is_null() => {
            Readiness::Pending("the controller has not seen the new generation yet".into())
        }
        "StatefulSet" => stateful_set(obj),
        "DaemonSet" => {
            let want = int(&status["desiredNumberScheduled"]);
            let (updated, available) = (int(&status["updatedNumberScheduled"]), int(&status["numberAvailable"]));
            if updated < want {
                Readiness::Pending(format!("{updated} of {want} new pods updated"))
            } else if available < want {
                Readiness::Pending(format!("{available} of {want} updated pods available"))
            } else {
                Readiness::Ready
            }
        }
        "Job" if rules.jobs => job_readiness(obj),
        "PersistentVolumeClaim" => claim(obj, rules),
        "Service" if obj["spec"]["type"] == "LoadBalancer" => {
            if status["loadBalancer"]["ingress"].as_array().is_some_and(|a| !a.is_empty()) {
                Readiness::Ready
            } else {
                Readiness::Pending("waiting for a load-balancer address".into())
            }
        }
        _ => Readiness::Ready,
    }
}

/// `kubectl rollout status` (polymorphichelpers/rollout_status.go): the new generation observed,
/// no progress deadline exceeded, every replica updated, no old replica left, every updated
/// replica available.
fn deployment(obj: &Value) -> Readiness {
    let status = &obj["status"];
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    if int(&obj["metadata"]["generation"]) > int(&status["observedGeneration"]) {
        return Readiness::Pending("the controller has not seen the new generation yet".into());
    }
    if let Some(c) = condition(status, "Progressing").filter(|c| c["reason"] == "ProgressDeadlineExceeded") {
        return Readiness::Failed(c["message"].as_str().unwrap_or("progress deadline exceeded").to_string());
    }
    let (replicas, updated, available) =
        (int(&status["replicas"]), int(&status["updatedReplicas"]), int(&status["availableReplicas"]));
    let why = if let Some(want) = obj["spec"]["replicas"].as_i64().filter(|w| updated < *w) {
        format!("{updated} of {want} new replicas updated")
    } else if replicas > updated {
        format!("{} old replicas pending termination", replicas - updated)
    } else if available < updated {
        format!("{available} of {updated} updated replicas available")
    } else {
        return Readiness::Ready;
    };
    Readiness::Pending(format!("{why}{}", reason_suffix(status)))
}

/// `kubectl rollout status` for StatefulSets: every replica ready, and the partition (if any)
/// updated, else the update revision current.
fn stateful_set(obj: &Value) -> Readiness {
    let status = &obj["status"];
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    let (ready, updated) = (int(&status["readyReplicas"]), int(&status["updatedReplicas"]));
    let want = obj["spec"]["replicas"].as_i64();
    if let Some(want) = want.filter(|w| ready < *w) {
        return Readiness::Pending(format!("{} pods not ready yet", want - ready));
    }
    let rolling = &obj["spec"]["updateStrategy"]["rollingUpdate"];
    if rolling.is_object() {
        return match (want, rolling["partition"].as_i64()) {
            (Some(w), Some(p)) if updated < w - p => {
                Readiness::Pending(format!("{updated} of {} new pods updated (partitioned)", w - p))
            }
            _ => Readiness::Ready,
        };
    }
    if status["updateRevision"] != status["currentRevision"] {
        return Readiness::Pending(format!("rolling update in progress: {updated} pods at the new revision"));
    }
    Readiness::Ready
}

/// A Job by its conditions: ready once `Complete`, failed for good once `Failed`, else pending
/// with its progress. Also how `doctor` and `logs -f` tell a finished Job.
pub fn job_readiness(obj: &Value) -> Readiness {
    let status = &obj["status"];
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    if let Some(c) = condition(status, "Failed").filter(|c| c["status"] == "True") {
        return Readiness::Failed(format!(
            "{}: {}",
            c["reason"].as_str().unwrap_or("Failed"),
            c["message"].as_str().unwrap_or("")
        ));
    }
    if condition(status, "Complete").is_some_and(|c| c["status"] == "True") {
        return Readiness::Ready;
    }
    let want = obj["spec"]["completions"].as_i64().unwrap_or(1);
    Readiness::Pending(format!("{}/{want} completions, {} failed", int(&status["succeeded"]), int(&status["failed"])))
}

/// Bound, or (under a WaitForFirstConsumer class) waiting for the pod that will use it.
fn claim(obj: &Value, rules: &Rules) -> Readiness {
    match obj["status"]["phase"].as_str().unwrap_or("Pending") {
        "Bound" => Readiness::Ready,
        "Lost" => Readiness::Failed("its volume was lost".into()),
        phase => {
            let class = obj["spec"]["storageClassName"].as_str();
            if class.and_then(|c| rules.first_consumer.get(c)) == Some(&true) {
                return Readiness::Ready;
            }
            Readiness::Pending(format!("{phase}: not bound to a volume yet"))
        }
    }
}

fn condition<'a>(status: &'a Value, kind: &str) -> Option<&'a Value> {
    status["conditions"].as_array()?.iter().find(|c| c["type"] == kind)
}

fn reason_suffix(status: &Value) -> String {
    status["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["status"] == "False"))
        .map(|c| format!(" ({})", c["message"].as_str().or(c["reason"].as_str()).unwrap_or("")))
        .unwrap_or_default()
}

impl Rules {
    /// Learns the binding mode of the StorageClass of a claim not bound yet (one GET per class;
    /// a class that cannot be read counts as binding at once).
    pub async fn learn(&mut self, cluster: &Cluster, obj: &Value) {
        if obj["kind"] != "PersistentVolumeClaim" || obj["status"]["phase"] == "Bound" {
            return;
        }
        let Some(class) = obj["spec"]["storageClassName"].as_str() else { return };
        if self.first_consumer.contains_key(class) {
            return;
        }
        let id = ResId::new(Gvk::from_api_version("storage.k8s.io/v1", "StorageClass"), "", class);
        let late = match cluster.get(&id).await {
            Ok(Some(sc)) => binds_on_first_consumer(&sc),
            _ => false,
        };
        self.first_consumer.insert(class.to_string(), late);
    }

    /// Rules that know these StorageClasses (listed once, as `doctor` reads them).
    pub fn with_classes(classes: &[Value]) -> Rules {
        let first_consumer = classes
            .iter()
            .filter_map(|sc| Some((sc["metadata"]["name"].as_str()?.to_string(), binds_on_first_consumer(sc))))
            .collect();
        Rules { first_consumer, ..Rules::default() }
    }
}

/// Whether a StorageClass binds a claim's volume only once a pod uses the claim.
pub fn binds_on_first_consumer(storage_class: &Value) -> bool {
    storage_class["volumeBindingMode"] == "WaitForFirstConsumer"
}

/// Polls each object until ready, or fails with the first that times out or fails. An object
/// being deleted fails at once: it will not come back by waiting.
pub async fn until_ready(
    cluster: &Cluster,
    ids: &[ResId],
    timeout: Duration,
    mut rules: Rules,
    progress: &mut dyn FnMut(&ResId, &str),
) -> Result<(), WaitError> {
    let start = Instant::now();
    for id in ids {
        loop {
            let state = match cluster.get(id).await? {
                Some(obj) => {
                    rules.learn(cluster, &obj).await;
                    readiness(&obj, &rules)
                }
                None => Readiness::Pending("not found yet".into()),
            };
            match state {
                Readiness::Ready => {
                    progress(id, "ready");
                    break;
                }
                Readiness::Failed(reason) => return Err(WaitError::Failed { id: id.clone(), reason }),
                Readiness::Terminating(f) => {
                    let reason = format!("it is being deleted: {}", held_by(&f));
                    return Err(WaitError::Failed { id: id.clone(), reason });
                }
                Readiness::Pending(reason) => {
                    progress(id, &reason);
                    if start.elapsed() >= timeout {
                        return Err(WaitError::Timeout { id: id.clone(), secs: timeout.as_secs(), reason });
                    }
                    tokio::time::sleep(Duration::from_secs(1).min(timeout)).await;
                }
            }
        }
    }
    Ok(())
}

/// Polls until the object no longer exists (after a delete, or one already under way), naming
/// the finalizers it still waits on when it outlasts `timeout`. Stops on `cancel`.
pub async fn until_gone(cluster: &Cluster, id: &ResId, timeout: Duration, cancel: &Cancel) -> Result<(), WaitError> {
    let start = Instant::now();
    while let Some(obj) = cluster.get(id).await? {
        if start.elapsed() >= timeout {
            let finalizers = terminating(&obj).unwrap_or_default();
            return Err(WaitError::StillThere { id: id.clone(), secs: timeout.as_secs(), finalizers });
        }
        if cancel.is_cancelled() {
            return Err(WaitError::Interrupted { id: id.clone() });
        }
        tokio::time::sleep(Duration::from_millis(500).min(timeout)).await;
    }
    Ok(())
}

#[cfg(test)]
#[path = "wait_tests.rs"]
mod tests;
