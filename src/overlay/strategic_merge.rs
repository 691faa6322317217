//! Strategic merge patch, as `kubectl kustomize` (Kustomize v5.8.1) applies it to built-in kinds,
//! with the apply-side directives Kustomize lacks implemented as `kubectl patch` (apimachinery).
//!
//! Merge rules come from [`super::schema`] (derived from the OpenAPI schema). Without a schema
//! (CRDs, unknown kinds) the patch is a JSON merge patch (RFC 7386): maps merge, lists are
//! replaced, `null` deletes; `$patch: delete|replace|merge` on maps is still honoured, as
//! Kustomize does. `original` is mutated in place and the patch is only read.
//!
//! Rules: maps merge recursively and `null` deletes a key. Lists with patch strategy `merge`
//! and a merge key merge element-wise; the result lists the patch's elements in patch order,
//! then the untouched original elements in their order (Kustomize's order). Primitive merge
//! lists (finalizers) are a union in that same order, deduplicated. Other lists are replaced.
//! `$patch: delete|replace` work on maps and list elements; `$retainKeys`,
//! `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` follow apimachinery. No
//! directive key ever reaches the result.
//!
//! Differences, each a case in the test table (`gen_tests.py --show '<case name>'` in the SMP
//! harness prints what `kubectl kustomize` and `kubectl patch --local` make of it):
//!
//! Kustomize and apimachinery disagree on ordinary merging; we follow Kustomize:
//! - Order: patch elements come first. Merging `[c]` into `[a, b, c]` gives Kustomize
//!   `[c, a, b]`, apimachinery `[a, b, c]`; the same for primitive lists (finalizers). Lists
//!   with a compound key where some element sets all of it (a port with `protocol`) keep the
//!   original order instead, after the elements the patch adds.
//! - Compound keys (`x-kubernetes-list-map-keys`, ports `[containerPort, protocol]`): Kustomize
//!   keeps `80/TCP` and `80/UDP` apart; apimachinery merges them by port alone.
//! - `replace` strategy on a map (PodDisruptionBudget `spec.selector`): Kustomize merges.
//! - `$patch: delete` on a map removes the key (apimachinery leaves `{}`); `$patch: replace`
//!   on an absent map adds it and drops its nulls (apimachinery drops it / keeps the nulls);
//!   `$patch: merge` is accepted (apimachinery errors); directives inside an element the patch
//!   adds are applied (apimachinery copies them); `[{$patch: replace}, c]` replaces a
//!   primitive list (apimachinery errors); a new primitive list is deduplicated.
//! - Root `$patch: delete` deletes the object: `original` becomes `null`, the caller drops it.
//!
//! Kustomize misbehaves; we follow apimachinery:
//! - Replacing a quoted scalar keeps its quotes: `maxSurge: "25%"` patched with `2` becomes
//!   the string `"2"`. We take the patch value as it is.
//! - Compound key set on one side only: Kustomize silently drops the patch element and ignores
//!   `$patch: delete` (kustomize#4752, #3620). We match on the keys both sides set, preferring
//!   an exact match; ordering still follows Kustomize.
//! - Duplicate keys in the patch: Kustomize keeps one element; we merge them in order.
//! - `[c, {$patch: replace}]` for a list the original lacks: Kustomize emits `[{$patch: replace}]`.
//! - `$retainKeys`, `$setElementOrder/…`, `$deleteFromPrimitiveList/…`: Kustomize copies them
//!   into the output; we apply them as `kubectl patch` does.
//!
//! Both misbehave or disagree; our choice:
//! - Errors where they produce output: map/list/scalar mismatch (apimachinery takes the patch,
//!   Kustomize errors; we also check the schema when the original lacks the field); patch
//!   element without merge key or with `null` (Kustomize empties the list); a `$patch: replace`
//!   element that carries fields (Kustomize ignores the patch, apimachinery empties the list);
//!   `$patch` inside a list that is replaced (tolerations, args, CRD lists: both copy it
//!   verbatim); `$retainKeys` on a field without retainKeys strategy (apimachinery applies
//!   it); `$setElementOrder` on a list without merge strategy (kubectl panics); the directive
//!   trio without a schema or with malformed values (Kustomize copies them).
//! - Duplicate keys in the original: we merge into the first and keep the others (Kustomize
//!   collapses them, kustomize#3426). Original elements without the merge key are kept
//!   (Kustomize drops the list, apimachinery errors). A new list with duplicate keys merges
//!   them in order (Kustomize keeps the last, apimachinery keeps all).
//! - Root `$patch: replace` replaces the object (Kustomize ignores the whole patch).
//! - The directive trio on a value the original lacks: apimachinery copies `$retainKeys` and
//!   friends into the output; we drop them.

