//! What a release may touch: only what its records list, confirmed by the live object's release
//! label and uid, applied under a field manager of its own (`kubectl-dimtensor/<release>`)
//! without force, so the API server itself refuses an apply over another release's object.

use crate::support::{assert_ok, pairs, text, Env};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const SHARED: &[&str] = &["--overlay", "inference", "--set", "fullnameOverride=shared", "--yes"];

fn install(name: &str) -> Vec<&str> {
    [&["install", name][..], SHARED].concat()
}

fn managers(obj: &Value) -> Vec<(String, String)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| (e["manager"].as_str().unwrap_or("").into(), e["operation"].as_str().unwrap_or("").into()))
                .collect()
        })
        .unwrap_or_default()
}

fn release_of(obj: &Value) -> &str {
    obj["metadata"]["labels"]["dimtensor.io/release"].as_str().unwrap_or("")
}

/// Defect 1: `b` took over the names `a` had; uninstalling `a` must leave `b` alone.
#[test]
fn uninstall_of_one_release_leaves_another_releases_objects() {
    let env = Env::new("own-uninst");
    assert_ok(&env.run(&install("a")));
    let deleted = env.kubectl(&["-n", &env.namespace, "delete", "deploy,svc,sa,hpa", "shared"]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    assert_ok(&env.run(&install("b")));
    let deploy = env.get("apps/v1", "Deployment", "shared").unwrap();
    assert_eq!(release_of(&deploy), "b");

    let out = assert_ok(&env.run(&["uninstall", "a", "--yes"]));
    for (v, k) in [("v1", "ServiceAccount"), ("v1", "Service"), ("apps/v1", "Deployment")] {
        let live = env.get(v, k, "shared").unwrap_or_else(|| panic!("uninstall a deleted b's {k}:\n{out}"));
        assert_eq!(release_of(&live), "b");
    }
    assert!(env.get("autoscaling/v2", "HorizontalPodAutoscaler", "shared").is_some(), "{out}");
    assert!(out.contains("belongs to release b") && out.contains("not deleted"), "says why it was left: {out}");
    assert_eq!(env.statuses("b"), pairs(&[(1, "deployed")]));
    let list = assert_ok(&env.run(&["list"]));
    assert!(list.lines().any(|l| l.starts_with("b ") && l.contains("deployed")), "{list}");
}

/// Defect 1, for upgrade: its prune leaves what another release took over since.
#[test]
fn an_upgrades_prune_leaves_what_another_release_took() {
    let env = Env::new("own-prune");
    let shared = ["--overlay", "cronjob", "--set", "fullnameOverride=shared,configMap.enabled=true", "--yes"];
    assert_ok(&env.run(&[&["install", "a"][..], &shared].concat()));
    let deleted = env.kubectl(&["-n", &env.namespace, "delete", "cronjob,configmap,sa", "shared"]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    assert_ok(&env.run(&[&["install", "b"][..], &shared].concat()));
    // `a` moves to names of its own: what it had under the old ones is b's now.
    let out = assert_ok(&env.run(&["upgrade", "a", "--set", "fullnameOverride=a-own", "--yes"]));
    assert!(out.contains("ConfigMap/") && out.contains("belongs to release b now"), "{out}");
    assert_eq!(release_of(&env.get("v1", "ConfigMap", "shared").expect("b's, left alone")), "b");
    assert_eq!(release_of(&env.get("batch/v1", "CronJob", "shared").expect("b's, left alone")), "b");
}

/// Defect 1: two releases installing the same names at once; the server's conflict on the
/// release label decides, so exactly one owns every object.
#[test]
fn of_two_concurrent_installs_of_the_same_names_exactly_one_owns_them() {
    let env = Env::new("own-race");
    if let Some(server) = &env.server {
        // Both plan (everything is a create) before either applies.
        let first_apply = r"/serviceaccounts/shared\?&fieldManager";
        server.add_fault(env.fault("PATCH", first_apply).always().delay(Duration::from_secs(2)));
    }
    let a = env.spawn(&install("a"));
    let b = env.spawn(&install("b"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let ok: Vec<&str> = [("a", &a), ("b", &b)].iter().filter(|(_, o)| o.status.success()).map(|(n, _)| *n).collect();
    assert_eq!(
        ok.len(),
        1,
        "exactly one succeeds:\n{}{}\n{}{}",
        text(&a.stdout),
        text(&a.stderr),
        text(&b.stdout),
        text(&b.stderr)
    );
    let winner = ok[0];
    let loser = if winner == "a" { &b } else { &a };
    let err = text(&loser.stderr);
    assert!(err.contains("shared") && (err.contains("conflict") || err.contains("belongs to")), "{err}");
    for (v, k) in [("v1", "ServiceAccount"), ("v1", "Service"), ("apps/v1", "Deployment")] {
        let live = env.get(v, k, "shared").unwrap();
        assert_eq!(release_of(&live), winner, "{k} labelled for the winner");
        let theirs = format!("kubectl-dimtensor/{}", if winner == "a" { "b" } else { "a" });
        assert!(!managers(&live).iter().any(|(m, _)| *m == theirs), "{k}: the loser owns nothing");
    }
    // The loser's uninstall leaves the winner's objects.
    let loser_name = if winner == "a" { "b" } else { "a" };
    assert_ok(&env.run(&["uninstall", loser_name, "--yes"]));
    assert!(env.get("apps/v1", "Deployment", "shared").is_some());
}

/// Defect 1 and the delete rule: uninstall deletes only what the records list, only while it
/// is still the release's (label), and only the very object it applied (uid).
#[test]
fn uninstall_deletes_only_what_the_release_applied() {
    let env = Env::new("own-records");
    assert_ok(&env.run(&["install", "s", "--overlay", "cronjob", "--set", "configMap.enabled=true", "--yes"]));
    // A ConfigMap the user created and labelled as the release's: never applied by it.
    let user_cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "users-own", "labels": {"dimtensor.io/release": "s"}}, "data": {"k": "v"}});
    let made = env.kubectl_with(&["-n", &env.namespace, "create", "-f", "-"], Some(&user_cm.to_string()));
    assert!(made.status.success(), "{}", text(&made.stderr));
    // The release's ConfigMap, deleted and made again by someone else under the same name and label.
    let cm = env.get("v1", "ConfigMap", "s-dimtensor").unwrap();
    assert!(env.kubectl(&["-n", &env.namespace, "delete", "configmap", "s-dimtensor"]).status.success());
    let mut newcomer = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s-dimtensor",
        "labels": {"dimtensor.io/release": "s"}}, "data": {"mine": "1"}});
    newcomer["metadata"]["annotations"] = cm["metadata"]["annotations"].clone();
    let made = env.kubectl_with(&["-n", &env.namespace, "create", "-f", "-"], Some(&newcomer.to_string()));
    assert!(made.status.success(), "{}", text(&made.stderr));

    let out = assert_ok(&env.run(&["uninstall", "s", "--yes"]));
    assert!(env.get("batch/v1", "CronJob", "s-dimtensor").is_none(), "its own objects go: {out}");
    assert!(env.get("v1", "ConfigMap", "users-own").is_some(), "never applied by the release: {out}");
    let kept = env.get("v1", "ConfigMap", "s-dimtensor").expect("a same-named newcomer is never hit");
    assert_eq!(kept["data"], json!({"mine": "1"}));
    assert!(out.contains("ConfigMap/") && out.contains("not the object release s applied"), "{out}");
}

