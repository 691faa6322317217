//! The record flow of one operation, apart from the cluster work it records (Helm's
//! `pkg/action` keeps the same split): write the new revision as pending *before* acting, act,
//! then mark it deployed (superseding the previous one) or failed. [`perform`] drives it; an
//! [`Act`] does the cluster work, so every row of the lifecycle table in [`super`] is testable
//! with the in-memory store and a fake act.

use super::record::{self, Release, Status};
use super::store::{Store, StoreError};
use super::ReleaseError;
use crate::error::Error;
use serde_json::Value;

/// What kind of operation writes a revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Install,
    Upgrade,
    /// Re-applies an earlier revision's manifest; `auto` when `--atomic` did it.
    Rollback {
        to: u32,
        auto: bool,
    },
}

impl Op {
    fn pending(self) -> Status {
        match self {
            Op::Install => Status::PendingInstall,
            Op::Upgrade => Status::PendingUpgrade,
            Op::Rollback { .. } => Status::PendingRollback,
        }
    }
    fn word(self) -> String {
        match self {
            Op::Install => "Install".into(),
            Op::Upgrade => "Upgrade".into(),
            Op::Rollback { to, auto: false } => format!("Rollback to {to}"),
            Op::Rollback { to, auto: true } => format!("Rollback to {to} (--atomic)"),
        }
    }
}

/// The inputs and output of a revision about to be written.
#[derive(Debug, Clone)]
pub struct Draft {
    pub op: Op,
    pub overlay: Option<String>,
    pub values: Value,
    /// The values under `values` (see [`Release::defaults`]).
    pub defaults: Value,
    pub manifest: Vec<Value>,
    /// The checksum key the manifest was rendered with; `None` keeps the release's.
    pub checksum_key: Option<String>,
}

impl Draft {
    /// Re-applying `target` as a new revision.
    pub fn rollback(target: &Release, auto: bool) -> Draft {
        Draft {
            op: Op::Rollback { to: target.revision, auto },
            overlay: target.overlay.clone(),
            values: target.values.clone(),
            defaults: target.defaults.clone(),
            manifest: target.manifest.clone(),
            checksum_key: None,
        }
    }
}

/// The release's checksum key: the newest revision's (keys are carried from one to the next).
pub fn checksum_key(history: &[Release]) -> Option<String> {
    history.iter().rev().find_map(|r| r.checksum_key.clone())
}

/// The latest deployed revision: what the cluster is meant to look like now.
pub fn current(history: &[Release]) -> Option<&Release> {
    history.iter().rev().find(|r| r.status == Status::Deployed)
}

/// Whether `install` may (re)use the name: nothing recorded, uninstalled, or never deployed.
pub fn installable(history: &[Release]) -> bool {
    match history.last() {
        None => true,
        Some(l) if l.status == Status::Uninstalled => true,
        Some(_) => history.iter().all(|r| matches!(r.status, Status::Failed | Status::Uninstalled)),
    }
}

/// An uninstall that stopped before it finished: the newest `uninstalling` revision with no
/// deployed revision after it.
pub fn interrupted_uninstall(history: &[Release]) -> Option<&Release> {
    let newest_deployed = current(history).map_or(0, |r| r.revision);
    history.iter().rev().find(|r| r.status == Status::Uninstalling && r.revision > newest_deployed)
}

/// Whether `install` (`upgrade: None`) or `upgrade` (`Some(--install)`) installs (true) or
/// upgrades (false), given the history as repaired ([`as_repaired`]); or why it may not, naming
/// the command that gets the user out.
pub fn installs(history: &[Release], upgrade: Option<bool>, name: &str, namespace: &str) -> Result<bool, ReleaseError> {
    let (name, namespace) = (name.to_string(), namespace.to_string());
    if let Some(r) = interrupted_uninstall(history) {
        return Err(ReleaseError::Uninstalling { name, namespace, revision: r.revision });
    }
    let latest = || match history.last() {
        Some(l) => format!("latest: revision {} {}", l.revision, l.status),
        None => "no revisions".to_string(),
    };
    match upgrade {
        None if installable(history) => Ok(true),
        None => {
            let (revision, status) = history.last().map(|l| (l.revision, l.status)).unwrap_or((0, Status::Deployed));
            Err(ReleaseError::AlreadyInstalled { name, namespace, revision, status })
        }
        Some(true) if installable(history) => Ok(true),
        Some(false) if history.is_empty() => Err(ReleaseError::NotInstalled { name, namespace }),
        Some(_) if installable(history) || current(history).is_none() => {
            Err(ReleaseError::NotDeployed { name, namespace, latest: latest() })
        }
        Some(_) => Ok(false),
    }
}

