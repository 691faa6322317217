//! The eject: `kubectl dimtensor init DIR` with render's inputs writes a plain Kustomize tree,
//! and the pinned Kustomize (`DIMTENSOR_KUBECTL`, v5.8.1) renders it to the documents
//! `kubectl dimtensor render` prints for the same inputs: for every built-in overlay (and the
//! base) with no values, a release and namespace only, the upstream chart's values files (read
//! from `../shared/upstream-chart/dimtensor/`, never copied), the fixture values files, and
//! Secret values; then seeded random values over every parameter (`values_property/gen.rs`).
//! Without a reference kubectl the tree is rendered by the project's own engine instead (said on
//! stderr). Where render refuses the inputs, init refuses them with the same message and writes
//! nothing.
//!
//! [`DELIBERATE_DIFFERENCES`] lists what may differ, and why.

mod common;
#[path = "values_property/gen.rs"]
mod gen;

use base64::Engine;
use dimtensor::render::{self, Request};
use dimtensor::values::{self, schema, tree, Input};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-dimtensor");

/// What the tree may render differently from `render`, each with its reason.
pub const DELIBERATE_DIFFERENCES: &[(&str, &str)] = &[(
    "Secret stringData",
    "A secretGenerator (which reads the Secret values from the ignored env file) writes `data` only: a `secret.stringData` value comes out base64-encoded under `data`. The API server stores a Secret's `stringData` exactly so (it is write-only and merged into `data`, winning over a `data` key of the same name), so the applied object is the same.",
)];

const OVERLAYS: &[Option<&str>] = &[None, Some("inference"), Some("training"), Some("batch"), Some("cronjob")];

/// The reference: the pinned kubectl, or None (then our own engine renders the tree).
fn reference() -> Option<PathBuf> {
    match std::env::var_os("DIMTENSOR_KUBECTL").filter(|p| !p.is_empty()) {
        Some(k) => Some(PathBuf::from(k)),
        None => {
            eprintln!("DIMTENSOR_KUBECTL is not set: the trees are rendered by kubectl-dimtensor's own engine, not by Kustomize (bash .ci/run sets it)");
            None
        }
    }
}

fn upstream_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/upstream-chart/dimtensor");
    assert!(
        dir.join("values.yaml").is_file(),
        "the upstream chart's values files are missing: looked for {} (the shared folder `upstream-chart/dimtensor` beside the project)",
        std::path::absolute(&dir).unwrap_or(dir.clone()).display()
    );
    dir
}

/// `kubectl kustomize DIR` (or our engine's `render --overlay DIR`), as documents.
fn build(kubectl: Option<&Path>, dir: &Path) -> Result<Vec<Value>, String> {
    let out = match kubectl {
        Some(k) => Command::new(k).arg("kustomize").arg(dir).output(),
        None => Command::new(BIN).args(["render", "--overlay"]).arg(dir).output(),
    }
    .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("building {} failed: {}", dir.display(), common::text(&out.stderr)));
    }
    dimtensor::yaml::parse_documents(&common::text(&out.stdout), "kustomize output").map_err(|e| e.to_string())
}

/// Documents as compared: [`DELIBERATE_DIFFERENCES`] applied (a Secret's stringData as data).
fn normalized(mut docs: Vec<Value>) -> Vec<Value> {
    for d in docs.iter_mut().filter(|d| d["kind"] == "Secret") {
        let Some(Value::Object(plain)) = d.as_object_mut().and_then(|m| m.remove("stringData")) else { continue };
        let data = d.as_object_mut().unwrap().entry("data").or_insert_with(|| json!({}));
        for (k, v) in plain {
            let text = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            data[k.as_str()] = json!(base64::engine::general_purpose::STANDARD.encode(text));
        }
    }
    docs
}

/// What differs between render's and the tree's documents (empty: the same).
fn compare(want: Vec<Value>, got: Vec<Value>) -> Vec<String> {
    let (want, got) = (normalized(want), normalized(got));
    let id =
        |d: &Value| format!("{}/{}", d["kind"].as_str().unwrap_or("?"), d["metadata"]["name"].as_str().unwrap_or("?"));
    if want.len() != got.len() || want.iter().zip(&got).any(|(a, b)| id(a) != id(b)) {
        return vec![format!(
            "documents: render {:?}, tree {:?}",
            want.iter().map(id).collect::<Vec<_>>(),
            got.iter().map(id).collect::<Vec<_>>()
        )];
    }
    want.iter()
        .zip(&got)
        .flat_map(|(a, b)| common::differences(a, b).into_iter().map(move |d| format!("{}: {d}", id(a))))
        .collect()
}

fn run(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_remove("DIMTENSOR_CHECKSUM_KEY")
        .output()
        .expect("the binary runs")
}

