//! The `kustomization.yaml` file: Kustomize v5's fields, parsed strictly.
//!
//! Unknown fields are refused with the nearest known name; fields Kustomize has but we do not
//! implement (helmCharts, vars, ...) get a "not supported" error rather than being ignored.
//! Right after parsing, deprecated spellings (`bases`, `imageTags`) are folded into the current
//! ones, so later stages see one shape (as Kustomize's `FixKustomization` does).

use super::locate::{self, Seg};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Fields of Kustomize v5 that this engine does not implement.
pub const UNSUPPORTED_FIELDS: &[&str] = &[
    "helmCharts",
    "helmChartInflationGenerator",
    "helmGlobals",
    "vars",
    "openapi",
    "crds",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
    "inventory",
];

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Kustomization {
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub bases: Vec<String>,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default)]
    pub patches: Vec<Patch>,
    #[serde(default)]
    pub patches_strategic_merge: Vec<String>,
    #[serde(default, rename = "patchesJson6902")]
    pub patches_json6902: Vec<Patch>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub name_prefix: Option<String>,
    #[serde(default)]
    pub name_suffix: Option<String>,
    #[serde(default)]
    pub labels: Vec<Labels>,
    #[serde(default, deserialize_with = "string_map")]
    pub common_labels: Map<String, Value>,
    #[serde(default, deserialize_with = "string_map")]
    pub common_annotations: Map<String, Value>,
    #[serde(default)]
    pub images: Vec<Image>,
    #[serde(default)]
    pub image_tags: Vec<Image>,
    #[serde(default)]
    pub replicas: Vec<Replica>,
    #[serde(default)]
    pub config_map_generator: Vec<Generator>,
    #[serde(default)]
    pub secret_generator: Vec<Generator>,
    #[serde(default)]
    pub generator_options: Option<GeneratorOptions>,
    #[serde(default)]
    pub replacements: Vec<ReplacementEntry>,
    #[serde(default)]
    pub sort_options: Option<SortOptions>,
}

/// A patch: a file (`path`) or inline text (`patch`), optionally aimed by `target`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Patch {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub patch: Option<String>,
    #[serde(default)]
    pub target: Option<Selector>,
    #[serde(default)]
    pub options: PatchOptions,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchOptions {
    #[serde(default)]
    pub allow_name_change: bool,
    #[serde(default)]
    pub allow_kind_change: bool,
}

