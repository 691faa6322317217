//! Helm's `--set` syntax: `a.b=c`, several pairs split by commas, `a[0].b=c` for list items,
//! `a={x,y}` for lists, `\.` and `\,` to escape, `null` to remove a key.
//!
//! `--set` guesses types as Helm does (integers, true/false, null; everything else is a string);
//! `--set-string` keeps strings; `--set-file` reads the value from a file.

use serde_json::{Map, Number, Value};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Typed,
    String,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid --set `{}`: {reason}", mask(arg))]
pub struct SetError {
    pub arg: String,
    pub reason: String,
}

/// The argument with the value of every `secret.*` pair replaced by `***`, for messages.
pub fn mask(arg: &str) -> String {
    split_unescaped(arg, ',', true)
        .into_iter()
        .map(|pair| match split_once_unescaped(&pair, '=') {
            Some((k, _)) if k.trim_start().starts_with("secret") => format!("{k}=***"),
            _ => pair,
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// One path segment: a map key or a list index.
#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Parses one `--set` argument into (path, value) pairs.
pub fn parse(arg: &str, mode: Mode) -> Result<Vec<(Vec<Seg>, Value)>, SetError> {
    let err = |reason: &str| SetError { arg: arg.to_string(), reason: reason.to_string() };
    let mut out = Vec::new();
    for pair in split_unescaped(arg, ',', true) {
        if pair.is_empty() {
            continue;
        }
        let (key, raw) = split_once_unescaped(&pair, '=').ok_or_else(|| err(&format!("`{pair}` is not key=value")))?;
        let path = parse_key(&key).map_err(|r| err(&r))?;
        let value = if let Some(inner) = raw.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            Value::Array(
                split_unescaped(inner, ',', false)
                    .iter()
                    .filter(|s| !s.is_empty())
                    .map(|s| scalar(&unescape(s), mode))
                    .collect(),
            )
        } else {
            scalar(&unescape(&raw), mode)
        };
        out.push((path, value));
    }
    if out.is_empty() {
        return Err(err("nothing to set"));
    }
    Ok(out)
}

fn scalar(s: &str, mode: Mode) -> Value {
    if mode == Mode::String {
        return Value::String(s.to_string());
    }
    match s {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => match s.parse::<i64>() {
            // Helm keeps "007" a string: a leading zero is not an integer.
            Ok(i) if !(s.len() > 1 && (s.starts_with('0') || s.starts_with("-0"))) => Value::Number(Number::from(i)),
            _ => Value::String(s.to_string()),
        },
    }
}

fn parse_key(key: &str) -> Result<Vec<Seg>, String> {
    let mut segs = Vec::new();
    for part in split_unescaped(key, '.', false) {
        let part = unescape(&part);
        let (name, mut rest) = match part.find('[') {
            Some(i) => (part[..i].to_string(), &part[i..]),
            None => (part.clone(), ""),
        };
        // `a..b`, `.a`, `a.`: Helm would read an empty key there; it is always a typo.
        if name.is_empty() && (segs.is_empty() || !rest.starts_with('[')) {
            return Err(format!(
                "key `{key}` has an empty segment (two dots in a row, or a dot at the start or end); escape a dot that is part of a key as `\\.`"
            ));
        }
        if !name.is_empty() {
            segs.push(Seg::Key(name));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']').ok_or_else(|| format!("`{part}` has an unclosed `[`"))?;
            let idx: usize = r[..close].parse().map_err(|_| format!("`{}` is not a list index", &r[..close]))?;
            if idx > 10_000 {
                return Err(format!("list index {idx} is too large"));
            }
            segs.push(Seg::Index(idx));
            rest = &r[close + 1..];
        }
        if !rest.is_empty() {
            return Err(format!("unexpected `{rest}` in `{part}`"));
        }
    }
    if segs.is_empty() {
        return Err("empty key".into());
    }
    Ok(segs)
}

/// Splits on `sep` unless escaped with `\` (escapes are kept for the next stage) or, when
/// `braces`, inside `{...}`.
fn split_unescaped(s: &str, sep: char, braces: bool) -> Vec<String> {
    let (mut out, mut cur, mut depth, mut esc) = (Vec::new(), String::new(), 0, false);
    for c in s.chars() {
        if esc {
            cur.push('\\');
            cur.push(c);
            esc = false;
            continue;
        }
        match c {
            '\\' => esc = true,
            '{' if braces => {
                depth += 1;
                cur.push(c);
            }
            '}' if braces => {
                depth -= 1;
                cur.push(c);
            }
            c if c == sep && depth == 0 => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if esc {
        cur.push('\\');
    }
    out.push(cur);
    out
}

fn split_once_unescaped(s: &str, sep: char) -> Option<(String, String)> {
    let mut esc = false;
    for (i, c) in s.char_indices() {
        if esc {
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if c == sep {
            return Some((s[..i].to_string(), s[i + 1..].to_string()));
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes a parsed pair into a values tree, creating maps and lists as the path needs.
pub fn apply(root: &mut Value, path: &[Seg], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *root = value;
        return;
    };
    match first {
        Seg::Key(k) => {
            if !root.is_object() {
                *root = Value::Object(Map::new());
            }
            let map = root.as_object_mut().expect("just ensured");
            if rest.is_empty() {
                map.insert(k.clone(), value);
            } else {
                apply(map.entry(k.clone()).or_insert(Value::Null), rest, value);
            }
        }
        Seg::Index(i) => {
            if !root.is_array() {
                *root = Value::Array(Vec::new());
            }
            let list = root.as_array_mut().expect("just ensured");
            while list.len() <= *i {
                list.push(Value::Null);
            }
            apply(&mut list[*i], rest, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(args: &[&str], mode: Mode) -> Value {
        let mut root = json!({});
        for a in args {
            for (p, v) in parse(a, mode).unwrap() {
                apply(&mut root, &p, v);
            }
        }
        root
    }

    #[test]
    fn types_are_guessed_like_helm() {
        assert_eq!(
            set(&["replicaCount=5,a.b=true,c=null,d=x,e=007"], Mode::Typed),
            json!({"replicaCount": 5, "a": {"b": true}, "c": null, "d": "x", "e": "007"})
        );
        assert_eq!(set(&["image.tag=1.0,n=5"], Mode::String), json!({"image": {"tag": "1.0"}, "n": "5"}));
    }

    #[test]
    fn lists_and_indexes() {
        assert_eq!(
            set(&["image.pullSecrets[0].name=reg"], Mode::Typed),
            json!({"image": {"pullSecrets": [{"name": "reg"}]}})
        );
        assert_eq!(set(&["args={--a,--b}"], Mode::Typed), json!({"args": ["--a", "--b"]}));
    }

    #[test]
    fn escapes() {
        assert_eq!(
            set(&[r"podAnnotations.prometheus\.io/scrape=true"], Mode::String),
            json!({"podAnnotations": {"prometheus.io/scrape": "true"}})
        );
        assert_eq!(set(&[r"a=x\,y"], Mode::Typed), json!({"a": "x,y"}));
    }

    #[test]
    fn secret_pairs_are_masked_anywhere_in_an_argument() {
        assert_eq!(mask("replicaCount=5,secret.stringData.pw=hunter2"), "replicaCount=5,secret.stringData.pw=***");
        let e = parse("a=1,secret.data.x=c2Vj,bad", Mode::Typed).unwrap_err().to_string();
        assert!(!e.contains("c2Vj"), "{e}");
    }

    #[test]
    fn bad_syntax_is_an_error_naming_the_argument() {
        for bad in ["novalue", "a[x]=1", "a[0=1", "=1", "a.b[99999999]=1", "a..b=1", "a.=1", ".a=1"] {
            let e = parse(bad, Mode::Typed).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
        let e = parse("image..tag=1", Mode::Typed).unwrap_err().to_string();
        assert!(e.contains("`image..tag` has an empty segment"), "{e}");
    }
}
