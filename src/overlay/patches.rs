//! The three patch fields: `patches`, and the older `patchesStrategicMerge` and `patchesJson6902`.
//!
//! A patch is a strategic-merge patch when its documents are resources, and a JSON 6902 patch when
//! it is a list of operations, detected the way Kustomize does. Untargeted strategic-merge patches
//! find their resource by the id in the patch (original id first, then current id).
//!
//! Deliberate difference from Kustomize: a patch that matches nothing is an error in a
//! Kustomization (a typo should not pass silently). In a Component it is allowed, because a
//! component is written to fit several bases (our `gpu` component patches whichever of
//! Deployment, Job or CronJob the base has).

use super::{patch_json6902, schema, strategic_merge, Layer, OverlayError};
use crate::load::kustomization::{Patch, PatchOptions, Selector};
use crate::model::shared::Seg;
use crate::model::{IdRef, ResId, Resource, ResourceSet};
use serde_json::Value;
use std::collections::HashMap;

/// A patch after parsing.
enum Parsed {
    StrategicMerge(Vec<Value>),
    Json6902(Vec<json_patch::PatchOperation>),
}

pub fn patches_field(layer: &Layer, set: &mut ResourceSet) -> Result<(), OverlayError> {
    let mut index = None;
    // Reading and parsing are independent per patch (and most of the work): done in parallel,
    // then applied in order, so errors come in the order a sequential run would meet them.
    let entries: Vec<_> = layer.k.patches.iter().enumerate().collect();
    let parsed = crate::parallel::map(&entries, |&(i, p)| {
        let (source, text) = patch_text(layer, p, "patches", i)?;
        let patch = parse(&text, &source)?;
        Ok::<_, OverlayError>((source, patch))
    });
    for ((_, p), parsed) in entries.into_iter().zip(parsed) {
        let (source, patch) = parsed?;
        match patch {
            Parsed::StrategicMerge(docs) => {
                apply_strategic_merge(layer, set, &docs, p.target.as_ref(), &p.options, &source, &mut index)?
            }
            Parsed::Json6902(ops) => {
                let target = p
                    .target
                    .as_ref()
                    .ok_or_else(|| OverlayError::patch(&source, "a JSON 6902 patch needs a `target`"))?;
                apply_json6902(layer, set, &ops, target, &source, true)?;
                index = None;
            }
        }
    }
    Ok(())
}

pub fn strategic_merge_field(layer: &Layer, set: &mut ResourceSet) -> Result<(), OverlayError> {
    let mut index = None;
    for (i, entry) in layer.k.patches_strategic_merge.iter().enumerate() {
        // An entry is a file path when such a file exists, and inline YAML otherwise.
        let is_inline = entry.contains('\n') || !layer.fs.is_file(&layer.dir.join(entry));
        let (source, text) = if is_inline {
            (format!("{}: patchesStrategicMerge[{i}]", layer.file.display()), entry.clone())
        } else {
            let (path, text) = layer.read_file("patchesStrategicMerge", entry)?;
            (path.display().to_string(), text)
        };
        match parse(&text, &source)? {
            Parsed::StrategicMerge(docs) => {
                apply_strategic_merge(layer, set, &docs, None, &PatchOptions::default(), &source, &mut index)?
            }
            Parsed::Json6902(_) => {
                return Err(OverlayError::patch(
                    &source,
                    "patchesStrategicMerge holds a JSON 6902 patch; move it to `patches` with a target",
                ))
            }
        }
    }
    Ok(())
}

pub fn json6902_field(layer: &Layer, set: &mut ResourceSet) -> Result<(), OverlayError> {
    for (i, p) in layer.k.patches_json6902.iter().enumerate() {
        let (source, text) = patch_text(layer, p, "patchesJson6902", i)?;
        let target =
            p.target.as_ref().ok_or_else(|| OverlayError::patch(&source, "patchesJson6902 entries need a `target`"))?;
        let ops = parse_json6902(&text, &source)?;
        apply_json6902(layer, set, &ops, target, &source, false)?;
    }
    Ok(())
}

