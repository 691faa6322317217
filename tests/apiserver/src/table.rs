//! Server-side printing: `Accept: application/json;as=Table;g=meta.k8s.io;v=v1` (kubectl get).

use crate::resources::ResourceInfo;
use crate::util::{human_age, parse_rfc3339, unix_now};
use serde_json::{json, Value};

/// The Table version the Accept header asks for, if it asks for a Table.
pub fn wants_table(accept: &str) -> Option<&'static str> {
    for part in accept.split(',') {
        let params: Vec<&str> = part.split(';').map(str::trim).collect();
        if params.contains(&"as=Table") && params.contains(&"g=meta.k8s.io") {
            return Some(if params.contains(&"v=v1beta1") { "v1beta1" } else { "v1" });
        }
    }
    None
}

fn column(name: &str, typ: &str, format: &str, description: &str) -> Value {
    json!({"name": name, "type": typ, "format": format, "description": description, "priority": 0})
}

fn columns(info: &ResourceInfo) -> Vec<Value> {
    let name = column("Name", "string", "name", "Name must be unique within a namespace.");
    let age = column(
        "Age",
        "string",
        "",
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    );
    let mut cols = vec![name];
    match (info.group.as_str(), info.plural.as_str()) {
        ("apps", "deployments") => {
            cols.push(column("Ready", "string", "", "Number of the pod with ready state"));
            cols.push(column(
                "Up-to-date",
                "string",
                "",
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
            ));
            cols.push(column(
                "Available",
                "string",
                "",
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
            ));
        }
        ("", "pods") => {
            cols.push(column(
                "Ready",
                "string",
                "",
                "The aggregate readiness state of this pod for accepting traffic.",
            ));
            cols.push(column("Status", "string", "", "The aggregate status of the containers in this pod."));
            cols.push(column(
                "Restarts",
                "string",
                "",
                "The number of times the containers in this pod have been restarted.",
            ));
        }
        ("", "namespaces") => cols.push(column("Status", "string", "", "The status of the namespace")),
        ("batch", "jobs") => cols.push(column(
            "Completions",
            "string",
            "",
            "The desired number of successfully finished pods the job should be run with.",
        )),
        ("", "services") => {
            cols.push(column("Type", "string", "", "Type of the service."));
            cols.push(column("Cluster-IP", "string", "", "Cluster IP of the service."));
        }
        _ => {}
    }
    cols.push(age);
    cols
}

fn cells(info: &ResourceInfo, obj: &Value) -> Vec<Value> {
    let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
    let n = |p: &str| obj.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    let age =
        parse_rfc3339(&s("/metadata/creationTimestamp")).map_or("<unknown>".to_string(), |t| human_age(unix_now() - t));
    let mut out = vec![json!(s("/metadata/name"))];
    match (info.group.as_str(), info.plural.as_str()) {
        ("apps", "deployments") => {
            out.push(json!(format!("{}/{}", n("/status/readyReplicas"), n("/spec/replicas"))));
            out.push(json!(n("/status/updatedReplicas")));
            out.push(json!(n("/status/availableReplicas")));
        }
        ("", "pods") => {
            let total = obj.pointer("/spec/containers").and_then(Value::as_array).map_or(0, Vec::len);
            out.push(json!(format!("0/{total}")));
            out.push(json!(s("/status/phase")));
            out.push(json!(0));
        }
        ("", "namespaces") => out.push(json!(s("/status/phase"))),
        ("batch", "jobs") => out.push(json!(format!("{}/{}", n("/status/succeeded"), n("/spec/completions")))),
        ("", "services") => {
            out.push(json!(s("/spec/type")));
            out.push(json!(s("/spec/clusterIP")));
        }
        _ => {}
    }
    out.push(json!(age));
    out
}

fn row_object(obj: &Value, include: &str, table_version: &str) -> Option<Value> {
    match include {
        "None" => None,
        "Object" => Some(obj.clone()),
        _ => Some(json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": format!("meta.k8s.io/{table_version}"),
            "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
        })),
    }
}

/// A Table of `items`.
pub fn table(
    info: &ResourceInfo,
    items: &[Value],
    resource_version: &str,
    include: &str,
    table_version: &str,
) -> Value {
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut row = json!({"cells": cells(info, o)});
            if let Some(obj) = row_object(o, include, table_version) {
                row["object"] = obj;
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": format!("meta.k8s.io/{table_version}"),
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": columns(info),
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;

    #[test]
    fn table_accept() {
        assert_eq!(wants_table("application/json;as=Table;v=v1;g=meta.k8s.io,application/json"), Some("v1"));
        assert_eq!(wants_table("application/json"), None);
    }

    #[test]
    fn deployment_rows() {
        let reg = Registry::new(&[]);
        let info = reg.lookup("apps", "v1", "deployments").unwrap();
        let d = json!({"metadata": {"name": "web", "creationTimestamp": crate::util::now()}, "spec": {"replicas": 2}, "status": {"readyReplicas": 1}});
        let t = table(info, &[d], "5", "Metadata", "v1");
        assert_eq!(t["rows"][0]["cells"][0], "web");
        assert_eq!(t["rows"][0]["cells"][1], "1/2");
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["columnDefinitions"].as_array().unwrap().len(), 5);
    }
}
