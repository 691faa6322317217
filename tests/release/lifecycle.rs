//! Lifecycle rows that need the cluster: the lock (concurrent operations, renewal; held and
//! taken over in `lock.rs`), connections dropped at each step of an upgrade, `--atomic`, and
//! Ctrl-C. Fault injection needs the test API server; on a real cluster these tests say so and
//! pass.

use crate::support::{assert_consistent, assert_fails, assert_ok, pairs, text, Env};
use dimtensor_test_apiserver::{ControllerConfig, DeploymentBehaviour};
use std::time::{Duration, Instant};

/// Short: the next command watches the dead holder's lease this long before taking it over.
const SHORT: &[&str] = &["--lock-duration", "3s"];

fn with(args: &[&'static str], more: &[&'static str]) -> Vec<&'static str> {
    args.iter().chain(more).copied().collect()
}

/// The non-dry-run apply of the release's Deployment.
const DEPLOY_APPLY: &str = r"/deployments/prod-dimtensor\?&fieldManager";

#[test]
fn of_two_concurrent_upgrades_exactly_one_proceeds() {
    let env = Env::new("race");
    let Some(server) = env.server_only("needs a slow apply (fault delay)") else { return };
    assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--yes"]));
    server.add_fault(env.fault("PATCH", DEPLOY_APPLY).always().delay(Duration::from_secs(3)));
    let a = env.spawn(&["upgrade", "prod", "--set", "image.tag=4.3.0", "--yes"]);
    let b = env.spawn(&["upgrade", "prod", "--set", "image.tag=4.3.1", "--yes"]);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let ok = [&a, &b].iter().filter(|o| o.status.success()).count();
    assert_eq!(
        ok,
        1,
        "exactly one proceeds:\n{}\n{}\n{}\n{}",
        text(&a.stdout),
        text(&a.stderr),
        text(&b.stdout),
        text(&b.stderr)
    );
    let loser = if a.status.success() { &b } else { &a };
    let err = text(&loser.stderr);
    // Locked while it watched the winner, or the winner finished meanwhile and its revision
    // makes the loser's plan stale: either way it stopped and said why.
    let stopped = err.contains("is locked by") || err.contains("changed while this operation was being planned");
    assert!(stopped, "{err}");
    assert_eq!(env.statuses("prod"), pairs(&[(1, "superseded"), (2, "deployed")]));
}

