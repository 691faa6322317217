//! What the server serves: group/version/resource table built from the captured discovery
//! documents, plus custom resources registered through the config.

use serde_json::Value;

/// One discovery document per served group version (response bodies of the v1.24 captures;
/// scheduling and authorization were written by hand in the same shape).
const DISCOVERY_DOCS: &[&str] = &[
    include_str!("../data/discovery/api-v1.json"),
    include_str!("../data/discovery/apps-v1.json"),
    include_str!("../data/discovery/batch-v1.json"),
    include_str!("../data/discovery/autoscaling-v2.json"),
    // Written by hand from autoscaling/v2's: v1.24 serves the same HPAs under both versions.
    include_str!("../data/discovery/autoscaling-v2beta2.json"),
    include_str!("../data/discovery/networking-k8s-io-v1.json"),
    include_str!("../data/discovery/policy-v1.json"),
    include_str!("../data/discovery/coordination-k8s-io-v1.json"),
    include_str!("../data/discovery/rbac-authorization-k8s-io-v1.json"),
    include_str!("../data/discovery/scheduling-k8s-io-v1.json"),
    include_str!("../data/discovery/authorization-k8s-io-v1.json"),
    // Written by hand in the same shape (StorageClasses only): PVC readiness and doctor read them.
    include_str!("../data/discovery/storage-k8s-io-v1.json"),
];

/// Order of groups in `/apis`, as the captured APIGroupList lists them.
const GROUP_ORDER: &[&str] = &[
    "apps",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
];

/// A resource registered through the config, served without a schema (like a CRD).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomResource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    /// When true, writes to the main resource keep the stored `status` (status subresource).
    pub status_subresource: bool,
}

impl CustomResource {
    /// A namespaced custom resource with a status subresource.
    pub fn new(group: &str, version: &str, kind: &str, plural: &str) -> Self {
        CustomResource {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced: true,
            short_names: Vec::new(),
            status_subresource: true,
        }
    }
    /// Makes it cluster-scoped.
    pub fn cluster_scoped(mut self) -> Self {
        self.namespaced = false;
        self
    }
    /// Adds short names (`kubectl get <short>`).
    pub fn short_names(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }
}

/// A subresource as discovery lists it (`deployments/status`).
#[derive(Debug, Clone, PartialEq)]
pub struct Subresource {
    pub name: String,
    pub kind: String,
    pub group: Option<String>,
    pub version: Option<String>,
    pub verbs: Vec<String>,
}

/// A served resource and the behaviour switches that depend on it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceInfo {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub kind: String,
    pub namespaced: bool,
    pub verbs: Vec<String>,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub subresources: Vec<Subresource>,
    /// The captured entry, served as-is in legacy discovery.
    pub raw: Value,
    pub custom: bool,
}

impl ResourceInfo {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// True when writes to the main resource must keep the stored status.
    pub fn has_status(&self) -> bool {
        self.subresources.iter().any(|s| s.name == "status")
    }

    /// Resources whose `metadata.generation` the server maintains.
    pub fn tracks_generation(&self) -> bool {
        self.custom || matches!(self.group.as_str(), "apps" | "batch" | "autoscaling" | "networking.k8s.io" | "policy")
    }

    /// PUT on a missing object creates it for these (their strategies allow it).
    pub fn allow_create_on_update(&self) -> bool {
        matches!(self.plural.as_str(), "leases" | "endpoints" | "events")
    }

    /// The `Warning` the real server adds to every answer for a deprecated version
    /// (versions-hpa-apply-v2beta2.json).
    pub fn deprecation(&self) -> Option<String> {
        (self.group == "autoscaling" && self.version == "v2beta2").then(|| {
            format!("299 - \"{} {} is deprecated in v1.23+, unavailable in v1.26+\"", self.api_version(), self.kind)
        })
    }

