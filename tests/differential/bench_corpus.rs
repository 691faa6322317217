//! The benchmark corpus (`benches/corpus/`) renders to the same documents as `kubectl kustomize`
//! for N = 1, 10 and 100 apps. `benches/compare.sh` times the two on the same trees (up to
//! N = 1000, too slow for CI); this test keeps its equality precondition true in CI.

#[path = "../../benches/corpus/mod.rs"]
mod corpus;

use super::{compare_documents, parse_documents, reference_for_test, run_stdout};
use std::process::Command;

#[test]
fn benchmark_corpus_renders_like_kustomize() {
    let kubectl = reference_for_test();
    for n in [1, 10, 100] {
        let dir = tempfile::tempdir().expect("temp dir");
        corpus::write(n, dir.path()).expect("corpus written");
        let overlay = dir.path().join("overlay");
        let mut ours = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"));
        ours.arg("render").arg("--overlay").arg(&overlay);
        let ours = parse_documents(&run_stdout(ours).unwrap_or_else(|e| panic!("N={n}: {e}"))).expect("our YAML");
        assert_eq!(ours.len(), corpus::resource_count(n), "N={n}: resource count");
        let Some(kubectl) = &kubectl else { continue };
        let mut theirs = Command::new(kubectl);
        theirs.arg("kustomize").arg(&overlay);
        let theirs = parse_documents(&run_stdout(theirs).unwrap_or_else(|e| panic!("N={n}: {e}"))).expect("their YAML");
        if let Some(diff) = compare_documents("kustomize", &theirs, "dimtensor", &ours) {
            panic!("N={n}: the benchmark corpus renders differently:\n{diff}");
        }
    }
}

#[test]
fn benchmark_corpus_is_deterministic() {
    assert_eq!(corpus::files(3), corpus::files(3));
    let files = corpus::files(2);
    assert_eq!(files.len(), 5 * 2 + 4, "four base files and a patch per app, two kustomizations, two overlay files");
}
