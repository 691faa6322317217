//! Shell completion: the static scripts of `kubectl dimtensor completion SHELL`, and the
//! `kubectl_complete-dimtensor` executable speaking kubectl's plugin completion protocol.

mod common;

use std::process::Command;

#[test]
fn every_shell_gets_a_script_naming_the_commands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out =
            Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor")).args(["completion", shell]).output().expect("runs");
        assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.len() > 500, "{shell}: script too short:\n{script}");
        for word in ["kubectl-dimtensor", "render", "lint", "overlays", "overlay", "strict"] {
            assert!(script.contains(word), "{shell}: the script does not mention {word}");
        }
    }
}

/// Runs the completion executable as kubectl does: the words after `kubectl dimtensor`.
fn complete(words: &[&str]) -> (Vec<String>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl_complete-dimtensor")).args(words).output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let directive = lines.pop().unwrap_or_default();
    // A candidate line is `value` or `value<TAB>description`.
    let values = lines.iter().map(|l| l.split('\t').next().unwrap_or_default().to_string()).collect();
    (values, directive)
}

#[test]
fn overlay_names_then_the_no_file_directive() {
    let (values, directive) = complete(&["render", "--overlay", ""]);
    for v in ["inference", "training", "batch", "cronjob"] {
        assert!(values.contains(&v.to_string()), "{v} missing from {values:?}");
    }
    assert_eq!(directive, ":4");
}

#[test]
fn subcommands_flags_and_enum_values() {
    let (values, directive) = complete(&[""]);
    for v in ["render", "lint", "overlays", "init", "show", "version", "completion"] {
        assert!(values.contains(&v.to_string()), "{v} missing from {values:?}");
    }
    assert_eq!(directive, ":4");
    assert_eq!(complete(&["lint", "-o", ""]).0, ["text", "json"]);
    assert_eq!(complete(&["completion", "p"]).0, ["powershell"]);
    assert!(complete(&["lint", "--st"]).0.contains(&"--strict".to_string()));
}

#[test]
fn no_cluster_means_no_release_names_and_no_failure() {
    let (values, directive) = complete(&["status", "--kubeconfig", "/nonexistent/kubeconfig", ""]);
    assert!(values.is_empty(), "{values:?}");
    assert_eq!(directive, ":4");
}

#[test]
fn values_files_filter_by_extension() {
    assert_eq!(complete(&["render", "-f", ""]), (vec!["yaml".into(), "yml".into(), "json".into()], ":8".into()));
}

/// Runs the completion executable with the given environment.
fn complete_with(words: &[&str], envs: &[(&str, &str)]) -> (Vec<String>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubectl_complete-dimtensor"));
    cmd.args(words).env_remove("KUBECONFIG");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("runs");
    let out = common::finish(child, "kubectl_complete-dimtensor");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let mut lines: Vec<String> = out.stdout.lines().map(str::to_string).collect();
    let directive = lines.pop().unwrap_or_default();
    (lines.iter().map(|l| l.split('\t').next().unwrap_or_default().to_string()).collect(), directive)
}

#[test]
fn release_names_come_from_the_cluster_the_typed_flags_choose() {
    use dimtensor_test_apiserver::{Config, ControllerConfig, Fault, TestServer};
    let server = TestServer::start_blocking(Config::new().namespace("ml").controller(ControllerConfig::ready()))
        .expect("server");
    let dir = tempfile::tempdir().expect("temp dir");
    let kc = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kc, "default", "t").expect("kubeconfig");
    let kc = kc.to_str().expect("utf-8");
    for name in ["prod", "staging"] {
        let out = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"))
            .args(["install", name, "--overlay", "cronjob", "--yes", "--kubeconfig", kc, "-n", "ml"])
            .output()
            .expect("install runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    server.clear_log();
    for cmd in [
        &["status"][..],
        &["upgrade"],
        &["rollback"],
        &["history"],
        &["uninstall"],
        &["logs"],
        &["doctor"],
        &["get", "values"],
    ] {
        let mut words: Vec<&str> = cmd.to_vec();
        words.extend(["--kubeconfig", kc, "-n", "ml", ""]);
        assert_eq!(complete_with(&words, &[]), (vec!["prod".into(), "staging".into()], ":4".into()), "{cmd:?}");
    }
    assert_eq!(complete_with(&["logs", "--kubeconfig", kc, "--namespace=ml", "st"], &[]).0, ["staging"]);
    assert!(complete_with(&["status", "--kubeconfig", kc, ""], &[]).0.is_empty(), "none in the context's namespace");
    assert!(
        complete_with(&["install", "--kubeconfig", kc, "-n", "ml", ""], &[]).0.is_empty(),
        "install names a new one"
    );
    let listed = server.requests().into_iter().filter(|r| r.path == "/api/v1/namespaces/ml/secrets").count();
    assert_eq!(listed, 9, "one LIST of records per completion with a release name to complete");

    // A cluster that does not answer in time completes nothing, and the shell is not kept waiting.
    server.add_fault(Fault::new("GET", "/secrets").expect("regex").delay(std::time::Duration::from_secs(60)).always());
    let slow =
        complete_with(&["status", "--kubeconfig", kc, "-n", "ml", ""], &[("DIMTENSOR_COMPLETION_TIMEOUT", "300ms")]);
    assert_eq!(slow, (Vec::new(), ":4".to_string()));
    let unreachable = dir.path().join("unreachable");
    std::fs::write(
        &unreachable,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: t}}]\n",
    )
    .expect("write");
    let none = complete_with(&["status", "--kubeconfig", unreachable.to_str().unwrap(), ""], &[]);
    assert_eq!(none, (Vec::new(), ":4".to_string()));
}
