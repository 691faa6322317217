//! One test per row of the lifecycle table (`super::super` docs), on the in-memory store with a
//! fake act. The cluster-side rows are also run against the test API server in `tests/release.rs`.

use super::*;
use crate::apply::ApplyError;
use crate::release::memory::{MemoryStore, Op as StoreOp};
use crate::release::record::Status::*;
use crate::release::record::{sample, Status};
use serde_json::json;

fn cm(n: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "namespace": "ml"}})
}

fn draft(op: Op, n: &str) -> Draft {
    Draft {
        op,
        overlay: Some("inference".into()),
        values: json!({"image": {"tag": n}}),
        defaults: Value::Null,
        manifest: vec![cm(n)],
        checksum_key: None,
    }
}

fn ledger(store: &MemoryStore) -> Ledger<'_, MemoryStore> {
    Ledger { store, name: "prod".into(), namespace: "ml".into(), history_max: 10 }
}

/// What the fake act does when asked, and what it was asked.
#[derive(Default)]
struct Fake {
    fail_forward: Option<fn() -> Error>,
    fail_restore: bool,
    calls: Vec<String>,
}

impl Act for Fake {
    async fn forward(&mut self, rel: &Release) -> Result<(), Error> {
        self.calls.push(format!("forward {}", rel.revision));
        match self.fail_forward {
            Some(f) => Err(f()),
            None => Ok(()),
        }
    }
    async fn restore(&mut self, rel: &Release, failed: &Release) -> Result<(), Error> {
        self.calls.push(format!("restore {} over {}", rel.revision, failed.revision));
        if self.fail_restore {
            return Err(Error::Usage("restore broke".into()));
        }
        Ok(())
    }
    async fn remove(&mut self, failed: &Release) -> Result<(), Error> {
        self.calls.push(format!("remove {}", failed.revision));
        Ok(())
    }
}

fn apply_failed() -> Error {
    Error::Usage("Deployment/ml/prod: 503 ServiceUnavailable".into())
}

fn interrupted() -> Error {
    Error::Apply(ApplyError::Interrupted { done: Vec::new() })
}

fn statuses(store: &MemoryStore) -> Vec<(u32, Status)> {
    store.all().into_iter().map(|r| (r.revision, r.status)).collect()
}

/// Installs revision 1 and returns the history.
async fn installed(store: &MemoryStore) -> Vec<Release> {
    let l = ledger(store);
    let mut h = l.load().await.unwrap();
    perform(&l, &mut h, draft(Op::Install, "1"), &mut Fake::default(), false).await.unwrap();
    h
}

#[tokio::test]
async fn happy_path_supersedes_the_previous_revision() {
    let store = MemoryStore::new();
    let mut h = installed(&store).await;
    let rel = perform(&ledger(&store), &mut h, draft(Op::Upgrade, "2"), &mut Fake::default(), false).await.unwrap();
    assert_eq!(rel.revision, 2);
    assert_eq!(statuses(&store), [(1, Superseded), (2, Deployed)]);
    assert_eq!(store.all()[1].description, "Upgrade complete");
    assert_eq!(store.all()[1].first_deployed, store.all()[0].first_deployed);
}

#[tokio::test]
async fn row_pending_left_by_a_dead_operation_is_repaired_under_the_lock() {
    let store = MemoryStore::new();
    let h = installed(&store).await;
    // A process wrote revision 2 as pending and died.
    ledger(&store).begin(&h, draft(Op::Upgrade, "2")).await.unwrap();
    let l = ledger(&store);
    let mut h2 = l.load().await.unwrap();
    assert_eq!(l.repair(&mut h2).await.unwrap(), vec![2]);
    assert!(h2[1].description.contains("abandoned"), "{}", h2[1].description);
    perform(&l, &mut h2, draft(Op::Upgrade, "3"), &mut Fake::default(), false).await.unwrap();
    assert_eq!(statuses(&store), [(1, Superseded), (2, Failed), (3, Deployed)]);
}

#[tokio::test]
async fn row_writing_the_pending_record_fails_leaves_history_unchanged() {
    let store = MemoryStore::new();
    let mut h = installed(&store).await;
    store.fail(StoreOp::Create, 1);
    let mut act = Fake::default();
    let err = perform(&ledger(&store), &mut h, draft(Op::Upgrade, "2"), &mut act, false).await.unwrap_err();
    assert!(matches!(err, ReleaseError::Store(_)), "{err}");
    assert!(act.calls.is_empty(), "nothing is applied without a record");
    assert_eq!(statuses(&store), [(1, Deployed)]);
}

