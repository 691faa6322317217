//! One resource: its JSON body plus what the build remembers about it.

use super::{fields, Gvk, IdRef, ResId};
use serde_json::{Map, Value};

/// What a generator said about the resource it made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behavior {
    #[default]
    Create,
    Merge,
    Replace,
}

/// A resource and its build notes. The notes play the role of Kustomize's internal build
/// annotations: previous ids let name references find an object after it was prefixed,
/// namespaced or hashed; prefixes and suffixes break ties between same-named candidates.
#[derive(Debug, Clone)]
pub struct Resource {
    body: Value,
    prev_ids: Vec<ResId>,
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// Set on generated ConfigMaps and Secrets whose name gets a content hash at the end.
    pub needs_hash: bool,
    pub behavior: Behavior,
    /// Made by a generator (Kustomize marks those with build annotations).
    pub generated: bool,
    /// Where the resource was read from, for error messages.
    pub origin: String,
    /// Fields that are one node in Kustomize (see [`super::shared`]).
    shared: Vec<super::shared::SharedNode>,
    /// Scalars without a YAML type (see [`super::shared`]).
    untyped: Vec<super::shared::Untyped>,
}

impl Resource {
    /// Wraps a parsed document. The caller has checked it is a mapping.
    pub fn new(body: Value, origin: impl Into<String>) -> Resource {
        debug_assert!(body.is_object());
        Resource {
            body,
            prev_ids: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            needs_hash: false,
            behavior: Behavior::Create,
            generated: false,
            origin: origin.into(),
            shared: Vec::new(),
            untyped: Vec::new(),
        }
    }

    pub fn body(&self) -> &Value {
        &self.body
    }

    pub fn body_mut(&mut self) -> &mut Value {
        &mut self.body
    }

    pub fn into_body(self) -> Value {
        self.body
    }

    fn str_at(&self, a: &str, b: Option<&str>) -> &str {
        match b {
            Some(b) => fields::child(&self.body, a).map_or("", |v| fields::str_at(v, b)),
            None => fields::str_at(&self.body, a),
        }
    }

    pub fn api_version(&self) -> &str {
        self.str_at("apiVersion", None)
    }
    pub fn kind(&self) -> &str {
        self.str_at("kind", None)
    }
    pub fn name(&self) -> &str {
        self.str_at("metadata", Some("name"))
    }
    pub fn namespace(&self) -> &str {
        self.str_at("metadata", Some("namespace"))
    }

    pub fn gvk(&self) -> Gvk {
        Gvk::from_api_version(self.api_version(), self.kind())
    }

    /// The id as the resource is now.
    pub fn id(&self) -> ResId {
        ResId::of(&self.body)
    }

