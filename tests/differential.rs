//! Differential tests against Kustomize.
//!
//! Every directory under `tests/cases/` is one case: a kustomization tree plus `expected.yaml`, the golden
//! stdout of `kubectl kustomize <case>` (kubectl 1.37.1, Kustomize v5.8.1). A case may hold a `render-path`
//! file naming the sub-directory to render instead of the case root. For each case this test
//!
//! 1. renders it with our binary (`kubectl-dimtensor render --overlay <dir>`) and compares the documents with
//!    `expected.yaml` (parsed: map key order ignored, list and document order significant);
//! 2. when the reference kubectl is available, re-runs `kubectl kustomize` and checks `expected.yaml` is still
//!    byte-for-byte its output, so goldens cannot drift from the reference.
//!
//! A case whose tree Kustomize refuses holds `kustomize-error` (a line Kustomize's stderr must contain) and
//! `our-error` (a line ours must contain) instead of `expected.yaml`: both tools must refuse it.
//!
//! `dd-*` cases are deliberate differences (listed in [`DELIBERATE_DIFFERENCES`]): strategic merges where
//! Kustomize is wrong. Their golden is what the Kubernetes API machinery produces
//! (`kubectl patch <args in patch-cmd>`), and the test checks Kustomize still disagrees with it.
//! Refusals where Kustomize accepts are in `differential/deliberate.rs`; seeded random trees rendered by
//! both tools in `differential/generated.rs` (trees from `differential/trees/`).
//!
//! Environment:
//! - `DIMTENSOR_KUBECTL`: path of the reference kubectl. Otherwise `kubectl` on `PATH` is used only if it
//!   reports Kustomize v5.8.1 (the distro kubectl reports v5.5.0, whose output differs).
//! - `CI`: when set, a missing reference kubectl is a failure, never a skip.
//! - `UPDATE_GOLDEN=1`: rewrite every `expected.yaml` from the reference before comparing.
//!
//! Run: `DIMTENSOR_KUBECTL=/tmp/kvenv/bin/kubectl cargo test --test differential -- --nocapture`.

use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use similar::TextDiff;

#[path = "differential/bench_corpus.rs"]
mod bench_corpus;
#[path = "differential/deliberate.rs"]
mod deliberate;
#[path = "differential/generated.rs"]
mod generated;
#[path = "differential/trees/mod.rs"]
mod trees;

/// Cases whose golden deliberately differs from Kustomize, with the reason (details in each case's
/// `deliberate-difference.md`).
const DELIBERATE_DIFFERENCES: &[(&str, &str)] = &[
    (
        "dd-delete-from-primitive-list",
        "Kustomize ignores $deleteFromPrimitiveList/<list> and leaves the directive key in its output; \
         apimachinery removes the listed values from the primitive list",
    ),
    (
        "dd-patch-replace-whole-object",
        "Kustomize ignores a strategic-merge patch with `$patch: replace` at its top level (the object stays \
         as it was); apimachinery replaces the object with the patch",
    ),
    (
        "dd-ports-without-protocol",
        "Kustomize keys container ports by (port, protocol) and drops the 53/UDP element when a 53 entry has no \
         protocol and the patch names another port; apimachinery merges on containerPort and keeps every \
         element the patch does not mention",
    ),
    (
        "dd-ports-patch-without-protocol",
        "Kustomize keys container ports by (port, protocol) and drops a patch element without protocol when \
         the resource's port has one (the patch silently does nothing); apimachinery merges on containerPort",
    ),
    (
        "dd-retain-keys",
        "Kustomize ignores $retainKeys (keeps rollingUpdate beside type: Recreate, an invalid Deployment, \
         and leaves the directive key); apimachinery drops the keys not retained",
    ),
    (
        "dd-set-element-order",
        "Kustomize ignores $setElementOrder/<list> and leaves the directive key in its output; \
         apimachinery reorders the merged list as requested",
    ),
];

