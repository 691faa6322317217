//! `doctor`, `logs` and `status` reasons end to end: the real binary against the test API
//! server, seeded with what a kubelet and scheduler would have written (nodes, pods with
//! statuses, events, container logs). With `DIMTENSOR_E2E_KUBECONFIG` the tests that make sense
//! on a real cluster run there (its scheduler and kubelets decide what the pods say); the ones
//! that need seeded states say so and pass.

mod common;
#[path = "day_two/logs.rs"]
mod logs;
#[allow(dead_code)] // the release tests use the rest
#[path = "release/support.rs"]
mod support;

use common::text;
use dimtensor_test_apiserver::{Config, ControllerConfig, CustomResource, ForbidRule, TestServer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{assert_ok, Env};

/// Install without a controller: the test (or the real cluster) says what the pods do.
fn env(name: &str) -> Env {
    Env::with(name, Config::new())
}

fn install(env: &Env, name: &str, overlay: &str) {
    assert_ok(&env.run(&["install", name, "--overlay", overlay, "--yes"]));
}

/// A pod the workload `kind/name` made, shaped as the controllers and the kubelet write it.
fn pod_of(
    server: &TestServer,
    ns: &str,
    kind: &str,
    owner: &str,
    pod: &str,
    index: Option<u32>,
    status: Value,
) -> Value {
    let (api, template_path) = match kind {
        "Deployment" => ("apps/v1", "/spec/template"),
        _ => ("batch/v1", "/spec/template"),
    };
    let workload = server.get_object(api, kind, Some(ns), owner).expect("workload installed");
    let template = workload.pointer(template_path).cloned().unwrap_or(Value::Null);
    let (owner_kind, owner_name) = match kind {
        "Deployment" => ("ReplicaSet", format!("{owner}-5d8f7c9b")),
        _ => ("Job", owner.to_string()),
    };
    let mut labels = template["metadata"]["labels"].clone();
    let mut annotations = json!({});
    if let Some(i) = index {
        annotations["batch.kubernetes.io/job-completion-index"] = json!(i.to_string());
    }
    if kind == "Job" {
        labels["job-name"] = json!(owner);
    }
    let mut spec = template["spec"].clone();
    spec["nodeName"] = json!("node-1");
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": pod, "namespace": ns, "labels": labels, "annotations": annotations,
            "ownerReferences": [{"apiVersion": if kind == "Deployment" { "apps/v1" } else { "batch/v1" }, "kind": owner_kind,
                "name": owner_name, "uid": workload["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}]},
        "spec": spec, "status": status})
}

/// What a kubelet does to a pod it runs: a new status on the same pod (same uid).
fn set_status(server: &TestServer, ns: &str, pod: &str, status: Value) {
    let mut p = server.get_object("v1", "Pod", Some(ns), pod).expect("pod exists");
    p["status"] = status;
    server.insert_object(p).unwrap();
}

fn container(state: Value) -> Value {
    json!({"phase": "Running", "containerStatuses": [{"name": "dimtensor", "image": "docker.io/dimtensor:4.2.0-ml",
        "ready": true, "restartCount": 0, "state": state}]})
}

fn running() -> Value {
    container(json!({"running": {"startedAt": "2024-05-01T10:00:00Z"}}))
}

fn node(name: &str, labels: Value, gpus: Option<&str>) -> Value {
    let mut alloc = json!({"cpu": "8", "memory": "32Gi", "pods": "110"});
    if let Some(g) = gpus {
        alloc["nvidia.com/gpu"] = json!(g);
    }
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
        "spec": {}, "status": {"allocatable": alloc, "capacity": alloc}})
}

fn json_out(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)))
}

