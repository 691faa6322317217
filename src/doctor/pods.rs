//! What the release's pods say: image pull errors (the seed's "Image pull errors"), crash loops
//! and failed runs with the last termination reason, pods the scheduler cannot place (its
//! message summarized), and pods a ResourceQuota refused to create.

use super::{role, Facts, Finding};
use crate::apply::wait::{job_readiness, Readiness};
use crate::model::ResId;
use crate::release::live::{pod_template, Pod};
use serde_json::Value;

const PULL_ERRORS: &[&str] =
    &["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable"];

fn statuses(pod: &Value) -> impl Iterator<Item = &Value> {
    ["initContainerStatuses", "containerStatuses"]
        .into_iter()
        .flat_map(move |f| pod["status"][f].as_array().into_iter().flatten())
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// Findings grouped per (workload, key): the first pod speaks for the others.
struct Grouped(Vec<(ResId, String, Finding, usize)>);

impl Grouped {
    fn add(&mut self, owner: &ResId, key: String, make: impl FnOnce() -> Finding) {
        match self.0.iter_mut().find(|(o, k, _, _)| o == owner && *k == key) {
            Some(entry) => entry.3 += 1,
            None => self.0.push((owner.clone(), key, make(), 1)),
        }
    }

    fn done(self) -> Vec<Finding> {
        self.0
            .into_iter()
            .map(|(_, _, mut f, n)| {
                if n > 1 {
                    f.what.push_str(&format!(" ({} more pods alike)", n - 1));
                }
                f
            })
            .collect()
    }
}

pub fn image_pull(facts: &Facts) -> Vec<Finding> {
    let mut g = Grouped(Vec::new());
    for p in facts.pods() {
        for cs in statuses(&p.pod) {
            let waiting = &cs["state"]["waiting"];
            let reason = s(waiting, "reason");
            if !PULL_ERRORS.contains(&reason) {
                continue;
            }
            let image = s(cs, "image");
            g.add(&p.owner, format!("{image} {reason}"), || pull_finding(facts, p, cs, reason));
        }
    }
    g.done()
}

fn pull_finding(facts: &Facts, p: &Pod, cs: &Value, reason: &str) -> Finding {
    let image = s(cs, "image");
    let secrets: Vec<&str> =
        p.pod["spec"]["imagePullSecrets"].as_array().into_iter().flatten().filter_map(|s| s["name"].as_str()).collect();
    let message = s(&cs["state"]["waiting"], "message");
    let detail = if message.is_empty() { String::new() } else { format!(": {message}") };
    let (with, fix_secret) = match secrets.as_slice() {
        [] => (
            "no imagePullSecrets are set".to_string(),
            vec![
                format!("a private registry needs a pull secret: kubectl create secret docker-registry my-registry-secret -n {} --docker-server=<registry> --docker-username=<user> --docker-password=<password>", facts.namespace),
                format!("kubectl dimtensor upgrade {} --set image.pullSecrets[0].name=my-registry-secret", facts.name),
            ],
        ),
        names => (
            format!("imagePullSecrets: {}", names.join(", ")),
            vec![format!("check that the secret is for this registry and valid: kubectl get secret {} -n {} -o yaml", names[0], facts.namespace)],
        ),
    };
    Finding {
        check: "image-pull",
        resource: p.owner.clone(),
        what: format!("pod {} cannot pull image {image} ({reason}{detail}); {with}", p.name()),
        why: format!("container {} of {} never starts", s(cs, "name"), role(&p.owner)),
        fix: [
            vec![format!("check the image exists (image.repository, image.tag, image.variant): docker pull {image}")],
            fix_secret,
        ]
        .concat(),
    }
}

/// Whether a Job is finished successfully (its failed pods are history, not a problem).
fn job_complete(facts: &Facts, owner: &ResId) -> bool {
    facts.live.object(owner).and_then(|o| o.live.as_ref()).is_some_and(|j| job_readiness(j) == Readiness::Ready)
}

fn termination(t: &Value) -> String {
    let reason = Some(s(t, "reason")).filter(|r| !r.is_empty()).unwrap_or("terminated");
    format!("{reason} (exit code {})", t["exitCode"].as_i64().unwrap_or(0))
}

pub fn crash_loop(facts: &Facts) -> Vec<Finding> {
    let mut g = Grouped(Vec::new());
    for p in facts.pods() {
        for cs in statuses(&p.pod) {
            let container = s(cs, "name");
            let (what, last) = if s(&cs["state"]["waiting"], "reason") == "CrashLoopBackOff" {
                let last = &cs["lastState"]["terminated"];
                let restarts = cs["restartCount"].as_i64().unwrap_or(0);
                (format!("pod {} container {container} is in CrashLoopBackOff after {restarts} restarts; its last run ended {}", p.name(), termination(last)), last)
            } else if p.pod["status"]["phase"] == "Failed"
                && cs["state"]["terminated"]["exitCode"].as_i64().unwrap_or(0) != 0
            {
                if job_complete(facts, &p.owner) {
                    continue;
                }
                let t = &cs["state"]["terminated"];
                (format!("pod {} failed: container {container} ended {}", p.name(), termination(t)), t)
            } else {
                continue;
            };
            let oom = s(last, "reason") == "OOMKilled";
            g.add(&p.owner, format!("{container} {}", s(last, "reason")), || {
                let mut fix = vec![format!("its output before the end: kubectl dimtensor logs {} --previous", facts.name)];
                if oom {
                    fix.push(format!("it ran out of memory: raise the limit, e.g. kubectl dimtensor upgrade {} --set resources.limits.memory=<more>", facts.name));
                }
                Finding {
                    check: "crash-loop",
                    resource: p.owner.clone(),
                    what,
                    why: match p.owner.gvk.kind.as_str() {
                        "Deployment" => format!("{} keeps restarting it and it serves nothing meanwhile", role(&p.owner)),
                        _ => format!("each failure uses up one of the retries (backoffLimit) of {}", role(&p.owner)),
                    },
                    fix,
                }
            });
        }
    }
    g.done()
}

/// The scheduler's message, shorter: `0/3 nodes are available: 3 Insufficient nvidia.com/gpu.
/// preemption: ...` becomes `0/3 nodes: 3 Insufficient nvidia.com/gpu`.
pub fn summarize(message: &str) -> String {
    let head = message.split(" preemption:").next().unwrap_or(message);
    head.replacen(" nodes are available:", " nodes:", 1).trim().trim_end_matches('.').to_string()
}

fn scheduling_fix(facts: &Facts, p: &Pod, message: &str) -> Vec<String> {
    let mut fix = Vec::new();
    if message.contains("Insufficient nvidia.com/gpu") {
        fix.push("kubectl get nodes -o json | jq '.items[].status.allocatable.\"nvidia.com/gpu\"'".to_string());
        fix.push("kubectl get daemonset nvidia-device-plugin-daemonset -n kube-system".to_string());
    }
    for r in ["cpu", "memory"] {
        if message.contains(&format!("Insufficient {r}")) {
            fix.push(format!(
                "ask for less: kubectl dimtensor upgrade {} --set resources.requests.{r}=<less>",
                facts.name
            ));
        }
    }
    if message.contains("node affinity/selector") || message.contains("node selector") {
        let template = facts.live.object(&p.owner).and_then(|o| pod_template(o.live.as_ref().unwrap_or(&o.stored)));
        for (k, v) in template.and_then(|t| t["spec"]["nodeSelector"].as_object()).into_iter().flatten() {
            fix.push(format!("kubectl label nodes <node> {k}={}", v.as_str().unwrap_or("")));
        }
    }
    if message.contains("taint") {
        fix.push(format!("tolerate the taint: kubectl dimtensor upgrade {} --set tolerations[0].key=<key>,tolerations[0].operator=Exists", facts.name));
    }
    if message.contains("PersistentVolumeClaim") {
        fix.push(format!("kubectl describe pvc -n {}", facts.namespace));
    }
    fix.push(format!("kubectl describe pod {} -n {}", p.name(), facts.namespace));
    fix
}

pub fn scheduling(facts: &Facts) -> Vec<Finding> {
    let mut g = Grouped(Vec::new());
    for p in facts.pods().iter().filter(|p| p.pod["status"]["phase"] == "Pending") {
        let condition = p.pod["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "PodScheduled" && c["status"] == "False" && c["reason"] == "Unschedulable")
            .map(|c| s(c, "message").to_string());
        let event = || {
            facts
                .latest_event("Pod", p.name(), |e| e["reason"] == "FailedScheduling")
                .map(|e| s(e, "message").to_string())
        };
        let Some(message) = condition.filter(|m| !m.is_empty()).or_else(event) else { continue };
        let summary = summarize(&message);
        g.add(&p.owner, summary.clone(), || Finding {
            check: "scheduling",
            resource: p.owner.clone(),
            what: format!("pod {} cannot be scheduled: {summary}", p.name()),
            why: format!("until a node can take it, {} does not run this pod", role(&p.owner)),
            fix: scheduling_fix(facts, p, &message),
        });
    }
    g.done()
}

/// `FailedCreate` refusals by a ResourceQuota, on the workload (Job) or its ReplicaSet, and a
/// Deployment's `ReplicaFailure` condition.
pub fn quota(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, _) in facts.live.workloads() {
        let from_events = facts.events().iter().filter(|e| {
            let (kind, name) = (s(&e["involvedObject"], "kind"), s(&e["involvedObject"], "name"));
            let ours = match id.gvk.kind.as_str() {
                "Deployment" => {
                    kind == "ReplicaSet" && name.strip_prefix(id.name.as_str()).is_some_and(|h| h.starts_with('-'))
                }
                "CronJob" => kind == "Job" && name.strip_prefix(id.name.as_str()).is_some_and(|h| h.starts_with('-')),
                k => kind == k && name == id.name,
            };
            ours && e["reason"] == "FailedCreate" && s(e, "message").contains("exceeded quota")
        });
        let condition = facts.live.object(id).and_then(|o| o.live.as_ref()).into_iter().flat_map(|d| {
            d["status"]["conditions"].as_array().into_iter().flatten().filter(|c| {
                c["type"] == "ReplicaFailure" && c["status"] == "True" && s(c, "message").contains("exceeded quota")
            })
        });
        let Some(message) = from_events.chain(condition).map(|v| s(v, "message")).next() else { continue };
        let refusal = message.find("exceeded quota").map_or(message, |i| &message[i..]);
        out.push(Finding {
            check: "quota",
            resource: id.clone(),
            what: format!("a ResourceQuota refused to create its pods: {refusal}"),
            why: format!("{} cannot start the pods the quota does not leave room for", role(id)),
            fix: vec![
                format!("kubectl describe resourcequota -n {}", facts.namespace),
                format!(
                    "ask for less (kubectl dimtensor upgrade {} --set resources.requests...), or have the quota raised",
                    facts.name
                ),
            ],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::summarize;

    #[test]
    fn scheduler_messages_are_summarized() {
        assert_eq!(
            summarize("0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."),
            "0/3 nodes: 3 Insufficient nvidia.com/gpu"
        );
        assert_eq!(
            summarize(
                "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector."
            ),
            "0/2 nodes: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector"
        );
    }
}
