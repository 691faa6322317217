//! The fault matrix's table: the steps of install, upgrade, rollback and uninstall (each the
//! request it sends, what a failure there must name, and the history a persistent 500 or reset
//! there leaves), and the faults injected. `faults.rs` runs it.

use dimtensor_test_apiserver::Fault;
use std::time::Duration;

/// Longer than the `--request-timeout` the matrix runs with: the request times out.
pub const SLOW: Duration = Duration::from_millis(1500);

/// One request of an operation, what its error must name, and (for a persistent 500 or reset)
/// the history it leaves as (revision, status).
pub struct Step {
    pub name: &'static str,
    pub method: &'static str,
    /// Matched against path and query; `nth` picks among matching requests.
    pub path: &'static str,
    pub nth: u32,
    pub names: &'static str,
    pub leaves: &'static [(u64, &'static str)],
}

const fn step(
    name: &'static str,
    method: &'static str,
    path: &'static str,
    names: &'static str,
    leaves: &'static [(u64, &'static str)],
) -> Step {
    Step { name, method, path, nth: 1, names, leaves }
}

const fn second(s: Step) -> Step {
    Step { nth: 2, ..s }
}

const LEASE: &str = r"/leases/dimtensor\.release\.prod$";
const RECORDS: &str = r"/secrets\?.*labelSelector=owner";
const DEPLOY: &str = r"/deployments/prod-dimtensor$";
/// The plan's one LIST of the kind (it replaced a GET per object).
const DEPLOY_LIST: &str = r"/namespaces/[^/]+/deployments(\?|$)";
const DRY_RUN: &str = r"/deployments/prod-dimtensor\?.*dryRun=All";

/// An operation: the state it starts from (commands run once, then seeded into each case's
/// server), the command, and the next command that repairs what a failure left.
pub struct Op {
    pub name: &'static str,
    pub setup: &'static [&'static [&'static str]],
    pub command: &'static [&'static str],
    pub repair: &'static [&'static str],
    /// After a step that fails without failing the command (the lock release).
    pub next_after_success: &'static [&'static str],
    pub steps: &'static [Step],
}

const D1: &[(u64, &str)] = &[(1, "deployed")];
const D2: &[(u64, &str)] = &[(1, "superseded"), (2, "deployed")];

const INSTALL: Op = Op {
    name: "install",
    setup: &[],
    command: &["install", "prod", "--overlay", "inference", "--yes"],
    repair: &["upgrade", "prod", "--install", "--overlay", "inference", "--yes"],
    next_after_success: &["upgrade", "prod", "--install", "--overlay", "inference", "--yes"],
    steps: &[
        step("lock check", "GET", LEASE, "get Lease/{ns}/dimtensor.release.prod", &[]),
        step("record read", "GET", RECORDS, "list Secret/{ns}", &[]),
        step("discovery", "GET", "^/apis/apps/v1$", "discover apps/v1", &[]),
        step("live read", "GET", DEPLOY_LIST, "list Deployment/{ns}", &[]),
        step("dry-run plan", "PATCH", DRY_RUN, "dry-run apply Deployment/{ns}/prod-dimtensor", &[]),
        step("lock take", "POST", "/leases$", "create Lease/{ns}/dimtensor.release.prod", &[]),
        second(step("record read (locked)", "GET", RECORDS, "list Secret/{ns}", &[])),
        step("record write", "POST", "/secrets$", "create Secret/{ns}/dimtensor.release.v1.prod.v1", &[]),
        step(
            "apply ServiceAccount",
            "PATCH",
            r"/serviceaccounts/prod-dimtensor\?&fieldManager",
            "apply ServiceAccount/{ns}/prod-dimtensor",
            &[(1, "failed")],
        ),
        step(
            "apply Service",
            "PATCH",
            r"/services/prod-dimtensor\?&fieldManager",
            "apply Service/{ns}/prod-dimtensor",
            &[(1, "failed")],
        ),
        step(
            "apply Deployment",
            "PATCH",
            r"/deployments/prod-dimtensor\?&fieldManager",
            "apply Deployment/{ns}/prod-dimtensor",
            &[(1, "failed")],
        ),
        step(
            "apply HorizontalPodAutoscaler",
            "PATCH",
            r"/horizontalpodautoscalers/prod-dimtensor\?&fieldManager",
            "apply HorizontalPodAutoscaler/{ns}/prod-dimtensor",
            &[(1, "failed")],
        ),
        step(
            "status update",
            "PUT",
            r"/secrets/dimtensor\.release\.v1\.prod\.v1$",
            "replace Secret/{ns}/dimtensor.release.v1.prod.v1",
            &[(1, "pending-install")],
        ),
        step("lock release", "DELETE", LEASE, "delete Lease/{ns}/dimtensor.release.prod", D1),
    ],
};

