//! Field ownership between managers, as a deploy tool with one field manager per release relies
//! on it: conflicts named per manager and field, ownership merged by a guarded managedFields
//! JSON patch, delete preconditions, and one object under two versions of its group.

use crate::client::{Client, Resp};
use dimtensor_test_apiserver::{Config, TestServer};
use serde_json::{json, Value};

const CMS: &str = "/api/v1/namespaces/t/configmaps";

fn start() -> (TestServer, Client) {
    let server = TestServer::start_blocking(Config::new().namespace("t")).expect("server");
    let client = Client::new(server.url());
    (server, client)
}

fn cm(release: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "shared", "labels": {"dimtensor.io/release": release}}, "data": data})
}

fn apply_as(c: &Client, manager: &str, body: &Value) -> Resp {
    c.apply(&format!("{CMS}/shared?fieldManager={}", manager.replace('/', "%2F")), body)
}

fn entry<'a>(obj: &'a Value, manager: &str) -> Option<&'a Value> {
    obj["metadata"]["managedFields"].as_array()?.iter().find(|e| e["manager"] == manager)
}

#[test]
fn apply_conflicts_name_each_manager_and_field() {
    let (_server, c) = start();
    let created = apply_as(&c, "kubectl-dimtensor/a", &cm("a", json!({"k": "1", "same": "x"})));
    assert_eq!(created.status, 201);
    let rv = created.json()["metadata"]["resourceVersion"].clone();

    let r = apply_as(&c, "kubectl-dimtensor/b", &cm("b", json!({"k": "2", "same": "x"})));
    assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
    let status = r.json();
    assert_eq!(status["reason"], "Conflict");
    let causes = status["details"]["causes"].as_array().unwrap();
    let fields: Vec<&str> = causes.iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(fields, [".data.k", ".metadata.labels.dimtensor.io/release"], "one cause per field that differs");
    assert!(causes
        .iter()
        .all(|c| c["reason"] == "FieldManagerConflict" && c["message"] == "conflict with \"kubectl-dimtensor/a\""));
    assert_eq!(
        status["message"],
        "Apply failed with 2 conflicts: conflicts with \"kubectl-dimtensor/a\":\n- .data.k\n- .metadata.labels.dimtensor.io/release"
    );

    // The same values are no conflict: both managers own them.
    let shared = apply_as(&c, "kubectl-dimtensor/b", &cm("a", json!({"same": "x"})));
    assert_eq!(shared.status, 200);
    assert!(entry(&shared.json(), "kubectl-dimtensor/b").is_some());
    // A no-op apply keeps the resourceVersion.
    let again = apply_as(&c, "kubectl-dimtensor/a", &cm("a", json!({"k": "1", "same": "x"})));
    assert_eq!(again.status, 200);
    assert_ne!(again.json()["metadata"]["resourceVersion"], rv, "b's entry was a change");
    let rv = again.json()["metadata"]["resourceVersion"].clone();
    let noop = apply_as(&c, "kubectl-dimtensor/a", &cm("a", json!({"k": "1", "same": "x"})));
    assert_eq!(noop.json()["metadata"]["resourceVersion"], rv);
}