use std::collections::{HashMap, HashSet};

use crate::model::fields;
use serde_json::{Map, Value};

use super::schema::{FieldSchema, PatchStrategy, SchemaKind, SchemaRef};

/// Why a patch could not be applied; `path` locates the problem, e.g.
/// `spec.template.spec.containers[name=app].ports[0]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmpError {
    /// The patch (or the original) holds a different kind of value than the other side or the
    /// schema expects.
    #[error("{path}: found {found} where {expected} is expected")]
    TypeMismatch { path: String, expected: &'static str, found: &'static str },
    /// `$patch` with a value other than `merge`, `replace` or `delete`.
    #[error("{path}: unknown $patch directive {value} (expected merge, replace or delete)")]
    UnknownDirective { path: String, value: String },
    /// An element of a merge-keyed list lacks the key (or has it `null`).
    #[error("{path}: list element has no value for merge key `{key}`")]
    MissingMergeKey { path: String, key: String },
    /// A directive used where it cannot apply.
    #[error("{path}: {directive} is not allowed here: {reason}")]
    MisplacedDirective { path: String, directive: String, reason: &'static str },
    /// A `$` key that is neither a directive nor a field of the object (`$retainkeys`).
    #[error("{path}: unknown directive `{key}` (the directives are $patch, $retainKeys, $setElementOrder/<list> and $deleteFromPrimitiveList/<list>)")]
    UnknownDirectiveKey { path: String, key: String },
    /// A directive whose value is malformed.
    #[error("{path}: invalid {directive}: {reason}")]
    InvalidDirective { path: String, directive: String, reason: String },
    /// The patch sets a key that its own `$retainKeys` list would drop.
    #[error("{path}: key `{key}` is patched but missing from $retainKeys")]
    RetainKeysViolation { path: String, key: String },
    /// Nesting beyond 256 levels; guards the stack against hostile input.
    #[error("{path}: nested deeper than {MAX_DEPTH} levels")]
    TooDeep { path: String },
}

impl SmpError {
    /// Where in the document the problem is, e.g. `spec.template.spec.containers[name=app]`.
    pub fn path(&self) -> &str {
        match self {
            SmpError::TypeMismatch { path, .. }
            | SmpError::UnknownDirective { path, .. }
            | SmpError::MissingMergeKey { path, .. }
            | SmpError::MisplacedDirective { path, .. }
            | SmpError::UnknownDirectiveKey { path, .. }
            | SmpError::InvalidDirective { path, .. }
            | SmpError::RetainKeysViolation { path, .. }
            | SmpError::TooDeep { path } => path,
        }
    }
}

/// Deepest nesting merged; far beyond any real manifest.
const MAX_DEPTH: usize = 256;

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER: &str = "$setElementOrder/";
const DELETE_PRIMITIVES: &str = "$deleteFromPrimitiveList/";

/// Merge `patch` into `original` following Kubernetes strategic-merge-patch rules for the given
/// schema; with `schema == None` (CRDs, unknown kinds) use JSON merge patch (RFC 7386)
/// semantics: maps merge, lists replace, null deletes.
///
/// A root-level `$patch: delete` leaves `original` as `Value::Null`: the caller should drop the
/// resource, as Kustomize does.
pub fn merge(original: &mut Value, patch: &Value, schema: Option<SchemaRef<'_>>) -> Result<(), SmpError> {
    let root = Path { parent: None, seg: Seg::Root };
    if !patch.is_object() {
        return Err(mismatch(&root, "an object", patch));
    }
    let ctx = Ctx { schema, strategy: PatchStrategy::default(), keys: None };
    if merge_value(original, patch, ctx, &root, 0)? == Action::Remove {
        *original = Value::Null;
    }
    Ok(())
}

/// What the parent must do with the merged value.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    Keep,
    Remove,
}

enum Directive {
    Merge,
    Replace,
    Delete,
}

