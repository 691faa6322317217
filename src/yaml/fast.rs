//! A fast reader for the YAML manifests are written in, beside serde_yaml.
//!
//! Reading YAML through libyaml's events and serde took most of a large render's time: about
//! 400 instructions per byte. Kubernetes manifests, kustomizations and values files use a small
//! part of YAML: block mappings and sequences, one-line scalars, block scalars, one-line flow
//! collections and comments. This reader builds `serde_json::Value` from that part directly, in
//! one pass over the lines, and gives up (`None`) on anything else: anchors, aliases, tags,
//! directives, complex keys, scalars over several lines, tabs, control characters, duplicate
//! keys, any error. The caller then reads the text with serde_yaml, which also words every error,
//! so what this reader accepts it must read exactly as serde_yaml does (`tests` compares the two
//! on every YAML file of the repository and on generated texts).

use scalar::{double_quoted, plain, single_quoted};
use serde_json::{Map, Value};

mod scalar;

/// Deeper text goes to serde_yaml, which refuses it at [`super::MAX_DEPTH`] with a message.
const MAX_DEPTH: usize = 64;
/// libyaml refuses implicit keys longer than this.
const MAX_KEY: usize = 1024;

/// The documents of `text` (empty ones skipped), or `None` when `text` uses YAML beyond this
/// reader's part or is not valid YAML.
pub(super) fn parse(text: &str) -> Option<Vec<Value>> {
    if !ordinary_characters(text) {
        return None;
    }
    let (lines, indents) = split_lines(text);
    // A last line without its line break changes how block scalars end: leave it to serde_yaml.
    let ends_in_break = text.is_empty() || text.ends_with('\n');
    let mut p = Reader { lines, indents, at: 0, ends_in_break, nodes: 0, entries: Vec::new() };
    let mut docs = Vec::new();
    loop {
        p.skip_blank();
        let Some(line) = p.lines.get(p.at) else { break };
        if line.starts_with("---") || line.starts_with("...") {
            document_start(line)?;
            p.at += 1;
            continue;
        }
        let doc = p.node(p.at, p.indents[p.at], -1, 0)?;
        if p.peek().is_some() {
            return None;
        }
        if !doc.is_null() {
            docs.push(doc);
        }
    }
    Some(docs)
}

/// `---` alone or before a comment starts a document; anything else on its line is left to
/// serde_yaml.
fn document_start(line: &str) -> Option<()> {
    let rest = line.strip_prefix("---")?;
    (rest.trim_start_matches(' ').is_empty() || (rest.starts_with(' ') && rest.trim_start().starts_with('#')))
        .then_some(())
}

/// Only printable characters, spaces and line feeds: tabs, carriage returns, the other line
/// breaks YAML knows (NEL, U+2028, U+2029) and the byte order mark all need libyaml's rules.
fn ordinary_characters(text: &str) -> bool {
    let ascii_ok = |b: u8| b == b'\n' || (0x20..0x7f).contains(&b);
    if text.bytes().all(ascii_ok) {
        return true;
    }
    text.chars().all(|c| match c as u32 {
        0..=0x7f => ascii_ok(c as u8),
        0x80..=0x9f | 0x2028 | 0x2029 | 0xfeff | 0xfffe | 0xffff => false,
        0xd800..=0xdfff => false,
        _ => true,
    })
}

/// `text.split('\n')` and each line's indentation ([`BLANK`] for blank lines and comments).
fn split_lines(text: &str) -> (Vec<&str>, Vec<usize>) {
    // Lines are short: a SIMD search for each break, not a byte-by-byte one.
    let guess = text.len() / 24 + 1;
    let (mut lines, mut indents) = (Vec::with_capacity(guess), Vec::with_capacity(guess));
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', text.as_bytes()).chain([text.len()]) {
        // Both ends sit next to a line feed (ASCII) or at the text's ends: char boundaries.
        let line = &text[start..end];
        let i = indentation(line);
        indents.push(if is_blank_from(line, i) { BLANK } else { i });
        lines.push(line);
        start = end + 1;
    }
    (lines, indents)
}

fn indentation(line: &str) -> usize {
    line.bytes().take_while(|&b| b == b' ').count()
}

/// Empty, only spaces, or a comment (`indent` is the line's indentation).
fn is_blank_from(line: &str, indent: usize) -> bool {
    matches!(line.as_bytes().get(indent), None | Some(b'#'))
}

/// [`Reader::indents`] of a blank line.
const BLANK: usize = usize::MAX;

