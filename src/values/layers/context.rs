//! What the values act on ([`Ctx`]: the merged values, the keys the user set, the rendered
//! workload) and the strategic-merge patch under construction ([`Patch`]), with the helpers every
//! part of the layer shares.

use super::{pod_spec, Effect, Found, Layer};
use crate::model::Resource;
use crate::values::checksum::Key;
use crate::values::presets::Workload;
use crate::values::{tree, UserValues, ValuesError};
use serde_json::{json, Map, Value};

/// A strategic-merge patch document under construction.
pub(super) struct Patch {
    pub(super) doc: Value,
}

impl Patch {
    pub(super) fn new(api_version: &str, kind: &str, name: &str) -> Patch {
        Patch { doc: json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}) }
    }

    pub(super) fn at(&mut self, path: &[&str]) -> &mut Map<String, Value> {
        let mut node = &mut self.doc;
        for key in path {
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            node = node
                .as_object_mut()
                .expect("just ensured")
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        node.as_object_mut().expect("just ensured")
    }
}

pub(super) struct Ctx<'a> {
    pub(super) eff: &'a Value,
    pub(super) user: &'a UserValues,
    pub(super) found: &'a Found<'a>,
    /// The key of `checksum/secret`; without one the annotation is left out.
    pub(super) key: Option<&'a Key>,
    pub(super) out: Layer,
}

impl Ctx<'_> {
    pub(super) fn get(&self, path: &str) -> &Value {
        tree::get(self.eff, &tree::split(path)).unwrap_or(&Value::Null)
    }
    pub(super) fn str(&self, path: &str) -> &str {
        self.get(path).as_str().unwrap_or("")
    }
    pub(super) fn on(&self, path: &str) -> bool {
        self.get(path).as_bool().unwrap_or(false)
    }
    /// The parameters the user set at or below each of `prefixes`.
    pub(super) fn touched(&self, prefixes: &[&str]) -> Vec<String> {
        self.user
            .sources
            .keys()
            .filter(|k| prefixes.iter().any(|p| *k == p || k.starts_with(&format!("{p}."))))
            .cloned()
            .collect()
    }

    pub(super) fn workload_patch(&self) -> Patch {
        let w = self.found.workload;
        Patch::new(w.api_version(), w.kind(), w.name())
    }

    /// Path to the pod template inside the workload patch.
    pub(super) fn template_path(&self) -> Vec<&'static str> {
        match self.found.kind {
            Workload::CronJob => vec!["spec", "jobTemplate", "spec", "template"],
            _ => vec!["spec", "template"],
        }
    }

    pub(super) fn job_spec_path(&self) -> Vec<&'static str> {
        match self.found.kind {
            Workload::CronJob => vec!["spec", "jobTemplate", "spec"],
            _ => vec!["spec"],
        }
    }

    pub(super) fn pod<'p>(&self, p: &'p mut Patch) -> &'p mut Map<String, Value> {
        let mut path = self.template_path();
        path.push("spec");
        p.at(&path)
    }

    pub(super) fn container<'p>(&self, p: &'p mut Patch) -> &'p mut Map<String, Value> {
        let name = self.found.container.clone();
        let pod = self.pod(p);
        let list = pod.entry("containers").or_insert_with(|| json!([{"name": name}]));
        list.as_array_mut()
            .and_then(|l| l.first_mut())
            .and_then(Value::as_object_mut)
            .expect("containers holds one map")
    }

    /// The user's own map for `key`, with the keys they set to null (to remove) kept.
    pub(super) fn user_map(&self, key: &str) -> Map<String, Value> {
        tree::get(&self.user.tree, &tree::split(key)).and_then(Value::as_object).cloned().unwrap_or_default()
    }

    /// An object value that replaces the whole field (as the chart's `toYaml` does), or null.
    pub(super) fn replaced_object(&self, key: &str) -> Value {
        match self.get(key).as_object() {
            Some(m) if !m.is_empty() => {
                let mut v = Map::new();
                v.insert("$patch".into(), json!("replace"));
                v.extend(m.clone());
                Value::Object(v)
            }
            _ => Value::Null,
        }
    }

    /// Adds the user's annotations map at `at` (maps merge as Helm coalesces; null removes a key).
    pub(super) fn merge_annotations(&self, p: &mut Patch, key: &str, at: &[&str]) {
        if !self.user.touched(key) {
            return;
        }
        let m = self.user_map(key);
        if m.is_empty() {
            return;
        }
        let target = p.at(at).entry("annotations").or_insert_with(|| Value::Object(Map::new()));
        if let Some(t) = target.as_object_mut() {
            for (k, v) in m {
                t.insert(k, if v.is_null() { Value::Null } else { Value::String(crate::overlay::scalar_text(&v)) });
            }
        }
    }

    /// The container of the rendered workload the values act on.
    pub(super) fn rendered_container(&self) -> Value {
        pod_spec(self.found.workload.body(), self.found.kind)["containers"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == self.found.container.as_str()))
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub(super) fn emit(&mut self, keys: Vec<String>, p: Patch) {
        let header_only =
            p.doc.as_object().is_some_and(|m| m.keys().all(|k| k == "apiVersion" || k == "kind" || k == "metadata"))
                && p.doc["metadata"].as_object().is_some_and(|m| m.len() == 1);
        if keys.is_empty() || header_only {
            return;
        }
        let resource =
            format!("{}/{}", p.doc["kind"].as_str().unwrap_or(""), p.doc["metadata"]["name"].as_str().unwrap_or(""));
        self.out.patches.push(json!({"patch": crate::yaml::to_yaml(&p.doc)}));
        self.out.explain.push(Effect { keys, resource, patch: p.doc });
    }

    pub(super) fn rendered(&self, kind: &str) -> Option<&Resource> {
        self.found.set.iter().find(|r| r.kind() == kind)
    }

    /// Adds a built-in component unless the overlay already has what it provides.
    pub(super) fn add_component(&mut self, name: &str, provides: &str) {
        let path = format!("{}/overlays/components/{name}", crate::builtin::ROOT);
        if self.rendered(provides).is_none() && !self.out.components.contains(&path) {
            self.out.components.push(path);
        }
    }
}

/// An error naming `key` and where the user set it.
pub(super) fn invalid(cx: &Ctx, key: &str, reason: String) -> ValuesError {
    ValuesError::Invalid { key: key.to_string(), reason, origin: cx.user.origin(key) }
}
