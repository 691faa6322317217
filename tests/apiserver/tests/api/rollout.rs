//! What issue 14's tests lean on: the simulated controller's rollout states (old replicas still
//! there, a progress deadline), claims bound unless their class waits for a first consumer,
//! a settable clock, and simulated lease holders that renew (or die) like another client.

use crate::client::Client;
use dimtensor_test_apiserver::{Config, ControllerConfig, DeploymentBehaviour, LeaseHolder, TestServer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn start(config: Config) -> (TestServer, Client) {
    let server = TestServer::start_blocking(config.namespace("t")).expect("server");
    let client = Client::new(server.url());
    (server, client)
}

fn deployment(replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "img:1"}]}}}})
}

fn claim(name: &str, class: Option<&str>) -> Value {
    let mut c = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}});
    if let Some(class) = class {
        c["spec"]["storageClassName"] = json!(class);
    }
    c
}

#[test]
fn a_rollout_can_stop_with_old_replicas_still_there() {
    let controller = ControllerConfig::ready().deployments(DeploymentBehaviour::OldReplicasRemain);
    let (_server, c) = start(Config::new().controller(controller));
    let path = "/apis/apps/v1/namespaces/t/deployments/web";
    assert_eq!(c.apply(&format!("{path}?fieldManager=test"), &deployment(2)).status, 201);
    let s = c.get(path).json()["status"].clone();
    assert_eq!((s["observedGeneration"].clone(), s["replicas"].clone()), (json!(1), json!(3)));
    assert_eq!((s["updatedReplicas"].clone(), s["availableReplicas"].clone()), (json!(2), json!(3)));
    assert_eq!(s["conditions"][1]["reason"], "ReplicaSetUpdated", "still progressing");
}

#[test]
fn the_status_follows_a_write_after_the_configured_delay() {
    let controller = ControllerConfig::ready().delay(Duration::from_millis(700));
    let (_server, c) = start(Config::new().controller(controller));
    let path = "/apis/apps/v1/namespaces/t/deployments/web";
    c.apply(&format!("{path}?fieldManager=test"), &deployment(1));
    // A new generation: until the controller has seen it, observedGeneration lags behind.
    let changed = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "img:1"}]}}}});
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.get(path).json()["status"]["observedGeneration"] != 1 {
        assert!(Instant::now() < deadline, "the first generation was never observed");
        std::thread::sleep(Duration::from_millis(50));
    }
    let live = c.apply(&format!("{path}?fieldManager=test"), &changed).json();
    assert_eq!(live["metadata"]["generation"], 2);
    assert_eq!(live["status"]["observedGeneration"], 1, "right after the write: not seen yet");
    while c.get(path).json()["status"]["observedGeneration"] != 2 {
        assert!(Instant::now() < deadline, "the new generation was never observed");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(c.get(path).json()["status"]["availableReplicas"], 3);
}

#[test]
fn claims_bind_unless_their_class_waits_for_a_first_consumer() {
    let (server, c) = start(Config::new().controller(ControllerConfig::ready()));
    let classes = "/apis/storage.k8s.io/v1/storageclasses";
    let late = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "late"},
        "provisioner": "example.com/disk", "volumeBindingMode": "WaitForFirstConsumer"});
    assert_eq!(c.post(classes, &late).status, 201);
    let fast = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast"},
        "provisioner": "example.com/disk"});
    let fast = c.post(classes, &fast).json();
    assert_eq!(
        (fast["volumeBindingMode"].as_str(), fast["reclaimPolicy"].as_str()),
        (Some("Immediate"), Some("Delete"))
    );
    let claims = "/api/v1/namespaces/t/persistentvolumeclaims";
    for (name, class) in [("plain", None), ("quick", Some("fast")), ("later", Some("late"))] {
        assert_eq!(c.post(claims, &claim(name, class)).status, 201);
    }
    let phase = |n: &str| c.get(&format!("{claims}/{n}")).json()["status"]["phase"].clone();
    assert_eq!((phase("plain"), phase("quick"), phase("later")), (json!("Bound"), json!("Bound"), json!("Pending")));
    assert_eq!(c.get(&format!("{claims}/quick")).json()["status"]["capacity"]["storage"], "2Gi");
    server.set_controller(ControllerConfig::never_ready());
    c.post(claims, &claim("stuck", None));
    assert_eq!(phase("stuck"), "Pending");
}

#[test]
fn the_clock_is_settable() {
    let (server, c) = start(Config::new().clock_offset(-7200));
    let cms = "/api/v1/namespaces/t/configmaps";
    let year = |v: &Value| v["metadata"]["creationTimestamp"].as_str().unwrap_or("").to_string();
    let behind = c.post(cms, &json!({"metadata": {"name": "a"}})).json();
    server.set_clock_offset(0);
    let now = c.post(cms, &json!({"metadata": {"name": "b"}})).json();
    let secs = |t: &str| dimtensor_test_apiserver::util::parse_rfc3339(t).unwrap();
    let gap = secs(&year(&now)) - secs(&year(&behind));
    assert!((7195..=7205).contains(&gap), "the first was stamped two hours behind: {gap}s");
}

#[test]
fn a_simulated_holder_renews_its_lease_with_its_clock_until_it_dies() {
    let (server, c) = start(Config::new().clock_offset(-3600));
    let path = "/apis/coordination.k8s.io/v1/namespaces/t/leases/lock";
    let holder = server.hold_lease(LeaseHolder::new("t", "lock", "alice@far:1", 1));
    let first = c.get(path).json();
    assert_eq!(first["spec"]["holderIdentity"], "alice@far:1");
    assert_eq!(first["spec"]["leaseDurationSeconds"], 1);
    let renewed = first["spec"]["renewTime"].as_str().unwrap().to_string();
    assert!(renewed.ends_with('Z') && renewed.len() == "2025-01-01T00:00:00.000000Z".len(), "{renewed}");
    let secs = |t: &str| dimtensor_test_apiserver::util::parse_rfc3339(t).unwrap();
    let behind = dimtensor_test_apiserver::util::unix_now() - secs(&renewed);
    assert!((3590..=3610).contains(&behind), "renewTime follows the server's clock: {behind}s behind");
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.get(path).json()["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"] {
        assert!(Instant::now() < deadline, "never renewed");
        std::thread::sleep(Duration::from_millis(50));
    }
    holder.die();
    std::thread::sleep(Duration::from_millis(400));
    let last = c.get(path).json();
    std::thread::sleep(Duration::from_millis(900));
    assert_eq!(c.get(path).json()["metadata"]["resourceVersion"], last["metadata"]["resourceVersion"], "dead");
    assert_eq!(last["spec"]["holderIdentity"], "alice@far:1", "a dead holder's lease stays");
}
