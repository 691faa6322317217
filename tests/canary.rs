//! Canaries: secret values and credentials must never reach stdout or stderr.
//!
//! Three secrets are planted: a Secret value given as base64 (`--set secret.data.token=...`), one
//! given as plain text (`secret.stringData.pw`), and the kubeconfig's bearer token. Every form a
//! leak could take is searched for (plain, base64, decoded). `render` may print the Secret (it is
//! the user's own manifest), never the token; every other command prints neither.
//!
//! TO EXTEND when the release work (src/release, src/action.rs) lands, in
//! [`release_commands_never_print_secrets`] (ignored until then):
//! - `get values` (the stored values hold the Secret's values)
//! - `get manifest` (the stored manifest holds the Secret)
//! - `history`, `status`, `list`
//! - `rollback` (plan and apply output, and its errors)
//! - `upgrade --reuse-values` / `--reset-values`, `--atomic` failure output

use base64::Engine as _;
use dimtensor_test_apiserver::{Config, ControllerConfig, Fault, ForbidRule, TestServer};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// "dt-canary-data-51c9", base64-encoded as `secret.data` wants it.
const DATA_B64: &str = "ZHQtY2FuYXJ5LWRhdGEtNTFjOQ==";
const DATA_DECODED: &str = "dt-canary-data-51c9";
const PLAIN: &str = "dt-canary-plain-8e2f";
const TOKEN: &str = "dt-canary-token-3b7a";
/// Planted only in a live Secret's last-applied-configuration annotation.
const LAST_APPLIED: &str = "dt-canary-lastapplied-77aa";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Every form of the Secret values a leak could take.
fn secret_forms() -> Vec<String> {
    vec![DATA_B64.into(), DATA_DECODED.into(), PLAIN.into(), b64(PLAIN), LAST_APPLIED.into(), b64(LAST_APPLIED)]
}

fn token_forms() -> Vec<String> {
    vec![TOKEN.into(), b64(TOKEN)]
}

fn secret_args() -> Vec<String> {
    ["--set", "secret.enabled=true", "--set"]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("secret.data.token={DATA_B64}"), "--set".into(), format!("secret.stringData.pw={PLAIN}")])
        .collect()
}

/// A test server that knows only the canary token (user `admin`), and a kubeconfig holding it.
struct Env {
    dir: tempfile::TempDir,
    ns: String,
    server: TestServer,
}

impl Env {
    fn new(name: &str, config: Config) -> Env {
        let ns = format!("canary-{name}-{}", std::process::id());
        let server = TestServer::start_blocking(config.namespace(&ns).token(TOKEN, "admin")).expect("server starts");
        let env = Env { dir: tempfile::tempdir().expect("tempdir"), ns, server };
        write_kubeconfig(&env.kubeconfig(), env.server.url(), &env.ns);
        env
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// Runs the plugin against this server (the offline `render` and `lint` take only `-n`).
    fn run(&self, args: &[String]) -> Output {
        let mut all = args.to_vec();
        all.extend(["-n".into(), self.ns.clone()]);
        if !matches!(args.first().map(String::as_str), Some("render" | "lint")) {
            all.extend(["--kubeconfig".into(), self.kubeconfig().display().to_string()]);
        }
        run(&all, self.dir.path())
    }
}

fn write_kubeconfig(path: &Path, server: &str, ns: &str) {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n    namespace: {ns}\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: {TOKEN}\n"
    );
    std::fs::write(path, text).expect("write kubeconfig");
}

fn run(args: &[String], home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"))
        .args(args)
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "1")
        .env_remove("KUBECONFIG")
        .output()
        .expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Collects, per command, every line of stdout/stderr holding one of `forms`.
#[derive(Default)]
struct Leaks(Vec<String>);

impl Leaks {
    fn check(&mut self, what: &str, out: &Output, stdout_forms: &[String], stderr_forms: &[String]) {
        for (stream, body, forms) in
            [("stdout", text(&out.stdout), stdout_forms), ("stderr", text(&out.stderr), stderr_forms)]
        {
            for line in body.lines() {
                if let Some(f) = forms.iter().find(|f| line.contains(f.as_str())) {
                    self.0.push(format!("{what} ({stream}, `{f}`): {}", line.trim()));
                }
            }
        }
    }

