//! The final order. Kustomize's default is its "legacy" order: kinds with dependents first
//! (Namespace, ServiceAccount, ConfigMap, Service, ... Deployment), webhooks last, the rest by
//! group/version/kind, then by namespace and name. `sortOptions: {order: fifo}` keeps load order.

use super::OverlayError;
use crate::load::kustomization::SortOptions;
use crate::model::{Gvk, ResId, ResourceSet};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::Path;

pub const DEFAULT_ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
pub const DEFAULT_ORDER_LAST: &[&str] = &["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"];

pub fn apply(set: &mut ResourceSet, opts: Option<&SortOptions>, file: &Path) -> Result<(), OverlayError> {
    let order = opts.and_then(|o| o.order.as_deref()).unwrap_or("legacy");
    let bad = |message: String| OverlayError::Transformer { file: file.to_path_buf(), message };
    match order {
        "fifo" => {
            if opts.is_some_and(|o| o.legacy_sort_options.is_some()) {
                return Err(bad("sortOptions.legacySortOptions is set but the order is fifo, not legacy".into()));
            }
            Ok(())
        }
        "legacy" => {
            let legacy = opts.and_then(|o| o.legacy_sort_options.as_ref());
            let first: Vec<&str> = legacy
                .map(|l| l.order_first.iter().map(String::as_str).collect())
                .unwrap_or_else(|| DEFAULT_ORDER_FIRST.to_vec());
            let last: Vec<&str> = legacy
                .map(|l| l.order_last.iter().map(String::as_str).collect())
                .unwrap_or_else(|| DEFAULT_ORDER_LAST.to_vec());
            let mut rank: HashMap<&str, i64> = HashMap::new();
            for (i, k) in first.iter().enumerate() {
                rank.insert(k, i as i64 - first.len() as i64);
            }
            for (i, k) in last.iter().enumerate() {
                rank.insert(k, 1 + i as i64);
            }
            // Keys are computed once, not per comparison.
            let mut keyed: Vec<(i64, String, String, usize)> = set
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let id = r.id();
                    (rank.get(id.gvk.kind.as_str()).copied().unwrap_or(0), gvk_key(&id.gvk), id_key(&id), i)
                })
                .collect();
            keyed.sort_by(|a, b| {
                a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)).then_with(|| a.2.cmp(&b.2)).then(Ordering::Equal)
            });
            let mut items: Vec<Option<crate::model::Resource>> = std::mem::take(set).into_iter().map(Some).collect();
            *set = keyed.into_iter().filter_map(|(_, _, _, i)| items[i].take()).collect();
            Ok(())
        }
        other => Err(bad(format!("sortOptions.order must be legacy or fifo, not `{other}`"))),
    }
}

fn gvk_key(g: &Gvk) -> String {
    format!("{}_{}_{}", or(&g.group, "~G"), or(&g.version, "~V"), or(&g.kind, "~K"))
}

fn id_key(id: &ResId) -> String {
    let g = &id.gvk;
    let (kind, version, group) = (or(&g.kind, "[noKind]"), or(&g.version, "[noVer]"), or(&g.group, "[noGrp]"));
    format!("{kind}.{version}.{group}|{}|{}", or(&id.namespace, "~X"), or(&id.name, "~N"))
}

/// `s`, or Kustomize's placeholder for it when empty.
fn or<'a>(s: &'a str, placeholder: &'a str) -> &'a str {
    if s.is_empty() {
        placeholder
    } else {
        s
    }
}