const UPGRADE: Op = Op {
    name: "upgrade",
    setup: &[&["install", "prod", "--overlay", "inference", "--set", "configMap.enabled=true", "--yes"]],
    command: &["upgrade", "prod", "--set", "configMap.enabled=false", "--set", "image.tag=4.3.0", "--yes"],
    repair: &["upgrade", "prod", "--set", "configMap.enabled=false", "--set", "image.tag=4.3.0", "--yes"],
    next_after_success: &["upgrade", "prod", "--set", "configMap.enabled=false", "--set", "image.tag=4.3.0", "--yes"],
    steps: &[
        step("lock check", "GET", LEASE, "get Lease/{ns}/dimtensor.release.prod", D1),
        step("record read", "GET", RECORDS, "list Secret/{ns}", D1),
        step("discovery", "GET", "^/apis/apps/v1$", "discover apps/v1", D1),
        step("live read", "GET", DEPLOY_LIST, "list Deployment/{ns}", D1),
        step("dry-run plan", "PATCH", DRY_RUN, "dry-run apply Deployment/{ns}/prod-dimtensor", D1),
        step("lock take", "POST", "/leases$", "create Lease/{ns}/dimtensor.release.prod", D1),
        second(step("record read (locked)", "GET", RECORDS, "list Secret/{ns}", D1)),
        step("record write", "POST", "/secrets$", "create Secret/{ns}/dimtensor.release.v1.prod.v2", D1),
        step(
            "apply Deployment",
            "PATCH",
            r"/deployments/prod-dimtensor\?&fieldManager",
            "apply Deployment/{ns}/prod-dimtensor",
            &[(1, "deployed"), (2, "failed")],
        ),
        step(
            "prune delete ConfigMap",
            "DELETE",
            "/configmaps/prod-dimtensor$",
            "delete ConfigMap/{ns}/prod-dimtensor",
            &[(1, "deployed"), (2, "failed")],
        ),
        step(
            "status update",
            "PUT",
            r"/secrets/dimtensor\.release\.v1\.prod\.v2$",
            "replace Secret/{ns}/dimtensor.release.v1.prod.v2",
            &[(1, "deployed"), (2, "pending-upgrade")],
        ),
        step(
            "supersede previous",
            "PUT",
            r"/secrets/dimtensor\.release\.v1\.prod\.v1$",
            "replace Secret/{ns}/dimtensor.release.v1.prod.v1",
            &[(1, "deployed"), (2, "deployed")],
        ),
        step("lock release", "DELETE", LEASE, "delete Lease/{ns}/dimtensor.release.prod", D2),
    ],
};

const R2: &[(u64, &str)] = D2;

const ROLLBACK: Op = Op {
    name: "rollback",
    setup: &[
        &["install", "prod", "--overlay", "inference", "--yes"],
        &["upgrade", "prod", "--set", "configMap.enabled=true", "--set", "image.tag=4.3.0", "--yes"],
    ],
    command: &["rollback", "prod", "1", "--yes"],
    repair: &["rollback", "prod", "1", "--yes"],
    next_after_success: &["rollback", "prod", "1", "--yes"],
    steps: &[
        step("lock check", "GET", LEASE, "get Lease/{ns}/dimtensor.release.prod", R2),
        step("record read", "GET", RECORDS, "list Secret/{ns}", R2),
        step("discovery", "GET", "^/apis/apps/v1$", "discover apps/v1", R2),
        step("live read", "GET", DEPLOY_LIST, "list Deployment/{ns}", R2),
        step("dry-run plan", "PATCH", DRY_RUN, "dry-run apply Deployment/{ns}/prod-dimtensor", R2),
        step("lock take", "POST", "/leases$", "create Lease/{ns}/dimtensor.release.prod", R2),
        second(step("record read (locked)", "GET", RECORDS, "list Secret/{ns}", R2)),
        step("record write", "POST", "/secrets$", "create Secret/{ns}/dimtensor.release.v1.prod.v3", R2),
        step(
            "apply Deployment",
            "PATCH",
            r"/deployments/prod-dimtensor\?&fieldManager",
            "apply Deployment/{ns}/prod-dimtensor",
            &[(1, "superseded"), (2, "deployed"), (3, "failed")],
        ),
        step(
            "prune delete ConfigMap",
            "DELETE",
            "/configmaps/prod-dimtensor$",
            "delete ConfigMap/{ns}/prod-dimtensor",
            &[(1, "superseded"), (2, "deployed"), (3, "failed")],
        ),
        step(
            "status update",
            "PUT",
            r"/secrets/dimtensor\.release\.v1\.prod\.v3$",
            "replace Secret/{ns}/dimtensor.release.v1.prod.v3",
            &[(1, "superseded"), (2, "deployed"), (3, "pending-rollback")],
        ),
        step(
            "supersede previous",
            "PUT",
            r"/secrets/dimtensor\.release\.v1\.prod\.v2$",
            "replace Secret/{ns}/dimtensor.release.v1.prod.v2",
            &[(1, "superseded"), (2, "deployed"), (3, "deployed")],
        ),
        step(
            "lock release",
            "DELETE",
            LEASE,
            "delete Lease/{ns}/dimtensor.release.prod",
            &[(1, "superseded"), (2, "superseded"), (3, "deployed")],
        ),
    ],
};

