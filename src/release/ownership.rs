//! What a release owns, and what it may do to what it does not: the ownership rules in one
//! place (the README's release section states them for users).
//!
//! - Every release applies under a field manager of its own, `kubectl-dimtensor/<release>`, and
//!   without force except under `--adopt`, `--take-ownership` or `--force-conflicts`. Every apply
//!   carries the release label, so the API server itself refuses an apply over another
//!   release's object (409, a `FieldManagerConflict` on that label).
//! - An object's identity is (group, kind, namespace, name) ([`Key`]), confirmed by its `uid`;
//!   the API version is not part of it.
//! - A release deletes only what its records list, while the live object still carries its
//!   label and is the object it applied (the recorded uid), with a uid precondition.
//! - An existing object is taken over only with a flag: a Helm release's of the same name with
//!   `--adopt`, one of no release with `--take-ownership`, another release's never. Taking over
//!   moves the old managers' fields into the release's entry ([`merged_entries`], as kubectl's
//!   csaupgrade), so the next apply removes what the render leaves out. Controllers' entries
//!   are never taken.
//! - Objects of a release applied under the shared `kubectl-dimtensor` manager (before each
//!   release had its own) move to the release's manager on its next operation, for the objects
//!   its records list only.

use super::{RELEASE_LABEL, RELEASE_NAMESPACE_ANNOTATION};
use crate::model::ResId;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// The manager every release applied as before each had its own.
pub const LEGACY_MANAGER: &str = crate::cluster::FIELD_MANAGER;
pub const HELM_NAME_ANNOTATION: &str = "meta.helm.sh/release-name";
pub const HELM_NAMESPACE_ANNOTATION: &str = "meta.helm.sh/release-namespace";
/// Managers `--adopt` takes from: Helm's.
const HELM_MANAGERS: &[&str] = &["helm"];
/// Managers `--take-ownership` takes from: `kubectl apply` (client-side) and what kubectl's
/// first server-side apply over it leaves.
const KUBECTL_MANAGERS: &[&str] = &["kubectl-client-side-apply", "before-first-apply"];

/// The field manager of release `name` (release names are at most 53 bytes: well within the
/// API server's 128).
pub fn field_manager(name: &str) -> String {
    format!("{LEGACY_MANAGER}/{name}")
}

/// An object's identity: group, kind, namespace (as the server sees it) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl Key {
    pub fn of(id: &ResId) -> Key {
        Key {
            group: id.gvk.group.clone(),
            kind: id.gvk.kind.clone(),
            namespace: id.effective_namespace().to_string(),
            name: id.name.clone(),
        }
    }
}

/// How records store it (`Kind.group/namespace/name`).
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.group.as_str() {
            "" => write!(f, "{}/{}/{}", self.kind, self.namespace, self.name),
            g => write!(f, "{}.{g}/{}/{}", self.kind, self.namespace, self.name),
        }
    }
}

/// Who an object belongs to, by its labels and annotations, seen from release `name`.
#[derive(Debug, Clone, PartialEq)]
pub enum Owner {
    /// Labelled as this release's.
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

fn uid(obj: &Value) -> Option<&str> {
    obj["metadata"]["uid"].as_str()
}

/// What the release's records say about objects: those they list, and the uid each was last
/// applied with (records written before uids were kept have none).
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub keys: HashSet<Key>,
    pub uids: BTreeMap<String, String>,
}

impl Recorded {
    pub fn from_history(history: &[super::record::Release]) -> Recorded {
        let mut r = Recorded::default();
        for rel in history {
            r.add(rel);
        }
        r
    }

    /// Adds a revision (newer than those added before): its objects, and the uids it knows. A
    /// newer revision's knowledge replaces an older one's, also where it knows none.
    pub fn add(&mut self, rel: &super::record::Release) {
        for (id, _) in super::plan::manifest_ids(&rel.manifest) {
            let key = Key::of(&id);
            match rel.uids.get(&key.to_string()) {
                Some(u) => self.uids.insert(key.to_string(), u.clone()),
                None => self.uids.remove(&key.to_string()),
            };
            self.keys.insert(key);
        }
    }

    /// Whether `live` is an object the release applied: listed, and (when a uid was recorded)
    /// the same object, not a same-named newcomer.
    pub fn applied(&self, key: &Key, live: &Value) -> bool {
        self.keys.contains(key) && self.uids.get(&key.to_string()).is_none_or(|u| Some(u.as_str()) == uid(live))
    }
}

/// What applying the release's version of an existing object involves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// The release's: applied as usual.
    Ours,
    /// The release's, applied under the shared legacy manager: that entry moves to the
    /// release's own first.
    Migrate,
    /// Helm's (`--adopt`): Helm's entries move to the release's, and the apply forces.
    Adopt,
    /// No release's (`--take-ownership`): `kubectl apply`'s entries move, and the apply forces.
    TakeOver,
}

impl Disposition {
    /// Whether the apply forces (the flags that allow it were given).
    pub fn forced(self) -> bool {
        matches!(self, Disposition::Adopt | Disposition::TakeOver)
    }

