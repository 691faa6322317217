//! `logs`: the logs of a release's pods at once, each line prefixed with where it came from,
//! through the `pods/log` API. Without `-f`, each container's log is fetched (at most
//! `--max-log-requests` at a time) and printed whole, in pod and container order; with `-f`
//! ([`follow`]), lines are printed as they come and new pods are followed as a Job retries or a
//! Deployment rolls, like `stern` and `kapp logs -f`.
//!
//! Which run of a container has logs follows the kubelet: a running or finished container has
//! its own; a crash-looping one shows its last run; one still waiting (pulling its image, not
//! scheduled) has none yet, which is said on stderr instead of failing.

mod follow;

use crate::cluster::{Cluster, ClusterError, ConnectOptions, LogOptions};
use crate::error::Error;
use crate::release::live::{Live, Pod};
use crate::release::store::{self, SecretStore, Store};
use futures::{AsyncReadExt, StreamExt};
use serde_json::Value;
use std::io::Write;
use std::sync::Arc;

/// What to show, as kubectl's flags say it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub follow: bool,
    pub index: Option<u32>,
    pub container: Option<String>,
    pub previous: bool,
    pub since_seconds: Option<i64>,
    pub tail: Option<i64>,
    pub timestamps: bool,
    pub max_requests: usize,
}

/// One container run to read.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub pod: String,
    pub uid: String,
    pub container: String,
    /// Which run (restart count) the log belongs to, so a run is never shown twice.
    pub run: i64,
    pub index: Option<u32>,
    /// Read the previous run (`--previous`).
    pub previous: bool,
}

impl Target {
    /// `[pod/NAME/CONTAINER] `, or `[#INDEX pod/NAME/CONTAINER] ` for an Indexed Job's pod.
    pub fn prefix(&self) -> String {
        match self.index {
            Some(i) => format!("[#{i} pod/{}/{}] ", self.pod, self.container),
            None => format!("[pod/{}/{}] ", self.pod, self.container),
        }
    }

    fn key(&self) -> (String, String, i64) {
        (self.uid.clone(), self.container.clone(), self.run)
    }
}

fn container_names(pod: &Value) -> Vec<String> {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|f| pod["spec"][*f].as_array().into_iter().flatten())
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect()
}

/// The container runs of `pod` that have logs now, and a note for each that has none.
pub fn targets(pod: &Pod, req: &Request) -> (Vec<Target>, Vec<String>) {
    let p = &pod.pod;
    let name = pod.name().to_string();
    let (mut out, mut notes) = (Vec::new(), Vec::new());
    if req.index.is_some() && pod.index() != req.index {
        return (out, notes);
    }
    let names = container_names(p);
    let wanted: Vec<&String> = names.iter().filter(|c| req.container.as_ref().is_none_or(|w| w == *c)).collect();
    let scheduled = p["spec"]["nodeName"].as_str().is_some_and(|n| !n.is_empty());
    for container in wanted {
        let status = ["initContainerStatuses", "containerStatuses"]
            .iter()
            .flat_map(|f| p["status"][*f].as_array().into_iter().flatten())
            .find(|s| s["name"] == container.as_str());
        let target = |run: i64, previous: bool| Target {
            pod: name.clone(),
            uid: p["metadata"]["uid"].as_str().unwrap_or(&name).to_string(),
            container: container.clone(),
            run,
            index: pod.index(),
            previous,
        };
        let here = format!("pod/{name}/{container}");
        let Some(s) = status.filter(|_| scheduled) else {
            let why = if scheduled { "not started yet" } else { "the pod is not scheduled yet" };
            notes.push(format!("{here}: no logs: {why}"));
            continue;
        };
        let restarts = s["restartCount"].as_i64().unwrap_or(0);
        let last = s["lastState"]["terminated"].is_object();
        let state = &s["state"];
        if req.previous {
            match last {
                true => out.push(target(restarts - 1, true)),
                false => notes.push(format!("{here}: no previous run")),
            }
        } else if state["running"].is_object() || state["terminated"].is_object() {
            out.push(target(restarts, false));
        } else if last {
            // Waiting to restart (a crash loop): the kubelet serves the run that ended.
            out.push(target(restarts - 1, false));
        } else {
            let reason = state["waiting"]["reason"].as_str().unwrap_or("waiting");
            notes.push(format!("{here}: no logs: waiting to start ({reason})"));
        }
    }
    (out, notes)
}

