//! Small helpers on nested JSON trees addressed by dotted paths (`resources.limits.cpu`).

use serde_json::{Map, Value};

/// Splits `a.b\.c.d` into `["a", "b.c", "d"]`.
pub fn split(path: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                out.last_mut().expect("never empty").push('.');
                chars.next();
            }
            '.' => out.push(String::new()),
            _ => out.last_mut().expect("never empty").push(c),
        }
    }
    out
}

pub fn get<'v>(root: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(root, |node, key| node.as_object()?.get(key))
}

/// Sets a value, creating maps on the way (and replacing non-maps in the way).
pub fn set(root: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        *root = value;
        return;
    };
    let mut node = root;
    for key in parents {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        node =
            node.as_object_mut().expect("just ensured").entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
    }
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    node.as_object_mut().expect("just ensured").insert(last.clone(), value);
}

/// Merges `over` into `base` the way Helm coalesces values: maps merge key by key, anything else
/// replaces, and `null` removes the key.
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(k);
                } else if let Some(existing) = b.get_mut(k) {
                    if existing.is_object() && v.is_object() {
                        merge(existing, v);
                    } else {
                        *existing = v.clone();
                    }
                } else {
                    b.insert(k.clone(), strip_nulls(v));
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().filter(|(_, x)| !x.is_null()).map(|(k, x)| (k.clone(), strip_nulls(x))).collect())
        }
        other => other.clone(),
    }
}

/// Joins a path for display, escaping dots inside keys.
pub fn join(path: &[String]) -> String {
    path.iter().map(|p| p.replace('.', "\\.")).collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn split_honours_escaped_dots() {
        assert_eq!(split(r"podAnnotations.prometheus\.io/scrape"), ["podAnnotations", "prometheus.io/scrape"]);
    }

    #[test]
    fn merge_is_helm_coalesce() {
        let mut base = json!({"a": {"b": 1, "c": 2}, "l": [1, 2], "d": 4});
        merge(&mut base, &json!({"a": {"b": 9}, "l": [3], "d": null}));
        assert_eq!(base, json!({"a": {"b": 9, "c": 2}, "l": [3]}));
    }
}
