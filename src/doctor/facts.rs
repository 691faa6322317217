//! What the checks read, gathered once per release with read-only requests sent concurrently:
//! the release's objects and pods ([`Live`]), the namespace's events, and, only when the
//! release needs them, nodes (GPU workloads, node selectors), StorageClasses (PVCs) and whether
//! `metrics.k8s.io` is served (HPAs). A 403 makes a read [`Unreadable`] (its checks are skipped);
//! any other failure is an error.

use crate::cluster::{Cluster, ClusterError};
use crate::model::Gvk;
use crate::release::live::{pod_template, Live, Pod};
use serde_json::Value;
use std::fmt;

/// Something a check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Pods,
    Events,
    Nodes,
    StorageClasses,
    MetricsApi,
}

/// A read the user is not allowed (403): which, and the server's words.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    pub what: &'static str,
    pub message: String,
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot {} (403 Forbidden: {})", self.what, self.message)
    }
}

pub type Read<T> = Result<T, Unreadable>;

/// Everything the checks look at for one release.
#[derive(Debug, Clone)]
pub struct Facts {
    pub name: String,
    pub namespace: String,
    pub live: Live,
    pub pods: Read<Vec<Pod>>,
    pub events: Read<Vec<Value>>,
    pub nodes: Read<Vec<Value>>,
    pub storage_classes: Read<Vec<Value>>,
    pub metrics_api: Read<bool>,
}

impl Facts {
    pub fn unreadable(&self, need: Need) -> Option<&Unreadable> {
        match need {
            Need::Pods => self.pods.as_ref().err(),
            Need::Events => self.events.as_ref().err(),
            Need::Nodes => self.nodes.as_ref().err(),
            Need::StorageClasses => self.storage_classes.as_ref().err(),
            Need::MetricsApi => self.metrics_api.as_ref().err(),
        }
    }

    /// Readable pods (empty when not).
    pub fn pods(&self) -> &[Pod] {
        self.pods.as_deref().unwrap_or(&[])
    }

    pub fn events(&self) -> &[Value] {
        self.events.as_deref().unwrap_or(&[])
    }

    /// The newest event about object `kind`/`name` that `pick` accepts.
    pub fn latest_event(&self, kind: &str, name: &str, pick: impl Fn(&Value) -> bool) -> Option<&Value> {
        let time = |e: &Value| {
            [&e["lastTimestamp"], &e["eventTime"], &e["metadata"]["creationTimestamp"]]
                .into_iter()
                .find_map(|t| t.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        self.events()
            .iter()
            .filter(|e| e["involvedObject"]["kind"] == kind && e["involvedObject"]["name"] == name && pick(e))
            .max_by_key(|e| time(e))
    }

    /// The release's live objects of a kind.
    pub fn live_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a crate::model::ResId, &'a Value)> + 'a {
        self.live.objects.iter().filter(move |o| o.id.gvk.kind == kind).filter_map(|o| Some((&o.id, o.live.as_ref()?)))
    }
}

/// A 403 becomes [`Unreadable`], anything else stays an error.
fn readable<T>(what: &'static str, r: Result<T, ClusterError>) -> Result<Read<T>, ClusterError> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(ClusterError::Api { code: 403, message, .. }) => Ok(Err(Unreadable { what, message })),
        Err(e) => Err(e),
    }
}

/// Whether any workload's pods need a node with something (GPUs, labels).
fn needs_nodes(live: &Live) -> bool {
    live.workloads().any(|(_, w)| {
        pod_template(w).is_some_and(|t| {
            super::gpu::gpus_per_pod(t) > 0 || t["spec"]["nodeSelector"].as_object().is_some_and(|m| !m.is_empty())
        })
    })
}

/// Reads what the checks need for release `name` whose current revision has `manifest`.
pub async fn gather(cluster: &Cluster, name: &str, manifest: &[Value]) -> Result<Facts, ClusterError> {
    let ns = cluster.namespace.clone();
    let live = Live::read(cluster, name, &ns, manifest).await?;
    let kind = |k: &str| live.objects.iter().any(|o| o.id.gvk.kind == k);
    let (has_pvc, has_hpa, nodes_needed) =
        (kind("PersistentVolumeClaim"), kind("HorizontalPodAutoscaler"), needs_nodes(&live));
    let event_gvk = Gvk::from_api_version("v1", "Event");
    let events = cluster.list(&event_gvk, &ns, None);
    let nodes = async {
        match nodes_needed {
            true => cluster.list(&Gvk::from_api_version("v1", "Node"), "", None).await,
            false => Ok(Vec::new()),
        }
    };
    let classes = async {
        match has_pvc {
            true => cluster.list(&Gvk::from_api_version("storage.k8s.io/v1", "StorageClass"), "", None).await,
            false => Ok(Vec::new()),
        }
    };
    let metrics = async {
        match has_hpa {
            true => cluster.serves("metrics.k8s.io/v1beta1", "PodMetrics").await,
            false => Ok(true),
        }
    };
    let (pods, events, nodes, classes, metrics) =
        tokio::join!(live.pods(cluster, &ns), events, nodes, classes, metrics);
    Ok(Facts {
        name: name.to_string(),
        namespace: ns.clone(),
        live,
        pods: readable("list pods in the namespace", pods)?,
        events: readable("list events in the namespace", events)?,
        nodes: readable("list nodes (cluster-scoped)", nodes)?,
        storage_classes: readable("list storageclasses (cluster-scoped)", classes)?,
        metrics_api: readable("read the metrics.k8s.io API's discovery", metrics)?,
    })
}
