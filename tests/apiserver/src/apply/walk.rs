//! Schema-guided walks over JSON objects: the field set an applier owns, the difference between
//! two objects, merging an applied configuration into the live object, and removing fields.

use super::fieldpath::{canonical_key, FieldSet, Path, Pe};
use super::schema::{schema, ListKind, Shape, Ty};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// Key fields the real server fills from schema defaults when an item omits them.
fn key_default(field: &str) -> Option<Value> {
    (field == "protocol").then(|| Value::String("TCP".into()))
}

/// The path element that names `item` inside a list of `kind`.
pub fn item_pe(kind: &ListKind, item: &Value, index: usize) -> Pe {
    match kind {
        ListKind::Map(keys) if !keys.is_empty() => {
            let fields: Vec<(String, Value)> = keys
                .iter()
                .filter_map(|k| {
                    item.get(k).filter(|v| !v.is_null()).cloned().or_else(|| key_default(k)).map(|v| (k.clone(), v))
                })
                .collect();
            Pe::Key(canonical_key(&fields))
        }
        ListKind::Set => Pe::Value(item.to_string()),
        _ => Pe::Index(index),
    }
}

/// The fields an applied configuration sets (what its manager will own).
pub fn to_field_set(value: &Value, ty: Ty) -> FieldSet {
    let mut set = FieldSet::new();
    collect(value, ty, &mut Vec::new(), &mut set);
    set
}

fn collect(v: &Value, ty: Ty, path: &mut Path, set: &mut FieldSet) {
    let shape = schema().shape(ty, Some(v));
    match (&shape, v) {
        (Shape::List(ListKind::Atomic, _), _) | (Shape::Scalar, _) | (Shape::Atomic, _) => set.insert(path.clone()),
        (Shape::List(kind, elem), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                path.push(item_pe(kind, item, i));
                set.insert(path.clone());
                if matches!(kind, ListKind::Map(_)) {
                    collect(item, *elem, path, set);
                }
                path.pop();
            }
        }
        (s, Value::Object(m)) if s.is_granular_object() => {
            for (k, c) in m {
                path.push(Pe::Field(k.clone()));
                collect(c, shape.child(k), path, set);
                let empty_map = c.as_object().is_some_and(Map::is_empty);
                if c.is_null() || empty_map || shape.is_map() {
                    set.insert(path.clone());
                }
                path.pop();
            }
        }
        _ => set.insert(path.clone()),
    }
}

/// What changed between two versions of an object.
#[derive(Debug, Default, Clone)]
pub struct Comparison {
    pub added: FieldSet,
    pub modified: FieldSet,
    pub removed: FieldSet,
}

impl Comparison {
    /// Fields whose value this change set or replaced.
    pub fn changed(&self) -> FieldSet {
        self.added.union(&self.modified)
    }
}

/// Compares `old` with `new`; a null counts as an existing empty container.
pub fn compare(old: &Value, new: &Value, ty: Ty) -> Comparison {
    let mut c = Comparison::default();
    cmp(Some(old), Some(new), ty, &mut Vec::new(), &mut c);
    c
}

fn cmp(old: Option<&Value>, new: Option<&Value>, ty: Ty, path: &mut Path, c: &mut Comparison) {
    let new = new.filter(|v| !v.is_null() || old.is_some_and(Value::is_null));
    match (old, new) {
        (None, None) => {}
        (None, Some(n)) => subtree(n, ty, path, &mut c.added),
        (Some(o), None) => subtree(o, ty, path, &mut c.removed),
        (Some(o), Some(n)) => {
            let shape = schema().shape(ty, Some(n).filter(|v| !v.is_null()).or(Some(o)));
            match &shape {
                Shape::List(kind, elem) if *kind != ListKind::Atomic => {
                    let empty = Vec::new();
                    let (Some(ol), Some(nl)) = (as_list(o, &empty), as_list(n, &empty)) else {
                        return leaf_cmp(o, n, path, c);
                    };
                    let old_items: Vec<(Pe, &Value)> =
                        ol.iter().enumerate().map(|(i, v)| (item_pe(kind, v, i), v)).collect();
                    let new_pes: HashSet<Pe> = nl.iter().enumerate().map(|(i, v)| item_pe(kind, v, i)).collect();
                    for (i, item) in nl.iter().enumerate() {
                        let pe = item_pe(kind, item, i);
                        let prev = old_items.iter().find(|(p, _)| *p == pe).map(|(_, v)| *v);
                        path.push(pe);
                        cmp(prev, Some(item), *elem, path, c);
                        path.pop();
                    }
                    for (pe, item) in &old_items {
                        if !new_pes.contains(pe) {
                            path.push(pe.clone());
                            subtree(item, *elem, path, &mut c.removed);
                            path.pop();
                        }
                    }
                }
                s if s.is_granular_object() => {
                    let empty = Map::new();
                    let (Some(om), Some(nm)) = (as_map(o, &empty), as_map(n, &empty)) else {
                        return leaf_cmp(o, n, path, c);
                    };
                    for (k, nv) in nm {
                        path.push(Pe::Field(k.clone()));
                        cmp(om.get(k), Some(nv), shape.child(k), path, c);
                        path.pop();
                    }
                    for (k, ov) in om {
                        if !nm.contains_key(k) {
                            path.push(Pe::Field(k.clone()));
                            subtree(ov, shape.child(k), path, &mut c.removed);
                            path.pop();
                        }
                    }
                }
                _ => leaf_cmp(o, n, path, c),
            }
        }
    }
}

