//! RFC 6902 JSON patches: parsed with the json-patch crate, applied as the Kubernetes API machinery
//! applies them. Operations are checked one by one so an error names the operation's index.

use super::OverlayError;
use crate::model::{fields, Resource};
use json_patch::PatchOperation;
use serde_json::{Map, Value};

/// Turns a parsed list into operations; an invalid op names its index and what is wrong.
pub fn parse_ops(ops: Vec<Value>, source: &str) -> Result<Vec<PatchOperation>, OverlayError> {
    ops.into_iter()
        .enumerate()
        .map(|(i, op)| {
            let name = op["op"].as_str().unwrap_or("").to_string();
            if !["add", "remove", "replace", "move", "copy", "test"].contains(&name.as_str()) {
                return Err(OverlayError::patch(
                    source,
                    format!(
                        "operation {i}: unknown op `{}` (expected add, remove, replace, move, copy or test)",
                        if name.is_empty() { op["op"].to_string() } else { name }
                    ),
                ));
            }
            if let Some(p) = op["path"].as_str() {
                if !p.is_empty() && !p.starts_with('/') {
                    return Err(OverlayError::patch(
                        source,
                        format!("operation {i} (`{name}`): path `{p}` must start with `/`"),
                    ));
                }
            }
            serde_json::from_value(op)
                .map_err(|e| OverlayError::patch(source, format!("operation {i} (`{name}`): {e}")))
        })
        .collect()
}

/// Applies `ops` to the resource body. A failure stops the build, so the resource is left as
/// far as it got rather than copied first to roll back: copying every patched resource was a
/// fifth of the patching time of a large overlay.
///
/// The semantics are those of evanphx/json-patch v4, which both references run (`kubectl patch
/// --type json` and Kustomize): `add` needs the parent to exist (no parents are created),
/// `replace` of a missing key in an existing map adds it, `copy` from a missing map key copies
/// null, and `test` against null also passes for a missing key. Kustomize keeps its build notes
/// in `metadata.annotations`, so for a resource that has some (see
/// [`Resource::has_build_notes`]) that map exists: it is created empty for the patch and dropped
/// again when the patch leaves it empty.
pub fn apply(res: &mut Resource, ops: &[PatchOperation], source: &str) -> Result<(), OverlayError> {
    let id = res.id();
    let notes = res.has_build_notes();
    let body = res.body_mut();
    if let (Some(meta), true) = (body.get_mut("metadata").and_then(Value::as_object_mut), notes) {
        meta.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
    }
    for (i, op) in ops.iter().enumerate() {
        if let Err(reason) = apply_op(body, op) {
            let path = match op {
                PatchOperation::Move(m) if reason.at_from => m.from.as_str(),
                PatchOperation::Copy(c) if reason.at_from => c.from.as_str(),
                _ => op_path(op),
            };
            return Err(OverlayError::Json6902 {
                patch: source.to_string(),
                op_index: i,
                op: op_name(op).to_string(),
                path: if path.is_empty() { "/".to_string() } else { path.to_string() },
                resource: id,
                reason: reason.message,
            });
        }
    }
    if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        let empty = match meta.get("annotations") {
            Some(Value::Object(m)) => m.is_empty(),
            Some(Value::Null) => true,
            _ => false,
        };
        if empty {
            meta.shift_remove("annotations");
        }
    }
    super::annotations::check_shape(body)
        .map_err(|m| OverlayError::patch(source, format!("the patch leaves {id} with invalid metadata: {m}")))
}

/// Why an operation failed; `at_from` when the `from` pointer was the problem.
struct Failure {
    message: String,
    at_from: bool,
}

fn fail(message: impl Into<String>) -> Failure {
    Failure { message: message.into(), at_from: false }
}

fn from_fail(f: Failure) -> Failure {
    Failure { at_from: true, ..f }
}

