//! `namePrefix` / `nameSuffix`. Namespaces, CRDs and APIServices keep their names (renaming them
//! would change what they are, not just what they are called).

use super::{Layer, OverlayError};
use crate::model::{Resource, ResourceSet};

fn skipped(r: &Resource) -> bool {
    let id = r.org_id();
    matches!(id.gvk.kind.as_str(), "Namespace" | "CustomResourceDefinition")
        || (id.gvk.kind == "APIService" && id.gvk.group == "apiregistration.k8s.io")
}

pub fn prefix(layer: &Layer, set: &mut ResourceSet) -> Result<(), OverlayError> {
    let Some(p) = layer.k.name_prefix.as_deref().filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    for res in set.iter_mut().filter(|r| !skipped(r)) {
        res.prefixes.push(p.to_string());
        res.store_previous_id();
        let name = format!("{p}{}", res.name());
        res.set_name(&name);
    }
    Ok(())
}

pub fn suffix(layer: &Layer, set: &mut ResourceSet) -> Result<(), OverlayError> {
    let Some(s) = layer.k.name_suffix.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    for res in set.iter_mut().filter(|r| !skipped(r)) {
        res.suffixes.push(s.to_string());
        res.store_previous_id();
        let name = format!("{}{s}", res.name());
        res.set_name(&name);
    }
    Ok(())
}
