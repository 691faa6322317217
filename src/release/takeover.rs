//! Moving field ownership on the server ([`super::ownership`] decides, this writes): an existing
//! object's old managers' entries into the release's own (`--adopt`, `--take-ownership`, and the
//! move from the shared manager), letting go of an object the release found instead of
//! creating it, and handing an object over to a GitOps engine (`handover`).

use super::ownership::{self, Disposition};
use super::ReleaseError;
use crate::cluster::{ApplyAs, Cluster, ClusterError};
use crate::error::Error;
use crate::model::ResId;
use serde_json::Value;

/// How often a takeover reads and tries again when the object changes under it.
const ATTEMPTS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum TakeoverError {
    #[error("{id}: {reason}")]
    NotOurs { id: ResId, reason: String },
    #[error("{id} kept changing while its field ownership was being moved ({source}); nothing was applied to it: run the command again")]
    Busy { id: ResId, source: ClusterError },
}

/// Moves the entries `disposition` takes from into `manager`'s Apply entry, in one JSON patch of
/// `managedFields` guarded by a `test` of the resourceVersion it was computed from. The object is
/// read first and `still` checked on it (it may have changed hands since the plan).
pub async fn take_over(
    cluster: &Cluster,
    id: &ResId,
    manager: &str,
    disposition: Disposition,
    still: impl Fn(&Value) -> Result<Disposition, String>,
) -> Result<(), Error> {
    let patch = |live: &Value| match still(live) {
        Ok(d) if d == disposition => Ok(ownership::merged_entries(live, manager, disposition).map(|entries| {
            let rv = live["metadata"]["resourceVersion"].as_str().unwrap_or_default();
            ownership::managed_fields_patch(rv, entries)
        })),
        Ok(_) => Ok(None),
        Err(reason) => Err(TakeoverError::NotOurs { id: id.clone(), reason: reason.trim().into() }),
    };
    // Gone meanwhile: the apply creates it, and it is the release's from the start.
    guarded_patch(cluster, id, manager, None, patch).await.map(|_| ())
}

/// What handing an object over came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Handed {
    Over,
    /// Not the release's (any more): left as it is, and why.
    Left(String),
    Gone,
}

/// Hands release `name`'s object over ([`ownership::handover_patch`]), starting from `live` as
/// surveyed; `still` says why it is not the release's to hand over any more, if it is not.
pub async fn hand_over(
    cluster: &Cluster,
    id: &ResId,
    name: &str,
    live: Value,
    still: impl Fn(&Value) -> Result<(), String>,
) -> Result<Handed, Error> {
    let patch = |live: &Value| match still(live) {
        Ok(()) => Ok(ownership::handover_patch(live, name)),
        Err(reason) => Err(TakeoverError::NotOurs { id: id.clone(), reason }),
    };
    match guarded_patch(cluster, id, &ownership::field_manager(name), Some(live), patch).await {
        Ok(Patched::Done) => Ok(Handed::Over),
        Ok(Patched::Gone) => Ok(Handed::Gone),
        Err(Error::Release(ReleaseError::Takeover(TakeoverError::NotOurs { reason, .. }))) => Ok(Handed::Left(reason)),
        Err(e) => Err(e),
    }
}

enum Patched {
    Done,
    Gone,
}

/// Sends the JSON patch `compute` makes from the object as read (None: nothing to send); its
/// first op is a `test` of the resourceVersion it was computed from, so a write that lands
/// meanwhile fails it (422) and changes nothing: the object is read again and the patch made
/// again, [`ATTEMPTS`] times at most. `first`: the object as already read, saving one GET.
async fn guarded_patch(
    cluster: &Cluster,
    id: &ResId,
    manager: &str,
    mut first: Option<Value>,
    compute: impl Fn(&Value) -> Result<Option<Value>, TakeoverError>,
) -> Result<Patched, Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let live = match first.take() {
            Some(v) => v,
            None => match cluster.get(id).await? {
                Some(v) => v,
                None => return Ok(Patched::Gone),
            },
        };
        let Some(ops) = compute(&live)? else { return Ok(Patched::Done) };
        match cluster.json_patch(id, &ops, manager).await {
            Ok(_) => return Ok(Patched::Done),
            Err(e) if e.is_not_found() => return Ok(Patched::Gone),
            Err(e) if e.code() == Some(422) && attempt < ATTEMPTS => continue,
            Err(e) if e.code() == Some(422) => return Err(TakeoverError::Busy { id: id.clone(), source: e }.into()),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Lets go of an object: applies nothing but its identity as `manager`, which removes that
/// manager's entry and every field only it owned, leaving the object as its owner made it.
pub async fn relinquish(cluster: &Cluster, id: &ResId, manager: &str) -> Result<(), ClusterError> {
    let how = ApplyAs { manager, force: false, dry_run: false };
    cluster.apply(id, &ownership::empty_config(id), how).await.map(|_| ())
}
