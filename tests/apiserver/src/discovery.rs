//! Discovery documents (/version, /api, /apis, per group version, aggregated v2/v2beta1) and
//! the OpenAPI endpoints kubectl consults.

use crate::apply::schema::{openapi_v2_text, schema};
use crate::http::Reply;
use crate::resources::{GroupVersion, Registry, ResourceInfo};
use crate::status::ApiError;
use bytes::Bytes;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

const VERSION: &str = include_str!("../data/version.json");

/// The content type real servers answer aggregated discovery with.
fn aggregated_content_type(version: &str) -> String {
    format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
}

/// Which aggregated version the Accept header asks for first, if any.
pub fn wants_aggregated(accept: &str) -> Option<&'static str> {
    for part in accept.split(',') {
        let params: Vec<&str> = part.split(';').map(str::trim).collect();
        if !params.contains(&"g=apidiscovery.k8s.io") || !params.contains(&"as=APIGroupDiscoveryList") {
            continue;
        }
        if params.contains(&"v=v2") {
            return Some("v2");
        }
        if params.contains(&"v=v2beta1") {
            return Some("v2beta1");
        }
    }
    None
}

/// `/version`, as captured, or saying `git_version` (a test changing the server's version).
pub fn version(git_version: Option<&str>) -> Reply {
    let mut v: Value = serde_json::from_str(VERSION).unwrap_or(Value::Null);
    if let Some(g) = git_version {
        v["gitVersion"] = json!(g);
    }
    Reply::ok(v)
}

/// `/api`: legacy APIVersions or the aggregated core group.
pub fn api(reg: &Registry, server_address: &str, aggregated: Option<&str>) -> Reply {
    if let Some(v) = aggregated {
        let items: Vec<Value> =
            reg.versions.iter().filter(|gv| gv.group.is_empty()).map(|gv| aggregated_group("", &[gv])).collect();
        return aggregated_reply(v, items);
    }
    Reply::ok(json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    }))
}

/// `/apis`: legacy APIGroupList (served groups only) or the aggregated list.
pub fn apis(reg: &Registry, aggregated: Option<&str>) -> Reply {
    let groups = reg.groups();
    if let Some(v) = aggregated {
        let items = groups.iter().map(|(g, gvs)| aggregated_group(g, gvs)).collect();
        return aggregated_reply(v, items);
    }
    let list: Vec<Value> = groups.iter().map(|(g, gvs)| api_group(g, gvs)).collect();
    Reply::ok(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": list}))
}

/// `/apis/<group>`.
pub fn group(reg: &Registry, name: &str) -> Reply {
    match reg.groups().into_iter().find(|(g, _)| g == name) {
        Some((g, gvs)) => {
            let mut v = api_group(&g, &gvs);
            if let Some(m) = v.as_object_mut() {
                let mut out = Map::new();
                out.insert("kind".into(), json!("APIGroup"));
                out.insert("apiVersion".into(), json!("v1"));
                out.extend(std::mem::take(m));
                return Reply::ok(Value::Object(out));
            }
            Reply::ok(v)
        }
        None => ApiError::unknown_resource().into(),
    }
}

fn api_group(name: &str, gvs: &[&GroupVersion]) -> Value {
    let versions: Vec<Value> =
        gvs.iter().map(|gv| json!({"groupVersion": gv.group_version(), "version": gv.version})).collect();
    let preferred = versions.first().cloned().unwrap_or(Value::Null);
    json!({"name": name, "versions": versions, "preferredVersion": preferred})
}

/// `/api/v1`, `/apis/<group>/<version>`: the captured APIResourceList (plus custom resources).
pub fn resource_list(reg: &Registry, group: &str, version: &str) -> Reply {
    let Some(gv) = reg.group_version(group, version) else {
        return ApiError::unknown_resource().into();
    };
    let mut m = Map::new();
    m.insert("kind".into(), json!("APIResourceList"));
    if gv.has_api_version {
        m.insert("apiVersion".into(), json!("v1"));
    }
    m.insert("groupVersion".into(), json!(gv.group_version()));
    m.insert("resources".into(), Value::Array(gv.raw.clone()));
    Reply::ok(Value::Object(m))
}

fn aggregated_reply(version: &str, items: Vec<Value>) -> Reply {
    let body = json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    });
    Reply::Raw { status: 200, content_type: aggregated_content_type(version), body: Bytes::from(body.to_string()) }
}

fn aggregated_group(name: &str, gvs: &[&GroupVersion]) -> Value {
    let mut meta = Map::new();
    if !name.is_empty() {
        meta.insert("name".into(), json!(name));
    }
    meta.insert("creationTimestamp".into(), Value::Null);
    let versions: Vec<Value> = gvs
        .iter()
        .map(|gv| {
            let resources: Vec<Value> = gv.resources.iter().map(aggregated_resource).collect();
            json!({"version": gv.version, "resources": resources, "freshness": "Current"})
        })
        .collect();
    json!({"metadata": meta, "versions": versions})
}

