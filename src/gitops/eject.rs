//! Ejecting to plain Kustomize: `kubectl dimtensor init DIR` with render's inputs writes the
//! layers `render` stacks in memory ([`crate::render::Layer`]) as an ordinary kustomization
//! tree, so that `kubectl kustomize DIR` renders what `render` renders, and Argo CD's or Flux's
//! own Kustomize deploys it with no plugin. The tree: the built-in `base/`, the overlay and the
//! components as `init` writes them, one directory per generated layer (`values/`, `release/`,
//! ...), and the top layer as `DIR/kustomization.yaml`.
//!
//! Secret values never go into the tree: the Secret's patch loses its `data` and `stringData`,
//! and a `secretGenerator` (`behavior: replace`) in a layer of its own above the values
//! (`secrets/`) reads them from an env file beside it, listed in a `.gitignore` there; without
//! `--secrets-file` init refuses. A generator
//! writes `data` only: a `stringData` value comes out base64-encoded under `data`, which is what
//! the API server stores for it. The `checksum/config` and `checksum/secret` annotations are
//! written as render computed them (the secret's an HMAC under the key of `--checksum-key-file`
//! or `$DIMTENSOR_CHECKSUM_KEY`, the key itself never written; with no key both sides leave it
//! out), so they come out the same.

use crate::builtin;
use crate::render::{self, Layer, Rendered};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::path::{Component, Path, PathBuf};

/// The Secret the values fill (the chart's, named before the release layer renames it).
const SECRET: &str = render::CHART_NAME;
/// Values keys whose values are never printed or written into the tree.
const SECRET_MAPS: &[&str] = &["data", "stringData"];

#[derive(Debug, thiserror::Error)]
pub enum EjectError {
    #[error("the values give the Secret data ({}), and init never writes Secret values into the tree: pass --secrets-file FILE (for example --secrets-file secret.env) to have them written to that env file in the tree's secrets/ layer (listed in a .gitignore there), from which a secretGenerator reads them", keys.join(", "))]
    SecretsNeedAFile { keys: Vec<String> },
    #[error(
        "--secrets-file {0}: give a file name, or a relative path without `..`, below the secrets layer's directory"
    )]
    BadSecretsFile(String),
    #[error("--secrets-file: `{key}` cannot be a line of the env file a secretGenerator reads: {why}; keep that key out of the values and create it in the Secret another way")]
    NotAnEnvLine { key: String, why: String },
    #[error("cannot init into {dir}: {existing} already exists (init never overwrites a file); give a new or empty directory")]
    Exists { dir: String, existing: String },
    #[error("cannot init into {0}: it is a file, not a directory; give a new or existing directory")]
    NotADirectory(String),
    #[error("writing {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

/// What init wrote.
#[derive(Debug)]
pub struct Written {
    pub files: Vec<PathBuf>,
    /// The env file holding Secret values, if any (listed in the `.gitignore` beside it).
    pub secrets: Option<PathBuf>,
}

/// One file of the tree, relative to its root.
struct File {
    rel: PathBuf,
    text: String,
}

