//! Properties, checked on generated inputs (proptest):
//!
//! - strategic merge with an empty patch is the identity, with and without a schema;
//! - JSON 6902: `add` at an absent path, then `remove` there, gives the object back;
//! - rendering is deterministic: the same kustomization gives the same bytes, in process and
//!   through the binary;
//! - YAML we emit parses back to the same value, with our reader and with a YAML 1.1 reader
//!   (PyYAML's `safe_load`, as kubectl's Go YAML 1.1 libraries would read it): every string
//!   stays a string, however much it looks like a boolean, number, null or date;
//! - stable-toolchain fuzzing (`fuzz_*`): arbitrary text into the YAML reader, the kustomization
//!   parser, strategic merge and a whole build never panics. `FUZZ_CASES` sets how many cases
//!   (`scripts/fuzz.sh`); the cargo-fuzz targets in `fuzz/` do the same with coverage guidance.

use dimtensor::load::kustomization::Kustomization;
use dimtensor::load::MemFs;
use dimtensor::overlay::{schema, strategic_merge};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{json, Map, Value};
use std::path::Path;

// ---------------------------------------------------------------------------------------------
// Generators

/// Strings a YAML 1.1 or 1.2 reader could take for something else.
#[rustfmt::skip]
const TRICKY: &[&str] = &[
    "on", "off", "On", "OFF", "yes", "no", "Yes", "NO", "y", "n", "Y", "N", "true", "False", "TRUE", "~", "null",
    "Null", "NULL", "", " ", "012", "0644", "-0644", "08", "0o12", "0x1F", "0b101", "0b1010_0111", "0x_0A_74_AE",
    "02472256", "1e3", "1E3", "-1e3", "1.0e+3", "6.8523015e+5", "685.230_15e+03", ".5", "-.5", "+.5", "1.", "0.",
    "1_000", "+685_230", "1__0", "12:30", "1:20:30", "-12:30", "190:20:30.15", "2001-12-14",
    "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", ".inf", "-.inf", ".NaN", ".nan", "+1", "-0", "0",
    "00", "1,000", "#comment", "a #b", "a: b", "a:b", "- a", "-", "--", "---", "...", "? x", "?", "[a]", "{a}", "&a",
    "*a", "!tag", "!!str", "%YAML", "@x", "`x", "|", "|-", ">", "'quoted'", "\"dq\"", "<<", "=", "a\nb", "\ttab",
    " lead", "trail ", "\\", "\u{feff}bom", "é", "日本", "🦀", "\u{7f}", "\u{85}next", "\u{2028}", "a\r\nb", "\u{0}nul",
    "\u{1b}[0m", "1.10", "4.2.0", "v1", "*", "&", ":", "::", "- ", "# ", "'", "\"",
];

/// DEL, the C1 controls, U+FFFE/U+FFFF (not printable in YAML) and NEL, U+2028, U+2029 (line
/// breaks to a YAML reader): the emitter writes them unescaped inside double quotes, so they do not
/// come back (see `yaml_round_trips_strings_with_non_printable_characters`, ignored as a bug).
fn emitted_raw_but_not_printable(c: char) -> bool {
    matches!(c as u32, 0x7f..=0x9f | 0x2028 | 0x2029 | 0xfffe | 0xffff)
}

/// `0755#2`: the reader's YAML 1.1 octal rewrite takes `#` without a space before it for a comment
/// and reads the string `0755#2` as `493#2` (see `yaml_reader_keeps_leading_zero_then_hash`).
fn octal_rewrite_corrupts(s: &str) -> bool {
    let digits = s.trim_start_matches(['-', '+']);
    digits.len() > 1
        && digits.starts_with('0')
        && digits.trim_start_matches(|c: char| ('0'..='7').contains(&c)).starts_with('#')
}

/// Tricky strings, less the ones that hit the two known bugs above (each has its own ignored test).
fn tricky_string() -> impl Strategy<Value = String> {
    tricky_string_any()
        .prop_map(|s| s.chars().filter(|c| !emitted_raw_but_not_printable(*c)).collect::<String>())
        .prop_filter("hits the octal-rewrite bug", |s| !octal_rewrite_corrupts(s))
}

