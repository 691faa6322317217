//! `doctor`: the seed chart's "GPU Workloads" and "Troubleshooting" sections as checks against
//! the live cluster. Each check is one function in [`CHECKS`]; it reads the [`Facts`] gathered
//! once (read-only requests, run concurrently) and returns findings that say what is wrong, why
//! it matters for this release, and the fix (the seed's own commands where it has them).
//!
//! A check runs only when it can read what it needs: nodes and StorageClasses are
//! cluster-scoped, so a user with only the namespace's permissions gets the namespace checks and
//! a line per skipped check naming what could not be read.

mod facts;
mod gpu;
mod pods;
mod scaling;
mod storage;

pub use facts::{gather, Facts, Need, Unreadable};

use crate::cluster::{Cluster, ConnectOptions};
use crate::error::Error;
use crate::model::ResId;
use crate::release::record::{Release, Status};
use crate::release::store::{self, SecretStore, Store};
use serde_json::{json, Value};

/// `doctor [NAME]`: the report (text or JSON) and the exit code. Without NAME, every release
/// in the namespace (but those uninstalled with their history kept).
pub async fn command(conn: &ConnectOptions, name: Option<&str>, json: bool) -> Result<(String, u8), Error> {
    let cluster = Cluster::connect(conn).await?;
    let ns = cluster.namespace.clone();
    let store = SecretStore { cluster: &cluster, namespace: ns.clone() };
    let releases: Vec<Release> = match name {
        Some(name) => vec![store::revision(&store.history(name).await?, name, &ns, None)?],
        None => store.latest_all(false).await?.into_iter().filter(|r| r.status != Status::Uninstalled).collect(),
    };
    if releases.is_empty() {
        return Err(Error::Refused(format!(
            "no releases in namespace {ns} to check: pass -n NAMESPACE (kubectl dimtensor list -A shows where they are)"
        )));
    }
    let gathered = futures::future::join_all(releases.iter().map(|r| gather(&cluster, &r.name, &r.manifest))).await;
    let mut reports = Vec::new();
    for facts in gathered {
        reports.push(run(&facts?));
    }
    let text = match json {
        false => to_text(&reports),
        true => serde_json::to_string_pretty(&to_json(&reports)).unwrap_or_default() + "\n",
    };
    Ok((text, exit_code(&reports)))
}

/// One problem: what is wrong, why it matters for this release, and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub check: &'static str,
    /// The release's object it concerns (the workload for its pods).
    pub resource: ResId,
    pub what: String,
    pub why: String,
    pub fix: Vec<String>,
}

/// A check: what it needs to read, and the function.
pub struct Check {
    pub id: &'static str,
    pub needs: &'static [Need],
    pub run: fn(&Facts) -> Vec<Finding>,
}

/// Every check, in the order `status` picks a resource's first reason: what the pods say first
/// (the nearest cause), then the nodes and APIs behind it.
pub const CHECKS: &[Check] = &[
    Check { id: "image-pull", needs: &[Need::Pods], run: pods::image_pull },
    Check { id: "crash-loop", needs: &[Need::Pods], run: pods::crash_loop },
    Check { id: "scheduling", needs: &[Need::Pods], run: pods::scheduling },
    Check { id: "quota", needs: &[Need::Events], run: pods::quota },
    Check { id: "pvc-pending", needs: &[Need::StorageClasses], run: storage::pvc_pending },
    Check { id: "gpu-node-label", needs: &[Need::Nodes], run: gpu::node_label },
    Check { id: "gpu-device-plugin", needs: &[Need::Nodes], run: gpu::device_plugin },
    Check { id: "gpu-taint", needs: &[Need::Nodes], run: gpu::taint },
    Check { id: "metrics-server", needs: &[Need::MetricsApi], run: scaling::metrics_server },
    Check { id: "hpa-scaling", needs: &[], run: scaling::hpa_scaling },
];

/// A check that did not run, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub check: &'static str,
    pub reason: String,
}

/// What the checks found for one release.
#[derive(Debug, Clone)]
pub struct Report {
    pub release: String,
    pub namespace: String,
    pub findings: Vec<Finding>,
    pub skipped: Vec<Skipped>,
    pub ran: usize,
}

/// Runs every check that can read what it needs.
pub fn run(facts: &Facts) -> Report {
    let (mut findings, mut skipped, mut ran) = (Vec::new(), Vec::new(), 0);
    for check in CHECKS {
        match check.needs.iter().find_map(|n| facts.unreadable(*n)) {
            Some(u) => skipped.push(Skipped { check: check.id, reason: u.to_string() }),
            None => {
                ran += 1;
                findings.extend((check.run)(facts));
            }
        }
    }
    Report { release: facts.name.clone(), namespace: facts.namespace.clone(), findings, skipped, ran }
}

/// 0 when nothing is wrong, 1 when something is (skipped checks are not problems).
pub fn exit_code(reports: &[Report]) -> u8 {
    u8::from(reports.iter().any(|r| !r.findings.is_empty()))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn to_text(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!("release {} (namespace {})\n", r.release, r.namespace));
        for f in &r.findings {
            out.push_str(&format!("\nproblem [{}] {}\n  what: {}\n  why:  {}\n", f.check, f.resource, f.what, f.why));
            for (i, fix) in f.fix.iter().enumerate() {
                out.push_str(&format!("  {} {fix}\n", if i == 0 { "fix: " } else { "     " }));
            }
        }
        if !r.skipped.is_empty() {
            out.push('\n');
        }
        for s in &r.skipped {
            out.push_str(&format!("skipped [{}]: {}\n", s.check, s.reason));
        }
        let problems = plural(r.findings.len(), "problem", "problems");
        let skipped = if r.skipped.is_empty() { String::new() } else { format!(", {} skipped", r.skipped.len()) };
        out.push_str(&format!("\n{problems} ({} checks ran{skipped})\n", r.ran));
    }
    out
}

pub fn to_json(reports: &[Report]) -> Value {
    let releases: Vec<Value> = reports
        .iter()
        .map(|r| {
            let findings: Vec<Value> = r
                .findings
                .iter()
                .map(|f| json!({"check": f.check, "resource": f.resource.to_string(), "what": f.what, "why": f.why, "fix": f.fix}))
                .collect();
            let skipped: Vec<Value> =
                r.skipped.iter().map(|s| json!({"check": s.check, "reason": s.reason})).collect();
            json!({"name": r.release, "namespace": r.namespace, "checksRun": r.ran, "findings": findings, "skipped": skipped})
        })
        .collect();
    let problems: usize = reports.iter().map(|r| r.findings.len()).sum();
    json!({"problems": problems, "releases": releases})
}

/// The first finding for each resource, for `status`.
pub fn first_reasons(report: &Report) -> Vec<(ResId, String)> {
    let mut out: Vec<(ResId, String)> = Vec::new();
    for f in &report.findings {
        if !out.iter().any(|(id, _)| id == &f.resource) {
            out.push((f.resource.clone(), f.what.clone()));
        }
    }
    out
}

/// How a finding names a workload's role, for "why it matters".
pub(crate) fn role(id: &ResId) -> String {
    match id.gvk.kind.as_str() {
        "Deployment" => format!("Deployment {} (serving)", id.name),
        "Job" => format!("Job {}", id.name),
        "CronJob" => format!("CronJob {}", id.name),
        other => format!("{other} {}", id.name),
    }
}

#[cfg(test)]
mod tests;
