use super::*;
use serde_json::json;

fn rules() -> Rules {
    Rules::default()
}

fn deploy(status: Value) -> Value {
    json!({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 3}, "status": status})
}

#[test]
fn deployments_follow_kubectl_rollout_status() {
    let pending = |status: Value, why: &str| match readiness(&deploy(status), &rules()) {
        Readiness::Pending(r) => assert!(r.contains(why), "{r}"),
        other => panic!("{other:?}, not pending with {why}"),
    };
    pending(json!({"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}), "not seen");
    pending(
        json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 3}),
        "2 of 3 new",
    );
    // All new replicas updated and available, but an old one is still there: not rolled out.
    pending(
        json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "availableReplicas": 4}),
        "1 old replicas pending termination",
    );
    pending(
        json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 2}),
        "2 of 3 updated replicas available",
    );
    let done = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3});
    assert_eq!(readiness(&deploy(done), &rules()), Readiness::Ready);
    let stuck = json!({"observedGeneration": 2, "conditions": [{"type": "Progressing", "status": "False",
        "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"w-1\" has timed out progressing."}]});
    assert_eq!(
        readiness(&deploy(stuck), &rules()),
        Readiness::Failed("ReplicaSet \"w-1\" has timed out progressing.".into())
    );
    // An older generation's deadline does not count until the new one is observed (as kubectl).
    let old =
        json!({"observedGeneration": 1, "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]});
    assert!(matches!(readiness(&deploy(old), &rules()), Readiness::Pending(_)));
}

#[test]
fn jobs_need_complete_or_failed_and_only_when_asked() {
    let j = json!({"kind": "Job", "spec": {"completions": 2}, "status": {"succeeded": 2}});
    assert_eq!(readiness(&j, &rules()), Readiness::Ready, "without --wait-for-jobs a Job is ready once it exists");
    let jobs = Rules { jobs: true, ..Rules::default() };
    assert!(matches!(readiness(&j, &jobs), Readiness::Pending(_)), "succeeded alone is not the Complete condition");
    let complete = json!({"kind": "Job", "status": {"conditions": [{"type": "Complete", "status": "True"}]}});
    assert_eq!(readiness(&complete, &jobs), Readiness::Ready);
    let failed = json!({"kind": "Job", "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}});
    assert!(matches!(readiness(&failed, &jobs), Readiness::Failed(r) if r.contains("BackoffLimitExceeded")));
}

#[test]
fn claims_are_ready_bound_or_waiting_for_their_first_consumer() {
    let claim = |class: &str, phase: &str| json!({"kind": "PersistentVolumeClaim", "spec": {"storageClassName": class}, "status": {"phase": phase}});
    let mut r = rules();
    r.first_consumer.insert("late".into(), true);
    r.first_consumer.insert("fast".into(), false);
    assert_eq!(readiness(&claim("fast", "Bound"), &r), Readiness::Ready);
    assert!(matches!(readiness(&claim("fast", "Pending"), &r), Readiness::Pending(w) if w.contains("not bound")));
    assert_eq!(readiness(&claim("late", "Pending"), &r), Readiness::Ready, "binds when a pod uses it");
    assert!(matches!(readiness(&claim("unknown", "Pending"), &r), Readiness::Pending(_)));
    assert!(matches!(readiness(&claim("fast", "Lost"), &r), Readiness::Failed(_)));
}

#[test]
fn stateful_and_daemon_sets_follow_kubectl_rollout_status() {
    let sts = |status: Value| {
        json!({"kind": "StatefulSet", "metadata": {"generation": 1}, "spec": {"replicas": 2,
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}}, "status": status})
    };
    assert!(matches!(
        readiness(&sts(json!({"observedGeneration": 1, "readyReplicas": 1})), &rules()),
        Readiness::Pending(_)
    ));
    let partial = json!({"observedGeneration": 1, "readyReplicas": 2, "updatedReplicas": 0});
    assert!(matches!(readiness(&sts(partial), &rules()), Readiness::Pending(w) if w.contains("partitioned")));
    let done = json!({"observedGeneration": 1, "readyReplicas": 2, "updatedReplicas": 1});
    assert_eq!(readiness(&sts(done), &rules()), Readiness::Ready);
    let ds = json!({"kind": "DaemonSet", "metadata": {"generation": 1}, "status": {"observedGeneration": 1,
        "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 2}});
    assert!(matches!(readiness(&ds, &rules()), Readiness::Pending(w) if w.contains("2 of 3")));
}

#[test]
fn an_object_being_deleted_is_terminating_whatever_its_status() {
    let cm = json!({"kind": "ConfigMap", "metadata": {"deletionTimestamp": "2026-12-04T14:45:01Z", "finalizers": ["example.com/block"]}});
    assert_eq!(readiness(&cm, &rules()), Readiness::Terminating(vec!["example.com/block".into()]));
    assert_eq!(terminating(&json!({"metadata": {}})), None);
}