#[test]
fn doctor_explains_a_pending_training_job_on_a_cluster_without_gpus() {
    let env = env("gpu");
    install(&env, "train", "training");
    let Some(server) = &env.server else {
        // A real cluster: whatever its scheduler says, the Job's pods must be explained, or
        // nothing is wrong (a cluster with free GPUs and the image).
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = env.run(&["doctor", "train", "-o", "json"]);
            let v = json_out(&out);
            if out.status.code() == Some(1) || Instant::now() > deadline {
                assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out.stderr));
                for f in v["releases"][0]["findings"].as_array().into_iter().flatten() {
                    assert!(
                        f["what"].as_str().is_some_and(|w| !w.is_empty())
                            && f["fix"].as_array().is_some_and(|a| !a.is_empty()),
                        "{f}"
                    );
                }
                return;
            }
            std::thread::sleep(Duration::from_secs(3));
        }
    };
    let ns = &env.namespace;
    for n in ["node-1", "node-2", "node-3"] {
        server.insert_object(node(n, json!({"kubernetes.io/hostname": n}), None)).unwrap();
    }
    let message = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.";
    let mut pending = pod_of(
        server,
        ns,
        "Job",
        "train-dimtensor",
        "train-dimtensor-x7k2p",
        None,
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}]}),
    );
    pending["spec"].as_object_mut().unwrap().remove("nodeName");
    server.insert_object(pending).unwrap();
    server
        .insert_object(json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "train-dimtensor-x7k2p.17b", "namespace": ns},
            "involvedObject": {"kind": "Pod", "namespace": ns, "name": "train-dimtensor-x7k2p", "apiVersion": "v1"},
            "reason": "FailedScheduling", "type": "Warning", "message": message, "source": {"component": "default-scheduler"}}))
        .unwrap();
    server.clear_log();

    let out = env.run(&["doctor", "train"]);
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let report = text(&out.stdout);
    for expected in [
        "problem [scheduling] Job/",
        "pod train-dimtensor-x7k2p cannot be scheduled: 0/3 nodes: 3 Insufficient nvidia.com/gpu",
        "problem [gpu-node-label]",
        "no node has the label accelerator=nvidia-gpu that the pods select",
        "kubectl label nodes <node> accelerator=nvidia-gpu",
        "problem [gpu-device-plugin]",
        "no node has allocatable nvidia.com/gpu",
        "kubectl get daemonset nvidia-device-plugin-daemonset -n kube-system",
        "3 problems (10 checks ran)",
    ] {
        assert!(report.contains(expected), "{expected:?} missing:\n{report}");
    }
    // Read only, and few requests: discovery, the records, one LIST per kind the release has,
    // pods, events and (for a GPU workload) nodes.
    let requests = server.requests();
    assert!(requests.iter().all(|r| r.method == "GET"), "doctor only reads: {requests:?}");
    let mut paths: Vec<String> = requests.iter().map(|r| r.path.replace(ns.as_str(), "NS")).collect();
    paths.sort();
    let expected = [
        "/api/v1",
        "/api/v1/namespaces/NS/events",
        "/api/v1/namespaces/NS/pods",
        "/api/v1/namespaces/NS/secrets",
        "/api/v1/namespaces/NS/serviceaccounts",
        "/api/v1/nodes",
        "/apis/batch/v1",
        "/apis/batch/v1/namespaces/NS/jobs",
    ];
    assert_eq!(paths, expected);

    let v = json_out(&env.run(&["doctor", "train", "-o", "json"]));
    assert_eq!(v["problems"], 3);
    let checks: Vec<&str> =
        v["releases"][0]["findings"].as_array().unwrap().iter().filter_map(|f| f["check"].as_str()).collect();
    assert_eq!(checks, ["scheduling", "gpu-node-label", "gpu-device-plugin"]);

    // status puts the first reason beside the Job.
    let status = assert_ok(&env.run(&["status", "train"]));
    let job_line = status.lines().find(|l| l.starts_with("Job/")).unwrap_or_default();
    assert!(
        job_line.contains("pod train-dimtensor-x7k2p cannot be scheduled: 0/3 nodes: 3 Insufficient nvidia.com/gpu"),
        "{status}"
    );
    assert!(status.contains("RESOURCE") && status.contains("REASON"), "{status}");
    let sa_line = status.lines().find(|l| l.starts_with("ServiceAccount/")).unwrap_or_default();
    assert!(!sa_line.contains("cannot"), "only resources that are not ready get a reason: {status}");
}

#[test]
fn without_cluster_permissions_the_namespace_checks_still_run() {
    let config = Config::new()
        .token("admin-token", "dev")
        .forbid(ForbidRule::user("dev").verb("list").resource("nodes"))
        .forbid(ForbidRule::user("dev").verb("list").resource("storageclasses"));
    let env = Env::with("perm", config);
    let Some(server) = env.server_only("needs a user forbidden to list nodes and a seeded pod") else { return };
    assert_ok(&env.run(&["install", "train", "--overlay", "training", "--set", "persistence.enabled=true", "--yes"]));
    let pulling = container(
        json!({"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"docker.io/dimtensor:4.2.0-ml\""}}),
    );
    server
        .insert_object(pod_of(server, &env.namespace, "Job", "train-dimtensor", "train-dimtensor-abcde", None, pulling))
        .unwrap();
    let out = env.run(&["doctor", "train"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("pod train-dimtensor-abcde cannot pull image docker.io/dimtensor:4.2.0-ml (ImagePullBackOff: Back-off pulling image"), "{report}");
    assert!(report.contains("no imagePullSecrets are set"), "{report}");
    assert!(
        report.contains("kubectl dimtensor upgrade train --set image.pullSecrets[0].name=my-registry-secret"),
        "{report}"
    );
    for check in ["gpu-node-label", "gpu-device-plugin", "gpu-taint"] {
        assert!(
            report.contains(&format!("skipped [{check}]: cannot list nodes (cluster-scoped) (403 Forbidden: nodes is forbidden: User \"dev\" cannot list resource \"nodes\" in API group \"\" at the cluster scope)")),
            "{check}: {report}"
        );
    }
    assert!(report.contains("skipped [pvc-pending]: cannot list storageclasses (cluster-scoped)"), "{report}");
    assert!(report.contains("1 problem (6 checks ran, 4 skipped)"), "{report}");
}

