//! Where release records live, behind a [`Store`] trait (as Helm's `pkg/storage` drivers): the
//! Secret-backed store for real, [`super::memory::MemoryStore`] for unit tests. A store only
//! keeps records; deciding statuses is [`super::lifecycle`]'s job.

use super::record::{self, CodecError, Release};
use crate::cluster::{Cluster, ClusterError};
use crate::model::{Gvk, ResId};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("release {name} not found in namespace {namespace}")]
    ReleaseNotFound { name: String, namespace: String },
    #[error("release {name} has no revision {revision}; it has {}", list(available))]
    RevisionNotFound { name: String, revision: u32, available: Vec<u32> },
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("release record {secret} was changed by someone else while this operation ran")]
    Conflict { secret: String },
    #[error("release records: {0}")]
    Cluster(#[from] ClusterError),
}

fn list(revs: &[u32]) -> String {
    if revs.is_empty() {
        return "none".into();
    }
    revs.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// Keeps release records. Every method is one request against the backing store.
#[allow(async_fn_in_trait)] // used with concrete types only: no Send bound needed
pub trait Store {
    /// Every revision of one release, oldest first; empty when there is none.
    async fn history(&self, name: &str) -> Result<Vec<Release>, StoreError>;
    /// The latest revision of every release in the store's namespace, or in all of them.
    async fn latest_all(&self, all_namespaces: bool) -> Result<Vec<Release>, StoreError>;
    /// Stores a new revision; sets its resourceVersion.
    async fn create(&self, rel: &mut Release) -> Result<(), StoreError>;
    /// Replaces a stored revision, guarded by the resourceVersion it was read or written with.
    async fn update(&self, rel: &mut Release) -> Result<(), StoreError>;
    /// Removes one revision, guarded by the resourceVersion it was read or written with (a
    /// record someone changed meanwhile is a conflict); gone already is fine.
    async fn delete(&self, rel: &Release) -> Result<(), StoreError>;
}

/// One revision out of a history, or a typed error naming what there is.
pub fn revision(history: &[Release], name: &str, namespace: &str, rev: Option<u32>) -> Result<Release, StoreError> {
    let found = match rev {
        Some(r) => history.iter().find(|h| h.revision == r),
        None => history.last(),
    };
    match (found, rev) {
        (Some(r), _) => Ok(r.clone()),
        (None, _) if history.is_empty() => {
            Err(StoreError::ReleaseNotFound { name: name.into(), namespace: namespace.into() })
        }
        (None, r) => Err(StoreError::RevisionNotFound {
            name: name.into(),
            revision: r.unwrap_or(0),
            available: history.iter().map(|h| h.revision).collect(),
        }),
    }
}

/// Records as Secrets in the release's namespace, written with plain create and replace.
pub struct SecretStore<'c> {
    pub cluster: &'c Cluster,
    pub namespace: String,
}

fn secret_gvk() -> Gvk {
    Gvk::from_api_version("v1", "Secret")
}

impl SecretStore<'_> {
    /// The names of the releases in the namespace, from the records' labels alone (no record
    /// is decoded); releases uninstalled with `--keep-history` are left out.
    pub async fn names(&self) -> Result<Vec<String>, StoreError> {
        let items = self.cluster.list(&secret_gvk(), &self.namespace, Some(&record::selector(None))).await?;
        let mut latest: std::collections::BTreeMap<String, (u64, String)> = Default::default();
        for s in &items {
            let label = |k: &str| s["metadata"]["labels"][k].as_str().unwrap_or("").to_string();
            let revision = label("revision").parse().unwrap_or(0);
            let entry = latest.entry(label("name")).or_insert((0, String::new()));
            if revision >= entry.0 {
                *entry = (revision, label("status"));
            }
        }
        Ok(latest
            .into_iter()
            .filter(|(n, (_, status))| !n.is_empty() && status != "uninstalled")
            .map(|(n, _)| n)
            .collect())
    }

    fn id(&self, secret: &str) -> ResId {
        ResId::new(secret_gvk(), &self.namespace, secret)
    }

    fn decode_all(items: Vec<serde_json::Value>) -> Result<Vec<Release>, StoreError> {
        let mut out = Vec::new();
        for item in items {
            if item["type"] != record::RECORD_TYPE {
                continue;
            }
            out.push(record::from_secret(&item)?);
        }
        out.sort_by(|a, b| (&a.namespace, &a.name, a.revision).cmp(&(&b.namespace, &b.name, b.revision)));
        Ok(out)
    }
}

impl Store for SecretStore<'_> {
    async fn history(&self, name: &str) -> Result<Vec<Release>, StoreError> {
        let items = self.cluster.list(&secret_gvk(), &self.namespace, Some(&record::selector(Some(name)))).await?;
        Ok(Self::decode_all(items)?.into_iter().filter(|r| r.name == name).collect())
    }

    async fn latest_all(&self, all_namespaces: bool) -> Result<Vec<Release>, StoreError> {
        let sel = record::selector(None);
        let items = if all_namespaces {
            self.cluster.list_all_namespaces(&secret_gvk(), &sel).await?
        } else {
            self.cluster.list(&secret_gvk(), &self.namespace, Some(&sel)).await?
        };
        let mut latest: Vec<Release> = Vec::new();
        for r in Self::decode_all(items)? {
            match latest.last_mut() {
                Some(l) if l.name == r.name && l.namespace == r.namespace => *l = r,
                _ => latest.push(r),
            }
        }
        Ok(latest)
    }

    async fn create(&self, rel: &mut Release) -> Result<(), StoreError> {
        rel.resource_version = None;
        let body = record::to_secret(rel)?;
        let stored = self.cluster.create(&self.id(&rel.secret_name()), &body).await.map_err(|e| match e.code() {
            Some(409) => StoreError::Conflict { secret: rel.secret_name() },
            _ => e.into(),
        })?;
        rel.resource_version = stored["metadata"]["resourceVersion"].as_str().map(str::to_string);
        Ok(())
    }

    async fn update(&self, rel: &mut Release) -> Result<(), StoreError> {
        let body = record::to_secret(rel)?;
        let stored = self.cluster.replace(&self.id(&rel.secret_name()), &body).await.map_err(|e| match e.code() {
            Some(409) => StoreError::Conflict { secret: rel.secret_name() },
            _ => e.into(),
        })?;
        rel.resource_version = stored["metadata"]["resourceVersion"].as_str().map(str::to_string);
        Ok(())
    }

    async fn delete(&self, rel: &Release) -> Result<(), StoreError> {
        let id = self.id(&rel.secret_name());
        let gone = match rel.resource_version.as_deref() {
            Some(rv) => self.cluster.delete_at(&id, rv).await,
            None => self.cluster.delete(&id, crate::cluster::Propagation::Background, None).await,
        };
        gone.map_err(|e| match e.code() {
            Some(409) => StoreError::Conflict { secret: rel.secret_name() },
            _ => e.into(),
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::record::{sample, Status};

    #[test]
    fn missing_revisions_name_what_exists() {
        let h = vec![sample("a", 1, Status::Superseded), sample("a", 2, Status::Deployed)];
        assert_eq!(revision(&h, "a", "ml", None).unwrap().revision, 2);
        let err = revision(&h, "a", "ml", Some(7)).unwrap_err();
        assert!(matches!(err, StoreError::RevisionNotFound { revision: 7, .. }));
        assert!(err.to_string().contains("it has 1, 2"), "{err}");
        assert!(matches!(revision(&[], "a", "ml", None), Err(StoreError::ReleaseNotFound { .. })));
    }
}
