//! Bytes as a YAML stream: every document through the kustomization parser, and as a strategic
//! merge patch into a fixed Deployment (with its schema and without). Errors are fine; a panic,
//! a hang or an out-of-memory is a finding.
#![no_main]

use dimtensor::load::kustomization::Kustomization;
use dimtensor::overlay::{schema, strategic_merge};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::sync::OnceLock;

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  labels: {app: app}\nspec:\n  selector:\n    matchLabels: {app: app}\n  template:\n    metadata:\n      labels: {app: app}\n    spec:\n      containers:\n      - name: app\n        image: nginx\n        args: [a, b]\n        env: [{name: A, value: x}]\n        ports: [{containerPort: 80, protocol: TCP}]\n      tolerations: [{key: k, operator: Exists}]\n";

fn deployment() -> &'static Value {
    static D: OnceLock<Value> = OnceLock::new();
    D.get_or_init(|| dimtensor::yaml::parse_value(DEPLOYMENT, "deployment").expect("a valid Deployment"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(docs) = dimtensor::yaml::parse_documents(text, "fuzz") else { return };
    for doc in docs {
        let _ = Kustomization::from_value(doc.clone());
        for schema in [schema::for_kind("apps/v1", "Deployment"), None] {
            let mut target = deployment().clone();
            let _ = strategic_merge::merge(&mut target, &doc, schema);
        }
    }
});
