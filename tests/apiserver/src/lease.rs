//! A simulated lease holder: another client (on another machine, with this server's settable
//! clock) holding a `coordination.k8s.io/v1` Lease and renewing it every third of its
//! duration, as client-go's leader election and kubectl-dimtensor's release lock do. Stopping
//! it is the holder dying: the lease stays as last renewed.

use crate::state::{Shared, State};
use crate::store::ObjKey;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Who holds which lease, and for how long each renewal counts.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseHolder {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    pub duration_secs: i64,
}

impl LeaseHolder {
    pub fn new(namespace: &str, name: &str, identity: &str, duration_secs: i64) -> Self {
        LeaseHolder { namespace: namespace.into(), name: name.into(), identity: identity.into(), duration_secs }
    }
}

/// A running holder; [`HeldLease::die`] (or dropping it) stops the renewals.
pub struct HeldLease {
    alive: Arc<AtomicBool>,
}

impl HeldLease {
    /// The holder stops renewing without releasing, as a killed process does.
    pub fn die(&self) {
        self.alive.store(false, Ordering::SeqCst);
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        self.die();
    }
}

/// Takes the lease (creating or overwriting it) and renews it until the handle dies.
pub fn hold(sh: &Arc<Shared>, holder: LeaseHolder) -> HeldLease {
    let alive = Arc::new(AtomicBool::new(true));
    write(&mut sh.lock(), &holder, true);
    let (sh, flag) = (sh.clone(), alive.clone());
    let period = Duration::from_millis((holder.duration_secs.max(1) as u64 * 1000) / 3);
    sh.runtime.clone().spawn(async move {
        loop {
            tokio::time::sleep(period).await;
            if !flag.load(Ordering::SeqCst) || *sh.shutdown.borrow() {
                return;
            }
            write(&mut sh.lock(), &holder, false);
        }
    });
    HeldLease { alive }
}

/// One acquisition or renewal, stamped with the server's clock (MicroTime).
fn write(st: &mut State, h: &LeaseHolder, acquire: bool) {
    let key = ObjKey::new("coordination.k8s.io", "leases", &h.namespace, &h.name);
    let now = st.micro_now();
    let existing = st.store.get(&key).cloned();
    if acquire {
        let transitions = existing.as_ref().and_then(|l| l.pointer("/spec/leaseTransitions")).and_then(Value::as_i64);
        let lease = json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": h.name, "namespace": h.namespace},
            "spec": {"holderIdentity": h.identity, "leaseDurationSeconds": h.duration_secs, "acquireTime": now,
                     "renewTime": now, "leaseTransitions": transitions.map_or(0, |t| t + 1)},
        });
        let _ = crate::seed::insert(st, lease);
        return;
    }
    // Renew only while still ours: a holder whose lease was taken over has lost it.
    let Some(mut lease) = existing.filter(|l| l.pointer("/spec/holderIdentity") == Some(&json!(h.identity))) else {
        return;
    };
    lease["spec"]["renewTime"] = json!(now);
    st.store.put(key, lease);
}
