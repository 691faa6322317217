//! Replacement field paths, walked as Kustomize walks them: a source with kyaml's `Lookup`
//! (exact `[key=value]` matches, no creation), targets with its `PathMatcher`, whose
//! `[key=value]` is an unanchored regular expression and which, with `options.create`, appends
//! list elements and creates maps on the way.
//!
//! Kustomize copies only the text of a scalar into an existing scalar target, which keeps the
//! target's YAML type (`"3"` into `replicas: 1` gives the number 3); a target it creates has no
//! type yet and reads the text as YAML does (`"3"` becomes 3, `"true"` becomes true).

pub use crate::model::shared::{Location, Seg};
use serde_json::{Map, Number, Value};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Key(String),
    Index(usize),
    /// `[field=pattern]`; an empty field matches list elements that are scalars.
    Match(String, String),
    All,
}

/// Splits `a.b.[k=v].[x.y].0` into steps, as kyaml's `SmarterPathSplitter`: dots inside brackets
/// do not split, and brackets without `=` only quote a key.
pub fn parse(path: &str) -> Vec<Step> {
    let mut raw = Vec::new();
    let (mut cur, mut depth) = (String::new(), 0usize);
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            '.' if depth == 0 => raw.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    raw.push(cur);
    raw.into_iter()
        .filter(|s| !s.is_empty())
        .map(|seg| match seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(inner) => match inner.split_once('=') {
                Some((k, v)) => Step::Match(k.to_string(), v.to_string()),
                None => Step::Key(inner.to_string()),
            },
            None if seg == "*" => Step::All,
            None => match seg.parse::<usize>() {
                Ok(i) if seg.bytes().all(|b| b.is_ascii_digit()) => Step::Index(i),
                _ => Step::Key(seg),
            },
        })
        .collect()
}

/// The source value at `path` (kyaml `Lookup`): `[k=v]` matches the field's text exactly.
pub fn get<'v>(v: &'v Value, path: &[Step]) -> Option<&'v Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(v);
    };
    let next = match (first, v) {
        (Step::Key(k), Value::Object(m)) => m.get(k)?,
        (Step::All, Value::Object(m)) => m.get("*")?,
        (Step::Index(i), Value::Array(a)) => a.get(*i)?,
        (Step::Match(k, want), Value::Array(a)) => a.iter().find(|e| {
            let field = if k.is_empty() { Some(*e) } else { e.get(k) };
            field.and_then(scalar_text).is_some_and(|t| t == *want)
        })?,
        _ => return None,
    };
    get(next, rest)
}

/// What a created leaf becomes, from the source value's kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Scalar,
    Map,
    List,
}

/// A target found (or created) by [`find`]; `created` leaves have no YAML type yet.
pub struct Target {
    pub at: Location,
    pub created: bool,
}

/// Every location `path` selects in `v`, creating what is missing when `create` is given.
pub fn find(v: &mut Value, path: &[Step], create: Option<Kind>) -> Result<Vec<Target>, String> {
    let mut out = Vec::new();
    walk(v, path, create, &mut Vec::new(), false, &mut out)?;
    Ok(out)
}

/// What kyaml creates for a missing step: a list before an index or `[k=v]`, a map before a
/// key, the source's kind at the end.
fn fresh(next: Option<&Step>, create: Kind) -> Value {
    let kind = match next {
        None => create,
        Some(Step::Index(_) | Step::Match(..)) => Kind::List,
        Some(_) => Kind::Map,
    };
    match kind {
        Kind::Scalar => Value::Null,
        Kind::Map => Value::Object(Map::new()),
        Kind::List => Value::Array(Vec::new()),
    }
}

