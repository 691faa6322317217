//! The skip rule: when `diff NAME`, `upgrade` (`--install`) and `rollback` may skip an object's
//! server-side dry run because the release's records already know its answer (unchanged).
//!
//! Every successful apply leaves a [`Stamp`] in the revision's record, taken from the apply's
//! **response** (rollback, `--atomic` and recreation write new ones): a keyed hash of the
//! request as sent (the field manager and the final body; HMAC-SHA256 under a random key kept
//! in the records and never printed, so a Secret's hash gives nothing away), the object's `uid`
//! and `resourceVersion`, and a hash of this release's whole Apply entry of `managedFields`
//! (manager, operation, apiVersion, subresource, fieldsType, fieldsV1; not `time`). The dry run
//! of an object is skipped only if all hold:
//!
//! - (a) the newest revision that lists the object holds its stamp (by group, kind, namespace,
//!   name);
//! - (b) the request we would send now has the stamped hash;
//! - (c) the live object, read in this run, has the stamped `uid` and no `deletionTimestamp`, and
//!   either the stamped `resourceVersion`, or exactly one entry of this release's manager with
//!   `operation: Apply` and no subresource, equal to the stamped one (found by those keys, not
//!   by position; `time` is no signal);
//! - (d) the server's `gitVersion` and this tool's version are those the stamps were taken under.
//!
//! Why it holds: any other writer of a field we own takes its ownership (an update moves it, as
//! `own-update-by-other-manager` shows; a forced apply moves it; an unforced one conflicts), so an
//! equal entry means every field we own still holds the value our identical request sets, and
//! applying it again would change nothing.
//!
//! Its limits: mutating admission webhooks are not tracked by managed fields (a webhook that
//! rewrites a field we set goes unseen); for a skipped object, admission added since the stamp
//! (new webhooks or policies, stricter validation, deprecation warnings) is not checked again;
//! a client that rewrites `managedFields` directly is out of scope. `--server-dry-run-all`
//! dry-runs everything. Skipped objects are not applied either, and their stamp carries over
//! to the new revision; objects the plan found unchanged without a valid stamp are applied
//! (a no-op on the server) to get one.

use super::ownership::Key;
use super::record::Release;
use crate::diff::managed::apply_entry;
use crate::model::ResId;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Hashes are kept to 128 bits: collisions stay out of reach, and a release of thousands of
/// objects keeps its record well under a Secret's 1 MiB.
const HASH_BYTES: usize = 16;

/// This tool's version, part of condition (d).
pub const TOOL: &str = env!("CARGO_PKG_VERSION");

/// One revision's stamps, by object identity ([`Key`] as records write it).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stamps {
    /// The key of the request hashes: random per release, carried from revision to revision.
    pub key: String,
    /// The server's `gitVersion` and the tool's version the stamps hold under.
    pub server: String,
    pub tool: String,
    pub objects: BTreeMap<String, Stamp>,
}

/// What the last successful apply of one object answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// HMAC-SHA256 of the request (field manager and body), hex, first 128 bits.
    pub request: String,
    pub uid: String,
    pub resource_version: String,
    /// SHA-256 of the release's Apply entry of managedFields, `time` left out, hex, first 128 bits.
    pub entry: String,
}

/// What the history knows, for one operation: the hash key, the server's version now, and each
/// object's stamp where conditions (a) and (d) hold.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub key: String,
    pub server: String,
    stamps: HashMap<String, Stamp>,
}

impl Known {
    /// Reads `history` for a server answering `server` (empty: unknown, nothing is skipped).
    /// With `use_stamps` false (`--server-dry-run-all`) nothing is skipped either, but the key
    /// and version still go into the new record.
    pub fn from_history(history: &[Release], server: &str, use_stamps: bool) -> Known {
        let key = history
            .iter()
            .rev()
            .find_map(|r| r.stamps.as_ref().map(|s| s.key.clone()))
            .filter(|k| !k.is_empty())
            .unwrap_or_else(new_key);
        let mut stamps = HashMap::new();
        let mut seen = HashSet::new();
        for rel in history.iter().rev() {
            for body in &rel.manifest {
                let k = Key::of(&ResId::of(body)).to_string();
                if !seen.insert(k.clone()) {
                    continue;
                }
                let valid = rel.stamps.as_ref().filter(|s| s.server == server && s.tool == TOOL && s.key == key);
                if let Some(stamp) = valid.and_then(|s| s.objects.get(&k)).filter(|_| use_stamps && !server.is_empty())
                {
                    stamps.insert(k, stamp.clone());
                }
            }
        }
        Known { key, server: server.to_string(), stamps }
    }

