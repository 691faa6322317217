//! GET of one object and LIST (selectors, pagination, server-side Table printing).

use super::Request;
use crate::http::Reply;
use crate::resources::ResourceInfo;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::state::State;
use crate::status::ApiError;
use crate::store::ObjKey;
use crate::table;
use base64::Engine;
use serde_json::{json, Value};

/// GET one object (also serves `/status`).
pub fn get(st: &State, info: &ResourceInfo, namespace: &str, name: &str, req: &Request) -> Result<Reply, ApiError> {
    let key = ObjKey::new(&info.group, &info.plural, namespace, name);
    let obj = st.store.get(&key).cloned().ok_or_else(|| ApiError::not_found(&info.group, &info.plural, name))?;
    if let Some(v) = table::wants_table(&req.accept) {
        let include = req.query.get("includeObject").unwrap_or("Metadata");
        let rv = obj.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or("").to_string();
        return Ok(Reply::ok(table::table(info, &[obj], &rv, include, v)));
    }
    Ok(Reply::ok(obj))
}

/// The objects a list or watch selects.
pub fn select(st: &State, info: &ResourceInfo, namespace: Option<&str>, req: &Request) -> Result<Vec<Value>, ApiError> {
    let labels =
        LabelSelector::parse(req.query.get("labelSelector").unwrap_or("")).map_err(|e| ApiError::bad_request(&e))?;
    let fields = FieldSelector::parse(req.query.get("fieldSelector").unwrap_or(""), &info.plural)
        .map_err(|e| ApiError::bad_request(&e))?;
    Ok(st
        .store
        .list(&info.group, &info.plural, namespace)
        .into_iter()
        .filter(|o| labels.matches(o.pointer("/metadata/labels").and_then(Value::as_object)) && fields.matches(o))
        .cloned()
        .collect())
}

fn continue_token(obj: &Value) -> String {
    let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
    let raw = format!("{}/{}", s("/metadata/namespace"), s("/metadata/name"));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// LIST with `labelSelector`, `fieldSelector`, `limit` and `continue`.
pub fn list(st: &State, info: &ResourceInfo, namespace: Option<&str>, req: &Request) -> Result<Reply, ApiError> {
    let mut items = select(st, info, namespace, req)?;
    if let Some(token) = req.query.get("continue").filter(|t| !t.is_empty()) {
        let start = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| ApiError::bad_request("continue key is not valid"))?;
        let pos = items.iter().position(|o| continue_token(o) == token).map(|i| i + 1);
        items = match pos {
            Some(p) => items.split_off(p),
            None => items
                .into_iter()
                .filter(|o| {
                    let raw = format!(
                        "{}/{}",
                        o.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or(""),
                        o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
                    );
                    raw > start
                })
                .collect(),
        };
    }
    let mut list_meta = serde_json::Map::new();
    list_meta.insert("resourceVersion".into(), json!(st.store.current_rv().to_string()));
    if let Some(limit) = req.query.get("limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0) {
        if items.len() > limit {
            let rest = items.split_off(limit);
            if let Some(last) = items.last() {
                list_meta.insert("continue".into(), json!(continue_token(last)));
            }
            list_meta.insert("remainingItemCount".into(), json!(rest.len()));
        }
    }
    let rv = st.store.current_rv().to_string();
    if let Some(v) = table::wants_table(&req.accept) {
        let include = req.query.get("includeObject").unwrap_or("Metadata");
        let mut t = table::table(info, &items, &rv, include, v);
        t["metadata"] = json!(list_meta);
        return Ok(Reply::ok(t));
    }
    if !info.custom {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            item.shift_remove("kind");
            item.shift_remove("apiVersion");
        }
    }
    Ok(Reply::ok(json!({
        "kind": format!("{}List", info.kind),
        "apiVersion": info.api_version(),
        "metadata": list_meta,
        "items": items,
    })))
}
