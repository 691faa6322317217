//! Type information for server-side apply, read from the v1.24 OpenAPI v2 document: which
//! lists are associative (and by which keys), which maps are atomic, which objects are structs.
//! The document is data; the interpretation here is this crate's own.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

static OPENAPI_V2: &str = include_str!("../../../../schema/openapi-v2.json");

/// The raw OpenAPI v2 document (served at `/openapi/v2`).
pub fn openapi_v2_text() -> &'static str {
    OPENAPI_V2
}

/// A position in the schema.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// No schema: shapes are deduced from the value.
    Untyped,
    /// A custom resource's root: `metadata` is ObjectMeta, everything else untyped.
    CustomRoot,
    /// A node of the OpenAPI document (property, items, or definition).
    Node(&'static Value),
}

/// How lists behave under apply.
#[derive(Debug, Clone, PartialEq)]
pub enum ListKind {
    Atomic,
    Set,
    Map(Vec<String>),
}

/// What a value at some `Ty` is, for merging and field tracking.
#[derive(Debug, Clone)]
pub enum Shape {
    Scalar,
    /// Replaced and owned as a whole (atomic maps and structs).
    Atomic,
    Struct(&'static Map<String, Value>),
    /// map[string]T: every key is a member.
    Map(Ty),
    List(ListKind, Ty),
    /// An object without schema.
    Deduced,
    CustomRoot,
}

impl Shape {
    /// The type of a child field or map entry.
    pub fn child(&self, key: &str) -> Ty {
        match self {
            Shape::Struct(props) => props.get(key).map(Ty::Node).unwrap_or(Ty::Untyped),
            Shape::Map(elem) => *elem,
            Shape::CustomRoot if key == "metadata" => schema().object_meta(),
            _ => Ty::Untyped,
        }
    }

    /// The type of list items.
    pub fn elem(&self) -> Ty {
        match self {
            Shape::List(_, t) => *t,
            _ => Ty::Untyped,
        }
    }

    /// Objects whose children are tracked one by one.
    pub fn is_granular_object(&self) -> bool {
        matches!(self, Shape::Struct(_) | Shape::Map(_) | Shape::Deduced | Shape::CustomRoot)
    }

    /// Maps (not structs): apply tracks each key as a member.
    pub fn is_map(&self) -> bool {
        matches!(self, Shape::Map(_))
    }
}

/// The parsed document with a kind index.
pub struct Schema {
    defs: Map<String, Value>,
    by_gvk: HashMap<(String, String, String), String>,
}

static SCHEMA: OnceLock<Schema> = OnceLock::new();

/// The shared schema, parsed on first use (an unreadable document leaves everything untyped).
pub fn schema() -> &'static Schema {
    SCHEMA.get_or_init(|| {
        let doc: Value = serde_json::from_str(OPENAPI_V2).unwrap_or(Value::Null);
        let defs = doc.get("definitions").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut by_gvk = HashMap::new();
        for (name, def) in &defs {
            let Some(list) = def.get("x-kubernetes-group-version-kind").and_then(Value::as_array) else {
                continue;
            };
            for gvk in list {
                let s = |k: &str| gvk.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
                by_gvk.insert((s("group"), s("version"), s("kind")), name.clone());
            }
        }
        Schema { defs, by_gvk }
    })
}

impl Schema {
    /// The definition name for a kind, if the schema has it.
    pub fn definition_name(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.by_gvk.get(&(group.to_string(), version.to_string(), kind.to_string())).map(String::as_str)
    }

    /// All definitions (for building OpenAPI v3 documents).
    pub fn definitions(&self) -> &Map<String, Value> {
        &self.defs
    }

    /// Root type of an object of this kind.
    pub fn root(&'static self, group: &str, version: &str, kind: &str) -> Ty {
        match self.definition_name(group, version, kind).and_then(|n| self.defs.get(n)) {
            Some(def) => Ty::Node(def),
            None => Ty::CustomRoot,
        }
    }

    /// ObjectMeta's type.
    pub fn object_meta(&'static self) -> Ty {
        self.defs.get("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta").map(Ty::Node).unwrap_or(Ty::Untyped)
    }

    fn resolve(&'static self, node: &'static Value) -> &'static Value {
        let mut n = node;
        for _ in 0..8 {
            let Some(r) = n.get("$ref").and_then(Value::as_str) else { break };
            match self.defs.get(r.trim_start_matches("#/definitions/")) {
                Some(d) => n = d,
                None => break,
            }
        }
        n
    }

    /// The shape of `value` at `ty`.
    pub fn shape(&'static self, ty: Ty, value: Option<&Value>) -> Shape {
        let node = match ty {
            Ty::Untyped => return deduce(value),
            Ty::CustomRoot => return Shape::CustomRoot,
            Ty::Node(n) => n,
        };
        let def = self.resolve(node);
        let ext = |k: &str| node.get(k).or_else(|| def.get(k)).and_then(Value::as_str);
        let typ = def.get("type").and_then(Value::as_str);
        if typ == Some("array") {
            let elem = def.get("items").map(Ty::Node).unwrap_or(Ty::Untyped);
            return Shape::List(list_kind(node), elem);
        }
        if ext("x-kubernetes-map-type") == Some("atomic") {
            return Shape::Atomic;
        }
        if let Some(props) = def.get("properties").and_then(Value::as_object) {
            return Shape::Struct(props);
        }
        if typ == Some("object") {
            return match def.get("additionalProperties") {
                Some(ap) if ap.is_object() => Shape::Map(Ty::Node(ap)),
                _ => deduce(value),
            };
        }
        if typ.is_some() {
            return Shape::Scalar;
        }
        deduce(value)
    }
}

