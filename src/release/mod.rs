//! What ties cluster objects to a release: labels and an annotation on `metadata` only (never in
//! selectors or pod templates, which are immutable), written the same way on every apply.

use serde_json::{Map, Value};

/// Label naming the release an object belongs to.
pub const RELEASE_LABEL: &str = "dimtensor.io/release";
/// Annotation naming the release's namespace (cluster-scoped objects have none of their own).
pub const RELEASE_NAMESPACE_ANNOTATION: &str = "dimtensor.io/release-namespace";
/// `keep` on an object: uninstall and prune leave it in place.
pub const RESOURCE_POLICY_ANNOTATION: &str = "dimtensor.io/resource-policy";

/// Marks a rendered object as part of `release` in `namespace`.
pub fn stamp(obj: &mut Value, release: &str, namespace: &str) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    let labels = meta.entry("labels").or_insert_with(|| Value::Object(Map::new()));
    if let Some(l) = labels.as_object_mut() {
        l.insert(RELEASE_LABEL.into(), Value::String(release.to_string()));
    }
    let ann = meta.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
    if let Some(a) = ann.as_object_mut() {
        a.insert(RELEASE_NAMESPACE_ANNOTATION.into(), Value::String(namespace.to_string()));
    }
}

/// Whether an object asks to be kept on uninstall.
pub fn keep(obj: &Value) -> bool {
    obj["metadata"]["annotations"][RESOURCE_POLICY_ANNOTATION] == "keep"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stamps_metadata_only() {
        let mut d = json!({"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}}}});
        stamp(&mut d, "prod", "ml");
        assert_eq!(d["metadata"]["labels"][RELEASE_LABEL], "prod");
        assert_eq!(d["metadata"]["annotations"][RELEASE_NAMESPACE_ANNOTATION], "ml");
        assert_eq!(d["spec"]["selector"]["matchLabels"], json!({"a": "b"}));
        assert_eq!(d["spec"]["template"]["metadata"]["labels"], json!({"a": "b"}));
    }
}
