//! Planning an operation on a release: whose each existing object is ([`super::ownership`]),
//! the server-side dry run as the manager and force each apply will use, what the history says
//! to prune (and whether each of those is still the release's to delete), `spec.replicas`
//! moving to or from an HPA ([`Handover`]), and printing it all. Nothing here writes.

use super::drift::{self, Drift};
use super::lifecycle::current;
use super::ownership::{self, Allow, Disposition, Key, Recorded, LEGACY_MANAGER};
use super::plan::{prune, recent_objects, settle_finished_jobs};
use super::record::Release;
use super::stamp::Known;
use super::versions;
use crate::apply::handover::Handover;
use crate::cluster::{Cluster, ClusterError};
use crate::diff::output::{self, Format, View};
use crate::diff::{self, Action, Change, Plan, PlanOptions};
use crate::error::Error;
use crate::model::{Gvk, ResId};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::io::Write;

/// What planning needs besides the objects.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub create_namespace: bool,
    pub force_conflicts: bool,
    pub allow: Allow,
    /// `--server-dry-run-all`: dry-run every object, whatever the records know.
    pub dry_run_all: bool,
}

/// A plan and what it was made from.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// The release's name and field manager.
    pub name: String,
    pub manager: String,
    pub plan: Plan,
    /// The objects as they will be applied and recorded.
    pub manifest: Vec<Value>,
    /// Existing objects the apply must take ownership of first, and how.
    pub takeovers: Vec<(ResId, Disposition)>,
    /// What the records said when planning (ownership is checked again against it).
    pub recorded: Recorded,
    pub flags: Flags,
    /// Jobs finished and removed by their TTL: unchanged.
    pub settled: Vec<ResId>,
    /// Objects the release had and the render lacks that are no longer its own: left, and why.
    pub spared: Vec<(ResId, String)>,
    /// Lines printed after the plan (Helm's leftovers, versions, the replicas handover).
    pub notes: Vec<String>,
    /// The live objects of the render's kinds, as listed for the plan (drift reuses them).
    pub live: HashMap<ResId, Value>,
    /// `spec.replicas` moving to or from an HPA, applied as it was planned.
    pub handover: Handover,
    /// What the records know (the skip rule): the plan's skipped objects, and the new stamps.
    pub known: Known,
}

impl Prepared {
    /// Objects taken over from someone else (shown as `adopt`).
    pub fn adopted(&self) -> impl Iterator<Item = &ResId> {
        self.takeovers.iter().filter(|(_, d)| d.forced()).map(|(id, _)| id)
    }

    /// Every object of the revision this plan makes (what `--wait` waits on), changed or not,
    /// but for Jobs already finished and removed by their TTL.
    pub fn revision_ids(&self) -> Vec<ResId> {
        let planned = self.plan.changes.iter().filter(|c| c.action != Action::Delete);
        planned.map(|c| c.id.clone()).filter(|id| !self.settled.contains(id)).collect()
    }
}

/// Plans `desired` for release `name` with its `history`: the objects of the render, and the
/// prune of what the history has and the render lacks; Jobs settled by their TTL.
pub async fn prepare(
    cluster: &Cluster,
    name: &str,
    desired: Vec<(ResId, Value)>,
    history: &[Release],
    flags: &Flags,
) -> Result<Prepared, Error> {
    let candidates = prune(&recent_objects(history), &desired);
    let running = current(history).map(|r| r.manifest.as_slice()).unwrap_or_default();
    // Condition (d) of the skip rule; a server that will not say makes every object a dry run.
    let server = cluster.server_version().await.unwrap_or_default();
    let known = Known::from_history(history, &server, !flags.dry_run_all);
    let recorded = Recorded::from_history(history);
    let mut p = plan_release(cluster, name, desired, candidates, running, recorded, flags, known).await?;
    p.settled = settle_finished_jobs(&mut p.plan, current(history));
    Ok(p)
}

/// Plans `desired` and the delete of `candidates` (stored objects the release had), from
/// `running` (the manifest the cluster runs). Ownership first: nothing is taken over silently.
#[allow(clippy::too_many_arguments)] // what the history says, each used once
pub async fn plan_release(
    cluster: &Cluster,
    name: &str,
    desired: Vec<(ResId, Value)>,
    candidates: Vec<(ResId, Value)>,
    running: &[Value],
    recorded: Recorded,
    flags: &Flags,
    known: Known,
) -> Result<Prepared, Error> {
    let manager = ownership::field_manager(name);
    // One LIST per kind serves the ownership check and the dry-run comparison.
    let live = diff::live_objects(cluster, &desired).await?;
    let existing: Vec<(&ResId, &Value)> = desired.iter().filter_map(|(id, _)| Some((id, live.get(id)?))).collect();
    let ns = &cluster.namespace;
    let dispositions =
        ownership::check(&existing, &recorded, name, ns, flags.allow).map_err(super::ReleaseError::from)?;
    let how: HashMap<&ResId, Disposition> = dispositions.iter().map(|(id, d)| (id, *d)).collect();
    let order: HashMap<ResId, usize> = desired.iter().enumerate().map(|(i, (id, _))| (id.clone(), i)).collect();
    let manifest: Vec<Value> = desired.iter().map(|(_, b)| b.clone()).collect();
    let handover = Handover::plan(&manager, running, &desired, &live);

    // Each dry run as the apply will be sent: objects still under the shared manager as it (the
    // fields move to the release's entry unchanged just before), taken-over ones forced.
    let as_sent = |manager: &str, force_conflicts| PlanOptions {
        create_namespace: flags.create_namespace,
        force_conflicts,
        manager: manager.to_string(),
        handover: handover.clone(),
    };
    let mut groups = [
        (Vec::new(), as_sent(&manager, flags.force_conflicts)),
        (Vec::new(), as_sent(LEGACY_MANAGER, flags.force_conflicts)),
        (Vec::new(), as_sent(&manager, true)),
    ];
    let mut plan = Plan::default();
    for (id, body) in desired {
        let slot = match how.get(&id) {
            Some(Disposition::Migrate) => 1,
            Some(d) if d.forced() => 2,
            // The release's own, and the records know the answer: no dry run (the skip rule).
            Some(Disposition::Ours)
                if !handover.moves(&id) && known.check(&id, &manager, &body, live.get(&id)).is_ok() =>
            {
                let found = &live[&id];
                plan.changes.push(diff::known_unchanged(id, found, body));
                continue;
            }
            _ => 0,
        };
        groups[slot].0.push((id, body));
    }
    for (objects, opts) in groups {
        if !objects.is_empty() {
            plan.changes.extend(diff::plan_against(cluster, objects, &live, &opts).await?.changes);
        }
    }
    plan.changes.sort_by_key(|c| order.get(&c.id).copied().unwrap_or(usize::MAX));
    let (deletes, spared) = pruned(cluster, name, candidates, &live, &recorded).await?;
    plan.changes.extend(deletes);
    let takeovers = dispositions.into_iter().filter(|(_, d)| *d != Disposition::Ours).collect();
    Ok(Prepared {
        name: name.to_string(),
        manager,
        plan,
        manifest,
        takeovers,
        recorded,
        flags: flags.clone(),
        settled: Vec::new(),
        spared,
        notes: handover.notes(),
        live,
        handover,
        known,
    })
}

