//! One operation at a time per release: a `coordination.k8s.io/v1` Lease named
//! `dimtensor.release.<name>`, held by `user@host:pid`, renewed by a background task while the
//! operation runs, deleted at the end. A holder that died stops renewing; once its lease has
//! expired the next operation takes it over with a PUT guarded by the resourceVersion it saw (a
//! 409 means another contender won).

use crate::apply::Cancel;
use crate::cluster::{Cluster, ClusterError};
use crate::model::{Gvk, ResId};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("release {name} is locked by {holder} since {since}: another operation is running on it (if it died, its lock expires at {expires}, {secs}s after its last renewal, and the next operation takes over)")]
    Held { name: String, holder: String, since: String, expires: String, secs: i64 },
    #[error("release {name}: the lock was lost to {by} (it could not be renewed in time); this operation stopped")]
    Lost { name: String, by: String },
    #[error("namespace {0} does not exist")]
    NamespaceMissing(String),
    #[error("release lock: {0}")]
    Cluster(#[from] ClusterError),
}

fn lease_gvk() -> Gvk {
    Gvk::from_api_version("coordination.k8s.io/v1", "Lease")
}

/// `user@host:pid`, so a lock error says who to ask.
pub fn holder_identity() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}:{}", std::process::id())
}

/// A MicroTime as the API server parses it (exactly six fractional digits).
fn micro_time(t: Timestamp) -> String {
    format!("{}.{:06}Z", t.strftime("%Y-%m-%dT%H:%M:%S"), t.subsec_microsecond())
}

/// Who holds a lease and until when; `None` when it is free or expired at `now`.
pub fn holder_at(lease: &Value, now: Timestamp) -> Option<(String, Timestamp)> {
    let spec = &lease["spec"];
    let holder = spec["holderIdentity"].as_str().filter(|h| !h.is_empty())?;
    let renewed: Timestamp = spec["renewTime"].as_str().or(spec["acquireTime"].as_str())?.parse().ok()?;
    let expires =
        renewed.checked_add(SignedDuration::from_secs(spec["leaseDurationSeconds"].as_i64().unwrap_or(0))).ok()?;
    (expires > now).then(|| (holder.to_string(), expires))
}

