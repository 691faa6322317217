//! Bad input must fail cleanly: exit code 2, nothing on stdout, and one message on stderr that
//! names the file (and line), field, op index or resource at fault; never a panic or backtrace.
//!
//! Every case builds its own kustomization tree in a temporary directory and drives the real
//! binary, so what is tested is exactly what a user sees.

mod common;

mod support {
    pub use super::common::Outcome;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    /// Runs the binary with `args`, killing it if it hangs (see `common::KILL_AFTER`).
    pub fn run(args: &[&str]) -> Outcome {
        let child = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"))
            .args(args)
            // Would turn any panic into a loud backtrace, which the checks below look for.
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        super::common::finish(child, &format!("kubectl-dimtensor {}", args.join(" ")))
    }

    /// `render --overlay DIR` plus extra arguments.
    pub fn render_dir(dir: &Path, extra: &[&str]) -> Outcome {
        let dir = dir.display().to_string();
        let mut args = vec!["render", "--overlay", dir.as_str()];
        args.extend_from_slice(extra);
        run(&args)
    }

    /// A temporary tree of files given as (relative path, contents).
    pub fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (rel, text) in files {
            write(dir.path(), rel, text);
        }
        dir
    }

    pub fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("files live in a directory")).expect("mkdir");
        std::fs::write(path, text).expect("write a fixture file");
    }

    /// `root/rel` as the binary prints it.
    pub fn shown(root: &Path, rel: &str) -> String {
        let p: PathBuf = if rel.is_empty() { root.to_path_buf() } else { root.join(rel) };
        p.display().to_string()
    }

    /// Exit 2, empty stdout, one `error:` paragraph with every expected fragment, no panic.
    pub fn assert_clean_failure(o: &Outcome, expected: &[&str]) {
        assert_eq!(o.code, Some(2), "exit code; stderr:\n{}", o.stderr);
        assert!(o.stdout.is_empty(), "stdout must be empty, got:\n{}", o.stdout);
        assert!(o.stderr.starts_with("error: "), "stderr must start with `error: `, got:\n{}", o.stderr);
        for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
            assert!(!o.stderr.contains(bad), "stderr contains `{bad}`:\n{}", o.stderr);
        }
        for want in expected {
            assert!(o.stderr.contains(want), "stderr should mention `{want}`, got:\n{}", o.stderr);
        }
    }

    /// A Deployment named `app` with one container, no replicas.
    pub const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
        - name: app
          image: nginx
";

    /// A ConfigMap named `app`.
    pub const CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: app
data:
  a: \"1\"
";

    /// Nine levels of nine-fold alias expansion: 9^9 strings if expanded naively.
    pub const BILLION_LAUGHS: &str = r#"a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"#;
}

use support::*;

const RESOURCES_CM: &str = "resources:\n  - cm.yaml\n";

// ---------------------------------------------------------------------------------------------
// YAML syntax

#[test]
fn malformed_yaml_names_the_file_and_line() {
    let t = tree(&[
        ("kustomization.yaml", RESOURCES_CM),
        ("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: [a, b\nfoo: bar\n"),
    ]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "cm.yaml"), "line 6"]);
}

#[test]
fn malformed_kustomization_names_the_file_and_line() {
    let t = tree(&[("kustomization.yaml", "resources:\n  - a.yaml\n  b: [\n")]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "kustomization.yaml"), "line 3"]);
}

#[test]
fn tab_indentation_names_the_file_and_line() {
    let t = tree(&[
        ("kustomization.yaml", RESOURCES_CM),
        ("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: \"1\"\n\tb: \"2\"\n"),
    ]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "cm.yaml"), "line 7, column 1"]);
}

#[test]
fn tab_indentation_in_a_kustomization_names_the_file_and_line() {
    let t = tree(&[("kustomization.yaml", "resources:\n\t- cm.yaml\n"), ("cm.yaml", CONFIGMAP)]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "kustomization.yaml"), "line 2"]);
}

