//! Server-side apply and field ownership, implemented from the documented semantics of
//! structured-merge-diff: appliers own what they send, updaters own what they change, conflicts
//! are fields another manager owns whose value would change.

pub mod fieldpath;
pub mod locate;
pub mod managed;
pub mod schema;
pub mod walk;

use fieldpath::{path_string, FieldSet, Path};
use managed::{body_of, read_managed, resets_managed, strip, write_managed, ManagedEntry, Scope};
use schema::Ty;
use serde_json::Value;

/// Who is writing and how.
#[derive(Debug, Clone)]
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub now: &'a str,
    pub scope: Scope,
}

/// A field another manager owns that this apply would change.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub manager: String,
    pub path: Path,
}

impl Conflict {
    pub fn field(&self) -> String {
        path_string(&self.path)
    }
}

/// The message the real server puts on a 409 apply conflict.
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [only] = conflicts {
        return format!("Apply failed with 1 conflict: conflict with {}: {}", only.manager, only.field());
    }
    let mut managers: Vec<&str> = conflicts.iter().map(|c| c.manager.as_str()).collect();
    managers.sort();
    managers.dedup();
    let mut lines = Vec::new();
    for m in managers {
        lines.push(format!("conflicts with {m}:"));
        for c in conflicts.iter().filter(|c| c.manager == m) {
            lines.push(format!("- {}", c.field()));
        }
    }
    format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
}

/// A key field of an associative-list item (`k:{"name":"x"}` then `f:name`): it stays as long
/// as the item stays, and goes with it.
fn is_key_field(p: &Path) -> bool {
    match p.as_slice() {
        [.., fieldpath::Pe::Key(k), fieldpath::Pe::Field(f)] => {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(k).is_ok_and(|m| m.contains_key(f))
        }
        _ => false,
    }
}

fn status_reset(scope: Scope) -> bool {
    matches!(scope, Scope::Main { status_reset: true })
}

/// Server-side apply of `config` onto `live` (which carries managedFields). Returns the new
/// object with updated managedFields, or the conflicts when not forced.
pub fn apply(live: &Value, config: &Value, ty: Ty, w: &Writer, force: bool) -> Result<Value, Vec<Conflict>> {
    let drop_status = status_reset(w.scope);
    let mut managers = read_managed(live);
    let live_body = body_of(live, drop_status);
    let cfg = body_of(config, drop_status);
    let mut merged = walk::merge(Some(&live_body), &cfg, ty);
    let cfg_set = strip(&walk::to_field_set(&cfg, ty), w.scope);
    let cmp = walk::compare(&live_body, &merged, ty);
    let changed = strip(&cmp.changed(), w.scope);
    let removed = strip(&cmp.removed, w.scope);

    let is_self = |e: &ManagedEntry| e.same_manager(w.manager, "Apply", None);
    let mut conflicts = Vec::new();
    for e in managers.iter().filter(|e| !is_self(e)) {
        for p in e.fields.intersection(&changed).iter() {
            conflicts.push(Conflict { manager: e.display(), path: p.clone() });
        }
    }
    if !force && !conflicts.is_empty() {
        conflicts.sort_by(|a, b| (&a.manager, &a.path).cmp(&(&b.manager, &b.path)));
        return Err(conflicts);
    }
    for e in managers.iter_mut().filter(|e| !is_self(e)) {
        e.fields = e.fields.difference(&changed).difference(&removed);
    }

    let own_idx = managers.iter().position(is_self);
    let last_set = own_idx.map(|i| managers[i].fields.clone()).unwrap_or_default();
    let others: FieldSet = managers.iter().filter(|e| !is_self(e)).fold(FieldSet::new(), |acc, e| acc.union(&e.fields));
    let mut prune: Vec<Path> = last_set.difference(&cfg_set).iter().cloned().collect();
    // Named fields above what the manager owned count as owned too: a struct the config drops
    // goes whole (its defaulted children with it) unless someone owns something in it.
    let mut named: std::collections::BTreeSet<Path> = std::collections::BTreeSet::new();
    for p in last_set.iter() {
        // `metadata` itself always stays: its identity fields are owned by no one but there.
        for depth in 2..p.len() {
            let prefix = &p[..depth];
            if !named.contains(prefix) && locate::is_struct_field(&merged, prefix, ty) {
                named.insert(prefix.to_vec());
            }
        }
    }
    prune.extend(named.into_iter().filter(|p| !last_set.contains(p)));
    prune.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in &prune {
        // As structured-merge-diff's prune: an item goes only if nobody owns it or anything below
        // it, the new config included (a map merged in by a takeover stays while the config has
        // some of its keys).
        // A key field of a list item goes with its item, never alone (removing `name` first
        // would leave an item no key finds).
        if others.has_at_or_below(p) || cfg_set.has_at_or_below(p) || is_key_field(p) {
            continue;
        }
        if locate::remove_path(&mut merged, p, ty) {
            locate::drop_empty_maps_above(&mut merged, p, ty);
        }
    }

    let object_changed = merged != live_body;
    match own_idx {
        Some(i) => {
            let e = &mut managers[i];
            e.fields = cfg_set;
            e.api_version = w.api_version.to_string();
            if object_changed || e.time.is_none() {
                e.time = Some(w.now.to_string());
            }
        }
        None => managers.push(ManagedEntry {
            manager: w.manager.to_string(),
            operation: "Apply".into(),
            api_version: w.api_version.to_string(),
            time: Some(w.now.to_string()),
            fields: cfg_set,
            subresource: None,
        }),
    }
    if drop_status {
        if let (Some(status), Some(m)) = (live.get("status"), merged.as_object_mut()) {
            m.insert("status".into(), status.clone());
        }
    }
    write_managed(&mut merged, managers);
    Ok(merged)
}

