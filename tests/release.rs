//! Releases end to end: records, the commands that read them, and upgrade inputs, with the real
//! binary against the test API server (or a real cluster with `DIMTENSOR_E2E_KUBECONFIG`).
//! Lifecycle rows with faults, the lock and `--atomic` are in `release/lifecycle.rs`; the fault
//! matrix (every step of every operation) in `release/faults.rs`; Helm adoption in
//! `release/adopt.rs`; what a release may touch in `release/ownership.rs`; objects across API
//! versions in `release/versions.rs`; rollout truth (waits, readiness, terminating objects, the
//! interrupted uninstall) in `release/truth.rs`; the lock's takeover rules in `release/lock.rs`;
//! the hand-over to a GitOps engine in `release/gitops_handover.rs`.

#[path = "release/adopt.rs"]
mod adopt;
#[path = "release/chart.rs"]
mod chart;
mod common;
#[path = "release/exact.rs"]
mod exact;
#[path = "release/fault_steps.rs"]
mod fault_steps;
#[path = "release/faults.rs"]
mod faults;
#[path = "release/gitops_handover.rs"]
mod gitops_handover;
#[path = "release/guards.rs"]
mod guards;
#[path = "release/handover.rs"]
mod handover;
#[path = "release/lifecycle.rs"]
mod lifecycle;
#[path = "release/lock.rs"]
mod lock;
#[path = "release/ownership.rs"]
mod ownership;
#[path = "release/support.rs"]
mod support;
#[path = "release/truth.rs"]
mod truth;
#[path = "release/versions.rs"]
mod versions;

use base64::Engine;
use common::diff_both_ways;
use serde_json::Value;
use std::io::Read;
use support::{assert_fails, assert_ok, pairs, text, Env};

/// The record of a revision, decoded by hand (base64, gzip, JSON) as the README documents it.
pub(crate) fn record(env: &Env, name: &str, revision: u64) -> Value {
    let secret = env.get("v1", "Secret", &format!("dimtensor.release.v1.{name}.v{revision}")).expect("record exists");
    assert_eq!(secret["type"], "dimtensor.io/release.v1");
    let labels = &secret["metadata"]["labels"];
    assert_eq!((labels["name"].as_str(), labels["owner"].as_str()), (Some(name), Some("dimtensor")));
    assert_eq!(labels["revision"], revision.to_string());
    let gz = base64::engine::general_purpose::STANDARD.decode(secret["data"]["release"].as_str().unwrap()).unwrap();
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut json).unwrap();
    let rel: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(labels["status"], rel["status"]);
    rel
}

#[test]
fn install_and_upgrade_write_one_record_per_revision() {
    let env = Env::new("records");
    assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--set", "replicaCount=2", "--yes"]));
    let r1 = record(&env, "prod", 1);
    assert_eq!((r1["status"].as_str(), r1["revision"].as_u64()), (Some("deployed"), Some(1)));
    assert_eq!(r1["overlay"], "inference");
    assert_eq!(r1["values"], serde_json::json!({"replicaCount": 2}), "only the values the user gave");
    assert_eq!(r1["manifest"].as_array().map(Vec::len), Some(4));
    assert_eq!(r1["manifest"][2]["metadata"]["labels"]["dimtensor.io/release"], "prod");
    for key in ["first_deployed", "last_deployed", "description", "version", "namespace", "name"] {
        assert!(r1[key].is_string(), "{key} in {r1}");
    }

    let out = assert_ok(&env.run(&["upgrade", "prod", "--reuse-values", "--set", "image.tag=4.3.0", "--yes"]));
    assert!(out.contains("release prod upgraded (revision 2)"), "{out}");
    let r2 = record(&env, "prod", 2);
    assert_eq!(r2["values"], serde_json::json!({"replicaCount": 2, "image": {"tag": "4.3.0"}}), "merged over stored");
    assert_eq!(r2["overlay"], "inference", "no --overlay: the stored one");
    assert_eq!(r2["first_deployed"], r1["first_deployed"]);
    assert_eq!(record(&env, "prod", 1)["status"], "superseded");

    // No new inputs: the stored ones again, and nothing to do.
    let same = assert_ok(&env.run(&["upgrade", "prod", "--yes"]));
    assert!(same.contains("nothing to change (revision 2 stays deployed)"), "{same}");
    assert_eq!(env.statuses("prod"), pairs(&[(1, "superseded"), (2, "deployed")]));
}

