//! One operation at a time per release: a `coordination.k8s.io/v1` Lease named
//! `dimtensor.release.<name>`, held by `user@host:pid`, renewed every third of its duration by a
//! background task while the operation runs (also while it waits for a rollout), deleted at the
//! end.
//!
//! No clock is ever compared with another machine's, as in client-go's leader election: the
//! lease's `renewTime` is there for people to read. Whether a holder is alive is decided by
//! watching its lease: a lease someone else holds may be taken only once this client has itself
//! seen it unchanged (the same `resourceVersion`) for the lease's duration, timed on this
//! machine's monotonic clock. A change seen meanwhile means the holder is alive: the operation
//! stops, naming it. The takeover is an update guarded by the `resourceVersion` that was watched
//! (a 409: another contender won). So a client whose clock is off never takes a live lock, and
//! recovery after a killed holder takes up to its lease's duration (`--lock-duration`).

use crate::apply::Cancel;
use crate::cluster::{Cluster, ClusterError};
use crate::model::{Gvk, ResId};
use k8s_openapi::jiff::Timestamp;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("release {name} is locked by {holder} since {since}: another operation is running on it (it renewed the lock while this one watched); run this again once that one has finished")]
    Held { name: String, holder: String, since: String },
    #[error("release {name}: the lock was lost to {by} (it could not be renewed in time); this operation stopped")]
    Lost { name: String, by: String },
    #[error("release {name}: interrupted while waiting for the lock of {holder}")]
    Interrupted { name: String, holder: String },
    #[error("namespace {0} does not exist")]
    NamespaceMissing(String),
    #[error("release lock: {0}")]
    Cluster(#[from] ClusterError),
}

