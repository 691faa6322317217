//! Scalars for the fast reader: quoted ones with YAML's escapes, and plain ones resolved to
//! null, booleans, numbers or text exactly as serde_yaml resolves them.

use serde_json::{Number, Value};

/// A single-quoted scalar on one line: its text and the bytes it took.
pub(super) fn single_quoted(text: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut rest = &text[1..];
    loop {
        let i = rest.find('\'')?;
        out.push_str(&rest[..i]);
        if rest[i + 1..].starts_with('\'') {
            out.push('\'');
            rest = &rest[i + 2..];
        } else {
            return Some((out, text.len() - rest.len() + i + 1));
        }
    }
}

/// A double-quoted scalar on one line, with YAML's escapes: its text and the bytes it took.
pub(super) fn double_quoted(text: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let bytes = text.as_bytes();
    let mut i = 1;
    let mut start = 1;
    loop {
        match bytes.get(i)? {
            b'"' => {
                out.push_str(&text[start..i]);
                return Some((out, i + 1));
            }
            b'\\' => {
                out.push_str(&text[start..i]);
                let (c, len) = escape(&text[i + 1..])?;
                out.push(c);
                i += 1 + len;
                start = i;
            }
            _ => i += 1,
        }
    }
}

/// The character a double-quoted escape stands for, and the bytes after the `\` it took.
fn escape(text: &str) -> Option<(char, usize)> {
    let hex = |n: usize| {
        let digits = text.get(1..1 + n)?;
        let code = u32::from_str_radix(digits, 16).ok().filter(|_| digits.bytes().all(|b| b.is_ascii_hexdigit()))?;
        char::from_u32(code).map(|c| (c, 1 + n))
    };
    let c = match text.as_bytes().first()? {
        b'0' => '\0',
        b'a' => '\x07',
        b'b' => '\x08',
        b't' => '\t',
        b'n' => '\n',
        b'v' => '\x0b',
        b'f' => '\x0c',
        b'r' => '\r',
        b'e' => '\x1b',
        b' ' => ' ',
        b'"' => '"',
        b'/' => '/',
        b'\\' => '\\',
        b'N' => '\u{85}',
        b'_' => '\u{a0}',
        b'L' => '\u{2028}',
        b'P' => '\u{2029}',
        b'x' => return hex(2),
        b'u' => return hex(4),
        b'U' => return hex(8),
        _ => return None,
    };
    Some((c, 1))
}

/// A plain scalar's value as serde_yaml resolves it (its `visit_untagged_scalar`, through the
/// JSON conversion in `super`): null, booleans, integers, finite floats, else the text. Values
/// the conversion refuses (NaN, integers past 64 bits) go to serde_yaml for its message.
pub(super) fn plain(s: &str) -> Option<Value> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || b"+-.".contains(&first)) {
        return Some(Value::String(s.to_owned()));
    }
    if let Some(u) = resolve::unsigned(s, u64::from_str_radix) {
        return Some(Value::Number(u.into()));
    }
    if let Some(i) = resolve::negative(s, i64::from_str_radix) {
        return Some(Value::Number(i.into()));
    }
    if resolve::unsigned(s, u128::from_str_radix).is_some() || resolve::negative(s, i128::from_str_radix).is_some() {
        return None;
    }
    if !resolve::digits_but_not_number(s) {
        if let Some(f) = resolve::float(s) {
            return Number::from_f64(f).map(Value::Number);
        }
    }
    Some(Value::String(s.to_owned()))
}

/// serde_yaml 0.9's number resolution (`de.rs`), copied so that both readers agree.
mod resolve {
    use std::num::ParseIntError;

    pub fn unsigned<T>(scalar: &str, from_str_radix: fn(&str, u32) -> Result<T, ParseIntError>) -> Option<T> {
        let unpositive = scalar.strip_prefix('+').unwrap_or(scalar);
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
            if let Some(rest) = unpositive.strip_prefix(prefix) {
                if rest.starts_with(['+', '-']) {
                    return None;
                }
                if let Ok(int) = from_str_radix(rest, radix) {
                    return Some(int);
                }
            }
        }
        if unpositive.starts_with(['+', '-']) || digits_but_not_number(scalar) {
            return None;
        }
        from_str_radix(unpositive, 10).ok()
    }

    pub fn negative<T>(scalar: &str, from_str_radix: fn(&str, u32) -> Result<T, ParseIntError>) -> Option<T> {
        for (prefix, radix) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
            if let Some(rest) = scalar.strip_prefix(prefix) {
                if let Ok(int) = from_str_radix(&format!("-{rest}"), radix) {
                    return Some(int);
                }
            }
        }
        if digits_but_not_number(scalar) {
            return None;
        }
        from_str_radix(scalar, 10).ok()
    }

    pub fn float(scalar: &str) -> Option<f64> {
        let unpositive = match scalar.strip_prefix('+') {
            Some(u) if u.starts_with(['+', '-']) => return None,
            Some(u) => u,
            None => scalar,
        };
        if let ".inf" | ".Inf" | ".INF" = unpositive {
            return Some(f64::INFINITY);
        }
        if let "-.inf" | "-.Inf" | "-.INF" = scalar {
            return Some(f64::NEG_INFINITY);
        }
        if let ".nan" | ".NaN" | ".NAN" = scalar {
            return Some(f64::NAN.copysign(1.0));
        }
        unpositive.parse::<f64>().ok().filter(|f| f.is_finite())
    }

    pub fn digits_but_not_number(scalar: &str) -> bool {
        let scalar = scalar.strip_prefix(['-', '+']).unwrap_or(scalar);
        scalar.len() > 1 && scalar.starts_with('0') && scalar[1..].bytes().all(|b| b.is_ascii_digit())
    }
}
