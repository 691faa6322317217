//! `metadata.managedFields` entries: reading, writing, ordering, and which paths are never owned.

use super::fieldpath::{FieldSet, Path, Pe};
use serde_json::{json, Map, Value};

/// One managedFields entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedEntry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: Option<String>,
    pub fields: FieldSet,
    pub subresource: Option<String>,
}

impl ManagedEntry {
    /// Identity as the real server keys managers (the API version is ignored for appliers).
    pub fn same_manager(&self, manager: &str, operation: &str, subresource: Option<&str>) -> bool {
        self.manager == manager && self.operation == operation && self.subresource.as_deref() == subresource
    }

    /// How conflict messages name the manager (`printManager` in the real server).
    pub fn display(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if let Some(sub) = &self.subresource {
            s = format!("{s} with subresource {sub:?}");
        }
        if self.operation == "Update" {
            s = format!("{s} using {}", self.api_version);
        }
        s
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("manager".into(), json!(self.manager));
        m.insert("operation".into(), json!(self.operation));
        m.insert("apiVersion".into(), json!(self.api_version));
        if let Some(t) = &self.time {
            m.insert("time".into(), json!(t));
        }
        m.insert("fieldsType".into(), json!("FieldsV1"));
        m.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if let Some(s) = &self.subresource {
            m.insert("subresource".into(), json!(s));
        }
        Value::Object(m)
    }

    fn from_json(v: &Value) -> Option<ManagedEntry> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Some(ManagedEntry {
            manager: s("manager").unwrap_or_default(),
            operation: s("operation")?,
            api_version: s("apiVersion").unwrap_or_default(),
            time: s("time"),
            fields: v.get("fieldsV1").map(FieldSet::from_fields_v1).unwrap_or_default(),
            subresource: s("subresource").filter(|x| !x.is_empty()),
        })
    }
}

/// The entries stored on an object.
pub fn read_managed(obj: &Value) -> Vec<ManagedEntry> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(ManagedEntry::from_json).collect())
        .unwrap_or_default()
}

/// Whether a write asks to clear managedFields: it sends them as `[]` or as one empty entry
/// (`[{}]`), as the real field manager's `isResetManagedFields` reads them. Sent with any other
/// entries they are the starting point; not sent, the stored ones are.
pub fn resets_managed(obj: &Value) -> bool {
    match obj.pointer("/metadata/managedFields").and_then(Value::as_array).map(Vec::as_slice) {
        Some([]) => true,
        Some([only]) => only.as_object().is_some_and(|m| m.values().all(is_zero)),
        _ => false,
    }
}

/// A Go zero value as JSON: what an empty ManagedFieldsEntry holds.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Stores entries in the real order: Apply before Update, then by time, manager, version, subresource.
pub fn write_managed(obj: &mut Value, mut entries: Vec<ManagedEntry>) {
    entries.retain(|e| !e.fields.is_empty());
    entries.sort_by(|a, b| {
        (
            a.operation.as_str(),
            a.time.as_deref().unwrap_or(""),
            a.manager.as_str(),
            a.api_version.as_str(),
            a.subresource.as_deref().unwrap_or(""),
        )
            .cmp(&(
                b.operation.as_str(),
                b.time.as_deref().unwrap_or(""),
                b.manager.as_str(),
                b.api_version.as_str(),
                b.subresource.as_deref().unwrap_or(""),
            ))
    });
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    if entries.is_empty() {
        meta.shift_remove("managedFields");
    } else {
        meta.insert("managedFields".into(), Value::Array(entries.iter().map(ManagedEntry::to_json).collect()));
    }
}

/// The object without managedFields (and without status when the status is reset on this endpoint).
pub fn body_of(obj: &Value, drop_status: bool) -> Value {
    let mut b = obj.clone();
    if let Some(meta) = b.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.shift_remove("managedFields");
    }
    if drop_status {
        if let Some(m) = b.as_object_mut() {
            m.shift_remove("status");
        }
    }
    b
}

const STRIPPED_META: &[&str] = &[
    "name",
    "namespace",
    "creationTimestamp",
    "selfLink",
    "uid",
    "clusterName",
    "generation",
    "managedFields",
    "resourceVersion",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Which part of the object an operation may own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scope {
    /// The main resource; `status` is reset there when the resource has a status subresource.
    Main { status_reset: bool },
    /// The status subresource: status and metadata only.
    Status,
}

/// Removes paths no manager ever owns (identity, server-set metadata, reset fields).
pub fn strip(set: &FieldSet, scope: Scope) -> FieldSet {
    set.iter().filter(|p| keep(p, scope)).cloned().collect()
}

fn keep(p: &Path, scope: Scope) -> bool {
    let first = match p.first() {
        Some(Pe::Field(f)) => f.as_str(),
        _ => return true,
    };
    match first {
        "apiVersion" | "kind" => false,
        "metadata" => match p.get(1) {
            None => false,
            Some(Pe::Field(f)) => !STRIPPED_META.contains(&f.as_str()),
            Some(_) => true,
        },
        "status" => match scope {
            Scope::Main { status_reset } => !status_reset,
            Scope::Status => true,
        },
        _ => scope != Scope::Status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_in_capture_order() {
        let v = json!({"metadata": {"managedFields": [
            {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1", "time": "2026-11-25T14:25:18Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:replicas": {}}}, "subresource": "status"},
            {"manager": "Python-urllib", "operation": "Update", "apiVersion": "apps/v1", "time": "2026-11-25T14:25:18Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "b", "operation": "Apply", "apiVersion": "apps/v1", "time": "2026-11-25T14:25:18Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:paused": {}}}}
        ]}});
        let entries = read_managed(&v);
        assert_eq!(entries.len(), 3);
        let mut out = json!({"metadata": {}});
        write_managed(&mut out, entries);
        let names: Vec<&str> = out["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["manager"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["b", "Python-urllib", "kube-controller-manager"]);
        assert_eq!(out["metadata"]["managedFields"][2]["subresource"], "status");
    }

    #[test]
    fn display_names_update_managers_with_version() {
        let e = ManagedEntry {
            manager: "kubectl".into(),
            operation: "Update".into(),
            api_version: "apps/v1".into(),
            time: None,
            fields: FieldSet::new(),
            subresource: None,
        };
        assert_eq!(e.display(), "\"kubectl\" using apps/v1");
    }
}
