//! Stored objects across API versions. A record keeps each object under the version it was
//! applied with; the server may since have stopped serving that version (autoscaling/v2beta2
//! went in Kubernetes 1.26). Identity is group and kind, so reading, pruning and uninstalling go
//! through discovery to a version it serves; applying a stored object again (rollback) needs its
//! body under a served version, which is only the same object where the two versions share
//! their schema.

use crate::cluster::{Cluster, ClusterError};
use crate::model::{Gvk, ResId};
use serde_json::Value;

/// Version pairs whose schemas are identical: an object of the first is the same object,
/// field for field, under the second.
const SAME_SCHEMA: &[(&str, &str, &str, &str)] =
    &[("autoscaling", "HorizontalPodAutoscaler", "v2beta2", "v2"), ("batch", "CronJob", "v1beta1", "v1")];

#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    #[error("{id} is stored as {stored}, which this server no longer serves{}; the two versions differ, so it cannot be applied again as it is: update the overlay to the served version and upgrade instead", served.as_ref().map(|s| format!(" (it serves {s})")).unwrap_or_default())]
    Removed { id: ResId, stored: String, served: Option<String> },
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// `id` under the version the server serves its kind with.
pub async fn served_id(cluster: &Cluster, id: &ResId) -> Result<ResId, ClusterError> {
    let gvk = cluster.served(&id.gvk).await?;
    Ok(ResId { gvk, ..id.clone() })
}

/// A stored object as it can be applied again: itself when its version is served; under the
/// served version when the two share their schema (with the versions, to say so); refused
/// otherwise, naming the removed version.
pub async fn served_body(cluster: &Cluster, body: &Value) -> Result<(Value, Option<(Gvk, Gvk)>), VersionError> {
    let id = ResId::of(body);
    let served = match cluster.served(&id.gvk).await {
        Ok(g) => g,
        Err(ClusterError::UnknownKind { .. }) => {
            return Err(VersionError::Removed { id: id.clone(), stored: id.gvk.api_version(), served: None })
        }
        Err(e) => return Err(e.into()),
    };
    if served == id.gvk {
        return Ok((body.clone(), None));
    }
    if !same_schema(&id.gvk, &served.version) {
        return Err(VersionError::Removed {
            id: id.clone(),
            stored: id.gvk.api_version(),
            served: Some(served.api_version()),
        });
    }
    let mut out = body.clone();
    out["apiVersion"] = Value::String(served.api_version());
    Ok((out, Some((id.gvk, served))))
}

fn same_schema(from: &Gvk, to: &str) -> bool {
    SAME_SCHEMA.iter().any(|(g, k, f, t)| *g == from.group && *k == from.kind && *f == from.version && *t == to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_versions_with_one_schema_stand_in_for_each_other() {
        assert!(same_schema(&Gvk::from_api_version("autoscaling/v2beta2", "HorizontalPodAutoscaler"), "v2"));
        assert!(same_schema(&Gvk::from_api_version("batch/v1beta1", "CronJob"), "v1"));
        // Ingress v1beta1 had `backend.serviceName`; v1 has `backend.service.name`.
        assert!(!same_schema(&Gvk::from_api_version("networking.k8s.io/v1beta1", "Ingress"), "v1"));
        assert!(!same_schema(&Gvk::from_api_version("autoscaling/v2beta1", "HorizontalPodAutoscaler"), "v2"));
        let e = VersionError::Removed {
            id: ResId::new(Gvk::from_api_version("networking.k8s.io/v1beta1", "Ingress"), "ml", "web"),
            stored: "networking.k8s.io/v1beta1".into(),
            served: Some("networking.k8s.io/v1".into()),
        };
        let msg = e.to_string();
        assert!(
            msg.contains("Ingress/ml/web is stored as networking.k8s.io/v1beta1")
                && msg.contains("serves networking.k8s.io/v1"),
            "{msg}"
        );
    }
}
