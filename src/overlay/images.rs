//! `images`: rewrites container images by name: `newName`, `newTag`, `digest`.
//!
//! As Kustomize does, every `containers` and `initContainers` list anywhere in a resource is
//! visited (so CronJob job templates and custom kinds work), plus image volumes.

use super::{Layer, OverlayError};
use crate::load::kustomization::Image;
use crate::model::{fields, ResourceSet};
use regex::Regex;
use serde_json::Value;

pub fn apply(layer: &Layer, set: &mut ResourceSet) -> Result<(), OverlayError> {
    if layer.k.images.is_empty() {
        return Ok(());
    }
    let mut rules: Vec<Rule> = Vec::with_capacity(layer.k.images.len());
    for image in &layer.k.images {
        let re = NameMatcher::new(&image.name).map_err(|e| OverlayError::Transformer {
            file: layer.file.clone(),
            message: format!("images: name `{}` is not a valid pattern: {e}", image.name),
        })?;
        rules.push((re, image));
    }
    // One walk per resource with every rule, in order, at each image field: the same as one walk
    // per rule (a rule only rewrites the field's own value, and the fields are found by key).
    for res in set.iter_mut() {
        walk(res.body_mut(), &rules);
    }
    Ok(())
}

type Rule<'a> = (NameMatcher, &'a Image);

/// The name is a regular expression in Kustomize, followed by an optional tag or digest. Almost
/// every name is a plain image name, whose only special character is `.` (any character):
/// those are matched directly, without compiling a regular expression per name.
enum NameMatcher {
    Plain(Vec<char>),
    Pattern(Regex),
}

impl NameMatcher {
    fn new(name: &str) -> Result<NameMatcher, regex::Error> {
        if name.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_-:.".contains(&b)) {
            return Ok(NameMatcher::Plain(name.chars().collect()));
        }
        Regex::new(&format!("^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$")).map(NameMatcher::Pattern)
    }

    fn is_match(&self, image: &str) -> bool {
        let pattern = match self {
            NameMatcher::Pattern(re) => return re.is_match(image),
            NameMatcher::Plain(pattern) => pattern,
        };
        let mut chars = image.char_indices();
        for &p in pattern {
            match chars.next() {
                Some((_, c)) if c == p || (p == '.' && c != '\n') => {}
                _ => return false,
            }
        }
        let rest = chars.next().map_or("", |(i, _)| &image[i..]);
        let tag_char = |c: char| c.is_ascii_alphanumeric() || "_.{}-".contains(c);
        let (tag, digest) = match rest.find('@') {
            Some(at) => (&rest[..at], Some(&rest[at..])),
            None => (rest, None),
        };
        let tag_ok = tag.is_empty() || tag.strip_prefix(':').is_some_and(|t| t.chars().all(tag_char));
        tag_ok && digest.is_none_or(|d| d.strip_prefix("@sha256:").is_some_and(|h| h.chars().all(tag_char)))
    }
}

fn walk(node: &mut Value, rules: &[Rule]) {
    match node {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "containers" || key == "initContainers" {
                    if let Value::Array(items) = child {
                        for img in items.iter_mut().filter_map(|c| fields::get_mut(c.as_object_mut()?, "image")) {
                            rules.iter().for_each(|(re, image)| update(img, re, image));
                        }
                    }
                }
                if key == "volumes" {
                    if let Value::Array(items) = child {
                        for r in items.iter_mut().filter_map(|v| v.get_mut("image")?.get_mut("reference")) {
                            rules.iter().for_each(|(re, image)| update(r, re, image));
                        }
                    }
                }
                walk(child, rules);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| walk(i, rules)),
        _ => {}
    }
}

fn update(field: &mut Value, re: &NameMatcher, image: &Image) {
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
    fn plain_names_match_exactly_as_their_regular_expression_would() {
        let names = ["nginx", "registry.example.com/dimtensor/server", "localhost:5000/app", "a.b"];
        let images = [
            "nginx",
            "nginx:1.25",
            "nginx@sha256:abc",
            "nginx:1.25@sha256:abc",
            "nginx:",
            "nginxx",
            "nginx:1 2",
            "nginx@sha1:abc",
            "registry.example.com/dimtensor/server:4.1.0",
            "registryXexample.com/dimtensor/server",
            "localhost:5000/app:v1",
            "a.b",
            "aXb:1",
            "a\nb",
            "ab",
            "a.b:{{x}}",
            "nginx:1.25@sha256:abc@x",
        ];
        for name in names {
            let plain = NameMatcher::new(name).unwrap();
            assert!(matches!(plain, NameMatcher::Plain(_)), "{name}");
            let re = Regex::new(&format!("^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$")).unwrap();
            for image in images {
                assert_eq!(plain.is_match(image), re.is_match(image), "{name} vs {image:?}");
            }
        }
    }

    #[test]
    fn rules_apply_in_order_at_each_field_as_separate_passes_would() {
        let image = |name: &str, new_name: Option<&str>, new_tag: Option<&str>| Image {
            name: name.into(),
            new_name: new_name.map(Into::into),
            new_tag: new_tag.map(Into::into),
            digest: None,
        };
        let images =
            [image("nginx", Some("web"), None), image("web", None, Some("2")), image("nginx", None, Some("9"))];
        let rules: Vec<Rule> = images.iter().map(|i| (NameMatcher::new(&i.name).unwrap(), i)).collect();
        let mut body = serde_json::json!({"spec": {"template": {"spec": {
            "initContainers": [{"image": "nginx:1"}],
            "containers": [{"image": "nginx:1"}, {"image": "web:1"}, {"image": "other"}],
            "volumes": [{"name": "v", "image": {"reference": "nginx"}}]
        }}}});
        walk(&mut body, &rules);
        let pod = &body["spec"]["template"]["spec"];
        assert_eq!(pod["initContainers"][0]["image"], "web:2", "renamed by the first rule, retagged by the second");
        assert_eq!(pod["containers"][0]["image"], "web:2");
        assert_eq!(pod["containers"][1]["image"], "web:2");
        assert_eq!(pod["containers"][2]["image"], "other");
        assert_eq!(pod["volumes"][0]["image"]["reference"], "web:2");
    }

    #[test]
    fn splits_registry_ports_tags_and_digests() {
        assert_eq!(split("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(split("nginx:1.2"), ("nginx".into(), "1.2".into(), "".into()));
        assert_eq!(split("localhost:5000/app:v1"), ("localhost:5000/app".into(), "v1".into(), "".into()));
        assert_eq!(split("app@sha256:abc"), ("app".into(), "".into(), "sha256:abc".into()));
        assert_eq!(split("app:v1@sha256:abc"), ("app".into(), "v1".into(), "sha256:abc".into()));
    }
}
