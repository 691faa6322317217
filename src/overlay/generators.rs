//! `configMapGenerator` and `secretGenerator`, and the content-hash name suffix.
//!
//! The suffix is Kustomize's: sha256 over a Go `json.Marshal` of {kind, name: "", data[, binaryData]}
//! (Secrets: plus type), first ten hex digits with 0,1,3,a,e mapped to g,h,k,m,t, so a ConfigMap
//! we generate gets the same name as Kustomize gives it.

use super::{Layer, OverlayError};
use crate::load::kustomization::{Generator, GeneratorOptions};
use crate::model::{Behavior, Resource, ResourceSet};
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub fn run(layer: &Layer, set: &mut ResourceSet) -> Result<(), OverlayError> {
    for g in &layer.k.config_map_generator {
        let res = generate(layer, g, "configMapGenerator")?;
        absorb(layer, set, res, "configMapGenerator", &g.name)?;
    }
    for g in &layer.k.secret_generator {
        let res = generate(layer, g, "secretGenerator")?;
        absorb(layer, set, res, "secretGenerator", &g.name)?;
    }
    Ok(())
}

fn err(layer: &Layer, generator: &'static str, name: &str, message: impl Into<String>) -> OverlayError {
    OverlayError::Generator { file: layer.file.clone(), generator, name: name.to_string(), message: message.into() }
}

fn generate(layer: &Layer, g: &Generator, kind: &'static str) -> Result<Resource, OverlayError> {
    let is_secret = kind == "secretGenerator";
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    for lit in &g.literals {
        let (k, v) = lit
            .split_once('=')
            .ok_or_else(|| err(layer, kind, &g.name, format!("literal `{lit}` is not KEY=VALUE")))?;
        pairs.push((k.to_string(), unquote(v).as_bytes().to_vec()));
    }
    for f in &g.files {
        let (key, path) = match f.split_once('=') {
            Some((k, p)) => (k.to_string(), p),
            None => (f.rsplit('/').next().unwrap_or(f).to_string(), f.as_str()),
        };
        let (_, text) = layer.read_file(kind, path)?;
        pairs.push((key, text.into_bytes()));
    }
    for env in g.envs.iter().chain(g.env.iter()) {
        let (_, text) = layer.read_file(kind, env)?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| err(layer, kind, &g.name, format!("{env}:{}: `{line}` is not KEY=VALUE", n + 1)))?;
            pairs.push((k.to_string(), v.as_bytes().to_vec()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (k, _) in &pairs {
        if !seen.insert(k.clone()) {
            return Err(err(layer, kind, &g.name, format!("key `{k}` is given twice")));
        }
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));

    let opts = merged_options(layer.k.generator_options.as_ref(), g.options.as_ref());
    let mut meta = Map::new();
    meta.insert("name".into(), json!(g.name));
    if let Some(ns) = g.namespace.as_deref().filter(|n| !n.is_empty()) {
        meta.insert("namespace".into(), json!(ns));
    }
    if !opts.labels.is_empty() {
        meta.insert("labels".into(), Value::Object(stringify(&opts.labels)));
    }
    if !opts.annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(stringify(&opts.annotations)));
    }
    let b64 = |v: &[u8]| wrapped_base64(v);
    let mut body = Map::new();
    body.insert("apiVersion".into(), json!("v1"));
    body.insert("kind".into(), json!(if is_secret { "Secret" } else { "ConfigMap" }));
    body.insert("metadata".into(), Value::Object(meta));
    if is_secret {
        let data: Map<String, Value> = pairs.iter().map(|(k, v)| (k.clone(), json!(b64(v)))).collect();
        if !data.is_empty() {
            body.insert("data".into(), Value::Object(data));
        }
        body.insert("type".into(), json!(g.type_.as_deref().unwrap_or("Opaque")));
    } else {
        let (mut data, mut binary) = (Map::new(), Map::new());
        for (k, v) in &pairs {
            match std::str::from_utf8(v) {
                Ok(s) => data.insert(k.clone(), json!(s)),
                Err(_) => binary.insert(k.clone(), json!(b64(v))),
            };
        }
        if !data.is_empty() {
            body.insert("data".into(), Value::Object(data));
        }
        if !binary.is_empty() {
            body.insert("binaryData".into(), Value::Object(binary));
        }
    }
    if opts.immutable == Some(true) {
        body.insert("immutable".into(), json!(true));
    }
    let mut res = Resource::new(Value::Object(body), layer.file.display().to_string());
    res.generated = true;
    res.needs_hash = opts.disable_name_suffix_hash != Some(true);
    res.behavior = match g.behavior.as_deref() {
        None | Some("") | Some("create") => Behavior::Create,
        Some("merge") => Behavior::Merge,
        Some("replace") => Behavior::Replace,
        Some(other) => {
            return Err(err(layer, kind, &g.name, format!("behavior `{other}` is not create, merge or replace")))
        }
    };
    Ok(res)
}

