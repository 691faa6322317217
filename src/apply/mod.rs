//! Carrying out a plan: server-side apply in dependency order (concurrently within one step),
//! replacements and deletes, stopping cleanly on Ctrl-C. Every call here writes; the plan that
//! came before authorized each object with a dry run, so a forbidden install writes nothing.

pub mod handover;
pub mod wait;

use crate::cluster::{ApplyAs, Cluster, ClusterError, Propagation};
use crate::diff::{Action, Plan};
use crate::model::ResId;
use futures::stream::{self, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Kinds in the order they must exist: what others refer to comes first.
pub const ORDER: &[&str] = &[
    "Namespace",
    "CustomResourceDefinition",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "ServiceAccount",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "Secret",
    "ConfigMap",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "PriorityClass",
    "Service",
    "DaemonSet",
    "Deployment",
    "StatefulSet",
    "HorizontalPodAutoscaler",
    "Job",
    "CronJob",
    "Ingress",
    "PodDisruptionBudget",
];

/// The rank of a kind in [`ORDER`]; unknown kinds (custom resources) go last.
pub fn rank(kind: &str) -> usize {
    ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len())
}

/// Set by Ctrl-C / SIGTERM: no new request starts after it.
#[derive(Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Cancels on Ctrl-C or SIGTERM for as long as the runtime lives.
    pub fn on_signals(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            #[cfg(unix)]
            {
                let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => return,
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            #[cfg(not(unix))]
            let _ = tokio::signal::ctrl_c().await;
            me.cancel();
        });
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{failed} of {total} objects failed; first: {first}")]
    Failed { failed: usize, total: usize, first: ClusterError, done: Vec<ResId> },
    #[error("interrupted: {} object(s) were applied before the stop ({})", done.len(), done.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "))]
    Interrupted { done: Vec<ResId> },
    #[error("{id} cannot be updated in place: {reason}; --force replaces the {} (deletes it and creates it again)", id.gvk.kind)]
    NeedsForce { id: ResId, reason: String },
    #[error("{id} is a PersistentVolumeClaim and is never replaced: {reason}")]
    PvcReplace { id: ResId, reason: String },
    /// An object being deleted (or replaced) did not go in time, or Ctrl-C came meanwhile.
    #[error(transparent)]
    Wait(#[from] wait::WaitError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// How long an object being deleted may take to go when nothing else says (`--timeout`'s default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// The field manager every apply is sent as.
    pub manager: String,
    pub force_conflicts: bool,
    /// Allows replacing objects whose immutable fields changed.
    pub force: bool,
    pub delete_data: bool,
    pub cascade: Option<Propagation>,
    /// `spec.replicas` moving to or from an HPA ([`handover`]).
    pub handover: handover::Handover,
    /// How long an object being deleted (terminating, or replaced) may take to go before it is
    /// made again (`--timeout`; None: [`DEFAULT_TIMEOUT`]).
    pub timeout: Option<Duration>,
}

/// What was done.
#[derive(Debug, Default)]
pub struct Outcome {
    pub applied: Vec<ResId>,
    pub replaced: Vec<ResId>,
    pub deleted: Vec<ResId>,
    pub kept: Vec<ResId>,
    /// The uid of every object applied, as the server answered.
    pub uids: Vec<(ResId, String)>,
    /// Every apply's answer (metadata only: uid, resourceVersion, managedFields), for the stamps
    /// of the skip rule; also those of [`touch`].
    pub answers: Vec<(ResId, serde_json::Value)>,
    /// Planned as creates, found existing by the apply (200, not 201), with the answer: someone
    /// created them meanwhile.
    pub found: Vec<(ResId, serde_json::Value)>,
    /// Deletes the server refused because the object is no longer the one planned (its uid
    /// changed: deleted and made again by someone else), with the reason.
    pub spared: Vec<(ResId, String)>,
}

