//! Cluster operations end to end: the real binary against the project's test API server, or,
//! with `DIMTENSOR_E2E_KUBECONFIG=/path/to/kubeconfig`, against that real cluster (each test
//! creates and deletes a throwaway namespace there; assertions on the server's request log run
//! only against the test server).

mod common;

use common::{assert_ok, diff_both_ways, text};
use dimtensor_test_apiserver::{Config, ControllerConfig, ForbidRule, TestServer};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    namespace: String,
    server: Option<TestServer>,
}

impl Env {
    fn new(name: &str) -> Env {
        Env::with(name, Config::new().controller(ControllerConfig::ready()))
    }

    fn with(name: &str, config: Config) -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let namespace = format!("dt-{name}-{}", std::process::id());
        if let Some(real) = std::env::var_os("DIMTENSOR_E2E_KUBECONFIG") {
            let env = Env { kubeconfig: PathBuf::from(real), namespace, server: None, _dir: dir };
            let out = env.kubectl(&["create", "namespace", &env.namespace]);
            assert!(out.status.success(), "cannot create the test namespace: {}", text(&out.stderr));
            return env;
        }
        let server = TestServer::start_blocking(config.namespace(&namespace)).expect("test API server starts");
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig, &namespace, "admin-token").expect("kubeconfig written");
        Env { kubeconfig, namespace, server: Some(server), _dir: dir }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"))
            .args(args)
            .args(["--kubeconfig", self.kubeconfig.to_str().expect("utf-8 path"), "-n", &self.namespace])
            .env_remove("KUBECONFIG")
            .env("NO_COLOR", "")
            .output()
            .expect("binary runs")
    }

    fn kubectl(&self, args: &[&str]) -> Output {
        let kubectl = std::env::var("DIMTENSOR_KUBECTL").unwrap_or_else(|_| "kubectl".into());
        Command::new(kubectl).args(args).arg("--kubeconfig").arg(&self.kubeconfig).output().expect("kubectl runs")
    }

    /// The live object, through kubectl on a real cluster or straight from the test server.
    fn get(&self, api_version: &str, kind: &str, name: &str) -> Option<Value> {
        match &self.server {
            Some(s) => s.get_object(api_version, kind, Some(&self.namespace), name),
            None => {
                let out = self.kubectl(&["get", kind, name, "-n", &self.namespace, "-o", "json", "--ignore-not-found"]);
                serde_json::from_slice(&out.stdout).ok()
            }
        }
    }

    /// Writes other than dry runs that the server saw (test server only).
    fn real_writes(&self) -> Vec<String> {
        let Some(s) = &self.server else { return Vec::new() };
        s.requests()
            .into_iter()
            .filter(|r| matches!(r.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE") && !r.dry_run)
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if self.server.is_none() {
            let _ = self.kubectl(&["delete", "namespace", &self.namespace, "--wait=false"]);
        }
    }
}

#[test]
fn install_diff_upgrade_uninstall_round_trip() {
    let env = Env::new("cycle");
    let out = env.run(&["install", "--overlay", "inference", "--yes", "--wait", "--timeout", "60s"]);
    let stdout = assert_ok(&out);
    assert!(stdout.contains("Plan: 4 to add, 0 to change, 0 to delete, 0 unchanged"), "{stdout}");
    assert!(stdout.contains("release dimtensor installed"), "{stdout}");
    let deploy = env.get("apps/v1", "Deployment", "dimtensor").expect("deployment exists");
    assert_eq!(deploy["metadata"]["labels"]["dimtensor.io/release"], "dimtensor");
    assert!(
        deploy["spec"]["selector"]["matchLabels"].get("dimtensor.io/release").is_none(),
        "release label must stay out of selectors"
    );

    let same = diff_both_ways(|a| env.run(a), &["diff", "--overlay", "inference"]);
    assert_eq!(same.status.code(), Some(0), "{}{}", text(&same.stdout), text(&same.stderr));
    assert!(text(&same.stdout).contains("0 to add, 0 to change, 0 to delete, 4 unchanged"));

    let changed = diff_both_ways(
        |a| env.run(a),
        &["diff", "--overlay", "inference", "--set", "image.tag=4.3.0", "--color", "always"],
    );
    assert_eq!(changed.status.code(), Some(1), "{}", text(&changed.stderr));
    let diff = text(&changed.stdout);
    assert!(diff.contains("Deployment/") && diff.contains("/dimtensor (update)"), "{diff}");
    assert!(diff.contains("\x1b[32m+") && diff.contains("image: docker.io/dimtensor:4.3.0-cpu-full"), "{diff}");
    assert!(diff.contains("\x1b[31m-") && diff.contains("image: docker.io/dimtensor:4.2.0-cpu-full"), "{diff}");

    let plain = env.run(&["diff", "--overlay", "inference", "--set", "image.tag=4.3.0"]);
    assert!(!text(&plain.stdout).contains('\x1b'), "NO_COLOR / not a terminal must mean plain output");

    assert_ok(&env.run(&["upgrade", "dimtensor", "--overlay", "inference", "--set", "image.tag=4.3.0", "--yes"]));
    let deploy = env.get("apps/v1", "Deployment", "dimtensor").expect("deployment exists");
    assert_eq!(deploy["spec"]["template"]["spec"]["containers"][0]["image"], "docker.io/dimtensor:4.3.0-cpu-full");

    let gone = env.run(&["uninstall", "dimtensor", "--yes"]);
    let stdout = assert_ok(&gone);
    assert!(stdout.contains("release dimtensor uninstalled"), "{stdout}");
    for (v, k) in [
        ("apps/v1", "Deployment"),
        ("v1", "Service"),
        ("v1", "ServiceAccount"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ] {
        assert!(env.get(v, k, "dimtensor").is_none(), "{k} should be gone");
    }
}

#[test]
fn uninstall_keeps_persistent_volume_claims_unless_asked() {
    let env = Env::new("pvc");
    assert_ok(&env.run(&["install", "--overlay", "training", "--set", "persistence.enabled=true", "--yes"]));
    assert!(env.get("v1", "PersistentVolumeClaim", "dimtensor").is_some());
    let out = env.run(&["uninstall", "dimtensor", "--yes"]);
    let stdout = assert_ok(&out);
    assert!(stdout.contains("PersistentVolumeClaim/") && stdout.contains("kept"), "{stdout}");
    assert!(env.get("v1", "PersistentVolumeClaim", "dimtensor").is_some(), "the PVC holds checkpoints and stays");
    assert!(env.get("batch/v1", "Job", "dimtensor").is_none());
    if let Some(server) = &env.server {
        let deletes: Vec<_> = server.requests().into_iter().filter(|r| r.method == "DELETE").collect();
        assert!(deletes.iter().any(|r| r.path.contains("/jobs/")), "the Job was deleted: {deletes:?}");
        assert!(!deletes.iter().any(|r| r.path.contains("/persistentvolumeclaims/")), "the PVC was not: {deletes:?}");
    }
}

#[test]
fn install_refuses_without_a_terminal_or_yes() {
    let env = Env::new("noyes");
    let out = env.run(&["install", "--overlay", "cronjob"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    assert!(env.real_writes().is_empty(), "nothing may be written: {:?}", env.real_writes());
}

#[test]
fn dry_run_stops_after_the_diff() {
    let env = Env::new("dry");
    let out = env.run(&["install", "--overlay", "batch", "--dry-run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Plan: 3 to add"), "{}", text(&out.stdout));
    assert!(env.get("batch/v1", "Job", "dimtensor").is_none());
    assert!(env.real_writes().is_empty(), "{:?}", env.real_writes());
}

#[test]
fn secret_values_never_appear_in_a_diff() {
    let env = Env::new("canary");
    let canary = "Y2FuYXJ5LXNlY3JldC12YWx1ZQ=="; // base64 of "canary-secret-value"
    let first = [
        "install",
        "--overlay",
        "training",
        "--set",
        "secret.enabled=true",
        "--set",
        &format!("secret.data.token={canary}"),
        "--yes",
    ];
    assert_ok(&env.run(&first));
    let other = "b3RoZXItY2FuYXJ5";
    let changed = format!("secret.data.token={other}");
    for fmt in ["simple", "json", "markdown"] {
        let out =
            env.run(&["diff", "--overlay", "training", "--set", "secret.enabled=true", "--set", &changed, "-o", fmt]);
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains(canary) && !all.contains(other) && !all.contains("canary-secret-value"), "{fmt}: {all}");
        if fmt == "simple" {
            assert!(all.contains("*** (before)") && all.contains("*** (after)"), "{all}");
        }
    }
}

#[test]
fn external_diff_and_context_lines_work_as_in_kubectl_diff() {
    let env = Env::new("extdiff");
    let secret = ["--set", "secret.enabled=true", "--set", "secret.data.token=Zmlyc3QtdmFsdWU="];
    assert_ok(&env.run(&[&["install", "--overlay", "training", "--yes"], &secret[..]].concat()));
    let changed =
        ["--set", "secret.enabled=true", "--set", "secret.data.token=c2Vjb25kLXZhbHVl", "--set", "image.tag=4.3.0"];
    let diff = |extra: &[&str], external: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"));
        cmd.args([&["diff", "--overlay", "training"], &changed[..], extra].concat())
            .args(["--kubeconfig", env.kubeconfig.to_str().expect("utf-8"), "-n", &env.namespace])
            .env_remove("KUBECONFIG")
            .env("NO_COLOR", "");
        match external {
            Some(program) => cmd.env("KUBECTL_EXTERNAL_DIFF", program),
            None => cmd.env_remove("KUBECTL_EXTERNAL_DIFF"),
        };
        cmd.output().expect("binary runs")
    };
    // -U N: N lines of context around each change, as diff -U.
    let context = |n: &str| {
        let out = diff(&["-U", n], None);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        text(&out.stdout).lines().filter(|l| l.starts_with(' ')).count()
    };
    let (none, three) = (context("0"), context("3"));
    assert!(none < three, "{none} context lines with -U 0, {three} with -U 3");

    // kubectl's KUBECTL_EXTERNAL_DIFF: a program and its flags, run on LIVE and MERGED directories.
    let out = diff(&[], Some("diff -u -N"));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "differences found: {stdout}{}", text(&out.stderr));
    let ns = &env.namespace;
    assert!(stdout.contains("LIVE-") && stdout.contains("MERGED-"), "{stdout}");
    assert!(stdout.contains(&format!("batch.v1.Job.{ns}.dimtensor")), "group.version.kind.namespace.name: {stdout}");
    assert!(stdout.contains("-        image: docker.io/dimtensor:4.2.0-ml"), "{stdout}");
    assert!(!stdout.contains("Zmlyc3Q") && !stdout.contains("c2Vjb25k") && stdout.contains("***"), "masked: {stdout}");
    assert!(stdout.contains("Plan: "), "the summary still follows: {stdout}");
    let failing = diff(&[], Some("false"));
    assert_eq!(failing.status.code(), Some(1), "false exits 1: differences, as kubectl reads it");
    let broken = diff(&[], Some("sh -c 'exit 3'"));
    assert_eq!(broken.status.code(), Some(2), "an exit above 1 is an error: {}", text(&broken.stderr));
}

#[test]
fn a_forbidden_install_names_verb_and_resource_and_writes_nothing() {
    if std::env::var_os("DIMTENSOR_E2E_KUBECONFIG").is_some() {
        eprintln!("skipped on a real cluster: needs a user without permissions");
        return;
    }
    let env =
        Env::with("forbid", Config::new().forbid(ForbidRule::user("admin").verb("patch").resource("deployments")));
    let out = env.run(&["install", "--overlay", "inference", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("forbidden") && err.contains("deployments") && err.contains("patch"), "{err}");
    assert!(env.real_writes().is_empty(), "a forbidden install must write nothing: {:?}", env.real_writes());
}

#[test]
fn an_unreachable_server_fails_clearly_within_the_request_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    write_kubeconfig(&kc, &format!("http://127.0.0.1:{port}"), "user:\n    token: secret-token-canary\n");
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"))
        .args(["diff", "--overlay", "inference", "--request-timeout", "3s", "--kubeconfig"])
        .arg(&kc)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("cannot reach the cluster") && err.contains(&port.to_string()), "{err}");
    assert!(!err.contains("secret-token-canary"), "credentials must never be printed: {err}");
}

