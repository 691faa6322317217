//! Build-time generator of the strategic-merge table (included by build.rs; not part of the library).
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
// ---- strategic-merge table (keep in sync with src/overlay/schema.rs) ----

/// Reads the OpenAPI v2 document at `openapi_path` and writes the compact merge table that
/// `overlay::schema` embeds: every object definition with the properties merging cares about
/// (objects, maps, lists, and anything carrying `x-kubernetes-patch-*`), plus the GVK index.
///
/// Table shape: `{"defs": [[name, {prop: {"t": shape, "s": strategy, "k": mergeKey,
/// "mk": [listMapKeys]}}]], "gvk": [[group, version, kind, defIndex]]}` where a shape is
/// `"s"` (scalar), `"a"` (anything), `["o", defIndex]`, `["m", shape]` (map) or `["l", shape]`.
pub fn generate_merge_table(openapi_path: &Path, out_path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(openapi_path).map_err(|e| e.to_string())?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let defs = doc.get("definitions").and_then(Value::as_object).ok_or("no `definitions` object")?;
    // Only definitions with properties become objects; the rest (Quantity, Time, RawExtension,
    // JSON, ...) collapse into scalar or "anything" shapes where they are referenced.
    let objects: BTreeMap<&str, usize> = defs
        .iter()
        .filter(|(_, d)| d.get("properties").is_some_and(Value::is_object))
        .map(|(name, _)| name.as_str())
        .zip(0..)
        .collect();
    let mut out_defs = Vec::with_capacity(objects.len());
    for name in objects.keys() {
        let props = defs[*name]["properties"].as_object().ok_or("bad properties")?;
        let mut out_props = Map::new();
        for (prop, node) in props {
            let shape = smp_shape(node, defs, &objects, 0)?;
            let strategy = node.get("x-kubernetes-patch-strategy");
            let key = node.get("x-kubernetes-patch-merge-key");
            let is_plain = shape == json!("s") || shape == json!("a");
            if is_plain && strategy.is_none() && key.is_none() {
                continue;
            }
            let mut entry = Map::new();
            entry.insert("t".into(), shape);
            if let Some(s) = strategy {
                let s = s.as_str().ok_or_else(|| format!("{name}.{prop}: strategy not a string"))?;
                for part in s.split(',') {
                    if !matches!(part, "merge" | "replace" | "retainKeys") {
                        return Err(format!("{name}.{prop}: unknown patch strategy {part:?}"));
                    }
                }
                entry.insert("s".into(), json!(s));
            }
            if let Some(k) = key {
                entry.insert("k".into(), json!(k.as_str().ok_or("merge key not a string")?));
            }
            if strategy.is_some() {
                if let Some(keys) = node.get("x-kubernetes-list-map-keys") {
                    entry.insert("mk".into(), keys.clone());
                }
            }
            out_props.insert(prop.clone(), Value::Object(entry));
        }
        out_defs.push(json!([name, out_props]));
    }
    let mut gvk = Vec::new();
    for (name, def) in defs {
        let (Some(idx), Some(list)) =
            (objects.get(name.as_str()), def.get("x-kubernetes-group-version-kind").and_then(Value::as_array))
        else {
            continue;
        };
        for g in list {
            let field = |f: &str| g.get(f).and_then(Value::as_str).unwrap_or_default().to_string();
            gvk.push(json!([field("group"), field("version"), field("kind"), idx]));
        }
    }
    let table = json!({ "defs": out_defs, "gvk": gvk });
    let text = serde_json::to_string(&table).map_err(|e| e.to_string())?;
    std::fs::write(out_path, text).map_err(|e| format!("{}: {e}", out_path.display()))
}

/// Shape of one schema node, following `$ref`, `items` and `additionalProperties`.
fn smp_shape(
    node: &Value,
    defs: &Map<String, Value>,
    objects: &BTreeMap<&str, usize>,
    depth: usize,
) -> Result<Value, String> {
    if depth > 32 {
        return Err("schema nesting too deep".into());
    }
    if let Some(r) = node.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/definitions/").ok_or_else(|| format!("odd $ref {r}"))?;
        if let Some(idx) = objects.get(name) {
            return Ok(json!(["o", idx]));
        }
        let target = defs.get(name).ok_or_else(|| format!("dangling $ref {r}"))?;
        return smp_shape(target, defs, objects, depth + 1);
    }
    Ok(match node.get("type").and_then(Value::as_str) {
        Some("array") => match node.get("items") {
            Some(items) => json!(["l", smp_shape(items, defs, objects, depth + 1)?]),
            None => json!(["l", "a"]),
        },
        Some("object") => match node.get("additionalProperties") {
            Some(v) if v.is_object() => json!(["m", smp_shape(v, defs, objects, depth + 1)?]),
            Some(Value::Bool(true)) => json!(["m", "a"]),
            _ => json!("a"),
        },
        Some("string" | "integer" | "number" | "boolean") => json!("s"),
        _ => json!("a"),
    })
}
