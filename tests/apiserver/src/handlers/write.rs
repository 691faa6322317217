//! Create, update (PUT) and patch: one pipeline from request body to stored object —
//! decode, identity checks, ownership, defaults, strategy, validation, no-op detection, dry run.

use super::Request;
use crate::apply::managed::{body_of, Scope};
use crate::apply::schema::{schema, Ty};
use crate::apply::{self, Writer};
use crate::http::Reply;
use crate::patch::{json_patch, merge_patch, strategic, PatchError};
use crate::resources::ResourceInfo;
use crate::state::{Shared, State};
use crate::status::{ApiError, Cause};
use crate::store::ObjKey;
use crate::util::new_uid;
use crate::validation;
use crate::{defaults, strategy};
use serde_json::{json, Value};
use std::sync::Arc;

/// Largest object the store accepts (etcd's default request limit).
const MAX_OBJECT_BYTES: usize = 1024 * 1024 * 3 / 2;

/// Everything a write needs to know about its request.
#[derive(Clone)]
pub struct WriteCtx<'a> {
    pub info: &'a ResourceInfo,
    pub namespace: &'a str,
    pub manager: String,
    pub dry_run: bool,
    pub strict: bool,
    pub status_subresource: bool,
}

impl WriteCtx<'_> {
    fn key(&self, name: &str) -> ObjKey {
        ObjKey::new(&self.info.group, &self.info.plural, self.namespace, name)
    }
    /// The stored object as this request's version sees it.
    fn load(&self, st: &State, name: &str) -> Option<Value> {
        let mut obj = st.store.get(&self.key(name)).cloned()?;
        self.info.at_version(&mut obj);
        Some(obj)
    }
    fn ty(&self) -> Ty {
        schema().root(&self.info.group, &self.info.version, &self.info.kind)
    }
    fn scope(&self) -> Scope {
        if self.status_subresource {
            Scope::Status
        } else {
            Scope::Main { status_reset: self.info.has_status() }
        }
    }
    fn writer<'b>(&'b self, api_version: &'b str, now: &'b str) -> Writer<'b> {
        Writer { manager: &self.manager, api_version, now, scope: self.scope() }
    }
}

/// Decodes a POST/PUT body (JSON or YAML).
pub fn decode_body(req: &Request) -> Result<Value, ApiError> {
    let ct = req.content_type.as_deref().unwrap_or("application/json");
    if ct.contains("protobuf") {
        return crate::proto::decode(&req.body).map_err(|e| {
            let mut err = ApiError::unsupported_media(&[
                "application/json",
                "application/yaml",
                "application/vnd.kubernetes.protobuf",
            ]);
            err.message = format!("{}: {e}", err.message);
            err.body["message"] = json!(err.message);
            err
        });
    }
    let text = std::str::from_utf8(&req.body).map_err(|_| ApiError::bad_request("the request body is not UTF-8"))?;
    let parsed = if ct.contains("yaml") {
        crate::yaml::parse_document(text).map_err(|e| e.to_string())
    } else {
        serde_json::from_str::<Value>(text).map_err(|e| e.to_string())
    };
    let v = parsed.map_err(|e| ApiError::bad_request(&format!("couldn't get version/kind; json parse error: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request("the request body must be an object"));
    }
    Ok(v)
}

/// apiVersion/kind must match the URL's resource (filled in when absent and `require` is false).
fn check_type(info: &ResourceInfo, obj: &mut Value, require: bool) -> Result<(), ApiError> {
    let want_av = info.api_version();
    let Some(m) = obj.as_object_mut() else { return Err(ApiError::bad_request("the request body must be an object")) };
    match m.get("apiVersion").and_then(Value::as_str) {
        Some(av) if av != want_av => {
            return Err(ApiError::bad_request(&format!(
                "the API version in the data ({av}) does not match the expected API version ({want_av})"
            )))
        }
        None if require => return Err(ApiError::bad_request("apiVersion must be set in the applied configuration")),
        None => {
            m.insert("apiVersion".into(), json!(want_av));
        }
        _ => {}
    }
    match m.get("kind").and_then(Value::as_str) {
        Some(k) if k != info.kind => {
            return Err(ApiError::bad_request(&format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                info.kind
            )))
        }
        None if require => return Err(ApiError::bad_request("kind must be set in the applied configuration")),
        None => {
            m.insert("kind".into(), json!(info.kind));
        }
        _ => {}
    }
    Ok(())
}

/// Name and namespace in the body must agree with the URL.
fn check_identity(w: &WriteCtx, obj: &mut Value, url_name: Option<&str>) -> Result<(), ApiError> {
    let meta = crate::util::ensure_object(obj, &["metadata"])
        .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
    if let Some(n) = url_name {
        match meta.get("name").and_then(Value::as_str) {
            Some(b) if b != n => {
                return Err(ApiError::bad_request(&format!(
                    "the name of the object ({b}) does not match the name on the URL ({n})"
                )))
            }
            _ => {
                meta.insert("name".into(), json!(n));
            }
        }
    }
    if w.info.namespaced {
        match meta.get("namespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() && ns != w.namespace => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ))
            }
            _ => {
                meta.insert("namespace".into(), json!(w.namespace));
            }
        }
    } else {
        meta.shift_remove("namespace");
    }
    Ok(())
}

