//! `logs -f`: list the pods, stream every container run that has logs, and watch the pods for
//! new ones (a Job's retry, a Deployment's rollout, a CronJob's next run) or new runs of a
//! restarted container. At most `--max-log-requests` streams are open at once; the others wait
//! for one to end. When the watch ends or its version expires, the pods are listed again (runs
//! already shown are never shown twice). A release of Jobs only ends the command once its Jobs
//! have finished and their logs are read; otherwise it runs until interrupted, as kubectl does.

use super::{options, passing, targets, write_lines, Request, Target};
use crate::apply::wait::{job_readiness, Readiness};
use crate::cluster::{Cluster, ClusterError, LogOptions, Watched};
use crate::error::Error;
use crate::model::Gvk;
use crate::release::live::{controller, cron_jobs, members, Live, Pod};
use crate::release::RELEASE_LABEL;
use futures::{AsyncBufReadExt, StreamExt};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write;
use std::sync::Arc;
use tokio::sync::mpsc;

enum Msg {
    Line(String),
    Ended { prefix: String, error: Option<ClusterError> },
}

/// The follower's memory: what was started, what was said, what is running.
struct Follower<'a> {
    cluster: &'a Arc<Cluster>,
    live: &'a Live,
    req: &'a Request,
    name: &'a str,
    tx: mpsc::Sender<Msg>,
    /// Streams open now, and those waiting for one to end.
    open: usize,
    queue: VecDeque<(Target, LogOptions)>,
    started: BTreeSet<(String, String, i64)>,
    noted: BTreeSet<String>,
    cron: BTreeMap<String, String>,
    /// Jobs known not to be the release's CronJobs' runs (no need to look again).
    foreign_jobs: BTreeSet<String>,
    /// Streams started from the first listing honour --tail and --since.
    first: bool,
    told_limit: bool,
}

/// How often a release of Jobs with nothing streaming checks whether its Jobs have finished.
const JOBS_RECHECK: std::time::Duration = std::time::Duration::from_secs(2);

fn pod_gvk() -> Gvk {
    Gvk::from_api_version("v1", "Pod")
}

impl Follower<'_> {
    /// Starts streams for the runs of `pod` not yet shown.
    async fn consider(&mut self, pod: Value) -> Result<(), ClusterError> {
        let Some(pod) = self.member(pod).await? else { return Ok(()) };
        let (runs, notes) = targets(&pod, self.req);
        for n in notes {
            if self.noted.insert(n.clone()) {
                eprintln!("{n}");
            }
        }
        for t in runs {
            if self.started.insert(t.key()) {
                self.spawn(t);
            }
        }
        Ok(())
    }

    /// The pod as the release's, if it is (new CronJob runs are looked up once).
    async fn member(&mut self, pod: Value) -> Result<Option<Pod>, ClusterError> {
        if let Some(p) = members(vec![pod.clone()], &self.live.objects, &self.cron).pop() {
            return Ok(Some(p));
        }
        let job = controller(&pod).filter(|(kind, _)| *kind == "Job").map(|(_, name)| name.to_string());
        let has_crons = self.live.objects.iter().any(|o| o.id.gvk.kind == "CronJob");
        match job {
            Some(job) if has_crons && !self.cron.contains_key(&job) && !self.foreign_jobs.contains(&job) => {
                self.cron = cron_jobs(self.cluster, &self.cluster.namespace, &self.live.objects).await?;
                if !self.cron.contains_key(&job) {
                    self.foreign_jobs.insert(job);
                }
                Ok(members(vec![pod], &self.live.objects, &self.cron).pop())
            }
            _ => Ok(None),
        }
    }

    /// Streams `t` now, or queues it (in the order found) while `--max-log-requests` are open.
    fn spawn(&mut self, t: Target) {
        let opts = options(&t, self.req, self.first);
        let max = self.req.max_requests.max(1);
        if self.open >= max {
            if !self.told_limit {
                self.told_limit = true;
                eprintln!(
                    "more than {max} log streams: {max} are followed at once (--max-log-requests {max}); the others start as those end"
                );
            }
            self.queue.push_back((t, opts));
            return;
        }
        self.start(t, opts);
    }

    /// Streams not ended yet, open or queued.
    fn active(&self) -> usize {
        self.open + self.queue.len()
    }

    /// A stream ended: the next queued one starts.
    fn ended(&mut self) {
        self.open -= 1;
        if let Some((t, opts)) = self.queue.pop_front() {
            self.start(t, opts);
        }
    }

    fn start(&mut self, t: Target, opts: LogOptions) {
        self.open += 1;
        let (cluster, tx) = (self.cluster.clone(), self.tx.clone());
        tokio::spawn(async move {
            let prefix = t.prefix();
            let read = async {
                let mut lines = cluster.log_stream(&cluster.namespace, &t.pod, &opts).await?.lines();
                while let Some(line) = lines.next().await {
                    let line = line.map_err(|e| ClusterError::Other(format!("reading the log: {e}")))?;
                    if tx.send(Msg::Line(format!("{prefix}{line}"))).await.is_err() {
                        break;
                    }
                }
                Ok(())
            };
            let error = read.await.err();
            let _ = tx.send(Msg::Ended { prefix, error }).await;
        });
    }

    /// A release of Jobs only is done when every Job has finished.
    async fn jobs_done(&self) -> Result<bool, ClusterError> {
        if self.live.workloads().any(|(id, _)| id.gvk.kind != "Job") || self.live.workloads().next().is_none() {
            return Ok(false);
        }
        let selector = format!("{RELEASE_LABEL}={}", self.name);
        let jobs = self
            .cluster
            .list(&Gvk::from_api_version("batch/v1", "Job"), &self.cluster.namespace, Some(&selector))
            .await?;
        Ok(!jobs.is_empty() && jobs.iter().all(|j| matches!(job_readiness(j), Readiness::Ready | Readiness::Failed(_))))
    }
}

