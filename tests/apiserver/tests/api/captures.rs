//! Replays the captured kube-apiserver v1.24 session (tests/captures/INDEX.md order) and
//! compares status codes, Status bodies and managedFields with the real answers.

use crate::client::{Client, Resp};
use dimtensor_test_apiserver::{Config, ControllerConfig, ForbidRule, TestServer};
use serde_json::{json, Value};

pub(crate) fn capture(name: &str) -> Value {
    let path = format!("{}/tests/captures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

fn req_body(c: &Value) -> &Value {
    &c["request"]["body"]
}

fn want_status(c: &Value) -> u64 {
    c["response"]["status"].as_u64().unwrap()
}

pub(crate) fn want_body(c: &Value) -> &Value {
    &c["response"]["body"]
}

/// managedFields without timestamps and without the real controller's entries (there is no
/// controller in this replay).
fn managers(obj: &Value) -> Value {
    let list: Vec<Value> = obj["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["manager"] != "kube-controller-manager")
        .map(|mut e| {
            e.as_object_mut().unwrap().shift_remove("time");
            e
        })
        .collect();
    Value::Array(list)
}

pub(crate) fn check(name: &str, r: &Resp) -> Value {
    let c = capture(name);
    assert_eq!(u64::from(r.status), want_status(&c), "{name}: status; body {}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/json"), "{name}: content type");
    r.json()
}

/// For Status answers the whole body must match.
fn check_exact(name: &str, r: &Resp) {
    let got = check(name, r);
    assert_eq!(&got, want_body(&capture(name)), "{name}: body");
}

pub(crate) fn send(client: &Client, name: &str) -> Resp {
    let c = capture(name);
    let method = c["request"]["method"].as_str().unwrap();
    let path = c["request"]["path"].as_str().unwrap();
    let ct = c["request"]["content_type"].as_str();
    let body = req_body(&c);
    let bytes = (!body.is_null()).then(|| body.to_string());
    client.send(method, path, ct, None, bytes.as_deref().map(str::as_bytes)).expect(name)
}

fn server() -> (TestServer, Client, Client) {
    let config = Config::new()
        .token("admin-token", "admin")
        .token("limited-token", "limited")
        .forbid(ForbidRule::user("limited"));
    let server = TestServer::start_blocking(config).expect("server");
    let base = Client::new(server.url());
    (server, base.with_token("admin-token"), base.with_token("limited-token"))
}

#[test]
fn captured_session_replays_with_the_same_answers() {
    let (server, admin, limited) = server();
    let dep = "/apis/apps/v1/namespaces/capture-demo/deployments/web";

    let ns = check("namespace-create.json", &send(&admin, "namespace-create.json"));
    let want = want_body(&capture("namespace-create.json")).clone();
    for k in ["spec", "status"] {
        assert_eq!(ns[k], want[k], "namespace {k}");
    }
    assert_eq!(ns["metadata"]["labels"], want["metadata"]["labels"]);
    assert_eq!(managers(&ns), managers(&want));
    check_exact("namespace-create-again-409.json", &send(&admin, "namespace-create-again-409.json"));
    check_exact("get-missing-404.json", &send(&admin, "get-missing-404.json"));
    check_exact("get-unknown-resource-404.json", &send(&admin, "get-unknown-resource-404.json"));

    let rv_before = server.resource_version();
    let dry = check("ssa-dry-run-create.json", &send(&admin, "ssa-dry-run-create.json"));
    let want = want_body(&capture("ssa-dry-run-create.json")).clone();
    assert!(dry["metadata"].get("resourceVersion").is_none(), "dry-run create has no resourceVersion");
    assert_eq!(dry["spec"], want["spec"]);
    assert_eq!(managers(&dry), managers(&want));
    assert_eq!(server.resource_version(), rv_before, "dry run bumped the resourceVersion");
    check_exact("get-after-dry-run-404.json", &send(&admin, "get-after-dry-run-404.json"));

    let created = check("ssa-create.json", &send(&admin, "ssa-create.json"));
    let want = want_body(&capture("ssa-create.json")).clone();
    assert_eq!(created["spec"], want["spec"]);
    assert_eq!(created["status"], want["status"]);
    assert_eq!(created["metadata"]["generation"], 1);
    assert_eq!(managers(&created), managers(&want));

    let rv = created["metadata"]["resourceVersion"].clone();
    let again = check("ssa-same-again.json", &send(&admin, "ssa-same-again.json"));
    assert_eq!(again["metadata"]["resourceVersion"], rv, "no-op apply kept the resourceVersion");
    assert_eq!(managers(&again), managers(want_body(&capture("ssa-same-again.json"))));

    let upd = check("ssa-dry-run-update.json", &send(&admin, "ssa-dry-run-update.json"));
    assert_eq!(upd["metadata"]["resourceVersion"], rv);
    assert_eq!(upd["metadata"]["generation"], 2);
    assert_eq!(upd["spec"]["template"]["spec"]["containers"][0]["image"], "docker.io/dimtensor:4.2.1");
    let live = admin.get(dep).json();
    assert_eq!(live["spec"]["template"]["spec"]["containers"][0]["image"], "docker.io/dimtensor:4.2.0");
    assert_eq!(live["metadata"]["resourceVersion"], rv);

    check_exact("ssa-conflict-409.json", &send(&admin, "ssa-conflict-409.json"));
    let forced = check("ssa-conflict-forced.json", &send(&admin, "ssa-conflict-forced.json"));
    assert_eq!(forced["spec"]["replicas"], 5);
    assert_eq!(forced["metadata"]["generation"], 2);
    assert_eq!(managers(&forced), managers(want_body(&capture("ssa-conflict-forced.json"))));

    // The real controller had added the revision annotation by then (through the status
    // subresource), so the merge patch below adds to an existing annotations map.
    let r = admin.patch(
        &format!("{dep}/status?fieldManager=kube-controller-manager"),
        "application/merge-patch+json",
        &json!({"metadata": {"annotations": {"deployment.kubernetes.io/revision": "1"}}}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["metadata"]["generation"], 2, "status writes do not bump generation");
    for (name, generation) in [("merge-patch.json", 3), ("strategic-merge-patch.json", 4), ("json-patch.json", 5)] {
        let got = check(name, &send(&admin, name));
        let want = want_body(&capture(name)).clone();
        assert_eq!(got["spec"], want["spec"], "{name}: spec");
        assert_eq!(got["metadata"]["generation"], generation, "{name}: generation");
        assert_eq!(managers(&got), managers(&want), "{name}: managedFields");
    }
    check_exact("json-patch-test-failed-422.json", &send(&admin, "json-patch-test-failed-422.json"));

    let list = check("list-by-label.json", &send(&admin, "list-by-label.json"));
    let want = want_body(&capture("list-by-label.json")).clone();
    assert_eq!((&list["kind"], &list["apiVersion"]), (&want["kind"], &want["apiVersion"]));
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0].get("kind").is_none(), "list items carry no kind, as the real server's");
    assert_eq!(managers(&list["items"][0]), managers(&want["items"][0]));
    assert_eq!(list["items"][0]["spec"], want["items"][0]["spec"]);

    check_exact("invalid-selector-422.json", &send(&admin, "invalid-selector-422.json"));

    let job = check("job-create.json", &send(&admin, "job-create.json"));
    let want_text = want_body(&capture("job-create.json")).to_string();
    let captured_uid = want_body(&capture("job-create.json"))["metadata"]["uid"].as_str().unwrap().to_string();
    let want: Value =
        serde_json::from_str(&want_text.replace(&captured_uid, job["metadata"]["uid"].as_str().unwrap())).unwrap();
    for k in ["spec", "status"] {
        assert_eq!(job[k], want[k], "job {k}");
    }
    for k in ["labels", "annotations", "generation"] {
        assert_eq!(job["metadata"][k], want["metadata"][k], "job metadata.{k}");
    }
    assert_eq!(managers(&job), managers(&want));
    for name in ["job-template-immutable-422.json", "job-template-immutable-dry-run-422.json"] {
        let got = check(name, &send(&admin, name));
        let want = want_body(&capture(name)).clone();
        for k in ["kind", "status", "reason", "code"] {
            assert_eq!(got[k], want[k], "{name}: {k}");
        }
        for k in ["name", "group", "kind"] {
            assert_eq!(got["details"][k], want["details"][k], "{name}: details.{k}");
        }
        assert_eq!(got["details"]["causes"][0]["field"], "spec.template");
        assert_eq!(got["details"]["causes"][0]["reason"], "FieldValueInvalid");
        let msg = got["message"].as_str().unwrap();
        assert!(
            msg.starts_with("Job.batch \"train\" is invalid: spec.template: Invalid value: core.PodTemplateSpec{"),
            "{msg}"
        );
        assert!(msg.ends_with(": field is immutable"), "{msg}");
    }

    for name in ["secret-create.json", "lease-create.json"] {
        let got = check(name, &send(&admin, name));
        let want = want_body(&capture(name)).clone();
        for k in ["data", "type", "spec"] {
            assert_eq!(got.get(k), want.get(k), "{name}: {k}");
        }
        assert_eq!(managers(&got), managers(&want), "{name}: managedFields");
    }

    check_exact("forbidden-403.json", &send(&limited, "forbidden-403.json"));
    check_exact("forbidden-apply-403.json", &send(&limited, "forbidden-apply-403.json"));
    let ssar = check("self-subject-access-review.json", &send(&limited, "self-subject-access-review.json"));
    let want = want_body(&capture("self-subject-access-review.json")).clone();
    assert_eq!(managers(&ssar), managers(&want));
    for k in ["kind", "apiVersion", "spec", "status"] {
        assert_eq!(ssar[k], want[k], "ssar {k}");
    }

    let watch = admin.get("/apis/apps/v1/namespaces/capture-demo/deployments?watch=1&timeoutSeconds=1");
    assert_eq!(u64::from(watch.status), want_status(&capture("watch-deployments.json")));
    let events = watch.lines();
    let want = want_body(&capture("watch-deployments.json")).clone();
    assert_eq!(events[0]["type"], want["type"]);
    assert_eq!(events[0]["object"]["kind"], want["object"]["kind"]);
    assert_eq!(events[0]["object"]["metadata"]["name"], want["object"]["metadata"]["name"]);

    let generation = admin.get(dep).json()["metadata"]["generation"].as_i64().unwrap();
    let fg = check("delete-foreground.json", &send(&admin, "delete-foreground.json"));
    assert_eq!(fg["kind"], "Deployment");
    assert_eq!(fg["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    assert_eq!(fg["metadata"]["deletionGracePeriodSeconds"], 0);
    assert!(fg["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(fg["metadata"]["generation"], generation + 1);

    let job_uid = admin.get("/apis/batch/v1/namespaces/capture-demo/jobs/train").json()["metadata"]["uid"].clone();
    let bg = check("delete-job-background.json", &send(&admin, "delete-job-background.json"));
    let mut want = want_body(&capture("delete-job-background.json")).clone();
    want["details"]["uid"] = job_uid;
    assert_eq!(bg, want);
}

#[test]
fn discovery_documents_are_the_captured_ones() {
    let server = TestServer::start_blocking(Config::new()).expect("server");
    let c = Client::new(server.url());
    for (path, name) in [
        ("/version", "version.json"),
        ("/api/v1", "discovery-api-v1.json"),
        ("/apis/apps/v1", "discovery-apps-v1.json"),
        ("/apis/batch/v1", "discovery-batch-v1.json"),
        ("/apis/autoscaling/v2", "discovery-autoscaling-v2.json"),
        ("/apis/networking.k8s.io/v1", "discovery-networking-k8s-io-v1.json"),
        ("/apis/policy/v1", "discovery-policy-v1.json"),
        ("/apis/coordination.k8s.io/v1", "discovery-coordination-k8s-io-v1.json"),
        ("/apis/rbac.authorization.k8s.io/v1", "discovery-rbac-authorization-k8s-io-v1.json"),
    ] {
        let r = c.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(&r.json(), want_body(&capture(name)), "{path}");
    }
    let api = c.get("/api").json();
    let want = want_body(&capture("discovery-api.json")).clone();
    assert_eq!((&api["kind"], &api["versions"]), (&want["kind"], &want["versions"]));
    assert_eq!(api["serverAddressByClientCIDRs"][0]["serverAddress"], server.addr().to_string());

    let apis = c.get("/apis").json();
    let captured = want_body(&capture("discovery-apis.json")).clone();
    let served: Vec<&str> = apis["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    for g in [
        "apps",
        "batch",
        "autoscaling",
        "networking.k8s.io",
        "policy",
        "coordination.k8s.io",
        "rbac.authorization.k8s.io",
        "scheduling.k8s.io",
        "authorization.k8s.io",
    ] {
        assert!(served.contains(&g), "{g} missing from /apis");
    }
    for g in apis["groups"].as_array().unwrap() {
        if let Some(real) = captured["groups"].as_array().unwrap().iter().find(|r| r["name"] == g["name"]) {
            assert_eq!(g["preferredVersion"], real["preferredVersion"], "{}", g["name"]);
        }
    }

    let agg = capture("aggregated-discovery-not-supported.json");
    let accept = agg["request"]["accept"].as_str().unwrap();
    let r = c.get_accept("/apis", accept);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json()["kind"], want_body(&agg)["kind"]);
}

/// The second captured session (ownership): another manager's update takes the field it
/// changed, create of an existing name, delete preconditions, one HPA under two versions.
#[test]
fn ownership_captures_replay_with_the_same_answers() {
    let (_server, admin, _) = server();
    let dep = "/apis/apps/v1/namespaces/capture-demo/deployments/web";
    check("namespace-create.json", &send(&admin, "namespace-create.json"));
    check("ssa-create.json", &send(&admin, "ssa-create.json"));

    let edited = check("own-update-by-other-manager.json", &send(&admin, "own-update-by-other-manager.json"));
    let want = want_body(&capture("own-update-by-other-manager.json")).clone();
    assert_eq!(edited["spec"], want["spec"]);
    assert_eq!(managers(&edited), managers(&want), "the image moved from kubectl-dimtensor to kubectl-edit");

    check_exact("create-existing-409.json", &send(&admin, "create-existing-409.json"));

    // Preconditions: the captured messages name the real object's uid and resourceVersion.
    let live = admin.get(dep).json();
    let (uid, rv) = (live["metadata"]["uid"].as_str().unwrap(), live["metadata"]["resourceVersion"].as_str().unwrap());
    for (name, captured, ours) in [
        ("delete-uid-precondition-409.json", "5b7be0f2-edf5-47d6-be57-bb1de760ba4f", uid),
        ("delete-rv-precondition-409.json", "(25563)", &format!("({rv})")),
    ] {
        let got = check(name, &send(&admin, name));
        let want: Value = serde_json::from_str(&want_body(&capture(name)).to_string().replace(captured, ours)).unwrap();
        assert_eq!(got, want, "{name}");
        assert_eq!(admin.get(dep).json()["metadata"]["uid"], uid, "{name}: nothing deleted");
    }

    let v2beta2 = send(&admin, "versions-hpa-apply-v2beta2.json");
    let c = capture("versions-hpa-apply-v2beta2.json");
    assert_eq!(v2beta2.header("warning"), c["response"]["headers"]["Warning"].as_str(), "deprecation warning");
    let created = check("versions-hpa-apply-v2beta2.json", &v2beta2);
    let want = want_body(&c).clone();
    for k in ["apiVersion", "kind", "spec"] {
        assert_eq!(created[k], want[k], "v2beta2 apply: {k}");
    }
    assert_eq!(managers(&created), managers(&want));

    let read = check("versions-hpa-get-v2.json", &send(&admin, "versions-hpa-get-v2.json"));
    let want = want_body(&capture("versions-hpa-get-v2.json")).clone();
    assert_eq!((&read["apiVersion"], &read["spec"]), (&want["apiVersion"], &want["spec"]));
    assert_eq!(read["metadata"]["uid"], created["metadata"]["uid"], "the same object");
    assert_eq!(read["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"]);
    assert_eq!(managers(&read), managers(&want), "managedFields keep the version they were written with");

    let updated = check("versions-hpa-apply-v2.json", &send(&admin, "versions-hpa-apply-v2.json"));
    let want = want_body(&capture("versions-hpa-apply-v2.json")).clone();
    assert_eq!((&updated["apiVersion"], &updated["spec"]), (&want["apiVersion"], &want["spec"]));
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"], "an update, not a new object");
    assert_ne!(updated["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"]);
    assert_eq!(managers(&updated), managers(&want), "the entry now names autoscaling/v2");
    let listed = admin.get("/apis/autoscaling/v2beta2/namespaces/capture-demo/horizontalpodautoscalers").json();
    assert_eq!(listed["apiVersion"], "autoscaling/v2beta2");
    assert_eq!(listed["items"][0]["metadata"]["uid"], created["metadata"]["uid"]);
}

/// The captured refusals of values a chart render could carry (`val-*`): the same status and
/// the same Status body, byte for byte; each in its own namespace so nothing else interferes.
#[test]
fn validation_refusals_match_the_captures() {
    let names: Vec<String> = std::fs::read_dir(format!("{}/tests/captures", env!("CARGO_MANIFEST_DIR")))
        .expect("captures")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("val-"))
        .collect();
    assert!(names.len() >= 10, "val-* captures: {names:?}");
    for name in names {
        let server = TestServer::start_blocking(Config::new().namespace("capture-demo")).expect("server");
        let client = Client::new(server.url());
        check_exact(&name, &send(&client, &name));
        // The same under dryRun=All, as `diff` and the install plan send it.
        let c = capture(&name);
        let path = format!("{}&dryRun=All", c["request"]["path"].as_str().unwrap());
        let body = req_body(&c).to_string();
        let r =
            client.send("PATCH", &path, c["request"]["content_type"].as_str(), None, Some(body.as_bytes())).unwrap();
        assert_eq!(&r.json(), want_body(&c), "{name} under dryRun=All");
    }
}

/// What the captured server refused is accepted once fixed: each refused field, mended.
#[test]
fn mended_values_are_accepted() {
    let server = TestServer::start_blocking(Config::new().namespace("capture-demo")).expect("server");
    let client = Client::new(server.url());
    let mend: &[(&str, &str, Value)] = &[
        ("val-nodeport-on-clusterip-422.json", "/spec/type", json!("NodePort")),
        ("val-nodeport-out-of-range-422.json", "/spec/ports/0/nodePort", json!(30080)),
        ("val-lb-source-ranges-on-clusterip-422.json", "/spec/type", json!("LoadBalancer")),
        ("val-target-port-numeric-string-422.json", "/spec/ports/0/targetPort", json!(9000)),
        ("val-ingress-class-empty-422.json", "/spec/ingressClassName", json!("nginx")),
        ("val-cron-minute-61-422.json", "/spec/schedule", json!("59 * * * *")),
        ("val-surge-and-unavailable-zero-422.json", "/spec/strategy/rollingUpdate/maxSurge", json!(1)),
        ("val-requests-above-limits-422.json", "/spec/template/spec/containers/0/resources/limits/cpu", json!("2")),
        ("val-env-name-leading-digit-422.json", "/spec/template/spec/containers/0/env/0/name", json!("GOOD")),
    ];
    for (name, pointer, value) in mend {
        let c = capture(name);
        let mut body = req_body(&c).clone();
        *body.pointer_mut(pointer).unwrap_or_else(|| panic!("{name}: {pointer}")) = value.clone();
        let path = c["request"]["path"].as_str().unwrap();
        let r = client
            .send("PATCH", path, c["request"]["content_type"].as_str(), None, Some(body.to_string().as_bytes()))
            .unwrap();
        assert!(r.status == 200 || r.status == 201, "{name} mended: {} {}", r.status, String::from_utf8_lossy(&r.body));
    }
}

/// The third captured session (finalizers): an object held by a finalizer stays after DELETE
/// with `deletionTimestamp`, and is still an object like any other for writes. The captured
/// apply to it is refused only because another manager owns the field it changes (a
/// FieldManagerConflict, the same 409 as for a live object); being terminating refuses nothing.
#[test]
fn finalizer_captures_replay_with_the_same_answers() {
    let (_server, admin, _) = server();
    let cm = "/api/v1/namespaces/capture-demo/configmaps/held";
    check("namespace-create.json", &send(&admin, "namespace-create.json"));

    let created = check("finalizer-create.json", &send(&admin, "finalizer-create.json"));
    let want = want_body(&capture("finalizer-create.json")).clone();
    for k in ["data"] {
        assert_eq!(created[k], want[k], "create: {k}");
    }
    assert_eq!(created["metadata"]["finalizers"], want["metadata"]["finalizers"]);
    assert_eq!(managers(&created), managers(&want));
    let rv: u64 = created["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();

    let deleted = check("finalizer-delete.json", &send(&admin, "finalizer-delete.json"));
    let want = want_body(&capture("finalizer-delete.json")).clone();
    assert_eq!(deleted["kind"], "ConfigMap", "the object, not a Status");
    assert!(deleted["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(deleted["metadata"]["deletionGracePeriodSeconds"], want["metadata"]["deletionGracePeriodSeconds"]);
    assert_eq!(deleted["metadata"]["finalizers"], want["metadata"]["finalizers"]);
    assert_eq!(managers(&deleted), managers(&want), "the delete is nobody's field change");
    assert_eq!(deleted["metadata"]["resourceVersion"], (rv + 1).to_string(), "one write, as 25568 -> 25569");
    assert!(deleted["metadata"].get("generation").is_none());

    let got = check("finalizer-get-terminating.json", &send(&admin, "finalizer-get-terminating.json"));
    assert_eq!(got, deleted, "the GET shows the same terminating object");

    check_exact("finalizer-apply-while-terminating.json", &send(&admin, "finalizer-apply-while-terminating.json"));

    // The same object still takes writes that conflict with nobody, and stays terminating.
    let apply = |body: &Value| {
        admin.patch(&format!("{cm}?fieldManager=kubectl-dimtensor"), "application/apply-patch+yaml", body)
    };
    let mine = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held"}, "data": {"other": "x"}});
    let updated = apply(&mine);
    assert_eq!(updated.status, 200, "{}", String::from_utf8_lossy(&updated.body));
    let updated = updated.json();
    assert_eq!(updated["data"]["other"], "x");
    assert_eq!(updated["metadata"]["deletionTimestamp"], deleted["metadata"]["deletionTimestamp"]);
    // Creating the name again is refused while it is taken (the registry says why).
    let again = admin.post("/api/v1/namespaces/capture-demo/configmaps", &json!({"metadata": {"name": "held"}}));
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["reason"], "AlreadyExists");
    assert_eq!(again.json()["message"], "object is being deleted: configmaps \"held\" already exists");
    // No finalizer may be added to an object being deleted.
    let more = admin.patch(
        cm,
        "application/merge-patch+json",
        &json!({"metadata": {"finalizers": ["example.com/block", "x.io/more"]}}),
    );
    assert_eq!(more.status, 422);
    assert!(more.json()["message"].as_str().unwrap().contains("metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"x.io/more\"}"));
    // Removing the last finalizer lets it go.
    let released = admin.patch(cm, "application/merge-patch+json", &json!({"metadata": {"finalizers": null}}));
    assert_eq!(released.status, 200);
    assert_eq!(admin.get(cm).status, 404);
}

/// The controller session (`ctl-*`): right after the apply, only the applier's fields and no
/// status; a moment later the status a v1.24 kube-controller-manager without kubelets writes
/// (observed, never available), the revision annotation and its own `status` entry.
#[test]
fn controller_captures_replay_with_the_same_status() {
    let controller = ControllerConfig::never_ready().delay(std::time::Duration::from_millis(300));
    let config = Config::new().namespace("capture-demo").controller(controller);
    let server = TestServer::start_blocking(config).expect("server");
    let c = Client::new(server.url());
    let applied = check("ctl-deployment-right-after-apply.json", &send(&c, "ctl-deployment-right-after-apply.json"));
    let want = want_body(&capture("ctl-deployment-right-after-apply.json")).clone();
    assert_eq!((&applied["status"], &applied["metadata"].get("annotations")), (&want["status"], &None));
    assert_eq!(managers(&applied), managers(&want));

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let path = "/apis/apps/v1/namespaces/capture-demo/deployments/web";
    while c.get(path).json()["status"]["observedGeneration"] != 1 {
        assert!(std::time::Instant::now() < deadline, "the controller never wrote the status");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let got = check("ctl-deployment-after-controllers.json", &send(&c, "ctl-deployment-after-controllers.json"));
    let want = want_body(&capture("ctl-deployment-after-controllers.json")).clone();
    assert_eq!(got["metadata"]["annotations"], want["metadata"]["annotations"]);
    for k in ["observedGeneration", "replicas", "updatedReplicas", "unavailableReplicas", "readyReplicas"] {
        assert_eq!(got["status"].get(k), want["status"].get(k), "status.{k}");
    }
    // Conditions without their times, and the ReplicaSet's hash (its template hash) masked.
    let conditions = |v: &Value| -> Vec<(Value, Value, Value, String)> {
        let list = v["status"]["conditions"].as_array().cloned().unwrap_or_default();
        list.iter()
            .map(|c| {
                let msg = c["message"].as_str().unwrap_or("");
                let masked = msg.split('"').enumerate().map(|(i, p)| if i == 1 { "RS" } else { p }).collect();
                (c["type"].clone(), c["status"].clone(), c["reason"].clone(), masked)
            })
            .collect()
    };
    assert_eq!(conditions(&got), conditions(&want));
    let entries = |v: &Value| -> Vec<(Value, Value, Value)> {
        let list = v["metadata"]["managedFields"].as_array().cloned().unwrap_or_default();
        list.iter().map(|m| (m["manager"].clone(), m["operation"].clone(), m["subresource"].clone())).collect()
    };
    assert_eq!(entries(&got), entries(&want), "the controller writes through the status subresource");
}
