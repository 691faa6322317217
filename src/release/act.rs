//! The cluster work an install, upgrade or rollback records: move ownership of what the release
//! takes over, apply the prepared plan (taken-over objects with force), let go of what turned out
//! to be someone else's, wait when asked, prune after the rollout, and for `--atomic` restore or
//! remove. Stops at the next step on Ctrl-C or when the lock is lost. What it learns (uids,
//! objects not the release's) goes into the revision's record ([`Act::settle`]).
//!
//! Prunes run after the rollout: the pods of the revision before may still read a ConfigMap or
//! Secret the new render drops or renames (the chart's old `dimtensor` names). Without `--wait`
//! the Deployments' rollout is still awaited (at most `--timeout`) before such a delete. An HPA
//! handing `replicas` back is the exception: it goes first ([`crate::apply::handover`]).

use super::lifecycle::Act;
use super::lock::Lock;
use super::ownership::{self, Key};
use super::plan::{manifest_ids, prune};
use super::prepare::{self, Prepared};
use super::record::Release;
use super::stamp::Stamp;
use super::{takeover, ReleaseError};
use crate::apply::wait::Rules;
use crate::apply::{self, ApplyError, ApplyOptions, Cancel, Doomed, Outcome};
use crate::cluster::Cluster;
use crate::diff::{Action, Change, Plan};
use crate::error::Error;
use crate::model::ResId;
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::time::Duration;

/// `--wait` / `--wait-for-jobs`.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    pub timeout: Duration,
    pub jobs: bool,
}

/// The flags install, upgrade and rollback share for applying a plan.
#[derive(Debug, Clone, Default)]
pub struct ActOptions {
    /// Allows replacing objects whose immutable fields changed.
    pub force: bool,
    pub delete_data: bool,
    pub wait: Option<Wait>,
    /// `--timeout`: bounds the rollout a deferred prune waits for without `--wait`, and how long
    /// an object being deleted may take to go before it is made again (with or without `--wait`).
    pub timeout: Duration,
    pub quiet: bool,
}

pub struct ClusterAct<'a> {
    pub cluster: &'a Cluster,
    pub prepared: &'a Prepared,
    pub opts: ActOptions,
    pub cancel: &'a Cancel,
    pub lock: &'a Lock,
    pub out: &'a mut dyn Write,
    /// Each object's uid as the server answered, by identity.
    uids: BTreeMap<String, String>,
    /// Objects the apply found instead of creating, someone else's: not the release's.
    not_ours: HashSet<Key>,
    /// Objects this operation created (what `--atomic` removes after a failed first install).
    created: Vec<Doomed>,
    /// The stamps of what this operation applied (the skip rule), by identity.
    stamps: BTreeMap<String, Stamp>,
}

impl<'a> ClusterAct<'a> {
    pub fn new(
        cluster: &'a Cluster,
        prepared: &'a Prepared,
        opts: ActOptions,
        cancel: &'a Cancel,
        lock: &'a Lock,
        out: &'a mut dyn Write,
    ) -> Self {
        let uids = prepared
            .plan
            .changes
            .iter()
            .filter(|c| c.action != Action::Delete)
            .filter_map(|c| Some((Key::of(&c.id).to_string(), c.uid.clone()?)))
            .collect();
        ClusterAct {
            cluster,
            prepared,
            opts,
            cancel,
            lock,
            out,
            uids,
            not_ours: HashSet::new(),
            created: Vec::new(),
            stamps: BTreeMap::new(),
        }
    }

    fn apply_options(&self, p: &Prepared, force_conflicts: bool) -> ApplyOptions {
        ApplyOptions {
            manager: p.manager.clone(),
            force_conflicts,
            force: self.opts.force,
            delete_data: self.opts.delete_data,
            cascade: None,
            handover: p.handover.clone(),
            timeout: Some(self.opts.timeout),
        }
    }

    /// An interruption caused by losing the lock says so.
    fn explain(&self, e: Error) -> Error {
        match self.lock.check() {
            Err(lost) => lost.into(),
            Ok(()) => e,
        }
    }

