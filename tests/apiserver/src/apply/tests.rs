//! The captured apply sequence (ssa-create → ssa-conflict → forced → merge patch) replayed
//! through the ownership code, comparing managedFields with the real server's.

use super::managed::Scope;
use super::schema::schema;
use super::*;
use serde_json::{json, Value};

fn capture(name: &str) -> Value {
    let path = format!("{}/tests/captures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn writer(manager: &str) -> Writer<'_> {
    Writer { manager, api_version: "apps/v1", now: "2026-11-25T14:25:18Z", scope: Scope::Main { status_reset: true } }
}

fn entries_without_controller(obj: &Value) -> Vec<Value> {
    obj["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["manager"] != "kube-controller-manager")
        .collect()
}

fn ty() -> Ty {
    schema().root("apps", "v1", "Deployment")
}

#[test]
fn create_then_same_then_conflict_then_forced() {
    let create = capture("ssa-create.json");
    let config = create["request"]["body"].clone();
    let baseline = json!({"metadata": {}, "spec": {}});
    let created = apply(&baseline, &config, ty(), &writer("kubectl-dimtensor"), false).unwrap();
    assert_eq!(entries_without_controller(&created), entries_without_controller(&create["response"]["body"]));

    // Use the real stored object (with defaults and the controller's entry) from here on.
    let live = capture("ssa-same-again.json")["response"]["body"].clone();
    let again = apply(&live, &config, ty(), &writer("kubectl-dimtensor"), false).unwrap();
    assert_eq!(again, live, "a no-op apply must not change anything");

    let conflict = capture("ssa-conflict-409.json");
    let other = conflict["request"]["body"].clone();
    let err = apply(&live, &other, ty(), &writer("someone-else"), false).unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].field(), ".spec.replicas");
    assert_eq!(conflict_message(&err), conflict["response"]["body"]["message"]);

    let forced = apply(&live, &other, ty(), &writer("someone-else"), true).unwrap();
    let want = capture("ssa-conflict-forced.json")["response"]["body"].clone();
    assert_eq!(entries_without_controller(&forced), entries_without_controller(&want));
    assert_eq!(forced["spec"]["replicas"], 5);
}

#[test]
fn updates_take_ownership_like_the_merge_and_json_patch_captures() {
    let live = capture("ssa-conflict-forced.json")["response"]["body"].clone();
    let mut after_merge = live.clone();
    after_merge["metadata"]["annotations"]["note"] = json!("merge");
    record_update(&live, &mut after_merge, ty(), &writer("Python-urllib"));
    let want = capture("merge-patch.json")["response"]["body"].clone();
    assert_eq!(entries_without_controller(&after_merge), entries_without_controller(&want));

    let mut after_smp = after_merge.clone();
    after_smp["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .insert("env".into(), json!([{"name": "A", "value": "1"}]));
    record_update(&after_merge, &mut after_smp, ty(), &writer("Python-urllib"));
    let mut after_json = after_smp.clone();
    after_json["spec"]["replicas"] = json!(3);
    record_update(&after_smp, &mut after_json, ty(), &writer("Python-urllib"));
    let want = capture("list-by-label.json")["response"]["body"]["items"][0].clone();
    assert_eq!(entries_without_controller(&after_json), entries_without_controller(&want));
}

#[test]
fn dropped_fields_are_pruned_unless_someone_else_owns_them() {
    let base = json!({"metadata": {}, "spec": {}});
    let cfg = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w",
        "labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 2, "paused": true}});
    let one = apply(&base, &cfg, ty(), &writer("m1"), false).unwrap();
    let shared =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w", "labels": {"b": "2"}}});
    let two = apply(&one, &shared, ty(), &writer("m2"), false).unwrap();
    let smaller =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}, "spec": {"replicas": 2}});
    let three = apply(&two, &smaller, ty(), &writer("m1"), false).unwrap();
    assert_eq!(three["metadata"]["labels"], json!({"b": "2"}), "b is still owned by m2");
    assert!(three["spec"].get("paused").is_none(), "paused had no other owner");
}

#[test]
fn update_manager_conflicts_name_the_api_version() {
    let base = json!({"metadata": {}, "spec": {}});
    let mut updated = json!({"metadata": {"name": "w"}, "spec": {"replicas": 1}});
    record_update(&base, &mut updated, ty(), &writer("kubectl-edit"));
    let cfg =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}, "spec": {"replicas": 4}});
    let err = apply(&updated, &cfg, ty(), &writer("plugin"), false).unwrap_err();
    assert_eq!(
        conflict_message(&err),
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas"
    );
}

/// An applier that drops a list item it owned removes the whole item, key field included.
#[test]
fn a_dropped_list_item_goes_whole() {
    let cfg = |vols: Value| json!({"spec": {"template": {"spec": {"volumes": vols}}}});
    let data = json!({"name": "data", "persistentVolumeClaim": {"claimName": "c"}});
    let tmp = json!({"name": "tmp", "emptyDir": {}});
    let first =
        apply(&json!({"metadata": {}, "spec": {}}), &cfg(json!([data, tmp])), ty(), &writer("m"), false).unwrap();
    let second = apply(&first, &cfg(json!([tmp])), ty(), &writer("m"), false).unwrap();
    assert_eq!(second["spec"]["template"]["spec"]["volumes"], json!([tmp]));
}
