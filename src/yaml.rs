//! The one module that reads and writes YAML.
//!
//! `serde_yaml` is archived upstream; keeping every use of it here means it can be swapped in one
//! place. Documents become `serde_json::Value` (with `preserve_order`) as soon as they are read, so
//! the rest of the program works on JSON trees only.
//!
//! Reading: `fast` takes the YAML manifests are written in; the rest, and every error, goes
//! through `prescan` and serde_yaml. Writing: `emit`, our own emitter, quotes whatever a YAML 1.1
//! reader would not read back as the same string.

use serde_json::{Map, Number, Value};
use std::fmt::Write as _;
use std::sync::OnceLock;

/// Inputs larger than this are refused before parsing: nothing legitimate in a kustomization is
/// this big, and it bounds the work an alias bomb can ask for.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

/// Deepest nesting we accept; Kubernetes objects stay far below it.
pub const MAX_DEPTH: usize = 100;

/// The most keys and values one file may hold, counting what aliases (`*name`) expand to: far
/// more than any real manifest, kustomization or values file, and few enough that the parser's
/// memory stays bounded and an alias bomb costs little.
pub const MAX_NODES: usize = 1 << 20;

mod emit;
mod fast;
mod prescan;

pub use emit::{is_non_string, to_yaml, to_yaml_stream, write_yaml_stream};

#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    #[error("{source_name}: line {line}, column {column}: {message}")]
    Syntax { source_name: String, line: usize, column: usize, message: String },
    #[error("{source_name}: {message}")]
    Invalid { source_name: String, message: String },
}

/// Parses every document of a multi-document YAML stream. Empty documents are skipped.
/// Duplicate mapping keys, tabs used as indentation, nesting deeper than [`MAX_DEPTH`] and
/// alias expansion past serde_yaml's limits are errors naming `source_name` and the line.
pub fn parse_documents(text: &str, source_name: &str) -> Result<Vec<Value>, YamlError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(invalid(source_name, "file is larger than 64 MiB"));
    }
    let text = yaml11_octals(text);
    // Most text is read by the fast reader, which bounds its own depth and node count; the
    // rest goes to serde_yaml, whose parser is quadratic on deep flow nesting and holds every
    // node of a document in memory: measure both first, in one linear pass.
    if let Some(docs) = fast::parse(&text) {
        return Ok(docs);
    }
    prescan::scan(&text, MAX_DEPTH, MAX_NODES).map_err(|refused| match refused {
        prescan::Refused::TooDeep { line, column } => YamlError::Syntax {
            source_name: source_name.to_string(),
            line,
            column,
            message: format!("nesting deeper than the limit of {MAX_DEPTH} levels"),
        },
        prescan::Refused::TooManyNodes { line } => YamlError::Syntax {
            source_name: source_name.to_string(),
            line,
            column: 1,
            message: format!("more than {MAX_NODES} keys and values by here, the limit for one file"),
        },
    })?;
    read_with_serde_yaml(&text, source_name)
}

/// Every document through serde_yaml: all of YAML, and the words of every error.
fn read_with_serde_yaml(text: &str, source_name: &str) -> Result<Vec<Value>, YamlError> {
    let budget = std::cell::Cell::new(MAX_NODES);
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let json = serde::de::DeserializeSeed::deserialize(JsonSeed { depth: 0, budget: &budget }, doc)
            .map_err(|e| syntax(source_name, text, &e))?;
        if !json.is_null() {
            out.push(json);
        }
    }
    Ok(out)
}

/// Parses a single YAML (or JSON) value; an empty input is `null`.
pub fn parse_value(text: &str, source_name: &str) -> Result<Value, YamlError> {
    let mut docs = parse_documents(text, source_name)?;
    match docs.len() {
        0 => Ok(Value::Null),
        1 => Ok(docs.remove(0)),
        n => Err(invalid(source_name, &format!("expected one document, found {n}"))),
    }
}

