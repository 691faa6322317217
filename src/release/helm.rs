//! The Helm release `--adopt` takes over: its record (the manifest Helm applied), the objects
//! of it a render lacks, and `--remove-helm-history`.

use crate::cluster::{Cluster, ClusterError, Propagation};
use crate::model::{Gvk, ResId};
use base64::Engine;
use serde_json::Value;
use std::io::Read;

fn secret_gvk() -> Gvk {
    Gvk::from_api_version("v1", "Secret")
}

/// What Helm's records say about the objects `--adopt` leaves out.
#[derive(Debug, Clone, PartialEq)]
pub enum Leftovers {
    /// Objects of the Helm release's latest deployed manifest the render lacks.
    Listed(Vec<ResId>),
    /// No record of a deployed Helm release of that name.
    NoRecord,
    /// A record that could not be read (why).
    Unreadable(String),
}

impl Leftovers {
    /// One line per object saying what happens to it (nothing: it stays Helm's), or why none
    /// could be listed.
    pub fn lines(&self, release: &str) -> Vec<String> {
        match self {
            Leftovers::Listed(ids) => ids
                .iter()
                .map(|id| {
                    format!("{id}: part of Helm release {release}, not in this render: left in place (still Helm's; delete it with kubectl, or keep it)")
                })
                .collect(),
            Leftovers::NoRecord => Vec::new(),
            Leftovers::Unreadable(why) => {
                vec![format!("Helm release {release}'s record could not be read ({why}): objects of it outside this render are not listed")]
            }
        }
    }
}

/// Objects of Helm release `name` in `namespace` (its latest deployed record) that `keep`
/// (the render) does not name.
pub async fn leftovers(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    render: &[ResId],
) -> Result<Leftovers, ClusterError> {
    let selector = format!("owner=helm,name={name},status=deployed");
    let records = cluster.list(&secret_gvk(), namespace, Some(&selector)).await?;
    let version = |s: &Value| s["metadata"]["labels"]["version"].as_str().and_then(|v| v.parse::<u64>().ok());
    let Some(latest) = records.iter().filter(|s| s["type"] == "helm.sh/release.v1").max_by_key(|s| version(s)) else {
        return Ok(Leftovers::NoRecord);
    };
    let manifest = match manifest_of(latest) {
        Ok(m) => m,
        Err(why) => return Ok(Leftovers::Unreadable(why)),
    };
    let docs = match crate::yaml::parse_documents(&manifest, "Helm release manifest") {
        Ok(d) => d,
        Err(e) => return Ok(Leftovers::Unreadable(e.to_string())),
    };
    let keys: Vec<super::ownership::Key> = render.iter().map(super::ownership::Key::of).collect();
    let mut out = Vec::new();
    for doc in docs.into_iter().filter(|d| d.is_object()) {
        let mut id = ResId::of(&doc);
        if id.namespace.is_empty() && !id.gvk.is_cluster_scoped() {
            id.namespace = namespace.to_string();
        }
        if !keys.contains(&super::ownership::Key::of(&id)) {
            out.push(id);
        }
    }
    Ok(Leftovers::Listed(out))
}

/// The manifest of a Helm release record: `data.release` is base64 (Helm's) of gzipped JSON.
fn manifest_of(secret: &Value) -> Result<String, String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let outer = secret["data"]["release"].as_str().ok_or("no data.release")?;
    let inner = b64.decode(outer).map_err(|e| format!("not base64: {e}"))?;
    let gz = b64.decode(inner.trim_ascii()).map_err(|e| format!("not base64: {e}"))?;
    let mut json = Vec::new();
    // Bounded: a record is at most a Secret's 1 MiB; its JSON at most a few times that.
    flate2::read::GzDecoder::new(&gz[..])
        .take(64 << 20)
        .read_to_end(&mut json)
        .map_err(|e| format!("not gzip: {e}"))?;
    let release: Value = serde_json::from_slice(&json).map_err(|e| format!("not JSON: {e}"))?;
    release["manifest"].as_str().map(str::to_string).ok_or_else(|| "no manifest".to_string())
}

/// `--remove-helm-history`: deletes Helm's release Secrets `sh.helm.release.v1.NAME.v*`.
pub async fn remove_history(cluster: &Cluster, namespace: &str, name: &str) -> Result<Vec<String>, ClusterError> {
    let prefix = format!("sh.helm.release.v1.{name}.v");
    let mut removed = Vec::new();
    for s in cluster.list(&secret_gvk(), namespace, Some(&format!("owner=helm,name={name}"))).await? {
        let Some(secret) = s["metadata"]["name"].as_str().filter(|n| n.starts_with(&prefix)) else { continue };
        let uid = s["metadata"]["uid"].as_str();
        if cluster.delete(&ResId::new(secret_gvk(), namespace, secret), Propagation::Background, uid).await? {
            removed.push(secret.to_string());
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Write;

    fn record(manifest: &str) -> Value {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(json!({"name": "prod", "manifest": manifest}).to_string().as_bytes()).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD;
        let inner = b64.encode(gz.finish().unwrap());
        json!({"data": {"release": b64.encode(inner)}})
    }

    #[test]
    fn a_helm_record_gives_its_manifest() {
        let m = "---\n# Source: x\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n";
        assert_eq!(manifest_of(&record(m)).unwrap(), m);
        assert!(manifest_of(&json!({"data": {"release": "!!"}})).unwrap_err().contains("base64"));
        let lines =
            Leftovers::Listed(vec![ResId::new(Gvk::from_api_version("v1", "ConfigMap"), "ml", "a")]).lines("prod");
        assert!(lines[0].starts_with("ConfigMap/ml/a: part of Helm release prod, not in this render: left in place"));
    }
}
