//! `handover`: prepares a release for a GitOps engine (Argo CD, Flux) that manages its objects
//! from now on. Nothing is deleted and the workloads keep running as they are. (Not to be
//! confused with `crate::apply::handover`, which moves a Deployment's `replicas` to an HPA.)
//!
//! Under the lock, each object the records list that is still the release's loses what marks it
//! as the release's, in one JSON patch guarded by a `test` of its resourceVersion
//! ([`ownership::handover_patch`]): this release's field manager entries, the release label and
//! the release-namespace annotation (metadata only: no selector or pod template changes, so no
//! rollout). Then the records go, then the lock's Lease. Afterwards no `uninstall` or prune can
//! reach the objects (no records list them, no label claims them), and a new install of any name
//! finds objects of no release, which only `--take-ownership` takes. Objects that are not the
//! release's any more are left as they are and named. A failure midway leaves the records: run
//! it again (what was handed over already is no longer the release's and is skipped).
//!
//! Last, it prints the `init` command that writes the equivalent Kustomize tree for the engine.

use super::lifecycle::{as_repaired, current};
use super::ownership::{self, Key, Recorded};
use super::session::{confirm, unlock, Session};
use super::survey::{self, Found};
use super::takeover::{self, Handed};
use super::{store, ReleaseError};
use crate::cluster::ConnectOptions;
use crate::error::Error;
use crate::model::ResId;
use std::io::Write;

/// A hand-over, as the command line asked for it.
#[derive(Debug, Clone)]
pub struct Handover {
    pub name: String,
    pub yes: bool,
    pub dry_run: bool,
    pub lock_duration: String,
}

impl Handover {
    pub async fn run(&self, conn: &ConnectOptions, out: &mut dyn Write) -> Result<u8, Error> {
        let s = Session::open(conn, &self.name, self.dry_run).await?;
        let (name, namespace) = (self.name.as_str(), s.namespace().to_string());
        let store = s.store();
        let ledger = s.ledger(&store, 0);
        let planned = ledger.load().await?;
        let latest = store::revision(&planned, name, &namespace, None)?;
        let repaired = as_repaired(&planned);
        let Some(deployed) = current(&repaired).cloned() else {
            return Err(ReleaseError::NotDeployed {
                name: name.into(),
                namespace,
                latest: format!("latest: revision {} {}", latest.revision, latest.status),
            }
            .into());
        };
        let recorded = Recorded::from_history(&planned);
        let found = survey::survey(&s.cluster, name, &planned).await?;
        let mut mine = Vec::new();
        let mut left: Vec<(ResId, String)> = found.unserved;
        for f in found.found {
            match ownership::deletable(&f.live, &Key::of(&f.id), &recorded, name, &namespace) {
                Ok(_) => mine.push(f),
                Err(why) => left.push((f.id, why)),
            }
        }
        for f in &mine {
            writeln!(out, "{} (hand over)", f.id).ok();
        }
        for (id, why) in &left {
            writeln!(out, "{id}: left alone: {why}").ok();
        }
        writeln!(out, "release records: {} revision(s) (delete)", planned.len()).ok();
        let (init, withheld) =
            crate::gitops::eject::init_command(name, &namespace, deployed.overlay.as_deref(), &deployed.values);
        if self.dry_run {
            return Ok(1);
        }
        let question = format!(
            "Hand release {name} in namespace {namespace} over (its objects stay as they are; its records, field manager and label go)?"
        );
        if !confirm(self.yes, &question)? {
            writeln!(out, "nothing was changed").ok();
            return Ok(1);
        }
        let (lock, mut history) = s.take_lock(&ledger, &planned, &self.lock_duration).await?;
        let result = async {
            let still = |id: &ResId| {
                let (key, recorded, namespace) = (Key::of(id), &recorded, &namespace);
                move |live: &serde_json::Value| ownership::deletable(live, &key, recorded, name, namespace).map(|_| ())
            };
            let handed = mine.into_iter().map(|Found { id, live, .. }| async {
                let outcome = takeover::hand_over(&s.cluster, &id, name, live, still(&id)).await;
                (id, outcome)
            });
            let mut failed = None;
            for (id, outcome) in futures::future::join_all(handed).await {
                match outcome {
                    Ok(Handed::Over) => writeln!(out, "{id} handed over").ok(),
                    Ok(Handed::Left(why)) => writeln!(out, "{id}: left alone: {why}").ok(),
                    Ok(Handed::Gone) => writeln!(out, "{id}: deleted meanwhile").ok(),
                    Err(e) => {
                        writeln!(out, "{id}: not handed over: {e}").ok();
                        failed = failed.or(Some(e));
                        None
                    }
                };
            }
            if let Some(e) = failed {
                return Err(e);
            }
            if s.cancel.is_cancelled() {
                return Err(ReleaseError::Interrupted.into());
            }
            lock.check()?;
            ledger.finish_uninstall(&mut history, false).await?;
            Ok(())
        }
        .await;
        unlock(lock, result).await?;
        writeln!(out, "release {name} handed over: its records and lock are gone, its objects belong to no release")
            .ok();
        writeln!(out, "\nWrite the equivalent Kustomize tree for Argo CD or Flux with:\n\n{init}\n").ok();
        if !withheld.is_empty() {
            writeln!(
                out,
                "The release's Secret values ({}) are not printed: give them to init in a values file of your own, with --secrets-file.",
                withheld.join(", ")
            )
            .ok();
        }
        Ok(0)
    }
}
