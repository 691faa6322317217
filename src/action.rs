//! The cluster verbs: each maps its command-line flags onto the operation in `crate::release`
//! that owns its sequence (`install`, `upgrade`, `rollback`, `uninstall`, `handover`, `diff`, and the
//! read-only `history`, `status`, `list`, `get`; Helm's `pkg/action` is the model) and runs it.
//! The day-two commands map onto [`crate::doctor`] and [`crate::logs`] the same way.
//! Input that needs no cluster (the overlay, the release name, the values) is checked first.

use crate::cli::{
    ClusterArgs, Connection, DiffArgs, DoctorArgs, GetWhat, HandoverArgs, HistoryArgs, InstallArgs, ListArgs, LogsArgs,
    ReleaseFlags, RollbackArgs, StatusArgs, UninstallArgs, UpgradeArgs,
};
use crate::cluster::ConnectOptions;
use crate::error::Error;
use crate::release::act::{ActOptions, Wait};
use crate::release::diff::Preview;
use crate::release::handover::Handover;
use crate::release::install::Install;
use crate::release::ownership::Allow;
use crate::release::prepare::Flags;
use crate::release::query::{self, Part};
use crate::release::rollback::Rollback;
use crate::release::session::{duration, Recording, Show};
use crate::release::uninstall::Uninstall;
use crate::release::upgrade::Upgrade;
use crate::values::UserValues;
use crate::{render, values};
use std::io::Write;

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| Error::Io { context: "starting the async runtime".into(), source })
}

pub fn connect_options(g: &Connection) -> Result<ConnectOptions, Error> {
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
        concurrency: g.concurrency.map(usize::from),
    })
}

fn release_name(args: &ClusterArgs) -> String {
    args.name.clone().unwrap_or_else(|| render::CHART_NAME.to_string())
}

/// What the command line asks for, checked before any cluster is contacted (rendering needs
/// none): the overlay exists, the release name is valid, the values read. Returns the values.
fn given_inputs(args: &ClusterArgs) -> Result<UserValues, Error> {
    render::resolve_overlay(args.overlay.as_deref())?;
    render::check_release_name(&release_name(args))?;
    Ok(values::load(&args.values.input(), &mut std::io::stdin())?)
}

fn wait(wait: bool, jobs: bool, timeout: &str) -> Result<Option<Wait>, Error> {
    Ok((wait || jobs).then_some(Wait { timeout: duration("--timeout", timeout, 300)?, jobs }))
}

fn show(args: &ClusterArgs) -> Show {
    Show { dry_run: args.dry_run, yes: args.yes, format: args.output, color: args.color, context: args.exact.unified }
}

fn plan_flags(args: &ClusterArgs, allow: Allow) -> Flags {
    Flags {
        create_namespace: args.create_namespace,
        force_conflicts: args.force_conflicts,
        allow,
        dry_run_all: args.exact.server_dry_run_all,
    }
}

fn act_options(args: &ClusterArgs, release: &ReleaseFlags) -> Result<ActOptions, Error> {
    Ok(ActOptions {
        force: args.force,
        delete_data: release.delete_data,
        wait: wait(args.wait, args.wait_for_jobs, &args.timeout)?,
        timeout: duration("--timeout", &args.timeout, 300)?,
        quiet: args.quiet,
    })
}

fn recording(release: &ReleaseFlags) -> Recording {
    Recording { history_max: release.history_max, lock_duration: release.lock_duration.clone(), atomic: release.atomic }
}

/// `diff`: what install/upgrade would change, and drift since the current revision. Exit 0 when
/// nothing would change, 1 when something would.
pub fn diff_cmd(diff: &DiffArgs, global: &Connection, out: &mut dyn Write) -> Result<u8, Error> {
    let args = &diff.common;
    let preview = Preview {
        name: release_name(args),
        overlay: args.overlay.clone(),
        values: given_inputs(args)?,
        reuse: diff.reuse.rule(),
        create_namespace: args.create_namespace,
        force_conflicts: args.force_conflicts,
        dry_run_all: args.exact.server_dry_run_all,
        format: args.output,
        color: args.color,
        context: args.exact.unified,
        external: std::env::var("KUBECTL_EXTERNAL_DIFF").ok().filter(|c| !c.trim().is_empty()),
    };
    let conn = connect_options(global)?;
    runtime()?.block_on(preview.run(&conn, out))
}

