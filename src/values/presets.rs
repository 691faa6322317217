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

/// The values a built-in overlay amounts to (empty for the base and for user overlays): the
/// chart's preset files (`values-inference.yaml`, `values-training.yaml`, `values-batch.yaml`),
/// which `tests/chart.rs` compares with the overlays. The long texts (container command, args
/// and env; batch's physics parameters) are read from the overlay's own patch files, so the two
/// cannot drift apart.
pub fn preset(overlay: &str) -> Value {
    let mut v = match overlay {
        "inference" => json!({
            "workloadType": "deployment",
            "image": {"variant": "cpu-full", "pullPolicy": "IfNotPresent"},
            "replicaCount": 3,
            "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"cpu": "2000m", "memory": "8Gi"}, "gpu": {"enabled": false}},
            "service": {"enabled": true, "type": "ClusterIP", "port": 80, "targetPort": "http"},
            "autoscaling": {"enabled": true, "minReplicas": 2, "maxReplicas": 10, "targetCPUUtilizationPercentage": 70, "targetMemoryUtilizationPercentage": 80},
            "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app.kubernetes.io/name": "dimtensor"}}, "topologyKey": "kubernetes.io/hostname"}}]}},
            "podAnnotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"},
            "livenessProbe": {"enabled": true, "httpGet": {"path": "/health", "port": "http"}, "initialDelaySeconds": 10, "periodSeconds": 30},
            "readinessProbe": {"enabled": true, "httpGet": {"path": "/ready", "port": "http"}, "initialDelaySeconds": 5, "periodSeconds": 10},
            "startupProbe": {"enabled": true, "httpGet": {"path": "/health", "port": "http"}, "failureThreshold": 12},
            "container": {"port": 8080},
            "ingress": {"enabled": false},
        }),
        "training" => json!({
            "workloadType": "job",
            "image": {"variant": "ml", "pullPolicy": "IfNotPresent"},
            "job": {"backoffLimit": 2, "ttlSecondsAfterFinished": 172800, "restartPolicy": "Never"},
            "resources": {"requests": {"cpu": "2000m", "memory": "8Gi"}, "limits": {"cpu": "4000m", "memory": "16Gi"}, "gpu": {"enabled": true, "count": 1}},
            "nodeSelector": {"accelerator": "nvidia-gpu"},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            "service": {"enabled": false},
            "autoscaling": {"enabled": false},
            "persistence": {"enabled": false},
            "secret": {"enabled": false},
        }),
        "batch" => json!({
            "workloadType": "job",
            "image": {"variant": "latest", "pullPolicy": "IfNotPresent"},
            "job": {"parallelism": 10, "completions": 100, "backoffLimit": 3, "ttlSecondsAfterFinished": 86400, "restartPolicy": "OnFailure"},
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2000m", "memory": "4Gi"}, "gpu": {"enabled": false}},
            "service": {"enabled": false},
            "autoscaling": {"enabled": false},
            "configMap": {"enabled": true, "data": patched_data("overlays/batch/configmap.yaml")},
            "persistence": {"enabled": false},
        }),
        "cronjob" => return json!({"workloadType": "cronjob"}),
        _ => return json!({}),
    };
    let container = patched_container(&format!("overlays/{overlay}/container.yaml"));
    super::tree::merge(&mut v, &json!({ "container": container }));
    v
}

/// `command`, `args` and `env` of the container a built-in patch file sets.
fn patched_container(rel: &str) -> Value {
    let doc = crate::builtin::file(rel).and_then(|t| crate::yaml::parse_value(t, rel).ok()).unwrap_or(Value::Null);
    let c = &doc["spec"]["template"]["spec"]["containers"][0];
    let mut out = serde_json::Map::new();
    for field in ["command", "args", "env"] {
        if let Some(v) = c.get(field) {
            out.insert(field.into(), v.clone());
        }
    }
    Value::Object(out)
}

/// The `data` a built-in JSON 6902 patch file puts on a ConfigMap.
fn patched_data(rel: &str) -> Value {
    let ops = crate::builtin::file(rel).and_then(|t| crate::yaml::parse_value(t, rel).ok()).unwrap_or(Value::Null);
    ops.as_array()
        .and_then(|ops| ops.iter().find(|op| op["path"] == "/data"))
        .map(|op| op["value"].clone())
        .unwrap_or_else(|| json!({}))
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
    fn presets_read_their_long_texts_from_the_overlays_patch_files() {
        for overlay in ["inference", "training", "batch"] {
            let c = &preset(overlay)["container"];
            assert_eq!(c["command"], json!(["python", "-c"]), "{overlay}");
            assert!(c["args"][0].as_str().is_some_and(|a| a.contains("dimtensor")), "{overlay}: {c}");
            assert!(c["env"].as_array().is_some_and(|e| !e.is_empty()), "{overlay}");
        }
        let data = &preset("batch")["configMap"]["data"]["physics_params.json"];
        assert!(data.as_str().is_some_and(|d| d.contains("\"gravity\": 9.81")), "{data}");
    }

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