fn is_entry(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// After a value on its line: nothing, or a comment.
fn is_rest_blank(rest: &str) -> bool {
    let t = rest.trim_start_matches(' ');
    t.is_empty() || (t.starts_with('#') && t.len() < rest.len())
}

struct Reader<'t> {
    lines: Vec<&'t str>,
    /// Each line's indentation, worked out once ([`BLANK`] for blank lines and comments): the
    /// reader looks at most lines several times.
    indents: Vec<usize>,
    /// The next line to read.
    at: usize,
    ends_in_break: bool,
    /// Keys and values read so far: past [`MAX_NODES`] the text goes to the pre-scan, which
    /// refuses it before serde_yaml holds it all in memory.
    nodes: usize,
    /// The entries of the mappings being read, innermost last: a mapping is made once its
    /// size is known, rather than grown (and rehashed) key by key.
    entries: Vec<(String, Value)>,
}

/// Half of [`super::MAX_NODES`]: more goes to the pre-scan, which refuses past the limit.
const MAX_NODES: usize = super::MAX_NODES / 2;

impl Reader<'_> {
    /// Counts `n` keys or values; `None` past the limit.
    fn count(&mut self, n: usize) -> Option<()> {
        self.nodes += n;
        (self.nodes <= MAX_NODES).then_some(())
    }
}

impl<'t> Reader<'t> {
    fn skip_blank(&mut self) {
        while self.indents.get(self.at) == Some(&BLANK) {
            self.at += 1;
        }
    }

    /// The next line with content and its indentation; `None` at the end of the document.
    fn peek(&mut self) -> Option<(usize, usize)> {
        self.skip_blank();
        let line = self.lines.get(self.at)?;
        if line.starts_with("---") || line.starts_with("...") {
            return None;
        }
        Some((self.at, self.indents[self.at]))
    }

    /// The node whose text starts at column `col` of line `li`, inside a collection indented
    /// `parent` (-1 at the top).
    fn node(&mut self, li: usize, col: usize, parent: isize, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        let text = &self.lines[li][col..];
        if is_entry(text) {
            return self.sequence(li, col, depth);
        }
        if let Some(first_key) = key(text)? {
            return self.mapping(li, col, depth, first_key);
        }
        self.inline(li, col, parent, depth)
    }

    /// The node of an entry whose value is on the following lines (`key:` or `-` alone).
    fn node_below(&mut self, indent: usize, same_indent_sequence: bool, depth: usize) -> Option<Value> {
        match self.peek() {
            Some((li, i)) if i > indent => {
                let text = &self.lines[li][i..];
                if text.starts_with(['|', '>']) {
                    return None;
                }
                self.node(li, i, indent as isize, depth)
            }
            Some((li, i)) if same_indent_sequence && i == indent && is_entry(&self.lines[li][i..]) => {
                self.sequence(li, i, depth)
            }
            _ => Some(Value::Null),
        }
    }

    /// The mapping whose first key, already read, is on line `first`.
    fn mapping(&mut self, first: usize, indent: usize, depth: usize, first_key: (String, usize)) -> Option<Value> {
        let start = self.entries.len();
        let mut li = first;
        let mut pending = Some(first_key);
        loop {
            let text = &self.lines[li][indent..];
            let read = match pending.take() {
                Some(k) => k,
                None => key(text)??,
            };
            let (name, after) = Some(read).filter(|(k, _)| k.len() <= MAX_KEY)?;
            let rest = &text[after..];
            let value_col = indent + after + (rest.len() - rest.trim_start_matches(' ').len());
            let value = if is_rest_blank(rest) {
                self.at = li + 1;
                self.node_below(indent, true, depth + 1)?
            } else {
                self.inline(li, value_col, indent as isize, depth + 1)?
            };
            self.entries.push((name, value));
            self.count(2)?;
            match self.peek() {
                Some((next, i)) if i == indent && !is_entry(&self.lines[next][i..]) => li = next,
                Some((_, i)) if i >= indent => return None,
                _ => break,
            }
        }
        let mut map = Map::with_capacity(self.entries.len() - start);
        for (name, value) in self.entries.drain(start..) {
            if map.insert(name, value).is_some() {
                return None; // a duplicate key: serde_yaml's error names it
            }
        }
        Some(Value::Object(map))
    }

    fn sequence(&mut self, first: usize, indent: usize, depth: usize) -> Option<Value> {
        let mut items = Vec::new();
        let mut li = first;
        loop {
            let after = &self.lines[li][indent + 1..];
            let col = indent + 1 + (after.len() - after.trim_start_matches(' ').len());
            let item = if is_rest_blank(after) {
                self.at = li + 1;
                self.node_below(indent, false, depth + 1)?
            } else {
                self.node(li, col, indent as isize, depth + 1)?
            };
            items.push(item);
            self.count(1)?;
            match self.peek() {
                Some((next, i)) if i == indent && is_entry(&self.lines[next][i..]) => li = next,
                Some((_, i)) if i > indent => return None,
                // A key at this indentation may follow a sequence that is a key's value.
                _ => return Some(Value::Array(items)),
            }
        }
    }