fn lease_id(namespace: &str, release: &str) -> ResId {
    let gvk = Gvk::from_api_version("coordination.k8s.io/v1", "Lease");
    ResId::new(gvk, namespace, &format!("dimtensor.release.{release}"))
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

/// A MicroTime as the API server parses it (exactly six fractional digits). For people only.
fn micro_time(t: Timestamp) -> String {
    format!("{}.{:06}Z", t.strftime("%Y-%m-%dT%H:%M:%S"), t.subsec_microsecond())
}

/// What this client has seen of a lease someone else holds: since when (on this machine's
/// monotonic clock) it has stayed at this resourceVersion.
#[derive(Debug, Clone)]
pub struct Sighting {
    rv: String,
    holder: String,
    since: Instant,
    /// The holder's own lease duration: it promised to renew within it.
    duration: Duration,
}

impl Sighting {
    /// The lease as seen now; an earlier sighting of the same resourceVersion keeps its start.
    /// `None`: nobody holds it.
    fn of(lease: &Value, earlier: Option<Sighting>, fallback: Duration) -> Option<Sighting> {
        let holder = lease["spec"]["holderIdentity"].as_str().filter(|h| !h.is_empty())?.to_string();
        let rv = lease["metadata"]["resourceVersion"].as_str().unwrap_or("").to_string();
        let secs = lease["spec"]["leaseDurationSeconds"].as_u64().filter(|s| *s > 0);
        let duration = secs.map(Duration::from_secs).unwrap_or(fallback);
        let since = earlier.filter(|e| e.rv == rv).map_or_else(Instant::now, |e| e.since);
        Some(Sighting { rv, holder, since, duration })
    }

    /// Seen unchanged for a whole lease duration: its holder stopped renewing.
    fn dead(&self) -> bool {
        self.since.elapsed() >= self.duration
    }
}

/// What watching a lease found.
enum Verdict {
    /// It went away: try to create it.
    Gone,
    /// Free to take at this resourceVersion: released (no holder) or its holder is dead.
    Take { rv: String, transitions: i64, from: Option<Sighting> },
}

/// Watches `live` (someone else's lease) until it goes, is released, or stays unchanged for its
/// duration; a change with a holder means the holder is alive.
async fn watch(
    cluster: &Cluster,
    id: &ResId,
    release: &str,
    mut live: Value,
    mut seen: Option<Sighting>,
    fallback: Duration,
    cancel: &Cancel,
) -> Result<Verdict, LockError> {
    let transitions = |l: &Value| l["spec"]["leaseTransitions"].as_i64().unwrap_or(0);
    let Some(first) = Sighting::of(&live, seen.take(), fallback) else {
        let rv = live["metadata"]["resourceVersion"].as_str().unwrap_or("").to_string();
        return Ok(Verdict::Take { rv, transitions: transitions(&live), from: None });
    };
    if !first.dead() {
        let since = live["spec"]["acquireTime"].as_str().unwrap_or("?");
        eprintln!(
            "release {release} is locked by {} (since {since}): watching the lock for up to {}s (a running operation renews it, one that died does not)",
            first.holder,
            first.duration.saturating_sub(first.since.elapsed()).as_secs_f64().ceil()
        );
    }
    let poll = (first.duration / 10).clamp(Duration::from_millis(200), Duration::from_secs(2));
    let sighting = first;
    while !sighting.dead() {
        if cancel.is_cancelled() {
            return Err(LockError::Interrupted { name: release.into(), holder: sighting.holder.clone() });
        }
        tokio::time::sleep(poll.min(sighting.duration.saturating_sub(sighting.since.elapsed()))).await;
        live = match cluster.get(id).await? {
            None => return Ok(Verdict::Gone),
            Some(l) => l,
        };
        if live["metadata"]["resourceVersion"].as_str() != Some(sighting.rv.as_str()) {
            return match Sighting::of(&live, None, fallback) {
                // Renewed, or taken by another: alive.
                Some(s) => Err(held(release, &live, &s.holder)),
                None => Ok(Verdict::Take {
                    rv: live["metadata"]["resourceVersion"].as_str().unwrap_or("").to_string(),
                    transitions: transitions(&live),
                    from: None,
                }),
            };
        }
    }
    Ok(Verdict::Take { rv: sighting.rv.clone(), transitions: transitions(&live), from: Some(sighting) })
}

fn held(release: &str, live: &Value, holder: &str) -> LockError {
    LockError::Held {
        name: release.into(),
        holder: holder.into(),
        since: live["spec"]["acquireTime"].as_str().unwrap_or("?").into(),
    }
}

/// A held lock. Call [`Lock::release`] on every path; a crash leaves it to be taken over.
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
    /// Waits until no other operation holds the lock (a read: nothing is written): free, or its
    /// holder seen dead (returned, so [`Lock::acquire`] takes over without watching again).
    /// Fails naming the holder once it is seen alive.
    pub async fn ensure_free(
        cluster: &Cluster,
        namespace: &str,
        release: &str,
        duration: Duration,
        cancel: &Cancel,
    ) -> Result<Option<Sighting>, LockError> {
        let id = lease_id(namespace, release);
        let live = match cluster.get(&id).await {
            Ok(Some(live)) => live,
            Ok(None) => return Ok(None),
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        match watch(cluster, &id, release, live, None, duration, cancel).await? {
            Verdict::Take { from, .. } => Ok(from),
            Verdict::Gone => Ok(None),
        }
    }

    /// Takes the lock: creates the lease, or takes it over from a holder seen dead (watching it
    /// first if `seen` is not already a sighting of it as it is). Losing it later cancels `cancel`.
    pub async fn acquire(
        cluster: Arc<Cluster>,
        namespace: &str,
        release: &str,
        duration: Duration,
        cancel: &Cancel,
        mut seen: Option<Sighting>,
    ) -> Result<Lock, LockError> {
        let id = lease_id(namespace, release);
        let secs = duration.as_secs().max(1) as i64;
        let now = micro_time(Timestamp::now());
        let mut body = json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": id.name, "namespace": namespace, "labels": {"owner": "dimtensor", "name": release}},
            "spec": {"holderIdentity": holder_identity(), "leaseDurationSeconds": secs, "acquireTime": now, "renewTime": now, "leaseTransitions": 0},
        });
        let period = Duration::from_secs(secs as u64);
        // Each round ends in the lock, an error, or a lease that went away meanwhile.
        for _ in 0..5 {
            match cluster.create(&id, &body).await {
                Ok(lease) => return Ok(Self::start(cluster, id, release, lease, period, cancel)),
                Err(e) if e.is_not_found() => return Err(LockError::NamespaceMissing(namespace.into())),
                Err(e) if e.code() == Some(409) => {}
                Err(e) => return Err(e.into()),
            }
            let Some(live) = cluster.get(&id).await? else { continue };
            let (rv, transitions, from) =
                match watch(&cluster, &id, release, live, seen.take(), duration, cancel).await? {
                    Verdict::Gone => continue,
                    Verdict::Take { rv, transitions, from } => (rv, transitions, from),
                };
            body["metadata"]["resourceVersion"] = json!(rv);
            body["spec"]["leaseTransitions"] = json!(transitions + 1);
            return match cluster.replace(&id, &body).await {
                Ok(lease) => {
                    if let Some(dead) = from {
                        eprintln!(
                            "release {release}: took over the lock of {}: not renewed for {}s (its operation stopped)",
                            dead.holder,
                            dead.since.elapsed().as_secs()
                        );
                    }
                    Ok(Self::start(cluster, id, release, lease, period, cancel))
                }
                Err(e) if e.code() == Some(409) => {
                    let live = cluster.get(&id).await?.unwrap_or_default();
                    let holder = live["spec"]["holderIdentity"].as_str().unwrap_or("another operation").to_string();
                    Err(held(release, &live, &holder))
                }
                Err(e) => Err(e.into()),
            };
        }
        Err(held(release, &Value::Null, "another operation (the lock kept changing hands)"))
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

/// Renews every third of the lease (whatever the operation is doing meanwhile: applying,
/// waiting); a 409 means someone took it over, and no renewal for two thirds of the lease (on
/// this machine's monotonic clock; client-go's renew deadline has the same ratio) means it soon
/// may be: lost either way, before a watcher could take it.
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
            Err(_) if last_ok.elapsed() >= duration * 2 / 3 => {
                return give_up("nobody yet (renewals kept failing)".into())
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(rv: &str, holder: &str, secs: u64) -> Value {
        json!({"metadata": {"resourceVersion": rv}, "spec": {"holderIdentity": holder, "leaseDurationSeconds": secs,
               "renewTime": "2099-01-01T00:00:00.000000Z"}})
    }

    #[test]
    fn a_lease_is_dead_only_after_it_was_seen_unchanged_for_its_duration() {
        let fallback = Duration::from_secs(60);
        let s = Sighting::of(&lease("7", "a@h:1", 60), None, fallback).unwrap();
        assert!(!s.dead(), "just seen: whatever its renewTime says");
        let old = Sighting { since: Instant::now() - Duration::from_secs(61), ..s.clone() };
        assert!(old.dead());
        let again = Sighting::of(&lease("7", "a@h:1", 60), Some(old.clone()), fallback).unwrap();
        assert!(again.dead(), "the same resourceVersion keeps the first sighting");
        let renewed = Sighting::of(&lease("8", "a@h:1", 60), Some(old), fallback).unwrap();
        assert!(!renewed.dead(), "a new resourceVersion starts the watch again");
        assert!(Sighting::of(&lease("9", "", 60), None, fallback).is_none(), "released");
        let short = Sighting::of(&lease("9", "b@h:2", 0), None, Duration::from_secs(5)).unwrap();
        assert_eq!(short.duration, Duration::from_secs(5), "no duration of its own: ours");
    }

    #[test]
    fn micro_times_have_six_digits() {
        let t: Timestamp = "2025-01-01T00:00:00.5Z".parse().unwrap();
        assert_eq!(micro_time(t), "2025-01-01T00:00:00.500000Z");
        assert!(holder_identity().contains('@') && holder_identity().contains(':'));
    }
}
