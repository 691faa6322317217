//! The `/scale` subresource (autoscaling/v1 Scale) of Deployments, ReplicaSets, StatefulSets:
//! what `kubectl scale` patches.

use super::write::{self, WriteCtx};
use super::Request;
use crate::http::Reply;
use crate::patch::{json_patch, merge_patch, PatchError};
use crate::state::{Shared, State};
use crate::status::ApiError;
use crate::store::ObjKey;
use serde_json::{json, Value};
use std::sync::Arc;

fn selector_string(obj: &Value) -> String {
    let mut pairs: Vec<String> = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect())
        .unwrap_or_default();
    pairs.sort();
    pairs.join(",")
}

/// The Scale view of a workload.
pub fn scale_of(obj: &Value) -> Value {
    let meta = |k: &str| obj.pointer(&format!("/metadata/{k}")).cloned().unwrap_or(Value::Null);
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": meta("name"), "namespace": meta("namespace"), "uid": meta("uid"),
            "resourceVersion": meta("resourceVersion"), "creationTimestamp": meta("creationTimestamp")},
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {"replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)), "selector": selector_string(obj)},
    })
}

pub fn get(st: &State, w: &WriteCtx, name: &str) -> Result<Reply, ApiError> {
    let key = ObjKey::new(&w.info.group, &w.info.plural, w.namespace, name);
    let obj = st.store.get(&key).ok_or_else(|| ApiError::not_found(&w.info.group, &w.info.plural, name))?;
    Ok(Reply::ok(scale_of(obj)))
}

/// PUT or PATCH of the Scale: only `spec.replicas` reaches the workload.
pub fn write(sh: &Arc<Shared>, st: &mut State, w: &WriteCtx, name: &str, req: &Request) -> Result<Reply, ApiError> {
    let key = ObjKey::new(&w.info.group, &w.info.plural, w.namespace, name);
    let old = st.store.get(&key).cloned().ok_or_else(|| ApiError::not_found(&w.info.group, &w.info.plural, name))?;
    let current = scale_of(&old);
    let new_scale = if req.method == "PUT" {
        write::decode_body(req)?
    } else {
        let doc: Value = serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(&format!("error decoding patch: {e}")))?;
        let ct = req.content_type.as_deref().unwrap_or("");
        let patched = if ct.starts_with("application/json-patch+json") {
            json_patch::apply(&current, &doc)
        } else {
            // Scale has no lists, so strategic merge is a merge patch here.
            Ok(merge_patch::apply(&current, &doc))
        };
        match patched {
            Ok(p) => p,
            Err(PatchError::Malformed(m)) => return Err(ApiError::bad_request(&m)),
            Err(PatchError::Failed(_)) => return Err(ApiError::unprocessable()),
        }
    };
    let rv = new_scale.pointer("/metadata/resourceVersion").and_then(Value::as_str).filter(|s| !s.is_empty());
    if rv.is_some() && rv != old.pointer("/metadata/resourceVersion").and_then(Value::as_str) {
        return Err(ApiError::stale(&w.info.group, &w.info.plural, name));
    }
    let replicas = new_scale.pointer("/spec/replicas").cloned().unwrap_or(json!(0));
    let mut new = old.clone();
    if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("replicas".into(), replicas);
    }
    let main = WriteCtx { status_subresource: false, manager: w.manager.clone(), ..*w };
    let reply = write::update_object(sh, st, &main, old, new)?;
    match reply {
        Reply::Json { status, body, headers } => Ok(Reply::Json { status, body: scale_of(&body), headers }),
        other => Ok(other),
    }
}