#[test]
fn every_overlay_and_values_file_ejects_to_a_tree_kustomize_renders_the_same() {
    let kubectl = reference();
    let upstream = upstream_dir();
    let work = tempfile::tempdir().unwrap();
    let secret_values = work.path().join("secret-values.yaml");
    std::fs::write(
        &secret_values,
        "secret:\n  enabled: true\n  data:\n    mlflow-uri: aHR0cDovL21sZmxvdy1zZXJ2ZXI6NTAwMA==\n  stringData:\n    token: s3cr3t\n",
    )
    .unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/values");
    let mut files: Vec<PathBuf> = ["values.yaml", "values-inference.yaml", "values-training.yaml", "values-batch.yaml"]
        .iter()
        .map(|f| upstream.join(f))
        .collect();
    let mut fixture_files: Vec<PathBuf> = std::fs::read_dir(&fixtures).unwrap().map(|e| e.unwrap().path()).collect();
    fixture_files.sort();
    files.extend(fixture_files);
    let mut inputs: Vec<Vec<String>> = vec![vec![], vec!["--release".into(), "prod".into(), "-n".into(), "ml".into()]];
    for f in &files {
        inputs.push(vec![
            "--release".into(),
            "prod".into(),
            "-n".into(),
            "ml".into(),
            "-f".into(),
            f.display().to_string(),
        ]);
    }
    inputs.push(vec!["-f".into(), secret_values.display().to_string(), "--set".into(), "image.tag=4.3.0".into()]);
    // The keyed checksum/secret: the same key on both sides gives the same annotation.
    let key = work.path().join("checksum.key");
    std::fs::write(&key, "a-checksum-key-for-the-eject-test\n").unwrap();
    let keyed =
        ["--release", "prod", "-f", secret_values.to_str().unwrap(), "--checksum-key-file", key.to_str().unwrap()];
    inputs.push(keyed.iter().map(|s| s.to_string()).collect());
    // Some fixture files give Secret data: every init says where it goes.
    for i in inputs.iter_mut() {
        i.extend(["--secrets-file".to_string(), "secret.env".to_string()]);
    }
    let mut cases = Vec::new();
    for overlay in OVERLAYS {
        for i in &inputs {
            if overlay.is_none() && i.is_empty() {
                continue; // `init DIR` alone writes base/ and overlays/ to customise, no tree to render
            }
            let mut args: Vec<String> =
                overlay.map(|o| vec!["--overlay".to_string(), o.to_string()]).unwrap_or_default();
            args.extend(i.iter().cloned());
            cases.push(args);
        }
    }
    let compared = std::sync::atomic::AtomicUsize::new(0);
    let failures = in_parallel(&cases, |args| {
        // render takes no --release or --secrets-file: the same inputs, spelled for each command.
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let both = check_both_spellings(kubectl.as_deref(), &args, work.path())?;
        compared.fetch_add(usize::from(both), std::sync::atomic::Ordering::SeqCst);
        Ok(())
    });
    let compared = compared.into_inner();
    eprintln!(
        "eject: {} cases (5 overlays x {} inputs, less `init DIR` alone): {compared} compared, {} refused by render and init alike, {} failed",
        cases.len(),
        inputs.len(),
        cases.len() - compared - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `init` spells the release `--release NAME` and takes `--secrets-file`; `render` takes the
/// name as its argument. Runs both with the same inputs.
fn check_both_spellings(kubectl: Option<&Path>, args: &[&str], cwd: &Path) -> Result<bool, String> {
    let mut render_args: Vec<&str> = Vec::new();
    let mut init_only: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--release" => render_args.insert(0, it.next().copied().unwrap_or_default()),
            "--secrets-file" => init_only.extend([*a, it.next().copied().unwrap_or_default()]),
            other => render_args.push(other),
        }
    }
    check_pair(kubectl, &render_args, args, cwd)
}

/// Ok(true): both rendered the same; Ok(false): both refused with the same message.
fn check_pair(kubectl: Option<&Path>, render_args: &[&str], init_args: &[&str], cwd: &Path) -> Result<bool, String> {
    let shown = format!("render {} / init {}", render_args.join(" "), init_args.join(" "));
    let rendered = run(&[&["render"][..], render_args, &["-o", "json"]].concat(), cwd);
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let tree_arg = tree.display().to_string();
    let init = run(&[&["init", tree_arg.as_str()][..], init_args].concat(), cwd);
    if !rendered.status.success() {
        let why = common::text(&rendered.stderr);
        let first = why.lines().next().unwrap_or("");
        return match (init.status.code(), common::text(&init.stderr)) {
            (Some(2), e) if e.lines().next() == Some(first) && !tree.exists() => Ok(false),
            (code, e) => Err(format!("{shown}: render refused ({first}), init answered {code:?}: {e}")),
        };
    }
    if !init.status.success() {
        return Err(format!("{shown}: init failed: {}", common::text(&init.stderr)));
    }
    let list: Value = serde_json::from_slice(&rendered.stdout).map_err(|e| e.to_string())?;
    let want = list["items"].as_array().cloned().unwrap_or_default();
    let got = build(kubectl, &tree).map_err(|e| format!("{shown}: {e}"))?;
    match compare(want, got) {
        d if d.is_empty() => Ok(true),
        d => Err(format!("{shown}:\n  {}", d.into_iter().take(8).collect::<Vec<_>>().join("\n  "))),
    }
}