    /// The object as this version serves it. Objects are stored once per group and resource
    /// (whichever version wrote them) and read under any served version: the versions the
    /// test server serves side by side have the same fields, so only `apiVersion` differs.
    /// `managedFields` entries keep the version they were written with, as for real.
    pub fn at_version(&self, obj: &mut Value) {
        if obj.get("kind").and_then(Value::as_str) == Some(self.kind.as_str()) && obj.get("apiVersion").is_some() {
            obj["apiVersion"] = Value::String(self.api_version());
        }
    }

    /// Review resources are computed answers, never stored.
    pub fn is_review(&self) -> bool {
        self.group == "authorization.k8s.io"
    }

    pub fn singular(&self) -> String {
        self.kind.to_lowercase()
    }
}

/// One group version with its resources.
#[derive(Debug, Clone)]
pub struct GroupVersion {
    pub group: String,
    pub version: String,
    pub resources: Vec<ResourceInfo>,
    /// Discovery entries in served order, subresources included.
    pub raw: Vec<Value>,
    /// The legacy document has `apiVersion` except for the core group.
    pub has_api_version: bool,
}

impl GroupVersion {
    pub fn group_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// Everything the server serves.
#[derive(Debug, Clone)]
pub struct Registry {
    pub versions: Vec<GroupVersion>,
}

impl Registry {
    /// Built-in resources plus the given custom ones.
    pub fn new(custom: &[CustomResource]) -> Self {
        let mut versions = Vec::new();
        for doc in DISCOVERY_DOCS {
            let Ok(v) = serde_json::from_str::<Value>(doc) else { continue };
            if let Some(gv) = parse_doc(&v) {
                versions.push(gv);
            }
        }
        versions.sort_by_key(|gv| {
            if gv.group.is_empty() {
                0
            } else {
                1 + GROUP_ORDER.iter().position(|g| *g == gv.group).unwrap_or(GROUP_ORDER.len())
            }
        });
        let mut reg = Registry { versions };
        for cr in custom {
            reg.add_custom(cr);
        }
        reg
    }

    fn add_custom(&mut self, cr: &CustomResource) {
        let mut verbs: Vec<String> =
            ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        verbs.sort();
        let mut raw = serde_json::json!({
            "name": cr.plural, "singularName": cr.kind.to_lowercase(), "namespaced": cr.namespaced,
            "kind": cr.kind, "verbs": verbs,
        });
        if !cr.short_names.is_empty() {
            raw["shortNames"] = serde_json::json!(cr.short_names);
        }
        let mut subresources = Vec::new();
        if cr.status_subresource {
            subresources.push(Subresource {
                name: "status".into(),
                kind: cr.kind.clone(),
                group: None,
                version: None,
                verbs: vec!["get".into(), "patch".into(), "update".into()],
            });
        }
        let mut raws = vec![raw.clone()];
        if cr.status_subresource {
            raws.push(serde_json::json!({"name": format!("{}/status", cr.plural), "singularName": "",
                "namespaced": cr.namespaced, "kind": cr.kind, "verbs": ["get", "patch", "update"]}));
        }
        let info = ResourceInfo {
            group: cr.group.clone(),
            version: cr.version.clone(),
            plural: cr.plural.clone(),
            kind: cr.kind.clone(),
            namespaced: cr.namespaced,
            verbs,
            short_names: cr.short_names.clone(),
            categories: Vec::new(),
            subresources,
            raw,
            custom: true,
        };
        match self.versions.iter_mut().find(|gv| gv.group == cr.group && gv.version == cr.version) {
            Some(gv) => {
                let prefix = format!("{}/", cr.plural);
                gv.resources.retain(|r| r.plural != cr.plural);
                gv.raw.retain(|r| {
                    let n = r.get("name").and_then(Value::as_str).unwrap_or("");
                    n != cr.plural && !n.starts_with(&prefix)
                });
                gv.resources.push(info);
                gv.raw.extend(raws);
            }
            None => self.versions.push(GroupVersion {
                group: cr.group.clone(),
                version: cr.version.clone(),
                resources: vec![info],
                raw: raws,
                has_api_version: true,
            }),
        }
    }