/// Merge key names of a list: the patch merge key, plus the other `x-kubernetes-list-map-keys`.
#[derive(Clone, Copy)]
struct Keys<'s> {
    primary: &'s str,
    compound: &'s [&'s str],
}

impl<'s> Keys<'s> {
    fn names(self) -> impl Iterator<Item = &'s str> {
        let primary = self.primary;
        std::iter::once(primary).chain(self.compound.iter().copied().filter(move |k| *k != primary))
    }
}

/// The schema position being merged and the patch metadata of the field holding it.
#[derive(Clone, Copy)]
struct Ctx<'s> {
    schema: Option<SchemaRef<'s>>,
    strategy: PatchStrategy,
    keys: Option<Keys<'s>>,
}

impl<'s> Ctx<'s> {
    const NONE: Ctx<'static> =
        Ctx { schema: None, strategy: PatchStrategy { merge: false, replace: false, retain_keys: false }, keys: None };

    fn from_field(f: FieldSchema<'s>) -> Self {
        let keys = f.merge_key.map(|primary| Keys {
            primary,
            compound: if f.list_map_keys.len() > 1 && f.list_map_keys.iter().any(|k| *k == primary) {
                f.list_map_keys
            } else {
                &[]
            },
        });
        Ctx { schema: Some(f.schema), strategy: f.strategy, keys }
    }

    fn child(&self, name: &str) -> Ctx<'s> {
        self.schema.and_then(|s| s.field(name)).map_or(Ctx::NONE, Ctx::from_field)
    }

    /// Context of a list element; `$retainKeys` is allowed in it iff the list field allows it.
    fn element(&self) -> Ctx<'s> {
        let strategy = PatchStrategy { retain_keys: self.strategy.retain_keys, ..PatchStrategy::default() };
        Ctx { schema: self.schema.and_then(|s| s.items()), strategy, keys: None }
    }
}

/// A JSON path, rendered only when an error needs it.
#[derive(Clone, Copy)]
struct Path<'p> {
    parent: Option<&'p Path<'p>>,
    seg: Seg<'p>,
}

#[derive(Clone, Copy)]
enum Seg<'p> {
    Root,
    Field(&'p str),
    Index(usize),
    Elem(Keys<'p>, &'p Map<String, Value>),
}

impl<'p> Path<'p> {
    fn field<'q>(&'q self, name: &'q str) -> Path<'q> {
        Path { parent: Some(self), seg: Seg::Field(name) }
    }
    fn index(&self, i: usize) -> Path<'_> {
        Path { parent: Some(self), seg: Seg::Index(i) }
    }
    fn elem<'q>(&'q self, keys: Keys<'q>, elem: &'q Map<String, Value>) -> Path<'q> {
        Path { parent: Some(self), seg: Seg::Elem(keys, elem) }
    }

    fn render(&self) -> String {
        let mut segs = Vec::new();
        let mut cur = Some(self);
        while let Some(p) = cur {
            segs.push(p.seg);
            cur = p.parent;
        }
        let mut out = String::new();
        for seg in segs.iter().rev() {
            match seg {
                Seg::Root => {}
                Seg::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
                Seg::Elem(keys, elem) => {
                    let parts: Vec<String> = keys
                        .names()
                        .filter_map(|k| elem.get(k).filter(|v| !v.is_null()).map(|v| format!("{k}={}", scalar_text(v))))
                        .collect();
                    out.push_str(&format!("[{}]", parts.join(",")));
                }
            }
        }
        if out.is_empty() {
            "(root)".to_string()
        } else {
            out
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "an object",
        Value::Array(_) => "a list",
        Value::Null => "null",
        _ => "a scalar",
    }
}

fn mismatch(path: &Path<'_>, expected: &'static str, found: &Value) -> SmpError {
    SmpError::TypeMismatch { path: path.render(), expected, found: kind_name(found) }
}

fn misplaced(path: &Path<'_>, directive: &str, reason: &'static str) -> SmpError {
    SmpError::MisplacedDirective { path: path.render(), directive: directive.to_string(), reason }
}

fn invalid(path: &Path<'_>, directive: &str, reason: impl Into<String>) -> SmpError {
    SmpError::InvalidDirective { path: path.render(), directive: directive.to_string(), reason: reason.into() }
}

