//! `doctor`, `logs` and `status` reasons end to end: the real binary against the test API
//! server, seeded with what a kubelet and scheduler would have written (nodes, pods with
//! statuses, events, container logs). With `DIMTENSOR_E2E_KUBECONFIG` the tests that make sense
//! on a real cluster run there (its scheduler and kubelets decide what the pods say); the ones
//! that need seeded states say so and pass.

mod common;
#[allow(dead_code)] // the release tests use the rest
#[path = "release/support.rs"]
mod support;

use common::{text, KILL_AFTER};
use dimtensor_test_apiserver::{Config, ControllerConfig, CustomResource, ForbidRule, TestServer};
use serde_json::{json, Value};
use std::io::Read;
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
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

/// Installs the batch overlay (an Indexed Job) and seeds three running pods with logs.
fn batch_with_logs(env: &Env) -> Option<&TestServer> {
    install(env, "batch", "batch");
    let server = env.server_only("pod logs need seeded pods")?;
    for i in 0..3u32 {
        let name = format!("batch-dimtensor-{i}-p{i}x");
        server
            .insert_object(pod_of(server, &env.namespace, "Job", "batch-dimtensor", &name, Some(i), running()))
            .unwrap();
        server.append_log(&env.namespace, &name, "dimtensor", &format!("index {i}: loaded config\nindex {i}: done"));
    }
    Some(server)
}

