//! Loading: finding kustomization files, resolving the paths they name, and reading resource
//! files into [`Resource`]s. Enforces Kustomize's default load restrictor: a *file* must sit inside
//! the directory of the kustomization that names it; *directories* (bases) may be anywhere.

pub mod fs;
pub mod kustomization;

pub use fs::{DiskFs, Fs, Layered, MemFs};

use crate::model::{Resource, ResourceSet};
use crate::overlay::OverlayError;
use kustomization::Kustomization;
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
    let k =
        Kustomization::from_value(doc).map_err(|source| OverlayError::Kustomization { file: file.clone(), source })?;
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
    if is_remote(entry) {
        return Err(OverlayError::Remote { file: file.to_path_buf(), entry: entry.to_string() });
    }
    let path = fs::normalize(&dir.join(entry));
    if fs.is_dir(&path) {
        Ok(Entry::Dir(path))
    } else if fs.is_file(&path) {
        Ok(Entry::File(path))
    } else {
        Err(OverlayError::Missing { file: file.to_path_buf(), field, entry: entry.to_string(), path })
    }
}

fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("github.com/")
        || entry.starts_with("git@")
        || entry.starts_with("oci://")
}

/// Reads a file named by a kustomization, refusing anything outside `dir`'s tree.
pub fn read_restricted(
    fs: &dyn Fs,
    dir: &Path,
    file: &Path,
    field: &'static str,
    entry: &str,
) -> Result<(PathBuf, String), OverlayError> {
    if is_remote(entry) {
        return Err(OverlayError::Remote { file: file.to_path_buf(), entry: entry.to_string() });
    }
    let path = fs::normalize(&dir.join(entry));
    if !fs.is_file(&path) {
        return Err(OverlayError::Missing { file: file.to_path_buf(), field, entry: entry.to_string(), path });
    }
    let root = fs.canonical(dir);
    if !fs.canonical(&path).starts_with(&root) {
        return Err(OverlayError::OutsideRoot { file: file.to_path_buf(), entry: entry.to_string(), root });
    }
    let text = fs.read_to_string(&path).map_err(|source| OverlayError::Read { path: path.clone(), source })?;
    Ok((path, text))
}

/// Parses a resource file: every document must be a mapping with `kind` and `metadata.name`;
/// `kind: List` documents are flattened into their items, as kubectl does.
pub fn parse_resources(text: &str, path: &Path) -> Result<ResourceSet, OverlayError> {
    let origin = path.display().to_string();
    let mut set = ResourceSet::new();
    for (index, doc) in crate::yaml::parse_documents(text, &origin)?.into_iter().enumerate() {
        for item in flatten_list(doc) {
            check_resource(&item).map_err(|reason| OverlayError::NotAResource {
                file: origin.clone(),
                index: index + 1,
                reason,
            })?;
            set.push(Resource::new(item, origin.clone()))?;
        }
    }
    Ok(set)
}

fn flatten_list(doc: Value) -> Vec<Value> {
    let is_list = doc["kind"].as_str().is_some_and(|k| k == "List" || k.ends_with("List") && doc["items"].is_array());
    if is_list {
        if let Value::Object(mut m) = doc {
            if let Some(Value::Array(items)) = m.remove("items") {
                return items;
            }
        }
        return Vec::new();
    }
    vec![doc]
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
    fn files_outside_the_root_are_refused() {
        let mut fs = MemFs::new();
        fs.insert("secret.yaml", "x: 1");
        fs.insert("app/kustomization.yaml", "resources: [../secret.yaml]");
        let err =
            read_restricted(&fs, Path::new("app"), Path::new("app/kustomization.yaml"), "resources", "../secret.yaml")
                .unwrap_err();
        assert!(matches!(err, OverlayError::OutsideRoot { .. }), "{err}");
    }
}
