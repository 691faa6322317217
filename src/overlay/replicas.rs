//! `replicas`: sets `spec.replicas` of the named workloads; a name that matches no scalable
//! workload is an error (as in Kustomize).

use super::{field_specs, Layer, OverlayError};
use crate::model::ResourceSet;
use serde_json::Value;

pub fn apply(layer: &Layer, set: &mut ResourceSet) -> Result<(), OverlayError> {
    for rep in &layer.k.replicas {
        if rep.count < 0 {
            return Err(OverlayError::Transformer {
                file: layer.file.clone(),
                message: format!(
                    "replicas: `{}` has count {}; a replica count cannot be negative",
                    rep.name, rep.count
                ),
            });
        }
        let mut found = false;
        for res in set.iter_mut() {
            let gvk = res.gvk();
            let named = res.all_ids().any(|id| id.name == rep.name);
            for spec in field_specs::replicas().iter().filter(|s| named && s.applies_to(&gvk)) {
                found = true;
                field_specs::visit(res.body_mut(), spec, &|| Value::Null, &mut |node| *node = Value::from(rep.count));
            }
        }
        if !found {
            return Err(OverlayError::Transformer {
                file: layer.file.clone(),
                message: format!(
                    "replicas: no Deployment, StatefulSet, ReplicaSet or ReplicationController is named `{}`",
                    rep.name
                ),
            });
        }
    }
    Ok(())
}
