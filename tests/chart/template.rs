//! The upstream chart's templates (marcoloco23/dimtensor, `kubernetes/helm/dimtensor/templates/`)
//! written as expectations: for one key of a values file and the chart's effective values, the
//! fields the chart's template fills with it. Where the chart is broken (the four defects its
//! README lists, [`DEFECTS`]) the expectation is what it meant; where we differ on purpose,
//! [`DELIBERATE`] says why.

use serde_json::{json, Value};

/// The chart's own defects: we render what it meant.
pub const DEFECTS: &[(&str, &str)] = &[
    ("cronjob", "workloadType: cronjob renders only a ServiceAccount (no CronJob template): we render the CronJob, with cronjob.* on it and job.* in its jobTemplate"),
    ("gpu-node-selector", "with GPU on, nodeSelector and tolerations are emitted twice and the user's nodeSelector is lost: we merge the user's keys and tolerations with the GPU's"),
    ("indexed", "the batch Job lacks completionMode: Indexed although each pod reads JOB_COMPLETION_INDEX: completions above 1 make an Indexed Job"),
    ("image-tag", "image.tag is ignored when image.variant is latest (the image is always :latest): a tag given is used"),
];

/// Where we differ from the chart on purpose.
pub const DELIBERATE: &[(&str, &str)] = &[
    ("replicas-with-hpa", "with autoscaling on, the Deployment has no spec.replicas (the HPA owns it; the chart pins replicaCount and fights the HPA on every upgrade)"),
    ("ttl-zero", "job.ttlSecondsAfterFinished: 0 is emitted (0 means delete at once; the chart's `with` drops it, so the Job is kept forever)"),
    ("secret-reference", "a user's own reference to the Secret by the chart name `dimtensor` follows the rename to <fullname> when this release renders that Secret (in the chart it dangles)"),
    ("tmp-volume", "the pod has an emptyDir at /tmp beside the chart's volumes (the root filesystem is read-only by default here)"),
    ("security-defaults", "the default pod securityContext adds runAsGroup 1000 and the container's adds runAsNonRoot, runAsUser 1000 and a read-only root filesystem; a file's keys merge over them as Helm merges a file over the chart's values.yaml"),
    ("job-pod-fields", "terminationGracePeriodSeconds, dnsPolicy, priorityClassName and sidecars reach Jobs and CronJobs too (the chart's Job template omits them)"),
];

/// What a rendered field must be.
#[derive(Debug)]
pub enum Want {
    /// Exactly this; absent also passes where this is what the API server defaults the field to.
    Eq(Value),
    Absent,
    /// The resource of the check's kind is not rendered.
    NoResource,
    /// A list holding these items (and perhaps others the render adds).
    Contains(Vec<Value>),
    /// A list of named items (volumes, mounts) with exactly these names, in any order.
    Names(Vec<String>),
}

#[derive(Debug)]
pub struct Check {
    pub kind: &'static str,
    pub pointer: String,
    pub want: Want,
}

fn check(kind: &'static str, pointer: impl Into<String>, want: Want) -> Check {
    Check { kind, pointer: pointer.into(), want }
}

/// The chart's effective values (its values.yaml under the files given) and names.
pub struct Chart {
    pub v: Value,
    pub full: String,
}

