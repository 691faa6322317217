//! How many API requests `diff`, `install` and `uninstall` make for N objects, read from the test
//! API server's request log (issue 8's bounds). The corpus is the render benchmark's
//! (`benches/corpus/`) at N = 100 apps: 401 objects of 4 kinds.
//!
//! - `diff`: at most one dry-run per object + one LIST per kind + a small constant (discovery).
//! - `install`: at most 2 per object (dry-run plan, then apply) + kinds + a constant (discovery,
//!   lock, record).
//! - `diff NAME` of an unchanged release (issue 18): one LIST per kind plus the release record
//!   reads and discovery, no dry run; with k objects changed, k dry runs and at most k re-reads.
//! - `uninstall`: one DELETE per object + a LIST per kind its records list + a constant.
//! - Discovery asks only for the group-versions the render uses.
//!
//! Counts need the server's log, so these tests always run against the test server (never a real
//! cluster). The counts are printed (`-- --nocapture`) for benches/RESULTS.md.

#[path = "../benches/corpus/mod.rs"]
mod corpus;

use dimtensor_test_apiserver::{Config, ControllerConfig, RequestRecord, TestServer};
use std::collections::BTreeMap;
use std::process::{Command, Output};

const APPS: usize = 100;
const KINDS: usize = 4;
/// Discovery (version, /api, /apis, and a group-version or two), the namespace check, the lock's
/// get/create/delete and the record's get/create/update: generous but fixed, whatever N is.
const CONSTANT: usize = 20;

struct Bench {
    dir: tempfile::TempDir,
    server: TestServer,
    namespace: String,
}

impl Bench {
    fn new() -> Bench {
        let namespace = "bench".to_string();
        let server =
            TestServer::start_blocking(Config::new().controller(ControllerConfig::ready()).namespace(&namespace))
                .expect("test API server starts");
        let dir = tempfile::tempdir().expect("temp dir");
        corpus::write(APPS, dir.path()).expect("corpus written");
        server.write_kubeconfig(&dir.path().join("kubeconfig"), &namespace, "admin-token").expect("kubeconfig written");
        Bench { dir, server, namespace }
    }

    /// Changes the first `k` apps' ConfigMaps (one object each).
    fn change(&self, k: usize) {
        for i in 0..k {
            let path = self.dir.path().join(format!("base/app{i:04}-configmap.yaml"));
            let text = std::fs::read_to_string(&path).expect("corpus file");
            std::fs::write(&path, text.replace("DIMTENSOR_UNITS: SI", "DIMTENSOR_UNITS: CGS")).expect("written");
        }
    }

