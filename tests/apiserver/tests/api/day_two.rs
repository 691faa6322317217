//! What `doctor` and `logs` read: seeded nodes, events, pods with kubelet-written statuses,
//! StorageClasses (with their defaults), `pods/log` (plain, previous, tail, since, timestamps,
//! follow), and no `metrics.k8s.io` unless a test registers it.

use crate::client::Client;
use dimtensor_test_apiserver::{Config, ForbidRule, TestServer};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::time::{Duration, SystemTime};

fn pod(name: &str, state: Value, last: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "t"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "main", "image": "img:1"}]},
        "status": {"phase": "Running", "containerStatuses": [
            {"name": "main", "image": "img:1", "ready": false, "restartCount": 1, "state": state, "lastState": last}]}})
}

fn running(name: &str) -> Value {
    pod(name, json!({"running": {"startedAt": "2024-01-01T00:00:00Z"}}), json!({}))
}

fn start(config: Config) -> (TestServer, Client) {
    let server = TestServer::start_blocking(config.namespace("t")).expect("server");
    let client = Client::new(server.url());
    (server, client)
}

fn body(r: &crate::client::Resp) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

const LOG: &str = "/api/v1/namespaces/t/pods";

#[test]
fn logs_are_plain_text_with_tail_since_timestamps_and_previous() {
    let restarted = pod(
        "p",
        running("p")["status"]["containerStatuses"][0]["state"].clone(),
        json!({"terminated": {"reason": "Error", "exitCode": 1}}),
    );
    let (server, c) = start(Config::new().seed(restarted));
    let old = SystemTime::now() - Duration::from_secs(3600);
    server.append_log_at("t", "p", "main", old, "an hour ago");
    server.append_log("t", "p", "main", "epoch 1\nepoch 2");
    server.set_previous_log("t", "p", "main", "crashed: out of memory");
    let r = c.get(&format!("{LOG}/p/log"));
    assert_eq!((r.status, r.header("content-type")), (200, Some("text/plain")));
    assert_eq!(body(&r), "an hour ago\nepoch 1\nepoch 2\n");
    assert_eq!(body(&c.get(&format!("{LOG}/p/log?tailLines=1"))), "epoch 2\n");
    assert_eq!(body(&c.get(&format!("{LOG}/p/log?sinceSeconds=60"))), "epoch 1\nepoch 2\n");
    let stamped = body(&c.get(&format!("{LOG}/p/log?timestamps=true&tailLines=1")));
    let (time, text) = stamped.trim_end().split_once(' ').unwrap();
    assert!(time.ends_with('Z') && time.contains('T') && text == "epoch 2", "{stamped}");
    assert_eq!(body(&c.get(&format!("{LOG}/p/log?previous=true"))), "crashed: out of memory\n");
    assert_eq!(body(&c.get(&format!("{LOG}/p/log?container=main&limitBytes=5"))), "an ho");
    let bad = c.get(&format!("{LOG}/p/log?tailLines=-1"));
    assert_eq!(bad.status, 422);
    assert_eq!(
        bad.json()["message"],
        "PodLogOptions \"p\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0"
    );
}

#[test]
fn log_errors_are_the_kubelets() {
    let pulling = pod("pull", json!({"waiting": {"reason": "ImagePullBackOff"}}), json!({}));
    let crash = pod(
        "crash",
        json!({"waiting": {"reason": "CrashLoopBackOff"}}),
        json!({"terminated": {"reason": "OOMKilled", "exitCode": 137}}),
    );
    let mut pending = running("pending");
    pending["spec"].as_object_mut().unwrap().remove("nodeName");
    let (server, c) = start(Config::new().seed(pulling).seed(crash).seed(pending));
    server.set_previous_log("t", "crash", "main", "loading checkpoint");
    let r = c.get(&format!("{LOG}/pull/log"));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["reason"], "BadRequest");
    assert_eq!(
        r.json()["message"],
        "container \"main\" in pod \"pull\" is waiting to start: trying and failing to pull image"
    );
    assert_eq!(body(&c.get(&format!("{LOG}/crash/log"))), "loading checkpoint\n", "a crash loop shows the last run");
    let unscheduled = c.get(&format!("{LOG}/pending/log"));
    assert_eq!((unscheduled.status, body(&unscheduled)), (200, String::new()));
    assert_eq!(c.get(&format!("{LOG}/gone/log")).json()["message"], "pods \"gone\" not found");
    assert_eq!(
        c.get(&format!("{LOG}/crash/log?container=x")).json()["message"],
        "container x is not valid for pod crash"
    );
}

