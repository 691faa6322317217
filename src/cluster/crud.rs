//! Plain create / replace / guarded delete, for objects this tool owns outright (release records,
//! the release lock). Server-side apply would put their fields under our field manager and a
//! `resourceVersion` guard could not be expressed; these verbs keep optimistic concurrency.
//!
//! Neither a create nor a guarded replace is sent again blindly: when an attempt may have taken
//! effect (500, reset, timeout), the object is read back first, and what is there decides (ours:
//! done; absent or unchanged: send again; someone else's: a conflict).

use super::call::{no_reread, Reread};
use super::retry::Verb;
use super::{Cluster, ClusterError};
use crate::model::{Gvk, ResId};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams, Preconditions};
use serde_json::Value;

fn to_dynamic(body: &Value, id: &ResId) -> Result<DynamicObject, ClusterError> {
    serde_json::from_value(body.clone()).map_err(|e| ClusterError::Other(format!("{id}: not an object: {e}")))
}

fn to_value(obj: DynamicObject) -> Result<Value, ClusterError> {
    serde_json::to_value(obj).map_err(|e| ClusterError::Other(e.to_string()))
}

/// Whether `live` holds what `body` wrote: every top-level field but metadata equal, and the
/// body's labels and annotations present. (Records and leases carry a unique payload: the
/// record's timestamps, the lease's renew time.)
pub fn holds(live: &Value, body: &Value) -> bool {
    let Some(fields) = body.as_object() else { return false };
    fields.iter().all(|(k, v)| match k.as_str() {
        "apiVersion" | "kind" | "status" => true,
        "metadata" => ["labels", "annotations"]
            .iter()
            .all(|m| v[*m].as_object().into_iter().flatten().all(|(lk, lv)| live["metadata"][*m].get(lk) == Some(lv))),
        _ => live.get(k) == Some(v),
    })
}

impl Cluster {
    /// Reads `id` back to decide a write whose outcome is unknown; `unchanged` is the
    /// resourceVersion a guarded replace was sent with.
    async fn reread(
        &self,
        api: &Api<DynamicObject>,
        id: &ResId,
        body: &Value,
        unchanged: Option<&str>,
    ) -> Result<Reread<DynamicObject>, ClusterError> {
        let Some(live) = self.call("get", &id.to_string(), || api.get_opt(&id.name)).await? else {
            return Ok(if unchanged.is_some() { Reread::Theirs } else { Reread::Again });
        };
        let value = serde_json::to_value(&live).map_err(|e| ClusterError::Other(e.to_string()))?;
        if holds(&value, body) {
            return Ok(Reread::Ours(live));
        }
        let rv = live.metadata.resource_version.as_deref();
        Ok(if unchanged.is_some() && rv == unchanged { Reread::Again } else { Reread::Theirs })
    }

    /// POST: fails with 409 when the object exists (and is not what this call wrote).
    pub async fn create(&self, id: &ResId, body: &Value) -> Result<Value, ClusterError> {
        let kind = self.resolve(&id.gvk).await?;
        let api = self.api(&kind, &id.namespace);
        let obj = to_dynamic(body, id)?;
        let pp = PostParams::default();
        let send = || api.create(&pp, &obj);
        let reread = || self.reread(&api, id, body, None);
        let created = self.run(Verb::Guarded, "create", &id.to_string(), send, reread).await.map_err(|f| f.error)?;
        to_value(created)
    }

    /// PUT: with `metadata.resourceVersion` set, a 409 means someone else wrote first.
    pub async fn replace(&self, id: &ResId, body: &Value) -> Result<Value, ClusterError> {
        let kind = self.resolve(&id.gvk).await?;
        let api = self.api(&kind, &id.namespace);
        let obj = to_dynamic(body, id)?;
        let pp = PostParams::default();
        let rv = body["metadata"]["resourceVersion"].as_str().unwrap_or("");
        let send = || api.replace(&id.name, &pp, &obj);
        let reread = || self.reread(&api, id, body, Some(rv));
        let put = self.run(Verb::Guarded, "replace", &id.to_string(), send, reread).await.map_err(|f| f.error)?;
        to_value(put)
    }

    /// DELETE only while the object still has `resource_version` (409 otherwise); false when
    /// gone. The precondition makes sending it again safe.
    pub async fn delete_at(&self, id: &ResId, resource_version: &str) -> Result<bool, ClusterError> {
        let kind = self.resolve(&id.gvk).await?;
        let api = self.api(&kind, &id.namespace);
        let dp = DeleteParams {
            preconditions: Some(Preconditions { resource_version: Some(resource_version.to_string()), uid: None }),
            ..DeleteParams::default()
        };
        let send = || api.delete(&id.name, &dp);
        match self.run(Verb::Idempotent, "delete", &id.to_string(), send, no_reread()).await {
            Ok(_) => Ok(true),
            Err(f) if f.error.is_not_found() => Ok(f.uncertain),
            Err(f) => Err(f.error),
        }
    }

    /// Every object of a namespaced kind in every namespace (`-A`).
    pub async fn list_all_namespaces(&self, gvk: &Gvk, label_selector: &str) -> Result<Vec<Value>, ClusterError> {
        let kind = self.resolve(gvk).await?;
        let api: kube::Api<DynamicObject> = kube::Api::all_with(self.client.clone(), &kind.resource);
        let lp = ListParams::default().labels(label_selector);
        let list = self.call("list", &gvk.kind, || api.list(&lp)).await?;
        list.items
            .into_iter()
            .map(|mut o| {
                o.types = Some(kube::core::TypeMeta { api_version: gvk.api_version(), kind: gvk.kind.clone() });
                to_value(o)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::holds;
    use serde_json::json;

    #[test]
    fn a_reread_object_holds_what_was_written() {
        let body = json!({"apiVersion": "v1", "kind": "Secret", "type": "t",
            "metadata": {"name": "r", "labels": {"status": "deployed"}}, "data": {"release": "abc"}});
        let mut live = body.clone();
        live["metadata"]["resourceVersion"] = json!("7");
        live["metadata"]["labels"]["extra"] = json!("x");
        assert!(holds(&live, &body));
        live["data"]["release"] = json!("other");
        assert!(!holds(&live, &body), "someone else's payload");
        let mut relabelled = body.clone();
        relabelled["metadata"]["labels"]["status"] = json!("superseded");
        assert!(!holds(&relabelled, &body));
    }
}