    /// Applies `changes` of a prepared plan: ownership moved first for what the release takes
    /// over (checked again on the live object), then the rest, then the taken-over objects with
    /// force. What was done is learned also when a step fails.
    async fn execute(&mut self, p: &Prepared, changes: Vec<Change>, cancel: &Cancel) -> Result<Outcome, Error> {
        check_replacements(&p.plan, self.opts.force)?;
        move_ownership(self.cluster, p).await?;
        let forced: HashSet<&ResId> = p.adopted().collect();
        let (adopt, rest): (Vec<_>, Vec<_>) = changes.into_iter().partition(|c| forced.contains(&c.id));
        let mut outcome = Outcome::default();
        let plain = self.apply_options(p, p.flags.force_conflicts);
        let mut done = apply::execute(self.cluster, &Plan { changes: rest }, &plain, cancel, &mut outcome).await;
        if done.is_ok() && !adopt.is_empty() {
            let opts = self.apply_options(p, true);
            done = apply::execute(self.cluster, &Plan { changes: adopt }, &opts, cancel, &mut outcome).await;
        }
        if done.is_ok() {
            // Unchanged objects no record vouches for: a no-op apply each, for their stamps.
            let unstamped: Vec<&Change> =
                p.plan.changes.iter().filter(|c| c.action == Action::Unchanged && !c.skipped).collect();
            apply::touch(self.cluster, &unstamped, &plain, cancel, &mut outcome).await;
        }
        self.learn(p, &mut outcome).await?;
        done?;
        Ok(outcome)
    }

    /// Keeps the uids the server answered with, and lets go of objects the apply found where it
    /// planned to create them, when someone else made them meanwhile: they are left as that
    /// someone made them and are not recorded as the release's.
    async fn learn(&mut self, p: &Prepared, outcome: &mut Outcome) -> Result<(), Error> {
        for (id, uid) in &outcome.uids {
            self.uids.insert(Key::of(id).to_string(), uid.clone());
        }
        for (id, answer) in &outcome.answers {
            let body = p.plan.changes.iter().find(|c| &c.id == id).and_then(|c| c.body.as_ref());
            let key = Key::of(id).to_string();
            match body.and_then(|b| p.known.take(&p.manager, b, answer)) {
                Some(stamp) => self.stamps.insert(key, stamp),
                None => self.stamps.remove(&key),
            };
        }
        for (id, obj) in std::mem::take(&mut outcome.found) {
            if !ownership::made_by_someone_else(&obj, &p.manager) {
                outcome.applied.push(id);
                continue;
            }
            takeover::relinquish(self.cluster, &id, &p.manager).await?;
            eprintln!(
                "warning: {id} appeared while this operation ran (someone else created it): left as it was, not part of release {}",
                p.name
            );
            self.not_ours.insert(Key::of(&id));
        }
        let created = p.plan.changes.iter().filter(|c| c.action == Action::Create);
        for c in created.filter(|c| outcome.applied.contains(&c.id)) {
            let uid = self.uids.get(&Key::of(&c.id).to_string()).cloned();
            self.created.push(Doomed { id: c.id.clone(), uid });
        }
        Ok(())
    }
}

/// Moves field ownership of what the plan takes over (`--adopt`, `--take-ownership`) or still
/// finds under the shared legacy manager, into the release's entry, each checked again on the
/// live object first.
pub async fn move_ownership(cluster: &Cluster, p: &Prepared) -> Result<(), Error> {
    for (id, d) in &p.takeovers {
        let still = |live: &serde_json::Value| {
            ownership::disposition(id, live, &p.recorded, &p.name, &cluster.namespace, p.flags.allow)
        };
        takeover::take_over(cluster, id, &p.manager, *d, still).await?;
    }
    Ok(())
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
    for (id, why) in &outcome.spared {
        writeln!(out, "{id}: not deleted: it is no longer the object planned ({why})").ok();
    }
}

async fn cancelled(cancel: &Cancel) {
    while !cancel.is_cancelled() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for `ids` (every object of a revision), giving up on Ctrl-C.
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
        r = apply::wait::until_ready(cluster, ids, wait.timeout, Rules { jobs: wait.jobs, ..Rules::default() }, &mut progress) => r.map_err(Error::from),
        _ = cancelled(cancel) => Err(ReleaseError::Interrupted.into()),
    };
    display.finish();
    result
}

/// Whether a change is a prune that waits for the rollout (all but an HPA handing `replicas` back).
fn deferred(p: &Prepared, c: &Change) -> bool {
    c.action == Action::Delete && !p.handover.goes_first(&c.id)
}