#[test]
fn tab_indentation_says_tab() {
    let t = tree(&[("kustomization.yaml", "resources:\n\t- cm.yaml\n"), ("cm.yaml", CONFIGMAP)]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &["line 2", "tab"]);
}

#[test]
fn duplicate_top_level_key_names_the_line_of_the_repeat() {
    let t = tree(&[
        ("kustomization.yaml", RESOURCES_CM),
        ("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\nkind: Secret\n"),
    ]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "cm.yaml"), "line 5", "duplicate", "\"kind\""]);
}

#[test]
fn duplicate_key_in_a_kustomization_names_the_line_of_the_repeat() {
    let t =
        tree(&[("kustomization.yaml", "resources:\n  - cm.yaml\nresources:\n  - cm.yaml\n"), ("cm.yaml", CONFIGMAP)]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "kustomization.yaml"), "line 3", "duplicate", "\"resources\""]);
}

const NESTED_DUPLICATE: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: \"1\"\n  b: \"2\"\n  a: \"3\"\n";

#[test]
fn duplicate_nested_key_names_the_file_the_mapping_and_the_key() {
    let t = tree(&[("kustomization.yaml", RESOURCES_CM), ("cm.yaml", NESTED_DUPLICATE)]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "cm.yaml"), "data", "duplicate", "\"a\""]);
}

#[test]
fn duplicate_nested_key_names_the_line_of_the_repeat() {
    let t = tree(&[("kustomization.yaml", RESOURCES_CM), ("cm.yaml", NESTED_DUPLICATE)]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "cm.yaml"), "line 8"]);
}

#[test]
fn document_that_is_not_a_mapping_names_the_file_and_document() {
    let t = tree(&[("kustomization.yaml", RESOURCES_CM), ("cm.yaml", "just a string\n")]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "cm.yaml"), "document 1", "not a mapping"]);
}

// ---------------------------------------------------------------------------------------------
// Hostile input: must fail, and fail in bounded time (the harness kills runs after 20 s).

fn deep_configmap(open: &str, leaf: &str, close: &str, depth: usize) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: {}{leaf}{}\n",
        open.repeat(depth),
        close.repeat(depth)
    )
}

#[test]
fn ten_thousand_nested_lists_are_refused() {
    let text = deep_configmap("[", "", "]", 10_000);
    let t = tree(&[("kustomization.yaml", RESOURCES_CM), ("cm.yaml", &text)]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "cm.yaml"), "line 5", "limit"]);
}

#[test]
fn ten_thousand_nested_maps_are_refused() {
    let text = deep_configmap("{a: ", "1", "}", 10_000);
    let t = tree(&[("kustomization.yaml", RESOURCES_CM), ("cm.yaml", &text)]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "cm.yaml"), "line 5", "limit"]);
}

#[test]
fn ten_thousand_nested_lists_in_a_kustomization_are_refused() {
    let text = format!("resources: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let t = tree(&[("kustomization.yaml", &text)]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "kustomization.yaml"), "line 1", "limit"]);
}

#[test]
fn block_nesting_past_the_depth_limit_is_refused() {
    // 110 block-style levels: under serde_yaml's own recursion limit, over ours (100).
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n");
    for i in 0..110 {
        text.push_str(&format!("{}k{i}:\n", " ".repeat(i + 1)));
    }
    let t = tree(&[("kustomization.yaml", RESOURCES_CM), ("cm.yaml", &text)]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "cm.yaml"), "nesting deeper than the limit of 100 levels"]);
}

