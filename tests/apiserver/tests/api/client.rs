//! A minimal blocking HTTP/1.1 client, so the tests see exactly what goes over the wire.

use serde_json::Value;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    /// Watch streams: one JSON document per line.
    pub fn lines(&self) -> Vec<Value> {
        String::from_utf8_lossy(&self.body)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Who is asking and how.
#[derive(Clone)]
pub struct Client {
    pub addr: String,
    pub token: Option<String>,
    pub user_agent: String,
}

impl Client {
    pub fn new(url: &str) -> Client {
        Client {
            addr: url.trim_start_matches("http://").to_string(),
            token: None,
            user_agent: "Python-urllib/3.11".into(),
        }
    }
    pub fn with_token(&self, token: &str) -> Client {
        Client { token: Some(token.to_string()), ..self.clone() }
    }

    pub fn send(
        &self,
        method: &str,
        target: &str,
        content_type: Option<&str>,
        accept: Option<&str>,
        body: Option<&[u8]>,
    ) -> io::Result<Resp> {
        let mut s = TcpStream::connect(&self.addr)?;
        s.set_read_timeout(Some(Duration::from_secs(20)))?;
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: {}\r\n",
            self.addr, self.user_agent
        );
        if let Some(t) = &self.token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        head.push_str(&format!("Accept: {}\r\n", accept.unwrap_or("application/json")));
        if let Some(ct) = content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        let body = body.unwrap_or(b"");
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        s.write_all(head.as_bytes())?;
        s.write_all(body)?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        parse(&raw)
    }

    pub fn get(&self, target: &str) -> Resp {
        self.send("GET", target, None, None, None).expect("GET")
    }
    pub fn get_accept(&self, target: &str, accept: &str) -> Resp {
        self.send("GET", target, None, Some(accept), None).expect("GET")
    }
    pub fn post(&self, target: &str, body: &Value) -> Resp {
        self.send("POST", target, Some("application/json"), None, Some(body.to_string().as_bytes())).expect("POST")
    }
    pub fn put(&self, target: &str, body: &Value) -> Resp {
        self.send("PUT", target, Some("application/json"), None, Some(body.to_string().as_bytes())).expect("PUT")
    }
    pub fn patch(&self, target: &str, content_type: &str, body: &Value) -> Resp {
        self.send("PATCH", target, Some(content_type), None, Some(body.to_string().as_bytes())).expect("PATCH")
    }
    pub fn apply(&self, target: &str, body: &Value) -> Resp {
        self.patch(target, "application/apply-patch+yaml", body)
    }
    pub fn delete(&self, target: &str, body: Option<&Value>) -> Resp {
        let b = body.map(|b| b.to_string());
        self.send("DELETE", target, Some("application/json"), None, b.as_deref().map(str::as_bytes)).expect("DELETE")
    }
}

fn parse(raw: &[u8]) -> io::Result<Resp> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| io::Error::other("bad status line"))?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let rest = &raw[split + 4..];
    let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked { dechunk(rest) } else { rest.to_vec() };
    Ok(Resp { status, headers, body })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 || b.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[(eol + 4 + size).min(b.len())..];
    }
    out
}
