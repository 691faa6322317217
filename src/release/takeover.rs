//! Moving field ownership on the server ([`super::ownership`] decides, this writes): an existing
//! object's old managers' entries into the release's own (`--adopt`, `--take-ownership`, and the
//! move from the shared manager), and letting go of an object the release found instead of
//! creating it.

use super::ownership::{self, Disposition};
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
/// read first and `still` checked on it (it may have changed hands since the plan); a write that
/// lands meanwhile fails the test and changes nothing, so it is read and tried again.
pub async fn take_over(
    cluster: &Cluster,
    id: &ResId,
    manager: &str,
    disposition: Disposition,
    still: impl Fn(&Value) -> Result<Disposition, String>,
) -> Result<(), Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        // Gone meanwhile: the apply creates it, and it is the release's from the start.
        let Some(live) = cluster.get(id).await? else { return Ok(()) };
        match still(&live) {
            Ok(d) if d == disposition => {}
            Ok(_) => return Ok(()),
            Err(reason) => return Err(TakeoverError::NotOurs { id: id.clone(), reason: reason.trim().into() }.into()),
        }
        let Some(entries) = ownership::merged_entries(&live, manager, disposition) else { return Ok(()) };
        let rv = live["metadata"]["resourceVersion"].as_str().unwrap_or_default();
        match cluster.json_patch(id, &ownership::managed_fields_patch(rv, entries), manager).await {
            Ok(_) => return Ok(()),
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