/// The manager rule: each release applies as `kubectl-dimtensor/<release>`, never with force
/// unless a flag allows it, and the shared `kubectl-dimtensor` entry is gone.
#[test]
fn every_release_applies_under_its_own_field_manager_without_force() {
    let env = Env::new("own-manager");
    assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--yes"]));
    assert_ok(&env.run(&["upgrade", "prod", "--set", "image.tag=4.3.0", "--yes"]));
    let deploy = env.get("apps/v1", "Deployment", "prod-dimtensor").unwrap();
    let m = managers(&deploy);
    assert!(m.contains(&("kubectl-dimtensor/prod".into(), "Apply".into())), "{m:?}");
    assert!(!m.iter().any(|(name, _)| name == "kubectl-dimtensor"), "{m:?}");
    if let Some(server) = &env.server {
        let applies: Vec<_> = server.requests().into_iter().filter(|r| r.method == "PATCH").collect();
        assert!(!applies.is_empty());
        for r in &applies {
            assert_eq!(r.field_manager.as_deref(), Some("kubectl-dimtensor/prod"), "{} {}", r.path, r.query);
            assert!(!r.force, "no force without a flag: {} {}", r.path, r.query);
        }
        server.clear_log();
        assert_ok(&env.run(&["upgrade", "prod", "--set", "image.tag=4.3.1", "--force-conflicts", "--yes"]));
        assert!(server.requests().iter().any(|r| r.method == "PATCH" && r.force), "--force-conflicts forces");
    }
}

