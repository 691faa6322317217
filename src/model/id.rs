//! Resource identity: group, version, kind, namespace and name.

use super::fields;
use std::fmt;

include!(concat!(env!("OUT_DIR"), "/cluster_scoped.rs"));

/// Group, version and kind of a resource, as in `apiVersion` + `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    /// Splits an `apiVersion` such as `apps/v1` (or `v1` for the core group).
    pub fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (group, version) = split_api_version(api_version);
        Gvk { group: group.to_string(), version: version.to_string(), kind: kind.to_string() }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Kubernetes scope as the built-in schema knows it; unknown kinds (CRDs) count as namespaced.
    pub fn is_cluster_scoped(&self) -> bool {
        is_cluster_scoped(&self.group, &self.kind)
    }
}

/// `apiVersion` as group and version, without copying (`v1` is the core group).
pub(super) fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// The namespace used for equality: cluster-scoped kinds have none, and an empty namespace
/// means `default`, as in Kustomize.
pub(super) fn effective_namespace<'a>(group: &str, kind: &str, namespace: &'a str) -> &'a str {
    if is_cluster_scoped(group, kind) {
        "_non_namespaceable_"
    } else if namespace.is_empty() {
        "default"
    } else {
        namespace
    }
}

/// True for kinds the API server serves without a namespace (Namespace, ClusterRole, CRDs, ...).
/// Derived at build time from the OpenAPI schema's paths.
pub fn is_cluster_scoped(group: &str, kind: &str) -> bool {
    cluster_scoped_kind(group, kind)
}

/// An id borrowed from a body or a [`ResId`], with the namespace as compared
/// ([`effective_namespace`]): what the checks that run for every resource of a build (uniqueness,
/// patch targets, selectors) compare, without copying five strings each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdRef<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
}

impl<'a> IdRef<'a> {
    /// The id of `apiVersion`, `kind`, `namespace` and `name` as written in a body.
    pub(super) fn of(api_version: &'a str, kind: &'a str, namespace: &'a str, name: &'a str) -> IdRef<'a> {
        let (group, version) = split_api_version(api_version);
        IdRef { group, version, kind, namespace: effective_namespace(group, kind, namespace), name }
    }
}

/// The identity of one resource. Shown as `Kind/namespace/name`, or `Kind/name` for objects
/// without a namespace, the same way everywhere (render errors, diff headers, history).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResId {
    pub gvk: Gvk,
    pub namespace: String,
    pub name: String,
}

impl ResId {
    pub fn new(gvk: Gvk, namespace: &str, name: &str) -> ResId {
        ResId { gvk, namespace: namespace.to_string(), name: name.to_string() }
    }

    /// The id a manifest (or a patch naming one) declares; missing fields are empty.
    pub fn of(doc: &serde_json::Value) -> ResId {
        let meta = fields::child(doc, "metadata").unwrap_or(&serde_json::Value::Null);
        ResId {
            gvk: Gvk::from_api_version(fields::str_at(doc, "apiVersion"), fields::str_at(doc, "kind")),
            namespace: fields::str_at(meta, "namespace").to_string(),
            name: fields::str_at(meta, "name").to_string(),
        }
    }

    /// See [`effective_namespace`].
    pub fn effective_namespace(&self) -> &str {
        effective_namespace(&self.gvk.group, &self.gvk.kind, &self.namespace)
    }

    /// The id borrowed, as it is compared.
    pub fn borrowed(&self) -> IdRef<'_> {
        IdRef {
            group: &self.gvk.group,
            version: &self.gvk.version,
            kind: &self.gvk.kind,
            namespace: self.effective_namespace(),
            name: &self.name,
        }
    }

    /// The same object under any version of its group: identity is group, kind, namespace and
    /// name (an HPA under `autoscaling/v2beta2` and `autoscaling/v2` is one object).
    pub fn same_identity(&self, other: &ResId) -> bool {
        self.gvk.group == other.gvk.group && self.gvk.kind == other.gvk.kind && self.same_place(other)
    }

    fn same_place(&self, other: &ResId) -> bool {
        self.name == other.name && self.effective_namespace() == other.effective_namespace()
    }

    /// Same object as far as the API server is concerned.
    pub fn same_object(&self, other: &ResId) -> bool {
        self.gvk == other.gvk && self.same_place(other)
    }
}

impl fmt::Display for ResId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.gvk.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.gvk.kind, self.namespace, self.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_api_versions() {
        assert_eq!(Gvk::from_api_version("apps/v1", "Deployment").group, "apps");
        assert_eq!(Gvk::from_api_version("v1", "Service").api_version(), "v1");
    }

    #[test]
    fn scope_comes_from_the_schema() {
        assert!(is_cluster_scoped("", "Namespace"));
        assert!(is_cluster_scoped("rbac.authorization.k8s.io", "ClusterRole"));
        assert!(is_cluster_scoped("apiextensions.k8s.io", "CustomResourceDefinition"));
        assert!(!is_cluster_scoped("apps", "Deployment"));
        assert!(!is_cluster_scoped("example.com", "Widget"));
    }

    #[test]
    fn ids_display_with_and_without_namespace() {
        let gvk = Gvk::from_api_version("apps/v1", "Deployment");
        assert_eq!(ResId::new(gvk.clone(), "ml", "dimtensor").to_string(), "Deployment/ml/dimtensor");
        assert_eq!(ResId::new(gvk, "", "dimtensor").to_string(), "Deployment/dimtensor");
    }

    #[test]
    fn empty_namespace_means_default() {
        let gvk = Gvk::from_api_version("v1", "ConfigMap");
        assert!(ResId::new(gvk.clone(), "", "a").same_object(&ResId::new(gvk, "default", "a")));
    }
}