impl Chart {
    pub fn get(&self, path: &str) -> &Value {
        path.split('.').try_fold(&self.v, |n, k| n.get(k)).unwrap_or(&Value::Null)
    }
    fn on(&self, path: &str) -> bool {
        self.get(path).as_bool().unwrap_or(false)
    }
    fn str(&self, path: &str) -> &str {
        self.get(path).as_str().unwrap_or("")
    }
    pub fn workload(&self) -> &'static str {
        match self.str("workloadType") {
            "job" => "Job",
            "cronjob" => "CronJob",
            _ => "Deployment",
        }
    }
    fn template(&self) -> &'static str {
        if self.workload() == "CronJob" {
            "/spec/jobTemplate/spec/template"
        } else {
            "/spec/template"
        }
    }
    fn pod(&self) -> String {
        format!("{}/spec", self.template())
    }
    fn container(&self) -> String {
        format!("{}/containers/0", self.pod())
    }
    fn job_spec(&self) -> &'static str {
        if self.workload() == "CronJob" {
            "/spec/jobTemplate/spec"
        } else {
            "/spec"
        }
    }
    fn gpu(&self) -> bool {
        self.on("resources.gpu.enabled")
    }

    /// `dimtensor.image`, as the chart meant it (see [`DEFECTS`] `image-tag`).
    fn image(&self) -> String {
        let registry =
            Some(self.str("global.imageRegistry")).filter(|r| !r.is_empty()).unwrap_or(self.str("image.registry"));
        let (tag, variant) = (self.str("image.tag"), self.str("image.variant"));
        let tag = match (tag.is_empty(), variant == "latest") {
            (true, true) => "latest".to_string(),
            (true, false) => format!("4.2.0-{variant}"),
            (false, true) => tag.to_string(),
            (false, false) => format!("{tag}-{variant}"),
        };
        let repo = self.str("image.repository");
        if registry.is_empty() {
            format!("{repo}:{tag}")
        } else {
            format!("{registry}/{repo}:{tag}")
        }
    }

    /// The names of the pod's volumes: the render's own, the chart's pieces, the user's.
    fn volume_names(&self, user_key: &str) -> Vec<String> {
        let mut names = vec!["tmp".to_string()];
        if self.on("persistence.enabled") {
            names.push("data".into());
        }
        if self.on("configMap.enabled") {
            names.push("config".into());
        }
        for item in self.get(user_key).as_array().into_iter().flatten() {
            names.push(item["name"].as_str().unwrap_or("").to_string());
        }
        names
    }
}

