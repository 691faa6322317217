//! `commonAnnotations`: metadata, and pod templates of the workload kinds.

use super::{field_specs, labels, Layer, OverlayError};
use crate::model::ResourceSet;

pub fn apply(layer: &Layer, set: &mut ResourceSet) -> Result<(), OverlayError> {
    labels::set_pairs(set, &layer.k.common_annotations, field_specs::annotations());
    Ok(())
}