#[test]
fn doctor_on_a_healthy_inference_release_exits_0_and_names_a_missing_metrics_server() {
    let metrics = CustomResource::new("metrics.k8s.io", "v1beta1", "PodMetrics", "pods");
    let env = Env::with("hpa", Config::new().controller(ControllerConfig::ready()).custom_resource(metrics));
    install(&env, "web", "inference");
    let Some(server) = env.server_only("whether metrics-server runs is the cluster's business") else { return };
    let pod =
        pod_of(server, &env.namespace, "Deployment", "web-dimtensor", "web-dimtensor-5d8f7c9b-q2x4z", None, running());
    server.insert_object(pod).unwrap();
    let out = env.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("release web (namespace "), "every release of the namespace");
    assert!(text(&out.stdout).contains("0 problems (10 checks ran)"), "{}", text(&out.stdout));

    let bare = Env::with("nometrics", Config::new().controller(ControllerConfig::ready()));
    install(&bare, "web", "inference");
    let out = bare.run(&["doctor", "web"]);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    assert!(report.contains("problem [metrics-server] HorizontalPodAutoscaler/"), "{report}");
    assert!(report.contains("the metrics.k8s.io API is not served: metrics-server is not installed"), "{report}");
    assert!(report.contains("kubectl get deployment metrics-server -n kube-system"), "{report}");
}

#[test]
fn doctor_reads_storage_classes_taints_quota_events_crash_loops_and_hpa_conditions() {
    let env = env("checks");
    let Some(server) = env.server_only("needs seeded nodes, events and statuses") else { return };
    let ns = env.namespace.clone();
    let train = ["install", "train", "--overlay", "training", "--set", "persistence.enabled=true"];
    assert_ok(&env.run(&[&train[..], &["--set", "persistence.storageClass=fast", "--yes"]].concat()));
    let mut gpu = node("gpu-1", json!({"accelerator": "nvidia-gpu"}), Some("4"));
    gpu["spec"]["taints"] = json!([{"key": "dedicated", "value": "ml", "effect": "NoSchedule"}]);
    server.insert_object(gpu).unwrap();
    server
        .insert_object(json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"}))
        .unwrap();
    server
        .insert_object(json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "train-dimtensor.17c", "namespace": ns},
            "involvedObject": {"kind": "Job", "namespace": ns, "name": "train-dimtensor", "apiVersion": "batch/v1"},
            "reason": "FailedCreate", "type": "Warning", "source": {"component": "job-controller"},
            "message": "Error creating: pods \"train-dimtensor-q8w2e\" is forbidden: exceeded quota: gpu-quota, requested: requests.nvidia.com/gpu=1, used: requests.nvidia.com/gpu=4, limited: requests.nvidia.com/gpu=4"}))
        .unwrap();
    let report = text(&env.run(&["doctor", "train"]).stdout);
    for expected in [
        "problem [quota] Job/",
        "exceeded quota: gpu-quota, requested: requests.nvidia.com/gpu=1",
        "problem [pvc-pending] PersistentVolumeClaim/",
        "PersistentVolumeClaim train-dimtensor is not bound: StorageClass fast does not exist",
        "problem [gpu-taint] Job/",
        "every GPU node has a taint the pods do not tolerate (dedicated=ml:NoSchedule on gpu-1)",
        "--set tolerations[0].key=dedicated,tolerations[0].operator=Exists,tolerations[0].effect=NoSchedule",
        "3 problems (10 checks ran)",
    ] {
        assert!(report.contains(expected), "{expected:?} missing:\n{report}");
    }

    install(&env, "web", "inference");
    let crash = json!({"phase": "Running", "containerStatuses": [{"name": "dimtensor", "restartCount": 5, "ready": false,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s restarting failed container"}},
        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]});
    let pod = pod_of(server, &ns, "Deployment", "web-dimtensor", "web-dimtensor-5d8f7c9b-k2m4n", None, crash);
    server.insert_object(pod).unwrap();
    let mut hpa = server.get_object("autoscaling/v2", "HorizontalPodAutoscaler", Some(&ns), "web-dimtensor").unwrap();
    hpa["status"] = json!({"currentReplicas": 2, "desiredReplicas": 2, "conditions": [
        {"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale"},
        {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
         "message": "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API"}]});
    server.insert_object(hpa).unwrap();
    let report = text(&env.run(&["doctor", "web"]).stdout);
    for expected in [
        "problem [crash-loop] Deployment/", "pod web-dimtensor-5d8f7c9b-k2m4n container dimtensor is in CrashLoopBackOff after 5 restarts; its last run ended OOMKilled (exit code 137)",
        "kubectl dimtensor upgrade web --set resources.limits.memory=<more>",
        "problem [hpa-scaling] HorizontalPodAutoscaler/", "ScalingActive=False (FailedGetResourceMetric)",
        "kubectl describe hpa web-dimtensor -n",
    ] {
        assert!(report.contains(expected), "{expected:?} missing:\n{report}");
    }
}

#[test]
fn doctor_without_a_release_is_an_error() {
    let env = env("none");
    let out = env.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(&format!("no releases in namespace {} to check", env.namespace)),
        "{}",
        text(&out.stderr)
    );
    let out = env.run(&["doctor", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("release nope not found"), "{}", text(&out.stderr));
}
