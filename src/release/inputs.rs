//! What an operation renders from ([`Inputs`]): for an upgrade, the values as Helm decides
//! them ([`Reuse`]) with the stored overlay unless another is given, and the release's checksum
//! key; and masking of stored values and manifests.

use super::lifecycle;
use super::record::Release;
use super::ReleaseError;
use crate::error::Error;
use crate::values::checksum::{Key, KeyError};
use crate::values::{self, Source, UserValues, ValuesError};
use serde_json::{Map, Value};

/// What an operation renders from: the overlay, the values, the defaults under them when they
/// are not today's (`--reuse-values`), and the release's checksum key.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub overlay: Option<String>,
    pub values: UserValues,
    pub defaults: Option<Value>,
    pub checksum_key: Key,
}

/// The release's checksum key: the one its records carry, or a new random one.
pub fn release_key(history: &[Release]) -> Result<Key, KeyError> {
    match lifecycle::checksum_key(history).as_deref().and_then(Key::from_record) {
        Some(k) => Ok(k),
        None => Key::random(),
    }
}

/// The inputs given (an install), or for an installed release (`stored`) the values as Helm's
/// `rule` picks them, with the stored overlay unless `overlay` is given. The checksum key is
/// the one `history` carries.
pub fn resolve(
    overlay: Option<String>,
    given: UserValues,
    stored: Option<&Release>,
    rule: Reuse,
    history: &[Release],
) -> Result<Inputs, Error> {
    let checksum_key = release_key(history)?;
    let Some(stored) = stored else { return Ok(Inputs { overlay, values: given, defaults: None, checksum_key }) };
    let overlay = overlay.or_else(|| stored.overlay.clone());
    let (values, defaults) = choose(rule, given, stored).map_err(|source| ReleaseError::StoredValues {
        name: stored.name.clone(),
        revision: stored.revision,
        source,
    })?;
    Ok(Inputs { overlay, values, defaults, checksum_key })
}

/// How an upgrade treats the stored values: Helm's flags. The overlay plays the chart's part
/// (its preset values are the chart's defaults) and is reused unless `--overlay` is given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reuse {
    /// No flag: the values given, over today's defaults; with none given (an empty file counts
    /// as none), the stored ones.
    #[default]
    Given,
    /// `--reuse-values`: the given over the stored, over the defaults the revision was made with.
    Reuse,
    /// `--reset-then-reuse-values`: the given over the stored, over today's defaults.
    ResetThenReuse,
    /// `--reset-values`: only the given, over today's defaults. Wins over the other two.
    Reset,
}

impl Reuse {
    /// The rule from the flags, with Helm's precedence.
    pub fn from_flags(reset: bool, reuse: bool, reset_then_reuse: bool) -> Reuse {
        match (reset, reuse, reset_then_reuse) {
            (true, _, _) => Reuse::Reset,
            (_, true, _) => Reuse::Reuse,
            (_, _, true) => Reuse::ResetThenReuse,
            _ => Reuse::Given,
        }
    }
}

/// The values an upgrade of `stored` renders with, and the defaults under them (`None`: today's).
pub fn choose(rule: Reuse, given: UserValues, stored: &Release) -> Result<(UserValues, Option<Value>), ValuesError> {
    let origin = format!("release {} revision {}", stored.name, stored.revision);
    let old = || load_stored(&stored.values, &origin);
    Ok(match rule {
        Reuse::Reset => (given, None),
        Reuse::Given if !given.is_empty() => (given, None),
        Reuse::Given => (old()?, None),
        Reuse::ResetThenReuse => (combine(&old()?, &given), None),
        Reuse::Reuse => (combine(&old()?, &given), Some(stored.defaults.clone()).filter(|d| d.is_object())),
    })
}

/// Every value of a revision, defaults included (`get values --all`): the defaults it recorded
/// (for a record without them, today's for its overlay) with its values over them.
pub fn all_values(rel: &Release) -> Value {
    let mut all = match &rel.defaults {
        d @ Value::Object(_) => d.clone(),
        _ => values::defaults_with(&values::presets::preset(rel.overlay_label())),
    };
    values::tree::merge(&mut all, &rel.values);
    all
}

/// Stored values back into [`UserValues`], checked against today's schema like a values file.
pub fn load_stored(tree: &Value, origin: &str) -> Result<UserValues, ValuesError> {
    let text = serde_json::to_string(tree).unwrap_or_else(|_| "{}".into());
    let mut user = values::load_text(&text, origin)?;
    for source in user.sources.values_mut().chain(user.entry_sources.values_mut()) {
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

    fn stored() -> Release {
        let mut r = crate::release::record::sample("prod", 1, crate::release::record::Status::Deployed);
        r.values = json!({"image": {"tag": "4.3.0"}, "replicaCount": 5});
        r.defaults = json!({"image": {"variant": "ml"}});
        r
    }

    #[test]
    fn each_helm_rule_picks_its_values() {
        let given = || given(&["replicaCount=2"]);
        let pick = |rule, g: UserValues| choose(rule, g, &stored()).unwrap();
        // Something given: only that (the stored image tag is dropped).
        assert_eq!(pick(Reuse::Given, given()).0.tree, json!({"replicaCount": 2}));
        // Nothing given: the stored values.
        assert_eq!(
            pick(Reuse::Given, UserValues::default()).0.tree,
            json!({"image": {"tag": "4.3.0"}, "replicaCount": 5})
        );
        // Reuse and reset-then-reuse merge; only reuse keeps the revision's defaults.
        let (v, d) = pick(Reuse::Reuse, given());
        assert_eq!(
            (v.tree, d),
            (json!({"image": {"tag": "4.3.0"}, "replicaCount": 2}), Some(json!({"image": {"variant": "ml"}})))
        );
        let (v, d) = pick(Reuse::ResetThenReuse, given());
        assert_eq!((v.tree, d), (json!({"image": {"tag": "4.3.0"}, "replicaCount": 2}), None));
        // Reset: only the given, even when nothing is given.
        assert_eq!(pick(Reuse::Reset, UserValues::default()).0.tree, Value::Null);
        assert_eq!(Reuse::from_flags(true, true, true), Reuse::Reset, "--reset-values wins");
        assert_eq!(Reuse::from_flags(false, true, true), Reuse::Reuse);
    }

    #[test]
    fn all_values_put_the_recorded_defaults_under_the_values() {
        let all = all_values(&stored());
        assert_eq!(all, json!({"image": {"variant": "ml", "tag": "4.3.0"}, "replicaCount": 5}));
        let mut old = stored();
        old.defaults = Value::Null;
        let all = all_values(&old);
        assert_eq!(
            (&all["image"]["variant"], &all["replicaCount"]),
            (&json!("cpu-full"), &json!(5)),
            "today's for its overlay"
        );
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
