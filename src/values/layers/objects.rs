//! The objects around the workload: the Service, the HorizontalPodAutoscaler, the Ingress, the
//! PersistentVolumeClaim, the ConfigMap and Secret (with the pod checksums that roll it), the
//! ServiceAccount, and pieces the overlay has that the values switch off.

use super::context::{Ctx, Patch};
use super::{int_or_string, Effect};
use crate::model::ResourceSet;
use crate::values::presets::Workload;
use crate::values::{checksum, tree, UserValues, ValuesError};
use serde_json::{json, Map, Value};

pub(super) fn service(cx: &mut Ctx) {
    if cx.found.kind != Workload::Deployment {
        return;
    }
    let keys = cx.touched(&["service"]);
    let Some(svc) = cx.rendered("Service") else { return };
    let mut p = Patch::new("v1", "Service", svc.name());
    if !cx.on("service.enabled") {
        p.doc["$patch"] = json!("delete");
        cx.emit(keys, p);
        return;
    }
    if cx.user.touched("service.type") {
        let v = cx.get("service.type").clone();
        p.at(&["spec"]).insert("type".into(), v);
    }
    if cx.user.touched("service.port") || cx.user.touched("service.targetPort") || cx.user.touched("service.nodePort") {
        let mut port = json!({"name": "http", "port": cx.get("service.port"), "protocol": "TCP"});
        // An empty or zero target port means the port itself, as the API server defaults it.
        match int_or_string(cx.get("service.targetPort")) {
            Value::String(s) if s.is_empty() => {}
            Value::Null => {}
            Value::Number(n) if n.as_i64() == Some(0) => {}
            target => port["targetPort"] = target,
        }
        // A node port only where the type has node ports (the chart: only for NodePort).
        let ty = service_type(cx.user, cx.eff, cx.found.set);
        if let (Ok(Some(n)), true) = (node_port_number(cx.get("service.nodePort")), ty != "ClusterIP") {
            port["nodePort"] = json!(n);
        }
        p.at(&["spec"]).insert("ports".into(), json!([{"$patch": "replace"}, port]));
    }
    for (key, field) in
        [("service.loadBalancerIP", "loadBalancerIP"), ("service.loadBalancerSourceRanges", "loadBalancerSourceRanges")]
    {
        if cx.user.touched(key) {
            let v = match cx.get(key) {
                Value::String(s) if s.is_empty() => Value::Null,
                Value::Array(a) if a.is_empty() => continue,
                other => other.clone(),
            };
            p.at(&["spec"]).insert(field.into(), v);
        }
    }
    cx.merge_annotations(&mut p, "service.annotations", &["metadata"]);
    if p.doc["spec"].as_object().is_some_and(|m| m.is_empty()) {
        p.doc.as_object_mut().expect("patch is a map").remove("spec");
    }
    cx.emit(keys, p);
}

/// The node port as a number: a number, or a numeric string; `Ok(None)` for none (`""`, 0).
pub fn node_port_number(v: &Value) -> Result<Option<i64>, ()> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_i64().map(|n| (n != 0).then_some(n)).ok_or(()),
        Value::String(t) if t.trim().is_empty() => Ok(None),
        Value::String(t) => t.trim().parse::<i64>().map(|n| (n != 0).then_some(n)).map_err(|_| ()),
        _ => Err(()),
    }
}

/// The Service's type after the values: the user's, else the rendered Service's.
pub fn service_type(user: &UserValues, eff: &Value, set: &ResourceSet) -> String {
    let given = tree::get(eff, &tree::split("service.type")).and_then(Value::as_str);
    if let (true, Some(t)) = (user.touched("service.type"), given) {
        return t.to_string();
    }
    let rendered = set.iter().find(|r| r.kind() == "Service");
    rendered.and_then(|s| s.body()["spec"]["type"].as_str()).unwrap_or("ClusterIP").to_string()
}

pub(super) fn autoscaling(cx: &mut Ctx) {
    if cx.found.kind != Workload::Deployment || !cx.user.touched("autoscaling") {
        return;
    }
    let keys = cx.touched(&["autoscaling"]);
    let had = cx.rendered("HorizontalPodAutoscaler").map(|r| r.name().to_string());
    if !cx.on("autoscaling.enabled") {
        if let Some(name) = had {
            let mut p = Patch::new("autoscaling/v2", "HorizontalPodAutoscaler", &name);
            p.doc["$patch"] = json!("delete");
            cx.emit(keys, p);
        }
        return;
    }
    cx.add_component("autoscaling", "HorizontalPodAutoscaler");
    let mut p = Patch::new("autoscaling/v2", "HorizontalPodAutoscaler", had.as_deref().unwrap_or("dimtensor"));
    let spec = p.at(&["spec"]);
    spec.insert("minReplicas".into(), cx.get("autoscaling.minReplicas").clone());
    spec.insert("maxReplicas".into(), cx.get("autoscaling.maxReplicas").clone());
    let mut metrics = Vec::new();
    for (key, resource) in [
        ("autoscaling.targetCPUUtilizationPercentage", "cpu"),
        ("autoscaling.targetMemoryUtilizationPercentage", "memory"),
    ] {
        if let Some(n) = cx.get(key).as_i64() {
            metrics.push(json!({"type": "Resource", "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": n}}}));
        }
    }
    spec.insert("metrics".into(), Value::Array(metrics));
    let behavior = cx.get("autoscaling.behavior").clone();
    p.at(&["spec"]).insert("behavior".into(), behavior);
    cx.emit(keys, p);
}