fn walk(
    v: &mut Value,
    path: &[Step],
    create: Option<Kind>,
    at: &mut Location,
    created: bool,
    out: &mut Vec<Target>,
) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        out.push(Target { at: at.clone(), created });
        return Ok(());
    };
    match first {
        Step::Key(k) => {
            let Value::Object(m) = v else {
                return match create {
                    None => Ok(()),
                    Some(_) => Err(format!("cannot create `{k}` inside {}", describe(v))),
                };
            };
            let mut made = false;
            if !m.contains_key(k) {
                let Some(kind) = create else { return Ok(()) };
                m.insert(k.clone(), fresh(rest.first(), kind));
                made = true;
            }
            at.push(Seg::Key(k.clone()));
            let child = m.get_mut(k).expect("present or just inserted");
            if !made && child.is_null() && !rest.is_empty() {
                return Err(format!("`{k}` is null, so nothing below it can be set"));
            }
            let r = walk(child, rest, create, at, made && rest.is_empty(), out);
            at.pop();
            r
        }
        Step::Index(i) => {
            let a = list(v, first)?;
            if *i == a.len() {
                if let Some(kind) = create {
                    a.push(fresh(rest.first(), kind));
                    at.push(Seg::Index(*i));
                    let r = walk(&mut a[*i], rest, create, at, rest.is_empty(), out);
                    at.pop();
                    return r;
                }
            }
            let len = a.len();
            let e = a.get_mut(*i).ok_or_else(|| format!("index {i} specified but only {len} elements found"))?;
            at.push(Seg::Index(*i));
            let r = walk(e, rest, create, at, false, out);
            at.pop();
            r
        }
        Step::All => {
            let a = list(v, first)?;
            for (i, e) in a.iter_mut().enumerate() {
                at.push(Seg::Index(i));
                let r = walk(e, rest, create, at, false, out);
                at.pop();
                r?;
            }
            Ok(())
        }
        Step::Match(field, pattern) => {
            let re = regex::Regex::new(pattern)
                .map_err(|e| format!("`[{field}={pattern}]` is not a valid regular expression: {e}"))?;
            let a = list(v, first)?;
            let before = out.len();
            match_elements(a, field, &re, rest, create, at, out)?;
            if out.len() > before || create.is_none() {
                return Ok(());
            }
            // Nothing matched: kyaml appends an element holding the pattern as text, then
            // searches again (and finds it, unless the pattern does not match its own text).
            let text = resolve_plain(pattern);
            a.push(match field.is_empty() {
                true => text,
                false => Value::Object([(field.clone(), text)].into_iter().collect()),
            });
            match_elements(a, field, &re, rest, create, at, out)?;
            match out.len() > before {
                true => Ok(()),
                false => Err(format!("`[{field}={pattern}]` does not match the element it created")),
            }
        }
    }
}

fn match_elements(
    a: &mut [Value],
    field: &str,
    re: &regex::Regex,
    rest: &[Step],
    create: Option<Kind>,
    at: &mut Location,
    out: &mut Vec<Target>,
) -> Result<(), String> {
    for (i, e) in a.iter_mut().enumerate() {
        let text = match field.is_empty() {
            true => scalar_text(e),
            false => e.as_object().and_then(|m| m.get(field)).filter(|x| !x.is_null()).and_then(scalar_text),
        };
        if text.is_some_and(|t| re.is_match(&t)) {
            at.push(Seg::Index(i));
            let r = walk(e, rest, create, at, false, out);
            at.pop();
            r?;
        }
    }
    Ok(())
}

fn list<'v>(v: &'v mut Value, step: &Step) -> Result<&'v mut Vec<Value>, String> {
    let shown = describe(v);
    v.as_array_mut().ok_or_else(|| format!("{step:?} needs a list here, found {shown}"))
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "a map",
        Value::Array(_) => "a list",
        Value::Null => "null",
        _ => "a scalar",
    }
}

/// The text of a scalar as YAML holds it; `None` for maps and lists.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".to_string()),
        _ => None,
    }
}

/// The new value of an existing scalar `target` that receives `text`: it keeps its YAML type,
/// and text that type cannot hold is an error (as Kustomize fails decoding it).
pub fn retyped(target: &Value, text: &str) -> Result<Value, String> {
    let resolved = resolve_plain(text);
    let fits = match (target, &resolved) {
        (Value::String(_), _) => return Ok(Value::String(text.to_string())),
        (Value::Number(n), Value::Number(r)) => !(n.is_i64() || n.is_u64()) || r.is_i64() || r.is_u64(),
        (Value::Bool(_), Value::Bool(_)) | (Value::Null, Value::Null) => true,
        _ => false,
    };
    match fits {
        true => Ok(resolved),
        false => Err(format!("`{text}` cannot replace {target}, a value of another type")),
    }
}