    /// Neither the Secret values nor the token, anywhere.
    fn check_all(&mut self, what: &str, out: &Output) {
        let all: Vec<String> = secret_forms().into_iter().chain(token_forms()).collect();
        self.check(what, out, &all, &all);
    }

    fn assert_none(self) {
        assert!(self.0.is_empty(), "secrets printed:\n{}", self.0.join("\n"));
    }
}

fn args(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

fn with_secrets(parts: &[&str]) -> Vec<String> {
    let mut a = args(parts);
    a.extend(secret_args());
    a
}

fn assert_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(out.status.code(), Some(code), "{what}\nstdout:\n{}\nstderr:\n{}", text(&out.stdout), text(&out.stderr));
}

// ---------------------------------------------------------------------------------------------

#[test]
fn render_prints_the_secret_but_never_the_token() {
    let env = Env::new("render", Config::new());
    let mut leaks = Leaks::default();
    let secrets = secret_forms();
    let tokens = token_forms();
    for fmt in ["yaml", "json"] {
        let out = env.run(&with_secrets(&["render", "--overlay", "training", "-o", fmt]));
        assert_exit(&out, 0, "render");
        assert!(text(&out.stdout).contains(DATA_B64), "the Secret is the user's own manifest and is rendered");
        leaks.check(&format!("render -o {fmt}"), &out, &tokens, &[secrets.clone(), tokens.clone()].concat());
    }
    for flag in ["--show-values", "--explain"] {
        let out = env.run(&with_secrets(&["render", "--overlay", "training", flag]));
        assert_exit(&out, 0, flag);
        leaks.check_all(&format!("render {flag}"), &out);
    }
    let out = env.run(&with_secrets(&["lint", "--overlay", "training"]));
    leaks.check_all("lint", &out);
    leaks.assert_none();
    assert!(env.server.requests().is_empty(), "render and lint never contact the cluster");
}

/// `--set-file` is how a key or certificate gets in: its contents are as secret as `--set`'s.
#[test]
fn set_file_secrets_are_never_printed() {
    let env = Env::new("set-file", Config::new());
    let file = env.dir.path().join("key.pem");
    std::fs::write(&file, format!("-----BEGIN KEY-----\n{PLAIN}\n-----END KEY-----\n")).expect("write");
    let from_file = format!("secret.stringData.key={}", file.display());
    let mut leaks = Leaks::default();
    for flag in ["--show-values", "--explain"] {
        let out = env.run(&args(&["render", "--set", "secret.enabled=true", "--set-file", &from_file, flag]));
        assert_exit(&out, 0, flag);
        leaks.check_all(&format!("--set-file with {flag}"), &out);
    }
    let out =
        env.run(&args(&["diff", "--overlay", "training", "--set", "secret.enabled=true", "--set-file", &from_file]));
    assert_exit(&out, 1, "diff with --set-file");
    leaks.check_all("diff with --set-file", &out);
    let out = env.run(&args(&["render", "--set-file", &from_file, "--set", "replicaCount=three"]));
    assert_exit(&out, 2, "error with --set-file");
    leaks.check_all("error with --set-file", &out);
    leaks.assert_none();
}

#[test]
fn render_errors_never_print_secrets() {
    let env = Env::new("render-errors", Config::new());
    let mut leaks = Leaks::default();
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("wrong type", with_secrets(&["render", "--set", "replicaCount=three"])),
        ("unknown key", with_secrets(&["render", "--set", "replicaCuont=3"])),
        (
            "secret given a map where a string is wanted",
            args(&["render", "--set", &format!("secret.stringData={PLAIN}")]),
        ),
        ("not base64", args(&["render", "--set", &format!("secret.enabled=true,secret.data.pw={PLAIN}!")])),
        (
            "secret in the same --set as an error",
            args(&["render", "--set", &format!("secret.stringData.pw={PLAIN},replicaCount=three")]),
        ),
        ("unknown overlay", with_secrets(&["render", "--overlay", "trainig"])),
        (
            "--show-values with an error",
            with_secrets(&["render", "--show-values", "--set", "image.pullPolicy=Sometimes"]),
        ),
        (
            "--explain with an error",
            with_secrets(&["render", "--explain", "--set", "autoscaling.enabled=true", "--overlay", "training"]),
        ),
    ];
    for (what, a) in cases {
        let out = env.run(&a);
        assert_exit(&out, 2, what);
        leaks.check_all(what, &out);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("v.yaml");
    std::fs::write(&file, format!("secret:\n  stringData:\n    pw: {PLAIN}\n  data: [{DATA_B64}\n")).expect("write");
    let out = env.run(&args(&["render", "-f", &file.display().to_string()]));
    assert_exit(&out, 2, "broken values file");
    leaks.check_all("broken values file holding secrets", &out);
    leaks.assert_none();
}

