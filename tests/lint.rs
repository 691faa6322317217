//! `kubectl dimtensor lint`, driven through the binary: the exact findings on every built-in
//! overlay (so a change to an overlay or a rule shows up here), on a deliberately bad fixture and
//! on a good one, and the exit codes with and without `--strict`.

use serde_json::Value;
use std::process::Command;

/// `(severity, rule, resource, path)` of each finding, in report order.
type Row = (String, String, String, String);

fn lint(args: &[&str]) -> (i32, Vec<Row>) {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"))
        .arg("lint")
        .args(args)
        .args(["-o", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("lint {args:?} printed no JSON ({e}); stderr: {}", String::from_utf8_lossy(&out.stderr))
    });
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let rows = report["findings"]
        .as_array()
        .expect("a findings list")
        .iter()
        .map(|f| (text(&f["severity"]), text(&f["rule"]), text(&f["resource"]), text(&f["path"])))
        .collect();
    (out.status.code().unwrap_or(-1), rows)
}

fn rows(expected: &[(&str, &str, &str, &str)]) -> Vec<Row> {
    expected.iter().map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string())).collect()
}

const LABELS: &str = "spec.template.metadata.labels";

#[test]
fn inference_lacks_a_disruption_budget_and_a_network_policy() {
    let (code, found) = lint(&["--overlay", "inference"]);
    assert_eq!(code, 0);
    assert_eq!(
        found,
        rows(&[
            ("warning", "pod-disruption-budget", "Deployment/dimtensor", LABELS),
            ("warning", "network-policy", "Deployment/dimtensor", LABELS),
        ])
    );
    assert_eq!(lint(&["--overlay", "inference", "--strict"]).0, 1);
}

#[test]
fn training_only_has_the_informational_network_policy_finding() {
    let (code, found) = lint(&["--overlay", "training", "--strict"]);
    assert_eq!(found, rows(&[("info", "network-policy", "Job/dimtensor", LABELS)]));
    assert_eq!(code, 0, "info alone passes --strict");
}

#[test]
fn batch_uses_the_latest_image() {
    let (_, found) = lint(&["--overlay", "batch"]);
    assert_eq!(
        found,
        rows(&[
            ("warning", "image-tag", "Job/dimtensor", "spec.template.spec.containers[0].image"),
            ("info", "network-policy", "Job/dimtensor", LABELS),
        ])
    );
    // The suggested fix works.
    let (code, pinned) = lint(&["--overlay", "batch", "--set", "image.tag=4.2.0", "--strict"]);
    assert_eq!((code, pinned), (0, rows(&[("info", "network-policy", "Job/dimtensor", LABELS)])));
}

#[test]
fn cronjob_uses_the_latest_image() {
    let (_, found) = lint(&["--overlay", "cronjob"]);
    assert_eq!(
        found,
        rows(&[
            ("warning", "image-tag", "CronJob/dimtensor", "spec.jobTemplate.spec.template.spec.containers[0].image"),
            ("info", "network-policy", "CronJob/dimtensor", "spec.jobTemplate.spec.template.metadata.labels"),
        ])
    );
}

#[test]
fn the_base_has_three_unbudgeted_replicas_on_latest_and_namespaces_show_in_ids() {
    let (_, found) = lint(&["-n", "ml"]);
    assert_eq!(
        found,
        rows(&[
            ("warning", "image-tag", "Deployment/ml/dimtensor", "spec.template.spec.containers[0].image"),
            ("warning", "pod-disruption-budget", "Deployment/ml/dimtensor", LABELS),
            ("warning", "network-policy", "Deployment/ml/dimtensor", LABELS),
        ])
    );
}

#[test]
fn every_rule_fires_on_the_bad_fixture() {
    let (code, found) = lint(&["--overlay", "tests/fixtures/lint/bad"]);
    assert_eq!(code, 0, "without --strict lint only reports");
    let web = "Deployment/shop/web";
    let c0 = "spec.template.spec.containers[0]";
    let c1 = "spec.template.spec.containers[1]";
    let p = |c: &str, f: &str| format!("{c}.{f}");
    let expected: Vec<(&str, &str, &str, String)> = vec![
        ("warning", "image-tag", web, p(c0, "image")),
        ("warning", "image-tag", web, p(c1, "image")),
        ("warning", "resources", web, p(c0, "resources.requests")),
        ("warning", "resources", web, p(c0, "resources.limits")),
        ("warning", "resources", web, p(c1, "resources.limits")),
        ("warning", "probes", web, p(c0, "livenessProbe")),
        ("warning", "probes", web, p(c0, "readinessProbe")),
        ("warning", "probes", web, p(c1, "livenessProbe")),
        ("warning", "probes", web, p(c1, "readinessProbe")),
        ("error", "run-as-non-root", web, p(c0, "securityContext.runAsUser")),
        ("warning", "run-as-non-root", web, p(c1, "securityContext.runAsNonRoot")),
        ("warning", "read-only-root-filesystem", web, p(c0, "securityContext.readOnlyRootFilesystem")),
        ("warning", "read-only-root-filesystem", web, p(c1, "securityContext.readOnlyRootFilesystem")),
        ("warning", "pod-disruption-budget", web, LABELS.to_string()),
        ("warning", "network-policy", web, LABELS.to_string()),
        ("info", "network-policy", "Job/shop/migrate", LABELS.to_string()),
        ("warning", "ingress-tls", "Ingress/shop/web", "spec.tls".to_string()),
    ];
    let expected: Vec<Row> =
        expected.into_iter().map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d)).collect();
    assert_eq!(found, expected);
    assert_eq!(lint(&["--overlay", "tests/fixtures/lint/bad", "--strict"]).0, 1);
}

#[test]
fn the_good_fixture_is_clean_even_when_strict() {
    assert_eq!(lint(&["--overlay", "tests/fixtures/lint/good", "--strict"]), (0, Vec::new()));
}

#[test]
fn text_output_names_severity_resource_path_and_fix() {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"))
        .args(["lint", "--overlay", "batch"])
        .output()
        .expect("the binary runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("WARNING Job/dimtensor  spec.template.spec.containers[0].image  [image-tag]\n"), "{text}");
    assert!(text.contains("  fix: pin a version: --set image.tag=4.2.0"), "{text}");
    assert!(text.ends_with("0 error(s), 1 warning(s), 1 info\n"), "{text}");
}

#[test]
fn a_render_error_is_exit_code_2_not_a_lint_result() {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"))
        .args(["lint", "--overlay", "no-such-overlay"])
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
