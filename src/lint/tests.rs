//! One test per rule on hand-written resources; the built-in overlays are pinned in tests/lint.rs.

use super::*;
use serde_json::json;

fn res(body: Value) -> Resource {
    Resource::new(body, "test")
}

/// A Deployment that passes every rule, with `replicas` replicas.
fn good_deployment(replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "ml"},
        "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": "api"}}, "spec": {
            "securityContext": {"runAsNonRoot": true},
            "containers": [{
                "name": "api", "image": "registry:5000/team/api:1.2.3",
                "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
                "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}},
                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
                "securityContext": {"readOnlyRootFilesystem": true}
            }]
        }}}
    })
}

fn netpol(selector: Value) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "np", "namespace": "ml"},
           "spec": {"podSelector": selector}})
}

fn rules_of(findings: &[Finding]) -> Vec<(&'static str, &str)> {
    findings.iter().map(|f| (f.rule, f.path.as_str())).collect()
}

#[test]
fn a_good_deployment_has_no_findings() {
    let all = [res(good_deployment(1)), res(netpol(json!({})))];
    assert_eq!(lint(&all), []);
}

#[test]
fn image_tags_latest_missing_digest_and_registry_ports() {
    assert!(matches!(image_reference_tag("nginx"), Tag::Missing));
    assert!(matches!(image_reference_tag("localhost:5000/nginx"), Tag::Missing));
    assert!(matches!(image_reference_tag("nginx:latest"), Tag::Latest));
    assert!(matches!(image_reference_tag("nginx@sha256:abc"), Tag::Digest));
    assert!(matches!(image_reference_tag("localhost:5000/nginx:1.27"), Tag::Named));
    let mut d = good_deployment(1);
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("docker.io/dimtensor:latest");
    let f = image_tag(&Lint { resources: &[] }, &res(d));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].resource, "Deployment/ml/api");
    assert_eq!(f[0].path, "spec.template.spec.containers[0].image");
    assert!(f[0].message.contains("`latest`"), "{}", f[0].message);
}

#[test]
fn resources_need_cpu_and_memory_both_ways() {
    let mut d = good_deployment(1);
    d["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({"requests": {"cpu": "1"}});
    let f = resources(&Lint { resources: &[] }, &res(d));
    assert_eq!(
        rules_of(&f),
        [
            ("resources", "spec.template.spec.containers[0].resources.requests"),
            ("resources", "spec.template.spec.containers[0].resources.limits"),
        ]
    );
    assert!(f[0].message.contains("no memory requests"), "{}", f[0].message);
    assert!(f[1].message.contains("no cpu or memory limits"), "{}", f[1].message);
}

#[test]
fn probes_only_for_long_running_workloads() {
    let mut d = good_deployment(1);
    let c = &mut d["spec"]["template"]["spec"]["containers"][0];
    c.as_object_mut().map(|c| c.remove("readinessProbe"));
    let f = probes(&Lint { resources: &[] }, &res(d.clone()));
    assert_eq!(rules_of(&f), [("probes", "spec.template.spec.containers[0].readinessProbe")]);
    d["kind"] = json!("Job");
    assert_eq!(probes(&Lint { resources: &[] }, &res(d)), []);
}

#[test]
fn root_is_an_error_and_a_missing_run_as_non_root_a_warning() {
    let cx = Lint { resources: &[] };
    let mut d = good_deployment(1);
    d["spec"]["template"]["spec"]["securityContext"] = json!({"runAsUser": 0, "runAsNonRoot": true});
    let f = run_as_non_root(&cx, &res(d.clone()));
    assert_eq!(
        (f[0].severity, f[0].path.as_str()),
        (Severity::Error, "spec.template.spec.containers[0].securityContext.runAsUser")
    );
    // The container's own setting wins over the pod's.
    d["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsUser"] = json!(1000);
    assert_eq!(run_as_non_root(&cx, &res(d.clone())), []);
    d["spec"]["template"]["spec"]["securityContext"] = json!({});
    let f = run_as_non_root(&cx, &res(d));
    assert_eq!((f[0].severity, f[0].rule), (Severity::Warning, "run-as-non-root"));
}

#[test]
fn read_only_root_filesystem_covers_init_containers() {
    let mut d = good_deployment(1);
    d["spec"]["template"]["spec"]["initContainers"] = json!([{"name": "init", "image": "busybox:1.36"}]);
    let f = read_only_root(&Lint { resources: &[] }, &res(d));
    assert_eq!(
        rules_of(&f),
        [("read-only-root-filesystem", "spec.template.spec.initContainers[0].securityContext.readOnlyRootFilesystem")]
    );
}

#[test]
fn pdb_needed_for_replicas_or_an_hpa_and_satisfied_by_a_matching_budget() {
    let one = [res(good_deployment(1))];
    assert_eq!(pdb(&Lint { resources: &one }, &one[0]), []);
    let three = [res(good_deployment(3))];
    let f = pdb(&Lint { resources: &three }, &three[0]);
    assert!(f[0].message.starts_with("3 replicas"), "{}", f[0].message);
    let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "api", "namespace": "ml"},
                     "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "api"}}});
    let scaled = [res(good_deployment(1)), res(hpa)];
    let f = pdb(&Lint { resources: &scaled }, &scaled[0]);
    assert!(f[0].message.starts_with("scaled by HorizontalPodAutoscaler/ml/api"), "{}", f[0].message);
    let budget = |sel: Value, ns: &str| {
        res(
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "b", "namespace": ns},
                   "spec": {"minAvailable": 1, "selector": sel}}),
        )
    };
    let other_ns = [res(good_deployment(3)), budget(json!({"matchLabels": {"app": "api"}}), "other")];
    assert_eq!(pdb(&Lint { resources: &other_ns }, &other_ns[0]).len(), 1);
    let covered = [
        res(good_deployment(3)),
        budget(json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["api"]}]}), "ml"),
    ];
    assert_eq!(pdb(&Lint { resources: &covered }, &covered[0]), []);
}