    /// A value that starts on its line at `col`: a block scalar, a flow collection, a quoted or a
    /// plain scalar. `parent` is the indentation of the collection holding it.
    fn inline(&mut self, li: usize, col: usize, parent: isize, depth: usize) -> Option<Value> {
        let text = &self.lines[li][col..];
        self.at = li + 1;
        let first = *text.as_bytes().first()?;
        let (value, rest) = match first {
            b'|' | b'>' => return self.block_scalar(li, col, parent),
            b'[' | b'{' => flow(text, depth, &mut self.nodes)?,
            b'"' => double_quoted(text).map(|(s, n)| (Value::String(s), &text[n..]))?,
            b'\'' => single_quoted(text).map(|(s, n)| (Value::String(s), &text[n..]))?,
            _ => return plain_block(text),
        };
        is_rest_blank(rest).then_some(value)
    }

    /// `|` or `>` with an optional chomping indicator; an indentation indicator, `+`, spaces
    /// past the indentation on a blank line, or text running to a last line without a line break
    /// go to serde_yaml.
    fn block_scalar(&mut self, li: usize, col: usize, parent: isize) -> Option<Value> {
        if parent < 0 {
            return None;
        }
        let header = &self.lines[li][col..];
        let folded = header.starts_with('>');
        let (strip, rest) = match header.as_bytes().get(1) {
            Some(b'-') => (true, &header[2..]),
            Some(b'+') | Some(b'0'..=b'9') => return None,
            _ => (false, &header[1..]),
        };
        if !rest.is_empty() && !is_rest_blank(rest) {
            return None;
        }
        // The first line with text sets the indentation.
        let mut end = li + 1;
        let indent = loop {
            let line = self.lines.get(end)?;
            let i = indentation(line);
            if i < line.len() {
                break i;
            }
            end += 1;
        };
        if indent as isize <= parent {
            return None;
        }
        let mut out = String::new();
        let mut empties = 0;
        let mut any = false;
        end = li + 1;
        while let Some(line) = self.lines.get(end) {
            let i = indentation(line);
            if i == line.len() {
                if line.len() > indent {
                    return None;
                }
                empties += 1;
            } else if i < indent {
                break;
            } else {
                let body = &line[indent..];
                if folded && body.starts_with(' ') {
                    return None;
                }
                // Breaks before the text: one each at the start; between lines a literal keeps
                // them all, a folded scalar turns a lone one into a space.
                match (any, folded, empties) {
                    (false, _, k) | (true, true, k @ 1..) => out.push_str(&"\n".repeat(k)),
                    (true, true, 0) => out.push(' '),
                    (true, false, k) => out.push_str(&"\n".repeat(k + 1)),
                }
                out.push_str(body);
                any = true;
                empties = 0;
            }
            end += 1;
        }
        if end == self.lines.len() && !self.ends_in_break {
            return None;
        }
        if !strip {
            out.push('\n');
        }
        self.at = end;
        Some(Value::String(out))
    }
}

/// The key of a `key: value` line and where its value starts (after the `:`); `Some(None)` when
/// the text is not a key, `None` when it is beyond this reader.
fn key(text: &str) -> Option<Option<(String, usize)>> {
    let first = *text.as_bytes().first()?;
    if first == b'"' || first == b'\'' {
        let (name, n) = if first == b'"' { double_quoted(text)? } else { single_quoted(text)? };
        let rest = text[n..].trim_start_matches(' ');
        let colon = text.len() - rest.len();
        return Some(match rest.strip_prefix(':') {
            Some(r) if r.is_empty() || r.starts_with(' ') => Some((name, colon + 1)),
            _ => None,
        });
    }
    if b",[]{}#&*!|>'\"%@`".contains(&first) {
        return Some(None);
    }
    let bytes = text.as_bytes();
    // One pass: the `:` that ends the key, noting flow indicators on the way.
    let mut flow_indicator = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b':' if bytes.get(i + 1).is_none_or(|&n| n == b' ') => {
                let name = text[..i].trim_end_matches(' ');
                if name.is_empty() || flow_indicator || name.starts_with(['-', '?', ':']) {
                    return None;
                }
                return key_name(name).map(|k| Some((k, i + 1)));
            }
            b'#' if i > 0 && bytes[i - 1] == b' ' => return Some(None),
            b'[' | b']' | b'{' | b'}' | b',' => flow_indicator = true,
            _ => {}
        }
    }
    Some(None)
}

/// A plain key as serde_yaml's keys become strings: as written, except null and booleans
/// spelled other ways, and numbers (integers as their value; floats go to serde_yaml).
fn key_name(name: &str) -> Option<String> {
    Some(match plain(name)? {
        Value::String(s) => s,
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if !n.is_f64() => n.to_string(),
        _ => return None,
    })
}

