//! The one module that reads and writes YAML.
//!
//! `serde_yaml` is archived upstream; keeping every use of it here means it can be swapped in one
//! place. Documents become `serde_json::Value` (with `preserve_order`) as soon as they are read, so
//! the rest of the program works on JSON trees only.
//!
//! Writing is our own emitter rather than `serde_yaml`'s: what we print must mean the same to
//! YAML 1.1 readers (kubectl, Go's yaml.v2, PyYAML), so any string such a reader would take for a
//! boolean, number, null or timestamp is quoted.

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

mod fast;
mod prescan;

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
    let candidate = bytes.windows(3).any(|w| b" \t\n-+".contains(&w[0]) && w[1] == b'0' && w[2].is_ascii_digit());
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

/// Writes documents as a multi-document YAML stream separated by `---`, in the block style
/// kubectl prints (two-space indent, sequences not indented under their key).
pub fn to_yaml_stream<'a>(docs: impl IntoIterator<Item = &'a Value>) -> String {
    // Documents are written independently (in parallel for large streams), then joined in order.
    let docs: Vec<&Value> = docs.into_iter().collect();
    let parts = crate::parallel::map(&docs, |doc| to_yaml(doc));
    let mut out = String::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(part);
    }
    out
}

/// Writes one value as a YAML document.
pub fn to_yaml(doc: &Value) -> String {
    let mut out = String::new();
    emit_document(&mut out, doc);
    out
}

fn emit_document(out: &mut String, doc: &Value) {
    match doc {
        Value::Object(m) if !m.is_empty() => emit_map(out, m, 0, false),
        Value::Array(a) if !a.is_empty() => emit_seq(out, a, 0, false),
        Value::String(s) => {
            // A top-level block scalar would need indentation the document cannot have.
            emit_string(out, s, 0, true);
            out.push('\n');
        }
        scalar => {
            emit_inline(out, scalar, 0);
            out.push('\n');
        }
    }
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// `first_inline`: the caller already wrote `- ` for the first key.
fn emit_map(out: &mut String, m: &Map<String, Value>, ind: usize, first_inline: bool) {
    for (i, (k, v)) in m.iter().enumerate() {
        if !(i == 0 && first_inline) {
            indent(out, ind);
        }
        emit_string(out, k, ind, true);
        out.push(':');
        emit_child(out, v, ind, ind + 2, ind);
    }
}

fn emit_seq(out: &mut String, a: &[Value], ind: usize, first_inline: bool) {
    for (i, v) in a.iter().enumerate() {
        if !(i == 0 && first_inline) {
            indent(out, ind);
        }
        out.push('-');
        match v {
            Value::Object(m) if !m.is_empty() => {
                out.push(' ');
                emit_map(out, m, ind + 2, true);
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push(' ');
                emit_seq(out, inner, ind + 2, true);
            }
            _ => {
                out.push(' ');
                emit_inline(out, v, ind + 2);
                out.push('\n');
            }
        }
    }
}

/// Emits the value of a mapping entry after `key:`.
fn emit_child(out: &mut String, v: &Value, _key_ind: usize, map_ind: usize, seq_ind: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            emit_map(out, m, map_ind, false);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            emit_seq(out, a, seq_ind, false);
        }
        _ => {
            out.push(' ');
            emit_inline(out, v, map_ind);
            out.push('\n');
        }
    }
}

fn emit_inline(out: &mut String, v: &Value, ind: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => emit_string(out, s, ind, false),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

/// Writes a string plainly when every YAML 1.1 and 1.2 reader reads it back as the same string,
/// as a literal block when it spans lines, and double-quoted otherwise.
fn emit_string(out: &mut String, s: &str, ind: usize, is_key: bool) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else if !is_key && is_block_safe(s) {
        out.push('|');
        let trailing = s.len() - s.trim_end_matches('\n').len();
        match trailing {
            0 => out.push('-'),
            1 => {}
            _ => out.push('+'),
        }
        let body = if trailing == 1 { &s[..s.len() - 1] } else { s };
        let body = if trailing > 1 { &body[..body.len() - 1] } else { body };
        for line in body.split('\n') {
            out.push('\n');
            if !line.is_empty() {
                indent(out, ind);
                out.push_str(line);
            }
        }
    } else {
        // JSON string syntax is valid YAML double-quoted syntax.
        double_quoted(out, s);
    }
}

/// A YAML double-quoted scalar that every reader gives back unchanged: besides the JSON escapes,
/// DEL, C1 controls, non-characters and the YAML line breaks (NEL, U+2028, U+2029) are escaped,
/// since a reader would refuse or fold them.
fn double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if matches!(c as u32, 0xfeff | 0xfffe | 0xffff) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn is_block_safe(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with(' ')
        && !s.starts_with('\n')
        && s.chars().all(|c| c == '\n' || (!c.is_control() && c != '\u{feff}'))
        && s.split('\n').all(|l| !l.ends_with(' ') && !l.ends_with('\t'))
}

