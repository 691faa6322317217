//! Behaviour beyond the captures: test controls (faults, tokens, forbid rules, controller),
//! concurrency guards, watches, custom resources, dry run and the request log.

use crate::client::Client;
use dimtensor_test_apiserver::{
    Config, ControllerConfig, CustomResource, DeploymentBehaviour, Fault, ForbidRule, JobBehaviour, TestServer,
};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const DEPLOYS: &str = "/apis/apps/v1/namespaces/t/deployments";

fn deployment(name: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "img:1"}]}}}})
}

fn job(name: &str) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"completions": 2, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "img:1"}]}}}})
}

fn start(config: Config) -> (TestServer, Client) {
    let server = TestServer::start_blocking(config.namespace("t")).expect("server");
    let client = Client::new(server.url());
    (server, client)
}

/// Polls for up to five seconds (timing-based behaviour on a loaded CI machine).
fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn apply(c: &Client, path: &str, body: &Value) -> crate::client::Resp {
    c.apply(&format!("{path}?fieldManager=test"), body)
}

#[test]
fn faults_fire_on_the_nth_matching_request() {
    let config = Config::new()
        .fault(Fault::new("GET", "/namespaces/t/configmaps$").unwrap().nth(2).status(503))
        .fault(Fault::new("GET", "/secrets").unwrap().too_many_requests(7))
        .fault(Fault::new("GET", "/leases").unwrap().reset())
        .fault(Fault::new("GET", "/services").unwrap().delay(Duration::from_millis(300)))
        .fault(Fault::new("*", "/api/v1/namespaces/t/pods").unwrap().times(2).status(500));
    let (server, c) = start(config);
    assert_eq!(c.get("/api/v1/namespaces/t/configmaps").status, 200);
    let r = c.get("/api/v1/namespaces/t/configmaps");
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["reason"], "ServiceUnavailable");
    assert_eq!(c.get("/api/v1/namespaces/t/configmaps").status, 200);
    let r = c.get("/api/v1/namespaces/t/secrets");
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.json()["details"]["retryAfterSeconds"], 7);
    let _ = c.send("GET", "/api/v1/namespaces/t/leases", None, None, None);
    let t = Instant::now();
    assert_eq!(c.get("/api/v1/namespaces/t/services").status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(c.get("/api/v1/namespaces/t/pods").json()["reason"], "InternalError");
    assert_eq!(c.get("/api/v1/namespaces/t/pods").status, 500);
    assert_eq!(c.get("/api/v1/namespaces/t/pods").status, 200);
    let log = server.requests();
    assert!(log.iter().any(|r| r.path.ends_with("/leases") && r.status == 0), "reset is logged with status 0");
}

#[test]
fn reset_fault_drops_the_connection() {
    let (_server, c) = start(Config::new().fault(Fault::new("GET", "/leases").unwrap().reset()));
    let err = c.send("GET", "/apis/coordination.k8s.io/v1/namespaces/t/leases", None, None, None);
    assert!(err.is_err() || err.as_ref().is_ok_and(|r| r.status == 0), "expected a dropped connection, got {err:?}");
    assert_eq!(c.get("/apis/coordination.k8s.io/v1/namespaces/t/leases").status, 200);
}

