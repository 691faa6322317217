//! `labels` and `commonLabels`. `labels` entries write metadata only, unless `includeTemplates`
//! (pod templates too) or `includeSelectors` (selectors and templates, like `commonLabels`).

use super::field_specs::{self, FieldSpec};
use super::{Layer, OverlayError};
use crate::model::shared::{Location, Seg};
use crate::model::ResourceSet;
use serde_json::{Map, Value};

pub fn apply(layer: &Layer, set: &mut ResourceSet) -> Result<(), OverlayError> {
    for entry in &layer.k.labels {
        let mut specs: Vec<FieldSpec> = entry.fields.iter().map(FieldSpec::from_user).collect();
        if entry.include_selectors {
            specs.extend_from_slice(field_specs::common_labels());
        } else {
            specs.extend_from_slice(field_specs::metadata_labels());
            if entry.include_templates {
                specs.extend_from_slice(field_specs::template_labels());
            }
        }
        set_pairs(set, &entry.pairs, &specs);
    }
    set_pairs(set, &layer.k.common_labels, field_specs::common_labels());
    Ok(())
}

/// Writes `pairs` into every map the specs reach (shared with annotations). As in Kustomize, a
/// key new to several of a resource's maps gets one value node in all of them (see
/// [`crate::model::shared`]), and a key already present is overwritten in place.
pub fn set_pairs(set: &mut ResourceSet, pairs: &Map<String, Value>, specs: &[FieldSpec]) {
    if pairs.is_empty() {
        return;
    }
    for res in set.iter_mut() {
        let gvk = res.gvk();
        let mut fresh: Vec<Vec<Location>> = vec![Vec::new(); pairs.len()];
        for spec in specs.iter().filter(|s| s.applies_to(&gvk)) {
            field_specs::visit_at(res.body_mut(), spec, &|| Value::Object(Map::new()), &mut |node, at| {
                if let Value::Object(m) = node {
                    for (i, (k, v)) in pairs.iter().enumerate() {
                        if m.insert(k.clone(), Value::String(scalar_text(v))).is_none() {
                            let mut place = field_specs::location(at);
                            place.push(Seg::Key(k.clone()));
                            fresh[i].push(place);
                        }
                    }
                }
            });
        }
        res.sync_shared();
        for places in fresh {
            res.share(places);
        }
    }
}

/// Label and annotation values are strings; `1` and `true` in YAML mean "1" and "true".
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
