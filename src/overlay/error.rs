//! Everything that can go wrong while building an overlay. Each variant names the file (and where
//! it helps, the entry, op index or resource) so the user can go straight to the mistake.

use crate::model::{DuplicateId, ResId};
use crate::yaml::YamlError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    #[error(transparent)]
    Yaml(#[from] YamlError),

    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },

    #[error("no kustomization.yaml, kustomization.yml or Kustomization in {dir}")]
    NoKustomization { dir: PathBuf },

    #[error("{file}: {source}")]
    Kustomization { file: PathBuf, source: crate::load::kustomization::KustomizationError },

    #[error("{file}: `{field}` entry `{entry}` does not exist (looked for {path})")]
    Missing { file: PathBuf, field: &'static str, entry: String, path: PathBuf },

    #[error("{file}: `{entry}` is outside the kustomization's directory {root}; files must stay inside it (directories such as ../base are allowed)")]
    OutsideRoot { file: PathBuf, entry: String, root: PathBuf },

    #[error("{file}: remote `{entry}` is not supported; vendor it into the repository")]
    Remote { file: PathBuf, entry: String },

    #[error("kustomization cycle: {}", chain.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" -> "))]
    Cycle { chain: Vec<PathBuf> },

    #[error("{file}: `{entry}` is a {found}, but `{field}` expects a {expected}")]
    WrongKind { file: PathBuf, field: &'static str, entry: String, found: &'static str, expected: &'static str },

    #[error(transparent)]
    Duplicate(#[from] DuplicateId),

    #[error("{file}: document {index} is not a Kubernetes resource: {reason}")]
    NotAResource { file: String, index: usize, reason: String },

    /// A value that must be text (ConfigMap data) but that YAML read as something else.
    #[error("{file}: {}{resource}: `{field}` must be a string, found {found}: the API takes only strings here; quote the value to keep the text as written (a bare 1.10 is read as the number 1.1)", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    NotAString { file: String, line: Option<usize>, resource: String, field: String, found: String },

    #[error("{patch}: {message}")]
    Patch { patch: String, message: String },

    #[error("{patch}: no resource matches {target}")]
    PatchTargetNotFound { patch: String, target: String },

    #[error("{patch}: operation {op_index} (`{op}` at {path}) failed on {resource}: {reason}")]
    Json6902 { patch: String, op_index: usize, op: String, path: String, resource: ResId, reason: String },

    /// Labels or annotations no API server takes.
    #[error("{origin}: {resource}: {message}")]
    Metadata { origin: String, resource: ResId, message: String },

    #[error("{patch}: strategic merge into {resource} failed: {source}")]
    StrategicMerge { patch: String, resource: ResId, source: super::strategic_merge::SmpError },

    #[error("{file}: {generator} `{name}`: {message}")]
    Generator { file: PathBuf, generator: &'static str, name: String, message: String },

    #[error("{file}: {message}")]
    Transformer { file: PathBuf, message: String },

    #[error("{file}: replacement {index}: {message}")]
    Replacement { file: PathBuf, index: usize, message: String },

    #[error("{referrer}: the reference `{name}` at {path} matches several renamed objects: {candidates}")]
    AmbiguousReference { referrer: ResId, path: String, name: String, candidates: String },
}

impl OverlayError {
    pub fn patch(patch: &str, message: impl Into<String>) -> OverlayError {
        OverlayError::Patch { patch: patch.to_string(), message: message.into() }
    }
}
