//! Which fields each transformer touches, kept as data (as Kustomize keeps its `builtinpluginconsts`).
//!
//! One line per field spec: `Kind[.group] path [create]`, `*` for any kind. A path is `/`-separated;
//! when a step meets a list, the rest of the path applies to every element.

use crate::model::shared::{Location, Seg};
use crate::model::{fields, Gvk};
use serde_json::{Map, Value};
use std::sync::OnceLock;

#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub kind: Option<String>,
    pub group: Option<String>,
    pub version: Option<String>,
    pub path: Vec<String>,
    pub create: bool,
    /// Positions in `path` marked `[]` (lists): never created, even with `create`, as in
    /// Kustomize (`spec/volumeClaimTemplates[]/metadata/labels` only reaches existing claims).
    pub lists: Vec<usize>,
}

impl FieldSpec {
    pub fn applies_to(&self, gvk: &Gvk) -> bool {
        self.kind.as_ref().is_none_or(|k| *k == gvk.kind)
            && self.group.as_ref().is_none_or(|g| *g == gvk.group)
            && self.version.as_ref().is_none_or(|v| *v == gvk.version)
    }

    /// Builds a spec from a user's `fields:` entry.
    pub fn from_user(f: &crate::load::kustomization::FieldSpec) -> FieldSpec {
        FieldSpec {
            kind: f.kind.clone(),
            group: f.group.clone(),
            version: f.version.clone(),
            path: split_path(&f.path),
            create: f.create,
            lists: list_segments(&f.path),
        }
    }
}

/// Positions of the segments of `path` that end in `[]`.
pub fn list_segments(path: &str) -> Vec<usize> {
    path.split('/').filter(|s| !s.is_empty()).enumerate().filter(|(_, s)| s.ends_with("[]")).map(|(i, _)| i).collect()
}

/// Splits `a/b\/c/d` into `["a", "b/c", "d"]`, dropping `[]` markers.
pub fn split_path(path: &str) -> Vec<String> {
    if path.contains('\\') {
        return split_escaped(path);
    }
    // The tables' paths have no escapes, and are split for every build: no copy per character.
    path.split('/').map(|s| s.strip_suffix("[]").unwrap_or(s)).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn split_escaped(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                cur.push('/');
                chars.next();
            }
            '/' => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|s| s.strip_suffix("[]").map(str::to_string).unwrap_or(s)).filter(|s| !s.is_empty()).collect()
}

fn parse_table(text: &str) -> Vec<FieldSpec> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let mut parts = line.split_whitespace();
            let kind_group = parts.next().expect("table line has a kind");
            let path = parts.next().expect("table line has a path");
            let create = parts.next() == Some("create");
            let (kind, group) = match kind_group.split_once('.') {
                Some((k, g)) => (k, Some(g.to_string())),
                None => (kind_group, None),
            };
            let (group, version) = match group.as_deref() {
                Some("core") => (Some(String::new()), None),
                _ => (group, None),
            };
            let lists = list_segments(path);
            FieldSpec {
                kind: (kind != "*").then(|| kind.to_string()),
                group,
                version,
                path: split_path(path),
                create,
                lists,
            }
        })
        .collect()
}

const TEMPLATE_LABELS: &str = "
ReplicationController spec/template/metadata/labels create
Deployment spec/template/metadata/labels create
ReplicaSet spec/template/metadata/labels create
DaemonSet spec/template/metadata/labels create
StatefulSet.apps spec/template/metadata/labels create
StatefulSet.apps spec/volumeClaimTemplates[]/metadata/labels create
Job.batch spec/template/metadata/labels create
CronJob.batch spec/jobTemplate/metadata/labels create
CronJob.batch spec/jobTemplate/spec/template/metadata/labels create
";

const SELECTORS: &str = "
Service.core spec/selector create
ReplicationController.core spec/selector create
Deployment spec/selector/matchLabels create
Deployment.apps spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels
Deployment.apps spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels
Deployment.apps spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels
Deployment.apps spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels
Deployment.apps spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels
ReplicaSet spec/selector/matchLabels create
DaemonSet spec/selector/matchLabels create
StatefulSet.apps spec/selector/matchLabels create
StatefulSet.apps spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels
StatefulSet.apps spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels
StatefulSet.apps spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels
StatefulSet.apps spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels
StatefulSet.apps spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels
Job.batch spec/selector/matchLabels
CronJob.batch spec/jobTemplate/spec/selector/matchLabels
PodDisruptionBudget.policy spec/selector/matchLabels
NetworkPolicy.networking.k8s.io spec/podSelector/matchLabels
NetworkPolicy.networking.k8s.io spec/ingress/from/podSelector/matchLabels
NetworkPolicy.networking.k8s.io spec/egress/to/podSelector/matchLabels
";