#[test]
fn different_releases_install_in_parallel() {
    let env = Env::new("par");
    let Some(server) = env.server_only("needs a slow apply (fault delay)") else { return };
    // Each install holds its own lock for at least the 2 s its Deployment's apply takes.
    server.add_fault(env.fault("PATCH", r"/deployments/[a-z-]+\?&fieldManager").always().delay(Duration::from_secs(2)));
    let a = env.spawn(&["install", "alpha", "--overlay", "inference", "--yes"]);
    let b = env.spawn(&["install", "beta", "--overlay", "inference", "--yes"]);
    let lease = |name: &str| env.get("coordination.k8s.io/v1", "Lease", &format!("dimtensor.release.{name}")).is_some();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut both_held = false;
    while !both_held && Instant::now() < deadline {
        both_held = lease("alpha") && lease("beta");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert_ok(&a);
    assert_ok(&b);
    assert!(both_held, "the two releases' locks were never held at the same time: one waited for the other");
    assert_eq!(env.statuses("alpha"), pairs(&[(1, "deployed")]));
    assert_eq!(env.statuses("beta"), pairs(&[(1, "deployed")]));
}

/// An upgrade that loses its connection at one step and cannot release its lock (as if it
/// died): history stays consistent, and the next `cmd` takes the lock over once it has seen it
/// unrenewed for its duration, repairs and succeeds.
fn drop_connection_at(step: &str, faults: &[(&str, &str)], says: &str, expect: &[(u64, &str)], next: &[&'static str]) {
    let env = Env::new(step);
    let Some(server) = env.server_only("needs fault injection") else { return };
    assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--yes"]));
    for (method, path) in faults.iter().chain(&[("DELETE", "/leases/")]) {
        server.add_fault(env.fault(method, path).always().reset());
    }
    let out = env.run(&with(&["upgrade", "prod", "--set", "image.tag=4.3.0", "--yes"], SHORT));
    assert_eq!(out.status.code(), Some(2), "{step}: {}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains(says), "{step}: {}", text(&out.stderr));
    server.clear_faults();
    let h = env.statuses("prod");
    assert_consistent(&h);
    assert_eq!(h, pairs(expect), "{step}");

    let next = env.run(next);
    let out = assert_ok(&next);
    assert!(text(&next.stderr).contains("took over the lock of"), "{step}: {}", text(&next.stderr));
    let h = env.statuses("prod");
    assert_consistent(&h);
    assert_eq!(h.last().map(|(_, s)| s.as_str()), Some("deployed"), "{step}: {h:?}\n{out}");
    assert!(h.iter().all(|(_, s)| !s.starts_with("pending")), "{step}: repaired: {h:?}");
}

#[test]
fn a_connection_dropped_before_the_record_is_written_loses_nothing() {
    let next = ["upgrade", "prod", "--set", "image.tag=4.3.0", "--yes"];
    drop_connection_at(
        "before-record",
        &[("POST", "/secrets")],
        "release records: create Secret/",
        &[(1, "deployed")],
        &next,
    );
}

#[test]
fn a_connection_dropped_mid_apply_leaves_the_revision_failed() {
    let next = ["upgrade", "prod", "--set", "image.tag=4.3.0", "--yes"];
    drop_connection_at(
        "mid-apply",
        &[("PATCH", DEPLOY_APPLY)],
        "revision 2 failed",
        &[(1, "deployed"), (2, "failed")],
        &next,
    );
}

#[test]
fn a_connection_dropped_before_the_status_update_is_repaired_by_the_next_rollback() {
    drop_connection_at(
        "before-status",
        &[("PUT", "/secrets/")],
        "revision 2 was applied, but recording its outcome failed",
        &[(1, "deployed"), (2, "pending-upgrade")],
        &["rollback", "prod", "--yes"],
    );
}

#[test]
fn atomic_rolls_back_a_failed_upgrade_and_removes_a_failed_first_install() {
    let env = Env::new("atomic");
    let Some(server) = env.server_only("needs a controller that never rolls out") else { return };
    assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--yes"]));
    server.set_controller(ControllerConfig::ready().deployments(DeploymentBehaviour::DeadlineExceeded));
    let err = assert_fails(&env.run(&[
        "upgrade",
        "prod",
        "--set",
        "image.tag=4.3.0",
        "--atomic",
        "--wait",
        "--timeout",
        "20s",
        "--yes",
    ]));
    assert!(err.contains("revision 2 failed") && err.contains("rolled back to revision 1 as revision 3"), "{err}");
    assert_eq!(env.statuses("prod"), pairs(&[(1, "superseded"), (2, "failed"), (3, "deployed")]));
    let deploy = env.get("apps/v1", "Deployment", "prod-dimtensor").unwrap();
    assert_eq!(deploy["spec"]["template"]["spec"]["containers"][0]["image"], "docker.io/dimtensor:4.2.0-cpu-full");

    server.set_controller(ControllerConfig::ready());
    server.add_fault(
        env.fault("PATCH", r"/horizontalpodautoscalers/first-dimtensor\?&fieldManager").always().status(500),
    );
    let err = assert_fails(&env.run(&["install", "first", "--overlay", "inference", "--rollback-on-failure", "--yes"]));
    assert!(err.contains("removed the objects it created"), "{err}");
    assert!(env.get("apps/v1", "Deployment", "first-dimtensor").is_none());
    assert_eq!(env.statuses("first"), pairs(&[(1, "failed")]));
    server.clear_faults();
    assert_ok(&env.run(&["install", "first", "--overlay", "inference", "--yes"]));
    assert_eq!(env.statuses("first"), pairs(&[(1, "failed"), (2, "deployed")]));
}

#[test]
fn a_failed_wait_without_atomic_marks_the_revision_failed_and_rollback_recovers() {
    let env = Env::new("waitfail");
    let Some(server) = env.server_only("needs a controller that never rolls out") else { return };
    assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--yes"]));
    server.set_controller(ControllerConfig::never_ready());
    let err =
        assert_fails(&env.run(&["upgrade", "prod", "--set", "image.tag=4.3.0", "--wait", "--timeout", "2s", "--yes"]));
    assert!(err.contains("revision 2 failed") && err.contains("timed out"), "{err}");
    let table = assert_ok(&env.run(&["history", "prod"]));
    assert!(table.contains("Upgrade failed: timed out"), "{table}");
    server.set_controller(ControllerConfig::ready());
    assert_ok(&env.run(&["rollback", "prod", "--yes"]));
    assert_eq!(env.statuses("prod"), pairs(&[(1, "superseded"), (2, "failed"), (3, "deployed")]));
}

#[test]
fn ctrl_c_marks_the_revision_failed_and_releases_the_lock() {
    let env = Env::new("ctrlc");
    let Some(server) = env.server_only("needs a slow apply (fault delay)") else { return };
    assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--yes"]));
    server.add_fault(env.fault("PATCH", DEPLOY_APPLY).always().delay(Duration::from_secs(3)));
    let child = env.spawn(&["upgrade", "prod", "--set", "image.tag=4.3.0", "--yes"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    // The pending record is written right before the (slow) apply.
    while server.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/secrets")).count() < 2 {
        assert!(Instant::now() < deadline, "the upgrade never recorded its revision");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let killed = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("interrupted"), "{}", text(&out.stderr));
    assert_eq!(env.statuses("prod"), pairs(&[(1, "deployed"), (2, "failed")]));
    server.clear_faults();
    assert_ok(&env.run(&["upgrade", "prod", "--set", "image.tag=4.3.0", "--yes"]));
}

#[test]
fn the_lock_is_renewed_while_a_long_operation_runs() {
    let env = Env::new("renew");
    let Some(server) = env.server_only("needs a slow apply (fault delay)") else { return };
    assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--yes"]));
    server.add_fault(env.fault("PATCH", DEPLOY_APPLY).always().delay(Duration::from_secs(5)));
    let long = env.spawn(&["upgrade", "prod", "--set", "image.tag=4.3.0", "--lock-duration", "2s", "--yes"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/secrets")).count() < 2 {
        assert!(Instant::now() < deadline, "the upgrade never recorded its revision");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(3)); // longer than the lease: only renewal keeps it
    let second = env.run(&["upgrade", "prod", "--set", "image.tag=4.3.1", "--yes"]);
    assert!(text(&second.stderr).contains("is locked by"), "{}", text(&second.stderr));
    assert_ok(&long.wait_with_output().unwrap());
    assert!(server.requests().iter().any(|r| r.method == "PUT" && r.path.contains("/leases/")), "renewed");
    assert_eq!(env.statuses("prod"), pairs(&[(1, "superseded"), (2, "deployed")]));
}
