//! `lint`: checks rendered resources against the seed chart's "Best Practices" (pinned image
//! tags, resource requests and limits, probes, non-root and read-only containers, disruption
//! budgets, network policies, TLS on ingress).
//!
//! Every rule is one function in [`RULES`], called once per resource with the whole render at
//! hand (a PodDisruptionBudget rule must see the HPA and the PDBs). A rule returns findings; it
//! never fails, so one odd resource cannot hide the others' findings.

use crate::model::Resource;
use serde::Serialize;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
        }
    }
}

/// One problem: where it is, what is wrong and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub rule: &'static str,
    /// `Kind/namespace/name`, or `Kind/name` without a namespace.
    pub resource: String,
    /// Field path inside the resource, e.g. `spec.template.spec.containers[0].image`.
    pub path: String,
    pub message: String,
    pub fix: String,
}

/// A best-practice rule.
pub struct Rule {
    pub id: &'static str,
    pub summary: &'static str,
    check: fn(&Lint<'_>, &Resource) -> Vec<Finding>,
}

/// The rules, in the order their findings are listed for each resource.
pub const RULES: &[Rule] = &[
    Rule { id: "image-tag", summary: "images carry a pinned tag or digest, not latest", check: image_tag },
    Rule { id: "resources", summary: "containers set CPU and memory requests and limits", check: resources },
    Rule { id: "probes", summary: "long-running containers have liveness and readiness probes", check: probes },
    Rule { id: "run-as-non-root", summary: "containers run as a non-root user", check: run_as_non_root },
    Rule {
        id: "read-only-root-filesystem",
        summary: "container root filesystems are read-only",
        check: read_only_root,
    },
    Rule { id: "pod-disruption-budget", summary: "replicated workloads have a PodDisruptionBudget", check: pdb },
    Rule { id: "network-policy", summary: "a NetworkPolicy selects every workload's pods", check: network_policy },
    Rule { id: "ingress-tls", summary: "every Ingress host is served over TLS", check: ingress_tls },
];

/// Lints a render. Findings are grouped by resource, in render order, then by rule.
pub fn lint(resources: &[Resource]) -> Vec<Finding> {
    let cx = Lint { resources };
    let cx = &cx;
    resources.iter().flat_map(|r| RULES.iter().flat_map(move |rule| (rule.check)(cx, r))).collect()
}

/// The exit code: 0, or 1 with `strict` when anything is a warning or worse.
pub fn exit_code(findings: &[Finding], strict: bool) -> u8 {
    u8::from(strict && findings.iter().any(|f| f.severity >= Severity::Warning))
}

/// Human-readable report: one block per finding, then a count.
pub fn to_text(findings: &[Finding]) -> String {
    let mut text = String::new();
    for f in findings {
        text.push_str(&format!("{:<8}{}  {}  [{}]\n", f.severity.label(), f.resource, f.path, f.rule));
        text.push_str(&format!("  {}\n  fix: {}\n", f.message, f.fix));
    }
    if findings.is_empty() {
        text.push_str("no findings: the render follows every best practice checked\n");
    } else {
        let [e, w, i] = counts(findings);
        text.push_str(&format!("\n{e} error(s), {w} warning(s), {i} info\n"));
    }
    text
}

/// Machine-readable report: `{"findings": [...], "errors": n, "warnings": n, "info": n}`.
pub fn to_json(findings: &[Finding]) -> Value {
    let [e, w, i] = counts(findings);
    json!({"findings": findings, "errors": e, "warnings": w, "info": i})
}

fn counts(findings: &[Finding]) -> [usize; 3] {
    let n = |s| findings.iter().filter(|f| f.severity == s).count();
    [n(Severity::Error), n(Severity::Warning), n(Severity::Info)]
}

/// The whole render, for rules that look beyond one resource.
struct Lint<'a> {
    resources: &'a [Resource],
}

impl Lint<'_> {
    /// Resources of `kind` in the same namespace as `res`.
    fn peers<'b>(&'b self, res: &'b Resource, kind: &'b str) -> impl Iterator<Item = &'b Resource> + 'b {
        self.resources.iter().filter(move |r| r.kind() == kind && r.namespace() == res.namespace())
    }
}

