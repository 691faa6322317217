//! The table of rules: one row per check, naming the parameters it reads and where
//! Kubernetes v1.24 has the rule (package and function in k8s.io/kubernetes or apimachinery).
//! Adding a parameter means adding a row: a range for an integer, a name rule for a string
//! that names something, a shape for a list or object (see the tests for the list of kinds).

use super::objects::{self, Pod, Shape};
use super::{cron, k8s, quantity, Context, Report};
use serde_json::Value;

const I32: i64 = i32::MAX as i64;
const I64: i64 = i64::MAX;

/// One rule.
pub struct Rule {
    /// The parameters the rule reads; it runs when the user set one of them. Single-parameter
    /// checks act on the first.
    pub keys: &'static [&'static str],
    /// Where Kubernetes v1.24 has the rule.
    pub source: &'static str,
    pub check: Check,
}

/// What a rule checks.
pub enum Check {
    /// An integer within `min..=max`, becoming the Kubernetes field named.
    Int { min: i64, max: i64, field: &'static str },
    /// A string that names an object or a reference to one (empty: none).
    Name { rule: fn(&str) -> Vec<String>, field: &'static str },
    /// A map whose keys (and values) become labels, annotations or data keys.
    Map(MapRule),
    /// A quantity: not negative (`positive`: above zero).
    Quantity { positive: bool, field: &'static str },
    /// A list or object passed through as the Kubernetes type it becomes.
    Object(Shape),
    /// A rule across parameters or with its own logic.
    Custom(fn(&Context, &mut Report)),
}

#[derive(Debug, Clone, Copy)]
pub enum MapRule {
    /// Annotation keys are qualified names (any case); 256 KiB in all.
    Annotations,
    /// Label keys are qualified names, values label values.
    Labels,
    /// ConfigMap/Secret keys; 1 MiB in all.
    DataKeys,
}

impl Check {
    pub(super) fn run(&self, keys: &[&str], cx: &Context, r: &mut Report) {
        let key = keys[0];
        let v = cx.get(key);
        if v.is_null() && !matches!(self, Check::Custom(_)) {
            return;
        }
        match self {
            Check::Int { min, max, field } => int(key, v, *min, *max, field, r),
            Check::Name { rule, field } => {
                if let Some(s) = v.as_str().filter(|s| !s.is_empty()) {
                    if let Some(m) = rule(s).into_iter().next() {
                        r.refuse(key, v, field, &m);
                    }
                }
            }
            Check::Map(rule) => map(key, v, *rule, r),
            Check::Quantity { positive, field } => match quantity::of(v) {
                Some(q) if q.is_negative() => r.refuse(key, v, field, "must be greater than or equal to 0"),
                Some(q) if *positive && q.is_zero() => r.refuse(key, v, field, "must be greater than zero"),
                Some(_) => {}
                None => r.refuse(key, v, field, "is not a quantity"),
            },
            Check::Object(shape) => objects::check(key, v, *shape, &pod(cx), r),
            Check::Custom(f) => f(cx, r),
        }
    }
}

fn int(key: &str, v: &Value, min: i64, max: i64, field: &str, r: &mut Report) {
    let Some(n) = v.as_i64() else { return };
    if (min, max) == (1, 65535) && !(min..=max).contains(&n) {
        r.refuse(key, v, field, "must be between 1 and 65535, inclusive");
    } else if n < min {
        r.refuse(key, v, field, &format!("must be greater than or equal to {min}"));
    } else if n > max && max == I32 {
        r.refuse(key, v, field, "must fit in a 32-bit integer (at most 2147483647)");
    } else if n > max {
        r.refuse(key, v, field, &format!("must be less than or equal to {max}"));
    }
}

fn map(key: &str, v: &Value, rule: MapRule, r: &mut Report) {
    let Some(m) = v.as_object() else { return };
    let mut size = 0;
    for (k, val) in m.iter().filter(|(_, val)| !val.is_null()) {
        let text = crate::overlay::scalar_text(val);
        size += k.len() + text.len();
        let entry = format!("{key}.{k}");
        let key_errs = match rule {
            MapRule::Annotations => k8s::qualified_name(&k.to_lowercase()),
            MapRule::Labels => k8s::qualified_name(k),
            MapRule::DataKeys => k8s::config_key(k),
        };
        let field = match rule {
            MapRule::Annotations => "an annotation key",
            MapRule::Labels => "a label key",
            MapRule::DataKeys => "a data key",
        };
        if let Some(m) = key_errs.into_iter().next() {
            return r.refuse_name(&entry, k, field, &m);
        }
        if let (MapRule::Labels, Some(m)) = (rule, k8s::label_value(&text).into_iter().next()) {
            return r.refuse(&entry, val, "a label value", &m);
        }
    }
    let (limit, field) = match rule {
        MapRule::Annotations => (256 * 1024, "metadata.annotations"),
        MapRule::DataKeys => (1024 * 1024, "data"),
        MapRule::Labels => return,
    };
    if size > limit {
        r.refuse(
            key,
            &Value::String(format!("{size} bytes")),
            field,
            &format!("Too long: must have at most {limit} bytes"),
        );
    }
}

/// The pod around the pass-through values: the chart's volumes and containers, and the user's.
fn pod(cx: &Context) -> Pod {
    let rendered = super::super::layers::pod_spec(cx.found.workload.body(), cx.found.kind);
    let names = |v: &Value| -> Vec<String> {
        v.as_array().into_iter().flatten().filter_map(|i| i["name"].as_str().map(str::to_string)).collect()
    };
    let mut chart_volumes = names(&rendered["volumes"]);
    for (on, vol) in [("persistence.enabled", "data"), ("configMap.enabled", "config")] {
        if cx.on(on) && !chart_volumes.iter().any(|v| v == vol) {
            chart_volumes.push(vol.to_string());
        }
    }
    let mut volumes = chart_volumes.clone();
    volumes.extend(names(cx.get("extraVolumes")));
    let mut containers = names(&rendered["containers"]);
    containers.extend(names(cx.get("sidecars")));
    let mut init_containers = names(&rendered["initContainers"]);
    init_containers.extend(names(cx.get("initContainers")));
    Pod { volumes, chart_volumes, containers, main_container: cx.found.container.clone(), init_containers }
}

macro_rules! int {
    ($key:literal, $min:expr, $max:expr, $field:literal, $src:expr) => {
        Rule { keys: &[$key], source: $src, check: Check::Int { min: $min, max: $max, field: $field } }
    };
}

macro_rules! object {
    ($key:literal, $shape:expr, $src:expr) => {
        Rule { keys: &[$key], source: $src, check: Check::Object($shape) }
    };
}

const PROBE: &str = "core/validation validateProbe: ValidateNonnegativeField";
const HPA: &str = "autoscaling/validation validateHorizontalPodAutoscalerSpec";
const BEHAVIOR: &str = "autoscaling/validation validateScalingRules";

/// Every rule, in the order they are checked.
#[rustfmt::skip]
pub static RULES: &[Rule] = &[
    // Names: the objects, the name label, references.
    Rule { keys: &["fullnameOverride", "nameOverride"], source: "apimachinery ValidateObjectMeta (NameIsDNSSubdomain; Service: NameIsDNS1035Label); batch/validation ValidateCronJob (52 characters)", check: Check::Custom(names) },
    Rule { keys: &["nameOverride"], source: "apimachinery ValidateLabels: IsValidLabelValue (app.kubernetes.io/name)", check: Check::Custom(name_label) },
    Rule { keys: &["serviceAccount.name"], source: "core/validation ValidatePodSpec: ValidateServiceAccountName", check: Check::Name { rule: k8s::dns1123_subdomain, field: "a ServiceAccount name (spec.serviceAccountName)" } },
    Rule { keys: &["priorityClassName"], source: "core/validation ValidatePodSpec: ValidatePriorityClassName", check: Check::Name { rule: k8s::dns1123_subdomain, field: "spec.priorityClassName" } },
    Rule { keys: &["persistence.storageClass"], source: "core/validation ValidatePersistentVolumeClaimSpec: ValidateClassName", check: Check::Name { rule: k8s::dns1123_subdomain, field: "spec.storageClassName" } },
    Rule { keys: &["persistence.existingClaim"], source: "apimachinery NameIsDNSSubdomain (a PersistentVolumeClaim's name)", check: Check::Name { rule: k8s::dns1123_subdomain, field: "a PersistentVolumeClaim name (claimName)" } },
    Rule { keys: &["ingress.className"], source: "networking/validation ValidateIngressSpec: ValidateIngressClassName", check: Check::Name { rule: k8s::dns1123_subdomain, field: "spec.ingressClassName" } },
    Rule { keys: &["global.imageRegistry", "image.registry", "image.repository", "image.tag"], source: "core/validation validateContainers (image: Required, no leading or trailing whitespace)", check: Check::Custom(image) },
    // Labels, annotations, data.
    Rule { keys: &["podAnnotations"], source: "apimachinery ValidateAnnotations", check: Check::Map(MapRule::Annotations) },
    Rule { keys: &["service.annotations"], source: "apimachinery ValidateAnnotations", check: Check::Map(MapRule::Annotations) },
    Rule { keys: &["ingress.annotations"], source: "apimachinery ValidateAnnotations", check: Check::Map(MapRule::Annotations) },
    Rule { keys: &["serviceAccount.annotations"], source: "apimachinery ValidateAnnotations", check: Check::Map(MapRule::Annotations) },
    Rule { keys: &["nodeSelector"], source: "core/validation ValidatePodSpec: ValidateLabels(nodeSelector)", check: Check::Map(MapRule::Labels) },
    Rule { keys: &["configMap.data"], source: "core/validation ValidateConfigMap: IsConfigMapKey, 1 MiB", check: Check::Map(MapRule::DataKeys) },
    Rule { keys: &["secret.data"], source: "core/validation ValidateSecret: IsConfigMapKey, 1 MiB", check: Check::Map(MapRule::DataKeys) },
    Rule { keys: &["secret.stringData"], source: "core/validation ValidateSecret: IsConfigMapKey, 1 MiB", check: Check::Map(MapRule::DataKeys) },
    Rule { keys: &["secret.data"], source: "Secret data decodes as base64 (the API server's JSON decoding of []byte)", check: Check::Custom(secret_base64) },
    // Workload numbers.
    int!("replicaCount", 0, I32, "spec.replicas", "apps/validation ValidateDeploymentSpec"),
    int!("job.parallelism", 0, I32, "spec.parallelism", "batch/validation validateJobSpec"),
    int!("job.completions", 1, I32, "spec.completions", "batch/validation validateJobSpec (0 completions is no job: the chart refuses it)"),
    int!("job.backoffLimit", 0, I32, "spec.backoffLimit", "batch/validation validateJobSpec"),
    int!("job.ttlSecondsAfterFinished", 0, I32, "spec.ttlSecondsAfterFinished", "batch/validation validateJobSpec"),
    Rule { keys: &["job.completions", "job.parallelism"], source: "batch/validation validateJobSpec (Indexed: at most 100000 completions and parallelism)", check: Check::Custom(indexed_job) },
    int!("cronjob.failedJobsHistoryLimit", 0, I32, "spec.failedJobsHistoryLimit", "batch/validation validateCronJobSpec"),
    int!("cronjob.successfulJobsHistoryLimit", 0, I32, "spec.successfulJobsHistoryLimit", "batch/validation validateCronJobSpec"),
    int!("cronjob.startingDeadlineSeconds", 0, I64, "spec.startingDeadlineSeconds", "batch/validation validateCronJobSpec"),
    Rule { keys: &["cronjob.schedule"], source: "batch/validation validateScheduleFormat: cron.ParseStandard (robfig/cron v3)", check: Check::Custom(schedule) },
    int!("terminationGracePeriodSeconds", 0, I64, "spec.terminationGracePeriodSeconds", "core/validation ValidatePodSpec (a negative grace period means none)"),
    Rule { keys: &["dnsPolicy"], source: "core/validation validatePodDNSConfig (None needs dnsConfig)", check: Check::Custom(dns_policy) },
    Rule { keys: &["strategy.type", "strategy.rollingUpdate.maxSurge", "strategy.rollingUpdate.maxUnavailable"], source: "apps/validation ValidateRollingUpdateDeployment", check: Check::Custom(rolling_update) },
    // Container.
    int!("container.port", 1, 65535, "containerPort", "core/validation validateContainerPorts: IsValidPortNum"),
    int!("resources.gpu.count", 1, I32, "an nvidia.com/gpu request", "core/validation ValidateResourceRequirements (whole GPUs; the chart needs one at least)"),
    Rule { keys: &["resources.requests.cpu"], source: "core/validation ValidateResourceQuantityValue", check: Check::Quantity { positive: false, field: "resources.requests.cpu" } },
    Rule { keys: &["resources.requests.memory"], source: "core/validation ValidateResourceQuantityValue", check: Check::Quantity { positive: false, field: "resources.requests.memory" } },
    Rule { keys: &["resources.limits.cpu"], source: "core/validation ValidateResourceQuantityValue", check: Check::Quantity { positive: false, field: "resources.limits.cpu" } },
    Rule { keys: &["resources.limits.memory"], source: "core/validation ValidateResourceQuantityValue", check: Check::Quantity { positive: false, field: "resources.limits.memory" } },
    Rule { keys: &["resources.requests.cpu", "resources.requests.memory", "resources.limits.cpu", "resources.limits.memory"], source: "core/validation ValidateResourceRequirements (request <= limit; the GPU request and limit are the same count by construction)", check: Check::Custom(requests_within_limits) },
    int!("livenessProbe.initialDelaySeconds", 0, I32, "livenessProbe.initialDelaySeconds", PROBE),
    int!("livenessProbe.periodSeconds", 0, I32, "livenessProbe.periodSeconds", PROBE),
    int!("livenessProbe.timeoutSeconds", 0, I32, "livenessProbe.timeoutSeconds", PROBE),
    int!("livenessProbe.failureThreshold", 0, I32, "livenessProbe.failureThreshold", PROBE),
    Rule { keys: &["livenessProbe.successThreshold"], source: "core/validation validateContainers: livenessProbe.successThreshold must be 1", check: Check::Custom(success_threshold) },
    int!("readinessProbe.initialDelaySeconds", 0, I32, "readinessProbe.initialDelaySeconds", PROBE),
    int!("readinessProbe.periodSeconds", 0, I32, "readinessProbe.periodSeconds", PROBE),
    int!("readinessProbe.timeoutSeconds", 0, I32, "readinessProbe.timeoutSeconds", PROBE),
    int!("readinessProbe.successThreshold", 0, I32, "readinessProbe.successThreshold", PROBE),
    int!("readinessProbe.failureThreshold", 0, I32, "readinessProbe.failureThreshold", PROBE),
    int!("startupProbe.periodSeconds", 0, I32, "startupProbe.periodSeconds", PROBE),
    int!("startupProbe.timeoutSeconds", 0, I32, "startupProbe.timeoutSeconds", PROBE),
    int!("startupProbe.failureThreshold", 0, I32, "startupProbe.failureThreshold", PROBE),
    Rule { keys: &["startupProbe.successThreshold"], source: "core/validation validateContainers: startupProbe.successThreshold must be 1", check: Check::Custom(success_threshold) },
    object!("container.command", Shape::Strings, "the Container type (command: []string)"),
    object!("container.args", Shape::Strings, "the Container type (args: []string)"),
    object!("container.env", Shape::Env, "core/validation ValidateEnv"),
    object!("container.envFrom", Shape::EnvFrom, "core/validation ValidateEnvFrom"),
    object!("securityContext", Shape::SecurityContext, "core/validation ValidateSecurityContext"),
    object!("extraVolumeMounts", Shape::VolumeMounts, "core/validation ValidateVolumeMounts"),
    // Pod.
    object!("image.pullSecrets", Shape::PullSecrets, "core/validation validateImagePullSecrets"),
    object!("podSecurityContext", Shape::PodSecurityContext, "core/validation ValidatePodSecurityContext"),
    object!("tolerations", Shape::Tolerations, "core/validation ValidateTolerations"),
    object!("affinity", Shape::Affinity, "core/validation validateAffinity"),
    object!("initContainers", Shape::Containers { init: true }, "core/validation validateInitContainers"),
    object!("sidecars", Shape::Containers { init: false }, "core/validation validateContainers"),
    object!("extraVolumes", Shape::Volumes, "core/validation ValidateVolumes"),
    Rule { keys: &["persistence.mountPath"], source: "core/validation ValidateVolumeMounts (mountPath: Required, unique)", check: Check::Custom(mount_path) },
    Rule { keys: &["persistence.size"], source: "core/validation ValidatePersistentVolumeClaimSpec: ValidatePositiveQuantityValue", check: Check::Quantity { positive: true, field: "spec.resources.requests.storage" } },
    Rule { keys: &["persistence.accessMode"], source: "core/validation ValidatePersistentVolumeClaimSpec (ReadWriteOncePod: feature gate, alpha in v1.24)", check: Check::Custom(access_mode) },
    // Service.
    int!("service.port", 1, 65535, "spec.ports[].port", "core/validation validateServicePort: IsValidPortNum"),
    Rule { keys: &["service.targetPort"], source: "core/validation validateServicePort: ValidatePortNumOrName", check: Check::Custom(target_port) },
    Rule { keys: &["service.nodePort", "service.type"], source: "core/validation ValidateService (nodePort not with ClusterIP); registry/core/service/portallocator (--service-node-port-range)", check: Check::Custom(node_port) },
    Rule { keys: &["service.loadBalancerSourceRanges", "service.type"], source: "core/validation ValidateService: LoadBalancerSourceRanges only with type LoadBalancer", check: Check::Custom(source_ranges_type) },
    object!("service.loadBalancerSourceRanges", Shape::Cidrs, "core/validation ValidateService: GetLoadBalancerSourceRanges"),
    Rule { keys: &["service.loadBalancerIP"], source: "an IP address (spec.loadBalancerIP; providers refuse anything else)", check: Check::Custom(load_balancer_ip) },
    // Ingress.
    object!("ingress.hosts", Shape::IngressHosts, "networking/validation validateIngressRules, validateHTTPIngressPath"),
    object!("ingress.tls", Shape::IngressTls, "networking/validation validateIngressTLS"),
    // Autoscaling.
    int!("autoscaling.minReplicas", 1, I32, "spec.minReplicas", HPA),
    int!("autoscaling.maxReplicas", 1, I32, "spec.maxReplicas", HPA),
    Rule { keys: &["autoscaling.minReplicas", "autoscaling.maxReplicas", "autoscaling.enabled"], source: HPA, check: Check::Custom(min_max_replicas) },
    int!("autoscaling.targetCPUUtilizationPercentage", 1, I32, "target.averageUtilization", "autoscaling/validation validateMetricTarget"),
    int!("autoscaling.targetMemoryUtilizationPercentage", 1, I32, "target.averageUtilization", "autoscaling/validation validateMetricTarget"),
    int!("autoscaling.behavior.scaleDown.stabilizationWindowSeconds", 0, 3600, "behavior.scaleDown.stabilizationWindowSeconds", BEHAVIOR),
    int!("autoscaling.behavior.scaleUp.stabilizationWindowSeconds", 0, 3600, "behavior.scaleUp.stabilizationWindowSeconds", BEHAVIOR),
    object!("autoscaling.behavior.scaleDown.policies", Shape::ScalingPolicies, BEHAVIOR),
    object!("autoscaling.behavior.scaleUp.policies", Shape::ScalingPolicies, BEHAVIOR),
];

/// Parameters no Kubernetes rule applies to beyond their type (enums, booleans, free text).
pub const NO_RULE: &[&str] = &[
    "workloadType",
    "image.variant",
    "image.pullPolicy",
    "strategy.type",
    "resources.gpu.enabled",
    "livenessProbe.enabled",
    "livenessProbe.httpGet.path",
    "readinessProbe.enabled",
    "readinessProbe.httpGet.path",
    "startupProbe.enabled",
    "startupProbe.httpGet.path",
    "service.enabled",
    "service.type",
    "ingress.enabled",
    "autoscaling.enabled",
    "autoscaling.behavior.scaleDown.selectPolicy",
    "autoscaling.behavior.scaleUp.selectPolicy",
    "job.restartPolicy",
    "cronjob.concurrencyPolicy",
    "cronjob.suspend",
    "persistence.enabled",
    "configMap.enabled",
    "secret.enabled",
    "serviceAccount.create",
];

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

/// The chart's fullname names every object: a DNS-1123 subdomain, a DNS-1035 label for the
/// Service. A CronJob's name is cut to 52 characters (the controller appends 11), a Job's to 63
/// (its pods' `job-name` label), both by the release layer.
fn names(cx: &Context, r: &mut Report) {
    let key = match cx.touched("fullnameOverride") && !cx.str("fullnameOverride").is_empty() {
        true => "fullnameOverride",
        false => "nameOverride",
    };
    let full = cx.fullname;
    if let Some(m) = k8s::dns1123_subdomain(full).into_iter().next() {
        return r.refuse(key, &s(full), "metadata.name (the chart's fullname names every object)", &m);
    }
    if cx.has_service() {
        if let Some(m) = k8s::dns1035_label(full).into_iter().next() {
            r.refuse(key, &s(full), "a Service's metadata.name (the fullname)", &m);
        }
    }
}

fn name_label(cx: &Context, r: &mut Report) {
    if let Some(m) = k8s::label_value(cx.name).into_iter().next() {
        r.refuse("nameOverride", &s(cx.name), "the label app.kubernetes.io/name", &m);
    }
}

fn image(cx: &Context, r: &mut Report) {
    for key in ["global.imageRegistry", "image.registry", "image.repository", "image.tag"] {
        let v = cx.get(key);
        if cx.touched(key) && v.as_str().is_some_and(|t| t.chars().any(char::is_whitespace)) {
            return r.refuse(key, v, "part of an image reference", "must not contain whitespace");
        }
    }
    if cx.touched("image.repository") && cx.str("image.repository").is_empty() {
        r.refuse(
            "image.repository",
            cx.get("image.repository"),
            "part of an image reference",
            "Required value: the image needs a repository",
        );
    }
}

fn secret_base64(cx: &Context, r: &mut Report) {
    for (k, v) in cx.get("secret.data").as_object().into_iter().flatten() {
        let text: String = v.as_str().unwrap_or("").chars().filter(|c| !c.is_whitespace()).collect();
        if base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text.as_bytes()).is_err() {
            return r.refuse(
                &format!("secret.data.{k}"),
                v,
                "Secret data",
                "is not base64 (the chart takes secret.data already encoded; use secret.stringData for plain text)",
            );
        }
    }
}

fn indexed_job(cx: &Context, r: &mut Report) {
    let completions = cx.get("job.completions").as_i64().unwrap_or(1);
    if cx.is_deployment() || completions <= 1 {
        return;
    }
    for key in ["job.completions", "job.parallelism"] {
        let v = cx.get(key);
        if v.as_i64().is_some_and(|n| n > 100_000) {
            return r.refuse(
                key,
                v,
                &format!("spec.{} of an Indexed Job (completions above 1 make one)", &key[4..]),
                "must be less than or equal to 100000 when completion mode is Indexed",
            );
        }
    }
}

fn schedule(cx: &Context, r: &mut Report) {
    let v = cx.get("cronjob.schedule");
    match v.as_str() {
        Some(spec) => {
            if let Err(m) = cron::parse_standard(spec) {
                r.refuse(
                    "cronjob.schedule",
                    v,
                    "a CronJob schedule (spec.schedule, standard cron: five fields, e.g. \"0 2 * * *\", or @daily)",
                    &m,
                );
            }
        }
        None => r.refuse("cronjob.schedule", v, "spec.schedule", "Required value"),
    }
}

fn dns_policy(cx: &Context, r: &mut Report) {
    if cx.str("dnsPolicy") == "None" {
        r.refuse(
            "dnsPolicy",
            cx.get("dnsPolicy"),
            "spec.dnsPolicy without spec.dnsConfig",
            "must provide `dnsConfig` when `dnsPolicy` is None (the chart has no dnsConfig parameter)",
        );
    }
}

/// An int-or-string of a rolling update: an integer, a numeric string (made a number), or a
/// percentage.
fn int_or_percent(v: &Value) -> Option<(i64, bool)> {
    match v {
        Value::Number(n) => n.as_i64().map(|n| (n, false)),
        Value::String(t) => match t.strip_suffix('%') {
            Some(p) => p.parse().ok().filter(|_| k8s::percent(t).is_empty()).map(|p| (p, true)),
            None => t.parse().ok().map(|n| (n, false)),
        },
        _ => None,
    }
}

fn rolling_update(cx: &Context, r: &mut Report) {
    if !cx.is_deployment() || cx.str("strategy.type") == "Recreate" {
        return;
    }
    let (surge_key, unavailable_key) = ("strategy.rollingUpdate.maxSurge", "strategy.rollingUpdate.maxUnavailable");
    let mut parsed = Vec::new();
    for key in [surge_key, unavailable_key] {
        let v = cx.get(key);
        match int_or_percent(v) {
            _ if v.is_null() => parsed.push((0, false)),
            Some((n, _)) if n < 0 => {
                return r.refuse(key, v, &format!("spec.{}", &key[9..]), "must be greater than or equal to 0")
            }
            Some(p) => parsed.push(p),
            None => return r.refuse(key, v, &format!("spec.{}", &key[9..]), &k8s::percent("").join("")),
        }
    }
    if parsed[0].0 == 0 && parsed[1].0 == 0 {
        let key = if cx.touched(unavailable_key) { unavailable_key } else { surge_key };
        return r.refuse(
            key,
            cx.get(key),
            "spec.strategy.rollingUpdate",
            "maxUnavailable may not be 0 when `maxSurge` is 0 (a rollout could never make progress)",
        );
    }
    if parsed[1].1 && parsed[1].0 > 100 {
        r.refuse(
            unavailable_key,
            cx.get(unavailable_key),
            "spec.strategy.rollingUpdate.maxUnavailable",
            "must not be greater than 100%",
        );
    }
}

/// Each request within its limit, the untouched side as the overlay renders it (a limit set
/// below the default request is refused, naming the limit).
fn requests_within_limits(cx: &Context, r: &mut Report) {
    let rendered = cx.container()["resources"].clone();
    for name in ["cpu", "memory"] {
        let (req_key, lim_key) = (format!("resources.requests.{name}"), format!("resources.limits.{name}"));
        let req = cx.rendered_or_set(&req_key, &rendered["requests"][name]);
        let lim = cx.rendered_or_set(&lim_key, &rendered["limits"][name]);
        let (Some(rq), Some(lq)) = (quantity::of(req), quantity::of(lim)) else { continue };
        if rq > lq {
            let key = if cx.touched(&lim_key) { &lim_key } else { &req_key };
            let rule = format!(
                "the request ({}) is above the limit ({}): requests must be less than or equal to the {name} limit",
                show_q(req),
                show_q(lim)
            );
            return r.refuse(key, cx.get(key), "container resources", &rule);
        }
    }
}

fn show_q(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn success_threshold(cx: &Context, r: &mut Report) {
    for key in ["livenessProbe.successThreshold", "startupProbe.successThreshold"] {
        let v = cx.get(key);
        if cx.touched(key) && v.as_i64().is_some_and(|n| n != 1 && n != 0) {
            return r.refuse(
                key,
                v,
                &format!("{}", key.replace(".successThreshold", "'s successThreshold")),
                "must be 1 for liveness and startup probes",
            );
        }
    }
}

fn mount_path(cx: &Context, r: &mut Report) {
    if !cx.on("persistence.enabled") {
        return;
    }
    let v = cx.get("persistence.mountPath");
    let path = v.as_str().unwrap_or("");
    if path.is_empty() {
        return r.refuse("persistence.mountPath", v, "volumeMounts[].mountPath", "Required value");
    }
    let taken: Vec<String> = cx.container()["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["name"] != "data")
        .filter_map(|m| m["mountPath"].as_str().map(str::to_string))
        .collect();
    if taken.iter().any(|p| p == path) {
        r.refuse(
            "persistence.mountPath",
            v,
            "volumeMounts[].mountPath",
            "must be unique: the chart's container already mounts a volume there",
        );
    }
}

fn access_mode(cx: &Context, r: &mut Report) {
    if cx.str("persistence.accessMode") == "ReadWriteOncePod" && cx.on("persistence.enabled") {
        r.warn("persistence.accessMode", "ReadWriteOncePod needs the ReadWriteOncePod feature gate in Kubernetes v1.24 (alpha, off by default; beta and on from 1.27): the server decides");
    }
}

fn target_port(cx: &Context, r: &mut Report) {
    let v = cx.get("service.targetPort");
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(0) => {}
            Some(n) => {
                if let Some(m) = k8s::port_num(n).into_iter().next() {
                    r.refuse("service.targetPort", v, "spec.ports[].targetPort", &m);
                }
            }
            None => r.refuse(
                "service.targetPort",
                v,
                "spec.ports[].targetPort",
                "must be a whole port number or a port name",
            ),
        },
        Value::String(t) if t.is_empty() => {}
        Value::String(t) => {
            let errs = match t.parse::<i64>() {
                Ok(n) if t.bytes().all(|b| b.is_ascii_digit()) => k8s::port_num(n),
                _ => k8s::port_name(t),
            };
            if let Some(m) = errs.into_iter().next() {
                r.refuse(
                    "service.targetPort",
                    v,
                    "spec.ports[].targetPort (a port number or the container's port name)",
                    &m,
                );
            }
        }
        _ => {}
    }
}

fn node_port(cx: &Context, r: &mut Report) {
    if !cx.touched("service.nodePort") || !cx.has_service() {
        return;
    }
    let v = cx.get("service.nodePort");
    let n = match super::super::layers::node_port_number(v) {
        Ok(Some(n)) => n,
        Ok(None) => return,
        Err(()) => return r.refuse("service.nodePort", v, "spec.ports[].nodePort", "must be a port number"),
    };
    if let Some(m) = k8s::port_num(n).into_iter().next() {
        return r.refuse("service.nodePort", v, "spec.ports[].nodePort", &m);
    }
    let ty = cx.service_type();
    if ty == "ClusterIP" {
        r.warn("service.nodePort", &format!("{n} is not rendered: service.type is ClusterIP, and node ports need NodePort or LoadBalancer (as the chart, which renders it only for NodePort)"));
    } else if !(30000..=32767).contains(&n) {
        r.warn("service.nodePort", &format!("{n} is outside the default node port range 30000-32767; the API server's --service-node-port-range decides"));
    }
}

fn source_ranges_type(cx: &Context, r: &mut Report) {
    let v = cx.get("service.loadBalancerSourceRanges");
    if !cx.has_service() || v.as_array().map_or(true, Vec::is_empty) {
        return;
    }
    let ty = cx.service_type();
    if ty != "LoadBalancer" {
        let key = if cx.touched("service.loadBalancerSourceRanges") {
            "service.loadBalancerSourceRanges"
        } else {
            "service.type"
        };
        r.refuse(
            key,
            cx.get(key),
            &format!("spec.loadBalancerSourceRanges of a {ty} Service"),
            "Forbidden: may only be used when `type` is 'LoadBalancer'",
        );
    }
}

fn load_balancer_ip(cx: &Context, r: &mut Report) {
    let v = cx.get("service.loadBalancerIP");
    if let Some(t) = v.as_str().filter(|t| !t.is_empty()) {
        if t.parse::<std::net::IpAddr>().is_err() {
            r.refuse("service.loadBalancerIP", v, "spec.loadBalancerIP", "must be a valid IP address");
        }
    }
}

fn min_max_replicas(cx: &Context, r: &mut Report) {
    let (min, max) = (cx.get("autoscaling.minReplicas").as_i64(), cx.get("autoscaling.maxReplicas").as_i64());
    if !cx.on("autoscaling.enabled") || !cx.is_deployment() {
        return;
    }
    if let (Some(min), Some(max)) = (min, max) {
        if min > max {
            let key = if cx.touched("autoscaling.minReplicas") {
                "autoscaling.minReplicas"
            } else {
                "autoscaling.maxReplicas"
            };
            r.refuse(key, cx.get(key), "spec.maxReplicas", &format!("minReplicas ({min}) is greater than maxReplicas ({max}): maxReplicas must be greater than or equal to `minReplicas`"));
        }
    }
}