/// Whether a plain scalar with this text would be read as something other than a string (a
/// number, boolean, null or date) by a YAML 1.1 or 1.2 reader; such text must be quoted to stay
/// text.
pub fn is_non_string(s: &str) -> bool {
    !s.is_empty() && !s.contains('\n') && resolves_to_non_string(s)
}

/// Strings a YAML 1.1 or 1.2 reader would resolve to something other than a string.
fn resolves_to_non_string(s: &str) -> bool {
    // Cheap pre-checks first: this runs for every key and string written. Words can only be
    // the short keywords below; anything else must start like a number, `~`, `<<` or `=`.
    match s.as_bytes().first() {
        Some(b) if b.is_ascii_alphabetic() && (s.len() > 5 || !b"nNyYtTfFoO".contains(b)) => return false,
        Some(b) if !b.is_ascii_alphanumeric() && !b"~+-.<=".contains(b) => return false,
        _ => {}
    }
    const WORDS: &[&str] = &[
        "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE",
        "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
    ];
    if s.bytes().all(|b| b.is_ascii_digit()) || WORDS.contains(&s) {
        return true;
    }
    if s.bytes().all(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    // From a digit, numbers (decimal, octal, hex, binary, sexagesimal, floats) use only these
    // characters; only a date may go on with anything (`2024-01-02 ...`). So `25%`, `100m` or
    // `8Gi` are settled without the regular expression.
    let numeric = |b: u8| b.is_ascii_hexdigit() || b"_.:+-xXoO".contains(&b);
    let bytes = s.as_bytes();
    let date_like = bytes.len() >= 8 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-';
    if bytes[0].is_ascii_digit() && !date_like && !bytes.iter().copied().all(numeric) {
        return false;
    }
    yaml11_scalar(s)
}

/// Whether a plain scalar is one of YAML 1.1's non-strings: null, a boolean, an integer in any
/// base, a sexagesimal or decimal number, infinity, NaN, a date, `<<` or `=`. Written out by
/// hand rather than as a regular expression, whose compilation alone was a tenth of a small
/// render; `tests::yaml11_scalar_matches_its_regular_expression` holds it to the expression.
fn yaml11_scalar(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE",
        "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "<<", "=",
    ];
    if WORDS.contains(&s) {
        return true;
    }
    let b = s.as_bytes();
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    // A date: four digits, a dash, one or two, a dash, one or two, then anything on the line.
    let date = |b: &[u8]| {
        let year = b.len() > 4 && digits(&b[..4]) && b[4] == b'-';
        let rest = if year { &b[5..] } else { &[][..] };
        let month = rest.iter().take_while(|c| c.is_ascii_digit()).count().min(2);
        let day_at = month + 1;
        year && month > 0 && rest.get(month) == Some(&b'-') && rest.get(day_at).is_some_and(u8::is_ascii_digit)
    };
    if date(b) {
        return !s.contains('\n');
    }
    if matches!(b, b".nan" | b".NaN" | b".NAN") {
        return true;
    }
    let rest = b.strip_prefix(b"-").or_else(|| b.strip_prefix(b"+")).unwrap_or(b);
    let all = |r: &[u8], ok: fn(&u8) -> bool| !r.is_empty() && r.iter().all(ok);
    matches!(rest, b".inf" | b".Inf" | b".INF")
        || rest.strip_prefix(b"0b").is_some_and(|r| all(r, |c| matches!(c, b'0' | b'1' | b'_')))
        || rest.strip_prefix(b"0x").is_some_and(|r| all(r, |c| c.is_ascii_hexdigit() || *c == b'_'))
        || rest.strip_prefix(b"0o").is_some_and(|r| all(r, |c| matches!(c, b'0'..=b'7' | b'_')))
        || rest.strip_prefix(b"0").is_some_and(|r| all(r, |c| matches!(c, b'0'..=b'7' | b'_')))
        || sexagesimal(rest)
        || decimal(rest)
}

/// `[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?`
fn sexagesimal(b: &[u8]) -> bool {
    if !b.first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
    let mut i = b.iter().take_while(|c| c.is_ascii_digit() || **c == b'_').count();
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        // Two digits when the first allows it, else one: taking one where two fit leaves a digit
        // that no `:` or `.` can follow, so the greedy choice is the only one that can match.
        match (b.get(i + 1), b.get(i + 2)) {
            (Some(b'0'..=b'5'), Some(d)) if d.is_ascii_digit() => i += 3,
            (Some(d), _) if d.is_ascii_digit() => i += 2,
            _ => return false,
        }
        groups += 1;
    }
    let fraction = match b.get(i) {
        Some(b'.') => b[i + 1..].iter().all(|c| c.is_ascii_digit() || *c == b'_'),
        None => true,
        _ => false,
    };
    groups > 0 && fraction
}