fn apply_op(doc: &mut Value, op: &PatchOperation) -> Result<(), Failure> {
    match op {
        PatchOperation::Add(a) => add(doc, a.path.as_str(), a.value.clone()),
        PatchOperation::Remove(r) => remove(doc, r.path.as_str()).map(drop),
        PatchOperation::Replace(r) => {
            let (parent, key) = parent_of(doc, r.path.as_str())?;
            match parent {
                Value::Object(m) => {
                    m.insert(key, r.value.clone());
                    Ok(())
                }
                Value::Array(a) => {
                    let i = index(&key, a.len(), false)?;
                    a[i] = r.value.clone();
                    Ok(())
                }
                _ => Err(missing_parent(r.path.as_str())),
            }
        }
        PatchOperation::Move(m) => {
            let value = remove(doc, m.from.as_str()).map_err(from_fail)?;
            add(doc, m.path.as_str(), value)
        }
        PatchOperation::Copy(c) => {
            let value = get(doc, c.from.as_str()).map_err(from_fail)?.cloned().unwrap_or(Value::Null);
            add(doc, c.path.as_str(), value)
        }
        PatchOperation::Test(t) => {
            let found = get(doc, t.path.as_str())?;
            let passed = match found {
                None | Some(Value::Null) => t.value.is_null(),
                Some(v) => v4_equal(v, &t.value),
            };
            match passed {
                true => Ok(()),
                false => Err(fail(format!("test failed: the value is not {}", t.value))),
            }
        }
    }
}

/// The container holding the last token of `pointer`, and that token. Every step before it must
/// exist and be a map or a list.
fn parent_of<'v>(doc: &'v mut Value, pointer: &str) -> Result<(&'v mut Value, String), Failure> {
    let mut tokens = tokens(pointer)?;
    let last = tokens.pop().ok_or_else(|| fail("the whole document cannot be patched; name a field"))?;
    let mut node = doc;
    for token in &tokens {
        node = match node {
            Value::Object(m) => fields::get_mut(m, token),
            Value::Array(a) => token.parse::<i64>().ok().and_then(|i| resolve(i, a.len())).and_then(|i| a.get_mut(i)),
            _ => None,
        }
        .filter(|v| v.is_object() || v.is_array())
        .ok_or_else(|| missing_parent(pointer))?;
    }
    Ok((node, last))
}

fn missing_parent(pointer: &str) -> Failure {
    fail(format!("the parent of {pointer} does not exist (`add` creates one level only; add the parent map first)"))
}

/// Decoded tokens of a JSON pointer (`~1` is `/`, `~0` is `~`).
fn tokens(pointer: &str) -> Result<Vec<String>, Failure> {
    let rest = pointer.strip_prefix('/').ok_or_else(|| fail("the whole document cannot be patched; name a field"))?;
    Ok(rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect())
}

/// A list index (negative counts from the end), if it lies in `0..len`.
fn resolve(i: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let i = if i < 0 { i + len } else { i };
    (0..len).contains(&i).then(|| usize::try_from(i).ok()).flatten()
}

/// The position `key` names in a list of `len` elements; `-` and `len` itself only when adding.
fn index(key: &str, len: usize, adding: bool) -> Result<usize, Failure> {
    if adding && key == "-" {
        return Ok(len);
    }
    let i: i64 = key.parse().map_err(|_| fail(format!("`{key}` is not a list index")))?;
    let room = if adding { len + 1 } else { len };
    resolve(i, room).ok_or_else(|| fail(format!("index {i} is out of range for a list of {len} elements")))
}

fn add(doc: &mut Value, pointer: &str, value: Value) -> Result<(), Failure> {
    let (parent, key) = parent_of(doc, pointer)?;
    match parent {
        Value::Object(m) => {
            m.insert(key, value);
        }
        Value::Array(a) => {
            let i = index(&key, a.len(), true)?;
            a.insert(i, value);
        }
        _ => return Err(missing_parent(pointer)),
    }
    Ok(())
}

