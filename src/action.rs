//! The cluster verbs, each in two steps as in Helm's `pkg/action`: *prepare* reads the release's
//! history, renders and plans without writing anything; *perform* takes the release lock,
//! checks the history did not move meanwhile, and runs the recorded lifecycle
//! ([`crate::release::lifecycle`]). A `--dry-run`, a refused confirmation, a forbidden or invalid
//! plan stop between the two, with nothing written (not even the lock).
//! `uninstall` is in [`uninstall`], the read-only commands (history, status, list, get) in [`query`].

mod query;
mod uninstall;

pub use query::{get_cmd, history_cmd, list_cmd, status_cmd};
pub use uninstall::uninstall_cmd;

use crate::apply::{ApplyOptions, Cancel};
use crate::cli::{ClusterArgs, Global, InstallArgs, ReleaseFlags, RollbackArgs, UpgradeArgs};
use crate::cluster::{Cluster, ConnectOptions};
use crate::diff::output::{self, Format};
use crate::error::Error;
use crate::model::ResId;
use crate::release::act::{check_replacements, ClusterAct, Wait};
use crate::release::lifecycle::{self, current, installable, Draft, Ledger, Op};
use crate::release::lock::Lock;
use crate::release::prepare::{self, Flags, Prepared};
use crate::release::record::{Release, Status};
use crate::release::store::{self, SecretStore, Store};
use crate::release::{self, adopt, drift, inputs, plan, ReleaseError};
use crate::values::UserValues;
use crate::{diff, render, values};
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| Error::Io { context: "starting the async runtime".into(), source })
}

pub fn connect_options(g: &Global) -> Result<ConnectOptions, Error> {
    let request_timeout = match g.request_timeout.as_deref() {
        Some(t) => crate::cluster::parse_timeout(t).map_err(|m| Error::Usage(format!("--request-timeout: {m}")))?,
        None => None,
    };
    Ok(ConnectOptions {
        kubeconfig: g.kubeconfig.clone(),
        context: g.context.clone(),
        cluster: g.cluster.clone(),
        user: g.user.clone(),
        namespace: g.namespace.clone(),
        as_user: g.as_user.clone(),
        as_groups: g.as_group.clone(),
        request_timeout,
    })
}

async fn connect(global: &Global) -> Result<Arc<Cluster>, Error> {
    Ok(Arc::new(Cluster::connect(&connect_options(global)?).await?))
}

/// Starts an operation on release `name`: Ctrl-C handling, the connection, and (unless it only
/// plans) a check that no other operation holds the release's lock, before any work is done.
async fn begin(global: &Global, name: &str, dry_run: bool) -> Result<(Cancel, Arc<Cluster>), Error> {
    let cancel = Cancel::default();
    cancel.on_signals();
    let cluster = connect(global).await?;
    if !dry_run {
        Lock::ensure_free(&cluster, &cluster.namespace, name).await?;
    }
    Ok((cancel, cluster))
}

fn release_name(args: &ClusterArgs) -> String {
    args.name.clone().unwrap_or_else(|| render::CHART_NAME.to_string())
}

fn duration(flag: &str, s: &str, default: u64) -> Result<Duration, Error> {
    crate::cluster::parse_timeout(s)
        .map(|d| d.unwrap_or(Duration::from_secs(default)))
        .map_err(|m| Error::Usage(format!("{flag}: {m}")))
}

fn wait_opts(wait: bool, jobs: bool, timeout: &str) -> Result<Option<Wait>, Error> {
    Ok((wait || jobs).then_some(Wait { timeout: duration("--timeout", timeout, 300)?, jobs }))
}

/// The flags install, upgrade and rollback share for applying a plan.
struct ActFlags<'a> {
    force_conflicts: bool,
    force: bool,
    delete_data: bool,
    wait: bool,
    wait_for_jobs: bool,
    timeout: &'a str,
    quiet: bool,
}

impl ActFlags<'_> {
    fn act<'c>(
        &self,
        cluster: &'c Cluster,
        prepared: &'c Prepared,
        cancel: &'c Cancel,
        lock: &'c Lock,
        out: &'c mut dyn Write,
    ) -> Result<ClusterAct<'c>, Error> {
        let apply = ApplyOptions {
            force_conflicts: self.force_conflicts,
            force: self.force,
            delete_data: self.delete_data,
            cascade: None,
        };
        let wait = wait_opts(self.wait, self.wait_for_jobs, self.timeout)?;
        Ok(ClusterAct { cluster, prepared, apply, wait, quiet: self.quiet, cancel, lock, out })
    }
}