#[test]
fn tokens_users_and_forbid_rules() {
    let config = Config::new()
        .token("a", "admin")
        .token("l", "limited")
        .forbid(ForbidRule::user("limited").verb("create").resource("deployments").namespace("t"))
        .forbid(ForbidRule::user("limited").verb("delete").resource("configmaps"))
        .forbid(ForbidRule::user("limited").verb("get").group("apps"));
    let (_server, c) = start(config);
    let r = c.with_token("nope").get("/api/v1/namespaces");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
    );
    assert_eq!(c.get("/api/v1/namespaces").status, 401, "no token and no anonymous user");
    let limited = c.with_token("l");
    let r = limited.post(DEPLOYS, &deployment("web", 1));
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["message"], "deployments.apps is forbidden: User \"limited\" cannot create resource \"deployments\" in API group \"apps\" in the namespace \"t\"");
    assert_eq!(r.json()["details"], json!({"group": "apps", "kind": "deployments"}));
    let admin = c.with_token("a");
    assert_eq!(admin.post(DEPLOYS, &deployment("web", 1)).status, 201);
    assert_eq!(limited.get(&format!("{DEPLOYS}/web")).status, 403);
    assert_eq!(limited.get(DEPLOYS).status, 200, "list is still allowed");
    assert_eq!(admin.post("/api/v1/namespaces/t/configmaps", &json!({"metadata": {"name": "cm"}})).status, 201);
    let r = limited.delete("/api/v1/namespaces/t/configmaps/cm", None);
    assert_eq!(r.json()["message"], "configmaps \"cm\" is forbidden: User \"limited\" cannot delete resource \"configmaps\" in API group \"\" in the namespace \"t\"");
    let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": "t", "verb": "create", "group": "apps", "resource": "deployments"}}});
    let r = limited.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", &review);
    assert_eq!((r.status, r.json()["status"].clone()), (201, json!({"allowed": false})));
    let r = admin.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", &review);
    assert_eq!(r.json()["status"], json!({"allowed": true}));
}

#[test]
fn controller_rolls_out_or_not() {
    let (server, c) = start(Config::new().controller(ControllerConfig::ready()));
    let r = apply(&c, &format!("{DEPLOYS}/web"), &deployment("web", 3));
    assert_eq!(r.status, 201);
    let live = c.get(&format!("{DEPLOYS}/web")).json();
    let s = &live["status"];
    assert_eq!(
        (
            s["observedGeneration"].clone(),
            s["readyReplicas"].clone(),
            s["availableReplicas"].clone(),
            s["updatedReplicas"].clone()
        ),
        (json!(1), json!(3), json!(3), json!(3))
    );
    assert_eq!(s["conditions"][0]["type"], "Available");
    assert_eq!(s["conditions"][0]["status"], "True");
    assert!(live["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["manager"] == "kube-controller-manager" && m["subresource"] == "status"));

    assert_eq!(apply(&c, "/apis/batch/v1/namespaces/t/jobs/j", &job("j")).status, 201);
    let j = c.get("/apis/batch/v1/namespaces/t/jobs/j").json();
    assert_eq!(j["status"]["succeeded"], 2);
    assert_eq!(j["status"]["conditions"][0]["type"], "Complete");

    server.set_controller(ControllerConfig::never_ready());
    apply(&c, &format!("{DEPLOYS}/slow"), &deployment("slow", 2));
    let s = c.get(&format!("{DEPLOYS}/slow")).json()["status"].clone();
    assert_eq!(s["unavailableReplicas"], 2);
    assert!(s.get("readyReplicas").is_none());
    assert_eq!(s["conditions"][0]["status"], "False");

    server.set_controller(
        ControllerConfig::never_ready().deployments(DeploymentBehaviour::DeadlineExceeded).jobs(JobBehaviour::Fail),
    );
    apply(&c, &format!("{DEPLOYS}/stuck"), &deployment("stuck", 1));
    let conds = c.get(&format!("{DEPLOYS}/stuck")).json()["status"]["conditions"].clone();
    assert_eq!(conds[1]["reason"], "ProgressDeadlineExceeded");
    apply(&c, "/apis/batch/v1/namespaces/t/jobs/bad", &job("bad"));
    assert_eq!(
        c.get("/apis/batch/v1/namespaces/t/jobs/bad").json()["status"]["conditions"][0]["reason"],
        "BackoffLimitExceeded"
    );

    server.set_controller(ControllerConfig::ready_after(Duration::from_millis(800)));
    apply(&c, &format!("{DEPLOYS}/later"), &deployment("later", 1));
    assert!(c.get(&format!("{DEPLOYS}/later")).json()["status"].get("readyReplicas").is_none());
    assert!(eventually(|| c.get(&format!("{DEPLOYS}/later")).json()["status"]["readyReplicas"] == 1));

    server.set_controller(ControllerConfig::off());
    apply(&c, &format!("{DEPLOYS}/plain"), &deployment("plain", 1));
    assert_eq!(c.get(&format!("{DEPLOYS}/plain")).json()["status"], json!({}));
}

#[test]
fn leases_guard_updates_with_resource_version() {
    let (_server, c) = start(Config::new());
    let leases = "/apis/coordination.k8s.io/v1/namespaces/t/leases";
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "lock"},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 30}});
    let created = c.post(leases, &lease).json();
    let rv = created["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    let mut mine = created.clone();
    mine["spec"]["holderIdentity"] = json!("b");
    let r = c.put(&format!("{leases}/lock"), &mine);
    assert_eq!(r.status, 200);
    assert_ne!(r.json()["metadata"]["resourceVersion"], rv.as_str());
    let mut stale = created.clone();
    stale["spec"]["holderIdentity"] = json!("c");
    let r = c.put(&format!("{leases}/lock"), &stale);
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["reason"], "Conflict");
    assert_eq!(r.json()["message"], "Operation cannot be fulfilled on leases.coordination.k8s.io \"lock\": the object has been modified; please apply your changes to the latest version and try again");
    let r = c.delete(&format!("{leases}/lock"), Some(&json!({"preconditions": {"resourceVersion": rv}})));
    assert_eq!(r.status, 409);
    let mut fresh = lease.clone();
    fresh["metadata"]["name"] = json!("other");
    assert_eq!(c.put(&format!("{leases}/other"), &fresh).status, 201, "leases may be created by PUT");
}

