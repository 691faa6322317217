//! Each check against facts built in memory (the cluster-facing tests are in `tests/day_two.rs`).

use super::*;
use crate::release::live::{Live, Object, Pod};
use serde_json::json;

fn object(api: &str, kind: &str, name: &str, body: Value, status: Value) -> Object {
    let mut v = json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": "ml"}});
    if let (Some(m), Some(b)) = (v.as_object_mut(), body.as_object()) {
        m.extend(b.clone());
    }
    let mut live = v.clone();
    live["status"] = status;
    Object { id: ResId::of(&v), stored: v, live: Some(live) }
}

fn gpu_job() -> Object {
    let template = json!({"spec": {
        "containers": [{"name": "dimtensor", "image": "docker.io/dimtensor:4.2.0-ml",
            "resources": {"limits": {"nvidia.com/gpu": 1}, "requests": {"nvidia.com/gpu": 1}}}],
        "nodeSelector": {"accelerator": "nvidia-gpu"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}});
    object("batch/v1", "Job", "train", json!({"spec": {"template": template}}), json!({}))
}

fn pod(owner: &Object, name: &str, spec: Value, status: Value) -> Pod {
    Pod {
        owner: owner.id.clone(),
        pod: json!({"metadata": {"name": name, "namespace": "ml"}, "spec": spec, "status": status}),
    }
}

fn node(name: &str, labels: Value, gpus: Option<i64>, taints: Value) -> Value {
    let mut alloc = json!({"cpu": "8", "memory": "32Gi"});
    if let Some(g) = gpus {
        alloc["nvidia.com/gpu"] = json!(g.to_string());
    }
    json!({"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}, "status": {"allocatable": alloc}})
}

fn facts(objects: Vec<Object>, pods: Vec<Pod>) -> Facts {
    Facts {
        name: "prod".into(),
        namespace: "ml".into(),
        live: Live { objects },
        pods: Ok(pods),
        events: Ok(Vec::new()),
        // A GPU node that suits the preset, so only what a test changes is wrong.
        nodes: Ok(vec![node("gpu-1", json!({"accelerator": "nvidia-gpu"}), Some(1), json!([]))]),
        storage_classes: Ok(Vec::new()),
        metrics_api: Ok(true),
    }
}

fn checks(f: &Facts) -> Vec<&'static str> {
    run(f).findings.iter().map(|f| f.check).collect()
}

#[test]
fn gpu_nodes_labels_device_plugin_and_taints() {
    let mut f = facts(vec![gpu_job()], Vec::new());
    f.nodes = Ok(vec![node("cpu-1", json!({}), None, json!([]))]);
    assert_eq!(checks(&f), ["gpu-node-label", "gpu-device-plugin"]);
    let r = run(&f);
    assert_eq!(r.findings[0].what, "no node has the label accelerator=nvidia-gpu that the pods select (nodeSelector)");
    assert!(
        r.findings[0].fix[0].starts_with("kubectl label nodes <node> accelerator=nvidia-gpu"),
        "the seed's command"
    );
    assert!(r.findings[1].what.starts_with("no node has allocatable nvidia.com/gpu"), "{}", r.findings[1].what);
    assert!(r.findings[1]
        .fix
        .iter()
        .any(|c| c == "kubectl get daemonset nvidia-device-plugin-daemonset -n kube-system"));

    // Labelled, but the device plugin does not advertise GPUs there.
    f.nodes = Ok(vec![node("gpu-1", json!({"accelerator": "nvidia-gpu"}), None, json!([]))]);
    let r = run(&f);
    assert_eq!(checks(&f), ["gpu-device-plugin"]);
    assert!(
        r.findings[0].what.starts_with("no node labelled accelerator=nvidia-gpu has allocatable"),
        "{}",
        r.findings[0].what
    );

    // GPUs, and a taint the preset tolerates: nothing wrong.
    let taint = json!([{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]);
    f.nodes = Ok(vec![node("gpu-1", json!({"accelerator": "nvidia-gpu"}), Some(1), taint)]);
    assert!(checks(&f).is_empty());

    // A taint it does not tolerate.
    let other = json!([{"key": "dedicated", "value": "ml", "effect": "NoSchedule"}]);
    f.nodes = Ok(vec![node("gpu-1", json!({"accelerator": "nvidia-gpu"}), Some(1), other)]);
    let r = run(&f);
    assert_eq!(checks(&f), ["gpu-taint"]);
    assert!(r.findings[0].what.contains("dedicated=ml:NoSchedule on gpu-1"), "{}", r.findings[0].what);
    assert!(r.findings[0].fix[0].contains(
        "--set tolerations[0].key=dedicated,tolerations[0].operator=Exists,tolerations[0].effect=NoSchedule"
    ));

    // Two GPUs per pod, one per node.
    let mut two = gpu_job();
    for o in [&mut two.stored, two.live.as_mut().unwrap()] {
        o["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = json!(2);
    }
    f.live.objects = vec![two];
    f.nodes = Ok(vec![node("gpu-1", json!({"accelerator": "nvidia-gpu"}), Some(1), json!([]))]);
    let r = run(&f);
    assert_eq!(r.findings[0].what, "each pod asks for 2 nvidia.com/gpu, but the most any node has is 1");
    assert!(r.findings[0].fix[0].contains("--set resources.gpu.count=1"));
}

#[test]
fn forbidden_cluster_reads_skip_their_checks_with_a_line() {
    let mut f = facts(vec![gpu_job()], Vec::new());
    f.nodes = Err(Unreadable {
        what: "list nodes (cluster-scoped)",
        message: "nodes is forbidden: User \"dev\" cannot list resource \"nodes\"".into(),
    });
    let r = run(&f);
    let skipped: Vec<&str> = r.skipped.iter().map(|s| s.check).collect();
    assert_eq!(skipped, ["gpu-node-label", "gpu-device-plugin", "gpu-taint"]);
    assert_eq!(r.ran, CHECKS.len() - 3);
    let text = to_text(std::slice::from_ref(&r));
    assert!(
        text.contains("skipped [gpu-taint]: cannot list nodes (cluster-scoped) (403 Forbidden: nodes is forbidden"),
        "{text}"
    );
    assert!(text.contains("0 problems (7 checks ran, 3 skipped)"), "{text}");
    assert_eq!(exit_code(&[r]), 0, "a skipped check is not a problem");
}

#[test]
fn pods_image_pulls_crash_loops_and_scheduling() {
    let job = gpu_job();
    let waiting = |reason: &str, msg: &str| {
        json!({"phase": "Pending", "containerStatuses": [{"name": "dimtensor", "image": "docker.io/dimtensor:4.2.0-ml",
            "restartCount": 0, "state": {"waiting": {"reason": reason, "message": msg}}}]})
    };
    let pulls = vec![
        pod(
            &job,
            "train-a",
            json!({}),
            waiting("ImagePullBackOff", "Back-off pulling image \"docker.io/dimtensor:4.2.0-ml\""),
        ),
        pod(&job, "train-b", json!({}), waiting("ImagePullBackOff", "")),
    ];
    let r = run(&facts(vec![job.clone()], pulls));
    assert_eq!(r.findings.len(), 1, "pods alike are one finding");
    let f = &r.findings[0];
    assert!(
        f.what.starts_with("pod train-a cannot pull image docker.io/dimtensor:4.2.0-ml (ImagePullBackOff: Back-off"),
        "{}",
        f.what
    );
    assert!(f.what.contains("no imagePullSecrets are set") && f.what.ends_with("(1 more pods alike)"), "{}", f.what);
    assert!(f
        .fix
        .iter()
        .any(|c| c == "kubectl dimtensor upgrade prod --set image.pullSecrets[0].name=my-registry-secret"));

    let with_secret =
        pod(&job, "train-c", json!({"imagePullSecrets": [{"name": "regcred"}]}), waiting("ErrImagePull", ""));
    let r = run(&facts(vec![job.clone()], vec![with_secret]));
    assert!(r.findings[0].what.contains("imagePullSecrets: regcred"), "{}", r.findings[0].what);

    let crash = json!({"phase": "Running", "containerStatuses": [{"name": "dimtensor", "restartCount": 4,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]});
    let r = run(&facts(vec![job.clone()], vec![pod(&job, "train-d", json!({}), crash)]));
    assert_eq!(
        r.findings[0].what,
        "pod train-d container dimtensor is in CrashLoopBackOff after 4 restarts; its last run ended OOMKilled (exit code 137)"
    );
    assert!(r.findings[0].fix.iter().any(|c| c.contains("--set resources.limits.memory")));
    assert_eq!(r.findings[0].fix[0], "its output before the end: kubectl dimtensor logs prod --previous");

    let unschedulable = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."}]});
    let r = run(&facts(vec![job.clone()], vec![pod(&job, "train-e", json!({}), unschedulable)]));
    assert_eq!(r.findings[0].what, "pod train-e cannot be scheduled: 0/3 nodes: 3 Insufficient nvidia.com/gpu");
    assert_eq!(r.findings[0].fix[0], "kubectl get nodes -o json | jq '.items[].status.allocatable.\"nvidia.com/gpu\"'");
}

#[test]
fn scheduling_falls_back_to_the_newest_failed_scheduling_event() {
    let job = gpu_job();
    let mut f = facts(vec![job.clone()], vec![pod(&job, "train-f", json!({}), json!({"phase": "Pending"}))]);
    let ev = |t: &str, msg: &str| {
        json!({"involvedObject": {"kind": "Pod", "name": "train-f"}, "reason": "FailedScheduling",
        "type": "Warning", "lastTimestamp": t, "message": msg})
    };
    f.events = Ok(vec![
        ev("2024-01-01T00:00:09Z", "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."),
        ev("2024-01-01T00:00:01Z", "0/1 nodes are available: 1 Insufficient cpu."),
    ]);
    let r = run(&f);
    assert_eq!(
        r.findings[0].what,
        "pod train-f cannot be scheduled: 0/1 nodes: 1 node(s) didn't match Pod's node affinity/selector"
    );
    assert!(r.findings[0].fix.contains(&"kubectl label nodes <node> accelerator=nvidia-gpu".to_string()));
}

#[test]
fn failed_runs_of_a_complete_job_are_history() {
    let mut job = gpu_job();
    let failed = json!({"phase": "Failed", "containerStatuses": [{"name": "dimtensor",
        "state": {"terminated": {"reason": "Error", "exitCode": 1}}}]});
    let p = pod(&job, "train-g", json!({}), failed);
    let r = run(&facts(vec![job.clone()], vec![p.clone()]));
    assert_eq!(r.findings[0].what, "pod train-g failed: container dimtensor ended Error (exit code 1)");
    job.live.as_mut().unwrap()["status"]["conditions"] = json!([{"type": "Complete", "status": "True"}]);
    assert!(run(&facts(vec![job], vec![p])).findings.is_empty());
}

#[test]
fn quota_refusals_from_events_and_deployment_conditions() {
    let job = gpu_job();
    let mut f = facts(vec![job], Vec::new());
    f.events = Ok(vec![
        json!({"involvedObject": {"kind": "Job", "name": "train"}, "reason": "FailedCreate", "type": "Warning",
        "message": "Error creating: pods \"train-x\" is forbidden: exceeded quota: gpu-quota, requested: requests.nvidia.com/gpu=1, used: requests.nvidia.com/gpu=4, limited: requests.nvidia.com/gpu=4"}),
    ]);
    let r = run(&f);
    assert_eq!(r.findings[0].check, "quota");
    assert!(r.findings[0].what.ends_with("exceeded quota: gpu-quota, requested: requests.nvidia.com/gpu=1, used: requests.nvidia.com/gpu=4, limited: requests.nvidia.com/gpu=4"));

    let deploy = object(
        "apps/v1",
        "Deployment",
        "web",
        json!({"spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"spec": {"containers": []}}}}),
        json!({"conditions": [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
            "message": "pods \"web-1\" is forbidden: exceeded quota: compute, requested: cpu=2, used: cpu=8, limited: cpu=8"}]}),
    );
    let r = run(&facts(vec![deploy], Vec::new()));
    assert_eq!(r.findings[0].resource.to_string(), "Deployment/ml/web");
    assert!(r.findings[0].what.contains("exceeded quota: compute"));
}

fn pvc(name: &str, class: Option<&str>, phase: &str) -> Object {
    let mut spec = json!({"accessModes": ["ReadWriteOnce"]});
    if let Some(c) = class {
        spec["storageClassName"] = json!(c);
    }
    object("v1", "PersistentVolumeClaim", name, json!({"spec": spec}), json!({"phase": phase}))
}

#[test]
fn pending_claims_unless_waiting_for_their_first_consumer() {
    let sc = |name: &str, mode: &str, default: bool| {
        let ann = if default { json!({"storageclass.kubernetes.io/is-default-class": "true"}) } else { json!({}) };
        json!({"metadata": {"name": name, "annotations": ann}, "provisioner": "ebs.csi.aws.com", "volumeBindingMode": mode})
    };
    let mut f = facts(vec![pvc("ckpt", Some("fast"), "Pending")], Vec::new());
    f.storage_classes = Ok(vec![sc("standard", "Immediate", true)]);
    assert_eq!(run(&f).findings[0].what, "PersistentVolumeClaim ckpt is not bound: StorageClass fast does not exist");

    f.live.objects = vec![pvc("ckpt", None, "Pending")];
    f.storage_classes = Ok(vec![sc("standard", "Immediate", false)]);
    assert!(run(&f).findings[0].what.ends_with("it names no StorageClass and the cluster has no default one"));

    f.storage_classes = Ok(vec![sc("standard", "WaitForFirstConsumer", true)]);
    assert!(run(&f).findings.is_empty(), "WaitForFirstConsumer: Pending until its pod is scheduled, by design");

    f.storage_classes = Ok(vec![sc("standard", "Immediate", true)]);
    f.events = Ok(vec![json!({"involvedObject": {"kind": "PersistentVolumeClaim", "name": "ckpt"}, "type": "Warning",
        "reason": "ProvisioningFailed", "message": "failed to provision volume: quota exceeded"})]);
    let what = &run(&f).findings[0].what;
    assert!(
        what.contains("Pending under StorageClass standard (provisioner ebs.csi.aws.com): failed to provision"),
        "{what}"
    );

    f.live.objects = vec![pvc("ckpt", None, "Bound")];
    assert!(run(&f).findings.is_empty());

    // Read as --wait reads claims: a named WaitForFirstConsumer class is ready, Lost is a failure,
    // and a claim being deleted is status's to show.
    f.storage_classes = Ok(vec![sc("late", "WaitForFirstConsumer", false)]);
    f.live.objects = vec![pvc("ckpt", Some("late"), "Pending")];
    assert!(run(&f).findings.is_empty(), "{:?}", run(&f).findings);
    f.live.objects = vec![pvc("ckpt", Some("late"), "Lost")];
    assert_eq!(run(&f).findings[0].what, "PersistentVolumeClaim ckpt is not bound: its volume was lost");
    let mut terminating = pvc("ckpt", Some("gone"), "Pending");
    if let Some(live) = terminating.live.as_mut() {
        live["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
    }
    f.live.objects = vec![terminating];
    assert!(run(&f).findings.is_empty());
}

#[test]
fn hpa_without_metrics_server_or_not_scaling() {
    let hpa = |conditions: Value| {
        object(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            "web",
            json!({"spec": {}}),
            json!({"conditions": conditions}),
        )
    };
    let mut f = facts(vec![hpa(json!([]))], Vec::new());
    f.metrics_api = Ok(false);
    let r = run(&f);
    assert_eq!(checks(&f), ["metrics-server"]);
    assert!(
        r.findings[0].fix.contains(&"kubectl get deployment metrics-server -n kube-system".to_string()),
        "the seed's check"
    );

    let inactive = json!([{"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
        "message": "the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu"}]);
    let f = facts(vec![hpa(inactive)], Vec::new());
    let r = run(&f);
    assert!(r.findings[0].what.starts_with("ScalingActive=False (FailedGetResourceMetric): the HPA was unable"));
    assert_eq!(r.findings[0].fix[0], "kubectl describe hpa web -n ml");
    assert!(r.findings[0].fix[1].contains("--set resources.requests.cpu"));
}

#[test]
fn reports_read_as_text_json_and_status_reasons() {
    let job = gpu_job();
    let unschedulable = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
        "reason": "Unschedulable", "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}]});
    let mut f = facts(vec![job.clone()], vec![pod(&job, "train-h", json!({}), unschedulable)]);
    f.nodes = Ok(vec![node("cpu-1", json!({}), None, json!([]))]);
    let r = run(&f);
    assert_eq!(exit_code(std::slice::from_ref(&r)), 1);
    let reasons = first_reasons(&r);
    assert_eq!(reasons.len(), 1, "one resource, its first reason");
    assert_eq!(reasons[0].1, "pod train-h cannot be scheduled: 0/3 nodes: 3 Insufficient nvidia.com/gpu");
    let text = to_text(std::slice::from_ref(&r));
    assert!(
        text.starts_with("release prod (namespace ml)\n\nproblem [scheduling] Job/ml/train\n  what: pod train-h"),
        "{text}"
    );
    assert!(text.contains("  fix:  kubectl get nodes -o json"), "{text}");
    assert!(text.ends_with("3 problems (10 checks ran)\n"), "{text}");
    let j = to_json(&[r]);
    assert_eq!(j["problems"], 3);
    assert_eq!(j["releases"][0]["findings"][0]["resource"], "Job/ml/train");
    assert!(j["releases"][0]["findings"][0]["fix"].is_array());
}