#[test]
fn a_managed_fields_patch_guarded_by_a_test_moves_ownership_in_one_write() {
    let (_server, c) = start();
    // Created by an updater (as Helm creates), then applied over with the same values.
    let helm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "shared", "labels": {"app.kubernetes.io/managed-by": "Helm"}}, "data": {"a": "1", "b": "2"}});
    assert_eq!(c.post(&format!("{CMS}?fieldManager=helm"), &helm).status, 201);
    let ours = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}, "data": {"a": "1"}});
    let live = apply_as(&c, "kubectl-dimtensor/a", &ours).json();
    let rv = live["metadata"]["resourceVersion"].as_str().unwrap().to_string();

    // Helm's fields merged into ours, Helm's entry dropped.
    let helm_entry = entry(&live, "helm").unwrap().clone();
    let mut mine = entry(&live, "kubectl-dimtensor/a").unwrap().clone();
    let mut merged = mine["fieldsV1"].clone();
    merge(&mut merged, &helm_entry["fieldsV1"]);
    mine["fieldsV1"] = merged;
    let patch = |rv: &str| {
        json!([{"op": "test", "path": "/metadata/resourceVersion", "value": rv},
               {"op": "replace", "path": "/metadata/managedFields", "value": [mine.clone()]}])
    };
    let stale = c.patch(&format!("{CMS}/shared"), "application/json-patch+json", &patch("1"));
    assert_eq!(stale.status, 422, "a failed test changes nothing");
    assert_eq!(c.get(&format!("{CMS}/shared")).json()["metadata"]["resourceVersion"], rv.as_str());

    let moved = c.patch(
        &format!("{CMS}/shared?fieldManager=kubectl-dimtensor%2Fa"),
        "application/json-patch+json",
        &patch(&rv),
    );
    assert_eq!(moved.status, 200, "{}", String::from_utf8_lossy(&moved.body));
    let moved = moved.json();
    assert_ne!(moved["metadata"]["resourceVersion"], rv.as_str());
    let managers: Vec<&str> =
        moved["metadata"]["managedFields"].as_array().unwrap().iter().map(|e| e["manager"].as_str().unwrap()).collect();
    assert_eq!(managers, ["kubectl-dimtensor/a"], "the entries as sent, none added for the patch");
    assert_eq!(moved["data"], json!({"a": "1", "b": "2"}), "the object itself is unchanged");

    // Now the next apply removes what it leaves out, Helm's label included.
    let after = apply_as(&c, "kubectl-dimtensor/a", &ours).json();
    assert_eq!(after["data"], json!({"a": "1"}));
    assert!(after["metadata"].get("labels").is_none(), "{after}");
}

