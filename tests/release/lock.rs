//! The release lock as client-go's leader election (issue 14): whatever the clocks say, a lock
//! is taken over only after this client saw it unchanged for the lease's duration, never while
//! its holder renews it; the holder renews every third of the duration, also during `--wait`.
//! Skewed holders are the test API server's simulated clients (its clock is settable); the
//! dead holder and the renewal during `--wait` run on a real cluster too.

use crate::support::{assert_fails, assert_ok, pairs, text, Env};
use dimtensor_test_apiserver::{Config, ControllerConfig, LeaseHolder};
use serde_json::json;
use std::time::{Duration, Instant};

const LEASE: &str = "dimtensor.release.prod";

#[test]
fn a_live_holder_whose_clock_is_behind_keeps_its_lock() {
    let env = Env::new("skew-behind");
    let Some(server) = env.server_only("needs a simulated lease holder with a skewed clock") else { return };
    assert_ok(&env.run(&["install", "prod", "--overlay", "cronjob", "--yes"]));
    // Another machine, an hour behind: its renewTime looks an hour old here, and it renews.
    server.set_clock_offset(-3600);
    let holder = server.hold_lease(LeaseHolder::new(&env.namespace, LEASE, "alice@behind:7", 3));
    let err = assert_fails(&env.run(&["upgrade", "prod", "--set", "image.tag=4.3.0", "--yes"]));
    assert!(err.contains("locked by alice@behind:7") && err.contains("renewed the lock"), "{err}");
    assert_eq!(env.statuses("prod"), pairs(&[(1, "deployed")]));
    let lease = env.get("coordination.k8s.io/v1", "Lease", LEASE).expect("still there");
    assert_eq!(lease["spec"]["holderIdentity"], "alice@behind:7", "never taken from a live holder");
    drop(holder);
}

#[test]
fn a_dead_holder_whose_clock_is_ahead_is_taken_over_after_the_lease_duration() {
    let env = Env::new("skew-ahead");
    let Some(server) = env.server_only("needs a simulated lease holder with a skewed clock") else { return };
    assert_ok(&env.run(&["install", "prod", "--overlay", "cronjob", "--yes"]));
    // An hour ahead: its lease looks valid for an hour here. It dies at once.
    server.set_clock_offset(3600);
    server.hold_lease(LeaseHolder::new(&env.namespace, LEASE, "bob@ahead:9", 3)).die();
    let start = Instant::now();
    let out = env.run(&["upgrade", "prod", "--set", "image.tag=4.3.0", "--yes"]);
    let took = start.elapsed();
    assert_ok(&out);
    let err = text(&out.stderr);
    assert!(err.contains("took over the lock of bob@ahead:9: not renewed for 3s"), "{err}");
    // Safety, not speed: it watched the lease for the whole duration before taking it.
    assert!(took >= Duration::from_secs(3), "taken after {took:?}");
    assert_eq!(env.statuses("prod"), pairs(&[(1, "superseded"), (2, "deployed")]));
    assert!(env.get("coordination.k8s.io/v1", "Lease", LEASE).is_none(), "released at the end");
}

#[test]
fn a_dead_holders_lock_is_taken_over_whatever_its_timestamps() {
    let env = Env::new("lock");
    assert_ok(&env.run(&["install", "prod", "--overlay", "cronjob", "--yes"]));
    // Written by hand, as a holder that died: renewTime far in the future (a clock that was
    // way ahead), duration 3s. Nobody renews it.
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": LEASE, "namespace": env.namespace},
        "spec": {"holderIdentity": "alice@laptop:4242", "leaseDurationSeconds": 3,
                 "acquireTime": "2099-01-01T00:00:00.000000Z", "renewTime": "2099-01-01T00:00:00.000000Z"}});
    let applied = env.kubectl_with(&["apply", "-f", "-", "-n", &env.namespace], Some(&lease.to_string()));
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    let out = env.run(&["upgrade", "prod", "--set", "image.tag=4.3.0", "--yes"]);
    assert_ok(&out);
    let err = text(&out.stderr);
    assert!(
        err.contains("locked by alice@laptop:4242 (since 2099-01-01T00:00:00"),
        "it said what it waited for: {err}"
    );
    assert!(err.contains("took over the lock of alice@laptop:4242"), "{err}");
    assert_eq!(env.statuses("prod"), pairs(&[(1, "superseded"), (2, "deployed")]));
    assert!(env.get("coordination.k8s.io/v1", "Lease", LEASE).is_none(), "released at the end");
}

#[test]
fn the_holder_renews_during_wait_and_keeps_its_lock() {
    let env = Env::with("renew-wait", Config::new().controller(ControllerConfig::never_ready()));
    let broken = ["--overlay", "inference", "--set", "image.repository=registry.invalid/none"];
    assert_ok(&env.run(&[&["install", "prod"][..], &broken, &["--yes"]].concat()));
    // A 2s lease, a wait four times as long: only renewals keep it.
    let long = env.spawn(&[
        "upgrade",
        "prod",
        "--reuse-values",
        "--set",
        "image.tag=4.3.0",
        "--wait",
        "--timeout",
        "8s",
        "--lock-duration",
        "2s",
        "--yes",
    ]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while env.get("coordination.k8s.io/v1", "Lease", LEASE).is_none() {
        assert!(Instant::now() < deadline, "the upgrade never took its lock");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3)); // well into the wait, past one lease duration
    let second = env.run(&["upgrade", "prod", "--set", "image.tag=4.3.1", "--yes"]);
    let err = text(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(err.contains("is locked by") && err.contains("renewed the lock"), "{err}");
    let long = long.wait_with_output().expect("the waiting upgrade ends");
    let long_err = text(&long.stderr);
    assert!(long_err.contains("revision 2 failed") && long_err.contains("timed out"), "{long_err}");
    assert!(!long_err.contains("lock was lost"), "{long_err}");
    assert_eq!(env.statuses("prod"), pairs(&[(1, "deployed"), (2, "failed")]));
}
