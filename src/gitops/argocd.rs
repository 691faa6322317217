//! Argo CD's Config Management Plugin (`packaging/argocd/plugin.yaml`): the environment Argo CD
//! gives a plugin's generate command, turned into what `render` takes.
//!
//! Argo CD runs the command in the Application's directory with no arguments of its own. The
//! release name and namespace come from `ARGOCD_APP_NAME` and `ARGOCD_APP_NAMESPACE`; the
//! parameters from the JSON in `ARGOCD_APP_PARAMETERS` (Argo CD always sets it next to the
//! `PARAM_<NAME>` variables, and only the JSON keeps a map key such as `image.tag` exact), else
//! from `PARAM_<NAME>`, `PARAM_<NAME>_<i>` and `PARAM_<NAME>_<KEY>`; the Application's
//! `plugin.env` as `ARGOCD_ENV_<NAME>`. The mapping lives here rather than in a shell script:
//! no quoting hazards, and every bad input is named.

use crate::values::Input;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// How a parameter is given in the Application (`string`, `array` or `map`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    String,
    Array,
    Map,
}

impl Collection {
    fn phrase(self) -> &'static str {
        match self {
            Collection::String => "a string",
            Collection::Array => "an array",
            Collection::Map => "a map",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Collection::String => "string",
            Collection::Array => "array",
            Collection::Map => "map",
        }
    }
}

/// One parameter of the plugin; plugin.yaml's `parameters.static` announces the same list.
#[derive(Debug, Clone, Copy)]
pub struct Parameter {
    pub name: &'static str,
    pub collection: Collection,
}

/// Every parameter the plugin takes. The Application env spells each the way Argo CD spells the
/// parameter's variable (`values-files` is `ARGOCD_ENV_VALUES_FILES`): arrays comma-separated,
/// maps in `--set` syntax.
pub const PARAMETERS: &[Parameter] = &[
    Parameter { name: "overlay", collection: Collection::String },
    Parameter { name: "release-name", collection: Collection::String },
    Parameter { name: "values-files", collection: Collection::Array },
    Parameter { name: "set", collection: Collection::Map },
    Parameter { name: "set-string", collection: Collection::Map },
];

