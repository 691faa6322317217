//! Every parameter of the seed chart, with its type, default and a one-line description.
//!
//! This table is the single source of truth: defaults, validation ("did you mean ...?"), the JSON
//! Schema (`values.schema.json`), `show values` and the per-key documentation all come from it.

use serde_json::{json, Map, Value};
use std::sync::OnceLock;

/// The type of a parameter, checked before anything is rendered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Type {
    Str,
    Int,
    Bool,
    /// A Kubernetes quantity: "500m", "2Gi" or a number.
    Quantity,
    /// A number or a port name ("http").
    IntOrStr,
    Enum(&'static [&'static str]),
    /// A map of strings (labels, annotations, nodeSelector, ConfigMap data).
    StrMap,
    /// A free-form object passed through (affinity, securityContext).
    Object,
    /// A free-form list passed through (env, tolerations, extra volumes).
    List,
}

impl Type {
    pub fn name(&self) -> String {
        match self {
            Type::Str => "string".into(),
            Type::Int => "integer".into(),
            Type::Bool => "boolean".into(),
            Type::Quantity => "quantity (e.g. 500m, 2Gi)".into(),
            Type::IntOrStr => "integer or string".into(),
            Type::Enum(v) => format!("one of {}", v.join(", ")),
            Type::StrMap => "map of strings".into(),
            Type::Object => "object".into(),
            Type::List => "list".into(),
        }
    }

    /// Whether `v` fits; `null` always fits (it removes the key, as in Helm).
    pub fn accepts(&self, v: &Value) -> bool {
        match (self, v) {
            (_, Value::Null) => true,
            (Type::Str, Value::String(_)) => true,
            (Type::Int, Value::Number(n)) => n.is_i64(),
            (Type::Bool, Value::Bool(_)) => true,
            (Type::Quantity, Value::String(s)) => is_quantity(s),
            (Type::Quantity, Value::Number(_)) => true,
            (Type::IntOrStr, Value::String(_)) | (Type::IntOrStr, Value::Number(_)) => true,
            (Type::Enum(opts), Value::String(s)) => opts.contains(&s.as_str()),
            (Type::StrMap, Value::Object(m)) => m.values().all(is_map_text),
            (Type::Object, Value::Object(_)) => true,
            (Type::List, Value::Array(_)) => true,
            _ => false,
        }
    }
}

/// A value a map of strings takes: text, or an integer or boolean that reads back as typed
/// (`8080`, `true`). Not a float: a bare `1.10` has become 1.1 and would not say what was typed.
pub fn is_map_text(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_i64() || n.is_u64(),
        _ => v.is_string() || v.is_boolean() || v.is_null(),
    }
}

fn is_quantity(s: &str) -> bool {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[mkMGTPE]i?|[KMGTPE]i|n|u)?$")
            .expect("static regex")
    })
    .is_match(s)
}

/// One parameter row.
#[derive(Debug, Clone)]
pub struct Param {
    pub path: &'static str,
    pub ty: Type,
    pub default: Value,
    pub doc: &'static str,
}

macro_rules! params {
    ($( $path:literal : $ty:expr, $default:tt, $doc:literal; )*) => {
        vec![ $( Param { path: $path, ty: $ty, default: json!($default), doc: $doc }, )* ]
    };
}

const WORKLOADS: &[&str] = &["deployment", "job", "cronjob"];
const VARIANTS: &[&str] = &["latest", "cpu-full", "ml", "jupyter"];

