//! Turns the keys a user set into one generated kustomization layer: components from
//! overlays/components for optional pieces, and strategic-merge patches for everything else.
//!
//! The layer is built on top of an already rendered overlay (`below`), so patches name their
//! resources exactly, and lists that strategic merge would replace (tolerations) are merged here
//! with what the overlay already has.

use super::checksum::{self, Key};
use super::presets::Workload;
use super::{tree, UserValues, ValuesError};
use crate::model::{Resource, ResourceSet};
use serde_json::{json, Map, Value};

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

/// A strategic-merge patch document under construction.
struct Patch {
    doc: Value,
}

impl Patch {
    fn new(api_version: &str, kind: &str, name: &str) -> Patch {
        Patch { doc: json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}) }
    }

    fn at(&mut self, path: &[&str]) -> &mut Map<String, Value> {
        let mut node = &mut self.doc;
        for key in path {
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            node = node
                .as_object_mut()
                .expect("just ensured")
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        node.as_object_mut().expect("just ensured")
    }
}

struct Ctx<'a> {
    eff: &'a Value,
    user: &'a UserValues,
    found: &'a Found<'a>,
    /// The key of `checksum/secret`; without one the annotation is left out.
    key: Option<&'a Key>,
    out: Layer,
}

impl Ctx<'_> {
    fn get(&self, path: &str) -> &Value {
        tree::get(self.eff, &tree::split(path)).unwrap_or(&Value::Null)
    }
    fn str(&self, path: &str) -> &str {
        self.get(path).as_str().unwrap_or("")
    }
    fn on(&self, path: &str) -> bool {
        self.get(path).as_bool().unwrap_or(false)
    }
    /// The parameters the user set at or below each of `prefixes`.
    fn touched(&self, prefixes: &[&str]) -> Vec<String> {
        self.user
            .sources
            .keys()
            .filter(|k| prefixes.iter().any(|p| *k == p || k.starts_with(&format!("{p}."))))
            .cloned()
            .collect()
    }

    fn workload_patch(&self) -> Patch {
        let w = self.found.workload;
        Patch::new(w.api_version(), w.kind(), w.name())
    }

    /// Path to the pod template inside the workload patch.
    fn template_path(&self) -> Vec<&'static str> {
        match self.found.kind {
            Workload::CronJob => vec!["spec", "jobTemplate", "spec", "template"],
            _ => vec!["spec", "template"],
        }
    }

    fn job_spec_path(&self) -> Vec<&'static str> {
        match self.found.kind {
            Workload::CronJob => vec!["spec", "jobTemplate", "spec"],
            _ => vec!["spec"],
        }
    }

    fn pod<'p>(&self, p: &'p mut Patch) -> &'p mut Map<String, Value> {
        let mut path = self.template_path();
        path.push("spec");
        p.at(&path)
    }

    fn container<'p>(&self, p: &'p mut Patch) -> &'p mut Map<String, Value> {
        let name = self.found.container.clone();
        let pod = self.pod(p);
        let list = pod.entry("containers").or_insert_with(|| json!([{"name": name}]));
        list.as_array_mut()
            .and_then(|l| l.first_mut())
            .and_then(Value::as_object_mut)
            .expect("containers holds one map")
    }

    /// The user's own map for `key`, with the keys they set to null (to remove) kept.
    fn user_map(&self, key: &str) -> Map<String, Value> {
        tree::get(&self.user.tree, &tree::split(key)).and_then(Value::as_object).cloned().unwrap_or_default()
    }

    /// An object value that replaces the whole field (as the chart's `toYaml` does), or null.
    fn replaced_object(&self, key: &str) -> Value {
        match self.get(key).as_object() {
            Some(m) if !m.is_empty() => {
                let mut v = Map::new();
                v.insert("$patch".into(), json!("replace"));
                v.extend(m.clone());
                Value::Object(v)
            }
            _ => Value::Null,
        }
    }

    /// Adds the user's annotations map at `at` (maps merge as Helm coalesces; null removes a key).
    fn merge_annotations(&self, p: &mut Patch, key: &str, at: &[&str]) {
        if !self.user.touched(key) {
            return;
        }
        let m = self.user_map(key);
        if m.is_empty() {
            return;
        }
        let target = p.at(at).entry("annotations").or_insert_with(|| Value::Object(Map::new()));
        if let Some(t) = target.as_object_mut() {
            for (k, v) in m {
                t.insert(k, if v.is_null() { Value::Null } else { Value::String(crate::overlay::scalar_text(&v)) });
            }
        }
    }

    /// The container of the rendered workload the values act on.
    fn rendered_container(&self) -> Value {
        pod_spec(self.found.workload.body(), self.found.kind)["containers"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == self.found.container.as_str()))
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn emit(&mut self, keys: Vec<String>, p: Patch) {
        let header_only =
            p.doc.as_object().is_some_and(|m| m.keys().all(|k| k == "apiVersion" || k == "kind" || k == "metadata"))
                && p.doc["metadata"].as_object().is_some_and(|m| m.len() == 1);
        if keys.is_empty() || header_only {
            return;
        }
        let resource =
            format!("{}/{}", p.doc["kind"].as_str().unwrap_or(""), p.doc["metadata"]["name"].as_str().unwrap_or(""));
        self.out.patches.push(json!({"patch": crate::yaml::to_yaml(&p.doc)}));
        self.out.explain.push(Effect { keys, resource, patch: p.doc });
    }

    fn rendered(&self, kind: &str) -> Option<&Resource> {
        self.found.set.iter().find(|r| r.kind() == kind)
    }

    /// Adds a built-in component unless the overlay already has what it provides.
    fn add_component(&mut self, name: &str, provides: &str) {
        let path = format!("{}/overlays/components/{name}", crate::builtin::ROOT);
        if self.rendered(provides).is_none() && !self.out.components.contains(&path) {
            self.out.components.push(path);
        }
    }
}