pub(super) fn ingress(cx: &mut Ctx) {
    if cx.found.kind != Workload::Deployment || !cx.user.touched("ingress") || !cx.on("ingress.enabled") {
        return;
    }
    let keys = cx.touched(&["ingress"]);
    cx.add_component("ingress", "Ingress");
    let service = cx.rendered("Service").map(|s| s.name().to_string()).unwrap_or_else(|| "dimtensor".into());
    let mut p = Patch::new("networking.k8s.io/v1", "Ingress", "dimtensor");
    let rules: Vec<Value> = cx
        .get("ingress.hosts")
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|h| {
            let paths: Vec<Value> = h["paths"]
                .as_array()
                .cloned()
                .unwrap_or_else(|| vec![json!({"path": "/"})])
                .iter()
                .map(|path| json!({"path": path["path"].as_str().unwrap_or("/"), "pathType": path["pathType"].as_str().unwrap_or("Prefix"), "backend": {"service": {"name": service, "port": {"name": "http"}}}}))
                .collect();
            json!({"host": h["host"], "http": {"paths": paths}})
        })
        .collect();
    let spec = p.at(&["spec"]);
    // An empty class name means the cluster's default class: the field is left out, as the
    // chart leaves it out (the API server refuses "").
    let class = match cx.get("ingress.className") {
        Value::String(s) if s.is_empty() => Value::Null,
        other => other.clone(),
    };
    spec.insert("ingressClassName".into(), class);
    spec.insert("rules".into(), Value::Array(rules));
    let tls = cx.get("ingress.tls").as_array().cloned().unwrap_or_default();
    spec.insert("tls".into(), if tls.is_empty() { Value::Null } else { Value::Array(tls) });
    cx.merge_annotations(&mut p, "ingress.annotations", &["metadata"]);
    cx.emit(keys, p);
}

pub(super) fn persistence(cx: &mut Ctx) {
    if !cx.user.touched("persistence") || !cx.on("persistence.enabled") {
        return;
    }
    let keys = cx.touched(&["persistence"]);
    cx.add_component("persistence", "PersistentVolumeClaim");
    let existing = cx.str("persistence.existingClaim").to_string();
    let mut pvc = Patch::new("v1", "PersistentVolumeClaim", "dimtensor");
    if existing.is_empty() {
        let spec = pvc.at(&["spec"]);
        spec.insert("accessModes".into(), json!([cx.get("persistence.accessMode")]));
        spec.insert("resources".into(), json!({"requests": {"storage": cx.get("persistence.size")}}));
        if !cx.str("persistence.storageClass").is_empty() {
            spec.insert("storageClassName".into(), cx.get("persistence.storageClass").clone());
        }
    } else {
        pvc.doc["$patch"] = json!("delete");
    }
    cx.emit(keys.clone(), pvc);
    let mount = cx.str("persistence.mountPath").to_string();
    let mut p = cx.workload_patch();
    if mount != "/data" {
        cx.container(&mut p).insert(
            "volumeMounts".into(),
            json!([{"$patch": "delete", "mountPath": "/data"}, {"name": "data", "mountPath": mount}]),
        );
    }
    if !existing.is_empty() {
        cx.pod(&mut p)
            .insert("volumes".into(), json!([{"name": "data", "persistentVolumeClaim": {"claimName": existing}}]));
    }
    if p.doc.get("spec").is_some() {
        cx.emit(keys, p);
    }
}

