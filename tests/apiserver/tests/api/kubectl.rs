//! The real kubectl as a second client. Uses DIMTENSOR_KUBECTL or /tmp/kvenv/bin/kubectl;
//! skipped with a message when neither exists, but failing under CI.
//!
//! kubectl 1.37 sends no bearer token to a plain-http server, so the server treats
//! credential-less requests as "admin" and the forbidden user is reached with `--as`.

use dimtensor_test_apiserver::{Config, ControllerConfig, ForbidRule, TestServer};
use std::path::{Path, PathBuf};
use std::process::Command;

fn kubectl_path() -> Option<PathBuf> {
    let candidate = std::env::var_os("DIMTENSOR_KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/kvenv/bin/kubectl"));
    if candidate.is_file() {
        return Some(candidate);
    }
    let why = format!("no kubectl at {} (set DIMTENSOR_KUBECTL)", candidate.display());
    assert!(std::env::var_os("CI").is_none(), "CI must run the kubectl test: {why}");
    eprintln!("skipping the kubectl test: {why}");
    None
}

struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(&self.bin)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .env("HOME", self.cache.parent().unwrap_or(Path::new("/tmp")))
            .env_remove("KUBECONFIG")
            .output()
            .expect("run kubectl");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        (out.status.success(), stdout, stderr)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args);
        assert!(ok, "kubectl {args:?} failed:\n{out}\n{err}");
        assert!(!err.contains("E1") && !err.contains("error"), "kubectl {args:?} complained:\n{err}");
        out
    }
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: docker.io/dimtensor:4.2.0
        ports: [{name: http, containerPort: 8080}]
";

#[test]
fn real_kubectl_drives_the_server() {
    let Some(bin) = kubectl_path() else { return };
    let config = Config::new()
        .token("admin-token", "admin")
        .anonymous_user("admin")
        .forbid(ForbidRule::user("limited").verb("list").resource("pods"))
        .controller(ControllerConfig::ready());
    let server = TestServer::start_blocking(config).expect("server");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig, "t", "admin-token").unwrap();
    let manifest = dir.path().join("deployment.yaml");
    std::fs::write(&manifest, DEPLOYMENT).unwrap();
    let k = Kubectl { bin, kubeconfig, cache: dir.path().join("cache") };
    let m = manifest.to_str().unwrap();

    assert!(k.ok(&["create", "namespace", "t"]).contains("namespace/t created"));
    assert!(k.ok(&["apply", "--server-side", "-f", m]).contains("deployment.apps/web serverside-applied"));
    let live: serde_json::Value = serde_json::from_str(&k.ok(&["get", "deploy", "-o", "json"])).unwrap();
    assert_eq!(live["items"][0]["metadata"]["name"], "web");
    assert_eq!(live["items"][0]["spec"]["replicas"], 2);
    let rv = live["items"][0]["metadata"]["resourceVersion"].clone();

    server.clear_log();
    k.ok(&["apply", "--server-side", "-f", m]);
    let after: serde_json::Value = serde_json::from_str(&k.ok(&["get", "deploy", "web", "-o", "json"])).unwrap();
    assert_eq!(after["metadata"]["resourceVersion"], rv, "the second apply was a no-op");
    let patch = server.requests().into_iter().find(|r| r.method == "PATCH").expect("kubectl sent a PATCH");
    assert_eq!((patch.status, patch.field_manager.as_deref()), (200, Some("kubectl")));
    assert_eq!(patch.content_type.as_deref(), Some("application/apply-patch+yaml"));

    k.ok(&["rollout", "status", "deploy/web", "--timeout=10s"]);
    k.ok(&["delete", "-f", m]);
    assert!(server.get_object("apps/v1", "Deployment", Some("t"), "web").is_none());

    let (ok, out, err) = k.run(&["--as", "limited", "get", "pods"]);
    assert!(!ok, "forbidden user succeeded: {out}");
    assert!(err.contains("forbidden"), "{err}");
    assert!(err.contains("User \"limited\" cannot list resource \"pods\""), "{err}");

    let unexpected: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.status >= 400 && !(r.status == 404 && r.method == "GET") && r.user.as_deref() != Some("limited"))
        .collect();
    assert!(unexpected.is_empty(), "kubectl got errors it should not have: {unexpected:?}");
}
