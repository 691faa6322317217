//! Release names from the cluster for completion: one LIST of release records (labels only are
//! read) with the connection flags typed so far. A shell waits for the answer, so the whole
//! lookup (kubeconfig, exec credential plugin, request) is bounded by a short timeout; an
//! unreachable or slow cluster, or missing permissions, completes nothing rather than hang.

use super::{ReleaseLister, Scope};
use crate::cluster::{Cluster, ConnectOptions};
use crate::release::store::SecretStore;
use std::time::Duration;

/// How long completion waits for the cluster by default.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// Lists the releases in the namespace the typed flags choose.
pub struct ClusterReleases {
    pub timeout: Duration,
}

impl Default for ClusterReleases {
    fn default() -> Self {
        ClusterReleases { timeout: TIMEOUT }
    }
}

impl ClusterReleases {
    async fn names(&self, scope: &Scope) -> Option<Vec<String>> {
        let opts = ConnectOptions {
            kubeconfig: scope.kubeconfig.clone().map(Into::into),
            context: scope.context.clone(),
            cluster: scope.cluster.clone(),
            user: scope.user.clone(),
            namespace: scope.namespace.clone(),
            as_user: scope.as_user.clone(),
            as_groups: scope.as_groups.clone(),
            request_timeout: Some(self.timeout),
            concurrency: None,
        };
        let cluster = Cluster::connect(&opts).await.ok()?;
        let store = SecretStore { cluster: &cluster, namespace: cluster.namespace.clone() };
        store.names().await.ok()
    }
}

impl ReleaseLister for ClusterReleases {
    fn releases(&self, scope: &Scope) -> Vec<String> {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return Vec::new() };
        let found = rt.block_on(async { tokio::time::timeout(self.timeout, self.names(scope)).await });
        // Dropping the runtime does not wait for a request still in flight.
        rt.shutdown_background();
        found.ok().flatten().unwrap_or_default()
    }
}