#[test]
fn diff_and_install_never_print_secrets() {
    let env = Env::new("install", Config::new().controller(ControllerConfig::ready()));
    let mut leaks = Leaks::default();
    for fmt in ["simple", "json", "markdown"] {
        let out = env.run(&with_secrets(&["diff", "--overlay", "training", "-o", fmt]));
        assert_exit(&out, 1, "diff before install");
        leaks.check_all(&format!("diff -o {fmt} (create)"), &out);
    }
    let out = env.run(&with_secrets(&["install", "--overlay", "training", "--yes"]));
    assert_exit(&out, 0, "install");
    leaks.check_all("install", &out);
    let live = env.server.get_object("v1", "Secret", Some(&env.ns), "dimtensor").expect("the Secret was applied");
    assert_eq!(live["data"]["token"], DATA_B64, "the canary really is in the cluster");

    let out = env.run(&with_secrets(&["diff", "--overlay", "training"]));
    assert_exit(&out, 0, "diff after install");
    leaks.check_all("diff (unchanged)", &out);
    let mut changed = args(&["diff", "--overlay", "training", "--set", "secret.enabled=true", "--set"]);
    changed.push("secret.data.token=b3RoZXI=".into());
    let out = env.run(&changed);
    assert_exit(&out, 1, "diff with another value");
    assert!(text(&out.stdout).contains("*** (before)"), "{}", text(&out.stdout));
    leaks.check_all("diff (changed)", &out);
    let out = env.run(&with_secrets(&[
        "upgrade",
        "dimtensor",
        "--overlay",
        "training",
        "--set",
        "job.backoffLimit=4",
        "--yes",
    ]));
    leaks.check_all("upgrade", &out);
    let out = env.run(&args(&["uninstall", "dimtensor", "--yes"]));
    leaks.check_all("uninstall", &out);
    leaks.assert_none();
}

/// A Secret someone applied with `kubectl apply` carries its whole content in an annotation.
#[test]
fn diff_masks_a_live_secrets_last_applied_configuration() {
    let last_applied = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "dimtensor"},
        "data": {"token": b64(LAST_APPLIED)},
        "stringData": {"pw": LAST_APPLIED},
    })
    .to_string();
    let ns = format!("canary-live-{}", std::process::id());
    let seed = json!({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {
            "name": "dimtensor", "namespace": ns,
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied},
        },
        "data": {"token": b64(LAST_APPLIED), "old": DATA_B64},
    });
    let env = Env::new("live", Config::new().seed(seed));
    assert_eq!(env.ns, ns);
    let mut leaks = Leaks::default();
    for fmt in ["simple", "json", "markdown"] {
        let out = env.run(&with_secrets(&["diff", "--overlay", "training", "-o", fmt]));
        assert_exit(&out, 1, "diff against the live Secret");
        if fmt == "simple" {
            assert!(text(&out.stdout).contains("Secret/"), "the Secret is part of the diff:\n{}", text(&out.stdout));
        }
        leaks.check_all(&format!("diff -o {fmt} against a kubectl-applied Secret"), &out);
    }
    leaks.assert_none();
}

