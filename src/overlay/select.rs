//! Choosing resources: patch `target`s, replacement `select`/`reject`, and label selectors.
//!
//! As in Kustomize, group/version/kind/name/namespace are anchored regular expressions, a name
//! or namespace matches if either the original or the current one does, and an empty namespace
//! counts as `default`.

use crate::load::kustomization::Selector;
use crate::model::{ResId, Resource};
use regex::Regex;
use serde_json::{Map, Value};

/// A compiled [`Selector`].
pub struct Matcher {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Option<LabelSelector>,
    annotations: Option<LabelSelector>,
}

fn anchored(field: &str, pattern: &Option<String>) -> Result<Option<Regex>, String> {
    match pattern.as_deref() {
        None | Some("") => Ok(None),
        Some(p) => Regex::new(&format!("^(?:{p})$"))
            .map(Some)
            .map_err(|e| format!("target {field} `{p}` is not a valid regular expression: {e}")),
    }
}

impl Matcher {
    pub fn new(s: &Selector) -> Result<Matcher, String> {
        Ok(Matcher {
            group: anchored("group", &s.group)?,
            version: anchored("version", &s.version)?,
            kind: anchored("kind", &s.kind)?,
            name: anchored("name", &s.name)?,
            namespace: anchored("namespace", &s.namespace)?,
            labels: s.label_selector.as_deref().filter(|l| !l.is_empty()).map(LabelSelector::parse).transpose()?,
            annotations: s
                .annotation_selector
                .as_deref()
                .filter(|l| !l.is_empty())
                .map(LabelSelector::parse)
                .transpose()?,
        })
    }

    pub fn matches(&self, r: &Resource) -> bool {
        // Read from the body and the history in place: this runs for every resource and target.
        let cur = r.id_ref();
        let org = r.prev_ids().first().map_or(cur, ResId::borrowed);
        let hit = |re: &Option<Regex>, a: &str, b: &str| re.as_ref().is_none_or(|re| re.is_match(a) || re.is_match(b));
        let one = |re: &Option<Regex>, a: &str| re.as_ref().is_none_or(|re| re.is_match(a));
        hit(&self.namespace, org.namespace, cur.namespace)
            && hit(&self.name, org.name, cur.name)
            && one(&self.group, cur.group)
            && one(&self.version, cur.version)
            && one(&self.kind, cur.kind)
            && self.labels.as_ref().is_none_or(|s| s.matches(r.labels()))
            && self.annotations.as_ref().is_none_or(|s| s.matches(r.annotations()))
    }
}

impl Matcher {
    /// Replacement targets: one of the resource's ids, current or earlier, matches group,
    /// version, kind, name and namespace together (the namespace as written, not `default`),
    /// and the labels and annotations match.
    pub fn matches_any_id(&self, r: &Resource) -> bool {
        let one = |re: &Option<Regex>, a: &str| re.as_ref().is_none_or(|re| re.is_match(a));
        r.all_ids().any(|id| {
            one(&self.group, &id.gvk.group)
                && one(&self.version, &id.gvk.version)
                && one(&self.kind, &id.gvk.kind)
                && one(&self.name, &id.name)
                && one(&self.namespace, &id.namespace)
        }) && self.labels.as_ref().is_none_or(|s| s.matches(r.labels()))
            && self.annotations.as_ref().is_none_or(|s| s.matches(r.annotations()))
    }

    /// A replacement `reject`: like [`Matcher::matches_any_id`]; a reject that names nothing
    /// rejects nothing.
    pub fn rejects(&self, r: &Resource) -> bool {
        let empty = [&self.group, &self.version, &self.kind, &self.name, &self.namespace].iter().all(|x| x.is_none())
            && self.labels.is_none()
            && self.annotations.is_none();
        !empty && self.matches_any_id(r)
    }
}

/// A Kubernetes label selector: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelSelector {
    reqs: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl LabelSelector {
    pub fn parse(text: &str) -> Result<LabelSelector, String> {
        let mut reqs = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let bad = || format!("invalid label selector `{text}` near `{part}`");
            let req = if let Some(key) = part.strip_prefix('!') {
                Requirement::NotExists(key.trim().to_string())
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotIn(k.trim().to_string(), vec![v.trim().to_string()])
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::In(k.trim().to_string(), vec![v.trim().to_string()])
            } else if let Some((k, set)) = split_set_op(part, " notin ") {
                Requirement::NotIn(k, set.ok_or_else(bad)?)
            } else if let Some((k, set)) = split_set_op(part, " in ") {
                Requirement::In(k, set.ok_or_else(bad)?)
            } else if part.chars().all(|c| c.is_alphanumeric() || "-_./".contains(c)) {
                Requirement::Exists(part.to_string())
            } else {
                return Err(bad());
            };
            reqs.push(req);
        }
        Ok(LabelSelector { reqs })
    }

    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).map(value_text);
        self.reqs.iter().all(|req| match req {
            Requirement::In(k, vs) => get(k).is_some_and(|v| vs.contains(&v)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|v| !vs.contains(&v)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

fn split_set_op(part: &str, op: &str) -> Option<(String, Option<Vec<String>>)> {
    let (k, rest) = part.split_once(op)?;
    let rest = rest.trim();
    let set = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .map(|inner| inner.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect());
    Some((k.trim().to_string(), set))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn label_selector_operators() {
        let l = labels(json!({"app": "web", "tier": "front"}));
        for (sel, want) in [
            ("app=web", true),
            ("app==web,tier=front", true),
            ("app!=web", false),
            ("app in (web, api)", true),
            ("tier notin (front)", false),
            ("app", true),
            ("!missing", true),
            ("!app", false),
            ("missing!=x", true),
        ] {
            assert_eq!(LabelSelector::parse(sel).unwrap().matches(Some(&l)), want, "{sel}");
        }
        assert!(LabelSelector::parse("app in web").is_err());
    }

    #[test]
    fn targets_are_anchored_regexes_on_original_or_current_names() {
        let mut r =
            Resource::new(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}), "t");
        r.store_previous_id();
        r.set_name("p-web");
        let sel = |name: &str, kind: &str| Selector {
            name: Some(name.into()),
            kind: Some(kind.into()),
            ..Default::default()
        };
        assert!(Matcher::new(&sel("web", "Deployment|Job")).unwrap().matches(&r));
        assert!(Matcher::new(&sel("p-web", "Deployment")).unwrap().matches(&r));
        assert!(!Matcher::new(&sel("we", "Deployment")).unwrap().matches(&r));
        let ns = Selector { namespace: Some("default".into()), ..Default::default() };
        assert!(Matcher::new(&ns).unwrap().matches(&r));
    }
}