/// The `pods/log` options for a target; `first` streams honour `--tail` and `--since` (runs
/// that start while following are shown whole).
fn options(t: &Target, req: &Request, first: bool) -> LogOptions {
    LogOptions {
        container: t.container.clone(),
        follow: req.follow,
        previous: t.previous,
        since_seconds: req.since_seconds.filter(|_| first),
        tail_lines: req.tail.filter(|n| *n >= 0 && first),
        timestamps: req.timestamps,
    }
}

/// A failure to read one log that leaves the others worth showing: the pod went away, or the
/// container is not in a state with logs after all (the server's 400).
fn passing(e: &ClusterError) -> bool {
    matches!(e.code(), Some(400 | 404))
}

/// Orders pods for printing: by completion index, then name.
fn sort(pods: &mut [Pod]) {
    pods.sort_by(|a, b| (a.index(), a.name()).cmp(&(b.index(), b.name())));
}

/// `logs NAME`: the latest revision's objects, their pods, their logs.
pub async fn command(conn: &ConnectOptions, name: &str, req: &Request, out: &mut dyn Write) -> Result<u8, Error> {
    let cluster = Arc::new(Cluster::connect(conn).await?);
    let store = SecretStore { cluster: &cluster, namespace: cluster.namespace.clone() };
    let rel = store::revision(&store.history(name).await?, name, &cluster.namespace, None)?;
    let live = Live::read(&cluster, name, &cluster.namespace, &rel.manifest).await?;
    run(&cluster, name, &live, req, out).await
}

/// Reads the logs of release `name` (whose objects are `live`) and writes them to `out`;
/// returns the exit code.
pub async fn run(
    cluster: &Arc<Cluster>,
    name: &str,
    live: &Live,
    req: &Request,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    if req.follow && req.previous {
        return Err(Error::Usage(
            "--previous shows runs that have ended, which cannot be followed: drop -f (or --previous)".into(),
        ));
    }
    if live.workloads().next().is_none() {
        eprintln!("release {name} has no workloads, so no pods and no logs");
        return Ok(0);
    }
    if req.follow {
        return follow::run(cluster, name, live, req, out).await;
    }
    let mut pods = live.pods(cluster, &cluster.namespace).await?;
    sort(&mut pods);
    if let Some(c) = &req.container {
        let known: Vec<String> = pods.iter().flat_map(|p| container_names(&p.pod)).collect();
        if !pods.is_empty() && !known.contains(c) {
            let mut names = known;
            names.sort();
            names.dedup();
            return Err(Error::Usage(format!(
                "-c {c}: no pod of the release has a container named {c}; its containers: {}",
                names.join(", ")
            )));
        }
    }
    let mut all = Vec::new();
    for p in &pods {
        let (t, notes) = targets(p, req);
        notes.iter().for_each(|n| eprintln!("{n}"));
        all.extend(t);
    }
    if pods.is_empty() {
        eprintln!("no pods: the release's workloads have none running or kept");
    }
    let ns = cluster.namespace.clone();
    let fetches = futures::stream::iter(all.into_iter().map(|t| {
        let opts = options(&t, req, true);
        let ns = ns.clone();
        async move {
            let text = async {
                let mut reader = cluster.log_stream(&ns, &t.pod, &opts).await?;
                let mut buf = Vec::new();
                reader
                    .read_to_end(&mut buf)
                    .await
                    .map_err(|e| ClusterError::Other(format!("reading {}: {e}", t.prefix())))?;
                Ok::<_, ClusterError>(String::from_utf8_lossy(&buf).into_owned())
            };
            (t.clone(), text.await)
        }
    }))
    .buffered(req.max_requests.max(1));
    futures::pin_mut!(fetches);
    while let Some((t, text)) = fetches.next().await {
        match text {
            Ok(text) => write_lines(out, &t.prefix(), &text)?,
            Err(e) if passing(&e) => eprintln!("pod/{}/{}: {e}", t.pod, t.container),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(0)
}

pub(crate) fn write_lines(out: &mut dyn Write, prefix: &str, text: &str) -> Result<(), Error> {
    let io = |source| Error::Io { context: "writing output".into(), source };
    for line in text.lines() {
        writeln!(out, "{prefix}{line}").map_err(io)?;
    }
    out.flush().map_err(io)
}

#[cfg(test)]
mod tests;