const U2: &[(u64, &str)] = &[(1, "superseded"), (2, "uninstalling")];

const UNINSTALL: Op = Op {
    name: "uninstall",
    setup: &[
        &["install", "prod", "--overlay", "inference", "--yes"],
        &["upgrade", "prod", "--set", "image.tag=4.3.0", "--yes"],
    ],
    command: &["uninstall", "prod", "--yes"],
    repair: &["uninstall", "prod", "--yes"],
    next_after_success: &["install", "prod", "--overlay", "inference", "--yes"],
    steps: &[
        step("lock check", "GET", LEASE, "get Lease/{ns}/dimtensor.release.prod", D2),
        step("record read", "GET", RECORDS, "list Secret/{ns}", D2),
        step("discovery", "GET", "^/apis/apps/v1$", "discover apps/v1", D2),
        step("owned objects read", "GET", r"/deployments\?.*labelSelector=dimtensor\.io", "list Deployment/{ns}", D2),
        step("lock take", "POST", "/leases$", "create Lease/{ns}/dimtensor.release.prod", D2),
        second(step("record read (locked)", "GET", RECORDS, "list Secret/{ns}", D2)),
        step(
            "mark uninstalling",
            "PUT",
            r"/secrets/dimtensor\.release\.v1\.prod\.v2$",
            "replace Secret/{ns}/dimtensor.release.v1.prod.v2",
            D2,
        ),
        step("delete Deployment", "DELETE", DEPLOY, "delete Deployment/{ns}/prod-dimtensor", U2),
        step("delete Service", "DELETE", "/services/prod-dimtensor$", "delete Service/{ns}/prod-dimtensor", U2),
        step(
            "delete record v1",
            "DELETE",
            r"/secrets/dimtensor\.release\.v1\.prod\.v1$",
            "delete Secret/{ns}/dimtensor.release.v1.prod.v1",
            U2,
        ),
        step(
            "delete record v2",
            "DELETE",
            r"/secrets/dimtensor\.release\.v1\.prod\.v2$",
            "delete Secret/{ns}/dimtensor.release.v1.prod.v2",
            &[(2, "uninstalling")],
        ),
        step("lock release", "DELETE", LEASE, "delete Lease/{ns}/dimtensor.release.prod", &[]),
    ],
};

/// The whole table: operations and their steps.
pub const STEPS: [&Op; 4] = [&INSTALL, &UPGRADE, &ROLLBACK, &UNINSTALL];

/// A fault kind: its column name, how many requests it hits (0: all), what it does.
pub struct Kind {
    pub name: &'static str,
    pub times: u32,
    pub make: fn(Fault) -> Fault,
}

pub const TRANSIENT: [Kind; 3] = [
    Kind { name: "500 x2", times: 2, make: |f| f.status(500) },
    Kind { name: "503 x1", times: 1, make: |f| f.status(503) },
    Kind { name: "429 x1", times: 1, make: |f| f.too_many_requests(1) },
];

pub const PERSISTENT: [Kind; 3] = [
    Kind { name: "500", times: 0, make: |f| f.status(500) },
    Kind { name: "reset", times: 0, make: |f| f.reset() },
    Kind { name: "slow", times: 0, make: |f| f.delay(SLOW) },
];
