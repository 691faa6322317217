//! The cluster verbs (diff, install, upgrade, uninstall), each in two steps as in Helm's
//! `pkg/action`: *prepare* renders and plans without writing anything; *perform* applies.
//! A `--dry-run` or a refused confirmation stops between the two.

use crate::apply::{self, ApplyOptions, Cancel};
use crate::cli::{ClusterArgs, Global, UninstallArgs};
use crate::cluster::{Cluster, ClusterError, ConnectOptions};
use crate::diff::{self, output, Plan, PlanOptions};
use crate::error::Error;
use crate::model::{Gvk, ResId};
use crate::release::{self, RELEASE_LABEL};
use crate::{render, values};
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// Kinds a release may own, looked up by label for prune and uninstall.
const OWNED_KINDS: &[(&str, &str)] = &[
    ("v1", "ServiceAccount"),
    ("v1", "Secret"),
    ("v1", "ConfigMap"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("policy/v1", "PodDisruptionBudget"),
];

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

fn release_name(args: &ClusterArgs) -> String {
    args.name.clone().unwrap_or_else(|| render::CHART_NAME.to_string())
}

/// Renders the release's objects and stamps them as its own (no cluster needed).
fn prepare_objects(args: &ClusterArgs, namespace: &str) -> Result<Vec<Value>, Error> {
    let user = values::load(&args.values.input(), &mut std::io::stdin())?;
    let name = release_name(args);
    let req =
        render::Request { overlay: args.overlay.clone(), release: Some(name.clone()), namespace: None, values: user };
    let rendered = render::render(&req)?;
    Ok(rendered
        .resources
        .into_iter()
        .map(|r| {
            let mut body = r.into_body();
            release::stamp(&mut body, &name, namespace);
            body
        })
        .collect())
}

/// Objects in the namespace labelled as this release's, of the kinds a release may own.
async fn owned(cluster: &Cluster, release: &str, extra: &[Gvk]) -> Result<Vec<(ResId, Value)>, ClusterError> {
    let mut kinds: Vec<Gvk> = OWNED_KINDS.iter().map(|(v, k)| Gvk::from_api_version(v, k)).collect();
    for g in extra {
        if !kinds.contains(g) {
            kinds.push(g.clone());
        }
    }
    let selector = format!("{RELEASE_LABEL}={release}");
    let lists =
        futures::future::join_all(kinds.iter().map(|gvk| cluster.list(gvk, &cluster.namespace, Some(&selector)))).await;
    let mut out = Vec::new();
    for (gvk, r) in kinds.iter().zip(lists) {
        let items = match r {
            Ok(items) => items,
            Err(ClusterError::UnknownKind { .. }) => continue,
            Err(e) => return Err(e),
        };
        for item in items {
            let ns = item["metadata"]["namespace"].as_str().unwrap_or("").to_string();
            let name = item["metadata"]["name"].as_str().unwrap_or("").to_string();
            out.push((ResId::new(gvk.clone(), &ns, &name), item));
        }
    }
    Ok(out)
}

/// Prepare: connect, place objects, find what the release already has, dry-run everything.
async fn prepare(args: &ClusterArgs, global: &Global) -> Result<(Cluster, Plan, bool), Error> {
    let cluster = Cluster::connect(&connect_options(global)?).await?;
    let objects = prepare_objects(args, &cluster.namespace.clone())?;
    let desired = diff::place(&cluster, objects).await?;
    let extra: Vec<Gvk> = desired.iter().map(|(id, _)| id.gvk.clone()).collect();
    let existing = owned(&cluster, &release_name(args), &extra).await?;
    let exists = !existing.is_empty();
    let prune: Vec<ResId> = existing
        .iter()
        .filter(|(id, obj)| !release::keep(obj) && !desired.iter().any(|(d, _)| d.same_object(id)))
        .map(|(id, _)| id.clone())
        .collect();
    let opts = PlanOptions { create_namespace: args.create_namespace, force_conflicts: args.force_conflicts, prune };
    let plan = diff::plan(&cluster, desired, &opts).await?;
    Ok((cluster, plan, exists))
}

fn print_plan(plan: &Plan, args: &ClusterArgs, out: &mut dyn Write) -> Result<(), Error> {
    let text = output::render(plan, args.output, output::use_color(args.color));
    out.write_all(text.as_bytes()).map_err(|source| Error::Io { context: "writing output".into(), source })
}

/// `diff`: exit 0 when nothing would change, 1 when something would.
pub fn diff_cmd(args: &ClusterArgs, global: &Global, out: &mut dyn Write) -> Result<u8, Error> {
    runtime()?.block_on(async {
        let (_, plan, _) = prepare(args, global).await?;
        print_plan(&plan, args, out)?;
        Ok(u8::from(plan.has_changes()))
    })
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

/// What install and upgrade require of the release's existence.
#[derive(Clone, Copy, PartialEq)]
pub enum Mode {
    Install,
    Upgrade { install: bool },
}

/// `install` / `upgrade`: plan, show, confirm, apply, optionally wait.
pub fn apply_cmd(args: &ClusterArgs, global: &Global, mode: Mode, out: &mut dyn Write) -> Result<u8, Error> {
    let name = release_name(args);
    runtime()?.block_on(async {
        let cancel = Cancel::default();
        cancel.on_signals();
        let (cluster, plan, exists) = prepare(args, global).await?;
        match mode {
            Mode::Install if exists => {
                return Err(Error::Refused(format!(
                    "release {name} already exists in namespace {}; use `kubectl dimtensor upgrade {name}`",
                    cluster.namespace
                )))
            }
            Mode::Upgrade { install: false } if !exists => {
                return Err(Error::Refused(format!(
                "release {name} does not exist in namespace {}; use `kubectl dimtensor install` or `upgrade --install`",
                cluster.namespace
            )))
            }
            _ => {}
        }
        print_plan(&plan, args, out)?;
        if args.dry_run {
            return Ok(u8::from(plan.has_changes()));
        }
        if !plan.has_changes() {
            writeln!(out, "release {name}: nothing to change").ok();
            return Ok(0);
        }
        if !confirm(args.yes, &format!("Apply these changes to release {name} in namespace {}?", cluster.namespace))? {
            writeln!(out, "nothing was changed").ok();
            return Ok(1);
        }
        if args.create_namespace && cluster.ensure_namespace(&cluster.namespace.clone()).await? && !args.quiet {
            eprintln!("created namespace {}", cluster.namespace);
        }
        let opts = ApplyOptions {
            force_conflicts: args.force_conflicts,
            force: args.force,
            delete_data: false,
            cascade: None,
        };
        let outcome = apply::execute(&cluster, &plan, &opts, &cancel).await?;
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
        if args.wait || args.wait_for_jobs {
            let timeout = parse_wait_timeout(&args.timeout)?;
            let ids: Vec<ResId> = outcome.applied.iter().chain(&outcome.replaced).cloned().collect();
            let quiet = args.quiet || !std::io::stderr().is_terminal();
            let mut progress = |id: &ResId, state: &str| {
                if !quiet {
                    eprintln!("waiting: {id}: {state}");
                }
            };
            apply::wait::until_ready(&cluster, &ids, timeout, args.wait_for_jobs, &mut progress).await?;
        }
        writeln!(
            out,
            "release {name} {}",
            if matches!(mode, Mode::Install) || !exists { "installed" } else { "upgraded" }
        )
        .ok();
        Ok(0)
    })
}

fn parse_wait_timeout(s: &str) -> Result<Duration, Error> {
    crate::cluster::parse_timeout(s)
        .map(|d| d.unwrap_or(Duration::from_secs(300)))
        .map_err(|m| Error::Usage(format!("--timeout: {m}")))
}

/// `uninstall`: delete in reverse order; keep PVCs and objects marked keep.
pub fn uninstall_cmd(args: &UninstallArgs, global: &Global, out: &mut dyn Write) -> Result<u8, Error> {
    runtime()?.block_on(async {
        let cancel = Cancel::default();
        cancel.on_signals();
        let cluster = Cluster::connect(&connect_options(global)?).await?;
        let existing = owned(&cluster, &args.name, &[]).await?;
        if existing.is_empty() {
            return Err(Error::Refused(format!(
                "release {} has no objects in namespace {}",
                args.name, cluster.namespace
            )));
        }
        let (keep, mut ids): (Vec<_>, Vec<_>) = existing.into_iter().partition(|(_, obj)| release::keep(obj));
        let mut ids: Vec<ResId> = ids.drain(..).map(|(id, _)| id).collect();
        for id in &ids {
            writeln!(out, "{id} (delete)").ok();
        }
        if args.dry_run {
            return Ok(1);
        }
        if !confirm(args.yes, &format!("Delete release {} from namespace {}?", args.name, cluster.namespace))? {
            writeln!(out, "nothing was changed").ok();
            return Ok(1);
        }
        let opts =
            ApplyOptions { delete_data: args.delete_data, cascade: Some(args.cascade), ..ApplyOptions::default() };
        let mut outcome = apply::Outcome::default();
        apply::delete_all(&cluster, &mut ids, &opts, &cancel, &mut outcome).await?;
        for id in &outcome.deleted {
            writeln!(out, "{id} deleted").ok();
        }
        for id in outcome.kept.iter().chain(keep.iter().map(|(id, _)| id)) {
            writeln!(out, "{id} kept").ok();
        }
        if args.wait {
            let timeout = parse_wait_timeout(&args.timeout)?;
            for id in &outcome.deleted {
                apply::wait::until_gone(&cluster, id, timeout).await?;
            }
        }
        writeln!(out, "release {} uninstalled", args.name).ok();
        Ok(0)
    })
}
