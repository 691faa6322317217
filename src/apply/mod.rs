//! Carrying out a plan: server-side apply in dependency order (concurrently within one step),
//! replacements and deletes, stopping cleanly on Ctrl-C. Every call here writes; the plan that
//! came before authorized each object with a dry run, so a forbidden install writes nothing.

pub mod wait;

use crate::cluster::{Cluster, ClusterError, Propagation};
use crate::diff::{Action, Plan, CONCURRENCY};
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
    #[error("{id} must be replaced ({reason}); re-run with --force to delete and recreate it")]
    NeedsForce { id: ResId, reason: String },
    #[error("{id} is a PersistentVolumeClaim and is never replaced: {reason}")]
    PvcReplace { id: ResId, reason: String },
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    pub force_conflicts: bool,
    /// Allows replacing objects whose immutable fields changed.
    pub force: bool,
    pub delete_data: bool,
    pub cascade: Option<Propagation>,
}

/// What was done.
#[derive(Debug, Default)]
pub struct Outcome {
    pub applied: Vec<ResId>,
    pub replaced: Vec<ResId>,
    pub deleted: Vec<ResId>,
    pub kept: Vec<ResId>,
}

/// Applies a plan: replacements need `force`; creates and updates in [`ORDER`], one step at a
/// time with bounded concurrency; deletes (prune) last, in reverse order.
pub async fn execute(
    cluster: &Cluster,
    plan: &Plan,
    opts: &ApplyOptions,
    cancel: &Cancel,
) -> Result<Outcome, ApplyError> {
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
    let mut outcome = Outcome::default();
    let mut writes: Vec<&crate::diff::Change> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Create | Action::Update | Action::Replace { .. }))
        .collect();
    writes.sort_by_key(|c| rank(&c.id.gvk.kind));
    let mut i = 0;
    while i < writes.len() {
        let r = rank(&writes[i].id.gvk.kind);
        let step: Vec<_> = writes[i..].iter().take_while(|c| rank(&c.id.gvk.kind) == r).copied().collect();
        i += step.len();
        let results = stream::iter(step.iter().map(|c| async move {
            if cancel.is_cancelled() {
                return (c.id.clone(), None);
            }
            let res = async {
                if matches!(c.action, Action::Replace { .. }) {
                    cluster.delete(&c.id, Propagation::Foreground).await?;
                    wait::until_gone(cluster, &c.id, Duration::from_secs(120)).await?;
                }
                let body = c.body.as_ref().expect("creates and updates carry a body");
                cluster.apply(&c.id, body, false, opts.force_conflicts).await
            }
            .await;
            (c.id.clone(), Some(res.map(|_| matches!(c.action, Action::Replace { .. }))))
        }))
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
        let total = results.len();
        let mut errors = Vec::new();
        for (id, r) in results {
            match r {
                Some(Ok(true)) => outcome.replaced.push(id),
                Some(Ok(false)) => outcome.applied.push(id),
                Some(Err(e)) => errors.push(e),
                None => {}
            }
        }
        let failed = errors.len();
        if let Some(first) = errors.into_iter().next() {
            let done = outcome.applied.iter().chain(&outcome.replaced).cloned().collect();
            return Err(ApplyError::Failed { failed, total, first, done });
        }
        if cancel.is_cancelled() {
            return Err(ApplyError::Interrupted { done: outcome.applied.clone() });
        }
    }
    let mut deletes: Vec<ResId> =
        plan.changes.iter().filter(|c| c.action == Action::Delete).map(|c| c.id.clone()).collect();
    delete_all(cluster, &mut deletes, opts, cancel, &mut outcome).await?;
    Ok(outcome)
}

/// Deletes in reverse dependency order with an explicit propagation policy. PersistentVolumeClaims
/// are kept unless `delete_data` (checkpoints are data, not config).
pub async fn delete_all(
    cluster: &Cluster,
    ids: &mut [ResId],
    opts: &ApplyOptions,
    cancel: &Cancel,
    outcome: &mut Outcome,
) -> Result<(), ApplyError> {
    ids.sort_by_key(|id| std::cmp::Reverse(rank(&id.gvk.kind)));
    let propagation = opts.cascade.unwrap_or(Propagation::Background);
    for id in ids.iter() {
        if cancel.is_cancelled() {
            return Err(ApplyError::Interrupted { done: outcome.deleted.clone() });
        }
        if id.gvk.kind == "PersistentVolumeClaim" && !opts.delete_data {
            outcome.kept.push(id.clone());
            continue;
        }
        if cluster.delete(id, propagation).await? {
            outcome.deleted.push(id.clone());
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