    /// Runs the binary on the corpus's overlay (`uninstall` takes none) and returns its requests.
    fn run(&self, args: &[&str]) -> (Output, Vec<RequestRecord>) {
        self.server.clear_log();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"));
        cmd.args(args);
        if args[0] != "uninstall" {
            cmd.arg("--overlay").arg(self.dir.path().join("overlay"));
        }
        let out = cmd
            .arg("--kubeconfig")
            .arg(self.dir.path().join("kubeconfig"))
            .args(["-n", &self.namespace])
            .env_remove("KUBECONFIG")
            .env("NO_COLOR", "")
            .output()
            .expect("binary runs");
        (out, self.server.requests())
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Requests grouped by what they are, for the printed summary and the failure message.
fn summary(requests: &[RequestRecord]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in requests {
        let what = match (r.method.as_str(), r.dry_run) {
            ("PATCH", true) => "PATCH dry-run".to_string(),
            ("GET", _) if is_discovery(&r.path) => "GET discovery".to_string(),
            ("GET", _) if is_collection(&r.path) => "GET (list)".to_string(),
            (m, _) => m.to_string(),
        };
        *out.entry(what).or_default() += 1;
    }
    out
}

/// `/api/v1/namespaces/NS/PLURAL` or `/apis/G/V/PLURAL`: a LIST rather than a GET of one object.
fn is_collection(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let rest = match segs.first() {
        Some(&"api") => segs.get(2..),
        Some(&"apis") => segs.get(3..),
        _ => None,
    };
    match rest.unwrap_or_default() {
        ["namespaces", _, _plural] | [_plural] => true,
        _ => false,
    }
}

fn is_discovery(path: &str) -> bool {
    path == "/version"
        || path == "/api"
        || path == "/apis"
        || path.starts_with("/apis/") && path.matches('/').count() <= 3
        || path == "/api/v1"
}

fn count(requests: &[RequestRecord], pred: impl Fn(&RequestRecord) -> bool) -> usize {
    requests.iter().filter(|r| pred(r)).count()
}

fn assert_at_most(what: &str, requests: &[RequestRecord], bound: usize) {
    let summary = summary(requests);
    println!("{what}: {} requests for {} objects {summary:?}", requests.len(), corpus::resource_count(APPS));
    assert!(requests.len() <= bound, "{what} made {} requests, more than {bound}: {summary:?}", requests.len());
}

#[test]
fn diff_install_and_uninstall_stay_within_their_request_budgets() {
    let bench = Bench::new();
    let n = corpus::resource_count(APPS);

    let (out, log) = bench.run(&["diff"]);
    assert_eq!(out.status.code(), Some(1), "diff of a fresh namespace finds changes: {}", text(&out.stderr));
    assert_at_most("diff (nothing installed)", &log, n + KINDS + CONSTANT);
    assert!(log.iter().all(|r| r.method == "GET" || r.dry_run), "diff writes nothing");

    let (out, log) = bench.run(&["install", "bench", "--yes"]);
    assert!(out.status.success(), "install: {}", text(&out.stderr));
    assert_at_most("install", &log, 2 * n + KINDS + CONSTANT);
    let discovery: Vec<&str> =
        log.iter().filter(|r| r.method == "GET" && is_discovery(&r.path)).map(|r| r.path.as_str()).collect();
    for path in &discovery {
        assert!(
            // apps/v1 and v1 for the corpus, coordination.k8s.io/v1 for the release lock (a Lease).
            ["/version", "/api", "/apis", "/api/v1", "/apis/apps/v1", "/apis/coordination.k8s.io/v1"].contains(path),
            "discovery only for the group-versions used, not {path}"
        );
    }

    let (out, log) = bench.run(&["diff", "bench", "--server-dry-run-all"]);
    assert_eq!(out.status.code(), Some(0), "nothing changed since install: {}", text(&out.stdout));
    assert_at_most("diff NAME --server-dry-run-all (all installed)", &log, n + KINDS + CONSTANT);

    let (out, log) = bench.run(&["diff", "bench"]);
    assert_eq!(out.status.code(), Some(0), "nothing changed since install: {}", text(&out.stdout));
    assert_at_most("diff NAME (unchanged)", &log, KINDS + CONSTANT);
    assert_eq!(count(&log, |r| r.dry_run), 0, "the records know every answer");
    assert_eq!(count(&log, |r| r.method == "GET" && is_collection(&r.path)), KINDS + 1, "a LIST per kind + records");

    for k in [1, 40] {
        bench.change(k);
        let (out, log) = bench.run(&["diff", "bench"]);
        assert_eq!(out.status.code(), Some(1), "{k} changed: {}", text(&out.stderr));
        assert_at_most(&format!("diff NAME ({k} changed)"), &log, 2 * k + KINDS + CONSTANT);
        assert_eq!(count(&log, |r| r.dry_run), k, "a dry run per changed object");
        let rereads = count(&log, |r| r.method == "GET" && !is_collection(&r.path) && !is_discovery(&r.path));
        assert!(rereads <= k, "at most a re-read per changed object: {rereads}");
    }

    let (out, log) = bench.run(&["uninstall", "bench", "--yes"]);
    assert!(out.status.success(), "uninstall: {}", text(&out.stderr));
    // Uninstall deletes what the release's records list (never what merely carries its label):
    // one LIST per recorded kind (those labelled as the release's), one DELETE per object.
    assert_at_most("uninstall", &log, n + KINDS + CONSTANT);
    assert!(bench.server.list_objects("apps/v1", "Deployment", Some(&bench.namespace)).is_empty());
}