#[test]
fn reset_values_and_a_new_overlay_are_explicit() {
    let env = Env::new("inputs");
    assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--set", "image.tag=4.3.0", "--yes"]));
    let out = assert_ok(&env.run(&["upgrade", "prod", "--reset-values", "--set", "replicaCount=2", "--yes"]));
    assert!(out.contains("(revision 2)"), "{out}");
    let r2 = record(&env, "prod", 2);
    assert_eq!(r2["values"], serde_json::json!({"replicaCount": 2}));
    let deploy = env.get("apps/v1", "Deployment", "prod-dimtensor").unwrap();
    assert_eq!(deploy["spec"]["template"]["spec"]["containers"][0]["image"], "docker.io/dimtensor:4.2.0-cpu-full");

    let out = assert_ok(&env.run(&["upgrade", "prod", "--overlay", "cronjob", "--yes"]));
    assert!(out.contains("CronJob/") && out.contains("Deployment/") && out.contains("deleted"), "{out}");
    assert_eq!(record(&env, "prod", 3)["overlay"], "cronjob");
    assert!(env.get("apps/v1", "Deployment", "prod-dimtensor").is_none(), "pruned: the new render lacks it");
}

#[test]
fn history_lists_revisions_as_table_json_and_yaml() {
    let env = Env::new("history");
    assert_ok(&env.run(&["install", "prod", "--overlay", "cronjob", "--yes"]));
    assert_ok(&env.run(&["upgrade", "prod", "--set", "image.tag=4.3.0", "--yes"]));
    let table = assert_ok(&env.run(&["history", "prod"]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("REVISION") && lines[0].contains("UPDATED") && lines[0].ends_with("DESCRIPTION"),
        "{table}"
    );
    assert!(lines[1].starts_with("1 ") && lines[1].contains("superseded") && lines[1].contains("cronjob"), "{table}");
    assert!(
        lines[2].starts_with("2 ") && lines[2].contains("deployed") && lines[2].contains("Upgrade complete"),
        "{table}"
    );
    let json: Value = serde_json::from_str(&assert_ok(&env.run(&["history", "prod", "-o", "json"]))).unwrap();
    assert_eq!(json[1]["revision"], 2);
    assert!(json[1]["revision"].is_u64(), "revision is an integer");
    assert!(assert_ok(&env.run(&["history", "prod", "-o", "yaml"])).contains("status: deployed"));
    let err = assert_fails(&env.run(&["history", "nope"]));
    assert!(err.contains("release nope not found in namespace"), "{err}");
}

#[test]
fn get_values_and_manifest_mask_secrets_unless_asked() {
    let env = Env::new("get");
    let canary = "Y2FuYXJ5LXZhbHVl";
    let token = format!("secret.data.token={canary}");
    assert_ok(&env.run(&[
        "install",
        "prod",
        "--overlay",
        "training",
        "--set",
        "secret.enabled=true",
        "--set",
        &token,
        "--yes",
    ]));
    assert_ok(&env.run(&["upgrade", "prod", "--reuse-values", "--set", "image.tag=4.3.0", "--force", "--yes"]));
    let values = assert_ok(&env.run(&["get", "values", "prod"]));
    assert!(values.contains("token: '***'") || values.contains("token: \"***\""), "{values}");
    assert!(!values.contains(canary) && values.contains("4.3.0"), "{values}");
    assert!(assert_ok(&env.run(&["get", "values", "prod", "--show-secrets"])).contains(canary));
    let v1 = assert_ok(&env.run(&["get", "values", "prod", "--revision", "1", "-o", "json"]));
    assert!(!v1.contains("4.3.0") && v1.contains("\"enabled\": true"), "{v1}");

    let manifest = assert_ok(&env.run(&["get", "manifest", "prod"]));
    assert!(manifest.contains("kind: Job") && manifest.contains("kind: Secret"), "{manifest}");
    assert!(!manifest.contains(canary), "{manifest}");
    assert!(assert_ok(&env.run(&["get", "manifest", "prod", "--show-secrets"])).contains(canary));
    let err = assert_fails(&env.run(&["get", "manifest", "prod", "--revision", "9"]));
    assert!(err.contains("no revision 9") && err.contains("it has 1, 2"), "{err}");
}

#[test]
fn status_shows_each_resource_and_job_progress() {
    let env = Env::new("status");
    // The test server's controller completes the Job; a real cluster cannot pull the image.
    let wait: &[&str] = if env.server.is_some() { &["--wait-for-jobs", "--timeout", "60s"] } else { &[] };
    assert_ok(&env.run(&[&["install", "batch", "--overlay", "batch", "--yes"][..], wait].concat()));
    let out = assert_ok(&env.run(&["status", "batch"]));
    assert!(out.contains("REVISION: 1") && out.contains("STATUS: deployed"), "{out}");
    assert!(out.contains("ConfigMap/") && out.contains("Job/") && out.contains("/100 completions"), "{out}");
    assert!(out.contains(&format!("kubectl dimtensor logs batch -n {}", env.namespace)), "{out}");
    let json: Value = serde_json::from_str(&assert_ok(&env.run(&["status", "batch", "-o", "json"]))).unwrap();
    assert_eq!(json["revision"], 1);
    if env.server.is_some() {
        assert!(out.contains("100/100 completions"), "{out}");
        assert!(json["resources"].as_array().unwrap().iter().all(|r| r["state"] == "ready"), "{json}");
    }
}

#[test]
fn list_shows_the_latest_revision_of_each_release() {
    let env = Env::new("list");
    assert_ok(&env.run(&["install", "a", "--overlay", "cronjob", "--yes"]));
    assert_ok(&env.run(&["install", "b", "--overlay", "cronjob", "--yes"]));
    assert_ok(&env.run(&["upgrade", "b", "--set", "image.tag=4.3.0", "--yes"]));
    let out = assert_ok(&env.run(&["list"]));
    assert!(out.starts_with("NAME"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("a ") && l.contains(" 1 ") && l.contains("deployed")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("b ") && l.contains(" 2 ") && l.contains("deployed")), "{out}");
    let all: Value = serde_json::from_str(&assert_ok(&env.run(&["list", "-A", "-o", "json"]))).unwrap();
    let ours: Vec<&Value> =
        all.as_array().unwrap().iter().filter(|r| r["namespace"] == env.namespace.as_str()).collect();
    assert_eq!(ours.len(), 2, "{all}");
}

#[test]
fn rollback_reapplies_the_previous_revision_and_prunes_what_it_lacks() {
    let env = Env::new("rollback");
    assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--yes"]));
    assert_ok(&env.run(&["upgrade", "prod", "--set", "configMap.enabled=true", "--set", "image.tag=4.3.0", "--yes"]));
    assert!(env.get("v1", "ConfigMap", "prod-dimtensor").is_some());

    let dry = env.run(&["rollback", "prod", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(1), "{}", text(&dry.stderr));
    let plan = text(&dry.stdout);
    assert!(
        plan.contains("to revision 1") && plan.contains("/prod-dimtensor (delete)"),
        "the diff shows the prune first: {plan}"
    );
    assert!(env.get("v1", "ConfigMap", "prod-dimtensor").is_some(), "a dry run deletes nothing");

    let out = assert_ok(&env.run(&["rollback", "prod", "--yes"]));
    assert!(out.contains("rolled back to revision 1 (now revision 3)"), "{out}");
    assert!(env.get("v1", "ConfigMap", "prod-dimtensor").is_none());
    let deploy = env.get("apps/v1", "Deployment", "prod-dimtensor").unwrap();
    assert_eq!(deploy["spec"]["template"]["spec"]["containers"][0]["image"], "docker.io/dimtensor:4.2.0-cpu-full");
    assert_eq!(env.statuses("prod"), pairs(&[(1, "superseded"), (2, "superseded"), (3, "deployed")]));
    assert_eq!(record(&env, "prod", 3)["values"], serde_json::json!({}), "the target's inputs");

    assert_ok(&env.run(&["rollback", "prod", "2", "--yes"]));
    assert!(env.get("v1", "ConfigMap", "prod-dimtensor").is_some());
    let err = assert_fails(&env.run(&["rollback", "prod", "9", "--yes"]));
    assert!(err.contains("no revision 9"), "{err}");
}

#[test]
fn upgrade_prunes_but_keeps_persistent_volume_claims() {
    let env = Env::new("prune");
    assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--set", "persistence.enabled=true", "--yes"]));
    let out = assert_ok(&env.run(&["upgrade", "prod", "--set", "persistence.enabled=false", "--yes"]));
    assert!(out.contains("PersistentVolumeClaim/") && out.contains("(delete)"), "shown as delete first: {out}");
    assert!(out.contains("kept (PersistentVolumeClaim"), "{out}");
    assert!(env.get("v1", "PersistentVolumeClaim", "prod-dimtensor").is_some());
}

#[test]
fn install_and_upgrade_follow_the_records_not_the_labels() {
    let env = Env::new("exists");
    let err = assert_fails(&env.run(&["upgrade", "prod", "--overlay", "cronjob", "--yes"]));
    assert!(err.contains("release prod not found") && err.contains("upgrade --install"), "{err}");
    assert_ok(&env.run(&["upgrade", "prod", "--install", "--overlay", "cronjob", "--yes"]));
    // A plan that fails (here: a mistyped key) records nothing.
    let err = assert_fails(&env.run(&["upgrade", "prod", "--set", "imag.tag=1", "--yes"]));
    assert!(err.contains("did you mean image.tag"), "{err}");
    assert_eq!(env.statuses("prod"), pairs(&[(1, "deployed")]));
    let err = assert_fails(&env.run(&["install", "prod", "--overlay", "cronjob", "--yes"]));
    assert!(err.contains("already exists") && err.contains("upgrade prod"), "{err}");
}

#[test]
fn uninstall_deletes_records_or_keeps_history_for_a_later_install() {
    let env = Env::new("uninstall");
    assert_ok(&env.run(&["install", "prod", "--overlay", "cronjob", "--yes"]));
    let out = assert_ok(&env.run(&["uninstall", "prod", "--keep-history", "--yes"]));
    assert!(out.contains("release prod uninstalled"), "{out}");
    assert!(env.get("batch/v1", "CronJob", "prod-dimtensor").is_none());
    assert_eq!(env.statuses("prod"), pairs(&[(1, "uninstalled")]));
    assert!(assert_fails(&env.run(&["uninstall", "prod", "--keep-history", "--yes"])).contains("already uninstalled"));

    assert_ok(&env.run(&["install", "prod", "--overlay", "cronjob", "--yes"]));
    assert_eq!(env.statuses("prod"), pairs(&[(1, "uninstalled"), (2, "deployed")]));
    assert_ok(&env.run(&["uninstall", "prod", "--yes"]));
    assert!(env.get("v1", "Secret", "dimtensor.release.v1.prod.v2").is_none(), "records are deleted");
    assert!(env.get("v1", "Secret", "dimtensor.release.v1.prod.v1").is_none());
    assert!(assert_fails(&env.run(&["uninstall", "prod", "--yes"])).contains("not found"));
}

#[test]
fn history_max_keeps_the_newest_revisions() {
    let env = Env::new("histmax");
    assert_ok(&env.run(&["install", "prod", "--overlay", "cronjob", "--yes", "--history-max", "2"]));
    for tag in ["4.2.1", "4.2.2", "4.2.3"] {
        assert_ok(&env.run(&["upgrade", "prod", "--set", &format!("image.tag={tag}"), "--yes", "--history-max", "2"]));
    }
    assert_eq!(env.statuses("prod"), pairs(&[(3, "superseded"), (4, "deployed")]));
    assert!(env.get("v1", "Secret", "dimtensor.release.v1.prod.v1").is_none());
}

#[test]
fn diff_of_an_installed_release_renders_its_stored_inputs_and_reports_drift() {
    let env = Env::new("drift");
    assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--set", "image.tag=4.3.0", "--yes"]));
    let clean = diff_both_ways(|a| env.run(a), &["diff", "prod"]);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "stored inputs render the same: {}{}",
        text(&clean.stdout),
        text(&clean.stderr)
    );
    assert!(text(&clean.stdout).contains("Drift since revision 1") && text(&clean.stdout).contains("none"));

    // Someone edits the Deployment and deletes the Service behind the release's back.
    let patch = r#"{"spec":{"template":{"spec":{"containers":[{"name":"dimtensor","image":"evil:1"}]}}}}"#;
    let edited = env.kubectl(&[
        "patch",
        "deployment",
        "prod-dimtensor",
        "-n",
        &env.namespace,
        "--type",
        "strategic",
        "-p",
        patch,
        "--field-manager",
        "kubectl-edit",
    ]);
    assert!(edited.status.success(), "{}", text(&edited.stderr));
    assert!(env.kubectl(&["delete", "service", "prod-dimtensor", "-n", &env.namespace]).status.success());

    let out = diff_both_ways(|a| env.run(a), &["diff", "prod"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let drift = stdout.split("Drift since revision 1").nth(1).unwrap_or_default();
    assert!(
        drift.contains("Deployment/")
            && drift.contains("(modified)")
            && drift.lines().any(|l| l.starts_with('+') && l.trim_start_matches(['+', '-', ' ']) == "image: evil:1"),
        "{stdout}"
    );
    assert!(drift.contains("Service/") && drift.contains("(deleted)"), "{stdout}");
    assert!(drift.contains("Drift: 1 modified, 1 deleted"), "{stdout}");
    assert!(text(&out.stderr).contains("--force-conflicts"), "{}", text(&out.stderr));
    let json = diff_both_ways(|a| env.run(a), &["diff", "prod", "-o", "json"]);
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["drift"]["objects"].as_array().map(Vec::len), Some(2), "{json}");

    assert_ok(&env.run(&["upgrade", "prod", "--force-conflicts", "--yes"]));
    assert_eq!(diff_both_ways(|a| env.run(a), &["diff", "prod"]).status.code(), Some(0), "repaired");
}

#[test]
fn a_job_removed_by_its_ttl_counts_as_complete_and_immutable_changes_need_force() {
    let env = Env::new("jobs");
    assert_ok(&env.run(&["install", "prod", "--overlay", "training", "--yes"]));
    assert!(env.kubectl(&["delete", "job", "prod-dimtensor", "-n", &env.namespace]).status.success());
    let out = diff_both_ways(|a| env.run(a), &["diff", "prod"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("ttlSecondsAfterFinished; not run again"), "{}", text(&out.stdout));
    assert!(assert_ok(&env.run(&["upgrade", "prod", "--yes"])).contains("nothing to change"));
    assert!(env.get("batch/v1", "Job", "prod-dimtensor").is_none(), "not re-run");

    // A new template cannot be applied in place: the plan says replace, and only --force does it.
    assert_ok(&env.run(&["upgrade", "prod", "--set", "image.tag=4.3.0", "--yes"]));
    let err = assert_fails(&env.run(&["upgrade", "prod", "--set", "image.tag=4.3.1", "--yes"]));
    assert!(err.contains("--force"), "{err}");
    assert_eq!(env.statuses("prod"), pairs(&[(1, "superseded"), (2, "deployed")]), "refused before recording");
    let out = assert_ok(&env.run(&["upgrade", "prod", "--set", "image.tag=4.3.1", "--force", "--yes"]));
    assert!(out.contains("(replace)") && out.contains("replaced"), "{out}");
}