fn remove(doc: &mut Value, pointer: &str) -> Result<Value, Failure> {
    let (parent, key) = parent_of(doc, pointer)?;
    match parent {
        Value::Object(m) => m.shift_remove(&key).ok_or_else(|| fail(format!("there is no `{key}` to remove"))),
        Value::Array(a) => {
            let i = index(&key, a.len(), false)?;
            Ok(a.remove(i))
        }
        _ => Err(missing_parent(pointer)),
    }
}

/// The value at `pointer`: `None` for a missing map key (not an error in json-patch v4).
fn get<'v>(doc: &'v mut Value, pointer: &str) -> Result<Option<&'v Value>, Failure> {
    let (parent, key) = parent_of(doc, pointer)?;
    match parent {
        Value::Object(m) => Ok(fields::get(m, &key)),
        Value::Array(a) => {
            let i = index(&key, a.len(), false)?;
            Ok(a.get(i))
        }
        _ => Err(missing_parent(pointer)),
    }
}

/// json-patch v4's `test` equality: maps compare on the document's keys, lists element by
/// element, scalars by their JSON text (so `1` is not `1.0`).
fn v4_equal(doc: &Value, want: &Value) -> bool {
    match (doc, want) {
        (Value::Object(d), Value::Object(w)) => {
            d.iter().all(|(k, v)| w.get(k).is_some_and(|x| (v.is_null() && x.is_null()) || v4_equal(v, x)))
        }
        (Value::Array(d), Value::Array(w)) => d.len() == w.len() && d.iter().zip(w).all(|(a, b)| v4_equal(a, b)),
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => false,
        (a, b) => a.to_string() == b.to_string(),
    }
}

fn op_path(op: &PatchOperation) -> &str {
    match op {
        PatchOperation::Add(o) => o.path.as_str(),
        PatchOperation::Remove(o) => o.path.as_str(),
        PatchOperation::Replace(o) => o.path.as_str(),
        PatchOperation::Move(o) => o.path.as_str(),
        PatchOperation::Copy(o) => o.path.as_str(),
        PatchOperation::Test(o) => o.path.as_str(),
    }
}

