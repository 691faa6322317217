//! Chart values: the seed chart's parameters, read from `-f` files and `--set` flags, checked
//! against [`schema`], and turned into overlay layers by [`layers`].
//!
//! Only the keys the user set become patches: defaults never overwrite a preset (training's
//! `backoffLimit: 2` stays unless the user sets `job.backoffLimit`).

pub mod aliases;
pub mod checksum;
pub mod layers;
pub mod presets;
pub mod rules;
pub mod schema;
pub mod set_syntax;
pub mod tree;

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

/// Where a value came from, shown by `--show-values` and `--explain`.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Default,
    Preset(String),
    File { path: String, line: Option<usize> },
    Flag { flag: &'static str, arg: String },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => write!(f, "default"),
            Source::Preset(p) => write!(f, "overlay {p}"),
            Source::File { path, line: Some(l) } => write!(f, "{path}:{l}"),
            Source::File { path, line: None } => write!(f, "{path}"),
            Source::Flag { flag, arg } => write!(f, "{flag} {}", set_syntax::mask(arg)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    #[error("cannot read values file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error(transparent)]
    Yaml(#[from] crate::yaml::YamlError),
    #[error("{path}: a values file must hold a mapping of keys")]
    NotAMap { path: String },
    #[error(transparent)]
    Set(#[from] set_syntax::SetError),
    #[error("{origin}: unknown values key `{key}`{}", suggestion.as_ref().map(|s| format!(" (did you mean {s}?)")).unwrap_or_default())]
    UnknownKey { key: String, suggestion: Option<String>, origin: Source },
    #[error("{origin}: `{key}` must be {expected}, got {got}")]
    WrongType { key: String, expected: String, got: String, origin: Source },
    #[error("{origin}: `{key}`: {reason}")]
    Invalid { key: String, reason: String, origin: Source },
}

/// The values inputs, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub files: Vec<String>,
    pub set: Vec<String>,
    pub set_string: Vec<String>,
    pub set_file: Vec<String>,
}

impl Input {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.set.is_empty() && self.set_string.is_empty() && self.set_file.is_empty()
    }
}

/// What the user set: a sparse tree and where each parameter came from.
#[derive(Debug, Clone, Default)]
pub struct UserValues {
    pub tree: Value,
    pub sources: BTreeMap<String, Source>,
    /// Where each entry of a map parameter came from (`secret.data.token`), for errors that
    /// name one entry.
    pub entry_sources: BTreeMap<String, Source>,
}

impl UserValues {
    /// Whether the user set `path` or anything below it.
    pub fn touched(&self, path: &str) -> bool {
        let prefix = format!("{path}.");
        self.sources.keys().any(|k| k == path || k.starts_with(&prefix))
    }

    pub fn source(&self, path: &str) -> Option<&Source> {
        self.sources.get(path)
    }

    /// Where `path` (a parameter, or an entry of a map parameter) came from, for an error.
    pub fn origin(&self, path: &str) -> Source {
        self.entry_sources.get(path).or_else(|| self.sources.get(path)).cloned().unwrap_or(Source::Default)
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }
}

/// Reads and checks the user's values: files in order (later wins; `-` is stdin), then `--set`,
/// `--set-string` and `--set-file`, as Helm orders them.
pub fn load(input: &Input, stdin: &mut dyn Read) -> Result<UserValues, ValuesError> {
    let mut user = UserValues { tree: Value::Object(Map::new()), ..Default::default() };
    for path in &input.files {
        let text = if path == "-" {
            let mut s = String::new();
            stdin.read_to_string(&mut s).map_err(|source| ValuesError::Read { path: "<stdin>".into(), source })?;
            s
        } else {
            std::fs::read_to_string(path).map_err(|source| ValuesError::Read { path: path.clone(), source })?
        };
        let name = if path == "-" { "<stdin>".to_string() } else { path.clone() };
        absorb_text(&mut user, &text, &name)?;
    }
    for (flag, args, mode) in [
        ("--set", &input.set, set_syntax::Mode::Typed),
        ("--set-string", &input.set_string, set_syntax::Mode::String),
        ("--set-file", &input.set_file, set_syntax::Mode::String),
    ] {
        for arg in args {
            // Like Helm, a --set writes into the values gathered so far, so `a[0].x=1` and
            // `a[0].y=2` in two flags edit the same list item.
            let mut doc = Value::Object(Map::new());
            let mut pairs = Vec::new();
            for (mut path, value) in set_syntax::parse(arg, mode)? {
                if let Some(set_syntax::Seg::Key(k)) = path.first_mut() {
                    if let Some(new) = aliases::current(k) {
                        eprintln!("{}", aliases::warning(k, new, &Source::Flag { flag, arg: arg.clone() }));
                        *k = new.to_string();
                    }
                }
                let value = if flag == "--set-file" { read_set_file(arg, &value)? } else { value };
                set_syntax::apply(&mut doc, &path, value.clone());
                pairs.push((path, value));
            }
            let source_of = |_: &str| Source::Flag { flag, arg: arg.clone() };
            check(&mut user, &doc, &source_of)?;
            for (path, value) in pairs {
                set_syntax::apply(&mut user.tree, &path, value);
            }
            let leaves = param_leaves(&doc, &source_of)?;
            check_types(&user.tree, &leaves, &source_of)?;
        }
    }
    Ok(user)
}

fn read_set_file(arg: &str, value: &Value) -> Result<Value, ValuesError> {
    let path = value.as_str().unwrap_or_default();
    std::fs::read_to_string(path)
        .map(Value::String)
        .map_err(|source| ValuesError::Read { path: format!("{path} (from --set-file {arg})"), source })
}

/// Reads one values document (a stored revision's values, as JSON or YAML), named `name` in
/// messages and warnings.
pub fn load_text(text: &str, name: &str) -> Result<UserValues, ValuesError> {
    let mut user = UserValues { tree: Value::Object(Map::new()), ..Default::default() };
    absorb_text(&mut user, text, name)?;
    Ok(user)
}

/// One document named `name`, its deprecated keys folded into today's ([`aliases`]), checked
/// and merged over what came before. An empty document is nothing.
fn absorb_text(user: &mut UserValues, text: &str, name: &str) -> Result<(), ValuesError> {
    let mut doc = match crate::yaml::parse_value(text, name)? {
        Value::Null => return Ok(()),
        doc @ Value::Object(_) => doc,
        _ => return Err(ValuesError::NotAMap { path: name.to_string() }),
    };
    let line = |p: &str| locate_line(text, p).or_else(|| locate_line(text, aliases::deprecated_spelling(p)?));
    let source_of = |p: &str| Source::File { path: name.to_string(), line: line(p) };
    for warning in aliases::fold(&mut doc, &source_of)? {
        eprintln!("{warning}");
    }
    absorb(user, &doc, &source_of)
}

/// Checks one source's keys and types, then merges it over what came before.
fn absorb(user: &mut UserValues, doc: &Value, source_of: &dyn Fn(&str) -> Source) -> Result<(), ValuesError> {
    let leaves = check(user, doc, source_of)?;
    tree::merge(&mut user.tree, doc);
    // `null` removes a default; keep it visible so layers can remove the field too (also a
    // key set to null inside a map parameter, such as one pod annotation).
    for (path, value) in leaves {
        match value {
            Value::Null => tree::set(&mut user.tree, &path, Value::Null),
            Value::Object(m) if m.values().any(Value::is_null) => {
                for (k, _) in m.iter().filter(|(_, v)| v.is_null()) {
                    let mut p = path.clone();
                    p.push(k.clone());
                    tree::set(&mut user.tree, &p, Value::Null);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks a source's keys and types and records where each parameter came from.
fn check(
    user: &mut UserValues,
    doc: &Value,
    source_of: &dyn Fn(&str) -> Source,
) -> Result<Vec<(Vec<String>, Value)>, ValuesError> {
    let leaves = param_leaves(doc, source_of)?;
    for (path, value) in &leaves {
        check_type(path, value, source_of)?;
        let key = tree::join(path);
        user.sources.insert(key.clone(), source_of(&key));
        if let (Some(schema::Type::StrMap), Value::Object(m)) = (schema::param(&key).map(|p| p.ty), value) {
            for k in m.keys() {
                let entry = tree::join(&[path.clone(), vec![k.clone()]].concat());
                user.entry_sources.insert(entry.clone(), source_of(&entry));
            }
        }
    }
    Ok(leaves)
}

fn param_leaves(doc: &Value, source_of: &dyn Fn(&str) -> Source) -> Result<Vec<(Vec<String>, Value)>, ValuesError> {
    let mut leaves = Vec::new();
    collect_leaves(doc, &mut Vec::new(), &mut leaves, source_of)?;
    Ok(leaves)
}

fn check_type(path: &[String], value: &Value, source_of: &dyn Fn(&str) -> Source) -> Result<(), ValuesError> {
    let key = tree::join(path);
    let param = schema::param(&key).expect("collect_leaves only yields parameters");
    if param.ty.accepts(value) {
        return Ok(());
    }
    // In a map of strings, name the entry (`podAnnotations.version`), so its line is found too.
    if let (schema::Type::StrMap, Value::Object(m)) = (&param.ty, value) {
        if let Some((k, v)) = m.iter().find(|(_, v)| !schema::is_map_text(v)) {
            let mut entry = path.to_vec();
            entry.push(k.clone());
            let key = tree::join(&entry);
            let hint = if v.is_number() {
                "; quote it in a file, or use --set-string, for values that look like numbers"
            } else {
                ""
            };
            return Err(ValuesError::WrongType {
                expected: format!("a string (`{}` is a map of strings{hint})", tree::join(path)),
                got: describe_value(&key, v),
                origin: source_of(&key),
                key,
            });
        }
    }
    let mut expected = param.ty.name();
    if param.ty == schema::Type::Str && (value.is_number() || value.is_boolean()) {
        expected.push_str(" (quote it in a file, or use --set-string, for values that look like numbers)");
    }
    Err(ValuesError::WrongType {
        key: key.clone(),
        expected,
        got: describe_value(&key, value),
        origin: source_of(&key),
    })
}

/// After a `--set` edited a list in place, the whole parameter must still have its type.
fn check_types(
    tree_root: &Value,
    leaves: &[(Vec<String>, Value)],
    source_of: &dyn Fn(&str) -> Source,
) -> Result<(), ValuesError> {
    for (path, _) in leaves {
        if let Some(v) = tree::get(tree_root, path) {
            check_type(path, v, source_of)?;
        }
    }
    Ok(())
}

/// Splits a document into parameter-level leaves; unknown keys are errors with a suggestion.
fn collect_leaves(
    node: &Value,
    path: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, Value)>,
    source_of: &dyn Fn(&str) -> Source,
) -> Result<(), ValuesError> {
    let key = tree::join(path);
    if !path.is_empty() && schema::param(&key).is_some() {
        out.push((path.clone(), node.clone()));
        return Ok(());
    }
    if !path.is_empty() && !schema::is_group(&key) {
        // Compare the whole path the user wrote (`resources.limit.memory`), not just the
        // unknown part, so the suggestion keeps what they meant below it.
        let full = first_leaf_path(node, &key);
        let candidates = schema::params().iter().map(|p| p.path);
        return Err(ValuesError::UnknownKey {
            suggestion: crate::suggest::nearest(&full, candidates).map(str::to_string),
            key: key.clone(),
            origin: source_of(&key),
        });
    }
    match node {
        Value::Object(m) => {
            for (k, v) in m {
                path.push(k.clone());
                collect_leaves(v, path, out, source_of)?;
                path.pop();
            }
            Ok(())
        }
        Value::Null if !path.is_empty() => {
            // `resources: null` removes a whole group: every parameter below it.
            let prefix = format!("{key}.");
            for p in schema::params().iter().filter(|p| p.path.starts_with(&prefix)) {
                out.push((tree::split(p.path), Value::Null));
            }
            Ok(())
        }
        other => Err(ValuesError::WrongType {
            key: if key.is_empty() { "(top level)".into() } else { key.clone() },
            expected: "a map of keys".into(),
            got: describe_value(&key, other),
            origin: source_of(&key),
        }),
    }
}

fn first_leaf_path(node: &Value, prefix: &str) -> String {
    match node.as_object().and_then(|m| m.iter().next()) {
        Some((k, v)) => first_leaf_path(v, &format!("{prefix}.{}", k.replace('.', "\\."))),
        None => prefix.to_string(),
    }
}

/// A value for an error message: its type and, unless it is secret, the value itself.
fn describe_value(key: &str, v: &Value) -> String {
    let kind = match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    };
    if key.starts_with("secret.") {
        return format!("{kind} (value hidden)");
    }
    match v {
        Value::Array(_) | Value::Object(_) => kind.to_string(),
        other => format!("{kind} `{}`", other.to_string().trim_matches('"')),
    }
}

/// The line of a dotted key in a block-style YAML file (1-based), if it can be found.
pub fn locate_line(text: &str, path: &str) -> Option<usize> {
    let parts = tree::split(path);
    let mut want = 0;
    let mut min_indent = 0;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if want > 0 && indent < min_indent {
            return None;
        }
        let key = trimmed.split(':').next().unwrap_or("").trim().trim_matches(['"', '\'']);
        if key == parts[want] && indent >= min_indent && trimmed.contains(':') {
            want += 1;
            if want == parts.len() {
                return Some(i + 1);
            }
            min_indent = indent + 1;
        }
    }
    None
}

/// Defaults, then the preset, then the user's keys.
pub fn effective(preset: &Value, user: &UserValues) -> Value {
    effective_over(&defaults_with(preset), user)
}

/// What lies under the user's keys: the parameters' defaults with a preset's values over them
/// (Helm's chart values; a release records them, and `--reuse-values` renders over them again).
pub fn defaults_with(preset: &Value) -> Value {
    let mut v = schema::defaults();
    tree::merge(&mut v, preset);
    v
}

/// The user's keys over `defaults` (from [`defaults_with`]).
pub fn effective_over(defaults: &Value, user: &UserValues) -> Value {
    let mut v = defaults.clone();
    tree::merge(&mut v, &user.tree);
    v
}

/// Every parameter with its effective value and source, for `--show-values`.
pub fn provenance(preset_name: Option<&str>, preset: &Value, user: &UserValues) -> Vec<(String, Value, Source)> {
    let eff = effective(preset, user);
    schema::params()
        .iter()
        .map(|p| {
            let path = tree::split(p.path);
            let value = tree::get(&eff, &path).cloned().unwrap_or(Value::Null);
            let source = match user.source(p.path) {
                Some(s) => s.clone(),
                None if tree::get(preset, &path).is_some() => Source::Preset(preset_name.unwrap_or("").to_string()),
                None => Source::Default,
            };
            (p.path.to_string(), mask(p.path, value), source)
        })
        .collect()
}

/// Secret data is never shown: each value becomes `***`.
pub fn mask(path: &str, value: Value) -> Value {
    if path == "secret.data" || path == "secret.stringData" {
        if let Value::Object(m) = value {
            return Value::Object(m.into_iter().map(|(k, _)| (k, Value::String("***".into()))).collect());
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load_yaml(text: &str) -> Result<UserValues, ValuesError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v.yaml");
        std::fs::write(&p, text).unwrap();
        load(&Input { files: vec![p.display().to_string()], ..Default::default() }, &mut std::io::empty())
    }

    #[test]
    fn unknown_keys_suggest_the_nearest_parameter() {
        let err = load_yaml("resources:\n  limits:\n    memroy: 1Gi\n").unwrap_err().to_string();
        assert!(
            err.contains("resources.limits.memroy") && err.contains("did you mean resources.limits.memory"),
            "{err}"
        );
        assert!(err.contains("v.yaml:3"), "{err}");
    }

    #[test]
    fn wrong_types_name_key_expected_and_given() {
        let err = load_yaml("replicaCount: three\n").unwrap_err().to_string();
        assert!(
            err.contains("replicaCount") && err.contains("integer") && err.contains("three") && err.contains(":1"),
            "{err}"
        );
    }

    #[test]
    fn floats_in_string_maps_name_the_entry_and_its_line() {
        let err = load_yaml("podAnnotations:\n  a: \"1.10\"\n  port: 8080\n  version: 1.10\n").unwrap_err().to_string();
        assert!(err.contains("v.yaml:4") && err.contains("`podAnnotations.version`") && err.contains("quote"), "{err}");
        let err = load_yaml("secret:\n  stringData:\n    pw: 1.5\n").unwrap_err().to_string();
        assert!(err.contains("secret.stringData.pw") && !err.contains("1.5"), "{err}");
    }

    #[test]
    fn secret_values_are_never_echoed() {
        let err = load_yaml("secret:\n  data: [hunter2]\n").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        let src = Source::Flag { flag: "--set", arg: "secret.stringData.pw=hunter2".into() };
        assert!(!src.to_string().contains("hunter2"));
    }

    #[test]
    fn later_sources_win_and_sources_are_recorded() {
        let input =
            Input { set: vec!["replicaCount=5".into()], set_string: vec!["image.tag=5".into()], ..Default::default() };
        let u = load(&input, &mut std::io::empty()).unwrap();
        assert_eq!(u.tree, json!({"replicaCount": 5, "image": {"tag": "5"}}));
        assert!(matches!(u.source("replicaCount"), Some(Source::Flag { flag: "--set", .. })));
    }

    #[test]
    fn null_removes_a_default() {
        let u =
            load(&Input { set: vec!["resources.limits.cpu=null".into()], ..Default::default() }, &mut std::io::empty())
                .unwrap();
        let eff = effective(&json!({}), &u);
        assert!(eff["resources"]["limits"].get("cpu").is_none());
        assert_eq!(eff["resources"]["limits"]["memory"], "8Gi");
    }

    #[test]
    fn locates_nested_keys() {
        let text = "a: 1\nresources:\n  requests:\n    cpu: 1\n  limits:\n    cpu: 2\n";
        assert_eq!(locate_line(text, "resources.limits.cpu"), Some(6));
        assert_eq!(locate_line(text, "resources.requests.cpu"), Some(4));
    }
}
