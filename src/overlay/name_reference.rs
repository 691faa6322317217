//! Repairs references after renames (prefix, suffix, namespace, hash): a Deployment that mounts
//! ConfigMap `cfg` must mount `p-cfg-5fk2h8` once the ConfigMap is called that.
//!
//! Runs once, at the top, after hashing. Follows Kustomize's rules: candidates are resources whose
//! *previous* ids carry the referenced name and the referenced kind, in a namespace the referrer
//! can see; ties are broken by equal prefixes/suffixes; a remaining tie is an error.

use super::field_specs::{split_path, FieldSpec};
use super::OverlayError;
use crate::model::{Gvk, ResId, Resource, ResourceSet};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// A kind that can be referred to, and the fields that refer to it, built the first time a
/// render holds an object of that kind: most renders hold a few of these kinds, and building
/// every table entry (a path split per field) was a seventh of a small render's instructions.
struct BackRef {
    kind: &'static str,
    group: Option<&'static str>,
    referrers: fn() -> Vec<FieldSpec>,
}

const POD_WORKLOADS: &[(&str, &str)] = &[
    ("Pod", "spec/"),
    ("PodTemplate", "template/spec/"),
    ("Deployment", "spec/template/spec/"),
    ("ReplicaSet", "spec/template/spec/"),
    ("DaemonSet", "spec/template/spec/"),
    ("StatefulSet", "spec/template/spec/"),
    ("Job", "spec/template/spec/"),
    ("CronJob", "spec/jobTemplate/spec/template/spec/"),
];

const WORKLOADS_WITH_RC: &[&str] = &["Pod", "StatefulSet", "Deployment", "CronJob", "Job", "DaemonSet"];

fn spec(kind: &str, path: &str) -> FieldSpec {
    FieldSpec {
        kind: Some(kind.to_string()),
        group: None,
        version: None,
        path: split_path(path),
        create: false,
        lists: vec![],
    }
}

fn pod_refs(paths: &[&str], kinds: &[&str]) -> Vec<FieldSpec> {
    POD_WORKLOADS
        .iter()
        .filter(|(k, _)| kinds.is_empty() || kinds.contains(k))
        .flat_map(|(k, prefix)| paths.iter().map(move |p| spec(k, &format!("{prefix}{p}"))))
        .collect()
}

/// Field specs from (kind, path) pairs.
fn specs(list: &[(&str, &str)]) -> Vec<FieldSpec> {
    list.iter().map(|(kind, path)| spec(kind, path)).collect()
}

/// `paths` under every pod spec, then the `others`.
fn pod_refs_and(paths: &[&str], others: &[(&str, &str)]) -> Vec<FieldSpec> {
    let mut v = pod_refs(paths, &[]);
    v.extend(specs(others));
    v
}

/// `path` under the pod spec of the workloads that have one, ReplicationController included.
fn with_rc(path: &str) -> Vec<FieldSpec> {
    let mut v: Vec<FieldSpec> = pod_refs(&[path], WORKLOADS_WITH_RC);
    v.push(spec("ReplicationController", &format!("spec/template/spec/{path}")));
    v
}

fn hpa_refs() -> Vec<FieldSpec> {
    specs(&[("HorizontalPodAutoscaler", "spec/scaleTargetRef/name")])
}

fn config_map_refs() -> Vec<FieldSpec> {
    pod_refs_and(
        &[
            "volumes/configMap/name",
            "containers/env/valueFrom/configMapKeyRef/name",
            "initContainers/env/valueFrom/configMapKeyRef/name",
            "containers/envFrom/configMapRef/name",
            "initContainers/envFrom/configMapRef/name",
            "volumes/projected/sources/configMap/name",
        ],
        &[
            ("Node", "spec/configSource/configMap"),
            ("Role", "rules/resourceNames"),
            ("ClusterRole", "rules/resourceNames"),
            ("Ingress", r"metadata/annotations/nginx.ingress.kubernetes.io\/fastcgi-params-configmap"),
        ],
    )
}