/// Builds the values layer. `eff` is defaults, preset and user merged; only `user`'s keys act.
/// `key` keys the `checksum/secret` annotation ([`super::checksum`]).
pub fn build(found: &Found, eff: &Value, user: &UserValues, key: Option<&Key>) -> Result<Layer, ValuesError> {
    let out = Layer { components: Vec::new(), patches: Vec::new(), explain: Vec::new() };
    let mut cx = Ctx { eff, user, found, key, out };
    validate(&cx)?;
    image(&mut cx);
    container(&mut cx);
    resources_and_scheduling(&mut cx);
    probes(&mut cx);
    pod(&mut cx);
    deployment(&mut cx);
    job(&mut cx);
    cronjob(&mut cx);
    service(&mut cx);
    autoscaling(&mut cx);
    ingress(&mut cx);
    persistence(&mut cx);
    config_and_secret(&mut cx)?;
    disable_present(&mut cx);
    service_account(&mut cx);
    Ok(cx.out)
}

fn invalid(cx: &Ctx, key: &str, reason: String) -> ValuesError {
    ValuesError::Invalid { key: key.to_string(), reason, origin: cx.user.origin(key) }
}

/// Combinations the chart cannot mean (Kubernetes' own rules are in `rules`).
fn validate(cx: &Ctx) -> Result<(), ValuesError> {
    let kind = cx.found.kind;
    if cx.user.touched("autoscaling.enabled") && cx.on("autoscaling.enabled") && kind != Workload::Deployment {
        return Err(invalid(cx, "autoscaling.enabled", format!("an autoscaler scales a Deployment, but this workload is a {} (set workloadType: deployment or drop autoscaling)", kind.kind())));
    }
    if cx.user.touched("ingress.enabled") && cx.on("ingress.enabled") && kind != Workload::Deployment {
        return Err(invalid(
            cx,
            "ingress.enabled",
            format!("an Ingress needs the deployment's Service; a {} serves nothing", kind.kind()),
        ));
    }
    Ok(())
}

/// The image reference the chart builds: `registry/repository:tag`, where an empty tag means the
/// app version (or `latest` for the latest variant) and a variant other than latest is appended.
pub fn image_ref(eff: &Value) -> String {
    let get = |p: &str| tree::get(eff, &tree::split(p)).and_then(Value::as_str).unwrap_or("").to_string();
    let registry = Some(get("global.imageRegistry")).filter(|r| !r.is_empty()).unwrap_or_else(|| get("image.registry"));
    let (tag, variant) = (get("image.tag"), get("image.variant"));
    let variant = if variant.is_empty() { "latest".to_string() } else { variant };
    let tag = match (tag.is_empty(), variant == "latest") {
        (true, true) => "latest".to_string(),
        (true, false) => format!("{}-{variant}", crate::APP_VERSION),
        (false, true) => tag,
        (false, false) => format!("{tag}-{variant}"),
    };
    let repo = get("image.repository");
    if registry.is_empty() {
        format!("{repo}:{tag}")
    } else {
        format!("{registry}/{repo}:{tag}")
    }
}