/// The Kustomize version the goldens were captured with.
const GOLDEN_KUSTOMIZE_VERSION: &str = "v5.8.1";

/// Guards against a broken case discovery silently testing nothing.
const MIN_ORDINARY_CASES: usize = 40;

/// Upper bound for one render; a hang must fail the case, not the whole CI run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// One case directory.
struct Case {
    name: String,
    dir: PathBuf,
    /// Directory handed to the renderer: the case root or `<case>/<render-path>`.
    render_dir: PathBuf,
    deliberate: bool,
    /// Both tools refuse the tree (`kustomize-error` is present).
    refused: bool,
}

/// How the live reference kubectl is reached, if at all.
enum Reference {
    Available(PathBuf),
    /// Not usable; the reason says why. `misconfigured` means `DIMTENSOR_KUBECTL` was set but is unusable,
    /// which is always a failure.
    Missing {
        reason: String,
        misconfigured: bool,
    },
}

fn cases_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("cases")
}

fn discover_cases() -> Result<Vec<Case>, String> {
    let root = cases_root();
    let entries = fs::read_dir(&root).map_err(|e| format!("cannot read {}: {e}", root.display()))?;
    let mut cases = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", root.display()))?;
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let render_path = dir.join("render-path");
        let render_dir = if render_path.is_file() {
            let rel = fs::read_to_string(&render_path).map_err(|e| format!("{name}: cannot read render-path: {e}"))?;
            dir.join(rel.trim())
        } else if dir.join("kustomization.yaml").is_file() {
            dir.clone()
        } else {
            continue;
        };
        let refused = dir.join("kustomize-error").is_file();
        cases.push(Case { deliberate: name.starts_with("dd-"), refused, name, dir, render_dir });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

/// Runs `cmd` with captured output, killing it after [`COMMAND_TIMEOUT`].
fn run(mut cmd: Command) -> Result<Output, String> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("stdout not captured")?;
    let mut stderr = child.stderr.take().ok_or("stderr not captured")?;
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).map(|_| buf)
    });
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        stderr.read_to_end(&mut buf).map(|_| buf)
    });
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{shown} timed out after {COMMAND_TIMEOUT:?}"));
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for {shown}: {e}")),
        }
    };
    let stdout = out_reader
        .join()
        .map_err(|_| "stdout reader panicked".to_string())?
        .map_err(|e| format!("reading stdout of {shown}: {e}"))?;
    let stderr = err_reader
        .join()
        .map_err(|_| "stderr reader panicked".to_string())?
        .map_err(|e| format!("reading stderr of {shown}: {e}"))?;
    Ok(Output { status, stdout, stderr })
}