/// The chart's training preset (read from the shared upstream chart, never copied) holds Python
/// in a block scalar, with brackets the YAML pre-scan must read as text.
#[test]
fn the_chart_training_preset_loads_despite_the_brackets_in_its_python() {
    let preset = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/upstream-chart/dimtensor/values-training.yaml");
    assert!(preset.is_file(), "the upstream chart's training preset is missing: looked for {}", preset.display());
    let o = run(&["render", "-f", preset.to_str().expect("utf-8 path")]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(o.stdout.contains("import torch") && o.stdout.contains("kind: Job"), "{}", o.stdout);
}

#[test]
fn alias_bomb_in_a_resource_is_refused() {
    let text = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\n{BILLION_LAUGHS}");
    let t = tree(&[("kustomization.yaml", RESOURCES_CM), ("cm.yaml", &text)]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "cm.yaml"), "alias bomb"]);
}

#[test]
fn alias_bomb_in_a_kustomization_is_refused() {
    let text = format!("{BILLION_LAUGHS}resources: []\n");
    let t = tree(&[("kustomization.yaml", &text)]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "kustomization.yaml"), "alias bomb"]);
}

#[test]
fn alias_bomb_message_names_a_real_line_and_aliases() {
    let text = format!("{BILLION_LAUGHS}resources: []\n");
    let t = tree(&[("kustomization.yaml", &text)]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &["alias"]);
    assert!(!o.stderr.contains("line 0"), "{}", o.stderr);
}

// ---------------------------------------------------------------------------------------------
// Resources and paths

#[test]
fn missing_resource_file_names_the_kustomization_field_and_entry() {
    let t = tree(&[("kustomization.yaml", "resources:\n  - nothere.yaml\n")]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(
        &o,
        &[&shown(t.path(), "kustomization.yaml"), "`resources`", "`nothere.yaml`", "does not exist"],
    );
}

#[test]
fn missing_patch_file_names_the_kustomization_field_and_entry() {
    let t = tree(&[
        ("kustomization.yaml", "resources:\n- dep.yaml\npatches:\n- path: nope.yaml\n"),
        ("dep.yaml", DEPLOYMENT),
    ]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "kustomization.yaml"), "`patches`", "`nope.yaml`", "does not exist"]);
}

#[test]
fn directory_without_kustomization_is_named() {
    let t = tree(&[("README.md", "nothing here\n")]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &["no kustomization.yaml", &shown(t.path(), "")]);
}

#[test]
fn unknown_overlay_name_lists_the_builtin_ones() {
    let o = run(&["render", "--overlay", "trainig"]);
    assert_clean_failure(&o, &["`trainig`", "inference", "training", "batch", "cronjob", "hint: "]);
}

#[test]
fn cyclic_resources_self_reference_is_refused() {
    let t = tree(&[("kustomization.yaml", "resources:\n  - .\n")]);
    let o = render_dir(t.path(), &[]);
    let dir = shown(t.path(), "");
    assert_clean_failure(&o, &["cycle", &format!("{dir} -> {dir}")]);
}

#[test]
fn cyclic_resources_a_b_a_is_refused_naming_the_chain() {
    let t =
        tree(&[("a/kustomization.yaml", "resources:\n  - ../b\n"), ("b/kustomization.yaml", "resources:\n  - ../a\n")]);
    let o = render_dir(&t.path().join("a"), &[]);
    let (a, b) = (shown(t.path(), "a"), shown(t.path(), "b"));
    assert_clean_failure(&o, &["cycle", &format!("{a} -> {b} -> {a}")]);
}

#[test]
fn resource_file_outside_the_root_is_refused() {
    let t = tree(&[("outside.yaml", CONFIGMAP), ("app/kustomization.yaml", "resources:\n  - ../outside.yaml\n")]);
    let o = render_dir(&t.path().join("app"), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "app/kustomization.yaml"), "`../outside.yaml`", "outside"]);
}

#[test]
fn same_resource_in_two_files_names_both() {
    let t = tree(&[
        ("kustomization.yaml", "resources:\n  - a.yaml\n  - b.yaml\n"),
        ("a.yaml", CONFIGMAP),
        ("b.yaml", CONFIGMAP),
    ]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &["ConfigMap/app", "twice", &shown(t.path(), "a.yaml"), &shown(t.path(), "b.yaml")]);
}

