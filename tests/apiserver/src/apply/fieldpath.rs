//! Field paths and sets in the `FieldsV1` notation (`f:name`, `k:{"name":"web"}`, `v:"x"`, `i:0`).

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// One step of a path. Variant order is the sort order the real encoder uses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pe {
    Field(String),
    /// Canonical compact JSON object of the key fields, sorted by name.
    Key(String),
    /// Canonical compact JSON of a set member.
    Value(String),
    Index(usize),
}

pub type Path = Vec<Pe>;

/// Canonical JSON for key objects: keys sorted, compact.
pub fn canonical_key(fields: &[(String, Value)]) -> String {
    let mut sorted: Vec<&(String, Value)> = fields.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut m = Map::new();
    for (k, v) in sorted {
        m.insert(k.clone(), v.clone());
    }
    Value::Object(m).to_string()
}

/// A set of paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet(BTreeSet<Path>);

impl FieldSet {
    pub fn new() -> Self {
        FieldSet(BTreeSet::new())
    }
    pub fn insert(&mut self, p: Path) {
        self.0.insert(p);
    }
    pub fn contains(&self, p: &Path) -> bool {
        self.0.contains(p)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Path> {
        self.0.iter()
    }
    pub fn union(&self, o: &FieldSet) -> FieldSet {
        FieldSet(self.0.union(&o.0).cloned().collect())
    }
    pub fn difference(&self, o: &FieldSet) -> FieldSet {
        FieldSet(self.0.difference(&o.0).cloned().collect())
    }
    pub fn intersection(&self, o: &FieldSet) -> FieldSet {
        FieldSet(self.0.intersection(&o.0).cloned().collect())
    }
    /// True if `p` or anything below it is in the set.
    pub fn has_at_or_below(&self, p: &Path) -> bool {
        self.0.range(p.clone()..).next().is_some_and(|q| q.starts_with(p))
    }
    /// Drops `p` and everything below it.
    pub fn remove_subtree(&mut self, p: &Path) {
        self.0.retain(|q| !q.starts_with(p));
    }

    /// Encodes as a `fieldsV1` object.
    pub fn to_fields_v1(&self) -> Value {
        let mut root = Node::default();
        for path in &self.0 {
            let mut n = &mut root;
            for pe in path {
                let key = encode_pe(pe);
                let pos = match n.children.binary_search_by(|(k, _)| k.cmp(&key)) {
                    Ok(i) => i,
                    Err(i) => {
                        n.children.insert(i, (key, Node::default()));
                        i
                    }
                };
                n = &mut n.children[pos].1;
            }
            n.member = true;
        }
        root.to_json()
    }

    /// Decodes a `fieldsV1` object; unreadable keys are skipped.
    pub fn from_fields_v1(v: &Value) -> FieldSet {
        let mut set = FieldSet::new();
        let mut path = Vec::new();
        decode_into(v, &mut path, &mut set);
        set
    }
}

impl FromIterator<Path> for FieldSet {
    fn from_iter<I: IntoIterator<Item = Path>>(iter: I) -> Self {
        FieldSet(iter.into_iter().collect())
    }
}

/// Children are kept sorted by their encoded key, which orders f: < k: < v: like the real encoder
/// except for i:, which never mixes with the others in practice.
#[derive(Default)]
struct Node {
    member: bool,
    children: Vec<(String, Node)>,
}

impl Node {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        if self.member && !self.children.is_empty() {
            m.insert(".".into(), Value::Object(Map::new()));
        }
        for (k, c) in &self.children {
            m.insert(k.clone(), c.to_json());
        }
        Value::Object(m)
    }
}

fn encode_pe(pe: &Pe) -> String {
    match pe {
        Pe::Field(f) => format!("f:{f}"),
        Pe::Key(k) => format!("k:{k}"),
        Pe::Value(v) => format!("v:{v}"),
        Pe::Index(i) => format!("i:{i}"),
    }
}

fn decode_pe(s: &str) -> Option<Pe> {
    let (prefix, rest) = s.split_at_checked(2)?;
    match prefix {
        "f:" => Some(Pe::Field(rest.to_string())),
        "k:" => {
            let v: Value = serde_json::from_str(rest).ok()?;
            let fields: Vec<(String, Value)> = v.as_object()?.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            Some(Pe::Key(canonical_key(&fields)))
        }
        "v:" => {
            let v: Value = serde_json::from_str(rest).ok()?;
            Some(Pe::Value(v.to_string()))
        }
        "i:" => rest.parse().ok().map(Pe::Index),
        _ => None,
    }
}

fn decode_into(v: &Value, path: &mut Path, set: &mut FieldSet) {
    let Some(m) = v.as_object() else { return };
    if m.is_empty() {
        if !path.is_empty() {
            set.insert(path.clone());
        }
        return;
    }
    for (k, child) in m {
        if k == "." {
            set.insert(path.clone());
            continue;
        }
        if let Some(pe) = decode_pe(k) {
            path.push(pe);
            decode_into(child, path, set);
            path.pop();
        }
    }
}

/// The path as conflict messages print it: `.spec.template.spec.containers[name="web"].image`.
pub fn path_string(p: &[Pe]) -> String {
    let mut s = String::new();
    for pe in p {
        match pe {
            Pe::Field(f) => {
                s.push('.');
                s.push_str(f);
            }
            Pe::Key(k) => {
                let parts: Vec<String> = serde_json::from_str::<Value>(k)
                    .ok()
                    .and_then(|v| v.as_object().cloned())
                    .unwrap_or_default()
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                s.push('[');
                s.push_str(&parts.join(","));
                s.push(']');
            }
            Pe::Value(v) => {
                s.push_str("[=");
                s.push_str(v);
                s.push(']');
            }
            Pe::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_captured_fields() {
        let v = json!({
            "f:metadata": {"f:labels": {"f:app.kubernetes.io/name": {}}},
            "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}, "f:ports": {
                    "k:{\"containerPort\":8080,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:name": {}}}}}}}}
        });
        let set = FieldSet::from_fields_v1(&v);
        assert_eq!(set.to_fields_v1(), v);
        assert!(set.contains(&vec![Pe::Field("spec".into()), Pe::Field("replicas".into())]));
    }

    #[test]
    fn paths_print_like_the_server() {
        let p = vec![
            Pe::Field("spec".into()),
            Pe::Field("containers".into()),
            Pe::Key(canonical_key(&[("name".into(), json!("web"))])),
            Pe::Field("image".into()),
        ];
        assert_eq!(path_string(&p), ".spec.containers[name=\"web\"].image");
        assert_eq!(path_string(&[Pe::Field("f".into()), Pe::Value("\"x\"".into())]), ".f[=\"x\"]");
    }

    #[test]
    fn subtree_queries() {
        let mut s = FieldSet::new();
        s.insert(vec![Pe::Field("a".into()), Pe::Field("b".into())]);
        assert!(s.has_at_or_below(&vec![Pe::Field("a".into())]));
        assert!(!s.has_at_or_below(&vec![Pe::Field("b".into())]));
        s.remove_subtree(&vec![Pe::Field("a".into())]);
        assert!(s.is_empty());
    }
}
