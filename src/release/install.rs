//! `install` (and `upgrade --install` of a release with no deployed revision): render, plan with
//! the ownership checks (`--adopt` for the Helm release of the same name, `--take-ownership` for
//! objects of no release), show, confirm, then record revision n+1 and apply it under the lock.
//! Allowed while nothing is deployed: no records, uninstalled with `--keep-history`, or never
//! deployed (every revision failed).

use super::act::{check_replacements, ActOptions};
use super::helm;
use super::inputs::{self, Reuse};
use super::lifecycle::{as_repaired, installs, Draft, Ledger, Op};
use super::notes;
use super::prepare::{self, Flags};
use super::record::Release;
use super::session::{confirm, Recording, Session, Show};
use super::store::SecretStore;
use super::ReleaseError;
use crate::cluster::ConnectOptions;
use crate::error::Error;
use crate::model::ResId;
use crate::values::UserValues;
use std::io::Write;

/// An install, as the command line asked for it.
#[derive(Debug, Clone)]
pub struct Install {
    pub name: String,
    pub overlay: Option<String>,
    pub values: UserValues,
    pub plan: Flags,
    pub act: ActOptions,
    pub show: Show,
    pub record: Recording,
    /// With `--adopt`: also delete Helm's release records.
    pub remove_helm_history: bool,
}

impl Install {
    pub async fn run(&self, conn: &ConnectOptions, out: &mut dyn Write) -> Result<u8, Error> {
        let s = Session::open(conn, &self.name, self.show.dry_run).await?;
        let store = s.store();
        let ledger = s.ledger(&store, self.record.history_max);
        let planned = ledger.load().await?;
        installs(&as_repaired(&planned), None, &self.name, s.namespace())?;
        self.install(&s, &ledger, &planned, out).await
    }

    /// The install itself, once the history allows it.
    pub(super) async fn install(
        &self,
        s: &Session,
        ledger: &Ledger<'_, SecretStore<'_>>,
        planned: &[Release],
        out: &mut dyn Write,
    ) -> Result<u8, Error> {
        let inputs = inputs::resolve(self.overlay.clone(), self.values.clone(), None, Reuse::Given, planned)?;
        let (desired, defaults) = s.desired(&inputs).await?;
        let rendered: Vec<ResId> = desired.iter().map(|(id, _)| id.clone()).collect();
        let mut prepared = prepare::prepare(&s.cluster, &self.name, desired, planned, &self.plan).await?;
        let leftovers = match self.plan.allow.adopt {
            true => helm::leftovers(&s.cluster, s.namespace(), &self.name, &rendered).await?.lines(&self.name),
            false => Vec::new(),
        };
        prepared.notes.extend(leftovers.iter().cloned());
        if let Some(code) = s.show(&prepared, &self.show, out)? {
            return Ok(code);
        }
        check_replacements(&prepared.plan, self.act.force)?;
        let ns = s.namespace().to_string();
        if prepared.plan.has_changes()
            && !confirm(self.show.yes, &format!("Apply these changes to release {} in namespace {ns}?", self.name))?
        {
            writeln!(out, "nothing was changed").ok();
            return Ok(1);
        }
        if s.cancel.is_cancelled() {
            return Err(ReleaseError::Interrupted.into());
        }
        if self.plan.create_namespace && s.cluster.ensure_namespace(&ns).await? && !self.act.quiet {
            eprintln!("created namespace {ns}");
        }
        let draft = Draft {
            op: Op::Install,
            overlay: inputs::overlay_for_record(inputs.overlay.as_deref()),
            values: inputs.values.tree.clone(),
            defaults,
            manifest: prepared.manifest.clone(),
            checksum_key: Some(inputs.checksum_key.to_record()),
        };
        let rel = s.deploy(ledger, planned, &self.record, draft, &prepared, self.act.clone(), out).await?;
        writeln!(out, "release {} installed (revision {})", self.name, rel.revision).ok();
        for line in &leftovers {
            writeln!(out, "{line}").ok();
        }
        if self.remove_helm_history {
            for secret in helm::remove_history(&s.cluster, &ns, &self.name).await? {
                writeln!(out, "Secret/{ns}/{secret} deleted (Helm release history)").ok();
            }
        }
        writeln!(out, "\n{}", notes::notes(&self.name, &ns, &rel.manifest)).ok();
        Ok(0)
    }
}