/// A resource that runs pods, and where its pod template lives.
struct Workload<'a> {
    /// Path of the pod template (`spec.template`), or `""` for a bare Pod.
    template: &'static str,
    labels: Option<&'a Map<String, Value>>,
    pod: &'a Value,
    long_running: bool,
}

fn workload(res: &Resource) -> Option<Workload<'_>> {
    let body = res.body();
    let (template, tpl) = match res.kind() {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            ("spec.template", &body["spec"]["template"])
        }
        "CronJob" => ("spec.jobTemplate.spec.template", &body["spec"]["jobTemplate"]["spec"]["template"]),
        "Pod" => ("", body),
        _ => return None,
    };
    Some(Workload {
        template,
        labels: tpl["metadata"]["labels"].as_object(),
        pod: &tpl["spec"],
        long_running: !matches!(res.kind(), "Job" | "CronJob"),
    })
}

impl Workload<'_> {
    fn pod_path(&self) -> String {
        join(self.template, "spec")
    }

    fn labels_path(&self) -> String {
        join(self.template, "metadata.labels")
    }

    /// `(path, container)` for `containers`, and for `initContainers` too with `init`.
    fn containers(&self, init: bool) -> Vec<(String, &Value)> {
        let lists: &[&str] = if init { &["initContainers", "containers"] } else { &["containers"] };
        let mut out = Vec::new();
        for list in lists {
            for (i, c) in self.pod[*list].as_array().into_iter().flatten().enumerate() {
                out.push((format!("{}.{list}[{i}]", self.pod_path()), c));
            }
        }
        out
    }
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn finding(
    severity: Severity,
    rule: &'static str,
    res: &Resource,
    path: String,
    message: String,
    fix: &str,
) -> Finding {
    Finding { severity, rule, resource: res.id().to_string(), path, message, fix: fix.to_string() }
}

fn container_name(c: &Value) -> &str {
    c["name"].as_str().unwrap_or("?")
}

/// The chart's own container, which values such as `image.tag` and `livenessProbe` configure.
fn is_chart_container(c: &Value) -> bool {
    container_name(c) == crate::render::CHART_NAME
}

fn image_tag(_: &Lint<'_>, res: &Resource) -> Vec<Finding> {
    let Some(w) = workload(res) else { return Vec::new() };
    let mut out = Vec::new();
    for (path, c) in w.containers(true) {
        let image = c["image"].as_str().unwrap_or("");
        let problem = match image_reference_tag(image) {
            Tag::Digest | Tag::Named => continue,
            Tag::Latest => "uses the `latest` tag",
            Tag::Missing => "has no tag (which means `latest`)",
        };
        out.push(finding(
            Severity::Warning,
            "image-tag",
            res,
            format!("{path}.image"),
            format!("container {} image {image} {problem}: a restart can pull a different build", container_name(c)),
            if is_chart_container(c) {
                "pin a version: --set image.tag=4.2.0 (--set image.variant=ml for a variant), or `images:` with newTag or digest in the kustomization"
            } else {
                "pin a version or digest: `images:` with newTag or digest in the kustomization, or a patch"
            },
        ));
    }
    out
}

enum Tag {
    Digest,
    Named,
    Latest,
    Missing,
}

/// The tag of `registry:port/repo:tag@digest`; a `:` before the last `/` is a registry port.
fn image_reference_tag(image: &str) -> Tag {
    if image.contains('@') {
        return Tag::Digest;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, "latest")) => Tag::Latest,
        Some((_, tag)) if !tag.is_empty() => Tag::Named,
        _ => Tag::Missing,
    }
}

fn resources(_: &Lint<'_>, res: &Resource) -> Vec<Finding> {
    let Some(w) = workload(res) else { return Vec::new() };
    let mut out = Vec::new();
    for (path, c) in w.containers(false) {
        for (field, why) in
            [("requests", "the scheduler cannot place it by size"), ("limits", "it can exhaust the node")]
        {
            let set = &c["resources"][field];
            let missing: Vec<&str> = ["cpu", "memory"].into_iter().filter(|k| set[*k].is_null()).collect();
            if missing.is_empty() {
                continue;
            }
            out.push(finding(
                Severity::Warning,
                "resources",
                res,
                format!("{path}.resources.{field}"),
                format!("container {} has no {} {field}: {why}", container_name(c), missing.join(" or ")),
                &format!("set resources.{field}.cpu and resources.{field}.memory (values or a patch)"),
            ));
        }
    }
    out
}