/// Runs `cmd` and returns stdout as text, or an error naming the exit status and stderr.
fn run_stdout(cmd: Command) -> Result<String, String> {
    let shown = format!("{cmd:?}");
    let out = run(cmd)?;
    if !out.status.success() {
        return Err(format!(
            "{shown} exited with {}; stderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("{shown} printed non-UTF-8: {e}"))
}

fn kustomize_version(kubectl: &Path) -> Result<String, String> {
    let mut cmd = Command::new(kubectl);
    cmd.args(["version", "--client"]);
    let text = run_stdout(cmd)?;
    text.lines()
        .find_map(|l| l.strip_prefix("Kustomize Version:"))
        .map(|v| v.trim().to_string())
        .ok_or_else(|| format!("`{} version --client` names no Kustomize version", kubectl.display()))
}

fn find_reference() -> Reference {
    if let Some(path) = std::env::var_os("DIMTENSOR_KUBECTL").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return match kustomize_version(&path) {
            Ok(v) if v == GOLDEN_KUSTOMIZE_VERSION => Reference::Available(path),
            Ok(v) => Reference::Missing {
                reason: format!(
                    "DIMTENSOR_KUBECTL={} has Kustomize {v}, goldens need {GOLDEN_KUSTOMIZE_VERSION}",
                    path.display()
                ),
                misconfigured: true,
            },
            Err(e) => Reference::Missing {
                reason: format!("DIMTENSOR_KUBECTL={} is unusable: {e}", path.display()),
                misconfigured: true,
            },
        };
    }
    let path = PathBuf::from("kubectl");
    match kustomize_version(&path) {
        Ok(v) if v == GOLDEN_KUSTOMIZE_VERSION => Reference::Available(path),
        Ok(v) => Reference::Missing {
            reason: format!(
                "`kubectl` on PATH has Kustomize {v}, not {GOLDEN_KUSTOMIZE_VERSION}; set DIMTENSOR_KUBECTL"
            ),
            misconfigured: false,
        },
        Err(e) => Reference::Missing {
            reason: format!("no usable `kubectl` on PATH ({e}); set DIMTENSOR_KUBECTL"),
            misconfigured: false,
        },
    }
}

/// The live reference kubectl for a test comparing with Kustomize: `None` (saying so) when it is
/// missing outside CI; missing in CI, or set but unusable, fails the test.
fn reference_for_test() -> Option<PathBuf> {
    match find_reference() {
        Reference::Available(path) => Some(path),
        Reference::Missing { reason, misconfigured } => {
            assert!(!misconfigured && std::env::var_os("CI").is_none(), "reference kubectl missing in CI: {reason}");
            eprintln!("skipping the Kustomize half: {reason}");
            None
        }
    }
}

/// Parses a multi-document YAML stream; empty documents are skipped.
fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    let mut docs = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(doc).map_err(|e| format!("document {}: {e}", i + 1))?;
        if !value.is_null() {
            docs.push(canonical(value));
        }
    }
    Ok(docs)
}

/// Sorts map keys recursively so equality and diffs ignore key order (list order is kept).
fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, canonical(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

fn pretty(docs: &[Value]) -> String {
    docs.iter()
        .map(|d| serde_json::to_string_pretty(d).unwrap_or_else(|e| format!("<unprintable: {e}>")))
        .collect::<Vec<_>>()
        .join("\n---\n")
        + "\n"
}

fn line_diff(left_name: &str, left: &str, right_name: &str, right: &str) -> String {
    TextDiff::from_lines(left, right).unified_diff().context_radius(4).header(left_name, right_name).to_string()
}

/// Compares two document lists; `None` when equal, else a readable diff.
fn compare_documents(left_name: &str, left: &[Value], right_name: &str, right: &[Value]) -> Option<String> {
    if left == right {
        return None;
    }
    let mut msg = String::new();
    if left.len() != right.len() {
        let _ = writeln!(msg, "{left_name} has {} documents, {right_name} has {}", left.len(), right.len());
    }
    msg.push_str(&line_diff(left_name, &pretty(left), right_name, &pretty(right)));
    Some(msg)
}

fn render_ours(case: &Case) -> Result<String, String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"));
    cmd.arg("render").arg("--overlay").arg(&case.render_dir);
    run_stdout(cmd)
}

fn render_kustomize(kubectl: &Path, case: &Case) -> Result<String, String> {
    let mut cmd = Command::new(kubectl);
    cmd.arg("kustomize").arg(&case.render_dir);
    run_stdout(cmd)
}

/// `kubectl patch` with the whitespace-separated arguments in the case's `patch-cmd`, run in the case dir.
fn patch_apimachinery(kubectl: &Path, case: &Case) -> Result<String, String> {
    let args = fs::read_to_string(case.dir.join("patch-cmd")).map_err(|e| format!("cannot read patch-cmd: {e}"))?;
    let mut cmd = Command::new(kubectl);
    cmd.arg("patch").args(args.split_whitespace()).current_dir(&case.dir);
    run_stdout(cmd)
}

/// What the reference produces for this case's golden.
fn reference_golden(kubectl: &Path, case: &Case) -> Result<String, String> {
    if case.deliberate {
        patch_apimachinery(kubectl, case)
    } else {
        render_kustomize(kubectl, case)
    }
}