/// Runs `check` over `cases` on a few threads (each case waits on processes); the failures.
fn in_parallel<T: Sync>(cases: &[T], check: impl Fn(&T) -> Result<(), String> + Sync) -> Vec<String> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                if let Err(e) = check(case) {
                    failures.lock().unwrap().push(e);
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

const DEFAULT_SEED: u64 = 0x5EED_0020;
const DEFAULT_CASES: u64 = 80;

/// Seeded random values over every parameter on a random overlay, release and namespace,
/// through the library (the binary path is covered above): render, eject, build, compare.
#[test]
fn random_values_eject_to_the_same_documents() {
    let kubectl = reference();
    let seed = std::env::var("DIMTENSOR_EJECT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED);
    let count = std::env::var("DIMTENSOR_EJECT_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_CASES);
    let work = tempfile::tempdir().unwrap();
    let key = values::checksum::Key::from_text("an-eject-test-key-0123456789", "test").unwrap();
    let cases: Vec<u64> = (0..count).collect();
    let counts = std::sync::Mutex::new((0, 0, 0)); // (compared, refused by render, refused by init)
    let failures = in_parallel(&cases, |&i| {
        let mut rng = gen::Rng::new(seed ^ i.wrapping_mul(0xA24B_AED4_963E_E407));
        let overlay = rng.pick(OVERLAYS);
        let release = rng.pick(&[None, Some("prod"), Some("dimtensor-training")]);
        let namespace = rng.pick(&[None, Some("ml")]);
        let mut doc = Value::Object(Map::new());
        for p in schema::params() {
            if rng.chance(0.06) {
                tree::set(&mut doc, &tree::split(p.path), gen::value(p, &mut rng));
            }
        }
        let file = work.path().join(format!("values-{i}.yaml"));
        std::fs::write(&file, dimtensor::yaml::to_yaml(&doc)).unwrap();
        let shown = format!(
            "case {i} (DIMTENSOR_EJECT_SEED={seed}): overlay {overlay:?} release {release:?} -n {namespace:?}\n{}",
            dimtensor::yaml::to_yaml(&doc)
        );
        let input = Input { files: vec![file.display().to_string()], ..Input::default() };
        let Ok(user) = values::load(&input, &mut std::io::empty()) else {
            counts.lock().unwrap().1 += 1;
            return Ok(());
        };
        let req = Request {
            overlay: overlay.map(str::to_string),
            release: release.map(str::to_string),
            namespace: namespace.map(str::to_string),
            values: user,
            checksum_key: rng.chance(0.5).then(|| key.clone()),
            defaults: None,
        };
        let Ok(rendered) = render::render(&req) else {
            counts.lock().unwrap().1 += 1;
            return Ok(());
        };
        let want: Vec<Value> = rendered.resources.iter().map(|r| r.body().clone()).collect();
        let dir = work.path().join(format!("tree-{i}"));
        match dimtensor::gitops::eject::eject(&rendered, &dir, Some("secret.env")) {
            Err(e @ dimtensor::gitops::eject::EjectError::NotAnEnvLine { .. }) => {
                counts.lock().unwrap().2 += 1;
                return match dir.exists() {
                    false => Ok(()),
                    true => Err(format!("{shown}init refused ({e}) but wrote files")),
                };
            }
            Err(e) => return Err(format!("{shown}init failed: {e}")),
            Ok(_) => {}
        }
        let got = build(kubectl.as_deref(), &dir).map_err(|e| format!("{shown}{e}"))?;
        counts.lock().unwrap().0 += 1;
        match compare(want, got) {
            d if d.is_empty() => Ok(()),
            d => Err(format!("{shown}  {}", d.into_iter().take(8).collect::<Vec<_>>().join("\n  "))),
        }
    });
    let (compared, refused, unwritable) = *counts.lock().unwrap();
    eprintln!(
        "eject property: seed {seed}, {count} cases: {compared} compared, {refused} refused by render (as init refuses them), {unwritable} with Secret values no env file holds, {} failed",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.iter().take(4).cloned().collect::<Vec<_>>().join("\n\n"));
    assert!(count < 8 || compared * 3 >= count as usize, "too few cases rendered to compare: {compared} of {count}");
}

/// Secret values: refused without --secrets-file (naming the keys, writing nothing), written only
/// to the env file with it, which git leaves out of a commit of the tree.
#[test]
fn secret_values_never_go_into_the_tree() {
    let work = tempfile::tempdir().unwrap();
    let values = work.path().join("values.yaml");
    std::fs::write(&values, "secret:\n  enabled: true\n  stringData:\n    token: s3cr3t-token\n").unwrap();
    let tree = work.path().join("repo/deploy");
    let tree_arg = tree.display().to_string();
    let base =
        ["init", tree_arg.as_str(), "--overlay", "inference", "--release", "prod", "-f", values.to_str().unwrap()];
    let refused = run(&base, work.path());
    assert_eq!(refused.status.code(), Some(2));
    let err = common::text(&refused.stderr);
    assert!(
        err.contains("secret.stringData.token") && err.contains("--secrets-file") && !err.contains("s3cr3t"),
        "{err}"
    );
    assert!(!tree.exists(), "nothing written");

    let key = work.path().join("checksum.key");
    std::fs::write(&key, "the-key-that-must-stay-out-0123\n").unwrap();
    let keyed = ["--secrets-file", "secret.env", "--checksum-key-file", key.to_str().unwrap()];
    let out = run(&[&base[..], &keyed[..]].concat(), work.path());
    let said = common::assert_ok(&out);
    let env = tree.join("secrets/secret.env");
    assert!(said.contains(&env.display().to_string()) && said.contains(".gitignore"), "{said}");
    assert!(std::fs::read_to_string(&env).unwrap().contains("token=s3cr3t-token"));
    let mut leaked = Vec::new();
    for entry in walk(&tree) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        if (entry != env && text.contains("s3cr3t")) || text.contains("the-key-that-must-stay-out") {
            leaked.push(entry);
        }
    }
    assert!(leaked.is_empty(), "a Secret value or the checksum key is in {leaked:?}");
    // The keyed checksum comes out as render computes it with the same key.
    let annotation = |docs: &[Value]| {
        let d = docs.iter().find(|d| d["kind"] == "Deployment").expect("a Deployment");
        d["spec"]["template"]["metadata"]["annotations"]["checksum/secret"].clone()
    };
    let rendered = run(
        &[
            "render",
            "prod",
            "--overlay",
            "inference",
            "-f",
            values.to_str().unwrap(),
            "--checksum-key-file",
            key.to_str().unwrap(),
            "-o",
            "json",
        ],
        work.path(),
    );
    let list: Value = serde_json::from_slice(&rendered.stdout).unwrap();
    let want = annotation(list["items"].as_array().unwrap());
    assert!(want.as_str().is_some_and(|s| s.len() == 64), "{want}");
    assert_eq!(annotation(&build(reference().as_deref(), &tree).unwrap()), want);
    let git = |args: &[&str]| Command::new("git").args(args).current_dir(work.path().join("repo")).output();
    if git(&["init", "-q"]).is_ok_and(|o| o.status.success()) {
        assert!(git(&["add", "-A"]).unwrap().status.success());
        let staged = common::text(&git(&["diff", "--cached", "--name-only"]).unwrap().stdout);
        assert!(staged.contains("deploy/secrets/kustomization.yaml") && staged.contains(".gitignore"), "{staged}");
        assert!(!staged.contains("secret.env"), "the env file would be committed:\n{staged}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
        if e.is_dir() {
            out.extend(walk(&e));
        } else {
            out.push(e);
        }
    }
    out
}

/// An overlay of the user's own is referred to where it is (relative to the tree), not copied.
#[test]
fn a_users_own_overlay_is_referred_to_where_it_is() {
    let kubectl = reference();
    let work = tempfile::tempdir().unwrap();
    common::assert_ok(&run(&["init", "mine"], work.path()));
    let inputs = ["--overlay", "./mine/overlays/training", "-n", "ml", "--set", "job.backoffLimit=4"];
    let ok = check_pair(
        kubectl.as_deref(),
        &[&["prod"][..], &inputs[..]].concat(),
        &[&["--release", "prod"][..], &inputs[..]].concat(),
        work.path(),
    );
    assert_eq!(ok, Ok(true));
    let out = run(&[&["init", "tree", "--release", "prod"][..], &inputs[..]].concat(), work.path());
    common::assert_ok(&out);
    let values = std::fs::read_to_string(work.path().join("tree/values/kustomization.yaml")).unwrap();
    assert!(values.contains("- ../../mine/overlays/training"), "{values}");
    assert!(!work.path().join("tree/overlays/training").exists(), "not copied");
}