fn probes(_: &Lint<'_>, res: &Resource) -> Vec<Finding> {
    let Some(w) = workload(res).filter(|w| w.long_running) else { return Vec::new() };
    let mut out = Vec::new();
    for (path, c) in w.containers(false) {
        for (probe, why) in [
            ("livenessProbe", "a hung process is never restarted"),
            ("readinessProbe", "traffic reaches it before it is ready"),
        ] {
            if c[probe].is_object() {
                continue;
            }
            out.push(finding(
                Severity::Warning,
                "probes",
                res,
                format!("{path}.{probe}"),
                format!("container {} has no {probe}: {why}", container_name(c)),
                &if is_chart_container(c) {
                    format!("--set {probe}.enabled=true (the chart's httpGet probe), or add a {probe} with a patch")
                } else {
                    format!("add a {probe} to the container with a patch")
                },
            ));
        }
    }
    out
}

fn run_as_non_root(_: &Lint<'_>, res: &Resource) -> Vec<Finding> {
    let Some(w) = workload(res) else { return Vec::new() };
    let pod_sc = &w.pod["securityContext"];
    let mut out = Vec::new();
    for (path, c) in w.containers(true) {
        let sc = &c["securityContext"];
        let effective = |key: &str| if sc[key].is_null() { &pod_sc[key] } else { &sc[key] };
        let name = container_name(c);
        if effective("runAsUser").as_i64() == Some(0) {
            out.push(finding(
                Severity::Error,
                "run-as-non-root",
                res,
                format!("{path}.securityContext.runAsUser"),
                format!("container {name} runs as root (runAsUser 0)"),
                "run as an unprivileged user: securityContext.runAsUser: 1000 and runAsNonRoot: true",
            ));
        } else if effective("runAsNonRoot") != &Value::Bool(true) {
            out.push(finding(
                Severity::Warning,
                "run-as-non-root",
                res,
                format!("{path}.securityContext.runAsNonRoot"),
                format!(
                    "container {name} may run as root: runAsNonRoot is not true in its or the pod's securityContext"
                ),
                "set podSecurityContext.runAsNonRoot=true (values) or securityContext.runAsNonRoot: true",
            ));
        }
    }
    out
}

fn read_only_root(_: &Lint<'_>, res: &Resource) -> Vec<Finding> {
    let Some(w) = workload(res) else { return Vec::new() };
    let mut out = Vec::new();
    for (path, c) in w.containers(true) {
        if c["securityContext"]["readOnlyRootFilesystem"] == Value::Bool(true) {
            continue;
        }
        out.push(finding(
            Severity::Warning,
            "read-only-root-filesystem",
            res,
            format!("{path}.securityContext.readOnlyRootFilesystem"),
            format!("container {} can write to its root filesystem", container_name(c)),
            "set securityContext.readOnlyRootFilesystem=true and mount an emptyDir where it must write (the chart mounts /tmp)",
        ));
    }
    out
}

fn pdb(cx: &Lint<'_>, res: &Resource) -> Vec<Finding> {
    let Some(w) = workload(res).filter(|w| w.long_running && res.kind() != "DaemonSet" && res.kind() != "Pod") else {
        return Vec::new();
    };
    let hpa = cx.peers(res, "HorizontalPodAutoscaler").find(|h| {
        let target = &h.body()["spec"]["scaleTargetRef"];
        target["kind"] == res.kind() && target["name"] == res.name()
    });
    let replicas = res.body()["spec"]["replicas"].as_i64().unwrap_or(1);
    let why = match hpa {
        Some(h) => format!("scaled by {}", h.id()),
        None if replicas > 1 => format!("{replicas} replicas"),
        None => return Vec::new(),
    };
    // policy/v1 reads an empty selector as "every pod in the namespace"; v1beta1 as "none".
    let covered = |p: &Resource| selects(&p.body()["spec"]["selector"], w.labels, p.api_version() == "policy/v1");
    if cx.peers(res, "PodDisruptionBudget").any(covered) {
        return Vec::new();
    }
    vec![finding(
        Severity::Warning,
        "pod-disruption-budget",
        res,
        w.labels_path(),
        format!("{why}, but no PodDisruptionBudget selects these pods: a node drain may evict them all at once"),
        "add the pod-disruption-budget component to the overlay's components (`kubectl dimtensor init DIR` to get an editable copy), or a PodDisruptionBudget selecting these labels",
    )]
}

