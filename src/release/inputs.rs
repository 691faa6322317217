//! What an upgrade renders from: the stored overlay and values, the new ones given over them,
//! or (`--reset-values`) only the new ones, and the release's checksum key; and masking of
//! stored values and manifests.

use super::lifecycle;
use super::record::Release;
use super::ReleaseError;
use crate::error::Error;
use crate::values::checksum::{Key, KeyError};
use crate::values::{self, Source, UserValues, ValuesError};
use serde_json::{Map, Value};

/// What an operation renders from: the overlay, the values, and the release's checksum key.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub overlay: Option<String>,
    pub values: UserValues,
    pub checksum_key: Key,
}

/// The release's checksum key: the one its records carry, or a new random one.
pub fn release_key(history: &[Release]) -> Result<Key, KeyError> {
    match lifecycle::checksum_key(history).as_deref().and_then(Key::from_record) {
        Some(k) => Ok(k),
        None => Key::random(),
    }
}

/// The inputs given, or (`stored`, an upgrade) the stored ones with the given over them:
/// `overlay` replaces the stored overlay, `given` values merge over the stored ones unless
/// `reset` (`--reset-values`: the overlay's defaults and `given` only). The checksum key is the
/// one `history` carries.
pub fn resolve(
    overlay: Option<String>,
    given: UserValues,
    stored: Option<&Release>,
    reset: bool,
    history: &[Release],
) -> Result<Inputs, Error> {
    let checksum_key = release_key(history)?;
    let Some(stored) = stored else { return Ok(Inputs { overlay, values: given, checksum_key }) };
    let overlay = overlay.or_else(|| stored.overlay.clone());
    if reset {
        return Ok(Inputs { overlay, values: given, checksum_key });
    }
    let origin = format!("release {} revision {}", stored.name, stored.revision);
    let base = load_stored(&stored.values, &origin).map_err(|source| ReleaseError::StoredValues {
        name: stored.name.clone(),
        revision: stored.revision,
        source,
    })?;
    Ok(Inputs { overlay, values: combine(&base, &given), checksum_key })
}

/// Stored values back into [`UserValues`], checked against today's schema like a values file.
pub fn load_stored(tree: &Value, origin: &str) -> Result<UserValues, ValuesError> {
    let text = serde_json::to_string(tree).unwrap_or_else(|_| "{}".into());
    let input = values::Input { files: vec!["-".into()], ..Default::default() };
    let mut user = values::load(&input, &mut text.as_bytes())?;
    for source in user.sources.values_mut() {
        *source = Source::File { path: origin.to_string(), line: None };
    }
    Ok(user)
}

/// `over` on top of `base`: maps merge key by key, anything else (null too) replaces, so a
/// `null` the user gives still removes a default.
fn merge_keep_nulls(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge_keep_nulls(existing, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// The values an upgrade uses: `given` over `stored` (each key keeps its own source).
pub fn combine(stored: &UserValues, given: &UserValues) -> UserValues {
    let mut tree = if stored.tree.is_object() { stored.tree.clone() } else { Value::Object(Map::new()) };
    merge_keep_nulls(&mut tree, &given.tree);
    let mut sources = stored.sources.clone();
    for (k, s) in &given.sources {
        // A parameter set anew replaces whatever was stored below or above it.
        let prefix = format!("{k}.");
        sources.retain(|old, _| old != k && !old.starts_with(&prefix) && !k.starts_with(&format!("{old}.")));
        sources.insert(k.clone(), s.clone());
    }
    let mut entry_sources = stored.entry_sources.clone();
    entry_sources.extend(given.entry_sources.clone());
    UserValues { tree, sources, entry_sources }
}

/// `--overlay` as stored: a directory absolute (the next upgrade may run elsewhere).
pub fn overlay_for_record(overlay: Option<&str>) -> Option<String> {
    let o = overlay?;
    match crate::render::resolve_overlay(Some(o)) {
        Ok(crate::render::OverlaySource::Dir(d)) => {
            Some(std::path::absolute(&d).map(|p| p.display().to_string()).unwrap_or_else(|_| o.to_string()))
        }
        _ => Some(o.to_string()),
    }
}

/// Secret values in a stored values tree as `***`.
pub fn mask_values(tree: &Value) -> Value {
    let mut v = tree.clone();
    for key in ["data", "stringData"] {
        let path = format!("secret.{key}");
        if let Some(slot) = v.get_mut("secret").and_then(|s| s.get_mut(key)) {
            *slot = values::mask(&path, slot.take());
        }
    }
    v
}

/// Secret objects in a manifest with `***` for every data value.
pub fn mask_manifest(manifest: &[Value]) -> Vec<Value> {
    manifest
        .iter()
        .map(|obj| {
            let mut o = obj.clone();
            if o["kind"] == "Secret" {
                for field in ["data", "stringData"] {
                    if let Some(Value::Object(m)) = o.get_mut(field) {
                        for v in m.values_mut() {
                            *v = Value::String("***".into());
                        }
                    }
                }
            }
            o
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn given(set: &[&str]) -> UserValues {
        let input = values::Input { set: set.iter().map(|s| s.to_string()).collect(), ..Default::default() };
        values::load(&input, &mut std::io::empty()).unwrap()
    }

    #[test]
    fn stored_values_round_trip_with_the_record_as_source() {
        let u = load_stored(
            &json!({"image": {"tag": "4.3.0"}, "resources": {"limits": {"cpu": null}}}),
            "release prod revision 2",
        )
        .unwrap();
        assert_eq!(u.tree["image"]["tag"], "4.3.0");
        assert!(u.tree["resources"]["limits"]["cpu"].is_null(), "a stored null still removes the default");
        assert_eq!(u.source("image.tag").unwrap().to_string(), "release prod revision 2");
        assert!(load_stored(&json!({"imag": 1}), "r").is_err(), "stored values are checked like a file");
    }

    #[test]
    fn given_values_merge_over_stored_ones() {
        let stored = load_stored(&json!({"image": {"tag": "4.3.0"}, "replicaCount": 3}), "stored").unwrap();
        let u = combine(&stored, &given(&["image.tag=5.0.0", "resources.limits.cpu=null"]));
        assert_eq!(
            u.tree,
            json!({"image": {"tag": "5.0.0"}, "replicaCount": 3, "resources": {"limits": {"cpu": null}}})
        );
        assert!(matches!(u.source("image.tag"), Some(Source::Flag { .. })));
        assert_eq!(u.source("replicaCount").unwrap().to_string(), "stored");
    }

    #[test]
    fn secrets_are_masked() {
        let v = mask_values(&json!({"secret": {"enabled": true, "data": {"token": "c2VjcmV0"}}}));
        assert_eq!(v, json!({"secret": {"enabled": true, "data": {"token": "***"}}}));
        let m = mask_manifest(&[
            json!({"kind": "Secret", "data": {"a": "eA=="}}),
            json!({"kind": "ConfigMap", "data": {"a": "x"}}),
        ]);
        assert_eq!(m[0]["data"]["a"], "***");
        assert_eq!(m[1]["data"]["a"], "x");
    }
}
