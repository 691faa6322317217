//! The live objects a release's records list, found under the versions the server serves:
//! one LIST per kind of what is labelled as the release's, and a GET of each listed object not
//! among them (to say whose it is now). `uninstall` deletes from it, `handover` lets go of it;
//! whether each object is still the release's is [`super::ownership`]'s call.

use super::ownership::Key;
use super::plan::recent_objects;
use super::record::Release;
use super::{versions, RELEASE_LABEL};
use crate::cluster::{Cluster, ClusterError};
use crate::error::Error;
use crate::model::{Gvk, ResId};
use serde_json::Value;
use std::collections::HashMap;

/// A recorded object that exists: as the records stored it, and as it is.
pub struct Found {
    pub id: ResId,
    pub stored: Value,
    pub live: Value,
}

/// What the records list: the objects found, and those whose kind is not served any more.
#[derive(Default)]
pub struct Survey {
    pub found: Vec<Found>,
    pub unserved: Vec<(ResId, String)>,
}

pub async fn survey(cluster: &Cluster, name: &str, history: &[Release]) -> Result<Survey, Error> {
    let mut out = Survey::default();
    let mut objects = Vec::new();
    for (stored, body) in recent_objects(history) {
        match versions::served_id(cluster, &stored).await {
            Ok(id) => objects.push((id, body)),
            Err(ClusterError::UnknownKind { .. }) => {
                out.unserved.push((stored, "its kind is not served any more".into()))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut kinds: Vec<(&Gvk, &str)> = objects.iter().map(|(id, _)| (&id.gvk, id.namespace.as_str())).collect();
    kinds.sort();
    kinds.dedup();
    let selector = format!("{RELEASE_LABEL}={name}");
    let lists = futures::future::join_all(kinds.iter().map(|(gvk, ns)| cluster.list(gvk, ns, Some(&selector)))).await;
    let mut labelled: HashMap<Key, Value> = HashMap::new();
    for ((gvk, ns), items) in kinds.iter().zip(lists) {
        for item in items? {
            let id = ResId::new((*gvk).clone(), ns, item["metadata"]["name"].as_str().unwrap_or(""));
            labelled.insert(Key::of(&id), item);
        }
    }
    for (id, stored) in objects {
        let live = match labelled.remove(&Key::of(&id)) {
            Some(v) => v,
            None => match cluster.get(&id).await? {
                Some(v) => v,
                None => continue,
            },
        };
        out.found.push(Found { id, stored, live });
    }
    Ok(out)
}
