//! Planning an operation on a release: who owns what the render touches, what the history says
//! to prune, the server-side dry run, and printing it all. Nothing here writes.

use super::adopt;
use super::drift::{self, Drift};
use super::lifecycle::current;
use super::plan::{manifest_ids, prune, recent_objects, settle_finished_jobs};
use super::record::Release;
use crate::cluster::Cluster;
use crate::diff::output::{self, Format};
use crate::diff::{self, Plan, PlanOptions};
use crate::error::Error;
use crate::model::ResId;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;

/// What planning needs besides the objects.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub create_namespace: bool,
    pub force_conflicts: bool,
    pub adopt: bool,
    pub take_ownership: bool,
}

/// A plan and what it was made from.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    pub plan: Plan,
    /// The objects as they will be applied and recorded.
    pub manifest: Vec<Value>,
    /// Existing objects taken over (applied with force).
    pub adopted: Vec<ResId>,
    /// Jobs finished and removed by their TTL: unchanged.
    pub settled: Vec<ResId>,
    /// The live objects of the render's kinds, as listed for the plan (drift reuses them).
    pub live: HashMap<ResId, Value>,
}

/// Plans `desired` for release `name` with its `history`: ownership first (nothing is taken over
/// silently), then the dry run, prune of what the release had and `desired` lacks, and Jobs
/// settled by their TTL.
pub async fn prepare(
    cluster: &Cluster,
    name: &str,
    desired: Vec<(ResId, Value)>,
    history: &[Release],
    flags: &Flags,
) -> Result<Prepared, Error> {
    let ours: Vec<ResId> =
        history.iter().flat_map(|r| manifest_ids(&r.manifest).into_iter().map(|(id, _)| id)).collect();
    // One LIST per kind serves both the ownership check and the dry-run comparison.
    let live = diff::live_objects(cluster, &desired).await?;
    let existing: Vec<(&ResId, &Value)> = desired.iter().filter_map(|(id, _)| Some((id, live.get(id)?))).collect();
    let adopted = adopt::check(&existing, &ours, name, &cluster.namespace, flags.adopt, flags.take_ownership)
        .map_err(super::ReleaseError::from)?;
    let order: HashMap<ResId, usize> = desired.iter().enumerate().map(|(i, (id, _))| (id.clone(), i)).collect();
    let manifest: Vec<Value> = desired.iter().map(|(_, b)| b.clone()).collect();
    let prune = prune(&recent_objects(history), &desired);
    let (forced, normal): (Vec<_>, Vec<_>) = desired.into_iter().partition(|(id, _)| adopted.contains(id));
    let opts = PlanOptions { create_namespace: flags.create_namespace, force_conflicts: flags.force_conflicts, prune };
    let mut plan = diff::plan_against(cluster, normal, &live, &opts).await?;
    if !forced.is_empty() {
        let force = PlanOptions { force_conflicts: true, prune: Vec::new(), ..opts };
        plan.changes.extend(diff::plan_against(cluster, forced, &live, &force).await?.changes);
        plan.changes.sort_by_key(|c| order.get(&c.id).copied().unwrap_or(usize::MAX));
    }
    let settled = settle_finished_jobs(&mut plan, current(history));
    Ok(Prepared { plan, manifest, adopted, settled, live })
}

fn io(source: std::io::Error) -> Error {
    Error::Io { context: "writing output".into(), source }
}

/// Prints the plan (adopted objects as `adopt`), then drift, in the chosen format.
pub fn print(
    p: &Prepared,
    format: Format,
    color: bool,
    drift: Option<(u32, &[Drift])>,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let mut text = output::render(&p.plan, format, color);
    if format == Format::Json {
        let mut doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if let Some(changes) = doc["changes"].as_array_mut() {
            for c in changes.iter_mut().filter(|c| p.adopted.iter().any(|a| c["resource"] == a.to_string())) {
                c["action"] = Value::String("adopt".into());
            }
        }
        if let Some((rev, d)) = drift {
            doc["drift"] = drift::json(d, rev);
        }
        text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
        return out.write_all(text.as_bytes()).map_err(io);
    }
    for id in &p.adopted {
        text = text.replace(&format!("{id} (update)"), &format!("{id} (adopt)"));
    }
    let mut notes = String::new();
    if !p.adopted.is_empty() {
        notes.push_str(&format!("Adopt: {} existing object(s) taken over (applied with force)\n", p.adopted.len()));
    }
    for id in &p.settled {
        notes.push_str(&format!("{id}: finished and removed by its ttlSecondsAfterFinished; not run again\n"));
    }
    text.push_str(&notes);
    if let Some((rev, d)) = drift {
        text.push_str(&drift::text(d, rev, format == Format::Markdown));
    }
    out.write_all(text.as_bytes()).map_err(io)
}
