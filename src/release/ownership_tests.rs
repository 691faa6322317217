use super::*;
use crate::model::Gvk;

fn id(n: &str) -> ResId {
    ResId::new(Gvk::from_api_version("v1", "Service"), "ml", n)
}

fn helm(release: &str) -> Value {
    json!({"metadata": {"uid": "u1", "labels": {"app.kubernetes.io/managed-by": "Helm"},
        "annotations": {HELM_NAME_ANNOTATION: release, HELM_NAMESPACE_ANNOTATION: "ml"}}})
}

fn labelled(release: &str, uid: &str) -> Value {
    json!({"metadata": {"uid": uid, "labels": {RELEASE_LABEL: release}, "annotations": {RELEASE_NAMESPACE_ANNOTATION: "ml"}}})
}

fn recorded(names: &[(&str, Option<&str>)]) -> Recorded {
    let mut r = Recorded::default();
    for (n, uid) in names {
        let key = Key::of(&id(n));
        if let Some(u) = uid {
            r.uids.insert(key.to_string(), u.to_string());
        }
        r.keys.insert(key);
    }
    r
}

const NONE: Allow = Allow { adopt: false, take_ownership: false };
const ADOPT: Allow = Allow { adopt: true, take_ownership: false };
const TAKE: Allow = Allow { adopt: false, take_ownership: true };

#[test]
fn only_the_flags_allow_taking_over_and_another_release_is_never_taken() {
    let none = Recorded::default();
    let d = |obj: &Value, allow| disposition(&id("a"), obj, &none, "prod", "ml", allow);
    let err = d(&helm("prod"), NONE).unwrap_err();
    assert!(err.contains("Service/ml/a") && err.contains("--adopt"), "{err}");
    assert_eq!(d(&helm("prod"), ADOPT), Ok(Disposition::Adopt));
    assert!(d(&helm("legacy"), ADOPT).is_err(), "another Helm release's");
    let err = d(&labelled("dev", "u"), Allow { adopt: true, take_ownership: true }).unwrap_err();
    assert!(err.contains("dimtensor release dev"), "{err}");
    let nobody = json!({"metadata": {"uid": "u"}});
    assert!(d(&nobody, ADOPT).unwrap_err().contains("--take-ownership"));
    assert_eq!(d(&nobody, TAKE), Ok(Disposition::TakeOver));
    assert_eq!(d(&labelled("prod", "u"), NONE), Ok(Disposition::Ours), "labelled ours, not in the records: ours");
}

#[test]
fn the_records_decide_with_the_uid() {
    let rec = recorded(&[("a", Some("u1")), ("b", None)]);
    let d = |n: &str, obj: &Value, allow| disposition(&id(n), obj, &rec, "prod", "ml", allow);
    assert_eq!(d("a", &labelled("prod", "u1"), NONE), Ok(Disposition::Ours));
    let err = d("a", &labelled("prod", "u2"), NONE).unwrap_err();
    assert!(err.contains("not the object it applied"), "a same-named newcomer labelled as ours: {err}");
    assert_eq!(d("a", &labelled("prod", "u2"), TAKE), Ok(Disposition::TakeOver));
    assert_eq!(d("a", &json!({"metadata": {"uid": "u1"}}), NONE), Ok(Disposition::Ours), "label removed");
    assert_eq!(d("b", &json!({"metadata": {"uid": "any"}}), NONE), Ok(Disposition::Ours), "no uid recorded");
    assert!(d("a", &labelled("dev", "u1"), NONE).is_err(), "relabelled for another release: theirs now");

    let mut legacy = labelled("prod", "u1");
    legacy["metadata"]["managedFields"] = json!([{"manager": "kubectl-dimtensor", "operation": "Apply"}]);
    assert_eq!(d("a", &legacy, NONE), Ok(Disposition::Migrate));
    assert_eq!(d("c", &legacy, NONE), Ok(Disposition::Ours), "not in the records: not moved");
}

#[test]
fn only_the_releases_own_labelled_objects_are_deleted() {
    let rec = recorded(&[("a", Some("u1")), ("b", None)]);
    let key = Key::of(&id("a"));
    assert_eq!(deletable(&labelled("prod", "u1"), &key, &rec, "prod", "ml"), Ok("u1".into()));
    assert!(deletable(&labelled("prod", "u2"), &key, &rec, "prod", "ml").unwrap_err().contains("made again"));
    assert!(deletable(&labelled("b", "u1"), &key, &rec, "prod", "ml").unwrap_err().contains("release b"));
    assert!(deletable(&json!({"metadata": {"uid": "u1"}}), &key, &rec, "prod", "ml").is_err());
    assert_eq!(deletable(&labelled("prod", "x"), &Key::of(&id("b")), &rec, "prod", "ml"), Ok("x".into()));
}

