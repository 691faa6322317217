//! What a release's history adds to a plan: which objects it has applied (for prune and
//! uninstall), and Jobs that finished and were removed by their TTL (complete, not drift).
//! Objects are compared by identity ([`Key`]: group, kind, namespace, name), never by version.

use super::lifecycle::current;
use super::ownership::Key;
use super::record::{Release, Status};
use crate::diff::{Action, Plan};
use crate::model::ResId;
use serde_json::Value;
use std::collections::HashSet;

pub fn manifest_ids(manifest: &[Value]) -> Vec<(ResId, Value)> {
    manifest.iter().map(|b| (ResId::of(b), b.clone())).collect()
}

/// Objects the cluster may hold for the release: those of the current revision and of every
/// revision after it (a failed upgrade may have applied part of its manifest). Without a
/// deployed revision, those since the release was last uninstalled.
pub fn recent_objects(history: &[Release]) -> Vec<(ResId, Value)> {
    let from = match current(history) {
        Some(c) => c.revision,
        None => history.iter().rev().find(|r| r.status == Status::Uninstalled).map(|r| r.revision + 1).unwrap_or(0),
    };
    let mut seen = HashSet::new();
    let mut out: Vec<(ResId, Value)> = Vec::new();
    for r in history.iter().filter(|r| r.revision >= from).rev() {
        for (id, body) in manifest_ids(&r.manifest) {
            if seen.insert(Key::of(&id)) {
                out.push((id, body));
            }
        }
    }
    out
}

/// What the release has and the new manifest lacks (objects marked keep stay), as stored.
pub fn prune(recent: &[(ResId, Value)], desired: &[(ResId, Value)]) -> Vec<(ResId, Value)> {
    let wanted: HashSet<Key> = desired.iter().map(|(id, _)| Key::of(id)).collect();
    recent.iter().filter(|(id, body)| !super::keep(body) && !wanted.contains(&Key::of(id))).cloned().collect()
}

/// A Job the current revision applied, gone now, and rendered the same again was removed by its
/// `ttlSecondsAfterFinished` after it completed: it is unchanged, not a Job to run again.
pub fn settle_finished_jobs(plan: &mut Plan, current: Option<&Release>) -> Vec<ResId> {
    let Some(cur) = current else { return Vec::new() };
    let mut settled = Vec::new();
    for c in plan.changes.iter_mut().filter(|c| c.action == Action::Create && c.id.gvk.kind == "Job") {
        let key = Key::of(&c.id);
        let stored = cur.manifest.iter().find(|b| Key::of(&ResId::of(b)) == key);
        if stored.is_some_and(|s| finished_by_ttl(s) && Some(s) == c.body.as_ref()) {
            c.action = Action::Unchanged;
            c.before = c.after.clone();
            settled.push(c.id.clone());
        }
    }
    settled
}

/// A stored Job that removes itself once finished.
pub fn finished_by_ttl(stored: &Value) -> bool {
    stored["kind"] == "Job" && stored["spec"]["ttlSecondsAfterFinished"].is_number()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::Change;
    use crate::release::record::sample;
    use serde_json::json;

    fn job(ttl: bool, image: &str) -> Value {
        let mut j = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train", "namespace": "ml"}, "spec": {"template": {"spec": {"containers": [{"image": image}]}}}});
        if ttl {
            j["spec"]["ttlSecondsAfterFinished"] = json!(3600);
        }
        j
    }

    fn plan_creating(body: Value) -> Plan {
        Plan {
            changes: vec![Change {
                id: ResId::of(&body),
                action: Action::Create,
                before: None,
                after: Some(body.clone()),
                body: Some(body),
                uid: None,
                skipped: false,
            }],
        }
    }

    #[test]
    fn a_job_removed_by_its_ttl_and_rendered_the_same_is_unchanged() {
        let mut cur = sample("prod", 1, Status::Deployed);
        cur.manifest = vec![job(true, "a:1")];
        let mut plan = plan_creating(job(true, "a:1"));
        assert_eq!(settle_finished_jobs(&mut plan, Some(&cur)).len(), 1);
        assert_eq!(plan.changes[0].action, Action::Unchanged);

        let mut changed = plan_creating(job(true, "a:2"));
        assert!(settle_finished_jobs(&mut changed, Some(&cur)).is_empty(), "a new Job template runs again");
        cur.manifest = vec![job(false, "a:1")];
        let mut no_ttl = plan_creating(job(false, "a:1"));
        assert!(settle_finished_jobs(&mut no_ttl, Some(&cur)).is_empty(), "without a TTL someone deleted it: recreate");
    }

    #[test]
    fn recent_objects_span_the_current_revision_and_later_failures() {
        let cm = |n: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "namespace": "ml"}});
        let mut h =
            vec![sample("p", 1, Status::Superseded), sample("p", 2, Status::Deployed), sample("p", 3, Status::Failed)];
        h[0].manifest = vec![cm("old")];
        h[1].manifest = vec![cm("a")];
        h[2].manifest = vec![cm("a"), cm("b")];
        let names: Vec<String> = recent_objects(&h).into_iter().map(|(id, _)| id.name).collect();
        assert_eq!(names, ["a", "b"]);
        let desired = manifest_ids(&[cm("a")]);
        let pruned = prune(&recent_objects(&h), &desired);
        assert_eq!(pruned.iter().map(|(i, _)| i.name.as_str()).collect::<Vec<_>>(), ["b"]);
        let hpa = |v: &str| json!({"apiVersion": v, "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", "namespace": "ml"}});
        let moved = prune(&manifest_ids(&[hpa("autoscaling/v2beta2")]), &manifest_ids(&[hpa("autoscaling/v2")]));
        assert!(moved.is_empty(), "a new apiVersion is the same object, not one to delete");
    }
}