/// Writes the tree for `rendered` (a render's result) into `dir`; `secrets_file` is where Secret
/// values go, relative to the directory of the layer that reads them (`secrets/`, or the tree's
/// root when that layer is the top one). Nothing is written when any file exists.
pub fn eject(rendered: &Rendered, dir: &Path, secrets_file: Option<&str>) -> Result<Written, EjectError> {
    if dir.exists() && !dir.is_dir() {
        return Err(EjectError::NotADirectory(dir.display().to_string()));
    }
    let variant = rendered.overlay_dir.strip_prefix(Path::new(builtin::ROOT).join("overlays")).ok();
    let mut files: Vec<File> = builtin::files()
        .filter(|(rel, _)| {
            rel.starts_with("base/")
                || rel.starts_with("overlays/components/")
                || variant.is_some_and(|v| Path::new(rel).starts_with(Path::new("overlays").join(v)))
        })
        .map(|(rel, text)| File { rel: rel.into(), text: text.to_string() })
        .collect();
    let mut stack: Vec<Layer> =
        rendered.layers.iter().map(|l| Layer { name: l.name, kustomization: l.kustomization.clone() }).collect();
    let mut secrets = None;
    if let Some(i) = stack.iter().position(|l| l.name == "values") {
        if let Some((file, env, generator)) = move_secrets(&mut stack[i].kustomization, secrets_file)? {
            // The generator runs over the values layer's output (a kustomization's own generators
            // run before its components add the Secret): a layer of its own above it.
            let (below, above) = (render::layer_dir("values"), render::layer_dir("secrets"));
            for l in stack.iter_mut().skip(i + 1) {
                for e in l.kustomization["resources"].as_array_mut().into_iter().flatten() {
                    if e.as_str() == below.to_str() {
                        *e = json!(above.display().to_string());
                    }
                }
            }
            let k = json!({"resources": [below.display().to_string()], "secretGenerator": [generator]});
            stack.insert(i + 1, Layer { name: "secrets", kustomization: k });
            secrets = Some((i + 1, file, env));
        }
    }
    let homes = homes(&stack);
    if let Some((i, file, env)) = &secrets {
        let file = homes[*i].join(file);
        let ignore = file.parent().unwrap_or(&homes[*i]).join(".gitignore");
        let listed = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        files
            .push(File { rel: ignore, text: format!("# Secret values written by kubectl dimtensor init\n{listed}\n") });
        files.push(File { rel: file, text: env.clone() });
    }
    let mut layers: Vec<(PathBuf, &'static str, Value)> = Vec::new();
    for (layer, home) in stack.iter().zip(&homes) {
        let mut k = layer.kustomization.clone();
        rewrite_paths(&mut k, home, &stack, &homes, dir);
        files.extend(patch_files(&mut k, home));
        layers.push((home.clone(), layer.name, k));
    }
    if layers.is_empty() {
        let below = below_dir(&rendered.overlay_dir, Path::new(""), dir);
        layers.push((PathBuf::new(), "overlay", json!({"resources": [below]})));
    }
    for (home, name, k) in layers {
        let text = format!("# {}\n{}", describe(name), crate::yaml::to_yaml(&k));
        files.push(File { rel: home.join("kustomization.yaml"), text });
    }
    let secrets = secrets.map(|(i, file, _)| dir.join(&homes[i]).join(file));
    write(dir, files).map(|files| Written { files, secrets })
}

/// Where each generated layer is written: the top one as the tree's own kustomization.yaml, the
/// others in a directory named after them.
fn homes(layers: &[Layer]) -> Vec<PathBuf> {
    let last = layers.len().saturating_sub(1);
    layers.iter().enumerate().map(|(i, l)| if i == last { PathBuf::new() } else { PathBuf::from(l.name) }).collect()
}

fn describe(layer: &str) -> &'static str {
    match layer {
        "kind" => "Written by kubectl dimtensor init: the base's workload kind (workloadType).",
        "values" => "Written by kubectl dimtensor init: the chart values given, as patches and components.",
        "secrets" => "Written by kubectl dimtensor init: the Secret's values, read from the env file beside this one (never committed: see .gitignore).",
        "release-names" => "Written by kubectl dimtensor init: names as the chart's fullname (a Component).",
        "release" => "Written by kubectl dimtensor init: the release's name and instance labels.",
        "namespace" => "Written by kubectl dimtensor init: the namespace (-n).",
        _ => "Written by kubectl dimtensor init: the overlay.",
    }
}

/// Points `resources` and `components` at the written tree: a built-in path at its copy, a
/// generated layer at its home, the user's own directory relative to where this one is written.
fn rewrite_paths(k: &mut Value, here: &Path, layers: &[Layer], homes: &[PathBuf], root: &Path) {
    for field in ["resources", "components"] {
        for entry in k.get_mut(field).and_then(Value::as_array_mut).into_iter().flatten() {
            let Some(path) = entry.as_str().map(Path::new) else { continue };
            let target = if let Ok(rel) = path.strip_prefix(builtin::ROOT) {
                rel.to_path_buf()
            } else if let Some(i) = layers.iter().position(|l| render::layer_dir(l.name) == path) {
                homes[i].clone()
            } else {
                *entry = json!(below_dir(path, here, root));
                continue;
            };
            *entry = json!(relative(here, &target));
        }
    }
}