fn image(cx: &mut Ctx) {
    let keys = cx.touched(&[
        "global.imageRegistry",
        "image.registry",
        "image.repository",
        "image.tag",
        "image.variant",
        "image.pullPolicy",
        "image.pullSecrets",
    ]);
    let mut p = cx.workload_patch();
    if keys.iter().any(|k| k != "image.pullPolicy" && !k.starts_with("image.pullSecrets")) {
        cx.container(&mut p).insert("image".into(), json!(image_ref(cx.eff)));
    }
    if cx.user.touched("image.pullPolicy") {
        let v = cx.get("image.pullPolicy").clone();
        cx.container(&mut p).insert("imagePullPolicy".into(), v);
    }
    if cx.user.touched("image.pullSecrets") && cx.get("image.pullSecrets").as_array().is_some_and(|a| !a.is_empty()) {
        let secrets: Vec<Value> = cx
            .get("image.pullSecrets")
            .as_array()
            .map(|l| l.iter().map(|s| if s.is_string() { json!({"name": s}) } else { s.clone() }).collect())
            .unwrap_or_default();
        cx.pod(&mut p).insert("imagePullSecrets".into(), Value::Array(secrets));
    }
    cx.emit(keys, p);
}

fn container(cx: &mut Ctx) {
    let keys = cx.touched(&[
        "container.port",
        "container.command",
        "container.args",
        "container.env",
        "container.envFrom",
        "securityContext",
        "volumeMounts",
    ]);
    let mut p = cx.workload_patch();
    // Lists the user leaves empty change nothing (restating a default is a no-op).
    for (key, field) in [
        ("container.command", "command"),
        ("container.args", "args"),
        ("container.env", "env"),
        ("volumeMounts", "volumeMounts"),
    ] {
        if cx.user.touched(key) && cx.get(key).as_array().is_some_and(|a| !a.is_empty()) {
            let v = cx.get(key).clone();
            cx.container(&mut p).insert(field.into(), v);
        }
    }
    if cx.user.touched("container.envFrom") && cx.get("container.envFrom").as_array().is_some_and(|a| !a.is_empty()) {
        let mut list = cx.get("container.envFrom").as_array().cloned().unwrap_or_default();
        if cx.on("secret.enabled") {
            list.push(json!({"secretRef": {"name": "dimtensor"}}));
        }
        cx.container(&mut p).insert("envFrom".into(), Value::Array(list));
    }
    if cx.user.touched("container.port") && cx.found.kind == Workload::Deployment {
        let port = cx.get("container.port").clone();
        cx.container(&mut p).insert(
            "ports".into(),
            json!([{"$patch": "replace"}, {"name": "http", "containerPort": port, "protocol": "TCP"}]),
        );
        let annotations = &cx.found.workload.body()["spec"]["template"]["metadata"]["annotations"];
        if annotations.get("prometheus.io/port").is_some() && !cx.user.touched("podAnnotations") {
            let mut path = cx.template_path();
            path.extend(["metadata", "annotations"]);
            p.at(&path).insert("prometheus.io/port".into(), json!(port.to_string()));
        }
    }
    if cx.user.touched("securityContext") {
        let v = cx.replaced_object("securityContext");
        cx.container(&mut p).insert("securityContext".into(), v);
    }
    cx.emit(keys, p);
}

const GPU_TOLERATION: fn() -> Value = || json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"});

fn resources_and_scheduling(cx: &mut Ctx) {
    let keys = cx.touched(&[
        "resources.requests.cpu",
        "resources.requests.memory",
        "resources.limits.cpu",
        "resources.limits.memory",
        "resources.gpu.enabled",
        "resources.gpu.count",
        "nodeSelector",
        "tolerations",
    ]);
    if keys.is_empty() {
        return;
    }
    let mut p = cx.workload_patch();
    let gpu_touched = cx.user.touched("resources.gpu");
    let gpu = cx.on("resources.gpu.enabled");
    let count = cx.get("resources.gpu.count").clone();
    let mut res = Map::new();
    for side in ["requests", "limits"] {
        let mut m = Map::new();
        for r in ["cpu", "memory"] {
            let key = format!("resources.{side}.{r}");
            if cx.user.touched(&key) {
                m.insert(r.into(), cx.get(&key).clone());
            }
        }
        if gpu_touched {
            m.insert("nvidia.com/gpu".into(), if gpu { count.clone() } else { Value::Null });
        }
        if !m.is_empty() {
            res.insert(side.into(), Value::Object(m));
        }
    }
    if !res.is_empty() {
        cx.container(&mut p).insert("resources".into(), Value::Object(res));
    }
    let rendered_pod = pod_spec(cx.found.workload.body(), cx.found.kind);
    if gpu_touched || cx.user.touched("nodeSelector") {
        // The whole selector: what the overlay has, the user's keys (null removes), the GPU's.
        let mut sel = rendered_pod["nodeSelector"].as_object().cloned().unwrap_or_default();
        for (k, v) in cx.user_map("nodeSelector") {
            if v.is_null() {
                sel.remove(&k);
            } else {
                sel.insert(k, Value::String(crate::overlay::scalar_text(&v)));
            }
        }
        if gpu {
            sel.insert("accelerator".into(), json!("nvidia-gpu"));
        } else if gpu_touched
            && sel.get("accelerator") == Some(&json!("nvidia-gpu"))
            && !cx.user_map("nodeSelector").contains_key("accelerator")
        {
            // The GPU's selector goes with the GPU; a user's own accelerator key stays.
            sel.remove("accelerator");
        }
        let value = if sel.is_empty() {
            Value::Null
        } else {
            let mut m = Map::new();
            m.insert("$patch".into(), json!("replace"));
            m.extend(sel);
            Value::Object(m)
        };
        cx.pod(&mut p).insert("nodeSelector".into(), value);
    }
    if gpu_touched || cx.user.touched("tolerations") {
        // Tolerations are replaced, not merged, by strategic merge: build the whole list here so
        // neither the GPU toleration nor the user's are lost, and none appears twice.
        let mut list: Vec<Value> = rendered_pod["tolerations"].as_array().cloned().unwrap_or_default();
        if gpu_touched && !gpu {
            list.retain(|t| *t != GPU_TOLERATION());
        }
        if gpu {
            list.push(GPU_TOLERATION());
        }
        // The user's own list: the overlay's (a preset's) tolerations are already rendered.
        let own = tree::get(&cx.user.tree, &["tolerations".to_string()]).and_then(Value::as_array).cloned();
        list.extend(own.unwrap_or_default());
        let mut unique: Vec<Value> = Vec::new();
        for t in list {
            if !unique.contains(&t) {
                unique.push(t);
            }
        }
        let value = if unique.is_empty() { Value::Null } else { Value::Array(unique) };
        cx.pod(&mut p).insert("tolerations".into(), value);
    }
    cx.emit(keys, p);
}