fn network_policy(cx: &Lint<'_>, res: &Resource) -> Vec<Finding> {
    let Some(w) = workload(res) else { return Vec::new() };
    // The API server reads a missing podSelector as `{}`: every pod in the namespace.
    let all = json!({});
    let covered = |p: &Resource| {
        let sel = &p.body()["spec"]["podSelector"];
        selects(if sel.is_null() { &all } else { sel }, w.labels, true)
    };
    if cx.peers(res, "NetworkPolicy").any(covered) {
        return Vec::new();
    }
    // Batch pods listen on nothing; an open network matters less than for a server.
    let severity = if w.long_running { Severity::Warning } else { Severity::Info };
    vec![finding(
        severity,
        "network-policy",
        res,
        w.labels_path(),
        "no NetworkPolicy selects these pods: any pod in the cluster can reach them".to_string(),
        "add the network-policy component to the overlay's components (`kubectl dimtensor init DIR` to get an editable copy), or a NetworkPolicy selecting these labels",
    )]
}

fn ingress_tls(_: &Lint<'_>, res: &Resource) -> Vec<Finding> {
    if res.kind() != "Ingress" {
        return Vec::new();
    }
    let spec = &res.body()["spec"];
    let tls = spec["tls"].as_array().map(Vec::as_slice).unwrap_or_default();
    let fix =
        "set ingress.tls (secretName + hosts; cert-manager can issue the certificate), or add spec.tls with a patch";
    if tls.is_empty() {
        let msg = "the Ingress has no TLS: traffic, tokens included, crosses the network in clear text".to_string();
        return vec![finding(Severity::Warning, "ingress-tls", res, "spec.tls".into(), msg, fix)];
    }
    let covered: Vec<&str> =
        tls.iter().flat_map(|t| t["hosts"].as_array().into_iter().flatten()).filter_map(Value::as_str).collect();
    let mut out = Vec::new();
    for (i, rule) in spec["rules"].as_array().into_iter().flatten().enumerate() {
        let Some(host) = rule["host"].as_str() else { continue };
        if !covered.iter().any(|c| host_matches(c, host)) {
            let msg = format!("host {host} is not listed in any spec.tls hosts: it is served without TLS");
            out.push(finding(Severity::Warning, "ingress-tls", res, format!("spec.rules[{i}].host"), msg, fix));
        }
    }
    out
}

/// A TLS host covers a rule host exactly, or as a one-label wildcard (`*.example.com`).
fn host_matches(tls: &str, host: &str) -> bool {
    match tls.strip_prefix("*.") {
        Some(domain) => host.split_once('.').is_some_and(|(_, rest)| rest == domain),
        None => tls == host,
    }
}

/// Whether a label selector matches `labels`. A missing selector matches nothing; an empty one
/// matches everything where `empty_matches_all` (NetworkPolicy, policy/v1 PDB).
fn selects(selector: &Value, labels: Option<&Map<String, Value>>, empty_matches_all: bool) -> bool {
    if !selector.is_object() {
        return false;
    }
    let empty = Map::new();
    let labels = labels.unwrap_or(&empty);
    let match_labels = selector["matchLabels"].as_object().unwrap_or(&empty);
    let exprs = selector["matchExpressions"].as_array().map(Vec::as_slice).unwrap_or_default();
    if match_labels.is_empty() && exprs.is_empty() {
        return empty_matches_all;
    }
    match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
        && exprs.iter().all(|e| {
            let key = e["key"].as_str().unwrap_or("");
            let values: Vec<&Value> = e["values"].as_array().into_iter().flatten().collect();
            match e["operator"].as_str().unwrap_or("") {
                "In" => labels.get(key).is_some_and(|v| values.contains(&v)),
                "NotIn" => !labels.get(key).is_some_and(|v| values.contains(&v)),
                "Exists" => labels.contains_key(key),
                "DoesNotExist" => !labels.contains_key(key),
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests;
