//! `uninstall`: what the release's records and labels say it owns, deleted in reverse order
//! (PVCs and objects marked keep stay), then its records (or, `--keep-history`, marked
//! uninstalled), under the lock.

use super::{begin, confirm, duration, repair, runtime, take_lock, unlock};
use crate::apply::{self, ApplyOptions};
use crate::cli::{Global, UninstallArgs};
use crate::cluster::{Cluster, ClusterError};
use crate::error::Error;
use crate::model::{Gvk, ResId};
use crate::release::lifecycle::Ledger;
use crate::release::record::Status;
use crate::release::store::{self, SecretStore};
use crate::release::{self, plan, ReleaseError, RELEASE_LABEL};
use serde_json::Value;
use std::collections::HashSet;
use std::io::Write;

/// Kinds a release may own, looked up by label on uninstall (besides its records' manifests).
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

/// Objects in the namespace labelled as this release's, of the kinds a release may own.
async fn owned(cluster: &Cluster, release: &str) -> Result<Vec<(ResId, Value)>, ClusterError> {
    let kinds: Vec<Gvk> = OWNED_KINDS.iter().map(|(v, k)| Gvk::from_api_version(v, k)).collect();
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
            let id = ResId::new(
                gvk.clone(),
                item["metadata"]["namespace"].as_str().unwrap_or(""),
                item["metadata"]["name"].as_str().unwrap_or(""),
            );
            out.push((id, item));
        }
    }
    Ok(out)
}

/// `uninstall`: delete in reverse order; keep PVCs and objects marked keep; then the records.
pub fn uninstall_cmd(args: &UninstallArgs, global: &Global, out: &mut dyn Write) -> Result<u8, Error> {
    runtime()?.block_on(async {
        let (cancel, cluster) = begin(global, &args.name, args.dry_run).await?;
        let ns = cluster.namespace.clone();
        let store = SecretStore { cluster: &cluster, namespace: ns.clone() };
        let ledger = Ledger { store: &store, name: args.name.clone(), namespace: ns.clone(), history_max: 0 };
        let planned = ledger.load().await?;
        let latest = store::revision(&planned, &args.name, &ns, None)?;
        if latest.status == Status::Uninstalled && args.keep_history {
            return Err(ReleaseError::AlreadyUninstalled { name: args.name.clone() }.into());
        }
        let mut objects = plan::recent_objects(&planned);
        let key = |id: &ResId| (id.gvk.clone(), id.effective_namespace().to_string(), id.name.clone());
        let mut known: HashSet<_> = objects.iter().map(|(id, _)| key(id)).collect();
        for (id, live) in owned(&cluster, &args.name).await? {
            if known.insert(key(&id)) {
                objects.push((id, live));
            }
        }
        let (keep, delete): (Vec<_>, Vec<_>) = objects.into_iter().partition(|(_, obj)| release::keep(obj));
        let mut ids: Vec<ResId> = delete.into_iter().map(|(id, _)| id).collect();
        for id in &ids {
            writeln!(out, "{id} (delete)").ok();
        }
        if args.dry_run {
            return Ok(1);
        }
        if !confirm(args.yes, &format!("Delete release {} from namespace {ns}?", args.name))? {
            writeln!(out, "nothing was changed").ok();
            return Ok(1);
        }
        let (lock, mut history) = take_lock(&cluster, &ledger, &planned, &args.lock_duration, &cancel).await?;
        let result = async {
            repair(&ledger, &mut history, out).await?;
            ledger.begin_uninstall(&mut history).await?;
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
                let timeout = duration("--timeout", &args.timeout, 300)?;
                for id in &outcome.deleted {
                    apply::wait::until_gone(&cluster, id, timeout).await?;
                }
            }
            lock.check()?;
            ledger.finish_uninstall(&mut history, args.keep_history).await?;
            writeln!(out, "release {} uninstalled", args.name).ok();
            Ok(0)
        }
        .await;
        unlock(lock, result).await
    })
}