/// `patchesJson6902` takes only JSON 6902 patches: one list of operations (YAML or JSON).
fn parse_json6902(text: &str, source: &str) -> Result<Vec<json_patch::PatchOperation>, OverlayError> {
    let mut docs = crate::yaml::parse_documents(text, source)?;
    match docs.as_mut_slice() {
        [Value::Array(ops)] => patch_json6902::parse_ops(std::mem::take(ops), source),
        [Value::Object(m)] if m.contains_key("op") => Err(OverlayError::patch(
            source,
            "a JSON 6902 patch is a list of operations, but this file holds one operation as a mapping: write it as a list item (`- op: ...`)",
        )),
        _ => Err(OverlayError::patch(
            source,
            "a JSON 6902 patch is a list of operations (`- op: add`, `path: /spec/x`, `value: ...`); patchesJson6902 takes nothing else",
        )),
    }
}

fn patch_text(layer: &Layer, p: &Patch, field: &'static str, i: usize) -> Result<(String, String), OverlayError> {
    match (&p.path, &p.patch) {
        (Some(_), Some(_)) => Err(OverlayError::patch(
            &format!("{}: {field}[{i}]", layer.file.display()),
            "give `path` or `patch`, not both",
        )),
        (None, None) => {
            Err(OverlayError::patch(&format!("{}: {field}[{i}]", layer.file.display()), "needs `path` or `patch`"))
        }
        (Some(path), None) => {
            let (full, text) = layer.read_file(field, path)?;
            Ok((full.display().to_string(), text))
        }
        (None, Some(inline)) => Ok((format!("{}: {field}[{i}] (inline)", layer.file.display()), inline.clone())),
    }
}

fn parse(text: &str, source: &str) -> Result<Parsed, OverlayError> {
    let docs = crate::yaml::parse_documents(text, source)?;
    match docs.as_slice() {
        [] => Err(OverlayError::patch(source, "the patch is empty")),
        [Value::Array(_)] => {
            let Some(Value::Array(ops)) = docs.into_iter().next() else { unreachable!("matched above") };
            patch_json6902::parse_ops(ops, source).map(Parsed::Json6902)
        }
        _ => {
            for (i, d) in docs.iter().enumerate() {
                if !d.is_object() {
                    return Err(OverlayError::patch(
                        source,
                        format!("document {} is neither a resource nor a list of JSON 6902 operations", i + 1),
                    ));
                }
                if d["kind"].as_str().unwrap_or("").is_empty()
                    || d["metadata"]["name"].as_str().unwrap_or("").is_empty()
                {
                    return Err(OverlayError::patch(
                        source,
                        format!("document {} needs `kind` and `metadata.name` (even when a target is given)", i + 1),
                    ));
                }
            }
            Ok(Parsed::StrategicMerge(docs))
        }
    }
}

fn target_text(t: &Selector) -> String {
    let fields = [
        ("group", &t.group),
        ("version", &t.version),
        ("kind", &t.kind),
        ("name", &t.name),
        ("namespace", &t.namespace),
        ("labelSelector", &t.label_selector),
        ("annotationSelector", &t.annotation_selector),
    ];
    let parts: Vec<String> = fields.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}"))).collect();
    format!("target {{{}}}", parts.join(", "))
}

/// Indices of the resources a target selects; none is an error outside components.
fn select(layer: &Layer, set: &ResourceSet, target: &Selector, source: &str) -> Result<Vec<usize>, OverlayError> {
    let m = super::select::Matcher::new(target).map_err(|e| OverlayError::patch(source, e))?;
    let hits: Vec<usize> = set.iter().enumerate().filter(|(_, r)| m.matches(r)).map(|(i, _)| i).collect();
    if hits.is_empty() && !layer.k.is_component() {
        return Err(OverlayError::PatchTargetNotFound { patch: source.to_string(), target: target_text(target) });
    }
    Ok(hits)
}

fn apply_strategic_merge(
    layer: &Layer,
    set: &mut ResourceSet,
    docs: &[Value],
    target: Option<&Selector>,
    opts: &PatchOptions,
    source: &str,
    index: &mut Option<IdIndex>,
) -> Result<(), OverlayError> {
    for doc in docs {
        let hits = match target {
            Some(t) => select(layer, set, t, source)?,
            None => vec![index.get_or_insert_with(|| IdIndex::build(set)).find(doc, source)?],
        };
        let mut deleted = Vec::new();
        for i in hits {
            let res = &mut set.as_mut_slice()[i];
            if merge_one(res, doc, opts, source)? {
                deleted.push(i);
            }
        }
        // Deletions shift positions and renames change ids: the index must be rebuilt.
        if !deleted.is_empty() || opts.allow_name_change || opts.allow_kind_change {
            *index = None;
        }
        for i in deleted.into_iter().rev() {
            set.remove(i);
        }
    }
    Ok(())
}