/// What the API server fills in for a probe field left out: stating it changes nothing.
fn probe_default(field: &str) -> Value {
    match field {
        "initialDelaySeconds" => json!(0),
        "timeoutSeconds" => json!(1),
        "periodSeconds" => json!(10),
        "successThreshold" => json!(1),
        _ => json!(3),
    }
}

fn probes(cx: &mut Ctx) {
    if cx.found.kind != Workload::Deployment {
        return;
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let keys = cx.touched(&[probe]);
        if keys.is_empty() {
            continue;
        }
        let mut p = cx.workload_patch();
        let value = if cx.on(&format!("{probe}.enabled")) {
            // A numeric string is the port it spells; null is the container's port, `http`.
            let port = int_or_string(cx.get(&format!("{probe}.httpGet.port")));
            let port = if port.is_null() { json!("http") } else { port };
            let mut m = json!({"httpGet": {"path": cx.str(&format!("{probe}.httpGet.path")), "port": port}});
            // A field the rendered probe leaves to the API server stays out while its value is the
            // server's default, so restating the chart's defaults leaves the probe as rendered.
            let rendered = cx.rendered_container()[probe].clone();
            for f in ["initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold"]
            {
                let v = cx.get(&format!("{probe}.{f}")).clone();
                if !v.is_null() && (rendered.get(f).is_some() || v != probe_default(f)) {
                    m[f] = v;
                }
            }
            m
        } else {
            Value::Null
        };
        cx.container(&mut p).insert(probe.into(), value);
        cx.emit(keys, p);
    }
}

fn pod(cx: &mut Ctx) {
    let keys = cx.touched(&[
        "podAnnotations",
        "podSecurityContext",
        "affinity",
        "terminationGracePeriodSeconds",
        "priorityClassName",
        "dnsPolicy",
        "initContainers",
        "sidecars",
        "volumes",
    ]);
    let mut p = cx.workload_patch();
    if cx.user.touched("podAnnotations") {
        let mut path = cx.template_path();
        path.extend(["metadata", "annotations"]);
        // Maps merge, as Helm coalesces them; a key set to null is removed.
        let ann = cx.user_map("podAnnotations");
        if !ann.is_empty() {
            let target = p.at(&path);
            for (k, v) in ann {
                target
                    .insert(k, if v.is_null() { Value::Null } else { Value::String(crate::overlay::scalar_text(&v)) });
            }
        }
    }
    for (key, field) in [("podSecurityContext", "securityContext"), ("affinity", "affinity")] {
        if cx.user.touched(key) {
            let v = cx.replaced_object(key);
            cx.pod(&mut p).insert(field.into(), v);
        }
    }
    for (key, field) in [
        ("terminationGracePeriodSeconds", "terminationGracePeriodSeconds"),
        ("priorityClassName", "priorityClassName"),
        ("dnsPolicy", "dnsPolicy"),
        ("initContainers", "initContainers"),
        ("volumes", "volumes"),
    ] {
        if cx.user.touched(key) {
            let v = match cx.get(key) {
                Value::String(s) if s.is_empty() => Value::Null,
                Value::Array(a) if a.is_empty() => continue,
                // Extra containers and volumes set to null add nothing; they never remove the
                // pod's own (its `tmp` volume, which a mount needs).
                Value::Null if field == "volumes" || field == "initContainers" => continue,
                other => other.clone(),
            };
            cx.pod(&mut p).insert(field.into(), v);
        }
    }
    if cx.user.touched("sidecars") && cx.get("sidecars").as_array().is_some_and(|a| !a.is_empty()) {
        let mut list = vec![json!({"name": cx.found.container})];
        list.extend(cx.get("sidecars").as_array().cloned().unwrap_or_default());
        cx.pod(&mut p).insert("containers".into(), Value::Array(list));
    }
    cx.emit(keys, p);
}

