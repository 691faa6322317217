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

/// The image parameters a rendered workload amounts to, read back from its first container:
/// `docker.io/dimtensor:4.2.0-cpu-full` is registry docker.io, repository dimtensor, no tag
/// (the app version) and variant cpu-full.
pub fn from_rendered(body: &Value, kind: Workload) -> Value {
    let pod = match kind {
        Workload::CronJob => &body["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        _ => &body["spec"]["template"]["spec"],
    };
    let Some(image) = pod["containers"][0]["image"].as_str() else { return json!({}) };
    let (name, tag, _) = crate::overlay::split_image(image);
    let (registry, repository) = match name.split_once('/') {
        Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            (first.to_string(), rest.to_string())
        }
        _ => (String::new(), name.clone()),
    };
    let (tag, variant) = match ["cpu-full", "ml", "jupyter"].iter().find(|v| tag.ends_with(&format!("-{v}"))) {
        Some(v) => {
            let stem = tag[..tag.len() - v.len() - 1].to_string();
            (if stem == crate::APP_VERSION { String::new() } else { stem }, v.to_string())
        }
        None if tag == "latest" || tag.is_empty() => (String::new(), "latest".to_string()),
        None => (tag, "latest".to_string()),
    };
    json!({"image": {"registry": registry, "repository": repository, "tag": tag, "variant": variant}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_parameters_are_read_back_from_a_render() {
        let body = |img: &str| json!({"spec": {"template": {"spec": {"containers": [{"image": img}]}}}});
        assert_eq!(
            from_rendered(&body("docker.io/dimtensor:4.2.0-cpu-full"), Workload::Deployment)["image"],
            json!({"registry": "docker.io", "repository": "dimtensor", "tag": "", "variant": "cpu-full"})
        );
        assert_eq!(from_rendered(&body("ghcr.io/x/dimtensor:5.0-ml"), Workload::Job)["image"]["tag"], "5.0");
        assert_eq!(
            from_rendered(&body("dimtensor:latest"), Workload::Job)["image"],
            json!({"registry": "", "repository": "dimtensor", "tag": "", "variant": "latest"})
        );
    }
}