fn secret_refs() -> Vec<FieldSpec> {
    pod_refs_and(
        &[
            "volumes/secret/secretName",
            "containers/env/valueFrom/secretKeyRef/name",
            "initContainers/env/valueFrom/secretKeyRef/name",
            "containers/envFrom/secretRef/name",
            "initContainers/envFrom/secretRef/name",
            "imagePullSecrets/name",
            "volumes/projected/sources/secret/name",
        ],
        &[
            ("Ingress", "spec/tls/secretName"),
            ("Ingress", r"metadata/annotations/ingress.kubernetes.io\/auth-secret"),
            ("Ingress", r"metadata/annotations/nginx.ingress.kubernetes.io\/auth-secret"),
            ("Ingress", r"metadata/annotations/nginx.ingress.kubernetes.io\/auth-tls-secret"),
            ("ServiceAccount", "imagePullSecrets/name"),
            ("StorageClass", "parameters/secretName"),
            ("StorageClass", "parameters/adminSecretName"),
            ("StorageClass", "parameters/userSecretName"),
            ("StorageClass", "parameters/secretRef"),
            ("Role", "rules/resourceNames"),
            ("ClusterRole", "rules/resourceNames"),
            ("PersistentVolume", "spec/azureFile/secretName"),
        ],
    )
}

fn service_refs() -> Vec<FieldSpec> {
    specs(&[
        ("StatefulSet", "spec/serviceName"),
        ("Ingress", "spec/rules/http/paths/backend/serviceName"),
        ("Ingress", "spec/backend/serviceName"),
        ("Ingress", "spec/rules/http/paths/backend/service/name"),
        ("Ingress", "spec/defaultBackend/service/name"),
        ("APIService", "spec/service/name"),
        ("ValidatingWebhookConfiguration", "webhooks/clientConfig/service"),
        ("MutatingWebhookConfiguration", "webhooks/clientConfig/service"),
        ("HTTPRoute", "spec/rules/backendRefs/name"),
    ])
}

fn service_account_refs() -> Vec<FieldSpec> {
    let mut service_account = specs(&[("RoleBinding", "subjects"), ("ClusterRoleBinding", "subjects")]);
    service_account.extend(with_rc("serviceAccountName"));
    service_account
}

const TABLE: &[BackRef] = &[
    BackRef { kind: "Deployment", group: None, referrers: hpa_refs },
    BackRef { kind: "ReplicationController", group: None, referrers: hpa_refs },
    BackRef { kind: "ReplicaSet", group: None, referrers: hpa_refs },
    BackRef { kind: "StatefulSet", group: None, referrers: hpa_refs },
    BackRef { kind: "ConfigMap", group: Some(""), referrers: config_map_refs },
    BackRef { kind: "Secret", group: Some(""), referrers: secret_refs },
    BackRef { kind: "Service", group: Some(""), referrers: service_refs },
    BackRef {
        kind: "Role",
        group: Some("rbac.authorization.k8s.io"),
        referrers: || specs(&[("RoleBinding", "roleRef/name")]),
    },
    BackRef {
        kind: "ClusterRole",
        group: Some("rbac.authorization.k8s.io"),
        referrers: || specs(&[("RoleBinding", "roleRef/name"), ("ClusterRoleBinding", "roleRef/name")]),
    },
    BackRef { kind: "ServiceAccount", group: Some(""), referrers: service_account_refs },
    BackRef {
        kind: "PersistentVolumeClaim",
        group: Some(""),
        referrers: || with_rc("volumes/persistentVolumeClaim/claimName"),
    },
    BackRef {
        kind: "PersistentVolume",
        group: Some(""),
        referrers: || specs(&[("PersistentVolumeClaim", "spec/volumeName"), ("ClusterRole", "rules/resourceNames")]),
    },
    BackRef {
        kind: "StorageClass",
        group: Some("storage.k8s.io"),
        referrers: || {
            specs(&[
                ("PersistentVolume", "spec/storageClassName"),
                ("PersistentVolumeClaim", "spec/storageClassName"),
                ("StatefulSet", "spec/volumeClaimTemplates/spec/storageClassName"),
            ])
        },
    },
    BackRef { kind: "PriorityClass", group: Some("scheduling.k8s.io"), referrers: || with_rc("priorityClassName") },
];

/// The referring fields of `TABLE[i]`, built once per process.
fn referrers(i: usize) -> &'static [FieldSpec] {
    static BUILT: [OnceLock<Vec<FieldSpec>>; TABLE.len()] = [const { OnceLock::new() }; TABLE.len()];
    BUILT[i].get_or_init(TABLE[i].referrers)
}