/// Base64 as Kustomize writes generated data: once the encoding reaches 70 characters it is cut
/// into 70-character lines, each ending in a newline (the hash is taken over this text).
fn wrapped_base64(v: &[u8]) -> String {
    let enc = base64::engine::general_purpose::STANDARD.encode(v);
    if enc.len() < 70 {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / 70 + 1);
    for chunk in enc.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

fn stringify(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter().map(|(k, v)| (k.clone(), Value::String(super::labels::scalar_text(v)))).collect()
}

/// The kustomization's generatorOptions overlaid by the generator's own.
fn merged_options(global: Option<&GeneratorOptions>, own: Option<&GeneratorOptions>) -> GeneratorOptions {
    let mut out = global.cloned().unwrap_or_default();
    if let Some(own) = own {
        out.labels.extend(own.labels.clone());
        out.annotations.extend(own.annotations.clone());
        // A generator can switch the hash off, but not back on against a global `true`.
        if own.disable_name_suffix_hash == Some(true) {
            out.disable_name_suffix_hash = Some(true);
        }
        if own.immutable.is_some() {
            out.immutable = own.immutable;
        }
    }
    out
}

/// Adds a generated resource, or merges it into / replaces the one it names (`behavior`).
fn absorb(
    layer: &Layer,
    set: &mut ResourceSet,
    mut res: Resource,
    kind: &'static str,
    name: &str,
) -> Result<(), OverlayError> {
    let id = res.id();
    let hits: Vec<usize> =
        set.iter().enumerate().filter(|(_, r)| r.all_ids().any(|x| x.same_object(&id))).map(|(i, _)| i).collect();
    match (hits.as_slice(), res.behavior) {
        ([], Behavior::Create) => set.push(res).map_err(OverlayError::from),
        ([], _) => {
            Err(err(layer, kind, name, format!("behavior merge/replace needs an existing {id}, and there is none")))
        }
        ([_], Behavior::Create) => {
            Err(err(layer, kind, name, format!("{id} already exists; set behavior: merge or replace")))
        }
        ([i], behavior) => {
            let old = &set.as_slice()[*i];
            merge_metadata(&mut res, old);
            if behavior == Behavior::Merge {
                for field in ["data", "binaryData"] {
                    if let Some(Value::Object(old_data)) = old.body().get(field) {
                        let mut merged = old_data.clone();
                        if let Some(Value::Object(new_data)) = res.body().get(field) {
                            merged.extend(new_data.clone());
                        }
                        if let Some(b) = res.body_mut().as_object_mut() {
                            b.insert(field.into(), Value::Object(merged));
                        }
                    }
                }
            }
            // Kustomize keeps its hash mark from the object being merged into (build annotations
            // come from the old object), and the new generator's own choice still switches it
            // off: a name the base made without a suffix keeps it.
            res.needs_hash = res.needs_hash && old.needs_hash;
            // Its other build notes come from the old object too: merged into a ConfigMap read
            // from a file, it has none (so a later JSON patch finds no annotations map).
            res.generated = old.generated;
            res.inherit_history(old);
            res.origin = old.origin.clone();
            set.replace(*i, res);
            Ok(())
        }
        (_, _) => Err(err(layer, kind, name, format!("{id} matches several resources"))),
    }
}

/// Labels and annotations of `old` under those of `new`; name and namespace from `old`.
fn merge_metadata(new: &mut Resource, old: &Resource) {
    for field in ["labels", "annotations"] {
        let mut merged = old.body()["metadata"][field].as_object().cloned().unwrap_or_default();
        if let Some(m) = new.body()["metadata"][field].as_object() {
            merged.extend(m.clone());
        }
        if !merged.is_empty() {
            new.metadata_mut().insert(field.into(), Value::Object(merged));
        }
    }
    let (name, ns) = (old.name().to_string(), old.namespace().to_string());
    new.set_name(&name);
    if ns.is_empty() {
        new.metadata_mut().remove("namespace");
    } else {
        new.set_namespace(&ns);
    }
}

/// Appends the content hash to every generated name that wants one. Runs once, at the top.
pub fn add_hash_suffixes(set: &mut ResourceSet) -> Result<(), OverlayError> {
    for res in set.iter_mut().filter(|r| r.needs_hash) {
        let hash = content_hash(res.body());
        res.store_previous_id();
        let name = format!("{}-{hash}", res.name());
        res.set_name(&name);
    }
    Ok(())
}

/// Kustomize's name hash of a ConfigMap or Secret body.
pub fn content_hash(body: &Value) -> String {
    let field = |k: &str| match body.get(k) {
        Some(Value::Object(m)) => Some(Value::Object(m.clone())),
        _ => None,
    };
    let mut m = Map::new();
    m.insert("kind".into(), body["kind"].clone());
    // Kustomize looks the name up as one key "metadata/name", finds nothing and hashes "".
    // Matching that quirk is what makes our generated names equal to Kustomize's.
    m.insert("name".into(), json!(""));
    m.insert("data".into(), field("data").unwrap_or(json!("")));
    if body["kind"] == "Secret" {
        m.insert("type".into(), json!(body["type"].as_str().unwrap_or("")));
        if let Some(sd) = field("stringData") {
            m.insert("stringData".into(), sd);
        }
    } else if let Some(bd) = field("binaryData") {
        m.insert("binaryData".into(), bd);
    }
    let encoded = go_json(&Value::Object(m));
    let hex = format!("{:x}", Sha256::digest(encoded.as_bytes()));
    hex[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            other => other,
        })
        .collect()
}

