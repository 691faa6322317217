//! Bad inputs, data-driven: every file under `tests/bad_inputs/<category>/` is one case (format in
//! `tests/bad_inputs/README.md`): the files to write, the command, the exit code, what stdout and
//! stderr must say, and for cluster cases how the test API server misbehaves.
//!
//! Every case also checks what no case may do: panic or print a backtrace, print to stdout when
//! failing, or (cluster cases) write to the server other than dry runs. A case whose `bug` field
//! is set documents a known defect (actual vs expected); its test is `#[ignore]`d until fixed.
//!
//! The list below names every case once, so each is its own test; `every_case_file_is_listed`
//! keeps the list and the folder in step.

mod common;

use common::Outcome;
use dimtensor_test_apiserver::{Config, Fault, ForbidRule, TestServer};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The token every cluster case's server accepts (user `admin`).
const GOOD_TOKEN: &str = "admin-token";

macro_rules! cases {
    ($( $(#[ignore = $why:literal])? $name:ident => $path:literal, )*) => {
        $(
            #[test]
            $(#[ignore = $why])?
            fn $name() {
                run_case($path);
            }
        )*
        /// (case file without `.yaml`, marked as a known bug)
        const LISTED: &[(&str, bool)] = &[ $( ($path, cases!(@bug $($why)?)) ),* ];
    };
    (@bug $why:literal) => { true };
    (@bug) => { false };
}

include!("bad_inputs/cases_list.rs");

// ---------------------------------------------------------------------------------------------
// The case format

/// One case file, read with the product's own YAML reader.
struct Case {
    name: String,
    files: Vec<(String, FileSpec)>,
    args: Vec<String>,
    stdin: Option<String>,
    exit: i32,
    stderr: Vec<String>,
    stderr_not: Vec<String>,
    stdout: Vec<String>,
    stdout_not: Vec<String>,
    cluster: Option<Value>,
}

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

fn load(name: &str) -> Case {
    let path = cases_dir().join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc = dimtensor::yaml::parse_value(&text, &path.display().to_string())
        .unwrap_or_else(|e| panic!("case file does not parse: {e}"));
    let known =
        ["about", "bug", "files", "args", "stdin", "exit", "stderr", "stderr_not", "stdout", "stdout_not", "cluster"];
    for key in doc.as_object().expect("a case is a mapping").keys() {
        assert!(known.contains(&key.as_str()), "{name}: unknown case field `{key}`");
    }
    assert!(doc["about"].is_string(), "{name}: every case says what it is `about`");
    let strings = |field: &str| -> Vec<String> {
        match &doc[field] {
            Value::Null => Vec::new(),
            Value::Array(a) => a.iter().map(|s| scalar(s, name, field)).collect(),
            other => vec![scalar(other, name, field)],
        }
    };
    let files = match &doc["files"] {
        Value::Null => Vec::new(),
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), file_spec(v, name))).collect(),
        _ => panic!("{name}: `files` maps paths to contents"),
    };
    let case = Case {
        name: name.to_string(),
        files,
        args: strings("args"),
        stdin: (!doc["stdin"].is_null()).then(|| file_text(&doc["stdin"], name)),
        exit: doc["exit"].as_i64().unwrap_or_else(|| panic!("{name}: `exit` is required")) as i32,
        stderr: strings("stderr"),
        stderr_not: strings("stderr_not"),
        stdout: strings("stdout"),
        stdout_not: strings("stdout_not"),
        cluster: (!doc["cluster"].is_null()).then(|| doc["cluster"].clone()),
    };
    assert!(case.exit == 0 || !case.stderr.is_empty(), "{name}: a failing case says what the message must name");
    case
}

fn scalar(v: &Value, case: &str, field: &str) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(_) | Value::Bool(_) => v.to_string(),
        _ => panic!("{case}: `{field}` holds strings"),
    }
}

/// A file to write: its contents, or a symbolic link (`{symlink: target}`).
enum FileSpec {
    Text(String),
    Symlink(String),
}

fn file_spec(v: &Value, case: &str) -> FileSpec {
    match v["symlink"].as_str() {
        Some(target) => FileSpec::Symlink(target.to_string()),
        None => FileSpec::Text(file_text(v, case)),
    }
}

/// A file's contents (or stdin): a string, or a list of parts (strings, `{repeat, times}`,
/// `{block_nesting: n}`) for inputs too large to write out.
fn file_text(v: &Value, case: &str) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().map(|p| part_text(p, case)).collect(),
        _ => panic!("{case}: a file is a string or a list of parts"),
    }
}

fn part_text(p: &Value, case: &str) -> String {
    if let Some(s) = p.as_str() {
        return s.to_string();
    }
    if let (Some(s), Some(n)) = (p["repeat"].as_str(), p["times"].as_u64()) {
        return s.repeat(n as usize);
    }
    if let Some(n) = p["block_nesting"].as_u64() {
        return (0..n as usize).map(|i| format!("{}k{i}:\n", " ".repeat(i + 1))).collect();
    }
    panic!("{case}: unknown file part {p}")
}