/// The overlay below the generated layers, as written from `here`: a built-in one is in the tree,
/// a directory of the user's is referred to where it is.
fn below_dir(overlay: &Path, here: &Path, root: &Path) -> String {
    if let Ok(rel) = overlay.strip_prefix(builtin::ROOT) {
        return relative(here, rel);
    }
    let from = std::path::absolute(root.join(here)).unwrap_or_else(|_| root.join(here));
    let to = std::path::absolute(overlay).unwrap_or_else(|_| overlay.to_path_buf());
    let common = from.components().zip(to.components()).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return to.display().to_string();
    }
    let up = from.components().count() - common;
    let mut out = PathBuf::new();
    (0..up).for_each(|_| out.push(".."));
    to.components().skip(common).for_each(|c| out.push(c));
    out.display().to_string()
}

/// `target` (relative to the tree's root) as seen from `here` (also relative to it).
fn relative(here: &Path, target: &Path) -> String {
    let mut out = PathBuf::new();
    here.components().for_each(|_| out.push(".."));
    out.push(target);
    out.display().to_string()
}

/// Moves a layer's inline patches into files beside it (`patches/NN-kind-name.yaml`), read as
/// written: Kustomize trims an inline patch, so a block scalar ending it (a ConfigMap's file
/// content) would lose its final line break.
fn patch_files(k: &mut Value, home: &Path) -> Vec<File> {
    let mut out = Vec::new();
    for (i, entry) in k.get_mut("patches").and_then(Value::as_array_mut).into_iter().flatten().enumerate() {
        let Some(text) = entry.get("patch").and_then(Value::as_str).map(str::to_string) else { continue };
        let doc = crate::yaml::parse_value(&text, "patch").unwrap_or(Value::Null);
        let slug =
            |v: &Value| v.as_str().unwrap_or("").to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        let name = match (slug(&doc["kind"]), slug(&doc["metadata"]["name"])) {
            (kind, name) if !kind.is_empty() => format!("{i:02}-{kind}-{name}.yaml"),
            _ => format!("{i:02}-patch.yaml"),
        };
        let rel = Path::new("patches").join(&name);
        let map = entry.as_object_mut().expect("a patches entry with `patch` is a mapping");
        map.remove("patch");
        map.insert("path".into(), json!(rel.display().to_string()));
        out.push(File { rel: home.join(rel), text });
    }
    out
}

/// Takes the Secret's values out of the values layer's patches, for a `secretGenerator` to read
/// them from `secrets_file` instead: the file, the env file's text and the generator, or None
/// when the values give the Secret no data. The patches lose `data` and `stringData` whole (a
/// `null` left there would remove what the generator made: generators run before patches).
fn move_secrets(k: &mut Value, secrets_file: Option<&str>) -> Result<Option<(PathBuf, String, Value)>, EjectError> {
    let Some(patches) = k.get_mut("patches").and_then(Value::as_array_mut) else { return Ok(None) };
    let secret_patch = |e: &Value| {
        let doc = e["patch"].as_str().and_then(|t| crate::yaml::parse_value(t, "patch").ok())?;
        (doc["kind"] == "Secret" && doc["metadata"]["name"] == SECRET).then_some(doc)
    };
    let mut found: Vec<(&'static str, String, String)> = Vec::new(); // (field, key, value as written)
    for doc in patches.iter().filter_map(secret_patch) {
        for field in SECRET_MAPS {
            for (key, value) in doc[*field].as_object().into_iter().flatten().filter(|(key, _)| *key != "$patch") {
                found.push((field, key.clone(), value.as_str().unwrap_or_default().to_string()));
            }
        }
    }
    if found.is_empty() {
        return Ok(None);
    }
    let Some(file) = secrets_file else {
        return Err(EjectError::SecretsNeedAFile {
            keys: found.iter().map(|(f, key, _)| format!("secret.{f}.{key}")).collect(),
        });
    };
    let path = PathBuf::from(file);
    if file.is_empty() || path.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(EjectError::BadSecretsFile(file.to_string()));
    }
    let env = env_file(&found)?;
    let mut kept = Vec::new();
    for entry in patches.drain(..) {
        let Some(mut doc) = secret_patch(&entry) else {
            kept.push(entry);
            continue;
        };
        let d = doc.as_object_mut().expect("a Secret patch is a mapping");
        SECRET_MAPS.iter().for_each(|f| {
            d.remove(*f);
        });
        // Nothing left but the Secret's identity: the patch would do nothing.
        if d.keys().any(|k| !["apiVersion", "kind", "metadata"].contains(&k.as_str())) {
            kept.push(json!({"patch": crate::yaml::to_yaml(&doc)}));
        }
    }
    *patches = kept;
    let generator =
        json!({"name": SECRET, "behavior": "replace", "envs": [file], "options": {"disableNameSuffixHash": true}});
    Ok(Some((path, env, generator)))
}

