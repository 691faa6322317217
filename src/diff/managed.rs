//! Reading `metadata.managedFields`: a manager's Apply entry (what the skip rule stamps), and
//! which fields belong to other managers only (controllers' writes), which a diff must never
//! call a change or drift of ours.
//!
//! `fieldsV1` is a tree: `f:<name>` a map field, `k:<json>` a list item by its keys, `v:<json>`
//! a set item, `i:<n>` an item by index, `.` the node itself (see structured-merge-diff).

use serde_json::{Map, Value};

/// The managedFields entries of `obj`.
fn entries(obj: &Value) -> &[Value] {
    obj.pointer("/metadata/managedFields").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

fn no_subresource(e: &Value) -> bool {
    e.get("subresource").and_then(Value::as_str).is_none_or(str::is_empty)
}

/// `manager`'s Apply entry on the main resource, when there is exactly one (found by manager,
/// operation and subresource, never by position).
pub fn apply_entry<'a>(obj: &'a Value, manager: &str) -> Option<&'a Value> {
    let mut found =
        entries(obj).iter().filter(|e| e["manager"] == manager && e["operation"] == "Apply" && no_subresource(e));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// Makes `after` agree with `before` on every field that managers other than `manager` own and
/// `manager` does not (in either object's managedFields): a controller's write that landed
/// between the two reads (`deployment.kubernetes.io/revision`, a ServiceAccount's `secrets`) is
/// neither a change of ours nor drift. Fields `manager` sets are left alone.
pub fn keep_foreign(before: &Value, after: &mut Value, manager: &str) {
    let mut ours = Map::new();
    let mut theirs = Map::new();
    for e in entries(before).iter().chain(entries(after)) {
        let Some(fields) = e.get("fieldsV1").and_then(Value::as_object) else { continue };
        let into = if e["manager"] == manager { &mut ours } else { &mut theirs };
        union(into, fields);
    }
    if theirs.is_empty() {
        return;
    }
    restore(&theirs, Some(&ours), Some(before), after);
}

fn union(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        let slot = into.entry(k.clone()).or_insert_with(|| Value::Object(Map::new()));
        if let (Some(slot), Some(v)) = (slot.as_object_mut(), v.as_object()) {
            union(slot, v);
        }
    }
}

/// Walks `theirs`; wherever `ours` has nothing at or below a node, `after` takes `before`'s
/// value there (or loses it when `before` has none).
fn restore(theirs: &Map<String, Value>, ours: Option<&Map<String, Value>>, before: Option<&Value>, after: &mut Value) {
    for (k, child) in theirs {
        if k == "." {
            continue;
        }
        let ours_child = ours.and_then(|o| o.get(k)).and_then(Value::as_object);
        let theirs_child = child.as_object();
        let leaf = theirs_child.is_none_or(|m| m.keys().all(|k| k == "."));
        let old = before.and_then(|b| locate(b, k));
        if ours_child.is_none() {
            put(after, k, old.cloned());
            continue;
        }
        if leaf {
            continue;
        }
        if locate(after, k).is_none() && old.is_some_and(Value::is_object) {
            put(after, k, Some(Value::Object(Map::new())));
        }
        if let (Some(next), Some(tc)) = (locate_mut(after, k), theirs_child) {
            restore(tc, ours_child, old, next);
        }
    }
}

/// How a `fieldsV1` key finds its child in a JSON value.
enum Step {
    Field(String),
    Keys(Map<String, Value>),
    Value(Value),
    Index(usize),
}

fn step(key: &str) -> Option<Step> {
    let (kind, rest) = key.split_once(':')?;
    match kind {
        "f" => Some(Step::Field(rest.to_string())),
        "k" => serde_json::from_str::<Map<String, Value>>(rest).ok().map(Step::Keys),
        "v" => serde_json::from_str(rest).ok().map(Step::Value),
        "i" => rest.parse().ok().map(Step::Index),
        _ => None,
    }
}

