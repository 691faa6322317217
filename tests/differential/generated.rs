//! Random kustomization trees (`trees/`) rendered by us and by the pinned `kubectl kustomize`.
//!
//! Each tree either renders to the same documents in both, is refused by both, or is refused by
//! us for one of the deliberate behaviour differences (recognised by its marker, see
//! `deliberate.rs`). Anything else fails the test with the seed, the files and the difference.
//!
//! Environment (defaults are what CI runs):
//! - `DIMTENSOR_TREES`: how many trees (300); `DIMTENSOR_TREES_SEED`: the first seed (1), so
//!   seeds `SEED..SEED+TREES` run;
//! - `DIMTENSOR_TREES_KEEP=DIR`: write every diverging tree to `DIR/<seed>/` to look at it;
//! - `DIMTENSOR_TREES_VERBOSE=1`: say why each tree both tools refused was refused;
//! - without a reference kubectl (see `find_reference`) only our side runs, checking that no
//!   tree makes us crash; in CI that is a failure, as for the corpus.
//!
//! `scripts/differential-trees.sh` runs a larger batch.

use super::deliberate::deliberate_refusal;
use super::trees;
use super::{compare_documents, parse_documents, reference_for_test, run};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

const DEFAULT_TREES: u64 = 300;

enum Outcome {
    /// Both rendered the same documents.
    Same,
    /// Both refused the tree; our message.
    BothRefused(String),
    /// We refused it for a listed deliberate difference; Kustomize rendered it.
    Deliberate(&'static str),
    /// Only our side ran (no reference); it exited cleanly.
    OursOnly,
    /// A difference nobody listed: the message says what.
    Diverged(String),
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn write(root: &Path, tree: &trees::Tree) {
    for (rel, text) in &tree.files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("files live in directories")).expect("mkdir");
        std::fs::write(path, text).expect("write a tree file");
    }
}

fn listing(tree: &trees::Tree) -> String {
    tree.files.iter().map(|(rel, text)| format!("==> {rel}\n{text}")).collect::<Vec<_>>().join("")
}

fn check(seed: u64, kubectl: Option<&Path>) -> Outcome {
    let tree = trees::generate(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), &tree);
    let target = dir.path().join(tree.render);
    let mut ours = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"));
    ours.arg("render").arg("--overlay").arg(&target).env("RUST_BACKTRACE", "1");
    let ours = match run(ours) {
        Ok(o) => o,
        Err(e) => return Outcome::Diverged(e),
    };
    let our_err = String::from_utf8_lossy(&ours.stderr).into_owned();
    if !matches!(ours.status.code(), Some(0 | 2)) || our_err.contains("panicked") {
        return Outcome::Diverged(format!("we exited with {} (only 0 or 2 are allowed):\n{our_err}", ours.status));
    }
    let Some(kubectl) = kubectl else { return Outcome::OursOnly };
    let mut theirs = Command::new(kubectl);
    theirs.arg("kustomize").arg(&target);
    let theirs = match run(theirs) {
        Ok(o) => o,
        Err(e) => return Outcome::Diverged(e),
    };
    let their_err = String::from_utf8_lossy(&theirs.stderr).into_owned();
    match (ours.status.success(), theirs.status.success()) {
        (false, false) => Outcome::BothRefused(our_err.lines().next().unwrap_or("").to_string()),
        (false, true) => match deliberate_refusal(&our_err) {
            Some(name) => Outcome::Deliberate(name),
            None => Outcome::Diverged(format!("we refused what Kustomize renders:\n{our_err}")),
        },
        (true, false) => Outcome::Diverged(format!("Kustomize refused what we render:\n{their_err}")),
        (true, true) => {
            let parse = |out: &[u8]| parse_documents(&String::from_utf8_lossy(out));
            match (parse(&ours.stdout), parse(&theirs.stdout)) {
                (Ok(a), Ok(b)) => match compare_documents("kustomize", &b, "ours", &a) {
                    None => Outcome::Same,
                    Some(diff) => Outcome::Diverged(format!("the outputs differ:\n{diff}")),
                },
                (Err(e), _) => Outcome::Diverged(format!("our output does not parse: {e}")),
                (_, Err(e)) => Outcome::Diverged(format!("Kustomize's output does not parse: {e}")),
            }
        }
    }
}

#[test]
fn random_trees_render_like_kustomize() {
    let count = env_u64("DIMTENSOR_TREES", DEFAULT_TREES);
    let first = env_u64("DIMTENSOR_TREES_SEED", 1);
    let keep = std::env::var_os("DIMTENSOR_TREES_KEEP").map(PathBuf::from);
    let verbose = std::env::var_os("DIMTENSOR_TREES_VERBOSE").is_some();
    let kubectl = reference_for_test();
    let started = Instant::now();
    let next = AtomicU64::new(first);
    let results: Mutex<Vec<(u64, Outcome)>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(1, 4);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::SeqCst);
                if seed >= first + count {
                    break;
                }
                let outcome = check(seed, kubectl.as_deref());
                results.lock().expect("no worker panics while holding the lock").push((seed, outcome));
            });
        }
    });
    let mut results = results.into_inner().expect("workers are done");
    results.sort_by_key(|(seed, _)| *seed);

    let mut tally: BTreeMap<&str, u64> = BTreeMap::new();
    let mut diverged = Vec::new();
    for (seed, outcome) in &results {
        let key = match outcome {
            Outcome::Same => "same output",
            Outcome::BothRefused(why) => {
                if verbose {
                    println!("seed {seed}: both refused: {why}");
                }
                "both refused"
            }
            Outcome::Deliberate(name) => name,
            Outcome::OursOnly => "ours only (no reference)",
            Outcome::Diverged(message) => {
                diverged.push((*seed, message.clone()));
                "DIVERGED"
            }
        };
        *tally.entry(key).or_default() += 1;
    }
    println!(
        "random trees: seeds {first}..{} in {:.1}s on {workers} threads: {tally:?}",
        first + count,
        started.elapsed().as_secs_f64()
    );
    if let Some(keep) = &keep {
        for (seed, _) in &diverged {
            write(&keep.join(seed.to_string()), &trees::generate(*seed));
        }
    }
    let shown: Vec<String> = diverged
        .iter()
        .take(3)
        .map(|(seed, message)| format!("--- seed {seed}\n{message}\n{}", listing(&trees::generate(*seed))))
        .collect();
    assert!(
        diverged.is_empty(),
        "{} of {count} random trees diverge from Kustomize (seeds {:?}); rerun one with \
         scripts/differential-trees.sh --seed SEED --keep DIR\n{}",
        diverged.len(),
        diverged.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        shown.join("\n")
    );
    if kubectl.is_some() {
        let same = tally.get("same output").copied().unwrap_or(0);
        assert!(
            same * 2 >= count,
            "only {same} of {count} trees rendered in both: the generator makes too few valid trees"
        );
    }
}