/// Creating in a namespace needs the namespace, and one that is not being deleted.
fn check_namespace(st: &State, w: &WriteCtx, name: &str) -> Result<(), ApiError> {
    if !w.info.namespaced {
        return Ok(());
    }
    match st.store.get(&ObjKey::new("", "namespaces", "", w.namespace)) {
        None => Err(ApiError::not_found("", "namespaces", w.namespace)),
        Some(ns) if ns.pointer("/metadata/deletionTimestamp").is_some() => Err(ApiError::forbidden(
            &w.info.group,
            &w.info.plural,
            name,
            &format!("unable to create new content in namespace {} because it is being terminated", w.namespace),
        )),
        Some(_) => Ok(()),
    }
}

/// Drops (or, under fieldValidation=Strict, refuses) fields the schema does not declare.
fn unknown_fields(st: &State, w: &WriteCtx, obj: &mut Value, apply: bool) -> Result<(), ApiError> {
    if !st.prune_unknown_fields || w.info.custom {
        return Ok(());
    }
    let mut found = Vec::new();
    crate::apply::walk::drop_unknown_fields(obj, w.ty(), "", &mut found);
    if w.strict && !found.is_empty() {
        let msg = if apply {
            format!("{}: field not declared in schema", found.join(", "))
        } else {
            let quoted: Vec<String> =
                found.iter().map(|f| format!("unknown field {:?}", f.trim_start_matches('.'))).collect();
            format!("strict decoding error: {}", quoted.join(", "))
        };
        return Err(ApiError::bad_request(&msg));
    }
    Ok(())
}

/// Values of the wrong JSON type fail decoding on a real server (400).
fn check_types(w: &WriteCtx, obj: &Value, apply: bool) -> Result<(), ApiError> {
    if w.info.custom {
        return Ok(());
    }
    let Some(e) = crate::apply::walk::type_error(obj, w.ty(), "") else { return Ok(()) };
    let msg = if apply {
        format!(
            "failed to create typed patch object ({}/{}; {}, Kind={}): {}: expected {}, got {}",
            w.namespace,
            name_of(obj),
            w.info.api_version(),
            w.info.kind,
            e.path,
            e.expected,
            e.got
        )
    } else {
        format!("json: cannot unmarshal {} into Go struct field {}{} of type {}", e.got, w.info.kind, e.path, e.go_type)
    };
    Err(ApiError::bad_request(&msg))
}

fn defaults(w: &WriteCtx, obj: &mut Value) -> Result<(), ApiError> {
    check_types(w, obj, false)?;
    defaults::apply_defaults(w.info, obj).map_err(|e| ApiError::bad_request(&e))
}

fn rv_of(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/resourceVersion").and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn name_of(obj: &Value) -> String {
    obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string()
}

/// POST: create.
pub fn create(sh: &Arc<Shared>, st: &mut State, w: &WriteCtx, req: &Request) -> Result<Reply, ApiError> {
    let mut obj = decode_body(req)?;
    check_type(w.info, &mut obj, false)?;
    check_identity(w, &mut obj, None)?;
    if rv_of(&obj).is_some() {
        return Err(ApiError::bad_request("resourceVersion should not be set on objects to be created"));
    }
    let meta = crate::util::ensure_object(&mut obj, &["metadata"])
        .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
    let has_name = meta.get("name").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
    if !has_name {
        if let Some(prefix) = meta.get("generateName").and_then(Value::as_str).filter(|p| !p.is_empty()) {
            let name = format!("{prefix}{}", crate::util::name_suffix(5));
            meta.insert("name".into(), json!(name));
        }
    }
    create_object(sh, st, w, obj)
}

