//! `diff`: what install or upgrade would change (the values as upgrade takes them, with the
//! same `--reuse-values` family of flags, planned exactly as they would plan), and drift since
//! the current revision.
//! Writes nothing: no lock, no record.

use super::inputs::{self, Reuse};
use super::lifecycle::{current, installable};
use super::ownership::Allow;
use super::prepare::{self, Flags};
use super::session::Session;
use super::{drift, store::Store};
use crate::cluster::ConnectOptions;
use crate::diff::external;
use crate::diff::output::{self, ColorChoice, Format, View};
use crate::diff::PlanError;
use crate::error::Error;
use crate::values::UserValues;
use std::io::Write;

/// A diff, as the command line asked for it.
#[derive(Debug, Clone)]
pub struct Preview {
    pub name: String,
    pub overlay: Option<String>,
    pub values: UserValues,
    /// For an installed release: how the values given meet the stored ones (as `upgrade`).
    pub reuse: Reuse,
    pub create_namespace: bool,
    pub force_conflicts: bool,
    /// `--server-dry-run-all`.
    pub dry_run_all: bool,
    pub format: Format,
    pub color: ColorChoice,
    /// `--context`.
    pub context: usize,
    /// `KUBECTL_EXTERNAL_DIFF`: the program that shows each object's diff instead.
    pub external: Option<String>,
}

impl Preview {
    /// Exit 0 when nothing would change, 1 when something would.
    pub async fn run(&self, conn: &ConnectOptions, out: &mut dyn Write) -> Result<u8, Error> {
        let s = Session::open(conn, &self.name, true).await?;
        let history = s.store().history(&self.name).await?;
        let stored = if installable(&history) { None } else { current(&history).or(history.last()) };
        let inputs = inputs::resolve(self.overlay.clone(), self.values.clone(), stored, self.reuse, &history)?;
        let (desired, _) = s.desired(&inputs).await?;
        // What install and upgrade would do with the flags that allow the most: the plan shows
        // what they would take over (and `install` says which flag it needs).
        let mut flags = Flags {
            create_namespace: self.create_namespace,
            force_conflicts: self.force_conflicts,
            allow: Allow { adopt: true, take_ownership: true },
            dry_run_all: self.dry_run_all,
        };
        // Fields someone else took over (drift, often) conflict: show the plan that takes them
        // back, and say that applying it needs --force-conflicts.
        // (Rendered again for the rare retry rather than copied up front for it.)
        let (prepared, conflict) = match prepare::prepare(&s.cluster, &self.name, desired, &history, &flags).await {
            Err(Error::Plan(PlanError::Cluster(e))) if e.code() == Some(409) && !flags.force_conflicts => {
                flags.force_conflicts = true;
                let (desired, _) = s.desired(&inputs).await?;
                (prepare::prepare(&s.cluster, &self.name, desired, &history, &flags).await?, Some(e))
            }
            other => (other?, None),
        };
        let drifts = match current(&history) {
            Some(cur) => {
                let found =
                    drift::detect(&s.cluster, cur, &prepared.plan, &prepared.live, &prepared.manager, &prepared.known);
                let found = found.await?;
                Some((cur.revision, found))
            }
            None => None,
        };
        let d = drifts.as_ref().map(|(rev, d)| (*rev, d.as_slice()));
        let external = self.external.as_deref().filter(|_| self.format == Format::Simple);
        if let Some(command) = external {
            out.flush().map_err(|source| Error::Io { context: "writing output".into(), source })?;
            external::run(command, &prepared.plan)?;
        }
        let color = output::use_color(self.color);
        let view = View { format: self.format, color, context: self.context, objects: external.is_none() };
        prepare::print(&prepared, &view, d, out)?;
        if let Some(e) = conflict {
            eprintln!("note: applying this needs --force-conflicts: {e}");
        }
        let drifted = drifts.is_some_and(|(_, d)| !d.is_empty());
        Ok(u8::from(prepared.plan.has_changes() || drifted))
    }
}
