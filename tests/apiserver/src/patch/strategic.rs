//! A small strategic merge patch: objects merge, lists whose schema says `merge` merge by their
//! merge key (containers, env, ports, volumes, volumeMounts, ...) or as sets, other lists are
//! replaced. Supports the directives kubectl sends: `$patch` (replace/delete/merge),
//! `$retainKeys`, `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>`.

use super::PatchError;
use crate::apply::schema::{patch_strategy, schema, Ty};
use serde_json::{Map, Value};

/// Applies `patch` to `target`, with merge rules taken from the schema at `ty`.
pub fn apply(target: &Value, patch: &Value, ty: Ty) -> Result<Value, PatchError> {
    let Value::Object(pm) = patch else {
        return Err(PatchError::Malformed("a strategic merge patch must be an object".into()));
    };
    let empty = Map::new();
    let tm = target.as_object().unwrap_or(&empty);
    Ok(merge_map(tm, pm, ty)?.map(Value::Object).unwrap_or(Value::Object(Map::new())))
}

/// Returns None when the patch says `$patch: delete`.
fn merge_map(
    target: &Map<String, Value>,
    patch: &Map<String, Value>,
    ty: Ty,
) -> Result<Option<Map<String, Value>>, PatchError> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("delete") => return Ok(None),
        Some("replace") => return Ok(Some(strip_directives_map(patch))),
        Some("merge") | None => {}
        Some(other) => return Err(PatchError::Malformed(format!("unknown patch type {other:?}"))),
    }
    let shape = schema().shape(ty, Some(&Value::Object(target.clone())));
    let mut out = target.clone();
    for (k, pv) in patch {
        if k.starts_with('$') {
            if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
                let drop: Vec<Value> = pv.as_array().cloned().unwrap_or_default();
                if let Some(Value::Array(list)) = out.get_mut(field) {
                    list.retain(|v| !drop.contains(v));
                }
            }
            continue;
        }
        if pv.is_null() {
            out.shift_remove(k);
            continue;
        }
        let child_ty = shape.child(k);
        let merged = match (out.get(k), pv) {
            (Some(Value::Object(tv)), Value::Object(pvm)) => match merge_map(tv, pvm, child_ty)? {
                Some(m) => Value::Object(m),
                None => {
                    out.shift_remove(k);
                    continue;
                }
            },
            (None | Some(Value::Null), Value::Object(pvm)) => match merge_map(&Map::new(), pvm, child_ty)? {
                Some(m) => Value::Object(m),
                None => continue,
            },
            (existing, Value::Array(items)) => {
                let empty = Vec::new();
                let current = existing.and_then(Value::as_array).unwrap_or(&empty);
                Value::Array(merge_list(current, items, child_ty)?)
            }
            (_, scalar) => scalar.clone(),
        };
        out.insert(k.clone(), merged);
    }
    if let Some(keep) = patch.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        out.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, order) in patch {
        if let (Some(field), Some(order)) = (k.strip_prefix("$setElementOrder/"), order.as_array()) {
            let (key, _) = patch_strategy(shape.child(field));
            if let Some(Value::Array(list)) = out.get_mut(field) {
                reorder(list, order, key.as_deref());
            }
        }
    }
    Ok(Some(out))
}

fn merge_list(target: &[Value], patch: &[Value], ty: Ty) -> Result<Vec<Value>, PatchError> {
    if patch.iter().any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace")) {
        return Ok(patch.iter().filter(|i| i.get("$patch").is_none()).map(strip_directives).collect());
    }
    let (key, merge) = patch_strategy(ty);
    if !merge {
        return Ok(patch.iter().map(strip_directives).collect());
    }
    let mut out: Vec<Value> = target.to_vec();
    let Some(key) = key else {
        for v in patch {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        return Ok(out);
    };
    let elem = match schema().shape(ty, None) {
        crate::apply::schema::Shape::List(_, e) => e,
        _ => Ty::Untyped,
    };
    for item in patch {
        let Some(im) = item.as_object() else {
            return Err(PatchError::Malformed(format!("list items under merge key {key:?} must be objects")));
        };
        let id = im.get(&key);
        let pos = out.iter().position(|t| t.get(&key) == id && id.is_some());
        let delete = im.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                out.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => {
                let empty = Map::new();
                let tm = out[i].as_object().unwrap_or(&empty).clone();
                match merge_map(&tm, im, elem)? {
                    Some(m) => out[i] = Value::Object(m),
                    None => {
                        out.remove(i);
                    }
                }
            }
            (None, false) => out.push(strip_directives(item)),
        }
    }
    Ok(out)
}

fn reorder(list: &mut [Value], order: &[Value], key: Option<&str>) {
    let id = |v: &Value| -> Value {
        match key {
            Some(k) => v.get(k).cloned().unwrap_or(Value::Null),
            None => v.clone(),
        }
    };
    let wanted: Vec<Value> = order.iter().map(id).collect();
    list.sort_by_key(|v| wanted.iter().position(|w| *w == id(v)).unwrap_or(usize::MAX));
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(strip_directives_map(m)),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

fn strip_directives_map(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter().filter(|(k, _)| !k.starts_with('$')).map(|(k, v)| (k.clone(), strip_directives(v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy() -> Ty {
        schema().root("apps", "v1", "Deployment")
    }

    fn live() -> Value {
        json!({"metadata": {"name": "web", "finalizers": ["a"]}, "spec": {"replicas": 2, "template": {"spec": {
            "containers": [{"name": "web", "image": "i:1", "args": ["x"], "ports": [{"containerPort": 80, "protocol": "TCP"}]}],
            "volumes": [{"name": "v1", "emptyDir": {}}]}}}})
    }

    #[test]
    fn env_added_by_container_name_like_the_capture() {
        let p = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [{"name": "A", "value": "1"}]}]}}}});
        let out = apply(&live(), &p, deploy()).unwrap();
        let c = &out["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "i:1");
        assert_eq!(c["env"], json!([{"name": "A", "value": "1"}]));
    }

    #[test]
    fn atomic_lists_replace_and_sets_union() {
        let p = json!({"metadata": {"finalizers": ["b"]}, "spec": {"template": {"spec": {"containers": [{"name": "web", "args": ["y"]}]}}}});
        let out = apply(&live(), &p, deploy()).unwrap();
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b"]));
        assert_eq!(out["spec"]["template"]["spec"]["containers"][0]["args"], json!(["y"]));
    }

    #[test]
    fn directives() {
        let p = json!({"spec": {"replicas": null, "template": {"spec": {
            "$setElementOrder/containers": [{"name": "side"}, {"name": "web"}],
            "containers": [{"name": "side", "image": "s"}],
            "volumes": [{"name": "v1", "$patch": "delete"}]}}},
            "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}});
        let out = apply(&live(), &p, deploy()).unwrap();
        assert!(out["spec"].get("replicas").is_none());
        assert_eq!(out["spec"]["template"]["spec"]["containers"][0]["name"], "side");
        assert_eq!(out["spec"]["template"]["spec"]["volumes"], json!([]));
        assert_eq!(out["metadata"]["finalizers"], json!([]));
        let replace = json!({"spec": {"template": {"$patch": "replace", "spec": {}}}});
        assert_eq!(apply(&live(), &replace, deploy()).unwrap()["spec"]["template"], json!({"spec": {}}));
    }
}
