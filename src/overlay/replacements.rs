//! `replacements`: copy a field of one resource into fields of others.
//!
//! Field paths are dot-separated, with `[key=value]` to pick a list element, a number for an
//! index and `*` for every element; `options.delimiter`/`index` replace one part of a string.

use super::{Layer, OverlayError};
use crate::load::kustomization::{FieldOptions, Replacement, ReplacementEntry, ReplacementSource, Selector};
use crate::model::{Gvk, ResId, Resource, ResourceSet};
use serde_json::{Map, Value};

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
            for res in set.iter_mut() {
                if !selected_by(res, select) || t.reject.iter().any(|rej| selected_by(res, rej)) {
                    continue;
                }
                for fp in &t.field_paths {
                    let opts = t.options.clone().unwrap_or_default();
                    set_path(res.body_mut(), &parse_path(fp), &value, &opts)
                        .map_err(|m| err(format!("target {} field `{fp}`: {m}", res.id())))?;
                }
            }
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
    let fp = src.field_path.as_deref().unwrap_or("metadata.name");
    let found =
        get_path(res.body(), &parse_path(fp)).ok_or_else(|| format!("source {} has no field `{fp}`", res.id()))?;
    match src.options.as_ref().and_then(|o| o.delimiter.as_deref().map(|d| (d, o.index))) {
        Some((d, idx)) => {
            let text =
                found.as_str().ok_or_else(|| format!("source field `{fp}` is not a string, so it cannot be split"))?;
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

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
    Match(String, String),
    All,
}

fn parse_path(path: &str) -> Vec<Step> {
    let mut raw = Vec::new();
    let (mut cur, mut depth) = (String::new(), 0);
    for c in path.chars() {
        match c {
            '[' => {
                if depth == 0 && !cur.is_empty() {
                    raw.push(std::mem::take(&mut cur));
                }
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
            }
            '.' if depth == 0 => {
                if !cur.is_empty() {
                    raw.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        raw.push(cur);
    }
    raw.into_iter()
        .map(|seg| {
            if let Some(inner) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                match inner.split_once('=') {
                    Some((k, v)) => Step::Match(k.to_string(), v.to_string()),
                    None => Step::Key(inner.to_string()),
                }
            } else if seg == "*" {
                Step::All
            } else if let Ok(i) = seg.parse::<usize>() {
                Step::Index(i)
            } else {
                Step::Key(seg)
            }
        })
        .collect()
}

fn get_path<'v>(v: &'v Value, path: &[Step]) -> Option<&'v Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(v);
    };
    let next = match (first, v) {
        (Step::Key(k), Value::Object(m)) => m.get(k)?,
        (Step::Index(i), Value::Array(a)) => a.get(*i)?,
        (Step::Match(k, want), Value::Array(a)) => {
            a.iter().find(|e| e.get(k).is_some_and(|x| x.as_str() == Some(want) || x.to_string() == *want))?
        }
        (Step::All, Value::Array(a)) => a.first()?,
        _ => return None,
    };
    get_path(next, rest)
}

fn set_path(v: &mut Value, path: &[Step], value: &Value, opts: &FieldOptions) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        *v = match opts.delimiter.as_deref() {
            Some(d) => {
                let current = v.as_str().unwrap_or("").to_string();
                let mut parts: Vec<String> = current.split(d).map(str::to_string).collect();
                let replacement = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                match usize::try_from(opts.index) {
                    Ok(i) if i < parts.len() => parts[i] = replacement,
                    Ok(_) => parts.push(replacement),
                    Err(_) => parts.insert(0, replacement),
                }
                Value::String(parts.join(d))
            }
            None => value.clone(),
        };
        return Ok(());
    };
    match (first, v) {
        (Step::Key(k), Value::Object(m)) => {
            if !m.contains_key(k) {
                if !opts.create {
                    return Err(format!("`{k}` does not exist (set options.create to add it)"));
                }
                m.insert(k.clone(), if rest.is_empty() { Value::Null } else { Value::Object(Map::new()) });
            }
            set_path(m.get_mut(k).expect("just ensured"), rest, value, opts)
        }
        (Step::Index(i), Value::Array(a)) => match a.get_mut(*i) {
            Some(e) => set_path(e, rest, value, opts),
            None => Err(format!("index {i} is past the end of the list")),
        },
        (Step::Match(k, want), Value::Array(a)) => {
            let mut hit = false;
            for e in a.iter_mut().filter(|e| e.get(k).is_some_and(|x| x.as_str() == Some(want))) {
                hit = true;
                set_path(e, rest, value, opts)?;
            }
            if hit {
                Ok(())
            } else {
                Err(format!("no list element has {k}={want}"))
            }
        }
        (Step::All, Value::Array(a)) => a.iter_mut().try_for_each(|e| set_path(e, rest, value, opts)),
        (step, _) => Err(format!("{step:?} does not fit the document's shape here")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_with_selectors_and_indexes() {
        assert_eq!(
            parse_path("spec.template.spec.containers.[name=app].image"),
            vec![
                Step::Key("spec".into()),
                Step::Key("template".into()),
                Step::Key("spec".into()),
                Step::Key("containers".into()),
                Step::Match("name".into(), "app".into()),
                Step::Key("image".into())
            ]
        );
        assert_eq!(
            parse_path("metadata.annotations.[a.b/c]"),
            vec![Step::Key("metadata".into()), Step::Key("annotations".into()), Step::Key("a.b/c".into())]
        );
        assert_eq!(parse_path("spec.ports.0.port")[2], Step::Index(0));
    }

    #[test]
    fn delimiter_replaces_one_part() {
        let mut v = json!({"image": "reg/app:1.0"});
        let opts = FieldOptions { delimiter: Some(":".into()), index: 1, ..Default::default() };
        set_path(&mut v, &parse_path("image"), &json!("2.0"), &opts).unwrap();
        assert_eq!(v["image"], "reg/app:2.0");
    }

    #[test]
    fn missing_fields_need_create() {
        let mut v = json!({"spec": {}});
        assert!(set_path(&mut v, &parse_path("spec.x"), &json!(1), &FieldOptions::default()).is_err());
        let opts = FieldOptions { create: true, ..Default::default() };
        set_path(&mut v, &parse_path("spec.x.y"), &json!(1), &opts).unwrap();
        assert_eq!(v["spec"]["x"]["y"], 1);
    }
}