/// The env file: `key=value` lines, `data` values decoded (the generator encodes them again),
/// a key in both taking `stringData`'s value as the API server does.
fn env_file(found: &[(&str, String, String)]) -> Result<String, EjectError> {
    let env_name = regex::Regex::new(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$").expect("static regex");
    let mut values: Map<String, Value> = Map::new();
    let (data, string_data): (Vec<_>, Vec<_>) = found.iter().partition(|(f, _, _)| *f == "data");
    for (field, key, value) in data.into_iter().chain(string_data) {
        let bad = |why: &str| EjectError::NotAnEnvLine { key: format!("secret.{field}.{key}"), why: why.to_string() };
        let plain = match *field {
            "data" => {
                let engine = base64::engine::general_purpose::STANDARD;
                let bytes = engine.decode(value).map_err(|_| bad("it is not base64"))?;
                if engine.encode(&bytes) != *value {
                    return Err(bad("its base64 is not in the canonical form a generator writes"));
                }
                String::from_utf8(bytes).map_err(|_| bad("it decodes to bytes that are not UTF-8 text"))?
            }
            _ => value.clone(),
        };
        if !env_name.is_match(key) {
            return Err(bad("an env file's key must not start with a digit"));
        }
        if plain.contains('\n') || plain.ends_with('\r') {
            return Err(bad("it holds a line break"));
        }
        values.insert(key.clone(), Value::String(plain));
    }
    let mut text =
        String::from("# Secret values for the dimtensor Secret (kubectl dimtensor init). Never commit this file.\n");
    for (key, value) in &values {
        text.push_str(&format!("{key}={}\n", value.as_str().unwrap_or_default()));
    }
    Ok(text)
}

/// Writes every file, or none when one exists already.
fn write(dir: &Path, files: Vec<File>) -> Result<Vec<PathBuf>, EjectError> {
    let shown = dir.display().to_string();
    if let Some(f) = files.iter().find(|f| dir.join(&f.rel).exists()) {
        return Err(EjectError::Exists { dir: shown, existing: dir.join(&f.rel).display().to_string() });
    }
    let mut written = Vec::new();
    for f in files {
        let path = dir.join(&f.rel);
        let err = |source| EjectError::Write { path: path.display().to_string(), source };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        std::fs::write(&path, f.text).map_err(err)?;
        written.push(path);
    }
    Ok(written)
}

/// The `init` command that writes the tree equivalent to a release: its name, namespace,
/// overlay and values (a heredoc for `-f -`). Secret values are left out of it; the second
/// item names the keys left out.
pub fn init_command(release: &str, namespace: &str, overlay: Option<&str>, values: &Value) -> (String, Vec<String>) {
    let mut values = values.clone();
    let mut withheld = Vec::new();
    if let Some(secret) = values.get_mut("secret").and_then(Value::as_object_mut) {
        for map in SECRET_MAPS {
            let Some(Value::Object(m)) = secret.get(*map) else { continue };
            withheld.extend(m.keys().map(|k| format!("secret.{map}.{k}")));
            secret.remove(*map);
        }
        if secret.is_empty() {
            values.as_object_mut().map(|v| v.remove("secret"));
        }
    }
    let mut cmd = format!("kubectl dimtensor init ./{release} --release {release} -n {namespace}");
    if let Some(o) = overlay {
        cmd.push_str(&format!(" --overlay {}", shell_word(o)));
    }
    if values.as_object().is_some_and(|m| !m.is_empty()) {
        let yaml = crate::yaml::to_yaml(&values);
        let mut end = "VALUES".to_string();
        while yaml.lines().any(|l| l == end) {
            end.push('_');
        }
        cmd.push_str(&format!(" -f - <<'{end}'\n{yaml}{end}"));
    }
    (cmd, withheld)
}

/// `s` as one shell word.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=@+,".contains(&b));
    match plain {
        true => s.to_string(),
        false => format!("'{}'", s.replace('\'', r"'\''")),
    }
}

#[cfg(test)]
#[path = "eject_tests.rs"]
mod tests;
