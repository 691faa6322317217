//! DELETE: preconditions, propagation policies (Background answers a Status, Foreground and
//! Orphan leave the object with a finalizer for a moment, as delete-foreground.json shows),
//! namespace termination, and deletecollection.

use super::write::WriteCtx;
use super::Request;
use crate::http::Reply;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::state::{Shared, State};
use crate::status::{delete_success, ApiError};
use crate::store::ObjKey;
use serde_json::{json, Value};
use std::sync::Arc;

/// DeleteOptions from the body, with query parameters as fallback.
struct DeleteOptions {
    propagation: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    dry_run: bool,
}

fn options(req: &Request, dry_run_query: bool) -> Result<DeleteOptions, ApiError> {
    let body: Value = if req.body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(&format!("error decoding DeleteOptions: {e}")))?
    };
    let s = |p: &str| body.pointer(p).and_then(Value::as_str).map(str::to_string);
    let propagation =
        s("/propagationPolicy").or_else(|| req.query.get("propagationPolicy").map(str::to_string)).or_else(
            || match body
                .get("orphanDependents")
                .and_then(Value::as_bool)
                .or_else(|| req.query.get("orphanDependents").map(|v| v == "true"))
            {
                Some(true) => Some("Orphan".to_string()),
                Some(false) => Some("Background".to_string()),
                None => None,
            },
        );
    if let Some(p) = &propagation {
        if !matches!(p.as_str(), "Background" | "Foreground" | "Orphan") {
            return Err(ApiError::invalid(
                "meta.k8s.io",
                "DeleteOptions",
                "",
                vec![crate::status::Cause::not_supported(
                    "propagationPolicy",
                    &format!("{p:?}"),
                    &["Foreground", "Background", "Orphan", "nil"],
                )],
            ));
        }
    }
    let body_dry = body.get("dryRun").and_then(Value::as_array).is_some_and(|a| a.iter().any(|v| v == "All"));
    Ok(DeleteOptions {
        propagation,
        uid: s("/preconditions/uid"),
        resource_version: s("/preconditions/resourceVersion"),
        dry_run: dry_run_query || body_dry,
    })
}

/// Jobs and ReplicationControllers orphan by default for compatibility; the rest delete in the background.
fn default_policy(w: &WriteCtx) -> &'static str {
    match (w.info.group.as_str(), w.info.plural.as_str()) {
        ("batch", "jobs") | ("", "replicationcontrollers") => "Orphan",
        _ => "Background",
    }
}

/// DELETE of one object.
pub fn delete(sh: &Arc<Shared>, st: &mut State, w: &WriteCtx, name: &str, req: &Request) -> Result<Reply, ApiError> {
    let opts = options(req, w.dry_run)?;
    let key = ObjKey::new(&w.info.group, &w.info.plural, w.namespace, name);
    let Some(old) = st.store.get(&key).cloned() else {
        return Err(ApiError::not_found(&w.info.group, &w.info.plural, name));
    };
    let meta_s = |k: &str| old.pointer(&format!("/metadata/{k}")).and_then(Value::as_str).unwrap_or("").to_string();
    if let Some(uid) = &opts.uid {
        if *uid != meta_s("uid") {
            let why = format!(
                "the UID in the precondition ({uid}) does not match the UID in record ({}). The object might have been deleted and then recreated",
                meta_s("uid")
            );
            return Err(ApiError::precondition(&w.info.group, &w.info.kind, name, &why));
        }
    }
    if let Some(rv) = &opts.resource_version {
        if *rv != meta_s("resourceVersion") {
            let why = format!(
                "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({}). The object might have been modified",
                meta_s("resourceVersion")
            );
            return Err(ApiError::precondition(&w.info.group, &w.info.kind, name, &why));
        }
    }
    if old.pointer("/metadata/deletionTimestamp").is_some() {
        return Ok(Reply::ok(old));
    }
    if w.info.group.is_empty() && w.info.plural == "namespaces" {
        return delete_namespace(sh, st, &key, old, opts.dry_run);
    }
    let policy = opts.propagation.clone().unwrap_or_else(|| default_policy(w).to_string());
    let finalizer = match policy.as_str() {
        "Foreground" => Some("foregroundDeletion"),
        "Orphan" => Some("orphan"),
        _ => None,
    };
    let user_finalizers = old.pointer("/metadata/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty());
    if finalizer.is_none() && !user_finalizers {
        if !opts.dry_run {
            st.store.remove(&key);
        }
        return Ok(Reply::ok(delete_success(&w.info.group, &w.info.plural, name, &meta_s("uid"))));
    }
    let mut marked = old.clone();
    if let Some(meta) = marked.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("deletionTimestamp".into(), json!(st.now()));
        meta.insert("deletionGracePeriodSeconds".into(), json!(0));
        if w.info.tracks_generation() {
            let g = meta.get("generation").and_then(Value::as_i64).unwrap_or(0);
            meta.insert("generation".into(), json!(g + 1));
        }
        if let Some(f) = finalizer {
            let list = meta.entry("finalizers").or_insert_with(|| json!([]));
            if let Some(a) = list.as_array_mut() {
                if !a.iter().any(|x| x == f) {
                    a.push(json!(f));
                }
            }
        }
    }
    if opts.dry_run {
        return Ok(Reply::ok(marked));
    }
    let stored = st.store.put(key.clone(), marked);
    if let Some(f) = finalizer {
        finish_later(sh, st, key, f);
    }
    Ok(Reply::ok(stored))
}

