//! Rollout truth (issue 14): a revision is `deployed` only when its `--wait` succeeded, on every
//! object of the revision; readiness by `kubectl rollout status`'s rules (and claims bound);
//! objects being deleted shown, waited for and made again; an interrupted uninstall that names
//! its way out; the immutable-Job error said once. On a real cluster the broken rollout is an
//! image that cannot be pulled, and the finalizer one nobody serves (the test removes it).

use crate::common::diff_both_ways;
use crate::support::{assert_fails, assert_ok, pairs, text, Env};
use dimtensor_test_apiserver::{Config, ControllerConfig, DeploymentBehaviour, VolumeBehaviour};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Never ready anywhere: the test server's controller here never rolls out, and a real cluster
/// cannot pull the image.
const BROKEN: &[&str] = &["--overlay", "inference", "--set", "image.repository=registry.invalid/none"];
const FINALIZER: &str = "example.com/block";
/// The ConfigMap of release `p` (`configMap.enabled`), named like the chart's.
const CM: &str = "p-dimtensor";

fn cmd<'a>(parts: &[&[&'a str]]) -> Vec<&'a str> {
    parts.concat()
}

fn never_ready(name: &str) -> Env {
    Env::with(name, Config::new().controller(ControllerConfig::never_ready()))
}

#[test]
fn a_rerun_with_wait_never_records_a_broken_rollout_as_deployed() {
    let env = never_ready("rerun");
    let wait: &[&str] = &["--yes", "--wait", "--timeout", "3s"];
    let install = cmd(&[&["install", "w"], BROKEN, wait]);
    let err = assert_fails(&env.run(&install));
    assert!(err.contains("revision 1 failed") && err.contains("timed out"), "{err}");
    // Nothing of it is deployed: the hint names what is allowed, not upgrade or rollback.
    assert!(err.contains("`kubectl dimtensor install w` again") && !err.contains("rollback"), "{err}");
    // The same again: nothing to apply, and still not ready.
    let err = assert_fails(&env.run(&install));
    assert!(err.contains("revision 2 failed") && err.contains("Deployment/"), "{err}");
    let err = assert_fails(&env.run(&cmd(&[&["upgrade", "w", "--install"], BROKEN, wait])));
    assert!(err.contains("revision 3 failed") && err.contains("Deployment/"), "{err}");
    assert_eq!(env.statuses("w"), pairs(&[(1, "failed"), (2, "failed"), (3, "failed")]));

    // Without --wait a revision is deployed once applied (as Helm's); a later upgrade with
    // nothing to change but --wait still waits, and says it is not ready.
    assert_ok(&env.run(&cmd(&[&["install", "w"], BROKEN, &["--yes"]])));
    let err = assert_fails(&env.run(&cmd(&[&["upgrade", "w"], wait])));
    assert!(err.contains("nothing to change, but revision 4 is not ready") && err.contains("Deployment/"), "{err}");
    assert_eq!(env.statuses("w").last(), Some(&(4, "deployed".to_string())), "no revision for nothing");
}

#[test]
fn a_rollout_with_old_replicas_left_is_not_rolled_out() {
    let controller = ControllerConfig::ready().deployments(DeploymentBehaviour::OldReplicasRemain);
    let env = Env::with("oldrs", Config::new().controller(controller));
    if env.server_only("needs a controller that leaves an old replica").is_none() {
        return;
    }
    let err = assert_fails(&env.run(&["install", "w", "--overlay", "inference", "--yes", "--wait", "--timeout", "3s"]));
    assert!(err.contains("1 old replicas pending termination"), "{err}");
    assert_eq!(env.statuses("w"), pairs(&[(1, "failed")]));
    let status = assert_ok(&env.run(&["status", "w"]));
    assert!(status.contains("pending: 1 old replicas pending termination"), "{status}");
}

/// StorageClasses are cluster-wide: named after the test's namespace, deleted at the end.
struct Classes<'a>(&'a Env, Vec<String>);

impl Drop for Classes<'_> {
    fn drop(&mut self) {
        for c in &self.1 {
            let _ = self.0.kubectl(&["delete", "storageclass", c, "--wait=false"]);
        }
    }
}

