//! Writing YAML: our own emitter rather than serde_yaml's, because what we print must mean the
//! same to YAML 1.1 readers (kubectl, Go's yaml.v2, PyYAML), so any string such a reader would take
//! for a boolean, number, null or timestamp is quoted.

use serde_json::{Map, Value};
use std::fmt::Write as _;

/// [`write_yaml_stream`] into a string.
pub fn to_yaml_stream<'a>(docs: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail, and the emitter writes only text: neither default is used.
    let _ = write_yaml_stream(&mut out, docs);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes documents to `out` as a multi-document YAML stream separated by `---`, in the block
/// style kubectl prints (two-space indent, sequences not indented under their key), a megabyte at
/// a time: a large render is not held twice (its documents, then the whole stream), which was
/// 6.6 MB of the N = 1000 corpus's peak.
pub fn write_yaml_stream<'a>(
    out: &mut dyn std::io::Write,
    docs: impl IntoIterator<Item = &'a Value>,
) -> std::io::Result<()> {
    const CHUNK: usize = 1 << 20;
    // Each document is written independently (in parallel for large streams), then in order.
    let docs: Vec<&Value> = docs.into_iter().collect();
    let parts = crate::parallel::map(&docs, |doc| to_yaml(doc));
    let mut buf = String::with_capacity(CHUNK.min(parts.iter().map(|p| p.len() + SEPARATOR.len()).sum()));
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            buf.push_str(SEPARATOR);
        }
        buf.push_str(part);
        if buf.len() >= CHUNK {
            out.write_all(buf.as_bytes())?;
            buf.clear();
        }
    }
    out.write_all(buf.as_bytes())
}

const SEPARATOR: &str = "---\n";

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
    // Whole runs of spaces rather than one `char` at a time (each a UTF-8 encode and a check).
    const SPACES: &str = "                                                                ";
    let mut left = n;
    while left > 0 {
        let run = left.min(SPACES.len());
        out.push_str(&SPACES[..run]);
        left -= run;
    }
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
    use crate::yaml::parse_value;
    use serde_json::json;

    #[test]
    fn a_written_stream_is_the_stream_whatever_its_size() {
        let big = json!({"data": {"blob": "x".repeat(300_000)}});
        for n in [0, 1, 2, 9] {
            let docs: Vec<Value> = (0..n).map(|i| json!({"n": i, "big": big})).collect();
            let mut written = Vec::new();
            write_yaml_stream(&mut written, &docs).unwrap();
            let joined = docs.iter().map(to_yaml).collect::<Vec<_>>().join("---\n");
            assert_eq!(String::from_utf8(written).unwrap(), joined, "{n} documents");
            assert_eq!(to_yaml_stream(&docs), joined, "{n} documents");
        }
    }

    #[test]
    fn indents_past_one_run_of_spaces() {
        for n in [0, 1, 63, 64, 65, 150] {
            let mut out = String::from("x");
            indent(&mut out, n);
            assert_eq!(out, format!("x{}", " ".repeat(n)));
        }
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