/// A held lock. Call [`Lock::release`] on every path; a crash leaves it to expire.
pub struct Lock {
    cluster: Arc<Cluster>,
    id: ResId,
    release: String,
    lease: Arc<Mutex<Value>>,
    lost: Arc<Mutex<Option<String>>>,
    stop: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Lock {
    /// Takes the lock or fails at once saying who holds it. Losing it later cancels `cancel`.
    pub async fn acquire(
        cluster: Arc<Cluster>,
        namespace: &str,
        release: &str,
        duration: Duration,
        cancel: &Cancel,
    ) -> Result<Lock, LockError> {
        let id = ResId::new(lease_gvk(), namespace, &format!("dimtensor.release.{release}"));
        let me = holder_identity();
        let secs = duration.as_secs().max(1) as i64;
        let now = Timestamp::now();
        let body = json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": id.name, "namespace": namespace, "labels": {"owner": "dimtensor", "name": release}},
            "spec": {"holderIdentity": me, "leaseDurationSeconds": secs, "acquireTime": micro_time(now), "renewTime": micro_time(now), "leaseTransitions": 0},
        });
        let lease = match cluster.create(&id, &body).await {
            Ok(l) => l,
            Err(e) if e.is_not_found() => return Err(LockError::NamespaceMissing(namespace.into())),
            Err(e) if e.code() == Some(409) => Self::take_over(&cluster, &id, release, body).await?,
            Err(e) => return Err(e.into()),
        };
        Ok(Self::start(cluster, id, release, lease, Duration::from_secs(secs as u64), cancel))
    }

    /// Fails at once if another operation holds the lock (a read: nothing is written).
    pub async fn ensure_free(cluster: &Cluster, namespace: &str, release: &str) -> Result<(), LockError> {
        let id = ResId::new(lease_gvk(), namespace, &format!("dimtensor.release.{release}"));
        match cluster.get(&id).await {
            Ok(Some(live)) => Self::free(&live, release),
            Ok(None) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn free(live: &Value, release: &str) -> Result<(), LockError> {
        match holder_at(live, Timestamp::now()) {
            Some((holder, expires)) => Err(LockError::Held {
                name: release.into(),
                holder,
                since: live["spec"]["acquireTime"].as_str().unwrap_or("?").into(),
                expires: expires.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                secs: live["spec"]["leaseDurationSeconds"].as_i64().unwrap_or(0),
            }),
            None => Ok(()),
        }
    }

    async fn take_over(cluster: &Cluster, id: &ResId, release: &str, mut body: Value) -> Result<Value, LockError> {
        let held = |live: &Value| Self::free(live, release);
        let Some(live) = cluster.get(id).await? else {
            // Released between our create and get: one more create decides.
            return cluster.create(id, &body).await.map_err(LockError::from);
        };
        held(&live)?;
        body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"].clone();
        body["spec"]["leaseTransitions"] = json!(live["spec"]["leaseTransitions"].as_i64().unwrap_or(0) + 1);
        match cluster.replace(id, &body).await {
            Ok(l) => Ok(l),
            Err(e) if e.code() == Some(409) => {
                let live = cluster.get(id).await?.unwrap_or_default();
                held(&live)?;
                Err(LockError::Held {
                    name: release.into(),
                    holder: "another operation".into(),
                    since: "just now".into(),
                    expires: "?".into(),
                    secs: 0,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    fn start(
        cluster: Arc<Cluster>,
        id: ResId,
        release: &str,
        lease: Value,
        duration: Duration,
        cancel: &Cancel,
    ) -> Lock {
        let lease = Arc::new(Mutex::new(lease));
        let lost = Arc::new(Mutex::new(None));
        let stop = Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn(renew(
            cluster.clone(),
            id.clone(),
            lease.clone(),
            lost.clone(),
            stop.clone(),
            duration,
            cancel.clone(),
        ));
        Lock { cluster, id, release: release.into(), lease, lost, stop, task }
    }

    /// Fails once the lock was lost: nothing may be written after that.
    pub fn check(&self) -> Result<(), LockError> {
        match self.lost.lock().map(|l| l.clone()) {
            Ok(Some(by)) => Err(LockError::Lost { name: self.release.clone(), by }),
            _ => Ok(()),
        }
    }

    /// Stops renewing and deletes the lease, unless someone else holds it by now.
    pub async fn release(self) -> Result<(), LockError> {
        self.stop.notify_one();
        let lost = self.check().is_err();
        let _ = self.task.await;
        if lost || self.lost.lock().map(|l| l.is_some()).unwrap_or(true) {
            return Ok(());
        }
        let rv = self.lease.lock().ok().and_then(|l| l["metadata"]["resourceVersion"].as_str().map(str::to_string));
        match rv {
            Some(rv) => match self.cluster.delete_at(&self.id, &rv).await {
                Ok(_) => Ok(()),
                Err(e) if e.code() == Some(409) => Ok(()),
                Err(e) => Err(e.into()),
            },
            None => Ok(()),
        }
    }
}

/// Renews every third of the lease; a 409, or no renewal for a whole lease, means lost.
async fn renew(
    cluster: Arc<Cluster>,
    id: ResId,
    lease: Arc<Mutex<Value>>,
    lost: Arc<Mutex<Option<String>>>,
    stop: Arc<tokio::sync::Notify>,
    duration: Duration,
    cancel: Cancel,
) {
    let period = duration / 3;
    let mut last_ok = Instant::now();
    loop {
        tokio::select! {
            _ = stop.notified() => return,
            _ = tokio::time::sleep(period) => {}
        }
        let Ok(mut body) = lease.lock().map(|l| l.clone()) else { return };
        body["spec"]["renewTime"] = Value::String(micro_time(Timestamp::now()));
        let give_up = |by: String| {
            if let Ok(mut l) = lost.lock() {
                *l = Some(by);
            }
            cancel.cancel();
        };
        match cluster.replace(&id, &body).await {
            Ok(l) => {
                if let Ok(mut slot) = lease.lock() {
                    *slot = l;
                }
                last_ok = Instant::now();
            }
            Err(e) if e.code() == Some(409) || e.is_not_found() => {
                let by = match cluster.get(&id).await {
                    Ok(Some(l)) => l["spec"]["holderIdentity"].as_str().unwrap_or("another operation").to_string(),
                    _ => "another operation".into(),
                };
                return give_up(by);
            }
            Err(_) if last_ok.elapsed() >= duration => return give_up("nobody (renewal kept failing)".into()),
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_held_until_its_duration_after_the_last_renewal() {
        let lease = json!({"spec": {"holderIdentity": "a@h:1", "leaseDurationSeconds": 60, "renewTime": "2025-01-01T00:00:00.000000Z"}});
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(holder_at(&lease, at("2025-01-01T00:00:59Z")).map(|h| h.0), Some("a@h:1".to_string()));
        assert!(holder_at(&lease, at("2025-01-01T00:01:01Z")).is_none(), "expired");
        let free = json!({"spec": {"holderIdentity": "", "leaseDurationSeconds": 60, "renewTime": "2025-01-01T00:00:00.000000Z"}});
        assert!(holder_at(&free, at("2025-01-01T00:00:01Z")).is_none(), "released");
    }

    #[test]
    fn micro_times_have_six_digits() {
        let t: Timestamp = "2025-01-01T00:00:00.5Z".parse().unwrap();
        assert_eq!(micro_time(t), "2025-01-01T00:00:00.500000Z");
        assert!(holder_identity().contains('@') && holder_identity().contains(':'));
    }
}