#[derive(Debug, thiserror::Error)]
pub enum ArgoCdError {
    #[error("ARGOCD_APP_PARAMETERS is not the JSON list of parameters Argo CD writes: {reason}")]
    BadParametersJson { reason: String },
    #[error("unknown plugin parameter `{name}`{}; this plugin takes {}", suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(), names())]
    UnknownParameter { name: String, suggestion: Option<&'static str> },
    #[error("{origin}: unknown variable{}; the plugin reads {}", suggestion.as_ref().map(|s| format!(" (did you mean `ARGOCD_ENV_{s}`?)")).unwrap_or_default(), env_names())]
    UnknownEnv { origin: String, suggestion: Option<String> },
    #[error("plugin parameter `{name}` must be given as {} (`{}:` in the Application), not as {got}", expected.phrase(), expected.name())]
    WrongCollection { name: &'static str, expected: Collection, got: &'static str },
    #[error("plugin parameter `{name}` is given twice, as a parameter and as the Application env ARGOCD_ENV_{env}; keep one")]
    Twice { name: &'static str, env: String },
    #[error("{origin}: {reason}")]
    Invalid { origin: String, reason: String },
    #[error("{what} `{path}` is outside the repository Argo CD checked out: refused, so that an Application cannot read the plugin container's own files; give a path inside the repository (relative to the Application's path, or absolute from the repository's root)")]
    OutsideRepository { what: &'static str, path: String },
    #[error("no release name: ARGOCD_APP_NAME is not set (render --argocd runs as Argo CD's plugin, which sets it); set the plugin parameter `release-name`")]
    NoReleaseName,
}

fn names() -> String {
    PARAMETERS.iter().map(|p| format!("`{}` ({})", p.name, p.collection.name())).collect::<Vec<_>>().join(", ")
}

fn env_names() -> String {
    PARAMETERS.iter().map(|p| format!("ARGOCD_ENV_{}", escaped(p.name))).collect::<Vec<_>>().join(", ")
}

/// What to render, as Argo CD asked for it.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub release: String,
    pub namespace: Option<String>,
    pub overlay: Option<String>,
    pub values: Input,
}

/// One parameter's value, from wherever it came.
#[derive(Debug, Clone, PartialEq)]
enum Given {
    String(String),
    Array(Vec<String>),
    /// Key and value pairs, in order; for env, one `--set`-syntax string with an empty key.
    Map(Vec<(String, String)>),
}

/// Argo CD's escaping of a parameter name or map key into a variable name: upper case, and
/// anything but `A-Z0-9_` becomes `_`.
pub fn escaped(name: &str) -> String {
    name.to_uppercase().chars().map(|c| if c.is_ascii_uppercase() || c.is_ascii_digit() { c } else { '_' }).collect()
}

/// Reads the inputs from the environment `env`, for a command running in `cwd` (the
/// Application's directory inside the checked-out repository).
pub fn inputs(env: &BTreeMap<String, String>, cwd: &Path) -> Result<Inputs, ArgoCdError> {
    let from_env = application_env(env)?;
    let from_params = match env.get("ARGOCD_APP_PARAMETERS") {
        Some(json) => parameters_json(json)?,
        None => parameter_vars(env)?,
    };
    let mut given: BTreeMap<&'static str, Given> = BTreeMap::new();
    // Argo CD passes no variable for an empty value; an empty string in the JSON is the same.
    let present = |(_, v): &(&'static str, Given)| *v != Given::String(String::new());
    for (name, value) in from_params.into_iter().filter(present) {
        given.insert(name, value);
    }
    for (name, value) in from_env.into_iter().filter(present) {
        if given.contains_key(name) {
            return Err(ArgoCdError::Twice { name, env: escaped(name) });
        }
        given.insert(name, value);
    }
    let root = repository_root(cwd, env.get("ARGOCD_APP_SOURCE_PATH").map(String::as_str));
    let release = match given.remove("release-name") {
        Some(Given::String(s)) => s,
        _ => application_name(env)?,
    };
    let namespace = env.get("ARGOCD_APP_NAMESPACE").filter(|n| !n.is_empty()).cloned();
    let mut inputs = Inputs { release, namespace, ..Inputs::default() };
    if let Some(Given::String(overlay)) = given.remove("overlay") {
        inputs.overlay = Some(overlay_path(&overlay, cwd, &root)?);
    }
    if let Some(Given::Array(files)) = given.remove("values-files") {
        for f in files {
            inputs.values.files.push(inside_repository("values file", &f, cwd, &root)?);
        }
    }
    for (name, target) in [("set", &mut inputs.values.set), ("set-string", &mut inputs.values.set_string)] {
        if let Some(Given::Map(pairs)) = given.remove(name) {
            target.extend(pairs.into_iter().map(|(k, v)| set_arg(&k, &v)));
        }
    }
    Ok(inputs)
}

/// The release: `ARGOCD_APP_NAME`, without the `<namespace>_` Argo CD puts before the name of
/// an Application outside its own namespace (`_` cannot be part of an Application's name).
fn application_name(env: &BTreeMap<String, String>) -> Result<String, ArgoCdError> {
    let full = env.get("ARGOCD_APP_NAME").filter(|n| !n.is_empty()).ok_or(ArgoCdError::NoReleaseName)?;
    let name = full.rsplit('_').next().unwrap_or(full);
    crate::render::check_release_name(name).map_err(|_| ArgoCdError::Invalid {
        origin: format!("ARGOCD_APP_NAME `{full}`"),
        reason: format!("`{name}` cannot name a release (lowercase letters, digits and '-', starting with a letter, at most 53 characters); set the plugin parameter `release-name`"),
    })?;
    Ok(name.to_string())
}

/// One `--set` argument for a map entry: the key in Helm's syntax as given, the value one value
/// (a comma in it is not a separator), except `{a,b}`, Helm's list syntax.
fn set_arg(key: &str, value: &str) -> String {
    if key.is_empty() {
        return value.to_string();
    }
    if value.starts_with('{') && value.ends_with('}') {
        return format!("{key}={value}");
    }
    format!("{key}={}", value.replace('\\', "\\\\").replace(',', "\\,"))
}

fn parameter(name: &str) -> Result<&'static Parameter, ArgoCdError> {
    PARAMETERS.iter().find(|p| p.name == name).ok_or_else(|| ArgoCdError::UnknownParameter {
        name: name.to_string(),
        suggestion: crate::suggest::nearest(name, PARAMETERS.iter().map(|p| p.name)),
    })
}

/// The Application's `plugin.env`, as Argo CD passes it (`ARGOCD_ENV_<NAME>`).
fn application_env(env: &BTreeMap<String, String>) -> Result<Vec<(&'static str, Given)>, ArgoCdError> {
    let mut out = Vec::new();
    for (var, value) in env.iter().filter_map(|(k, v)| k.strip_prefix("ARGOCD_ENV_").map(|n| (n, v))) {
        let Some(p) = PARAMETERS.iter().find(|p| escaped(p.name) == var) else {
            let names: Vec<String> = PARAMETERS.iter().map(|p| escaped(p.name)).collect();
            let suggestion = crate::suggest::nearest(var, names.iter().map(String::as_str)).map(str::to_string);
            return Err(ArgoCdError::UnknownEnv { origin: format!("Application env ARGOCD_ENV_{var}"), suggestion });
        };
        let list = || value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        let given = match p.collection {
            Collection::String => Given::String(value.clone()),
            Collection::Array => Given::Array(list()),
            Collection::Map => Given::Map(vec![(String::new(), value.clone())]),
        };
        out.push((p.name, given));
    }
    Ok(out)
}

/// `ARGOCD_APP_PARAMETERS`: `[{"name": ..., "string"|"array"|"map": ...}]` (or `null`).
fn parameters_json(json: &str) -> Result<Vec<(&'static str, Given)>, ArgoCdError> {
    let bad = |reason: String| ArgoCdError::BadParametersJson { reason };
    let doc: Value = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
    let items = match doc {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => return Err(bad(format!("expected a list, got {}", kind_of(&other)))),
    };
    let mut out: Vec<(&'static str, Given)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let name = item["name"].as_str().ok_or_else(|| bad(format!("item {i} has no `name`")))?;
        let p = parameter(name)?;
        let strings = |v: &Value, what: &str| -> Result<Vec<String>, ArgoCdError> {
            let list = v.as_array().ok_or_else(|| bad(format!("`{name}`: `{what}` is not a list")))?;
            list.iter()
                .map(|s| {
                    s.as_str().map(str::to_string).ok_or_else(|| bad(format!("`{name}`: `{what}` holds a non-string")))
                })
                .collect()
        };
        let given = if let Some(s) = item.get("string") {
            Given::String(s.as_str().ok_or_else(|| bad(format!("`{name}`: `string` is not a string")))?.to_string())
        } else if let Some(a) = item.get("array") {
            Given::Array(strings(a, "array")?)
        } else if let Some(Value::Object(m)) = item.get("map") {
            let pairs = m.iter().map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(bad(format!("`{name}`: map value of `{k}` is not a string"))),
            });
            Given::Map(pairs.collect::<Result<_, _>>()?)
        } else {
            return Err(bad(format!("`{name}` has no `string`, `array` or `map`")));
        };
        out.push((p.name, check_collection(p, given)?));
    }
    Ok(out)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "an object",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        _ => "something else",
    }
}