/// JSON as Go's `encoding/json` writes it: sorted map keys, no spaces, and `<`, `>`, `&`,
/// U+2028, U+2029 escaped. The hash depends on these exact bytes.
fn go_json(v: &Value) -> String {
    let mut out = String::new();
    write_go_json(v, &mut out);
    out
}

fn write_go_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(k, out);
                out.push(':');
                write_go_json(&m[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(x, out);
            }
            out.push(']');
        }
        Value::String(s) => write_go_string(s, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_go_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_kustomize_for_a_known_configmap() {
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"b": "<&>", "a": "1"}});
        let m = json!({"kind": "ConfigMap", "name": "cfg", "data": body["data"].clone()});
        assert_eq!(go_json(&m), r#"{"data":{"a":"1","b":"\u003c\u0026\u003e"},"kind":"ConfigMap","name":"cfg"}"#);
        // `kubectl kustomize` (v5.8.1) names a generated ConfigMap {a: b} `cfg-4h2mbtbbt6`.
        let known = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "b"}});
        assert_eq!(content_hash(&known), "4h2mbtbbt6");
        assert_eq!(content_hash(&body).len(), 10);
    }

    #[test]
    fn literal_values_lose_surrounding_quotes() {
        assert_eq!(unquote("'a b'"), "a b");
        assert_eq!(unquote("\"x\""), "x");
        assert_eq!(unquote("x'"), "x'");
    }
}