#[test]
fn namespaces_gate_and_cascade() {
    let (server, c) = start(Config::new());
    let r = c.post("/api/v1/namespaces/missing/configmaps", &json!({"metadata": {"name": "x"}}));
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "namespaces \"missing\" not found");
    assert_eq!(r.json()["details"], json!({"name": "missing", "kind": "namespaces"}));
    assert_eq!(c.get("/api/v1/namespaces/missing/configmaps/x").json()["message"], "configmaps \"x\" not found");
    c.post("/api/v1/namespaces/t/configmaps", &json!({"metadata": {"name": "x"}}));
    let r = c.delete("/api/v1/namespaces/t", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"]["phase"], "Terminating");
    assert!(server.get_object("v1", "ConfigMap", Some("t"), "x").is_none());
    assert_eq!(c.get("/api/v1/namespaces/t").status, 404);
}

#[test]
fn dry_run_stores_nothing_on_every_write() {
    let (server, c) = start(Config::new());
    c.post(DEPLOYS, &deployment("web", 1));
    let rv = server.resource_version();
    assert_eq!(c.post(&format!("{DEPLOYS}?dryRun=All"), &deployment("new", 1)).status, 201);
    let mut changed = c.get(&format!("{DEPLOYS}/web")).json();
    changed["spec"]["replicas"] = json!(9);
    let r = c.put(&format!("{DEPLOYS}/web?dryRun=All"), &changed);
    assert_eq!((r.status, r.json()["spec"]["replicas"].clone()), (200, json!(9)));
    let r = c.patch(
        &format!("{DEPLOYS}/web?dryRun=All"),
        "application/merge-patch+json",
        &json!({"spec": {"replicas": 7}}),
    );
    assert_eq!(r.json()["spec"]["replicas"], 7);
    assert_eq!(c.delete(&format!("{DEPLOYS}/web?dryRun=All"), None).status, 200);
    assert_eq!(server.resource_version(), rv);
    assert_eq!(server.get_object("apps/v1", "Deployment", Some("t"), "web").unwrap()["spec"]["replicas"], 1);
    assert!(server.get_object("apps/v1", "Deployment", Some("t"), "new").is_none());
    let log = server.requests();
    assert!(log.iter().filter(|r| r.dry_run).count() >= 4);
}