/// Shared tail of POST and create-on-PUT.
fn create_object(sh: &Arc<Shared>, st: &mut State, w: &WriteCtx, mut obj: Value) -> Result<Reply, ApiError> {
    let name = name_of(&obj);
    check_namespace(st, w, &name)?;
    if let Some(existing) = st.store.get(&w.key(&name)).filter(|_| !name.is_empty()) {
        let mut err = ApiError::already_exists(&w.info.group, &w.info.plural, &name);
        if existing.pointer("/metadata/deletionTimestamp").is_some() {
            // The registry's Create says why the name is still taken.
            err.message = format!("object is being deleted: {}", err.message);
            err.body["message"] = json!(err.message);
        }
        return Err(err);
    }
    unknown_fields(st, w, &mut obj, false)?;
    defaults(w, &mut obj)?;
    let now = st.now();
    let av = w.info.api_version();
    let before = strategy::baseline(w.info, &obj);
    apply::record_update(&before, &mut obj, w.ty(), &w.writer(&av, &now));
    finish(sh, st, w, None, obj)
}

/// PUT: replace (the status subresource replaces only status).
pub fn update(sh: &Arc<Shared>, st: &mut State, w: &WriteCtx, name: &str, req: &Request) -> Result<Reply, ApiError> {
    let mut obj = decode_body(req)?;
    check_type(w.info, &mut obj, false)?;
    check_identity(w, &mut obj, Some(name))?;
    let Some(old) = w.load(st, name) else {
        if w.info.allow_create_on_update() && !w.status_subresource {
            if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                m.shift_remove("resourceVersion");
            }
            return create_object(sh, st, w, obj);
        }
        return Err(ApiError::not_found(&w.info.group, &w.info.plural, name));
    };
    if let Some(rv) = rv_of(&obj) {
        if Some(rv) != rv_of(&old) {
            return Err(ApiError::stale(&w.info.group, &w.info.plural, name));
        }
    }
    let new = if w.status_subresource {
        status_view(&old, &obj)
    } else {
        unknown_fields(st, w, &mut obj, false)?;
        defaults(w, &mut obj)?;
        obj
    };
    update_object(sh, st, w, old, new)
}

/// A status-subresource write keeps everything but status and annotations from the stored object
/// (the Deployment status strategy lets controllers set annotations, as the captures show).
fn status_view(old: &Value, written: &Value) -> Value {
    let mut n = old.clone();
    if let Some(m) = n.as_object_mut() {
        match written.get("status") {
            Some(s) => m.insert("status".into(), s.clone()),
            None => m.shift_remove("status"),
        };
    }
    if let Some(meta) = n.get_mut("metadata").and_then(Value::as_object_mut) {
        match written.pointer("/metadata/annotations") {
            Some(a) => meta.insert("annotations".into(), a.clone()),
            None => meta.shift_remove("annotations"),
        };
    }
    n
}

/// Ownership bookkeeping plus the common tail for every non-apply change of an existing object.
pub fn update_object(
    sh: &Arc<Shared>,
    st: &mut State,
    w: &WriteCtx,
    old: Value,
    mut new: Value,
) -> Result<Reply, ApiError> {
    let now = st.now();
    let av = w.info.api_version();
    apply::record_update(&old, &mut new, w.ty(), &w.writer(&av, &now));
    finish(sh, st, w, Some(old), new)
}