fn check_collection(p: &'static Parameter, given: Given) -> Result<Given, ArgoCdError> {
    let got = match (&given, p.collection) {
        (Given::String(_), Collection::String)
        | (Given::Array(_), Collection::Array)
        | (Given::Map(_), Collection::Map) => return Ok(given),
        (Given::String(_), _) => "a string",
        (Given::Array(_), _) => "an array",
        (Given::Map(_), _) => "a map",
    };
    Err(ArgoCdError::WrongCollection { name: p.name, expected: p.collection, got })
}

/// `PARAM_<NAME>` variables, for a runner that sets them without `ARGOCD_APP_PARAMETERS`. Map
/// keys come back upper-cased with `.` turned into `_`; each must name one values key.
fn parameter_vars(env: &BTreeMap<String, String>) -> Result<Vec<(&'static str, Given)>, ArgoCdError> {
    // Longest names first: `SET_STRING_X` is `set-string`'s key X, not `set`'s STRING_X.
    let mut params: Vec<(&'static Parameter, String)> = PARAMETERS.iter().map(|p| (p, escaped(p.name))).collect();
    params.sort_by_key(|(_, e)| std::cmp::Reverse(e.len()));
    let mut arrays: BTreeMap<&'static str, BTreeMap<usize, String>> = BTreeMap::new();
    let mut out: Vec<(&'static str, Given)> = Vec::new();
    for (var, value) in env.iter().filter(|(k, _)| k.starts_with("PARAM_")) {
        let rest = &var["PARAM_".len()..];
        let invalid = |reason: String| ArgoCdError::Invalid { origin: var.clone(), reason };
        let hit = params.iter().find_map(|(p, e)| match rest.strip_prefix(e.as_str()) {
            Some("") => Some((*p, None)),
            Some(tail) => tail.strip_prefix('_').map(|t| (*p, Some(t))),
            None => None,
        });
        let Some((p, tail)) = hit else {
            let names: Vec<&str> = params.iter().map(|(_, e)| e.as_str()).collect();
            let near = crate::suggest::nearest(rest, names).map(|n| format!(" (did you mean PARAM_{n}?)"));
            return Err(invalid(format!("not a parameter of this plugin{}", near.unwrap_or_default())));
        };
        match (p.collection, tail) {
            (Collection::String, None) => out.push((p.name, Given::String(value.clone()))),
            (Collection::Array, Some(i)) => {
                let i: usize = i.parse().map_err(|_| invalid(format!("`{i}` is not an index of `{}`", p.name)))?;
                arrays.entry(p.name).or_default().insert(i, value.clone());
            }
            (Collection::Map, Some(key)) => {
                let key = values_key(key).map_err(invalid)?;
                match out.iter_mut().find(|(n, _)| *n == p.name) {
                    Some((_, Given::Map(pairs))) => pairs.push((key, value.clone())),
                    _ => out.push((p.name, Given::Map(vec![(key, value.clone())]))),
                }
            }
            (c, _) => return Err(invalid(format!("`{}` is {}", p.name, c.phrase()))),
        }
    }
    out.extend(arrays.into_iter().map(|(name, items)| (name, Given::Array(items.into_values().collect()))));
    Ok(out)
}

/// The values key an escaped map key stands for, if exactly one does.
fn values_key(escaped_key: &str) -> Result<String, String> {
    let hits: Vec<&str> =
        crate::values::schema::params().iter().map(|p| p.path).filter(|p| escaped(p) == escaped_key).collect();
    match hits.as_slice() {
        [one] => Ok(one.to_string()),
        _ => Err(format!(
            "cannot tell which values key `{escaped_key}` stands for (Argo CD upper-cases map keys and turns `.` into `_`{}); ARGOCD_APP_PARAMETERS, which Argo CD sets beside these variables, has the exact key",
            if hits.is_empty() { String::new() } else { format!(": {} fit", hits.join(", ")) }
        )),
    }
}

/// The checked-out repository's root: `cwd` less the Application's path
/// (`ARGOCD_APP_SOURCE_PATH`), or `cwd` itself when it does not end with it.
fn repository_root(cwd: &Path, source_path: Option<&str>) -> PathBuf {
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let parts: Vec<Component> =
        Path::new(source_path.unwrap_or("")).components().filter(|c| matches!(c, Component::Normal(_))).collect();
    let mut root = cwd.clone();
    for part in parts.iter().rev() {
        if root.file_name() != Some(part.as_os_str()) {
            return cwd;
        }
        root.pop();
    }
    root
}

/// `--overlay`: a built-in name as it is, a directory only inside the repository.
fn overlay_path(overlay: &str, cwd: &Path, root: &Path) -> Result<String, ArgoCdError> {
    let looks_like_path = overlay.contains('/') || overlay.starts_with('.') || cwd.join(overlay).is_dir();
    match looks_like_path {
        true => inside_repository("overlay", overlay, cwd, root),
        false => Ok(overlay.to_string()),
    }
}

/// A path relative to the Application's directory (absolute: from the repository's root, as
/// Argo CD reads Helm values files), refused when it leads outside the repository, through
/// `..` or a symbolic link. A path that does not exist is passed on for its own error.
fn inside_repository(what: &'static str, path: &str, cwd: &Path, root: &Path) -> Result<String, ArgoCdError> {
    let joined = match Path::new(path).strip_prefix("/") {
        Ok(from_root) => root.join(from_root),
        Err(_) => cwd.join(path),
    };
    let outside = || ArgoCdError::OutsideRepository { what, path: path.to_string() };
    // Relative paths stay as given (messages then name what the user wrote).
    let shown = if Path::new(path).is_absolute() { joined.display().to_string() } else { path.to_string() };
    match joined.canonicalize() {
        Ok(real) if real.starts_with(root) => Ok(shown),
        Ok(_) => Err(outside()),
        // Not there: nothing can be read through it, but `..` must not lead out either.
        Err(_) if lexically_inside(&joined, root) => Ok(shown),
        Err(_) => Err(outside()),
    }
}

fn lexically_inside(path: &Path, root: &Path) -> bool {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.starts_with(root)
}

#[cfg(test)]
#[path = "argocd_tests.rs"]
mod tests;