/// Checks a case both tools must refuse: ours exits 2 naming `our-error`, Kustomize fails with `kustomize-error`.
fn check_refused_case(case: &Case, reference: Option<&Path>) -> Vec<String> {
    let mut failures = Vec::new();
    let read = |file: &str| fs::read_to_string(case.dir.join(file)).map(|t| t.trim().to_string());
    let (Ok(ours_expected), Ok(theirs_expected)) = (read("our-error"), read("kustomize-error")) else {
        return vec!["a refused case needs both `our-error` and `kustomize-error`".to_string()];
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"));
    cmd.arg("render").arg("--overlay").arg(&case.render_dir);
    match run(cmd) {
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.code() != Some(2) || !out.stdout.is_empty() {
                failures.push(format!("ours must refuse with exit 2 and no output; got {}:\n{stderr}", out.status));
            } else if !stderr.contains(&ours_expected) {
                failures.push(format!("our error does not contain `{ours_expected}`:\n{stderr}"));
            }
        }
        Err(e) => failures.push(e),
    }
    if let Some(kubectl) = reference {
        let mut cmd = Command::new(kubectl);
        cmd.arg("kustomize").arg(&case.render_dir);
        match run(cmd) {
            Ok(out) if out.status.success() => {
                failures.push("kubectl kustomize now accepts this tree: turn it into an ordinary case".to_string())
            }
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                if !stderr.contains(&theirs_expected) {
                    failures.push(format!("Kustomize's error no longer contains `{theirs_expected}`:\n{stderr}"));
                }
            }
            Err(e) => failures.push(e),
        }
    }
    failures
}

/// Checks one case; returns its failure messages (empty when it passes).
fn check_case(case: &Case, reference: Option<&Path>, update_golden: bool) -> Vec<String> {
    if case.refused {
        return check_refused_case(case, reference);
    }
    let mut failures = Vec::new();
    let golden_path = case.dir.join("expected.yaml");

    if let (Some(kubectl), true) = (reference, update_golden) {
        match reference_golden(kubectl, case) {
            Ok(text) => {
                if let Err(e) = fs::write(&golden_path, text) {
                    failures.push(format!("cannot write {}: {e}", golden_path.display()));
                }
            }
            Err(e) => failures.push(format!("UPDATE_GOLDEN: reference failed: {e}")),
        }
    }

    let golden_text = match fs::read_to_string(&golden_path) {
        Ok(t) => t,
        Err(e) => {
            failures.push(format!("cannot read {}: {e}", golden_path.display()));
            return failures;
        }
    };
    let golden = match parse_documents(&golden_text) {
        Ok(d) => d,
        Err(e) => {
            failures.push(format!("expected.yaml does not parse: {e}"));
            return failures;
        }
    };

    // 1. Our renderer against the golden.
    let ours = match render_ours(case).and_then(|t| parse_documents(&t).map_err(|e| format!("our output: {e}"))) {
        Ok(d) => Some(d),
        Err(e) => {
            failures.push(format!("our render failed: {e}"));
            None
        }
    };
    if let Some(ours) = &ours {
        if let Some(diff) = compare_documents("expected.yaml", &golden, "ours", ours) {
            failures.push(format!("our output differs from expected.yaml:\n{diff}"));
        }
    }

    // 2. The golden against the live reference.
    let Some(kubectl) = reference else {
        return failures;
    };
    match reference_golden(kubectl, case) {
        Ok(live) if live == golden_text => {}
        Ok(live) => failures.push(format!(
            "expected.yaml drifted from the reference (run tests/cases/regenerate.sh or UPDATE_GOLDEN=1):\n{}",
            line_diff("expected.yaml", &golden_text, "reference", &live)
        )),
        Err(e) => failures.push(format!("reference failed: {e}")),
    }

    // 3. A deliberate difference must still be a difference.
    if case.deliberate {
        match render_kustomize(kubectl, case).and_then(|t| parse_documents(&t)) {
            Ok(kustomize) => {
                if kustomize == golden {
                    failures.push(
                        "kubectl kustomize now produces the deliberate-difference golden: the difference is \
                         gone, turn this into an ordinary case"
                            .to_string(),
                    );
                } else if ours.as_ref().is_some_and(|o| *o == kustomize) {
                    failures.push(
                        "our output equals kubectl kustomize on a deliberate-difference case; it must follow \
                         apimachinery instead (see deliberate-difference.md)"
                            .to_string(),
                    );
                }
            }
            Err(e) => failures.push(format!("kubectl kustomize failed on a deliberate-difference case: {e}")),
        }
    }
    failures
}