/// Kubernetes tools read YAML with Go's yaml libraries, which take a plain `0440` as the octal
/// number 288 (YAML 1.1); serde_yaml reads it as the string "0440", which the API server would
/// refuse for `defaultMode`. Plain leading-zero integers in value position are rewritten to their
/// decimal value before parsing; quoted scalars, keys and block scalars are left alone, and line
/// numbers do not change.
fn yaml11_octals(text: &str) -> std::borrow::Cow<'_, str> {
    // Most files have no candidate at all (a `0` then a digit, at a line start or after a blank
    // or sign): skip the line-by-line regex for them.
    let bytes = text.as_bytes();
    // Jumping from `0` to `0` (a memchr search) instead of looking at every byte.
    let candidate = memchr::memchr_iter(b'0', bytes)
        .any(|i| i > 0 && b" \t\n-+".contains(&bytes[i - 1]) && bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
    if !candidate && bytes.first() != Some(&b'0') {
        return std::borrow::Cow::Borrowed(text);
    }
    static VALUE: OnceLock<regex::Regex> = OnceLock::new();
    static BLOCK: OnceLock<regex::Regex> = OnceLock::new();
    let value = VALUE.get_or_init(|| {
        regex::Regex::new(
            r"^(?P<pre>\s*(?:-\s+)*(?:[A-Za-z0-9_./-]+:\s+)?)(?P<sign>[-+]?)0(?P<oct>[0-7]+)(?P<post>(?:\s+#.*)?\s*)$",
        )
        .expect("static regex")
    });
    let block = BLOCK.get_or_init(|| regex::Regex::new(r"[:-]\s+[|>][-+0-9]*\s*(?:#.*)?$").expect("static regex"));
    if !text.lines().any(|l| value.is_match(l)) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut block_indent: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let indent = body.len() - body.trim_start().len();
        if let Some(bi) = block_indent {
            if body.trim().is_empty() || indent > bi {
                out.push_str(line);
                continue;
            }
            block_indent = None;
        }
        if block.is_match(body) {
            block_indent = Some(indent);
        }
        match value.captures(body) {
            Some(c) if !c["pre"].trim().is_empty() || c["pre"].is_empty() => {
                let n = i64::from_str_radix(&c["oct"], 8).unwrap_or(0);
                out.push_str(&c["pre"]);
                if &c["sign"] == "-" {
                    out.push('-');
                }
                let _ = write!(out, "{n}");
                out.push_str(&c["post"]);
                out.push_str(&line[body.len()..]);
            }
            _ => out.push_str(line),
        }
    }
    std::borrow::Cow::Owned(out)
}

fn syntax(source_name: &str, text: &str, e: &serde_yaml::Error) -> YamlError {
    let (mut line, mut column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
    // serde_yaml appends " at line X column Y" to its message; we print the location ourselves.
    let full = e.to_string();
    let mut message = match full.find(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full.clone(),
    };
    // serde_yaml places a duplicate key at the start of its mapping; point at the repeat instead.
    if let Some((path, rest)) = full.split_once("duplicate entry with key \"") {
        let key = rest.split('"').next().unwrap_or("");
        if let Some((l, c)) = second_occurrence(text, key, line) {
            (line, column) = (l, c);
        }
        message = format!("{path}duplicate key \"{key}\" (each key may appear once in a mapping)");
    }
    if full.contains("repetition limit exceeded") || full.contains(ALIAS_BUDGET) {
        return invalid(source_name, "YAML aliases expand too far (an alias bomb?); refused before expanding them");
    }
    if full.contains("recursion limit exceeded") {
        message = format!("nesting deeper than the limit of {MAX_DEPTH} levels");
    }
    let offending = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    if offending.starts_with('\t') || offending.trim_start_matches(' ').starts_with('\t') {
        message = "a tab is used for indentation; YAML indents with spaces".to_string();
    }
    YamlError::Syntax { source_name: source_name.to_string(), line, column, message }
}

/// Line and column of the second `key:` at the indentation of the first, from line `from` on.
fn second_occurrence(text: &str, key: &str, from: usize) -> Option<(usize, usize)> {
    let mut first_indent = None;
    for (i, l) in text.lines().enumerate().skip(from.saturating_sub(1)) {
        let trimmed = l.trim_start_matches([' ', '-']);
        let indent = l.len() - trimmed.len();
        let is_key = trimmed.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with(':'));
        if !is_key {
            continue;
        }
        match first_indent {
            None => first_indent = Some(indent),
            Some(fi) if fi == indent => return Some((i + 1, indent + 1)),
            Some(_) => {}
        }
    }
    None
}

fn invalid(source_name: &str, message: &str) -> YamlError {
    YamlError::Invalid { source_name: source_name.to_string(), message: message.to_string() }
}

/// Builds `serde_json::Value` straight from serde_yaml's events. Going through
/// `serde_yaml::Value` first built, hashed and freed a second tree per document, which was a
/// third of the time spent reading a large overlay. Keys become strings (`true`, `1`, `null`
/// as written), tags are dropped, and a key given twice is an error, as serde_yaml's own
/// mapping reports it (so [`syntax`] can point at the repeat).
#[derive(Clone, Copy)]
struct JsonSeed<'b> {
    depth: usize,
    /// Keys and values still allowed (see [`MAX_NODES`]); each one built takes one.
    budget: &'b std::cell::Cell<usize>,
}

/// The message when the budget runs out (recognised by [`syntax`]).
const ALIAS_BUDGET: &str = "aliases expand past the limit of keys and values";

