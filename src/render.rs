//! The render stage: picks the overlay, stacks the generated layers on it, and builds the result
//! with the overlay engine. Layers, bottom to top:
//!
//! 1. the overlay (a built-in variant, the base, or the user's directory);
//! 2. `kind`: the job/cronjob component when `workloadType` asks for it on the base;
//! 3. `values`: components and patches for the keys the user set;
//! 4. `release`: names like the chart's fullname and the instance label;
//! 5. `namespace`: `-n`.
//!
//! Every generated layer is an ordinary kustomization held in memory, so there is one engine and
//! one set of rules, whether a change comes from a file the user wrote or from a flag.

use crate::builtin;
use crate::load::{DiskFs, Fs, Layered};
use crate::model::ResourceSet;
use crate::overlay::{self, OverlayError};
use crate::values::layers::{self, Effect};
use crate::values::presets::{self, Workload};
use crate::values::{self, rules, Source, UserValues, ValuesError};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Where generated layers live in the in-memory file system.
const GENERATED: &str = "/generated";

/// The chart's name: resources of the base are called this before the release layer.
pub const CHART_NAME: &str = "dimtensor";

/// Kinds the release layer renames to the chart's fullname (a regular expression), as the
/// chart names every object it makes. References to them (a ConfigMap volume, a Secret's
/// `envFrom` or `secretKeyRef`) follow through the engine's name references, and only when the
/// release renders the object: a reference to an external Secret named `dimtensor` stays.
const RENAMED_KINDS: &str = "ConfigMap|Secret|Service|Deployment|Job|HorizontalPodAutoscaler|Ingress|PersistentVolumeClaim|PodDisruptionBudget|NetworkPolicy";

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("unknown overlay `{name}`; the built-in overlays are {}, or give a directory such as ./my-overlay", valid.join(", "))]
    UnknownOverlay { name: String, valid: Vec<&'static str> },
    #[error("invalid release name `{0}`: it must be lowercase letters, digits and '-', start with a letter and be at most 53 characters")]
    InvalidReleaseName(String),
    #[error("{origin}: workloadType `{wanted}` contradicts overlay {overlay}, which renders a {has}; drop workloadType or pick another overlay")]
    WorkloadContradiction { wanted: String, overlay: String, has: &'static str, origin: Source },
    #[error("cannot apply values to {overlay}: {reason}")]
    NoWorkload { overlay: String, reason: String },
    #[error(transparent)]
    Values(#[from] ValuesError),
    #[error(transparent)]
    Overlay(#[from] OverlayError),
}

/// What to render.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// A built-in variant name or a kustomization directory; `None` means the base.
    pub overlay: Option<String>,
    /// The release name; `None` with no values renders the overlay exactly as Kustomize would.
    pub release: Option<String>,
    /// `-n`: the namespace every namespaced resource goes into.
    pub namespace: Option<String>,
    /// The keys the user set (`-f`, `--set`, ...).
    pub values: UserValues,
    /// The key of the `checksum/secret` annotation (a release's, or `--checksum-key-file`).
    pub checksum_key: Option<values::checksum::Key>,
    /// The values under the user's (defaults and preset) when they are not today's: a revision's,
    /// for `upgrade --reuse-values`.
    pub defaults: Option<Value>,
}

/// The rendered resources, and what the values did (for `--explain` and `--show-values`).
pub struct Rendered {
    pub resources: ResourceSet,
    pub effects: Vec<Effect>,
    /// Values the cluster decides on (node port range, server version): print them to stderr.
    pub warnings: Vec<rules::Warning>,
    /// The overlay the preset values come from: a built-in name, `base`, or the directory.
    pub preset: Option<String>,
    pub preset_values: Value,
    /// [`Request::defaults`], when given: see [`Rendered::defaults`].
    given_defaults: Option<Value>,
    /// The overlay's directory (under [`builtin::ROOT`] for a built-in one).
    pub overlay_dir: PathBuf,
    /// The generated layers, bottom to top, as stacked on the overlay (`init` writes them out).
    pub layers: Vec<Layer>,
}

impl Rendered {
    /// The values under the user's keys (defaults and preset), as a release records them. Worked
    /// out when asked: a plain render has no use for them.
    pub fn defaults(&self) -> Value {
        defaults_under(self.given_defaults.as_ref(), &self.preset_values)
    }
}

/// The values under the user's keys: a revision's (`given`, for `--reuse-values`), else today's
/// defaults with the preset over them.
fn defaults_under(given: Option<&Value>, preset: &Value) -> Value {
    given.cloned().unwrap_or_else(|| values::defaults_with(preset))
}

/// A generated layer: a kustomization held in memory, whose `resources` and `components` name
/// the layer below by its path under [`GENERATED`] (or the overlay's directory).
pub struct Layer {
    pub name: &'static str,
    pub kustomization: Value,
}

/// Where generated layer `name` lives in the in-memory file system.
pub fn layer_dir(name: &str) -> PathBuf {
    Path::new(GENERATED).join(name)
}

/// Where the overlay lives.
pub enum OverlaySource {
    Builtin { dir: PathBuf, variant: Option<&'static str> },
    Dir(PathBuf),
}

/// Resolves `--overlay`: a path (contains `/`, starts with `.`, or exists on disk) or a built-in name.
pub fn resolve_overlay(overlay: Option<&str>) -> Result<OverlaySource, RenderError> {
    let Some(name) = overlay else {
        return Ok(OverlaySource::Builtin { dir: Path::new(builtin::ROOT).join("base"), variant: None });
    };
    let looks_like_path = name.contains('/') || name.starts_with('.') || Path::new(name).is_dir();
    if looks_like_path {
        return Ok(OverlaySource::Dir(PathBuf::from(name)));
    }
    match builtin::variants().into_iter().find(|v| *v == name) {
        Some(v) => Ok(OverlaySource::Builtin { dir: builtin::variant_dir(v), variant: Some(v) }),
        None => Err(RenderError::UnknownOverlay { name: name.to_string(), valid: builtin::variants() }),
    }
}

/// The chart's `fullname`: `fullnameOverride`, else the release name if it already contains the
/// chart name (or `nameOverride`), else `<release>-<name>`, cut to 63 characters.
pub fn fullname(release: &str, name: &str, full_override: &str) -> String {
    let full = if !full_override.is_empty() {
        full_override.to_string()
    } else if release.contains(name) {
        release.to_string()
    } else {
        format!("{release}-{name}")
    };
    full.chars().take(63).collect::<String>().trim_end_matches('-').to_string()
}

/// The chart's name (`nameOverride`, else `dimtensor`, cut to 63 characters as the chart cuts
/// it) and fullname for a release.
fn chart_names(release: &str, eff: &Value) -> (String, String) {
    let name = Some(eff["nameOverride"].as_str().unwrap_or("")).filter(|n| !n.is_empty()).unwrap_or(CHART_NAME);
    let name = name.chars().take(63).collect::<String>().trim_end_matches('-').to_string();
    let full = fullname(release, &name, eff["fullnameOverride"].as_str().unwrap_or(""));
    (name, full)
}

/// Refuses a release name Helm would refuse (and that could not name the objects).
pub fn check_release_name(name: &str) -> Result<(), RenderError> {
    match valid_release_name(name) {
        true => Ok(()),
        false => Err(RenderError::InvalidReleaseName(name.to_string())),
    }
}

fn valid_release_name(name: &str) -> bool {
    let re = regex::Regex::new(r"^[a-z]([-a-z0-9]*[a-z0-9])?$").expect("static regex");
    name.len() <= 53 && re.is_match(name)
}

/// Renders a request into resources.
pub fn render(req: &Request) -> Result<Rendered, RenderError> {
    let source = resolve_overlay(req.overlay.as_deref())?;
    let (mut dir, variant, overlay_label) = match &source {
        OverlaySource::Builtin { dir, variant } => (dir.clone(), *variant, variant.unwrap_or("base").to_string()),
        OverlaySource::Dir(d) => (std::path::absolute(d).unwrap_or_else(|_| d.clone()), None, d.display().to_string()),
    };
    let overlay_dir = dir.clone();
    let mut stack = Stack { fs: Layered { top: builtin::fs(), under: &DiskFs }, layers: Vec::new() };
    let preset_values = variant.map(presets::preset).unwrap_or_else(|| json!({}));
    let mut effects = Vec::new();
    let mut warnings = Vec::new();
    let user = &req.values;
    let release = req.release.clone().or_else(|| (!user.is_empty()).then(|| CHART_NAME.to_string()));
    if let Some(release) = release.as_deref() {
        check_release_name(release)?;
    }

    let mut preset_values = preset_values;
    let under = |preset: &Value| defaults_under(req.defaults.as_ref(), preset);
    if !user.is_empty() {
        let eff = values::effective_over(&under(&preset_values), user);
        let wanted = eff["workloadType"].as_str().and_then(Workload::from_value);
        if let (Some(w), true, None) = (wanted, user.touched("workloadType"), variant) {
            if matches!(source, OverlaySource::Builtin { .. }) && w != Workload::Deployment {
                let component = format!("{}/overlays/components/{}", builtin::ROOT, w.value_name());
                effects.push(Effect {
                    keys: vec!["workloadType".into()],
                    resource: format!("the base: its Deployment becomes a {} (component {})", w.kind(), w.value_name()),
                    patch: json!({"components": [component.clone()]}),
                });
                dir = stack.add("kind", json!({"resources": [dir.display().to_string()], "components": [component]}));
            }
        }
        let below = overlay::build(&stack.fs as &dyn Fs, &dir)?;
        let found = layers::find_workload(&below, CHART_NAME)
            .map_err(|reason| RenderError::NoWorkload { overlay: overlay_label.clone(), reason })?;
        if let (Some(w), true) = (wanted, user.touched("workloadType")) {
            if w != found.kind {
                return Err(RenderError::WorkloadContradiction {
                    wanted: w.value_name().to_string(),
                    overlay: overlay_label,
                    has: found.kind.kind(),
                    origin: user.source("workloadType").cloned().unwrap_or(Source::Default),
                });
            }
        }
        if variant.is_none() {
            // No built-in preset: what the overlay already renders (its image) plays that role, so
            // `--set image.registry=...` keeps the tag the user's overlay chose.
            values::tree::merge(&mut preset_values, &presets::from_rendered(found.workload.body(), found.kind));
        }
        let eff = values::effective_over(&under(&preset_values), user);
        let (name, full) = chart_names(release.as_deref().unwrap_or(CHART_NAME), &eff);
        let cx = rules::Context { eff: &eff, user, found: &found, fullname: &full, name: &name };
        warnings = rules::check(&cx)?;
        let layer = layers::build(&found, &eff, user, req.checksum_key.as_ref())?;
        if !layer.patches.is_empty() || !layer.components.is_empty() {
            let k = json!({"resources": [dir.display().to_string()], "components": layer.components, "patches": layer.patches});
            dir = stack.add("values", k);
        }
        effects.extend(layer.explain);
    }
    if let Some(release) = release.as_deref() {
        let eff = values::effective_over(&under(&preset_values), user);
        let (name, full) = chart_names(release, &eff);
        if let Some(mut layer) = release_layer(&dir, release, &name, &full) {
            if full != CHART_NAME {
                // `serviceAccount.name` names the ServiceAccount under any release name.
                let sa_named = !eff["serviceAccount"]["name"].as_str().unwrap_or("").is_empty();
                let component = stack.add("release-names", rename_component(&full, sa_named));
                layer["components"] = json!([component.display().to_string()]);
            }
            dir = stack.add("release", layer);
        }
    }
    if let Some(ns) = req.namespace.as_deref().filter(|n| !n.is_empty()) {
        dir = stack.add("namespace", json!({"resources": [dir.display().to_string()], "namespace": ns}));
    }
    let resources = overlay::build(&stack.fs as &dyn Fs, &dir)?;
    let layers = stack.layers;
    Ok(Rendered {
        resources,
        effects,
        warnings,
        preset: Some(overlay_label),
        preset_values,
        given_defaults: req.defaults.clone(),
        overlay_dir,
        layers,
    })
}

/// The generated layers: in memory for the engine, and kept for `init`.
struct Stack {
    fs: Layered<'static>,
    layers: Vec<Layer>,
}

impl Stack {
    fn add(&mut self, name: &'static str, kustomization: Value) -> PathBuf {
        let dir = layer_dir(name);
        self.fs.top.insert(dir.join("kustomization.yaml"), crate::yaml::to_yaml(&kustomization));
        self.layers.push(Layer { name, kustomization });
        dir
    }
}

/// Names resources the way the chart's fullname does and sets the name and instance labels, so
/// two releases in one namespace never collide. `None` when nothing would change.
fn release_layer(below: &Path, release: &str, name: &str, full: &str) -> Option<Value> {
    if release == CHART_NAME && name == CHART_NAME && full == CHART_NAME {
        return None;
    }
    let k = json!({
        "resources": [below.display().to_string()],
        "labels": [{"pairs": {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": release}, "includeSelectors": true}],
    });
    Some(k)
}

/// The renames of the release layer, as a Component: each patch fits only some renders (a
/// CronJob exists in one variant), and a component's patch may match nothing.
/// `sa_named`: the values named the ServiceAccount, which then keeps that name.
fn rename_component(full: &str, sa_named: bool) -> Value {
    let rename =
        |name: &str| crate::yaml::to_yaml(&json!([{"op": "replace", "path": "/metadata/name", "value": name}]));
    // A CronJob's name may be 52 characters at most: its Jobs get an 11-character suffix.
    let cron: String = full.chars().take(52).collect::<String>().trim_end_matches('-').to_string();
    let kinds = if sa_named { RENAMED_KINDS.to_string() } else { format!("ServiceAccount|{RENAMED_KINDS}") };
    json!({
        "apiVersion": "kustomize.config.k8s.io/v1alpha1",
        "kind": "Component",
        "patches": [
            {"target": {"name": CHART_NAME, "kind": kinds}, "patch": rename(full)},
            {"target": {"name": CHART_NAME, "kind": "CronJob"}, "patch": rename(&cron)},
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fullname_follows_the_chart() {
        assert_eq!(fullname("dimtensor", "dimtensor", ""), "dimtensor");
        assert_eq!(fullname("prod", "dimtensor", ""), "prod-dimtensor");
        assert_eq!(fullname("dimtensor-training", "dimtensor", ""), "dimtensor-training");
        assert_eq!(fullname("prod", "physics", ""), "prod-physics");
        assert_eq!(fullname("prod", "dimtensor", "api"), "api");
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