fn deployment(cx: &mut Ctx) {
    if cx.found.kind != Workload::Deployment {
        return;
    }
    let mut keys = cx.touched(&["replicaCount", "strategy"]);
    let mut p = cx.workload_patch();
    if cx.user.touched("replicaCount") && !cx.on("autoscaling.enabled") {
        p.at(&["spec"]).insert("replicas".into(), cx.get("replicaCount").clone());
    }
    // Autoscaling switched off on a preset that had it: the Deployment needs its replicas back.
    if cx.user.touched("autoscaling.enabled")
        && !cx.on("autoscaling.enabled")
        && cx.rendered("HorizontalPodAutoscaler").is_some()
    {
        p.at(&["spec"]).insert("replicas".into(), cx.get("replicaCount").clone());
        keys.push("autoscaling.enabled".into());
    }
    if cx.user.touched("strategy") {
        let strategy = if cx.str("strategy.type") == "Recreate" {
            json!({"$patch": "replace", "type": "Recreate"})
        } else {
            let surge = int_or_string(cx.get("strategy.rollingUpdate.maxSurge"));
            let unavailable = int_or_string(cx.get("strategy.rollingUpdate.maxUnavailable"));
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}})
        };
        p.at(&["spec"]).insert("strategy".into(), strategy);
    }
    cx.emit(keys, p);
}

fn job(cx: &mut Ctx) {
    if cx.found.kind == Workload::Deployment {
        return;
    }
    let keys = cx.touched(&["job"]);
    let mut p = cx.workload_patch();
    let path = cx.job_spec_path();
    // ttlSecondsAfterFinished 0 is emitted (delete at once), unlike the chart's `with`, which
    // drops it and keeps the Job forever.
    for (key, field) in
        [("job.backoffLimit", "backoffLimit"), ("job.ttlSecondsAfterFinished", "ttlSecondsAfterFinished")]
    {
        if cx.user.touched(key) {
            let v = cx.get(key).clone();
            p.at(&path).insert(field.into(), v);
        }
    }
    // As the chart: parallelism and completions only when they say more than the API server's
    // default of 1, so parallelism alone is a work queue, not one pod at a time.
    if cx.user.touched("job.parallelism") {
        let v = cx.get("job.parallelism").clone();
        p.at(&path).insert("parallelism".into(), if v == json!(1) { Value::Null } else { v });
    }
    if cx.user.touched("job.completions") {
        // More than one completion is an Indexed Job, so each pod gets JOB_COMPLETION_INDEX.
        let v = cx.get("job.completions").clone();
        let indexed = v.as_i64().unwrap_or(1) > 1;
        p.at(&path).insert("completions".into(), if indexed { v } else { Value::Null });
        p.at(&path).insert("completionMode".into(), if indexed { json!("Indexed") } else { Value::Null });
    }
    if cx.user.touched("job.restartPolicy") {
        let v = cx.get("job.restartPolicy").clone();
        cx.pod(&mut p).insert("restartPolicy".into(), v);
    }
    cx.emit(keys, p);
}

fn cronjob(cx: &mut Ctx) {
    if cx.found.kind != Workload::CronJob {
        return;
    }
    let keys = cx.touched(&["cronjob"]);
    let mut p = cx.workload_patch();
    for (key, field) in [
        ("cronjob.schedule", "schedule"),
        ("cronjob.concurrencyPolicy", "concurrencyPolicy"),
        ("cronjob.failedJobsHistoryLimit", "failedJobsHistoryLimit"),
        ("cronjob.successfulJobsHistoryLimit", "successfulJobsHistoryLimit"),
        ("cronjob.suspend", "suspend"),
        ("cronjob.startingDeadlineSeconds", "startingDeadlineSeconds"),
    ] {
        if cx.user.touched(key) {
            let v = cx.get(key).clone();
            p.at(&["spec"]).insert(field.into(), v);
        }
    }
    cx.emit(keys, p);
}