#[test]
fn follow_streams_new_lines_until_the_container_stops() {
    let (server, c) = start(Config::new().seed(running("p")).pod_log("t", "p", "main", "first"));
    let mut s = std::net::TcpStream::connect(c.addr.as_str()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "GET {LOG}/p/log?follow=true HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("first") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "stream ended early");
        seen.extend_from_slice(&buf[..n]);
    }
    server.append_log("t", "p", "main", "second");
    let mut done = running("p");
    done["status"]["containerStatuses"][0]["state"] = json!({"terminated": {"reason": "Completed", "exitCode": 0}});
    server.append_log("t", "p", "main", "third");
    server.insert_object(done).unwrap();
    s.read_to_end(&mut seen).unwrap();
    let text = String::from_utf8_lossy(&seen);
    assert!(text.contains("Transfer-Encoding: chunked") || text.contains("transfer-encoding: chunked"), "{text}");
    let pos = |w: &str| text.find(w).unwrap_or_else(|| panic!("{w} missing: {text}"));
    assert!(pos("first") < pos("second") && pos("second") < pos("third"), "{text}");
}

#[test]
fn pods_log_is_authorized_as_its_own_subresource() {
    let config = Config::new()
        .seed(running("p"))
        .token("t1", "viewer")
        .forbid(ForbidRule::user("viewer").verb("get").resource("pods/log"));
    let (_server, c) = start(config);
    let c = c.with_token("t1");
    assert_eq!(c.get(&format!("{LOG}/p")).status, 200, "the pod itself is readable");
    let r = c.get(&format!("{LOG}/p/log"));
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["message"],
        "pods \"p\" is forbidden: User \"viewer\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"t\""
    );
}

#[test]
fn nodes_events_and_storage_classes_are_seedable_and_metrics_are_absent() {
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-1", "labels": {"accelerator": "nvidia-gpu"}},
        "spec": {"taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]},
        "status": {"allocatable": {"cpu": "8", "nvidia.com/gpu": "1"}}});
    let event = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "p.17a", "namespace": "t"},
        "involvedObject": {"kind": "Pod", "namespace": "t", "name": "p", "apiVersion": "v1"},
        "reason": "FailedScheduling", "type": "Warning", "count": 3,
        "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."});
    let sc = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "standard"},
        "provisioner": "rancher.io/local-path"});
    let (_server, c) = start(Config::new().seed(node).seed(event).seed(sc));
    let nodes = c.get("/api/v1/nodes").json();
    assert_eq!(nodes["items"][0]["status"]["allocatable"]["nvidia.com/gpu"], "1");
    assert_eq!(nodes["items"][0]["spec"]["taints"][0]["effect"], "NoSchedule");
    let events = c.get("/api/v1/namespaces/t/events").json();
    assert_eq!(events["items"][0]["involvedObject"]["name"], "p");
    let scs = c.get("/apis/storage.k8s.io/v1/storageclasses").json();
    assert_eq!(scs["kind"], "StorageClassList");
    assert_eq!(scs["items"][0]["metadata"]["name"], "standard");
    let groups = c.get("/apis").json();
    let names: Vec<&str> = groups["groups"].as_array().unwrap().iter().filter_map(|g| g["name"].as_str()).collect();
    assert!(names.contains(&"storage.k8s.io") && !names.contains(&"metrics.k8s.io"), "{names:?}");
    let metrics = c.get("/apis/metrics.k8s.io/v1beta1");
    assert_eq!(metrics.status, 404);
    assert_eq!(metrics.json()["message"], "the server could not find the requested resource");
}