impl JsonSeed<'_> {
    fn child<E: serde::de::Error>(self) -> Result<Self, E> {
        match self.depth >= MAX_DEPTH {
            true => Err(E::custom(format_args!("nesting deeper than the limit of {MAX_DEPTH} levels"))),
            false => Ok(JsonSeed { depth: self.depth + 1, budget: self.budget }),
        }
    }
}

impl JsonSeed<'_> {
    /// Takes one key or value from the budget.
    fn take<E: serde::de::Error>(self) -> Result<(), E> {
        let left = self.budget.get().checked_sub(1).ok_or_else(|| E::custom(ALIAS_BUDGET))?;
        self.budget.set(left);
        Ok(())
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for JsonSeed<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.take()?;
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Number(i.into()))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::Number(u.into()))
    }
    fn visit_f64<E: serde::de::Error>(self, f: f64) -> Result<Value, E> {
        Number::from_f64(f).map(Value::Number).ok_or_else(|| {
            E::custom(format_args!("number {} cannot be represented (NaN or infinite)", serde_yaml::Number::from(f)))
        })
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        serde::de::DeserializeSeed::deserialize(self, d)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let child = self.child()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(child)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let child = self.child()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key_seed(KeySeed)? {
            self.take()?;
            match map.entry(key) {
                serde_json::map::Entry::Occupied(e) => {
                    return Err(serde::de::Error::custom(format_args!("duplicate entry with key {:?}", e.key())))
                }
                serde_json::map::Entry::Vacant(e) => {
                    e.insert(access.next_value_seed(child)?);
                }
            }
        }
        Ok(Value::Object(map))
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // A tagged node (`!foo value`): the tag is dropped, the value kept.
        let (_tag, contents): (String, _) = data.variant()?;
        serde::de::VariantAccess::newtype_variant_seed(contents, self)
    }
}

/// A mapping key as the string JSON needs: scalars as written, tags dropped.
#[derive(Clone, Copy)]
struct KeySeed;

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed {
    type Value = String;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeySeed {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a scalar mapping key")
    }
    fn visit_bool<E>(self, b: bool) -> Result<String, E> {
        Ok(b.to_string())
    }
    fn visit_i64<E>(self, i: i64) -> Result<String, E> {
        Ok(i.to_string())
    }
    fn visit_u64<E>(self, u: u64) -> Result<String, E> {
        Ok(u.to_string())
    }
    fn visit_f64<E>(self, f: f64) -> Result<String, E> {
        Ok(serde_yaml::Number::from(f).to_string())
    }
    fn visit_str<E>(self, s: &str) -> Result<String, E> {
        Ok(s.to_owned())
    }
    fn visit_string<E>(self, s: String) -> Result<String, E> {
        Ok(s)
    }
    fn visit_unit<E>(self) -> Result<String, E> {
        Ok("null".to_string())
    }
    fn visit_none<E>(self) -> Result<String, E> {
        Ok("null".to_string())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(serde::de::Error::custom("mapping keys must be scalars"))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(serde::de::Error::custom("mapping keys must be scalars"))
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<String, A::Error> {
        let (_tag, contents): (String, _) = data.variant()?;
        serde::de::VariantAccess::newtype_variant_seed(contents, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_multi_document_streams_and_skips_empty_ones() {
        let docs = parse_documents("a: 1\n---\n---\nb: [x, y]\n", "t.yaml").unwrap();
        assert_eq!(docs, vec![json!({"a": 1}), json!({"b": ["x", "y"]})]);
    }

    #[test]
    fn duplicate_keys_are_an_error_with_a_line() {
        let err = parse_documents("a: 1\nb: 2\na: 3\n", "dup.yaml").unwrap_err().to_string();
        assert!(err.contains("dup.yaml"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("duplicate"), "{err}");
    }

    #[test]
    fn tabs_as_indentation_are_an_error() {
        let err = parse_documents("a:\n\tb: 1\n", "tab.yaml").unwrap_err().to_string();
        assert!(err.contains("tab.yaml") && err.contains("line"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(parse_documents(&text, "deep.yaml").is_err());
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='k' {
            let _ = writeln!(
                text,
                "{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]"
            );
            prev = c;
        }
        assert!(parse_documents(&text, "bomb.yaml").is_err());
    }

    #[test]
    fn plain_leading_zero_integers_are_octal_as_in_go_yaml() {
        let text = "mode: 0440\nquoted: \"0440\"\nlist:\n- 0755\nscript: |\n  chmod 0755 x\n  0644\nafter: 010 # eight\nrev: 0755#2\n";
        let v = parse_value(text, "t").unwrap();
        assert_eq!(v["mode"], 288);
        assert_eq!(v["quoted"], "0440");
        assert_eq!(v["list"][0], 493);
        assert_eq!(v["script"], "chmod 0755 x\n0644\n");
        assert_eq!(v["after"], 8);
        assert_eq!(v["rev"], "0755#2", "a # right after a value is not a comment");
    }
}