fn selected(id: &ResId, kind: &str, group: Option<&str>) -> bool {
    id.gvk.kind == kind && group.is_none_or(|g| id.gvk.group == g)
}

pub fn fix(set: &mut ResourceSet) -> Result<(), OverlayError> {
    // Snapshot what candidates need (ids, names, prefixes) so referrers can be edited in place.
    let snapshot: Vec<Candidate> = set.iter().map(Candidate::of).collect();
    // Candidates by each name they have had, so a lookup costs the few same-named resources.
    let mut by_prev_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in snapshot.iter().enumerate() {
        let mut names: Vec<&str> = c.prev.iter().map(|p| p.name.as_str()).collect();
        names.dedup();
        for n in names {
            by_prev_name.entry(n).or_default().push(i);
        }
    }
    // A reference changes only to a candidate of the kind it refers to: the kinds no object of
    // the render has ever been are skipped whole (their fields are not walked, their table entry
    // not built), which changes nothing.
    let wanted: Vec<(&BackRef, &[FieldSpec])> = TABLE
        .iter()
        .enumerate()
        .filter(|(_, back)| snapshot.iter().any(|c| c.prev.iter().any(|p| selected(p, back.kind, back.group))))
        .map(|(i, back)| (back, referrers(i)))
        .collect();
    for (ri, res) in set.iter_mut().enumerate() {
        let referrer_org = res.org_id();
        let visible = Visibility::of(res);
        let role_ref = res.body().get("roleRef").map(|r| Gvk {
            group: r["apiGroup"].as_str().unwrap_or("").to_string(),
            version: String::new(),
            kind: r["kind"].as_str().unwrap_or("").to_string(),
        });
        for &(back, specs) in &wanted {
            for spec in specs.iter().filter(|s| s.applies_to(&referrer_org.gvk)) {
                let ctx = Ctx {
                    back,
                    visible: &visible,
                    by_prev_name: &by_prev_name,
                    snapshot: &snapshot,
                    referrer: &snapshot[ri],
                    spec,
                    role_ref: role_ref.clone(),
                };
                let mut result = Ok(());
                super::field_specs::visit(res.body_mut(), spec, &|| Value::Null, &mut |node| {
                    if result.is_ok() {
                        result = ctx.update(node);
                    }
                });
                result?;
            }
        }
    }
    Ok(())
}

struct Candidate {
    cur: ResId,
    prev: Vec<ResId>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl Candidate {
    fn of(r: &Resource) -> Candidate {
        Candidate {
            cur: r.id(),
            prev: r.prev_ids().to_vec(),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
        }
    }
}

/// Which resources a referrer may point at: cluster-scoped ones, its own namespace, and (for
/// RoleBindings) the namespaces its subjects name.
struct Visibility {
    everything: bool,
    namespace: String,
    subject_namespaces: HashSet<String>,
}

impl Visibility {
    fn of(referrer: &Resource) -> Visibility {
        let id = referrer.id();
        let subject_namespaces = match referrer.body().get("subjects") {
            Some(Value::Array(s)) if matches!(id.gvk.kind.as_str(), "RoleBinding" | "ClusterRoleBinding") => {
                s.iter().filter_map(|x| x["namespace"].as_str().map(str::to_string)).collect()
            }
            _ => HashSet::new(),
        };
        Visibility {
            everything: id.gvk.is_cluster_scoped(),
            namespace: id.effective_namespace().to_string(),
            subject_namespaces,
        }
    }

    fn sees(&self, c: &ResId) -> bool {
        self.everything
            || c.gvk.is_cluster_scoped()
            || c.effective_namespace() == self.namespace
            || self.subject_namespaces.contains(&c.namespace)
    }
}

struct Ctx<'a> {
    back: &'a BackRef,
    visible: &'a Visibility,
    by_prev_name: &'a HashMap<&'a str, Vec<usize>>,
    snapshot: &'a [Candidate],
    referrer: &'a Candidate,
    spec: &'a FieldSpec,
    /// The referrer's `roleRef` apiGroup and kind, when it has one.
    role_ref: Option<Gvk>,
}