fn service(cx: &mut Ctx) {
    if cx.found.kind != Workload::Deployment {
        return;
    }
    let keys = cx.touched(&["service"]);
    let Some(svc) = cx.rendered("Service") else { return };
    let mut p = Patch::new("v1", "Service", svc.name());
    if !cx.on("service.enabled") {
        p.doc["$patch"] = json!("delete");
        cx.emit(keys, p);
        return;
    }
    if cx.user.touched("service.type") {
        let v = cx.get("service.type").clone();
        p.at(&["spec"]).insert("type".into(), v);
    }
    if cx.user.touched("service.port") || cx.user.touched("service.targetPort") || cx.user.touched("service.nodePort") {
        let mut port = json!({"name": "http", "port": cx.get("service.port"), "protocol": "TCP"});
        // An empty or zero target port means the port itself, as the API server defaults it.
        match int_or_string(cx.get("service.targetPort")) {
            Value::String(s) if s.is_empty() => {}
            Value::Null => {}
            Value::Number(n) if n.as_i64() == Some(0) => {}
            target => port["targetPort"] = target,
        }
        // A node port only where the type has node ports (the chart: only for NodePort).
        let ty = service_type(cx.user, cx.eff, cx.found.set);
        if let (Ok(Some(n)), true) = (node_port_number(cx.get("service.nodePort")), ty != "ClusterIP") {
            port["nodePort"] = json!(n);
        }
        p.at(&["spec"]).insert("ports".into(), json!([{"$patch": "replace"}, port]));
    }
    for (key, field) in
        [("service.loadBalancerIP", "loadBalancerIP"), ("service.loadBalancerSourceRanges", "loadBalancerSourceRanges")]
    {
        if cx.user.touched(key) {
            let v = match cx.get(key) {
                Value::String(s) if s.is_empty() => Value::Null,
                Value::Array(a) if a.is_empty() => continue,
                other => other.clone(),
            };
            p.at(&["spec"]).insert(field.into(), v);
        }
    }
    cx.merge_annotations(&mut p, "service.annotations", &["metadata"]);
    if p.doc["spec"].as_object().is_some_and(|m| m.is_empty()) {
        p.doc.as_object_mut().expect("patch is a map").remove("spec");
    }
    cx.emit(keys, p);
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

/// The node port as a number: a number, or a numeric string; `Ok(None)` for none (`""`, 0).
pub fn node_port_number(v: &Value) -> Result<Option<i64>, ()> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_i64().map(|n| (n != 0).then_some(n)).ok_or(()),
        Value::String(t) if t.trim().is_empty() => Ok(None),
        Value::String(t) => t.trim().parse::<i64>().map(|n| (n != 0).then_some(n)).map_err(|_| ()),
        _ => Err(()),
    }
}

/// The Service's type after the values: the user's, else the rendered Service's.
pub fn service_type(user: &UserValues, eff: &Value, set: &ResourceSet) -> String {
    let given = tree::get(eff, &tree::split("service.type")).and_then(Value::as_str);
    if let (true, Some(t)) = (user.touched("service.type"), given) {
        return t.to_string();
    }
    let rendered = set.iter().find(|r| r.kind() == "Service");
    rendered.and_then(|s| s.body()["spec"]["type"].as_str()).unwrap_or("ClusterIP").to_string()
}

fn autoscaling(cx: &mut Ctx) {
    if cx.found.kind != Workload::Deployment || !cx.user.touched("autoscaling") {
        return;
    }
    let keys = cx.touched(&["autoscaling"]);
    let had = cx.rendered("HorizontalPodAutoscaler").map(|r| r.name().to_string());
    if !cx.on("autoscaling.enabled") {
        if let Some(name) = had {
            let mut p = Patch::new("autoscaling/v2", "HorizontalPodAutoscaler", &name);
            p.doc["$patch"] = json!("delete");
            cx.emit(keys, p);
        }
        return;
    }
    cx.add_component("autoscaling", "HorizontalPodAutoscaler");
    let mut p = Patch::new("autoscaling/v2", "HorizontalPodAutoscaler", had.as_deref().unwrap_or("dimtensor"));
    let spec = p.at(&["spec"]);
    spec.insert("minReplicas".into(), cx.get("autoscaling.minReplicas").clone());
    spec.insert("maxReplicas".into(), cx.get("autoscaling.maxReplicas").clone());
    let mut metrics = Vec::new();
    for (key, resource) in [
        ("autoscaling.targetCPUUtilizationPercentage", "cpu"),
        ("autoscaling.targetMemoryUtilizationPercentage", "memory"),
    ] {
        if let Some(n) = cx.get(key).as_i64() {
            metrics.push(json!({"type": "Resource", "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": n}}}));
        }
    }
    spec.insert("metrics".into(), Value::Array(metrics));
    let behavior = cx.get("autoscaling.behavior").clone();
    p.at(&["spec"]).insert("behavior".into(), behavior);
    cx.emit(keys, p);
}

