//! RFC 6902 JSON patch with RFC 6901 pointers.

use super::PatchError;
use serde_json::Value;

/// Applies every operation in order; any failure leaves the result unusable (all or nothing).
pub fn apply(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops = patch.as_array().ok_or_else(|| PatchError::Malformed("a JSON patch must be an array".into()))?;
    let mut doc = target.clone();
    for op in ops {
        let name = op
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| PatchError::Malformed("operation without \"op\"".into()))?;
        let path = str_field(op, "path")?;
        match name {
            "add" => add(&mut doc, &path, value_field(op)?)?,
            "remove" => {
                remove(&mut doc, &path)?;
            }
            "replace" => {
                remove(&mut doc, &path)?;
                add(&mut doc, &path, value_field(op)?)?;
            }
            "move" => {
                let from = str_field(op, "from")?;
                if path.starts_with(&format!("{from}/")) {
                    return Err(PatchError::Failed("cannot move a value into itself".into()));
                }
                let v = remove(&mut doc, &from)?;
                add(&mut doc, &path, v)?;
            }
            "copy" => {
                let from = str_field(op, "from")?;
                let v = get(&doc, &from)?.clone();
                add(&mut doc, &path, v)?;
            }
            "test" => {
                let want = value_field(op)?;
                if *get(&doc, &path)? != want {
                    return Err(PatchError::Failed(format!("testing value {path} failed")));
                }
            }
            other => return Err(PatchError::Malformed(format!("unknown op {other:?}"))),
        }
    }
    Ok(doc)
}

fn str_field(op: &Value, key: &str) -> Result<String, PatchError> {
    op.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| PatchError::Malformed(format!("operation without {key:?}")))
}

fn value_field(op: &Value) -> Result<Value, PatchError> {
    op.get("value").cloned().ok_or_else(|| PatchError::Malformed("operation without \"value\"".into()))
}

fn tokens(path: &str) -> Result<Vec<String>, PatchError> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path.strip_prefix('/').ok_or_else(|| PatchError::Malformed(format!("invalid pointer {path:?}")))?;
    Ok(rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect())
}

fn get<'a>(doc: &'a Value, path: &str) -> Result<&'a Value, PatchError> {
    let mut cur = doc;
    for t in tokens(path)? {
        cur = match cur {
            Value::Object(m) => m.get(&t),
            Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        }
        .ok_or_else(|| PatchError::Failed(format!("path {path} not found")))?;
    }
    Ok(cur)
}

fn parent_mut<'a>(doc: &'a mut Value, path: &str) -> Result<(&'a mut Value, String), PatchError> {
    let mut toks = tokens(path)?;
    let last = toks.pop().ok_or_else(|| PatchError::Failed("cannot address the document root".into()))?;
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Object(m) => m.get_mut(&t),
            Value::Array(a) => t.parse::<usize>().ok().and_then(move |i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| PatchError::Failed(format!("path {path} not found")))?;
    }
    Ok((cur, last))
}

fn add(doc: &mut Value, path: &str, v: Value) -> Result<(), PatchError> {
    if path.is_empty() {
        *doc = v;
        return Ok(());
    }
    let (parent, last) = parent_mut(doc, path)?;
    match parent {
        Value::Object(m) => {
            m.insert(last, v);
            Ok(())
        }
        Value::Array(a) => {
            let idx = if last == "-" { a.len() } else { index(&last, a.len() + 1)? };
            a.insert(idx, v);
            Ok(())
        }
        _ => Err(PatchError::Failed(format!("path {path} not found"))),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, PatchError> {
    let (parent, last) = parent_mut(doc, path)?;
    let removed = match parent {
        Value::Object(m) => m.shift_remove(&last),
        Value::Array(a) => {
            let i = index(&last, a.len())?;
            Some(a.remove(i))
        }
        _ => None,
    };
    removed.ok_or_else(|| PatchError::Failed(format!("path {path} not found")))
}

fn index(token: &str, len: usize) -> Result<usize, PatchError> {
    match token.parse::<usize>() {
        Ok(i) if i < len && (token == "0" || !token.starts_with('0')) => Ok(i),
        _ => Err(PatchError::Failed(format!("index {token} out of range"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operations() {
        let doc = json!({"spec": {"replicas": 2, "list": [1, 2]}});
        let p = json!([
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "add", "path": "/spec/list/-", "value": 3},
            {"op": "add", "path": "/spec/list/0", "value": 0},
            {"op": "remove", "path": "/spec/list/1"},
            {"op": "copy", "from": "/spec/replicas", "path": "/spec/copy"},
            {"op": "move", "from": "/spec/copy", "path": "/moved"},
            {"op": "add", "path": "/metadata~1x", "value": "s"},
            {"op": "test", "path": "/spec/replicas", "value": 3}
        ]);
        let out = apply(&doc, &p).unwrap();
        assert_eq!(out, json!({"spec": {"replicas": 3, "list": [0, 2, 3]}, "moved": 3, "metadata/x": "s"}));
    }

    #[test]
    fn failures_are_classified() {
        let doc = json!({"spec": {"replicas": 2}});
        let failed = apply(&doc, &json!([{"op": "test", "path": "/spec/replicas", "value": 99}]));
        assert!(matches!(failed, Err(PatchError::Failed(_))));
        assert!(matches!(apply(&doc, &json!([{"op": "remove", "path": "/nope"}])), Err(PatchError::Failed(_))));
        assert!(matches!(apply(&doc, &json!({"op": "add"})), Err(PatchError::Malformed(_))));
        assert!(matches!(apply(&doc, &json!([{"op": "jump", "path": "/a"}])), Err(PatchError::Malformed(_))));
    }
}
