//! Loading: finding kustomization files, resolving the paths they name, and reading resource
//! files into [`Resource`]s. Enforces Kustomize's default load restrictor: a *file* must sit inside
//! the directory of the kustomization that names it; *directories* (bases) may be anywhere.

mod blame;
pub mod fs;
pub mod kustomization;
pub mod locate;

pub use fs::{DiskFs, Fs, Layered, MemFs};

use crate::model::{Resource, ResourceSet};
use crate::overlay::OverlayError;
use kustomization::Kustomization;
use locate::Seg;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The names Kustomize accepts for the kustomization file, in its order of preference.
pub const KUSTOMIZATION_FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Finds and parses the kustomization file of `dir`.
pub fn read_kustomization(fs: &dyn Fs, dir: &Path) -> Result<(PathBuf, Kustomization), OverlayError> {
    let file = KUSTOMIZATION_FILES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| fs.is_file(p))
        .ok_or_else(|| OverlayError::NoKustomization { dir: dir.to_path_buf() })?;
    let text = fs.read_to_string(&file).map_err(|source| OverlayError::Read { path: file.clone(), source })?;
    let doc = crate::yaml::parse_value(&text, &file.display().to_string())?;
    let k = Kustomization::from_value(doc)
        .map_err(|source| OverlayError::Kustomization { file: file.clone(), source: source.locate(&text) })?;
    Ok((file, k))
}

/// What a `resources` or `components` entry names.
pub enum Entry {
    Dir(PathBuf),
    File(PathBuf),
}

/// Resolves an entry relative to `dir`; remote URLs and missing paths are errors naming `file`.
pub fn resolve_entry(
    fs: &dyn Fs,
    dir: &Path,
    file: &Path,
    field: &'static str,
    entry: &str,
) -> Result<Entry, OverlayError> {
    let (path, stat) = locate(fs, dir, file, field, entry)?;
    Ok(match stat.kind {
        fs::Kind::Dir => Entry::Dir(path),
        _ => Entry::File(path),
    })
}

/// The path an entry names under `dir`, and what is there (a file or a directory): one file
/// system call. Remote URLs and missing paths are errors naming `file`.
pub fn locate(
    fs: &dyn Fs,
    dir: &Path,
    file: &Path,
    field: &'static str,
    entry: &str,
) -> Result<(PathBuf, fs::Stat), OverlayError> {
    if is_remote(entry) {
        return Err(OverlayError::Remote { file: file.to_path_buf(), entry: entry.to_string() });
    }
    let path = fs::normalize(&dir.join(entry));
    let stat = fs.stat(&path);
    match stat.kind {
        fs::Kind::Missing => {
            Err(OverlayError::Missing { file: file.to_path_buf(), field, entry: entry.to_string(), path })
        }
        _ => Ok((path, stat)),
    }
}

fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("github.com/")
        || entry.starts_with("git@")
        || entry.starts_with("oci://")
}

/// Reads a file named by a kustomization, refusing anything outside `dir`'s tree; `root` is
/// `fs.canonical(dir)`, worked out once per kustomization.
pub fn read_restricted(
    fs: &dyn Fs,
    (dir, root): (&Path, &Path),
    file: &Path,
    field: &'static str,
    entry: &str,
) -> Result<(PathBuf, String), OverlayError> {
    let (path, stat) = locate(fs, dir, file, field, entry)?;
    if stat.kind != fs::Kind::File {
        return Err(OverlayError::Missing { file: file.to_path_buf(), field, entry: entry.to_string(), path });
    }
    let text = read_located(fs, (dir, root), file, entry, (&path, stat))?;
    Ok((path, text))
}

/// [`read_restricted`] of a file [`locate`] found.
pub fn read_located(
    fs: &dyn Fs,
    (dir, root): (&Path, &Path),
    file: &Path,
    entry: &str,
    (path, stat): (&Path, fs::Stat),
) -> Result<String, OverlayError> {
    let resolved = match below_without_symlinks(fs, dir, path, stat) {
        Some(rel) => root.join(rel),
        None => fs.canonical(path),
    };
    if !resolved.starts_with(root) {
        return Err(OverlayError::OutsideRoot {
            file: file.to_path_buf(),
            entry: entry.to_string(),
            root: root.to_path_buf(),
        });
    }
    fs.read_stated(path, stat).map_err(|source| OverlayError::Read { path: path.to_path_buf(), source })
}

/// `path` relative to `dir` when no step between them is a symlink, so that it lies where `root`
/// (the canonical `dir`) says: the lstat [`locate`] made, plus one per directory in between,
/// instead of resolving every component of the path again (a system call each, for every file).
fn below_without_symlinks<'p>(fs: &dyn Fs, dir: &Path, path: &'p Path, stat: fs::Stat) -> Option<&'p Path> {
    let rel = path.strip_prefix(fs::normalize(dir)).ok()?;
    if stat.symlink || rel.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
        return None;
    }
    let mut between = path.ancestors().skip(1).take(rel.components().count().saturating_sub(1));
    match between.any(|d| fs.is_symlink(d)) {
        true => None,
        false => Some(rel),
    }
}

