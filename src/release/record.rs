//! One release revision and how it is stored: a Secret of type `dimtensor.io/release.v1` named
//! `dimtensor.release.v1.<name>.v<revision>`, labelled `name`, `owner=dimtensor`, `status` and
//! `revision`, whose `data.release` is gzip-compressed JSON (the Secret's own base64 on top).

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};

/// The Secret type of release records.
pub const RECORD_TYPE: &str = "dimtensor.io/release.v1";
/// The `owner` label value of release records.
pub const OWNER: &str = "dimtensor";
/// The API server refuses Secret data above 1 MiB.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    PendingInstall,
    PendingUpgrade,
    PendingRollback,
    Deployed,
    Failed,
    Superseded,
    Uninstalling,
    Uninstalled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
            Status::Deployed => "deployed",
            Status::Failed => "failed",
            Status::Superseded => "superseded",
            Status::Uninstalling => "uninstalling",
            Status::Uninstalled => "uninstalled",
        }
    }

    pub fn is_pending(self) -> bool {
        matches!(self, Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback)
    }

    /// Deployed now or once: a revision worth rolling back to.
    pub fn was_deployed(self) -> bool {
        matches!(self, Status::Deployed | Status::Superseded)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One revision of a release: its inputs, what was applied, and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub name: String,
    pub namespace: String,
    pub revision: u32,
    pub status: Status,
    /// `--overlay` as given (a directory is stored absolute); `None` is the base.
    pub overlay: Option<String>,
    /// The values the user gave, as a sparse tree (not the merged defaults).
    pub values: Value,
    /// The values under them when the revision was made (the defaults with the overlay's preset):
    /// Helm's chart values, for `get values --all` and `upgrade --reuse-values`.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub defaults: Value,
    /// Every object as applied, in render order.
    pub manifest: Vec<Value>,
    pub first_deployed: String,
    pub last_deployed: String,
    pub description: String,
    /// The kubectl-dimtensor version that wrote the record.
    pub version: String,
    /// The uid of each object of the manifest, by identity (`Kind.group/namespace/name`), as the
    /// server answered when this revision applied or found it: deletes check it, so a
    /// same-named object made by someone else since is never taken for the release's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub uids: BTreeMap<String, String>,
    /// The key of the `checksum/secret` annotation (base64), carried to every later revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_key: Option<String>,
    /// What each object's last successful apply answered (the skip rule, [`super::stamp`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamps: Option<super::stamp::Stamps>,
    /// The stored Secret's resourceVersion, so an update cannot overwrite a newer write.
    #[serde(skip)]
    pub resource_version: Option<String>,
}

impl Release {
    pub fn secret_name(&self) -> String {
        secret_name(&self.name, self.revision)
    }

    pub fn overlay_label(&self) -> &str {
        self.overlay.as_deref().unwrap_or("base")
    }
}

pub fn secret_name(name: &str, revision: u32) -> String {
    format!("dimtensor.release.v1.{name}.v{revision}")
}

/// Label selector for one release's records, or all of them.
pub fn selector(name: Option<&str>) -> String {
    match name {
        Some(n) => format!("owner={OWNER},name={n}"),
        None => format!("owner={OWNER}"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("release {name} revision {revision} is {bytes} bytes compressed, over the {limit}-byte limit of a Secret; keep large data out of values (mount it from a ConfigMap or volume you manage)")]
    TooLarge { name: String, revision: u32, bytes: usize, limit: usize },
    #[error("{0}")]
    Corrupt(String),
}

/// gzip(JSON) of a record, refused above [`MAX_RECORD_BYTES`].
pub fn encode(rel: &Release) -> Result<Vec<u8>, CodecError> {
    let json = serde_json::to_vec(rel).map_err(|e| CodecError::Corrupt(e.to_string()))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let bytes = gz.write_all(&json).and_then(|_| gz.finish()).map_err(|e| CodecError::Corrupt(e.to_string()))?;
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(CodecError::TooLarge {
            name: rel.name.clone(),
            revision: rel.revision,
            bytes: bytes.len(),
            limit: MAX_RECORD_BYTES,
        });
    }
    Ok(bytes)
}

