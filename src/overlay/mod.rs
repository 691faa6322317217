//! Builds a kustomization directory into a list of resources, compatibly with Kustomize v5.
//!
//! Each layer (a kustomization or a component) runs: resources (recursing into bases),
//! generators, components, then the transformers in [`ORDER`]. Three steps run once, at the top,
//! after the recursion, because they must see every rename first: hash suffixes on generated
//! names, name-reference repair, and the final sort.

mod annotations;
mod error;
pub mod field_specs;
mod generators;
mod images;
mod labels;
mod name_prefix_suffix;
mod name_reference;
mod namespace;
mod patch_json6902;
mod patches;
mod replacements;
mod replicas;
pub mod schema;
pub mod select;
mod sort;
pub mod strategic_merge;

pub use error::OverlayError;
pub use images::split as split_image;
pub use labels::scalar_text;

use crate::load::kustomization::Kustomization;
use crate::load::{self, Fs};
use crate::model::ResourceSet;
use std::path::{Path, PathBuf};

/// One kustomization or component being built.
pub(crate) struct Layer<'a> {
    pub fs: &'a dyn Fs,
    pub dir: PathBuf,
    /// `dir` with symlinks resolved: the tree this layer's files must stay in.
    pub root: PathBuf,
    pub file: PathBuf,
    pub k: Kustomization,
}

impl Layer<'_> {
    /// Reads a file named by this layer, refusing paths outside the layer's directory.
    pub fn read_file(&self, field: &'static str, entry: &str) -> Result<(PathBuf, String), OverlayError> {
        load::read_restricted(self.fs, (&self.dir, &self.root), &self.file, field, entry)
    }

    /// [`Layer::read_file`] of a file [`load::locate`] found at `path`.
    fn read_located(&self, entry: &str, path: &Path, stat: load::fs::Stat) -> Result<String, OverlayError> {
        load::read_located(self.fs, (&self.dir, &self.root), &self.file, entry, (path, stat))
    }
}

type Step = fn(&Layer, &mut ResourceSet) -> Result<(), OverlayError>;

/// The transformers of one layer, in Kustomize's order (`configureBuiltinTransformers`).
const ORDER: &[(&str, Step)] = &[
    ("patchesStrategicMerge", patches::strategic_merge_field),
    ("patches", patches::patches_field),
    ("namespace", namespace::apply),
    ("namePrefix", name_prefix_suffix::prefix),
    ("nameSuffix", name_prefix_suffix::suffix),
    ("labels", labels::apply),
    ("commonAnnotations", annotations::apply),
    ("patchesJson6902", patches::json6902_field),
    ("replicas", replicas::apply),
    ("images", images::apply),
    ("replacements", replacements::apply),
];

/// Builds the kustomization in `dir` (read through `fs`) into its final, sorted resources.
///
/// ```no_run
/// use dimtensor::{load::DiskFs, overlay};
/// let set = overlay::build(&DiskFs, std::path::Path::new("overlays/inference")).unwrap();
/// assert!(set.iter().any(|r| r.kind() == "Deployment"));
/// ```
pub fn build(fs: &dyn Fs, dir: &Path) -> Result<ResourceSet, OverlayError> {
    let mut builder = Builder { fs, stack: Vec::new() };
    let mut set = ResourceSet::new();
    let (file, top) = builder.accumulate(dir, &mut set, Expect::Kustomization)?;
    generators::add_hash_suffixes(&mut set)?;
    name_reference::fix(&mut set)?;
    annotations::finalize(&mut set)?;
    sort::apply(&mut set, top.sort_options.as_ref(), &file)?;
    Ok(set)
}

#[derive(Clone, Copy, PartialEq)]
enum Expect {
    Kustomization,
    Component,
}

struct Builder<'a> {
    fs: &'a dyn Fs,
    /// Directories being built, outermost first, to report cycles.
    stack: Vec<PathBuf>,
}

impl<'a> Builder<'a> {
    fn accumulate(
        &mut self,
        dir: &Path,
        set: &mut ResourceSet,
        expect: Expect,
    ) -> Result<(PathBuf, Kustomization), OverlayError> {
        let canonical = self.fs.canonical(dir);
        if self.stack.contains(&canonical) {
            let mut chain = self.stack.clone();
            chain.push(canonical);
            return Err(OverlayError::Cycle { chain });
        }
        let (file, k) = load::read_kustomization(self.fs, dir)?;
        let found = if k.is_component() { Expect::Component } else { Expect::Kustomization };
        if found != expect {
            let name = |e| {
                if e == Expect::Component {
                    "Component"
                } else {
                    "Kustomization"
                }
            };
            return Err(OverlayError::WrongKind {
                file: self.stack.last().cloned().unwrap_or_else(|| dir.to_path_buf()),
                field: if expect == Expect::Component { "components" } else { "resources" },
                entry: dir.display().to_string(),
                found: name(found),
                expected: name(expect),
            });
        }
        self.stack.push(canonical.clone());
        let layer = Layer { fs: self.fs, dir: dir.to_path_buf(), root: canonical, file, k };
        self.run_layer(&layer, set)?;
        if expect == Expect::Kustomization {
            set.check_unique()?;
        }
        self.stack.pop();
        Ok((layer.file, layer.k))
    }

    fn run_layer(&mut self, layer: &Layer, set: &mut ResourceSet) -> Result<(), OverlayError> {
        // Gather this layer's resources first and join them to `set` once: appending file by
        // file re-checked every id each time, which made large trees quadratic. Entries are
        // resolved, read and parsed in parallel up front, and the first error in a sequential
        // run still wins: an entry that does not resolve, in order, before a file that does not
        // parse. Bases are built in order as they come.
        let fs = self.fs;
        let done = crate::parallel::map(&layer.k.resources, |entry| {
            let (path, stat) = load::locate(fs, &layer.dir, &layer.file, "resources", entry)?;
            if stat.kind == load::fs::Kind::Dir {
                return Ok((load::Entry::Dir(path), None));
            }
            let parsed = layer.read_located(entry, &path, stat).and_then(|text| load::parse_resources(&text, &path));
            Ok((load::Entry::File(path), Some(parsed)))
        });
        let done = done.into_iter().collect::<Result<Vec<_>, OverlayError>>()?;
        let mut gathered = ResourceSet::new();
        for (resolved, resources) in done {
            match (resolved, resources) {
                (load::Entry::Dir(sub), _) => {
                    let mut inner = ResourceSet::new();
                    self.accumulate(&sub, &mut inner, Expect::Kustomization)?;
                    gathered.extend_unchecked(inner);
                }
                (load::Entry::File(_), resources) => {
                    if let Some(resources) = resources {
                        gathered.extend_unchecked(resources?);
                    }
                }
            }
        }
        set.append(gathered)?;
        generators::run(layer, set)?;
        for entry in &layer.k.components {
            match load::resolve_entry(self.fs, &layer.dir, &layer.file, "components", entry)? {
                load::Entry::Dir(sub) => {
                    self.accumulate(&sub, set, Expect::Component)?;
                }
                load::Entry::File(_) => {
                    return Err(OverlayError::WrongKind {
                        file: layer.file.clone(),
                        field: "components",
                        entry: entry.clone(),
                        found: "file",
                        expected: "directory",
                    })
                }
            }
        }
        for (_, step) in ORDER {
            step(layer, set)?;
        }
        Ok(())
    }
}