/// The deletes among `candidates`: each looked up under the version the server serves its kind
/// with (it may be stored under one since removed), and deleted only while it is still the
/// release's (its label, its recorded uid); the others are left, with why.
async fn pruned(
    cluster: &Cluster,
    name: &str,
    candidates: Vec<(ResId, Value)>,
    live: &HashMap<ResId, Value>,
    recorded: &Recorded,
) -> Result<(Vec<Change>, Vec<(ResId, String)>), ClusterError> {
    let listed: HashSet<(&Gvk, &str)> = live.keys().map(|id| (&id.gvk, id.namespace.as_str())).collect();
    let (mut deletes, mut spared) = (Vec::new(), Vec::new());
    for (stored, _) in candidates {
        let id = match versions::served_id(cluster, &stored).await {
            Ok(id) => id,
            Err(ClusterError::UnknownKind { .. }) => {
                spared.push((stored, "its kind is not served any more: nothing to delete".into()));
                continue;
            }
            Err(e) => return Err(e),
        };
        let current = match live.get(&id) {
            Some(v) => Some(v.clone()),
            None if listed.contains(&(&id.gvk, id.namespace.as_str())) => None,
            None => cluster.get(&id).await?,
        };
        let Some(current) = current else { continue };
        match ownership::deletable(&current, &Key::of(&id), recorded, name, &cluster.namespace) {
            Ok(uid) => {
                let c = diff::change(id, Some(current), None, None, Action::Delete);
                deletes.push(Change { uid: Some(uid), ..c });
            }
            Err(why) => spared.push((id, why)),
        }
    }
    Ok((deletes, spared))
}

fn io(source: std::io::Error) -> Error {
    Error::Io { context: "writing output".into(), source }
}

/// Prints the plan (taken-over objects as `adopt`), what is left and why, then drift, in the
/// chosen format.
pub fn print(p: &Prepared, view: &View, drift: Option<(u32, &[Drift])>, out: &mut dyn Write) -> Result<(), Error> {
    let format = view.format;
    let mut text = output::render(&p.plan, view);
    let adopted: Vec<&ResId> = p.adopted().collect();
    if format == Format::Json {
        let mut doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if let Some(changes) = doc["changes"].as_array_mut() {
            for c in changes.iter_mut().filter(|c| adopted.iter().any(|a| c["resource"] == a.to_string())) {
                c["action"] = Value::String("adopt".into());
            }
        }
        let left: Vec<Value> =
            p.spared.iter().map(|(id, why)| serde_json::json!({"resource": id.to_string(), "reason": why})).collect();
        if !left.is_empty() {
            doc["left"] = Value::Array(left);
        }
        if !p.notes.is_empty() {
            doc["notes"] = serde_json::json!(p.notes);
        }
        if let Some((rev, d)) = drift {
            doc["drift"] = drift::json(d, rev, view.context);
        }
        text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
        return out.write_all(text.as_bytes()).map_err(io);
    }
    for id in &adopted {
        text = text.replace(&format!("{id} (update)"), &format!("{id} (adopt)"));
    }
    let mut notes = String::new();
    if !adopted.is_empty() {
        notes.push_str(&format!(
            "Adopt: {} existing object(s) taken over (applied with force): every field their previous managers set moves to release {}, and what the render leaves out is removed from them\n",
            adopted.len(),
            p.name
        ));
    }
    for (id, why) in &p.spared {
        notes.push_str(&format!("{id}: left in place, not deleted: {why}\n"));
    }
    for id in &p.settled {
        notes.push_str(&format!("{id}: finished and removed by its ttlSecondsAfterFinished; not run again\n"));
    }
    for n in &p.notes {
        notes.push_str(n);
        notes.push('\n');
    }
    text.push_str(&notes);
    if let Some((rev, d)) = drift {
        text.push_str(&drift::text(d, rev, format == Format::Markdown, view.context));
    }
    out.write_all(text.as_bytes()).map_err(io)
}