fn ingress(cx: &mut Ctx) {
    if cx.found.kind != Workload::Deployment || !cx.user.touched("ingress") || !cx.on("ingress.enabled") {
        return;
    }
    let keys = cx.touched(&["ingress"]);
    cx.add_component("ingress", "Ingress");
    let service = cx.rendered("Service").map(|s| s.name().to_string()).unwrap_or_else(|| "dimtensor".into());
    let mut p = Patch::new("networking.k8s.io/v1", "Ingress", "dimtensor");
    let rules: Vec<Value> = cx
        .get("ingress.hosts")
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|h| {
            let paths: Vec<Value> = h["paths"]
                .as_array()
                .cloned()
                .unwrap_or_else(|| vec![json!({"path": "/"})])
                .iter()
                .map(|path| json!({"path": path["path"].as_str().unwrap_or("/"), "pathType": path["pathType"].as_str().unwrap_or("Prefix"), "backend": {"service": {"name": service, "port": {"name": "http"}}}}))
                .collect();
            json!({"host": h["host"], "http": {"paths": paths}})
        })
        .collect();
    let spec = p.at(&["spec"]);
    // An empty class name means the cluster's default class: the field is left out, as the
    // chart leaves it out (the API server refuses "").
    let class = match cx.get("ingress.className") {
        Value::String(s) if s.is_empty() => Value::Null,
        other => other.clone(),
    };
    spec.insert("ingressClassName".into(), class);
    spec.insert("rules".into(), Value::Array(rules));
    let tls = cx.get("ingress.tls").as_array().cloned().unwrap_or_default();
    spec.insert("tls".into(), if tls.is_empty() { Value::Null } else { Value::Array(tls) });
    cx.merge_annotations(&mut p, "ingress.annotations", &["metadata"]);
    cx.emit(keys, p);
}

fn persistence(cx: &mut Ctx) {
    if !cx.user.touched("persistence") || !cx.on("persistence.enabled") {
        return;
    }
    let keys = cx.touched(&["persistence"]);
    cx.add_component("persistence", "PersistentVolumeClaim");
    let existing = cx.str("persistence.existingClaim").to_string();
    let mut pvc = Patch::new("v1", "PersistentVolumeClaim", "dimtensor");
    if existing.is_empty() {
        let spec = pvc.at(&["spec"]);
        spec.insert("accessModes".into(), json!([cx.get("persistence.accessMode")]));
        spec.insert("resources".into(), json!({"requests": {"storage": cx.get("persistence.size")}}));
        if !cx.str("persistence.storageClass").is_empty() {
            spec.insert("storageClassName".into(), cx.get("persistence.storageClass").clone());
        }
    } else {
        pvc.doc["$patch"] = json!("delete");
    }
    cx.emit(keys.clone(), pvc);
    let mount = cx.str("persistence.mountPath").to_string();
    let mut p = cx.workload_patch();
    if mount != "/data" {
        cx.container(&mut p).insert(
            "volumeMounts".into(),
            json!([{"$patch": "delete", "mountPath": "/data"}, {"name": "data", "mountPath": mount}]),
        );
    }
    if !existing.is_empty() {
        cx.pod(&mut p)
            .insert("volumes".into(), json!([{"name": "data", "persistentVolumeClaim": {"claimName": existing}}]));
    }
    if p.doc.get("spec").is_some() {
        cx.emit(keys, p);
    }
}

fn config_and_secret(cx: &mut Ctx) -> Result<(), ValuesError> {
    for (group, kind, component, fields) in [
        ("configMap", "ConfigMap", "config", &["configMap.data"][..]),
        ("secret", "Secret", "secret", &["secret.data", "secret.stringData"][..]),
    ] {
        if !cx.user.touched(group) || !cx.on(&format!("{group}.enabled")) {
            continue;
        }
        let keys = cx.touched(&[group]);
        cx.add_component(component, kind);
        let mut p = Patch::new("v1", kind, "dimtensor");
        let mut all = Map::new();
        for field in fields {
            let name = field.rsplit('.').next().expect("dotted");
            let data = cx.get(field).as_object().cloned().unwrap_or_default();
            let data: Map<String, Value> =
                data.into_iter().map(|(k, v)| (k, Value::String(crate::overlay::scalar_text(&v)))).collect();
            all.insert(name.into(), Value::Object(data.clone()));
            p.doc[name] = if data.is_empty() {
                Value::Null
            } else {
                let mut replaced = Map::new();
                replaced.insert("$patch".into(), json!("replace"));
                replaced.extend(data);
                Value::Object(replaced)
            };
        }
        cx.emit(keys.clone(), p);
        // A checksum of the data on the pod template rolls the pods when the data changes; the
        // Secret's is keyed, and left out without a key.
        let all = Value::Object(all);
        let sum = match (kind, cx.key) {
            ("ConfigMap", _) => ("checksum/config", checksum::of_config(&all)),
            (_, Some(key)) => ("checksum/secret", checksum::of_secret(key, &all)),
            (_, None) => continue,
        };
        let mut w = cx.workload_patch();
        let mut path = cx.template_path();
        path.extend(["metadata", "annotations"]);
        w.at(&path).insert(sum.0.to_string(), json!(sum.1));
        cx.emit(keys, w);
    }
    Ok(())
}