#[test]
fn exec_credentials_work_against_the_test_server() {
    if std::env::var_os("DIMTENSOR_E2E_KUBECONFIG").is_some() {
        return;
    }
    let server = TestServer::start_blocking(Config::new().namespace("exec").token("exec-token", "exec-user")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("credential-plugin.sh");
    std::fs::write(&plugin, "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"exec-token\"}}'\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let kc = dir.path().join("kubeconfig");
    let user = format!("user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n", plugin.display());
    write_kubeconfig(&kc, server.url(), &user);
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"))
        .args(["diff", "--overlay", "cronjob", "-n", "exec", "--kubeconfig"])
        .arg(&kc)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        server.requests().iter().any(|r| r.user.as_deref() == Some("exec-user")),
        "requests were made as the exec user"
    );
}

/// A label a base spread into the selector with `includeSelectors`, changed in an overlay without
/// it: Kustomize (and so the render) changes the selector too, which the API server refuses on a
/// Deployment. The diff must show that refusal rather than an ordinary update.
#[test]
fn a_label_change_that_reaches_the_selector_shows_as_a_replace() {
    let env = Env::new("selector");
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "base/app.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  selector:\n    matchLabels: {app: app}\n  template:\n    metadata:\n      labels: {app: app}\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.27\n",
    );
    write(
        "base/kustomization.yaml",
        "resources: [app.yaml]\nlabels:\n- pairs: {team: core}\n  includeSelectors: true\n",
    );
    write("v2/kustomization.yaml", "resources: [../base]\nlabels:\n- pairs: {team: ml}\n");
    let base = dir.path().join("base").display().to_string();
    let v2 = dir.path().join("v2").display().to_string();
    assert_ok(&env.run(&["install", "--overlay", &base, "--yes"]));
    let out = env.run(&["diff", "--overlay", &v2]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("Deployment/") && stdout.contains("(replace)"), "{stdout}");
    assert!(stdout.contains("refuses an in-place update") && stdout.contains("immutable"), "{stdout}");
    assert!(stdout.contains("+      team: ml"), "the selector changes too, as Kustomize renders it: {stdout}");
}

fn write_kubeconfig(path: &Path, server: &str, user: &str) {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  {user}"
    );
    std::fs::write(path, text).unwrap();
}
