//! Storing objects directly (config seeds, `TestServer::insert_object`): server fields are
//! filled in, but no validation or ownership is applied, and given status/managedFields are kept.

use crate::state::State;
use crate::store::ObjKey;
use crate::util::new_uid;
use crate::{defaults, strategy};
use serde_json::{json, Value};

/// Inserts or replaces `obj`, creating its namespace if needed. Returns the stored object.
pub fn insert(st: &mut State, mut obj: Value) -> Result<Value, String> {
    let s = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
    let (av, kind, name) = (s(&obj, "/apiVersion"), s(&obj, "/kind"), s(&obj, "/metadata/name"));
    let info = st
        .registry
        .by_kind(&av, &kind)
        .cloned()
        .ok_or_else(|| format!("seed object {av}/{kind} {name:?}: this server does not serve that kind"))?;
    if name.is_empty() {
        return Err(format!("seed object {av}/{kind} has no metadata.name"));
    }
    let namespace = if info.namespaced {
        let ns = Some(s(&obj, "/metadata/namespace")).filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into());
        if st.store.get(&ObjKey::new("", "namespaces", "", &ns)).is_none() {
            insert(st, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))?;
        }
        obj["metadata"]["namespace"] = json!(ns);
        ns
    } else {
        String::new()
    };
    defaults::apply_defaults(&info, &mut obj)?;
    let uid = Some(s(&obj, "/metadata/uid")).filter(|u| !u.is_empty()).unwrap_or_else(new_uid);
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("uid".into(), json!(uid));
        meta.entry("creationTimestamp").or_insert_with(|| json!(st.now()));
        if info.tracks_generation() {
            meta.entry("generation").or_insert(json!(1));
        }
    }
    strategy::prepare_create(&info, &mut obj, &uid, &mut st.alloc);
    if obj.get("status").is_none() {
        if let (Some(status), Some(m)) = (strategy::initial_status(&info), obj.as_object_mut()) {
            m.insert("status".into(), status);
        }
    }
    let key = ObjKey::new(&info.group, &info.plural, &namespace, &name);
    Ok(st.store.put(key, obj))
}
