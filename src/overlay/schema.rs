//! Merge rules for built-in Kubernetes kinds, derived at build time from the OpenAPI v2 schema
//! (`schema/openapi-v2.json`, see build.rs) rather than written by hand, so they cannot drift
//! from the API server they were captured from.
//!
//! The build script keeps only what strategic merge needs: object, map and list properties
//! (for shape checks and to reach nested rules) and every `x-kubernetes-patch-strategy` /
//! `x-kubernetes-patch-merge-key`. Plain scalar fields are left out, so [`SchemaRef::field`]
//! returns `None` for them exactly as for unknown fields; both merge as plain values.

// `DEFS`, `ROOTS` and `GVK`: the table build.rs generates (`write_merge_table_rs`), as statics.
include!(concat!(env!("OUT_DIR"), "/merge_table.rs"));

/// What a position in the type tree holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    /// A definition with named properties (PodSpec, Container, ...).
    Object,
    /// `additionalProperties`: every key holds the same value schema (labels, resources.limits).
    Map,
    /// An array; see the owning [`FieldSchema`] for its merge strategy.
    List,
    /// A string, number or boolean (including Quantity, Time, IntOrString).
    Scalar,
    /// Free-form (RawExtension, JSON, FieldsV1): merged without schema.
    Any,
}

/// A position in the type tree of a built-in kind.
#[derive(Debug, Clone, Copy)]
pub struct SchemaRef<'a> {
    shape: &'a Shape,
}

/// `x-kubernetes-patch-strategy`, split into its comma-separated parts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PatchStrategy {
    pub merge: bool,
    pub replace: bool,
    pub retain_keys: bool,
}

/// One property of an object (or the value schema of a map) together with its patch metadata.
#[derive(Debug, Clone, Copy)]
pub struct FieldSchema<'a> {
    pub strategy: PatchStrategy,
    /// `x-kubernetes-patch-merge-key`.
    pub merge_key: Option<&'a str>,
    /// `x-kubernetes-list-map-keys` (only recorded where a patch strategy is present, which is
    /// where Kustomize uses it as a compound merge key, e.g. `[containerPort, protocol]`).
    pub list_map_keys: &'a [&'a str],
    /// The schema of the property's value.
    pub schema: SchemaRef<'a>,
}

/// Schema of the built-in kind `kind` in `api_version` ("apps/v1", "v1"); `None` for CRDs and
/// anything else the captured API server does not serve.
pub fn for_kind(api_version: &str, kind: &str) -> Option<SchemaRef<'static>> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) if !g.is_empty() && !v.contains('/') => (g, v),
        Some(_) => return None,
        None => ("", api_version),
    };
    let at = GVK.binary_search_by(|&(g, v, k, _)| (g, v, k).cmp(&(group, version, kind))).ok()?;
    Some(SchemaRef { shape: ROOTS.get(GVK[at].3)? })
}

impl<'a> SchemaRef<'a> {
    pub fn kind(&self) -> SchemaKind {
        match self.shape {
            Shape::Object(_) => SchemaKind::Object,
            Shape::Map(_) => SchemaKind::Map,
            Shape::List(_) => SchemaKind::List,
            Shape::Scalar => SchemaKind::Scalar,
            Shape::Any => SchemaKind::Any,
        }
    }

    /// The OpenAPI definition name, for objects ("io.k8s.api.core.v1.PodSpec").
    pub fn definition(&self) -> Option<&'a str> {
        match self.shape {
            Shape::Object(i) => DEFS.get(*i).map(|d| d.name),
            _ => None,
        }
    }

    /// The property `name` of an object, or the value schema of a map (any `name`).
    pub fn field(&self, name: &str) -> Option<FieldSchema<'a>> {
        match self.shape {
            Shape::Object(i) => {
                let props = DEFS.get(*i)?.props;
                let prop = &props[props.binary_search_by(|(k, _)| (*k).cmp(name)).ok()?].1;
                Some(FieldSchema {
                    strategy: prop.strategy,
                    merge_key: prop.merge_key,
                    list_map_keys: prop.list_map_keys,
                    schema: SchemaRef { shape: &prop.shape },
                })
            }
            Shape::Map(value) => Some(FieldSchema {
                strategy: PatchStrategy::default(),
                merge_key: None,
                list_map_keys: &[],
                schema: SchemaRef { shape: value },
            }),
            _ => None,
        }
    }

    /// The element schema of a list.
    pub fn items(&self) -> Option<SchemaRef<'a>> {
        match self.shape {
            Shape::List(item) => Some(SchemaRef { shape: item }),
            _ => None,
        }
    }
}