pub fn decode(bytes: &[u8]) -> Result<Release, CodecError> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut json)
        .map_err(|e| CodecError::Corrupt(format!("not gzip: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| CodecError::Corrupt(format!("not a release record: {e}")))
}

/// The Secret holding a record (with its resourceVersion when it replaces a stored one).
pub fn to_secret(rel: &Release) -> Result<Value, CodecError> {
    let data = base64::engine::general_purpose::STANDARD.encode(encode(rel)?);
    let mut meta = json!({
        "name": rel.secret_name(),
        "namespace": rel.namespace,
        "labels": {"name": rel.name, "owner": OWNER, "status": rel.status.as_str(), "revision": rel.revision.to_string()},
    });
    if let Some(rv) = &rel.resource_version {
        meta["resourceVersion"] = Value::String(rv.clone());
    }
    Ok(json!({"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": RECORD_TYPE, "data": {"release": data}}))
}

/// A record back from its Secret as the API returns it.
pub fn from_secret(secret: &Value) -> Result<Release, CodecError> {
    let name = secret["metadata"]["name"].as_str().unwrap_or("?");
    let data = secret["data"]["release"]
        .as_str()
        .ok_or_else(|| CodecError::Corrupt(format!("Secret {name} has no data.release")))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| CodecError::Corrupt(format!("Secret {name}: data.release is not base64: {e}")))?;
    let mut rel = decode(&bytes).map_err(|e| CodecError::Corrupt(format!("Secret {name}: {e}")))?;
    rel.resource_version = secret["metadata"]["resourceVersion"].as_str().map(str::to_string);
    Ok(rel)
}

/// Now, as the records and the lock write it (RFC 3339, UTC, seconds).
pub fn now() -> String {
    k8s_openapi::jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
pub(crate) fn sample(name: &str, revision: u32, status: Status) -> Release {
    Release {
        name: name.into(),
        namespace: "ml".into(),
        revision,
        status,
        overlay: Some("inference".into()),
        values: json!({"image": {"tag": "4.3.0"}}),
        defaults: Value::Null,
        manifest: vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("cm-{revision}"), "namespace": "ml"}}),
        ],
        first_deployed: "2025-01-01T00:00:00Z".into(),
        last_deployed: "2025-01-01T00:00:00Z".into(),
        description: String::new(),
        version: env!("CARGO_PKG_VERSION").into(),
        uids: BTreeMap::new(),
        checksum_key: None,
        stamps: None,
        resource_version: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn round_trips_through_a_secret() {
        let rel = sample("prod", 3, Status::PendingUpgrade);
        let secret = to_secret(&rel).unwrap();
        assert_eq!(secret["metadata"]["name"], "dimtensor.release.v1.prod.v3");
        assert_eq!(secret["type"], RECORD_TYPE);
        assert_eq!(secret["metadata"]["labels"]["status"], "pending-upgrade");
        assert_eq!(secret["metadata"]["labels"]["revision"], "3");
        let back = from_secret(&secret).unwrap();
        assert_eq!(back, rel);
        let raw: Value = serde_json::from_slice(&{
            let b = base64::engine::general_purpose::STANDARD.decode(secret["data"]["release"].as_str().unwrap());
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&b.unwrap()[..]).read_to_end(&mut out).unwrap();
            out
        })
        .unwrap();
        assert_eq!(raw["status"], "pending-upgrade", "statuses are spelled as in the docs");
        assert_eq!(raw["revision"], 3);
    }

    #[test]
    fn a_record_over_one_mebibyte_is_refused_not_truncated() {
        let mut rel = sample("big", 1, Status::PendingInstall);
        // Hashes do not compress: about 2.6 MB of hex stays above 1 MiB after gzip.
        let mut data = serde_json::Map::new();
        let mut h = Sha256::digest(b"seed").to_vec();
        for i in 0..40_000 {
            h = Sha256::digest(&h).to_vec();
            data.insert(format!("k{i}"), Value::String(h.iter().map(|b| format!("{b:02x}")).collect()));
        }
        rel.manifest.push(json!({"kind": "ConfigMap", "data": data}));
        let err = to_secret(&rel).unwrap_err();
        assert!(matches!(err, CodecError::TooLarge { revision: 1, .. }), "{err}");
        assert!(err.to_string().contains("limit"), "{err}");
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let s = json!({"metadata": {"name": "x"}, "data": {"release": "bm90IGd6aXA="}});
        assert!(from_secret(&s).unwrap_err().to_string().contains("Secret x"));
    }
}
