//! Deprecated spellings of values keys. Each is folded into today's key right after a document
//! is read, as Kustomize's `FixKustomization` folds `bases` into `resources`, with a warning
//! naming the key to use; everything after loading sees only today's keys. So values stored by
//! a release of an earlier version still load, and its next revision stores the new keys.

use super::{Source, ValuesError};
use serde_json::Value;

/// (deprecated, current): the keys renamed when the chart's own names were adopted.
pub const DEPRECATED: &[(&str, &str)] = &[("extraVolumes", "volumes"), ("extraVolumeMounts", "volumeMounts")];

/// The key `key` replaces, if it replaces one (to find the line a file spelled it on).
pub fn deprecated_spelling(key: &str) -> Option<&'static str> {
    DEPRECATED.iter().find(|(_, new)| *new == key).map(|(old, _)| *old)
}

/// The current spelling of a top-level key, if `key` is a deprecated one.
pub fn current(key: &str) -> Option<&'static str> {
    DEPRECATED.iter().find(|(old, _)| *old == key).map(|(_, new)| *new)
}

/// The warning for a deprecated key found in `origin`.
pub fn warning(old: &str, new: &str, origin: &Source) -> String {
    format!("warning: {origin}: `{old}` is deprecated, use `{new}` (read as `{new}`)")
}

/// Folds the deprecated top-level keys of a values document into their current ones: moved
/// when the current key is absent; both lists, the deprecated one's items appended (as
/// Kustomize appends `bases` to `resources`). Returns the warnings to print.
pub fn fold(doc: &mut Value, source_of: &dyn Fn(&str) -> Source) -> Result<Vec<String>, ValuesError> {
    let Some(map) = doc.as_object_mut() else { return Ok(Vec::new()) };
    let mut warnings = Vec::new();
    for (old, new) in DEPRECATED {
        let Some(value) = map.remove(*old) else { continue };
        let origin = source_of(old);
        warnings.push(warning(old, new, &origin));
        match (map.get_mut(*new), value) {
            (None, value) => {
                map.insert(new.to_string(), value);
            }
            (Some(Value::Array(items)), Value::Array(more)) => items.extend(more),
            (Some(_), _) => {
                return Err(ValuesError::Invalid {
                    key: old.to_string(),
                    reason: format!("is the deprecated spelling of `{new}`, which is also set; keep only `{new}`"),
                    origin,
                })
            }
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(p: &str) -> Source {
        Source::File { path: "v.yaml".into(), line: (p == "extraVolumes").then_some(3) }
    }

    #[test]
    fn old_keys_move_or_append_and_are_named() {
        let mut doc = json!({"extraVolumes": [{"name": "a"}], "extraVolumeMounts": [{"name": "a"}]});
        let warnings = fold(&mut doc, &file).unwrap();
        assert_eq!(doc, json!({"volumes": [{"name": "a"}], "volumeMounts": [{"name": "a"}]}));
        assert_eq!(warnings[0], "warning: v.yaml:3: `extraVolumes` is deprecated, use `volumes` (read as `volumes`)");
        assert_eq!(warnings.len(), 2);

        let mut both = json!({"volumes": [{"name": "new"}], "extraVolumes": [{"name": "old"}]});
        fold(&mut both, &file).unwrap();
        assert_eq!(both, json!({"volumes": [{"name": "new"}, {"name": "old"}]}));

        let mut clash = json!({"volumes": null, "extraVolumes": [{"name": "old"}]});
        let err = fold(&mut clash, &file).unwrap_err().to_string();
        assert!(err.starts_with("v.yaml:3: `extraVolumes`") && err.contains("keep only `volumes`"), "{err}");

        let mut none = json!({"volumes": []});
        assert!(fold(&mut none, &file).unwrap().is_empty());
        assert_eq!(
            (current("extraVolumeMounts"), deprecated_spelling("volumes")),
            (Some("volumeMounts"), Some("extraVolumes"))
        );
    }
}