#[tokio::test]
async fn row_a_record_over_one_mebibyte_is_refused_before_applying() {
    use sha2::{Digest, Sha256};
    let store = MemoryStore::new();
    let mut h = Vec::new();
    let mut d = draft(Op::Install, "1");
    let mut data = serde_json::Map::new();
    let mut x = Sha256::digest(b"x").to_vec();
    for i in 0..40_000 {
        x = Sha256::digest(&x).to_vec();
        data.insert(i.to_string(), json!(x.iter().map(|b| format!("{b:02x}")).collect::<String>()));
    }
    d.manifest.push(json!({"kind": "ConfigMap", "data": data}));
    let mut act = Fake::default();
    let err = perform(&ledger(&store), &mut h, d, &mut act, false).await.unwrap_err();
    assert!(err.to_string().contains("limit"), "{err}");
    assert!(act.calls.is_empty() && store.all().is_empty());
}

#[tokio::test]
async fn row_apply_fails_marks_the_revision_failed_and_keeps_the_deployed_one() {
    let store = MemoryStore::new();
    let mut h = installed(&store).await;
    let mut act = Fake { fail_forward: Some(apply_failed), ..Fake::default() };
    let err = perform(&ledger(&store), &mut h, draft(Op::Upgrade, "2"), &mut act, false).await.unwrap_err();
    assert!(matches!(err, ReleaseError::Failed { revision: 2, .. }), "{err}");
    assert_eq!(statuses(&store), [(1, Deployed), (2, Failed)]);
    assert!(
        store.all()[1].description.starts_with("Upgrade failed: Deployment/ml/prod: 503"),
        "{}",
        store.all()[1].description
    );
    // Next allowed: upgrade again, or roll back to 1.
    assert_eq!(previous(&h).map(|r| r.revision), Some(1));
    perform(&ledger(&store), &mut h, draft(Op::Upgrade, "3"), &mut Fake::default(), false).await.unwrap();
    assert_eq!(statuses(&store), [(1, Superseded), (2, Failed), (3, Deployed)]);
}

#[tokio::test]
async fn row_wait_fails_and_ctrl_c_mark_the_revision_failed() {
    let store = MemoryStore::new();
    let mut h = installed(&store).await;
    let timeout = || {
        Error::Wait(crate::apply::wait::WaitError::Timeout {
            id: crate::model::ResId::of(&cm("x")),
            secs: 1,
            reason: "0/1 available".into(),
        })
    };
    let mut act = Fake { fail_forward: Some(timeout), ..Fake::default() };
    perform(&ledger(&store), &mut h, draft(Op::Upgrade, "2"), &mut act, false).await.unwrap_err();
    let mut act = Fake { fail_forward: Some(interrupted), ..Fake::default() };
    perform(&ledger(&store), &mut h, draft(Op::Upgrade, "3"), &mut act, true).await.unwrap_err();
    assert_eq!(act.calls, ["forward 3"], "Ctrl-C stops: no --atomic rollback");
    assert_eq!(statuses(&store), [(1, Deployed), (2, Failed), (3, Failed)]);
}

#[tokio::test]
async fn row_atomic_rolls_back_to_the_previous_revision_as_a_new_one() {
    let store = MemoryStore::new();
    let mut h = installed(&store).await;
    let mut act = Fake { fail_forward: Some(apply_failed), ..Fake::default() };
    let err = perform(&ledger(&store), &mut h, draft(Op::Upgrade, "2"), &mut act, true).await.unwrap_err();
    assert!(err.to_string().contains("rolled back to revision 1 as revision 3"), "{err}");
    assert_eq!(act.calls, ["forward 2", "restore 3 over 2"]);
    assert_eq!(statuses(&store), [(1, Superseded), (2, Failed), (3, Deployed)]);
    let r3 = &store.all()[2];
    assert_eq!((r3.manifest.clone(), r3.values.clone()), (vec![cm("1")], json!({"image": {"tag": "1"}})));
    assert_eq!(r3.description, "Rollback to 1 (--atomic) complete");
}

#[tokio::test]
async fn row_atomic_rollback_that_fails_too_leaves_the_old_revision_deployed() {
    let store = MemoryStore::new();
    let mut h = installed(&store).await;
    let mut act = Fake { fail_forward: Some(apply_failed), fail_restore: true, ..Fake::default() };
    let err = perform(&ledger(&store), &mut h, draft(Op::Upgrade, "2"), &mut act, true).await.unwrap_err();
    assert!(err.to_string().contains("rolling back to revision 1 failed too"), "{err}");
    assert_eq!(statuses(&store), [(1, Deployed), (2, Failed), (3, Failed)]);
}

#[tokio::test]
async fn row_atomic_first_install_removes_what_it_created() {
    let store = MemoryStore::new();
    let mut h = Vec::new();
    let mut act = Fake { fail_forward: Some(apply_failed), ..Fake::default() };
    let err = perform(&ledger(&store), &mut h, draft(Op::Install, "1"), &mut act, true).await.unwrap_err();
    assert!(err.to_string().contains("removed the objects it created"), "{err}");
    assert_eq!(act.calls, ["forward 1", "remove 1"]);
    assert_eq!(statuses(&store), [(1, Failed)]);
    assert!(installable(&h), "install again is allowed");
}