/// `rollback NAME` without a revision: the newest revision before the latest that was deployed.
pub fn previous(history: &[Release]) -> Option<&Release> {
    let latest = history.last()?.revision;
    history.iter().rev().find(|r| r.revision < latest && r.status.was_deployed())
}

/// History as [`Ledger::repair`] leaves it once the lock is held. Decisions made before taking
/// the lock (install or upgrade?) must not trip over a pending revision whose operation died:
/// a first install left `pending-install` is installed again, not refused.
pub fn as_repaired(history: &[Release]) -> Vec<Release> {
    let newest_deployed = current(history).map(|r| r.revision);
    let mut view = history.to_vec();
    for r in &mut view {
        if let Some(status) = repaired_status(r, newest_deployed) {
            r.status = status;
        }
    }
    view
}

/// Whether [`Ledger::repair`] would change anything.
pub fn needs_repair(history: &[Release]) -> bool {
    let newest_deployed = current(history).map(|r| r.revision);
    history.iter().any(|r| repaired_status(r, newest_deployed).is_some())
}

/// What [`Ledger::repair`] makes of a revision: pending ones failed, older deployed superseded,
/// and an `uninstalling` one below a later deployed revision superseded too (its uninstall
/// stopped, and the release was deployed again since).
fn repaired_status(r: &Release, newest_deployed: Option<u32>) -> Option<Status> {
    let below_deployed = newest_deployed.is_some_and(|d| d > r.revision);
    match r.status {
        s if s.is_pending() => Some(Status::Failed),
        Status::Deployed if Some(r.revision) != newest_deployed => Some(Status::Superseded),
        Status::Uninstalling if below_deployed => Some(Status::Superseded),
        _ => None,
    }
}

/// Records of one release, written under its lock.
pub struct Ledger<'s, S: Store> {
    pub store: &'s S,
    pub name: String,
    pub namespace: String,
    /// Revisions kept; 0 keeps all.
    pub history_max: usize,
}

