//! The render stage: picks the overlay, stacks the generated layers on it (release name,
//! namespace; values come in as more layers), and builds the result with the overlay engine.
//!
//! Every generated layer is an ordinary kustomization held in memory, so there is one engine and
//! one set of rules, whether a change comes from a file the user wrote or from a flag.

use crate::builtin;
use crate::load::{DiskFs, Fs, Layered, MemFs};
use crate::model::ResourceSet;
use crate::overlay::{self, OverlayError};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Where generated layers live in the in-memory file system.
const GENERATED: &str = "/generated";

/// The chart's name: resources of the base are called this before the release layer.
pub const CHART_NAME: &str = "dimtensor";

/// Kinds the release layer renames to the chart's fullname (a regular expression).
const RENAMED_KINDS: &str = "ServiceAccount|Service|Deployment|Job|CronJob|HorizontalPodAutoscaler|Ingress|PersistentVolumeClaim|PodDisruptionBudget|NetworkPolicy";

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("unknown overlay `{name}`; the built-in overlays are {}, or give a directory such as ./my-overlay", valid.join(", "))]
    UnknownOverlay { name: String, valid: Vec<&'static str> },
    #[error("invalid release name `{0}`: it must be lowercase letters, digits and '-', start with a letter and be at most 53 characters")]
    InvalidReleaseName(String),
    #[error(transparent)]
    Overlay(#[from] OverlayError),
}

/// What to render.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// A built-in variant name or a kustomization directory; `None` means the base.
    pub overlay: Option<String>,
    /// The release name; `None` renders the overlay exactly as Kustomize would.
    pub release: Option<String>,
    /// `-n`: the namespace every namespaced resource goes into.
    pub namespace: Option<String>,
}

/// Where the overlay lives.
pub enum Source {
    Builtin(PathBuf),
    Dir(PathBuf),
}

/// Resolves `--overlay`: a path (contains `/` or `.`, or exists on disk) or a built-in name.
pub fn resolve_overlay(overlay: Option<&str>) -> Result<Source, RenderError> {
    let Some(name) = overlay else {
        return Ok(Source::Builtin(Path::new(builtin::ROOT).join("base")));
    };
    let looks_like_path = name.contains('/') || name.starts_with('.') || Path::new(name).is_dir();
    if looks_like_path {
        return Ok(Source::Dir(PathBuf::from(name)));
    }
    if builtin::variants().contains(&name) {
        return Ok(Source::Builtin(builtin::variant_dir(name)));
    }
    Err(RenderError::UnknownOverlay { name: name.to_string(), valid: builtin::variants() })
}

/// The chart's `fullname`: the release name if it already contains the chart name, else
/// `<release>-dimtensor`, cut to 63 characters.
pub fn fullname(release: &str) -> String {
    let full = if release.contains(CHART_NAME) { release.to_string() } else { format!("{release}-{CHART_NAME}") };
    full.chars().take(63).collect::<String>().trim_end_matches('-').to_string()
}

fn valid_release_name(name: &str) -> bool {
    let re = regex::Regex::new(r"^[a-z]([-a-z0-9]*[a-z0-9])?$").expect("static regex");
    name.len() <= 53 && re.is_match(name)
}

/// Renders a request into resources.
pub fn render(req: &Request) -> Result<ResourceSet, RenderError> {
    let source = resolve_overlay(req.overlay.as_deref())?;
    let mut mem: MemFs = builtin::fs();
    let mut dir = match &source {
        Source::Builtin(d) => d.clone(),
        Source::Dir(d) => std::path::absolute(d).unwrap_or_else(|_| d.clone()),
    };
    if let Some(release) = req.release.as_deref() {
        if !valid_release_name(release) {
            return Err(RenderError::InvalidReleaseName(release.to_string()));
        }
        if let Some(layer) = release_layer(&dir, release) {
            dir = add_layer(&mut mem, "release", &layer);
        }
    }
    if let Some(ns) = req.namespace.as_deref().filter(|n| !n.is_empty()) {
        dir = add_layer(&mut mem, "namespace", &json!({"resources": [dir.display().to_string()], "namespace": ns}));
    }
    let fs = Layered { top: mem, under: &DiskFs };
    Ok(overlay::build(&fs as &dyn Fs, &dir)?)
}

fn add_layer(mem: &mut MemFs, name: &str, kustomization: &Value) -> PathBuf {
    let dir = Path::new(GENERATED).join(name);
    mem.insert(dir.join("kustomization.yaml"), crate::yaml::to_yaml(kustomization));
    dir
}

/// Names resources the way the chart's fullname does and sets the instance label, so two
/// releases in one namespace never collide. `None` when the release is the chart's own name.
fn release_layer(below: &Path, release: &str) -> Option<Value> {
    let full = fullname(release);
    if release == CHART_NAME && full == CHART_NAME {
        return None;
    }
    let mut k = json!({
        "resources": [below.display().to_string()],
        "labels": [{"pairs": {"app.kubernetes.io/instance": release}, "includeSelectors": true}],
    });
    if full != CHART_NAME {
        // ConfigMap and Secret keep the chart's fixed name: users' manifests refer to `dimtensor`.
        k["patches"] = json!([{
            "target": {"name": CHART_NAME, "kind": RENAMED_KINDS},
            "patch": crate::yaml::to_yaml(&json!([{"op": "replace", "path": "/metadata/name", "value": full}])),
        }]);
    }
    Some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fullname_follows_the_chart() {
        assert_eq!(fullname("dimtensor"), "dimtensor");
        assert_eq!(fullname("prod"), "prod-dimtensor");
        assert_eq!(fullname("dimtensor-training"), "dimtensor-training");
    }

    #[test]
    fn unknown_overlays_list_the_valid_ones() {
        let err = resolve_overlay(Some("trainig")).err().unwrap().to_string();
        assert!(err.contains("training") && err.contains("inference"), "{err}");
    }

    #[test]
    fn release_names_are_validated() {
        assert!(valid_release_name("prod-1"));
        assert!(!valid_release_name("Prod"));
        assert!(!valid_release_name("-x"));
    }
}