impl Ctx<'_> {
    fn update(&self, node: &mut Value) -> Result<(), OverlayError> {
        match node {
            Value::String(_) => self.set_scalar(node),
            Value::Object(_) => self.set_mapping(node),
            Value::Array(items) => {
                for item in items.iter_mut() {
                    match item {
                        Value::String(_) => self.set_scalar(item)?,
                        Value::Object(_) => self.set_mapping(item)?,
                        _ => {}
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn set_scalar(&self, node: &mut Value) -> Result<(), OverlayError> {
        let Value::String(old) = node else {
            return Ok(());
        };
        if let Some(c) = self.select(old, None, false)? {
            *node = Value::String(self.snapshot[c].cur.name.clone());
        }
        Ok(())
    }

    fn set_mapping(&self, node: &mut Value) -> Result<(), OverlayError> {
        let Some(old) = node.get("name").and_then(Value::as_str).map(str::to_string) else {
            return Ok(());
        };
        let ns = node.get("namespace").and_then(Value::as_str).map(str::to_string);
        let Some(c) = self.select(&old, ns.as_deref(), true)? else {
            return Ok(());
        };
        let cur = &self.snapshot[c].cur;
        if let Some(m) = node.as_object_mut() {
            m.insert("name".into(), Value::String(cur.name.clone()));
            if !cur.namespace.is_empty() {
                m.insert("namespace".into(), Value::String(cur.namespace.clone()));
            }
        }
        Ok(())
    }

    /// `ns`: the namespace a map-shaped reference names; candidates are matched on their
    /// original namespace, or if none matches, on their current one.
    fn select(&self, old: &str, ns: Option<&str>, with_ns: bool) -> Result<Option<usize>, OverlayError> {
        let role_ref_kind = self.role_ref_gvk();
        let pool = self.by_prev_name.get(old).map(Vec::as_slice).unwrap_or(&[]);
        let visible: Vec<usize> = pool.iter().copied().filter(|&i| self.visible.sees(&self.snapshot[i].cur)).collect();
        let pool: Vec<usize> = match ns {
            None => visible,
            Some(ns) => {
                let by_org: Vec<usize> = visible.iter().copied().filter(|&i| org_ns(&self.snapshot[i]) == ns).collect();
                if by_org.is_empty() {
                    visible.into_iter().filter(|&i| self.snapshot[i].cur.effective_namespace() == ns).collect()
                } else {
                    by_org
                }
            }
        };
        let mut hits: Vec<usize> = pool
            .into_iter()
            .filter(|&i| {
                let c = &self.snapshot[i];
                c.prev.iter().any(|p| p.name == old)
                    && c.prev.iter().any(|p| selected(p, self.back.kind, self.back.group))
                    && role_ref_kind
                        .is_none_or(|g| c.prev.iter().any(|p| p.gvk.kind == g.kind && p.gvk.group == g.group))
            })
            .collect();
        if hits.len() > 1 {
            hits.retain(|&i| {
                self.snapshot[i].prefixes == self.referrer.prefixes
                    && self.snapshot[i].suffixes == self.referrer.suffixes
            });
        }
        match hits.len() {
            0 => Ok(None),
            1 => Ok(Some(hits[0])),
            _ => {
                let first = &self.snapshot[hits[0]].cur;
                let same = hits.iter().all(|&i| {
                    let c = &self.snapshot[i].cur;
                    c.name == first.name && (!with_ns || c.namespace == first.namespace)
                });
                if same {
                    return Ok(Some(hits[0]));
                }
                Err(OverlayError::AmbiguousReference {
                    referrer: self.referrer.cur.clone(),
                    path: self.spec.path.join("."),
                    name: old.to_string(),
                    candidates: hits.iter().map(|&i| self.snapshot[i].cur.to_string()).collect::<Vec<_>>().join(", "),
                })
            }
        }
    }

    /// For `roleRef/name`, only objects of the kind the roleRef names qualify.
    fn role_ref_gvk(&self) -> Option<&Gvk> {
        let path: Vec<&str> = self.spec.path.iter().map(String::as_str).collect();
        (path == ["roleRef", "name"]).then_some(self.role_ref.as_ref()).flatten()
    }
}

/// The namespace a candidate was loaded with, `default` when it had none.
fn org_ns(c: &Candidate) -> &str {
    c.prev.first().unwrap_or(&c.cur).effective_namespace()
}