/// What an operation renders from: the overlay and the values.
struct Inputs {
    overlay: Option<String>,
    values: UserValues,
}

/// What the command line asks for, checked before any cluster is contacted (rendering needs
/// none): the overlay exists, the release name is valid, the values read. Returns the values.
fn given_inputs(args: &ClusterArgs) -> Result<UserValues, Error> {
    render::resolve_overlay(args.overlay.as_deref())?;
    render::check_release_name(&release_name(args))?;
    Ok(values::load(&args.values.input(), &mut std::io::stdin())?)
}

/// New inputs, or (`stored`) the stored ones with the new `given` over them.
fn inputs(args: &ClusterArgs, given: UserValues, stored: Option<&Release>, reset: bool) -> Result<Inputs, Error> {
    let Some(stored) = stored else { return Ok(Inputs { overlay: args.overlay.clone(), values: given }) };
    let overlay = args.overlay.clone().or_else(|| stored.overlay.clone());
    if reset {
        return Ok(Inputs { overlay, values: given });
    }
    let origin = format!("release {} revision {}", stored.name, stored.revision);
    let base = inputs::load_stored(&stored.values, &origin).map_err(|source| ReleaseError::StoredValues {
        name: stored.name.clone(),
        revision: stored.revision,
        source,
    })?;
    Ok(Inputs { overlay, values: inputs::combine(&base, &given) })
}

/// Renders the release's objects, stamped as its own, placed in its namespace.
async fn desired(cluster: &Cluster, name: &str, inputs: &Inputs) -> Result<Vec<(ResId, Value)>, Error> {
    let req = render::Request {
        overlay: inputs.overlay.clone(),
        release: Some(name.to_string()),
        namespace: None,
        values: inputs.values.clone(),
    };
    let objects = render::render(&req)?
        .resources
        .into_iter()
        .map(|r| {
            let mut body = r.into_body();
            release::stamp(&mut body, name, &cluster.namespace);
            body
        })
        .collect();
    Ok(diff::place(cluster, objects).await?)
}

/// Asks before changing anything: `--yes` skips the question; without a terminal we refuse.
fn confirm(yes: bool, question: &str) -> Result<bool, Error> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Refused(format!("{question} needs confirmation, and stdin is not a terminal: pass --yes to go ahead without asking (nothing was changed)")));
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|source| Error::Io { context: "reading the answer".into(), source })?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn fingerprint(history: &[Release]) -> Vec<(u32, Status)> {
    history.iter().map(|r| (r.revision, r.status)).collect()
}

/// Perform, first step: the lock, then the history must be what the plan was made from.
async fn take_lock<'s>(
    cluster: &Arc<Cluster>,
    ledger: &Ledger<'s, SecretStore<'s>>,
    planned: &[Release],
    lock_duration: &str,
    cancel: &Cancel,
) -> Result<(Lock, Vec<Release>), Error> {
    let d = duration("--lock-duration", lock_duration, 60)?;
    let lock = Lock::acquire(cluster.clone(), &ledger.namespace, &ledger.name, d, cancel).await?;
    match ledger.load().await {
        Ok(h) if fingerprint(&h) == fingerprint(planned) => Ok((lock, h)),
        other => {
            let _ = lock.release().await;
            match other {
                Err(e) => Err(e.into()),
                Ok(_) => Err(ReleaseError::Changed { name: ledger.name.clone() }.into()),
            }
        }
    }
}

/// Releases the lock on every path; a failure to release is only a warning (it expires).
async fn unlock<T>(lock: Lock, result: Result<T, Error>) -> Result<T, Error> {
    if let Err(e) = lock.release().await {
        eprintln!(
            "warning: {e}; the lock was not released and expires on its own (--lock-duration after its last renewal)"
        );
    }
    result
}

async fn repair(
    ledger: &Ledger<'_, SecretStore<'_>>,
    history: &mut [Release],
    out: &mut dyn Write,
) -> Result<(), Error> {
    for rev in ledger.repair(history).await? {
        if let Some(r) = history.iter().find(|r| r.revision == rev) {
            writeln!(out, "release {}: revision {rev} marked {} ({})", r.name, r.status, r.description).ok();
        }
    }
    Ok(())
}

