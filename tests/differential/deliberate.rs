//! Behaviours (not outputs) where we deliberately refuse what Kustomize accepts. Each entry is
//! proven by a test below: ours refuses the tree with exit 2 and a message naming the place, and
//! the live Kustomize still accepts it (when the reference is available). The random trees of
//! `generated.rs` count a refusal whose message holds an entry's marker as that difference.

use super::{reference_for_test, run};
use std::fs;
use std::process::Command;

/// (name, marker in our error message, reason).
pub const DELIBERATE_BEHAVIOUR_DIFFERENCES: &[(&str, &str, &str)] = &[
    (
        "patch-target-matches-nothing",
        "no resource matches",
        "a patch in a Kustomization whose target selects no resource is an error naming the patch and the \
         target (Kustomize skips it silently, so a typo in a kind or name ships an unpatched workload); inside a \
         Component it is allowed, because a component is written to fit several bases",
    ),
    (
        "metadata-not-a-map",
        "labels and annotations are maps of strings",
        "labels or annotations that are not a map, or an annotation value that is a map or a list (after a \
         JSON or strategic-merge patch, or in a resource file), are refused: Kustomize drops such annotations \
         silently (or empties the value) and prints such labels as an object no API server takes",
    ),
    (
        "patch-directive-in-unkeyed-list",
        "$patch is not allowed here",
        "a `$patch: replace|delete` element in a list that has no merge key (a custom kind's list) is refused: \
         the API machinery replaces such lists whole, and Kustomize copies the directive into its output as if \
         it were data",
    ),
];

/// The marker of a deliberate refusal `stderr` shows, if any.
pub fn deliberate_refusal(stderr: &str) -> Option<&'static str> {
    DELIBERATE_BEHAVIOUR_DIFFERENCES.iter().find(|(_, marker, _)| stderr.contains(marker)).map(|(name, _, _)| *name)
}

pub fn write_tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        fs::write(path, text).expect("write fixture");
    }
    dir
}

/// Ours refuses `files` as the difference `name` (exit 2, every fragment in stderr); the live
/// Kustomize accepts the same tree.
fn refused_unlike_kustomize(name: &str, files: &[(&str, &str)], fragments: &[&str]) {
    assert!(DELIBERATE_BEHAVIOUR_DIFFERENCES.iter().any(|(n, _, _)| *n == name), "{name} is not listed");
    let tree = write_tree(files);
    let mut ours = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"));
    ours.args(["render", "--overlay"]).arg(tree.path());
    let out = run(ours).expect("our binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(deliberate_refusal(&stderr), Some(name), "the refusal carries its marker: {stderr}");
    for f in fragments {
        assert!(stderr.contains(f), "stderr should name `{f}`: {stderr}");
    }
    if let Some(kubectl) = reference_for_test() {
        let mut k = Command::new(kubectl);
        k.arg("kustomize").arg(tree.path());
        let out = run(k).expect("kubectl runs");
        assert!(out.status.success(), "Kustomize now refuses this too; drop the difference {name}");
    }
}

const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: b\n";

#[test]
fn unmatched_patch_target_is_an_error_unlike_kustomize() {
    refused_unlike_kustomize(
        "patch-target-matches-nothing",
        &[
            ("cm.yaml", CONFIGMAP),
            (
                "kustomization.yaml",
                "resources: [cm.yaml]\npatches:\n- target: {kind: Deployment, name: typo}\n  patch: |-\n    - op: add\n      path: /metadata/labels\n      value: {x: y}\n",
            ),
        ],
        &["kustomization.yaml", "kind=Deployment", "name=typo"],
    );
}

#[test]
fn unmatched_patch_target_is_allowed_in_a_component() {
    let tree = write_tree(&[
        ("cm.yaml", CONFIGMAP),
        ("kustomization.yaml", "resources: [cm.yaml]\ncomponents: [comp]\n"),
        (
            "comp/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- target: {kind: Deployment}\n  patch: |-\n    - op: add\n      path: /metadata/labels\n      value: {x: y}\n",
        ),
    ]);
    let mut ours = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"));
    ours.args(["render", "--overlay"]).arg(tree.path());
    let out = run(ours).expect("our binary runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_json_patch_that_makes_annotations_a_string_is_refused_unlike_kustomize() {
    refused_unlike_kustomize(
        "metadata-not-a-map",
        &[
            ("cm.yaml", CONFIGMAP),
            (
                "kustomization.yaml",
                "resources: [cm.yaml]\npatches:\n- target: {kind: ConfigMap}\n  patch: |-\n    - op: replace\n      path: /metadata/annotations\n      value: owned-by-ml\n",
            ),
        ],
        &["kustomization.yaml", "patches[0]", "ConfigMap/cfg", "`metadata.annotations` is a string"],
    );
}

#[test]
fn annotations_that_are_not_text_in_a_file_are_refused_unlike_kustomize() {
    refused_unlike_kustomize(
        "metadata-not-a-map",
        &[
            (
                "cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  annotations:\n    owner: {team: ml}\n",
            ),
            ("kustomization.yaml", "resources: [cm.yaml]\n"),
        ],
        &["cm.yaml", "ConfigMap/cfg", "annotation `owner` is a map"],
    );
}

#[test]
fn a_patch_directive_in_a_list_without_merge_key_is_refused_unlike_kustomize() {
    refused_unlike_kustomize(
        "patch-directive-in-unkeyed-list",
        &[
            (
                "widget.yaml",
                "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  items:\n  - {name: a, size: 1}\n  - {name: b, size: 2}\n",
            ),
            (
                "kustomization.yaml",
                "resources: [widget.yaml]\npatches:\n- patch: |-\n    apiVersion: example.com/v1\n    kind: Widget\n    metadata:\n      name: w\n    spec:\n      items:\n      - {name: a, $patch: delete}\n",
            ),
        ],
        &["kustomization.yaml", "Widget/w", "spec.items[0]"],
    );
}

#[test]
fn every_behaviour_difference_has_a_marker_and_a_reason() {
    for (name, marker, reason) in DELIBERATE_BEHAVIOUR_DIFFERENCES {
        assert!(!marker.is_empty() && reason.len() > 40, "{name}");
    }
}
