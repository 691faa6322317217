//! `rollback NAME [REVISION]`: that revision's manifest applied again, as a new revision, with
//! the prune of what the release has and it lacks. Objects stored under a version the server no
//! longer serves are applied under the served one where the two share their schema (and it is
//! said), or the rollback is refused naming the removed version.

use super::act::{check_replacements, ActOptions};
use super::lifecycle::{previous, Draft};
use super::plan::manifest_ids;
use super::prepare::{self, Flags};
use super::session::{confirm, Recording, Session, Show};
use super::{store, versions, ReleaseError};
use crate::cluster::ConnectOptions;
use crate::error::Error;
use std::io::Write;

/// A rollback, as the command line asked for it.
#[derive(Debug, Clone)]
pub struct Rollback {
    pub name: String,
    /// None: the previous deployed revision.
    pub revision: Option<u32>,
    pub force_conflicts: bool,
    /// `--server-dry-run-all`.
    pub dry_run_all: bool,
    pub act: ActOptions,
    pub show: Show,
    pub record: Recording,
}

impl Rollback {
    pub async fn run(&self, conn: &ConnectOptions, out: &mut dyn Write) -> Result<u8, Error> {
        let s = Session::open(conn, &self.name, self.show.dry_run).await?;
        let store = s.store();
        let ledger = s.ledger(&store, self.record.history_max);
        let planned = ledger.load().await?;
        let (name, ns) = (self.name.as_str(), s.namespace());
        let target = match self.revision {
            Some(r) => store::revision(&planned, name, ns, Some(r))?,
            None if planned.is_empty() => store::revision(&planned, name, ns, None)?,
            None => previous(&planned).cloned().ok_or(ReleaseError::NoRollbackTarget { name: name.into() })?,
        };
        writeln!(
            out,
            "Rolling back release {name} to revision {} ({}, overlay {})",
            target.revision,
            target.status,
            target.overlay_label()
        )
        .ok();
        let mut manifest = Vec::with_capacity(target.manifest.len());
        let mut notes = Vec::new();
        for stored in &target.manifest {
            let (body, moved) = versions::served_body(&s.cluster, stored).await?;
            if let Some((from, to)) = moved {
                notes.push(format!(
                    "{}: stored as {}, which the server no longer serves: applied as {} (the same schema)",
                    crate::model::ResId::of(&body),
                    from.api_version(),
                    to.api_version()
                ));
            }
            manifest.push(body);
        }
        let flags = Flags { force_conflicts: self.force_conflicts, dry_run_all: self.dry_run_all, ..Flags::default() };
        let mut prepared = prepare::prepare(&s.cluster, name, manifest_ids(&manifest), &planned, &flags).await?;
        prepared.notes.extend(notes);
        if let Some(code) = s.show(&prepared, &self.show, out)? {
            return Ok(code);
        }
        check_replacements(&prepared.plan, self.act.force)?;
        if prepared.plan.has_changes()
            && !confirm(self.show.yes, &format!("Roll release {name} back to revision {}?", target.revision))?
        {
            writeln!(out, "nothing was changed").ok();
            return Ok(1);
        }
        let draft = Draft { manifest, ..Draft::rollback(&target, false) };
        let rel = s.deploy(&ledger, &planned, &self.record, draft, &prepared, self.act.clone(), out).await?;
        writeln!(out, "release {name} rolled back to revision {} (now revision {})", target.revision, rel.revision)
            .ok();
        Ok(0)
    }
}
