//! `upgrade`: the values as Helm takes them ([`Reuse`]), rendered and planned against the
//! deployed revision (prune of what the render lacks, only what is still the release's), shown,
//! confirmed, then recorded as revision n+1 and applied under the lock. Nothing to change and
//! nothing new: no revision (but `--wait` still waits on every object of the deployed one).
//! With `--install` and nothing deployed, an [`Install`].

use super::act::{check_replacements, move_ownership, wait_ready, ActOptions};
use super::inputs::{self, Reuse};
use super::install::Install;
use super::lifecycle::{as_repaired, current, installs, needs_repair, Draft, Op};
use super::notes;
use super::prepare::{self, Flags};
use super::record::Status;
use super::session::{confirm, repair, unlock, Recording, Session, Show};
use super::ReleaseError;
use crate::cluster::ConnectOptions;
use crate::error::Error;
use crate::values::UserValues;
use std::io::Write;

/// An upgrade, as the command line asked for it.
#[derive(Debug, Clone)]
pub struct Upgrade {
    pub name: String,
    /// A new overlay (None: the stored one).
    pub overlay: Option<String>,
    pub values: UserValues,
    /// How the given values meet the stored ones (`--reuse-values` and the like).
    pub reuse: Reuse,
    /// `--install`: install when nothing is deployed.
    pub install: bool,
    pub plan: Flags,
    pub act: ActOptions,
    pub show: Show,
    pub record: Recording,
}

impl Upgrade {
    pub async fn run(&self, conn: &ConnectOptions, out: &mut dyn Write) -> Result<u8, Error> {
        let s = Session::open(conn, &self.name, self.show.dry_run).await?;
        let store = s.store();
        let ledger = s.ledger(&store, self.record.history_max);
        let planned = ledger.load().await?;
        let (name, namespace) = (self.name.clone(), s.namespace().to_string());
        if installs(&as_repaired(&planned), Some(self.install), &name, &namespace)? {
            return self.as_install().install(&s, &ledger, &planned, out).await;
        }
        let Some(stored) = current(&planned) else {
            let latest = planned.last().map(|l| format!("latest: revision {} {}", l.revision, l.status));
            return Err(ReleaseError::NotDeployed { name, namespace, latest: latest.unwrap_or_default() }.into());
        };
        let inputs = inputs::resolve(self.overlay.clone(), self.values.clone(), Some(stored), self.reuse, &planned)?;
        let (desired, defaults) = s.desired(&inputs).await?;
        let prepared = prepare::prepare(&s.cluster, &self.name, desired, &planned, &self.plan).await?;
        if let Some(code) = s.show(&prepared, &self.show, out)? {
            return Ok(code);
        }
        check_replacements(&prepared.plan, self.act.force)?;
        let overlay = inputs::overlay_for_record(inputs.overlay.as_deref());
        let latest_is_current = planned.last().is_some_and(|l| l.status == Status::Deployed);
        let same =
            stored.overlay == overlay && stored.values == inputs.values.tree && stored.manifest == prepared.manifest;
        if latest_is_current && same && !prepared.plan.has_changes() {
            let revision = stored.revision;
            if needs_repair(&planned) || !prepared.takeovers.is_empty() {
                // An earlier operation stopped before superseding, or objects are still under the
                // shared manager: fix the records, move the ownership; no revision for that.
                let (lock, mut history) = s.take_lock(&ledger, &planned, &self.record.lock_duration).await?;
                let fixed = async {
                    repair(&ledger, &mut history, out).await?;
                    move_ownership(&s.cluster, &prepared).await
                };
                unlock(lock, fixed.await).await?;
                if !prepared.takeovers.is_empty() {
                    let n = prepared.takeovers.len();
                    writeln!(out, "release {name}: {n} object(s) moved to field manager {}", prepared.manager).ok();
                }
            }
            if let Some(w) = self.act.wait {
                // Nothing to apply, but `--wait` still means: exit 0 only once it is all ready.
                let ready = wait_ready(&s.cluster, &prepared.revision_ids(), w, self.act.quiet, &s.cancel).await;
                ready.map_err(|e| ReleaseError::NotReady { name: name.clone(), revision, source: Box::new(e) })?;
            }
            writeln!(out, "release {name}: nothing to change (revision {revision} stays deployed)").ok();
            return Ok(0);
        }
        if prepared.plan.has_changes()
            && !confirm(self.show.yes, &format!("Apply these changes to release {name} in namespace {namespace}?"))?
        {
            writeln!(out, "nothing was changed").ok();
            return Ok(1);
        }
        if s.cancel.is_cancelled() {
            return Err(ReleaseError::Interrupted.into());
        }
        if self.plan.create_namespace && s.cluster.ensure_namespace(&namespace).await? && !self.act.quiet {
            eprintln!("created namespace {namespace}");
        }
        let manifest = prepared.manifest.clone();
        let checksum_key = Some(inputs.checksum_key.to_record());
        let values = inputs.values.tree.clone();
        let draft = Draft { op: Op::Upgrade, overlay, values, defaults, manifest, checksum_key };
        let rel = s.deploy(&ledger, &planned, &self.record, draft, &prepared, self.act.clone(), out).await?;
        writeln!(out, "release {name} upgraded (revision {})", rel.revision).ok();
        writeln!(out, "\n{}", notes::notes(&name, &namespace, &rel.manifest)).ok();
        Ok(0)
    }

    /// `upgrade --install` of a release with nothing deployed: an install with these inputs.
    fn as_install(&self) -> Install {
        Install {
            name: self.name.clone(),
            overlay: self.overlay.clone(),
            values: self.values.clone(),
            plan: self.plan.clone(),
            act: self.act.clone(),
            show: self.show,
            record: self.record.clone(),
            remove_helm_history: false,
        }
    }
}
