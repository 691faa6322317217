//! The plan: what applying a render would change, found by a server-side dry run of each
//! object (those whose answer the release's records already know are skipped by the caller,
//! `crate::release::stamp`), compared with the live object at the dry run's own
//! `resourceVersion`. Nothing here writes to the cluster.
//!
//! [`classify`] and [`normalize`] are pure; [`plan_against`] does the requests ([`dry_run`] for
//! one object); [`managed`] reads managedFields; [`output`] prints.

pub mod dry_run;
pub mod external;
pub mod managed;
pub mod output;

use crate::cluster::{Cluster, ClusterError};
use crate::model::{Gvk, ResId};
use futures::stream::{self, StreamExt};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Create,
    Update,
    /// The server refuses an in-place update (`reason`: which field is immutable): delete and
    /// recreate.
    Replace {
        reason: String,
    },
    Delete,
    Unchanged,
    /// The live object is being deleted (a `deletionTimestamp`, held by these finalizers): it
    /// is created again once it is gone, never applied to (it would disappear afterwards).
    Terminating {
        finalizers: Vec<String>,
    },
}

impl Action {
    pub fn word(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace { .. } => "replace",
            Action::Delete => "delete",
            Action::Unchanged => "unchanged",
            Action::Terminating { .. } => "terminating",
        }
    }
}

/// One object's planned change. `before`/`after` are normalized and masked for display;
/// `body` is what apply sends; `uid` is the live object's, so a delete or replacement hits that
/// object only (never a same-named newcomer). `skipped`: unchanged by the records' word (the
/// skip rule), without a dry run.
#[derive(Debug, Clone)]
pub struct Change {
    pub id: ResId,
    pub action: Action,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub body: Option<Value>,
    pub uid: Option<String>,
    pub skipped: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
}

impl Plan {
    pub fn count(&self, word: &str) -> usize {
        self.changes.iter().filter(|c| c.action.word() == word).count()
    }
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::Unchanged)
    }
    pub fn summary(&self) -> String {
        let mut s = format!("Plan: {} to add, {} to change, ", self.count("create"), self.count("update"));
        if self.count("replace") > 0 {
            s.push_str(&format!("{} to replace, ", self.count("replace")));
        }
        if self.count("terminating") > 0 {
            s.push_str(&format!("{} terminating (created again once gone), ", self.count("terminating")));
        }
        s.push_str(&format!("{} to delete, {} unchanged", self.count("delete"), self.count("unchanged")));
        s
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("{id} names namespace `{found}`, but the target namespace is `{target}` (-n); render without a namespace or pass -n {found}")]
    NamespaceMismatch { id: ResId, found: String, target: String },
}

/// Fields the server owns, left out of every comparison.
pub fn normalize(obj: &Value) -> Value {
    normalized(obj.clone())
}

/// [`normalize`], taking the object: no copy (live objects carry large `managedFields`).
pub fn normalized(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
        if let Some(Value::Object(meta)) = m.get_mut("metadata") {
            for k in ["managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink"] {
                meta.remove(k);
            }
            if meta.get("annotations").and_then(Value::as_object).is_some_and(|a| a.is_empty()) {
                meta.remove("annotations");
            }
        }
    }
    v
}

/// Masks Secret values in both sides, marking which changed, as kubectl diff does.
pub fn mask_secrets(before: Option<&mut Value>, after: Option<&mut Value>) {
    let is_secret = |v: &Option<&mut Value>| v.as_ref().is_some_and(|v| v["kind"] == "Secret");
    if !is_secret(&before) && !is_secret(&after) {
        return;
    }
    let (mut before, mut after) = (before, after);
    for field in ["data", "stringData"] {
        let b: Map<String, Value> = before.as_ref().and_then(|v| v[field].as_object().cloned()).unwrap_or_default();
        let a: Map<String, Value> = after.as_ref().and_then(|v| v[field].as_object().cloned()).unwrap_or_default();
        let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
        let mut nb = Map::new();
        let mut na = Map::new();
        for k in keys {
            let changed = b.get(k) != a.get(k);
            if b.contains_key(k) {
                nb.insert(k.clone(), Value::String(if changed { "*** (before)".into() } else { "***".into() }));
            }
            if a.contains_key(k) {
                na.insert(k.clone(), Value::String(if changed { "*** (after)".into() } else { "***".into() }));
            }
        }
        if let Some(v) = before.as_deref_mut().and_then(Value::as_object_mut).filter(|m| m.contains_key(field)) {
            v.insert(field.into(), Value::Object(nb));
        }
        if let Some(v) = after.as_deref_mut().and_then(Value::as_object_mut).filter(|m| m.contains_key(field)) {
            v.insert(field.into(), Value::Object(na));
        }
    }
    for side in [before, after].into_iter().flatten() {
        if let Some(ann) = side.pointer_mut("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration") {
            *ann = Value::String("***".into());
        }
    }
}

