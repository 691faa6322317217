//! One object's dry run, compared exactly: with the live object at the dry run's own
//! `resourceVersion` (a LIST taken before the dry runs misses what controllers wrote since,
//! `ctl-*` captures: the object is read again when the two differ), without fields only other
//! managers own ([`super::managed::keep_foreign`]), and for an object the server refuses to
//! update in place, with the object a replacement would make as the server defaults it. A
//! terminating object is planned as made again once gone, never as an update.

use super::{change, classify_normalized, managed, normalized, Action, Change, PlanOptions};
use crate::cluster::{ApplyAs, Cluster, ClusterError};
use crate::model::ResId;
use serde_json::Value;

fn resource_version(v: &Value) -> Option<&str> {
    v["metadata"]["resourceVersion"].as_str()
}

/// Dry-runs `body` against `listed` (the object as listed, if it exists) and plans it.
pub async fn one(
    cluster: &Cluster,
    id: ResId,
    body: Value,
    listed: Option<&Value>,
    opts: &PlanOptions,
) -> Result<Change, ClusterError> {
    let how = ApplyAs { manager: &opts.manager, force: opts.force_conflicts, dry_run: true };
    let uid = listed.and_then(|l| l["metadata"]["uid"].as_str()).map(str::to_string);
    let going = listed.and_then(crate::apply::wait::terminating);
    let planned = match (opts.handover.apply(cluster, &id, &body, how).await, going) {
        (Ok(result), going) => {
            let mut after = result.object;
            let live = aligned(cluster, &id, listed, &after).await?;
            if let Some(l) = &live {
                managed::keep_foreign(l, &mut after, &opts.manager);
            }
            let current = live.map(normalized);
            let after = normalized(after);
            match going {
                // Being deleted: whatever the dry run merged, the object is made anew once gone.
                Some(finalizers) => {
                    let after = without_deletion(after, &body);
                    change(id, current, Some(after), Some(body), Action::Terminating { finalizers })
                }
                None => {
                    let mut action = classify_normalized(current.as_ref(), Some(&after));
                    if action == Action::Unchanged && opts.handover.moves(&id) {
                        // Nothing to see, but `replicas` changes hands: the apply must run.
                        action = Action::Update;
                    }
                    change(id, current, Some(after), Some(body), action)
                }
            }
        }
        (Err(e), Some(finalizers)) if e.is_immutable() => {
            change(id, listed.cloned(), Some(body.clone()), Some(body), Action::Terminating { finalizers })
        }
        (Err(e), None) if e.is_immutable() => {
            let reason = e.immutable_reason().unwrap_or_default();
            let after = replacement(cluster, &id, &body, listed, &opts.manager).await;
            change(id, listed.cloned(), Some(after), Some(body), Action::Replace { reason })
        }
        (Err(e), _) => return Err(e),
    };
    Ok(Change { uid, ..planned })
}

/// What a terminating object becomes once made again: no deletion marks, none of the finalizers
/// the render does not set (the dry run kept the live ones).
fn without_deletion(mut v: Value, body: &Value) -> Value {
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in ["deletionTimestamp", "deletionGracePeriodSeconds", "finalizers"] {
            meta.remove(k);
        }
        if let Some(own) = body["metadata"].get("finalizers") {
            meta.insert("finalizers".into(), own.clone());
        }
    }
    v
}

/// The live object at the resourceVersion of `answer` (a dry run's): the listed one when they
/// agree, else the object read again (once: if it moved on once more, what differs is left to
/// [`managed::keep_foreign`]).
pub async fn aligned(
    cluster: &Cluster,
    id: &ResId,
    listed: Option<&Value>,
    answer: &Value,
) -> Result<Option<Value>, ClusterError> {
    let Some(listed) = listed else { return Ok(None) };
    if resource_version(answer).is_none() || resource_version(listed) == resource_version(answer) {
        return Ok(Some(listed.clone()));
    }
    Ok(Some(cluster.get(id).await?.unwrap_or_else(|| listed.clone())))
}

/// What a replacement would create, as the server defaults it (a dry-run create under a
/// generated name), named as the live object: the generated name and uid are put back where
/// the server copied them (a Job's `controller-uid` and `job-name` labels), and fields only
/// controllers own are the live ones, so only real changes show. Without an answer (the create
/// refused), the body as rendered.
async fn replacement(cluster: &Cluster, id: &ResId, body: &Value, live: Option<&Value>, manager: &str) -> Value {
    let Ok((mut made, generated)) = cluster.dry_run_create(id, body, manager).await else { return body.clone() };
    let new_uid = made["metadata"]["uid"].as_str().unwrap_or_default().to_string();
    let old_uid = live.and_then(|l| l["metadata"]["uid"].as_str()).unwrap_or_default().to_string();
    if let Some(meta) = made.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.shift_remove("generateName");
    }
    rename(&mut made, &[(&generated, &id.name), (&new_uid, &old_uid)]);
    if let Some(l) = live {
        managed::keep_foreign(l, &mut made, manager);
    }
    made
}

/// Replaces every string equal to a `from` with its `to` (whole strings only).
fn rename(v: &mut Value, pairs: &[(&str, &str)]) {
    match v {
        Value::String(s) => {
            if let Some((_, to)) = pairs.iter().find(|(from, to)| !from.is_empty() && !to.is_empty() && s == from) {
                *s = to.to_string();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rename(i, pairs)),
        Value::Object(m) => m.values_mut().for_each(|i| rename(i, pairs)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generated_names_and_uids_go_back_to_the_live_ones() {
        let mut made = json!({"metadata": {"name": "train-x7k2p", "uid": "new", "labels": {"job-name": "train-x7k2p", "controller-uid": "new"}},
            "spec": {"selector": {"matchLabels": {"controller-uid": "new"}}, "note": "train-x7k2p-suffix"}});
        rename(&mut made, &[("train-x7k2p", "train"), ("new", "old")]);
        assert_eq!(made["metadata"]["labels"], json!({"job-name": "train", "controller-uid": "old"}));
        assert_eq!(made["spec"]["selector"]["matchLabels"]["controller-uid"], "old");
        assert_eq!(made["spec"]["note"], "train-x7k2p-suffix", "whole strings only");
    }
}