    /// The same key and version, no stamps (a plan that must dry-run everything).
    pub fn without_stamps(&self) -> Known {
        Known { key: self.key.clone(), server: self.server.clone(), stamps: HashMap::new() }
    }

    /// The stamp (a) found for `id`.
    pub fn stamp(&self, id: &ResId) -> Option<&Stamp> {
        self.stamps.get(&Key::of(id).to_string())
    }

    /// Conditions (b) and (c) for sending `body` as `manager` to `live` (a and d: [`Self::stamp`]).
    /// Err says which failed.
    pub fn check(&self, id: &ResId, manager: &str, body: &Value, live: Option<&Value>) -> Result<(), &'static str> {
        let stamp = self.stamp(id).ok_or("no stamp")?;
        if request_hash(&self.key, manager, body) != stamp.request {
            return Err("the request changed");
        }
        let live = live.ok_or("gone")?;
        let meta = &live["metadata"];
        if meta["uid"].as_str() != Some(stamp.uid.as_str()) {
            return Err("another object (its uid)");
        }
        if meta.get("deletionTimestamp").is_some_and(|d| !d.is_null()) {
            return Err("terminating");
        }
        if meta["resourceVersion"].as_str() == Some(stamp.resource_version.as_str()) {
            return Ok(());
        }
        match apply_entry(live, manager) {
            Some(e) if entry_hash(e) == stamp.entry => Ok(()),
            _ => Err("the release's fields changed hands"),
        }
    }

    /// The stamp of an apply of `body` as `manager` that the server answered with `answer`.
    pub fn take(&self, manager: &str, body: &Value, answer: &Value) -> Option<Stamp> {
        let meta = &answer["metadata"];
        Some(Stamp {
            request: request_hash(&self.key, manager, body),
            uid: meta["uid"].as_str()?.to_string(),
            resource_version: meta["resourceVersion"].as_str()?.to_string(),
            entry: entry_hash(apply_entry(answer, manager)?),
        })
    }

    /// A record's stamps: `objects` under this key, server and tool.
    pub fn record(&self, objects: BTreeMap<String, Stamp>) -> Stamps {
        Stamps { key: self.key.clone(), server: self.server.clone(), tool: TOOL.to_string(), objects }
    }
}

/// HMAC-SHA256 of the request under `key`, hex. The body is hashed as serialized, in its own
/// key order: the render writes the same object in the same order every time (and condition
/// (d) already ties a stamp to this tool's version), and serializing is most of a diff's work
/// on the skip path, so it is not sorted first.
pub fn request_hash(key: &str, manager: &str, body: &Value) -> String {
    let mut msg = Vec::with_capacity(4096);
    msg.extend_from_slice(manager.as_bytes());
    msg.push(b'\n');
    if serde_json::to_writer(&mut msg, body).is_err() {
        return String::new();
    }
    hex(&hmac(key.as_bytes(), &msg)[..HASH_BYTES])
}

/// SHA-256 of an Apply entry without its `time`, hex.
pub fn entry_hash(entry: &Value) -> String {
    let e = json!({
        "manager": entry["manager"],
        "operation": entry["operation"],
        "apiVersion": entry["apiVersion"],
        "subresource": entry["subresource"].as_str().unwrap_or(""),
        "fieldsType": entry["fieldsType"],
        "fieldsV1": entry["fieldsV1"],
    });
    let mut text = String::new();
    canonical(&e, &mut text);
    hex(&Sha256::digest(text.as_bytes())[..HASH_BYTES])
}

/// JSON with every object's keys sorted: the same entry hashes the same whatever order the
/// server wrote it in.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// RFC 2104 HMAC with SHA-256.
fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner = Sha256::new().chain_update(k.map(|b| b ^ 0x36)).chain_update(msg).finalize();
    Sha256::new().chain_update(k.map(|b| b ^ 0x5c)).chain_update(inner).finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 256 bits from the standard library's per-process random SipHash keys (seeded by the OS).
