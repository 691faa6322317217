//! The fast reader must read what it accepts exactly as serde_yaml does: checked on hand-picked
//! texts, on every YAML file of the repository and the shared chart, and on generated texts.

use super::parse;
use crate::yaml::read_with_serde_yaml;
use serde_json::json;
use std::path::Path;

/// Asserts the two readers agree whenever the fast one accepts `text`; returns whether it did.
fn agree(text: &str) -> bool {
    let Some(fast) = parse(text) else { return false };
    match read_with_serde_yaml(text, "t") {
        Ok(slow) => assert_eq!(fast, slow, "the readers differ on:\n{text}"),
        Err(e) => panic!("the fast reader accepted what serde_yaml refuses ({e}):\n{text}"),
    }
    true
}

#[test]
fn reads_the_yaml_of_manifests() {
    let text = r#"# a comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # trailing comment
  labels: {app: web, "tier": 'front'}
  annotations:
    note: "tab\tand \u00e9 and \"quotes\""
    single: 'it''s'
spec:
  replicas: 3
  ratio: 0.5
  big: 0x1F
  none: ~
  empty:
  selector:
    matchLabels:
      app: web
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.25
        args: ["--port", "8080", -v]
        env:
          - name: A
            value: "1"
          -
            name: B
        command:
        - sh
        - -c
        - |
          echo one

          echo two
      volumes: []
---
--- # empty documents are skipped
kind: ConfigMap
data:
  folded: >-
    one
    two

    three
  kept: |-
    x
"#;
    assert!(agree(text), "the fast reader gave up on an ordinary manifest");
    let docs = parse(text).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["spec"]["template"]["spec"]["containers"][0]["command"][2], json!("echo one\n\necho two\n"));
    assert_eq!(docs[1]["data"]["folded"], json!("one two\nthree"));
}

#[test]
fn gives_up_on_yaml_beyond_its_part() {
    for text in [
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "%YAML 1.2\n---\na: 1\n",
        "? a\n: b\n",
        "a: one\n  two\n",
        "a: \"one\n  two\"\n",
        "a:\n\tb: 1\n",
        "a: 1\r\n",
        "a: 1\na: 2\n",
        "a: |+\n  x\n\n",
        "a: |2\n   x\n",
        "a: |\n  x",
        "a: [1,\n  2]\n",
        "a: b: c\n",
        "a: - b\n",
        "a: .nan\n",
        "a: 18446744073709551616\n",
        "--- a\n",
        "a: 1\n...\n",
        "\u{feff}a: 1\n",
    ] {
        assert!(parse(text).is_none(), "the fast reader should leave this to serde_yaml: {text:?}");
    }
}

#[test]
fn agrees_on_every_yaml_file_here() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["base", "overlays", "examples", "tests", "packaging", "schema", "../shared"] {
        collect(&root.join(dir), &mut files);
    }
    let (mut read, mut builtin, mut builtin_read) = (0, 0, 0);
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        let accepted = agree(&text);
        read += accepted as usize;
        if file.starts_with(root.join("base")) || file.starts_with(root.join("overlays")) {
            builtin += 1;
            builtin_read += accepted as usize;
        }
    }
    assert!(files.len() > 100, "found only {} YAML files", files.len());
    assert_eq!(builtin_read, builtin, "every built-in base and overlay file is in the fast reader's part");
    assert!(read * 2 > files.len(), "the fast reader read only {read} of {} files", files.len());
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && !path.ends_with("target") {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json") {
            out.push(path);
        }
    }
}

#[test]
fn agrees_on_generated_texts() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let (mut accepted, mut valid) = (0, 0);
    const CASES: usize = 20_000;
    for _ in 0..CASES {
        let mut text = String::new();
        for d in 0..=g.below(2) {
            if d > 0 || g.below(4) == 0 {
                text.push_str(g.pick(&["---\n", "--- # c\n", "--- a\n", "...\n", "---\n\n"]));
            }
            g.node(&mut text, 0, 0);
        }
        accepted += agree(&text) as usize;
        valid += read_with_serde_yaml(&text, "t").is_ok() as usize;
    }
    // Most valid texts stay within the part, so the comparison means something.
    assert!(accepted * 2 > valid, "the fast reader read only {accepted} of the {valid} valid texts");
}