/// PATCH with any of the four content types.
pub fn patch(
    sh: &Arc<Shared>,
    st: &mut State,
    w: &WriteCtx,
    name: &str,
    req: &Request,
    force: bool,
) -> Result<Reply, ApiError> {
    let ct = req.content_type.as_deref().unwrap_or("").split(';').next().unwrap_or("").trim().to_string();
    let text = std::str::from_utf8(&req.body).map_err(|_| ApiError::bad_request("the request body is not UTF-8"))?;
    if ct == "application/apply-patch+yaml" {
        return server_side_apply(sh, st, w, name, text, force);
    }
    if force {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "PatchOptions",
            "",
            vec![Cause::forbidden("force", "may not be specified for non-apply patch")],
        ));
    }
    let Some(old) = w.load(st, name) else {
        return Err(ApiError::not_found(&w.info.group, &w.info.plural, name));
    };
    let doc: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Err(ApiError::bad_request(&format!("error decoding patch: {e}"))),
    };
    let patched = match ct.as_str() {
        "application/merge-patch+json" => Ok(merge_patch::apply(&old, &doc)),
        "application/json-patch+json" => json_patch::apply(&old, &doc),
        "application/strategic-merge-patch+json" if !w.info.custom => strategic::apply(&old, &doc, w.ty()),
        _ => return Err(unsupported_patch(w.info.custom)),
    };
    let mut patched = match patched {
        Ok(p) => p,
        Err(PatchError::Malformed(m)) => return Err(ApiError::bad_request(&m)),
        Err(PatchError::Failed(_)) => return Err(ApiError::unprocessable()),
    };
    if rv_of(&patched).is_some() && rv_of(&patched) != rv_of(&old) {
        return Err(ApiError::stale(&w.info.group, &w.info.plural, name));
    }
    if name_of(&patched) != name {
        return Err(ApiError::bad_request(&format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            name_of(&patched)
        )));
    }
    check_type(w.info, &mut patched, false)?;
    let new = if w.status_subresource {
        status_view(&old, &patched)
    } else {
        unknown_fields(st, w, &mut patched, false)?;
        defaults(w, &mut patched)?;
        patched
    };
    update_object(sh, st, w, old, new)
}

fn unsupported_patch(custom: bool) -> ApiError {
    let mut accepted =
        vec!["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"];
    if !custom {
        accepted.push("application/strategic-merge-patch+json");
    }
    ApiError::unsupported_media(&accepted)
}

/// `application/apply-patch+yaml`.
fn server_side_apply(
    sh: &Arc<Shared>,
    st: &mut State,
    w: &WriteCtx,
    name: &str,
    text: &str,
    force: bool,
) -> Result<Reply, ApiError> {
    if w.manager.is_empty() {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "PatchOptions",
            "",
            vec![Cause::required("fieldManager", "is required for apply patch")],
        ));
    }
    let mut config =
        crate::yaml::parse_document(text).map_err(|e| ApiError::bad_request(&format!("error decoding YAML: {e}")))?;
    if !config.is_object() {
        return Err(ApiError::bad_request("the applied configuration must be an object"));
    }
    check_type(w.info, &mut config, true)?;
    check_identity(w, &mut config, Some(name))?;
    let existing = w.load(st, name);
    if existing.is_none() {
        check_namespace(st, w, name)?;
    }
    if let (Some(rv), Some(old)) = (rv_of(&config), existing.as_ref()) {
        if Some(rv) != rv_of(old) {
            return Err(ApiError::stale(&w.info.group, &w.info.plural, name));
        }
    }
    if let Some(m) = config.get_mut("metadata").and_then(Value::as_object_mut) {
        m.shift_remove("resourceVersion");
    }
    unknown_fields(st, w, &mut config, true)?;
    check_types(w, &config, true)?;
    let live = existing.clone().unwrap_or_else(|| json!({}));
    let now = st.now();
    let av = w.info.api_version();
    let mut merged = match apply::apply(&live, &config, w.ty(), &w.writer(&av, &now), force) {
        Ok(m) => m,
        Err(conflicts) => {
            let causes: Vec<Cause> = conflicts
                .iter()
                .map(|c| Cause::new("FieldManagerConflict", format!("conflict with {}", c.manager), c.field()))
                .collect();
            return Err(ApiError::apply_conflict(&apply::conflict_message(&conflicts), &causes));
        }
    };
    defaults(w, &mut merged)?;
    finish(sh, st, w, existing, merged)
}

/// Server-owned metadata on create.
fn stamp_create(info: &ResourceInfo, obj: &mut Value, uid: &str, now: &str) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("uid".into(), json!(uid));
        meta.insert("creationTimestamp".into(), json!(now));
        for k in ["resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "generation"] {
            meta.shift_remove(k);
        }
        if info.tracks_generation() {
            meta.insert("generation".into(), json!(1));
        }
    }
}