fn new_key() -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    (0..4u64)
        .map(|i| {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(i);
            h.write_u128(nanos);
            h.write_u32(std::process::id());
            format!("{:016x}", h.finish())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Gvk;
    use crate::release::record::{sample, Status};

    #[test]
    fn hmac_matches_rfc_4231() {
        let mac = hmac(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    fn cm(data: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ml"}, "data": {"k": data}})
    }

    fn answer(rv: &str, fields: Value) -> Value {
        json!({"metadata": {"uid": "u1", "resourceVersion": rv, "managedFields": [
            {"manager": "m", "operation": "Apply", "apiVersion": "v1", "time": "t1", "fieldsType": "FieldsV1", "fieldsV1": fields}]}})
    }

    fn known_with(stamp: Stamp, server: &str) -> Known {
        let mut rel = sample("p", 1, Status::Deployed);
        rel.manifest = vec![cm("x")];
        let id = ResId::of(&cm("x"));
        let k = Known { key: "k".into(), server: server.into(), stamps: HashMap::new() };
        rel.stamps = Some(k.record(BTreeMap::from([(Key::of(&id).to_string(), stamp)])));
        Known::from_history(&[rel], "v1.24.0", true)
    }

    #[test]
    fn each_condition_is_checked() {
        let id = ResId::new(Gvk::from_api_version("v1", "ConfigMap"), "ml", "a");
        let fields = json!({"f:data": {"f:k": {}}});
        let k = Known { key: "k".into(), server: "v1.24.0".into(), stamps: HashMap::new() };
        let stamp = k.take("m", &cm("x"), &answer("5", fields.clone())).expect("stamped");
        let known = known_with(stamp.clone(), "v1.24.0");
        assert_eq!(known.check(&id, "m", &cm("x"), Some(&answer("5", fields.clone()))), Ok(()));
        // (b) another request.
        assert!(known.check(&id, "m", &cm("y"), Some(&answer("5", fields.clone()))).is_err());
        // (c) another resourceVersion: the entry decides, whatever its time.
        let mut later = answer("9", fields.clone());
        later["metadata"]["managedFields"][0]["time"] = json!("t2");
        assert_eq!(known.check(&id, "m", &cm("x"), Some(&later)), Ok(()));
        let moved = answer("9", json!({"f:data": {}}));
        assert!(known.check(&id, "m", &cm("x"), Some(&moved)).is_err(), "someone took a field");
        let mut other = answer("5", fields.clone());
        other["metadata"]["uid"] = json!("u2");
        assert!(known.check(&id, "m", &cm("x"), Some(&other)).is_err(), "made again");
        let mut going = answer("5", fields.clone());
        going["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        assert!(known.check(&id, "m", &cm("x"), Some(&going)).is_err(), "terminating");
        // (d) another server version.
        assert!(known_with(stamp, "v1.23.0").stamp(&id).is_none());
    }

    #[test]
    fn the_newest_revision_listing_an_object_decides() {
        let k = Known { key: "k".into(), server: "s".into(), stamps: HashMap::new() };
        let stamp = k.take("m", &cm("x"), &answer("5", json!({"f:data": {}}))).unwrap();
        let mut r1 = sample("p", 1, Status::Superseded);
        r1.manifest = vec![cm("x")];
        r1.stamps = Some(k.record(BTreeMap::from([(Key::of(&ResId::of(&cm("x"))).to_string(), stamp)])));
        let mut r2 = sample("p", 2, Status::Failed);
        r2.manifest = vec![cm("y")];
        r2.stamps = Some(k.record(BTreeMap::new()));
        let id = ResId::of(&cm("x"));
        assert!(Known::from_history(&[r1.clone()], "s", true).stamp(&id).is_some());
        assert!(Known::from_history(&[r1.clone(), r2], "s", true).stamp(&id).is_none(), "a later apply left no stamp");
        assert!(Known::from_history(&[r1.clone()], "s", false).stamp(&id).is_none(), "--server-dry-run-all");
        assert!(Known::from_history(&[r1], "", true).stamp(&id).is_none(), "server version unknown");
    }

    #[test]
    fn keys_are_carried_and_new_ones_differ() {
        assert_ne!(new_key(), new_key());
        assert_eq!(new_key().len(), 64);
        let mut r = sample("p", 1, Status::Deployed);
        r.stamps = Some(Stamps { key: "abc".into(), ..Stamps::default() });
        assert_eq!(Known::from_history(&[r], "s", true).key, "abc");
    }
}
