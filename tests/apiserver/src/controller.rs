//! A stand-in for kube-controller-manager: writes Deployment and Job status through the status
//! subresource (managed by "kube-controller-manager", like the captures), per ControllerConfig.

use crate::apply::managed::Scope;
use crate::apply::schema::schema;
use crate::apply::{record_update, Writer};
use crate::config::{DeploymentBehaviour, JobBehaviour};
use crate::resources::ResourceInfo;
use crate::state::{Shared, State};
use crate::store::ObjKey;
use crate::util::now;
use serde_json::{json, Map, Value};
use std::sync::Arc;

const MANAGER: &str = "kube-controller-manager";

/// Called after every stored write of a main resource.
pub fn after_write(sh: &Arc<Shared>, st: &mut State, info: &ResourceInfo, key: &ObjKey) {
    let relevant = match (info.group.as_str(), info.kind.as_str()) {
        ("apps", "Deployment") => st.controller.deployments != DeploymentBehaviour::Untouched,
        ("batch", "Job") => st.controller.jobs != JobBehaviour::Untouched,
        _ => false,
    };
    if !relevant {
        return;
    }
    let delay = st.controller.delay;
    if delay.is_zero() {
        reconcile(st, info, key);
        return;
    }
    let sh = sh.clone();
    let info = info.clone();
    let key = key.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        reconcile(&mut sh.lock(), &info, &key);
    });
}

/// Brings one object's status in line with the configured behaviour (no write if already there).
pub fn reconcile(st: &mut State, info: &ResourceInfo, key: &ObjKey) {
    let Some(old) = st.store.get(key).cloned() else { return };
    if old.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let mut new = old.clone();
    let changed = match info.kind.as_str() {
        "Deployment" => deployment(st, &mut new),
        "Job" => job(st.controller.jobs, &mut new),
        _ => false,
    };
    if !changed || new == old {
        return;
    }
    let av = info.api_version();
    let now = now();
    let w = Writer { manager: MANAGER, api_version: &av, now: &now, scope: Scope::Status };
    record_update(&old, &mut new, schema().root(&info.group, &info.version, &info.kind), &w);
    st.store.put(key.clone(), new);
}