#[test]
fn failed_and_forbidden_applies_never_print_secrets() {
    let mut leaks = Leaks::default();
    // The real (not dry-run) apply of the Secret fails: kube-rs puts dryRun first in the query.
    let fault = Fault::new("PATCH", r"/secrets/dimtensor\?&(force|fieldManager)").expect("regex").always().status(500);
    let env = Env::new("failed", Config::new().fault(fault));
    let out = env.run(&with_secrets(&["install", "--overlay", "training", "--yes"]));
    assert_exit(&out, 2, "install whose Secret apply fails");
    assert!(
        env.server.requests().iter().any(|r| r.path.ends_with("/secrets/dimtensor") && !r.dry_run && r.status == 500),
        "the fault hit the real apply: {:#?}",
        env.server.requests()
    );
    leaks.check_all("failed apply", &out);

    let env = Env::new("forbidden", Config::new().forbid(ForbidRule::user("admin").verb("patch").resource("secrets")));
    let out = env.run(&with_secrets(&["install", "--overlay", "training", "--yes"]));
    assert_exit(&out, 2, "forbidden install");
    assert!(text(&out.stderr).contains("forbidden"), "{}", text(&out.stderr));
    leaks.check_all("forbidden install", &out);
    let out = env.run(&with_secrets(&["diff", "--overlay", "training"]));
    leaks.check_all("forbidden diff", &out);
    leaks.assert_none();
}

#[test]
fn connection_errors_never_print_the_token() {
    let mut leaks = Leaks::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let kc = dir.path().join("kubeconfig");
    let kc_arg = kc.display().to_string();
    let cmd = |extra: &[&str]| {
        let mut a =
            with_secrets(&["diff", "--overlay", "training", "--request-timeout", "3s", "--kubeconfig", &kc_arg]);
        a.extend(args(extra));
        a
    };

    // 401: a server that does not know the token.
    let stranger = TestServer::start_blocking(Config::new().namespace("t").token("other", "someone")).expect("server");
    write_kubeconfig(&kc, stranger.url(), "t");
    let out = run(&cmd(&[]), dir.path());
    assert_exit(&out, 2, "401");
    leaks.check_all("401", &out);
    // TLS to a plain-http server.
    write_kubeconfig(&kc, &stranger.url().replacen("http://", "https://", 1), "t");
    let out = run(&cmd(&[]), dir.path());
    assert_exit(&out, 2, "TLS failure");
    leaks.check_all("TLS failure", &out);
    // Nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    write_kubeconfig(&kc, &format!("http://127.0.0.1:{port}"), "t");
    let out = run(&cmd(&[]), dir.path());
    assert_exit(&out, 2, "unreachable");
    leaks.check_all("unreachable", &out);
    for (what, extra) in [("unknown context", ["--context", "nope"]), ("unknown user", ["--user", "nope"])] {
        let out = run(&cmd(&extra), dir.path());
        leaks.check_all(what, &out);
    }
    leaks.assert_none();
}

#[test]
fn a_broken_kubeconfig_never_prints_the_token() {
    let mut leaks = Leaks::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let kc = dir.path().join("kubeconfig");
    let head = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"http://127.0.0.1:1\"}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user:\n";
    for (what, tail) in [
        ("a mapping value after the token", format!("    token: {TOKEN}: [\n")),
        ("a tab after the token line", format!("    token: {TOKEN}\n\tpassword: x\n")),
        ("the token as a list", format!("    token: [{TOKEN}]\n")),
    ] {
        std::fs::write(&kc, format!("{head}{tail}")).expect("write");
        let out = run(
            &with_secrets(&["diff", "--overlay", "training", "--kubeconfig", &kc.display().to_string()]),
            dir.path(),
        );
        assert_exit(&out, 2, what);
        leaks.check_all(what, &out);
    }
    leaks.assert_none();
}

#[test]
fn release_commands_never_print_secrets() {
    let env = Env::new("release", Config::new().controller(ControllerConfig::ready()));
    let mut leaks = Leaks::default();
    let out = env.run(&with_secrets(&["install", "--overlay", "training", "--yes"]));
    assert_exit(&out, 0, "install");
    let out = env.run(&with_secrets(&[
        "upgrade",
        "dimtensor",
        "--overlay",
        "training",
        "--set",
        "job.backoffLimit=4",
        "--yes",
    ]));
    assert_exit(&out, 0, "upgrade");
    for a in [
        args(&["get", "values", "dimtensor"]),
        args(&["get", "manifest", "dimtensor"]),
        args(&["history", "dimtensor"]),
        args(&["status", "dimtensor"]),
        args(&["list"]),
        args(&["rollback", "dimtensor", "--yes"]),
    ] {
        let out = env.run(&a);
        assert_exit(&out, 0, &a.join(" "));
        leaks.check_all(&a.join(" "), &out);
    }
    leaks.assert_none();
}