impl<S: Store> Ledger<'_, S> {
    pub async fn load(&self) -> Result<Vec<Release>, StoreError> {
        self.store.history(&self.name).await
    }

    /// Under the lock, a pending revision belongs to an operation that stopped (its process died
    /// or lost the connection): it is marked failed. Of several deployed, the newest stays.
    pub async fn repair(&self, history: &mut [Release]) -> Result<Vec<u32>, StoreError> {
        let newest_deployed = current(history).map(|r| r.revision);
        let mut repaired = Vec::new();
        for r in history.iter_mut() {
            let Some(status) = repaired_status(r, newest_deployed) else { continue };
            if r.status.is_pending() {
                let what = r.description.trim_end_matches(" in progress").to_string();
                r.description = format!(
                    "{what} abandoned: its operation stopped while {} (marked failed by the next one)",
                    r.status
                );
            } else if r.status == Status::Uninstalling {
                r.description = "Deletion abandoned: its uninstall stopped, and a later revision was deployed".into();
            }
            r.status = status;
            self.store.update(r).await?;
            repaired.push(r.revision);
        }
        Ok(repaired)
    }

    /// Writes revision n+1 as pending, before anything is applied.
    pub async fn begin(&self, history: &[Release], draft: Draft) -> Result<Release, StoreError> {
        let now = record::now();
        let mut rel = Release {
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            revision: history.iter().map(|r| r.revision).max().unwrap_or(0) + 1,
            status: draft.op.pending(),
            overlay: draft.overlay,
            values: draft.values,
            defaults: draft.defaults,
            manifest: draft.manifest,
            first_deployed: history.first().map(|r| r.first_deployed.clone()).unwrap_or_else(|| now.clone()),
            last_deployed: now,
            description: format!("{} in progress", draft.op.word()),
            version: env!("CARGO_PKG_VERSION").to_string(),
            uids: Default::default(),
            checksum_key: draft.checksum_key.or_else(|| checksum_key(history)),
            stamps: None,
            resource_version: None,
        };
        self.store.create(&mut rel).await?;
        Ok(rel)
    }

    /// Marks `rel` deployed and every other deployed revision superseded.
    pub async fn succeed(&self, rel: &mut Release, history: &mut [Release]) -> Result<(), StoreError> {
        rel.status = Status::Deployed;
        rel.last_deployed = record::now();
        rel.description = rel.description.replace(" in progress", " complete");
        self.store.update(rel).await?;
        replace(history, rel);
        let replaced = |r: &Release| matches!(r.status, Status::Deployed | Status::Uninstalling);
        for r in history.iter_mut().filter(|r| replaced(r) && r.revision != rel.revision) {
            if r.status == Status::Uninstalling {
                r.description = "Deletion abandoned: its uninstall stopped, and a later revision was deployed".into();
            }
            r.status = Status::Superseded;
            self.store.update(r).await?;
        }
        Ok(())
    }

    pub async fn fail(&self, rel: &mut Release, why: &str, history: &mut [Release]) -> Result<(), StoreError> {
        rel.status = Status::Failed;
        rel.description = format!("{}: {}", rel.description.replace(" in progress", " failed"), short(why));
        self.store.update(rel).await?;
        replace(history, rel);
        Ok(())
    }

    /// Deletes the oldest revisions beyond `history_max` (never the deployed one). Best effort:
    /// what a failure leaves is trimmed after the next success.
    pub async fn trim(&self, history: &mut Vec<Release>) -> Result<(), StoreError> {
        if self.history_max == 0 {
            return Ok(());
        }
        while history.len() > self.history_max {
            let Some(pos) = history.iter().position(|r| r.status != Status::Deployed) else { break };
            let old = history.remove(pos);
            self.store.delete(&old).await?;
        }
        Ok(())
    }
}

impl<S: Store> Ledger<'_, S> {
    /// Uninstall, first step: the latest revision becomes `uninstalling` before anything goes.
    pub async fn begin_uninstall(&self, history: &mut [Release]) -> Result<(), StoreError> {
        let Some(latest) = history.last_mut() else { return Ok(()) };
        if latest.status != Status::Uninstalling {
            latest.status = Status::Uninstalling;
            latest.description = "Deletion in progress".into();
            self.store.update(latest).await?;
        }
        Ok(())
    }

    /// Uninstall, last step: drop every record, or with `keep` mark the latest `uninstalled`
    /// (oldest first, so a failure midway leaves the latest `uninstalling` to say so).
    pub async fn finish_uninstall(&self, history: &mut Vec<Release>, keep: bool) -> Result<(), StoreError> {
        if !keep {
            while let Some(r) = history.first().cloned() {
                self.store.delete(&r).await?;
                history.remove(0);
            }
            return Ok(());
        }
        let last = history.len().saturating_sub(1);
        for (i, r) in history.iter_mut().enumerate() {
            let next = if i == last {
                Status::Uninstalled
            } else if r.status == Status::Deployed {
                Status::Superseded
            } else {
                continue;
            };
            r.status = next;
            if i == last {
                r.description = "Uninstallation complete".into();
            }
            self.store.update(r).await?;
        }
        Ok(())
    }
}

fn replace(history: &mut [Release], rel: &Release) {
    if let Some(slot) = history.iter_mut().find(|r| r.revision == rel.revision) {
        *slot = rel.clone();
    }
}

/// A description fits one line of `history`.
fn short(why: &str) -> String {
    let line = why.lines().next().unwrap_or("").trim();
    if line.chars().count() > 300 {
        format!("{}...", line.chars().take(300).collect::<String>())
    } else {
        line.to_string()
    }
}

