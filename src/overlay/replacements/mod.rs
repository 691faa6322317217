//! `replacements`: copy a field of one resource into fields of others.
//!
//! Field paths are dot-separated, with `[key=value]` to pick a list element, a number for an
//! index and `*` for every element; `options.delimiter`/`index` replace one part of a string.
//! How paths are walked and how scalars are typed is in [`path`].

mod path;

use super::{Layer, OverlayError};
use crate::load::kustomization::{FieldOptions, Replacement, ReplacementEntry, ReplacementSource, Selector};
use crate::model::{Gvk, ResId, Resource, ResourceSet};
use path::Kind;
use serde_json::Value;

pub fn apply(layer: &Layer, set: &mut ResourceSet) -> Result<(), OverlayError> {
    let mut all = Vec::new();
    for entry in &layer.k.replacements {
        match entry {
            ReplacementEntry::Inline(r) => all.push(r.clone()),
            ReplacementEntry::Path { path } => {
                let (full, text) = layer.read_file("replacements", path)?;
                for doc in crate::yaml::parse_documents(&text, &full.display().to_string())? {
                    let list = if doc.is_array() { doc } else { Value::Array(vec![doc]) };
                    let parsed: Vec<Replacement> = serde_json::from_value(list).map_err(|e| {
                        OverlayError::Transformer { file: full.clone(), message: format!("not a replacement: {e}") }
                    })?;
                    all.extend(parsed);
                }
            }
        }
    }
    for (index, r) in all.iter().enumerate() {
        let err = |message: String| OverlayError::Replacement { file: layer.file.clone(), index, message };
        let value = source_value(set, &r.source).map_err(err)?;
        for t in &r.targets {
            let select = t.select.as_ref().ok_or_else(|| err("a target needs `select`".into()))?;
            let select_m = super::select::Matcher::new(select).map_err(err)?;
            let rejects =
                t.reject.iter().map(super::select::Matcher::new).collect::<Result<Vec<_>, _>>().map_err(err)?;
            let opts = t.options.clone().unwrap_or_default();
            let default_path = ["metadata.name".to_string()];
            let paths = if t.field_paths.is_empty() { &default_path[..] } else { &t.field_paths[..] };
            for res in set.iter_mut() {
                if !select_m.matches_any_id(res) || rejects.iter().any(|m| m.rejects(res)) {
                    continue;
                }
                for fp in paths {
                    set_field(res, fp, &value, &opts)
                        .map_err(|m| err(format!("target {} field `{fp}`: {m}", res.id())))?;
                    // The value is written into the existing node, which may be shared.
                    res.sync_shared();
                }
            }
        }
    }
    Ok(())
}

/// Writes `value` at every location `fp` selects in the resource (see [`path`]).
fn set_field(res: &mut Resource, fp: &str, value: &Value, opts: &FieldOptions) -> Result<(), String> {
    let create = opts.create.then_some(match value {
        Value::Object(_) => Kind::Map,
        Value::Array(_) => Kind::List,
        _ => Kind::Scalar,
    });
    let targets = path::find(res.body_mut(), &path::parse(fp), create)?;
    if targets.is_empty() {
        return Err(match opts.create {
            true => "cannot be found or created".to_string(),
            false => "does not exist (set options.create to add it)".to_string(),
        });
    }
    let source_text = path::scalar_text(value);
    let container = matches!(value, Value::Object(_) | Value::Array(_));
    for target in targets {
        let untyped = target.created || res.is_untyped(&target.at);
        let node = crate::model::shared::get_mut(res.body_mut(), &target.at).ok_or("vanished while being set")?;
        let mut text = source_text.clone();
        if let Some(d) = opts.delimiter.as_deref().filter(|d| !d.is_empty()) {
            let current = match target.created {
                true => Some(String::new()),
                false => path::scalar_text(node),
            };
            let mut parts: Vec<String> =
                current.ok_or("a delimiter needs a scalar target")?.split(d).map(str::to_string).collect();
            let v = text.unwrap_or_default();
            match usize::try_from(opts.index) {
                Ok(i) if i < parts.len() => parts[i] = v,
                Ok(_) => parts.push(v),
                Err(_) => parts.insert(0, v),
            }
            text = Some(parts.join(d));
        }
        // A scalar target takes only the text and keeps its type (none, if a replacement made
        // it); anything else takes the value.
        let text = text.as_deref().unwrap_or("");
        *node = match &*node {
            Value::Object(_) | Value::Array(_) => value.clone(),
            _ if container && target.created => value.clone(),
            _ if untyped => path::resolve_plain(text),
            current => path::retyped(current, text)?,
        };
        if untyped && !node.is_object() && !node.is_array() {
            res.mark_untyped(target.at);
        }
    }
    Ok(())
}

