//! The table of rules: one row per check, naming the parameters it reads and where
//! Kubernetes v1.24 has the rule (package and function in k8s.io/kubernetes or apimachinery).
//! Adding a parameter means adding a row: `int!` for an integer (its range), `Check::Name` for a
//! string that names an object, `Check::PortOrName` for a port field (`httpGet.port`),
//! `Check::Map` for a map, `object!` with a `Shape` for a list or object (`volumes` is
//! `Shape::Volumes`), `required!` when null must not remove it; or `NO_RULE` for enums, booleans
//! and free text. The tests list every parameter that has neither.

use super::checks::*;
use super::objects::{self, Pod, Shape};
use super::{k8s, quantity, Context, Report};
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
    /// A port number (1-65535) or a port name (`http`), as an int-or-string port field takes
    /// it; a numeric string is the number (`layers::int_or_string`). `empty_ok`: 0 and "" mean
    /// the default (a Service's target port is its port).
    PortOrName { field: &'static str, empty_ok: bool },
    /// A quantity: not negative (`positive`: above zero).
    Quantity { positive: bool, field: &'static str },
    /// A list or object passed through as the Kubernetes type it becomes.
    Object(Shape),
    /// A rule across parameters or with its own logic.
    Custom(fn(&Context, &mut Report)),
    /// A field Kubernetes requires: `null` (which removes it) is refused while `when` renders it.
    Required { field: &'static str, when: fn(&Context) -> bool },
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
        if let Check::Required { field, when } = self {
            if v.is_null() && when(cx) {
                r.refuse(key, v, field, "Required value: Kubernetes needs this field, so it cannot be removed (set a value instead of null)");
            }
            return;
        }
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
            Check::PortOrName { field, empty_ok } => port_or_name(key, v, field, *empty_ok, r),
            Check::Quantity { positive, field } => match quantity::of(v) {
                Some(q) if q.is_negative() => r.refuse(key, v, field, "must be greater than or equal to 0"),
                Some(q) if *positive && q.is_zero() => r.refuse(key, v, field, "must be greater than zero"),
                Some(_) => {}
                None => r.refuse(key, v, field, "is not a quantity"),
            },
            Check::Object(shape) => objects::check(key, v, *shape, &pod(cx), r),
            Check::Custom(f) => f(cx, r),
            Check::Required { .. } => {}
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

fn port_or_name(key: &str, v: &Value, field: &str, empty_ok: bool, r: &mut Report) {
    let errs = match super::super::layers::int_or_string(v) {
        Value::Number(n) if empty_ok && n.as_i64() == Some(0) => return,
        Value::String(t) if empty_ok && t.is_empty() => return,
        Value::Number(n) => match n.as_i64() {
            Some(n) => k8s::port_num(n),
            None => vec!["must be a whole port number or a port name".into()],
        },
        Value::String(t) => k8s::port_name(&t),
        _ => vec!["must be a port number or a port name".into()],
    };
    if let Some(m) = errs.into_iter().next() {
        r.refuse(key, v, field, &m);
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
    volumes.extend(names(cx.get("volumes")));
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
const PROBE_PORT: &str = "core/validation validateHTTPGetAction: ValidatePortNumOrName";
const HPA: &str = "autoscaling/validation validateHorizontalPodAutoscalerSpec";
const BEHAVIOR: &str = "autoscaling/validation validateScalingRules";

macro_rules! required {
    ($key:literal, $field:literal, $when:expr) => {
        Rule {
            keys: &[$key],
            source: "the field is required (Required value)",
            check: Check::Required { field: $field, when: $when },
        }
    };
}

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
    // Fields Kubernetes requires: null (which removes them) is refused.
    required!("job.restartPolicy", "a Job's spec.template.spec.restartPolicy (Never or OnFailure)", job_pod),
    required!("cronjob.schedule", "spec.schedule", job_pod),
    required!("container.port", "containerPort", deployment),
    required!("service.port", "spec.ports[].port", service_rendered),
    required!("autoscaling.maxReplicas", "spec.maxReplicas", autoscaled),
    required!("persistence.size", "spec.resources.requests.storage", claim_rendered),
    required!("persistence.accessMode", "spec.accessModes", claim_rendered),
    required!("persistence.mountPath", "volumeMounts[].mountPath", persistence_on),
    required!("image.repository", "part of an image reference", always),
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
    Rule { keys: &["livenessProbe.httpGet.port"], source: PROBE_PORT, check: Check::PortOrName { field: "livenessProbe.httpGet.port (a port number or the container's port name)", empty_ok: false } },
    int!("livenessProbe.initialDelaySeconds", 0, I32, "livenessProbe.initialDelaySeconds", PROBE),
    int!("livenessProbe.periodSeconds", 0, I32, "livenessProbe.periodSeconds", PROBE),
    int!("livenessProbe.timeoutSeconds", 0, I32, "livenessProbe.timeoutSeconds", PROBE),
    int!("livenessProbe.failureThreshold", 0, I32, "livenessProbe.failureThreshold", PROBE),
    Rule { keys: &["livenessProbe.successThreshold"], source: "core/validation validateContainers: livenessProbe.successThreshold must be 1", check: Check::Custom(success_threshold) },
    Rule { keys: &["readinessProbe.httpGet.port"], source: PROBE_PORT, check: Check::PortOrName { field: "readinessProbe.httpGet.port (a port number or the container's port name)", empty_ok: false } },
    int!("readinessProbe.initialDelaySeconds", 0, I32, "readinessProbe.initialDelaySeconds", PROBE),
    int!("readinessProbe.periodSeconds", 0, I32, "readinessProbe.periodSeconds", PROBE),
    int!("readinessProbe.timeoutSeconds", 0, I32, "readinessProbe.timeoutSeconds", PROBE),
    int!("readinessProbe.successThreshold", 0, I32, "readinessProbe.successThreshold", PROBE),
    int!("readinessProbe.failureThreshold", 0, I32, "readinessProbe.failureThreshold", PROBE),
    Rule { keys: &["startupProbe.httpGet.port"], source: PROBE_PORT, check: Check::PortOrName { field: "startupProbe.httpGet.port (a port number or the container's port name)", empty_ok: false } },
    int!("startupProbe.initialDelaySeconds", 0, I32, "startupProbe.initialDelaySeconds", PROBE),
    int!("startupProbe.periodSeconds", 0, I32, "startupProbe.periodSeconds", PROBE),
    int!("startupProbe.timeoutSeconds", 0, I32, "startupProbe.timeoutSeconds", PROBE),
    int!("startupProbe.failureThreshold", 0, I32, "startupProbe.failureThreshold", PROBE),
    Rule { keys: &["startupProbe.successThreshold"], source: "core/validation validateContainers: startupProbe.successThreshold must be 1", check: Check::Custom(success_threshold) },
    object!("container.command", Shape::Strings, "the Container type (command: []string)"),
    object!("container.args", Shape::Strings, "the Container type (args: []string)"),
    object!("container.env", Shape::Env, "core/validation ValidateEnv"),
    object!("container.envFrom", Shape::EnvFrom, "core/validation ValidateEnvFrom"),
    object!("securityContext", Shape::SecurityContext, "core/validation ValidateSecurityContext"),
    object!("volumeMounts", Shape::VolumeMounts, "core/validation ValidateVolumeMounts"),
    // Pod.
    object!("image.pullSecrets", Shape::PullSecrets, "core/validation validateImagePullSecrets"),
    object!("podSecurityContext", Shape::PodSecurityContext, "core/validation ValidatePodSecurityContext"),
    object!("tolerations", Shape::Tolerations, "core/validation ValidateTolerations"),
    object!("affinity", Shape::Affinity, "core/validation validateAffinity"),
    object!("initContainers", Shape::Containers { init: true }, "core/validation validateInitContainers"),
    object!("sidecars", Shape::Containers { init: false }, "core/validation validateContainers"),
    object!("volumes", Shape::Volumes, "core/validation ValidateVolumes"),
    Rule { keys: &["persistence.mountPath"], source: "core/validation ValidateVolumeMounts (mountPath: Required, unique)", check: Check::Custom(mount_path) },
    Rule { keys: &["persistence.size"], source: "core/validation ValidatePersistentVolumeClaimSpec: ValidatePositiveQuantityValue", check: Check::Quantity { positive: true, field: "spec.resources.requests.storage" } },
    Rule { keys: &["persistence.accessMode"], source: "core/validation ValidatePersistentVolumeClaimSpec (ReadWriteOncePod: feature gate, alpha in v1.24)", check: Check::Custom(access_mode) },
    // Service.
    int!("service.port", 1, 65535, "spec.ports[].port", "core/validation validateServicePort: IsValidPortNum"),
    Rule { keys: &["service.targetPort"], source: "core/validation validateServicePort: ValidatePortNumOrName", check: Check::PortOrName { field: "spec.ports[].targetPort (a port number or the container's port name)", empty_ok: true } },
    Rule { keys: &["service.nodePort", "service.type"], source: "core/validation ValidateService (nodePort not with ClusterIP); registry/core/service/portallocator (--service-node-port-range)", check: Check::Custom(node_port) },
    Rule { keys: &["service.loadBalancerSourceRanges", "service.type"], source: "core/validation ValidateService: LoadBalancerSourceRanges only with type LoadBalancer", check: Check::Custom(source_ranges_type) },
    object!("service.loadBalancerSourceRanges", Shape::Cidrs, "core/validation ValidateService: GetLoadBalancerSourceRanges"),
    Rule { keys: &["service.loadBalancerIP"], source: "an IP address (spec.loadBalancerIP; providers refuse anything else)", check: Check::Custom(load_balancer_ip) },
    // Ingress.
    object!("ingress.hosts", Shape::IngressHosts, "networking/validation validateIngressRules, validateHTTPIngressPath"),
    object!("ingress.tls", Shape::IngressTls, "networking/validation validateIngressTLS"),
    Rule { keys: &["ingress.hosts", "ingress.enabled"], source: "networking/validation ValidateIngressSpec (either `defaultBackend` or `rules`)", check: Check::Custom(ingress_rules) },
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
