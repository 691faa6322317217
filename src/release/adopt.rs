//! Whose an existing object is, before a release applies over it. Objects of Helm release NAME
//! are taken over only with `--adopt` (applied with force, so field ownership moves from the
//! `helm` manager); objects of no release only with `--take-ownership`; objects of another
//! release never. Nothing is taken over silently.

use super::{RELEASE_LABEL, RELEASE_NAMESPACE_ANNOTATION};
use crate::cluster::{Cluster, ClusterError, Propagation};
use crate::model::{Gvk, ResId};
use serde_json::Value;
use std::collections::HashSet;

pub const HELM_NAME_ANNOTATION: &str = "meta.helm.sh/release-name";
pub const HELM_NAMESPACE_ANNOTATION: &str = "meta.helm.sh/release-namespace";

#[derive(Debug, Clone, PartialEq)]
pub enum Owner {
    /// This release (by label, or because one of its revisions applied it).
    Ours,
    Helm {
        release: String,
        namespace: String,
    },
    Dimtensor {
        release: String,
        namespace: String,
    },
    Nobody,
}

/// Who owns a live object, seen from release `name` in `namespace`.
pub fn owner(obj: &Value, name: &str, namespace: &str) -> Owner {
    let meta = &obj["metadata"];
    let ann = |k: &str| meta["annotations"][k].as_str().map(str::to_string);
    if let Some(r) = meta["labels"][RELEASE_LABEL].as_str() {
        let ns = ann(RELEASE_NAMESPACE_ANNOTATION).unwrap_or_else(|| namespace.to_string());
        return if r == name && ns == namespace {
            Owner::Ours
        } else {
            Owner::Dimtensor { release: r.to_string(), namespace: ns }
        };
    }
    match ann(HELM_NAME_ANNOTATION) {
        Some(release) => Owner::Helm { release, namespace: ann(HELM_NAMESPACE_ANNOTATION).unwrap_or_default() },
        None => Owner::Nobody,
    }
}

#[derive(Debug, thiserror::Error)]
#[error("release {name} would take over objects that are not its own:\n{}", lines.join("\n"))]
pub struct OwnershipError {
    pub name: String,
    pub lines: Vec<String>,
}

/// What may be taken over: the objects to apply with force. `ours` are objects the release's
/// history applied (they count as its own even if someone removed the label).
pub fn check(
    live: &[(&ResId, &Value)],
    ours: &[ResId],
    name: &str,
    namespace: &str,
    adopt: bool,
    take_ownership: bool,
) -> Result<Vec<ResId>, OwnershipError> {
    let mut take = Vec::new();
    let mut lines = Vec::new();
    // Set lookups: the history can name every object of every kept revision.
    let key = |id: &ResId| (id.gvk.clone(), id.effective_namespace().to_string(), id.name.clone());
    let ours: HashSet<_> = ours.iter().map(key).collect();
    for &(id, obj) in live {
        if ours.contains(&key(id)) {
            continue;
        }
        match owner(obj, name, namespace) {
            Owner::Ours => {}
            Owner::Helm { release, namespace: ns } if release == name && (ns.is_empty() || ns == namespace) => {
                if adopt {
                    take.push(id.clone());
                } else {
                    lines.push(format!("  {id}: part of Helm release {release}; pass --adopt to take it over"));
                }
            }
            Owner::Helm { release, namespace: ns } => lines.push(format!(
                "  {id}: part of Helm release {release} in namespace {ns}; --adopt only takes over objects of Helm release {name} in {namespace}"
            )),
            Owner::Dimtensor { release, namespace: ns } => lines.push(format!(
                "  {id}: belongs to dimtensor release {release} in namespace {ns}; uninstall that release or rename this one (neither --adopt nor --take-ownership takes it)"
            )),
            Owner::Nobody if take_ownership => take.push(id.clone()),
            Owner::Nobody => lines.push(format!(
                "  {id}: exists and belongs to no release; delete it, or pass --take-ownership to manage it as part of {name}"
            )),
        }
    }
    if lines.is_empty() {
        Ok(take)
    } else {
        Err(OwnershipError { name: name.into(), lines })
    }
}

/// `--remove-helm-history`: deletes Helm's release Secrets `sh.helm.release.v1.NAME.v*`.
pub async fn remove_helm_history(cluster: &Cluster, namespace: &str, name: &str) -> Result<Vec<String>, ClusterError> {
    let gvk = Gvk::from_api_version("v1", "Secret");
    let prefix = format!("sh.helm.release.v1.{name}.v");
    let mut removed = Vec::new();
    for s in cluster.list(&gvk, namespace, Some(&format!("owner=helm,name={name}"))).await? {
        let Some(secret) = s["metadata"]["name"].as_str().filter(|n| n.starts_with(&prefix)) else { continue };
        if cluster.delete(&ResId::new(gvk.clone(), namespace, secret), Propagation::Background).await? {
            removed.push(secret.to_string());
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(n: &str) -> ResId {
        ResId::new(Gvk::from_api_version("v1", "Service"), "ml", n)
    }

    fn refs(v: &[(ResId, Value)]) -> Vec<(&ResId, &Value)> {
        v.iter().map(|(id, obj)| (id, obj)).collect()
    }

    fn helm(release: &str) -> Value {
        json!({"metadata": {"labels": {"app.kubernetes.io/managed-by": "Helm"}, "annotations": {HELM_NAME_ANNOTATION: release, HELM_NAMESPACE_ANNOTATION: "ml"}}})
    }

    #[test]
    fn helm_objects_need_adopt_and_others_are_refused_by_name() {
        let live = vec![(id("a"), helm("prod"))];
        let err = check(&refs(&live), &[], "prod", "ml", false, false).unwrap_err().to_string();
        assert!(err.contains("Service/ml/a") && err.contains("--adopt"), "{err}");
        assert_eq!(check(&refs(&live), &[], "prod", "ml", true, false).unwrap(), vec![id("a")]);

        let other = vec![(id("b"), json!({"metadata": {"labels": {RELEASE_LABEL: "dev"}}}))];
        let err = check(&refs(&other), &[], "prod", "ml", true, true).unwrap_err().to_string();
        assert!(err.contains("Service/ml/b") && err.contains("dimtensor release dev"), "{err}");

        let nobody = vec![(id("c"), json!({"metadata": {}}))];
        assert!(check(&refs(&nobody), &[], "prod", "ml", true, false)
            .unwrap_err()
            .to_string()
            .contains("--take-ownership"));
        assert_eq!(check(&refs(&nobody), &[], "prod", "ml", false, true).unwrap(), vec![id("c")]);

        let mine = vec![
            (id("d"), json!({"metadata": {"labels": {RELEASE_LABEL: "prod"}}})),
            (id("e"), json!({"metadata": {}})),
        ];
        assert!(check(&refs(&mine), &[id("e")], "prod", "ml", false, false).unwrap().is_empty());

        let other_helm = vec![(id("f"), helm("legacy"))];
        assert!(check(&refs(&other_helm), &[], "prod", "ml", true, false).is_err());
    }
}
