//! The pod-template annotations that roll pods when their ConfigMap or Secret changes, as the
//! chart's `checksum/config` and `checksum/secret` do.
//!
//! `checksum/config` is a SHA-256 of the ConfigMap's data, as in the chart. `checksum/secret`
//! is an HMAC-SHA256 under a key: an unsalted hash of the Secret's data would let anyone who may
//! read Deployments (the `view` role, which leaves Secrets out on purpose), or who sees `get
//! manifest` or `diff`, test guesses offline. A release keeps a random key in its record
//! (carried to every later revision); an offline render takes it from `--checksum-key-file` or
//! [`ENV`], and without one leaves the annotation out rather than roll pods on every render.

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The environment variable an offline render reads the key from (the key itself).
pub const ENV: &str = "DIMTENSOR_CHECKSUM_KEY";
/// Shorter keys could be guessed along with the data.
pub const MIN_LEN: usize = 16;

/// A checksum key. Never printed: its `Debug` shows `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Key(Vec<u8>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the checksum key file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the checksum key from {from} is {len} bytes; it must be at least {MIN_LEN} (for example: `head -c 32 /dev/urandom | base64 > checksum.key`)")]
    TooShort { from: String, len: usize },
    #[error("no random source for a new checksum key: {0}")]
    Random(String),
}

impl Key {
    /// A new random key (32 bytes), for a release's first revision.
    pub fn random() -> Result<Key, KeyError> {
        let mut bytes = vec![0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
            .map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Key(bytes))
    }

    /// A key given as text (a file's content or the variable's value), trailing newline dropped.
    pub fn from_text(text: &str, from: &str) -> Result<Key, KeyError> {
        let text = text.trim_end_matches(['\n', '\r']);
        if text.len() < MIN_LEN {
            return Err(KeyError::TooShort { from: from.to_string(), len: text.len() });
        }
        Ok(Key(text.as_bytes().to_vec()))
    }

    /// The key of an offline render: `--checksum-key-file`, else [`ENV`], else none.
    pub fn offline(file: Option<&Path>) -> Result<Option<Key>, KeyError> {
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|source| KeyError::Read { path: path.display().to_string(), source })?;
            return Key::from_text(&text, &path.display().to_string()).map(Some);
        }
        match std::env::var(ENV) {
            Ok(text) if !text.is_empty() => Key::from_text(&text, &format!("${ENV}")).map(Some),
            _ => Ok(None),
        }
    }

    /// As kept in a release record.
    pub fn to_record(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.0)
    }

    pub fn from_record(text: &str) -> Option<Key> {
        base64::engine::general_purpose::STANDARD.decode(text).ok().filter(|k| !k.is_empty()).map(Key)
    }
}

/// `checksum/config`: SHA-256 of the ConfigMap's data, hex.
pub fn of_config(data: &Value) -> String {
    hex(&Sha256::digest(canonical(data)))
}

/// `checksum/secret`: HMAC-SHA256 of the Secret's data under `key`, hex.
pub fn of_secret(key: &Key, data: &Value) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key.0);
    hex(ring::hmac::sign(&k, &canonical(data)).as_ref())
}

fn canonical(data: &Value) -> Vec<u8> {
    serde_json::to_vec(data).unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_secret_sum_needs_the_key() {
        let data = json!({"data": {"token": "aHVudGVyMg=="}});
        let (a, b) = (Key(b"0123456789abcdef".to_vec()), Key(b"0123456789abcdeF".to_vec()));
        assert_eq!(of_secret(&a, &data), of_secret(&a, &data));
        assert_ne!(of_secret(&a, &data), of_secret(&b, &data), "another key, another sum");
        assert_ne!(of_secret(&a, &data), of_config(&data), "not the plain hash");
        assert_eq!(of_secret(&a, &data).len(), 64);
        // RFC 4231 test case 2.
        let k = Key(b"Jefe".to_vec());
        let mac =
            ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &k.0), b"what do ya want for nothing?");
        assert_eq!(hex(mac.as_ref()), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn keys_are_checked_and_never_shown() {
        assert!(matches!(Key::from_text("short\n", "f"), Err(KeyError::TooShort { len: 5, .. })));
        let k = Key::from_text("0123456789abcdef\n", "f").unwrap();
        assert_eq!(format!("{k:?}"), "Key(***)");
        assert_eq!(Key::from_record(&k.to_record()), Some(k));
        let (r1, r2) = (Key::random().unwrap(), Key::random().unwrap());
        assert_ne!(r1, r2);
    }
}