/// A hand-over: one guarded JSON patch drops a manager's entry and the fields only it set; with
/// no entry left, `[{}]` clears managedFields (an empty list sent is the same; none sent keeps them).
#[test]
fn a_managed_fields_patch_can_drop_the_last_entry() {
    let (_server, c) = start();
    let live = apply_as(&c, "kubectl-dimtensor/a", &cm("a", json!({"k": "1"}))).json();
    let rv = live["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    let handover = |rv: &str, entries: Value| {
        json!([{"op": "test", "path": "/metadata/resourceVersion", "value": rv},
               {"op": "remove", "path": "/metadata/labels/dimtensor.io~1release"},
               {"op": "replace", "path": "/metadata/managedFields", "value": entries}])
    };
    let url = format!("{CMS}/shared?fieldManager=kubectl-dimtensor%2Fa");
    let r = c.patch(&url, "application/json-patch+json", &handover(&rv, json!([{}])));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let after = r.json();
    assert!(after["metadata"].get("managedFields").is_none(), "cleared, none added for the patch: {after}");
    assert!(after["metadata"].get("labels").is_none(), "{after}");
    assert_eq!(after["data"], json!({"k": "1"}));
    // Another manager now applies the same data without a conflict.
    let theirs = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}, "data": {"k": "2"}});
    assert_eq!(apply_as(&c, "kustomize-controller", &theirs).status, 200);

    // Without managedFields in the patch, the stored entries stay.
    let live = apply_as(&c, "kubectl-dimtensor/b", &cm("b", json!({"k": "2"}))).json();
    let rv = live["metadata"]["resourceVersion"].as_str().unwrap();
    let ops = json!([{"op": "test", "path": "/metadata/resourceVersion", "value": rv},
                     {"op": "add", "path": "/metadata/annotations", "value": {"note": "x"}}]);
    let kept = c.patch(&format!("{CMS}/shared?fieldManager=someone"), "application/json-patch+json", &ops).json();
    assert!(entry(&kept, "kubectl-dimtensor/b").is_some() && entry(&kept, "someone").is_some(), "{kept}");
    let rv = kept["metadata"]["resourceVersion"].as_str().unwrap();
    let cleared = c.patch(
        &url,
        "application/json-patch+json",
        &json!([{"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "replace", "path": "/metadata/managedFields", "value": []}]),
    );
    assert!(cleared.json()["metadata"].get("managedFields").is_none(), "{}", String::from_utf8_lossy(&cleared.body));
}

/// Union of two fieldsV1 tries.
fn merge(into: &mut Value, from: &Value) {
    if let (Some(i), Some(f)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in f {
            merge(i.entry(k.clone()).or_insert_with(|| json!({})), v);
        }
    }
}

#[test]
fn delete_preconditions_spare_a_same_named_newcomer() {
    let (_server, c) = start();
    let first = apply_as(&c, "m", &cm("a", json!({}))).json();
    let old_uid = first["metadata"]["uid"].as_str().unwrap().to_string();
    assert_eq!(c.delete(&format!("{CMS}/shared"), None).status, 200);
    let newcomer = apply_as(&c, "m", &cm("a", json!({}))).json();
    let uid = newcomer["metadata"]["uid"].as_str().unwrap().to_string();
    assert_ne!(uid, old_uid, "every object gets a uid of its own");

    let r = c.delete(&format!("{CMS}/shared"), Some(&json!({"preconditions": {"uid": old_uid}})));
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["details"]["kind"], "ConfigMap");
    assert_eq!(c.get(&format!("{CMS}/shared")).status, 200, "nothing deleted");
    let rv = newcomer["metadata"]["resourceVersion"].clone();
    let both = json!({"preconditions": {"uid": uid, "resourceVersion": rv}});
    assert_eq!(c.delete(&format!("{CMS}/shared"), Some(&both)).status, 200);
    assert_eq!(c.get(&format!("{CMS}/shared")).status, 404);
}

#[test]
fn one_object_is_served_under_both_versions_until_one_is_removed() {
    let (server, c) = start();
    let v2beta2 = "/apis/autoscaling/v2beta2/namespaces/t/horizontalpodautoscalers";
    let v2 = "/apis/autoscaling/v2/namespaces/t/horizontalpodautoscalers";
    let hpa = json!({"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 3}});
    let created = c.apply(&format!("{v2beta2}/web?fieldManager=m"), &hpa);
    assert_eq!(created.status, 201);
    assert!(created.header("warning").is_some_and(|w| w.contains("deprecated")));
    let uid = created.json()["metadata"]["uid"].clone();
    let apis = c.get("/apis/autoscaling").json();
    assert_eq!(apis["preferredVersion"]["version"], "v2");
    assert_eq!(apis["versions"].as_array().unwrap().len(), 2);

    assert!(server.stop_serving("autoscaling/v2beta2"));
    assert_eq!(c.get("/apis/autoscaling/v2beta2").status, 404);
    assert_eq!(c.get(&format!("{v2beta2}/web")).status, 404);
    let read = c.get(&format!("{v2}/web")).json();
    assert_eq!((&read["apiVersion"], &read["metadata"]["uid"]), (&json!("autoscaling/v2"), &uid));
    assert_eq!(read["metadata"]["managedFields"][0]["apiVersion"], "autoscaling/v2beta2");
    let stored = server.get_object("autoscaling/v2", "HorizontalPodAutoscaler", Some("t"), "web").unwrap();
    assert_eq!(stored["apiVersion"], "autoscaling/v2");
}

#[test]
fn a_struct_dropped_from_an_apply_goes_whole_with_its_defaulted_fields() {
    let (_server, c) = start();
    let deploy = |probe: bool| {
        let mut container = json!({"name": "c", "image": "img:1"});
        if probe {
            container["livenessProbe"] = json!({"httpGet": {"path": "/health", "port": 8080}});
        }
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}}}})
    };
    let path = "/apis/apps/v1/namespaces/t/deployments/web?fieldManager=m";
    let with = c.apply(path, &deploy(true)).json();
    let probe = &with["spec"]["template"]["spec"]["containers"][0]["livenessProbe"];
    assert_eq!(probe["successThreshold"], 1, "defaulted: {probe}");
    let without = c.apply(path, &deploy(false)).json();
    let container = &without["spec"]["template"]["spec"]["containers"][0];
    assert!(container.get("livenessProbe").is_none(), "{container}");
    assert_eq!(container["terminationMessagePath"], "/dev/termination-log", "other defaults stay");
}