/// The resource an untargeted patch names: by original id, else by current id, exactly one.
/// Resources by original and by current id, so each untargeted patch finds its resource without
/// scanning the set (a scan per patch made many-patch overlays quadratic).
pub(super) struct IdIndex {
    by_org: HashMap<IdKey, Vec<usize>>,
    by_cur: HashMap<IdKey, Vec<usize>>,
}

/// Group, version, kind, effective namespace and name, each after its length: one allocation,
/// and no two ids alike.
type IdKey = String;

fn key(id: IdRef<'_>) -> IdKey {
    let parts = [id.group, id.version, id.kind, id.namespace, id.name];
    let mut k = String::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for p in parts {
        // `usize::to_string` is specialized; `write!` went through the formatter and cost more.
        k.push_str(&p.len().to_string());
        k.push(':');
        k.push_str(p);
    }
    k
}

impl IdIndex {
    fn build(set: &ResourceSet) -> IdIndex {
        let (mut by_org, mut by_cur) = (HashMap::new(), HashMap::new());
        for (i, r) in set.iter().enumerate() {
            let cur = key(r.id_ref());
            let org = r.prev_ids().first().map_or_else(|| cur.clone(), |o| key(o.borrowed()));
            by_org.entry(org).or_insert_with(Vec::new).push(i);
            by_cur.entry(cur).or_insert_with(Vec::new).push(i);
        }
        IdIndex { by_org, by_cur }
    }

    /// The resource an untargeted patch names: by original id, else by current id, exactly one.
    fn find(&self, doc: &Value, source: &str) -> Result<usize, OverlayError> {
        let want = ResId::of(doc);
        let k = key(want.borrowed());
        for map in [&self.by_org, &self.by_cur] {
            match map.get(&k).map(Vec::as_slice) {
                Some([one]) => return Ok(*one),
                Some(many) if many.len() > 1 => {
                    return Err(OverlayError::patch(source, format!("{want} matches {} resources", many.len())))
                }
                _ => continue,
            }
        }
        Err(OverlayError::PatchTargetNotFound { patch: source.to_string(), target: want.to_string() })
    }
}

/// Merges one patch document into one resource. Returns true when the patch deleted it.
fn merge_one(res: &mut Resource, doc: &Value, opts: &PatchOptions, source: &str) -> Result<bool, OverlayError> {
    match doc.get("$patch").and_then(Value::as_str) {
        Some("delete") => return Ok(true),
        Some("replace") => {
            let mut body = doc.clone();
            if let Some(m) = body.as_object_mut() {
                m.remove("$patch");
            }
            let (name, ns, kind) = (res.name().to_string(), res.namespace().to_string(), res.kind().to_string());
            *res.body_mut() = body;
            res.rebuilt();
            restore_identity(res, &name, &ns, &kind, opts);
            return Ok(false);
        }
        Some("merge") | None => {}
        Some(other) => {
            return Err(OverlayError::patch(
                source,
                format!("unknown `$patch: {other}` at the top level (expected merge, replace or delete)"),
            ))
        }
    }
    let (name, ns, kind) = (res.name().to_string(), res.namespace().to_string(), res.kind().to_string());
    if opts.allow_name_change || opts.allow_kind_change {
        res.store_previous_id();
    }
    // The patch takes the target's apiVersion (a targeted patch's header is a placeholder);
    // copied only when it differs, as most patches name their target exactly.
    let api_version = res.api_version().to_string();
    let patch = match doc.get("apiVersion").and_then(Value::as_str) == Some(api_version.as_str()) {
        true => std::borrow::Cow::Borrowed(doc),
        false => {
            let mut patch = doc.clone();
            if let Some(m) = patch.as_object_mut() {
                m.insert("apiVersion".into(), Value::String(api_version.clone()));
            }
            std::borrow::Cow::Owned(patch)
        }
    };
    let schema = schema::for_kind(&api_version, &kind);
    // Before the merge reorders lists: what kyaml's merge walks, it writes back as text.
    res.settle_untyped(|body, at| walked_by_merge(body, schema, at));
    let merged =
        res.reordering(|body, at| merge_anchors(body, schema, at), |body| strategic_merge::merge(body, &patch, schema));
    merged.map_err(|source_err| OverlayError::StrategicMerge {
        patch: source.to_string(),
        resource: ResId::new(crate::model::Gvk::from_api_version(&api_version, &kind), &ns, &name),
        source: source_err,
    })?;
    if res.body().as_object().is_none_or(|m| m.is_empty()) {
        return Ok(true);
    }
    super::annotations::check_shape(res.body()).map_err(|m| {
        OverlayError::patch(source, format!("the patch leaves {} with invalid metadata: {m}", res.id()))
    })?;
    // kyaml merges scalars into the existing nodes, so fields shared with others change with them.
    res.sync_shared();
    restore_identity(res, &name, &ns, &kind, opts);
    Ok(false)
}

