//! The only module that touches serde_yaml: request bodies and seed files may be YAML.

use serde_json::Value;

/// Error from reading a YAML or JSON document.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct YamlError(String);

/// Parses a body that is JSON or YAML (apply-patch+yaml allows both).
pub fn parse_document(text: &str) -> Result<Value, YamlError> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return Ok(v);
    }
    serde_yaml::from_str::<Value>(text).map_err(|e| YamlError(e.to_string()))
}

/// Parses a multi-document YAML stream (seed files), skipping empty documents.
pub fn parse_stream(text: &str) -> Result<Vec<Value>, YamlError> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v: Value = serde::Deserialize::deserialize(doc).map_err(|e| YamlError(e.to_string()))?;
        match v {
            Value::Null => {}
            Value::Array(items) => out.extend(items),
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_bodies() {
        assert_eq!(parse_document("{\"a\":1}").unwrap()["a"], 1);
        assert_eq!(parse_document("a: 1\nb: [x]\n").unwrap()["b"][0], "x");
        assert!(parse_document("a: [").is_err());
    }

    #[test]
    fn streams_skip_empty_docs() {
        let docs = parse_stream("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
    }
}