fn op_name(op: &PatchOperation) -> &'static str {
    match op {
        PatchOperation::Add(_) => "add",
        PatchOperation::Remove(_) => "remove",
        PatchOperation::Replace(_) => "replace",
        PatchOperation::Move(_) => "move",
        PatchOperation::Copy(_) => "copy",
        PatchOperation::Test(_) => "test",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A Deployment as `patches` hands it over: its id recorded, so it has build notes.
    fn dep() -> Resource {
        let mut r = plain();
        r.store_previous_id();
        r
    }

    /// One read from a file and not yet renamed (what `patchesJson6902` may see).
    fn plain() -> Resource {
        Resource::new(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 3, "template": {"metadata": {"labels": {"a": "b"}}}}}),
            "t",
        )
    }

    fn ops(v: Value) -> Vec<PatchOperation> {
        parse_ops(v.as_array().unwrap().clone(), "p.yaml").unwrap()
    }

    #[test]
    fn all_six_operations() {
        let mut r = dep();
        apply(
            &mut r,
            &ops(json!([
                {"op": "test", "path": "/spec/replicas", "value": 3},
                {"op": "replace", "path": "/spec/replicas", "value": 5},
                {"op": "add", "path": "/spec/paused", "value": true},
                {"op": "copy", "from": "/spec/template/metadata/labels", "path": "/metadata/labels"},
                {"op": "move", "from": "/spec/paused", "path": "/spec/stopped"},
                {"op": "remove", "path": "/spec/stopped"}
            ])),
            "p.yaml",
        )
        .unwrap();
        assert_eq!(r.body()["spec"]["replicas"], 5);
        assert_eq!(r.body()["metadata"]["labels"], json!({"a": "b"}));
        assert!(r.body()["spec"].get("stopped").is_none());
    }

    #[test]
    fn a_missing_path_names_the_op_index() {
        let mut r = dep();
        let err = apply(
            &mut r,
            &ops(json!([
                {"op": "replace", "path": "/spec/replicas", "value": 1},
                {"op": "remove", "path": "/spec/nope"}
            ])),
            "p.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("p.yaml") && err.contains("operation 1") && err.contains("/spec/nope"), "{err}");
        assert!(err.contains("Deployment") && err.contains('d'), "names the resource: {err}");
    }

    #[test]
    fn add_needs_the_parent_except_for_annotations() {
        let mut r = dep();
        apply(&mut r, &ops(json!([{"op": "add", "path": "/metadata/annotations/a~1b", "value": "x"}])), "p.yaml")
            .unwrap();
        assert_eq!(r.body()["metadata"]["annotations"]["a/b"], "x");
        let add = ops(json!([{"op": "add", "path": "/metadata/annotations/a", "value": "x"}]));
        assert!(apply(&mut plain(), &add, "p.yaml").is_err(), "without build notes there is no annotations map");
        for path in ["/metadata/labels/a", "/spec/template/spec/nodeSelector/disk", "/spec/replicas/x"] {
            let err = apply(&mut dep(), &ops(json!([{"op": "add", "path": path, "value": "x"}])), "p.yaml")
                .unwrap_err()
                .to_string();
            assert!(err.contains("parent") && err.contains(path), "{err}");
        }
    }

    #[test]
    fn v4_semantics_for_replace_copy_test_and_lists() {
        let mut r = dep();
        apply(
            &mut r,
            &ops(json!([
                {"op": "replace", "path": "/spec/paused", "value": true},
                {"op": "copy", "from": "/spec/nothing", "path": "/spec/copied"},
                {"op": "test", "path": "/spec/absent", "value": null},
                {"op": "add", "path": "/spec/list", "value": [1, 2]},
                {"op": "add", "path": "/spec/list/-", "value": 3},
                {"op": "add", "path": "/spec/list/-1", "value": 9},
                {"op": "remove", "path": "/spec/list/0"},
                {"op": "test", "path": "/spec/template", "value": {"metadata": {"labels": {"a": "b"}}, "extra": 1}},
                {"op": "remove", "path": "/metadata/annotations"}
            ])),
            "p.yaml",
        )
        .unwrap();
        assert_eq!(r.body()["spec"]["paused"], true);
        assert!(r.body()["spec"]["copied"].is_null() && r.body()["spec"].get("copied").is_some());
        assert_eq!(r.body()["spec"]["list"], json!([2, 3, 9]), "-1 adds at the end, as json-patch v4 does");
        assert!(r.body()["metadata"].get("annotations").is_none(), "an emptied annotations map is dropped");
        for bad in [
            json!({"op": "replace", "path": "/spec/list/5", "value": 1}),
            json!({"op": "remove", "path": "/spec/nothing"}),
            json!({"op": "move", "from": "/spec/nothing", "path": "/spec/x"}),
            json!({"op": "test", "path": "/spec/replicas", "value": 3.0}),
            json!({"op": "add", "path": "", "value": {}}),
        ] {
            assert!(apply(&mut dep(), &ops(json!([bad.clone()])), "p.yaml").is_err(), "{bad}");
        }
    }

    #[test]
    fn invalid_ops_are_refused_with_their_index() {
        let err = parse_ops(
            vec![json!({"op": "add", "path": "/a", "value": 1}), json!({"op": "frobnicate", "path": "/a"})],
            "p.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("operation 1") && err.contains("frobnicate"), "{err}");
        let err = parse_ops(vec![json!({"op": "add", "path": "a", "value": 1})], "p.yaml").unwrap_err().to_string();
        assert!(err.contains("must start with"), "{err}");
        let err = parse_ops(vec![json!({"op": "add", "path": "/a"})], "p.yaml").unwrap_err().to_string();
        assert!(err.contains("operation 0"), "{err}");
    }
}
