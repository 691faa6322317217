//! Long-lived requests: container logs (`pods/log`) and watches. Followed logs and watches go
//! through a second client without a read timeout, since a training run may print nothing for
//! an hour and a watch is quiet while nothing changes; opening one is bounded by
//! `--request-timeout` and retried like any request.

use super::{Cluster, ClusterError};
use crate::model::Gvk;
use futures::{AsyncBufRead, Stream, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, LogParams, WatchEvent, WatchParams};
use serde_json::Value;
use std::pin::Pin;

/// kubectl's log flags, as the `pods/log` API takes them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogOptions {
    pub container: String,
    pub follow: bool,
    pub previous: bool,
    pub since_seconds: Option<i64>,
    pub tail_lines: Option<i64>,
    pub timestamps: bool,
}

/// A log being read: its lines as they come.
pub type LogReader = Pin<Box<dyn AsyncBufRead + Send>>;

/// A change to a watched object (bookmarks are not passed on).
#[derive(Debug, Clone)]
pub enum Watched {
    Upsert(Value),
    Deleted(Value),
}

pub type WatchStream = Pin<Box<dyn Stream<Item = Result<Watched, ClusterError>> + Send>>;

/// How long one watch request lasts before the server ends it (the caller watches again).
const WATCH_SECONDS: u32 = 290;

impl Cluster {
    /// Opens a container's log. A followed log may be quiet for hours, so it has no read
    /// timeout; a log read to its end keeps `--request-timeout` between reads, so a server that
    /// stops sending cannot hang the command.
    pub async fn log_stream(&self, namespace: &str, pod: &str, o: &LogOptions) -> Result<LogReader, ClusterError> {
        let client = if o.follow { self.stream_client()? } else { self.client.clone() };
        let api: Api<Pod> = Api::namespaced(client, namespace);
        let lp = LogParams {
            container: Some(o.container.clone()).filter(|c| !c.is_empty()),
            follow: o.follow,
            previous: o.previous,
            since_seconds: o.since_seconds,
            tail_lines: o.tail_lines,
            timestamps: o.timestamps,
            ..LogParams::default()
        };
        let what = format!("Pod/{namespace}/{pod} container {}", o.container);
        let reader = self.call("read the log of", &what, || api.log_stream(pod, &lp)).await?;
        Ok(Box::pin(reader))
    }

    /// Watches a kind in a namespace from `resource_version` (as a LIST returned it). The
    /// stream ends when the server ends the watch; an expired version is an error (410).
    pub async fn watch(&self, gvk: &Gvk, namespace: &str, resource_version: &str) -> Result<WatchStream, ClusterError> {
        let kind = self.resolve(gvk).await?;
        let client = self.stream_client()?;
        let api: Api<DynamicObject> = if kind.namespaced {
            Api::namespaced_with(client, namespace, &kind.resource)
        } else {
            Api::all_with(client, &kind.resource)
        };
        let wp = WatchParams::default().timeout(WATCH_SECONDS);
        let what = format!("{}/{namespace}", gvk.kind);
        let events = self.call("watch", &what, || api.watch(&wp, resource_version)).await?;
        let (api_version, kind_name) = (gvk.api_version(), gvk.kind.clone());
        let url = self.url.clone();
        let stream = events.filter_map(move |ev| {
            let typed = |o: DynamicObject| {
                let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
                v["apiVersion"] = Value::String(api_version.clone());
                v["kind"] = Value::String(kind_name.clone());
                v
            };
            let out = match ev {
                Ok(WatchEvent::Added(o) | WatchEvent::Modified(o)) => Some(Ok(Watched::Upsert(typed(o)))),
                Ok(WatchEvent::Deleted(o)) => Some(Ok(Watched::Deleted(typed(o)))),
                Ok(WatchEvent::Bookmark(_)) => None,
                Ok(WatchEvent::Error(s)) => Some(Err(ClusterError::Api {
                    action: "watch".into(),
                    id: what.clone(),
                    code: s.code,
                    reason: s.reason.clone(),
                    message: s.message.clone(),
                    causes: Vec::new(),
                    attempts: 1,
                })),
                Err(e) => Some(Err(ClusterError::Unreachable {
                    request: format!("watch {what}"),
                    url: url.clone(),
                    reason: e.to_string(),
                    attempts: 1,
                })),
            };
            std::future::ready(out)
        });
        Ok(Box::pin(stream))
    }
}