pub async fn run(
    cluster: &Arc<Cluster>,
    name: &str,
    live: &Live,
    req: &Request,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let (tx, mut rx) = mpsc::channel(1024);
    let mut f = Follower {
        cluster,
        live,
        req,
        name,
        tx,
        open: 0,
        queue: VecDeque::new(),
        started: BTreeSet::new(),
        noted: BTreeSet::new(),
        cron: cron_jobs(cluster, &cluster.namespace, &live.objects).await?,
        foreign_jobs: BTreeSet::new(),
        first: true,
        told_limit: false,
    };
    let only_jobs = live.workloads().all(|(id, _)| id.gvk.kind == "Job");
    loop {
        let (mut pods, version) = cluster.list_versioned(&pod_gvk(), &cluster.namespace, None).await?;
        pods.sort_by(|a, b| a["metadata"]["name"].as_str().cmp(&b["metadata"]["name"].as_str()));
        for pod in pods {
            f.consider(pod).await?;
        }
        f.first = false;
        if f.active() == 0 && f.jobs_done().await? {
            return Ok(0);
        }
        let mut watch = cluster.watch(&pod_gvk(), &cluster.namespace, &version).await?;
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(Msg::Line(line)) => write_lines(out, "", &line)?,
                    Some(Msg::Ended { prefix, error }) => {
                        f.ended();
                        match error {
                            Some(e) if passing(&e) => eprintln!("{}{e}", prefix),
                            Some(e) => return Err(e.into()),
                            None => {}
                        }
                        if f.active() == 0 && f.jobs_done().await? {
                            return Ok(0);
                        }
                    }
                    None => return Ok(0),
                },
                // Nothing streaming in a release of Jobs: the Job controller marks a Job done
                // after its last pod ends, so look again now and then.
                _ = tokio::time::sleep(JOBS_RECHECK), if f.active() == 0 && only_jobs => {
                    if f.jobs_done().await? {
                        return Ok(0);
                    }
                }
                ev = watch.next() => match ev {
                    Some(Ok(Watched::Upsert(pod))) => f.consider(pod).await?,
                    Some(Ok(Watched::Deleted(_))) => {}
                    // Expired (410) or cut: list again and watch from there, after a pause so
                    // a server that keeps failing is not hammered.
                    Some(Err(e)) if e.code().is_none_or(|c| c == 410) => {
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        break;
                    }
                    Some(Err(e)) => return Err(e.into()),
                    None => break,
                },
            }
        }
    }
}