#[test]
fn validation_that_matters() {
    let (_server, c) = start(Config::new());
    let mut bad = deployment("Bad_Name", 1);
    bad["metadata"]["name"] = json!("Bad_Name");
    let r = c.post(DEPLOYS, &bad);
    assert_eq!((r.status, r.json()["details"]["causes"][0]["field"].clone()), (422, json!("metadata.name")));
    let r = c.post(DEPLOYS, &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {}}));
    assert_eq!(r.json()["details"]["causes"][0]["message"], "Required value: name or generateName is required");
    let r = c.post(
        DEPLOYS,
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"generateName": "gen-"},
        "spec": deployment("x", 1)["spec"].clone()}),
    );
    assert_eq!(r.status, 201);
    assert!(r.json()["metadata"]["name"].as_str().unwrap().starts_with("gen-"));

    c.post(DEPLOYS, &deployment("web", 1));
    let r = c.patch(&format!("{DEPLOYS}/web"), "application/merge-patch+json", &json!({"spec": {"selector": {"matchLabels": {"app": "web", "x": "y"}}, "template": {"metadata": {"labels": {"x": "y"}}}}}));
    assert_eq!(r.status, 422);
    assert!(r.json()["message"].as_str().unwrap().ends_with("field is immutable"));

    let svc =
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}});
    let created = c.post("/api/v1/namespaces/t/services", &svc).json();
    let ip = created["spec"]["clusterIP"].as_str().unwrap().to_string();
    assert!(ip.starts_with("10.96."));
    let r = c.patch(
        "/api/v1/namespaces/t/services/svc",
        "application/merge-patch+json",
        &json!({"spec": {"clusterIP": "10.96.99.99"}}),
    );
    assert_eq!((r.status, r.json()["details"]["causes"][0]["field"].clone()), (422, json!("spec.clusterIPs[0]")));
    let r = c.apply("/api/v1/namespaces/t/services/svc?fieldManager=m", &svc);
    assert_eq!(r.json()["spec"]["clusterIP"], ip.as_str(), "apply without clusterIP keeps it");

    let big = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "big"}, "stringData": {"k": "x".repeat(1_100_000)}});
    let r = c.post("/api/v1/namespaces/t/secrets", &big);
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (422, json!("Secret \"big\" is invalid: data: Too long: must have at most 1048576 bytes"))
    );
    let huge = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "huge"}, "data": {"k": "x".repeat(3_200_000)}});
    assert_eq!(c.post("/api/v1/namespaces/t/configmaps", &huge).status, 413);

    let r = c.apply(&format!("{DEPLOYS}/web"), &deployment("web", 1));
    assert_eq!(r.status, 422, "apply without fieldManager");
    assert_eq!(
        r.json()["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );
    let r = c.patch(&format!("{DEPLOYS}/web"), "application/json", &json!({}));
    assert_eq!(r.status, 415);
    assert_eq!(c.get("/apis/apps/v1/namespaces/t/widgets").status, 404);
}

#[test]
fn selectors_pagination_and_tables() {
    let (_server, c) = start(Config::new());
    for (n, tier) in [("a", "front"), ("b", "back"), ("c", "front")] {
        let mut d = deployment(n, 1);
        d["metadata"]["labels"]["tier"] = json!(tier);
        c.post(DEPLOYS, &d);
    }
    let names = |q: &str| -> Vec<String> {
        let r = c.get(&format!("{DEPLOYS}?{q}"));
        assert_eq!(r.status, 200, "{q}: {}", String::from_utf8_lossy(&r.body));
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("labelSelector=tier%3Dfront"), ["a", "c"]);
    assert_eq!(names("labelSelector=tier%3D%3Dfront"), ["a", "c"]);
    assert_eq!(names("labelSelector=tier!%3Dfront"), ["b"]);
    assert_eq!(names("labelSelector=tier%20in%20(back,x)"), ["b"]);
    assert_eq!(names("labelSelector=tier%20notin%20(back)"), ["a", "c"]);
    assert_eq!(names("labelSelector=tier"), ["a", "b", "c"]);
    assert_eq!(names("labelSelector=!tier").len(), 0);
    assert_eq!(names("fieldSelector=metadata.name%3Db"), ["b"]);
    assert_eq!(c.get(&format!("{DEPLOYS}?fieldSelector=spec.x%3D1")).status, 400);
    let page = c.get(&format!("{DEPLOYS}?limit=2")).json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let token = page["metadata"]["continue"].as_str().unwrap().to_string();
    assert_eq!(page["metadata"]["remainingItemCount"], 1);
    assert_eq!(names(&format!("limit=2&continue={token}")), ["c"]);
    let t = c.get_accept(DEPLOYS, "application/json;as=Table;v=v1;g=meta.k8s.io,application/json").json();
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["rows"].as_array().unwrap().len(), 3);
}