pub(super) fn config_and_secret(cx: &mut Ctx) -> Result<(), ValuesError> {
    for (group, kind, component, fields) in [
        ("configMap", "ConfigMap", "config", &["configMap.data"][..]),
        ("secret", "Secret", "secret", &["secret.data", "secret.stringData"][..]),
    ] {
        if !cx.user.touched(group) || !cx.on(&format!("{group}.enabled")) {
            continue;
        }
        let keys = cx.touched(&[group]);
        cx.add_component(component, kind);
        let mut p = Patch::new("v1", kind, "dimtensor");
        let mut all = Map::new();
        for field in fields {
            let name = field.rsplit('.').next().expect("dotted");
            let data = cx.get(field).as_object().cloned().unwrap_or_default();
            let data: Map<String, Value> =
                data.into_iter().map(|(k, v)| (k, Value::String(crate::overlay::scalar_text(&v)))).collect();
            all.insert(name.into(), Value::Object(data.clone()));
            p.doc[name] = if data.is_empty() {
                Value::Null
            } else {
                let mut replaced = Map::new();
                replaced.insert("$patch".into(), json!("replace"));
                replaced.extend(data);
                Value::Object(replaced)
            };
        }
        cx.emit(keys.clone(), p);
        // A checksum of the data on the pod template rolls the pods when the data changes; the
        // Secret's is keyed, and left out without a key.
        let all = Value::Object(all);
        let sum = match (kind, cx.key) {
            ("ConfigMap", _) => ("checksum/config", checksum::of_config(&all)),
            (_, Some(key)) => ("checksum/secret", checksum::of_secret(key, &all)),
            (_, None) => continue,
        };
        let mut w = cx.workload_patch();
        let mut path = cx.template_path();
        path.extend(["metadata", "annotations"]);
        w.at(&path).insert(sum.0.to_string(), json!(sum.1));
        cx.emit(keys, w);
    }
    Ok(())
}

pub(super) fn service_account(cx: &mut Ctx) {
    let keys = cx.touched(&["serviceAccount"]);
    let Some(sa) = cx.rendered("ServiceAccount").map(|r| r.name().to_string()) else { return };
    if keys.is_empty() {
        return;
    }
    let mut p = Patch::new("v1", "ServiceAccount", &sa);
    if !cx.on("serviceAccount.create") {
        p.doc["$patch"] = json!("delete");
        let name = Some(cx.str("serviceAccount.name")).filter(|n| !n.is_empty()).unwrap_or("default").to_string();
        cx.emit(keys.clone(), p);
        let mut w = cx.workload_patch();
        cx.pod(&mut w).insert("serviceAccountName".into(), json!(name));
        cx.emit(keys, w);
        return;
    }
    if cx.user.touched("serviceAccount.annotations") {
        cx.merge_annotations(&mut p, "serviceAccount.annotations", &["metadata"]);
        cx.emit(keys.clone(), p);
    }
    let name = cx.str("serviceAccount.name").to_string();
    if !name.is_empty() && name != sa {
        // A rename through JSON 6902 keeps the history, so serviceAccountName follows.
        let ops = json!([{"op": "replace", "path": "/metadata/name", "value": name}]);
        cx.out
            .patches
            .push(json!({"target": {"kind": "ServiceAccount", "name": sa}, "patch": crate::yaml::to_yaml(&ops)}));
        cx.out.explain.push(Effect {
            keys,
            resource: format!("ServiceAccount/{sa}"),
            patch: json!({"metadata": {"name": name}}),
        });
    }
}

/// Switching off a piece the overlay already has (batch's ConfigMap, a persistence volume):
/// delete the object and take it out of the pod.
pub(super) fn disable_present(cx: &mut Ctx) {
    let pieces: [(&str, &str, Option<(&str, &str)>); 4] = [
        ("configMap.enabled", "ConfigMap", Some(("config", "/config"))),
        ("secret.enabled", "Secret", None),
        ("persistence.enabled", "PersistentVolumeClaim", Some(("data", "/data"))),
        ("ingress.enabled", "Ingress", None),
    ];
    for (key, kind, volume) in pieces {
        if !cx.user.touched(key) || cx.on(key) {
            continue;
        }
        let Some(name) = cx.rendered(kind).map(|r| r.name().to_string()) else { continue };
        let api_version = if kind == "Ingress" { "networking.k8s.io/v1" } else { "v1" };
        let mut del = Patch::new(api_version, kind, &name);
        del.doc["$patch"] = json!("delete");
        cx.emit(vec![key.to_string()], del);
        let mut w = cx.workload_patch();
        if let Some((vol, mount)) = volume {
            cx.pod(&mut w).insert("volumes".into(), json!([{"$patch": "delete", "name": vol}]));
            cx.container(&mut w).insert("volumeMounts".into(), json!([{"$patch": "delete", "mountPath": mount}]));
        }
        if kind == "Secret" {
            let remaining: Vec<Value> = cx.rendered_container()["envFrom"]
                .as_array()
                .map(|l| l.iter().filter(|e| e["secretRef"]["name"] != name.as_str()).cloned().collect())
                .unwrap_or_default();
            cx.container(&mut w)
                .insert("envFrom".into(), if remaining.is_empty() { Value::Null } else { Value::Array(remaining) });
        }
        cx.emit(vec![key.to_string()], w);
    }
}