/// Parses a resource file: every document must be a mapping with `kind` and `metadata.name`;
/// `kind: List` documents are flattened into their items, as kubectl does.
pub fn parse_resources(text: &str, path: &Path) -> Result<ResourceSet, OverlayError> {
    let origin = path.display().to_string();
    let mut set = ResourceSet::new();
    for (index, doc) in crate::yaml::parse_documents(text, &origin)?.into_iter().enumerate() {
        let (items, listed) = flatten_list(doc);
        for (item_index, item) in items.into_iter().enumerate() {
            check_resource(&item).map_err(|reason| OverlayError::NotAResource {
                file: origin.clone(),
                index: index + 1,
                reason,
            })?;
            if let Err((mut field, found)) = check_string_data(&item) {
                let mut at = if listed { vec![Seg::Key("items".into()), Seg::Index(item_index)] } else { Vec::new() };
                at.extend(field.iter().cloned());
                if listed {
                    field = at.clone();
                }
                return Err(OverlayError::NotAString {
                    file: origin,
                    line: locate::line_of(text, index, &at),
                    resource: format!(
                        "{}/{}",
                        item["kind"].as_str().unwrap_or(""),
                        item["metadata"]["name"].as_str().unwrap_or("")
                    ),
                    field: locate::Display(&field).to_string(),
                    found,
                });
            }
            set.push(Resource::new(item, origin.clone()))?;
        }
    }
    Ok(set)
}

/// The items of a `kind: List` document (and `true`), or the document itself.
fn flatten_list(doc: Value) -> (Vec<Value>, bool) {
    let is_list = doc["kind"].as_str().is_some_and(|k| k == "List" || k.ends_with("List") && doc["items"].is_array());
    if is_list {
        if let Value::Object(mut m) = doc {
            if let Some(Value::Array(items)) = m.remove("items") {
                return (items, true);
            }
        }
        return (Vec::new(), true);
    }
    (vec![doc], false)
}

/// ConfigMap and Secret data are maps of strings. A bare `ver: 1.10` has become the number 1.1
/// by now: printing it would change what was written, and the API refuses a number there at
/// apply time anyway (Kustomize prints it), so it is refused here, naming the field.
fn check_string_data(doc: &Value) -> Result<(), (Vec<Seg>, String)> {
    let (fields, secret): (&[&str], bool) = match (doc["apiVersion"].as_str(), doc["kind"].as_str()) {
        (Some("v1"), Some("ConfigMap")) => (&["data", "binaryData"], false),
        (Some("v1"), Some("Secret")) => (&["data", "stringData"], true),
        _ => return Ok(()),
    };
    for field in fields {
        let Some(Value::Object(m)) = doc.get(*field) else { continue };
        for (k, v) in m {
            let found = match v {
                Value::String(_) | Value::Null => continue,
                Value::Number(_) if secret => "a number".to_string(),
                Value::Bool(_) if secret => "a boolean".to_string(),
                Value::Number(n) => format!("the number {n}"),
                Value::Bool(b) => format!("the boolean {b}"),
                Value::Array(_) => "a list".to_string(),
                Value::Object(_) => "a map".to_string(),
            };
            return Err((vec![Seg::Key(field.to_string()), Seg::Key(k.clone())], found));
        }
    }
    Ok(())
}

/// Why a document cannot be a resource, if it cannot.
pub fn check_resource(doc: &Value) -> Result<(), String> {
    let Value::Object(map) = doc else {
        return Err("it is not a mapping".into());
    };
    match map.get("kind") {
        Some(Value::String(k)) if !k.is_empty() => {}
        _ => return Err("missing `kind`".into()),
    }
    match map.get("apiVersion") {
        Some(Value::String(v)) if !v.is_empty() => {}
        _ => return Err("missing `apiVersion`".into()),
    }
    match doc["metadata"]["name"].as_str() {
        Some(n) if !n.is_empty() => Ok(()),
        _ => Err("missing `metadata.name`".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_flattened() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n";
        assert_eq!(parse_resources(text, Path::new("l.yaml")).unwrap().len(), 2);
    }

    #[test]
    fn documents_without_names_are_refused_with_their_index() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\n";
        let err = parse_resources(text, Path::new("cm.yaml")).unwrap_err().to_string();
        assert!(err.contains("cm.yaml") && err.contains("document 2") && err.contains("metadata.name"), "{err}");
    }

    #[test]
    fn config_map_data_that_is_not_text_is_refused_with_its_line() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  ok: \"1.10\"\n  ver: 1.10\n";
        let err = parse_resources(text, Path::new("cm.yaml")).unwrap_err().to_string();
        assert!(
            err.starts_with("cm.yaml: line 11: ConfigMap/x: `data.ver` must be a string, found the number 1.1"),
            "{err}"
        );
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s}\n  stringData:\n    on: true\n";
        let err = parse_resources(text, Path::new("l.yaml")).unwrap_err().to_string();
        assert!(err.contains("line 8: Secret/s: `items[0].stringData.on`"), "{err}");
        assert!(!err.contains("true"), "Secret values are never printed: {err}");
    }

    #[test]
    fn files_outside_the_root_are_refused() {
        let mut fs = MemFs::new();
        fs.insert("secret.yaml", "x: 1");
        fs.insert("app/kustomization.yaml", "resources: [../secret.yaml]");
        let err = read_restricted(
            &fs,
            (Path::new("app"), Path::new("app")),
            Path::new("app/kustomization.yaml"),
            "resources",
            "../secret.yaml",
        )
        .unwrap_err();
        assert!(matches!(err, OverlayError::OutsideRoot { .. }), "{err}");
    }
}