fn aggregated_resource(r: &ResourceInfo) -> Value {
    let mut m = Map::new();
    m.insert("resource".into(), json!(r.plural));
    m.insert("responseKind".into(), json!({"group": "", "version": "", "kind": r.kind}));
    m.insert("scope".into(), json!(if r.namespaced { "Namespaced" } else { "Cluster" }));
    m.insert("singularResource".into(), json!(r.singular()));
    m.insert("verbs".into(), json!(r.verbs));
    if !r.short_names.is_empty() {
        m.insert("shortNames".into(), json!(r.short_names));
    }
    if !r.categories.is_empty() {
        m.insert("categories".into(), json!(r.categories));
    }
    if !r.subresources.is_empty() {
        let subs: Vec<Value> = r
            .subresources
            .iter()
            .map(|s| {
                json!({"subresource": s.name,
                    "responseKind": {"group": s.group.clone().unwrap_or_default(), "version": s.version.clone().unwrap_or_default(), "kind": s.kind},
                    "verbs": s.verbs})
            })
            .collect();
        m.insert("subresources".into(), Value::Array(subs));
    }
    Value::Object(m)
}

/// `/openapi/v2` as JSON (the captured v1.24 document). Protobuf is not offered.
pub fn openapi_v2(accept: &str) -> Reply {
    let json_ok = accept.is_empty() || accept.contains("json") || accept.contains("*/*");
    if !json_ok {
        return ApiError::not_acceptable().into();
    }
    Reply::Raw {
        status: 200,
        content_type: "application/json".into(),
        body: Bytes::from_static(openapi_v2_text().as_bytes()),
    }
}

fn gv_path(gv: &GroupVersion) -> String {
    if gv.group.is_empty() {
        format!("api/{}", gv.version)
    } else {
        format!("apis/{}/{}", gv.group, gv.version)
    }
}

/// A stable content hash for cache-busting URLs (FNV-1a over the served resources).
fn gv_hash(gv: &GroupVersion) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for r in &gv.resources {
        for b in r.plural.bytes().chain(r.kind.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016X}")
}

/// `/openapi/v3`: the index of per group-version documents.
pub fn openapi_v3_root(reg: &Registry) -> Reply {
    let mut paths = Map::new();
    for gv in &reg.versions {
        let p = gv_path(gv);
        paths.insert(p.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", gv_hash(gv))}));
    }
    Reply::ok(json!({"paths": paths}))
}

/// `/openapi/v3/apis/<group>/<version>`: paths whose operations declare the query parameters
/// (kubectl checks `fieldValidation` here) and the schemas they use.
pub fn openapi_v3(reg: &Registry, group: &str, version: &str) -> Reply {
    let Some(gv) = reg.group_version(group, version) else {
        return ApiError::unknown_resource().into();
    };
    let s = schema();
    let mut paths = Map::new();
    let mut roots = vec![
        "io.k8s.apimachinery.pkg.apis.meta.v1.Status".to_string(),
        "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions".to_string(),
    ];
    let prefix = format!("/{}", gv_path(gv));
    for r in gv.resources.iter() {
        let def = s.definition_name(&r.group, &r.version, &r.kind).map(str::to_string);
        let list_def = s.definition_name(&r.group, &r.version, &format!("{}List", r.kind)).map(str::to_string);
        roots.extend(def.iter().cloned());
        roots.extend(list_def.iter().cloned());
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        let base = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{prefix}/{}", r.plural)
        };
        let obj_schema = def.as_ref().map_or(
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            |d| json!({"$ref": format!("#/components/schemas/{d}")}),
        );
        let list_schema = list_def
            .as_ref()
            .map_or(json!({"type": "object"}), |d| json!({"$ref": format!("#/components/schemas/{d}")}));
        let verbs = |v: &str| r.verbs.iter().any(|x| x == v);
        let mut collection = Map::new();
        if verbs("list") {
            collection.insert("get".into(), op("list", &gvk, &list_schema, &[]));
        }
        if verbs("create") {
            collection
                .insert("post".into(), op("post", &gvk, &obj_schema, &["dryRun", "fieldManager", "fieldValidation"]));
        }
        let mut item = Map::new();
        if verbs("get") {
            item.insert("get".into(), op("get", &gvk, &obj_schema, &[]));
        }
        if verbs("update") {
            item.insert("put".into(), op("put", &gvk, &obj_schema, &["dryRun", "fieldManager", "fieldValidation"]));
        }
        if verbs("patch") {
            item.insert(
                "patch".into(),
                op("patch", &gvk, &obj_schema, &["dryRun", "fieldManager", "fieldValidation", "force"]),
            );
        }
        if verbs("delete") {
            item.insert(
                "delete".into(),
                op("delete", &gvk, &obj_schema, &["dryRun", "gracePeriodSeconds", "propagationPolicy"]),
            );
        }
        if !collection.is_empty() {
            paths.insert(base.clone(), Value::Object(collection));
        }
        if !item.is_empty() {
            paths.insert(format!("{base}/{{name}}"), Value::Object(item));
        }
    }
    let schemas = closure(&roots);
    Reply::ok(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.24.0"},
        "paths": paths,
        "components": {"schemas": schemas}
    }))
}