#[tokio::test]
async fn row_marking_deployed_fails_leaves_pending_until_the_next_operation_repairs_it() {
    let store = MemoryStore::new();
    let mut h = installed(&store).await;
    store.fail(StoreOp::Update, 1);
    let err = perform(&ledger(&store), &mut h, draft(Op::Upgrade, "2"), &mut Fake::default(), false).await.unwrap_err();
    assert!(matches!(err, ReleaseError::Finalize { revision: 2, .. }), "{err}");
    assert_eq!(statuses(&store), [(1, Deployed), (2, PendingUpgrade)]);
    let l = ledger(&store);
    let mut h = l.load().await.unwrap();
    l.repair(&mut h).await.unwrap();
    perform(&l, &mut h, draft(Op::Rollback { to: 1, auto: false }, "1"), &mut Fake::default(), false).await.unwrap();
    assert_eq!(statuses(&store), [(1, Superseded), (2, Failed), (3, Deployed)]);
}

#[tokio::test]
async fn row_superseding_fails_leaves_two_deployed_until_the_next_operation() {
    let store = MemoryStore::new();
    let mut h = installed(&store).await;
    store.fail(StoreOp::Update, 2);
    perform(&ledger(&store), &mut h, draft(Op::Upgrade, "2"), &mut Fake::default(), false).await.unwrap_err();
    assert_eq!(statuses(&store), [(1, Deployed), (2, Deployed)]);
    let l = ledger(&store);
    let mut h = l.load().await.unwrap();
    assert_eq!(current(&h).map(|r| r.revision), Some(2), "the newest deployed is current");
    assert_eq!(l.repair(&mut h).await.unwrap(), vec![1]);
    assert_eq!(statuses(&store), [(1, Superseded), (2, Deployed)]);
}

#[tokio::test]
async fn row_history_is_trimmed_to_the_maximum_and_a_failed_trim_catches_up() {
    let store = MemoryStore::new();
    let mut h = installed(&store).await;
    let l = Ledger { history_max: 3, ..ledger(&store) };
    for i in 2..=4 {
        perform(&l, &mut h, draft(Op::Upgrade, &i.to_string()), &mut Fake::default(), false).await.unwrap();
    }
    assert_eq!(statuses(&store), [(2, Superseded), (3, Superseded), (4, Deployed)]);
    store.fail(StoreOp::Delete, 1);
    perform(&l, &mut h, draft(Op::Upgrade, "5"), &mut Fake::default(), false).await.unwrap();
    assert_eq!(store.all().len(), 4, "the failed delete leaves one too many, and the upgrade still succeeds");
    let mut h = l.load().await.unwrap();
    perform(&l, &mut h, draft(Op::Upgrade, "6"), &mut Fake::default(), false).await.unwrap();
    assert_eq!(statuses(&store), [(4, Superseded), (5, Superseded), (6, Deployed)]);
}

#[tokio::test]
async fn rows_uninstall_marks_then_deletes_and_can_be_resumed() {
    let store = MemoryStore::new();
    let mut h = installed(&store).await;
    perform(&ledger(&store), &mut h, draft(Op::Upgrade, "2"), &mut Fake::default(), false).await.unwrap();
    let l = ledger(&store);
    store.fail(StoreOp::Update, 1);
    assert!(l.begin_uninstall(&mut h).await.is_err());
    assert_eq!(statuses(&store), [(1, Superseded), (2, Deployed)], "unchanged");
    let mut h = l.load().await.unwrap();
    l.begin_uninstall(&mut h).await.unwrap();
    store.fail(StoreOp::Delete, 2);
    assert!(l.finish_uninstall(&mut h, false).await.is_err());
    assert_eq!(statuses(&store), [(2, Uninstalling)], "the latest says what was going on");
    let mut h = l.load().await.unwrap();
    l.begin_uninstall(&mut h).await.unwrap();
    l.finish_uninstall(&mut h, false).await.unwrap();
    assert!(store.all().is_empty());
}

#[tokio::test]
async fn uninstall_keeping_history_allows_a_new_install_numbered_after_it() {
    let store = MemoryStore::new();
    let mut h = installed(&store).await;
    let l = ledger(&store);
    l.begin_uninstall(&mut h).await.unwrap();
    l.finish_uninstall(&mut h, true).await.unwrap();
    assert_eq!(statuses(&store), [(1, Uninstalled)]);
    assert!(installable(&h));
    perform(&l, &mut h, draft(Op::Install, "2"), &mut Fake::default(), false).await.unwrap();
    assert_eq!(statuses(&store), [(1, Uninstalled), (2, Deployed)]);
}