const ANNOTATIONS: &str = "
* metadata/annotations create
* spec/template/metadata/annotations
ReplicationController.core spec/template/metadata/annotations create
Deployment spec/template/metadata/annotations create
ReplicaSet spec/template/metadata/annotations create
DaemonSet spec/template/metadata/annotations create
StatefulSet spec/template/metadata/annotations create
Job.batch spec/template/metadata/annotations create
CronJob.batch spec/jobTemplate/metadata/annotations create
CronJob.batch spec/jobTemplate/spec/template/metadata/annotations create
";

const REPLICAS: &str = "
Deployment spec/replicas create
ReplicationController spec/replicas create
ReplicaSet spec/replicas create
StatefulSet spec/replicas create
";

/// Labels written by `commonLabels` and by `labels` with `includeSelectors`.
pub fn common_labels() -> &'static [FieldSpec] {
    static T: OnceLock<Vec<FieldSpec>> = OnceLock::new();
    T.get_or_init(|| {
        let mut v = parse_table("* metadata/labels create");
        v.extend(parse_table(SELECTORS));
        v.extend(parse_table(TEMPLATE_LABELS));
        v
    })
}

/// Pod-template label paths, for `labels` with `includeTemplates`.
pub fn template_labels() -> &'static [FieldSpec] {
    static T: OnceLock<Vec<FieldSpec>> = OnceLock::new();
    T.get_or_init(|| parse_table(TEMPLATE_LABELS))
}

pub fn metadata_labels() -> &'static [FieldSpec] {
    static T: OnceLock<Vec<FieldSpec>> = OnceLock::new();
    T.get_or_init(|| parse_table("* metadata/labels create"))
}

pub fn annotations() -> &'static [FieldSpec] {
    static T: OnceLock<Vec<FieldSpec>> = OnceLock::new();
    T.get_or_init(|| parse_table(ANNOTATIONS))
}

pub fn replicas() -> &'static [FieldSpec] {
    static T: OnceLock<Vec<FieldSpec>> = OnceLock::new();
    T.get_or_init(|| parse_table(REPLICAS))
}

/// Calls `f` on every node `spec` reaches in `body`, creating missing maps (and, at the end,
/// `leaf()`) where the spec says `create`. Lists met on the way fan out to every element.
pub fn visit(body: &mut Value, spec: &FieldSpec, leaf: &dyn Fn() -> Value, f: &mut dyn FnMut(&mut Value)) {
    let walk = Walk { path: &spec.path, create: spec.create, lists: &spec.lists, leaf };
    walk.segments(body, 0, None, &mut |node, _| f(node));
}

/// [`visit`], also telling `f` where the node is: the steps down to it, which
/// [`location`] makes into a [`Location`] where one is kept.
pub fn visit_at(
    body: &mut Value,
    spec: &FieldSpec,
    leaf: &dyn Fn() -> Value,
    f: &mut dyn FnMut(&mut Value, &[Step<'_>]),
) {
    let walk = Walk { path: &spec.path, create: spec.create, lists: &spec.lists, leaf };
    walk.segments(body, 0, Some(&mut Vec::new()), f);
}

/// One step of the way to a node a walk reached: a key of the spec's path, or a list index.
/// Borrowed, so a walk allocates nothing for where it is until a caller keeps it.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The steps as an owned location.
pub fn location(steps: &[Step<'_>]) -> Location {
    steps
        .iter()
        .map(|s| match *s {
            Step::Key(k) => Seg::Key(k.to_string()),
            Step::Index(i) => Seg::Index(i),
        })
        .collect()
}

type Visitor<'f> = dyn FnMut(&mut Value, &[Step<'_>]) + 'f;

/// One spec's walk. This runs for every resource and spec of a build, so the location is
/// only kept when asked for, and each map is looked into once on the way down.
struct Walk<'a> {
    path: &'a [String],
    create: bool,
    lists: &'a [usize],
    leaf: &'a dyn Fn() -> Value,
}