pub fn install_cmd(args: &InstallArgs, global: &Connection, out: &mut dyn Write) -> Result<u8, Error> {
    let c = &args.common;
    let allow = Allow { adopt: args.adopt, take_ownership: args.release.take_ownership };
    let install = Install {
        name: release_name(c),
        overlay: c.overlay.clone(),
        values: given_inputs(c)?,
        plan: plan_flags(c, allow),
        act: act_options(c, &args.release)?,
        show: show(c),
        record: recording(&args.release),
        remove_helm_history: args.remove_helm_history,
    };
    let conn = connect_options(global)?;
    runtime()?.block_on(install.run(&conn, out))
}

pub fn upgrade_cmd(args: &UpgradeArgs, global: &Connection, out: &mut dyn Write) -> Result<u8, Error> {
    let c = &args.common;
    let allow = Allow { adopt: false, take_ownership: args.release.take_ownership };
    let upgrade = Upgrade {
        name: release_name(c),
        overlay: c.overlay.clone(),
        values: given_inputs(c)?,
        reuse: args.reuse.rule(),
        install: args.install,
        plan: plan_flags(c, allow),
        act: act_options(c, &args.release)?,
        show: show(c),
        record: recording(&args.release),
    };
    let conn = connect_options(global)?;
    runtime()?.block_on(upgrade.run(&conn, out))
}

/// `rollback NAME [REVISION]`: that revision's manifest again, as a new revision.
pub fn rollback_cmd(args: &RollbackArgs, global: &Connection, out: &mut dyn Write) -> Result<u8, Error> {
    let rollback = Rollback {
        name: args.name.clone(),
        revision: args.revision,
        force_conflicts: args.force_conflicts,
        dry_run_all: args.exact.server_dry_run_all,
        act: ActOptions {
            force: args.force,
            delete_data: args.delete_data,
            wait: wait(args.wait, args.wait_for_jobs, &args.timeout)?,
            timeout: duration("--timeout", &args.timeout, 300)?,
            quiet: args.quiet,
        },
        show: Show {
            dry_run: args.dry_run,
            yes: args.yes,
            format: args.output,
            color: args.color,
            context: args.exact.unified,
        },
        record: Recording { history_max: args.history_max, lock_duration: args.lock_duration.clone(), atomic: false },
    };
    let conn = connect_options(global)?;
    runtime()?.block_on(rollback.run(&conn, out))
}

/// `uninstall NAME`: what the records list and is still the release's, then the records.
pub fn uninstall_cmd(args: &UninstallArgs, global: &Connection, out: &mut dyn Write) -> Result<u8, Error> {
    let uninstall = Uninstall {
        name: args.name.clone(),
        cascade: args.cascade,
        delete_data: args.delete_data,
        wait: args.wait.then(|| duration("--timeout", &args.timeout, 300)).transpose()?,
        yes: args.yes,
        dry_run: args.dry_run,
        keep_history: args.keep_history,
        lock_duration: args.lock_duration.clone(),
    };
    let conn = connect_options(global)?;
    runtime()?.block_on(uninstall.run(&conn, out))
}

pub fn handover_cmd(args: &HandoverArgs, global: &Connection, out: &mut dyn Write) -> Result<u8, Error> {
    let handover = Handover {
        name: args.name.clone(),
        yes: args.yes,
        dry_run: args.dry_run,
        lock_duration: args.lock_duration.clone(),
    };
    let conn = connect_options(global)?;
    runtime()?.block_on(handover.run(&conn, out))
}