fn is_directive_key(k: &str) -> bool {
    k == PATCH || k == RETAIN_KEYS || k.starts_with(SET_ORDER) || k.starts_with(DELETE_PRIMITIVES)
}

fn directive(m: &Map<String, Value>, path: &Path<'_>) -> Result<Option<Directive>, SmpError> {
    match fields::get(m, PATCH) {
        None => Ok(None),
        Some(Value::String(s)) if s == "merge" => Ok(Some(Directive::Merge)),
        Some(Value::String(s)) if s == "replace" => Ok(Some(Directive::Replace)),
        Some(Value::String(s)) if s == "delete" => Ok(Some(Directive::Delete)),
        Some(other) => Err(SmpError::UnknownDirective { path: path.render(), value: other.to_string() }),
    }
}

/// Checks the patch value's shape against the schema, when there is one.
fn check_shape(ctx: Ctx<'_>, patch: &Value, path: &Path<'_>) -> Result<(), SmpError> {
    let Some(schema) = ctx.schema else { return Ok(()) };
    let expected = match (schema.kind(), patch) {
        (SchemaKind::Any, _) | (_, Value::Null) => return Ok(()),
        (SchemaKind::Object | SchemaKind::Map, Value::Object(_)) => return Ok(()),
        (SchemaKind::List, Value::Array(_)) => return Ok(()),
        (SchemaKind::Scalar, Value::String(_) | Value::Number(_) | Value::Bool(_)) => return Ok(()),
        (SchemaKind::Object | SchemaKind::Map, _) => "an object",
        (SchemaKind::List, _) => "a list",
        (SchemaKind::Scalar, _) => "a scalar",
    };
    Err(mismatch(path, expected, patch))
}

fn merge_value(
    target: &mut Value,
    patch: &Value,
    ctx: Ctx<'_>,
    path: &Path<'_>,
    depth: usize,
) -> Result<Action, SmpError> {
    if depth > MAX_DEPTH {
        return Err(SmpError::TooDeep { path: path.render() });
    }
    check_shape(ctx, patch, path)?;
    match patch {
        Value::Null => Ok(Action::Remove),
        Value::Object(pm) => {
            match directive(pm, path)? {
                Some(Directive::Delete) => return Ok(Action::Remove),
                Some(Directive::Replace) => *target = Value::Object(Map::new()),
                Some(Directive::Merge) | None => {}
            }
            if target.is_null() {
                *target = Value::Object(Map::new());
            }
            let Value::Object(tm) = target else { return Err(mismatch(path, kind_name(target), patch)) };
            merge_map(tm, pm, ctx, path, depth)?;
            Ok(Action::Keep)
        }
        Value::Array(pl) => {
            if target.is_null() {
                *target = Value::Array(Vec::new());
            }
            let Value::Array(tl) = target else { return Err(mismatch(path, kind_name(target), patch)) };
            merge_list(tl, pl, ctx, path, depth)?;
            Ok(Action::Keep)
        }
        scalar => {
            if target.is_object() || target.is_array() {
                return Err(mismatch(path, kind_name(target), patch));
            }
            *target = scalar.clone();
            Ok(Action::Keep)
        }
    }
}

/// A value for a key the original lacks: the patch merged into nothing, so its directives are
/// applied and its nulls dropped. `None` when nothing remains (null, `$patch: delete`).
fn build_new(patch: &Value, ctx: Ctx<'_>, path: &Path<'_>, depth: usize) -> Result<Option<Value>, SmpError> {
    let mut v = Value::Null;
    Ok(match merge_value(&mut v, patch, ctx, path, depth)? {
        Action::Keep => Some(v),
        Action::Remove => None,
    })
}

