//! Build-time code generation, so nothing that belongs to Kubernetes is written by hand:
//! - `cluster_scoped.rs`: kinds served without a namespace, read from the OpenAPI schema's paths;
//! - `merge_table.json`: strategic-merge keys and strategies, read from the same schema;
//! - `builtin_files.rs`: the base/ and overlays/ trees, embedded so the binary works anywhere.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let schema_path = root.join("schema/openapi-v2.json");
    println!("cargo:rerun-if-changed=schema/openapi-v2.json");
    println!("cargo:rerun-if-changed=base");
    println!("cargo:rerun-if-changed=overlays");

    let text = fs::read_to_string(&schema_path).expect("schema/openapi-v2.json is part of the repository");
    let schema: Value = serde_json::from_str(&text).expect("schema/openapi-v2.json is valid JSON");
    write_cluster_scoped(&schema, &out.join("cluster_scoped.rs"));
    if let Err(e) = merge_table::generate_merge_table(&schema_path, &out.join("merge_table.json")) {
        panic!("generating the merge table from {}: {e}", schema_path.display());
    }
    write_builtin_files(&root, &out.join("builtin_files.rs"));
}

/// A kind is cluster-scoped when the schema serves it only at paths without `{namespace}`.
fn write_cluster_scoped(schema: &Value, out: &Path) {
    let mut with_ns = BTreeSet::new();
    let mut without_ns = BTreeSet::new();
    if let Some(paths) = schema["paths"].as_object() {
        for (path, ops) in paths {
            let Some(ops) = ops.as_object() else { continue };
            for op in ops.values() {
                let gvk = &op["x-kubernetes-group-version-kind"];
                let (Some(g), Some(k)) = (gvk["group"].as_str(), gvk["kind"].as_str()) else {
                    continue;
                };
                if path.contains("{namespace}") {
                    with_ns.insert((g.to_string(), k.to_string()));
                } else {
                    without_ns.insert((g.to_string(), k.to_string()));
                }
            }
        }
    }
    let mut src = String::from("/// (group, kind) pairs served only without a namespace; sorted for binary search.\npub static CLUSTER_SCOPED: &[(&str, &str)] = &[\n");
    for (g, k) in without_ns.difference(&with_ns) {
        if k.ends_with("List") || k == "Status" || k == "WatchEvent" || k == "DeleteOptions" {
            continue;
        }
        src.push_str(&format!("    ({g:?}, {k:?}),\n"));
    }
    src.push_str("];\n");
    fs::write(out, src).expect("OUT_DIR is writable");
}

fn write_builtin_files(root: &Path, out: &Path) {
    let mut files = BTreeMap::new();
    for dir in ["base", "overlays"] {
        collect(root, &root.join(dir), &mut files);
    }
    let mut src = String::from("/// The built-in manifests as (path relative to the repository, contents), sorted by path.\npub static BUILTIN_FILES: &[(&str, &str)] = &[\n");
    for (rel, abs) in files {
        src.push_str(&format!("    ({rel:?}, include_str!({abs:?})),\n"));
    }
    src.push_str("];\n");
    fs::write(out, src).expect("OUT_DIR is writable");
}

fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json" | "env" | "properties" | "txt" | "md")
        ) {
            let rel = path.strip_prefix(root).expect("walked below root").to_string_lossy().replace('\\', "/");
            files.insert(rel, path.to_string_lossy().into_owned());
        }
    }
}

#[path = "src/overlay/merge_table_gen.rs"]
mod merge_table;
