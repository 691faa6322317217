//! How the read-only commands print records: `history`, `list`, `status`, `get`. Pure
//! functions of the records (and, for `status`, of the live objects the caller fetched).

use super::record::Release;
use crate::apply::wait::{readiness, Readiness, Rules};
use crate::model::ResId;
use serde_json::{json, Value};

/// `-o` of the read-only commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
    Yaml,
}

fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let last = cells.len() - 1;
        let mut s = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            if i == last {
                s.push_str(&c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out.push_str(&line(r.clone()));
    }
    out
}

fn structured(v: &Value, format: Format) -> String {
    match format {
        Format::Yaml => crate::yaml::to_yaml(v),
        _ => serde_json::to_string_pretty(v).unwrap_or_default() + "\n",
    }
}

pub fn history(revisions: &[Release], format: Format) -> String {
    if format != Format::Table {
        let items: Vec<Value> = revisions
            .iter()
            .map(|r| json!({"revision": r.revision, "updated": r.last_deployed, "status": r.status.as_str(), "overlay": r.overlay_label(), "description": r.description, "version": r.version}))
            .collect();
        return structured(&Value::Array(items), format);
    }
    let rows: Vec<Vec<String>> = revisions
        .iter()
        .map(|r| {
            vec![
                r.revision.to_string(),
                r.last_deployed.clone(),
                r.status.to_string(),
                r.overlay_label().to_string(),
                r.description.clone(),
            ]
        })
        .collect();
    table(&["REVISION", "UPDATED", "STATUS", "OVERLAY", "DESCRIPTION"], &rows)
}

pub fn list(latest: &[Release], format: Format) -> String {
    if format != Format::Table {
        let items: Vec<Value> = latest
            .iter()
            .map(|r| json!({"name": r.name, "namespace": r.namespace, "revision": r.revision, "updated": r.last_deployed, "status": r.status.as_str(), "overlay": r.overlay_label()}))
            .collect();
        return structured(&Value::Array(items), format);
    }
    let rows: Vec<Vec<String>> = latest
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.namespace.clone(),
                r.revision.to_string(),
                r.last_deployed.clone(),
                r.status.to_string(),
                r.overlay_label().to_string(),
            ]
        })
        .collect();
    table(&["NAME", "NAMESPACE", "REVISION", "UPDATED", "STATUS", "OVERLAY"], &rows)
}

/// One resource of `status`: its readiness, and for Jobs their progress and where the logs are.
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: ResId,
    pub state: String,
    pub job: Option<Value>,
    /// Why it is not ready: the first `doctor` finding about it.
    pub reason: Option<String>,
}

impl Resource {
    /// Ready, or done (a Job removed after its TTL).
    pub fn is_settled(&self) -> bool {
        self.state == "ready" || self.state.starts_with("complete")
    }
}

/// Readiness of a stored object given its live state (`None`: not found); `rules` know the
/// StorageClasses of its claims. Jobs count once finished.
pub fn resource(id: ResId, stored: &Value, live: Option<&Value>, rules: &Rules) -> Resource {
    let Some(obj) = live else {
        let state = if super::plan::finished_by_ttl(stored) {
            "complete (removed after ttlSecondsAfterFinished)".to_string()
        } else {
            "missing".to_string()
        };
        return Resource { id, state, job: None, reason: None };
    };
    let state = match readiness(obj, &Rules { jobs: true, ..rules.clone() }) {
        Readiness::Ready => "ready".to_string(),
        Readiness::Pending(r) => format!("pending: {r}"),
        Readiness::Failed(r) => format!("failed: {r}"),
        Readiness::Terminating(f) if f.is_empty() => "terminating".to_string(),
        Readiness::Terminating(f) => format!("terminating: held by finalizers {}", f.join(", ")),
    };
    let job = (id.gvk.kind == "Job").then(|| {
        let s = &obj["status"];
        json!({
            "completions": format!("{}/{}", s["succeeded"].as_i64().unwrap_or(0), obj["spec"]["completions"].as_i64().unwrap_or(1)),
            "failed": s["failed"].as_i64().unwrap_or(0),
            "failedIndexes": s["failedIndexes"].as_str().unwrap_or(""),
        })
    });
    Resource { id, state, job, reason: None }
}