fn merge_map(
    tm: &mut Map<String, Value>,
    pm: &Map<String, Value>,
    ctx: Ctx<'_>,
    path: &Path<'_>,
    depth: usize,
) -> Result<(), SmpError> {
    if let Some(keep) = pm.get(RETAIN_KEYS) {
        apply_retain_keys(tm, pm, keep, ctx, path)?;
    }
    let mut orders = Vec::new();
    for (k, v) in pm {
        if let Some(list) = k.strip_prefix(SET_ORDER) {
            orders.push(prepare_set_order(tm, list, v, pm.get(list), ctx, &path.field(k))?);
        }
    }
    for (k, pv) in pm {
        if is_directive_key(k) {
            continue;
        }
        let fctx = ctx.child(k);
        // A misspelt directive would otherwise be copied into the object as a field.
        if k.starts_with('$') && fctx.schema.is_none() && ctx.schema.is_some_and(|s| s.kind() == SchemaKind::Object) {
            return Err(SmpError::UnknownDirectiveKey { path: path.render(), key: k.clone() });
        }
        let fpath = path.field(k);
        match fields::get_mut(tm, k) {
            Some(existing) => {
                if merge_value(existing, pv, fctx, &fpath, depth + 1)? == Action::Remove {
                    tm.shift_remove(k);
                }
            }
            None => {
                if let Some(v) = build_new(pv, fctx, &fpath, depth + 1)? {
                    tm.insert(k.clone(), v);
                }
            }
        }
    }
    for order in orders {
        order.apply(tm, path)?;
    }
    for (k, v) in pm {
        if let Some(list) = k.strip_prefix(DELETE_PRIMITIVES) {
            delete_from_primitive_list(tm, list, v, ctx, path, k)?;
        }
    }
    Ok(())
}

fn merge_list(tl: &mut Vec<Value>, pl: &[Value], ctx: Ctx<'_>, path: &Path<'_>, depth: usize) -> Result<(), SmpError> {
    if ctx.schema.is_some() && ctx.strategy.merge {
        return match ctx.keys {
            Some(keys) => merge_keyed_list(tl, pl, keys, ctx.element(), path, depth),
            None => merge_primitive_list(tl, pl, path),
        };
    }
    for (i, item) in pl.iter().enumerate() {
        reject_directives(item, &path.index(i), depth + 1)?;
    }
    *tl = pl.to_vec();
    Ok(())
}

/// A replaced list is copied verbatim, so a directive inside it could only leak into the output.
fn reject_directives(v: &Value, path: &Path<'_>, depth: usize) -> Result<(), SmpError> {
    if depth > MAX_DEPTH {
        return Err(SmpError::TooDeep { path: path.render() });
    }
    match v {
        Value::Object(m) => {
            if let Some(k) = m.keys().find(|k| is_directive_key(k)) {
                return Err(misplaced(path, k, "this list has no merge strategy and is replaced as a whole"));
            }
            m.iter().try_for_each(|(k, v)| reject_directives(v, &path.field(k), depth + 1))
        }
        Value::Array(a) => a.iter().enumerate().try_for_each(|(i, v)| reject_directives(v, &path.index(i), depth + 1)),
        _ => Ok(()),
    }
}

/// Hashable identity of a scalar (typed: `80` and `"80"` differ, as in apimachinery).
fn scalar_id(v: &Value) -> String {
    v.to_string()
}

/// Union of a primitive merge list: patch items first, then the original's others, deduplicated.
fn merge_primitive_list(tl: &mut Vec<Value>, pl: &[Value], path: &Path<'_>) -> Result<(), SmpError> {
    let mut replace = false;
    let mut items = Vec::with_capacity(pl.len());
    for (i, p) in pl.iter().enumerate() {
        let ipath = path.index(i);
        match p {
            Value::Object(m) if m.len() == 1 && matches!(directive(m, &ipath)?, Some(Directive::Replace)) => {
                replace = true
            }
            Value::Object(_) | Value::Array(_) => return Err(mismatch(&ipath, "a scalar", p)),
            v => items.push(v),
        }
    }
    if let Some(i) = tl.iter().position(|o| o.is_object() || o.is_array()) {
        return Err(mismatch(&path.index(i), "a scalar", &tl[i]));
    }
    let base = if replace { Vec::new() } else { std::mem::take(tl) };
    let mut seen = HashSet::with_capacity(items.len() + base.len());
    let mut out = Vec::with_capacity(items.len() + base.len());
    for p in items {
        if seen.insert(scalar_id(p)) {
            out.push(p.clone());
        }
    }
    for o in base {
        if seen.insert(scalar_id(&o)) {
            out.push(o);
        }
    }
    *tl = out;
    Ok(())
}

#[derive(PartialEq, Eq)]
enum Match {
    No,
    Partial,
    Exact,
}