fn position(items: &[Value], s: &Step) -> Option<usize> {
    match s {
        Step::Keys(keys) => items.iter().position(|it| keys.iter().all(|(k, v)| it.get(k) == Some(v))),
        Step::Value(v) => items.iter().position(|it| it == v),
        Step::Index(i) => (*i < items.len()).then_some(*i),
        Step::Field(_) => None,
    }
}

fn locate<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match step(key)? {
        Step::Field(f) => v.as_object()?.get(&f),
        s => {
            let items = v.as_array()?;
            items.get(position(items, &s)?)
        }
    }
}

fn locate_mut<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    match step(key)? {
        Step::Field(f) => v.as_object_mut()?.get_mut(&f),
        s => {
            let items = v.as_array_mut()?;
            let i = position(items, &s)?;
            items.get_mut(i)
        }
    }
}

/// Sets (or, with None, removes) the child `key` of `v`. A list item missing from `v` is not
/// added: where it would go is not known.
fn put(v: &mut Value, key: &str, value: Option<Value>) {
    let Some(s) = step(key) else { return };
    match s {
        Step::Field(f) => {
            if let Some(m) = v.as_object_mut() {
                match value {
                    Some(x) => {
                        m.insert(f, x);
                    }
                    None => {
                        m.shift_remove(&f);
                    }
                }
            }
        }
        s => {
            let Some(items) = v.as_array_mut() else { return };
            match (position(items, &s), value) {
                (Some(i), Some(x)) => items[i] = x,
                (Some(i), None) => {
                    items.remove(i);
                }
                (None, _) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(rv: &str, revision: Option<&str>) -> Value {
        let mut d = json!({
            "kind": "Deployment",
            "metadata": {"name": "web", "resourceVersion": rv, "labels": {"app": "web"},
                "managedFields": [
                    {"manager": "kubectl-dimtensor/prod", "operation": "Apply", "apiVersion": "apps/v1",
                     "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}}
                ]},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "a:1", "imagePullPolicy": "IfNotPresent"}]}}}
        });
        if let Some(r) = revision {
            d["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": r});
            d["metadata"]["managedFields"].as_array_mut().unwrap().push(json!(
                {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1", "subresource": "status",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:deployment.kubernetes.io/revision": {}}}}}
            ));
        }
        d
    }

    #[test]
    fn a_controller_write_between_two_reads_is_not_ours() {
        // The LIST (no annotation yet) against a dry run that already has it (ctl-* captures).
        let before = deployment("1", None);
        let mut after = deployment("2", Some("1"));
        keep_foreign(&before, &mut after, "kubectl-dimtensor/prod");
        assert!(after["metadata"].get("annotations").is_none_or(|a| a.as_object().unwrap().is_empty()), "{after}");
        // And the other way round.
        let before = deployment("2", Some("1"));
        let mut after = deployment("1", None);
        keep_foreign(&before, &mut after, "kubectl-dimtensor/prod");
        assert_eq!(after["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1");
    }

    #[test]
    fn fields_we_set_stay_as_the_dry_run_has_them() {
        let before = deployment("1", Some("1"));
        let mut after = deployment("1", Some("1"));
        after["spec"]["template"]["spec"]["containers"][0]["image"] = json!("a:2");
        after["metadata"]["labels"]["app"] = json!("web2");
        let want = after.clone();
        keep_foreign(&before, &mut after, "kubectl-dimtensor/prod");
        assert_eq!(after, want);
    }

    #[test]
    fn our_apply_entry_is_found_by_its_keys_and_must_be_unique() {
        let d = deployment("1", Some("1"));
        assert_eq!(apply_entry(&d, "kubectl-dimtensor/prod").unwrap()["operation"], "Apply");
        assert!(apply_entry(&d, "kube-controller-manager").is_none(), "an Update is not an apply");
        let mut two = d.clone();
        let dup = two["metadata"]["managedFields"][0].clone();
        two["metadata"]["managedFields"].as_array_mut().unwrap().push(dup);
        assert!(apply_entry(&two, "kubectl-dimtensor/prod").is_none());
    }
}