#[test]
fn a_claim_must_be_bound_unless_its_class_binds_for_a_first_consumer() {
    let env = Env::new("claims");
    let (late, never) = (format!("{}-late", env.namespace), format!("{}-never", env.namespace));
    let classes = Classes(&env, vec![late.clone(), never.clone()]);
    for (name, mode) in [(&late, "WaitForFirstConsumer"), (&never, "Immediate")] {
        let sc = format!(
            r#"{{"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {{"name": "{name}"}},
                "provisioner": "example.com/none", "volumeBindingMode": "{mode}"}}"#
        );
        let made = env.kubectl_with(&["apply", "-f", "-"], Some(&sc));
        assert!(made.status.success(), "{}", text(&made.stderr));
    }
    let install = |release: &str, class: &str| {
        let class = format!("persistence.storageClass={class}");
        let args = ["install", release, "--overlay", "inference", "--set", "persistence.enabled=true", "--set"];
        env.run(&cmd(&[&args, &[class.as_str(), "--yes", "--wait", "--timeout", "4s"]]))
    };
    // Nothing uses the claim yet, so it stays Pending: under WaitForFirstConsumer that is ready.
    assert_ok(&install("a", &late));
    if let Some(server) = &env.server {
        server.set_controller(ControllerConfig::ready().volumes(VolumeBehaviour::Untouched));
    }
    // A class that binds at once but never does (no such provisioner): not ready.
    let err = assert_fails(&install("b", &never));
    assert!(err.contains("PersistentVolumeClaim/") && err.contains("not bound to a volume yet"), "{err}");
    assert_eq!(env.statuses("b"), pairs(&[(1, "failed")]));
    drop(classes);
}

/// Holds the release's ConfigMap with a finalizer nobody serves; releases it on drop, so the
/// namespace can go whatever the test did.
struct Held<'a>(&'a Env);

impl Held<'_> {
    fn new(env: &Env) -> Held<'_> {
        let patch = format!(r#"{{"metadata":{{"finalizers":["{FINALIZER}"]}}}}"#);
        let out = env.kubectl(&["patch", "configmap", CM, "-n", &env.namespace, "--type", "merge", "-p", &patch]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        Held(env)
    }

    fn release(&self) {
        let patch = r#"{"metadata":{"finalizers":null}}"#;
        let ns = self.0.namespace.as_str();
        let _ = self.0.kubectl(&["patch", "configmap", CM, "-n", ns, "--type", "merge", "-p", patch]);
    }

    /// Releases it after `delay`, from another thread (while a command waits for it).
    fn release_after(&self, delay: Duration) -> std::thread::JoinHandle<()> {
        let (kubeconfig, ns) = (self.0.kubeconfig.clone(), self.0.namespace.clone());
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let kubectl = std::env::var("DIMTENSOR_KUBECTL").unwrap_or_else(|_| "kubectl".into());
            let patch = r#"{"metadata":{"finalizers":null}}"#;
            let _ = std::process::Command::new(kubectl)
                .args(["patch", "configmap", CM, "-n", &ns, "--type", "merge", "-p", patch, "--kubeconfig"])
                .arg(kubeconfig)
                .output();
        })
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

fn config_map(env: &Env) -> Option<Value> {
    env.get("v1", "ConfigMap", CM)
}

#[test]
fn a_terminating_object_is_shown_waited_for_and_made_again() {
    let env = Env::new("term");
    assert_ok(&env.run(&["install", "p", "--overlay", "cronjob", "--set", "configMap.enabled=true", "--yes"]));
    let held = Held::new(&env);
    assert!(env.kubectl(&["delete", "configmap", CM, "-n", &env.namespace, "--wait=false"]).status.success());
    let before = config_map(&env).expect("held by its finalizer");
    assert!(before["metadata"]["deletionTimestamp"].is_string());

    let status = assert_ok(&env.run(&["status", "p"]));
    assert!(status.contains(&format!("terminating: held by finalizers {FINALIZER}")), "{status}");
    let diff = diff_both_ways(|a| env.run(a), &["diff", "p"]);
    let shown = text(&diff.stdout);
    assert_eq!(diff.status.code(), Some(1), "{shown}{}", text(&diff.stderr));
    assert!(shown.contains(&format!("ConfigMap/{}/{CM} (terminating)", env.namespace)), "{shown}");
    assert!(shown.contains(FINALIZER) && shown.contains("1 terminating"), "{shown}");

    // Everything else is unchanged, yet the upgrade must make the ConfigMap again: it waits for
    // it to go, and when it does not within --timeout, refuses naming the finalizer.
    let err = assert_fails(&env.run(&["upgrade", "p", "--yes", "--timeout", "2s"]));
    assert!(err.contains("ConfigMap/") && err.contains(FINALIZER) && err.contains("revision 2 failed"), "{err}");
    // Released while it waits: it goes, and the upgrade makes it anew.
    let releaser = held.release_after(Duration::from_millis(1500));
    let out = assert_ok(&env.run(&["upgrade", "p", "--yes", "--timeout", "60s"]));
    releaser.join().expect("the releasing thread");
    let now = config_map(&env).expect("made again");
    assert!(now["metadata"]["deletionTimestamp"].is_null(), "{now}");
    assert_ne!(now["metadata"]["uid"], before["metadata"]["uid"], "a new object: {out}");
    assert_eq!(env.statuses("p"), pairs(&[(1, "superseded"), (2, "failed"), (3, "deployed")]));
    assert_eq!(diff_both_ways(|a| env.run(a), &["diff", "p"]).status.code(), Some(0));
}