fn print(p: &Prepared, format: Format, color: output::ColorChoice, out: &mut dyn Write) -> Result<(), Error> {
    prepare::print(p, format, output::use_color(color), None, out)
}

/// `diff`: what install/upgrade would change, and drift since the current revision. Exit 0 when
/// nothing would change, 1 when something would.
pub fn diff_cmd(args: &ClusterArgs, global: &Global, out: &mut dyn Write) -> Result<u8, Error> {
    let given = given_inputs(args)?;
    runtime()?.block_on(async {
        let cluster = connect(global).await?;
        let name = release_name(args);
        let store = SecretStore { cluster: &cluster, namespace: cluster.namespace.clone() };
        let history = store.history(&name).await?;
        let stored = if installable(&history) { None } else { current(&history).or(history.last()) };
        let inputs = inputs(args, given, stored, false)?;
        let desired = desired(&cluster, &name, &inputs).await?;
        let mut flags = Flags {
            create_namespace: args.create_namespace,
            force_conflicts: args.force_conflicts,
            adopt: true,
            take_ownership: true,
        };
        // Fields someone else took over (drift, often) conflict: show the plan that takes them
        // back, and say that applying it needs --force-conflicts.
        // (Rendered again for the rare retry rather than copied up front for it.)
        let (prepared, conflict) = match prepare::prepare(&cluster, &name, desired, &history, &flags).await {
            Err(Error::Plan(diff::PlanError::Cluster(e))) if e.code() == Some(409) && !flags.force_conflicts => {
                flags.force_conflicts = true;
                let desired = self::desired(&cluster, &name, &inputs).await?;
                (prepare::prepare(&cluster, &name, desired, &history, &flags).await?, Some(e))
            }
            other => (other?, None),
        };
        let drifts = match current(&history) {
            Some(cur) => Some((cur.revision, drift::detect(&cluster, cur, &prepared.plan, &prepared.live).await?)),
            None => None,
        };
        let d = drifts.as_ref().map(|(rev, d)| (*rev, d.as_slice()));
        prepare::print(&prepared, args.output, output::use_color(args.color), d, out)?;
        if let Some(e) = conflict {
            eprintln!("note: applying this needs --force-conflicts: {e}");
        }
        let drifted = drifts.is_some_and(|(_, d)| !d.is_empty());
        Ok(u8::from(prepared.plan.has_changes() || drifted))
    })
}

/// What install and upgrade share beyond [`ClusterArgs`].
struct Operation<'a> {
    common: &'a ClusterArgs,
    release: &'a ReleaseFlags,
    upgrade: Option<bool>,
    reset_values: bool,
    adopt: bool,
    remove_helm_history: bool,
}

pub fn install_cmd(args: &InstallArgs, global: &Global, out: &mut dyn Write) -> Result<u8, Error> {
    let op = Operation {
        common: &args.common,
        release: &args.release,
        upgrade: None,
        reset_values: false,
        adopt: args.adopt,
        remove_helm_history: args.remove_helm_history,
    };
    apply_cmd(&op, global, out)
}

pub fn upgrade_cmd(args: &UpgradeArgs, global: &Global, out: &mut dyn Write) -> Result<u8, Error> {
    let op = Operation {
        common: &args.common,
        release: &args.release,
        upgrade: Some(args.install),
        reset_values: args.reset_values,
        adopt: false,
        remove_helm_history: false,
    };
    apply_cmd(&op, global, out)
}

/// Whether this install/upgrade installs (true) or upgrades, given the history.
fn installing(op: &Operation, history: &[Release], name: &str, namespace: &str) -> Result<bool, ReleaseError> {
    let latest = || match history.last() {
        Some(l) => format!("latest: revision {} {}", l.revision, l.status),
        None => "no revisions".to_string(),
    };
    match op.upgrade {
        None if installable(history) => Ok(true),
        None => {
            let l = history.last().map(|l| (l.revision, l.status)).unwrap_or((0, Status::Deployed));
            Err(ReleaseError::AlreadyInstalled {
                name: name.into(),
                namespace: namespace.into(),
                revision: l.0,
                status: l.1,
            })
        }
        Some(install) if installable(history) => match install {
            true => Ok(true),
            false if history.is_empty() => {
                Err(ReleaseError::NotInstalled { name: name.into(), namespace: namespace.into() })
            }
            false => {
                Err(ReleaseError::NotDeployed { name: name.into(), namespace: namespace.into(), latest: latest() })
            }
        },
        Some(_) if current(history).is_none() => {
            Err(ReleaseError::NotDeployed { name: name.into(), namespace: namespace.into(), latest: latest() })
        }
        Some(_) => Ok(false),
    }
}

