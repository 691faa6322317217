//! `images`: rewrites container images by name: `newName`, `newTag`, `digest`.
//!
//! As Kustomize does, every `containers` and `initContainers` list anywhere in a resource is
//! visited (so CronJob job templates and custom kinds work), plus image volumes.

use super::{Layer, OverlayError};
use crate::load::kustomization::Image;
use crate::model::ResourceSet;
use regex::Regex;
use serde_json::Value;

pub fn apply(layer: &Layer, set: &mut ResourceSet) -> Result<(), OverlayError> {
    for image in &layer.k.images {
        // The name is a regular expression in Kustomize, followed by an optional tag or digest.
        let re = Regex::new(&format!("^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$", image.name))
            .map_err(|e| OverlayError::Transformer {
                file: layer.file.clone(),
                message: format!("images: name `{}` is not a valid pattern: {e}", image.name),
            })?;
        for res in set.iter_mut() {
            walk(res.body_mut(), &re, image);
        }
    }
    Ok(())
}

fn walk(node: &mut Value, re: &Regex, image: &Image) {
    match node {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "containers" || key == "initContainers" {
                    if let Value::Array(items) = child {
                        for img in items.iter_mut().filter_map(|c| c.get_mut("image")) {
                            update(img, re, image);
                        }
                    }
                }
                if key == "volumes" {
                    if let Value::Array(items) = child {
                        for r in items.iter_mut().filter_map(|v| v.get_mut("image")?.get_mut("reference")) {
                            update(r, re, image);
                        }
                    }
                }
                walk(child, re, image);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| walk(i, re, image)),
        _ => {}
    }
}

fn update(field: &mut Value, re: &Regex, image: &Image) {
    let Value::String(current) = field else {
        return;
    };
    if !re.is_match(current) {
        return;
    }
    let (mut name, mut tag, mut digest) = split(current);
    if let Some(n) = image.new_name.as_deref().filter(|n| !n.is_empty()) {
        name = n.to_string();
    }
    let new_tag = image.new_tag.as_deref().filter(|t| !t.is_empty());
    let new_digest = image.digest.as_deref().filter(|d| !d.is_empty());
    match (new_tag, new_digest) {
        (Some(t), Some(d)) => (tag, digest) = (t.to_string(), d.to_string()),
        (Some(t), None) => (tag, digest) = (t.to_string(), String::new()),
        (None, Some(d)) => (tag, digest) = (String::new(), d.to_string()),
        (None, None) => {}
    }
    let mut out = name;
    if !tag.is_empty() {
        out = format!("{out}:{tag}");
    }
    if !digest.is_empty() {
        out = format!("{out}@{digest}");
    }
    *current = out;
}

/// `[host[:port]/]path[:tag][@digest]` into (name, tag, digest); the host's port is not a tag.
pub fn split(image: &str) -> (String, String, String) {
    let slash = image.find('/').filter(|&i| i > 0).unwrap_or(0);
    let search = &image[slash..];
    let at = search.find('@').map(|i| i + slash);
    let colon = search.find(':').map(|i| i + slash);
    match (colon, at) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (c, Some(a)) if c.is_none_or(|c| a < c) => (image[..a].to_string(), String::new(), image[a + 1..].to_string()),
        (Some(c), Some(a)) => (image[..c].to_string(), image[c + 1..a].to_string(), image[a + 1..].to_string()),
        (Some(c), None) => (image[..c].to_string(), image[c + 1..].to_string(), String::new()),
        (None, Some(_)) => unreachable!("handled by the digest-only arm"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_registry_ports_tags_and_digests() {
        assert_eq!(split("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(split("nginx:1.2"), ("nginx".into(), "1.2".into(), "".into()));
        assert_eq!(split("localhost:5000/app:v1"), ("localhost:5000/app".into(), "v1".into(), "".into()));
        assert_eq!(split("app@sha256:abc"), ("app".into(), "".into(), "sha256:abc".into()));
        assert_eq!(split("app:v1@sha256:abc"), ("app".into(), "v1".into(), "sha256:abc".into()));
    }
}