#[test]
fn logs_prefix_every_line_with_its_pod_and_completion_index() {
    let env = env("logs");
    let Some(server) = batch_with_logs(&env) else { return };
    server.clear_log();
    let out = assert_ok(&env.run(&["logs", "batch", "--max-log-requests", "2"]));
    let expected: Vec<String> = (0..3)
        .flat_map(|i| {
            let p = format!("[#{i} pod/batch-dimtensor-{i}-p{i}x/dimtensor] ");
            [format!("{p}index {i}: loaded config"), format!("{p}index {i}: done")]
        })
        .collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), expected, "in index order, each block whole");
    let logs: Vec<_> = server.requests().into_iter().filter(|r| r.path.ends_with("/log")).collect();
    assert_eq!(logs.len(), 3, "one request per container");
    assert!(logs.iter().all(|r| r.param("container").as_deref() == Some("dimtensor")));

    let one = assert_ok(&env.run(&["logs", "batch", "--index", "1", "--tail", "1", "-c", "dimtensor"]));
    assert_eq!(one, "[#1 pod/batch-dimtensor-1-p1x/dimtensor] index 1: done\n");
    let stamped = assert_ok(&env.run(&["logs", "batch", "--index", "0", "--timestamps", "--since", "1h"]));
    let first = stamped.lines().next().unwrap_or_default();
    let rest = first.strip_prefix("[#0 pod/batch-dimtensor-0-p0x/dimtensor] ").expect("prefixed");
    let (time, line) = rest.split_once(' ').unwrap();
    assert!(time.ends_with('Z') && line == "index 0: loaded config", "{stamped}");
    assert!(server.requests().iter().any(|r| r.param("sinceSeconds").as_deref() == Some("3600")));

    let bad = env.run(&["logs", "batch", "-c", "sidecar"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr)
            .contains("-c sidecar: no pod of the release has a container named sidecar; its containers: dimtensor"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn logs_previous_shows_the_run_that_crashed_and_says_which_have_none() {
    let env = env("prev");
    install(&env, "train", "training");
    let Some(server) = env.server_only("crash loops need seeded pod statuses") else { return };
    let crash = json!({"phase": "Running", "containerStatuses": [{"name": "dimtensor", "restartCount": 2,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s restarting failed container"}},
        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]});
    let ns = &env.namespace;
    server.insert_object(pod_of(server, ns, "Job", "train-dimtensor", "train-dimtensor-c1", None, crash)).unwrap();
    server.set_previous_log(ns, "train-dimtensor-c1", "dimtensor", "epoch 3/10\nKilled");
    let pull = container(json!({"waiting": {"reason": "ImagePullBackOff"}}));
    server.insert_object(pod_of(server, ns, "Job", "train-dimtensor", "train-dimtensor-c2", None, pull)).unwrap();

    let out = env.run(&["logs", "train", "--previous"]);
    assert_eq!(
        text(&out.stdout),
        "[pod/train-dimtensor-c1/dimtensor] epoch 3/10\n[pod/train-dimtensor-c1/dimtensor] Killed\n"
    );
    assert!(text(&out.stderr).contains("pod/train-dimtensor-c2/dimtensor: no previous run"), "{}", text(&out.stderr));
    let now = env.run(&["logs", "train"]);
    assert_eq!(text(&now.stdout), text(&out.stdout), "a crash loop shows its last run, as the kubelet serves it");
    assert!(
        text(&now.stderr).contains("pod/train-dimtensor-c2/dimtensor: no logs: waiting to start (ImagePullBackOff)")
    );
    assert_eq!(now.status.code(), Some(0));

    let refused = env.run(&["logs", "train", "--previous", "-f"]);
    assert_eq!(refused.status.code(), Some(2));
}

/// Reads a child's stdout lines on a thread, so a test can wait for one without blocking.
fn lines_of(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a child whose stdout is read elsewhere; returns its exit code and stderr.
fn end(mut child: std::process::Child, what: &str) -> (Option<i32>, String) {
    let mut stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + KILL_AFTER;
    let code = loop {
        if let Some(status) = child.try_wait().expect("child") {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`{what}` was still running after {KILL_AFTER:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (code, reader.join().unwrap_or_default())
}

fn wait_for(rx: &mpsc::Receiver<String>, seen: &mut Vec<String>, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !seen.iter().any(|l| l.contains(want)) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => seen.push(l),
            Err(_) => panic!("no line with {want:?} within 15s; saw {seen:#?}"),
        }
    }
}

#[test]
fn logs_follow_new_pods_as_a_job_retries_and_end_when_it_is_done() {
    let env = env("follow");
    install(&env, "train", "training");
    let Some(server) = env.server_only("a retry needs seeded pods") else { return };
    let ns = env.namespace.clone();
    let first = pod_of(server, &ns, "Job", "train-dimtensor", "train-dimtensor-a", None, running());
    server.insert_object(first).unwrap();
    server.append_log(&ns, "train-dimtensor-a", "dimtensor", "attempt 1: starting");
    let mut child = env.spawn(&["logs", "train", "-f"]);
    let rx = lines_of(&mut child);
    let mut seen = Vec::new();
    wait_for(&rx, &mut seen, "attempt 1: starting");
    server.append_log(&ns, "train-dimtensor-a", "dimtensor", "attempt 1: CUDA error");
    wait_for(&rx, &mut seen, "attempt 1: CUDA error");

    // The first pod fails; the Job controller starts a second one.
    let failed = json!({"phase": "Failed", "containerStatuses": [{"name": "dimtensor", "restartCount": 0,
        "state": {"terminated": {"reason": "Error", "exitCode": 1}}}]});
    set_status(server, &ns, "train-dimtensor-a", failed);
    server.append_log(&ns, "train-dimtensor-b", "dimtensor", "attempt 2: starting");
    server.insert_object(pod_of(server, &ns, "Job", "train-dimtensor", "train-dimtensor-b", None, running())).unwrap();
    wait_for(&rx, &mut seen, "[pod/train-dimtensor-b/dimtensor] attempt 2: starting");
    server.append_log(&ns, "train-dimtensor-b", "dimtensor", "attempt 2: done");
    wait_for(&rx, &mut seen, "attempt 2: done");

    // The pod ends, then the Job is marked complete: the command ends by itself.
    let done = json!({"phase": "Succeeded", "containerStatuses": [{"name": "dimtensor", "restartCount": 0,
        "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]});
    set_status(server, &ns, "train-dimtensor-b", done);
    let mut job = server.get_object("batch/v1", "Job", Some(&ns), "train-dimtensor").unwrap();
    job["status"] = json!({"succeeded": 1, "failed": 1, "conditions": [{"type": "Complete", "status": "True"}]});
    server.insert_object(job).unwrap();
    let (code, stderr) = end(child, "logs -f");
    assert_eq!(code, Some(0), "{stderr}");
    seen.extend(rx.try_iter());
    let a = seen.iter().filter(|l| l.starts_with("[pod/train-dimtensor-a/dimtensor] ")).count();
    assert_eq!(a, 2, "no line shown twice: {seen:#?}");
}

#[test]
fn follow_keeps_at_most_max_log_requests_streams_open() {
    let env = env("max");
    let Some(server) = batch_with_logs(&env) else { return };
    server.clear_log();
    let mut child = env.spawn(&["logs", "batch", "-f", "--max-log-requests", "1"]);
    let rx = lines_of(&mut child);
    let mut seen = Vec::new();
    wait_for(&rx, &mut seen, "index 0: done");
    std::thread::sleep(Duration::from_millis(300));
    seen.extend(rx.try_iter());
    let open = server.requests().into_iter().filter(|r| r.path.ends_with("/log")).count();
    assert_eq!(open, 1, "one stream at a time: {seen:#?}");
    assert!(!seen.iter().any(|l| l.contains("index 1")), "{seen:#?}");
    // Index 0's container ends: its stream closes and the next one opens.
    let ns = env.namespace.clone();
    set_status(
        server,
        &ns,
        "batch-dimtensor-0-p0x",
        container(json!({"terminated": {"reason": "Completed", "exitCode": 0}})),
    );
    wait_for(&rx, &mut seen, "index 1: done");
    std::thread::sleep(Duration::from_millis(300));
    seen.extend(rx.try_iter());
    let zero = seen.iter().filter(|l| l.contains("index 0: done")).count();
    assert_eq!(zero, 1, "a run is shown once: {seen:#?}");
    let _ = child.kill();
    let (_, stderr) = end(child, "logs -f");
    assert!(stderr.contains("more than 1 log streams: 1 are followed at once (--max-log-requests 1)"), "{stderr}");
}

#[test]
fn reading_logs_needs_pods_log_and_says_so() {
    let config =
        Config::new().token("admin-token", "dev").forbid(ForbidRule::user("dev").verb("get").resource("pods/log"));
    let env = Env::with("nolog", config);
    let Some(_) = batch_with_logs(&env) else { return };
    let out = env.run(&["logs", "batch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot get resource \"pods/log\""), "{}", text(&out.stderr));
}