/// `install` / `upgrade`: plan, show, confirm, then record and apply under the lock.
fn apply_cmd(op: &Operation, global: &Global, out: &mut dyn Write) -> Result<u8, Error> {
    let args = op.common;
    let name = release_name(args);
    let given = given_inputs(args)?;
    runtime()?.block_on(async {
        let (cancel, cluster) = begin(global, &name, args.dry_run).await?;
        let ns = cluster.namespace.clone();
        let store = SecretStore { cluster: &cluster, namespace: ns.clone() };
        let ledger =
            Ledger { store: &store, name: name.clone(), namespace: ns.clone(), history_max: op.release.history_max };
        let planned = ledger.load().await?;
        let installing = installing(op, &lifecycle::as_repaired(&planned), &name, &ns)?;
        let stored = if installing { None } else { current(&planned) };
        let inputs = inputs(args, given, stored, op.reset_values)?;
        let desired = desired(&cluster, &name, &inputs).await?;
        let flags = Flags {
            create_namespace: args.create_namespace,
            force_conflicts: args.force_conflicts,
            adopt: op.adopt,
            take_ownership: op.release.take_ownership,
        };
        let prepared = prepare::prepare(&cluster, &name, desired, &planned, &flags).await?;
        print(&prepared, args.output, args.color, out)?;
        if args.dry_run {
            return Ok(u8::from(prepared.plan.has_changes()));
        }
        check_replacements(&prepared.plan, args.force)?;
        let overlay = inputs::overlay_for_record(inputs.overlay.as_deref());
        let latest_is_current = planned.last().is_some_and(|l| l.status == Status::Deployed);
        if !installing && latest_is_current && !prepared.plan.has_changes() {
            let cur = current(&planned)
                .filter(|c| c.overlay == overlay && c.values == inputs.values.tree && c.manifest == prepared.manifest);
            if let Some(c) = cur {
                let revision = c.revision;
                if lifecycle::needs_repair(&planned) {
                    // An earlier operation stopped before superseding: fix the records only.
                    let (lock, mut history) =
                        take_lock(&cluster, &ledger, &planned, &op.release.lock_duration, &cancel).await?;
                    let repaired = repair(&ledger, &mut history, out).await;
                    unlock(lock, repaired).await?;
                }
                writeln!(out, "release {name}: nothing to change (revision {revision} stays deployed)").ok();
                return Ok(0);
            }
        }
        if prepared.plan.has_changes()
            && !confirm(args.yes, &format!("Apply these changes to release {name} in namespace {ns}?"))?
        {
            writeln!(out, "nothing was changed").ok();
            return Ok(1);
        }
        if cancel.is_cancelled() {
            return Err(ReleaseError::Interrupted.into());
        }
        if args.create_namespace && cluster.ensure_namespace(&ns).await? && !args.quiet {
            eprintln!("created namespace {ns}");
        }
        let (lock, mut history) = take_lock(&cluster, &ledger, &planned, &op.release.lock_duration, &cancel).await?;
        let result = async {
            repair(&ledger, &mut history, out).await?;
            let draft = Draft {
                op: if installing { Op::Install } else { Op::Upgrade },
                overlay,
                values: inputs.values.tree.clone(),
                manifest: prepared.manifest.clone(),
            };
            let flags = ActFlags {
                force_conflicts: args.force_conflicts,
                force: args.force,
                delete_data: op.release.delete_data,
                wait: args.wait,
                wait_for_jobs: args.wait_for_jobs,
                timeout: &args.timeout,
                quiet: args.quiet,
            };
            let mut act = flags.act(&cluster, &prepared, &cancel, &lock, &mut *out)?;
            let rel = lifecycle::perform(&ledger, &mut history, draft, &mut act, op.release.atomic).await?;
            let verb = if installing { "installed" } else { "upgraded" };
            writeln!(out, "release {name} {verb} (revision {})", rel.revision).ok();
            if op.remove_helm_history {
                for s in adopt::remove_helm_history(&cluster, &ns, &name).await? {
                    writeln!(out, "Secret/{ns}/{s} deleted (Helm release history)").ok();
                }
            }
            Ok(0)
        }
        .await;
        unlock(lock, result).await
    })
}

