//! A stand-in for kube-controller-manager: writes Deployment, Job and PersistentVolumeClaim
//! status through the status subresource (managed by "kube-controller-manager", like the
//! captures), per ControllerConfig, a configurable delay after each write.

use crate::apply::managed::Scope;
use crate::apply::schema::schema;
use crate::apply::{record_update, Writer};
use crate::config::{DeploymentBehaviour, JobBehaviour, VolumeBehaviour};
use crate::resources::ResourceInfo;
use crate::state::State;
use crate::store::ObjKey;
use serde_json::{json, Map, Value};

const MANAGER: &str = "kube-controller-manager";

/// Whether this controller acts on writes of `info`'s kind (`crate::workers` runs it, a
/// configurable delay after each write, or when a test releases it).
pub fn watches(st: &State, info: &ResourceInfo) -> bool {
    match (info.group.as_str(), info.kind.as_str()) {
        ("apps", "Deployment") => st.controller.deployments != DeploymentBehaviour::Untouched,
        ("batch", "Job") => st.controller.jobs != JobBehaviour::Untouched,
        ("", "PersistentVolumeClaim") => st.controller.volumes != VolumeBehaviour::Untouched,
        _ => false,
    }
}

/// Brings one object's status in line with the configured behaviour (no write if already there).
pub fn reconcile(st: &mut State, info: &ResourceInfo, key: &ObjKey) {
    let Some(old) = st.store.get(key).cloned() else { return };
    if old.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let mut new = old.clone();
    let now = st.now();
    let changed = match info.kind.as_str() {
        "Deployment" => deployment(st, &mut new, &now),
        "Job" => job(st.controller.jobs, &mut new, &now),
        "PersistentVolumeClaim" => volume_claim(st, &mut new),
        _ => false,
    };
    if !changed || new == old {
        return;
    }
    let av = info.api_version();
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

fn deployment(st: &mut State, obj: &mut Value, now: &str) -> bool {
    let behaviour = st.controller.deployments;
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
    let r = replicas;
    let progressing = format!("ReplicaSet \"{rs}\" is progressing.");
    // Pod counts (replicas, updated, ready, available, unavailable) and the Progressing condition.
    let (counts, (p_status, p_reason, p_message)) = match behaviour {
        DeploymentBehaviour::Untouched => return false,
        DeploymentBehaviour::Ready => (
            [r, r, r, r, 0],
            ("True", "NewReplicaSetAvailable", format!("ReplicaSet \"{rs}\" has successfully progressed.")),
        ),
        // Mid rolling update: the new ReplicaSet scaled up and available, one pod of the old one
        // still there (maxSurge), as get-deployment-with-status.json shows a rollout in flight.
        DeploymentBehaviour::OldReplicasRemain => {
            ([r + 1, r, r + 1, r + 1, 0], ("True", "ReplicaSetUpdated", progressing))
        }
        DeploymentBehaviour::NeverReady => ([r, r, 0, 0, r], ("True", "ReplicaSetUpdated", progressing)),
        DeploymentBehaviour::DeadlineExceeded => (
            [r, r, 0, 0, r],
            ("False", "ProgressDeadlineExceeded", format!("ReplicaSet \"{rs}\" has timed out progressing.")),
        ),
    };
    let keys = ["replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"];
    for (k, v) in keys.iter().zip(counts) {
        positive(&mut status, k, v);
    }
    let available = if counts[4] == 0 {
        condition(
            &old_conds,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            now,
        )
    } else {
        let msg = "Deployment does not have minimum availability.";
        condition(&old_conds, "Available", "False", "MinimumReplicasUnavailable", msg, now)
    };
    let conditions = vec![available, condition(&old_conds, "Progressing", p_status, p_reason, &p_message, now)];
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

fn job(behaviour: JobBehaviour, obj: &mut Value, now: &str) -> bool {
    let status = obj.get("status").cloned().unwrap_or(json!({}));
    let finished = status.get("conditions").and_then(Value::as_array).is_some_and(|cs| {
        cs.iter().any(|c| matches!(c.get("type").and_then(Value::as_str), Some("Complete" | "Failed")))
    });
    if finished {
        return false;
    }
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

/// The volume binder: a claim is bound (status only; no PersistentVolume is made) unless its
/// StorageClass binds on first use, which needs a pod scheduled (there is no scheduler here).
fn volume_claim(st: &State, obj: &mut Value) -> bool {
    if st.controller.volumes != VolumeBehaviour::Bind || obj.pointer("/status/phase") == Some(&json!("Bound")) {
        return false;
    }
    if let Some(class) = obj.pointer("/spec/storageClassName").and_then(Value::as_str) {
        let key = ObjKey::new("storage.k8s.io", "storageclasses", "", class);
        let mode = st.store.get(&key).and_then(|c| c.get("volumeBindingMode")).and_then(Value::as_str);
        if mode == Some("WaitForFirstConsumer") {
            return false;
        }
    }
    let modes = obj.pointer("/spec/accessModes").cloned().unwrap_or(json!([]));
    let size = obj.pointer("/spec/resources/requests/storage").cloned().unwrap_or(json!("1Gi"));
    if let Some(m) = obj.as_object_mut() {
        m.insert("status".into(), json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": size}}));
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
        assert!(job(JobBehaviour::Complete, &mut j, "t"));
        assert_eq!(j["status"]["succeeded"], 3);
        assert!(!job(JobBehaviour::Complete, &mut j, "t"));
    }
}