/// Where a Job's logs are: `kubectl dimtensor logs`, at the first failed index when some failed.
fn logs_hint(rel: &Release, job: &Value) -> String {
    let first_failed = job["failedIndexes"].as_str().and_then(|s| s.split([',', '-']).next()).filter(|s| !s.is_empty());
    let index = first_failed.map(|i| format!(" --index {i}")).unwrap_or_default();
    format!("kubectl dimtensor logs {} -n {}{index}", rel.name, rel.namespace)
}

pub fn status(rel: &Release, resources: &[Resource], format: Format) -> String {
    if format != Format::Table {
        let res: Vec<Value> = resources
            .iter()
            .map(|r| {
                let mut v = json!({"resource": r.id.to_string(), "state": r.state});
                if let Some(j) = &r.job {
                    v["job"] = j.clone();
                    v["job"]["logs"] = json!(logs_hint(rel, j));
                }
                if let Some(reason) = &r.reason {
                    v["reason"] = json!(reason);
                }
                v
            })
            .collect();
        let doc = json!({"name": rel.name, "namespace": rel.namespace, "revision": rel.revision, "status": rel.status.as_str(), "overlay": rel.overlay_label(), "updated": rel.last_deployed, "description": rel.description, "resources": res});
        return structured(&doc, format);
    }
    let mut out = format!(
        "NAME: {}\nNAMESPACE: {}\nREVISION: {}\nSTATUS: {}\nOVERLAY: {}\nUPDATED: {}\nDESCRIPTION: {}\n\n",
        rel.name,
        rel.namespace,
        rel.revision,
        rel.status,
        rel.overlay_label(),
        rel.last_deployed,
        rel.description
    );
    if resources.iter().any(|r| r.reason.is_some()) {
        let rows: Vec<Vec<String>> = resources
            .iter()
            .map(|r| vec![r.id.to_string(), r.state.clone(), r.reason.clone().unwrap_or_default()])
            .collect();
        out.push_str(&table(&["RESOURCE", "STATE", "REASON"], &rows));
    } else {
        let rows: Vec<Vec<String>> = resources.iter().map(|r| vec![r.id.to_string(), r.state.clone()]).collect();
        out.push_str(&table(&["RESOURCE", "STATE"], &rows));
    }
    for r in resources {
        if let Some(j) = &r.job {
            let idx = j["failedIndexes"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(|s| format!(", failed indexes {s}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "\n{}: {} completions, {} failed{idx}\n  logs: {}\n",
                r.id,
                j["completions"].as_str().unwrap_or(""),
                j["failed"],
                logs_hint(rel, j)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Gvk;
    use crate::release::record::{sample, Status};

    #[test]
    fn history_as_table_and_json() {
        let h = vec![sample("p", 1, Status::Superseded), sample("p", 2, Status::Deployed)];
        let t = history(&h, Format::Table);
        assert!(t.starts_with("REVISION  UPDATED"), "{t}");
        assert!(
            t.lines().nth(2).unwrap().starts_with("2 ") && t.contains("deployed") && t.contains("inference"),
            "{t}"
        );
        let v: Value = serde_json::from_str(&history(&h, Format::Json)).unwrap();
        assert_eq!(v[1]["revision"], 2, "revision is an integer");
        assert!(history(&h, Format::Yaml).contains("revision: 1"));
    }

    #[test]
    fn job_status_has_progress_failed_indexes_and_a_logs_hint() {
        let id = ResId::new(Gvk::from_api_version("batch/v1", "Job"), "ml", "batch");
        let live = json!({"kind": "Job", "spec": {"completions": 100}, "status": {"succeeded": 40, "failed": 2, "failedIndexes": "3,7"}});
        let r = resource(id, &json!({}), Some(&live), &Rules::default());
        let text = status(&sample("p", 1, Status::Deployed), &[r], Format::Table);
        assert!(text.contains("40/100 completions, 2 failed, failed indexes 3,7"), "{text}");
        assert!(text.contains("logs: kubectl dimtensor logs p -n ml --index 3\n"), "{text}");
    }
}