/// `([0-9][0-9_]*)?\.?[0-9_.]*([eE][-+]?[0-9]+)?`, which is any run of digits, `_` and `.`
/// (empty too) with an optional exponent.
fn decimal(b: &[u8]) -> bool {
    let mantissa = b.iter().take_while(|c| c.is_ascii_digit() || matches!(c, b'_' | b'.')).count();
    match b.get(mantissa) {
        None => true,
        Some(b'e' | b'E') => {
            let exp = &b[mantissa + 1..];
            let exp = exp.strip_prefix(b"-").or_else(|| exp.strip_prefix(b"+")).unwrap_or(exp);
            !exp.is_empty() && exp.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// Whether `s` may be written as a plain scalar and read back as this string. One pass over
/// the bytes: this runs for every key and string written.
fn is_plain_safe(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    // '-' may start a plain scalar ("-Xmx1g") unless it reads as a sequence entry or document marker.
    let dash_ok = first == b'-' && b.len() > 1 && !s.starts_with("- ") && !s.starts_with("---");
    if b"-?:,[]{}#&*!|>'\"%@`".contains(&first) && !dash_ok || first == b' ' || last == b' ' || last == b':' {
        return false;
    }
    let mut prev = 0;
    for &c in b {
        match c {
            // ": " starts a value, " #" a comment; tabs and other controls need escapes.
            b' ' if prev == b':' => return false,
            b'#' if prev == b' ' => return false,
            0..=0x1f | 0x7f => return false,
            _ => {}
        }
        prev = c;
    }
    let special = |c: char| c.is_control() || matches!(c, '\u{feff}' | '\u{85}' | '\u{2028}' | '\u{2029}');
    if s.is_ascii() || !s.chars().any(special) {
        // A leading '-' that makes a number ("-1") is caught here too.
        !resolves_to_non_string(s)
    } else {
        false
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

    #[test]
    fn yaml11_ambiguous_strings_are_quoted() {
        for s in [
            "on",
            "off",
            "yes",
            "no",
            "y",
            "n",
            "~",
            "007",
            "1e3",
            "0x1F",
            "1_000",
            "12:30",
            "true",
            "null",
            "",
            "2001-12-14",
            ".5",
            "3.",
            "-1",
            "+1",
            "4.2.0",
        ] {
            let out = to_yaml(&json!({ "k": s }));
            assert!(out.starts_with("k: \""), "{s:?} was not quoted: {out}");
            assert_eq!(parse_value(&out, "t").unwrap(), json!({ "k": s }));
        }
    }

    /// The regular expression `yaml11_scalar` replaces, kept as its oracle.
    fn yaml11_regex() -> regex::Regex {
        regex::Regex::new(concat!(
            r"^(?:",
            r"~|null|Null|NULL",
            r"|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
            r"|[-+]?0b[01_]+|[-+]?0o?[0-7_]+|[-+]?0x[0-9a-fA-F_]+",
            r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?",
            r"|[-+]?(?:[0-9][0-9_]*)?\.?[0-9_.]*(?:[eE][-+]?[0-9]+)?",
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
            r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*",
            r"|<<|=",
            r")$"
        ))
        .unwrap()
    }

    #[test]
    fn yaml11_scalar_matches_its_regular_expression() {
        let re = yaml11_regex();
        let alphabet: Vec<char> = "0123456789012345_.:+-eExXoObBafinINFnaN<=~ yT\n".chars().collect();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for case in 0..300_000 {
            let mut s = String::new();
            for _ in 0..case % 12 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            assert_eq!(yaml11_scalar(&s), re.is_match(&s), "{s:?}");
        }
        for s in ["2024-01-02", "2024-1-2 x", "2024-123-1", "1:30:59.5", "190:20:30", "1:60", "-0x_F", "0o", ".inf"] {
            assert_eq!(yaml11_scalar(s), re.is_match(s), "{s:?}");
        }
    }

    #[test]
    fn ordinary_strings_stay_plain() {
        for s in ["500m", "2Gi", "docker.io/dimtensor:latest", "app.kubernetes.io/name", "/health", "-Xmx1g", "a b"] {
            let out = to_yaml(&json!({ "k": s }));
            assert_eq!(out, format!("k: {s}\n"));
        }
    }

    #[test]
    fn emits_kubectl_style_blocks_and_round_trips() {
        let v = json!({
            "spec": {"containers": [{"name": "a", "args": ["x", "y"], "env": []}], "empty": {}},
            "data": {"f.json": "{\n  \"a\": 1\n}\n", "nolf": "a\nb", "many": "a\n\n"},
            "n": 1.5, "b": false, "z": null
        });
        let out = to_yaml(&v);
        assert!(
            out.contains("spec:\n  containers:\n  - args:\n    - x\n")
                || out.contains("  - name: a\n    args:\n    - x\n"),
            "{out}"
        );
        assert_eq!(parse_value(&out, "t").unwrap(), v);
    }
}