/// An object to delete, and the uid it must still have (None: whatever is there).
#[derive(Debug, Clone, PartialEq)]
pub struct Doomed {
    pub id: ResId,
    pub uid: Option<String>,
}

/// Applies a plan: replacements need `force`; an HPA handing `replicas` back is deleted first
/// (so it cannot scale again meanwhile); creates and updates in [`ORDER`], one step at a time
/// with bounded concurrency; the other deletes (prune) last, in reverse order. What was done
/// goes into `outcome` as it happens, so a failure midway still says what it did.
pub async fn execute(
    cluster: &Cluster,
    plan: &Plan,
    opts: &ApplyOptions,
    cancel: &Cancel,
    outcome: &mut Outcome,
) -> Result<(), ApplyError> {
    for c in &plan.changes {
        if let Action::Replace { reason } = &c.action {
            if c.id.gvk.kind == "PersistentVolumeClaim" {
                return Err(ApplyError::PvcReplace { id: c.id.clone(), reason: reason.clone() });
            }
            if !opts.force {
                return Err(ApplyError::NeedsForce { id: c.id.clone(), reason: reason.clone() });
            }
        }
    }
    let doomed = |first: bool| -> Vec<Doomed> {
        let deletes = plan.changes.iter().filter(|c| c.action == Action::Delete);
        let deletes = deletes.filter(|c| opts.handover.goes_first(&c.id) == first);
        deletes.map(|c| Doomed { id: c.id.clone(), uid: c.uid.clone() }).collect()
    };
    delete_all(cluster, &mut doomed(true), opts, cancel, outcome).await?;
    let mut writes: Vec<&crate::diff::Change> = plan
        .changes
        .iter()
        .filter(|c| {
            matches!(c.action, Action::Create | Action::Update | Action::Replace { .. } | Action::Terminating { .. })
        })
        .collect();
    writes.sort_by_key(|c| rank(&c.id.gvk.kind));
    let timeout = opts.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let mut i = 0;
    while i < writes.len() {
        let r = rank(&writes[i].id.gvk.kind);
        let step: Vec<_> = writes[i..].iter().take_while(|c| rank(&c.id.gvk.kind) == r).copied().collect();
        i += step.len();
        let how = ApplyAs { manager: &opts.manager, force: opts.force_conflicts, dry_run: false };
        let results = stream::iter(step.iter().map(|c| async move {
            if cancel.is_cancelled() {
                return (c, None);
            }
            let res = async {
                match c.action {
                    Action::Replace { .. } => {
                        cluster.delete(&c.id, Propagation::Foreground, c.uid.as_deref()).await?;
                        wait::until_gone(cluster, &c.id, timeout, cancel).await?;
                    }
                    Action::Terminating { .. } => wait::until_gone(cluster, &c.id, timeout, cancel).await?,
                    _ => {}
                }
                let body = c.body.as_ref().expect("creates and updates carry a body");
                let applied = opts.handover.apply(cluster, &c.id, body, how).await?;
                if wait::terminating(&applied.object).is_none() {
                    return Ok::<_, ApplyError>(applied);
                }
                // Deleted since the plan: the apply landed on an object about to disappear.
                // Made again once it is gone, or it would vanish from under the release.
                wait::until_gone(cluster, &c.id, timeout, cancel).await?;
                Ok(opts.handover.apply(cluster, &c.id, body, how).await?)
            }
            .await;
            (c, Some(res))
        }))
        .buffer_unordered(cluster.concurrency())
        .collect::<Vec<_>>()
        .await;
        let total = results.len();
        let mut errors = Vec::new();
        for (c, r) in results {
            let applied = match r {
                Some(Ok(applied)) => applied,
                Some(Err(e)) => {
                    errors.push(e);
                    continue;
                }
                None => continue,
            };
            let id = c.id.clone();
            if let Some(uid) = applied.object["metadata"]["uid"].as_str() {
                outcome.uids.push((id.clone(), uid.to_string()));
            }
            outcome.answers.push((id.clone(), metadata_of(&applied.object)));
            match c.action {
                Action::Replace { .. } => outcome.replaced.push(id),
                Action::Create | Action::Terminating { .. } if !applied.created => {
                    outcome.found.push((id, applied.object))
                }
                _ => outcome.applied.push(id),
            }
        }
        let failed = errors.len();
        if let Some(first) = errors.into_iter().next() {
            let done = outcome.applied.iter().chain(&outcome.replaced).cloned().collect();
            return Err(match first {
                ApplyError::Cluster(first) => ApplyError::Failed { failed, total, first, done },
                other => other,
            });
        }
        if cancel.is_cancelled() {
            return Err(ApplyError::Interrupted { done: outcome.applied.clone() });
        }
    }
    delete_all(cluster, &mut doomed(false), opts, cancel, outcome).await
}

