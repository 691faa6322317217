//! `commonAnnotations` (metadata, and pod templates of the workload kinds), and the shape
//! Kustomize gives annotations on the way out.

use super::{field_specs, labels, Layer, OverlayError};
use crate::model::{fields, ResourceSet};
use serde_json::Value;

pub fn apply(layer: &Layer, set: &mut ResourceSet) -> Result<(), OverlayError> {
    labels::set_pairs(set, &layer.k.common_annotations, field_specs::annotations());
    Ok(())
}

/// Ends every shape error (the differential tests recognise the refusal by it).
const SHAPE: &str = " (labels and annotations are maps of strings)";

/// Why `body`'s labels or annotations cannot be printed, if they cannot: each must be a map
/// (Kustomize drops annotations that are not, silently, and prints labels that are not as an
/// object no API server takes), and an annotation value must be text, not a map or a list.
pub fn check_shape(body: &Value) -> Result<(), String> {
    let Some(meta) = fields::child(body, "metadata") else { return Ok(()) };
    let Value::Object(meta) = meta else {
        return Err(format!("`metadata` is {}, not a map{SHAPE}", kind_of(meta)));
    };
    for field in ["labels", "annotations"] {
        match fields::get(meta, field) {
            None | Some(Value::Null | Value::Object(_)) => {}
            Some(other) => return Err(format!("`metadata.{field}` is {}, not a map{SHAPE}", kind_of(other))),
        }
    }
    if let Some(Value::Object(m)) = fields::get(meta, "annotations") {
        if let Some((k, v)) = m.iter().find(|(_, v)| v.is_object() || v.is_array()) {
            return Err(format!("annotation `{k}` is {}{SHAPE}", kind_of(v)));
        }
    }
    Ok(())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "a map",
        Value::Array(_) => "a list",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
    }
}

/// Annotations as Kustomize prints them (it reads them back as a map of strings when it drops
/// its build notes): every value is text (`6` is "6"; an empty value is ""), and an empty or
/// null map is left out.
pub fn finalize(set: &mut ResourceSet) -> Result<(), OverlayError> {
    for res in set.iter_mut() {
        check_shape(res.body()).map_err(|message| OverlayError::Metadata {
            origin: res.origin.clone(),
            resource: res.id(),
            message,
        })?;
        let Some(Value::Object(meta)) = res.body_mut().as_object_mut().and_then(|b| fields::get_mut(b, "metadata"))
        else {
            continue;
        };
        match fields::get_mut(meta, "annotations") {
            Some(Value::Object(m)) if !m.is_empty() => {
                for v in m.values_mut().filter(|v| !v.is_string()) {
                    *v = Value::String(labels::scalar_text(v));
                }
            }
            Some(_) => {
                meta.shift_remove("annotations");
            }
            None => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Resource;
    use serde_json::json;

    #[test]
    fn annotations_leave_as_text_and_empty_maps_are_dropped() {
        let mut set: ResourceSet = [
            Resource::new(json!({"kind": "A", "metadata": {"name": "a", "annotations": {"n": 6, "b": true, "e": null}, "labels": {"x": 5}}}), "a"),
            Resource::new(json!({"kind": "B", "metadata": {"name": "b", "annotations": {}, "labels": {}}}), "b"),
        ]
        .into_iter()
        .collect();
        finalize(&mut set).unwrap();
        assert_eq!(set.as_slice()[0].body()["metadata"]["annotations"], json!({"n": "6", "b": "true", "e": ""}));
        assert_eq!(set.as_slice()[0].body()["metadata"]["labels"], json!({"x": 5}), "labels are left alone");
        assert_eq!(set.as_slice()[1].body()["metadata"], json!({"name": "b", "labels": {}}));
    }

    #[test]
    fn annotations_that_are_not_a_map_of_text_are_refused() {
        for meta in [json!({"annotations": "x"}), json!({"labels": ["a"]}), json!({"annotations": {"a": {"b": 1}}})] {
            assert!(check_shape(&json!({"metadata": meta})).is_err(), "{meta}");
        }
        let set: ResourceSet =
            [Resource::new(json!({"kind": "A", "metadata": {"name": "a", "annotations": "x"}}), "a.yaml")]
                .into_iter()
                .collect();
        let err = finalize(&mut set.clone()).unwrap_err().to_string();
        assert!(err.contains("a.yaml") && err.contains("A/a") && err.contains("metadata.annotations"), "{err}");
    }
}
