//! Merge rules for built-in Kubernetes kinds, derived at build time from the OpenAPI v2 schema
//! (`schema/openapi-v2.json`, see build.rs) rather than written by hand, so they cannot drift
//! from the API server they were captured from.
//!
//! The build script keeps only what strategic merge needs: object, map and list properties
//! (for shape checks and to reach nested rules) and every `x-kubernetes-patch-strategy` /
//! `x-kubernetes-patch-merge-key`. Plain scalar fields are left out, so [`SchemaRef::field`]
//! returns `None` for them exactly as for unknown fields; both merge as plain values.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

/// The compact table written by build.rs (`generate_merge_table`).
const TABLE_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/merge_table.json"));

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
    table: &'a Table,
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
    pub list_map_keys: &'a [String],
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
    let table = table();
    let idx = *table.gvk.get(&(group.to_string(), version.to_string(), kind.to_string()))?;
    Some(SchemaRef { table, shape: table.roots.get(idx)? })
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
            Shape::Object(i) => self.table.defs.get(*i).map(|d| d.name.as_str()),
            _ => None,
        }
    }

    /// The property `name` of an object, or the value schema of a map (any `name`).
    pub fn field(&self, name: &str) -> Option<FieldSchema<'a>> {
        match self.shape {
            Shape::Object(i) => {
                let prop = self.table.defs.get(*i)?.props.get(name)?;
                Some(FieldSchema {
                    strategy: prop.strategy,
                    merge_key: prop.merge_key.as_deref(),
                    list_map_keys: &prop.list_map_keys,
                    schema: SchemaRef { table: self.table, shape: &prop.shape },
                })
            }
            Shape::Map(value) => Some(FieldSchema {
                strategy: PatchStrategy::default(),
                merge_key: None,
                list_map_keys: &[],
                schema: SchemaRef { table: self.table, shape: value },
            }),
            _ => None,
        }
    }

    /// The element schema of a list.
    pub fn items(&self) -> Option<SchemaRef<'a>> {
        match self.shape {
            Shape::List(item) => Some(SchemaRef { table: self.table, shape: item }),
            _ => None,
        }
    }
}

impl PatchStrategy {
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
    Map(Box<Shape>),
    List(Box<Shape>),
    Scalar,
    Any,
}

#[derive(Debug)]
struct Prop {
    shape: Shape,
    strategy: PatchStrategy,
    merge_key: Option<String>,
    list_map_keys: Vec<String>,
}

#[derive(Debug)]
struct Def {
    name: String,
    props: HashMap<String, Prop>,
}

#[derive(Debug)]
struct Table {
    defs: Vec<Def>,
    /// `roots[i]` is `Shape::Object(i)`, so `for_kind` can hand out a `&'static Shape`.
    roots: Vec<Shape>,
    gvk: HashMap<(String, String, String), usize>,
}

/// Parsed once, on first use; the table is generated by our own build script, so a malformed
/// one is a build bug and yields an empty table (every kind then merges without schema, and the
/// schema tests fail loudly).
fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| parse_table(TABLE_JSON).unwrap_or(Table { defs: vec![], roots: vec![], gvk: HashMap::new() }))
}

fn parse_table(text: &str) -> Option<Table> {
    let doc: Value = serde_json::from_str(text).ok()?;
    let mut defs = Vec::new();
    for entry in doc.get("defs")?.as_array()? {
        let name = entry.get(0)?.as_str()?.to_string();
        let mut props = HashMap::new();
        for (prop, p) in entry.get(1)?.as_object()? {
            let strategy = p.get("s").and_then(Value::as_str).map(PatchStrategy::parse);
            let list_map_keys = match p.get("mk").and_then(Value::as_array) {
                Some(keys) => keys.iter().map(|k| k.as_str().map(str::to_string)).collect::<Option<_>>()?,
                None => Vec::new(),
            };
            props.insert(
                prop.clone(),
                Prop {
                    shape: parse_shape(p.get("t")?)?,
                    strategy: strategy.unwrap_or_default(),
                    merge_key: p.get("k").and_then(Value::as_str).map(str::to_string),
                    list_map_keys,
                },
            );
        }
        defs.push(Def { name, props });
    }
    let mut gvk = HashMap::new();
    for g in doc.get("gvk")?.as_array()? {
        let s = |i: usize| g.get(i).and_then(Value::as_str).map(str::to_string);
        let idx = usize::try_from(g.get(3)?.as_u64()?).ok()?;
        gvk.entry((s(0)?, s(1)?, s(2)?)).or_insert(idx);
    }
    let roots = (0..defs.len()).map(Shape::Object).collect();
    Some(Table { defs, roots, gvk })
}

fn parse_shape(v: &Value) -> Option<Shape> {
    match v {
        Value::String(s) if s == "s" => Some(Shape::Scalar),
        Value::String(s) if s == "a" => Some(Shape::Any),
        Value::Array(a) => match (a.first()?.as_str()?, a.get(1)?) {
            ("o", i) => Some(Shape::Object(usize::try_from(i.as_u64()?).ok()?)),
            ("m", inner) => Some(Shape::Map(Box::new(parse_shape(inner)?))),
            ("l", inner) => Some(Shape::List(Box::new(parse_shape(inner)?))),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let table = table();
        let by_name: HashMap<&str, &Def> = table.defs.iter().map(|d| (d.name.as_str(), d)).collect();
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
                let p = ours.props.get(prop).unwrap_or_else(|| panic!("{name}.{prop} missing"));
                assert_eq!(p.strategy, strategy.map(PatchStrategy::parse).unwrap_or_default(), "{name}.{prop}");
                assert_eq!(p.merge_key.as_deref(), key, "{name}.{prop}");
                let map_keys: Vec<String> = node
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|k| k.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                assert_eq!(p.list_map_keys, map_keys, "{name}.{prop}");
                // The element/value schema must follow the same `$ref` the document names.
                let item_ref = node.pointer("/items/$ref").or_else(|| node.get("$ref")).and_then(Value::as_str);
                if let Some(r) = item_ref.and_then(|r| r.strip_prefix("#/definitions/")) {
                    let shape = match &p.shape {
                        Shape::List(inner) => inner.as_ref(),
                        other => other,
                    };
                    if defs[r].get("properties").is_some() {
                        let Shape::Object(i) = shape else { panic!("{name}.{prop}: not an object") };
                        assert_eq!(table.defs[*i].name, r, "{name}.{prop}");
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
    fn table_is_compact() {
        assert!(TABLE_JSON.len() < 200_000, "merge table grew to {} bytes", TABLE_JSON.len());
    }
}
