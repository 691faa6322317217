//! The read-only release commands: `history`, `status`, `list`, `get values|manifest|notes`. No lock,
//! no writes; each returns the text to print.

use super::record::Release;
use super::store::{self, SecretStore, Store, StoreError};
use super::{inputs, notes, plan, show, versions};
use crate::apply::wait::Rules;
use crate::cluster::{Cluster, ClusterError, ConnectOptions};
use crate::error::Error;

/// The records of release `name`, or a typed error when it has none.
async fn history_of(conn: &ConnectOptions, name: &str) -> Result<(Cluster, Vec<Release>), Error> {
    let cluster = Cluster::connect(conn).await?;
    let h = SecretStore { cluster: &cluster, namespace: cluster.namespace.clone() }.history(name).await?;
    if h.is_empty() {
        return Err(StoreError::ReleaseNotFound { name: name.into(), namespace: cluster.namespace.clone() }.into());
    }
    Ok((cluster, h))
}

/// `history NAME`.
pub async fn history(conn: &ConnectOptions, name: &str, format: show::Format) -> Result<String, Error> {
    let (_, h) = history_of(conn, name).await?;
    Ok(show::history(&h, format))
}

/// `status NAME`: each object of the revision, looked up live under the version the server
/// serves its kind with (the record may name one since removed).
pub async fn status(
    conn: &ConnectOptions,
    name: &str,
    revision: Option<u32>,
    format: show::Format,
) -> Result<String, Error> {
    let (cluster, h) = history_of(conn, name).await?;
    let rel = store::revision(&h, name, &cluster.namespace, revision)?;
    let mut resources = Vec::new();
    let mut rules = Rules::default();
    for (stored_id, stored) in plan::manifest_ids(&rel.manifest) {
        let id = versions::served_id(&cluster, &stored_id).await.unwrap_or(stored_id);
        let live = match cluster.get(&id).await {
            Ok(v) => v,
            Err(e) if e.is_not_found() || matches!(e, ClusterError::UnknownKind { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        if let Some(obj) = &live {
            rules.learn(&cluster, obj).await;
        }
        resources.push(show::resource(id, &stored, live.as_ref(), &rules));
    }
    if resources.iter().any(|r| !r.is_settled()) {
        add_reasons(&cluster, &rel, &mut resources).await;
    }
    Ok(show::status(&rel, &resources, format))
}

/// Beside each resource that is not ready, the first thing `doctor` finds about it. Status
/// still shows when the checks cannot run (a note says why).
async fn add_reasons(cluster: &Cluster, rel: &Release, resources: &mut [show::Resource]) {
    let facts = match crate::doctor::gather(cluster, &rel.name, &rel.manifest).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("note: no reasons for the resources that are not ready: {e}");
            return;
        }
    };
    let report = crate::doctor::run(&facts);
    for (id, reason) in crate::doctor::first_reasons(&report) {
        let same =
            |r: &show::Resource| r.id.gvk.group == id.gvk.group && r.id.gvk.kind == id.gvk.kind && r.id.name == id.name;
        if let Some(r) = resources.iter_mut().find(|r| same(r) && !r.is_settled()) {
            r.reason = Some(reason);
        }
    }
}

/// `list [-A]`: the latest revision of every release.
pub async fn list(conn: &ConnectOptions, all_namespaces: bool, format: show::Format) -> Result<String, Error> {
    let cluster = Cluster::connect(conn).await?;
    let store = SecretStore { cluster: &cluster, namespace: cluster.namespace.clone() };
    Ok(show::list(&store.latest_all(all_namespaces).await?, format))
}

/// What `get` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// With `all`: every value, defaults included.
    Values {
        all: bool,
    },
    Manifest,
}

/// `get values|manifest NAME`: Secret values masked unless `show_secrets`.
pub async fn get(
    conn: &ConnectOptions,
    name: &str,
    revision: Option<u32>,
    part: Part,
    show_secrets: bool,
    json: bool,
) -> Result<String, Error> {
    let (cluster, h) = history_of(conn, name).await?;
    let rel = store::revision(&h, name, &cluster.namespace, revision)?;
    Ok(match part {
        Part::Manifest => {
            let objects = if show_secrets { rel.manifest.clone() } else { inputs::mask_manifest(&rel.manifest) };
            if json {
                let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
                serde_json::to_string_pretty(&list).unwrap_or_default() + "\n"
            } else {
                crate::yaml::to_yaml_stream(objects.iter())
            }
        }
        Part::Values { all } => {
            let values = if all { inputs::all_values(&rel) } else { rel.values.clone() };
            let values = if show_secrets { values } else { inputs::mask_values(&values) };
            if json {
                serde_json::to_string_pretty(&values).unwrap_or_default() + "\n"
            } else {
                crate::yaml::to_yaml(&values)
            }
        }
    })
}

/// `get notes NAME`: what install printed after the revision (made from its manifest again).
pub async fn notes(conn: &ConnectOptions, name: &str, revision: Option<u32>) -> Result<String, Error> {
    let (cluster, h) = history_of(conn, name).await?;
    let rel = store::revision(&h, name, &cluster.namespace, revision)?;
    Ok(notes::notes(&rel.name, &rel.namespace, &rel.manifest))
}