/// How `a` and `b` match on the merge keys: keys set on both must be equal; a key set on only
/// one side makes the match partial (Kustomize would drop such a patch; see module docs).
fn key_match(keys: Keys<'_>, a: &Map<String, Value>, b: &Map<String, Value>) -> Match {
    let mut partial = false;
    for k in keys.names() {
        match (a.get(k).filter(|v| !v.is_null()), b.get(k).filter(|v| !v.is_null())) {
            (Some(x), Some(y)) if x != y => return Match::No,
            (Some(_), None) | (None, Some(_)) => partial = true,
            _ => {}
        }
    }
    if partial {
        Match::Partial
    } else {
        Match::Exact
    }
}

/// Elements indexed by the primary merge key, so lookups stay linear-ish on long lists.
struct KeyIndex {
    by_key: HashMap<String, Vec<usize>>,
}

impl KeyIndex {
    fn new() -> Self {
        KeyIndex { by_key: HashMap::new() }
    }
    fn add(&mut self, keys: Keys<'_>, elem: &Value, i: usize) {
        if let Some(k) = elem.get(keys.primary).filter(|v| !v.is_null()) {
            self.by_key.entry(scalar_id(k)).or_default().push(i);
        }
    }
    /// The best live candidate for `probe`: the first exact match, else the first partial one.
    fn find(&self, keys: Keys<'_>, probe: &Map<String, Value>, slots: &[Option<Value>]) -> Option<usize> {
        let id = scalar_id(probe.get(keys.primary)?);
        let mut partial = None;
        for &i in self.by_key.get(&id)? {
            let Some(Value::Object(m)) = &slots[i] else { continue };
            match key_match(keys, probe, m) {
                Match::Exact => return Some(i),
                Match::Partial => partial = partial.or(Some(i)),
                Match::No => {}
            }
        }
        partial
    }
}

fn merge_keyed_list(
    tl: &mut Vec<Value>,
    pl: &[Value],
    keys: Keys<'_>,
    ectx: Ctx<'_>,
    path: &Path<'_>,
    depth: usize,
) -> Result<(), SmpError> {
    let mut replace = false;
    let mut deletes = Vec::new();
    let mut merges = Vec::with_capacity(pl.len());
    for (i, p) in pl.iter().enumerate() {
        let ipath = path.index(i);
        let Value::Object(pm) = p else { return Err(mismatch(&ipath, "an object", p)) };
        let d = directive(pm, &ipath)?;
        if let Some(Directive::Replace) = d {
            if pm.len() > 1 {
                return Err(misplaced(
                    &ipath,
                    PATCH,
                    "`$patch: replace` in a list element replaces the whole list; give it an element of its own",
                ));
            }
            replace = true;
            continue;
        }
        if pm.get(keys.primary).map_or(true, Value::is_null) {
            return Err(SmpError::MissingMergeKey { path: ipath.render(), key: keys.primary.to_string() });
        }
        match d {
            Some(Directive::Delete) => deletes.push(pm),
            _ => merges.push(pm),
        }
    }
    let original = if replace { Vec::new() } else { std::mem::take(tl) };
    if let Some(i) = original.iter().position(|o| !o.is_object()) {
        return Err(mismatch(&path.index(i), "an object", &original[i]));
    }
    // Original elements in slots (None once deleted or moved out), then elements the patch adds.
    let mut slots: Vec<Option<Value>> = original.into_iter().map(Some).collect();
    let mut index = KeyIndex::new();
    for (i, s) in slots.iter().enumerate() {
        if let Some(v) = s {
            index.add(keys, v, i);
        }
    }
    if !replace {
        for pm in deletes {
            while let Some(i) = index.find(keys, pm, &slots) {
                slots[i] = None;
            }
        }
    }
    let first_new = slots.len();
    let mut order = Vec::with_capacity(merges.len());
    let mut touched = vec![false; slots.len()];
    for pm in merges {
        let epath = path.elem(keys, pm);
        let (i, added) = match index.find(keys, pm, &slots) {
            Some(i) => (i, false),
            None => {
                slots.push(Some(Value::Object(Map::new())));
                touched.push(false);
                (slots.len() - 1, true)
            }
        };
        if let Some(Value::Object(tm)) = &mut slots[i] {
            merge_map(tm, pm, ectx, &epath, depth + 1)?;
        }
        if added {
            if let Some(v) = &slots[i] {
                index.add(keys, v, i);
            }
        }
        if !touched[i] {
            touched[i] = true;
            order.push(i);
        }
    }
    let mut out = Vec::with_capacity(slots.len());
    if compound_in_use(keys, &slots[..first_new], pl) {
        // Kustomize's order once any element sets every compound key: new elements first,
        // then the original ones in place.
        out.extend(slots.drain(first_new..).flatten());
    } else {
        for i in order {
            out.extend(slots[i].take());
        }
    }
    out.extend(slots.into_iter().take(first_new).flatten());
    *tl = out;
    Ok(())
}

