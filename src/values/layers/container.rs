//! The workload's container: its image (the chart's `registry/repository:tag-variant`), command,
//! environment and ports, resources and the GPU with its scheduling, and probes.

use super::context::Ctx;
use super::{int_or_string, pod_spec};
use crate::values::presets::Workload;
use crate::values::tree;
use serde_json::{json, Map, Value};

/// The image reference the chart builds: `registry/repository:tag`, where an empty tag means the
/// app version (or `latest` for the latest variant) and a variant other than latest is appended.
pub fn image_ref(eff: &Value) -> String {
    let get = |p: &str| tree::get(eff, &tree::split(p)).and_then(Value::as_str).unwrap_or("").to_string();
    let registry = Some(get("global.imageRegistry")).filter(|r| !r.is_empty()).unwrap_or_else(|| get("image.registry"));
    let (tag, variant) = (get("image.tag"), get("image.variant"));
    let variant = if variant.is_empty() { "latest".to_string() } else { variant };
    let tag = match (tag.is_empty(), variant == "latest") {
        (true, true) => "latest".to_string(),
        (true, false) => format!("{}-{variant}", crate::APP_VERSION),
        (false, true) => tag,
        (false, false) => format!("{tag}-{variant}"),
    };
    let repo = get("image.repository");
    if registry.is_empty() {
        format!("{repo}:{tag}")
    } else {
        format!("{registry}/{repo}:{tag}")
    }
}

pub(super) fn image(cx: &mut Ctx) {
    let keys = cx.touched(&[
        "global.imageRegistry",
        "image.registry",
        "image.repository",
        "image.tag",
        "image.variant",
        "image.pullPolicy",
        "image.pullSecrets",
    ]);
    let mut p = cx.workload_patch();
    if keys.iter().any(|k| k != "image.pullPolicy" && !k.starts_with("image.pullSecrets")) {
        cx.container(&mut p).insert("image".into(), json!(image_ref(cx.eff)));
    }
    if cx.user.touched("image.pullPolicy") {
        let v = cx.get("image.pullPolicy").clone();
        cx.container(&mut p).insert("imagePullPolicy".into(), v);
    }
    if cx.user.touched("image.pullSecrets") && cx.get("image.pullSecrets").as_array().is_some_and(|a| !a.is_empty()) {
        let secrets: Vec<Value> = cx
            .get("image.pullSecrets")
            .as_array()
            .map(|l| l.iter().map(|s| if s.is_string() { json!({"name": s}) } else { s.clone() }).collect())
            .unwrap_or_default();
        cx.pod(&mut p).insert("imagePullSecrets".into(), Value::Array(secrets));
    }
    cx.emit(keys, p);
}

pub(super) fn container(cx: &mut Ctx) {
    let keys = cx.touched(&[
        "container.port",
        "container.command",
        "container.args",
        "container.env",
        "container.envFrom",
        "securityContext",
        "volumeMounts",
    ]);
    let mut p = cx.workload_patch();
    // Lists the user leaves empty change nothing (restating a default is a no-op).
    for (key, field) in [
        ("container.command", "command"),
        ("container.args", "args"),
        ("container.env", "env"),
        ("volumeMounts", "volumeMounts"),
    ] {
        if cx.user.touched(key) && cx.get(key).as_array().is_some_and(|a| !a.is_empty()) {
            let v = cx.get(key).clone();
            cx.container(&mut p).insert(field.into(), v);
        }
    }
    if cx.user.touched("container.envFrom") && cx.get("container.envFrom").as_array().is_some_and(|a| !a.is_empty()) {
        let mut list = cx.get("container.envFrom").as_array().cloned().unwrap_or_default();
        if cx.on("secret.enabled") {
            list.push(json!({"secretRef": {"name": "dimtensor"}}));
        }
        cx.container(&mut p).insert("envFrom".into(), Value::Array(list));
    }
    if cx.user.touched("container.port") && cx.found.kind == Workload::Deployment {
        let port = cx.get("container.port").clone();
        cx.container(&mut p).insert(
            "ports".into(),
            json!([{"$patch": "replace"}, {"name": "http", "containerPort": port, "protocol": "TCP"}]),
        );
        let annotations = &cx.found.workload.body()["spec"]["template"]["metadata"]["annotations"];
        if annotations.get("prometheus.io/port").is_some() && !cx.user.touched("podAnnotations") {
            let mut path = cx.template_path();
            path.extend(["metadata", "annotations"]);
            p.at(&path).insert("prometheus.io/port".into(), json!(port.to_string()));
        }
    }
    if cx.user.touched("securityContext") {
        let v = cx.replaced_object("securityContext");
        cx.container(&mut p).insert("securityContext".into(), v);
    }
    cx.emit(keys, p);
}

const GPU_TOLERATION: fn() -> Value = || json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"});