fn service_account(cx: &mut Ctx) {
    let keys = cx.touched(&["serviceAccount"]);
    let Some(sa) = cx.rendered("ServiceAccount").map(|r| r.name().to_string()) else { return };
    if keys.is_empty() {
        return;
    }
    let mut p = Patch::new("v1", "ServiceAccount", &sa);
    if !cx.on("serviceAccount.create") {
        p.doc["$patch"] = json!("delete");
        let name = Some(cx.str("serviceAccount.name")).filter(|n| !n.is_empty()).unwrap_or("default").to_string();
        cx.emit(keys.clone(), p);
        let mut w = cx.workload_patch();
        cx.pod(&mut w).insert("serviceAccountName".into(), json!(name));
        cx.emit(keys, w);
        return;
    }
    if cx.user.touched("serviceAccount.annotations") {
        cx.merge_annotations(&mut p, "serviceAccount.annotations", &["metadata"]);
        cx.emit(keys.clone(), p);
    }
    let name = cx.str("serviceAccount.name").to_string();
    if !name.is_empty() && name != sa {
        // A rename through JSON 6902 keeps the history, so serviceAccountName follows.
        let ops = json!([{"op": "replace", "path": "/metadata/name", "value": name}]);
        cx.out
            .patches
            .push(json!({"target": {"kind": "ServiceAccount", "name": sa}, "patch": crate::yaml::to_yaml(&ops)}));
        cx.out.explain.push(Effect {
            keys,
            resource: format!("ServiceAccount/{sa}"),
            patch: json!({"metadata": {"name": name}}),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_follows_the_chart_rules() {
        let eff = |tag: &str, variant: &str, global: &str| {
            let mut v = super::super::schema::defaults();
            v["image"]["tag"] = json!(tag);
            v["image"]["variant"] = json!(variant);
            v["global"]["imageRegistry"] = json!(global);
            image_ref(&v)
        };
        assert_eq!(eff("", "latest", ""), "docker.io/dimtensor:latest");
        assert_eq!(eff("", "ml", ""), "docker.io/dimtensor:4.2.0-ml");
        assert_eq!(eff("5.0", "latest", ""), "docker.io/dimtensor:5.0");
        assert_eq!(eff("5.0", "cpu-full", "reg.local"), "reg.local/dimtensor:5.0-cpu-full");
    }
}

/// Switching off a piece the overlay already has (batch's ConfigMap, a persistence volume):
/// delete the object and take it out of the pod.
fn disable_present(cx: &mut Ctx) {
    let pieces: [(&str, &str, Option<(&str, &str)>); 4] = [
        ("configMap.enabled", "ConfigMap", Some(("config", "/config"))),
        ("secret.enabled", "Secret", None),
        ("persistence.enabled", "PersistentVolumeClaim", Some(("data", "/data"))),
        ("ingress.enabled", "Ingress", None),
    ];
    for (key, kind, volume) in pieces {
        if !cx.user.touched(key) || cx.on(key) {
            continue;
        }
        let Some(name) = cx.rendered(kind).map(|r| r.name().to_string()) else { continue };
        let api_version = if kind == "Ingress" { "networking.k8s.io/v1" } else { "v1" };
        let mut del = Patch::new(api_version, kind, &name);
        del.doc["$patch"] = json!("delete");
        cx.emit(vec![key.to_string()], del);
        let mut w = cx.workload_patch();
        if let Some((vol, mount)) = volume {
            cx.pod(&mut w).insert("volumes".into(), json!([{"$patch": "delete", "name": vol}]));
            cx.container(&mut w).insert("volumeMounts".into(), json!([{"$patch": "delete", "mountPath": mount}]));
        }
        if kind == "Secret" {
            let remaining: Vec<Value> = cx.rendered_container()["envFrom"]
                .as_array()
                .map(|l| l.iter().filter(|e| e["secretRef"]["name"] != name.as_str()).cloned().collect())
                .unwrap_or_default();
            cx.container(&mut w)
                .insert("envFrom".into(), if remaining.is_empty() { Value::Null } else { Value::Array(remaining) });
        }
        cx.emit(vec![key.to_string()], w);
    }
}