fn print(out: &mut dyn Write, text: &str) -> Result<u8, Error> {
    out.write_all(text.as_bytes()).map_err(|source| Error::Io { context: "writing output".into(), source })?;
    Ok(0)
}

pub fn history_cmd(args: &HistoryArgs, global: &Connection, out: &mut dyn Write) -> Result<u8, Error> {
    let conn = connect_options(global)?;
    print(out, &runtime()?.block_on(query::history(&conn, &args.name, args.output))?)
}

pub fn status_cmd(args: &StatusArgs, global: &Connection, out: &mut dyn Write) -> Result<u8, Error> {
    let conn = connect_options(global)?;
    print(out, &runtime()?.block_on(query::status(&conn, &args.name, args.revision, args.output))?)
}

pub fn list_cmd(args: &ListArgs, global: &Connection, out: &mut dyn Write) -> Result<u8, Error> {
    let conn = connect_options(global)?;
    print(out, &runtime()?.block_on(query::list(&conn, args.all_namespaces, args.output))?)
}

pub fn get_cmd(what: &GetWhat, global: &Connection, out: &mut dyn Write) -> Result<u8, Error> {
    let conn = connect_options(global)?;
    let (args, part) = match what {
        GetWhat::Values(a) => (&a.get, Part::Values { all: a.all }),
        GetWhat::Manifest(a) => (a, Part::Manifest),
        GetWhat::Notes(a) => return print(out, &runtime()?.block_on(query::notes(&conn, &a.name, a.revision))?),
    };
    let json = args.output == crate::cli::Output::Json;
    let text = runtime()?.block_on(query::get(&conn, &args.name, args.revision, part, args.show_secrets, json))?;
    print(out, &text)
}

/// `doctor [NAME]`: exit 0 when nothing is wrong, 1 when something is.
pub fn doctor_cmd(args: &DoctorArgs, global: &Connection, out: &mut dyn Write) -> Result<u8, Error> {
    let json = args.output == crate::cli::LintOutput::Json;
    let conn = connect_options(global)?;
    let (text, code) = runtime()?.block_on(crate::doctor::command(&conn, args.name.as_deref(), json))?;
    print(out, &text)?;
    Ok(code)
}

/// `--since` as seconds for the API (which wants at least 1); 0 means all.
fn since_seconds(since: Option<&str>) -> Result<Option<i64>, Error> {
    let Some(s) = since else { return Ok(None) };
    let d = crate::cluster::parse_timeout(s).map_err(|m| Error::Usage(format!("--since: {m}")))?;
    Ok(d.map(|d| (d.as_secs_f64().ceil() as i64).max(1)))
}

/// `logs NAME`: the release's pods' logs, prefixed; `-f` follows.
pub fn logs_cmd(args: &LogsArgs, global: &Connection, out: &mut dyn Write) -> Result<u8, Error> {
    if args.max_log_requests == 0 {
        return Err(Error::Usage("--max-log-requests must be at least 1".into()));
    }
    let req = crate::logs::Request {
        follow: args.follow,
        index: args.index,
        container: args.container.clone(),
        previous: args.previous,
        since_seconds: since_seconds(args.since.as_deref())?,
        tail: Some(args.tail).filter(|t| *t >= 0),
        timestamps: args.timestamps,
        max_requests: args.max_log_requests,
    };
    let conn = connect_options(global)?;
    runtime()?.block_on(crate::logs::command(&conn, &args.name, &req, out))
}

#[cfg(test)]
mod tests {
    use super::since_seconds;

    #[test]
    fn since_reads_like_kubectl() {
        assert_eq!(since_seconds(Some("5s")).unwrap(), Some(5));
        assert_eq!(since_seconds(Some("2m")).unwrap(), Some(120));
        assert_eq!(since_seconds(Some("1ms")).unwrap(), Some(1), "the API takes whole seconds, at least 1");
        assert_eq!(since_seconds(Some("0")).unwrap(), None);
        assert!(since_seconds(Some("soon")).unwrap_err().to_string().contains("--since"));
    }
}
