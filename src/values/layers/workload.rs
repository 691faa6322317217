//! The workload's pod (annotations, security context, scheduling extras, volumes, sidecars) and
//! the fields of its kind: a Deployment's replicas and strategy, a Job's, a CronJob's.

use super::context::Ctx;
use super::int_or_string;
use crate::values::presets::Workload;
use serde_json::{json, Value};

pub(super) fn pod(cx: &mut Ctx) {
    let keys = cx.touched(&[
        "podAnnotations",
        "podSecurityContext",
        "affinity",
        "terminationGracePeriodSeconds",
        "priorityClassName",
        "dnsPolicy",
        "initContainers",
        "sidecars",
        "volumes",
    ]);
    let mut p = cx.workload_patch();
    if cx.user.touched("podAnnotations") {
        let mut path = cx.template_path();
        path.extend(["metadata", "annotations"]);
        // Maps merge, as Helm coalesces them; a key set to null is removed.
        let ann = cx.user_map("podAnnotations");
        if !ann.is_empty() {
            let target = p.at(&path);
            for (k, v) in ann {
                target
                    .insert(k, if v.is_null() { Value::Null } else { Value::String(crate::overlay::scalar_text(&v)) });
            }
        }
    }
    for (key, field) in [("podSecurityContext", "securityContext"), ("affinity", "affinity")] {
        if cx.user.touched(key) {
            let v = cx.replaced_object(key);
            cx.pod(&mut p).insert(field.into(), v);
        }
    }
    for (key, field) in [
        ("terminationGracePeriodSeconds", "terminationGracePeriodSeconds"),
        ("priorityClassName", "priorityClassName"),
        ("dnsPolicy", "dnsPolicy"),
        ("initContainers", "initContainers"),
        ("volumes", "volumes"),
    ] {
        if cx.user.touched(key) {
            let v = match cx.get(key) {
                Value::String(s) if s.is_empty() => Value::Null,
                Value::Array(a) if a.is_empty() => continue,
                // Extra containers and volumes set to null add nothing; they never remove the
                // pod's own (its `tmp` volume, which a mount needs).
                Value::Null if field == "volumes" || field == "initContainers" => continue,
                other => other.clone(),
            };
            cx.pod(&mut p).insert(field.into(), v);
        }
    }
    if cx.user.touched("sidecars") && cx.get("sidecars").as_array().is_some_and(|a| !a.is_empty()) {
        let mut list = vec![json!({"name": cx.found.container})];
        list.extend(cx.get("sidecars").as_array().cloned().unwrap_or_default());
        cx.pod(&mut p).insert("containers".into(), Value::Array(list));
    }
    cx.emit(keys, p);
}

pub(super) fn deployment(cx: &mut Ctx) {
    if cx.found.kind != Workload::Deployment {
        return;
    }
    let mut keys = cx.touched(&["replicaCount", "strategy"]);
    let mut p = cx.workload_patch();
    if cx.user.touched("replicaCount") && !cx.on("autoscaling.enabled") {
        p.at(&["spec"]).insert("replicas".into(), cx.get("replicaCount").clone());
    }
    // Autoscaling switched off on a preset that had it: the Deployment needs its replicas back.
    if cx.user.touched("autoscaling.enabled")
        && !cx.on("autoscaling.enabled")
        && cx.rendered("HorizontalPodAutoscaler").is_some()
    {
        p.at(&["spec"]).insert("replicas".into(), cx.get("replicaCount").clone());
        keys.push("autoscaling.enabled".into());
    }
    if cx.user.touched("strategy") {
        let strategy = if cx.str("strategy.type") == "Recreate" {
            json!({"$patch": "replace", "type": "Recreate"})
        } else {
            let surge = int_or_string(cx.get("strategy.rollingUpdate.maxSurge"));
            let unavailable = int_or_string(cx.get("strategy.rollingUpdate.maxUnavailable"));
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}})
        };
        p.at(&["spec"]).insert("strategy".into(), strategy);
    }
    cx.emit(keys, p);
}

pub(super) fn job(cx: &mut Ctx) {
    if cx.found.kind == Workload::Deployment {
        return;
    }
    let keys = cx.touched(&["job"]);
    let mut p = cx.workload_patch();
    let path = cx.job_spec_path();
    // ttlSecondsAfterFinished 0 is emitted (delete at once), unlike the chart's `with`, which
    // drops it and keeps the Job forever.
    for (key, field) in
        [("job.backoffLimit", "backoffLimit"), ("job.ttlSecondsAfterFinished", "ttlSecondsAfterFinished")]
    {
        if cx.user.touched(key) {
            let v = cx.get(key).clone();
            p.at(&path).insert(field.into(), v);
        }
    }
    // As the chart: parallelism and completions only when they say more than the API server's
    // default of 1, so parallelism alone is a work queue, not one pod at a time.
    if cx.user.touched("job.parallelism") {
        let v = cx.get("job.parallelism").clone();
        p.at(&path).insert("parallelism".into(), if v == json!(1) { Value::Null } else { v });
    }
    if cx.user.touched("job.completions") {
        // More than one completion is an Indexed Job, so each pod gets JOB_COMPLETION_INDEX.
        let v = cx.get("job.completions").clone();
        let indexed = v.as_i64().unwrap_or(1) > 1;
        p.at(&path).insert("completions".into(), if indexed { v } else { Value::Null });
        p.at(&path).insert("completionMode".into(), if indexed { json!("Indexed") } else { Value::Null });
    }
    if cx.user.touched("job.restartPolicy") {
        let v = cx.get("job.restartPolicy").clone();
        cx.pod(&mut p).insert("restartPolicy".into(), v);
    }
    cx.emit(keys, p);
}

pub(super) fn cronjob(cx: &mut Ctx) {
    if cx.found.kind != Workload::CronJob {
        return;
    }
    let keys = cx.touched(&["cronjob"]);
    let mut p = cx.workload_patch();
    for (key, field) in [
        ("cronjob.schedule", "schedule"),
        ("cronjob.concurrencyPolicy", "concurrencyPolicy"),
        ("cronjob.failedJobsHistoryLimit", "failedJobsHistoryLimit"),
        ("cronjob.successfulJobsHistoryLimit", "successfulJobsHistoryLimit"),
        ("cronjob.suspend", "suspend"),
        ("cronjob.startingDeadlineSeconds", "startingDeadlineSeconds"),
    ] {
        if cx.user.touched(key) {
            let v = cx.get(key).clone();
            p.at(&["spec"]).insert(field.into(), v);
        }
    }
    cx.emit(keys, p);
}
