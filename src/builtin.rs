//! The base/ and overlays/ trees, compiled into the binary so `render --overlay training` works
//! from any directory, and `init` can write them out for a user to customise.

use crate::load::MemFs;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/builtin_files.rs"));

/// Where the built-in trees appear to live; a path no real checkout uses, so errors that name
/// a built-in file are recognisable.
pub const ROOT: &str = "/builtin";

/// The built-in files as an in-memory file system rooted at [`ROOT`].
pub fn fs() -> MemFs {
    let mut fs = MemFs::new();
    for (path, text) in BUILTIN_FILES {
        fs.insert(Path::new(ROOT).join(path), *text);
    }
    fs
}

/// Every built-in file: (path relative to the tree, text), sorted by path.
pub fn files() -> impl Iterator<Item = (&'static str, &'static str)> {
    BUILTIN_FILES.iter().copied()
}

/// The text of a built-in file (`overlays/batch/configmap.yaml`).
pub fn file(rel: &str) -> Option<&'static str> {
    BUILTIN_FILES.iter().find(|(p, _)| *p == rel).map(|(_, text)| *text)
}

/// The four workload presets.
pub fn variants() -> Vec<&'static str> {
    dirs_under("overlays/").into_iter().filter(|d| *d != "components").collect()
}

/// The optional pieces under overlays/components.
pub fn components() -> Vec<&'static str> {
    dirs_under("overlays/components/")
}

fn dirs_under(prefix: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = BUILTIN_FILES
        .iter()
        .filter_map(|(p, _)| p.strip_prefix(prefix))
        .filter_map(|rest| rest.split_once('/').map(|(d, _)| d))
        .collect();
    out.dedup();
    out
}

/// The directory of a built-in variant.
pub fn variant_dir(name: &str) -> PathBuf {
    Path::new(ROOT).join("overlays").join(name)
}

/// The first comment line of a kustomization: its one-line description.
pub fn describe(dir: &str) -> String {
    let path = format!("{dir}/kustomization.yaml");
    BUILTIN_FILES
        .iter()
        .find(|(p, _)| *p == path)
        .and_then(|(_, text)| text.lines().find_map(|l| l.strip_prefix('#').map(|s| s.trim().to_string())))
        .unwrap_or_default()
}

/// Writes base/ and overlays/ below `dir`; refuses to overwrite existing files.
pub fn write_to(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (rel, _) in BUILTIN_FILES {
        let path = dir.join(rel);
        if path.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} already exists", path.display()),
            ));
        }
        written.push(path);
    }
    for ((_, text), path) in BUILTIN_FILES.iter().zip(&written) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_four_variants_and_the_components() {
        assert_eq!(variants(), ["batch", "cronjob", "inference", "training"]);
        for c in [
            "autoscaling",
            "gpu",
            "ingress",
            "job",
            "cronjob",
            "persistence",
            "config",
            "secret",
            "pod-disruption-budget",
            "network-policy",
        ] {
            assert!(components().contains(&c), "missing component {c}");
        }
    }

    #[test]
    fn every_variant_has_a_description() {
        for v in variants() {
            assert!(!describe(&format!("overlays/{v}")).is_empty(), "{v}");
        }
    }
}