/// The garbage collector's part: drop our finalizer, and the object once no finalizer is left.
fn finish_later(sh: &Arc<Shared>, st: &mut State, key: ObjKey, finalizer: &'static str) {
    let delay = st.finalizer_delay;
    if delay.is_zero() {
        drop_finalizer(st, &key, finalizer);
        return;
    }
    let sh = sh.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        drop_finalizer(&mut sh.lock(), &key, finalizer);
    });
}

fn drop_finalizer(st: &mut State, key: &ObjKey, finalizer: &str) {
    let Some(mut obj) = st.store.get(key).cloned() else { return };
    let mut remaining = 0;
    if let Some(list) = obj.pointer_mut("/metadata/finalizers").and_then(Value::as_array_mut) {
        list.retain(|f| f != finalizer);
        remaining = list.len();
    }
    if remaining == 0 {
        st.store.remove(key);
    } else {
        st.store.put(key.clone(), obj);
    }
}

/// Namespaces go Terminating, take their objects with them, then disappear.
fn delete_namespace(
    sh: &Arc<Shared>,
    st: &mut State,
    key: &ObjKey,
    old: Value,
    dry_run: bool,
) -> Result<Reply, ApiError> {
    let mut marked = old;
    if let Some(meta) = marked.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("deletionTimestamp".into(), json!(st.now()));
    }
    if let Some(m) = marked.as_object_mut() {
        m.insert("status".into(), json!({"phase": "Terminating"}));
    }
    if dry_run {
        return Ok(Reply::ok(marked));
    }
    let stored = st.store.put(key.clone(), marked);
    let delay = st.finalizer_delay;
    if delay.is_zero() {
        purge_namespace(st, &key.name);
    } else {
        let sh = sh.clone();
        let ns = key.name.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            purge_namespace(&mut sh.lock(), &ns);
        });
    }
    Ok(Reply::ok(stored))
}

fn purge_namespace(st: &mut State, ns: &str) {
    for k in st.store.keys_in_namespace(ns) {
        st.store.remove(&k);
    }
    st.store.remove(&ObjKey::new("", "namespaces", "", ns));
}

/// DELETE on a collection: every matching object, answered with the list of what went.
pub fn delete_collection(sh: &Arc<Shared>, st: &mut State, w: &WriteCtx, req: &Request) -> Result<Reply, ApiError> {
    let labels =
        LabelSelector::parse(req.query.get("labelSelector").unwrap_or("")).map_err(|e| ApiError::bad_request(&e))?;
    let fields = FieldSelector::parse(req.query.get("fieldSelector").unwrap_or(""), &w.info.plural)
        .map_err(|e| ApiError::bad_request(&e))?;
    let ns = if w.namespace.is_empty() { None } else { Some(w.namespace) };
    let names: Vec<String> = st
        .store
        .list(&w.info.group, &w.info.plural, ns)
        .into_iter()
        .filter(|o| labels.matches(o.pointer("/metadata/labels").and_then(Value::as_object)) && fields.matches(o))
        .filter_map(|o| o.pointer("/metadata/name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut items = Vec::new();
    for n in names {
        let Some(obj) = st.store.get(&ObjKey::new(&w.info.group, &w.info.plural, w.namespace, &n)).cloned() else {
            continue;
        };
        if let Ok(Reply::Json { .. }) = delete(sh, st, w, &n, req) {
            items.push(obj);
        }
    }
    Ok(Reply::ok(json!({
        "kind": format!("{}List", w.info.kind),
        "apiVersion": w.info.api_version(),
        "metadata": {"resourceVersion": st.store.current_rv().to_string()},
        "items": items,
    })))
}