/// Whether kyaml's strategic merge walks the field at `at`: every map on the way, and list
/// elements only of lists merged by key that hold their key (other lists are kept or replaced
/// whole, without a walk).
fn walked_by_merge(body: &Value, schema: Option<schema::SchemaRef>, at: &[Seg]) -> bool {
    let (mut node, mut schema, mut merge_key) = (body, schema, None);
    for seg in at {
        match (seg, node) {
            (Seg::Key(k), Value::Object(m)) => {
                let field = schema.and_then(|s| s.field(k));
                merge_key = field.and_then(|f| f.merge_key.filter(|_| f.strategy.merge));
                schema = field.map(|f| f.schema);
                let Some(next) = m.get(k) else { return false };
                node = next;
            }
            (Seg::Index(i), Value::Array(a)) => {
                let Some(element) = a.get(*i).filter(|e| merge_key.is_some_and(|k| e.get(k).is_some())) else {
                    return false;
                };
                schema = schema.and_then(|s| s.items());
                merge_key = None;
                node = element;
            }
            _ => return false,
        }
    }
    true
}

/// For each step of `at`: the merge key and value of a list element in a list merged by key (the
/// merge may move it), `None` elsewhere.
fn merge_anchors(body: &Value, schema: Option<schema::SchemaRef>, at: &[Seg]) -> crate::model::shared::Anchors {
    let (mut node, mut schema, mut merge_key) = (Some(body), schema, None);
    at.iter()
        .map(|seg| {
            let here = node;
            node = None;
            match (seg, here) {
                (Seg::Key(k), Some(Value::Object(m))) => {
                    let field = schema.and_then(|s| s.field(k));
                    merge_key = field.and_then(|f| f.merge_key.filter(|_| f.strategy.merge));
                    schema = field.map(|f| f.schema);
                    node = m.get(k);
                    None
                }
                (Seg::Index(i), Some(Value::Array(a))) => {
                    let element = a.get(*i);
                    let anchor = merge_key.and_then(|k| Some((k.to_string(), element?.get(k)?.clone())));
                    schema = schema.and_then(|s| s.items());
                    merge_key = None;
                    node = element;
                    anchor
                }
                _ => None,
            }
        })
        .collect()
}

fn restore_identity(res: &mut Resource, name: &str, ns: &str, kind: &str, opts: &PatchOptions) {
    if !opts.allow_kind_change {
        if let Some(m) = res.body_mut().as_object_mut() {
            m.insert("kind".into(), Value::String(kind.to_string()));
        }
    }
    if !opts.allow_name_change {
        res.set_name(name);
    }
    if ns.is_empty() {
        res.metadata_mut().remove("namespace");
    } else {
        res.set_namespace(ns);
    }
}

/// `patches` (Kustomize's PatchTransformer) records the resource's id before a JSON patch, so
/// name references follow a renaming patch; `patchesJson6902` (its older transformer) does not.
fn apply_json6902(
    layer: &Layer,
    set: &mut ResourceSet,
    ops: &[json_patch::PatchOperation],
    target: &Selector,
    source: &str,
    record_id: bool,
) -> Result<(), OverlayError> {
    for i in select(layer, set, target, source)? {
        let res = &mut set.as_mut_slice()[i];
        if record_id {
            res.store_previous_id();
        }
        res.rebuilt();
        patch_json6902::apply(res, ops, source)?;
    }
    Ok(())
}