pub(super) fn resources_and_scheduling(cx: &mut Ctx) {
    let keys = cx.touched(&[
        "resources.requests.cpu",
        "resources.requests.memory",
        "resources.limits.cpu",
        "resources.limits.memory",
        "resources.gpu.enabled",
        "resources.gpu.count",
        "nodeSelector",
        "tolerations",
    ]);
    if keys.is_empty() {
        return;
    }
    let mut p = cx.workload_patch();
    let gpu_touched = cx.user.touched("resources.gpu");
    let gpu = cx.on("resources.gpu.enabled");
    let count = cx.get("resources.gpu.count").clone();
    let mut res = Map::new();
    for side in ["requests", "limits"] {
        let mut m = Map::new();
        for r in ["cpu", "memory"] {
            let key = format!("resources.{side}.{r}");
            if cx.user.touched(&key) {
                m.insert(r.into(), cx.get(&key).clone());
            }
        }
        if gpu_touched {
            m.insert("nvidia.com/gpu".into(), if gpu { count.clone() } else { Value::Null });
        }
        if !m.is_empty() {
            res.insert(side.into(), Value::Object(m));
        }
    }
    if !res.is_empty() {
        cx.container(&mut p).insert("resources".into(), Value::Object(res));
    }
    let rendered_pod = pod_spec(cx.found.workload.body(), cx.found.kind);
    if gpu_touched || cx.user.touched("nodeSelector") {
        // The whole selector: what the overlay has, the user's keys (null removes), the GPU's.
        let mut sel = rendered_pod["nodeSelector"].as_object().cloned().unwrap_or_default();
        for (k, v) in cx.user_map("nodeSelector") {
            if v.is_null() {
                sel.remove(&k);
            } else {
                sel.insert(k, Value::String(crate::overlay::scalar_text(&v)));
            }
        }
        if gpu {
            sel.insert("accelerator".into(), json!("nvidia-gpu"));
        } else if gpu_touched
            && sel.get("accelerator") == Some(&json!("nvidia-gpu"))
            && !cx.user_map("nodeSelector").contains_key("accelerator")
        {
            // The GPU's selector goes with the GPU; a user's own accelerator key stays.
            sel.remove("accelerator");
        }
        let value = if sel.is_empty() {
            Value::Null
        } else {
            let mut m = Map::new();
            m.insert("$patch".into(), json!("replace"));
            m.extend(sel);
            Value::Object(m)
        };
        cx.pod(&mut p).insert("nodeSelector".into(), value);
    }
    if gpu_touched || cx.user.touched("tolerations") {
        // Tolerations are replaced, not merged, by strategic merge: build the whole list here so
        // neither the GPU toleration nor the user's are lost, and none appears twice.
        let mut list: Vec<Value> = rendered_pod["tolerations"].as_array().cloned().unwrap_or_default();
        if gpu_touched && !gpu {
            list.retain(|t| *t != GPU_TOLERATION());
        }
        if gpu {
            list.push(GPU_TOLERATION());
        }
        // The user's own list: the overlay's (a preset's) tolerations are already rendered.
        let own = tree::get(&cx.user.tree, &["tolerations".to_string()]).and_then(Value::as_array).cloned();
        list.extend(own.unwrap_or_default());
        let mut unique: Vec<Value> = Vec::new();
        for t in list {
            if !unique.contains(&t) {
                unique.push(t);
            }
        }
        let value = if unique.is_empty() { Value::Null } else { Value::Array(unique) };
        cx.pod(&mut p).insert("tolerations".into(), value);
    }
    cx.emit(keys, p);
}

/// What the API server fills in for a probe field left out: stating it changes nothing.
fn probe_default(field: &str) -> Value {
    match field {
        "initialDelaySeconds" => json!(0),
        "timeoutSeconds" => json!(1),
        "periodSeconds" => json!(10),
        "successThreshold" => json!(1),
        _ => json!(3),
    }
}

pub(super) fn probes(cx: &mut Ctx) {
    if cx.found.kind != Workload::Deployment {
        return;
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let keys = cx.touched(&[probe]);
        if keys.is_empty() {
            continue;
        }
        let mut p = cx.workload_patch();
        let value = if cx.on(&format!("{probe}.enabled")) {
            // A numeric string is the port it spells; null is the container's port, `http`.
            let port = int_or_string(cx.get(&format!("{probe}.httpGet.port")));
            let port = if port.is_null() { json!("http") } else { port };
            let mut m = json!({"httpGet": {"path": cx.str(&format!("{probe}.httpGet.path")), "port": port}});
            // A field the rendered probe leaves to the API server stays out while its value is the
            // server's default, so restating the chart's defaults leaves the probe as rendered.
            let rendered = cx.rendered_container()[probe].clone();
            for f in ["initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold"]
            {
                let v = cx.get(&format!("{probe}.{f}")).clone();
                if !v.is_null() && (rendered.get(f).is_some() || v != probe_default(f)) {
                    m[f] = v;
                }
            }
            m
        } else {
            Value::Null
        };
        cx.container(&mut p).insert(probe.into(), value);
        cx.emit(keys, p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_follows_the_chart_rules() {
        let eff = |tag: &str, variant: &str, global: &str| {
            let mut v = crate::values::schema::defaults();
            v["image"]["tag"] = json!(tag);
            v["image"]["variant"] = json!(variant);
            v["global"]["imageRegistry"] = json!(global);
            image_ref(&v)
        };
        assert_eq!(eff("", "latest", ""), "docker.io/dimtensor:latest");
        assert_eq!(eff("", "ml", ""), "docker.io/dimtensor:4.2.0-ml");
        assert_eq!(eff("5.0", "latest", ""), "docker.io/dimtensor:5.0");
        assert_eq!(eff("5.0", "cpu-full", "reg.local"), "reg.local/dimtensor:5.0-cpu-full");
    }
}