/// `uninstall --wait` killed (SIGKILL: no cleanup, its lock left behind) while the ConfigMap
/// waits on its finalizer.
fn kill_uninstall_midway(env: &Env) {
    let child = env.spawn(&["uninstall", "p", "--wait", "--timeout", "60s", "--lock-duration", "2s", "--yes"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !config_map(env).is_some_and(|c| c["metadata"]["deletionTimestamp"].is_string()) {
        assert!(Instant::now() < deadline, "the uninstall never deleted the ConfigMap");
        std::thread::sleep(Duration::from_millis(100));
    }
    let killed = std::process::Command::new("kill").args(["-KILL", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let _ = child.wait_with_output();
}

#[test]
fn an_interrupted_uninstall_names_the_way_out_and_is_repaired() {
    let env = Env::new("maze");
    let install = ["install", "p", "--overlay", "cronjob", "--set", "configMap.enabled=true", "--yes"];
    assert_ok(&env.run(&install));
    assert_ok(&env.run(&["upgrade", "p", "--reuse-values", "--set", "image.tag=4.3.0", "--yes"]));
    let held = Held::new(&env);
    kill_uninstall_midway(&env);
    assert_eq!(env.statuses("p"), pairs(&[(1, "superseded"), (2, "uninstalling")]));

    // Every command that cannot go on says what gets the user out.
    let upsert = ["upgrade", "p", "--install", "--overlay", "cronjob", "--yes"];
    for args in [&install[..], &["upgrade", "p", "--yes"][..], &upsert[..]] {
        let err = assert_fails(&env.run(args));
        assert!(
            err.contains("`kubectl dimtensor uninstall p`") && err.contains("`kubectl dimtensor rollback p 2`"),
            "{args:?}: {err}"
        );
    }
    // Keeping the release: rollback to the revision being uninstalled waits for the ConfigMap to
    // go, makes it again, and the stale `uninstalling` record is repaired.
    let releaser = held.release_after(Duration::from_millis(1000));
    assert_ok(&env.run(&["rollback", "p", "2", "--yes", "--timeout", "60s"]));
    releaser.join().expect("the releasing thread");
    assert_eq!(env.statuses("p"), pairs(&[(1, "superseded"), (2, "superseded"), (3, "deployed")]));
    assert!(config_map(&env).is_some_and(|c| c["metadata"]["deletionTimestamp"].is_null()));

    // The other way out: uninstall again, after an uninstall stopped the same way.
    let held = Held::new(&env);
    kill_uninstall_midway(&env);
    let err = assert_fails(&env.run(&["install", "p", "--overlay", "cronjob", "--yes"]));
    assert!(err.contains("`kubectl dimtensor uninstall p`"), "{err}");
    let releaser = held.release_after(Duration::from_millis(1000));
    assert_ok(&env.run(&["uninstall", "p", "--yes", "--wait", "--timeout", "60s"]));
    releaser.join().expect("the releasing thread");
    assert!(env.statuses("p").is_empty() && config_map(&env).is_none());
    assert_ok(&env.run(&install));
}

#[test]
fn an_immutable_job_field_is_named_once_with_the_way_to_replace_it() {
    let env = Env::new("jobfield");
    assert_ok(&env.run(&["install", "p", "--overlay", "training", "--yes"]));
    let out = env.run(&["upgrade", "p", "--set", "image.tag=4.3.1", "--yes"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(!stdout.contains("PodTemplateSpec{") && !stderr.contains("PodTemplateSpec{"), "{stdout}{stderr}");
    assert!(stderr.contains("spec.template is immutable") && stderr.contains("--force replaces the Job"), "{stderr}");
    assert_eq!(stderr.matches("is immutable").count(), 1, "said once: {stderr}");
    assert!(stdout.contains("(replace)") && stdout.contains("spec.template is immutable"), "{stdout}");
}