/// `rollback NAME [REVISION]`: that revision's manifest again, as a new revision.
pub fn rollback_cmd(args: &RollbackArgs, global: &Global, out: &mut dyn Write) -> Result<u8, Error> {
    runtime()?.block_on(async {
        let (cancel, cluster) = begin(global, &args.name, args.dry_run).await?;
        let ns = cluster.namespace.clone();
        let store = SecretStore { cluster: &cluster, namespace: ns.clone() };
        let ledger =
            Ledger { store: &store, name: args.name.clone(), namespace: ns.clone(), history_max: args.history_max };
        let planned = ledger.load().await?;
        let target = match args.revision {
            Some(r) => store::revision(&planned, &args.name, &ns, Some(r))?,
            None if planned.is_empty() => store::revision(&planned, &args.name, &ns, None)?,
            None => lifecycle::previous(&planned)
                .cloned()
                .ok_or(ReleaseError::NoRollbackTarget { name: args.name.clone() })?,
        };
        writeln!(
            out,
            "Rolling back release {} to revision {} ({}, overlay {})",
            args.name,
            target.revision,
            target.status,
            target.overlay_label()
        )
        .ok();
        let flags = Flags { force_conflicts: args.force_conflicts, ..Flags::default() };
        let prepared =
            prepare::prepare(&cluster, &args.name, plan::manifest_ids(&target.manifest), &planned, &flags).await?;
        print(&prepared, args.output, args.color, out)?;
        if args.dry_run {
            return Ok(u8::from(prepared.plan.has_changes()));
        }
        check_replacements(&prepared.plan, args.force)?;
        if prepared.plan.has_changes()
            && !confirm(args.yes, &format!("Roll release {} back to revision {}?", args.name, target.revision))?
        {
            writeln!(out, "nothing was changed").ok();
            return Ok(1);
        }
        let (lock, mut history) = take_lock(&cluster, &ledger, &planned, &args.lock_duration, &cancel).await?;
        let result = async {
            repair(&ledger, &mut history, out).await?;
            let flags = ActFlags {
                force_conflicts: args.force_conflicts,
                force: args.force,
                delete_data: args.delete_data,
                wait: args.wait,
                wait_for_jobs: args.wait_for_jobs,
                timeout: &args.timeout,
                quiet: args.quiet,
            };
            let mut act = flags.act(&cluster, &prepared, &cancel, &lock, &mut *out)?;
            let rel =
                lifecycle::perform(&ledger, &mut history, Draft::rollback(&target, false), &mut act, false).await?;
            writeln!(
                out,
                "release {} rolled back to revision {} (now revision {})",
                args.name, target.revision, rel.revision
            )
            .ok();
            Ok(0)
        }
        .await;
        unlock(lock, result).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::record::sample;

    /// Default install/upgrade flags, as clap parses an empty command line.
    fn defaults() -> (ClusterArgs, ReleaseFlags) {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct T {
            #[command(flatten)]
            c: ClusterArgs,
            #[command(flatten)]
            r: ReleaseFlags,
        }
        let t = T::parse_from(["t"]);
        (t.c, t.r)
    }

    #[test]
    fn install_and_upgrade_follow_the_records() {
        let (c, r) = defaults();
        let mk = |upgrade| Operation {
            common: &c,
            release: &r,
            upgrade,
            reset_values: false,
            adopt: false,
            remove_helm_history: false,
        };
        let deployed = [sample("p", 1, Status::Deployed)];
        let failed = [sample("p", 1, Status::Failed)];
        assert!(installing(&mk(None), &[], "p", "ml").unwrap());
        assert!(matches!(installing(&mk(None), &deployed, "p", "ml"), Err(ReleaseError::AlreadyInstalled { .. })));
        assert!(installing(&mk(None), &failed, "p", "ml").unwrap(), "never deployed: install again");
        assert!(!installing(&mk(Some(false)), &deployed, "p", "ml").unwrap());
        assert!(matches!(installing(&mk(Some(false)), &[], "p", "ml"), Err(ReleaseError::NotInstalled { .. })));
        assert!(matches!(installing(&mk(Some(false)), &failed, "p", "ml"), Err(ReleaseError::NotDeployed { .. })));
        assert!(installing(&mk(Some(true)), &failed, "p", "ml").unwrap());
    }
}
