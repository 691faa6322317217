//! Label selectors (`=`, `==`, `!=`, `in`, `notin`, `key`, `!key`) and the field selectors the
//! server supports (`metadata.name`, `metadata.namespace`, and a few per resource).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq,
    NotEq,
    In,
    NotIn,
    Exists,
    NotExists,
}

#[derive(Debug, Clone, PartialEq)]
struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

/// A parsed label selector; empty matches everything.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabelSelector(Vec<Requirement>);

impl LabelSelector {
    /// Parses the query-string form; errors read like the server's 400 messages.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for part in split_top_level(s) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            reqs.push(parse_requirement(part)?);
        }
        Ok(LabelSelector(reqs))
    }

    /// True if the object's labels satisfy every requirement.
    pub fn matches(&self, labels: Option<&serde_json::Map<String, Value>>) -> bool {
        self.0.iter().all(|r| {
            let v = labels.and_then(|l| l.get(&r.key)).and_then(Value::as_str);
            match r.op {
                Op::Eq | Op::In => v.is_some_and(|v| r.values.iter().any(|x| x == v)),
                Op::NotEq | Op::NotIn => v.map_or(true, |v| r.values.iter().all(|x| x != v)),
                Op::Exists => v.is_some(),
                Op::NotExists => v.is_none(),
            }
        })
    }
}

fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn parse_requirement(part: &str) -> Result<Requirement, String> {
    if let Some(key) = part.strip_prefix('!') {
        return requirement(key.trim(), Op::NotExists, Vec::new());
    }
    for (word, op) in [(" notin ", Op::NotIn), (" in ", Op::In)] {
        if let Some((key, rest)) = part.split_once(word) {
            let rest = rest.trim();
            let inner = rest
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| format!("unable to parse requirement: found '{rest}', expected: '('"))?;
            let values = inner.split(',').map(|v| v.trim().to_string()).collect();
            return requirement(key.trim(), op, values);
        }
    }
    for (sym, op) in [("!=", Op::NotEq), ("==", Op::Eq), ("=", Op::Eq)] {
        if let Some((key, value)) = part.split_once(sym) {
            return requirement(key.trim(), op, vec![value.trim().to_string()]);
        }
    }
    requirement(part, Op::Exists, Vec::new())
}

fn requirement(key: &str, op: Op, values: Vec<String>) -> Result<Requirement, String> {
    if !crate::validation::is_qualified_name(key) {
        return Err(format!(
            "unable to parse requirement: key: Invalid value: {key:?}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ));
    }
    for v in &values {
        if !crate::validation::is_label_value(v) {
            return Err(format!(
                "unable to parse requirement: values[0][{key}]: Invalid value: {v:?}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
            ));
        }
    }
    Ok(Requirement { key: key.to_string(), op, values })
}

/// A parsed field selector.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    /// Parses `a=b,c!=d`; only fields the resource supports are accepted.
    pub fn parse(s: &str, plural: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, eq, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, true, v)
            } else {
                return Err(format!("invalid selector: '{part}'; can't understand '{part}'"));
            };
            let field = field.trim();
            if !supported_field(field, plural) {
                return Err(format!("field label not supported: {field}"));
            }
            out.push((field.to_string(), eq, value.trim().to_string()));
        }
        Ok(FieldSelector(out))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(field, eq, want)| {
            let pointer = format!("/{}", field.replace('.', "/"));
            let got = obj.pointer(&pointer).and_then(Value::as_str).unwrap_or("");
            (got == want) == *eq
        })
    }

    /// The `metadata.name=` value, if the selector pins one (watches of a single object).
    pub fn pinned_name(&self) -> Option<&str> {
        self.0.iter().find(|(f, eq, _)| f == "metadata.name" && *eq).map(|(_, _, v)| v.as_str())
    }
}

fn supported_field(field: &str, plural: &str) -> bool {
    matches!(field, "metadata.name" | "metadata.namespace")
        || match plural {
            "pods" => matches!(
                field,
                "spec.nodeName"
                    | "spec.restartPolicy"
                    | "spec.schedulerName"
                    | "spec.serviceAccountName"
                    | "status.phase"
                    | "status.podIP"
                    | "status.nominatedNodeName"
            ),
            "secrets" => field == "type",
            "namespaces" => field == "status.phase",
            "jobs" => field == "status.successful",
            "events" => field.starts_with("involvedObject.") || matches!(field, "reason" | "source" | "type"),
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_operators() {
        let labels = json!({"app": "web", "tier": "front"});
        let l = labels.as_object();
        let t = |s: &str| LabelSelector::parse(s).unwrap().matches(l);
        assert!(t("app=web"));
        assert!(t("app==web,tier"));
        assert!(t("app!=api"));
        assert!(t("app in (api, web)"));
        assert!(t("app notin (api),!missing"));
        assert!(!t("missing"));
        assert!(!t("!app"));
        assert!(t("missing!=x"));
        assert!(t(""));
        assert!(LabelSelector::parse("a b=c").is_err());
        assert!(LabelSelector::parse("app in web").is_err());
    }

    #[test]
    fn field_selectors() {
        let obj = json!({"metadata": {"name": "web", "namespace": "t"}, "type": "Opaque"});
        assert!(FieldSelector::parse("metadata.name=web", "deployments").unwrap().matches(&obj));
        assert!(!FieldSelector::parse("metadata.name!=web", "deployments").unwrap().matches(&obj));
        assert!(FieldSelector::parse("type=Opaque", "secrets").unwrap().matches(&obj));
        assert_eq!(FieldSelector::parse("spec.x=1", "deployments").unwrap_err(), "field label not supported: spec.x");
        assert_eq!(FieldSelector::parse("metadata.name=web", "x").unwrap().pinned_name(), Some("web"));
    }
}
