//! Just enough Kubernetes protobuf to read what kubectl's typed clients send
//! (`kubectl create namespace|secret|configmap|serviceaccount`, `kubectl auth can-i`):
//! the `k8s\0` + runtime.Unknown envelope and a few message layouts. Anything else is
//! refused with 415 instead of being half-read.

use base64::Engine;
use serde_json::{json, Map, Value};

/// How one field is read.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    Bool,
    Msg(&'static [FieldDef]),
    RepStr,
    RepMsg(&'static [FieldDef]),
    MapStr,
    /// map<string, bytes>, shown base64-encoded as JSON does.
    MapBytes,
    /// meta/v1 Time {seconds, nanos}; the zero time is null, as in JSON.
    Time,
    /// Server-written output (review status) that a request may carry empty: ignored.
    Skip,
}

type FieldDef = (u32, &'static str, Kind);

const OWNER_REF: &[FieldDef] = &[
    (1, "kind", Kind::Str),
    (3, "name", Kind::Str),
    (4, "uid", Kind::Str),
    (5, "apiVersion", Kind::Str),
    (6, "controller", Kind::Bool),
    (7, "blockOwnerDeletion", Kind::Bool),
];
const OBJECT_META: &[FieldDef] = &[
    (1, "name", Kind::Str),
    (2, "generateName", Kind::Str),
    (3, "namespace", Kind::Str),
    (4, "selfLink", Kind::Str),
    (5, "uid", Kind::Str),
    (6, "resourceVersion", Kind::Str),
    (7, "generation", Kind::Int),
    (8, "creationTimestamp", Kind::Time),
    (9, "deletionTimestamp", Kind::Time),
    (10, "deletionGracePeriodSeconds", Kind::Int),
    (11, "labels", Kind::MapStr),
    (12, "annotations", Kind::MapStr),
    (13, "ownerReferences", Kind::RepMsg(OWNER_REF)),
    (14, "finalizers", Kind::RepStr),
];
const NAMESPACE: &[FieldDef] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "spec", Kind::Msg(&[(1, "finalizers", Kind::RepStr)])),
    (3, "status", Kind::Msg(&[(1, "phase", Kind::Str)])),
];
const CONFIG_MAP: &[FieldDef] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "data", Kind::MapStr),
    (3, "binaryData", Kind::MapBytes),
    (4, "immutable", Kind::Bool),
];
const SECRET: &[FieldDef] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "data", Kind::MapBytes),
    (3, "type", Kind::Str),
    (4, "stringData", Kind::MapStr),
    (5, "immutable", Kind::Bool),
];
const OBJECT_REF: &[FieldDef] = &[
    (1, "kind", Kind::Str),
    (2, "namespace", Kind::Str),
    (3, "name", Kind::Str),
    (4, "uid", Kind::Str),
    (5, "apiVersion", Kind::Str),
    (6, "resourceVersion", Kind::Str),
    (7, "fieldPath", Kind::Str),
];
const SERVICE_ACCOUNT: &[FieldDef] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "secrets", Kind::RepMsg(OBJECT_REF)),
    (3, "imagePullSecrets", Kind::RepMsg(&[(1, "name", Kind::Str)])),
    (4, "automountServiceAccountToken", Kind::Bool),
];
const RESOURCE_ATTRIBUTES: &[FieldDef] = &[
    (1, "namespace", Kind::Str),
    (2, "verb", Kind::Str),
    (3, "group", Kind::Str),
    (4, "version", Kind::Str),
    (5, "resource", Kind::Str),
    (6, "subresource", Kind::Str),
    (7, "name", Kind::Str),
];
const SSAR: &[FieldDef] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (
        2,
        "spec",
        Kind::Msg(&[
            (1, "resourceAttributes", Kind::Msg(RESOURCE_ATTRIBUTES)),
            (2, "nonResourceAttributes", Kind::Msg(&[(1, "path", Kind::Str), (2, "verb", Kind::Str)])),
        ]),
    ),
    (3, "status", Kind::Skip),
];
const SSRR: &[FieldDef] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "spec", Kind::Msg(&[(1, "namespace", Kind::Str)])),
    (3, "status", Kind::Skip),
];

fn layout(api_version: &str, kind: &str) -> Option<&'static [FieldDef]> {
    match (api_version, kind) {
        ("v1", "Namespace") => Some(NAMESPACE),
        ("v1", "ConfigMap") => Some(CONFIG_MAP),
        ("v1", "Secret") => Some(SECRET),
        ("v1", "ServiceAccount") => Some(SERVICE_ACCOUNT),
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview") => Some(SSAR),
        ("authorization.k8s.io/v1", "SelfSubjectRulesReview") => Some(SSRR),
        _ => None,
    }
}

/// One raw field from the wire.
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("varint too long".into())
}

fn fields(buf: &[u8]) -> Result<Vec<(u32, Wire<'_>)>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let num = u32::try_from(key >> 3).map_err(|_| "field number too large")?;
        let wire = match key & 7 {
            0 => Wire::Varint(varint(buf, &mut pos)?),
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).map_err(|_| "length too large")?;
                let end = pos.checked_add(len).filter(|e| *e <= buf.len()).ok_or("truncated field")?;
                let b = &buf[pos..end];
                pos = end;
                Wire::Bytes(b)
            }
            1 => {
                pos += 8;
                Wire::Fixed
            }
            5 => {
                pos += 4;
                Wire::Fixed
            }
            w => return Err(format!("unsupported wire type {w}")),
        };
        if pos > buf.len() {
            return Err("truncated field".into());
        }
        out.push((num, wire));
    }
    Ok(out)
}