#[test]
fn watch_replays_from_a_resource_version() {
    let (server, c) = start(Config::new());
    let rv = server.resource_version();
    c.post(DEPLOYS, &deployment("w", 1));
    c.patch(&format!("{DEPLOYS}/w"), "application/merge-patch+json", &json!({"spec": {"replicas": 2}}));
    c.delete(&format!("{DEPLOYS}/w"), None);
    let events = c.get(&format!("{DEPLOYS}?watch=true&resourceVersion={rv}&timeoutSeconds=1")).lines();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);
    assert_eq!(events[1]["object"]["spec"]["replicas"], 2);

    let url = server.url().to_string();
    let watcher = std::thread::spawn(move || {
        Client::new(&url).get(&format!("{DEPLOYS}?watch=1&timeoutSeconds=2&fieldSelector=metadata.name%3Dlive")).lines()
    });
    std::thread::sleep(Duration::from_millis(400));
    c.post(DEPLOYS, &deployment("other", 1));
    c.post(DEPLOYS, &deployment("live", 1));
    let live = watcher.join().unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0]["object"]["metadata"]["name"], "live");
}

#[test]
fn custom_resources_are_discoverable_and_servable() {
    let cr = CustomResource::new("dimtensor.io", "v1alpha1", "Model", "models").short_names(&["mdl"]);
    let (_server, c) = start(Config::new().custom_resource(cr).aggregated_discovery(true));
    let apis = c.get("/apis").json();
    assert!(apis["groups"].as_array().unwrap().iter().any(|g| g["name"] == "dimtensor.io"));
    let list = c.get("/apis/dimtensor.io/v1alpha1").json();
    assert_eq!(list["resources"][0]["name"], "models");
    let agg =
        c.get_accept("/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json");
    assert_eq!(
        agg.header("content-type"),
        Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    );
    assert_eq!(agg.json()["kind"], "APIGroupDiscoveryList");
    let path = "/apis/dimtensor.io/v1alpha1/namespaces/t/models/m";
    let model = json!({"apiVersion": "dimtensor.io/v1alpha1", "kind": "Model", "metadata": {"name": "m"}, "spec": {"size": 3, "nested": {"a": 1}}});
    let r = c.apply(&format!("{path}?fieldManager=me"), &model);
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["metadata"]["generation"], 1);
    let r = c.patch(path, "application/merge-patch+json", &json!({"spec": {"size": 4}}));
    assert_eq!((r.json()["spec"]["size"].clone(), r.json()["metadata"]["generation"].clone()), (json!(4), json!(2)));
    assert_eq!(c.patch(path, "application/strategic-merge-patch+json", &json!({})).status, 415);
    let items = c.get("/apis/dimtensor.io/v1alpha1/namespaces/t/models").json();
    assert_eq!(items["items"][0]["kind"], "Model", "custom resource list items keep their kind");
}