fn deduce(value: Option<&Value>) -> Shape {
    match value {
        Some(Value::Object(_)) => Shape::Deduced,
        Some(Value::Array(_)) => Shape::List(ListKind::Atomic, Ty::Untyped),
        _ => Shape::Scalar,
    }
}

/// list-type wins; otherwise the strategic-merge strategy decides, as structured-merge-diff does.
fn list_kind(node: &Value) -> ListKind {
    match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("atomic") => return ListKind::Atomic,
        Some("set") => return ListKind::Set,
        Some("map") => {
            let keys = node
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|k| k.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            return ListKind::Map(keys);
        }
        _ => {}
    }
    let strategy = node.get("x-kubernetes-patch-strategy").and_then(Value::as_str).unwrap_or("");
    if strategy.split(',').any(|s| s == "merge") {
        return match node.get("x-kubernetes-patch-merge-key").and_then(Value::as_str) {
            Some(k) => ListKind::Map(vec![k.to_string()]),
            None => ListKind::Set,
        };
    }
    ListKind::Atomic
}

/// What JSON a scalar schema node accepts (None: anything).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScalarType {
    Integer,
    Number,
    Boolean,
    String,
    /// IntOrString and Quantity take a string or a number.
    StringOrNumber,
}

impl ScalarType {
    pub fn accepts(self, v: &Value) -> bool {
        match self {
            ScalarType::Integer => v.is_i64() || v.is_u64(),
            ScalarType::Number => v.is_number(),
            ScalarType::Boolean => v.is_boolean(),
            ScalarType::String => v.is_string(),
            ScalarType::StringOrNumber => v.is_string() || v.is_number(),
        }
    }
    /// The Go type name real decode errors mention.
    pub fn go_name(self) -> &'static str {
        match self {
            ScalarType::Integer => "int32",
            ScalarType::Number => "float64",
            ScalarType::Boolean => "bool",
            ScalarType::String => "string",
            ScalarType::StringOrNumber => "intstr.IntOrString",
        }
    }
}

impl Schema {
    /// The JSON type a scalar position takes, if the schema says.
    pub fn scalar_type(&'static self, ty: Ty) -> Option<ScalarType> {
        let Ty::Node(node) = ty else { return None };
        let reference = node.get("$ref").and_then(Value::as_str).unwrap_or("");
        if reference.ends_with("resource.Quantity") || reference.ends_with("intstr.IntOrString") {
            return Some(ScalarType::StringOrNumber);
        }
        let def = self.resolve(node);
        if def.get("format").and_then(Value::as_str) == Some("int-or-string") {
            return Some(ScalarType::StringOrNumber);
        }
        match def.get("type").and_then(Value::as_str)? {
            "integer" => Some(ScalarType::Integer),
            "number" => Some(ScalarType::Number),
            "boolean" => Some(ScalarType::Boolean),
            "string" => Some(ScalarType::String),
            _ => None,
        }
    }
}

/// The strategic-merge-patch rule for a list field: (merge key, is-merge-strategy).
pub fn patch_strategy(ty: Ty) -> (Option<String>, bool) {
    match ty {
        Ty::Node(n) => {
            let strategy = n.get("x-kubernetes-patch-strategy").and_then(Value::as_str).unwrap_or("");
            let merge = strategy.split(',').any(|s| s == "merge");
            let key = n.get("x-kubernetes-patch-merge-key").and_then(Value::as_str).map(str::to_string);
            (key, merge)
        }
        _ => (None, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_ty(kind: (&str, &str, &str), path: &[&str]) -> (Ty, Shape) {
        let s = schema();
        let mut ty = s.root(kind.0, kind.1, kind.2);
        let mut shape = s.shape(ty, None);
        for p in path {
            ty = if *p == "[]" { shape.elem() } else { shape.child(p) };
            shape = s.shape(ty, None);
        }
        (ty, shape)
    }

    #[test]
    fn deployment_shapes() {
        let d = ("apps", "v1", "Deployment");
        assert!(matches!(path_ty(d, &["spec", "selector"]).1, Shape::Atomic));
        assert!(matches!(path_ty(d, &["metadata", "labels"]).1, Shape::Map(_)));
        let (_, c) = path_ty(d, &["spec", "template", "spec", "containers"]);
        assert!(matches!(c, Shape::List(ListKind::Map(ref k), _) if k == &vec!["name".to_string()]));
        let (_, p) = path_ty(d, &["spec", "template", "spec", "containers", "[]", "ports"]);
        assert!(matches!(p, Shape::List(ListKind::Map(ref k), _) if k.len() == 2));
        let (_, a) = path_ty(d, &["spec", "template", "spec", "containers", "[]", "args"]);
        assert!(matches!(a, Shape::List(ListKind::Atomic, _)));
        let (_, f) = path_ty(d, &["metadata", "finalizers"]);
        assert!(matches!(f, Shape::List(ListKind::Set, _)));
        assert!(matches!(path_ty(d, &["spec", "replicas"]).1, Shape::Scalar));
    }

    #[test]
    fn unknown_kinds_are_custom() {
        assert!(matches!(schema().root("x.io", "v1", "Thing"), Ty::CustomRoot));
    }
}