#[test]
fn same_resource_twice_in_one_file_names_it() {
    let text = format!("{CONFIGMAP}---\n{CONFIGMAP}");
    let t = tree(&[("kustomization.yaml", "resources:\n  - a.yaml\n"), ("a.yaml", &text)]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &["ConfigMap/app", "twice", &shown(t.path(), "a.yaml")]);
}

#[test]
fn document_without_metadata_name_names_the_file_and_document() {
    let text = format!("{CONFIGMAP}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {{x: y}}\n");
    let t = tree(&[("kustomization.yaml", RESOURCES_CM), ("cm.yaml", &text)]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "cm.yaml"), "document 2", "`metadata.name`"]);
}

#[test]
fn remote_resource_url_is_refused() {
    let url = "https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0";
    let t = tree(&[("kustomization.yaml", &format!("resources:\n  - {url}\n"))]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "kustomization.yaml"), url, "not supported"]);
}

#[test]
fn remote_resource_without_scheme_is_refused() {
    let url = "github.com/kubernetes-sigs/kustomize/examples/helloWorld?ref=v5.0.0";
    let t = tree(&[("kustomization.yaml", &format!("resources:\n  - {url}\n"))]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "kustomization.yaml"), url, "not supported"]);
}

#[test]
fn component_listed_as_a_resource_is_refused() {
    let t = tree(&[
        ("comp/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnamePrefix: c-\n"),
        ("top/kustomization.yaml", "resources:\n  - ../comp\n"),
    ]);
    let o = render_dir(&t.path().join("top"), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "top"), &shown(t.path(), "comp"), "Component", "`resources`"]);
}

// ---------------------------------------------------------------------------------------------
// Kustomization fields

#[test]
fn helm_charts_is_not_supported() {
    let t = tree(&[("kustomization.yaml", "resources: []\nhelmCharts:\n  - name: x\n")]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "kustomization.yaml"), "`helmCharts`", "not supported"]);
}

#[test]
fn vars_is_not_supported() {
    let t = tree(&[("kustomization.yaml", "resources: []\nvars:\n  - name: X\n")]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "kustomization.yaml"), "`vars`", "not supported"]);
}

#[test]
fn misspelled_field_suggests_the_right_one() {
    let t = tree(&[("kustomization.yaml", "resources: []\nnamePrefx: p-\n")]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(
        &o,
        &[&shown(t.path(), "kustomization.yaml"), "unknown field `namePrefx`", "did you mean `namePrefix`"],
    );
}

#[test]
fn wrong_type_for_a_field_names_the_file() {
    let t = tree(&[("kustomization.yaml", "resources: a.yaml\n")]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "kustomization.yaml"), "expected a sequence"]);
}

#[test]
fn kustomization_that_is_not_a_mapping_names_the_file() {
    let t = tree(&[("kustomization.yaml", "- a\n- b\n")]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "kustomization.yaml"), "mapping"]);
}

#[test]
fn generator_merge_with_nothing_to_merge_into_is_refused() {
    let t = tree(&[(
        "kustomization.yaml",
        "configMapGenerator:\n  - name: cfg\n    behavior: merge\n    literals:\n      - a=b\n",
    )]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(
        &o,
        &[&shown(t.path(), "kustomization.yaml"), "configMapGenerator `cfg`", "behavior", "ConfigMap/cfg"],
    );
}

#[test]
fn secret_generator_replace_with_nothing_to_replace_is_refused() {
    let t = tree(&[(
        "kustomization.yaml",
        "secretGenerator:\n  - name: s\n    behavior: replace\n    literals:\n      - a=b\n",
    )]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "kustomization.yaml"), "secretGenerator `s`", "behavior", "Secret/s"]);
}

// ---------------------------------------------------------------------------------------------
// Patches

fn with_deployment(kustomization: &str) -> tempfile::TempDir {
    tree(&[("kustomization.yaml", kustomization), ("dep.yaml", DEPLOYMENT)])
}

