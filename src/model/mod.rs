//! The resource model every stage shares: an id, a resource (untyped JSON plus build notes) and an
//! ordered set of resources.
//!
//! Resources stay `serde_json::Value` end to end: typed k8s-openapi structs would drop fields they
//! do not know (CRDs, newer API fields), and a deploy tool must never lose a user's field.

pub mod fields;
mod id;
mod resource;
mod set;
pub mod shared;

pub use id::{is_cluster_scoped, Gvk, IdRef, ResId};
pub use resource::{Behavior, Resource};
pub use set::{DuplicateId, ResourceSet};
