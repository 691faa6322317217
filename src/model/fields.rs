//! Field lookups in small mappings without hashing.
//!
//! `serde_json`'s ordered map hashes every key it is asked for with SipHash, and a render asks
//! tens of thousands of times (ids, field specs, metadata), mostly of mappings with a handful of
//! keys, where comparing the keys directly is several times cheaper. Larger mappings still hash.

use serde_json::{Map, Value};

/// Up to this many keys, a scan beats one SipHash of the key.
const SCAN: usize = 8;

/// `map.get(key)`, by scanning when the map is small.
pub fn get<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    match map.len() <= SCAN {
        true => map.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v),
        false => map.get(key),
    }
}

/// `map.get_mut(key)`, by scanning when the map is small.
pub fn get_mut<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Value> {
    match map.len() <= SCAN {
        true => map.iter_mut().find(|(k, _)| k.as_str() == key).map(|(_, v)| v),
        false => map.get_mut(key),
    }
}

/// The string at `value[key]`, or "" (as `value[key].as_str().unwrap_or("")`).
pub fn str_at<'a>(value: &'a Value, key: &str) -> &'a str {
    value.as_object().and_then(|m| get(m, key)).and_then(Value::as_str).unwrap_or("")
}

/// `value[key]` for a mapping, else `None`.
pub fn child<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_object().and_then(|m| get(m, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn small_and_large_maps_answer_alike() {
        for n in [0, 1, SCAN, SCAN + 1, 40] {
            let mut v = Value::Object((0..n).map(|i| (format!("k{i}"), json!(i))).collect());
            for i in 0..n + 2 {
                let k = format!("k{i}");
                let want = v.as_object().unwrap().get(&k).cloned();
                assert_eq!(get(v.as_object().unwrap(), &k).cloned(), want, "{n} {k}");
                assert_eq!(child(&v, &k).cloned(), want);
                assert_eq!(get_mut(v.as_object_mut().unwrap(), &k).map(|x| x.clone()), want);
            }
        }
        assert_eq!(str_at(&json!({"a": "x", "b": 1}), "a"), "x");
        assert_eq!(str_at(&json!({"a": "x", "b": 1}), "b"), "");
        assert_eq!(str_at(&json!("s"), "a"), "");
    }
}