impl PatchStrategy {
    #[cfg(test)]
    fn parse(s: &str) -> PatchStrategy {
        let mut out = PatchStrategy::default();
        for part in s.split(',') {
            match part.trim() {
                "merge" => out.merge = true,
                "replace" => out.replace = true,
                "retainKeys" => out.retain_keys = true,
                _ => {}
            }
        }
        out
    }
}

#[derive(Debug)]
enum Shape {
    Object(usize),
    Map(&'static Shape),
    List(&'static Shape),
    Scalar,
    Any,
}

#[derive(Debug)]
struct Prop {
    shape: Shape,
    strategy: PatchStrategy,
    merge_key: Option<&'static str>,
    list_map_keys: &'static [&'static str],
}

#[derive(Debug)]
struct Def {
    name: &'static str,
    /// Sorted by property name.
    props: &'static [(&'static str, Prop)],
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::HashMap;

    fn pod_spec() -> SchemaRef<'static> {
        let pod = for_kind("v1", "Pod").expect("Pod is built in");
        let spec = pod.field("spec").expect("Pod.spec");
        assert_eq!(spec.schema.definition(), Some("io.k8s.api.core.v1.PodSpec"));
        spec.schema
    }

    fn field(s: SchemaRef<'static>, path: &[&str]) -> FieldSchema<'static> {
        let (first, rest) = path.split_first().expect("non-empty path");
        let mut f = s.field(first).unwrap_or_else(|| panic!("no field {first}"));
        for name in rest {
            let parent = f.schema.items().unwrap_or(f.schema);
            f = parent.field(name).unwrap_or_else(|| panic!("no field {name}"));
        }
        f
    }

    const MERGE: PatchStrategy = PatchStrategy { merge: true, replace: false, retain_keys: false };

    #[test]
    fn pod_spec_spot_checks() {
        let ps = pod_spec();
        let containers = field(ps, &["containers"]);
        assert_eq!((containers.strategy, containers.merge_key), (MERGE, Some("name")));
        assert_eq!(containers.schema.items().and_then(|i| i.definition()), Some("io.k8s.api.core.v1.Container"));
        let volumes = field(ps, &["volumes"]);
        let merge_retain = PatchStrategy { merge: true, replace: false, retain_keys: true };
        assert_eq!((volumes.strategy, volumes.merge_key), (merge_retain, Some("name")));
        let tolerations = field(ps, &["tolerations"]);
        assert_eq!((tolerations.strategy, tolerations.merge_key), (PatchStrategy::default(), None));
        assert_eq!(tolerations.schema.kind(), SchemaKind::List);
        let ports = field(ps, &["containers", "ports"]);
        assert_eq!((ports.strategy, ports.merge_key), (MERGE, Some("containerPort")));
        assert_eq!(ports.list_map_keys, ["containerPort", "protocol"]);
        let env = field(ps, &["containers", "env"]);
        assert_eq!((env.strategy, env.merge_key), (MERGE, Some("name")));
        let mounts = field(ps, &["containers", "volumeMounts"]);
        assert_eq!(mounts.merge_key, Some("mountPath"));
        let pull = field(ps, &["imagePullSecrets"]);
        assert_eq!((pull.strategy, pull.merge_key), (MERGE, Some("name")));
        assert_eq!(field(ps, &["containers", "args"]).strategy, PatchStrategy::default());
    }

    #[test]
    fn metadata_service_and_deployment_spot_checks() {
        let cm = for_kind("v1", "ConfigMap").expect("ConfigMap");
        let fin = field(cm, &["metadata", "finalizers"]);
        assert_eq!((fin.strategy, fin.merge_key), (MERGE, None));
        assert_eq!(fin.schema.items().map(|i| i.kind()), Some(SchemaKind::Scalar));
        let labels = field(cm, &["metadata", "labels"]);
        assert_eq!(labels.schema.kind(), SchemaKind::Map);
        let value = labels.schema.field("any-key").expect("map value schema");
        assert_eq!(value.schema.kind(), SchemaKind::Scalar);
        let svc = for_kind("v1", "Service").expect("Service");
        let ports = field(svc, &["spec", "ports"]);
        assert_eq!((ports.strategy, ports.merge_key), (MERGE, Some("port")));
        assert_eq!(ports.schema.items().and_then(|i| i.definition()), Some("io.k8s.api.core.v1.ServicePort"));
        let dep = for_kind("apps/v1", "Deployment").expect("Deployment");
        let strategy = field(dep, &["spec", "strategy"]);
        assert!(strategy.strategy.retain_keys && !strategy.strategy.merge);
        assert_eq!(strategy.schema.kind(), SchemaKind::Object);
        let limits = field(dep, &["spec", "template", "spec", "containers", "resources", "limits"]);
        assert_eq!(limits.schema.kind(), SchemaKind::Map);
        let pdb = for_kind("policy/v1", "PodDisruptionBudget").expect("PDB");
        assert!(field(pdb, &["spec", "selector"]).strategy.replace);
    }

    #[test]
    fn for_kind_parses_api_versions() {
        assert!(for_kind("apps/v1", "Deployment").is_some());
        assert!(for_kind("batch/v1", "Job").is_some());
        assert!(for_kind("v1", "Service").is_some());
        assert!(for_kind("apps/v1", "Service").is_none());
        assert!(for_kind("example.com/v1", "Widget").is_none());
        assert!(for_kind("a/b/c", "Deployment").is_none());
        assert!(for_kind("/v1", "Pod").is_none());
        assert!(for_kind("", "Pod").is_none());
        // Plain scalars are not in the table: no merge rules needed.
        let dep = for_kind("apps/v1", "Deployment").expect("Deployment");
        assert!(field(dep, &["spec"]).schema.field("replicas").is_none());
    }

    /// Re-reads the OpenAPI document the table was generated from and checks that every
    /// property carrying `x-kubernetes-patch-*` (and every GVK) is represented faithfully.
    #[test]
    fn table_agrees_with_openapi_schema() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/openapi-v2.json");
        let text = std::fs::read_to_string(path).expect("schema/openapi-v2.json is readable");
        let doc: Value = serde_json::from_str(&text).expect("valid JSON");
        let defs = doc["definitions"].as_object().expect("definitions");
        let by_name: HashMap<&str, &Def> = DEFS.iter().map(|d| (d.name, d)).collect();
        let mut checked = 0;
        for (name, def) in defs {
            let Some(props) = def.get("properties").and_then(Value::as_object) else { continue };
            let ours = by_name.get(name.as_str()).unwrap_or_else(|| panic!("{name} missing"));
            for (prop, node) in props {
                let strategy = node.get("x-kubernetes-patch-strategy").and_then(Value::as_str);
                let key = node.get("x-kubernetes-patch-merge-key").and_then(Value::as_str);
                if strategy.is_none() && key.is_none() {
                    continue;
                }
                let p = ours.props.iter().find(|(k, _)| k == prop).map(|(_, p)| p);
                let p = p.unwrap_or_else(|| panic!("{name}.{prop} missing"));
                assert_eq!(p.strategy, strategy.map(PatchStrategy::parse).unwrap_or_default(), "{name}.{prop}");
                assert_eq!(p.merge_key, key, "{name}.{prop}");
                let map_keys: Vec<&str> = node
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                assert_eq!(p.list_map_keys, map_keys, "{name}.{prop}");
                // The element/value schema must follow the same `$ref` the document names.
                let item_ref = node.pointer("/items/$ref").or_else(|| node.get("$ref")).and_then(Value::as_str);
                if let Some(r) = item_ref.and_then(|r| r.strip_prefix("#/definitions/")) {
                    let shape = match &p.shape {
                        Shape::List(inner) => *inner,
                        other => other,
                    };
                    if defs[r].get("properties").is_some() {
                        let Shape::Object(i) = shape else { panic!("{name}.{prop}: not an object") };
                        assert_eq!(DEFS[*i].name, r, "{name}.{prop}");
                    }
                }
                checked += 1;
            }
        }
        assert!(checked >= 40, "only {checked} patch-annotated properties found");
        for def in defs.values() {
            for g in def.get("x-kubernetes-group-version-kind").and_then(Value::as_array).into_iter().flatten() {
                let s = |f: &str| g[f].as_str().unwrap_or_default().to_string();
                let api_version =
                    if s("group").is_empty() { s("version") } else { format!("{}/{}", s("group"), s("version")) };
                assert!(for_kind(&api_version, &s("kind")).is_some(), "{api_version} {}", s("kind"));
            }
        }
    }

    #[test]
    fn properties_and_gvks_are_sorted_for_binary_search() {
        assert!(DEFS.iter().all(|d| d.props.windows(2).all(|w| w[0].0 < w[1].0)));
        assert!(GVK.windows(2).all(|w| (w[0].0, w[0].1, w[0].2) < (w[1].0, w[1].1, w[1].2)));
        assert_eq!(ROOTS.len(), DEFS.len());
    }
}