/// Whether some element of either list sets every key of a compound merge key.
fn compound_in_use(keys: Keys<'_>, original: &[Option<Value>], patch: &[Value]) -> bool {
    let full = |v: &Value| keys.names().all(|k| v.get(k).is_some_and(|x| !x.is_null()));
    !keys.compound.is_empty() && (original.iter().flatten().any(full) || patch.iter().any(full))
}

fn apply_retain_keys(
    tm: &mut Map<String, Value>,
    pm: &Map<String, Value>,
    keep: &Value,
    ctx: Ctx<'_>,
    path: &Path<'_>,
) -> Result<(), SmpError> {
    if !ctx.strategy.retain_keys {
        return Err(misplaced(
            path,
            RETAIN_KEYS,
            "only fields with patch strategy retainKeys accept it (e.g. volumes[], Deployment spec.strategy)",
        ));
    }
    let Some(list) = keep.as_array() else { return Err(invalid(path, RETAIN_KEYS, "expected a list of field names")) };
    let mut names = HashSet::with_capacity(list.len());
    for v in list {
        names.insert(v.as_str().ok_or_else(|| invalid(path, RETAIN_KEYS, format!("{v} is not a field name")))?);
    }
    if let Some((k, _)) = pm.iter().find(|(k, v)| !v.is_null() && !is_directive_key(k) && !names.contains(k.as_str())) {
        return Err(SmpError::RetainKeysViolation { path: path.render(), key: k.clone() });
    }
    tm.retain(|k, _| names.contains(k.as_str()));
    Ok(())
}

/// A `$setElementOrder/<list>` directive, checked and with the original order captured before
/// the list is merged.
struct SetOrder<'a> {
    list: &'a str,
    order: &'a [Value],
    key: Option<&'a str>,
    original_pos: HashMap<String, usize>,
}

fn order_id(key: Option<&str>, v: &Value) -> Option<String> {
    match key {
        Some(k) => v.get(k).filter(|x| !x.is_null()).map(scalar_id),
        None => Some(scalar_id(v)),
    }
}

fn prepare_set_order<'a>(
    tm: &Map<String, Value>,
    list: &'a str,
    order: &'a Value,
    patch_list: Option<&Value>,
    ctx: Ctx<'a>,
    path: &Path<'_>,
) -> Result<SetOrder<'a>, SmpError> {
    let directive = format!("{SET_ORDER}{list}");
    let Some(schema) = ctx.schema else {
        return Err(misplaced(path, &directive, "it needs the kind's schema, and none is known here"));
    };
    let field = schema.field(list).filter(|f| f.strategy.merge && f.schema.kind() == SchemaKind::List);
    let Some(field) = field else {
        return Err(misplaced(path, &directive, "only lists with patch strategy merge can be reordered"));
    };
    let key = field.merge_key;
    let Some(order) = order.as_array() else { return Err(invalid(path, &directive, "expected a list")) };
    let mut wanted = HashMap::with_capacity(order.len());
    for (i, item) in order.iter().enumerate() {
        match (key, item) {
            (Some(k), Value::Object(m)) if m.get(k).is_some_and(|v| !v.is_null()) => {}
            (Some(k), Value::Object(_)) => {
                return Err(SmpError::MissingMergeKey { path: path.index(i).render(), key: k.to_string() })
            }
            (Some(_), other) => return Err(mismatch(&path.index(i), "an object", other)),
            (None, Value::Object(_) | Value::Array(_)) => return Err(mismatch(&path.index(i), "a scalar", item)),
            (None, _) => {}
        }
        if let Some(id) = order_id(key, item) {
            wanted.entry(id).or_insert(i);
        }
    }
    // The patch list must list its (non-directive) elements in the same relative order.
    if let Some(Value::Array(pl)) = patch_list {
        let mut last = None;
        for p in pl.iter().filter(|p| p.get(PATCH).is_none()) {
            let pos = order_id(key, p).and_then(|id| wanted.get(&id).copied());
            match pos {
                Some(pos) if last.map_or(true, |l| pos > l) => last = Some(pos),
                _ => {
                    return Err(invalid(
                        path,
                        &directive,
                        format!("the patch list does not follow this order at element {p}"),
                    ))
                }
            }
        }
    }
    let mut original_pos = HashMap::new();
    if let Some(Value::Array(items)) = tm.get(list) {
        for (i, item) in items.iter().enumerate() {
            if let Some(id) = order_id(key, item) {
                original_pos.entry(id).or_insert(i);
            }
        }
    }
    Ok(SetOrder { list, order, key, original_pos })
}

