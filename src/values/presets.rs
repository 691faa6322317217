//! The built-in overlays seen as values: what each preset sets, so effective values (the image,
//! `--show-values`) account for the preset under the user's keys. A test renders the base with
//! each preset's values and checks the chart-facing fields against the overlay itself.

use serde_json::{json, Value};

/// The workload kind a render has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Deployment,
    Job,
    CronJob,
}

impl Workload {
    pub fn kind(self) -> &'static str {
        match self {
            Workload::Deployment => "Deployment",
            Workload::Job => "Job",
            Workload::CronJob => "CronJob",
        }
    }

    pub fn value_name(self) -> &'static str {
        match self {
            Workload::Deployment => "deployment",
            Workload::Job => "job",
            Workload::CronJob => "cronjob",
        }
    }

    pub fn from_kind(kind: &str) -> Option<Workload> {
        match kind {
            "Deployment" => Some(Workload::Deployment),
            "Job" => Some(Workload::Job),
            "CronJob" => Some(Workload::CronJob),
            _ => None,
        }
    }

    pub fn from_value(v: &str) -> Option<Workload> {
        match v {
            "deployment" => Some(Workload::Deployment),
            "job" => Some(Workload::Job),
            "cronjob" => Some(Workload::CronJob),
            _ => None,
        }
    }
}

/// The values a built-in overlay amounts to (empty for the base and for user overlays).
pub fn preset(overlay: &str) -> Value {
    match overlay {
        "inference" => json!({
            "workloadType": "deployment",
            "image": {"variant": "cpu-full"},
            "autoscaling": {"enabled": true},
            "podAnnotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"},
        }),
        "training" => json!({
            "workloadType": "job",
            "image": {"variant": "ml"},
            "resources": {"limits": {"cpu": "4000m", "memory": "16Gi"}, "gpu": {"enabled": true, "count": 1}},
            "job": {"backoffLimit": 2, "ttlSecondsAfterFinished": 172800, "restartPolicy": "Never"},
        }),
        "batch" => json!({
            "workloadType": "job",
            "job": {"parallelism": 10, "completions": 100, "restartPolicy": "OnFailure"},
            "configMap": {"enabled": true},
        }),
        "cronjob" => json!({"workloadType": "cronjob"}),
        _ => json!({}),
    }
}
