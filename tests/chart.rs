//! Parity with the upstream Helm chart's own files, read from `../shared/upstream-chart/dimtensor/`
//! (relative to the project root; never copied into the project): every key of its `values.yaml`
//! and of its three preset files lands where the chart's templates put it
//! ([`template::expect`]), each built-in preset renders what its file means, and the rest of
//! the chart's naming and Job rules. The chart's own defects and our deliberate differences are
//! listed in [`template::DEFECTS`] and [`template::DELIBERATE`].

mod common;
#[path = "chart/template.rs"]
mod template;

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Command, Output};
use template::{api_default, expect, leaves, Chart, Check, Want};

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-dimtensor");

/// The upstream chart's directory; a missing folder fails the test, naming where it looked.
fn upstream_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/upstream-chart/dimtensor");
    let abs = std::path::absolute(&dir).unwrap_or(dir.clone());
    assert!(
        dir.join("values.yaml").is_file(),
        "the upstream chart's values files are missing: looked for {} (the shared folder `upstream-chart/dimtensor` beside the project)",
        abs.display()
    );
    dir
}

fn upstream(file: &str) -> String {
    upstream_dir().join(file).display().to_string()
}

fn upstream_values(file: &str) -> Value {
    let path = upstream(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    dimtensor::yaml::parse_value(&text, &path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const PRESETS: &[(&str, &str)] =
    &[("inference", "values-inference.yaml"), ("training", "values-training.yaml"), ("batch", "values-batch.yaml")];

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_remove("DIMTENSOR_CHECKSUM_KEY").output().expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `render <args> -o json`: the items.
fn render(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["render"];
    all.extend_from_slice(args);
    all.extend(["-o", "json"]);
    let out = run(&all);
    assert!(out.status.success(), "render {args:?} failed: {}", text(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    list["items"].as_array().cloned().expect("items")
}

fn find<'a>(items: &'a [Value], kind: &str) -> Option<&'a Value> {
    items.iter().find(|o| o["kind"] == kind)
}

fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(x) if x.is_object() && v.is_object() => merge(x, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Whether a list holds an item with the same fields as `want` (extra fields in the list's item
/// are fine: the API server's defaults, or the render's `readOnly` on its config mount).
fn holds(list: &Value, want: &Value) -> bool {
    list.as_array()
        .into_iter()
        .flatten()
        .any(|item| item == want || want.as_object().is_some_and(|w| w.iter().all(|(k, v)| item.get(k) == Some(v))))
}

/// A failure, or nothing when the render does what the check wants.
fn verify(items: &[Value], c: &Check) -> Option<String> {
    let obj = find(items, c.kind);
    let got = obj.and_then(|o| if c.pointer.is_empty() { Some(o) } else { o.pointer(&c.pointer) });
    let ok = match (&c.want, obj) {
        (Want::NoResource, o) => o.is_none(),
        (_, None) => false,
        (Want::Eq(w), _) => got == Some(w) || (got.is_none() && api_default(&c.pointer).as_ref() == Some(w)),
        (Want::Absent, _) => got.is_none(),
        (Want::Contains(ws), _) => got.is_some_and(|g| ws.iter().all(|w| holds(g, w))),
        (Want::Names(names), _) => {
            let mut have: Vec<String> = got
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|i| i["name"].as_str().unwrap_or("").to_string())
                .collect();
            let mut want = names.clone();
            have.sort();
            want.sort();
            have == want
        }
    };
    (!ok).then(|| {
        let shown = got.map(|g| g.to_string()).unwrap_or_else(|| "nothing".into());
        format!("{} {}: want {:?}, got {}", c.kind, c.pointer, c.want, shown.chars().take(300).collect::<String>())
    })
}

/// Renders `args`, then checks every key of `files` (the chart's values.yaml under them gives the
/// context) against what the chart's templates do with it. Returns how many keys were walked.
fn walk(label: &str, files: &[&str], set: &[&str], failures: &mut Vec<String>) -> usize {
    let mut chart = upstream_values("values.yaml");
    let mut args: Vec<String> = Vec::new();
    let mut keys: Vec<(Vec<String>, Value)> = Vec::new();
    for f in files {
        let v = upstream_values(f);
        merge(&mut chart, &v);
        args.extend(["-f".to_string(), upstream(f)]);
        // A later file's key replaces an earlier key at, above or below it.
        let later = leaves(&v);
        let related = |a: &[String], b: &[String]| a.starts_with(b) || b.starts_with(a);
        keys.retain(|(k, _)| !later.iter().any(|(l, _)| related(k, l)));
        keys.extend(later);
    }
    for s in set {
        let (k, v) = s.split_once('=').expect("key=value");
        let mut over = json!({});
        let parts: Vec<&str> = k.split('.').collect();
        let leaf = parts.iter().rev().fold(json!(v), |acc, p| json!({ *p: acc }));
        merge(&mut over, &leaf);
        merge(&mut chart, &over);
        args.extend(["--set".to_string(), s.to_string()]);
    }
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let items = render(&arg_refs);
    let c = Chart { v: chart, full: "dimtensor".into() };
    for (key, value) in &keys {
        for check in expect(key, value, &c) {
            if let Some(f) = verify(&items, &check) {
                failures.push(format!("{label}: {} -> {f}", key.join(".")));
            }
        }
    }
    keys.len()
}

#[test]
fn every_upstream_key_lands_where_the_chart_puts_it() {
    let mut failures = Vec::new();
    let mut walked = 0;
    // The chart's defaults, on each workload kind.
    walked += walk("values.yaml", &["values.yaml"], &[], &mut failures);
    walked += walk("values.yaml as a Job", &["values.yaml"], &["workloadType=job"], &mut failures);
    walked += walk("values.yaml as a CronJob", &["values.yaml"], &["workloadType=cronjob"], &mut failures);
    // Each preset file alone (what a user types) and over the chart's values.yaml (what Helm does).
    for (_, file) in PRESETS {
        walked += walk(file, &[file], &[], &mut failures);
        walked += walk(&format!("values.yaml + {file}"), &["values.yaml", file], &[], &mut failures);
    }
    eprintln!("walked {walked} upstream keys");
    assert!(walked > 300, "the walk found only {walked} keys");
    assert!(
        failures.is_empty(),
        "{} keys did not land where the chart puts them:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The object set with the preset's own label dropped (the overlay names its component).
fn normalized(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = items
        .into_iter()
        .map(|mut o| {
            if let Some(l) = o.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
                l.remove("app.kubernetes.io/component");
            }
            // The values layer stamps the data it sets with checksum/config, as the chart does;
            // the overlay sets its data with a patch, which carries no annotation.
            if let Some(t) = o.pointer_mut("/spec/template/metadata").and_then(Value::as_object_mut) {
                if let Some(Value::Object(a)) = t.get_mut("annotations") {
                    a.remove("checksum/config");
                    if a.is_empty() {
                        t.remove("annotations");
                    }
                }
            }
            o
        })
        .collect();
    out.sort_by_key(|o| format!("{}/{}", o["kind"], o["metadata"]["name"]));
    out
}

#[test]
fn each_preset_overlay_renders_what_its_chart_file_means() {
    for (overlay, file) in PRESETS {
        let by_overlay = normalized(render(&["--overlay", overlay]));
        let by_file = normalized(render(&["-f", &upstream(file)]));
        let diffs = common::differences(&json!(by_overlay), &json!(by_file));
        assert!(
            diffs.is_empty(),
            "--overlay {overlay} differs from -f {file} (pointer: overlay -> file):\n{}",
            diffs.join("\n")
        );
        // The preset's values are the file's: --show-values agrees key by key (sources aside).
        let path = upstream(file);
        let shown = |args: &[&str], source: &str| {
            let mut a = vec!["render"];
            a.extend_from_slice(args);
            a.push("--show-values");
            let out = run(&a);
            assert!(out.status.success(), "{a:?}: {}", text(&out.stderr));
            text(&out.stdout)
                .lines()
                .skip(1)
                .map(|l| {
                    let cut = l
                        .strip_suffix("  default")
                        .or_else(|| l.rfind(source).map(|i| &l[..i]))
                        .or_else(|| l.strip_suffix("  overlay base"))
                        .unwrap_or(l);
                    cut.trim_end().to_string()
                })
                .collect::<Vec<_>>()
        };
        let (a, b) = (
            shown(&["--overlay", overlay], &format!("  overlay {overlay}")),
            shown(&["-f", &path], &format!("  {path}")),
        );
        let differ: Vec<String> =
            a.iter().zip(&b).filter(|(x, y)| x != y).map(|(x, y)| format!("overlay: {x}\nfile:    {y}")).collect();
        assert!(differ.is_empty() && a.len() == b.len(), "{overlay}: --show-values differs:\n{}", differ.join("\n"));
    }
}

// ---------------------------------------------------------------------------------------------
// The chart's defects, mended; its naming; its Job rules

const P: &str = "/spec/template/spec";
const C: &str = "/spec/template/spec/containers/0";

fn one<'a>(items: &'a [Value], kind: &str) -> &'a Value {
    find(items, kind).unwrap_or_else(|| panic!("no {kind} in the render"))
}

#[test]
fn the_charts_defects_are_mended() {
    // One check below per listed defect, in the list's order.
    let listed: Vec<&str> = template::DEFECTS.iter().map(|(id, _)| *id).collect();
    assert_eq!(listed, ["cronjob", "gpu-node-selector", "indexed", "image-tag"], "a new defect needs its check here");
    // workloadType: cronjob renders a CronJob (the chart renders only a ServiceAccount).
    assert!(find(&render(&["-f", &upstream("values.yaml"), "--set", "workloadType=cronjob"]), "CronJob").is_some());
    // GPU on keeps the user's own nodeSelector and tolerations, each once.
    let items = render(&[
        "--set",
        "resources.gpu.enabled=true,nodeSelector.disktype=ssd,tolerations[0].key=spot,tolerations[0].operator=Exists",
    ]);
    let d = one(&items, "Deployment");
    assert_eq!(d.pointer(&format!("{P}/nodeSelector")), Some(&json!({"disktype": "ssd", "accelerator": "nvidia-gpu"})));
    assert_eq!(d.pointer(&format!("{P}/tolerations")).and_then(Value::as_array).map(Vec::len), Some(2));
    // More than one completion is an Indexed Job (the chart's batch preset forgets it).
    let j = render(&["-f", &upstream("values-batch.yaml")]);
    assert_eq!(one(&j, "Job").pointer("/spec/completionMode"), Some(&json!("Indexed")));
    // A tag given is used with the latest variant (the chart always renders :latest).
    let items = render(&["--set", "image.tag=4.3.0"]);
    assert_eq!(one(&items, "Deployment").pointer(&format!("{C}/image")), Some(&json!("docker.io/dimtensor:4.3.0")));
}

#[test]
fn config_map_and_secret_are_named_like_the_charts_fullname() {
    let on = "configMap.enabled=true,secret.enabled=true,secret.stringData.k=v";
    for (release, full) in
        [("prod", "prod-dimtensor"), ("dimtensor-training", "dimtensor-training"), ("dimtensor", "dimtensor")]
    {
        let items = render(&[release, "--set", on]);
        assert_eq!(one(&items, "ConfigMap")["metadata"]["name"], full, "{release}");
        assert_eq!(one(&items, "Secret")["metadata"]["name"], full, "{release}");
        let d = one(&items, "Deployment");
        // The references the render makes follow the name.
        assert!(holds(
            &d.pointer(&format!("{P}/volumes")).cloned().unwrap_or_default(),
            &json!({"name": "config", "configMap": {"name": full}})
        ));
        assert_eq!(d.pointer(&format!("{C}/envFrom")), Some(&json!([{"secretRef": {"name": full}}])), "{release}");
    }
    let items = render(&["prod", "--set", "fullnameOverride=api", "--overlay", "batch"]);
    assert_eq!(one(&items, "ConfigMap")["metadata"]["name"], "api");
    // Two releases of the same preset never share a name.
    let (a, b) = (render(&["a", "--overlay", "batch"]), render(&["b", "--overlay", "batch"]));
    assert_ne!(one(&a, "ConfigMap")["metadata"]["name"], one(&b, "ConfigMap")["metadata"]["name"]);
}

/// The seed's GPU example refers to the Secret as `dimtensor` in its own env: the reference
/// follows the rename when this release renders that Secret, and is left alone otherwise (a real
/// external Secret of that name is never rewritten).
#[test]
fn a_users_own_reference_follows_only_a_secret_this_release_renders() {
    let env = "container.env[0].name=TOKEN,container.env[0].valueFrom.secretKeyRef.name=dimtensor,container.env[0].valueFrom.secretKeyRef.key=t";
    let with = render(&["prod", "--set", env, "--set", "secret.enabled=true,secret.stringData.t=x"]);
    let key_ref = format!("{C}/env/0/valueFrom/secretKeyRef/name");
    assert_eq!(one(&with, "Deployment").pointer(&key_ref), Some(&json!("prod-dimtensor")));
    let without = render(&["prod", "--set", env]);
    assert_eq!(one(&without, "Deployment").pointer(&key_ref), Some(&json!("dimtensor")));
}

#[test]
fn service_account_name_is_used_under_any_release_name() {
    for release in ["prod", "dimtensor"] {
        let items = render(&[release, "--set", "serviceAccount.name=runner"]);
        assert_eq!(one(&items, "ServiceAccount")["metadata"]["name"], "runner", "{release}");
        assert_eq!(one(&items, "Deployment").pointer(&format!("{P}/serviceAccountName")), Some(&json!("runner")));
    }
    let items = render(&["prod", "--overlay", "training", "--set", "serviceAccount.name=runner"]);
    assert_eq!(one(&items, "Job").pointer(&format!("{P}/serviceAccountName")), Some(&json!("runner")));
}

#[test]
fn jobs_emit_parallelism_and_completions_as_the_chart_does() {
    // Parallelism alone is a work queue: five pods at once, no completion count.
    let j = render(&["--set", "workloadType=job", "--set", "job.parallelism=5"]);
    let spec = &one(&j, "Job")["spec"];
    assert_eq!((spec.get("parallelism"), spec.get("completions")), (Some(&json!(5)), None), "{spec}");
    let j = render(&["--overlay", "batch", "--set", "job.completions=1"]);
    let spec = &one(&j, "Job")["spec"];
    assert_eq!((spec.get("completions"), spec.get("completionMode")), (None, None), "{spec}");
    // ttlSecondsAfterFinished 0 means "delete at once": kept (the chart drops it; deliberate).
    let j = render(&["--set", "workloadType=job,job.ttlSecondsAfterFinished=0"]);
    assert_eq!(one(&j, "Job").pointer("/spec/ttlSecondsAfterFinished"), Some(&json!(0)));
    assert!(template::DELIBERATE.iter().any(|(k, _)| *k == "ttl-zero"));
}

#[test]
fn a_users_own_accelerator_selector_stays_when_the_gpu_is_off() {
    for args in [
        vec!["--set", "nodeSelector.accelerator=nvidia-gpu,resources.gpu.count=2"],
        vec!["--set", "nodeSelector.accelerator=nvidia-gpu,resources.gpu.enabled=false"],
        vec!["--overlay", "training", "--set", "nodeSelector.accelerator=nvidia-gpu,resources.gpu.enabled=false"],
    ] {
        let items = render(&args);
        let w = find(&items, "Job").or_else(|| find(&items, "Deployment")).expect("a workload");
        assert_eq!(w.pointer(&format!("{P}/nodeSelector")), Some(&json!({"accelerator": "nvidia-gpu"})), "{args:?}");
    }
}

#[test]
fn the_ingress_host_defaults_to_the_charts() {
    let items = render(&["--set", "ingress.enabled=true"]);
    assert_eq!(one(&items, "Ingress").pointer("/spec/rules/0/host"), Some(&json!("dimtensor.example.com")));
}

// ---------------------------------------------------------------------------------------------
// The keyed checksum of the Secret

const SECRET_SUM: &str = "/spec/template/metadata/annotations/checksum~1secret";

fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).env_remove("DIMTENSOR_CHECKSUM_KEY");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the binary runs")
}

fn secret_sum(extra: &[&str], env: &[(&str, &str)]) -> Option<Value> {
    let mut args = vec!["render", "--set", "secret.enabled=true,secret.data.token=aHVudGVyMg==", "-o", "json"];
    args.extend_from_slice(extra);
    let out = run_env(&args, env);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let items = list["items"].as_array().cloned().expect("items");
    one(&items, "Deployment").pointer(SECRET_SUM).cloned()
}

#[test]
fn the_secret_checksum_is_keyed_and_left_out_without_a_key() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().expect("tempdir");
    let key_a = dir.path().join("a.key");
    let key_b = dir.path().join("b.key");
    std::fs::write(&key_a, "a-long-enough-checksum-key\n").unwrap();
    std::fs::write(&key_b, "another-long-enough-checksum-key").unwrap();
    let (a, b) = (key_a.display().to_string(), key_b.display().to_string());
    // Offline and without a key: no annotation (rather than one that changes on every render).
    assert_eq!(secret_sum(&[], &[]), None);
    let sum_a = secret_sum(&["--checksum-key-file", &a], &[]).expect("keyed annotation");
    assert_eq!(secret_sum(&["--checksum-key-file", &a], &[]), Some(sum_a.clone()), "stable under one key");
    assert_ne!(secret_sum(&["--checksum-key-file", &b], &[]), Some(sum_a.clone()), "another key, another sum");
    assert_eq!(secret_sum(&[], &[("DIMTENSOR_CHECKSUM_KEY", "a-long-enough-checksum-key")]), Some(sum_a.clone()));
    // Not the unsalted hash of the data a reader of Deployments could test guesses against.
    let plain = json!({"data": {"token": "aHVudGVyMg=="}, "stringData": {}});
    let unsalted: String =
        Sha256::digest(serde_json::to_vec(&plain).unwrap()).iter().map(|b| format!("{b:02x}")).collect();
    assert_ne!(sum_a, json!(unsalted));
    assert!(sum_a.as_str().is_some_and(|s| s.len() == 64));
    // A key too short to protect anything is refused, naming where it came from.
    std::fs::write(&key_b, "short").unwrap();
    let out = run_env(&["render", "--checksum-key-file", &b], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(&b) && text(&out.stderr).contains("at least 16"), "{}", text(&out.stderr));
}

#[test]
fn a_bad_secret_entry_names_its_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("v.yaml");
    std::fs::write(&f, "secret:\n  enabled: true\n  data:\n    good: aGk=\n    bad: not*base64\n").unwrap();
    let out = run(&["render", "-f", &f.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{}:5", f.display())) && err.contains("secret.data.bad"), "{err}");
    assert!(!err.contains("not*base64") && !err.contains("default:"), "{err}");
}