/// An apply's answer reduced to what a stamp needs.
fn metadata_of(obj: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({"metadata": obj["metadata"]})
}

/// Applies objects the plan found unchanged but no record vouches for, to learn what their
/// apply answers (the skip rule's stamp; the server changes nothing). Best effort: an object
/// that fails (someone took a field meanwhile: a conflict) just gets no stamp.
pub async fn touch(
    cluster: &Cluster,
    changes: &[&crate::diff::Change],
    opts: &ApplyOptions,
    cancel: &Cancel,
    outcome: &mut Outcome,
) {
    let how = ApplyAs { manager: &opts.manager, force: opts.force_conflicts, dry_run: false };
    let answers =
        stream::iter(changes.iter().filter_map(|c| Some((c, c.body.as_ref()?))).map(|(c, body)| async move {
            if cancel.is_cancelled() {
                return None;
            }
            let applied = cluster.apply(&c.id, body, how).await.ok()?;
            Some((c.id.clone(), metadata_of(&applied.object)))
        }))
        .buffer_unordered(cluster.concurrency())
        .collect::<Vec<_>>()
        .await;
    outcome.answers.extend(answers.into_iter().flatten());
}

/// Deletes in reverse dependency order with an explicit propagation policy, each only while it
/// has the uid it was planned with: a 409 (deleted and made again by someone else meanwhile) is
/// reported and skipped. PersistentVolumeClaims are kept unless `delete_data` (checkpoints are
/// data, not config).
pub async fn delete_all(
    cluster: &Cluster,
    doomed: &mut [Doomed],
    opts: &ApplyOptions,
    cancel: &Cancel,
    outcome: &mut Outcome,
) -> Result<(), ApplyError> {
    doomed.sort_by_key(|d| std::cmp::Reverse(rank(&d.id.gvk.kind)));
    let propagation = opts.cascade.unwrap_or(Propagation::Background);
    for d in doomed.iter() {
        if cancel.is_cancelled() {
            return Err(ApplyError::Interrupted { done: outcome.deleted.clone() });
        }
        if d.id.gvk.kind == "PersistentVolumeClaim" && !opts.delete_data {
            outcome.kept.push(d.id.clone());
            continue;
        }
        match cluster.delete(&d.id, propagation, d.uid.as_deref()).await {
            Ok(true) => outcome.deleted.push(d.id.clone()),
            Ok(false) => {}
            Err(e) if e.code() == Some(409) && d.uid.is_some() => outcome.spared.push((d.id.clone(), e.to_string())),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_come_first() {
        assert!(rank("Namespace") < rank("ServiceAccount"));
        assert!(rank("ConfigMap") < rank("Deployment"));
        assert!(rank("Deployment") < rank("HorizontalPodAutoscaler"));
        assert!(rank("Service") < rank("Ingress"));
        assert_eq!(rank("Widget"), ORDER.len());
    }

    #[test]
    fn cancel_is_shared() {
        let c = Cancel::default();
        let d = c.clone();
        d.cancel();
        assert!(c.is_cancelled());
    }
}
