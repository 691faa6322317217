//! HTTP plumbing: query strings, the reply type handlers return, and the response body
//! (whole JSON documents or a chunked watch stream).

use crate::status::ApiError;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use serde_json::Value;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Decodes `a=1&b=x%2Fy` into pairs ('+' is a space, bad escapes are kept literally).
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parsed query parameters.
#[derive(Debug, Clone, Default)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    /// True for "true"/"1" (how the server reads boolean params such as watch and force).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true") | Some("1"))
    }
    /// `dryRun=All` (repeatable); any other value is refused by the caller.
    pub fn dry_run(&self) -> Result<bool, String> {
        let values: Vec<&str> = self.0.iter().filter(|(k, _)| k == "dryRun").map(|(_, v)| v.as_str()).collect();
        for v in &values {
            if *v != "All" {
                return Err(format!("dryRun: Unsupported value: {v:?}: supported values: \"All\""));
            }
        }
        Ok(!values.is_empty())
    }
}

/// What a handler answers.
#[derive(Debug)]
pub enum Reply {
    Json {
        status: u16,
        body: Value,
        headers: Vec<(String, String)>,
    },
    Raw {
        status: u16,
        content_type: String,
        body: Bytes,
    },
    /// Chunks of a watch stream.
    Stream(mpsc::Receiver<Bytes>),
    /// Chunks of a followed container log (`text/plain`).
    TextStream(mpsc::Receiver<Bytes>),
    /// Drop the connection with a TCP reset.
    Reset,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::Json { status, body, headers: Vec::new() }
    }
    pub fn ok(body: Value) -> Reply {
        Reply::json(200, body)
    }
    pub fn status(&self) -> u16 {
        match self {
            Reply::Json { status, .. } | Reply::Raw { status, .. } => *status,
            Reply::Stream(_) | Reply::TextStream(_) => 200,
            Reply::Reset => 0,
        }
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Reply {
        Reply::Json { status: e.code, body: *e.body, headers: e.headers }
    }
}

/// Response body: whole, or streamed from a channel (watch).
pub enum ReplyBody {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Bytes>),
}

impl Body for ReplyBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            ReplyBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            ReplyBody::Stream(rx) => rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, ReplyBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ReplyBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            ReplyBody::Full(None) => SizeHint::with_exact(0),
            ReplyBody::Stream(_) => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = parse_query("labelSelector=app.kubernetes.io%2Fname%3Dweb&x=a+b&flag&bad=%zz");
        assert_eq!(q[0], ("labelSelector".into(), "app.kubernetes.io/name=web".into()));
        assert_eq!(q[1].1, "a b");
        assert_eq!(q[2], ("flag".into(), String::new()));
        assert_eq!(q[3].1, "%zz");
        assert_eq!(decode("%4"), "%4");
    }

    #[test]
    fn dry_run_values() {
        assert_eq!(Query(parse_query("dryRun=All")).dry_run(), Ok(true));
        assert_eq!(Query(parse_query("")).dry_run(), Ok(false));
        assert!(Query(parse_query("dryRun=Some")).dry_run().is_err());
    }
}