/// A 200 where the plan expected a 201: someone created the object meanwhile. It is reported,
/// left as it was, and not recorded as the release's.
#[test]
fn an_object_that_appears_meanwhile_is_reported_and_not_owned() {
    let env = Env::new("own-appeared");
    let Some(server) = env.server_only("needs a slow apply (fault delay) to create an object meanwhile") else {
        return;
    };
    server.add_fault(
        env.fault("PATCH", r"/configmaps/prod-dimtensor\?&fieldManager").always().delay(Duration::from_secs(2)),
    );
    let child = env.spawn(&["install", "prod", "--overlay", "cronjob", "--set", "configMap.enabled=true", "--yes"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.requests().iter().any(|r| r.method == "POST" && r.path.ends_with("/secrets")) {
        assert!(Instant::now() < deadline, "the install never recorded its revision");
        std::thread::sleep(Duration::from_millis(20));
    }
    let theirs = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "prod-dimtensor"}, "data": {"theirs": "1"}});
    let made = env.kubectl_with(&["-n", &env.namespace, "create", "-f", "-"], Some(&theirs.to_string()));
    assert!(made.status.success(), "{}", text(&made.stderr));
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stderr.contains("ConfigMap/") && stderr.contains("appeared while"), "{stdout}{stderr}");
    let live = env.get("v1", "ConfigMap", "prod-dimtensor").unwrap();
    assert_eq!(live["data"], json!({"theirs": "1"}), "left as it was");
    assert_eq!(release_of(&live), "", "not labelled as the release's");
    assert!(!managers(&live).iter().any(|(m, _)| m.starts_with("kubectl-dimtensor")), "{live}");
    let manifest = assert_ok(&env.run(&["get", "manifest", "prod"]));
    assert!(!manifest.contains("kind: ConfigMap"), "not recorded: {manifest}");
    assert_ok(&env.run(&["uninstall", "prod", "--yes"]));
    assert!(env.get("v1", "ConfigMap", "prod-dimtensor").is_some(), "not the release's to delete");
}

/// Releases installed before per-release managers applied as the shared `kubectl-dimtensor`.
/// Their next operation moves that entry into the release's own, for its recorded objects only.
#[test]
fn an_existing_release_moves_to_its_own_field_manager_on_its_next_upgrade() {
    let env = Env::new("own-migrate");
    let cm = ["--set", "configMap.enabled=true", "--set", "configMap.data.keep=1", "--set", "configMap.data.drop=2"];
    assert_ok(&env.run(&[&["install", "prod", "--overlay", "inference"][..], &cm, &["--yes"]].concat()));
    assert_ok(&env.run(&["install", "other", "--overlay", "cronjob", "--yes"]));
    // As an earlier version left them: every release's entry named `kubectl-dimtensor`.
    for (release, kind, name) in [
        ("prod", "deployment", "prod-dimtensor"),
        ("prod", "configmap", "prod-dimtensor"),
        ("prod", "service", "prod-dimtensor"),
        ("other", "cronjob", "other-dimtensor"),
    ] {
        let live: Value = serde_json::from_slice(
            &env.kubectl(&["-n", &env.namespace, "get", kind, name, "-o", "json", "--show-managed-fields"]).stdout,
        )
        .unwrap();
        let mut fields = live["metadata"]["managedFields"].clone();
        for e in fields.as_array_mut().unwrap() {
            if e["manager"] == format!("kubectl-dimtensor/{release}") {
                e["manager"] = json!("kubectl-dimtensor");
            }
        }
        let patch = json!([{"op": "replace", "path": "/metadata/managedFields", "value": fields}]).to_string();
        let out = env.kubectl(&["-n", &env.namespace, "patch", kind, name, "--type", "json", "-p", &patch]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    // Changes a field the old entry owns (no conflict) and drops one (removed: ownership moved).
    let out = assert_ok(&env.run(&[
        "upgrade",
        "prod",
        "--reuse-values",
        "--set",
        "image.tag=4.3.0",
        "--set",
        "configMap.data.drop=null",
        "--yes",
    ]));
    assert!(out.contains("upgraded (revision 2)"), "{out}");
    assert_eq!(env.get("v1", "ConfigMap", "prod-dimtensor").unwrap()["data"], json!({"keep": "1"}));
    let deploy = env.get("apps/v1", "Deployment", "prod-dimtensor").unwrap();
    assert_eq!(deploy["spec"]["template"]["spec"]["containers"][0]["image"], "docker.io/dimtensor:4.3.0-cpu-full");
    for obj in [deploy, env.get("v1", "ConfigMap", "prod-dimtensor").unwrap()] {
        let m = managers(&obj);
        assert!(m.contains(&("kubectl-dimtensor/prod".into(), "Apply".into())), "{m:?}");
        assert!(!m.iter().any(|(n, _)| n == "kubectl-dimtensor"), "migrated: {m:?}");
    }
    let cron = env.get("batch/v1", "CronJob", "other-dimtensor").unwrap();
    assert!(
        managers(&cron).iter().any(|(n, _)| n == "kubectl-dimtensor"),
        "another release's object is not prod's to move"
    );
    let out = assert_ok(&env.run(&["upgrade", "prod", "--reset-values", "--overlay", "inference", "--yes"]));
    assert!(out.contains("ConfigMap/") && out.contains("deleted"), "{out}");
    assert!(env.get("v1", "ConfigMap", "prod-dimtensor").is_none());
    // `other` moves on its own next operation, even one with nothing else to change.
    let out = assert_ok(&env.run(&["upgrade", "other", "--yes"]));
    assert!(
        out.contains("moved to field manager kubectl-dimtensor/other") && out.contains("nothing to change"),
        "{out}"
    );
    let cron = env.get("batch/v1", "CronJob", "other-dimtensor").unwrap();
    assert!(!managers(&cron).iter().any(|(n, _)| n == "kubectl-dimtensor"), "{:?}", managers(&cron));
}
