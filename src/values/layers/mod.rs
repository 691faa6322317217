//! Turns the keys a user set into one generated kustomization layer: components from
//! overlays/components for optional pieces, and strategic-merge patches for everything else.
//!
//! The layer is built on top of an already rendered overlay (`below`), so patches name their
//! resources exactly, and lists that strategic merge would replace (tolerations) are merged here
//! with what the overlay already has.
//!
//! Split by concern: [`context`] is the patch under construction and what the values act on,
//! [`validate`] refuses combinations the chart cannot mean, [`container`] and [`workload`] patch
//! the one workload (its container, its pod, its kind's own fields), [`objects`] the objects
//! around it (Service, HPA, Ingress, PVC, ConfigMap, Secret, ServiceAccount).

mod container;
mod context;
mod objects;
mod validate;
mod workload;

pub use container::image_ref;
pub use objects::{node_port_number, service_type};

use super::checksum::Key;
use super::presets::Workload;
use super::{UserValues, ValuesError};
use crate::model::{Resource, ResourceSet};
use context::Ctx;
use serde_json::Value;

/// The generated layer, and for `--explain` what each group of keys produced.
pub struct Layer {
    /// Absolute paths of built-in components.
    pub components: Vec<String>,
    /// `patches` entries of the generated kustomization.
    pub patches: Vec<Value>,
    pub explain: Vec<Effect>,
}

/// One patch and the keys that caused it.
pub struct Effect {
    pub keys: Vec<String>,
    pub resource: String,
    pub patch: Value,
}

/// The pieces of the rendered overlay the values refer to.
pub struct Found<'a> {
    pub workload: &'a Resource,
    pub kind: Workload,
    pub container: String,
    pub set: &'a ResourceSet,
}

/// Finds the one workload (Deployment, Job or CronJob) labelled `app.kubernetes.io/name: <name>`.
pub fn find_workload<'a>(set: &'a ResourceSet, name: &str) -> Result<Found<'a>, String> {
    let candidates: Vec<&Resource> = set
        .iter()
        .filter(|r| Workload::from_kind(r.kind()).is_some())
        .filter(|r| r.labels().and_then(|l| l.get("app.kubernetes.io/name")).and_then(Value::as_str) == Some(name))
        .collect();
    let workload = match candidates.as_slice() {
        [one] => *one,
        [] => {
            let all: Vec<String> =
                set.iter().filter(|r| Workload::from_kind(r.kind()).is_some()).map(|r| r.id().to_string()).collect();
            return Err(format!(
                "no Deployment, Job or CronJob is labelled app.kubernetes.io/name={name} (workloads: {})",
                if all.is_empty() { "none".to_string() } else { all.join(", ") }
            ));
        }
        many => {
            return Err(format!(
                "several workloads are labelled app.kubernetes.io/name={name}: {}; values need exactly one",
                many.iter().map(|r| r.id().to_string()).collect::<Vec<_>>().join(", ")
            ))
        }
    };
    let kind = Workload::from_kind(workload.kind()).expect("filtered on workload kinds");
    let containers = pod_spec(workload.body(), kind)["containers"].as_array().cloned().unwrap_or_default();
    let container = containers
        .iter()
        .find(|c| c["name"] == name)
        .or_else(|| containers.first())
        .and_then(|c| c["name"].as_str())
        .unwrap_or(name)
        .to_string();
    Ok(Found { workload, kind, container, set })
}

/// The pod spec inside a workload body.
pub fn pod_spec(body: &Value, kind: Workload) -> &Value {
    match kind {
        Workload::CronJob => &body["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        _ => &body["spec"]["template"]["spec"],
    }
}

/// An int-or-string field's value: a string of digits becomes the number it spells, as the
/// chart's templates render it (`targetPort: "9000"` is port 9000); names (`http`) and
/// percentages (`25%`) stay strings.
pub fn int_or_string(v: &Value) -> Value {
    match v {
        Value::String(s) if !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<i64>().map(Value::from).unwrap_or_else(|_| v.clone())
        }
        other => other.clone(),
    }
}

/// Builds the values layer. `eff` is defaults, preset and user merged; only `user`'s keys act.
/// `key` keys the `checksum/secret` annotation ([`super::checksum`]).
pub fn build(found: &Found, eff: &Value, user: &UserValues, key: Option<&Key>) -> Result<Layer, ValuesError> {
    let out = Layer { components: Vec::new(), patches: Vec::new(), explain: Vec::new() };
    let mut cx = Ctx { eff, user, found, key, out };
    validate::validate(&cx)?;
    container::image(&mut cx);
    container::container(&mut cx);
    container::resources_and_scheduling(&mut cx);
    container::probes(&mut cx);
    workload::pod(&mut cx);
    workload::deployment(&mut cx);
    workload::job(&mut cx);
    workload::cronjob(&mut cx);
    objects::service(&mut cx);
    objects::autoscaling(&mut cx);
    objects::ingress(&mut cx);
    objects::persistence(&mut cx);
    objects::config_and_secret(&mut cx)?;
    objects::disable_present(&mut cx);
    objects::service_account(&mut cx);
    Ok(cx.out)
}
