//! Releases: what ties cluster objects to a named release, and its recorded history.
//!
//! Modelled on Helm's `pkg/action` + `pkg/storage`. Each operation has one home that owns its
//! sequence (plan, lock, repair, confirm, act, record, wait): [`install`], [`upgrade`],
//! [`rollback`], [`uninstall`], [`diff`] (plan only) and [`query`] (the read-only commands);
//! [`session`] is what they share (the connection, the lock, confirmation, rendering).
//! `crate::action` only maps flags onto them.
//! Below them, planning, acting and recording are kept apart: [`prepare`] plans (with [`plan`]
//! and [`drift`] adding what history knows), [`act`] does the cluster work, [`lifecycle`] decides
//! the records' statuses around it, [`record`] is one revision and its Secret, [`store`] keeps
//! records ([`memory`] for tests), [`lock`] lets one operation run at a time, [`show`] prints,
//! [`notes`] says how to reach what was installed, [`inputs`] picks the values an upgrade
//! renders with (Helm's rules).
//!
//! What a release may touch is decided in one place, [`ownership`] (its module docs state the
//! rules; [`takeover`] moves field ownership on the server, [`helm`] reads the Helm release
//! `--adopt` takes over, [`versions`] reads objects stored under a version since removed).
//! Objects carry the label [`RELEASE_LABEL`] and the annotation [`RELEASE_NAMESPACE_ANNOTATION`]
//! on `metadata` only (never in selectors or pod templates, which are immutable). Whether a
//! release exists, and which objects are its own, comes from its records; the label and the
//! recorded uid confirm it before anything is deleted.
//!
//! # Lifecycle
//!
//! An install, upgrade or rollback writes revision n+1 as `pending-*` *before* applying, then
//! marks it `deployed` and the previous deployed revision `superseded`, or marks it `failed`.
//! Each row below is a test in `lifecycle_tests.rs` (in-memory store, fake failures) and, where
//! the cluster is involved, in `tests/release.rs` (test API server with faults). A failing
//! request is first retried (`crate::cluster::retry`): a row describes what is left when
//! retrying did not help; `tests/release/fault_steps.rs` injects faults at each step.
//!
//! | step | failure | history afterwards | next allowed action |
//! |---|---|---|---|
//! | take the lock | another operation holds it and renews it while this one watches (up to the lease's duration) | unchanged | retry when it ends |
//! | take the lock | its holder died (seen unrenewed for the lease's duration, on this machine's clock) | unchanged | taken over (a `resourceVersion`-guarded update); the operation continues |
//! | read history | a `pending-*` revision left by a dead operation | marked `failed` (under the lock) | the operation continues |
//! | read history | an `uninstalling` revision below a later deployed one (its uninstall stopped, the release was deployed again since) | marked `superseded` (under the lock, or when the later one is marked deployed) | the operation continues |
//! | render, plan (dry run) | invalid input, forbidden, not ours to take, a stored version no longer served and not the same schema, an immutable field without `--force` | unchanged | fix and retry |
//! | plan | the latest revision is `uninstalling` (an uninstall stopped) | unchanged; `install` and `upgrade` refused, naming the way out | `uninstall` (finishes it), or `rollback NAME N` to keep the release |
//! | write pending n+1 | write fails, record over 1 MiB | unchanged, no n+1 | retry |
//! | move field ownership (takeover, migration) | the object changed hands or kept changing | n+1 `failed` (nothing applied), n still `deployed` | run again (ownership is checked again) |
//! | apply | an object fails, another release's conflict (409), connection lost, Ctrl-C | n+1 `failed`, n still `deployed` | upgrade again, or rollback |
//! | apply | an object is terminating (a `deletionTimestamp`, held by finalizers) and does not go within `--timeout` (it is waited for, then created again) | n+1 `failed`, the error naming its finalizers | once they are removed: upgrade again (install again after a first install) |
//! | apply | an object planned as new was made by someone else meanwhile (200, not 201) | let go (left as they made it), not in n+1's manifest, warning; n+1 continues | `--take-ownership` to manage it |
//! | wait (`--wait`, on every object of n+1, changed or not) | timeout, rollout failed (`ProgressDeadlineExceeded`), Job failed, an object being deleted, Ctrl-C | n+1 `failed`, n still `deployed` | upgrade again, or rollback |
//! | wait, first install (or nothing deployed) | as above | n+1 `failed`, nothing deployed | install again (or `upgrade --install`) |
//! | wait, upgrade with nothing to change | not ready within `--timeout` | unchanged (no revision), n still `deployed` | `status` shows what is not ready |
//! | rollout before pruning a ConfigMap or Secret (also without `--wait`) | timeout | n+1 `failed`, the object kept | upgrade again (prunes it) |
//! | prune (delete, after the rollout; an HPA giving `spec.replicas` back before the apply) | the object was deleted and made again meanwhile (uid precondition, 409) | reported and left; n+1 continues | nothing: it is not the release's |
//! | apply or wait, `--atomic` | as above (not Ctrl-C) | n+1 `failed`; n+2 = rollback to n, `deployed`; n `superseded` | upgrade |
//! | apply or wait, `--atomic`, first install | as above | 1 `failed`, the objects it created removed | install again |
//! | mark n+1 deployed | write fails, process dies | n+1 stays `pending-*`, its lease unrenewed | next upgrade/rollback takes the lock over, marks n+1 `failed` and proceeds |
//! | mark n superseded | write fails | n and n+1 both `deployed` | next operation supersedes n |
//! | trim to `--history-max` | delete fails (or the record changed: its resourceVersion precondition) | more revisions than the maximum | trimmed by the next success |
//! | release the lock | fails, process dies | unchanged | next operation takes it over after watching it for its duration |
//! | uninstall: mark `uninstalling` | write fails | unchanged | uninstall again |
//! | uninstall: delete objects | fails midway; an object is another release's now, or made again by someone (reported, left) | latest `uninstalling` | uninstall again (continues); the error says so |
//! | uninstall: wait (`--wait`) | an object waits on finalizers beyond `--timeout`, Ctrl-C, or the process is killed | latest `uninstalling`, objects terminating | uninstall again (continues; the error names the finalizers), or `rollback NAME N` (waits for the terminating objects, makes them again) |
//! | uninstall: drop records (`--keep-history`: mark `uninstalled`) | fails midway | some records left, latest `uninstalling` | uninstall again |
//!
//! `install` is refused while a revision is deployed or pending (use `upgrade`); it is allowed
//! again when the release was uninstalled with `--keep-history` or never deployed (all failed).
//! `upgrade` needs a deployed revision (`--install` installs when there is none). Both are
//! refused while an uninstall is half done, naming `uninstall` and `rollback`. A revision is
//! `deployed` once applied, and with `--wait` only once every object of it is ready. An upgrade
//! with nothing to change records no revision, but still repairs the records, moves objects
//! off the shared manager, and with `--wait` waits on every object.