    /// Whether an entry of `manager` (on the main resource) moves to the release's.
    pub fn takes_from(self, manager: &str, operation: &str) -> bool {
        match self {
            Disposition::Ours => false,
            Disposition::Migrate => manager == LEGACY_MANAGER && operation == "Apply",
            Disposition::Adopt => HELM_MANAGERS.contains(&manager),
            Disposition::TakeOver => KUBECTL_MANAGERS.contains(&manager),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("release {name} would take over objects that are not its own:\n{}", lines.join("\n"))]
pub struct OwnershipError {
    pub name: String,
    pub lines: Vec<String>,
}

/// The flags that allow taking over existing objects.
#[derive(Debug, Clone, Copy, Default)]
pub struct Allow {
    pub adopt: bool,
    pub take_ownership: bool,
}

/// How release `name` may apply over the existing object `live` (`Err`: a line saying why not,
/// and what would allow it).
pub fn disposition(
    id: &ResId,
    live: &Value,
    recorded: &Recorded,
    name: &str,
    namespace: &str,
    allow: Allow,
) -> Result<Disposition, String> {
    let key = Key::of(id);
    let applied = recorded.applied(&key, live);
    let ours = |live: &Value| {
        let legacy = entries(live).any(|e| e["manager"] == LEGACY_MANAGER && e["operation"] == "Apply");
        if legacy && applied {
            Disposition::Migrate
        } else {
            Disposition::Ours
        }
    };
    match owner(live, name, namespace) {
        Owner::Dimtensor { release, namespace: ns } => Err(format!(
            "  {id}: belongs to dimtensor release {release} in namespace {ns}; uninstall that release or rename this one (neither --adopt nor --take-ownership takes it)"
        )),
        Owner::Ours if applied || !recorded.keys.contains(&key) => Ok(ours(live)),
        // Labelled as ours by someone else: after the release's own was deleted, or never applied.
        Owner::Ours if allow.take_ownership => Ok(Disposition::TakeOver),
        Owner::Ours => Err(format!(
            "  {id}: is labelled as release {name}'s but is not the object it applied (deleted and made again); pass --take-ownership to manage it as part of {name}"
        )),
        _ if applied => Ok(ours(live)),
        Owner::Helm { release, namespace: ns } if release == name && (ns.is_empty() || ns == namespace) => {
            match allow.adopt {
                true => Ok(Disposition::Adopt),
                false => Err(format!("  {id}: part of Helm release {release}; pass --adopt to take it over")),
            }
        }
        Owner::Helm { release, namespace: ns } => Err(format!(
            "  {id}: part of Helm release {release} in namespace {ns}; --adopt only takes over objects of Helm release {name} in {namespace}"
        )),
        Owner::Nobody if allow.take_ownership => Ok(Disposition::TakeOver),
        _ => Err(format!(
            "  {id}: exists and belongs to no release; delete it, or pass --take-ownership to manage it as part of {name}"
        )),
    }
}

/// Dispositions of every existing object the render applies over; refuses with every object
/// that is not the release's to take.
pub fn check(
    live: &[(&ResId, &Value)],
    recorded: &Recorded,
    name: &str,
    namespace: &str,
    allow: Allow,
) -> Result<Vec<(ResId, Disposition)>, OwnershipError> {
    let mut out = Vec::new();
    let mut lines = Vec::new();
    for &(id, obj) in live {
        match disposition(id, obj, recorded, name, namespace, allow) {
            Ok(d) => out.push((id.clone(), d)),
            Err(line) => lines.push(line),
        }
    }
    match lines.is_empty() {
        true => Ok(out),
        false => Err(OwnershipError { name: name.into(), lines }),
    }
}

/// Whether release `name` may delete `live`, an object its records list: it must still carry
/// the release's label and be the object the release applied. `Ok`: the uid to guard the delete
/// with; `Err`: why it is left.
pub fn deletable(live: &Value, key: &Key, recorded: &Recorded, name: &str, namespace: &str) -> Result<String, String> {
    match owner(live, name, namespace) {
        Owner::Ours if recorded.applied(key, live) => Ok(uid(live).unwrap_or_default().to_string()),
        Owner::Ours => Err(format!("not the object release {name} applied (deleted and made again since)")),
        Owner::Dimtensor { release, .. } => Err(format!("belongs to release {release} now")),
        Owner::Helm { release, .. } => Err(format!("belongs to Helm release {release} now")),
        Owner::Nobody => Err(format!("no longer labelled as release {name}'s")),
    }
}

/// An apply the plan expected to create (201) found the object (200): whether someone else made
/// it meanwhile, rather than an earlier attempt of ours whose answer was lost (then the release
/// is its only owner but for controllers: their status and scale entries, and the main-resource
/// writes of Kubernetes' own, such as v1.24's token controller adding a ServiceAccount's secret).
pub fn made_by_someone_else(obj: &Value, manager: &str) -> bool {
    entries(obj).any(|e| {
        let m = e["manager"].as_str().unwrap_or("");
        m != manager && !crate::cluster::is_controller(m) && e.get("subresource").is_none_or(|s| s == "")
    })
}

fn entries(obj: &Value) -> impl Iterator<Item = &Value> {
    obj["metadata"]["managedFields"].as_array().into_iter().flatten()
}

/// `managedFields` with every main-resource entry `disposition` takes from merged into
/// `manager`'s Apply entry (made from the first of them when there is none), as kubectl's
/// csaupgrade does; None when there is nothing to move. Subresource entries (controllers'
/// status and scale writes) stay.
pub fn merged_entries(obj: &Value, manager: &str, disposition: Disposition) -> Option<Vec<Value>> {
    let all: Vec<Value> = entries(obj).cloned().collect();
    let main = |e: &Value| e.get("subresource").is_none_or(|s| s == "");
    let taken = |e: &Value| {
        main(e) && disposition.takes_from(e["manager"].as_str().unwrap_or(""), e["operation"].as_str().unwrap_or(""))
    };
    let moving: Vec<&Value> = all.iter().filter(|e| taken(e)).collect();
    let first = *moving.first()?;
    let own = |e: &Value| e["manager"] == manager && e["operation"] == "Apply" && main(e);
    let mut target = all.iter().find(|e| own(e)).cloned().unwrap_or_else(|| {
        let mut e = first.clone();
        e["manager"] = json!(manager);
        e["operation"] = json!("Apply");
        e
    });
    let mut fields = target.get("fieldsV1").cloned().unwrap_or_else(|| json!({}));
    for e in &moving {
        union(&mut fields, &e["fieldsV1"]);
    }
    target["fieldsV1"] = fields;
    let mut out = vec![target];
    out.extend(all.iter().filter(|e| !taken(e) && !own(e)).cloned());
    Some(out)
}

/// Union of two `fieldsV1` tries (each key a path element, `{}` a leaf).
fn union(into: &mut Value, from: &Value) {
    let (Some(i), Some(f)) = (into.as_object_mut(), from.as_object()) else { return };
    for (k, v) in f {
        union(i.entry(k.clone()).or_insert_with(|| Value::Object(Map::new())), v);
    }
}

/// The JSON patch that replaces `managedFields` with `entries`, guarded by a `test` of the
/// resourceVersion they were computed from: if anyone wrote meanwhile it fails (422) and
/// changes nothing.
pub fn managed_fields_patch(resource_version: &str, entries: Vec<Value>) -> Value {
    json!([
        {"op": "test", "path": "/metadata/resourceVersion", "value": resource_version},
        {"op": "replace", "path": "/metadata/managedFields", "value": entries},
    ])
}

/// The JSON patch that hands release `name`'s object `live` over to whoever manages it next
/// (`handover`): it drops what makes the object the release's (the release label and namespace
/// annotation, and this release's field manager entries: its own, the one that holds
/// `replicas` while autoscaling takes over, and the shared legacy manager's Apply entry an
/// earlier version wrote) and nothing else, guarded by a `test` of the
/// resourceVersion it was computed from. With no entry left, managedFields are sent as `[{}]`:
/// the API server keeps the stored entries when sent none, and clears them on that one empty
/// entry. None when nothing marks the object as the release's.
pub fn handover_patch(live: &Value, name: &str) -> Option<Value> {
    let rv = live["metadata"]["resourceVersion"].as_str().unwrap_or_default();
    let mut ops = vec![json!({"op": "test", "path": "/metadata/resourceVersion", "value": rv})];
    for (field, key) in [("labels", RELEASE_LABEL), ("annotations", RELEASE_NAMESPACE_ANNOTATION)] {
        if live["metadata"][field].get(key).is_some() {
            ops.push(json!({"op": "remove", "path": format!("/metadata/{field}/{}", key.replace('~', "~0").replace('/', "~1"))}));
        }
    }
    let own = field_manager(name);
    let helper = crate::apply::handover::manager_of(&own);
    let released = |e: &Value| {
        let m = e["manager"].as_str().unwrap_or("");
        m == own || m == helper || (m == LEGACY_MANAGER && e["operation"] == "Apply")
    };
    let all: Vec<&Value> = entries(live).collect();
    let kept: Vec<Value> = all.iter().filter(|e| !released(e)).map(|e| (*e).clone()).collect();
    if kept.len() != all.len() {
        let value = if kept.is_empty() { json!([{}]) } else { Value::Array(kept) };
        ops.push(json!({"op": "replace", "path": "/metadata/managedFields", "value": value}));
    }
    (ops.len() > 1).then(|| Value::Array(ops))
}

/// What releasing an object looks like: an apply of nothing but its identity, which drops the
/// manager's entry and every field only it owned.
pub fn empty_config(id: &ResId) -> Value {
    let mut meta = json!({"name": id.name});
    if !id.namespace.is_empty() {
        meta["namespace"] = json!(id.namespace);
    }
    json!({"apiVersion": id.gvk.api_version(), "kind": id.gvk.kind, "metadata": meta})
}

#[cfg(test)]
#[path = "ownership_tests.rs"]
mod tests;