// ---------------------------------------------------------------------------------------------
// Running a case

/// What the placeholders in args and expectations stand for.
struct Places {
    pairs: Vec<(&'static str, String)>,
}

impl Places {
    fn fill(&self, s: &str) -> String {
        self.pairs.iter().fold(s.to_string(), |acc, (k, v)| acc.replace(k, v))
    }
}

fn run_case(name: &str) {
    let case = load(name);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().join("work");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("mkdir home");
    let mut places = Places { pairs: vec![("{dir}", root.display().to_string())] };
    let server = case.cluster.as_ref().map(|c| Cluster::start(c, &case.name, dir.path(), &mut places));
    for (rel, spec) in &case.files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        match spec {
            FileSpec::Text(text) => std::fs::write(&path, places.fill(text)).expect("write a case file"),
            FileSpec::Symlink(target) => symlink(target, &path),
        }
    }
    std::fs::create_dir_all(&root).expect("mkdir work");
    let args: Vec<String> = case.args.iter().map(|a| places.fill(a)).collect();
    let out = run(&args, case.stdin.as_deref(), &root, &home);
    let shown = format!(
        "case {}: `kubectl-dimtensor {}`\nexit {:?}\n--- stdout:\n{}--- stderr:\n{}",
        case.name,
        args.join(" "),
        out.code,
        out.stdout,
        out.stderr
    );

    assert_eq!(out.code, Some(case.exit), "exit code\n{shown}");
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace", "note: run with"] {
        assert!(!out.stderr.contains(bad) && !out.stdout.contains(bad), "`{bad}` printed\n{shown}");
    }
    if case.exit == 2 {
        // Only a case that says what stdout holds (an install's plan) may print there.
        assert!(out.stdout.is_empty() || !case.stdout.is_empty(), "stdout must be empty on error\n{shown}");
        assert!(out.stderr.starts_with("error: "), "stderr must start with `error: `\n{shown}");
    }
    for want in &case.stderr {
        let want = places.fill(want);
        assert!(out.stderr.contains(&want), "stderr should contain `{want}`\n{shown}");
    }
    for not in &case.stderr_not {
        let not = places.fill(not);
        assert!(!out.stderr.contains(&not), "stderr must not contain `{not}`\n{shown}");
    }
    for want in &case.stdout {
        let want = places.fill(want);
        assert!(out.stdout.contains(&want), "stdout should contain `{want}`\n{shown}");
    }
    for not in &case.stdout_not {
        let not = places.fill(not);
        assert!(!out.stdout.contains(&not), "stdout must not contain `{not}`\n{shown}");
    }
    if let Some(Some(s)) = server.as_ref().map(|c| c.server.as_ref()) {
        no_real_writes(s, &places.fill("{ns}"), &shown);
    }
}

#[cfg(unix)]
fn symlink(target: &str, link: &Path) {
    std::os::unix::fs::symlink(target, link).expect("create a symlink");
}

#[cfg(not(unix))]
fn symlink(_target: &str, _link: &Path) {
    panic!("symlink cases need a unix file system");
}

/// Runs the binary in `cwd` with no kubeconfig of the machine's in reach.
fn run(args: &[String], stdin: Option<&str>, cwd: &Path, home: &Path) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"))
        .args(args)
        .current_dir(cwd)
        .env("RUST_BACKTRACE", "1")
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("piped");
        let text = text.to_string();
        std::thread::spawn(move || {
            let _ = pipe.write_all(text.as_bytes());
        });
    }
    common::finish(child, &format!("kubectl-dimtensor {}", args.join(" ")))
}