/// Exact (not regex) selection over current and previous ids; empty fields match anything.
fn selected_by(res: &Resource, s: &Selector) -> bool {
    let ids: Vec<ResId> = res.all_ids().collect();
    let gvk_ok = |g: &Gvk| {
        s.group.as_deref().is_none_or(|x| x.is_empty() || x == g.group)
            && s.version.as_deref().is_none_or(|x| x.is_empty() || x == g.version)
            && s.kind.as_deref().is_none_or(|x| x.is_empty() || x == g.kind)
    };
    let id_ok = ids.iter().any(|id| {
        gvk_ok(&id.gvk)
            && s.name.as_deref().is_none_or(|x| x.is_empty() || x == id.name)
            && s.namespace.as_deref().is_none_or(|x| x.is_empty() || effective(x) == id.effective_namespace())
    });
    let labels_ok = s
        .label_selector
        .as_deref()
        .filter(|l| !l.is_empty())
        .is_none_or(|l| super::select::LabelSelector::parse(l).is_ok_and(|sel| sel.matches(res.labels())));
    let ann_ok = s
        .annotation_selector
        .as_deref()
        .filter(|l| !l.is_empty())
        .is_none_or(|l| super::select::LabelSelector::parse(l).is_ok_and(|sel| sel.matches(res.annotations())));
    id_ok && labels_ok && ann_ok
}

fn effective(ns: &str) -> &str {
    if ns.is_empty() {
        "default"
    } else {
        ns
    }
}

fn source_value(set: &ResourceSet, src: &ReplacementSource) -> Result<Value, String> {
    let sel = Selector {
        group: src.group.clone(),
        version: src.version.clone(),
        kind: src.kind.clone(),
        name: src.name.clone(),
        namespace: src.namespace.clone(),
        ..Default::default()
    };
    let hits: Vec<&Resource> = set.iter().filter(|r| selected_by(r, &sel)).collect();
    let res = match hits.as_slice() {
        [one] => *one,
        [] => return Err(format!("the source {} selects nothing", describe(src))),
        many => return Err(format!("the source {} selects {} resources", describe(src), many.len())),
    };
    let fp = src.field_path.as_deref().filter(|f| !f.is_empty()).unwrap_or("metadata.name");
    let found = path::get(res.body(), &path::parse(fp))
        .filter(|v| {
            !v.is_null() && v.as_object().is_none_or(|m| !m.is_empty()) && v.as_array().is_none_or(|a| !a.is_empty())
        })
        .ok_or_else(|| format!("source {} has no field `{fp}`", res.id()))?;
    match src.options.as_ref().and_then(|o| o.delimiter.as_deref().filter(|d| !d.is_empty()).map(|d| (d, o.index))) {
        Some((d, idx)) => {
            let text = path::scalar_text(found)
                .ok_or_else(|| format!("source field `{fp}` is not a scalar, so it cannot be split"))?;
            let parts: Vec<&str> = text.split(d).collect();
            let part = usize::try_from(idx)
                .ok()
                .and_then(|i| parts.get(i))
                .ok_or_else(|| format!("source field `{fp}` has no part {idx} when split by `{d}`"))?;
            Ok(Value::String(part.to_string()))
        }
        None => Ok(found.clone()),
    }
}

fn describe(src: &ReplacementSource) -> String {
    let parts: Vec<String> = [
        ("kind", &src.kind),
        ("name", &src.name),
        ("namespace", &src.namespace),
        ("group", &src.group),
        ("version", &src.version),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
    .collect();
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res(body: Value) -> Resource {
        Resource::new(body, "t")
    }

    #[test]
    fn delimiter_replaces_one_part() {
        let mut r = res(json!({"image": "reg/app:1.0"}));
        let opts = FieldOptions { delimiter: Some(":".into()), index: 1, ..Default::default() };
        set_field(&mut r, "image", &json!("2.0"), &opts).unwrap();
        assert_eq!(r.body()["image"], "reg/app:2.0");
    }

    #[test]
    fn missing_fields_need_create() {
        let mut r = res(json!({"spec": {}}));
        assert!(set_field(&mut r, "spec.x", &json!(1), &FieldOptions::default()).is_err());
        let opts = FieldOptions { create: true, ..Default::default() };
        set_field(&mut r, "spec.x.y", &json!("1"), &opts).unwrap();
        assert_eq!(r.body()["spec"]["x"]["y"], 1, "a created scalar reads its text as YAML does");
        set_field(&mut r, "spec.x.y", &json!("worker"), &FieldOptions::default()).unwrap();
        assert_eq!(r.body()["spec"]["x"]["y"], "worker", "and keeps doing so when written again");
        set_field(&mut r, "spec.m", &json!({"a": 1}), &opts).unwrap();
        assert_eq!(r.body()["spec"]["m"], json!({"a": 1}));
        assert!(set_field(&mut res(json!({"n": 1})), "n", &json!("worker"), &FieldOptions::default()).is_err());
    }
}