    /// Stops serving a group version (as a newer Kubernetes that removed it); its objects stay
    /// stored and readable under the group's other versions. Returns whether it was served.
    pub fn stop_serving(&mut self, group: &str, version: &str) -> bool {
        let before = self.versions.len();
        self.versions.retain(|gv| !(gv.group == group && gv.version == version));
        self.versions.len() != before
    }

    /// The group version, if served.
    pub fn group_version(&self, group: &str, version: &str) -> Option<&GroupVersion> {
        self.versions.iter().find(|gv| gv.group == group && gv.version == version)
    }

    /// A resource by URL coordinates.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceInfo> {
        self.group_version(group, version)?.resources.iter().find(|r| r.plural == plural)
    }

    /// A resource by `apiVersion` and `kind` (for seeds and assertions).
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<&ResourceInfo> {
        let (group, version) = split_api_version(api_version);
        self.group_version(group, version)?.resources.iter().find(|r| r.kind == kind)
    }

    /// Groups in `/apis` order (core excluded), each with its versions.
    pub fn groups(&self) -> Vec<(String, Vec<&GroupVersion>)> {
        let mut out: Vec<(String, Vec<&GroupVersion>)> = Vec::new();
        for gv in self.versions.iter().filter(|gv| !gv.group.is_empty()) {
            match out.iter_mut().find(|(g, _)| *g == gv.group) {
                Some((_, list)) => list.push(gv),
                None => out.push((gv.group.clone(), vec![gv])),
            }
        }
        out
    }
}

/// "apps/v1" → ("apps", "v1"); "v1" → ("", "v1").
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn parse_doc(doc: &Value) -> Option<GroupVersion> {
    let gv = doc.get("groupVersion")?.as_str()?;
    let (group, version) = split_api_version(gv);
    let entries = doc.get("resources")?.as_array()?;
    let mut resources: Vec<ResourceInfo> = Vec::new();
    for e in entries {
        let Some(name) = e.get("name").and_then(Value::as_str) else { continue };
        let kind = e.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
        if let Some((parent, sub)) = name.split_once('/') {
            if let Some(r) = resources.iter_mut().find(|r| r.plural == parent) {
                r.subresources.push(Subresource {
                    name: sub.to_string(),
                    kind,
                    group: e.get("group").and_then(Value::as_str).map(str::to_string),
                    version: e.get("version").and_then(Value::as_str).map(str::to_string),
                    verbs: strings(e, "verbs"),
                });
            }
            continue;
        }
        resources.push(ResourceInfo {
            group: group.to_string(),
            version: version.to_string(),
            plural: name.to_string(),
            kind,
            namespaced: e.get("namespaced").and_then(Value::as_bool).unwrap_or(true),
            verbs: strings(e, "verbs"),
            short_names: strings(e, "shortNames"),
            categories: strings(e, "categories"),
            subresources: Vec::new(),
            raw: e.clone(),
            custom: false,
        });
    }
    Some(GroupVersion {
        group: group.to_string(),
        version: version.to_string(),
        resources,
        raw: entries.clone(),
        has_api_version: doc.get("apiVersion").is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_served() {
        let r = Registry::new(&[]);
        let d = r.lookup("apps", "v1", "deployments").unwrap();
        assert_eq!(d.kind, "Deployment");
        assert!(d.has_status() && d.tracks_generation() && d.namespaced);
        assert!(!r.lookup("", "v1", "namespaces").unwrap().namespaced);
        assert!(r.lookup("scheduling.k8s.io", "v1", "priorityclasses").is_some());
        assert!(r.by_kind("coordination.k8s.io/v1", "Lease").unwrap().allow_create_on_update());
        assert_eq!(r.versions[0].group, "");
        assert!(r.lookup("apps", "v1", "widgets").is_none());
    }

    #[test]
    fn custom_resources_join_the_table() {
        let cr = CustomResource::new("dimtensor.io", "v1alpha1", "Model", "models").short_names(&["mdl"]);
        let r = Registry::new(&[cr]);
        let m = r.lookup("dimtensor.io", "v1alpha1", "models").unwrap();
        assert!(m.custom && m.has_status());
        assert!(r.groups().iter().any(|(g, _)| g == "dimtensor.io"));
    }
}