/// Writes the server carried out (2xx) other than dry runs; a write it refused changed nothing.
/// The release lock's Lease may be taken and given back, but must not be left behind.
fn no_real_writes(server: &TestServer, ns: &str, shown: &str) {
    let writes: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| matches!(r.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE") && !r.dry_run)
        .filter(|r| (200..300).contains(&r.status))
        .filter(|r| !r.path.contains("/leases/") && !r.path.ends_with("/leases"))
        .map(|r| format!("{} {}?{} -> {}", r.method, r.path, r.query, r.status))
        .collect();
    assert!(writes.is_empty(), "a failed command wrote to the cluster: {writes:#?}\n{shown}");
    let leases = server.list_objects("coordination.k8s.io/v1", "Lease", Some(ns));
    assert!(leases.is_empty(), "a lock Lease was left behind: {leases:#?}\n{shown}");
}

// ---------------------------------------------------------------------------------------------
// Cluster setups

/// The server (if any) of a cluster case and the kubeconfig pointing at it.
struct Cluster {
    server: Option<TestServer>,
}

impl Cluster {
    /// `cluster:` fields: `namespace: absent`, `forbid`, `faults`, `seed`, `server`
    /// (`test` | `unreachable` | `tls`), `token`, `kubeconfig` (text with placeholders, or
    /// `none` to write none).
    fn start(spec: &Value, case: &str, dir: &Path, places: &mut Places) -> Cluster {
        let ns = format!("bad-{}", std::process::id());
        let mode = spec["server"].as_str().unwrap_or("test");
        let server = (mode != "unreachable").then(|| {
            let mut config = Config::new().token(GOOD_TOKEN, "admin");
            if spec["namespace"].as_str() != Some("absent") {
                config = config.namespace(&ns);
            }
            for rule in spec["forbid"].as_array().into_iter().flatten() {
                config = config.forbid(forbid_rule(rule));
            }
            for f in spec["faults"].as_array().into_iter().flatten() {
                config = config.fault(fault(f, case));
            }
            for obj in spec["seed"].as_array().into_iter().flatten() {
                let text = serde_json::to_string(obj).expect("JSON").replace("{ns}", &ns);
                config = config.seed(serde_json::from_str(&text).expect("JSON"));
            }
            TestServer::start_blocking(config).expect("the test API server starts")
        });
        let url = match (mode, &server) {
            ("tls", Some(s)) => s.url().replacen("http://", "https://", 1),
            (_, Some(s)) => s.url().to_string(),
            _ => format!("http://127.0.0.1:{}", closed_port()),
        };
        let port = url.rsplit(':').next().unwrap_or_default().to_string();
        let token = spec["token"].as_str().unwrap_or(GOOD_TOKEN).to_string();
        places.pairs.extend([("{ns}", ns.clone()), ("{server}", url), ("{port}", port), ("{token}", token)]);
        let kubeconfig = dir.join("kubeconfig");
        places.pairs.push(("{kubeconfig}", kubeconfig.display().to_string()));
        let text = match spec["kubeconfig"].as_str() {
            Some("none") => None,
            Some(custom) => Some(places.fill(custom)),
            None => Some(places.fill(KUBECONFIG)),
        };
        if let Some(text) = text {
            std::fs::write(&kubeconfig, text).expect("write the kubeconfig");
        }
        Cluster { server }
    }
}

const KUBECONFIG: &str = "apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: {server}
contexts:
- name: test
  context:
    cluster: test
    user: test-user
    namespace: {ns}
current-context: test
users:
- name: test-user
  user:
    token: {token}
";

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn forbid_rule(v: &Value) -> ForbidRule {
    let mut r = match v["user"].as_str() {
        Some(u) => ForbidRule::user(u),
        None => ForbidRule::any_user(),
    };
    if let Some(x) = v["verb"].as_str() {
        r = r.verb(x);
    }
    if let Some(x) = v["resource"].as_str() {
        r = r.resource(x);
    }
    if let Some(x) = v["group"].as_str() {
        r = r.group(x);
    }
    r
}

/// `{method, path, status | reset: true, nth, times | always: true}`.
fn fault(v: &Value, case: &str) -> Fault {
    let mut f = Fault::new(v["method"].as_str().unwrap_or("*"), v["path"].as_str().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{case}: fault path: {e}"));
    if let Some(n) = v["nth"].as_u64() {
        f = f.nth(n as u32);
    }
    f = match (v["always"].as_bool(), v["times"].as_u64()) {
        (Some(true), _) => f.always(),
        (_, Some(n)) => f.times(n as u32),
        _ => f,
    };
    if v["reset"].as_bool() == Some(true) {
        f = f.reset();
    } else if let Some(code) = v["status"].as_u64() {
        f = f.status(code as u16);
    }
    f
}

// ---------------------------------------------------------------------------------------------
// The list and the folder agree

#[test]
fn every_case_file_is_listed() {
    let mut on_disk = Vec::new();
    for cat in std::fs::read_dir(cases_dir()).expect("tests/bad_inputs exists") {
        let cat = cat.expect("entry").path();
        if !cat.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&cat).expect("a category folder") {
            let f = f.expect("entry").path();
            if f.extension().and_then(|e| e.to_str()) == Some("yaml") {
                let rel = f.strip_prefix(cases_dir()).expect("under the folder").with_extension("");
                on_disk.push(rel.display().to_string());
            }
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = LISTED.iter().map(|(p, _)| p.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "tests/bad_inputs/cases_list.rs must name every case file exactly once");
    for (path, ignored) in LISTED {
        load(path); // checks the format of ignored cases too
        let text = std::fs::read_to_string(cases_dir().join(format!("{path}.yaml"))).expect("read");
        let bug = text.lines().any(|l| l.starts_with("bug:"));
        assert_eq!(bug, *ignored, "{path}: a case with `bug:` is exactly one listed with #[ignore]");
    }
    assert!(LISTED.len() >= 60, "issue #9 asks for at least 60 bad inputs, have {}", LISTED.len());
}