pub mod act;
pub mod diff;
pub mod drift;
pub mod handover;
pub mod helm;
pub mod inputs;
pub mod install;
pub mod lifecycle;
pub mod live;
pub mod lock;
pub mod memory;
pub mod notes;
pub mod ownership;
pub mod plan;
pub mod prepare;
pub mod query;
pub mod record;
pub mod rollback;
pub mod session;
pub mod show;
pub mod stamp;
pub mod store;
pub mod survey;
pub mod takeover;
pub mod uninstall;
pub mod upgrade;
pub mod versions;

use serde_json::{Map, Value};

/// Label naming the release an object belongs to.
pub const RELEASE_LABEL: &str = "dimtensor.io/release";
/// Annotation naming the release's namespace (cluster-scoped objects have none of their own).
pub const RELEASE_NAMESPACE_ANNOTATION: &str = "dimtensor.io/release-namespace";
/// `keep` on an object: uninstall and prune leave it in place.
pub const RESOURCE_POLICY_ANNOTATION: &str = "dimtensor.io/resource-policy";

/// Everything a release operation can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error(transparent)]
    Ownership(#[from] ownership::OwnershipError),
    #[error(transparent)]
    Takeover(#[from] takeover::TakeoverError),
    #[error(transparent)]
    Version(#[from] versions::VersionError),
    #[error("release {name} already exists in namespace {namespace} (revision {revision} is {status}); use `kubectl dimtensor upgrade {name}`")]
    AlreadyInstalled { name: String, namespace: String, revision: u32, status: record::Status },
    #[error("release {name} not found in namespace {namespace}; use `kubectl dimtensor install {name}` or `upgrade --install`")]
    NotInstalled { name: String, namespace: String },
    #[error("release {name} has no deployed revision in namespace {namespace} ({latest}); use `kubectl dimtensor install {name}` or `upgrade --install`")]
    NotDeployed { name: String, namespace: String, latest: String },
    #[error("release {name} has no earlier deployed revision to roll back to; name one: `kubectl dimtensor rollback {name} REVISION` (see `history {name}`)")]
    NoRollbackTarget { name: String },
    #[error("release {name} is already uninstalled (its history was kept); `uninstall {name}` without --keep-history deletes the history")]
    AlreadyUninstalled { name: String },
    #[error("the values stored with release {name} revision {revision} no longer fit: {source}; pass --reset-values to start from the overlay's defaults")]
    StoredValues { name: String, revision: u32, source: crate::values::ValuesError },
    #[error("release {name}: revision {revision} failed: {source}{}", if after.is_empty() { String::new() } else { format!("; {after}") })]
    Failed {
        name: String,
        revision: u32,
        source: Box<crate::error::Error>,
        after: String,
        /// The revision still deployed afterwards (none after a failed first install).
        deployed: Option<u32>,
    },
    #[error("release {name} in namespace {namespace} is half uninstalled: an uninstall stopped before it finished (revision {revision} is uninstalling); run `kubectl dimtensor uninstall {name}` to finish it, or `kubectl dimtensor rollback {name} {revision}` to keep the release")]
    Uninstalling { name: String, namespace: String, revision: u32 },
    #[error(
        "release {name}: the uninstall stopped: {source}; run `kubectl dimtensor uninstall {name}` again to finish it"
    )]
    UninstallStopped { name: String, source: Box<crate::error::Error> },
    #[error("release {name}: nothing to change, but revision {revision} is not ready: {source}")]
    NotReady { name: String, revision: u32, source: Box<crate::error::Error> },
    #[error("release {name}: revision {revision} was applied, but recording its outcome failed ({source}); the next upgrade or rollback repairs the record")]
    Finalize { name: String, revision: u32, source: store::StoreError },
    #[error("release {name} changed while this operation was being planned (another operation ran); run it again to see the new plan")]
    Changed { name: String },
    #[error("interrupted")]
    Interrupted,
}