impl<'a> Walk<'a> {
    /// Walks from `node`, `depth` keys down the path; `at` is where `node` is, when tracked.
    fn segments(&self, node: &mut Value, depth: usize, mut at: Option<&mut Vec<Step<'a>>>, f: &mut Visitor<'_>) {
        if let Value::Array(items) = node {
            for (i, item) in items.iter_mut().enumerate() {
                self.step(item, Step::Index(i), depth, at.as_deref_mut(), f);
            }
            return;
        }
        let Some(first) = self.path.get(depth) else {
            f(node, at.as_deref().map_or(&[], Vec::as_slice));
            return;
        };
        let Value::Object(map) = node else { return };
        // One lookup on the way down; a second only where the field is made.
        if let Some(child) = fields::get_mut(map, first).filter(|v| !v.is_null()) {
            return self.step(child, Step::Key(first), depth + 1, at, f);
        }
        if !self.create || self.lists.contains(&depth) {
            return;
        }
        let fresh = if depth + 1 == self.path.len() { (self.leaf)() } else { Value::Object(Map::new()) };
        map.insert(first.clone(), fresh);
        if let Some(child) = map.get_mut(first.as_str()) {
            self.step(child, Step::Key(first), depth + 1, at, f);
        }
    }

    /// Goes on into `child`, which is at `seg` below the current node.
    fn step(
        &self,
        child: &mut Value,
        seg: Step<'a>,
        depth: usize,
        at: Option<&mut Vec<Step<'a>>>,
        f: &mut Visitor<'_>,
    ) {
        match at {
            Some(at) => {
                at.push(seg);
                self.segments(child, depth, Some(&mut *at), f);
                at.pop();
            }
            None => self.segments(child, depth, None, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn splits_escaped_paths() {
        assert_eq!(
            split_path(r"metadata/annotations/nginx.ingress.kubernetes.io\/auth-secret"),
            ["metadata", "annotations", "nginx.ingress.kubernetes.io/auth-secret"]
        );
        assert_eq!(split_path("spec/containers[]/image"), ["spec", "containers", "image"]);
        for path in
            ["", "/", "a", "a/b", "/a//b/", "a[]/[]/b[]", "spec/volumeClaimTemplates[]/metadata/labels", "a[]b/c"]
        {
            assert_eq!(split_path(path), split_escaped(path), "{path:?}");
        }
    }

    #[test]
    fn visits_every_list_element_and_creates_when_asked() {
        let mut body = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let spec = FieldSpec {
            kind: None,
            group: None,
            version: None,
            path: split_path("spec/containers/env"),
            create: true,
            lists: vec![],
        };
        visit(&mut body, &spec, &|| json!({}), &mut |v| {
            v.as_object_mut().unwrap().insert("k".into(), json!(1));
        });
        assert_eq!(body["spec"]["containers"][1]["env"], json!({"k": 1}));
    }

    #[test]
    fn list_segments_are_never_created() {
        let spec = &parse_table("StatefulSet.apps spec/volumeClaimTemplates[]/metadata/labels create")[0];
        let mut body = json!({"spec": {}});
        visit(&mut body, spec, &|| json!({}), &mut |_| {});
        assert_eq!(body, json!({"spec": {}}), "no claim templates, none made");
        let mut body = json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "a"}}]}});
        visit(&mut body, spec, &|| json!({}), &mut |v| *v = json!({"x": "1"}));
        assert_eq!(body["spec"]["volumeClaimTemplates"][0]["metadata"]["labels"], json!({"x": "1"}));
    }

    #[test]
    fn does_not_create_without_create() {
        let mut body = json!({"spec": {}});
        let spec = FieldSpec {
            kind: None,
            group: None,
            version: None,
            path: split_path("spec/selector/matchLabels"),
            create: false,
            lists: vec![],
        };
        let mut hits = 0;
        visit(&mut body, &spec, &|| json!({}), &mut |_| hits += 1);
        assert_eq!(hits, 0);
        assert_eq!(body, json!({"spec": {}}));
    }

    #[test]
    fn kind_and_group_limit_specs() {
        let s = &parse_table("Job.batch spec/selector/matchLabels")[0];
        assert!(s.applies_to(&Gvk::from_api_version("batch/v1", "Job")));
        assert!(!s.applies_to(&Gvk::from_api_version("apps/v1", "Deployment")));
        let core = &parse_table("Service.core spec/selector create")[0];
        assert!(core.applies_to(&Gvk::from_api_version("v1", "Service")));
    }
}