/// Pointer-escapes one key (`prometheus.io/path` -> `prometheus.io~1path`).
pub fn esc(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

/// What the API server fills in when a field is left out, for fields the chart states and the
/// render may omit (restating a default changes nothing here).
pub fn api_default(pointer: &str) -> Option<Value> {
    let last = pointer.rsplit('/').next().unwrap_or("");
    let in_probe = pointer.contains("Probe/");
    match last {
        "initialDelaySeconds" if in_probe => Some(json!(0)),
        "timeoutSeconds" if in_probe => Some(json!(1)),
        "periodSeconds" if in_probe => Some(json!(10)),
        "successThreshold" if in_probe => Some(json!(1)),
        "failureThreshold" if in_probe => Some(json!(3)),
        "parallelism" | "completions" => Some(json!(1)),
        "dnsPolicy" => Some(json!("ClusterFirst")),
        "terminationGracePeriodSeconds" => Some(json!(30)),
        _ => None,
    }
}

/// Keys the chart renders whole with `toYaml`; the walk stops at them.
const WHOLE: &[&str] = &["affinity"];

/// Every key of a values file down to its leaves: scalars, lists, empty maps, and the maps the
/// chart renders whole.
pub fn leaves(v: &Value) -> Vec<(Vec<String>, Value)> {
    fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
        match v {
            Value::Object(m) if !m.is_empty() && !(path.len() == 1 && WHOLE.contains(&path[0].as_str())) => {
                for (k, x) in m {
                    path.push(k.clone());
                    walk(x, path, out);
                    path.pop();
                }
            }
            _ => out.push((path.clone(), v.clone())),
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

/// The fields the chart's templates fill with `key` (whose value is `value`).
pub fn expect(key: &[String], value: &Value, c: &Chart) -> Vec<Check> {
    let k: Vec<&str> = key.iter().map(String::as_str).collect();
    let w = c.workload();
    let (pod, ctr, tpl) = (c.pod(), c.container(), c.template());
    let deployment = w == "Deployment";
    let empty = match value {
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    };
    let eq_or_absent = |kind, p: String| check(kind, p, if empty { Want::Absent } else { Want::Eq(value.clone()) });
    match k.as_slice() {
        ["global", "imageRegistry"] | ["image", "registry" | "repository" | "tag" | "variant"] => {
            vec![check(w, format!("{ctr}/image"), Want::Eq(json!(c.image())))]
        }
        ["image", "pullPolicy"] => vec![check(w, format!("{ctr}/imagePullPolicy"), Want::Eq(value.clone()))],
        ["image", "pullSecrets"] => vec![eq_or_absent(w, format!("{pod}/imagePullSecrets"))],
        ["workloadType"] => ["Deployment", "Job", "CronJob"]
            .into_iter()
            .filter(|kind| *kind != w)
            .map(|kind| check(kind, "", Want::NoResource))
            .chain([check(w, "/kind", Want::Eq(json!(w)))])
            .collect(),
        ["replicaCount"] if deployment => {
            let want = if c.on("autoscaling.enabled") { Want::Absent } else { Want::Eq(value.clone()) };
            vec![check("Deployment", "/spec/replicas", want)]
        }
        ["replicaCount"] | ["strategy", ..] | ["service", ..] | ["ingress", ..] | ["autoscaling", ..]
            if !deployment =>
        {
            let kind = match k[0] {
                "service" => "Service",
                "ingress" => "Ingress",
                "autoscaling" => "HorizontalPodAutoscaler",
                _ => "Deployment",
            };
            vec![check(kind, "", Want::NoResource)]
        }
        ["strategy", rest @ ..] => {
            vec![check("Deployment", format!("/spec/strategy/{}", rest.join("/")), Want::Eq(value.clone()))]
        }
        ["container", "port"] if deployment => {
            vec![check(
                w,
                format!("{ctr}/ports"),
                Want::Eq(json!([{"name": "http", "containerPort": value, "protocol": "TCP"}])),
            )]
        }
        ["container", "port"] => vec![check(w, format!("{ctr}/ports"), Want::Absent)],
        ["container", field @ ("command" | "args" | "env" | "envFrom")] => {
            vec![eq_or_absent(w, format!("{ctr}/{field}"))]
        }
        ["resources", side @ ("requests" | "limits"), r] => {
            vec![check(w, format!("{ctr}/resources/{side}/{r}"), Want::Eq(value.clone()))]
        }
        ["resources", "gpu", _] => ["requests", "limits"]
            .into_iter()
            .map(|side| {
                let want = if c.gpu() { Want::Eq(c.get("resources.gpu.count").clone()) } else { Want::Absent };
                check(w, format!("{ctr}/resources/{side}/nvidia.com~1gpu"), want)
            })
            .collect(),
        [probe @ ("livenessProbe" | "readinessProbe" | "startupProbe"), rest @ ..] => {
            let at = format!("{ctr}/{probe}");
            if !deployment || !c.on(&format!("{probe}.enabled")) {
                return vec![check(w, at, Want::Absent)];
            }
            match rest {
                ["enabled"] => vec![check(
                    w,
                    format!("{at}/httpGet/path"),
                    Want::Eq(c.get(&format!("{probe}.httpGet.path")).clone()),
                )],
                path => vec![check(w, format!("{at}/{}", path.join("/")), Want::Eq(value.clone()))],
            }
        }
        ["service", rest @ ..] => service(rest, value, c),
        ["ingress", rest @ ..] => ingress(rest, value, c),
        ["autoscaling", rest @ ..] => autoscaling(rest, value, c),
        ["job", field] if w == "Deployment" => {
            let _ = field;
            vec![check("Job", "", Want::NoResource)]
        }
        ["job", "restartPolicy"] => vec![check(w, format!("{pod}/restartPolicy"), Want::Eq(value.clone()))],
        ["job", field @ ("parallelism" | "completions")] => {
            let n = value.as_i64().unwrap_or(1);
            let mut checks = vec![check(
                w,
                format!("{}/{field}", c.job_spec()),
                if n > 1 { Want::Eq(value.clone()) } else { Want::Eq(json!(1)) },
            )];
            if *field == "completions" {
                let mode = if n > 1 { Want::Eq(json!("Indexed")) } else { Want::Absent };
                checks.push(check(w, format!("{}/completionMode", c.job_spec()), mode));
            }
            checks
        }
        ["job", field] => vec![check(w, format!("{}/{field}", c.job_spec()), Want::Eq(value.clone()))],
        ["cronjob", field] if w == "CronJob" => vec![check(w, format!("/spec/{field}"), Want::Eq(value.clone()))],
        ["cronjob", _] => vec![check("CronJob", "", Want::NoResource)],
        ["configMap", rest @ ..] => config_or_secret("ConfigMap", "configMap", rest, value, c),
        ["secret", rest @ ..] => config_or_secret("Secret", "secret", rest, value, c),
        ["persistence", rest @ ..] => persistence(rest, value, c),
        ["nodeSelector"] if c.gpu() => {
            vec![check(w, format!("{pod}/nodeSelector"), Want::Eq(json!({"accelerator": "nvidia-gpu"})))]
        }
        ["nodeSelector"] => vec![check(w, format!("{pod}/nodeSelector"), Want::Absent)],
        ["nodeSelector", key] => vec![check(w, format!("{pod}/nodeSelector/{}", esc(key)), Want::Eq(value.clone()))],
        ["tolerations"] => {
            let mut items = value.as_array().cloned().unwrap_or_default();
            if c.gpu() {
                items.push(json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}));
            }
            if items.is_empty() {
                vec![check(w, format!("{pod}/tolerations"), Want::Absent)]
            } else {
                vec![check(w, format!("{pod}/tolerations"), Want::Contains(items))]
            }
        }
        ["affinity"] => vec![eq_or_absent(w, format!("{pod}/affinity"))],
        ["podAnnotations"] => vec![],
        ["podAnnotations", key] => {
            vec![check(w, format!("{tpl}/metadata/annotations/{}", esc(key)), Want::Eq(value.clone()))]
        }
        // Each key lands; the keys the file leaves out come from our defaults (DELIBERATE
        // `security-defaults`), as Helm merges a file's map over the chart's.
        ["podSecurityContext", rest @ ..] => {
            vec![check(w, format!("{pod}/securityContext/{}", rest.join("/")), Want::Eq(value.clone()))]
        }
        ["securityContext", rest @ ..] => {
            vec![check(w, format!("{ctr}/securityContext/{}", rest.join("/")), Want::Eq(value.clone()))]
        }
        ["serviceAccount", rest @ ..] => service_account(rest, value, c),
        ["priorityClassName"] => vec![eq_or_absent(w, format!("{pod}/priorityClassName"))],
        ["terminationGracePeriodSeconds" | "dnsPolicy"] => {
            vec![check(w, format!("{pod}/{}", k[0]), Want::Eq(value.clone()))]
        }
        ["initContainers"] => vec![eq_or_absent(w, format!("{pod}/initContainers"))],
        ["sidecars"] => {
            let mut names = vec![json!("dimtensor")];
            names.extend(value.as_array().into_iter().flatten().map(|s| s["name"].clone()));
            let names: Vec<String> = names.iter().map(|n| n.as_str().unwrap_or("").to_string()).collect();
            vec![check(w, format!("{pod}/containers"), Want::Names(names))]
        }
        ["volumes"] => vec![check(w, format!("{pod}/volumes"), Want::Names(c.volume_names("volumes")))],
        ["volumeMounts"] => vec![check(w, format!("{ctr}/volumeMounts"), Want::Names(c.volume_names("volumeMounts")))],
        other => panic!(
            "no expectation for the chart key {} (the chart's templates must say where it goes)",
            other.join(".")
        ),
    }
}

fn service(rest: &[&str], value: &Value, c: &Chart) -> Vec<Check> {
    if !c.on("service.enabled") {
        return vec![check("Service", "", Want::NoResource)];
    }
    let s = "Service";
    match rest {
        ["enabled"] => vec![check(s, "/spec/selector/app.kubernetes.io~1name", Want::Eq(json!("dimtensor")))],
        ["type"] => vec![check(s, "/spec/type", Want::Eq(value.clone()))],
        ["port"] => vec![check(s, "/spec/ports/0/port", Want::Eq(value.clone()))],
        ["targetPort"] => vec![check(s, "/spec/ports/0/targetPort", Want::Eq(value.clone()))],
        ["nodePort"] if c.str("service.type") == "NodePort" && value != "" => {
            vec![check(s, "/spec/ports/0/nodePort", Want::Eq(value.clone()))]
        }
        ["nodePort"] => vec![check(s, "/spec/ports/0/nodePort", Want::Absent)],
        ["annotations"] => vec![check(s, "/metadata/annotations", Want::Absent)],
        ["annotations", key] => vec![check(s, format!("/metadata/annotations/{}", esc(key)), Want::Eq(value.clone()))],
        ["loadBalancerIP"] if value == "" => vec![check(s, "/spec/loadBalancerIP", Want::Absent)],
        ["loadBalancerIP"] => vec![check(s, "/spec/loadBalancerIP", Want::Eq(value.clone()))],
        ["loadBalancerSourceRanges"] if value.as_array().is_some_and(Vec::is_empty) => {
            vec![check(s, "/spec/loadBalancerSourceRanges", Want::Absent)]
        }
        ["loadBalancerSourceRanges"] => vec![check(s, "/spec/loadBalancerSourceRanges", Want::Eq(value.clone()))],
        other => panic!("no expectation for service.{}", other.join(".")),
    }
}

fn ingress(rest: &[&str], value: &Value, c: &Chart) -> Vec<Check> {
    if !c.on("ingress.enabled") {
        return vec![check("Ingress", "", Want::NoResource)];
    }
    let i = "Ingress";
    match rest {
        ["enabled"] => vec![check(i, "/kind", Want::Eq(json!("Ingress")))],
        ["className"] => vec![check(i, "/spec/ingressClassName", Want::Eq(value.clone()))],
        ["annotations"] => vec![check(i, "/metadata/annotations", Want::Absent)],
        ["annotations", key] => vec![check(i, format!("/metadata/annotations/{}", esc(key)), Want::Eq(value.clone()))],
        ["hosts"] => {
            let rules: Vec<Value> = value
                .as_array()
                .into_iter()
                .flatten()
                .map(|h| {
                    let paths: Vec<Value> = h["paths"].as_array().into_iter().flatten().map(|p| json!({"path": p["path"], "pathType": p["pathType"], "backend": {"service": {"name": c.full, "port": {"name": "http"}}}})).collect();
                    json!({"host": h["host"], "http": {"paths": paths}})
                })
                .collect();
            vec![check(i, "/spec/rules", Want::Eq(Value::Array(rules)))]
        }
        ["tls"] if value.as_array().is_some_and(Vec::is_empty) => vec![check(i, "/spec/tls", Want::Absent)],
        ["tls"] => vec![check(i, "/spec/tls", Want::Eq(value.clone()))],
        other => panic!("no expectation for ingress.{}", other.join(".")),
    }
}

fn autoscaling(rest: &[&str], value: &Value, c: &Chart) -> Vec<Check> {
    let h = "HorizontalPodAutoscaler";
    if !c.on("autoscaling.enabled") {
        return vec![
            check(h, "", Want::NoResource),
            check("Deployment", "/spec/replicas", Want::Eq(c.get("replicaCount").clone())),
        ];
    }
    let metric = |name: &str| {
        vec![check(
            h,
            "/spec/metrics",
            Want::Contains(vec![
                json!({"type": "Resource", "resource": {"name": name, "target": {"type": "Utilization", "averageUtilization": value}}}),
            ]),
        )]
    };
    match rest {
        ["enabled"] => vec![check(
            h,
            "/spec/scaleTargetRef",
            Want::Eq(json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": c.full})),
        )],
        ["minReplicas"] => vec![check(h, "/spec/minReplicas", Want::Eq(value.clone()))],
        ["maxReplicas"] => vec![check(h, "/spec/maxReplicas", Want::Eq(value.clone()))],
        ["targetCPUUtilizationPercentage"] => metric("cpu"),
        ["targetMemoryUtilizationPercentage"] => metric("memory"),
        ["behavior", path @ ..] => {
            vec![check(h, format!("/spec/behavior/{}", path.join("/")), Want::Eq(value.clone()))]
        }
        other => panic!("no expectation for autoscaling.{}", other.join(".")),
    }
}

fn config_or_secret(kind: &'static str, group: &str, rest: &[&str], value: &Value, c: &Chart) -> Vec<Check> {
    if !c.on(&format!("{group}.enabled")) {
        return vec![check(kind, "", Want::NoResource)];
    }
    match rest {
        ["enabled"] => {
            let mut checks = vec![check(kind, "/metadata/name", Want::Eq(json!(c.full)))];
            if kind == "ConfigMap" {
                let volumes = format!("{}/volumes", c.pod());
                checks.push(check(
                    c.workload(),
                    volumes,
                    Want::Contains(vec![json!({"name": "config", "configMap": {"name": c.full}})]),
                ));
            }
            checks
        }
        ["data"] => vec![check(kind, "/data", Want::Absent)],
        ["data", key] => vec![check(kind, format!("/data/{}", esc(key)), Want::Eq(value.clone()))],
        other => panic!("no expectation for {group}.{}", other.join(".")),
    }
}

fn persistence(rest: &[&str], value: &Value, c: &Chart) -> Vec<Check> {
    let p = "PersistentVolumeClaim";
    if !c.on("persistence.enabled") {
        return vec![
            check(p, "", Want::NoResource),
            check(c.workload(), format!("{}/volumes", c.pod()), Want::Names(c.volume_names("volumes"))),
        ];
    }
    let claim = Some(c.str("persistence.existingClaim")).filter(|s| !s.is_empty());
    match (rest, claim) {
        (["existingClaim"], Some(name)) => vec![
            check(p, "", Want::NoResource),
            check(
                c.workload(),
                format!("{}/volumes", c.pod()),
                Want::Contains(vec![json!({"name": "data", "persistentVolumeClaim": {"claimName": name}})]),
            ),
        ],
        (["mountPath"], _) => vec![check(
            c.workload(),
            format!("{}/volumeMounts", c.container()),
            Want::Contains(vec![json!({"name": "data", "mountPath": value})]),
        )],
        (_, Some(_)) => vec![check(p, "", Want::NoResource)],
        (["enabled"] | ["existingClaim"], None) => vec![check(
            c.workload(),
            format!("{}/volumes", c.pod()),
            Want::Contains(vec![json!({"name": "data", "persistentVolumeClaim": {"claimName": c.full}})]),
        )],
        (["accessMode"], None) => vec![check(p, "/spec/accessModes", Want::Eq(json!([value])))],
        (["storageClass"], None) if value == "" => vec![check(p, "/spec/storageClassName", Want::Absent)],
        (["storageClass"], None) => vec![check(p, "/spec/storageClassName", Want::Eq(value.clone()))],
        (["size"], None) => vec![check(p, "/spec/resources/requests/storage", Want::Eq(value.clone()))],
        (other, _) => panic!("no expectation for persistence.{}", other.join(".")),
    }
}

fn service_account(rest: &[&str], value: &Value, c: &Chart) -> Vec<Check> {
    let name = Some(c.str("serviceAccount.name")).filter(|s| !s.is_empty());
    let sa_name = |v: &str| check(c.workload(), format!("{}/serviceAccountName", c.pod()), Want::Eq(json!(v)));
    if !c.on("serviceAccount.create") {
        return vec![check("ServiceAccount", "", Want::NoResource), sa_name(name.unwrap_or("default"))];
    }
    let own = name.unwrap_or(&c.full).to_string();
    match rest {
        ["create"] | ["name"] => vec![check("ServiceAccount", "/metadata/name", Want::Eq(json!(own))), sa_name(&own)],
        ["annotations"] => vec![check("ServiceAccount", "/metadata/annotations", Want::Absent)],
        ["annotations", key] => {
            vec![check("ServiceAccount", format!("/metadata/annotations/{}", esc(key)), Want::Eq(value.clone()))]
        }
        other => panic!("no expectation for serviceAccount.{}", other.join(".")),
    }
}