#[test]
fn json6902_target_matching_nothing_is_an_error() {
    // Kustomize ignores this; we refuse it so that a typo in a target cannot pass silently.
    let t = with_deployment(
        "resources:\n- dep.yaml\npatches:\n- target:\n    kind: Deployment\n    name: ap\n  patch: |-\n    - op: add\n      path: /spec/replicas\n      value: 2\n",
    );
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(
        &o,
        &[&shown(t.path(), "kustomization.yaml"), "patches[0]", "no resource matches", "kind=Deployment", "name=ap"],
    );
}

#[test]
fn strategic_merge_target_matching_nothing_is_an_error() {
    let t = with_deployment(
        "resources:\n- dep.yaml\npatches:\n- target:\n    kind: StatefulSet\n  patch: |-\n    apiVersion: apps/v1\n    kind: StatefulSet\n    metadata:\n      name: app\n    spec:\n      replicas: 2\n",
    );
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(
        &o,
        &[&shown(t.path(), "kustomization.yaml"), "patches[0]", "no resource matches", "kind=StatefulSet"],
    );
}

#[test]
fn untargeted_strategic_merge_naming_a_missing_resource_is_an_error() {
    let t = with_deployment(
        "resources:\n- dep.yaml\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: nope\n    spec:\n      replicas: 2\n",
    );
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(
        &o,
        &[&shown(t.path(), "kustomization.yaml"), "patches[0]", "no resource matches", "Deployment/nope"],
    );
}

#[test]
fn patches_strategic_merge_file_naming_a_missing_resource_names_the_patch_file() {
    let t = tree(&[
        ("kustomization.yaml", "resources:\n- dep.yaml\npatchesStrategicMerge:\n- patch.yaml\n"),
        ("dep.yaml", DEPLOYMENT),
        ("patch.yaml", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: app\nspec:\n  replicas: 2\n"),
    ]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "patch.yaml"), "no resource matches", "StatefulSet/app"]);
}

const OPS_SECOND_PATH_MISSING: &str =
    "- op: add\n  path: /spec/replicas\n  value: 2\n- op: replace\n  path: /spec/template/spec/nope/field\n  value: 1\n";

#[test]
fn json6902_missing_path_names_the_patch_file_and_op_index() {
    let t = tree(&[
        (
            "kustomization.yaml",
            "resources:\n- dep.yaml\npatches:\n- path: ops.yaml\n  target:\n    kind: Deployment\n    name: app\n",
        ),
        ("dep.yaml", DEPLOYMENT),
        ("ops.yaml", OPS_SECOND_PATH_MISSING),
    ]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(
        &o,
        &[&shown(t.path(), "ops.yaml"), "operation 1", "`replace`", "/spec/template/spec/nope/field", "Deployment/app"],
    );
}

#[test]
fn patches_json6902_missing_path_names_the_patch_file_and_op_index() {
    let t = tree(&[
        (
            "kustomization.yaml",
            "resources:\n- dep.yaml\npatchesJson6902:\n- path: ops.yaml\n  target:\n    group: apps\n    version: v1\n    kind: Deployment\n    name: app\n",
        ),
        ("dep.yaml", DEPLOYMENT),
        ("ops.yaml", OPS_SECOND_PATH_MISSING),
    ]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "ops.yaml"), "operation 1", "/spec/template/spec/nope/field"]);
}

#[test]
fn json6902_remove_past_the_end_of_a_list_names_the_op() {
    let t = with_deployment(
        "resources:\n- dep.yaml\npatches:\n- target:\n    kind: Deployment\n  patch: |-\n    - op: remove\n      path: /spec/template/spec/containers/5\n",
    );
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(
        &o,
        &[&shown(t.path(), "kustomization.yaml"), "patches[0]", "operation 0", "/spec/template/spec/containers/5"],
    );
}