impl ClusterAct<'_> {
    /// What to wait for before the deferred prunes `later`, and how long: with `--wait`, every
    /// object of the revision; without it, when a ConfigMap or Secret goes, the Deployments (changed now or by
    /// an earlier, interrupted attempt) within `--timeout`.
    fn rollout(&self, later: &[Change]) -> Option<(Vec<ResId>, Wait)> {
        if let Some(w) = self.opts.wait {
            // Every object of the revision, changed or not: a rerun with nothing to apply is
            // deployed only once what it records is ready (Helm waits on all of them too).
            let ids = self.prepared.revision_ids().into_iter().filter(|id| !self.not_ours.contains(&Key::of(id)));
            return Some((ids.collect(), w));
        }
        let data = |c: &Change| matches!(c.id.gvk.kind.as_str(), "ConfigMap" | "Secret");
        if !later.iter().any(data) {
            return None;
        }
        let changes = self.prepared.plan.changes.iter();
        let deployments = changes.filter(|c| c.id.gvk.kind == "Deployment" && c.action != Action::Delete);
        Some((deployments.map(|c| c.id.clone()).collect(), Wait { timeout: self.opts.timeout, jobs: false }))
    }
}

impl Act for ClusterAct<'_> {
    async fn forward(&mut self, _rel: &Release) -> Result<(), Error> {
        self.lock.check()?;
        let (prepared, cancel) = (self.prepared, self.cancel);
        let (later, now): (Vec<Change>, Vec<Change>) =
            prepared.plan.changes.iter().cloned().partition(|c| deferred(prepared, c));
        let outcome = self.execute(prepared, now, cancel).await.map_err(|e| self.explain(e))?;
        report(&outcome, self.out);
        if let Some((ids, w)) = self.rollout(&later).filter(|(ids, _)| !ids.is_empty()) {
            wait_ready(self.cluster, &ids, w, self.opts.quiet, cancel).await.map_err(|e| self.explain(e))?;
        }
        if !later.is_empty() {
            self.lock.check()?;
            let mut doomed: Vec<Doomed> = later.into_iter().map(|c| Doomed { id: c.id, uid: c.uid }).collect();
            let mut pruned = Outcome::default();
            let opts = self.apply_options(prepared, false);
            let done = apply::delete_all(self.cluster, &mut doomed, &opts, cancel, &mut pruned).await;
            report(&pruned, self.out);
            done.map_err(|e| self.explain(e.into()))?;
        }
        self.lock.check()?;
        Ok(())
    }

    async fn restore(&mut self, rel: &Release, failed: &Release) -> Result<(), Error> {
        writeln!(self.out, "--atomic: rolling back to the previous revision as revision {}", rel.revision).ok();
        let mut served = Vec::with_capacity(rel.manifest.len());
        for stored in &rel.manifest {
            served.push(super::versions::served_body(self.cluster, stored).await?.0);
        }
        let desired = manifest_ids(&served);
        let candidates = prune(&manifest_ids(&failed.manifest), &desired);
        let mut recorded = self.prepared.recorded.clone();
        recorded.add(failed);
        let p = self.prepared;
        let running = &failed.manifest;
        let known = p.known.without_stamps();
        let restore =
            prepare::plan_release(self.cluster, &p.name, desired, candidates, running, recorded, &p.flags, known)
                .await?;
        // Not interruptible (and pruning at once): a half-restored release is worse than a
        // finished restore.
        let changes = restore.plan.changes.clone();
        let outcome = self.execute(&restore, changes, &Cancel::default()).await?;
        report(&outcome, self.out);
        Ok(())
    }

    async fn remove(&mut self, _failed: &Release) -> Result<(), Error> {
        let mut created = self.created.clone();
        let mut outcome = Outcome::default();
        let opts = self.apply_options(self.prepared, false);
        apply::delete_all(self.cluster, &mut created, &opts, &Cancel::default(), &mut outcome).await?;
        writeln!(self.out, "--atomic: removed what the failed install created").ok();
        report(&outcome, self.out);
        Ok(())
    }

    fn settle(&self, rel: &mut Release) {
        rel.manifest.retain(|b| !self.not_ours.contains(&Key::of(&ResId::of(b))));
        let keys: HashSet<String> = rel.manifest.iter().map(|b| Key::of(&ResId::of(b)).to_string()).collect();
        rel.uids = self.uids.iter().filter(|(k, _)| keys.contains(*k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        // Fresh stamps from this operation's applies; for what it skipped, the stamp it trusted.
        let p = self.prepared;
        let carried = p.plan.changes.iter().filter(|c| c.skipped).filter_map(|c| {
            let key = Key::of(&c.id).to_string();
            Some((key, p.known.stamp(&c.id)?.clone()))
        });
        let mut objects: BTreeMap<String, Stamp> = carried.collect();
        objects.extend(self.stamps.iter().map(|(k, v)| (k.clone(), v.clone())));
        objects.retain(|k, _| keys.contains(k) && !self.not_ours.iter().any(|n| &n.to_string() == k));
        rel.stamps = Some(p.known.record(objects));
    }
}
