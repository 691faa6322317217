//! `uninstall`: deletes what the release's records list (never what merely carries its label),
//! each only while it still carries the release's label and is the object the release applied,
//! with a uid precondition; in reverse dependency order, PVCs and objects marked keep staying;
//! then its records (or, `--keep-history`, marks them uninstalled), under the lock.

use super::lifecycle::Ledger;
use super::lock::Lock;
use super::ownership::{self, Key, Recorded};
use super::record::{Release, Status};
use super::session::{confirm, repair, unlock, Session};
use super::store::SecretStore;
use super::survey::Found;
use super::{store, ReleaseError};
use crate::apply::{self, ApplyOptions, Doomed};
use crate::cluster::{Cluster, ConnectOptions, Propagation};
use crate::error::Error;
use crate::model::ResId;
use std::io::Write;
use std::time::Duration;

/// An uninstall, as the command line asked for it.
#[derive(Debug, Clone)]
pub struct Uninstall {
    pub name: String,
    pub cascade: Propagation,
    pub delete_data: bool,
    /// `--wait`: until everything deleted is gone, at most this long.
    pub wait: Option<Duration>,
    pub yes: bool,
    pub dry_run: bool,
    pub keep_history: bool,
    pub lock_duration: String,
}

/// What the records list, as found live.
#[derive(Default)]
struct Survey {
    doomed: Vec<Doomed>,
    /// Marked keep (`dimtensor.io/resource-policy: keep`).
    kept: Vec<ResId>,
    /// Not the release's to delete any more, and why.
    spared: Vec<(ResId, String)>,
}

impl Uninstall {
    pub async fn run(&self, conn: &ConnectOptions, out: &mut dyn Write) -> Result<u8, Error> {
        let s = Session::open(conn, &self.name, self.dry_run).await?;
        let store = s.store();
        let ledger = s.ledger(&store, 0);
        let planned = ledger.load().await?;
        let name = self.name.as_str();
        let latest = store::revision(&planned, name, s.namespace(), None)?;
        if latest.status == Status::Uninstalled && self.keep_history {
            return Err(ReleaseError::AlreadyUninstalled { name: name.into() }.into());
        }
        let mut survey = survey(&s.cluster, name, &planned).await?;
        for d in &survey.doomed {
            writeln!(out, "{} (delete)", d.id).ok();
        }
        for (id, why) in &survey.spared {
            writeln!(out, "{id}: not deleted: {why}").ok();
        }
        if self.dry_run {
            return Ok(1);
        }
        if !confirm(self.yes, &format!("Delete release {name} from namespace {}?", s.namespace()))? {
            writeln!(out, "nothing was changed").ok();
            return Ok(1);
        }
        let (lock, mut history) = s.take_lock(&ledger, &planned, &self.lock_duration).await?;
        let result = async {
            repair(&ledger, &mut history, out).await?;
            ledger.begin_uninstall(&mut history).await?;
            // From here on the latest revision says `uninstalling`: any stop names the way out.
            self.delete(&s, &lock, &mut survey, &mut history, &ledger, out)
                .await
                .map_err(|e| ReleaseError::UninstallStopped { name: name.into(), source: Box::new(e) })?;
            writeln!(out, "release {name} uninstalled").ok();
            Ok(0)
        }
        .await;
        unlock(lock, result).await
    }

    /// Deletes what the survey found, waits (`--wait`) until it is gone, then drops or marks the
    /// records.
    async fn delete(
        &self,
        s: &Session,
        lock: &Lock,
        survey: &mut Survey,
        history: &mut Vec<Release>,
        ledger: &Ledger<'_, SecretStore<'_>>,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let opts =
            ApplyOptions { delete_data: self.delete_data, cascade: Some(self.cascade), ..ApplyOptions::default() };
        let mut outcome = apply::Outcome::default();
        apply::delete_all(&s.cluster, &mut survey.doomed, &opts, &s.cancel, &mut outcome).await?;
        for id in &outcome.deleted {
            writeln!(out, "{id} deleted").ok();
        }
        for id in outcome.kept.iter().chain(&survey.kept) {
            writeln!(out, "{id} kept").ok();
        }
        for (id, why) in &outcome.spared {
            writeln!(out, "{id}: not deleted: it is no longer the object the release applied ({why})").ok();
        }
        if let Some(timeout) = self.wait {
            for id in &outcome.deleted {
                apply::wait::until_gone(&s.cluster, id, timeout, &s.cancel).await?;
            }
        }
        lock.check()?;
        ledger.finish_uninstall(history, self.keep_history).await?;
        Ok(())
    }
}

/// What the records list, sorted for deletion: the release's own go, objects marked keep stay,
/// what is not the release's any more is left and named.
async fn survey(cluster: &Cluster, name: &str, history: &[Release]) -> Result<Survey, Error> {
    let recorded = Recorded::from_history(history);
    let found = super::survey::survey(cluster, name, history).await?;
    let unserved = found.unserved.into_iter().map(|(id, why)| (id, format!("{why}: nothing to delete")));
    let mut out = Survey { spared: unserved.collect(), ..Survey::default() };
    for Found { id, stored, live } in found.found {
        if super::keep(&stored) || super::keep(&live) {
            out.kept.push(id);
            continue;
        }
        match ownership::deletable(&live, &Key::of(&id), &recorded, name, &cluster.namespace) {
            Ok(uid) => out.doomed.push(Doomed { id, uid: Some(uid) }),
            Err(why) => out.spared.push((id, why)),
        }
    }
    Ok(out)
}