fn text(b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| "string field is not UTF-8".to_string())
}

fn map_entry(b: &[u8]) -> Result<(String, Vec<u8>), String> {
    let mut k = String::new();
    let mut v = Vec::new();
    for (num, w) in fields(b)? {
        match (num, w) {
            (1, Wire::Bytes(x)) => k = text(x)?,
            (2, Wire::Bytes(x)) => v = x.to_vec(),
            _ => return Err("malformed map entry".into()),
        }
    }
    Ok((k, v))
}

fn message(buf: &[u8], defs: &'static [FieldDef], path: &str) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (num, w) in fields(buf)? {
        let Some((_, name, kind)) = defs.iter().find(|(n, _, _)| *n == num) else {
            return Err(format!("unsupported field {num} in {path}"));
        };
        let here = format!("{path}.{name}");
        let value = match (*kind, w) {
            (Kind::Skip, _) => continue,
            (Kind::Str, Wire::Bytes(b)) => json!(text(b)?),
            (Kind::Int, Wire::Varint(v)) => json!(v as i64),
            (Kind::Bool, Wire::Varint(v)) => json!(v != 0),
            (Kind::Msg(d), Wire::Bytes(b)) => Value::Object(message(b, d, &here)?),
            (Kind::Time, Wire::Bytes(b)) => time(b)?,
            (Kind::RepStr, Wire::Bytes(b)) => {
                push(&mut out, name, json!(text(b)?));
                continue;
            }
            (Kind::RepMsg(d), Wire::Bytes(b)) => {
                push(&mut out, name, Value::Object(message(b, d, &here)?));
                continue;
            }
            (Kind::MapStr | Kind::MapBytes, Wire::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                let v = match kind {
                    Kind::MapBytes => json!(base64::engine::general_purpose::STANDARD.encode(v)),
                    _ => json!(text(&v)?),
                };
                let m = out.entry(name.to_string()).or_insert_with(|| json!({}));
                if let Some(m) = m.as_object_mut() {
                    m.insert(k, v);
                }
                continue;
            }
            (_, Wire::Fixed) | (_, _) => return Err(format!("unexpected encoding for {here}")),
        };
        out.insert(name.to_string(), value);
    }
    Ok(out)
}

fn time(b: &[u8]) -> Result<Value, String> {
    let mut secs: i64 = 0;
    for (num, w) in fields(b)? {
        if let (1, Wire::Varint(v)) = (num, w) {
            secs = v as i64;
        }
    }
    // Go's zero time (year 1) is what an unset timestamp encodes.
    Ok(if secs <= 0 || secs == -62_135_596_800 { Value::Null } else { json!(crate::util::rfc3339(secs)) })
}

fn push(out: &mut Map<String, Value>, name: &str, v: Value) {
    let list = out.entry(name.to_string()).or_insert_with(|| json!([]));
    if let Some(a) = list.as_array_mut() {
        a.push(v);
    }
}

/// Decodes a `application/vnd.kubernetes.protobuf` body into the JSON form.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let rest = body.strip_prefix(b"k8s\0").ok_or("missing k8s protobuf magic")?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (num, w) in fields(rest)? {
        match (num, w) {
            (1, Wire::Bytes(tm)) => {
                for (n, x) in fields(tm)? {
                    match (n, x) {
                        (1, Wire::Bytes(s)) => api_version = text(s)?,
                        (2, Wire::Bytes(s)) => kind = text(s)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(b)) => raw = b,
            _ => {}
        }
    }
    let defs =
        layout(&api_version, &kind).ok_or_else(|| format!("protobuf for {api_version} {kind} is not supported"))?;
    let mut obj = Map::new();
    obj.insert("kind".into(), json!(kind));
    obj.insert("apiVersion".into(), json!(api_version));
    obj.extend(message(raw, defs, "")?);
    Ok(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(num: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![((num << 3) | 2) as u8, payload.len() as u8];
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn namespace_envelope() {
        let meta = field(1, &field(1, b"t"));
        let mut tm = field(1, b"v1");
        tm.extend(field(2, b"Namespace"));
        let mut body = b"k8s\0".to_vec();
        body.extend(field(1, &tm));
        body.extend(field(2, &meta));
        let v = decode(&body).unwrap();
        assert_eq!(v, json!({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "t"}}));
    }

    #[test]
    fn secret_maps_and_unknown_fields() {
        let mut entry = field(1, b"k");
        entry.extend(field(2, b"v"));
        let mut secret = field(2, &entry);
        secret.extend(field(3, b"Opaque"));
        let m = message(&secret, SECRET, "").unwrap();
        assert_eq!(Value::Object(m), json!({"data": {"k": "dg=="}, "type": "Opaque"}));
        assert!(message(&field(9, b"x"), SECRET, "").is_err());
        assert!(decode(b"nope").is_err());
    }
}