impl SetOrder<'_> {
    /// apimachinery's `normalizeElementOrder`: items named by the directive in its order,
    /// interleaved with the others in their original order.
    fn apply(self, tm: &mut Map<String, Value>, path: &Path<'_>) -> Result<(), SmpError> {
        let Some(Value::Array(merged)) = tm.get_mut(self.list) else { return Ok(()) };
        let mut wanted = HashMap::with_capacity(self.order.len());
        for (i, item) in self.order.iter().enumerate() {
            if let Some(id) = order_id(self.key, item) {
                wanted.entry(id).or_insert(i);
            }
        }
        let lpath = path.field(self.list);
        let mut named = Vec::new();
        let mut others = Vec::new();
        for (i, item) in std::mem::take(merged).into_iter().enumerate() {
            let Some(id) = order_id(self.key, &item) else {
                let key = self.key.unwrap_or_default().to_string();
                return Err(SmpError::MissingMergeKey { path: lpath.index(i).render(), key });
            };
            let orig = self.original_pos.get(&id).copied();
            match wanted.get(&id) {
                Some(&w) => named.push((w, orig, item)),
                None => others.push((orig.unwrap_or(usize::MAX), orig, item)),
            }
        }
        named.sort_by_key(|(w, _, _)| *w);
        others.sort_by_key(|(o, _, _)| *o);
        let mut out = Vec::with_capacity(named.len() + others.len());
        let (mut a, mut b) = (others.into_iter().peekable(), named.into_iter().peekable());
        loop {
            let take_other = match (a.peek(), b.peek()) {
                (Some((_, Some(l), _)), Some((_, Some(r), _))) => l < r,
                (Some(_), Some(_)) => false,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let next = if take_other { a.next() } else { b.next() };
            out.extend(next.map(|(_, _, item)| item));
        }
        *merged = out;
        Ok(())
    }
}

fn delete_from_primitive_list(
    tm: &mut Map<String, Value>,
    list: &str,
    values: &Value,
    ctx: Ctx<'_>,
    path: &Path<'_>,
    directive: &str,
) -> Result<(), SmpError> {
    let dpath = path.field(directive);
    let Some(schema) = ctx.schema else {
        return Err(misplaced(&dpath, directive, "it needs the kind's schema, and none is known here"));
    };
    let items = schema.field(list).and_then(|f| f.schema.items());
    if !items.is_some_and(|i| matches!(i.kind(), SchemaKind::Scalar | SchemaKind::Any)) {
        return Err(misplaced(&dpath, directive, "only lists of primitive values accept it"));
    }
    let Some(values) = values.as_array() else { return Err(invalid(&dpath, directive, "expected a list of values")) };
    if let Some(v) = values.iter().find(|v| v.is_object() || v.is_array()) {
        return Err(invalid(&dpath, directive, format!("{v} is not a primitive value")));
    }
    let doomed: HashSet<String> = values.iter().map(scalar_id).collect();
    let lpath = path.field(list);
    match tm.get_mut(list) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(items)) => {
            if let Some(i) = items.iter().position(|v| v.is_object() || v.is_array()) {
                return Err(mismatch(&lpath.index(i), "a scalar", &items[i]));
            }
            items.retain(|v| !doomed.contains(&scalar_id(v)));
            Ok(())
        }
        Some(other) => Err(mismatch(&lpath, "a list", other)),
    }
}

#[cfg(test)]
#[path = "strategic_merge_tests.rs"]
mod tests;