/// Chooses resources. Group, version, kind, name and namespace are anchored regular expressions,
/// as in Kustomize; the selectors are Kubernetes label-selector syntax.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Selector {
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub label_selector: Option<String>,
    #[serde(default)]
    pub annotation_selector: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Labels {
    #[serde(default, deserialize_with = "string_map")]
    pub pairs: Map<String, Value>,
    #[serde(default)]
    pub include_selectors: bool,
    #[serde(default)]
    pub include_templates: bool,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

/// Where a transformer writes: a `/`-separated path, optionally limited to a kind.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldSpec {
    pub path: String,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub create: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Image {
    pub name: String,
    #[serde(default)]
    pub new_name: Option<String>,
    #[serde(default)]
    pub new_tag: Option<String>,
    #[serde(default)]
    pub digest: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replica {
    pub name: String,
    pub count: i64,
}

/// configMapGenerator / secretGenerator entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Generator {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub behavior: Option<String>,
    #[serde(default)]
    pub literals: Vec<String>,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub envs: Vec<String>,
    #[serde(default)]
    pub env: Option<String>,
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    #[serde(default)]
    pub options: Option<GeneratorOptions>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GeneratorOptions {
    #[serde(default, deserialize_with = "string_map")]
    pub labels: Map<String, Value>,
    #[serde(default, deserialize_with = "string_map")]
    pub annotations: Map<String, Value>,
    #[serde(default)]
    pub disable_name_suffix_hash: Option<bool>,
    #[serde(default)]
    pub immutable: Option<bool>,
}

/// A replacement given inline, or a file holding one or more.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ReplacementEntry {
    Path { path: String },
    Inline(Replacement),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Replacement {
    pub source: ReplacementSource,
    #[serde(default)]
    pub targets: Vec<ReplacementTarget>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplacementSource {
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub field_path: Option<String>,
    #[serde(default)]
    pub options: Option<FieldOptions>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplacementTarget {
    #[serde(default)]
    pub select: Option<Selector>,
    #[serde(default)]
    pub reject: Vec<Selector>,
    #[serde(default)]
    pub field_paths: Vec<String>,
    #[serde(default)]
    pub options: Option<FieldOptions>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldOptions {
    #[serde(default)]
    pub delimiter: Option<String>,
    #[serde(default)]
    pub index: i64,
    #[serde(default)]
    pub encoding: Option<String>,
    #[serde(default)]
    pub create: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SortOptions {
    #[serde(default)]
    pub order: Option<String>,
    #[serde(default)]
    pub legacy_sort_options: Option<LegacySortOptions>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LegacySortOptions {
    #[serde(default)]
    pub order_first: Vec<String>,
    #[serde(default)]
    pub order_last: Vec<String>,
}

/// Labels, annotations: strings only, as Kustomize reads them. A bare `1.10` or `01234` has
/// already become a number (1.1, the octal 668) by now, so turning it back into text would
/// silently change what the user wrote; like Kustomize, we refuse it and ask for quotes.
fn string_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    use serde::de::{Error, Unexpected};
    let m = Map::<String, Value>::deserialize(d)?;
    for v in m.values() {
        let unexpected = match v {
            Value::String(_) | Value::Null => continue,
            Value::Bool(b) => Unexpected::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Unexpected::Signed(i),
                (_, Some(u), _) => Unexpected::Unsigned(u),
                (_, _, f) => Unexpected::Float(f.unwrap_or_default()),
            },
            Value::Array(_) => Unexpected::Seq,
            Value::Object(_) => Unexpected::Map,
        };
        return Err(D::Error::invalid_type(unexpected, &"a string"));
    }
    Ok(m)
}

/// Why a kustomization file was refused.
#[derive(Debug, thiserror::Error)]
pub enum KustomizationError {
    #[error("field `{field}` is not supported by kubectl-dimtensor")]
    Unsupported { field: String },
    #[error("unknown field `{field}`{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownField { field: String, suggestion: Option<String> },
    #[error("the file must hold a mapping")]
    NotAMapping,
    #[error("the kustomization is empty: besides apiVersion and kind it sets nothing (Kustomize refuses it too); list resources, components, generators or transformers")]
    Empty,
    #[error("{0}")]
    Shape(String),
    /// A field of the wrong type; `line` is filled in by [`KustomizationError::locate`].
    #[error("{}`{}`: {message}", line.map(|l| format!("line {l}: ")).unwrap_or_default(), locate::Display(path))]
    Field { path: Vec<Seg>, line: Option<usize>, message: String },
}

impl KustomizationError {
    /// Finds the line of a [`KustomizationError::Field`] in the file's text.
    pub fn locate(mut self, text: &str) -> Self {
        if let KustomizationError::Field { path, line, .. } = &mut self {
            *line = locate::line_of(text, 0, path);
        }
        self
    }
}

const KNOWN_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "bases",
    "components",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "labels",
    "commonLabels",
    "commonAnnotations",
    "images",
    "imageTags",
    "replicas",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "replacements",
    "sortOptions",
];

impl Kustomization {
    /// Parses and normalizes a kustomization document.
    pub fn from_value(doc: Value) -> Result<Kustomization, KustomizationError> {
        let obj = match &doc {
            Value::Object(o) => o,
            Value::Null => return Err(KustomizationError::Empty),
            _ => return Err(KustomizationError::NotAMapping),
        };
        for key in obj.keys() {
            if UNSUPPORTED_FIELDS.contains(&key.as_str()) {
                return Err(KustomizationError::Unsupported { field: key.clone() });
            }
            if !KNOWN_FIELDS.contains(&key.as_str()) {
                return Err(KustomizationError::UnknownField {
                    field: key.clone(),
                    suggestion: crate::suggest::nearest(key, KNOWN_FIELDS.iter().copied()).map(str::to_string),
                });
            }
        }
        if let Some(kind) = obj.get("kind").and_then(Value::as_str) {
            if kind != "Kustomization" && kind != "Component" {
                return Err(KustomizationError::Shape(format!("kind `{kind}` is neither Kustomization nor Component")));
            }
        }
        // Kustomize's `CheckEmpty`: every field but the type left at its zero value (absent,
        // null or ""). An empty list or map counts as set.
        let unset = |v: &Value| v.is_null() || v.as_str() == Some("");
        if obj.iter().all(|(k, v)| k == "apiVersion" || k == "kind" || unset(v)) {
            return Err(KustomizationError::Empty);
        }
        // A field left empty (`commonLabels:` with every entry commented out) is null; Kustomize
        // reads it as empty, and so do we.
        let mut doc = doc;
        drop_nulls(&mut doc);
        let mut k = match Kustomization::deserialize(&doc) {
            Ok(k) => k,
            Err(e) => {
                let message = e.to_string();
                let path = super::blame::blame::<Kustomization>(&doc, &message);
                let message = super::blame::plain(&message);
                return Err(match path.is_empty() {
                    true => KustomizationError::Shape(message),
                    false => KustomizationError::Field { path, line: None, message },
                });
            }
        };
        let bases = std::mem::take(&mut k.bases);
        k.resources.extend(bases);
        let tags = std::mem::take(&mut k.image_tags);
        k.images.extend(tags);
        Ok(k)
    }

    pub fn is_component(&self) -> bool {
        self.kind.as_deref() == Some("Component")
    }
}

fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(drop_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_fields_are_empty_and_unknown_kinds_refused() {
        let k = Kustomization::from_value(
            json!({"commonLabels": null, "configMapGenerator": [{"name": "g", "literals": null}]}),
        )
        .unwrap();
        assert!(k.common_labels.is_empty() && k.config_map_generator[0].literals.is_empty());
        let err = Kustomization::from_value(json!({"kind": "Frobnicator"})).unwrap_err().to_string();
        assert!(err.contains("Frobnicator") && err.contains("Component"), "{err}");
    }

    #[test]
    fn a_kustomization_that_sets_nothing_is_refused() {
        for doc in [
            json!(null),
            json!({}),
            json!({"apiVersion": "kustomize.config.k8s.io/v1alpha1", "kind": "Component"}),
            json!({"kind": "Kustomization", "namespace": "", "resources": null}),
        ] {
            let err = Kustomization::from_value(doc.clone()).unwrap_err().to_string();
            assert!(err.contains("empty"), "{doc}: {err}");
        }
        for doc in [json!({"resources": []}), json!({"namePrefix": "x-"}), json!({"metadata": {}})] {
            assert!(Kustomization::from_value(doc.clone()).is_ok(), "{doc}");
        }
    }

    #[test]
    fn folds_deprecated_spellings() {
        let k = Kustomization::from_value(
            json!({"bases": ["../base"], "resources": ["a.yaml"], "imageTags": [{"name": "x", "newTag": "2"}]}),
        )
        .unwrap();
        assert_eq!(k.resources, ["a.yaml", "../base"]);
        assert_eq!(k.images[0].new_tag.as_deref(), Some("2"));
    }

    #[test]
    fn wrong_types_name_the_field_and_its_line() {
        let text = "resources: []\nreplicas:\n- name: app\n  count: two\ncommonLabels:\n  version: 1.10\n";
        let doc = crate::yaml::parse_value(text, "k.yaml").unwrap();
        let err = Kustomization::from_value(doc).unwrap_err().locate(text).to_string();
        assert!(err.starts_with("line 4: `replicas[0].count`: ") && err.contains("expected an integer"), "{err}");
        let doc = json!({"commonLabels": {"version": 1.1}, "images": [{"name": "x", "newTag": 1.1}]});
        let err = Kustomization::from_value(doc).unwrap_err().to_string();
        assert!(err.starts_with("`commonLabels.version`: ") && err.contains("quote the value"), "{err}");
        let err = Kustomization::from_value(json!({"images": [{"name": "x", "newTag": 1.1}]})).unwrap_err();
        assert!(err.to_string().starts_with("`images[0].newTag`: "), "{err}");
    }

    #[test]
    fn unsupported_fields_are_named() {
        let err = Kustomization::from_value(json!({"helmCharts": []})).unwrap_err().to_string();
        assert!(err.contains("helmCharts") && err.contains("not supported"), "{err}");
    }

    #[test]
    fn unknown_fields_suggest_the_nearest() {
        let err = Kustomization::from_value(json!({"namePrefx": "a-"})).unwrap_err().to_string();
        assert!(err.contains("did you mean `namePrefix`"), "{err}");
    }

    #[test]
    fn nested_unknown_fields_are_refused() {
        let err = Kustomization::from_value(json!({"patches": [{"paht": "x.yaml"}]})).unwrap_err().to_string();
        assert!(err.contains("paht"), "{err}");
    }
}