/// Every parameter, in the order of the chart's README tables (extras at the end of each group).
pub fn params() -> &'static [Param] {
    static P: OnceLock<Vec<Param>> = OnceLock::new();
    P.get_or_init(|| {
        use Type::*;
        params! {
            "global.imageRegistry": Str, "", "Global image registry override (wins over image.registry)";
            "workloadType": Enum(WORKLOADS), "deployment", "Workload kind: deployment, job or cronjob";
            "nameOverride": Str, "", "Replaces the chart name in resource names and the app.kubernetes.io/name label";
            "fullnameOverride": Str, "", "Replaces the full resource name";
            "image.registry": Str, "docker.io", "Image registry";
            "image.repository": Str, "dimtensor", "Image repository";
            "image.tag": Str, "", "Image tag (empty: the app version 4.2.0, or latest for the latest variant)";
            "image.variant": Enum(VARIANTS), "latest", "Image variant: latest, cpu-full, ml, jupyter";
            "image.pullPolicy": Enum(&["Always", "IfNotPresent", "Never"]), "IfNotPresent", "Image pull policy";
            "image.pullSecrets": List, [], "Image pull secrets (names or {name: ...})";
            "replicaCount": Int, 3, "Number of replicas (deployment only; ignored when autoscaling is on)";
            "strategy.type": Enum(&["RollingUpdate", "Recreate"]), "RollingUpdate", "Deployment strategy";
            "strategy.rollingUpdate.maxSurge": IntOrStr, 1, "Max surge during a rolling update";
            "strategy.rollingUpdate.maxUnavailable": IntOrStr, 0, "Max unavailable during a rolling update";
            "container.port": Int, 8080, "Container port (named http)";
            "container.command": List, [], "Command override";
            "container.args": List, [], "Args override";
            "container.env": List, [], "Environment variables";
            "container.envFrom": List, [], "Environment from ConfigMaps/Secrets";
            "resources.requests.cpu": Quantity, "500m", "CPU request";
            "resources.requests.memory": Quantity, "2Gi", "Memory request";
            "resources.limits.cpu": Quantity, "2000m", "CPU limit";
            "resources.limits.memory": Quantity, "8Gi", "Memory limit";
            "resources.gpu.enabled": Bool, false, "Request NVIDIA GPUs (adds the accelerator nodeSelector and toleration)";
            "resources.gpu.count": Int, 1, "Number of GPUs";
            "livenessProbe.enabled": Bool, true, "Enable the liveness probe (deployment only)";
            "livenessProbe.httpGet.path": Str, "/health", "Liveness probe path";
            "livenessProbe.httpGet.port": IntOrStr, "http", "Liveness probe port (number or port name)";
            "livenessProbe.initialDelaySeconds": Int, 10, "Liveness initial delay";
            "livenessProbe.periodSeconds": Int, 30, "Liveness period";
            "livenessProbe.timeoutSeconds": Int, 5, "Liveness timeout";
            "livenessProbe.successThreshold": Int, 1, "Liveness success threshold (must be 1)";
            "livenessProbe.failureThreshold": Int, 3, "Liveness failure threshold";
            "readinessProbe.enabled": Bool, true, "Enable the readiness probe (deployment only)";
            "readinessProbe.httpGet.path": Str, "/ready", "Readiness probe path";
            "readinessProbe.httpGet.port": IntOrStr, "http", "Readiness probe port (number or port name)";
            "readinessProbe.initialDelaySeconds": Int, 5, "Readiness initial delay";
            "readinessProbe.periodSeconds": Int, 10, "Readiness period";
            "readinessProbe.timeoutSeconds": Int, 3, "Readiness timeout";
            "readinessProbe.successThreshold": Int, 1, "Readiness success threshold";
            "readinessProbe.failureThreshold": Int, 3, "Readiness failure threshold";
            "startupProbe.enabled": Bool, true, "Enable the startup probe (deployment only)";
            "startupProbe.httpGet.path": Str, "/health", "Startup probe path";
            "startupProbe.httpGet.port": IntOrStr, "http", "Startup probe port (number or port name)";
            "startupProbe.initialDelaySeconds": Int, 0, "Startup initial delay";
            "startupProbe.periodSeconds": Int, 5, "Startup period";
            "startupProbe.timeoutSeconds": Int, 3, "Startup timeout";
            "startupProbe.successThreshold": Int, 1, "Startup success threshold (must be 1)";
            "startupProbe.failureThreshold": Int, 12, "Startup failure threshold";
            "service.enabled": Bool, true, "Create the Service (deployment only)";
            "service.type": Enum(&["ClusterIP", "NodePort", "LoadBalancer"]), "ClusterIP", "Service type";
            "service.port": Int, 80, "Service port";
            "service.targetPort": IntOrStr, "http", "Target port";
            "service.nodePort": IntOrStr, "", "Node port (type NodePort or LoadBalancer)";
            "service.loadBalancerIP": Str, "", "Load balancer IP";
            "service.loadBalancerSourceRanges": List, [], "CIDRs allowed to reach a LoadBalancer";
            "service.annotations": StrMap, {}, "Service annotations";
            "ingress.enabled": Bool, false, "Create an Ingress (deployment only)";
            "ingress.className": Str, "nginx", "Ingress class name";
            "ingress.annotations": StrMap, {}, "Ingress annotations";
            "ingress.hosts": List, [{"host": "dimtensor.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}], "Ingress hosts and paths";
            "ingress.tls": List, [], "Ingress TLS (secretName + hosts)";
            "autoscaling.enabled": Bool, false, "Create a HorizontalPodAutoscaler (deployment only)";
            "autoscaling.minReplicas": Int, 2, "Minimum replicas";
            "autoscaling.maxReplicas": Int, 10, "Maximum replicas";
            "autoscaling.targetCPUUtilizationPercentage": Int, 70, "Target CPU utilization";
            "autoscaling.targetMemoryUtilizationPercentage": Int, 80, "Target memory utilization";
            "autoscaling.behavior.scaleDown.stabilizationWindowSeconds": Int, 300, "Scale-down stabilization window";
            "autoscaling.behavior.scaleDown.policies": List, [{"type": "Percent", "value": 50, "periodSeconds": 60}, {"type": "Pods", "value": 2, "periodSeconds": 60}], "Scale-down policies";
            "autoscaling.behavior.scaleDown.selectPolicy": Enum(&["Max", "Min", "Disabled"]), "Max", "Scale-down policy selection";
            "autoscaling.behavior.scaleUp.stabilizationWindowSeconds": Int, 0, "Scale-up stabilization window";
            "autoscaling.behavior.scaleUp.policies": List, [{"type": "Percent", "value": 100, "periodSeconds": 30}, {"type": "Pods", "value": 4, "periodSeconds": 30}], "Scale-up policies";
            "autoscaling.behavior.scaleUp.selectPolicy": Enum(&["Max", "Min", "Disabled"]), "Max", "Scale-up policy selection";
            "job.backoffLimit": Int, 3, "Retries before the Job fails";
            "job.ttlSecondsAfterFinished": Int, 86400, "Delete the finished Job after this many seconds (0: at once; null: never)";
            "job.parallelism": Int, 1, "Pods running at once (alone, without completions: a work queue)";
            "job.completions": Int, 1, "Required completions (emitted above 1, as an Indexed Job)";
            "job.restartPolicy": Enum(&["Never", "OnFailure"]), "Never", "Pod restart policy";
            "cronjob.schedule": Str, "0 0 * * *", "Cron schedule";
            "cronjob.concurrencyPolicy": Enum(&["Allow", "Forbid", "Replace"]), "Forbid", "Concurrency policy";
            "cronjob.failedJobsHistoryLimit": Int, 1, "Failed Jobs kept";
            "cronjob.successfulJobsHistoryLimit": Int, 3, "Successful Jobs kept";
            "cronjob.suspend": Bool, false, "Suspend the schedule";
            "cronjob.startingDeadlineSeconds": Int, 300, "Skip a run that could not start within this many seconds";
            "persistence.enabled": Bool, false, "Mount a PersistentVolumeClaim";
            "persistence.storageClass": Str, "", "Storage class (empty: the cluster default)";
            "persistence.accessMode": Enum(&["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]), "ReadWriteOnce", "Access mode";
            "persistence.size": Quantity, "10Gi", "Storage size";
            "persistence.mountPath": Str, "/data", "Mount path";
            "persistence.existingClaim": Str, "", "Use this existing PVC instead of creating one";
            "configMap.enabled": Bool, false, "Create the ConfigMap <fullname>, mounted at /config";
            "configMap.data": StrMap, {}, "ConfigMap data";
            "secret.enabled": Bool, false, "Create the Secret <fullname>, exposed as environment";
            "secret.data": StrMap, {}, "Secret data, already base64-encoded";
            "secret.stringData": StrMap, {}, "Secret data as plain text";
            "nodeSelector": StrMap, {}, "Node selector";
            "tolerations": List, [], "Tolerations";
            "affinity": Object, {}, "Affinity rules";
            "podAnnotations": StrMap, {}, "Pod annotations";
            "podSecurityContext": Object, {"runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000}, "Pod security context";
            "securityContext": Object, {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true, "runAsUser": 1000, "capabilities": {"drop": ["ALL"]}}, "Container security context";
            "terminationGracePeriodSeconds": Int, 30, "Termination grace period";
            "priorityClassName": Str, "", "Priority class name";
            "dnsPolicy": Enum(&["", "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]), "", "DNS policy (empty: the cluster's default)";
            "initContainers": List, [], "Extra init containers";
            "sidecars": List, [], "Extra containers beside dimtensor";
            "volumeMounts": List, [], "Extra volume mounts for the dimtensor container";
            "volumes": List, [], "Extra pod volumes";
            "serviceAccount.create": Bool, true, "Create a ServiceAccount";
            "serviceAccount.annotations": StrMap, {}, "ServiceAccount annotations";
            "serviceAccount.name": Str, "", "ServiceAccount name (empty: the full name)";
        }
    })
}

/// The parameter at a dotted path.
pub fn param(path: &str) -> Option<&'static Param> {
    params().iter().find(|p| p.path == path)
}

/// True when `path` is a parameter or a map above parameters (`resources`, `image`).
pub fn is_group(path: &str) -> bool {
    let prefix = format!("{path}.");
    params().iter().any(|p| p.path.starts_with(&prefix))
}

/// The defaults as one nested tree (built once: a render with values asks for it several times).
pub fn defaults() -> Value {
    static TREE: OnceLock<Value> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut root = Value::Object(Map::new());
        for p in params() {
            super::tree::set(&mut root, &super::tree::split(p.path), p.default.clone());
        }
        root
    })
    .clone()
}

/// The defaults as a YAML values file with one comment per key, for `show values`.
pub fn commented_defaults() -> String {
    let mut out = String::from("# kubectl-dimtensor values: the seed chart's parameters and their defaults.\n");
    let mut open: Vec<&str> = Vec::new();
    for p in params() {
        let parts: Vec<&str> = p.path.split('.').collect();
        let (groups, leaf) = parts.split_at(parts.len() - 1);
        let common = open.iter().zip(groups).take_while(|(a, b)| a == b).count();
        open.truncate(common);
        for g in &groups[common..] {
            out.push_str(&format!("{}{g}:\n", "  ".repeat(open.len())));
            open.push(g);
        }
        let indent = "  ".repeat(open.len());
        out.push_str(&format!("{indent}# {}\n", p.doc));
        let mut one = Map::new();
        one.insert(leaf[0].to_string(), p.default.clone());
        for line in crate::yaml::to_yaml(&Value::Object(one)).lines() {
            out.push_str(&format!("{indent}{line}\n"));
        }
    }
    out
}

/// A JSON Schema (draft 7) of the values, for editors.
pub fn json_schema() -> Value {
    let mut root = json!({"$schema": "http://json-schema.org/draft-07/schema#", "title": "kubectl-dimtensor values", "type": "object", "additionalProperties": false, "properties": {}});
    for p in params() {
        let parts: Vec<&str> = p.path.split('.').collect();
        let mut node = &mut root;
        for part in &parts[..parts.len() - 1] {
            let props = node["properties"].as_object_mut().expect("schema nodes have properties");
            node = props
                .entry(part.to_string())
                .or_insert_with(|| json!({"type": "object", "additionalProperties": false, "properties": {}}));
        }
        let props = node["properties"].as_object_mut().expect("schema nodes have properties");
        props.insert(parts[parts.len() - 1].to_string(), leaf_schema(p));
    }
    root
}

fn leaf_schema(p: &Param) -> Value {
    let mut s = match p.ty {
        Type::Str => json!({"type": ["string", "null"]}),
        Type::Int => json!({"type": ["integer", "null"]}),
        Type::Bool => json!({"type": ["boolean", "null"]}),
        Type::Quantity => json!({"type": ["string", "number", "null"]}),
        Type::IntOrStr => json!({"type": ["string", "integer", "null"]}),
        Type::Enum(v) => json!({"enum": v.iter().map(|s| json!(s)).chain([Value::Null]).collect::<Vec<_>>()}),
        Type::StrMap => {
            json!({"type": ["object", "null"], "additionalProperties": {"type": ["string", "integer", "boolean"]}})
        }
        Type::Object => json!({"type": ["object", "null"]}),
        Type::List => json!({"type": ["array", "null"]}),
    };
    s["description"] = json!(p.doc);
    s["default"] = p.default.clone();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_unique_and_every_default_fits_its_type() {
        let mut seen = std::collections::HashSet::new();
        for p in params() {
            assert!(seen.insert(p.path), "{} twice", p.path);
            assert!(
                p.ty.accepts(&p.default) || p.path == "service.nodePort",
                "{} default {} is not {}",
                p.path,
                p.default,
                p.ty.name()
            );
        }
    }

    #[test]
    fn covers_every_row_of_the_seed_readme() {
        // The parameter names of every table in the seed chart's README.
        for row in [
            "global.imageRegistry",
            "workloadType",
            "image.registry",
            "image.repository",
            "image.tag",
            "image.variant",
            "image.pullPolicy",
            "image.pullSecrets",
            "replicaCount",
            "strategy.type",
            "strategy.rollingUpdate.maxSurge",
            "strategy.rollingUpdate.maxUnavailable",
            "container.port",
            "container.command",
            "container.args",
            "container.env",
            "container.envFrom",
            "resources.requests.cpu",
            "resources.requests.memory",
            "resources.limits.cpu",
            "resources.limits.memory",
            "resources.gpu.enabled",
            "resources.gpu.count",
            "livenessProbe.enabled",
            "livenessProbe.httpGet.path",
            "livenessProbe.initialDelaySeconds",
            "livenessProbe.periodSeconds",
            "readinessProbe.enabled",
            "readinessProbe.httpGet.path",
            "readinessProbe.initialDelaySeconds",
            "startupProbe.enabled",
            "startupProbe.failureThreshold",
            "service.enabled",
            "service.type",
            "service.port",
            "service.targetPort",
            "service.nodePort",
            "service.loadBalancerIP",
            "service.annotations",
            "ingress.enabled",
            "ingress.className",
            "ingress.annotations",
            "ingress.hosts",
            "ingress.tls",
            "autoscaling.enabled",
            "autoscaling.minReplicas",
            "autoscaling.maxReplicas",
            "autoscaling.targetCPUUtilizationPercentage",
            "autoscaling.targetMemoryUtilizationPercentage",
            "job.backoffLimit",
            "job.ttlSecondsAfterFinished",
            "job.parallelism",
            "job.completions",
            "job.restartPolicy",
            "cronjob.schedule",
            "cronjob.concurrencyPolicy",
            "cronjob.failedJobsHistoryLimit",
            "cronjob.successfulJobsHistoryLimit",
            "cronjob.suspend",
            "persistence.enabled",
            "persistence.storageClass",
            "persistence.accessMode",
            "persistence.size",
            "persistence.mountPath",
            "persistence.existingClaim",
            "configMap.enabled",
            "configMap.data",
            "secret.enabled",
            "secret.data",
            "nodeSelector",
            "tolerations",
            "affinity",
            "podAnnotations",
            "podSecurityContext",
            "securityContext",
            "terminationGracePeriodSeconds",
            "priorityClassName",
            "serviceAccount.create",
            "serviceAccount.annotations",
            "serviceAccount.name",
        ] {
            assert!(param(row).is_some(), "seed parameter {row} is missing");
        }
    }

    #[test]
    fn types_refuse_what_they_should() {
        assert!(!Type::Int.accepts(&json!("5")));
        assert!(Type::Quantity.accepts(&json!("1500m")) && !Type::Quantity.accepts(&json!("lots")));
        assert!(!Type::Enum(&["a"]).accepts(&json!("b")));
        assert!(Type::Int.accepts(&Value::Null));
    }

    #[test]
    fn commented_defaults_parse_back_to_the_defaults() {
        let text = commented_defaults();
        assert_eq!(crate::yaml::parse_value(&text, "show values").unwrap(), defaults());
        assert!(text.contains("# Memory limit\n    memory: 8Gi"), "{text}");
    }

    #[test]
    fn the_committed_values_schema_is_up_to_date() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/values.schema.json");
        let committed: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("values.schema.json is committed"))
                .expect("valid JSON");
        assert_eq!(committed, json_schema(), "regenerate it: kubectl-dimtensor show schema > values.schema.json");
    }

    #[test]
    fn the_schema_nests_groups() {
        let s = json_schema();
        assert_eq!(s["properties"]["resources"]["properties"]["limits"]["properties"]["memory"]["default"], "8Gi");
    }
}