impl From<store::StoreError> for crate::error::Error {
    fn from(e: store::StoreError) -> Self {
        crate::error::Error::Release(e.into())
    }
}

impl From<lock::LockError> for crate::error::Error {
    fn from(e: lock::LockError) -> Self {
        crate::error::Error::Release(e.into())
    }
}

impl From<takeover::TakeoverError> for crate::error::Error {
    fn from(e: takeover::TakeoverError) -> Self {
        crate::error::Error::Release(e.into())
    }
}

impl From<versions::VersionError> for crate::error::Error {
    fn from(e: versions::VersionError) -> Self {
        crate::error::Error::Release(e.into())
    }
}

/// Marks a rendered object as part of `release` in `namespace`.
pub fn stamp(obj: &mut Value, release: &str, namespace: &str) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    let labels = meta.entry("labels").or_insert_with(|| Value::Object(Map::new()));
    if let Some(l) = labels.as_object_mut() {
        l.insert(RELEASE_LABEL.into(), Value::String(release.to_string()));
    }
    let ann = meta.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
    if let Some(a) = ann.as_object_mut() {
        a.insert(RELEASE_NAMESPACE_ANNOTATION.into(), Value::String(namespace.to_string()));
    }
}

/// Whether an object asks to be kept on uninstall.
pub fn keep(obj: &Value) -> bool {
    obj["metadata"]["annotations"][RESOURCE_POLICY_ANNOTATION] == "keep"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stamps_metadata_only() {
        let mut d = json!({"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}}}});
        stamp(&mut d, "prod", "ml");
        assert_eq!(d["metadata"]["labels"][RELEASE_LABEL], "prod");
        assert_eq!(d["metadata"]["annotations"][RELEASE_NAMESPACE_ANNOTATION], "ml");
        assert_eq!(d["spec"]["selector"]["matchLabels"], json!({"a": "b"}));
        assert_eq!(d["spec"]["template"]["metadata"]["labels"], json!({"a": "b"}));
    }
}