#[test]
fn differential_corpus() {
    let cases = match discover_cases() {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let ordinary = cases.iter().filter(|c| !c.deliberate).count();
    let mut failures: Vec<String> = Vec::new();
    if ordinary < MIN_ORDINARY_CASES {
        failures.push(format!(
            "only {ordinary} ordinary cases found under tests/cases, expected at least {MIN_ORDINARY_CASES}"
        ));
    }

    let update_golden = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| !v.is_empty() && v != "0");
    let in_ci = std::env::var_os("CI").is_some();
    let reference = match find_reference() {
        Reference::Available(path) => {
            println!("reference: {} (Kustomize {GOLDEN_KUSTOMIZE_VERSION})", path.display());
            Some(path)
        }
        Reference::Missing { reason, misconfigured } => {
            if misconfigured || in_ci || update_golden {
                failures.push(format!("reference kubectl required but unavailable: {reason}"));
            } else {
                println!("SKIPPING golden-vs-reference checks: {reason}");
            }
            None
        }
    };

    let mut passed = 0usize;
    let mut failed = 0usize;
    for case in &cases {
        let case_failures = check_case(case, reference.as_deref(), update_golden);
        if case_failures.is_empty() {
            passed += 1;
        } else {
            failed += 1;
            for f in case_failures {
                failures.push(format!("[{}] {f}", case.name));
            }
        }
    }
    println!("differential: {passed} passed, {failed} failed");
    if !failures.is_empty() {
        panic!("{} problem(s) in the differential corpus:\n\n{}", failures.len(), failures.join("\n\n"));
    }
}

#[test]
fn deliberate_differences_are_documented() {
    let cases = match discover_cases() {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let mut problems = Vec::new();
    let dd: Vec<&str> = cases.iter().filter(|c| c.deliberate).map(|c| c.name.as_str()).collect();
    for name in &dd {
        if !DELIBERATE_DIFFERENCES.iter().any(|(n, _)| n == name) {
            problems.push(format!("{name} is missing from DELIBERATE_DIFFERENCES"));
        }
    }
    for (name, _) in DELIBERATE_DIFFERENCES {
        if !dd.contains(name) {
            problems.push(format!("DELIBERATE_DIFFERENCES lists {name} but tests/cases/{name} is missing"));
            continue;
        }
        for file in ["deliberate-difference.md", "patch-cmd", "base-resource.yaml", "expected.yaml"] {
            if !cases_root().join(name).join(file).is_file() {
                problems.push(format!("{name} lacks {file}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn comparison_ignores_key_order_but_not_list_or_document_order() {
    let parse = |s: &str| parse_documents(s).unwrap_or_else(|e| panic!("{e}"));
    let a = parse("a: 1\nb: [x, y]\n---\nc: 3\n");
    assert_eq!(a, parse("b: [x, y]\na: 1\n---\nc: 3\n---\n"));
    assert_ne!(a, parse("a: 1\nb: [y, x]\n---\nc: 3\n"));
    assert_ne!(a, parse("c: 3\n---\na: 1\nb: [x, y]\n"));
    assert!(compare_documents("l", &a, "r", &parse("c: 3\n")).is_some());
}
