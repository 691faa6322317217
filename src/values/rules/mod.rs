//! Kubernetes' rules for the values, checked before anything is rendered or sent, so a render
//! is one the API server accepts and a refusal names the values key, the value and the rule.
//!
//! The rules model kube-apiserver **v1.24** ([`KUBERNETES_VERSION`]), the version whose answers
//! `tests/apiserver/tests/captures` hold. [`RULES`] is the table: each row names the parameters
//! it reads (it runs when the user set one of them), where Kubernetes has the rule, and the
//! check. A parameter added to the table in `schema.rs` gets a row here (the tests list every
//! parameter that has none).
//!
//! Rules that are the cluster's settings or version are warnings, and the server's dry run
//! decides: a node port outside the default `--service-node-port-range` (30000-32767; ports
//! outside 1-65535 are refused), environment variable names that only servers before relaxed
//! validation (1.34) refuse, and the `ReadWriteOncePod` access mode (a feature gate in v1.24).

mod checks;
mod cron;
pub mod k8s;
pub mod objects;
mod pod_objects;
pub mod quantity;
mod table;

pub use objects::Shape;
pub use table::{Check, MapRule, Rule, NO_RULE, RULES};

use super::layers::Found;
use super::{tree, Source, UserValues, ValuesError};
use serde_json::Value;
use std::fmt;

/// The Kubernetes version whose validation the rules (and the test API server) model.
pub const KUBERNETES_VERSION: &str = "v1.24";

/// What a render's values are checked against.
pub struct Context<'a> {
    /// Defaults, preset and the user's values merged.
    pub eff: &'a Value,
    pub user: &'a UserValues,
    /// The overlay as rendered before the values.
    pub found: &'a Found<'a>,
    /// The chart's fullname (the objects' names) and name (the `app.kubernetes.io/name` label).
    pub fullname: &'a str,
    pub name: &'a str,
}

impl Context<'_> {
    pub fn get(&self, key: &str) -> &Value {
        tree::get(self.eff, &tree::split(key)).unwrap_or(&Value::Null)
    }
    pub fn str(&self, key: &str) -> &str {
        self.get(key).as_str().unwrap_or("")
    }
    pub fn on(&self, key: &str) -> bool {
        self.get(key).as_bool().unwrap_or(false)
    }
    pub fn touched(&self, key: &str) -> bool {
        self.user.touched(key)
    }
    pub fn is_deployment(&self) -> bool {
        self.found.kind == super::presets::Workload::Deployment
    }
    /// The Service's type after the values: the user's, else what the overlay renders.
    pub fn service_type(&self) -> String {
        super::layers::service_type(self.user, self.eff, self.found.set)
    }
    /// Whether the render has a Service named after the chart.
    pub fn has_service(&self) -> bool {
        self.is_deployment()
            && self.get("service.enabled").as_bool() != Some(false)
            && self.found.set.iter().any(|r| r.kind() == "Service")
    }
    /// The rendered container the values act on.
    pub fn container(&self) -> Value {
        let pod = super::layers::pod_spec(self.found.workload.body(), self.found.kind);
        pod["containers"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == self.found.container.as_str()))
            .cloned()
            .unwrap_or(Value::Null)
    }
    /// A value after the values layer: the user's when they set `key`, else what is rendered.
    pub fn rendered_or_set<'v>(&'v self, key: &str, rendered: &'v Value) -> &'v Value {
        match self.touched(key) {
            true => self.get(key),
            false => rendered,
        }
    }
}

/// A warning: the render goes ahead and the API server decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub key: String,
    pub message: String,
    pub origin: Source,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "warning: {}: `{}`: {}", self.origin, self.key, self.message)
    }
}

/// What the rules found: the first refusal ends the check.
pub struct Report<'c> {
    cx: Option<&'c Context<'c>>,
    refusal: Option<ValuesError>,
    pub warnings: Vec<Warning>,
}

impl<'c> Report<'c> {
    fn new(cx: &'c Context<'c>) -> Self {
        Report { cx: Some(cx), refusal: None, warnings: Vec::new() }
    }

    /// A report with no values context (tests of single checks).
    pub fn detached() -> Report<'static> {
        Report { cx: None, refusal: None, warnings: Vec::new() }
    }

    /// Refuses `value` at `key` (a parameter, or a path below one such as `container.env[0].name`):
    /// the Kubernetes `field` it would become does not take it, for `rule`.
    pub fn refuse(&mut self, key: &str, value: &Value, field: &str, rule: &str) {
        self.refuse_shown(key, shown(key, value), field, rule);
    }

    /// Refuses a map key or other name, shown even under `secret.` (names are not secret).
    pub fn refuse_name(&mut self, key: &str, name: &str, field: &str, rule: &str) {
        self.refuse_shown(key, format!("`{name}`"), field, rule);
    }

    fn refuse_shown(&mut self, key: &str, shown: String, field: &str, rule: &str) {
        if self.refusal.is_some() {
            return;
        }
        self.refusal = Some(ValuesError::Invalid {
            key: key.to_string(),
            reason: format!("{shown} cannot be {field} in Kubernetes {KUBERNETES_VERSION}: {rule}"),
            origin: self.origin(key),
        });
    }

    pub fn warn(&mut self, key: &str, message: &str) {
        let origin = self.origin(key);
        self.warnings.push(Warning { key: key.to_string(), message: message.to_string(), origin });
    }

    pub fn refused(&self) -> bool {
        self.refusal.is_some()
    }

    /// The refusal, if any.
    pub fn into_result(self) -> Result<Vec<Warning>, ValuesError> {
        match self.refusal {
            Some(e) => Err(e),
            None => Ok(self.warnings),
        }
    }

    /// Where the parameter holding `key` came from (its file and line, or its flag).
    fn origin(&self, key: &str) -> Source {
        let Some(cx) = self.cx else { return Source::Default };
        let mut k = key;
        loop {
            // An entry of a map parameter (`secret.data.token`) has its own line.
            if let Some(s) = cx.user.entry_sources.get(k).or_else(|| cx.user.source(k)) {
                return s.clone();
            }
            match k.rfind(['.', '[']) {
                Some(i) => k = &k[..i],
                None => return Source::Default,
            }
        }
    }
}

/// A value for a message: quoted text, or `(value hidden)` for Secret data.
fn shown(key: &str, value: &Value) -> String {
    if key.starts_with("secret.") {
        return "the value (hidden)".into();
    }
    match value {
        Value::String(s) => format!("`{s}`"),
        Value::Null => "null".into(),
        Value::Array(_) | Value::Object(_) => {
            let text = value.to_string();
            match text.chars().count() > 120 {
                true => format!("`{}...`", text.chars().take(117).collect::<String>()),
                false => format!("`{text}`"),
            }
        }
        other => format!("`{other}`"),
    }
}

/// Runs every rule whose parameters the user set; the first refusal is the error.
pub fn check(cx: &Context) -> Result<Vec<Warning>, ValuesError> {
    let mut report = Report::new(cx);
    for rule in RULES {
        if !rule.keys.iter().any(|k| cx.touched(k)) {
            continue;
        }
        rule.check.run(rule.keys, cx, &mut report);
        if report.refused() {
            break;
        }
    }
    report.into_result()
}

#[cfg(test)]
mod tests;

/// The Kubernetes type of a list or object parameter, for generated inputs and the tests.
pub fn shape_of(key: &str) -> Option<Shape> {
    RULES.iter().find_map(|r| match r.check {
        Check::Object(shape) if r.keys.first() == Some(&key) => Some(shape),
        _ => None,
    })
}