/// A plain scalar in a block collection: up to a comment or the end of its line.
fn plain_block(text: &str) -> Option<Value> {
    let first = *text.as_bytes().first()?;
    let second = text.as_bytes().get(1);
    if b",[]{}#&*!|>'\"%@`".contains(&first) || b"-?:".contains(&first) && second.is_none_or(|&b| b == b' ') {
        return None;
    }
    let (body, colon_space) = before_comment(text);
    let body = body.trim_end_matches(' ');
    if colon_space || body.ends_with(':') {
        return None;
    }
    plain(body)
}

/// `text` up to a comment (` #`), and whether a `: ` comes before it; one pass (two substring
/// searches cost more than the short scalars they look at).
fn before_comment(text: &str) -> (&str, bool) {
    let bytes = text.as_bytes();
    let mut colon_space = false;
    for i in 1..bytes.len() {
        match (bytes[i - 1], bytes[i]) {
            (b' ', b'#') => return (&text[..i - 1], colon_space),
            (b':', b' ') => colon_space = true,
            _ => {}
        }
    }
    (text, colon_space)
}

/// A flow collection (`[...]` or `{...}`) that ends on its line, and the text after it;
/// `nodes` counts the keys and values read.
fn flow<'t>(text: &'t str, depth: usize, nodes: &mut usize) -> Option<(Value, &'t str)> {
    if depth > MAX_DEPTH || *nodes > MAX_NODES {
        return None;
    }
    let close = if text.starts_with('[') { b']' } else { b'}' };
    let mut rest = text[1..].trim_start_matches(' ');
    let mut items = Vec::new();
    let mut map = Map::new();
    if let Some(r) = rest.strip_prefix(close as char) {
        return Some((if close == b']' { Value::Array(items) } else { Value::Object(map) }, r));
    }
    loop {
        if close == b']' {
            let (item, r) = flow_item(rest, depth, nodes)?;
            items.push(item);
            *nodes += 1;
            rest = r;
        } else {
            let (name, r) = match rest.as_bytes().first()? {
                b'"' => double_quoted(rest).map(|(s, n)| (s, &rest[n..]))?,
                b'\'' => single_quoted(rest).map(|(s, n)| (s, &rest[n..]))?,
                _ => {
                    let end = rest.find(": ")?;
                    let name = rest[..end].trim_end_matches(' ');
                    if name.is_empty() || name.contains([',', '[', ']', '{', '}', '#', ':']) {
                        return None;
                    }
                    (key_name(name).filter(|_| plain_flow(name).is_some())?, &rest[end..])
                }
            };
            let r = r.trim_start_matches(' ').strip_prefix(':')?.trim_start_matches(' ');
            let (value, r) = flow_item(r, depth, nodes)?;
            *nodes += 2;
            match map.entry(name) {
                serde_json::map::Entry::Vacant(e) => e.insert(value),
                serde_json::map::Entry::Occupied(_) => return None,
            };
            rest = r;
        }
        if *nodes > MAX_NODES {
            return None;
        }
        rest = rest.trim_start_matches(' ');
        match rest.as_bytes().first()? {
            b',' => rest = rest[1..].trim_start_matches(' '),
            &b if b == close => {
                let value = if close == b']' { Value::Array(items) } else { Value::Object(map) };
                return Some((value, &rest[1..]));
            }
            _ => return None,
        }
    }
}

/// One value inside a flow collection, and the text after it.
fn flow_item<'t>(text: &'t str, depth: usize, nodes: &mut usize) -> Option<(Value, &'t str)> {
    match text.as_bytes().first()? {
        b'[' | b'{' => flow(text, depth + 1, nodes),
        b'"' => double_quoted(text).map(|(s, n)| (Value::String(s), &text[n..])),
        b'\'' => single_quoted(text).map(|(s, n)| (Value::String(s), &text[n..])),
        _ => {
            let end = text.find([',', ']', '}']).unwrap_or(text.len());
            let body = text[..end].trim_end_matches(' ');
            Some((plain_flow(body)?, &text[body.len()..]))
        }
    }
}

/// A plain scalar inside a flow collection; `:` and `#` go to serde_yaml.
fn plain_flow(body: &str) -> Option<Value> {
    let first = *body.as_bytes().first()?;
    if b",[]{}#&*!|>'\"%@`-?:".contains(&first) && !(first == b'-' && body.len() > 1 && body.as_bytes()[1] != b' ') {
        return None;
    }
    if body.contains([':', '#', '[', '{']) {
        return None;
    }
    plain(body)
}

#[cfg(test)]
mod tests;
