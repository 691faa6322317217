//! Helpers several integration tests share (each includes this file with `mod common;`).

#![allow(dead_code)] // each test file uses a different part

use std::io::Read;
use std::process::{Child, Output};
use std::sync::mpsc;
use std::time::Duration;

/// A run still going after this long is killed: only a hang (exponential work on hostile input)
/// gets here. A safety net, not a speed assertion.
pub const KILL_AFTER: Duration = Duration::from_secs(20);

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Reads a child spawned with piped stdout and stderr to its end, killing it if it outlives
/// [`KILL_AFTER`]; `what` names it in that panic.
pub fn finish(mut child: Child, what: &str) -> Outcome {
    let (mut out, mut err) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let err_reader = std::thread::spawn(move || {
            let mut e = Vec::new();
            let _ = err.read_to_end(&mut e);
            e
        });
        let mut o = Vec::new();
        let _ = out.read_to_end(&mut o);
        let e = err_reader.join().unwrap_or_default();
        let _ = tx.send((o, e));
    });
    let Ok((stdout, stderr)) = rx.recv_timeout(KILL_AFTER) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("`{what}` was still running after {KILL_AFTER:?}; killed");
    };
    let status = child.wait().expect("the binary exits");
    Outcome { code: status.code(), stdout: text(&stdout), stderr: text(&stderr) }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts the command succeeded (showing its output if not) and returns its stdout.
pub fn assert_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The JSON pointers where two documents differ, each as `pointer: a -> b` (map key order aside;
/// lists of different lengths differ as a whole).
pub fn differences(a: &serde_json::Value, b: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    fn walk(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
        let show = |v: Option<&Value>| v.map(Value::to_string).unwrap_or_else(|| "(absent)".into());
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                    let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                    match (x.get(k), y.get(k)) {
                        (Some(u), Some(v)) => walk(u, v, p, out),
                        (u, v) => out.push(format!("{p}: {} -> {}", show(u), show(v))),
                    }
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (u, v)) in x.iter().zip(y).enumerate() {
                    walk(u, v, format!("{at}/{i}"), out);
                }
            }
            _ if a != b => out.push(format!("{at}: {a} -> {b}")),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(a, b, String::new(), &mut out);
    out
}

/// Runs a `diff` with `run`, on the skip path and again with `--server-dry-run-all`, and asserts
/// the two print the same and exit the same (issue 18: the skip path's answer is the dry run's).
/// Returns the first run's output.
pub fn diff_both_ways(run: impl Fn(&[&str]) -> Output, args: &[&str]) -> Output {
    let skip = run(args);
    let full = run(&[args, &["--server-dry-run-all"]].concat());
    // A dry-run create allocates a new cluster IP each time: that is the server's, not the path's.
    let ips = regex::Regex::new(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b").expect("valid regex");
    let same = |o: &Output| ips.replace_all(&text(&o.stdout), "<ip>").into_owned();
    assert_eq!(
        (skip.status.code(), same(&skip)),
        (full.status.code(), same(&full)),
        "`{}` printed differently with --server-dry-run-all\nstderr (skip path):\n{}\nstderr (dry runs):\n{}",
        args.join(" "),
        text(&skip.stderr),
        text(&full.stderr)
    );
    skip
}