#[test]
fn a_takeover_merges_the_old_managers_into_the_releases_entry_and_keeps_controllers() {
    let obj = json!({"metadata": {"managedFields": [
        {"manager": "kubectl-dimtensor/prod", "operation": "Apply", "apiVersion": "apps/v1", "fieldsV1": {"f:spec": {"f:a": {}}}},
        {"manager": "helm", "operation": "Update", "apiVersion": "apps/v1",
         "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:x": {}}}, "f:spec": {"f:a": {}, "f:b": {}}}},
        {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
         "fieldsV1": {"f:status": {"f:replicas": {}}}, "subresource": "status"},
        {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "apps/v1", "fieldsV1": {"f:spec": {"f:c": {}}}}
    ]}});
    let out = merged_entries(&obj, "kubectl-dimtensor/prod", Disposition::Adopt).unwrap();
    let names: Vec<&str> = out.iter().map(|e| e["manager"].as_str().unwrap()).collect();
    assert_eq!(names, ["kubectl-dimtensor/prod", "kube-controller-manager", "kubectl-edit"]);
    assert_eq!(
        out[0]["fieldsV1"],
        json!({"f:spec": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {".": {}, "f:x": {}}}})
    );
    assert!(merged_entries(&obj, "kubectl-dimtensor/prod", Disposition::TakeOver).is_none(), "nothing to move");

    // No entry of its own yet: Helm's becomes the release's Apply entry.
    let legacy = json!({"metadata": {"managedFields": [
        {"manager": "kubectl-dimtensor", "operation": "Apply", "apiVersion": "v1", "fieldsV1": {"f:data": {"f:k": {}}}}]}});
    let out = merged_entries(&legacy, "kubectl-dimtensor/prod", Disposition::Migrate).unwrap();
    assert_eq!(
        out,
        vec![json!({"manager": "kubectl-dimtensor/prod", "operation": "Apply", "apiVersion": "v1",
        "fieldsV1": {"f:data": {"f:k": {}}}})]
    );
    let patch = managed_fields_patch("42", out);
    assert_eq!(patch[0], json!({"op": "test", "path": "/metadata/resourceVersion", "value": "42"}));
}

#[test]
fn an_object_found_by_a_create_was_someone_elses_unless_only_we_and_controllers_own_it() {
    let ours = json!({"metadata": {"managedFields": [{"manager": "m", "operation": "Apply"},
        {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status"}]}});
    assert!(!made_by_someone_else(&ours, "m"));
    let token = json!({"metadata": {"managedFields": [{"manager": "m"}, {"manager": "kube-controller-manager", "operation": "Update"}]}});
    assert!(!made_by_someone_else(&token, "m"), "a controller's main-resource write is not a maker");
    let theirs = json!({"metadata": {"managedFields": [{"manager": "m"}, {"manager": "kubectl-create"}]}});
    assert!(made_by_someone_else(&theirs, "m"));
    assert_eq!(field_manager("prod"), "kubectl-dimtensor/prod");
    let key = Key::of(&ResId::new(Gvk::from_api_version("autoscaling/v2beta2", "HorizontalPodAutoscaler"), "ml", "h"));
    let v2 = Key::of(&ResId::new(Gvk::from_api_version("autoscaling/v2", "HorizontalPodAutoscaler"), "ml", "h"));
    assert_eq!(key, v2, "the version is not part of an object's identity");
    assert_eq!(key.to_string(), "HorizontalPodAutoscaler.autoscaling/ml/h");
}

#[test]
fn a_handover_patch_drops_only_what_makes_the_object_the_releases() {
    let obj = json!({"metadata": {"resourceVersion": "7",
        "labels": {RELEASE_LABEL: "prod", "app.kubernetes.io/name": "dimtensor"},
        "annotations": {RELEASE_NAMESPACE_ANNOTATION: "ml", "keep": "me"},
        "managedFields": [
            {"manager": "kubectl-dimtensor/prod", "operation": "Apply"},
            {"manager": "kubectl-dimtensor/prod/handover", "operation": "Apply"},
            {"manager": "kubectl-dimtensor", "operation": "Apply"},
            {"manager": "kubectl-dimtensor/other", "operation": "Apply"},
            {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status"}]}});
    let patch = handover_patch(&obj, "prod").unwrap();
    assert_eq!(
        patch,
        json!([{"op": "test", "path": "/metadata/resourceVersion", "value": "7"},
            {"op": "remove", "path": "/metadata/labels/dimtensor.io~1release"},
            {"op": "remove", "path": "/metadata/annotations/dimtensor.io~1release-namespace"},
            {"op": "replace", "path": "/metadata/managedFields", "value": [
                {"manager": "kubectl-dimtensor/other", "operation": "Apply"},
                {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status"}]}])
    );
    let alone = json!({"metadata": {"resourceVersion": "8", "labels": {RELEASE_LABEL: "prod"},
        "managedFields": [{"manager": "kubectl-dimtensor/prod", "operation": "Apply"}]}});
    let patch = handover_patch(&alone, "prod").unwrap();
    assert_eq!(
        patch[2],
        json!({"op": "replace", "path": "/metadata/managedFields", "value": [{}]}),
        "[] would keep them"
    );
    let done = json!({"metadata": {"resourceVersion": "9", "managedFields": [{"manager": "argocd-controller"}]}});
    assert!(handover_patch(&done, "prod").is_none(), "nothing of the release's left");
}
