//! The cluster work an install, upgrade or rollback records: apply the prepared plan (adopted
//! objects with force), wait when asked, and for `--atomic` restore or remove. Stops at the next
//! step on Ctrl-C or when the lock is lost.

use super::lifecycle::Act;
use super::lock::Lock;
use super::plan::manifest_ids;
use super::prepare::Prepared;
use super::record::Release;
use super::ReleaseError;
use crate::apply::{self, ApplyError, ApplyOptions, Cancel, Outcome};
use crate::cluster::Cluster;
use crate::diff::{self, Action, Plan, PlanOptions};
use crate::error::Error;
use crate::model::ResId;
use std::io::Write;
use std::time::Duration;

/// `--wait` / `--wait-for-jobs`.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    pub timeout: Duration,
    pub jobs: bool,
}

pub struct ClusterAct<'a> {
    pub cluster: &'a Cluster,
    pub prepared: &'a Prepared,
    pub apply: ApplyOptions,
    pub wait: Option<Wait>,
    pub quiet: bool,
    pub cancel: &'a Cancel,
    pub lock: &'a Lock,
    pub out: &'a mut dyn Write,
}

/// Applies a prepared plan: the rest first (it checks replacements up front), then the adopted
/// objects with force, so field ownership moves to us.
pub async fn execute(
    cluster: &Cluster,
    p: &Prepared,
    opts: &ApplyOptions,
    cancel: &Cancel,
) -> Result<Outcome, ApplyError> {
    if p.adopted.is_empty() {
        return apply::execute(cluster, &p.plan, opts, cancel).await;
    }
    let (adopt, rest): (Vec<_>, Vec<_>) = p.plan.changes.iter().cloned().partition(|c| p.adopted.contains(&c.id));
    let mut outcome = apply::execute(cluster, &Plan { changes: rest }, opts, cancel).await?;
    let forced = ApplyOptions { force_conflicts: true, ..opts.clone() };
    let more = apply::execute(cluster, &Plan { changes: adopt }, &forced, cancel).await?;
    outcome.applied.extend(more.applied);
    outcome.replaced.extend(more.replaced);
    Ok(outcome)
}

/// Replacements the plan needs, refused before anything is recorded or applied (as
/// [`apply::execute`] would refuse them): PVCs never, others only with `--force`.
pub fn check_replacements(plan: &Plan, force: bool) -> Result<(), ApplyError> {
    for c in &plan.changes {
        if let Action::Replace { reason } = &c.action {
            if c.id.gvk.kind == "PersistentVolumeClaim" {
                return Err(ApplyError::PvcReplace { id: c.id.clone(), reason: reason.clone() });
            }
            if !force {
                return Err(ApplyError::NeedsForce { id: c.id.clone(), reason: reason.clone() });
            }
        }
    }
    Ok(())
}

pub fn report(outcome: &Outcome, out: &mut dyn Write) {
    for id in &outcome.applied {
        writeln!(out, "{id} applied").ok();
    }
    for id in &outcome.replaced {
        writeln!(out, "{id} replaced").ok();
    }
    for id in &outcome.deleted {
        writeln!(out, "{id} deleted").ok();
    }
    for id in &outcome.kept {
        writeln!(out, "{id} kept (PersistentVolumeClaim; pass --delete-data to remove it)").ok();
    }
}

async fn cancelled(cancel: &Cancel) {
    while !cancel.is_cancelled() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for `ids`, giving up on Ctrl-C.
pub async fn wait_ready(
    cluster: &Cluster,
    ids: &[ResId],
    wait: Wait,
    quiet: bool,
    cancel: &Cancel,
) -> Result<(), Error> {
    // One live line per resource on a terminal, final lines in logs, nothing with --quiet.
    let mut display = crate::progress::Progress::stderr(quiet);
    let rows: Vec<usize> = ids.iter().map(|id| display.add(id.to_string())).collect();
    let mut progress = |id: &ResId, state: &str| {
        if let Some(i) = ids.iter().position(|x| x == id) {
            let status = if state == "ready" {
                crate::progress::Status::Done("ready".into())
            } else {
                crate::progress::Status::Running(state.to_string())
            };
            display.set(rows[i], status);
        }
    };
    let result = tokio::select! {
        r = apply::wait::until_ready(cluster, ids, wait.timeout, wait.jobs, &mut progress) => r.map_err(Error::from),
        _ = cancelled(cancel) => Err(ReleaseError::Interrupted.into()),
    };
    display.finish();
    result
}

impl ClusterAct<'_> {
    /// An interruption caused by losing the lock says so.
    fn explain(&self, e: Error) -> Error {
        match self.lock.check() {
            Err(lost) => lost.into(),
            Ok(()) => e,
        }
    }
}

impl Act for ClusterAct<'_> {
    async fn forward(&mut self, _rel: &Release) -> Result<(), Error> {
        self.lock.check()?;
        let outcome =
            execute(self.cluster, self.prepared, &self.apply, self.cancel).await.map_err(|e| self.explain(e.into()))?;
        report(&outcome, self.out);
        if let Some(w) = self.wait {
            let ids: Vec<ResId> = outcome.applied.iter().chain(&outcome.replaced).cloned().collect();
            wait_ready(self.cluster, &ids, w, self.quiet, self.cancel).await.map_err(|e| self.explain(e))?;
        }
        self.lock.check()?;
        Ok(())
    }

    async fn restore(&mut self, rel: &Release, failed: &Release) -> Result<(), Error> {
        writeln!(self.out, "--atomic: rolling back to the previous revision as revision {}", rel.revision).ok();
        let desired = manifest_ids(&rel.manifest);
        let prune: Vec<ResId> = manifest_ids(&failed.manifest)
            .into_iter()
            .filter(|(id, body)| !super::keep(body) && !desired.iter().any(|(d, _)| d.same_object(id)))
            .map(|(id, _)| id)
            .collect();
        let opts = PlanOptions { create_namespace: false, force_conflicts: self.apply.force_conflicts, prune };
        let plan = diff::plan(self.cluster, desired, &opts).await?;
        // Not interruptible: a half-restored release is worse than a finished restore.
        let outcome = apply::execute(self.cluster, &plan, &self.apply, &Cancel::default()).await?;
        report(&outcome, self.out);
        Ok(())
    }

    async fn remove(&mut self, _failed: &Release) -> Result<(), Error> {
        let mut created: Vec<ResId> =
            self.prepared.plan.changes.iter().filter(|c| c.action == Action::Create).map(|c| c.id.clone()).collect();
        let mut outcome = Outcome::default();
        apply::delete_all(self.cluster, &mut created, &self.apply, &Cancel::default(), &mut outcome).await?;
        writeln!(self.out, "--atomic: removed what the failed install created").ok();
        report(&outcome, self.out);
        Ok(())
    }
}
