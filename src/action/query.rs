//! The read-only release commands: `history`, `status`, `list`, `get values|manifest`. No lock,
//! no writes.

use super::{connect, runtime};
use crate::cli::{GetWhat, Global, HistoryArgs, ListArgs, StatusArgs};
use crate::cluster::{Cluster, ClusterError};
use crate::error::Error;
use crate::release::record::Release;
use crate::release::store::{self, SecretStore, Store, StoreError};
use crate::release::{inputs, plan, show, versions};
use std::io::Write;
use std::sync::Arc;

/// Read-only commands: the records of one release (or of all).
async fn history_of(global: &Global, name: &str) -> Result<(Arc<Cluster>, Vec<Release>), Error> {
    let cluster = connect(global).await?;
    let store = SecretStore { cluster: &cluster, namespace: cluster.namespace.clone() };
    let h = store.history(name).await?;
    if h.is_empty() {
        return Err(StoreError::ReleaseNotFound { name: name.into(), namespace: cluster.namespace.clone() }.into());
    }
    Ok((cluster, h))
}

fn write(out: &mut dyn Write, text: &str) -> Result<u8, Error> {
    out.write_all(text.as_bytes()).map_err(|source| Error::Io { context: "writing output".into(), source })?;
    Ok(0)
}

pub fn history_cmd(args: &HistoryArgs, global: &Global, out: &mut dyn Write) -> Result<u8, Error> {
    runtime()?.block_on(async {
        let (_, h) = history_of(global, &args.name).await?;
        write(out, &show::history(&h, args.output))
    })
}

pub fn status_cmd(args: &StatusArgs, global: &Global, out: &mut dyn Write) -> Result<u8, Error> {
    runtime()?.block_on(async {
        let (cluster, h) = history_of(global, &args.name).await?;
        let rel = store::revision(&h, &args.name, &cluster.namespace, args.revision)?;
        let mut resources = Vec::new();
        for (stored_id, stored) in plan::manifest_ids(&rel.manifest) {
            // Under the version the server serves: the record may name one since removed.
            let id = versions::served_id(&cluster, &stored_id).await.unwrap_or(stored_id);
            let live = match cluster.get(&id).await {
                Ok(v) => v,
                Err(e) if e.is_not_found() || matches!(e, ClusterError::UnknownKind { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            resources.push(show::resource(id, &stored, live.as_ref()));
        }
        write(out, &show::status(&rel, &resources, args.output))
    })
}

pub fn list_cmd(args: &ListArgs, global: &Global, out: &mut dyn Write) -> Result<u8, Error> {
    runtime()?.block_on(async {
        let cluster = connect(global).await?;
        let store = SecretStore { cluster: &cluster, namespace: cluster.namespace.clone() };
        let latest = store.latest_all(args.all_namespaces).await?;
        write(out, &show::list(&latest, args.output))
    })
}

pub fn get_cmd(what: &GetWhat, global: &Global, out: &mut dyn Write) -> Result<u8, Error> {
    let (args, manifest) = match what {
        GetWhat::Values(a) => (a, false),
        GetWhat::Manifest(a) => (a, true),
    };
    runtime()?.block_on(async {
        let (cluster, h) = history_of(global, &args.name).await?;
        let rel = store::revision(&h, &args.name, &cluster.namespace, args.revision)?;
        let json = args.output == crate::cli::Output::Json;
        let text = if manifest {
            let objects = if args.show_secrets { rel.manifest.clone() } else { inputs::mask_manifest(&rel.manifest) };
            if json {
                let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
                serde_json::to_string_pretty(&list).unwrap_or_default() + "\n"
            } else {
                crate::yaml::to_yaml_stream(objects.iter())
            }
        } else {
            let values = if args.show_secrets { rel.values.clone() } else { inputs::mask_values(&rel.values) };
            if json {
                serde_json::to_string_pretty(&values).unwrap_or_default() + "\n"
            } else {
                crate::yaml::to_yaml(&values)
            }
        };
        write(out, &text)
    })
}