/// A seeded xorshift generator of YAML texts: common shapes with scalars that sit on the edges
/// of YAML's rules, odd indentation, comments and blank lines.
struct Gen(u64);

const SCALARS: &[&str] = &[
    "a",
    "hello world",
    "1",
    "-1",
    "+1",
    "0",
    "00",
    "007",
    "0x1F",
    "0o17",
    "0b101",
    "-0x1F",
    "1e3",
    "1.5",
    ".5",
    "5.",
    "-.inf",
    ".nan",
    "~",
    "null",
    "Null",
    "true",
    "False",
    "yes",
    "on",
    "12:30",
    "2024-01-01",
    "1_000",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "a: b",
    "a #b",
    "a#b",
    "a: #b",
    "a:  #b",
    "a #b: c",
    "a:b #c",
    "x:",
    "-",
    "- a",
    "-x",
    "?",
    "? a",
    ":",
    ": a",
    "[a, b]",
    "[]",
    "{}",
    "{a: 1}",
    "[a, [b, c]]",
    "{a: [1, 2], b: {c: d}}",
    "[a,]",
    "[a, , b]",
    "{\"a\": 1}",
    "{\"a\":1}",
    "{'a': 1, a: 2}",
    "{a: 1, a: 2}",
    "[-1, +2, 0x3, 'x', \"y\"]",
    "\"dq\"",
    "\"esc \\n \\t \\\\ \\\" \\x41 \\u00e9 \\U0001F600 \\/ \\e\"",
    "\"bad \\q\"",
    "\"\\x4\"",
    "'it''s'",
    "'a' b",
    "\"a\"#c",
    "'unterminated",
    "\"unterminated",
    "é",
    "日本",
    "%x",
    "@x",
    "`x",
    "&a x",
    "*a",
    "!tag x",
    "!!str 1",
    "http://x:80/p",
    "a  b",
    "trailing  ",
    "#notcomment",
    "|",
    ">",
    "| x",
    "[a]#c",
    "[a] # c",
    "'' ",
    "\"\"",
    "<<",
    "=",
    "0.0.1",
    "1.10",
    "+.5",
    "-",
    "--",
    "---x",
    "a\u{85}b",
    "a\u{a0}b",
];
/// What most files hold; the generator takes these three times in four.
const COMMON_SCALARS: &[&str] = &[
    "a",
    "hello world",
    "1",
    "-1",
    "0",
    "1.5",
    "true",
    "null",
    "~",
    "nginx:1.25",
    "http://x:80/p",
    "[a, b]",
    "[]",
    "{}",
    "{a: 1}",
    "\"dq\"",
    "'it''s'",
    "é",
    "500m",
    "8Gi",
    "-Xmx1g",
    "a#b",
    "\"\"",
    "''",
];
const COMMON_KEYS: &[&str] = &["a", "b", "name", "app.kubernetes.io/name", "\"q\"", "'s'", "1", "b c", "x-y"];
const KEYS: &[&str] = &[
    "a", "b", "name", "b c", "1", "0x1F", "true", "~", "null", "-x", "a:b", "\"q\"", "'s'", "\"a b\"", "k#x", "1.5",
    "007", "é", "<<", "a ", "?x", "[a]", "a,b", "\"q\"x", "'s':x", "-1", "+1", "",
];

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % (n + 1)
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.next() as usize % from.len()]
    }
    fn scalar(&mut self) -> &'static str {
        match self.below(3) {
            0 => self.pick(SCALARS),
            _ => self.pick(COMMON_SCALARS),
        }
    }
    fn key(&mut self) -> &'static str {
        match self.below(3) {
            0 => self.pick(KEYS),
            _ => self.pick(COMMON_KEYS),
        }
    }
    /// Sometimes an indentation off by one, so that errors are generated too.
    fn indent(&mut self, base: usize) -> usize {
        match self.below(80) {
            0 => base + 1,
            1 if base > 0 => base - 1,
            _ => base,
        }
    }
    fn line_end(&mut self, text: &mut String) {
        match self.below(12) {
            0 => text.push_str(" # note"),
            1 => text.push_str("   "),
            _ => {}
        }
        text.push('\n');
        match self.below(15) {
            0 => text.push('\n'),
            1 => text.push_str("# a comment\n"),
            2 => text.push_str("   \n"),
            _ => {}
        }
    }
    fn node(&mut self, text: &mut String, indent: usize, depth: usize) {
        match self.below(if depth > 4 { 0 } else { 3 }) {
            0 | 1 => self.mapping(text, indent, depth),
            2 => self.sequence(text, indent, depth),
            _ => {
                text.push_str(&" ".repeat(indent));
                text.push_str(self.scalar());
                self.line_end(text);
            }
        }
    }
    fn mapping(&mut self, text: &mut String, indent: usize, depth: usize) {
        for _ in 0..=self.below(3) {
            let at = self.indent(indent);
            text.push_str(&" ".repeat(at));
            text.push_str(self.key());
            text.push(':');
            self.value(text, at, depth, true);
        }
    }
    fn sequence(&mut self, text: &mut String, indent: usize, depth: usize) {
        for _ in 0..=self.below(3) {
            let at = self.indent(indent);
            text.push_str(&" ".repeat(at));
            text.push('-');
            match self.below(5) {
                // A compact mapping: `- k: v` and its other keys under `k`.
                0 if depth < 5 => {
                    let pad = 1 + self.below(2) as usize;
                    text.push_str(&" ".repeat(pad));
                    text.push_str(self.key());
                    text.push(':');
                    self.value(text, at + 1 + pad, depth + 1, true);
                    if self.below(1) == 0 {
                        self.mapping(text, at + 1 + pad, depth + 1);
                    }
                }
                1 if depth < 5 => {
                    text.push(' ');
                    let mut inner = String::new();
                    self.sequence(&mut inner, at + 2, depth + 1);
                    text.push_str(inner.trim_start_matches(' '));
                }
                _ => self.value(text, at, depth, false),
            }
        }
    }
    /// What follows `key:` or `-`.
    fn value(&mut self, text: &mut String, indent: usize, depth: usize, in_mapping: bool) {
        let step = *[2usize, 2, 4, 1, 3].get(self.below(4) as usize).unwrap_or(&2);
        match self.below(if depth > 4 { 1 } else { 6 }) {
            0 | 1 => {
                text.push(' ');
                text.push_str(self.scalar());
                self.line_end(text);
            }
            2 => {
                text.push_str(self.pick(&[" |", " |-", " >", " >-", " |", " |-", " |+", " |2", " | # c", " >\t"]));
                text.push('\n');
                let at = self.indent(indent + step);
                for _ in 0..=self.below(4) {
                    let line =
                        self.pick(&["text", "text", "a: b", "# hash", "", "  more", "   ", "- x", "--- x", "end "]);
                    if !line.is_empty() && !line.trim().is_empty() {
                        text.push_str(&" ".repeat(at));
                    }
                    text.push_str(line);
                    text.push('\n');
                }
            }
            3 if in_mapping && self.below(1) == 0 => {
                self.line_end(text);
                self.sequence(text, indent, depth + 1);
            }
            3 | 4 => {
                self.line_end(text);
                self.node(text, indent + step, depth + 1);
            }
            _ => self.line_end(text),
        }
    }
}

#[test]
fn leaves_files_past_the_node_limit_to_the_pre_scan() {
    let items = super::MAX_NODES + 1;
    let flow = format!("[{}1]\n", "1, ".repeat(items));
    assert!(parse(&flow).is_none());
    let block = "- 1\n".repeat(items);
    assert!(parse(&block).is_none());
    let err = crate::yaml::parse_documents(&block.repeat(3), "big.yaml").unwrap_err().to_string();
    assert!(err.contains("keys and values by here"), "{err}");
}