/// A pod-template-hash-like suffix for ReplicaSet names in condition messages.
fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in template.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (0..10)
        .map(|_| {
            let c = ALPHABET[(h % ALPHABET.len() as u64) as usize] as char;
            h /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// Keeps transition times when a condition's status did not change, as controllers do.
fn condition(old: &[Value], typ: &str, status: &str, reason: &str, message: &str, now: &str) -> Value {
    let prev = old.iter().find(|c| c.get("type").and_then(Value::as_str) == Some(typ));
    let same = prev.is_some_and(|p| p.get("status").and_then(Value::as_str) == Some(status));
    let same_reason = same && prev.is_some_and(|p| p.get("reason").and_then(Value::as_str) == Some(reason));
    let transition = if same { prev.and_then(|p| p.get("lastTransitionTime")).cloned() } else { None };
    let update = if same_reason { prev.and_then(|p| p.get("lastUpdateTime")).cloned() } else { None };
    json!({
        "type": typ,
        "status": status,
        "lastUpdateTime": update.unwrap_or_else(|| json!(now)),
        "lastTransitionTime": transition.unwrap_or_else(|| json!(now)),
        "reason": reason,
        "message": message,
    })
}

fn deployment(st: &mut State, obj: &mut Value) -> bool {
    let behaviour = st.controller.deployments;
    let now = now();
    let generation = obj.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(1);
    let replicas = obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let template = obj.pointer("/spec/template").cloned().unwrap_or(Value::Null);
    let uid = obj.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("").to_string();
    let revision = match st.revisions.get(&uid) {
        Some((rev, t)) if *t == template => *rev,
        Some((rev, _)) => rev + 1,
        None => 1,
    };
    st.revisions.insert(uid, (revision, template.clone()));
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
    let rs = format!("{name}-{}", template_hash(&template));
    let old_conds: Vec<Value> =
        obj.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut status = Map::new();
    status.insert("observedGeneration".into(), json!(generation));
    let positive = |m: &mut Map<String, Value>, k: &str, v: i64| {
        if v > 0 {
            m.insert(k.into(), json!(v));
        }
    };
    let conditions = match behaviour {
        DeploymentBehaviour::Untouched => return false,
        DeploymentBehaviour::Ready => {
            for k in ["replicas", "updatedReplicas", "readyReplicas", "availableReplicas"] {
                positive(&mut status, k, replicas);
            }
            vec![
                condition(
                    &old_conds,
                    "Available",
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                    &now,
                ),
                condition(
                    &old_conds,
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    &format!("ReplicaSet \"{rs}\" has successfully progressed."),
                    &now,
                ),
            ]
        }
        DeploymentBehaviour::NeverReady | DeploymentBehaviour::DeadlineExceeded => {
            for k in ["replicas", "updatedReplicas", "unavailableReplicas"] {
                positive(&mut status, k, replicas);
            }
            let available = if replicas > 0 {
                condition(
                    &old_conds,
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    &now,
                )
            } else {
                condition(
                    &old_conds,
                    "Available",
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                    &now,
                )
            };
            let progressing = if behaviour == DeploymentBehaviour::DeadlineExceeded {
                condition(
                    &old_conds,
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    &format!("ReplicaSet \"{rs}\" has timed out progressing."),
                    &now,
                )
            } else {
                condition(
                    &old_conds,
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    &format!("ReplicaSet \"{rs}\" is progressing."),
                    &now,
                )
            };
            vec![available, progressing]
        }
    };
    status.insert("conditions".into(), Value::Array(conditions));
    if let Some(m) = obj.as_object_mut() {
        m.insert("status".into(), Value::Object(status));
    }
    if let Some(ann) = crate::util::ensure_object(obj, &["metadata", "annotations"]) {
        ann.insert("deployment.kubernetes.io/revision".into(), json!(revision.to_string()));
    }
    crate::strategy::normalize_order(obj);
    true
}

fn job(behaviour: JobBehaviour, obj: &mut Value) -> bool {
    let status = obj.get("status").cloned().unwrap_or(json!({}));
    let finished = status.get("conditions").and_then(Value::as_array).is_some_and(|cs| {
        cs.iter().any(|c| matches!(c.get("type").and_then(Value::as_str), Some("Complete" | "Failed")))
    });
    if finished {
        return false;
    }
    let now = now();
    let start = status.get("startTime").cloned().unwrap_or_else(|| json!(now));
    let completions = obj.pointer("/spec/completions").and_then(Value::as_i64).unwrap_or(1);
    let parallelism = obj.pointer("/spec/parallelism").and_then(Value::as_i64).unwrap_or(1);
    let backoff = obj.pointer("/spec/backoffLimit").and_then(Value::as_i64).unwrap_or(6);
    let new_status = match behaviour {
        JobBehaviour::Untouched => return false,
        JobBehaviour::Complete => json!({
            "conditions": [{"type": "Complete", "status": "True", "lastProbeTime": now, "lastTransitionTime": now}],
            "startTime": start, "completionTime": now, "succeeded": completions,
        }),
        JobBehaviour::Fail => json!({
            "conditions": [{"type": "Failed", "status": "True", "lastProbeTime": now, "lastTransitionTime": now,
                "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}],
            "startTime": start, "failed": backoff + 1,
        }),
        JobBehaviour::Running => json!({"startTime": start, "active": parallelism}),
    };
    if let Some(m) = obj.as_object_mut() {
        m.insert("status".into(), new_status);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_keep_transition_times() {
        let old = vec![
            json!({"type": "Available", "status": "True", "lastUpdateTime": "t0", "lastTransitionTime": "t0", "reason": "MinimumReplicasAvailable"}),
        ];
        let c = condition(&old, "Available", "True", "MinimumReplicasAvailable", "m", "t1");
        assert_eq!(c["lastTransitionTime"], "t0");
        let c = condition(&old, "Available", "False", "MinimumReplicasUnavailable", "m", "t1");
        assert_eq!(c["lastTransitionTime"], "t1");
    }

    #[test]
    fn jobs_finish_once() {
        let mut j = json!({"spec": {"completions": 3}, "status": {}});
        assert!(job(JobBehaviour::Complete, &mut j));
        assert_eq!(j["status"]["succeeded"], 3);
        assert!(!job(JobBehaviour::Complete, &mut j));
    }
}
