//! Waiting: Deployments rolled out, Jobs complete (only when asked: training can take days),
//! LoadBalancer Services with an address, objects gone after a delete. Honest polling of GET,
//! once a second; a timeout names the resource and the last reason its status gave.

use crate::cluster::{Cluster, ClusterError};
use crate::model::ResId;
use serde_json::Value;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("timed out after {secs}s waiting for {id}: {reason}")]
    Timeout { id: ResId, secs: u64, reason: String },
    #[error("{id} failed: {reason}")]
    Failed { id: ResId, reason: String },
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// Whether an object is ready, not yet ready (with why), or failed for good.
#[derive(Debug, PartialEq)]
pub enum Readiness {
    Ready,
    Pending(String),
    Failed(String),
}

/// Readiness of a live object; kinds without a notion of readiness are ready once they exist.
pub fn readiness(obj: &Value, wait_for_jobs: bool) -> Readiness {
    let status = &obj["status"];
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    match obj["kind"].as_str().unwrap_or("") {
        "Deployment" | "StatefulSet" => {
            let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
            let gen = int(&obj["metadata"]["generation"]);
            if int(&status["observedGeneration"]) < gen {
                return Readiness::Pending("the controller has not seen the new generation yet".into());
            }
            if let Some(c) = condition(status, "Progressing").filter(|c| c["reason"] == "ProgressDeadlineExceeded") {
                return Readiness::Failed(c["message"].as_str().unwrap_or("progress deadline exceeded").to_string());
            }
            let (updated, available) = (int(&status["updatedReplicas"]), int(&status["availableReplicas"]));
            if updated >= want && available >= want {
                Readiness::Ready
            } else {
                Readiness::Pending(format!(
                    "{updated}/{want} updated, {available}/{want} available{}",
                    reason_suffix(status)
                ))
            }
        }
        "DaemonSet" => {
            let (want, ready) = (int(&status["desiredNumberScheduled"]), int(&status["numberReady"]));
            if ready >= want && int(&status["observedGeneration"]) >= int(&obj["metadata"]["generation"]) {
                Readiness::Ready
            } else {
                Readiness::Pending(format!("{ready}/{want} ready"))
            }
        }
        "Job" if wait_for_jobs => {
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
            Readiness::Pending(format!(
                "{}/{want} completions, {} failed",
                int(&status["succeeded"]),
                int(&status["failed"])
            ))
        }
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

/// Polls each object until ready, or fails with the first that times out or fails.
pub async fn until_ready(
    cluster: &Cluster,
    ids: &[ResId],
    timeout: Duration,
    wait_for_jobs: bool,
    progress: &mut dyn FnMut(&ResId, &str),
) -> Result<(), WaitError> {
    let start = Instant::now();
    for id in ids {
        loop {
            let state = match cluster.get(id).await? {
                Some(obj) => readiness(&obj, wait_for_jobs),
                None => Readiness::Pending("not found yet".into()),
            };
            match state {
                Readiness::Ready => {
                    progress(id, "ready");
                    break;
                }
                Readiness::Failed(reason) => return Err(WaitError::Failed { id: id.clone(), reason }),
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

/// Polls until the object no longer exists (after a foreground delete).
pub async fn until_gone(cluster: &Cluster, id: &ResId, timeout: Duration) -> Result<(), ClusterError> {
    let start = Instant::now();
    while cluster.get(id).await?.is_some() {
        if start.elapsed() >= timeout {
            return Err(ClusterError::Other(format!(
                "{id} was still present {}s after its deletion",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployments_are_ready_when_rolled_out() {
        let mut d = json!({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 3}, "status": {"observedGeneration": 1}});
        assert!(matches!(readiness(&d, false), Readiness::Pending(_)));
        d["status"] = json!({"observedGeneration": 2, "updatedReplicas": 3, "availableReplicas": 2});
        assert!(matches!(readiness(&d, false), Readiness::Pending(r) if r.contains("2/3 available")));
        d["status"]["availableReplicas"] = json!(3);
        assert_eq!(readiness(&d, false), Readiness::Ready);
    }

    #[test]
    fn jobs_are_waited_on_only_when_asked() {
        let j = json!({"kind": "Job", "spec": {"completions": 2}, "status": {"succeeded": 1}});
        assert_eq!(readiness(&j, false), Readiness::Ready);
        assert!(matches!(readiness(&j, true), Readiness::Pending(_)));
        let failed = json!({"kind": "Job", "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}});
        assert!(matches!(readiness(&failed, true), Readiness::Failed(r) if r.contains("BackoffLimitExceeded")));
    }
}