/// Server-owned metadata on update: identity stays, generation follows spec changes.
fn stamp_update(info: &ResourceInfo, old: &Value, new: &mut Value, status_only: bool) {
    let mut generation = old.pointer("/metadata/generation").cloned();
    if info.tracks_generation() && !status_only {
        let changed = if info.custom {
            body_of(old, true).as_object().map(|m| m.iter().filter(|(k, _)| *k != "metadata").collect::<Vec<_>>())
                != body_of(new, true)
                    .as_object()
                    .map(|m| m.iter().filter(|(k, _)| *k != "metadata").collect::<Vec<_>>())
        } else {
            let deploy_annotations = info.kind == "Deployment"
                && old.pointer("/metadata/annotations") != new.pointer("/metadata/annotations");
            old.get("spec") != new.get("spec") || deploy_annotations
        };
        let deleting = old.pointer("/metadata/deletionTimestamp").is_none()
            && new.pointer("/metadata/deletionTimestamp").is_some();
        if changed || deleting {
            generation = Some(json!(generation.as_ref().and_then(Value::as_i64).unwrap_or(0) + 1));
        }
    }
    if let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in ["uid", "creationTimestamp", "resourceVersion"] {
            match old.pointer(&format!("/metadata/{k}")) {
                Some(v) => meta.insert(k.into(), v.clone()),
                None => meta.shift_remove(k),
            };
        }
        if !meta.contains_key("deletionTimestamp") {
            for k in ["deletionTimestamp", "deletionGracePeriodSeconds"] {
                if let Some(v) = old.pointer(&format!("/metadata/{k}")) {
                    meta.insert(k.into(), v.clone());
                }
            }
        }
        match generation {
            Some(g) => meta.insert("generation".into(), g),
            None => meta.shift_remove("generation"),
        };
    }
}

/// Common tail: strategy, validation, no-op detection, dry run, storing, controller hook.
pub fn finish(
    sh: &Arc<Shared>,
    st: &mut State,
    w: &WriteCtx,
    old: Option<Value>,
    mut new: Value,
) -> Result<Reply, ApiError> {
    let name = name_of(&new);
    let key = w.key(&name);
    match &old {
        None => {
            let uid = new_uid();
            let now = st.now();
            stamp_create(w.info, &mut new, &uid, &now);
            strategy::prepare_create(w.info, &mut new, &uid, &mut st.alloc);
            if let Some(m) = new.as_object_mut() {
                if w.info.has_status() || !m.contains_key("status") {
                    m.shift_remove("status");
                    if let Some(s) = strategy::initial_status(w.info) {
                        m.insert("status".into(), s);
                    }
                }
            }
        }
        Some(old) => {
            stamp_update(w.info, old, &mut new, w.status_subresource);
            if !w.status_subresource {
                strategy::prepare_update(w.info, old, &mut new, &mut st.alloc);
                if w.info.has_status() {
                    if let Some(m) = new.as_object_mut() {
                        m.shift_remove("status");
                        if let Some(s) = old.get("status") {
                            m.insert("status".into(), s.clone());
                        }
                    }
                }
            }
        }
    }
    strategy::normalize_order(&mut new);
    validation::validate(w.info, &new, old.as_ref(), &st.validation)?;
    if serde_json::to_vec(&new).map_or(0, |b| b.len()) > MAX_OBJECT_BYTES {
        return Err(ApiError::too_large("etcdserver: request is too large"));
    }
    if let Some(old) = &old {
        if *old == new {
            return Ok(Reply::ok(new));
        }
    }
    let created = old.is_none();
    let code = if created { 201 } else { 200 };
    if w.dry_run {
        if created {
            if let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.shift_remove("resourceVersion");
            }
        }
        return Ok(Reply::json(code, new));
    }
    let finalized = new.pointer("/metadata/deletionTimestamp").is_some()
        && new.pointer("/metadata/finalizers").and_then(Value::as_array).map_or(true, Vec::is_empty);
    let stored = st.store.put(key.clone(), new);
    if finalized {
        st.store.remove(&key);
        return Ok(Reply::json(code, stored));
    }
    if !w.status_subresource {
        crate::workers::after_write(sh, st, w.info, &key);
    }
    Ok(Reply::json(code, stored))
}
