//! Plain create / replace / guarded delete, for objects this tool owns outright (release records,
//! the release lock). Server-side apply would put their fields under our field manager and a
//! `resourceVersion` guard could not be expressed; these verbs keep optimistic concurrency.

use super::{Cluster, ClusterError};
use crate::model::{Gvk, ResId};
use kube::api::{DeleteParams, DynamicObject, ListParams, PostParams, Preconditions};
use serde_json::Value;

fn to_dynamic(body: &Value, id: &ResId) -> Result<DynamicObject, ClusterError> {
    serde_json::from_value(body.clone()).map_err(|e| ClusterError::Other(format!("{id}: not an object: {e}")))
}

fn to_value(obj: DynamicObject) -> Result<Value, ClusterError> {
    serde_json::to_value(obj).map_err(|e| ClusterError::Other(e.to_string()))
}

impl Cluster {
    /// POST: fails with 409 when the object exists.
    pub async fn create(&self, id: &ResId, body: &Value) -> Result<Value, ClusterError> {
        let kind = self.resolve(&id.gvk).await?;
        let api = self.api(&kind, &id.namespace);
        let obj = to_dynamic(body, id)?;
        let created = self.timed(api.create(&PostParams::default(), &obj), "create", &id.to_string()).await?;
        to_value(created)
    }

    /// PUT: with `metadata.resourceVersion` set, a 409 means someone else wrote first.
    pub async fn replace(&self, id: &ResId, body: &Value) -> Result<Value, ClusterError> {
        let kind = self.resolve(&id.gvk).await?;
        let api = self.api(&kind, &id.namespace);
        let obj = to_dynamic(body, id)?;
        let put = self.timed(api.replace(&id.name, &PostParams::default(), &obj), "replace", &id.to_string()).await?;
        to_value(put)
    }

    /// DELETE only while the object still has `resource_version` (409 otherwise); false when gone.
    pub async fn delete_at(&self, id: &ResId, resource_version: &str) -> Result<bool, ClusterError> {
        let kind = self.resolve(&id.gvk).await?;
        let api = self.api(&kind, &id.namespace);
        let dp = DeleteParams {
            preconditions: Some(Preconditions { resource_version: Some(resource_version.to_string()), uid: None }),
            ..DeleteParams::default()
        };
        match self.timed(api.delete(&id.name, &dp), "delete", &id.to_string()).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every object of a namespaced kind in every namespace (`-A`).
    pub async fn list_all_namespaces(&self, gvk: &Gvk, label_selector: &str) -> Result<Vec<Value>, ClusterError> {
        let kind = self.resolve(gvk).await?;
        let api: kube::Api<DynamicObject> = kube::Api::all_with(self.client.clone(), &kind.resource);
        let list = self.timed(api.list(&ListParams::default().labels(label_selector)), "list", &gvk.kind).await?;
        list.items
            .into_iter()
            .map(|mut o| {
                o.types = Some(kube::core::TypeMeta { api_version: gvk.api_version(), kind: gvk.kind.clone() });
                to_value(o)
            })
            .collect()
    }
}