fn tricky_string_any() -> impl Strategy<Value = String> {
    let chars = prop_oneof![
        4 => prop::sample::select(vec![
            ' ', ':', '#', '-', '?', '[', ']', '{', '}', ',', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`',
            '\n', '\t', '.', '_', '~', '\\', '+', '=', '<', '0', '1', '7', '9', 'e', 'x', 'o', 'n', 'y', 'a',
        ]),
        1 => any::<char>(),
    ];
    prop_oneof![
        3 => prop::sample::select(TRICKY).prop_map(str::to_string),
        3 => prop::collection::vec(chars, 0..10).prop_map(String::from_iter),
        1 => "[a-z][a-z0-9-]{0,8}",
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        tricky_string().prop_map(Value::String),
    ]
}

/// Any JSON value, a few levels deep, with tricky strings and keys.
fn any_json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((tricky_string(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn string_map() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-z]([a-z0-9.-]{0,6}/)?[a-z0-9]{1,6}", tricky_string(), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect()))
}

/// Names from a small set, so that lists keyed by name hold duplicates now and then.
fn small_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "c", "app", "web"]).prop_map(str::to_string)
}

fn container() -> impl Strategy<Value = Value> {
    let port = (1..65535i64, prop::sample::select(vec!["TCP", "UDP"]), proptest::option::of(small_name())).prop_map(
        |(p, proto, name)| {
            let mut v = json!({"containerPort": p, "protocol": proto});
            if let Some(n) = name {
                v["name"] = json!(n);
            }
            v
        },
    );
    let env = (small_name(), tricky_string()).prop_map(|(n, v)| json!({"name": n, "value": v}));
    (
        proptest::option::of(small_name()),
        "[a-z]{1,8}(:[0-9.]{1,6})?",
        prop::collection::vec(port, 0..3),
        prop::collection::vec(env, 0..3),
        prop::collection::vec(tricky_string(), 0..3),
        proptest::option::of(any_json()),
    )
        .prop_map(|(name, image, ports, env, args, extra)| {
            let mut c = json!({"image": image, "ports": ports, "env": env, "args": args});
            if let Some(n) = name {
                c["name"] = json!(n); // sometimes missing: an element without its merge key
            }
            if let Some(x) = extra {
                c["x-extra"] = x;
            }
            c
        })
}

fn pod_template() -> impl Strategy<Value = Value> {
    let toleration = (tricky_string(), prop::sample::select(vec!["Equal", "Exists"]))
        .prop_map(|(k, op)| json!({"key": k, "operator": op, "effect": "NoSchedule"}));
    let volume = small_name().prop_map(|n| json!({"name": n, "emptyDir": {}}));
    (
        string_map(),
        prop::collection::vec(container(), 1..3),
        prop::collection::vec(volume, 0..3),
        prop::collection::vec(toleration, 0..2),
        string_map(),
    )
        .prop_map(|(labels, containers, volumes, tolerations, node_selector)| {
            json!({
                "metadata": {"labels": labels},
                "spec": {"containers": containers, "volumes": volumes, "tolerations": tolerations, "nodeSelector": node_selector},
            })
        })
}

/// A Deployment, Job, Service or ConfigMap with generated contents: (apiVersion, kind, object).
fn k8s_object() -> impl Strategy<Value = (String, String, Value)> {
    let meta = || {
        ("[a-z][a-z0-9-]{0,10}", string_map(), string_map())
            .prop_map(|(name, labels, annotations)| json!({"name": name, "labels": labels, "annotations": annotations}))
    };
    let deployment = (meta(), 0..10i64, string_map(), pod_template()).prop_map(|(m, r, sel, t)| {
        (
            "apps/v1",
            "Deployment",
            json!({"metadata": m, "spec": {"replicas": r, "selector": {"matchLabels": sel}, "template": t}}),
        )
    });
    let job = (meta(), pod_template(), any::<bool>())
        .prop_map(|(m, t, s)| ("batch/v1", "Job", json!({"metadata": m, "spec": {"suspend": s, "template": t}})));
    let service = (meta(), prop::collection::vec((small_name(), 1..65535i64), 0..3)).prop_map(|(m, ports)| {
        let ports: Vec<Value> = ports.into_iter().map(|(n, p)| json!({"name": n, "port": p})).collect();
        ("v1", "Service", json!({"metadata": m, "spec": {"ports": ports}}))
    });
    let configmap = (meta(), string_map()).prop_map(|(m, d)| ("v1", "ConfigMap", json!({"metadata": m, "data": d})));
    (prop_oneof![deployment, job, service, configmap], proptest::option::of(any_json())).prop_map(
        |((a, k, mut o), extra)| {
            o["apiVersion"] = json!(a);
            o["kind"] = json!(k);
            if let Some(x) = extra {
                o["spec"]["x-unknown"] = x;
            }
            (a.to_string(), k.to_string(), o)
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Strategic merge and JSON 6902

proptest! {
    #![proptest_config(config(256))]
    #[test]
    fn strategic_merge_with_an_empty_patch_is_the_identity((api, kind, obj) in k8s_object()) {
        for schema in [schema::for_kind(&api, &kind), None] {
            let mut merged = obj.clone();
            strategic_merge::merge(&mut merged, &json!({}), schema)
                .map_err(|e| TestCaseError::fail(format!("empty patch refused: {e}")))?;
            prop_assert_eq!(&merged, &obj, "schema: {}", schema.is_some());
        }
    }

    #[test]
    fn strategic_merge_with_an_empty_patch_is_the_identity_on_any_json(v in any_json()) {
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": v});
        for schema in [schema::for_kind("apps/v1", "Deployment"), None] {
            let mut merged = obj.clone();
            strategic_merge::merge(&mut merged, &json!({}), schema)
                .map_err(|e| TestCaseError::fail(format!("empty patch refused: {e}")))?;
            prop_assert_eq!(&merged, &obj);
        }
    }

    #[test]
    fn json6902_add_then_remove_round_trips(
        (_, _, obj) in k8s_object(),
        pick in any::<prop::sample::Index>(),
        key in tricky_string(),
        index in any::<prop::sample::Index>(),
        value in any_json(),
    ) {
        let places = places(&obj, String::new());
        let (at, node) = &places[pick.index(places.len())];
        let path = match node {
            Value::Object(m) => {
                prop_assume!(!m.contains_key(&key));
                format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"))
            }
            Value::Array(a) => format!("{at}/{}", index.index(a.len() + 1)),
            _ => unreachable!("places holds containers only"),
        };
        let ops: json_patch::Patch = serde_json::from_value(json!([
            {"op": "add", "path": path, "value": value},
            {"op": "remove", "path": path},
        ])).expect("a well-formed patch");
        let mut patched = obj.clone();
        json_patch::patch(&mut patched, &ops).map_err(|e| TestCaseError::fail(format!("{path}: {e}")))?;
        prop_assert_eq!(&patched, &obj, "path {}", path);
    }
}

/// Every map and list in `v`, with its JSON pointer.
fn places(v: &Value, at: String) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    match v {
        Value::Object(m) => {
            out.push((at.clone(), v.clone()));
            for (k, child) in m {
                out.extend(places(child, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"))));
            }
        }
        Value::Array(a) => {
            out.push((at.clone(), v.clone()));
            for (i, child) in a.iter().enumerate() {
                out.extend(places(child, format!("{at}/{i}")));
            }
        }
        _ => {}
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Rendering is deterministic

/// A kustomization exercising hashing, name references, labels, images and both patch kinds.
fn kustomization_tree() -> impl Strategy<Value = Vec<(String, String)>> {
    let label_value = "[a-z0-9]([a-z0-9.-]{0,8}[a-z0-9])?";
    (
        prop::collection::btree_map("[a-z][a-z0-9]{0,6}", label_value, 1..4),
        proptest::option::of("[a-z]{1,5}-"),
        prop::collection::btree_map("[a-z][a-z0-9]{0,6}", "[ -~]{0,12}", 1..5),
        prop::collection::btree_map("[A-Z][A-Z0-9_]{0,6}", "[a-zA-Z0-9]{0,8}", 1..4),
        1..4usize,
        "[0-9]\\.[0-9]{1,2}",
    )
        .prop_map(|(labels, prefix, data, literals, extra_maps, tag)| {
            let mut k = String::from("resources:\n- dep.yaml\n- cms.yaml\n");
            if let Some(p) = prefix {
                k.push_str(&format!("namePrefix: {p}\n"));
            }
            k.push_str("commonLabels:\n");
            for (key, v) in &labels {
                k.push_str(&format!("  {key}: \"{v}\"\n"));
            }
            k.push_str("configMapGenerator:\n- name: gen\n  literals:\n");
            for (key, v) in &literals {
                k.push_str(&format!("  - {key}={v}\n"));
            }
            k.push_str(&format!("images:\n- name: nginx\n  newTag: \"{tag}\"\n"));
            k.push_str("patches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: app\n    spec:\n      template:\n        metadata:\n          annotations:\n            touched: \"yes\"\n");
            k.push_str("- target:\n    kind: Deployment\n  patch: |-\n    - op: add\n      path: /spec/replicas\n      value: 2\n");
            let data_yaml = dimtensor::yaml::to_yaml(&json!({"data": data}));
            let mut cms = String::new();
            for i in 0..extra_maps {
                cms.push_str(&format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm{i}\n{data_yaml}"));
            }
            let dep = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  selector:\n    matchLabels: {app: app}\n  template:\n    metadata:\n      labels: {app: app}\n    spec:\n      containers:\n      - name: app\n        image: nginx\n        envFrom:\n        - configMapRef: {name: gen}\n        - configMapRef: {name: cm0}\n";
            vec![("kustomization.yaml".into(), k), ("dep.yaml".into(), dep.into()), ("cms.yaml".into(), cms)]
        })
}

fn render_in_process(dir: &Path) -> Result<String, String> {
    let req = dimtensor::render::Request { overlay: Some(dir.display().to_string()), ..Default::default() };
    let rendered = dimtensor::render::render(&req).map_err(|e| e.to_string())?;
    Ok(dimtensor::yaml::to_yaml_stream(rendered.resources.iter().map(|r| r.body())))
}

proptest! {
    #![proptest_config(config(24))]
    #[test]
    fn render_is_deterministic(files in kustomization_tree()) {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in &files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        let first = render_in_process(dir.path()).map_err(TestCaseError::fail)?;
        let second = render_in_process(dir.path()).map_err(TestCaseError::fail)?;
        prop_assert_eq!(&first, &second);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"))
            .args(["render", "--overlay"])
            .arg(dir.path())
            .output()
            .expect("the binary runs");
        prop_assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        prop_assert_eq!(String::from_utf8_lossy(&out.stdout), first);
    }
}

// ---------------------------------------------------------------------------------------------
// YAML round trips

proptest! {
    #![proptest_config(config(512))]
    #[test]
    fn yaml_emit_then_parse_round_trips(inner in any_json()) {
        // Documents are mappings; a top-level multi-line string is a known bug of its own.
        let v = json!({"v": inner});
        let text = dimtensor::yaml::to_yaml(&v);
        let back = dimtensor::yaml::parse_value(&text, "emitted")
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- emitted:\n{text}")))?;
        prop_assert_eq!(&back, &v, "emitted:\n{}", text);
    }

    #[test]
    fn yaml_stream_round_trips((_, _, a) in k8s_object(), (_, _, b) in k8s_object()) {
        let text = dimtensor::yaml::to_yaml_stream([&a, &b]);
        let back = dimtensor::yaml::parse_documents(&text, "emitted")
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- emitted:\n{text}")))?;
        prop_assert_eq!(back, vec![a, b], "emitted:\n{}", text);
    }
}

/// A ConfigMap value holding a DEL or a U+2028 is ordinary data; it must survive a render.
#[test]
fn yaml_round_trips_strings_with_non_printable_characters() {
    let mut wrong = Vec::new();
    // U+FFFE and U+FFFF are non-characters: libyaml (and so serde_yaml, our reader) refuses them
    // even escaped, so no YAML stream can carry them; they are left out here.
    let representable = |c: &char| !matches!(*c as u32, 0xfffe | 0xffff);
    for c in
        (0u32..0x110000).filter_map(char::from_u32).filter(|c| emitted_raw_but_not_printable(*c)).filter(representable)
    {
        let v = json!({"data": {"a": format!("x{c}y"), "b": format!("{c}")}});
        let text = dimtensor::yaml::to_yaml(&v);
        match dimtensor::yaml::parse_value(&text, "emitted") {
            Ok(back) if back == v => {}
            Ok(back) => wrong.push(format!("U+{:04X}: came back as {back}", c as u32)),
            Err(e) => wrong.push(format!("U+{:04X}: {e}", c as u32)),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn yaml_reader_keeps_leading_zero_then_hash() {
    for s in ["0755#2", "00#x", "-012#", "0#"] {
        let v = dimtensor::yaml::parse_value(&format!("a: {s}\n"), "t").expect("parses");
        assert_eq!(v, json!({"a": s}), "plain scalar {s:?}");
    }
    assert_eq!(dimtensor::yaml::parse_value("a: 0644 # mode\n", "t").expect("parses"), json!({"a": 420}));
}

#[test]
fn yaml_round_trips_a_top_level_multi_line_string() {
    for s in ["a\nb", ":\n", "x\n\ny\n"] {
        let text = dimtensor::yaml::to_yaml(&json!(s));
        let back = dimtensor::yaml::parse_value(&text, "emitted").unwrap_or_else(|e| panic!("{s:?}: {e}\n{text}"));
        assert_eq!(back, json!(s));
    }
}

/// The interpreter for the YAML 1.1 check: `DIMTENSOR_PYTHON`, else `python3`.
fn python() -> String {
    std::env::var("DIMTENSOR_PYTHON").unwrap_or_else(|_| "python3".into())
}

const PYYAML_TYPES: &str = r#"
import json, sys, yaml
doc = yaml.safe_load(sys.stdin.read())
def shape(x):
    return [type(x).__name__, x if isinstance(x, str) else repr(x)]
print(json.dumps({"values": [shape(v) for v in doc["values"]], "keys": [shape(k) for k in doc["keys"]]}))
"#;

/// Every string we emit, as value and as key, reads back as the same string in PyYAML
/// (YAML 1.1: `on` is a boolean there, `012` octal, `12:30` sexagesimal, `2001-12-14` a date).
#[test]
fn emitted_strings_stay_strings_for_a_yaml_1_1_reader() {
    let py = python();
    let usable = std::process::Command::new(&py).args(["-c", "import yaml"]).output().is_ok_and(|o| o.status.success());
    if !usable {
        let why = format!("`{py} -c 'import yaml'` failed: python3 with PyYAML is needed for the YAML 1.1 check");
        assert!(std::env::var_os("CI").is_none(), "{why} (CI is set, so this fails instead of skipping)");
        eprintln!("skipped: {why}");
        return;
    }
    let printable = |s: &&&str| !s.chars().any(emitted_raw_but_not_printable);
    let mut strings: Vec<String> = TRICKY.iter().filter(printable).map(|s| s.to_string()).collect();
    let mut runner = TestRunner::new(RunnerConfig::default());
    let strategy = tricky_string();
    for _ in 0..600 {
        strings.push(strategy.new_tree(&mut runner).expect("a value").current());
    }
    let mut seen = std::collections::HashSet::new();
    strings.retain(|s| seen.insert(s.clone()));
    let keys: Map<String, Value> = strings.iter().enumerate().map(|(i, s)| (s.clone(), json!(i))).collect();
    let doc = json!({"values": strings, "keys": keys});
    let text = dimtensor::yaml::to_yaml(&doc);

    let mut child = std::process::Command::new(&py)
        .args(["-c", PYYAML_TYPES])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python starts");
    let mut stdin = child.stdin.take().expect("piped");
    let feed = text.clone();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, feed.as_bytes()));
    let out = child.wait_with_output().expect("python finishes");
    writer.join().expect("writer thread").expect("python read the document");
    assert!(
        out.status.success(),
        "PyYAML could not read what we emitted: {}\n--- emitted:\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).expect("JSON from python");
    let mut wrong = Vec::new();
    for (i, s) in strings.iter().enumerate() {
        if got["values"][i] != json!(["str", s]) {
            wrong.push(format!("value {s:?} came back as {}", got["values"][i]));
        }
        if got["keys"][i] != json!(["str", s]) {
            wrong.push(format!("key {s:?} came back as {}", got["keys"][i]));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} strings changed for a YAML 1.1 reader:\n{}",
        wrong.len(),
        strings.len(),
        wrong.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Fuzzing on the stable toolchain: never panic

fn fuzz_config() -> ProptestConfig {
    let cases = std::env::var("FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// No regression files written into the source tree: a failure prints its minimal input.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// What kustomizations and patches are made of, for [`yamlish`].
#[rustfmt::skip]
const YAMLISH_TOKENS: &[&str] = &[
    "resources:", "patches:", "- ", "  ", "\n", "path: ", "patch: |-\n    ", "target:", "kind: Deployment",
    "apiVersion: apps/v1", "metadata:", "name: app", "spec:", "containers:", "$patch: delete", "$patch: replace",
    "$retainKeys: [a]", "$setElementOrder/containers: [{name: app}]", "$deleteFromPrimitiveList/args: [x]", "op: add",
    "op: remove", "value: ", "/spec/replicas", "{", "}", "[", "]", ", ", ": ", "&a ", "*a", "!!str ", "\"", "'", "#",
    "---\n", "null", "~", "0644", "yes", "1.10", "\t", "commonLabels:", "namePrefix: x-", "configMapGenerator:",
    "literals: [a=b]", "images:", "newTag: 1", "replicas:", "count: 2", "components:", "replacements:", "source:",
    "fieldPath: spec.replicas", "fieldPaths: [metadata.name]", "select:",
];

/// Text that looks enough like a kustomization or a patch to get past the first checks.
fn yamlish() -> impl Strategy<Value = String> {
    let token = prop::sample::select(YAMLISH_TOKENS);
    prop_oneof![
        prop::collection::vec(token, 0..40).prop_map(|t| t.concat()),
        ".{0,200}",
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  selector:\n    matchLabels: {app: app}\n  template:\n    metadata:\n      labels: {app: app}\n    spec:\n      containers:\n      - name: app\n        image: nginx\n        args: [a, b]\n        ports:\n        - containerPort: 80\n";

fn deployment() -> Value {
    dimtensor::yaml::parse_value(DEPLOYMENT, "deployment").expect("a valid Deployment")
}

/// Feeds one input to every parser and the strategic merge; only a panic fails.
fn fuzz_one(text: &str) {
    let Ok(docs) = dimtensor::yaml::parse_documents(text, "fuzz") else { return };
    for doc in docs {
        let _ = Kustomization::from_value(doc.clone());
        for schema in [schema::for_kind("apps/v1", "Deployment"), None] {
            let mut target = deployment();
            let _ = strategic_merge::merge(&mut target, &doc, schema);
        }
    }
}

proptest! {
    #![proptest_config(fuzz_config())]
    #[test]
    fn fuzz_parsers_and_merge_never_panic(text in yamlish()) {
        fuzz_one(&text);
    }

    #[test]
    fn fuzz_merge_with_generated_patches_never_panics(patch in any_json(), (api, kind, obj) in k8s_object()) {
        for schema in [schema::for_kind(&api, &kind), None] {
            let mut target = obj.clone();
            let _ = strategic_merge::merge(&mut target, &patch, schema);
            let mut target = deployment();
            let _ = strategic_merge::merge(&mut target, &json!({"spec": {"template": {"spec": patch.clone()}}}), schema::for_kind("apps/v1", "Deployment"));
        }
        let _ = Kustomization::from_value(patch);
    }

    #[test]
    fn fuzz_whole_builds_never_panic(kustomization in yamlish(), patch in yamlish()) {
        let mut fs = MemFs::new();
        fs.insert("/k/kustomization.yaml", kustomization);
        fs.insert("/k/dep.yaml", DEPLOYMENT);
        let _ = dimtensor::overlay::build(&fs, Path::new("/k"));
        let indented: String = patch.lines().map(|l| format!("    {l}\n")).collect();
        let mut fs = MemFs::new();
        fs.insert("/k/kustomization.yaml", format!("resources: [dep.yaml]\npatches:\n- target: {{kind: Deployment}}\n  patch: |-\n{indented}"));
        fs.insert("/k/dep.yaml", DEPLOYMENT);
        fs.insert("/k/patch.yaml", patch);
        let _ = dimtensor::overlay::build(&fs, Path::new("/k"));
    }
}
