//! Drift: objects changed in the cluster since the current revision applied them. Each stored
//! object is dry-run applied again, forced; if that would change the live object, someone
//! changed a field this release owns (or took it over). The server decides, so defaults and
//! canonical forms (`1000m` vs `1`) never count as drift.

use super::ownership::Key;
use super::plan::finished_by_ttl;
use super::record::Release;
use super::stamp::Known;
use super::versions;
use crate::cluster::{ApplyAs, Cluster};
use crate::diff::dry_run::aligned;
use crate::diff::managed::keep_foreign;
use crate::diff::{mask_secrets, normalize, normalized, sorted, Change, Plan};
use crate::error::Error;
use crate::model::ResId;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Modified,
    Deleted,
}

#[derive(Debug, Clone)]
pub struct Drift {
    pub id: ResId,
    pub state: State,
    /// As the revision left it (masked), and as it is now (masked).
    pub recorded: Option<Value>,
    pub live: Option<Value>,
}

/// Compares every object of `rel` with the cluster, dry-run applied as `manager`. `plan` and
/// `live` are what the diff already read (its dry runs, and one LIST per kind): an object the
/// render leaves as recorded was just dry-run applied by the plan, whose answer is what a forced
/// dry run of the record would give, so only the others cost a request of their own. A record
/// under a version the server no longer serves is compared under the served one. An object the
/// records vouch for (the skip rule holds for the request that applied it) costs nothing.
pub async fn detect(
    cluster: &Cluster,
    rel: &Release,
    plan: &Plan,
    live: &HashMap<ResId, Value>,
    manager: &str,
    known: &Known,
) -> Result<Vec<Drift>, Error> {
    let planned: HashMap<Key, &Change> = plan.changes.iter().map(|c| (Key::of(&c.id), c)).collect();
    let how = ApplyAs { manager, force: true, dry_run: true };
    let results = stream::iter(rel.manifest.iter().map(|stored| {
        let id = ResId::of(stored);
        let same = planned.get(&Key::of(&id)).filter(|c| c.body.as_ref() == Some(stored));
        // The records vouch for it (the skip rule, for the request that applied it): it is as
        // the release left it, whatever the render asks now.
        let known = known.check(&id, manager, stored, live.get(&id)).is_ok();
        let reuse = same.filter(|_| id.gvk.kind != "Secret");
        let reuse = reuse.and_then(|c| Some((c.before.clone(), c.after.clone()?)));
        async move {
            if known {
                return Ok(None);
            }
            let (body, id) = match reuse {
                Some(_) => (stored.clone(), id),
                // Stored under a version removed since, unlike the served one: not comparable
                // (the plan shows the render at the served version).
                None => match versions::served_body(cluster, stored).await {
                    Ok((body, _)) => {
                        let id = ResId::of(&body);
                        (body, id)
                    }
                    Err(versions::VersionError::Removed { .. }) => return Ok(None),
                    Err(e) => return Err(e.into()),
                },
            };
            let body = &body;
            let listed = live.get(&id).cloned();
            if let Some((now, recorded)) = reuse {
                return Ok(match now {
                    None if finished_by_ttl(body) => None,
                    None => Some(drift(id, State::Deleted, Some(body.clone()), None)),
                    Some(now) if now == recorded => None,
                    Some(now) => Some(Drift { id, state: State::Modified, recorded: Some(recorded), live: Some(now) }),
                });
            }
            let live = match listed {
                Some(v) => Some(v),
                None => cluster.get(&id).await?,
            };
            let Some(live) = live else {
                if finished_by_ttl(body) {
                    return Ok(None);
                }
                return Ok(Some(drift(id, State::Deleted, Some(body.clone()), None)));
            };
            let (mut recorded, live) = match cluster.apply(&id, body, how).await {
                Ok(v) => {
                    let live = aligned(cluster, &id, Some(&live), &v.object).await?.unwrap_or(live);
                    (v.object, live)
                }
                Err(e) if e.is_immutable() => (body.clone(), live),
                Err(e) => return Err(e.into()),
            };
            // Fields only other managers own (a controller's) are not drift.
            keep_foreign(&live, &mut recorded, manager);
            if normalize(&recorded) == normalize(&live) {
                return Ok(None);
            }
            Ok(Some(drift(id, State::Modified, Some(recorded), Some(live))))
        }
    }))
    .buffered(cluster.concurrency())
    .collect::<Vec<_>>()
    .await;
    results.into_iter().filter_map(Result::transpose).collect()
}

fn drift(id: ResId, state: State, recorded: Option<Value>, live: Option<Value>) -> Drift {
    let mut recorded = recorded.map(|v| sorted(normalized(v)));
    let mut live = live.map(|v| sorted(normalized(v)));
    mask_secrets(recorded.as_mut(), live.as_mut());
    Drift { id, state, recorded, live }
}

fn word(s: &State) -> &'static str {
    match s {
        State::Modified => "modified",
        State::Deleted => "deleted",
    }
}

fn unified(d: &Drift, revision: u32, context: usize) -> String {
    let y = |v: &Option<Value>| v.as_ref().map(crate::yaml::to_yaml).unwrap_or_default();
    similar::TextDiff::from_lines(&y(&d.recorded), &y(&d.live))
        .unified_diff()
        .context_radius(context)
        .header(&format!("revision-{revision}/{}", d.id), &format!("live/{}", d.id))
        .to_string()
}

/// The drift section of `diff`'s text output.
pub fn text(drifts: &[Drift], revision: u32, markdown: bool, context: usize) -> String {
    let title = format!("Drift since revision {revision} (changed in the cluster, apart from what the render changes)");
    let mut out = if markdown { format!("\n## {title}\n\n") } else { format!("\n{title}:\n") };
    if drifts.is_empty() {
        out.push_str("none\n");
        return out;
    }
    for d in drifts {
        let diff = unified(d, revision, context);
        if markdown {
            out.push_str(&format!("### `{}` ({})\n\n```diff\n{diff}```\n\n", d.id, word(&d.state)));
        } else {
            out.push_str(&format!("{} ({})\n{diff}\n", d.id, word(&d.state)));
        }
    }
    out.push_str(&format!(
        "Drift: {} modified, {} deleted\n",
        count(drifts, State::Modified),
        count(drifts, State::Deleted)
    ));
    out
}

fn count(drifts: &[Drift], s: State) -> usize {
    drifts.iter().filter(|d| d.state == s).count()
}

/// The drift section of `diff -o json`.
pub fn json(drifts: &[Drift], revision: u32, context: usize) -> Value {
    let objects: Vec<Value> = drifts
        .iter()
        .map(|d| json!({"resource": d.id.to_string(), "state": word(&d.state), "diff": unified(d, revision, context)}))
        .collect();
    json!({"revision": revision, "objects": objects})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Gvk;

    #[test]
    fn drift_text_names_object_state_and_masks_secrets() {
        let id = ResId::new(Gvk::from_api_version("v1", "Secret"), "ml", "s");
        let d = drift(
            id,
            State::Modified,
            Some(json!({"kind": "Secret", "data": {"k": "b2xk"}})),
            Some(json!({"kind": "Secret", "data": {"k": "bmV3"}})),
        );
        let t = text(&[d], 2, false, 3);
        assert!(t.contains("Secret/ml/s (modified)") && t.contains("revision-2/Secret/ml/s"), "{t}");
        assert!(!t.contains("b2xk") && !t.contains("bmV3") && t.contains("***"), "{t}");
        assert!(t.contains("Drift: 1 modified, 0 deleted"), "{t}");
        assert!(text(&[], 2, false, 3).contains("none"));
    }
}