fn op(action: &str, gvk: &Value, schema: &Value, params: &[&str]) -> Value {
    let parameters: Vec<Value> = params
        .iter()
        .map(|p| json!({"name": p, "in": "query", "schema": {"type": if *p == "force" { "boolean" } else { "string" }, "uniqueItems": true}}))
        .collect();
    json!({
        "parameters": parameters,
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    })
}

/// The named definitions and everything they reference, with v3 `$ref`s.
fn closure(roots: &[String]) -> Map<String, Value> {
    let defs = schema().definitions();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = roots.to_vec();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(d) = defs.get(&name) {
            collect_refs(d, &mut todo);
        }
    }
    seen.into_iter().filter_map(|n| defs.get(&n).map(|d| (n, rewrite_refs(d)))).collect()
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                out.push(r.trim_start_matches("#/definitions/").to_string());
            }
            m.values().for_each(|c| collect_refs(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| collect_refs(c, out)),
        _ => {}
    }
}

fn rewrite_refs(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, c)| {
                    if k == "$ref" {
                        let r = c.as_str().unwrap_or("").replace("#/definitions/", "#/components/schemas/");
                        (k.clone(), json!(r))
                    } else {
                        (k.clone(), rewrite_refs(c))
                    }
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(rewrite_refs).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: Reply) -> Value {
        match r {
            Reply::Json { body, .. } => body,
            Reply::Raw { body, .. } => serde_json::from_slice(&body).unwrap(),
            _ => Value::Null,
        }
    }

    #[test]
    fn accept_negotiation() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(wants_aggregated(kubectl), Some("v2"));
        assert_eq!(
            wants_aggregated("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"),
            Some("v2beta1")
        );
        assert_eq!(wants_aggregated("application/json"), None);
    }

    #[test]
    fn legacy_documents_match_captures() {
        let reg = Registry::new(&[]);
        let cap = |n: &str| -> Value {
            let p = format!("{}/tests/captures/{n}", env!("CARGO_MANIFEST_DIR"));
            serde_json::from_str::<Value>(&std::fs::read_to_string(p).unwrap()).unwrap()["response"]["body"].clone()
        };
        assert_eq!(body(resource_list(&reg, "apps", "v1")), cap("discovery-apps-v1.json"));
        assert_eq!(body(resource_list(&reg, "", "v1")), cap("discovery-api-v1.json"));
        let apis = body(apis(&reg, None));
        let captured = cap("discovery-apis.json");
        for g in apis["groups"].as_array().unwrap() {
            let same = captured["groups"].as_array().unwrap().iter().find(|c| c["name"] == g["name"]);
            if let Some(c) = same {
                assert_eq!(g["preferredVersion"], c["preferredVersion"]);
            }
        }
    }

    #[test]
    fn aggregated_lists_deployments_with_subresources() {
        let reg = Registry::new(&[]);
        let Reply::Raw { content_type, body, .. } = apis(&reg, Some("v2")) else { panic!("raw expected") };
        assert_eq!(content_type, "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
        let v: Value = serde_json::from_slice(&body).unwrap();
        let apps = v["items"].as_array().unwrap().iter().find(|i| i["metadata"]["name"] == "apps").unwrap();
        let d = apps["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "deployments")
            .unwrap();
        assert_eq!(d["scope"], "Namespaced");
        assert!(d["subresources"].as_array().unwrap().iter().any(|s| s["subresource"] == "status"));
    }

    #[test]
    fn openapi_v3_declares_field_validation() {
        let reg = Registry::new(&[]);
        let doc = body(openapi_v3(&reg, "apps", "v1"));
        let p = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(p["x-kubernetes-group-version-kind"]["kind"], "Deployment");
        assert!(p["parameters"].as_array().unwrap().iter().any(|x| x["name"] == "fieldValidation"));
        assert!(doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"].is_object());
        assert!(doc["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"].is_object());
        let root = body(openapi_v3_root(&reg));
        assert!(root["paths"]["apis/apps/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap()
            .starts_with("/openapi/v3/apis/apps/v1?hash="));
    }
}