/// A plain YAML scalar as Go's yaml.v3 reads it (what kyaml gives an untyped node): null, the
/// booleans true/false, integers (decimal, 0x, 0o, 0b, and leading-zero octal), floats; anything
/// else is a string.
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if !text.starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c)) {
        return Value::String(text.to_string());
    }
    let plain = text.replace('_', "");
    if let Some(i) = go_parse_int(&plain) {
        return Value::Number(i);
    }
    let float = regex_float(&plain);
    match float.then(|| plain.parse::<f64>().ok()).flatten().and_then(Number::from_f64) {
        Some(n) => Value::Number(n),
        None => Value::String(text.to_string()),
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, yaml.v3's float syntax.
fn regex_float(s: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$").expect("static regex")
    })
    .is_match(s)
}

/// Go's `strconv.ParseInt(s, 0, 64)` (then `ParseUint`): sign, then 0x/0o/0b or a leading-0 octal.
fn go_parse_int(s: &str) -> Option<Number> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    match neg {
        false => Some(Number::from(magnitude)),
        true if magnitude <= i64::MAX as u64 + 1 => Some(Number::from((magnitude as i128).wrapping_neg() as i64)),
        true => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_with_selectors_indexes_and_quoted_keys() {
        assert_eq!(
            parse("spec.containers.[name=app].image"),
            vec![
                Step::Key("spec".into()),
                Step::Key("containers".into()),
                Step::Match("name".into(), "app".into()),
                Step::Key("image".into())
            ]
        );
        assert_eq!(parse("metadata.annotations.[a.b/c]")[2], Step::Key("a.b/c".into()));
        assert_eq!(parse("spec.ports.0.port")[2], Step::Index(0));
        assert_eq!(parse("spec.*.x")[1], Step::All);
    }

    #[test]
    fn targets_match_by_unanchored_pattern_and_create_what_is_missing() {
        let mut v = json!({"spec": {"containers": [{"name": "app-main"}, {"name": "web"}]}});
        let hits = find(&mut v, &parse("spec.containers.[name=app].image"), None).unwrap();
        assert_eq!(hits.len(), 0, "no image field and no create");
        let hits = find(&mut v, &parse("spec.containers.[name=app].image"), Some(Kind::Scalar)).unwrap();
        assert_eq!(hits[0].at[2], Seg::Index(0), "`app` matches `app-main`, as in Kustomize");
        find(&mut v, &parse("spec.containers.[name=side].env.[name=E].value"), Some(Kind::Scalar)).unwrap();
        assert_eq!(v["spec"]["containers"][2], json!({"name": "side", "env": [{"name": "E", "value": null}]}));
        let err = find(&mut v, &parse("spec.containers.5.image"), Some(Kind::Scalar)).err().unwrap();
        assert!(err.contains("only 3 elements"), "{err}");
        let hits = find(&mut v, &parse("spec.containers.3.name"), Some(Kind::Scalar)).unwrap();
        assert!(hits[0].created && v["spec"]["containers"][3].is_object());
    }

    #[test]
    fn sources_match_exactly() {
        let v = json!({"spec": {"containers": [{"name": "app-main", "image": "a"}, {"name": "app", "image": "b"}]}});
        assert_eq!(get(&v, &parse("spec.containers.[name=app].image")), Some(&json!("b")));
        assert_eq!(get(&v, &parse("spec.containers.1.image")), Some(&json!("b")));
        assert_eq!(get(&v, &parse("spec.nothing")), None);
    }

    #[test]
    fn scalars_keep_their_type_or_resolve_like_yaml() {
        assert_eq!(retyped(&json!(1), "7").unwrap(), json!(7));
        assert_eq!(retyped(&json!("x"), "7").unwrap(), json!("7"));
        assert_eq!(retyped(&json!(false), "true").unwrap(), json!(true));
        assert!(retyped(&json!(1), "busybox:1").is_err());
        assert!(retyped(&json!(true), "7").is_err());
        assert!(retyped(&json!(null), "7").is_err());
        for (text, want) in [
            ("", json!(null)),
            ("7", json!(7)),
            ("-7", json!(-7)),
            ("0o17", json!(15)),
            ("017", json!(15)),
            ("0x1F", json!(31)),
            ("1_000", json!(1000)),
            ("1.50", json!(1.5)),
            ("08", json!(8.0)),
            ("yes", json!("yes")),
            ("True", json!(true)),
            ("1.2.3", json!("1.2.3")),
            ("-", json!("-")),
        ] {
            assert_eq!(resolve_plain(text), want, "{text:?}");
        }
    }
}
