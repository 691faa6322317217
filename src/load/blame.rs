//! Which field a typed read of a document failed on.
//!
//! `serde_json::from_value` says what is wrong ("invalid type: string \"two\", expected i64")
//! but not where. Rather than a hand-written check per field, the document is taken apart: a
//! map entry or list item is to blame when the document cut just before it reads without that
//! error and the document cut just after it fails with it. Serde reads entries in order and
//! stops at the first error, so the cut point can be found by bisection: a few reads per level,
//! and only once something already failed. [`plain`] then rewords serde's message for users.

use super::locate::Seg;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Deeper than any kustomization; bounds the walk on hostile input.
const MAX_STEPS: usize = 64;

/// The path to the part of `doc` that makes reading it as `T` fail with `message` (as
/// `to_string` gave it). Empty when the document as a whole is to blame.
pub fn blame<T: DeserializeOwned>(doc: &Value, message: &str) -> Vec<Seg> {
    let same = |d: Value| T::deserialize(&d).err().is_some_and(|e| e.to_string() == message);
    let mut work = doc.clone();
    // `at` walks `work`, where each list on the path is cut down to its blamed item (index 0);
    // `shown` is the same path with the items' indices in the user's document.
    let (mut at, mut shown) = (Vec::new(), Vec::new());
    while shown.len() < MAX_STEPS {
        let len = match get(&work, &at) {
            Some(Value::Object(m)) => m.len(),
            Some(Value::Array(a)) => a.len(),
            _ => break,
        };
        // Smallest prefix that still fails the same way; none (or the empty one) means the
        // node itself is wrong, e.g. a list where a map belongs.
        let fails = |n: usize| same(with_prefix(&work, &at, n));
        if len == 0 || fails(0) || !fails(len) {
            break;
        }
        let (mut lo, mut hi) = (0, len);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if fails(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let blamed = hi - 1;
        // Later entries go, so an error further on that reads the same cannot mislead the
        // next level.
        work = with_prefix(&work, &at, hi);
        match get_mut(&mut work, &at) {
            Some(Value::Object(m)) => {
                let Some(k) = m.keys().nth(blamed).cloned() else { break };
                at.push(Seg::Key(k.clone()));
                shown.push(Seg::Key(k));
            }
            Some(Value::Array(a)) => {
                a.drain(..blamed);
                at.push(Seg::Index(0));
                shown.push(Seg::Index(blamed));
            }
            _ => break,
        }
    }
    shown
}

/// serde's words, with Rust's type names made plain and a way out for numbers meant as text.
pub fn plain(message: &str) -> String {
    let mut text = message.to_string();
    for rust in ["i64", "u64", "i32", "u32", "usize"] {
        text = text.replace(&format!("expected {rust}"), "expected an integer");
    }
    let number_for_text =
        ["floating point", "integer", "boolean"].iter().any(|t| text.starts_with(&format!("invalid type: {t}")));
    if number_for_text && text.ends_with("expected a string") {
        text.push_str(
            "; quote the value to keep the text as written (YAML reads a bare 1.10 as the number 1.1, and 01234 as the octal number 668)",
        );
    }
    text
}

fn get<'a>(v: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(v, |node, seg| match seg {
        Seg::Key(k) => node.get(k.as_str()),
        Seg::Index(i) => node.get(*i),
    })
}

fn get_mut<'a>(v: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |node, seg| match seg {
        Seg::Key(k) => node.get_mut(k.as_str()),
        Seg::Index(i) => node.get_mut(*i),
    })
}

/// `doc` with the map or list at `path` cut to its first `n` entries.
fn with_prefix(doc: &Value, path: &[Seg], n: usize) -> Value {
    let mut out = doc.clone();
    match get_mut(&mut out, path) {
        Some(Value::Object(m)) => {
            let kept: Map<String, Value> = std::mem::take(m).into_iter().take(n).collect();
            *m = kept;
        }
        Some(Value::Array(a)) => a.truncate(n),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        #[serde(default)]
        names: Vec<String>,
        #[serde(default)]
        items: Vec<Item>,
        #[serde(default)]
        labels: std::collections::BTreeMap<String, String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        name: String,
        count: i64,
    }

    fn path_of(doc: Value) -> String {
        let err = Doc::deserialize(&doc).unwrap_err().to_string();
        super::super::locate::Display(&blame::<Doc>(&doc, &err)).to_string()
    }

    #[test]
    fn names_the_field_item_and_key() {
        let items: Vec<Value> = (0..100).map(|i| json!({"name": format!("n{i}"), "count": i})).collect();
        let mut doc = json!({"names": ["a"], "items": items, "labels": {"a": "b"}});
        doc["items"][57]["count"] = json!("two");
        assert_eq!(path_of(doc), "items[57].count");
        assert_eq!(path_of(json!({"labels": {"a": "b", "c": 1.5}})), "labels.c");
        assert_eq!(path_of(json!({"labels": {"c": 1.5}, "names": [1.5]})), "labels.c", "the same error later on");
        assert_eq!(path_of(json!({"names": "a.yaml"})), "names");
        assert_eq!(path_of(json!({"labels": ["a"]})), "labels");
        assert_eq!(path_of(json!({"items": [{"name": "a", "count": 1}, {"count": 2}]})), "items[1]");
        assert_eq!(path_of(json!({"items": [{"name": "a", "count": 1, "cuont": 2}]})), "items[0].cuont");
    }
}
