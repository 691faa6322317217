//! `?watch=1`: a chunked stream of `{"type": ..., "object": ...}` lines (watch-deployments.json).

use super::Request;
use crate::http::Reply;
use crate::resources::ResourceInfo;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::state::Shared;
use crate::status::ApiError;
use crate::store::WatchEvent;
use crate::table;
use bytes::Bytes;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// Real servers pick 30-60 minutes; tests end sooner, and shutdown closes the stream anyway.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

struct Filter {
    info: ResourceInfo,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    table: Option<&'static str>,
}

impl Filter {
    fn matches(&self, ev: &WatchEvent) -> bool {
        ev.key.group == self.info.group
            && ev.key.plural == self.info.plural
            && self.namespace.as_deref().map_or(true, |ns| ev.key.namespace == ns)
            && self.labels.matches(ev.object.pointer("/metadata/labels").and_then(Value::as_object))
            && self.fields.matches(&ev.object)
    }

    fn line(&self, kind: &str, object: &Value) -> Bytes {
        let object = match self.table {
            Some(v) => table::table(&self.info, std::slice::from_ref(object), "", "Object", v),
            None => {
                let mut o = object.clone();
                self.info.at_version(&mut o);
                o
            }
        };
        let mut s = json!({"type": kind, "object": object}).to_string();
        s.push('\n');
        Bytes::from(s)
    }
}

/// Starts a watch; events are replayed after `resourceVersion`, or all objects are sent as
/// ADDED first when it is absent or "0".
pub fn start(sh: &Arc<Shared>, info: &ResourceInfo, namespace: Option<&str>, req: &Request) -> Result<Reply, ApiError> {
    let filter = Filter {
        info: info.clone(),
        namespace: namespace.map(str::to_string),
        labels: LabelSelector::parse(req.query.get("labelSelector").unwrap_or(""))
            .map_err(|e| ApiError::bad_request(&e))?,
        fields: FieldSelector::parse(req.query.get("fieldSelector").unwrap_or(""), &info.plural)
            .map_err(|e| ApiError::bad_request(&e))?,
        table: table::wants_table(&req.accept),
    };
    let timeout = req
        .query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let rv = req.query.get("resourceVersion").unwrap_or("");
    let initial_bookmark = req.query.flag("sendInitialEvents") && req.query.flag("allowWatchBookmarks");
    let (first, rx, current) = {
        let st = sh.lock();
        let first: Vec<Bytes> = match rv {
            "" | "0" => st
                .store
                .list(&info.group, &info.plural, namespace)
                .into_iter()
                .filter(|o| {
                    filter.labels.matches(o.pointer("/metadata/labels").and_then(Value::as_object))
                        && filter.fields.matches(o)
                })
                .map(|o| filter.line("ADDED", o))
                .collect(),
            n => {
                let since: u64 =
                    n.parse().map_err(|_| ApiError::bad_request(&format!("invalid resource version: {n}")))?;
                st.store
                    .events_since(since)
                    .iter()
                    .filter(|e| filter.matches(e))
                    .map(|e| filter.line(e.kind, &e.object))
                    .collect()
            }
        };
        (first, st.store.subscribe(), st.store.current_rv())
    };
    let (tx, out) = mpsc::channel::<Bytes>(64);
    let mut shutdown = sh.shutdown.clone();
    tokio::spawn(async move {
        for line in first {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        if initial_bookmark {
            let mark = json!({"type": "BOOKMARK", "object": {"kind": filter.info.kind, "apiVersion": filter.info.api_version(),
                "metadata": {"resourceVersion": current.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}}});
            if tx.send(Bytes::from(format!("{mark}\n"))).await.is_err() {
                return;
            }
        }
        pump(rx, tx, filter, timeout, &mut shutdown).await;
    });
    Ok(Reply::Stream(out))
}

async fn pump(
    mut rx: broadcast::Receiver<Arc<WatchEvent>>,
    tx: mpsc::Sender<Bytes>,
    filter: Filter,
    timeout: Duration,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) {
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return,
            _ = shutdown.changed() => return,
            _ = tx.closed() => return,
            ev = rx.recv() => match ev {
                Ok(ev) if filter.matches(&ev) => {
                    if tx.send(filter.line(ev.kind, &ev.object)).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                // A lagging watcher is closed; clients re-list and watch again.
                Err(_) => return,
            },
        }
    }
}