#[test]
fn network_policy_selectors_and_job_severity() {
    let wrong = [res(good_deployment(1)), res(netpol(json!({"matchLabels": {"app": "web"}})))];
    let f = network_policy(&Lint { resources: &wrong }, &wrong[0]);
    assert_eq!((f[0].severity, f[0].path.as_str()), (Severity::Warning, "spec.template.metadata.labels"));
    let mut job = good_deployment(1);
    job["kind"] = json!("Job");
    let f = network_policy(&Lint { resources: &[] }, &res(job));
    assert_eq!(f[0].severity, Severity::Info);
    let not_in = [
        res(good_deployment(1)),
        res(netpol(json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}))),
    ];
    assert_eq!(network_policy(&Lint { resources: &not_in }, &not_in[0]), []);
}

#[test]
fn ingress_tls_and_uncovered_hosts() {
    let ing = |tls: Value| {
        res(json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
                   "spec": {"tls": tls, "rules": [{"host": "a.example.com"}, {"host": "b.other.org"}]}}))
    };
    let f = ingress_tls(&Lint { resources: &[] }, &ing(json!([])));
    assert_eq!((f[0].resource.as_str(), f[0].path.as_str()), ("Ingress/web", "spec.tls"));
    let f = ingress_tls(&Lint { resources: &[] }, &ing(json!([{"hosts": ["*.example.com"], "secretName": "t"}])));
    assert_eq!(rules_of(&f), [("ingress-tls", "spec.rules[1].host")]);
}

#[test]
fn strict_fails_on_warnings_not_on_info() {
    let info = Finding {
        severity: Severity::Info,
        rule: "r",
        resource: "Job/x".into(),
        path: "p".into(),
        message: "m".into(),
        fix: "f".into(),
    };
    assert_eq!(exit_code(std::slice::from_ref(&info), true), 0);
    let warn = Finding { severity: Severity::Warning, ..info.clone() };
    assert_eq!(exit_code(&[info.clone(), warn.clone()], true), 1);
    assert_eq!(exit_code(&[warn], false), 0);
    let text = to_text(&[info]);
    assert!(text.starts_with("INFO    Job/x  p  [r]\n  m\n  fix: f\n"), "{text}");
    assert_eq!(to_json(&[])["findings"], json!([]));
}