/// The cluster work an operation records.
#[allow(async_fn_in_trait)] // concrete types only
pub trait Act {
    /// Applies the revision (and waits, when asked).
    async fn forward(&mut self, rel: &Release) -> Result<(), Error>;
    /// `--atomic`: re-applies `rel` (an earlier revision's manifest) and removes what `failed` added.
    async fn restore(&mut self, rel: &Release, failed: &Release) -> Result<(), Error>;
    /// `--atomic` on a first install: removes what `forward` created.
    async fn remove(&mut self, failed: &Release) -> Result<(), Error>;
    /// What acting learned that the record must keep, applied before the revision is marked
    /// deployed or failed: each object's uid, and objects that turned out not to be the
    /// release's (they leave the manifest).
    fn settle(&self, _rel: &mut Release) {}
}

fn interrupted(e: &Error) -> bool {
    use crate::apply::{wait::WaitError, ApplyError};
    matches!(
        e,
        Error::Apply(ApplyError::Interrupted { .. } | ApplyError::Wait(WaitError::Interrupted { .. }))
            | Error::Wait(WaitError::Interrupted { .. })
            | Error::Release(ReleaseError::Interrupted)
    )
}

/// Records and runs one operation: pending record, act, deployed or failed (and, with `atomic`,
/// the rollback as a revision of its own). Returns the deployed revision.
pub async fn perform<S: Store, A: Act>(
    ledger: &Ledger<'_, S>,
    history: &mut Vec<Release>,
    draft: Draft,
    act: &mut A,
    atomic: bool,
) -> Result<Release, ReleaseError> {
    let mut rel = ledger.begin(history, draft).await?;
    history.push(rel.clone());
    let forward = act.forward(&rel).await;
    act.settle(&mut rel);
    let err = match forward {
        Ok(()) => {
            return match ledger.succeed(&mut rel, history).await {
                Ok(()) => {
                    let _ = ledger.trim(history).await;
                    Ok(rel)
                }
                Err(source) => Err(ReleaseError::Finalize { name: rel.name.clone(), revision: rel.revision, source }),
            }
        }
        Err(e) => e,
    };
    let mut after = Vec::new();
    if let Err(e) = ledger.fail(&mut rel, &err.to_string(), history).await {
        after.push(format!(
            "it could not be marked failed ({e}) and stays {} until the next upgrade or rollback repairs it",
            rel.status
        ));
    }
    if atomic && !interrupted(&err) {
        let target = current(history).filter(|t| t.revision != rel.revision).cloned();
        match target {
            Some(t) => after.push(roll_back(ledger, history, &t, &rel, act).await),
            None => after.push(match act.remove(&rel).await {
                Ok(()) => "--atomic removed the objects it created".to_string(),
                Err(e) => format!("--atomic could not remove the objects it created: {e}"),
            }),
        }
    }
    Err(ReleaseError::Failed {
        name: ledger.name.clone(),
        revision: rel.revision,
        source: Box::new(err),
        after: after.join("; "),
        deployed: current(history).map(|r| r.revision),
    })
}

/// `--atomic` after a failed upgrade: `target` again, as a revision of its own. Says what happened.
async fn roll_back<S: Store, A: Act>(
    ledger: &Ledger<'_, S>,
    history: &mut Vec<Release>,
    target: &Release,
    failed: &Release,
    act: &mut A,
) -> String {
    let mut rb = match ledger.begin(history, Draft::rollback(target, true)).await {
        Ok(rb) => rb,
        Err(e) => return format!("--atomic could not record the rollback to revision {}: {e}", target.revision),
    };
    history.push(rb.clone());
    let restored = act.restore(&rb, failed).await;
    act.settle(&mut rb);
    match restored {
        Ok(()) => match ledger.succeed(&mut rb, history).await {
            Ok(()) => {
                let _ = ledger.trim(history).await;
                format!("rolled back to revision {} as revision {}", target.revision, rb.revision)
            }
            Err(e) => format!(
                "rolled back to revision {} as revision {}, but recording it failed: {e}",
                target.revision, rb.revision
            ),
        },
        Err(e) => {
            let _ = ledger.fail(&mut rb, &e.to_string(), history).await;
            format!("rolling back to revision {} failed too (revision {}): {e}", target.revision, rb.revision)
        }
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
