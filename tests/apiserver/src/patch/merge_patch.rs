//! RFC 7386 JSON merge patch.

use serde_json::Value;

/// Applies `patch` to `target`: objects merge recursively, null deletes, anything else replaces.
pub fn apply(target: &Value, patch: &Value) -> Value {
    let Value::Object(pm) = patch else { return patch.clone() };
    let mut out = match target {
        Value::Object(m) => m.clone(),
        _ => serde_json::Map::new(),
    };
    for (k, pv) in pm {
        if pv.is_null() {
            out.shift_remove(k);
        } else {
            let merged = apply(out.get(k).unwrap_or(&Value::Null), pv);
            out.insert(k.clone(), merged);
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc7386_examples() {
        assert_eq!(apply(&json!({"a": "b"}), &json!({"a": "c"})), json!({"a": "c"}));
        assert_eq!(apply(&json!({"a": "b"}), &json!({"a": null})), json!({}));
        assert_eq!(apply(&json!({"a": [{"b": "c"}]}), &json!({"a": [1]})), json!({"a": [1]}));
        assert_eq!(apply(&json!({"e": null}), &json!({"a": 1})), json!({"e": null, "a": 1}));
        assert_eq!(apply(&json!({}), &json!({"a": {"bb": {"ccc": null}}})), json!({"a": {"bb": {}}}));
    }
}