fn leaf_cmp(o: &Value, n: &Value, path: &Path, c: &mut Comparison) {
    if o != n {
        c.modified.insert(path.clone());
    }
}

fn as_list<'a>(v: &'a Value, empty: &'a Vec<Value>) -> Option<&'a Vec<Value>> {
    match v {
        Value::Array(a) => Some(a),
        Value::Null => Some(empty),
        _ => None,
    }
}

fn as_map<'a>(v: &'a Value, empty: &'a Map<String, Value>) -> Option<&'a Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m),
        Value::Null => Some(empty),
        _ => None,
    }
}

/// Every node of `v` (itself included), skipping nulls.
fn subtree(v: &Value, ty: Ty, path: &mut Path, set: &mut FieldSet) {
    if v.is_null() {
        return;
    }
    set.insert(path.clone());
    let shape = schema().shape(ty, Some(v));
    match (&shape, v) {
        (Shape::List(kind, elem), Value::Array(items)) if *kind != ListKind::Atomic => {
            for (i, item) in items.iter().enumerate() {
                path.push(item_pe(kind, item, i));
                subtree(item, *elem, path, set);
                path.pop();
            }
        }
        (s, Value::Object(m)) if s.is_granular_object() => {
            for (k, c) in m {
                path.push(Pe::Field(k.clone()));
                subtree(c, shape.child(k), path, set);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Merges an applied configuration into the live object: objects merge, associative lists merge
/// by key (in the real interleaving order), everything else is replaced. Nulls remove.
pub fn merge(live: Option<&Value>, config: &Value, ty: Ty) -> Value {
    let shape = schema().shape(ty, Some(config));
    match (&shape, config) {
        (Shape::List(kind, elem), Value::Array(rhs)) if *kind != ListKind::Atomic => {
            let empty = Vec::new();
            let lhs = live.and_then(Value::as_array).unwrap_or(&empty);
            Value::Array(merge_list(lhs, rhs, kind, *elem))
        }
        (s, Value::Object(cm)) if s.is_granular_object() => {
            let mut out = live.and_then(Value::as_object).cloned().unwrap_or_default();
            for (k, cv) in cm {
                if cv.is_null() {
                    out.shift_remove(k);
                    continue;
                }
                let merged = merge(out.get(k), cv, shape.child(k));
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        _ => config.clone(),
    }
}

/// structured-merge-diff's list merge: shared items follow the applied order, live-only items
/// keep their place.
fn merge_list(lhs: &[Value], rhs: &[Value], kind: &ListKind, elem: Ty) -> Vec<Value> {
    let lpe: Vec<Pe> = lhs.iter().enumerate().map(|(i, v)| item_pe(kind, v, i)).collect();
    let rpe: Vec<Pe> = rhs.iter().enumerate().map(|(i, v)| item_pe(kind, v, i)).collect();
    let mut lmap: HashMap<&Pe, usize> = HashMap::new();
    for (i, p) in lpe.iter().enumerate() {
        lmap.entry(p).or_insert(i);
    }
    let mut rmap: HashMap<&Pe, usize> = HashMap::new();
    for (i, p) in rpe.iter().enumerate() {
        rmap.entry(p).or_insert(i);
    }
    let shared: Vec<&Pe> = rpe.iter().filter(|p| lmap.contains_key(p)).collect();
    let mut next_shared = 0usize;
    let mut merged_rhs: HashSet<&Pe> = HashSet::new();
    let mut out = Vec::with_capacity(lhs.len() + rhs.len());
    let item = |l: Option<usize>, r: usize| -> Value {
        match kind {
            ListKind::Map(_) => merge(l.map(|i| &lhs[i]), &rhs[r], elem),
            _ => rhs[r].clone(),
        }
    };
    let (mut li, mut ri) = (0usize, 0usize);
    while li < lpe.len() || ri < rpe.len() {
        if li < lpe.len() && ri < rpe.len() {
            let pe = &lpe[li];
            if *pe == rpe[ri] {
                merged_rhs.insert(pe);
                out.push(item(lmap.get(pe).copied(), ri));
                li += 1;
                ri += 1;
                next_shared += 1;
                continue;
            }
            if rmap.contains_key(pe) && shared.get(next_shared).is_some_and(|s| *s != pe) {
                li += 1;
                continue;
            }
        }
        if li < lpe.len() {
            let pe = &lpe[li];
            if !rmap.contains_key(pe) {
                out.push(lhs[li].clone());
                li += 1;
                continue;
            } else if merged_rhs.contains(pe) {
                li += 1;
                continue;
            }
        }
        if ri < rpe.len() {
            let pe = &rpe[ri];
            merged_rhs.insert(pe);
            out.push(item(lmap.get(pe).copied(), ri));
            ri += 1;
            if shared.get(next_shared).is_some_and(|s| *s == pe) {
                next_shared += 1;
            }
        }
    }
    out
}

/// A value whose JSON type the schema does not allow.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeError {
    pub path: String,
    pub expected: &'static str,
    pub go_type: &'static str,
    pub got: &'static str,
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The first value (depth first) whose JSON type does not fit the schema; nulls always fit.
pub fn type_error(v: &Value, ty: Ty, path: &str) -> Option<TypeError> {
    if v.is_null() {
        return None;
    }
    let shape = schema().shape(ty, Some(v));
    let err = |expected: &'static str, go_type: &'static str| {
        Some(TypeError { path: path.to_string(), expected, go_type, got: json_type(v) })
    };
    match (&shape, v) {
        (Shape::Struct(_) | Shape::Map(_) | Shape::Atomic, Value::Object(m)) => {
            m.iter().find_map(|(k, c)| type_error(c, shape.child(k), &format!("{path}.{k}")))
        }
        (Shape::Struct(_) | Shape::Map(_), _) => err("map", "struct"),
        (Shape::List(_, elem), Value::Array(a)) => {
            a.iter().enumerate().find_map(|(i, c)| type_error(c, *elem, &format!("{path}[{i}]")))
        }
        (Shape::List(..), _) if matches!(ty, Ty::Node(_)) => err("list", "slice"),
        (Shape::Scalar, _) => match schema().scalar_type(ty) {
            Some(t) if !t.accepts(v) => err(
                match t {
                    crate::apply::schema::ScalarType::Integer | crate::apply::schema::ScalarType::Number => "numeric",
                    crate::apply::schema::ScalarType::Boolean => "boolean",
                    crate::apply::schema::ScalarType::String => "string",
                    crate::apply::schema::ScalarType::StringOrNumber => "string or number",
                },
                t.go_name(),
            ),
            _ => None,
        },
        _ => None,
    }
}

/// Removes fields the schema does not declare, returning their paths (".spec.foo").
pub fn drop_unknown_fields(v: &mut Value, ty: Ty, prefix: &str, out: &mut Vec<String>) {
    let shape = schema().shape(ty, Some(v));
    match (&shape, v) {
        (Shape::Struct(props), Value::Object(m)) => {
            let unknown: Vec<String> = m.keys().filter(|k| !props.contains_key(*k)).cloned().collect();
            for k in unknown {
                m.shift_remove(&k);
                out.push(format!("{prefix}.{k}"));
            }
            for (k, c) in m.iter_mut() {
                drop_unknown_fields(c, shape.child(k), &format!("{prefix}.{k}"), out);
            }
        }
        (Shape::Map(_) | Shape::CustomRoot, Value::Object(m)) => {
            for (k, c) in m.iter_mut() {
                drop_unknown_fields(c, shape.child(k), &format!("{prefix}.{k}"), out);
            }
        }
        (Shape::List(_, elem), Value::Array(a)) => {
            for (i, c) in a.iter_mut().enumerate() {
                drop_unknown_fields(c, *elem, &format!("{prefix}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::fieldpath::FieldSet;
    use super::*;
    use crate::apply::locate::{drop_empty_maps_above, remove_path};
    use serde_json::json;

    fn deploy_ty() -> Ty {
        schema().root("apps", "v1", "Deployment")
    }

    fn config() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "capture-demo", "labels": {"app.kubernetes.io/name": "web"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
                "template": {"metadata": {"labels": {"app.kubernetes.io/name": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "docker.io/dimtensor:4.2.0",
                        "ports": [{"name": "http", "containerPort": 8080}]}]}}}})
    }

    #[test]
    fn applied_set_matches_capture() {
        let mut set = to_field_set(&config(), deploy_ty());
        for f in ["apiVersion", "kind"] {
            set.remove_subtree(&vec![Pe::Field(f.into())]);
        }
        for f in ["name", "namespace"] {
            set.remove_subtree(&vec![Pe::Field("metadata".into()), Pe::Field(f.into())]);
        }
        let expected = json!({
            "f:metadata": {"f:labels": {"f:app.kubernetes.io/name": {}}},
            "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {
                "f:metadata": {"f:labels": {"f:app.kubernetes.io/name": {}}},
                "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {},
                    "f:ports": {"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:name": {}}}}}}}}
        });
        assert_eq!(set.to_fields_v1(), expected);
    }

    #[test]
    fn compare_reports_added_env_like_the_capture() {
        let old = config();
        let mut new = config();
        new["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "A", "value": "1"}]);
        new["spec"]["replicas"] = json!(5);
        let c = compare(&old, &new, deploy_ty());
        let got = c.changed().to_fields_v1();
        assert_eq!(
            got,
            json!({"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {
                "f:env": {".": {}, "k:{\"name\":\"A\"}": {".": {}, "f:name": {}, "f:value": {}}}}}}}}})
        );
        assert!(c.removed.is_empty());
    }

    #[test]
    fn merge_keeps_live_only_items_and_follows_applied_order() {
        let ty = deploy_ty();
        let live = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}}}});
        let cfg = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "3"}, {"name": "a", "image": "9"}]}}}});
        let out = merge(Some(&live), &cfg, ty);
        let names: Vec<&str> = out["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["c", "a", "b"]);
        assert_eq!(out["spec"]["template"]["spec"]["containers"][1]["image"], "9");
    }

    #[test]
    fn remove_by_key_and_drop_empty_labels() {
        let ty = deploy_ty();
        let mut obj = config();
        let key = Pe::Key(canonical_key(&[("name".into(), json!("web"))]));
        let p = vec![
            Pe::Field("spec".into()),
            Pe::Field("template".into()),
            Pe::Field("spec".into()),
            Pe::Field("containers".into()),
            key,
            Pe::Field("image".into()),
        ];
        assert!(remove_path(&mut obj, &p, ty));
        assert!(obj["spec"]["template"]["spec"]["containers"][0].get("image").is_none());
        let lp =
            vec![Pe::Field("metadata".into()), Pe::Field("labels".into()), Pe::Field("app.kubernetes.io/name".into())];
        assert!(remove_path(&mut obj, &lp, ty));
        drop_empty_maps_above(&mut obj, &lp, ty);
        assert!(obj["metadata"].get("labels").is_none());
        let _ = FieldSet::new();
    }

    #[test]
    fn type_errors_are_found() {
        let mut v = config();
        assert_eq!(type_error(&v, deploy_ty(), ""), None);
        v["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({"limits": {"cpu": 1, "memory": "1Gi"}});
        assert_eq!(type_error(&v, deploy_ty(), ""), None, "quantities take numbers");
        v["spec"]["replicas"] = json!("many");
        let e = type_error(&v, deploy_ty(), "").unwrap();
        assert_eq!((e.path.as_str(), e.got, e.go_type), (".spec.replicas", "string", "int32"));
        let mut l = config();
        l["metadata"]["labels"] = json!(["x"]);
        assert_eq!(type_error(&l, deploy_ty(), "").unwrap().path, ".metadata.labels");
    }

    #[test]
    fn unknown_fields_are_reported() {
        let mut v = config();
        v["spec"]["bogus"] = json!(1);
        let mut out = Vec::new();
        drop_unknown_fields(&mut v, deploy_ty(), "", &mut out);
        assert_eq!(out, vec![".spec.bogus".to_string()]);
    }
}
