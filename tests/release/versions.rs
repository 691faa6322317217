//! An object's identity is (group, kind, namespace, name): moving the HPA from
//! `autoscaling/v2beta2` to `autoscaling/v2` (what users do when an API is removed) updates it in
//! place, and a revision stored under a version the server no longer serves is still read,
//! pruned, uninstalled and rolled back to, through discovery.

use crate::support::{assert_fails, assert_ok, pairs, text, Env};
use std::path::{Path, PathBuf};

/// An `init` copy whose HPA is written as `version`.
fn init_copy(dir: &Path, version: &str) -> PathBuf {
    let root = dir.join("deploy");
    if !root.exists() {
        // Without -n: with it, `init` ejects the rendered tree instead of copying the overlays.
        let init = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"))
            .args(["init", root.to_str().unwrap()])
            .output()
            .expect("binary runs");
        assert_ok(&init);
    }
    set_hpa_version(&root, version);
    root.join("overlays/inference")
}

fn set_hpa_version(root: &Path, version: &str) {
    let hpa = root.join("overlays/components/autoscaling/hpa.yaml");
    let text = std::fs::read_to_string(&hpa).unwrap();
    let text: Vec<String> = text
        .lines()
        .map(|l| if l.starts_with("apiVersion: autoscaling/") { format!("apiVersion: {version}") } else { l.into() })
        .collect();
    std::fs::write(&hpa, text.join("\n") + "\n").unwrap();
}

fn hpa_uid(env: &Env) -> Option<String> {
    env.get("autoscaling/v2", "HorizontalPodAutoscaler", "prod-dimtensor")
        .and_then(|h| h["metadata"]["uid"].as_str().map(str::to_string))
}

/// Whether the server serves autoscaling/v2beta2 (Kubernetes removed it in 1.26).
fn serves_v2beta2(env: &Env) -> bool {
    let out = env.kubectl(&["get", "--raw", "/apis/autoscaling/v2beta2"]);
    if !out.status.success() {
        eprintln!("skipped: this cluster does not serve autoscaling/v2beta2");
    }
    out.status.success()
}

/// Defect 2: the plan said delete, the HPA was gone, and the revision was recorded deployed.
#[test]
fn a_new_api_version_updates_the_object_in_place_and_rollback_crosses_back() {
    let env = Env::new("ver-move");
    if !serves_v2beta2(&env) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let overlay = init_copy(dir.path(), "autoscaling/v2beta2");
    assert_ok(&env.run(&["install", "prod", "--overlay", overlay.to_str().unwrap(), "--yes"]));
    let uid = hpa_uid(&env).expect("installed");

    set_hpa_version(&dir.path().join("deploy"), "autoscaling/v2");
    let plan = env.run(&["upgrade", "prod", "--dry-run"]);
    let plan = text(&plan.stdout);
    assert!(!plan.contains("(delete)"), "a new version is not a delete: {plan}");
    let out = assert_ok(&env.run(&["upgrade", "prod", "--yes"]));
    assert!(!out.contains("deleted"), "{out}");
    assert_eq!(hpa_uid(&env).as_deref(), Some(uid.as_str()), "the same object: {out}");
    assert_eq!(env.statuses("prod"), pairs(&[(1, "superseded"), (2, "deployed")]));
    let manifest = assert_ok(&env.run(&["get", "manifest", "prod"]));
    assert!(manifest.contains("apiVersion: autoscaling/v2\n"), "{manifest}");

    let out = assert_ok(&env.run(&["rollback", "prod", "1", "--yes"]));
    assert_eq!(hpa_uid(&env).as_deref(), Some(uid.as_str()), "rollback across versions keeps it: {out}");
    assert_eq!(env.statuses("prod"), pairs(&[(1, "superseded"), (2, "superseded"), (3, "deployed")]));
    let diff = crate::common::diff_both_ways(|a| env.run(a), &["diff", "prod"]);
    assert_eq!(diff.status.code(), Some(0), "{}{}", text(&diff.stdout), text(&diff.stderr));
}

/// A revision stored as autoscaling/v2beta2 on a server that stopped serving it (as 1.26 did):
/// read through discovery for status, prune and uninstall; rollback applies it as the served
/// autoscaling/v2 (the same schema) and says so.
#[test]
fn a_version_the_server_no_longer_serves_is_read_through_discovery() {
    let env = Env::new("ver-gone");
    let Some(server) = env.server_only("needs a server that stops serving autoscaling/v2beta2") else { return };
    let dir = tempfile::tempdir().unwrap();
    let overlay = init_copy(dir.path(), "autoscaling/v2beta2");
    let overlay = overlay.to_str().unwrap();
    assert_ok(&env.run(&["install", "prod", "--overlay", overlay, "--yes"]));
    assert_ok(&env.run(&["install", "gone", "--overlay", overlay, "--yes"]));
    let uid = hpa_uid(&env).unwrap();
    assert!(server.stop_serving("autoscaling/v2beta2"));

    let status = assert_ok(&env.run(&["status", "prod"]));
    assert!(status.contains("HorizontalPodAutoscaler/"), "{status}");
    let out = assert_ok(&env.run(&["upgrade", "prod", "--overlay", "cronjob", "--yes"]));
    assert!(hpa_uid(&env).is_none(), "pruned through the served version: {out}");

    // Rolling back to revision 1 applies its HPA as autoscaling/v2.
    let out = assert_ok(&env.run(&["rollback", "prod", "1", "--yes"]));
    assert!(out.contains("autoscaling/v2beta2") && out.contains("as autoscaling/v2"), "says so: {out}");
    assert!(hpa_uid(&env).is_some_and(|u| u != uid), "created again: {out}");
    let manifest = assert_ok(&env.run(&["get", "manifest", "prod"]));
    assert!(manifest.contains("apiVersion: autoscaling/v2\n"), "recorded as applied: {manifest}");

    let out = assert_ok(&env.run(&["uninstall", "gone", "--yes"]));
    let left = env.get("autoscaling/v2", "HorizontalPodAutoscaler", "gone-dimtensor");
    assert!(left.is_none(), "uninstalled through the served version: {out}");
    assert!(assert_fails(&env.run(&["history", "gone"])).contains("not found"));
}