#[test]
fn deletion_policies_and_finalizers() {
    let (server, c) = start(Config::new().finalizer_delay(Duration::from_millis(800)));
    c.post(DEPLOYS, &deployment("fg", 1));
    let r = c.delete(
        &format!("{DEPLOYS}/fg"),
        Some(&json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"})),
    );
    assert_eq!(r.json()["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    assert!(
        c.get(&format!("{DEPLOYS}/fg")).json()["metadata"]["deletionTimestamp"].is_string(),
        "still there while finalizing"
    );
    assert!(eventually(|| c.get(&format!("{DEPLOYS}/fg")).status == 404));

    c.post("/apis/batch/v1/namespaces/t/jobs", &job("j"));
    let r = c.delete("/apis/batch/v1/namespaces/t/jobs/j", None);
    assert_eq!(r.json()["metadata"]["finalizers"], json!(["orphan"]), "batch/v1 Jobs orphan by default");

    let mut held = deployment("held", 1);
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    c.post(DEPLOYS, &held);
    assert_eq!(c.delete(&format!("{DEPLOYS}/held"), None).json()["kind"], "Deployment");
    assert!(server.get_object("apps/v1", "Deployment", Some("t"), "held").is_some());
    let r =
        c.patch(&format!("{DEPLOYS}/held"), "application/merge-patch+json", &json!({"metadata": {"finalizers": null}}));
    assert_eq!(r.status, 200);
    assert!(
        server.get_object("apps/v1", "Deployment", Some("t"), "held").is_none(),
        "gone once the last finalizer is removed"
    );

    c.post(DEPLOYS, &deployment("bg", 1));
    let r = c.delete(&format!("{DEPLOYS}/bg"), Some(&json!({"propagationPolicy": "Background"})));
    assert_eq!(r.json()["status"], "Success");
    assert_eq!(c.delete(&format!("{DEPLOYS}/bg"), None).status, 404);
}

#[test]
fn request_log_records_what_tests_assert_on() {
    let (server, c) = start(Config::new());
    c.apply(&format!("{DEPLOYS}/web?fieldManager=kubectl-dimtensor&force=true&dryRun=All"), &deployment("web", 1));
    let log = server.requests();
    let last = log.last().unwrap();
    assert_eq!((last.method.as_str(), last.path.as_str()), ("PATCH", "/apis/apps/v1/namespaces/t/deployments/web"));
    assert!(last.dry_run && last.force);
    assert_eq!(last.field_manager.as_deref(), Some("kubectl-dimtensor"));
    assert_eq!(last.user.as_deref(), Some("admin"));
    assert_eq!(last.status, 201);
    assert_eq!(last.content_type.as_deref(), Some("application/apply-patch+yaml"));
    assert_eq!(last.param("fieldManager").as_deref(), Some("kubectl-dimtensor"));
    server.clear_log();
    assert!(server.requests().is_empty());
}

#[test]
fn scale_subresource_and_seeds() {
    let seeded = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "seeded", "namespace": "seeds"},
        "spec": deployment("seeded", 2)["spec"].clone(), "status": {"readyReplicas": 2}});
    let (server, c) = start(Config::new().seed(seeded));
    let got = server.get_object("apps/v1", "Deployment", Some("seeds"), "seeded").unwrap();
    assert_eq!(got["status"]["readyReplicas"], 2, "seeded status is kept");
    assert!(server.get_object("v1", "Namespace", None, "seeds").is_some(), "seed namespaces are created");
    let path = "/apis/apps/v1/namespaces/seeds/deployments/seeded/scale";
    let s = c.get(path).json();
    assert_eq!(
        (s["kind"].clone(), s["spec"]["replicas"].clone(), s["status"]["selector"].clone()),
        (json!("Scale"), json!(2), json!("app=seeded"))
    );
    let r = c.patch(path, "application/merge-patch+json", &json!({"spec": {"replicas": 5}}));
    assert_eq!(r.json()["spec"]["replicas"], 5);
    assert_eq!(server.get_object("apps/v1", "Deployment", Some("seeds"), "seeded").unwrap()["spec"]["replicas"], 5);
}

#[tokio::test]
async fn starts_on_the_callers_runtime() {
    let server = TestServer::start(Config::new()).await.expect("server");
    let url = server.url().to_string();
    let status = tokio::task::spawn_blocking(move || Client::new(&url).get("/version").status).await.unwrap();
    assert_eq!(status, 200);
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kc, "t", "tok").unwrap();
    assert!(std::fs::read_to_string(&kc).unwrap().contains(server.url()));
    server.shutdown();
}