/// The action for one object from its live state and the dry-run result.
pub fn classify(live: Option<&Value>, dry_run: Option<&Value>) -> Action {
    match (live, dry_run) {
        (Some(l), Some(d)) if normalize(l) == normalize(d) => Action::Unchanged,
        (Some(_), Some(_)) => Action::Update,
        _ => classify_normalized(live, dry_run),
    }
}

/// [`classify`] for objects already normalized (the plan normalizes each side once).
pub(crate) fn classify_normalized(live: Option<&Value>, dry_run: Option<&Value>) -> Action {
    match (live, dry_run) {
        (None, Some(_)) => Action::Create,
        (Some(_), None) => Action::Delete,
        (None, None) => Action::Unchanged,
        (Some(l), Some(d)) if l == d => Action::Unchanged,
        _ => Action::Update,
    }
}

/// What a plan needs to know beyond the render: the field manager its dry runs apply as (the
/// one the real apply will use, so conflicts show in the plan), whether they force, and
/// `spec.replicas` moving to or from an HPA (dry-run as the apply will go).
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub create_namespace: bool,
    pub force_conflicts: bool,
    pub manager: String,
    pub handover: crate::apply::handover::Handover,
}

/// The live objects of the kinds and namespaces `desired` names, as the server has them
/// (managedFields, uid and all: ownership is decided from them): one LIST per kind and
/// namespace, concurrently, rather than a GET per object (issue 8's request budget: a diff of N
/// objects costs N dry runs plus a LIST per kind).
pub async fn live_objects(
    cluster: &Cluster,
    desired: &[(ResId, Value)],
) -> Result<HashMap<ResId, Value>, ClusterError> {
    let mut kinds: Vec<(&Gvk, &str)> = desired.iter().map(|(id, _)| (&id.gvk, id.namespace.as_str())).collect();
    kinds.sort();
    kinds.dedup();
    let lists = stream::iter(kinds.into_iter().map(|(gvk, ns)| async move {
        let items = cluster.list(gvk, ns, None).await?;
        Ok::<_, ClusterError>((gvk, ns, items))
    }))
    .buffer_unordered(cluster.concurrency())
    .collect::<Vec<_>>()
    .await;
    let mut live = HashMap::new();
    for r in lists {
        let (gvk, ns, items) = r?;
        for item in items {
            let meta = &item["metadata"];
            let name = meta["name"].as_str().unwrap_or("").to_string();
            let item_ns = if meta["namespace"].is_string() { meta["namespace"].as_str().unwrap_or(ns) } else { "" };
            let id = ResId::new(gvk.clone(), item_ns, &name);
            live.insert(id, item);
        }
    }
    Ok(live)
}

/// Dry-runs every desired object and compares it with the live objects already read (see
/// [`live_objects`]), each at the dry run's own resourceVersion ([`dry_run::one`]).
pub async fn plan_against(
    cluster: &Cluster,
    desired: Vec<(ResId, Value)>,
    live: &HashMap<ResId, Value>,
    opts: &PlanOptions,
) -> Result<Plan, PlanError> {
    let namespace_missing = if opts.create_namespace { !namespace_exists(cluster).await? } else { false };
    let results = stream::iter(desired.into_iter().map(|(id, body)| {
        let found = if namespace_missing { None } else { live.get(&id) };
        async move {
            if namespace_missing && !id.namespace.is_empty() {
                // Nothing can be dry-run in a namespace that does not exist yet: all are creates.
                return Ok::<_, PlanError>(change(id, None, Some(body.clone()), Some(body), Action::Create));
            }
            Ok(dry_run::one(cluster, id, body, found, opts).await?)
        }
    }))
    .buffered(cluster.concurrency())
    .collect::<Vec<_>>()
    .await;
    let mut plan = Plan::default();
    for r in results {
        plan.changes.push(r?);
    }
    Ok(plan)
}