/// Records a non-apply write: the writer takes every field it changed (from anyone) and nobody
/// keeps fields that are gone. `old` carries the current managedFields; `new` gets the result.
pub fn record_update(old: &Value, new: &mut Value, ty: Ty, w: &Writer) {
    let subresource = match w.scope {
        Scope::Status => Some("status"),
        Scope::Main { .. } => None,
    };
    let drop_status = status_reset(w.scope);
    // As the real field manager does: managedFields sent with a write of the main resource are
    // the starting point (that is how a client moves ownership, as kubectl's csaupgrade does with
    // a JSON patch); without them, or on a subresource, the stored ones.
    // `[]` or `[{}]` sent with a write clears them (fieldmanager's isResetManagedFields).
    let given = read_managed(new);
    let mut managers = match subresource {
        None if resets_managed(new) => Vec::new(),
        None if !given.is_empty() => given,
        _ => read_managed(old),
    };
    let cmp = walk::compare(&body_of(old, drop_status), &body_of(new, drop_status), ty);
    let changed = strip(&cmp.changed(), w.scope);
    let removed = strip(&cmp.removed, w.scope);
    let is_self = |e: &ManagedEntry| e.same_manager(w.manager, "Update", subresource);
    for e in managers.iter_mut().filter(|e| !is_self(e)) {
        e.fields = e.fields.difference(&changed).difference(&removed);
    }
    match managers.iter().position(is_self) {
        Some(i) => {
            let e = &mut managers[i];
            e.fields = e.fields.difference(&removed).union(&changed);
            if !changed.is_empty() {
                e.time = Some(w.now.to_string());
                e.api_version = w.api_version.to_string();
            }
        }
        None if !changed.is_empty() => managers.push(ManagedEntry {
            manager: w.manager.to_string(),
            operation: "Update".into(),
            api_version: w.api_version.to_string(),
            time: Some(w.now.to_string()),
            fields: changed,
            subresource: subresource.map(str::to_string),
        }),
        None => {}
    }
    write_managed(new, managers);
}

#[cfg(test)]
mod tests;