#[test]
fn json6902_unknown_op_names_the_patch_file_op_index_and_op() {
    let t = tree(&[
        ("kustomization.yaml", "resources:\n- dep.yaml\npatches:\n- path: ops.yaml\n  target:\n    kind: Deployment\n"),
        ("dep.yaml", DEPLOYMENT),
        (
            "ops.yaml",
            "- op: add\n  path: /metadata/labels/x\n  value: y\n- op: frobnicate\n  path: /spec/replicas\n  value: 2\n",
        ),
    ]);
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "ops.yaml"), "operation 1", "`frobnicate`", "add, remove, replace"]);
}

#[test]
fn json6902_without_target_is_refused() {
    let t = with_deployment(
        "resources:\n- dep.yaml\npatches:\n- patch: |-\n    - op: add\n      path: /spec/replicas\n      value: 1\n",
    );
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "kustomization.yaml"), "patches[0]", "`target`"]);
}

#[test]
fn unknown_patch_directive_in_a_container_names_the_list_element() {
    let t = with_deployment(
        "resources:\n- dep.yaml\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: app\n    spec:\n      template:\n        spec:\n          containers:\n          - name: app\n            $patch: frobnicate\n",
    );
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(
        &o,
        &[
            &shown(t.path(), "kustomization.yaml"),
            "patches[0]",
            "Deployment/app",
            "spec.template.spec.containers[0]",
            "frobnicate",
        ],
    );
}

#[test]
fn unknown_patch_directive_in_a_map_names_the_field() {
    let t = with_deployment(
        "resources:\n- dep.yaml\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: app\n    spec:\n      template:\n        spec:\n          $patch: frobnicate\n          dnsPolicy: None\n",
    );
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(
        &o,
        &[&shown(t.path(), "kustomization.yaml"), "patches[0]", "spec.template.spec:", "frobnicate"],
    );
}

#[test]
fn unknown_patch_directive_at_the_top_level_is_refused() {
    let t = with_deployment(
        "resources:\n- dep.yaml\npatches:\n- patch: |-\n    $patch: frobnicate\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: app\n",
    );
    let o = render_dir(t.path(), &[]);
    assert_clean_failure(&o, &[&shown(t.path(), "kustomization.yaml"), "patches[0]", "top level", "frobnicate"]);
}

// ---------------------------------------------------------------------------------------------
// Command line

#[test]
fn invalid_release_name_is_refused() {
    let o = run(&["render", "Prod", "--overlay", "inference"]);
    assert_clean_failure(&o, &["invalid release name `Prod`", "lowercase"]);
}

#[test]
fn release_name_too_long_is_refused() {
    let name = "a".repeat(54);
    let o = run(&["render", &name, "--overlay", "inference"]);
    assert_clean_failure(&o, &[&format!("invalid release name `{name}`"), "53"]);
}

#[test]
fn unknown_output_format_is_a_usage_error() {
    let o = run(&["render", "--overlay", "inference", "-o", "xml"]);
    assert_clean_failure(&o, &["'xml'", "--output", "yaml, json"]);
}

// ---------------------------------------------------------------------------------------------
// Nothing to render

#[test]
fn an_empty_kustomization_is_refused_like_kustomize() {
    for text in ["", "# nothing yet\n", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"] {
        let t = tree(&[("kustomization.yaml", text)]);
        let o = render_dir(t.path(), &[]);
        assert_clean_failure(&o, &[&shown(t.path(), "kustomization.yaml"), "the kustomization is empty"]);
    }
}

#[test]
fn a_kustomization_that_makes_nothing_warns_but_succeeds_like_kustomize() {
    let t = tree(&[("kustomization.yaml", "namePrefix: dev-\n")]);
    let o = render_dir(t.path(), &[]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(o.stdout.is_empty(), "Kustomize prints nothing here: {}", o.stdout);
    assert!(o.stderr.starts_with("warning: ") && o.stderr.contains("renders nothing"), "{}", o.stderr);
    let o =
        render_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/01-resources-files-dirs"), &[]);
    assert!(o.stderr.is_empty(), "no warning when something renders: {}", o.stderr);
}