/// An object the records vouch for (the skip rule): unchanged, shown as the live object.
pub fn known_unchanged(id: ResId, live: &Value, body: Value) -> Change {
    let uid = live["metadata"]["uid"].as_str().map(str::to_string);
    let mut before = Some(sorted(normalized(live.clone())));
    let mut after = before.clone();
    mask_secrets(before.as_mut(), after.as_mut());
    Change { id, action: Action::Unchanged, before, after, body: Some(body), uid, skipped: true }
}

async fn namespace_exists(cluster: &Cluster) -> Result<bool, ClusterError> {
    let id = ResId::new(Gvk::from_api_version("v1", "Namespace"), "", &cluster.namespace);
    Ok(cluster.get(&id).await?.is_some())
}

/// Sorts map keys at every level, so two answers that differ only in key order print the same.
pub fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// A planned change, both sides normalized, sorted and masked for display.
pub fn change(id: ResId, live: Option<Value>, after: Option<Value>, body: Option<Value>, action: Action) -> Change {
    let mut before = live.map(|v| sorted(normalized(v)));
    let mut after = after.map(|v| sorted(normalized(v)));
    mask_secrets(before.as_mut(), after.as_mut());
    Change { id, action, before, after, body, uid: None, skipped: false }
}

/// Puts namespaced objects into the target namespace; an object naming another is an error.
pub async fn place(cluster: &Cluster, objects: Vec<Value>) -> Result<Vec<(ResId, Value)>, PlanError> {
    let mut out = Vec::with_capacity(objects.len());
    for mut obj in objects {
        let gvk = Gvk::from_api_version(obj["apiVersion"].as_str().unwrap_or(""), obj["kind"].as_str().unwrap_or(""));
        let kind = cluster.resolve(&gvk).await?;
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        let ns = if kind.namespaced {
            match obj["metadata"]["namespace"].as_str() {
                Some(found) if found != cluster.namespace => {
                    return Err(PlanError::NamespaceMismatch {
                        id: ResId::new(gvk, found, &name),
                        found: found.to_string(),
                        target: cluster.namespace.clone(),
                    })
                }
                _ => {
                    if let Some(m) = obj["metadata"].as_object_mut() {
                        m.insert("namespace".into(), Value::String(cluster.namespace.clone()));
                    }
                    cluster.namespace.clone()
                }
            }
        } else {
            String::new()
        };
        out.push((ResId::new(gvk, &ns, &name), obj));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_owned_fields_do_not_count_as_changes() {
        let live = json!({"kind": "ConfigMap", "metadata": {"name": "a", "uid": "1", "resourceVersion": "5", "managedFields": []}, "data": {"k": "v"}});
        let dry = json!({"kind": "ConfigMap", "metadata": {"name": "a", "uid": "1", "resourceVersion": "6"}, "data": {"k": "v"}});
        assert_eq!(classify(Some(&live), Some(&dry)), Action::Unchanged);
        let changed = json!({"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "w"}});
        assert_eq!(classify(Some(&live), Some(&changed)), Action::Update);
        assert_eq!(classify(None, Some(&dry)), Action::Create);
        assert_eq!(classify(Some(&live), None), Action::Delete);
    }

    #[test]
    fn secrets_are_masked_with_change_markers() {
        let mut before = json!({"kind": "Secret", "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"pw\":\"c2VjcmV0\"}}"}}, "data": {"pw": "c2VjcmV0", "same": "eA=="}});
        let mut after = json!({"kind": "Secret", "data": {"pw": "bmV3", "same": "eA=="}});
        mask_secrets(Some(&mut before), Some(&mut after));
        let text = format!("{before}{after}");
        assert!(!text.contains("c2VjcmV0") && !text.contains("bmV3"), "{text}");
        assert_eq!(before["data"]["pw"], "*** (before)");
        assert_eq!(after["data"]["pw"], "*** (after)");
        assert_eq!(after["data"]["same"], "***");
    }

    #[test]
    fn summary_counts_actions() {
        let id = ResId::new(Gvk::from_api_version("v1", "ConfigMap"), "ns", "a");
        let mk = |a: Action| Change {
            id: id.clone(),
            action: a,
            before: None,
            after: None,
            body: None,
            uid: None,
            skipped: false,
        };
        let plan =
            Plan { changes: vec![mk(Action::Create), mk(Action::Create), mk(Action::Update), mk(Action::Unchanged)] };
        assert_eq!(plan.summary(), "Plan: 2 to add, 1 to change, 0 to delete, 1 unchanged");
    }
}
