//! `namespace`: puts every namespaced resource into one namespace. Cluster-scoped kinds keep
//! none; RoleBinding subjects named `default` follow the namespace, as in Kustomize.

use super::{Layer, OverlayError};
use crate::model::ResourceSet;
use serde_json::Value;
use std::collections::HashSet;

pub fn apply(layer: &Layer, set: &mut ResourceSet) -> Result<(), OverlayError> {
    let Some(ns) = layer.k.namespace.as_deref().filter(|n| !n.is_empty()) else {
        return Ok(());
    };
    for res in set.iter_mut() {
        res.store_previous_id();
        let gvk = res.gvk();
        if !gvk.is_cluster_scoped() {
            res.set_namespace(ns);
        }
        // Kustomize renames a Namespace object to the namespace being set.
        if gvk.kind == "Namespace" && gvk.group.is_empty() {
            res.set_name(ns);
        }
        if gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding" {
            if let Some(Value::Array(subjects)) = res.body_mut().get_mut("subjects") {
                for s in subjects.iter_mut().filter(|s| s["name"] == "default") {
                    if let Some(m) = s.as_object_mut() {
                        m.insert("namespace".into(), Value::String(ns.to_string()));
                    }
                }
            }
        }
    }
    let mut seen = HashSet::new();
    for res in set.iter() {
        let id = res.id();
        if !seen.insert((id.gvk.clone(), id.effective_namespace().to_string(), id.name.clone())) {
            return Err(OverlayError::Transformer {
                file: layer.file.clone(),
                message: format!("namespace `{ns}` makes two resources the same: {id}"),
            });
        }
    }
    Ok(())
}
