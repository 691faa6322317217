//! The environment release tests run in: the project's test API server, or a real cluster with
//! `DIMTENSOR_E2E_KUBECONFIG` (a throwaway namespace per test), as in `tests/cluster.rs`.

use dimtensor_test_apiserver::{Config, ControllerConfig, Fault, TestServer};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

pub struct Env {
    dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    pub namespace: String,
    pub server: Option<TestServer>,
}

impl Env {
    pub fn new(name: &str) -> Env {
        Env::with(name, Config::new().controller(ControllerConfig::ready()))
    }

    pub fn with(name: &str, config: Config) -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let namespace = format!("dtr-{name}-{}", std::process::id());
        if let Some(real) = std::env::var_os("DIMTENSOR_E2E_KUBECONFIG") {
            let env = Env { kubeconfig: PathBuf::from(real), namespace, server: None, dir };
            let out = env.kubectl(&["create", "namespace", &env.namespace]);
            assert!(out.status.success(), "cannot create the test namespace: {}", text(&out.stderr));
            return env;
        }
        // kubectl sends no token over plain http: it is the anonymous user, made admin.
        let config = config.namespace(&namespace).anonymous_user("admin");
        let server = TestServer::start_blocking(config).expect("test API server starts");
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig, &namespace, "admin-token").expect("kubeconfig written");
        Env { kubeconfig, namespace, server: Some(server), dir }
    }

    /// The test server, or None (with a note) on a real cluster, for tests that need faults.
    pub fn server_only(&self, why: &str) -> Option<&TestServer> {
        if self.server.is_none() {
            eprintln!("skipped on a real cluster: {why}");
        }
        self.server.as_ref()
    }

    /// The binary with `args`; commands that talk to a cluster get the kubeconfig and the test
    /// namespace, `render` and `lint` the namespace, the other offline ones nothing (they refuse
    /// connection flags).
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"));
        c.args(args).env_remove("KUBECONFIG").env("NO_COLOR", "");
        match args.first().copied() {
            Some("init" | "show" | "overlays" | "version" | "completion") => {}
            Some("render" | "template" | "lint") => {
                c.args(["-n", &self.namespace]);
            }
            _ => {
                c.args(["-n", &self.namespace]).arg("--kubeconfig").arg(&self.kubeconfig);
            }
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("binary runs")
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("binary starts")
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_with(args, None)
    }

    pub fn kubectl_with(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let kubectl = std::env::var("DIMTENSOR_KUBECTL").unwrap_or_else(|_| "kubectl".into());
        let mut child = Command::new(kubectl)
            .args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("kcache"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl runs (set DIMTENSOR_KUBECTL)");
        if let Some(input) = stdin {
            child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
        }
        drop(child.stdin.take());
        child.wait_with_output().expect("kubectl finishes")
    }

    /// The live object, straight from the test server or through kubectl on a real cluster.
    pub fn get(&self, api_version: &str, kind: &str, name: &str) -> Option<Value> {
        match &self.server {
            Some(s) => s.get_object(api_version, kind, Some(&self.namespace), name),
            None => {
                let args = ["get", kind, name, "-n", &self.namespace, "-o", "json", "--ignore-not-found"];
                let out = self.kubectl(&[&args[..], &["--show-managed-fields"]].concat());
                serde_json::from_slice(&out.stdout).ok()
            }
        }
    }

    /// Every object of a kind in the namespace (with managedFields).
    pub fn list(&self, api_version: &str, kind: &str) -> Vec<Value> {
        match &self.server {
            Some(s) => s.list_objects(api_version, kind, Some(&self.namespace)),
            None => {
                let resource = format!("{kind}.{}", api_version.rsplit_once('/').map_or("", |(g, _)| g));
                let resource = resource.trim_end_matches('.');
                let out =
                    self.kubectl(&["get", resource, "-n", &self.namespace, "-o", "json", "--show-managed-fields"]);
                let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
                v["items"].as_array().cloned().unwrap_or_default()
            }
        }
    }

    /// `history NAME -o json` as (revision, status) pairs.
    pub fn statuses(&self, name: &str) -> Vec<(u64, String)> {
        let out = self.run(&["history", name, "-o", "json"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|r| (r["revision"].as_u64().unwrap_or(0), r["status"].as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn fault(&self, method: &str, path: &str) -> Fault {
        Fault::new(method, path).expect("valid regex")
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if self.server.is_none() {
            let _ = self.kubectl(&["delete", "namespace", &self.namespace, "--wait=false"]);
        }
    }
}

pub use crate::common::{assert_ok, text};

pub fn assert_fails(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "stdout:\n{}\nstderr:\n{}", text(&out.stdout), text(&out.stderr));
    text(&out.stderr)
}

/// Revisions numbered without gaps from the first, at most one deployed.
pub fn assert_consistent(h: &[(u64, String)]) {
    assert!(!h.is_empty(), "history is empty");
    for (i, (rev, _)) in h.iter().enumerate() {
        assert_eq!(*rev, h[0].0 + i as u64, "no revision lost or duplicated: {h:?}");
    }
    assert!(h.iter().filter(|(_, s)| s == "deployed").count() <= 1, "one deployed at most: {h:?}");
}

pub fn pairs(h: &[(u64, &str)]) -> Vec<(u64, String)> {
    h.iter().map(|(r, s)| (*r, s.to_string())).collect()
}