    /// [`Resource::id`] borrowed from the body.
    pub fn id_ref(&self) -> IdRef<'_> {
        IdRef::of(self.api_version(), self.kind(), self.namespace(), self.name())
    }

    /// The id the resource was first loaded with.
    pub fn org_id(&self) -> ResId {
        self.prev_ids.first().cloned().unwrap_or_else(|| self.id())
    }

    /// Ids the resource had before each rename, oldest first (not including the current one).
    pub fn prev_ids(&self) -> &[ResId] {
        &self.prev_ids
    }

    /// Every id the resource has had, the current one last.
    pub fn all_ids(&self) -> impl Iterator<Item = ResId> + '_ {
        self.prev_ids.iter().cloned().chain(std::iter::once(self.id()))
    }

    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let obj = self.body.as_object_mut().expect("resource bodies are mappings");
        let meta = obj.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        meta.as_object_mut().expect("just made an object")
    }

    /// Pushes the current id onto the history, as Kustomize's `StorePreviousId` does before a
    /// transformer that may rename. Unconditional on purpose: name-reference repair treats any
    /// resource with history as a candidate, exactly as Kustomize does.
    pub fn store_previous_id(&mut self) {
        let id = self.id();
        self.prev_ids.push(id);
    }

    pub fn set_name(&mut self, name: &str) {
        self.metadata_mut().insert("name".into(), Value::String(name.to_string()));
    }

    pub fn set_namespace(&mut self, namespace: &str) {
        self.metadata_mut().insert("namespace".into(), Value::String(namespace.to_string()));
    }

    /// Takes over another resource's build history (generator merge, patch replacing the body).
    pub fn inherit_history(&mut self, other: &Resource) {
        self.prev_ids = other.prev_ids.clone();
        self.prefixes = other.prefixes.clone();
        self.suffixes = other.suffixes.clone();
    }

    /// Whether Kustomize would hold build annotations for this resource (a generated one, or one
    /// renamed, namespaced or JSON-patched through `patches`): then `metadata.annotations` exists
    /// as far as a JSON patch can tell, even when no annotation will be printed.
    pub fn has_build_notes(&self) -> bool {
        self.generated || !self.prev_ids.is_empty() || !self.prefixes.is_empty() || !self.suffixes.is_empty()
    }

    /// Records that the fields at `at` now hold one node (their current value).
    pub fn share(&mut self, at: Vec<super::shared::Location>) {
        let value = at.first().and_then(|first| super::shared::get(&self.body, first)).cloned();
        if let (Some(value), true) = (value, at.len() > 1) {
            self.shared.push(super::shared::SharedNode::new(at, value));
        }
    }

    /// After a step that writes in place: carries a change to one shared field to the others.
    pub fn sync_shared(&mut self) {
        if !self.shared.is_empty() {
            super::shared::sync(&mut self.body, &mut self.shared);
        }
    }

    /// After a step that rebuilds the body from JSON (a JSON patch, a `$patch: replace`):
    /// nothing is shared and every scalar has a type again.
    pub fn rebuilt(&mut self) {
        self.shared.clear();
        self.untyped.clear();
    }

    /// Whether the scalar at `at` still has no YAML type: a replacement created it and nothing
    /// else wrote it since.
    pub fn is_untyped(&self, at: &[super::shared::Seg]) -> bool {
        let now = super::shared::get(&self.body, at);
        self.untyped.iter().any(|u| u.at == at && Some(&u.value) == now)
    }

    /// For a strategic merge (called before it): kyaml writes every field it walks back through
    /// its field setter, which quotes an untyped scalar whose text would not read as a string
    /// (`3` becomes "3", and stays text when written again); other untyped scalars stay untyped.
    /// `walked` says which fields the merge walks.
    pub fn settle_untyped(&mut self, walked: impl Fn(&Value, &[super::shared::Seg]) -> bool) {
        for u in std::mem::take(&mut self.untyped) {
            if super::shared::get(&self.body, &u.at) != Some(&u.value) {
                continue; // written since, so typed
            }
            let text = match &u.value {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            if !walked(&self.body, &u.at) || !crate::yaml::is_non_string(&text) {
                self.untyped.push(u);
            } else if let Some(slot) = super::shared::get_mut(&mut self.body, &u.at) {
                *slot = Value::String(text);
            }
        }
    }

    /// Runs `step` (a strategic merge, which may reorder lists) on the body, then finds the
    /// remembered fields (shared and untyped) again: `anchors` says, before the step, how to
    /// recognise each list element on the way to one.
    pub fn reordering<R>(
        &mut self,
        anchors: impl Fn(&Value, &[super::shared::Seg]) -> super::shared::Anchors,
        step: impl FnOnce(&mut Value) -> R,
    ) -> R {
        let mut places: Vec<&mut super::shared::Location> = self.untyped.iter_mut().map(|u| &mut u.at).collect();
        places.extend(self.shared.iter_mut().flat_map(|g| g.locations_mut().iter_mut()));
        if places.is_empty() {
            return step(&mut self.body);
        }
        let found: Vec<super::shared::Anchors> = places.iter().map(|at| anchors(&self.body, at)).collect();
        let r = step(&mut self.body);
        for (at, anchors) in places.into_iter().zip(&found) {
            super::shared::relocate(&self.body, at, anchors);
        }
        r
    }

    /// Records that the scalar at `at` has no YAML type (as it is now).
    pub fn mark_untyped(&mut self, at: super::shared::Location) {
        let Some(value) = super::shared::get(&self.body, &at).cloned() else { return };
        self.untyped.retain(|u| u.at != at);
        self.untyped.push(super::shared::Untyped { at, value });
    }

    /// Labels as a map view (empty when absent).
    pub fn labels(&self) -> Option<&Map<String, Value>> {
        self.body["metadata"]["labels"].as_object()
    }

    pub fn annotations(&self) -> Option<&Map<String, Value>> {
        self.body["metadata"]["annotations"].as_object()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm() -> Resource {
        Resource::new(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}}), "t")
    }

    #[test]
    fn renaming_keeps_the_original_id() {
        let mut r = cm();
        r.store_previous_id();
        r.set_name("p-cfg");
        r.store_previous_id();
        r.set_namespace("ml");
        assert_eq!(r.id().to_string(), "ConfigMap/ml/p-cfg");
        assert_eq!(r.org_id().to_string(), "ConfigMap/cfg");
        assert_eq!(r.prev_ids().len(), 2);
    }
}