#[test]
fn install_is_refused_while_deployed_or_pending() {
    use crate::release::record::sample;
    assert!(installable(&[]));
    assert!(!installable(&[sample("p", 1, Deployed)]));
    assert!(!installable(&[sample("p", 1, PendingInstall)]));
    assert!(installable(&[sample("p", 1, Failed), sample("p", 2, Failed)]));
    assert!(!installable(&[sample("p", 1, Superseded), sample("p", 2, Failed)]));
    let h = [sample("p", 1, Superseded), sample("p", 2, Deployed), sample("p", 3, Failed)];
    assert_eq!(previous(&h).map(|r| r.revision), Some(2));
}

#[test]
fn decisions_before_the_lock_see_history_as_repair_will_leave_it() {
    use crate::release::record::sample;
    let abandoned_install = [sample("p", 1, PendingInstall)];
    assert!(installable(&as_repaired(&abandoned_install)), "a dead first install is installed again");
    let h = [sample("p", 1, Deployed), sample("p", 2, Deployed), sample("p", 3, PendingUpgrade)];
    let view: Vec<Status> = as_repaired(&h).into_iter().map(|r| r.status).collect();
    assert_eq!(view, [Superseded, Deployed, Failed]);
    assert_eq!(h[2].status, PendingUpgrade, "the history itself is untouched");
}

#[test]
fn two_deployed_or_a_pending_revision_need_repair() {
    use crate::release::record::sample;
    assert!(!needs_repair(&[sample("p", 1, Superseded), sample("p", 2, Deployed), sample("p", 3, Failed)]));
    assert!(needs_repair(&[sample("p", 1, Deployed), sample("p", 2, Deployed)]));
    assert!(needs_repair(&[sample("p", 1, Deployed), sample("p", 2, PendingUpgrade)]));
}

#[test]
fn install_and_upgrade_follow_the_records() {
    let deployed = [sample("p", 1, Status::Deployed)];
    let failed = [sample("p", 1, Status::Failed)];
    assert!(installs(&[], None, "p", "ml").unwrap());
    assert!(matches!(installs(&deployed, None, "p", "ml"), Err(ReleaseError::AlreadyInstalled { .. })));
    assert!(installs(&failed, None, "p", "ml").unwrap(), "never deployed: install again");
    assert!(!installs(&deployed, Some(false), "p", "ml").unwrap());
    assert!(matches!(installs(&[], Some(false), "p", "ml"), Err(ReleaseError::NotInstalled { .. })));
    assert!(matches!(installs(&failed, Some(false), "p", "ml"), Err(ReleaseError::NotDeployed { .. })));
    assert!(installs(&failed, Some(true), "p", "ml").unwrap());
    assert!(!installs(&deployed, Some(true), "p", "ml").unwrap(), "--install upgrades what is deployed");
}

#[test]
fn an_interrupted_uninstall_refuses_install_and_upgrade_naming_the_way_out() {
    let half = [sample("p", 1, Superseded), sample("p", 2, Uninstalling)];
    for upgrade in [None, Some(false), Some(true)] {
        let err = installs(&as_repaired(&half), upgrade, "p", "ml").unwrap_err();
        assert!(matches!(err, ReleaseError::Uninstalling { revision: 2, .. }), "{upgrade:?}: {err}");
        let msg = err.to_string();
        assert!(msg.contains("`kubectl dimtensor uninstall p`") && msg.contains("`kubectl dimtensor rollback p 2`"));
    }
    // A rollback that failed afterwards leaves the uninstall still the way out.
    let after = [sample("p", 1, Uninstalling), sample("p", 2, Failed)];
    assert!(matches!(installs(&as_repaired(&after), None, "p", "ml"), Err(ReleaseError::Uninstalling { .. })));
}

#[tokio::test]
async fn row_an_uninstalling_revision_below_a_later_deployed_one_is_repaired() {
    let store = MemoryStore::new();
    let mut h = installed(&store).await;
    let l = ledger(&store);
    l.begin_uninstall(&mut h).await.unwrap();
    // The way out chosen: roll back to it, as a new revision; the stale mark goes with it.
    let target = h[0].clone();
    perform(&l, &mut h, Draft::rollback(&target, false), &mut Fake::default(), false).await.unwrap();
    assert_eq!(statuses(&store), [(1, Superseded), (2, Deployed)]);
    assert!(store.all()[0].description.contains("uninstall stopped"), "{}", store.all()[0].description);
    // A history an earlier version left that way is repaired by the next operation.
    let stale = vec![sample("p", 1, Uninstalling), sample("p", 2, Deployed)];
    assert!(needs_repair(&stale));
    let view: Vec<Status> = as_repaired(&stale).into_iter().map(|r| r.status).collect();
    assert_eq!(view, [Superseded, Deployed]);
}
