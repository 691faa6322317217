//! Chart values, end to end: the real binary is run with `-f`/`--set` flags and its `-o json`
//! output is checked field by field against what the seed Helm chart renders
//! (/work/shared/seed/helm-chart-README.md, parameter table in src/values/schema.rs).
//!
//! - [`every_parameter_has_its_exact_effect`]: one row (or more) per parameter of the schema;
//!   [`every_shown_parameter_has_a_table_row`] keeps the table complete.
//! - The seed README's example values files render to what they describe.
//! - Overlays are presets: defaults never overwrite them, only the keys the user set do.
//! - `--set` syntax, `-f -`, file and flag precedence.
//! - Every error class exits 2 with nothing on stdout; secret values are never echoed.
//! - `--show-values` and `--explain` name each key's source.

mod common;

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-dimtensor");

/// Container and pod-spec pointers, expanded in table paths.
const C: &str = "/spec/template/spec/containers/0";
const P: &str = "/spec/template/spec";
const JC: &str = "/spec/jobTemplate/spec/template/spec/containers/0";
const JP: &str = "/spec/jobTemplate/spec/template/spec";

const SECRET_CANARY_B64: &str = "c2VjcmV0LWNhbmFyeQ=="; // "secret-canary"
const SECRET_CANARY_DECODED: &str = "secret-canary";
const SECRET_CANARY_PLAIN: &str = "canary-plain-123";

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/values").join(name).display().to_string()
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("DIMTENSOR_CHECKSUM_KEY")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    if let Some(text) = stdin {
        child.stdin.take().expect("piped").write_all(text.as_bytes()).expect("stdin accepts");
    }
    child.wait_with_output().expect("the binary finishes")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `render <args> -o json`: the rendered items, or an error describing the failed run.
fn try_render(args: &[&str], stdin: Option<&str>) -> Result<Vec<Value>, String> {
    let mut all = vec!["render"];
    all.extend_from_slice(args);
    all.extend(["-o", "json"]);
    let out = run(&all, stdin);
    if !out.status.success() {
        return Err(format!("exit {:?}: {}", out.status.code(), text(&out.stderr).trim()));
    }
    let list: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("stdout is not JSON: {e}"))?;
    list["items"].as_array().cloned().ok_or_else(|| "no items in the List".to_string())
}

fn render(args: &[&str]) -> Vec<Value> {
    try_render(args, None).unwrap_or_else(|e| panic!("render {args:?} failed: {e}"))
}

fn render_stdin(args: &[&str], stdin: &str) -> Vec<Value> {
    try_render(args, Some(stdin)).unwrap_or_else(|e| panic!("render {args:?} failed: {e}"))
}

fn find<'a>(items: &'a [Value], kind: &str) -> Option<&'a Value> {
    items.iter().find(|r| r["kind"] == kind)
}

fn one<'a>(items: &'a [Value], kind: &str) -> &'a Value {
    let all: Vec<&Value> = items.iter().filter(|r| r["kind"] == kind).collect();
    assert_eq!(all.len(), 1, "expected exactly one {kind} in {:?}", kinds(items));
    all[0]
}

fn kinds(items: &[Value]) -> Vec<String> {
    items.iter().map(|r| r["kind"].as_str().unwrap_or("?").to_string()).collect()
}

fn kind_set(items: &[Value]) -> BTreeSet<String> {
    kinds(items).into_iter().collect()
}

fn set_of(k: &[&str]) -> BTreeSet<String> {
    k.iter().map(|s| s.to_string()).collect()
}

fn expand(path: &str) -> String {
    path.replace("$JC", JC).replace("$JP", JP).replace("$C", C).replace("$P", P)
}

/// The value at a pointer (`$C`, `$P`, `$JC`, `$JP` expanded; `~1` is `/`).
fn at<'a>(resource: &'a Value, path: &str) -> Option<&'a Value> {
    resource.pointer(&expand(path))
}

fn at_eq(resource: &Value, path: &str) -> Value {
    at(resource, path).cloned().unwrap_or_else(|| panic!("{path} missing in {}", pretty(resource)))
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// A run that must fail as a user error: exit 2, nothing on stdout. Returns stderr.
fn fails(args: &[&str], stdin: Option<&str>) -> String {
    let out = run(args, stdin);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?} should exit 2; stderr: {err}; stdout: {}", text(&out.stdout));
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout on error: {}", text(&out.stdout));
    assert!(!err.trim().is_empty(), "{args:?} failed without a message");
    err
}

fn write_temp(dir: &tempfile::TempDir, name: &str, body: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, body).expect("temp file is writable");
    p.display().to_string()
}

// ---------------------------------------------------------------------------------------------
// 1. One row per parameter
// ---------------------------------------------------------------------------------------------

enum Want {
    /// The value at the path is exactly this.
    Eq(Value),
    /// The resource exists but has nothing at the path.
    Absent,
    /// No resource of this kind is rendered.
    NoResource,
    /// A sha256 hex digest (checksum annotations).
    Hex64,
    /// A list holding exactly these items, in any order (lists merged by key, such as volumes,
    /// whose order Kustomize decides: patch items come first).
    Unordered(Value),
}

struct Row {
    param: &'static str,
    overlay: Option<&'static str>,
    args: Vec<&'static str>,
    kind: &'static str,
    path: &'static str,
    want: Want,
}

fn row(param: &'static str, args: &[&'static str], kind: &'static str, path: &'static str, want: Want) -> Row {
    Row { param, overlay: None, args: args.to_vec(), kind, path, want }
}

fn orow(
    param: &'static str,
    overlay: &'static str,
    args: &[&'static str],
    kind: &'static str,
    path: &'static str,
    want: Want,
) -> Row {
    Row { param, overlay: Some(overlay), args: args.to_vec(), kind, path, want }
}

fn eq(v: Value) -> Want {
    Want::Eq(v)
}

fn items_of(v: Value) -> Want {
    Want::Unordered(v)
}

/// Whether two lists hold the same items, whatever their order.
fn same_items(a: &Value, b: &Value) -> bool {
    match (a.as_array(), b.as_array()) {
        (Some(a), Some(b)) => a.len() == b.len() && a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x)),
        _ => false,
    }
}

fn assert_same_items(got: &Value, want: Value) {
    assert!(same_items(got, &want), "expected the items {want} in any order, got {got}");
}

const D: &str = "Deployment";
const J: &str = "Job";
const CJ: &str = "CronJob";
const JOB: &str = "workloadType=job";
const CRON: &str = "workloadType=cronjob";
const HPA: &str = "HorizontalPodAutoscaler";

#[rustfmt::skip]
fn table() -> Vec<Row> {
    vec![
        // Global settings
        row("global.imageRegistry", &["--set", "global.imageRegistry=reg.example.com"], D, "$C/image", eq(json!("reg.example.com/dimtensor:latest"))),
        row("global.imageRegistry", &["--set", "global.imageRegistry=reg.example.com,image.registry=ghcr.io"], D, "$C/image", eq(json!("reg.example.com/dimtensor:latest"))),
        row("workloadType", &["--set", JOB], J, "/spec/backoffLimit", eq(json!(3))),
        row("workloadType", &["--set", JOB], D, "", Want::NoResource),
        row("workloadType", &["--set", JOB], "Service", "", Want::NoResource),
        row("workloadType", &["--set", CRON], CJ, "/spec/schedule", eq(json!("0 0 * * *"))),
        row("workloadType", &["--set", "workloadType=deployment"], D, "/spec/replicas", eq(json!(3))),
        row("nameOverride", &["--set", "nameOverride=physics"], D, "/metadata/labels/app.kubernetes.io~1name", eq(json!("physics"))),
        row("nameOverride", &["--set", "nameOverride=physics"], D, "/metadata/name", eq(json!("dimtensor-physics"))),
        row("fullnameOverride", &["--set", "fullnameOverride=api"], D, "/metadata/name", eq(json!("api"))),
        row("fullnameOverride", &["--set", "fullnameOverride=api"], "Service", "/metadata/name", eq(json!("api"))),
        // Image
        row("image.registry", &["--set", "image.registry=ghcr.io"], D, "$C/image", eq(json!("ghcr.io/dimtensor:latest"))),
        row("image.repository", &["--set", "image.repository=acme/dimtensor"], D, "$C/image", eq(json!("docker.io/acme/dimtensor:latest"))),
        row("image.tag", &["--set", "image.tag=5.0"], D, "$C/image", eq(json!("docker.io/dimtensor:5.0"))),
        row("image.tag", &["--set", "image.tag=5.0,image.variant=cpu-full"], D, "$C/image", eq(json!("docker.io/dimtensor:5.0-cpu-full"))),
        row("image.variant", &["--set", "image.variant=ml"], D, "$C/image", eq(json!("docker.io/dimtensor:4.2.0-ml"))),
        row("image.variant", &["--set", "image.variant=latest"], D, "$C/image", eq(json!("docker.io/dimtensor:latest"))),
        row("image.pullPolicy", &["--set", "image.pullPolicy=Always"], D, "$C/imagePullPolicy", eq(json!("Always"))),
        row("image.pullSecrets", &["--set", "image.pullSecrets[0].name=regcred"], D, "$P/imagePullSecrets", eq(json!([{"name": "regcred"}]))),
        row("image.pullSecrets", &["--set", "image.pullSecrets={regcred,other}"], D, "$P/imagePullSecrets", eq(json!([{"name": "regcred"}, {"name": "other"}]))),
        // Deployment
        row("replicaCount", &["--set", "replicaCount=5"], D, "/spec/replicas", eq(json!(5))),
        row("replicaCount", &["--set", "replicaCount=5,autoscaling.enabled=true"], D, "/spec/replicas", Want::Absent),
        row("strategy.type", &["--set", "strategy.type=Recreate"], D, "/spec/strategy", eq(json!({"type": "Recreate"}))),
        row("strategy.rollingUpdate.maxSurge", &["--set", "strategy.rollingUpdate.maxSurge=25%"], D, "/spec/strategy", eq(json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}))),
        row("strategy.rollingUpdate.maxUnavailable", &["--set", "strategy.rollingUpdate.maxUnavailable=1"], D, "/spec/strategy/rollingUpdate", eq(json!({"maxSurge": 1, "maxUnavailable": 1}))),
        // Container
        row("container.port", &["--set", "container.port=9090"], D, "$C/ports", eq(json!([{"name": "http", "containerPort": 9090, "protocol": "TCP"}]))),
        row("container.command", &["--set", "container.command={python,-m,dimtensor.serve}"], D, "$C/command", eq(json!(["python", "-m", "dimtensor.serve"]))),
        row("container.args", &["--set", "container.args={--verbose,--log-json}"], D, "$C/args", eq(json!(["--verbose", "--log-json"]))),
        row("container.env", &["--set", "container.env[0].name=LOG_LEVEL,container.env[0].value=debug"], D, "$C/env", eq(json!([{"name": "LOG_LEVEL", "value": "debug"}]))),
        row("container.envFrom", &["--set", "container.envFrom[0].configMapRef.name=extra"], D, "$C/envFrom", eq(json!([{"configMapRef": {"name": "extra"}}]))),
        // Resources
        row("resources.requests.cpu", &["--set", "resources.requests.cpu=750m"], D, "$C/resources", eq(json!({"requests": {"cpu": "750m", "memory": "2Gi"}, "limits": {"cpu": "2000m", "memory": "8Gi"}}))),
        row("resources.requests.memory", &["--set", "resources.requests.memory=4Gi"], D, "$C/resources/requests/memory", eq(json!("4Gi"))),
        row("resources.limits.cpu", &["--set", "resources.limits.cpu=4000m"], D, "$C/resources/limits/cpu", eq(json!("4000m"))),
        row("resources.limits.cpu", &["--set", "resources.limits.cpu=null"], D, "$C/resources/limits", eq(json!({"memory": "8Gi"}))),
        row("resources.limits.memory", &["--set", "resources.limits.memory=16Gi"], D, "$C/resources/limits", eq(json!({"cpu": "2000m", "memory": "16Gi"}))),
        row("resources.gpu.enabled", &["--set", "resources.gpu.enabled=true"], D, "$C/resources", eq(json!({"requests": {"cpu": "500m", "memory": "2Gi", "nvidia.com/gpu": 1}, "limits": {"cpu": "2000m", "memory": "8Gi", "nvidia.com/gpu": 1}}))),
        row("resources.gpu.enabled", &["--set", "resources.gpu.enabled=true"], D, "$P/nodeSelector", eq(json!({"accelerator": "nvidia-gpu"}))),
        row("resources.gpu.enabled", &["--set", "resources.gpu.enabled=true"], D, "$P/tolerations", eq(json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]))),
        row("resources.gpu.enabled", &["--set", "resources.gpu.enabled=false"], D, "$C/resources/limits/nvidia.com~1gpu", Want::Absent),
        row("resources.gpu.enabled", &["--set", CRON, "--set", "resources.gpu.enabled=true"], CJ, "$JC/resources/limits/nvidia.com~1gpu", eq(json!(1))),
        row("resources.gpu.count", &["--set", "resources.gpu.enabled=true,resources.gpu.count=2"], D, "$C/resources/requests/nvidia.com~1gpu", eq(json!(2))),
        row("resources.gpu.count", &["--set", "resources.gpu.enabled=true,resources.gpu.count=2"], D, "$C/resources/limits/nvidia.com~1gpu", eq(json!(2))),
        row("resources.gpu.count", &["--set", "resources.gpu.count=2"], D, "$C/resources/limits/nvidia.com~1gpu", Want::Absent),
        // Liveness probe
        row("livenessProbe.enabled", &["--set", "livenessProbe.enabled=false"], D, "$C/livenessProbe", Want::Absent),
        row("livenessProbe.httpGet.path", &["--set", "livenessProbe.httpGet.path=/livez"], D, "$C/livenessProbe/httpGet", eq(json!({"path": "/livez", "port": "http"}))),
        row("livenessProbe.httpGet.port", &["--set", "livenessProbe.httpGet.port=9000"], D, "$C/livenessProbe/httpGet", eq(json!({"path": "/health", "port": 9000}))),
        row("livenessProbe.httpGet.port", &["--set-string", "livenessProbe.httpGet.port=metrics"], D, "$C/livenessProbe/httpGet/port", eq(json!("metrics"))),
        row("livenessProbe.initialDelaySeconds", &["--set", "livenessProbe.initialDelaySeconds=20"], D, "$C/livenessProbe/initialDelaySeconds", eq(json!(20))),
        row("livenessProbe.periodSeconds", &["--set", "livenessProbe.periodSeconds=15"], D, "$C/livenessProbe/periodSeconds", eq(json!(15))),
        row("livenessProbe.periodSeconds", &["--set", "livenessProbe.periodSeconds=15"], D, "$C/livenessProbe/initialDelaySeconds", eq(json!(10))),
        row("livenessProbe.timeoutSeconds", &["--set", "livenessProbe.timeoutSeconds=7"], D, "$C/livenessProbe/timeoutSeconds", eq(json!(7))),
        // 1 is the only valid value for liveness and startup probes, and the API server's default,
        // so stating it leaves the probe as rendered (another value is an error, tested below).
        row("livenessProbe.successThreshold", &["--set", "livenessProbe.successThreshold=1"], D, "$C/livenessProbe/successThreshold", Want::Absent),
        row("livenessProbe.failureThreshold", &["--set", "livenessProbe.failureThreshold=6"], D, "$C/livenessProbe/failureThreshold", eq(json!(6))),
        // Readiness probe
        row("readinessProbe.enabled", &["--set", "readinessProbe.enabled=false"], D, "$C/readinessProbe", Want::Absent),
        row("readinessProbe.enabled", &["--set", "readinessProbe.enabled=false"], D, "$C/livenessProbe/httpGet/path", eq(json!("/health"))),
        row("readinessProbe.httpGet.path", &["--set", "readinessProbe.httpGet.path=/readyz"], D, "$C/readinessProbe/httpGet/path", eq(json!("/readyz"))),
        row("readinessProbe.httpGet.port", &["--set", "readinessProbe.httpGet.port=8081"], D, "$C/readinessProbe/httpGet", eq(json!({"path": "/ready", "port": 8081}))),
        row("readinessProbe.initialDelaySeconds", &["--set", "readinessProbe.initialDelaySeconds=8"], D, "$C/readinessProbe/initialDelaySeconds", eq(json!(8))),
        row("readinessProbe.periodSeconds", &["--set", "readinessProbe.periodSeconds=4"], D, "$C/readinessProbe/periodSeconds", eq(json!(4))),
        row("readinessProbe.timeoutSeconds", &["--set", "readinessProbe.timeoutSeconds=2"], D, "$C/readinessProbe/timeoutSeconds", eq(json!(2))),
        row("readinessProbe.successThreshold", &["--set", "readinessProbe.successThreshold=2"], D, "$C/readinessProbe/successThreshold", eq(json!(2))),
        row("readinessProbe.failureThreshold", &["--set", "readinessProbe.failureThreshold=5"], D, "$C/readinessProbe/failureThreshold", eq(json!(5))),
        // Startup probe
        row("startupProbe.enabled", &["--set", "startupProbe.enabled=false"], D, "$C/startupProbe", Want::Absent),
        row("startupProbe.httpGet.path", &["--set", "startupProbe.httpGet.path=/started"], D, "$C/startupProbe/httpGet/path", eq(json!("/started"))),
        row("startupProbe.httpGet.port", &["--set", "startupProbe.httpGet.port=8082"], D, "$C/startupProbe/httpGet/port", eq(json!(8082))),
        row("startupProbe.initialDelaySeconds", &["--set", "startupProbe.initialDelaySeconds=15"], D, "$C/startupProbe/initialDelaySeconds", eq(json!(15))),
        // 0 is the API server's default: stating it leaves the probe as rendered.
        row("startupProbe.initialDelaySeconds", &["--set", "startupProbe.initialDelaySeconds=0"], D, "$C/startupProbe/initialDelaySeconds", Want::Absent),
        row("startupProbe.periodSeconds", &["--set", "startupProbe.periodSeconds=10"], D, "$C/startupProbe/periodSeconds", eq(json!(10))),
        row("startupProbe.timeoutSeconds", &["--set", "startupProbe.timeoutSeconds=4"], D, "$C/startupProbe/timeoutSeconds", eq(json!(4))),
        row("startupProbe.successThreshold", &["--set", "startupProbe.successThreshold=1"], D, "$C/startupProbe/successThreshold", Want::Absent),
        row("startupProbe.failureThreshold", &["--set", "startupProbe.failureThreshold=30"], D, "$C/startupProbe/failureThreshold", eq(json!(30))),
        row("startupProbe.failureThreshold", &["--set", "startupProbe.failureThreshold=30"], D, "$C/startupProbe/periodSeconds", eq(json!(5))),
        // Service
        row("service.enabled", &["--set", "service.enabled=false"], "Service", "", Want::NoResource),
        row("service.enabled", &["--set", "service.enabled=false"], D, "/spec/replicas", eq(json!(3))),
        row("service.type", &["--set", "service.type=NodePort"], "Service", "/spec/type", eq(json!("NodePort"))),
        row("service.port", &["--set", "service.port=8081"], "Service", "/spec/ports", eq(json!([{"name": "http", "port": 8081, "targetPort": "http", "protocol": "TCP"}]))),
        row("service.targetPort", &["--set", "service.targetPort=9000"], "Service", "/spec/ports/0/targetPort", eq(json!(9000))),
        row("service.nodePort", &["--set", "service.type=NodePort,service.nodePort=30080"], "Service", "/spec/ports/0/nodePort", eq(json!(30080))),
        row("service.loadBalancerIP", &["--set", "service.type=LoadBalancer,service.loadBalancerIP=10.0.0.5"], "Service", "/spec/loadBalancerIP", eq(json!("10.0.0.5"))),
        row("service.loadBalancerSourceRanges", &["--set", "service.type=LoadBalancer,service.loadBalancerSourceRanges={10.0.0.0/8}"], "Service", "/spec/loadBalancerSourceRanges", eq(json!(["10.0.0.0/8"]))),
        row("service.annotations", &["--set", r"service.annotations.service\.beta\.kubernetes\.io/aws-load-balancer-type=nlb"], "Service", "/metadata/annotations/service.beta.kubernetes.io~1aws-load-balancer-type", eq(json!("nlb"))),
        // Ingress
        row("ingress.enabled", &["--set", "ingress.enabled=true"], "Ingress", "/spec/rules/0/host", eq(json!("dimtensor.example.com"))),
        row("ingress.enabled", &["--set", "ingress.enabled=true"], "Ingress", "/spec/rules/0/http/paths/0/backend/service/name", eq(json!("dimtensor"))),
        row("ingress.enabled", &["--set", "ingress.enabled=true"], "Ingress", "/spec/tls", Want::Absent),
        row("ingress.enabled", &[], "Ingress", "", Want::NoResource),
        row("ingress.className", &["--set", "ingress.enabled=true,ingress.className=traefik"], "Ingress", "/spec/ingressClassName", eq(json!("traefik"))),
        row("ingress.annotations", &["--set", r"ingress.enabled=true,ingress.annotations.cert-manager\.io/cluster-issuer=letsencrypt"], "Ingress", "/metadata/annotations/cert-manager.io~1cluster-issuer", eq(json!("letsencrypt"))),
        row("ingress.hosts", &["--set", "ingress.enabled=true,ingress.hosts[0].host=api.example.com,ingress.hosts[0].paths[0].path=/v1,ingress.hosts[0].paths[0].pathType=Exact"], "Ingress", "/spec/rules/0/http/paths/0/path", eq(json!("/v1"))),
        row("ingress.hosts", &["--set", "ingress.enabled=true,ingress.hosts[0].host=api.example.com,ingress.hosts[0].paths[0].path=/v1,ingress.hosts[0].paths[0].pathType=Exact"], "Ingress", "/spec/rules/0/host", eq(json!("api.example.com"))),
        row("ingress.tls", &["--set", "ingress.enabled=true,ingress.tls[0].secretName=api-tls,ingress.tls[0].hosts={api.example.com}"], "Ingress", "/spec/tls", eq(json!([{"secretName": "api-tls", "hosts": ["api.example.com"]}]))),
        // Autoscaling
        row("autoscaling.enabled", &["--set", "autoscaling.enabled=true"], HPA, "/spec/scaleTargetRef", eq(json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "dimtensor"}))),
        row("autoscaling.enabled", &["--set", "autoscaling.enabled=true"], D, "/spec/replicas", Want::Absent),
        row("autoscaling.enabled", &["--set", "autoscaling.enabled=false"], HPA, "", Want::NoResource),
        row("autoscaling.minReplicas", &["--set", "autoscaling.enabled=true,autoscaling.minReplicas=3"], HPA, "/spec/minReplicas", eq(json!(3))),
        row("autoscaling.maxReplicas", &["--set", "autoscaling.enabled=true,autoscaling.maxReplicas=20"], HPA, "/spec/maxReplicas", eq(json!(20))),
        row("autoscaling.targetCPUUtilizationPercentage", &["--set", "autoscaling.enabled=true,autoscaling.targetCPUUtilizationPercentage=60"], HPA, "/spec/metrics", eq(json!([
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}},
            {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}}]))),
        row("autoscaling.targetMemoryUtilizationPercentage", &["--set", "autoscaling.enabled=true,autoscaling.targetMemoryUtilizationPercentage=75"], HPA, "/spec/metrics/1/resource/target/averageUtilization", eq(json!(75))),
        row("autoscaling.targetMemoryUtilizationPercentage", &["--set", "autoscaling.enabled=true,autoscaling.targetMemoryUtilizationPercentage=null"], HPA, "/spec/metrics", eq(json!([
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]))),
        row("autoscaling.behavior.scaleDown.stabilizationWindowSeconds", &["--set", "autoscaling.enabled=true,autoscaling.behavior.scaleDown.stabilizationWindowSeconds=600"], HPA, "/spec/behavior/scaleDown/stabilizationWindowSeconds", eq(json!(600))),
        row("autoscaling.behavior.scaleDown.policies", &["--set", "autoscaling.enabled=true,autoscaling.behavior.scaleDown.policies[0].type=Pods,autoscaling.behavior.scaleDown.policies[0].value=1,autoscaling.behavior.scaleDown.policies[0].periodSeconds=120"], HPA, "/spec/behavior/scaleDown/policies", eq(json!([{"type": "Pods", "value": 1, "periodSeconds": 120}]))),
        row("autoscaling.behavior.scaleDown.selectPolicy", &["--set", "autoscaling.enabled=true,autoscaling.behavior.scaleDown.selectPolicy=Min"], HPA, "/spec/behavior/scaleDown/selectPolicy", eq(json!("Min"))),
        row("autoscaling.behavior.scaleUp.stabilizationWindowSeconds", &["--set", "autoscaling.enabled=true,autoscaling.behavior.scaleUp.stabilizationWindowSeconds=60"], HPA, "/spec/behavior/scaleUp/stabilizationWindowSeconds", eq(json!(60))),
        row("autoscaling.behavior.scaleUp.policies", &["--set", "autoscaling.enabled=true,autoscaling.behavior.scaleUp.policies[0].type=Percent,autoscaling.behavior.scaleUp.policies[0].value=50,autoscaling.behavior.scaleUp.policies[0].periodSeconds=15"], HPA, "/spec/behavior/scaleUp/policies", eq(json!([{"type": "Percent", "value": 50, "periodSeconds": 15}]))),
        row("autoscaling.behavior.scaleUp.selectPolicy", &["--set", "autoscaling.enabled=true,autoscaling.behavior.scaleUp.selectPolicy=Disabled"], HPA, "/spec/behavior/scaleUp/selectPolicy", eq(json!("Disabled"))),
        // Job
        row("job.backoffLimit", &["--set", JOB, "--set", "job.backoffLimit=7"], J, "/spec/backoffLimit", eq(json!(7))),
        row("job.backoffLimit", &["--set", CRON, "--set", "job.backoffLimit=1"], CJ, "/spec/jobTemplate/spec/backoffLimit", eq(json!(1))),
        row("job.ttlSecondsAfterFinished", &["--set", JOB, "--set", "job.ttlSecondsAfterFinished=600"], J, "/spec/ttlSecondsAfterFinished", eq(json!(600))),
        row("job.parallelism", &["--set", JOB, "--set", "job.parallelism=4"], J, "/spec/parallelism", eq(json!(4))),
        row("job.completions", &["--set", JOB, "--set", "job.completions=8"], J, "/spec/completions", eq(json!(8))),
        row("job.completions", &["--set", JOB, "--set", "job.completions=8"], J, "/spec/completionMode", eq(json!("Indexed"))),
        row("job.completions", &["--set", JOB, "--set", "job.completions=1"], J, "/spec/completionMode", Want::Absent),
        row("job.completions", &["--set", CRON, "--set", "job.completions=3"], CJ, "/spec/jobTemplate/spec/completionMode", eq(json!("Indexed"))),
        row("job.restartPolicy", &["--set", JOB, "--set", "job.restartPolicy=OnFailure"], J, "$P/restartPolicy", eq(json!("OnFailure"))),
        row("job.restartPolicy", &["--set", CRON, "--set", "job.restartPolicy=OnFailure"], CJ, "$JP/restartPolicy", eq(json!("OnFailure"))),
        // CronJob
        row("cronjob.schedule", &["--set", CRON, "--set", "cronjob.schedule=*/15 * * * *"], CJ, "/spec/schedule", eq(json!("*/15 * * * *"))),
        row("cronjob.concurrencyPolicy", &["--set", CRON, "--set", "cronjob.concurrencyPolicy=Replace"], CJ, "/spec/concurrencyPolicy", eq(json!("Replace"))),
        row("cronjob.failedJobsHistoryLimit", &["--set", CRON, "--set", "cronjob.failedJobsHistoryLimit=2"], CJ, "/spec/failedJobsHistoryLimit", eq(json!(2))),
        row("cronjob.successfulJobsHistoryLimit", &["--set", CRON, "--set", "cronjob.successfulJobsHistoryLimit=5"], CJ, "/spec/successfulJobsHistoryLimit", eq(json!(5))),
        row("cronjob.suspend", &["--set", CRON, "--set", "cronjob.suspend=true"], CJ, "/spec/suspend", eq(json!(true))),
        row("cronjob.startingDeadlineSeconds", &["--set", CRON, "--set", "cronjob.startingDeadlineSeconds=120"], CJ, "/spec/startingDeadlineSeconds", eq(json!(120))),
        // Persistence
        row("persistence.enabled", &["--set", "persistence.enabled=true"], "PersistentVolumeClaim", "/spec", eq(json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}))),
        row("persistence.enabled", &["--set", "persistence.enabled=true"], D, "$P/volumes", items_of(json!([{"name": "tmp", "emptyDir": {}}, {"name": "data", "persistentVolumeClaim": {"claimName": "dimtensor"}}]))),
        row("persistence.enabled", &["--set", "persistence.enabled=true"], D, "$C/volumeMounts", items_of(json!([{"name": "tmp", "mountPath": "/tmp"}, {"name": "data", "mountPath": "/data"}]))),
        row("persistence.storageClass", &["--set", "persistence.enabled=true,persistence.storageClass=fast-ssd"], "PersistentVolumeClaim", "/spec/storageClassName", eq(json!("fast-ssd"))),
        row("persistence.accessMode", &["--set", "persistence.enabled=true,persistence.accessMode=ReadWriteMany"], "PersistentVolumeClaim", "/spec/accessModes", eq(json!(["ReadWriteMany"]))),
        row("persistence.size", &["--set", "persistence.enabled=true,persistence.size=50Gi"], "PersistentVolumeClaim", "/spec/resources/requests/storage", eq(json!("50Gi"))),
        row("persistence.mountPath", &["--set", "persistence.enabled=true,persistence.mountPath=/checkpoints"], D, "$C/volumeMounts", items_of(json!([{"name": "tmp", "mountPath": "/tmp"}, {"name": "data", "mountPath": "/checkpoints"}]))),
        row("persistence.mountPath", &["--set", CRON, "--set", "persistence.enabled=true,persistence.mountPath=/out"], CJ, "$JC/volumeMounts", items_of(json!([{"name": "tmp", "mountPath": "/tmp"}, {"name": "data", "mountPath": "/out"}]))),
        row("persistence.existingClaim", &["--set", "persistence.enabled=true,persistence.existingClaim=shared"], "PersistentVolumeClaim", "", Want::NoResource),
        row("persistence.existingClaim", &["--set", "persistence.enabled=true,persistence.existingClaim=shared"], D, "$P/volumes", items_of(json!([{"name": "tmp", "emptyDir": {}}, {"name": "data", "persistentVolumeClaim": {"claimName": "shared"}}]))),
        // ConfigMap / Secret
        row("configMap.enabled", &["--set", "configMap.enabled=true"], D, "$P/volumes", items_of(json!([{"name": "tmp", "emptyDir": {}}, {"name": "config", "configMap": {"name": "dimtensor"}}]))),
        row("configMap.enabled", &["--set", "configMap.enabled=true"], D, "$C/volumeMounts", items_of(json!([{"name": "tmp", "mountPath": "/tmp"}, {"name": "config", "mountPath": "/config", "readOnly": true}]))),
        row("configMap.enabled", &["--set", "configMap.enabled=true"], D, "/spec/template/metadata/annotations/checksum~1config", Want::Hex64),
        row("configMap.enabled", &["--set", "configMap.enabled=false"], "ConfigMap", "", Want::NoResource),
        row("configMap.data", &["--set", "configMap.enabled=true,configMap.data.LOG_LEVEL=debug"], "ConfigMap", "/data", eq(json!({"LOG_LEVEL": "debug"}))),
        row("configMap.data", &["--set", "configMap.enabled=true,configMap.data.LOG_LEVEL=debug"], "ConfigMap", "/metadata/name", eq(json!("dimtensor"))),
        row("secret.enabled", &["--set", "secret.enabled=true"], D, "$C/envFrom", eq(json!([{"secretRef": {"name": "dimtensor"}}]))),
        row("secret.enabled", &["--set", "secret.enabled=true"], "Secret", "/data/DIMTENSOR_PLACEHOLDER", Want::Absent),
        // Offline, without a checksum key, the Secret's (keyed) checksum is left out: tests/chart.rs.
        row("secret.enabled", &["--set", "secret.enabled=true"], D, "/spec/template/metadata/annotations/checksum~1secret", Want::Absent),
        row("secret.data", &["--set", "secret.enabled=true,secret.data.token=c2VjcmV0"], "Secret", "/data", eq(json!({"token": "c2VjcmV0"}))),
        row("secret.stringData", &["--set", "secret.enabled=true,secret.stringData.pw=plain-text"], "Secret", "/stringData", eq(json!({"pw": "plain-text"}))),
        row("secret.stringData", &["--set", "secret.enabled=true,secret.stringData.pw=plain-text"], "Secret", "/metadata/name", eq(json!("dimtensor"))),
        // Pod settings
        row("nodeSelector", &["--set", "nodeSelector.disktype=ssd"], D, "$P/nodeSelector", eq(json!({"disktype": "ssd"}))),
        row("nodeSelector", &["--set", "nodeSelector.disktype=ssd,resources.gpu.enabled=true"], D, "$P/nodeSelector", eq(json!({"disktype": "ssd", "accelerator": "nvidia-gpu"}))),
        row("tolerations", &["--set", "tolerations[0].key=dedicated,tolerations[0].operator=Equal,tolerations[0].value=ml,tolerations[0].effect=NoSchedule"], D, "$P/tolerations", eq(json!([{"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}]))),
        row("affinity", &["--set", "affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight=50,affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey=kubernetes.io/hostname"], D, "$P/affinity", eq(json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 50, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}]}}))),
        row("podAnnotations", &["--set", r"podAnnotations.prometheus\.io/scrape=true"], D, "/spec/template/metadata/annotations", eq(json!({"prometheus.io/scrape": "true"}))),
        row("podSecurityContext", &["--set", "podSecurityContext.runAsUser=2000"], D, "$P/securityContext", eq(json!({"runAsNonRoot": true, "runAsUser": 2000, "runAsGroup": 1000, "fsGroup": 1000}))),
        row("securityContext", &["--set", "securityContext.readOnlyRootFilesystem=false"], D, "$C/securityContext", eq(json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": false, "runAsNonRoot": true, "runAsUser": 1000, "capabilities": {"drop": ["ALL"]}}))),
        row("terminationGracePeriodSeconds", &["--set", "terminationGracePeriodSeconds=60"], D, "$P/terminationGracePeriodSeconds", eq(json!(60))),
        row("priorityClassName", &["--set", "priorityClassName=high-priority"], D, "$P/priorityClassName", eq(json!("high-priority"))),
        row("dnsPolicy", &["--set", "dnsPolicy=ClusterFirstWithHostNet"], D, "$P/dnsPolicy", eq(json!("ClusterFirstWithHostNet"))),
        row("initContainers", &["--set", "initContainers[0].name=init,initContainers[0].image=busybox"], D, "$P/initContainers", eq(json!([{"name": "init", "image": "busybox"}]))),
        row("sidecars", &["--set", "sidecars[0].name=proxy,sidecars[0].image=envoy"], D, "$P/containers/1", eq(json!({"name": "proxy", "image": "envoy"}))),
        row("sidecars", &["--set", "sidecars[0].name=proxy,sidecars[0].image=envoy"], D, "$C/image", eq(json!("docker.io/dimtensor:latest"))),
        row("volumes", &["--set", "volumes[0].name=cache,volumes[0].emptyDir.medium=Memory"], D, "$P/volumes", items_of(json!([{"name": "tmp", "emptyDir": {}}, {"name": "cache", "emptyDir": {"medium": "Memory"}}]))),
        row("volumeMounts", &["--set", "volumes[0].name=cache,volumes[0].emptyDir.medium=Memory", "--set", "volumeMounts[0].name=cache,volumeMounts[0].mountPath=/cache"], D, "$C/volumeMounts", items_of(json!([{"name": "tmp", "mountPath": "/tmp"}, {"name": "cache", "mountPath": "/cache"}]))),
        // Service account
        row("serviceAccount.create", &["--set", "serviceAccount.create=false"], "ServiceAccount", "", Want::NoResource),
        row("serviceAccount.create", &["--set", "serviceAccount.create=false"], D, "$P/serviceAccountName", eq(json!("default"))),
        row("serviceAccount.annotations", &["--set", r"serviceAccount.annotations.eks\.amazonaws\.com/role-arn=arn:aws:iam::1:role/x"], "ServiceAccount", "/metadata/annotations/eks.amazonaws.com~1role-arn", eq(json!("arn:aws:iam::1:role/x"))),
        row("serviceAccount.name", &["--set", "serviceAccount.name=runner"], "ServiceAccount", "/metadata/name", eq(json!("runner"))),
        row("serviceAccount.name", &["--set", "serviceAccount.name=runner"], D, "$P/serviceAccountName", eq(json!("runner"))),
        row("serviceAccount.name", &["--set", "serviceAccount.create=false,serviceAccount.name=existing"], D, "$P/serviceAccountName", eq(json!("existing"))),
        // On overlays: the user's key wins, everything else of the preset stays.
        orow("image.tag", "training", &["--set", "image.tag=5.0"], J, "$C/image", eq(json!("docker.io/dimtensor:5.0-ml"))),
        orow("image.tag", "inference", &["--set", "image.tag=5.0"], D, "$C/image", eq(json!("docker.io/dimtensor:5.0-cpu-full"))),
        orow("image.variant", "inference", &["--set", "image.variant=jupyter"], D, "$C/image", eq(json!("docker.io/dimtensor:4.2.0-jupyter"))),
        orow("job.backoffLimit", "training", &["--set", "job.backoffLimit=5"], J, "/spec/backoffLimit", eq(json!(5))),
        orow("job.completions", "batch", &["--set", "job.completions=1"], J, "/spec/completionMode", Want::Absent),
        orow("job.parallelism", "batch", &["--set", "job.parallelism=20"], J, "/spec/completions", eq(json!(100))),
        orow("cronjob.schedule", "cronjob", &["--set", "cronjob.schedule=0 3 * * *"], CJ, "/spec/schedule", eq(json!("0 3 * * *"))),
        orow("resources.gpu.count", "training", &["--set", "resources.gpu.count=2"], J, "$C/resources", eq(json!({"requests": {"cpu": "2000m", "memory": "8Gi", "nvidia.com/gpu": 2}, "limits": {"cpu": "4000m", "memory": "16Gi", "nvidia.com/gpu": 2}}))),
        orow("resources.limits.memory", "training", &["--set", "resources.limits.memory=64Gi"], J, "$C/resources/limits", eq(json!({"cpu": "4000m", "memory": "64Gi", "nvidia.com/gpu": 1}))),
        orow("autoscaling.minReplicas", "inference", &["--set", "autoscaling.minReplicas=4"], HPA, "/spec/minReplicas", eq(json!(4))),
        orow("autoscaling.enabled", "inference", &["--set", "autoscaling.enabled=false"], D, "/spec/replicas", eq(json!(3))),
        orow("replicaCount", "inference", &["--set", "replicaCount=7"], D, "/spec/replicas", Want::Absent),
        orow("podAnnotations", "inference", &["--set", "podAnnotations.team=ml"], D, "/spec/template/metadata/annotations", eq(json!({"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics", "team": "ml"}))),
        orow("podAnnotations", "inference", &["--set", r"podAnnotations.prometheus\.io/path=null"], D, "/spec/template/metadata/annotations", eq(json!({"prometheus.io/scrape": "true", "prometheus.io/port": "8080"}))),
        orow("nodeSelector", "training", &["--set", "nodeSelector.disktype=ssd"], J, "$P/nodeSelector", eq(json!({"accelerator": "nvidia-gpu", "disktype": "ssd"}))),
        orow("tolerations", "training", &["--set", "tolerations[0].key=dedicated,tolerations[0].operator=Exists,tolerations[0].effect=NoSchedule"], J, "$P/tolerations", eq(json!([
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
            {"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]))),
        orow("resources.gpu.enabled", "training", &["--set", "resources.gpu.enabled=false"], J, "$C/resources", eq(json!({"requests": {"cpu": "2000m", "memory": "8Gi"}, "limits": {"cpu": "4000m", "memory": "16Gi"}}))),
        orow("resources.gpu.enabled", "training", &["--set", "resources.gpu.enabled=false"], J, "$P/nodeSelector", Want::Absent),
        orow("resources.gpu.enabled", "training", &["--set", "resources.gpu.enabled=false"], J, "$P/tolerations", Want::Absent),
        orow("configMap.data", "batch", &["--set", "configMap.data.extra=1"], "ConfigMap", "/data/extra", eq(json!("1"))),
        // null removes a default or a preset's value entirely, as in Helm.
        row("podSecurityContext", &["--set", "podSecurityContext=null"], D, "$P/securityContext", Want::Absent),
        row("securityContext", &["--set", "securityContext=null"], D, "$C/securityContext", Want::Absent),
        orow("affinity", "inference", &["--set", "affinity=null"], D, "$P/affinity", Want::Absent),
        row("resources.gpu.enabled", &["--set", "resources.gpu.enabled=false"], D, "$P/tolerations", Want::Absent),
        // Switching off a preset's optional piece removes it.
        orow("configMap.enabled", "batch", &["--set", "configMap.enabled=false"], "ConfigMap", "", Want::NoResource),
        orow("configMap.enabled", "batch", &["--set", "configMap.enabled=false"], J, "$P/volumes", items_of(json!([{"name": "tmp", "emptyDir": {}}]))),
        orow("container.port", "inference", &["--set", "container.port=9090"], D, "/spec/template/metadata/annotations/prometheus.io~1port", eq(json!("9090"))),
        row("container.envFrom", &["--set", "secret.enabled=true,container.envFrom[0].configMapRef.name=extra"], D, "$C/envFrom", items_of(json!([{"configMapRef": {"name": "extra"}}, {"secretRef": {"name": "dimtensor"}}]))),
        orow("persistence.enabled", "training", &["--set", "persistence.enabled=true"], J, "$P/volumes", items_of(json!([{"name": "tmp", "emptyDir": {}}, {"name": "data", "persistentVolumeClaim": {"claimName": "dimtensor"}}]))),
    ]
}

fn check_row(r: &Row) -> Result<(), String> {
    let mut args: Vec<&str> = Vec::new();
    if let Some(o) = r.overlay {
        args.extend(["--overlay", o]);
    }
    args.extend(r.args.iter().copied());
    let items = try_render(&args, None)?;
    let res = match (find(&items, r.kind), &r.want) {
        (None, Want::NoResource) => return Ok(()),
        (Some(_), Want::NoResource) => return Err(format!("a {} is rendered but should not be", r.kind)),
        (None, _) => return Err(format!("no {} rendered (kinds: {:?})", r.kind, kinds(&items))),
        (Some(res), _) => res,
    };
    let got = at(res, r.path);
    match (&r.want, got) {
        (Want::Eq(w), Some(g)) if w == g => Ok(()),
        (Want::Eq(w), g) => Err(format!(
            "{} {}: expected {}, got {}",
            r.kind,
            r.path,
            w,
            g.map(|g| g.to_string()).unwrap_or("nothing".into())
        )),
        (Want::Absent, None) => Ok(()),
        (Want::Absent, Some(g)) => Err(format!("{} {}: expected nothing, got {}", r.kind, r.path, g)),
        (Want::Hex64, Some(Value::String(s)))
            if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) =>
        {
            Ok(())
        }
        (Want::Hex64, g) => Err(format!("{} {}: expected a sha256 hex digest, got {:?}", r.kind, r.path, g)),
        (Want::Unordered(w), Some(g)) if same_items(w, g) => Ok(()),
        (Want::Unordered(w), g) => Err(format!(
            "{} {}: expected the items {} in any order, got {}",
            r.kind,
            r.path,
            w,
            g.map(|g| g.to_string()).unwrap_or("nothing".into())
        )),
        (Want::NoResource, _) => unreachable!("handled above"),
    }
}

#[test]
fn every_parameter_has_its_exact_effect() {
    let rows = table();
    assert!(rows.len() >= 70, "only {} rows", rows.len());
    // Rows run on two threads: each is its own process and shares nothing.
    let (a, b) = rows.split_at(rows.len() / 2);
    let failures: Vec<String> = std::thread::scope(|s| {
        let run_all = |rows: &[Row]| -> Vec<String> {
            rows.iter()
                .filter_map(|r| {
                    check_row(r)
                        .err()
                        .map(|e| format!("[{}] overlay={:?} {:?}\n    {e}", r.param, r.overlay.unwrap_or("-"), r.args))
                })
                .collect()
        };
        let h = s.spawn(move || run_all(a));
        let mut f = run_all(b);
        let mut first = h.join().expect("rows thread");
        first.append(&mut f);
        first
    });
    assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), rows.len(), failures.join("\n"));
}

/// The leaf parameters of `show schema` (a property with its own `properties` is a group).
fn schema_params() -> Vec<String> {
    let out = run(&["show", "schema"], None);
    assert!(out.status.success(), "show schema: {}", text(&out.stderr));
    let schema: Value = serde_json::from_slice(&out.stdout).expect("show schema prints JSON");
    fn walk(node: &Value, prefix: &str, out: &mut Vec<String>) {
        for (k, v) in node["properties"].as_object().into_iter().flatten() {
            let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            if v.get("properties").is_some() {
                walk(v, &path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut params = Vec::new();
    walk(&schema, "", &mut params);
    params
}

#[test]
fn every_shown_parameter_has_a_table_row() {
    let out = run(&["show", "values"], None);
    assert!(out.status.success(), "show values: {}", text(&out.stderr));
    let shown = dimtensor::yaml::parse_value(&text(&out.stdout), "show values").expect("show values is YAML");
    let params = schema_params();
    assert!(params.len() >= 100, "only {} parameters in the schema", params.len());
    let covered: BTreeSet<&str> = table().iter().map(|r| r.param).collect();
    let mut missing = Vec::new();
    for p in &params {
        let pointer = format!("/{}", p.replace('.', "/"));
        assert!(shown.pointer(&pointer).is_some(), "`show values` lacks {p}");
        if !covered.contains(p.as_str()) {
            missing.push(p.clone());
        }
    }
    assert!(missing.is_empty(), "parameters without a row in table(): {missing:?}");
    // And no row names a parameter that does not exist.
    let known: BTreeSet<&str> = params.iter().map(String::as_str).collect();
    let unknown: Vec<&&str> = covered.iter().filter(|p| !known.contains(**p)).collect();
    assert!(unknown.is_empty(), "rows for unknown parameters: {unknown:?}");
}

#[test]
fn no_flags_renders_the_chart_defaults() {
    let items = render(&[]);
    assert_eq!(kinds(&items).len(), 3, "{:?}", kinds(&items));
    assert_eq!(kind_set(&items), set_of(&["ServiceAccount", "Deployment", "Service"]));

    let sa = one(&items, "ServiceAccount");
    assert_eq!(sa["metadata"]["name"], "dimtensor");

    let d = one(&items, D);
    assert_eq!(d["metadata"]["name"], "dimtensor");
    assert_eq!(at_eq(d, "/spec/replicas"), json!(3));
    assert_eq!(
        at_eq(d, "/spec/strategy"),
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    );
    assert_eq!(at_eq(d, "$P/serviceAccountName"), json!("dimtensor"));
    assert_eq!(at_eq(d, "$P/terminationGracePeriodSeconds"), json!(30));
    assert_eq!(
        at_eq(d, "$P/securityContext"),
        json!({"runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000})
    );
    for absent in ["nodeSelector", "tolerations", "affinity", "imagePullSecrets", "priorityClassName", "initContainers"]
    {
        assert!(at(d, &format!("$P/{absent}")).is_none(), "default pod has {absent}");
    }
    assert_eq!(at_eq(d, "$P/containers").as_array().map(Vec::len), Some(1));
    assert_eq!(at_eq(d, "$C/name"), json!("dimtensor"));
    assert_eq!(at_eq(d, "$C/image"), json!("docker.io/dimtensor:latest"));
    assert_eq!(at_eq(d, "$C/imagePullPolicy"), json!("IfNotPresent"));
    assert_eq!(at_eq(d, "$C/ports"), json!([{"name": "http", "containerPort": 8080, "protocol": "TCP"}]));
    assert_eq!(
        at_eq(d, "$C/resources"),
        json!({"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"cpu": "2000m", "memory": "8Gi"}})
    );
    assert_eq!(at_eq(d, "$C/livenessProbe/httpGet"), json!({"path": "/health", "port": "http"}));
    assert_eq!(at_eq(d, "$C/livenessProbe/initialDelaySeconds"), json!(10));
    assert_eq!(at_eq(d, "$C/livenessProbe/periodSeconds"), json!(30));
    assert_eq!(at_eq(d, "$C/readinessProbe/httpGet"), json!({"path": "/ready", "port": "http"}));
    assert_eq!(at_eq(d, "$C/readinessProbe/initialDelaySeconds"), json!(5));
    assert_eq!(at_eq(d, "$C/startupProbe/httpGet/path"), json!("/health"));
    assert_eq!(at_eq(d, "$C/startupProbe/failureThreshold"), json!(12));
    assert_eq!(
        at_eq(d, "$C/securityContext"),
        json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true, "runAsUser": 1000, "capabilities": {"drop": ["ALL"]}})
    );
    for absent in ["command", "args", "env", "envFrom"] {
        assert!(at(d, &format!("$C/{absent}")).is_none(), "default container has {absent}");
    }

    let svc = one(&items, "Service");
    assert_eq!(svc["metadata"]["name"], "dimtensor");
    assert_eq!(at_eq(svc, "/spec/type"), json!("ClusterIP"));
    assert_eq!(
        at_eq(svc, "/spec/ports"),
        json!([{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}])
    );
    assert!(svc.get("metadata").and_then(|m| m.get("annotations")).is_none());
}

/// Values that merely restate defaults change nothing: the chart renders the same either way.
#[test]
fn setting_defaults_explicitly_changes_nothing() {
    let base = render(&[]);
    let same = render(&["--set", "replicaCount=3,image.variant=latest,service.type=ClusterIP"]);
    assert_eq!(base, same, "restating three defaults changed the output");
    let out = run(&["show", "values"], None);
    let defaults = text(&out.stdout);
    let all = render_stdin(&["-f", "-"], &defaults);
    let diffs = common::differences(&json!(base), &json!(all));
    assert!(
        diffs.is_empty(),
        "rendering `show values` as a values file differs from rendering nothing (item/pointer: without -> with):\n{}",
        diffs.join("\n")
    );
}

#[test]
fn workload_type_switches_kind_with_the_chart_job_defaults() {
    let items = render(&["--set", "workloadType=job"]);
    assert_eq!(kind_set(&items), set_of(&["ServiceAccount", "Job"]));
    let j = one(&items, J);
    assert_eq!(at_eq(j, "/spec/backoffLimit"), json!(3));
    assert_eq!(at_eq(j, "/spec/ttlSecondsAfterFinished"), json!(86400));
    // As the chart: parallelism and completions of 1 are left to the API server's default.
    for absent in ["/spec/parallelism", "/spec/completions", "/spec/completionMode"] {
        assert!(at(j, absent).is_none(), "{absent}");
    }
    assert_eq!(at_eq(j, "$P/restartPolicy"), json!("Never"));
    assert_eq!(at_eq(j, "$C/image"), json!("docker.io/dimtensor:latest"));
    for probe in ["livenessProbe", "readinessProbe", "startupProbe", "ports"] {
        assert!(at(j, &format!("$C/{probe}")).is_none(), "a Job has {probe}");
    }

    let items = render(&["--set", "workloadType=cronjob"]);
    assert_eq!(kind_set(&items), set_of(&["ServiceAccount", "CronJob"]));
    let cj = one(&items, CJ);
    assert_eq!(at_eq(cj, "/spec/schedule"), json!("0 0 * * *"));
    assert_eq!(at_eq(cj, "/spec/concurrencyPolicy"), json!("Forbid"));
    assert_eq!(at_eq(cj, "/spec/failedJobsHistoryLimit"), json!(1));
    assert_eq!(at_eq(cj, "/spec/successfulJobsHistoryLimit"), json!(3));
    assert_eq!(at_eq(cj, "/spec/suspend"), json!(false));
    assert_eq!(at_eq(cj, "/spec/jobTemplate/spec/backoffLimit"), json!(3));
    assert_eq!(at_eq(cj, "/spec/jobTemplate/spec/ttlSecondsAfterFinished"), json!(86400));
    assert_eq!(at_eq(cj, "$JP/restartPolicy"), json!("Never"));
}

#[test]
fn image_reference_rules() {
    for (args, want) in [
        (vec![], "docker.io/dimtensor:latest"),
        (vec!["--set", "image.variant=cpu-full"], "docker.io/dimtensor:4.2.0-cpu-full"),
        (vec!["--set", "image.tag=4.3.1"], "docker.io/dimtensor:4.3.1"),
        (vec!["--set", "image.tag=4.3.1,image.variant=jupyter"], "docker.io/dimtensor:4.3.1-jupyter"),
        (
            vec!["--set", "global.imageRegistry=mirror.local:5000,image.variant=ml"],
            "mirror.local:5000/dimtensor:4.2.0-ml",
        ),
    ] {
        let items = render(&args);
        assert_eq!(at_eq(one(&items, D), "$C/image"), json!(want), "{args:?}");
    }
}

#[test]
fn config_and_secret_are_named_like_the_charts_fullname_under_a_release() {
    let items = render(&["prod", "--set", "configMap.enabled=true,secret.enabled=true,persistence.enabled=true"]);
    let d = one(&items, D);
    assert_eq!(d["metadata"]["name"], "prod-dimtensor");
    assert_eq!(one(&items, "ConfigMap")["metadata"]["name"], "prod-dimtensor");
    assert_eq!(one(&items, "Secret")["metadata"]["name"], "prod-dimtensor");
    let volumes = at_eq(d, "$P/volumes");
    assert!(volumes.as_array().into_iter().flatten().any(|v| v["configMap"]["name"] == "prod-dimtensor"), "{volumes}");
    // Renamed resources are followed by their references.
    let pvc = one(&items, "PersistentVolumeClaim")["metadata"]["name"].clone();
    assert_eq!(pvc, "prod-dimtensor");
    assert!(
        volumes.as_array().into_iter().flatten().any(|v| v["persistentVolumeClaim"]["claimName"] == pvc),
        "{volumes}"
    );
    assert_eq!(at_eq(d, "$P/serviceAccountName"), one(&items, "ServiceAccount")["metadata"]["name"]);
    assert_eq!(at_eq(d, "$C/envFrom"), json!([{"secretRef": {"name": "prod-dimtensor"}}]));
}

#[test]
fn checksums_change_with_the_data() {
    let sum = |v: &str| {
        let items = render(&["--set", "configMap.enabled=true", "--set", v]);
        at_eq(one(&items, D), "/spec/template/metadata/annotations/checksum~1config")
    };
    assert_ne!(sum("configMap.data.a=1"), sum("configMap.data.a=2"));
    assert_eq!(sum("configMap.data.a=1"), sum("configMap.data.a=1"));
}

// ---------------------------------------------------------------------------------------------
// 2. The seed README's example values files
// ---------------------------------------------------------------------------------------------

#[test]
fn example_production_values() {
    let items = render(&["-f", &fixture("values-production.yaml")]);
    assert_eq!(
        kind_set(&items),
        set_of(&["ServiceAccount", "Service", "Deployment", "HorizontalPodAutoscaler", "Ingress"])
    );
    let d = one(&items, D);
    assert!(at(d, "/spec/replicas").is_none(), "HPA on: the Deployment must not pin replicas (replicaCount 5)");
    assert_eq!(at_eq(d, "$C/image"), json!("docker.io/dimtensor:4.2.0-cpu-full"));
    assert_eq!(
        at_eq(d, "$C/resources"),
        json!({"requests": {"cpu": "1000m", "memory": "4Gi"}, "limits": {"cpu": "4000m", "memory": "16Gi"}})
    );
    assert_eq!(
        at_eq(d, "/spec/template/metadata/annotations"),
        json!({"prometheus.io/scrape": "true", "prometheus.io/port": "8080"})
    );
    let hpa = one(&items, HPA);
    assert_eq!(at_eq(hpa, "/spec/minReplicas"), json!(3));
    assert_eq!(at_eq(hpa, "/spec/maxReplicas"), json!(20));
    assert_eq!(
        at_eq(hpa, "/spec/metrics/0/resource"),
        json!({"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}})
    );
    assert_eq!(
        at_eq(hpa, "/spec/metrics/1/resource"),
        json!({"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}})
    );
    assert_eq!(at_eq(hpa, "/spec/scaleTargetRef/name"), d["metadata"]["name"]);
    let svc = one(&items, "Service");
    assert_eq!(at_eq(svc, "/spec/type"), json!("LoadBalancer"));
    assert_eq!(at_eq(svc, "/spec/ports/0/port"), json!(80));
    let ing = one(&items, "Ingress");
    assert_eq!(at_eq(ing, "/spec/ingressClassName"), json!("nginx"));
    assert_eq!(at_eq(ing, "/metadata/annotations"), json!({"cert-manager.io/cluster-issuer": "letsencrypt-prod"}));
    assert_eq!(at_eq(ing, "/spec/rules").as_array().map(Vec::len), Some(1));
    assert_eq!(at_eq(ing, "/spec/rules/0/host"), json!("api.dimtensor.com"));
    assert_eq!(at_eq(ing, "/spec/rules/0/http/paths/0/path"), json!("/"));
    assert_eq!(at_eq(ing, "/spec/rules/0/http/paths/0/pathType"), json!("Prefix"));
    assert_eq!(at_eq(ing, "/spec/rules/0/http/paths/0/backend/service/name"), svc["metadata"]["name"]);
    assert_eq!(at_eq(ing, "/spec/tls"), json!([{"secretName": "dimtensor-tls", "hosts": ["api.dimtensor.com"]}]));
}

#[test]
fn example_gpu_training_values() {
    let items = render(&["-f", &fixture("values-gpu-training.yaml")]);
    assert_eq!(kind_set(&items), set_of(&["ServiceAccount", "Job", "PersistentVolumeClaim", "Secret"]));
    let j = one(&items, J);
    assert_eq!(at_eq(j, "$C/image"), json!("docker.io/dimtensor:4.2.0-ml"));
    assert_eq!(
        at_eq(j, "$C/resources"),
        json!({"requests": {"cpu": "4000m", "memory": "16Gi", "nvidia.com/gpu": 2}, "limits": {"cpu": "8000m", "memory": "32Gi", "nvidia.com/gpu": 2}})
    );
    assert_eq!(at_eq(j, "$P/nodeSelector"), json!({"accelerator": "nvidia-gpu"}));
    assert_eq!(
        at_eq(j, "$P/tolerations"),
        json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
    );
    assert_eq!(at_eq(j, "/spec/backoffLimit"), json!(2));
    assert_eq!(at_eq(j, "/spec/ttlSecondsAfterFinished"), json!(172800));
    assert_eq!(at_eq(j, "$P/restartPolicy"), json!("Never"));
    let pvc = one(&items, "PersistentVolumeClaim");
    assert_eq!(at_eq(pvc, "/spec/resources/requests/storage"), json!("100Gi"));
    assert_same_items(
        &at_eq(j, "$C/volumeMounts"),
        json!([{"name": "tmp", "mountPath": "/tmp"}, {"name": "data", "mountPath": "/checkpoints"}]),
    );
    assert!(at_eq(j, "$P/volumes")
        .as_array()
        .into_iter()
        .flatten()
        .any(|v| v == &json!({"name": "data", "persistentVolumeClaim": {"claimName": pvc["metadata"]["name"]}})));
    let secret = one(&items, "Secret");
    assert_eq!(secret["metadata"]["name"], "dimtensor");
    assert_eq!(secret["data"], json!({"mlflow-uri": "aHR0cDovL21sZmxvdy1zZXJ2ZXI6NTAwMA=="}));
    assert_eq!(
        at_eq(j, "$C/env"),
        json!([
            {"name": "MLFLOW_TRACKING_URI", "valueFrom": {"secretKeyRef": {"name": "dimtensor", "key": "mlflow-uri"}}},
            {"name": "CUDA_VISIBLE_DEVICES", "value": "0,1"}
        ])
    );
    assert_eq!(at_eq(j, "$C/envFrom"), json!([{"secretRef": {"name": "dimtensor"}}]));
    // The Secret's checksum is keyed: offline, without a key, it is left out (tests/chart.rs).
    assert!(at(j, "/spec/template/metadata/annotations/checksum~1secret").is_none());
}

#[test]
fn example_batch_values() {
    let items = render(&["-f", &fixture("values-batch.yaml")]);
    assert_eq!(kind_set(&items), set_of(&["ServiceAccount", "Job", "ConfigMap"]));
    let j = one(&items, J);
    assert_eq!(at_eq(j, "$C/image"), json!("docker.io/dimtensor:latest"));
    assert_eq!(at_eq(j, "/spec/parallelism"), json!(20));
    assert_eq!(at_eq(j, "/spec/completions"), json!(1000));
    assert_eq!(at_eq(j, "/spec/completionMode"), json!("Indexed"));
    assert_eq!(at_eq(j, "/spec/backoffLimit"), json!(5));
    assert_eq!(at_eq(j, "/spec/ttlSecondsAfterFinished"), json!(3600));
    assert_eq!(at_eq(j, "$P/restartPolicy"), json!("OnFailure"));
    assert_eq!(
        at_eq(j, "$C/resources"),
        json!({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2000m", "memory": "4Gi"}})
    );
    let cm = one(&items, "ConfigMap");
    assert_eq!(cm["metadata"]["name"], "dimtensor");
    assert_eq!(cm["data"], json!({"config.json": "{\n  \"parameter_range\": [0, 100],\n  \"num_samples\": 1000\n}\n"}));
    assert!(at_eq(j, "$C/volumeMounts").as_array().into_iter().flatten().any(|m| m["mountPath"] == "/config"));
    assert!(at(j, "/spec/template/metadata/annotations/checksum~1config").is_some());
}

#[test]
fn example_cronjob_values() {
    let items = render(&["-f", &fixture("values-cronjob.yaml")]);
    assert_eq!(kind_set(&items), set_of(&["ServiceAccount", "CronJob", "PersistentVolumeClaim"]));
    let cj = one(&items, CJ);
    assert_eq!(at_eq(cj, "/spec/schedule"), json!("0 2 * * *"));
    assert_eq!(at_eq(cj, "/spec/concurrencyPolicy"), json!("Forbid"));
    assert_eq!(at_eq(cj, "/spec/successfulJobsHistoryLimit"), json!(5));
    assert_eq!(at_eq(cj, "/spec/failedJobsHistoryLimit"), json!(1));
    assert_eq!(at_eq(cj, "$JC/image"), json!("docker.io/dimtensor:4.2.0-cpu-full"));
    // Only requests are given: the chart keeps its default limits.
    assert_eq!(
        at_eq(cj, "$JC/resources"),
        json!({"requests": {"cpu": "1000m", "memory": "2Gi"}, "limits": {"cpu": "2000m", "memory": "8Gi"}})
    );
    assert_eq!(at_eq(one(&items, "PersistentVolumeClaim"), "/spec/resources/requests/storage"), json!("50Gi"));
    assert_same_items(
        &at_eq(cj, "$JC/volumeMounts"),
        json!([{"name": "tmp", "mountPath": "/tmp"}, {"name": "data", "mountPath": "/data"}]),
    );
}

#[test]
fn example_best_practices_values() {
    let items = render(&["-f", &fixture("values-best-practices.yaml")]);
    assert_eq!(kind_set(&items), set_of(&["ServiceAccount", "Service", "Deployment", "HorizontalPodAutoscaler"]));
    let d = one(&items, D);
    assert_eq!(at_eq(d, "$C/image"), json!("docker.io/dimtensor:4.2.0-cpu-full"));
    assert!(at(d, "/spec/replicas").is_none());
    let hpa = one(&items, HPA);
    assert_eq!((at_eq(hpa, "/spec/minReplicas"), at_eq(hpa, "/spec/maxReplicas")), (json!(3), json!(20)));
    assert_eq!(
        at_eq(d, "$P/affinity"),
        json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app.kubernetes.io/name": "dimtensor"}}, "topologyKey": "kubernetes.io/hostname"}]}})
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Overlays as presets, and the --set syntax
// ---------------------------------------------------------------------------------------------

#[test]
fn overlays_without_values() {
    for (overlay, want) in [
        ("inference", &["ServiceAccount", "Service", "Deployment", "HorizontalPodAutoscaler"][..]),
        ("training", &["ServiceAccount", "Job"][..]),
        ("batch", &["ServiceAccount", "ConfigMap", "Job"][..]),
        ("cronjob", &["ServiceAccount", "CronJob"][..]),
    ] {
        let items = render(&["--overlay", overlay]);
        assert_eq!(kind_set(&items), set_of(want), "{overlay}");
    }
    let t = render(&["--overlay", "training"]);
    let j = one(&t, J);
    assert_eq!(at_eq(j, "/spec/backoffLimit"), json!(2));
    assert_eq!(at_eq(j, "$C/image"), json!("docker.io/dimtensor:4.2.0-ml"));
    assert_eq!(at_eq(j, "$C/resources/limits/nvidia.com~1gpu"), json!(1));
}

#[test]
fn training_preset_survives_values() {
    let items = render(&["--overlay", "training", "--set", "image.tag=5.0"]);
    assert_eq!(kind_set(&items), set_of(&["ServiceAccount", "Job"]));
    let j = one(&items, J);
    assert_eq!(at_eq(j, "$C/image"), json!("docker.io/dimtensor:5.0-ml"));
    assert_eq!(at_eq(j, "/spec/backoffLimit"), json!(2), "the preset's backoffLimit must survive the default 3");
    assert_eq!(at_eq(j, "/spec/ttlSecondsAfterFinished"), json!(172800));
    assert_eq!(at_eq(j, "$P/restartPolicy"), json!("Never"));
    assert_eq!(
        at_eq(j, "$C/resources"),
        json!({"requests": {"cpu": "2000m", "memory": "8Gi", "nvidia.com/gpu": 1}, "limits": {"cpu": "4000m", "memory": "16Gi", "nvidia.com/gpu": 1}})
    );
    assert_eq!(at_eq(j, "$P/nodeSelector"), json!({"accelerator": "nvidia-gpu"}));
    assert_eq!(
        at_eq(j, "$P/tolerations"),
        json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
    );
    assert_eq!(j["metadata"]["labels"]["app.kubernetes.io/component"], "training");

    let items = render(&["--overlay", "training", "--set", "job.backoffLimit=6"]);
    assert_eq!(at_eq(one(&items, J), "/spec/backoffLimit"), json!(6));
}

#[test]
fn overlays_with_example_files() {
    let items = render(&["--overlay", "inference", "-f", &fixture("values-production.yaml")]);
    let d = one(&items, D);
    assert_eq!(at_eq(d, "$C/image"), json!("docker.io/dimtensor:4.2.0-cpu-full"));
    assert!(at(d, "/spec/replicas").is_none());
    assert!(at(d, "$P/affinity/podAntiAffinity").is_some(), "the preset's anti-affinity was dropped");
    // The preset's third annotation stays beside the file's two (maps merge).
    assert_eq!(at_eq(d, "/spec/template/metadata/annotations/prometheus.io~1path"), json!("/metrics"));
    let hpa = one(&items, HPA);
    assert_eq!((at_eq(hpa, "/spec/minReplicas"), at_eq(hpa, "/spec/maxReplicas")), (json!(3), json!(20)));
    assert_eq!(at_eq(one(&items, "Ingress"), "/spec/rules/0/host"), json!("api.dimtensor.com"));

    let items = render(&["--overlay", "training", "-f", &fixture("values-gpu-training.yaml")]);
    let j = one(&items, J);
    assert_eq!(at_eq(j, "$C/resources/limits/nvidia.com~1gpu"), json!(2));
    assert_eq!(at_eq(j, "$P/tolerations").as_array().map(Vec::len), Some(1));
    assert_eq!(j["metadata"]["labels"]["app.kubernetes.io/component"], "training");
}

/// A user's overlay directory has no preset: a key the user sets still changes only its own part
/// of what the directory renders.
#[test]
fn user_overlay_directories_keep_what_the_user_did_not_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(&["init", &dir.path().display().to_string()], None);
    assert!(out.status.success(), "init: {}", text(&out.stderr));
    let inference = dir.path().join("overlays/inference").display().to_string();
    let training = dir.path().join("overlays/training").display().to_string();
    let items = render(&["--overlay", &inference, "--set", "image.registry=ghcr.io"]);
    assert_eq!(
        at_eq(one(&items, D), "$C/image"),
        json!("ghcr.io/dimtensor:4.2.0-cpu-full"),
        "only the registry was set; the overlay's tag must stay"
    );
    let items = render(&["--overlay", &training, "--set", "job.parallelism=2"]);
    let j = one(&items, J);
    assert_eq!((at_eq(j, "/spec/parallelism"), at_eq(j, "/spec/backoffLimit")), (json!(2), json!(2)));
    assert_eq!(at_eq(j, "$C/image"), json!("docker.io/dimtensor:4.2.0-ml"));
}

#[test]
fn gpu_toleration_never_twice_never_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write_temp(
        &dir,
        "tol.yaml",
        "tolerations:\n  - key: nvidia.com/gpu\n    operator: Exists\n    effect: NoSchedule\n  - key: spot\n    operator: Exists\n",
    );
    let gpu = json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"});
    let spot = json!({"key": "spot", "operator": "Exists"});
    for args in [
        vec!["--overlay", "training", "-f", f.as_str()],
        vec!["-f", f.as_str(), "--set", "resources.gpu.enabled=true"],
        vec!["--overlay", "training", "-f", f.as_str(), "--set", "resources.gpu.count=2"],
    ] {
        let items = render(&args);
        let tol = at_eq(one(&items, J_OR_D(&items)), "$P/tolerations");
        let list = tol.as_array().cloned().unwrap_or_default();
        assert_eq!(list.iter().filter(|t| **t == gpu).count(), 1, "{args:?}: {tol}");
        assert_eq!(list.iter().filter(|t| **t == spot).count(), 1, "{args:?}: {tol}");
        assert_eq!(list.len(), 2, "{args:?}: {tol}");
    }
}

#[allow(non_snake_case)]
fn J_OR_D(items: &[Value]) -> &'static str {
    if find(items, J).is_some() {
        J
    } else {
        D
    }
}

#[test]
fn inference_preset_survives_values() {
    let items = render(&["--overlay", "inference", "--set", "image.tag=5.0", "--set", "resources.limits.memory=12Gi"]);
    assert_eq!(kind_set(&items), set_of(&["ServiceAccount", "Service", "Deployment", "HorizontalPodAutoscaler"]));
    let d = one(&items, D);
    assert_eq!(at_eq(d, "$C/image"), json!("docker.io/dimtensor:5.0-cpu-full"));
    assert!(at(d, "/spec/replicas").is_none());
    assert_eq!(at_eq(d, "$C/resources/limits"), json!({"cpu": "2000m", "memory": "12Gi"}));
    assert_eq!(at_eq(d, "/spec/template/metadata/annotations/prometheus.io~1scrape"), json!("true"));
    assert!(at(d, "$P/affinity/podAntiAffinity").is_some(), "the preset's anti-affinity was dropped");
    let hpa = one(&items, HPA);
    assert_eq!((at_eq(hpa, "/spec/minReplicas"), at_eq(hpa, "/spec/maxReplicas")), (json!(2), json!(10)));
}

#[test]
fn batch_preset_survives_values() {
    let items = render(&["--overlay", "batch", "--set", "job.parallelism=20"]);
    let j = one(&items, J);
    assert_eq!(at_eq(j, "/spec/parallelism"), json!(20));
    assert_eq!(at_eq(j, "/spec/completions"), json!(100));
    assert_eq!(at_eq(j, "/spec/completionMode"), json!("Indexed"));
    assert_eq!(at_eq(j, "$P/restartPolicy"), json!("OnFailure"));
    let cm = one(&items, "ConfigMap");
    assert!(cm["data"]["physics_params.json"].as_str().unwrap_or("").contains("\"gravity\": 9.81"), "{cm}");

    // With a values file the file's job settings win, the preset's ConfigMap is replaced by the file's.
    let items = render(&["--overlay", "batch", "-f", &fixture("values-batch.yaml")]);
    let j = one(&items, J);
    assert_eq!(at_eq(j, "/spec/completions"), json!(1000));
    assert_eq!(at_eq(j, "/spec/completionMode"), json!("Indexed"));
    assert!(!one(&items, "ConfigMap")["data"]["config.json"].as_str().unwrap_or("").contains("units"));
}

#[test]
fn cronjob_preset_survives_values() {
    let items = render(&["--overlay", "cronjob", "--set", "cronjob.successfulJobsHistoryLimit=9"]);
    let cj = one(&items, CJ);
    assert_eq!(at_eq(cj, "/spec/successfulJobsHistoryLimit"), json!(9));
    assert_eq!(at_eq(cj, "/spec/schedule"), json!("0 0 * * *"));
    assert_eq!(cj["metadata"]["labels"]["app.kubernetes.io/component"], "analysis");
    // workloadType agreeing with the overlay is fine.
    let items = render(&["--overlay", "cronjob", "--set", "workloadType=cronjob"]);
    assert!(find(&items, CJ).is_some());
}

#[test]
fn set_list_index_and_braces() {
    let items = render(&["--set", "image.pullSecrets[0].name=my-registry-secret"]);
    assert_eq!(at_eq(one(&items, D), "$P/imagePullSecrets"), json!([{"name": "my-registry-secret"}]));
    let items = render(&["--set", "container.args={--a,--b,--c}"]);
    assert_eq!(at_eq(one(&items, D), "$C/args"), json!(["--a", "--b", "--c"]));
    // Two flags editing the same list item build one item, as in Helm.
    let items = render(&["--set", "container.env[0].name=A", "--set", "container.env[0].value=b"]);
    assert_eq!(at_eq(one(&items, D), "$C/env"), json!([{"name": "A", "value": "b"}]));
    // An escaped comma stays in the value.
    let items = render(&["--set", r"container.env[0].name=IDS,container.env[0].value=0\,1"]);
    assert_eq!(at_eq(one(&items, D), "$C/env"), json!([{"name": "IDS", "value": "0,1"}]));
}

#[test]
fn set_escaped_dots_in_keys() {
    let items = render(&[
        "--set",
        r"podAnnotations.prometheus\.io/scrape=true",
        "--set",
        r"podAnnotations.prometheus\.io/port=9090",
    ]);
    assert_eq!(
        at_eq(one(&items, D), "/spec/template/metadata/annotations"),
        json!({"prometheus.io/scrape": "true", "prometheus.io/port": "9090"})
    );
}

/// `extraVolumes` and `extraVolumeMounts`, the keys before the chart's `volumes` and
/// `volumeMounts` were adopted, still read as those, with a warning naming the new key.
#[test]
fn deprecated_volume_keys_read_as_the_charts_with_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let new = write_temp(
        &dir,
        "new.yaml",
        "volumes:\n  - name: s\n    emptyDir: {}\nvolumeMounts:\n  - name: s\n    mountPath: /s\n",
    );
    let old = write_temp(
        &dir,
        "old.yaml",
        "extraVolumes:\n  - name: s\n    emptyDir: {}\nextraVolumeMounts:\n  - name: s\n    mountPath: /s\n",
    );
    let out = run(&["render", "-f", &old, "-o", "json"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("warning: {old}:1: `extraVolumes` is deprecated, use `volumes`")), "{stderr}");
    assert!(
        stderr.contains(&format!("warning: {old}:4: `extraVolumeMounts` is deprecated, use `volumeMounts`")),
        "{stderr}"
    );
    assert_eq!(render(&["-f", &old]), render(&["-f", &new]));
    // The mount names a volume the pod has (the API server refuses any other).
    let old_set = "extraVolumes[0].name=s,extraVolumes[0].emptyDir.medium=Memory,extraVolumeMounts[0].name=s,extraVolumeMounts[0].mountPath=/s";
    let set = run(&["render", "--set", old_set, "-o", "json"], None);
    assert!(
        text(&set.stderr).contains("`extraVolumeMounts` is deprecated, use `volumeMounts`"),
        "{}",
        text(&set.stderr)
    );
    let items = render(&["--set", old_set]);
    let mounts = at_eq(one(&items, D), "$C/volumeMounts");
    assert!(mounts.as_array().is_some_and(|m| m.contains(&json!({"name": "s", "mountPath": "/s"}))), "{mounts}");
    // An error in the old key names its line.
    let bad = write_temp(&dir, "bad.yaml", "image:\n  tag: x\nextraVolumes: 5\n");
    let out = run(&["render", "-f", &bad], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(&format!("{bad}:3: `volumes` must be list")), "{}", text(&out.stderr));
}

/// `volumes: null` (or its old spelling) adds no volume and removes none of the pod's own: the
/// `tmp` volume the container mounts stays, so the render is one the API server accepts.
#[test]
fn null_volumes_keep_the_pods_own_under_either_spelling() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmp_only = json!([{"name": "tmp", "emptyDir": {}}]);
    for doc in ["volumes: null\n", "extraVolumes: null\n", "volumes: null\nvolumeMounts: null\n"] {
        let f = write_temp(&dir, "null.yaml", doc);
        let items = render(&["-f", &f]);
        assert_eq!(at_eq(one(&items, D), "$P/volumes"), tmp_only, "{doc}");
        assert_eq!(at_eq(one(&items, D), "$C/volumeMounts"), json!([{"name": "tmp", "mountPath": "/tmp"}]), "{doc}");
    }
    let items = render(&["--set", "volumes=null"]);
    assert_eq!(at_eq(one(&items, D), "$P/volumes"), tmp_only);
}

#[test]
fn set_null_removes_a_default() {
    let items = render(&["--set", "resources.limits.cpu=null"]);
    assert_eq!(
        at_eq(one(&items, D), "$C/resources"),
        json!({"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "8Gi"}})
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write_temp(&dir, "v.yaml", "resources:\n  requests:\n    memory: null\n");
    let items = render(&["-f", &f]);
    assert_eq!(at_eq(one(&items, D), "$C/resources/requests"), json!({"cpu": "500m"}));
}

#[test]
fn set_types_like_helm() {
    let items = render(&["--set", "replicaCount=5"]);
    let replicas = at_eq(one(&items, D), "/spec/replicas");
    assert!(replicas.is_u64() && replicas == json!(5), "{replicas}");
    let items = render(&["--set-string", "image.tag=1.0"]);
    assert_eq!(at_eq(one(&items, D), "$C/image"), json!("docker.io/dimtensor:1.0"));
    let items = render(&["--set-string", "image.tag=100"]);
    assert_eq!(at_eq(one(&items, D), "$C/image"), json!("docker.io/dimtensor:100"));
    let items = render(&["--set", "cronjob.suspend=true", "--set", CRON]);
    assert_eq!(at_eq(one(&items, CJ), "/spec/suspend"), json!(true));
    // --set-string keeps "true" a string, which a boolean parameter refuses.
    let err = fails(&["render", "--set-string", "cronjob.suspend=true"], None);
    assert!(err.contains("cronjob.suspend") && err.contains("boolean"), "{err}");
}

#[test]
fn set_file_reads_the_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write_temp(&dir, "app.json", "{\"mode\": \"fast\"}\n");
    let arg = format!(r"configMap.data.app\.json={f}");
    let items = render(&["--set", "configMap.enabled=true", "--set-file", &arg]);
    assert_eq!(one(&items, "ConfigMap")["data"], json!({"app.json": "{\"mode\": \"fast\"}\n"}));
}

#[test]
fn values_from_stdin() {
    let items = render_stdin(&["-f", "-"], "replicaCount: 6\nimage:\n  variant: ml\n");
    let d = one(&items, D);
    assert_eq!(at_eq(d, "/spec/replicas"), json!(6));
    assert_eq!(at_eq(d, "$C/image"), json!("docker.io/dimtensor:4.2.0-ml"));
}

#[test]
fn later_files_win_and_set_wins_over_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a =
        write_temp(&dir, "a.yaml", "replicaCount: 4\nimage:\n  variant: ml\nresources:\n  limits:\n    memory: 10Gi\n");
    let b = write_temp(&dir, "b.yaml", "replicaCount: 6\nresources:\n  limits:\n    cpu: 3000m\n");
    let items = render(&["-f", &a, "-f", &b]);
    let d = one(&items, D);
    assert_eq!(at_eq(d, "/spec/replicas"), json!(6), "the later file wins");
    assert_eq!(at_eq(d, "$C/image"), json!("docker.io/dimtensor:4.2.0-ml"), "keys only in the earlier file stay");
    assert_eq!(at_eq(d, "$C/resources/limits"), json!({"cpu": "3000m", "memory": "10Gi"}), "maps merge key by key");

    let items = render(&["-f", &b, "-f", &a]);
    assert_eq!(at_eq(one(&items, D), "/spec/replicas"), json!(4));

    // --set wins whatever the order on the command line.
    for args in [vec!["--set", "replicaCount=7", "-f", &a], vec!["-f", &a, "--set", "replicaCount=7"]] {
        let items = render(&args);
        assert_eq!(at_eq(one(&items, D), "/spec/replicas"), json!(7), "{args:?}");
    }
    // --set-string after --set, as in Helm.
    let items = render(&["--set-string", "image.tag=9", "--set", "image.tag=8.0"]);
    assert_eq!(at_eq(one(&items, D), "$C/image"), json!("docker.io/dimtensor:9"));
}

// ---------------------------------------------------------------------------------------------
// 4. Errors: exit 2, nothing on stdout, a message that says why
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_key_names_the_nearest_valid_one() {
    let err = fails(&["render", "--set", "resources.limits.memroy=16Gi"], None);
    assert!(err.contains("resources.limits.memroy"), "{err}");
    assert!(err.contains("did you mean resources.limits.memory?"), "{err}");

    let dir = tempfile::tempdir().expect("tempdir");
    let f = write_temp(&dir, "typo.yaml", "replicaCount: 2\nimage:\n  varient: ml\n");
    let err = fails(&["render", "-f", &f], None);
    assert!(err.contains("image.varient") && err.contains("did you mean image.variant?"), "{err}");
    assert!(err.contains("typo.yaml:3"), "file and line of the key: {err}");
}

/// The nearest valid key is named even when the typo is more than a couple of edits away.
#[test]
fn unknown_key_suggests_beyond_small_typos() {
    let err = fails(&["render", "--set", "replicas=3"], None);
    assert!(err.contains("`replicas`") && err.contains("did you mean replicaCount?"), "{err}");
    // The suggestion completes the whole key, not the first parameter under the fixed group.
    let err = fails(&["render", "--set", "resources.limit.memory=16Gi"], None);
    assert!(err.contains("resources.limit") && err.contains("did you mean resources.limits.memory?"), "{err}");
}

#[test]
fn wrong_type_names_key_expected_and_given() {
    let err = fails(&["render", "--set", "replicaCount=three"], None);
    assert!(err.contains("replicaCount") && err.contains("integer") && err.contains("three"), "{err}");

    let err = fails(&["render", "--set", "image.variant=gpu"], None);
    assert!(err.contains("image.variant") && err.contains("cpu-full") && err.contains("gpu"), "{err}");

    let err = fails(&["render", "--set", "resources.limits.memory=lots"], None);
    assert!(err.contains("resources.limits.memory") && err.contains("quantity") && err.contains("lots"), "{err}");

    let dir = tempfile::tempdir().expect("tempdir");
    let f = write_temp(&dir, "types.yaml", "# comment\nservice:\n  type: ClusterIP\n  port: eighty\n");
    let err = fails(&["render", "-f", &f], None);
    assert!(err.contains("service.port") && err.contains("integer") && err.contains("eighty"), "{err}");
    assert!(err.contains("types.yaml:4"), "file and line: {err}");

    let good = write_temp(&dir, "good.yaml", "replicaCount: 2\n");
    let err = fails(&["render", "-f", &good, "-f", &f], None);
    assert!(err.contains("types.yaml:4") && !err.contains("good.yaml"), "the failing file is named: {err}");

    let f = write_temp(&dir, "bool.yaml", "autoscaling:\n  enabled: \"yes\"\n");
    let err = fails(&["render", "-f", &f], None);
    assert!(err.contains("autoscaling.enabled") && err.contains("boolean") && err.contains("bool.yaml:2"), "{err}");
}

#[test]
fn autoscaling_on_a_job_is_refused() {
    let err = fails(&["render", "--set", "workloadType=job", "--set", "autoscaling.enabled=true"], None);
    assert!(err.contains("autoscaling.enabled") && err.contains("Deployment"), "{err}");
    let err = fails(&["render", "--overlay", "training", "--set", "autoscaling.enabled=true"], None);
    assert!(err.contains("autoscaling.enabled") && err.contains("Job"), "{err}");
    let err = fails(&["render", "--set", "workloadType=cronjob", "--set", "ingress.enabled=true"], None);
    assert!(err.contains("ingress.enabled"), "{err}");
}

#[test]
fn min_replicas_above_max_is_refused() {
    let err = fails(
        &["render", "--set", "autoscaling.enabled=true,autoscaling.minReplicas=5,autoscaling.maxReplicas=2"],
        None,
    );
    assert!(err.contains("minReplicas") && err.contains('5') && err.contains('2'), "{err}");
    // Against the preset's maxReplicas 10.
    let err = fails(&["render", "--overlay", "inference", "--set", "autoscaling.minReplicas=20"], None);
    assert!(err.contains("minReplicas") && err.contains("20") && err.contains("10"), "{err}");
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write_temp(&dir, "hpa.yaml", "autoscaling:\n  enabled: true\n  maxReplicas: 1\n  minReplicas: 4\n");
    let err = fails(&["render", "-f", &f], None);
    assert!(err.contains("hpa.yaml:"), "{err}");
}

#[test]
fn non_cron_schedule_is_refused() {
    for bad in ["daily", "0 0 * *", "61 * * * * *"] {
        let arg = format!("cronjob.schedule={bad}");
        let err = fails(&["render", "--set", CRON, "--set", &arg], None);
        assert!(err.contains("cronjob.schedule") && err.contains("cron"), "{bad}: {err}");
    }
    let err = fails(&["render", "--overlay", "cronjob", "--set", "cronjob.schedule=every day"], None);
    assert!(err.contains("cronjob.schedule"), "{err}");
}

#[test]
fn secret_data_must_be_base64() {
    let err = fails(&["render", "--set", "secret.enabled=true,secret.data.pw=not base64!"], None);
    assert!(err.contains("secret.data.pw") && err.contains("base64"), "{err}");
    assert!(!err.contains("not base64!"), "the value was echoed: {err}");
    assert!(err.contains("stringData"), "the message should point at secret.stringData: {err}");
}

#[test]
fn workload_type_contradicting_an_overlay_is_refused() {
    let err = fails(&["render", "--overlay", "training", "--set", "workloadType=deployment"], None);
    assert!(err.contains("workloadType") && err.contains("training") && err.contains("deployment"), "{err}");
    let err = fails(&["render", "--overlay", "inference", "--set", "workloadType=cronjob"], None);
    assert!(err.contains("workloadType") && err.contains("inference"), "{err}");
    let err = fails(&["render", "--overlay", "batch", "--set", "workloadType=cronjob"], None);
    assert!(err.contains("batch"), "{err}");
}

#[test]
fn bad_inputs_are_errors() {
    let err = fails(&["render", "-f", "/nonexistent/values.yaml"], None);
    assert!(err.contains("/nonexistent/values.yaml"), "{err}");
    let err = fails(&["render", "--set", "replicaCount"], None);
    assert!(err.contains("replicaCount"), "{err}");
    let err = fails(&["render", "-f", "-"], Some("- just\n- a list\n"));
    assert!(err.contains("stdin"), "{err}");
    let err = fails(&["render", "--set", "resources.limits=4Gi"], None);
    assert!(err.contains("resources.limits"), "{err}");
}

const SECRET_ARGS: [&str; 6] = [
    "--set",
    "secret.enabled=true",
    "--set",
    "secret.data.token=c2VjcmV0LWNhbmFyeQ==",
    "--set",
    "secret.stringData.pw=canary-plain-123",
];

#[test]
fn secrets_are_rendered_as_given() {
    let items = render(&SECRET_ARGS);
    let s = one(&items, "Secret");
    assert_eq!(s["data"], json!({"token": SECRET_CANARY_B64}), "data passes through, never re-encoded");
    assert_eq!(s["stringData"], json!({"pw": SECRET_CANARY_PLAIN}));
}

#[test]
fn secrets_never_appear_in_show_values_or_explain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write_temp(
        &dir,
        "s.yaml",
        "secret:\n  enabled: true\n  data:\n    token: c2VjcmV0LWNhbmFyeQ==\n  stringData:\n    pw: canary-plain-123\n",
    );
    let inputs: Vec<Vec<&str>> = vec![
        SECRET_ARGS.to_vec(),
        // Secrets in the same --set argument as other keys.
        vec!["--set", "replicaCount=5,secret.enabled=true,secret.stringData.pw=canary-plain-123"],
        vec!["--set", "secret.enabled=true,secret.data.token=c2VjcmV0LWNhbmFyeQ==,replicaCount=5"],
        vec!["--set", "secret.enabled=true", "--set-string", "image.tag=5.0,secret.stringData.pw=canary-plain-123"],
        vec!["-f", f.as_str()],
        vec!["--overlay", "training", "-f", f.as_str(), "--set", "job.backoffLimit=1"],
    ];
    let mut leaks = Vec::new();
    for input in &inputs {
        for flag in ["--show-values", "--explain"] {
            let mut args = vec!["render"];
            args.extend(input.iter().copied());
            args.push(flag);
            let out = run(&args, None);
            let (o, e) = (text(&out.stdout), text(&out.stderr));
            assert!(out.status.success(), "{args:?}: {e}");
            assert!(o.contains("***"), "{args:?} should show masked values:\n{o}");
            for canary in [SECRET_CANARY_B64, SECRET_CANARY_DECODED, SECRET_CANARY_PLAIN] {
                for line in o.lines().chain(e.lines()).filter(|l| l.contains(canary)) {
                    leaks.push(format!("{input:?} {flag}:\n    {}", line.trim()));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "secret values echoed:\n{}", leaks.join("\n"));
    let out = run(&[&["render"][..], &SECRET_ARGS[..], &["--show-values"][..]].concat(), None);
    let o = text(&out.stdout);
    assert!(show_line(&o, "secret.data").contains("token") && show_line(&o, "secret.stringData").contains("pw"), "{o}");
}

#[test]
fn secrets_never_appear_in_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: Vec<(Vec<String>, Option<&str>)> = vec![
        // A secret value of the wrong type.
        (vec!["--set".into(), "secret.stringData=canary-plain-123".into()], None),
        // Invalid base64 in secret.data.
        (vec!["--set".into(), "secret.enabled=true,secret.data.pw=canary-plain-123!".into()], None),
        // An unrelated error in the same --set argument as a secret.
        (vec!["--set".into(), "replicaCount=three,secret.stringData.pw=canary-plain-123".into()], None),
        (vec!["--set".into(), "secret.stringData.pw=canary-plain-123,replicaCount=three".into()], None),
        (vec!["--set".into(), "secret.data.token=c2VjcmV0LWNhbmFyeQ==,replicaCuont=3".into()], None),
        // A misspelt secret key.
        (vec!["--set".into(), "secret.stringDta.pw=canary-plain-123".into()], None),
        // A misspelt key whose value is a secret map in a file.
        (vec!["-f".into(), write_temp(&dir, "a.yaml", "secret:\n  strngData:\n    pw: canary-plain-123\n")], None),
        // A combination error after secrets were read.
        (
            vec![
                "--set-string".into(),
                "secret.stringData.pw=canary-plain-123".into(),
                "--set".into(),
                "workloadType=job,autoscaling.enabled=true".into(),
            ],
            None,
        ),
        // A broken YAML file holding a secret.
        (
            vec![
                "-f".into(),
                write_temp(
                    &dir,
                    "b.yaml",
                    "secret:\n  stringData:\n    pw: canary-plain-123\n  data: [c2VjcmV0LWNhbmFyeQ==\n",
                ),
            ],
            None,
        ),
        (vec!["-f".into(), "-".into()], Some("secret:\n  stringData:\n    pw: canary-plain-123\n   bad: indent\n")),
        // Unknown overlay with secrets set.
        (
            vec!["--overlay".into(), "trainig".into(), "--set".into(), "secret.stringData.pw=canary-plain-123".into()],
            None,
        ),
    ];
    let mut leaks = Vec::new();
    for (args, stdin) in cases {
        let mut all = vec!["render"];
        all.extend(args.iter().map(String::as_str));
        let err = fails(&all, stdin);
        if [SECRET_CANARY_B64, SECRET_CANARY_DECODED, SECRET_CANARY_PLAIN].iter().any(|c| err.contains(c)) {
            leaks.push(format!("{args:?}\n    {}", err.trim()));
        }
    }
    assert!(leaks.is_empty(), "errors echo secret values:\n{}", leaks.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// 5. --show-values and --explain
// ---------------------------------------------------------------------------------------------

/// The line of `--show-values` output for a key.
fn show_line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("--show-values has no line for {key}:\n{out}"))
}

#[test]
fn show_values_names_each_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write_temp(&dir, "prod.yaml", "# production\nimage:\n  variant: ml\nreplicaCount: 4\n");
    let out = run(&["render", "-f", &f, "--set", "service.port=8080", "--show-values"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let o = text(&out.stdout);
    let line = show_line(&o, "image.variant");
    assert!(line.contains("ml") && line.trim_end().ends_with(&format!("{f}:3")), "{line}");
    let line = show_line(&o, "replicaCount");
    assert!(line.contains('4') && line.trim_end().ends_with(&format!("{f}:4")), "{line}");
    let line = show_line(&o, "service.port");
    assert!(line.contains("8080") && line.trim_end().ends_with("--set service.port=8080"), "{line}");
    let line = show_line(&o, "service.type");
    assert!(line.contains("ClusterIP") && line.trim_end().ends_with("default"), "{line}");
    let line = show_line(&o, "cronjob.schedule");
    assert!(line.contains("0 0 * * *") && line.trim_end().ends_with("default"), "{line}");
    // Every parameter has a line.
    for p in schema_params() {
        show_line(&o, &p);
    }
    // --show-values prints values, not manifests.
    assert!(!o.contains("apiVersion"), "{o}");
}

#[test]
fn show_values_names_the_preset_and_stdin() {
    let out = run(&["render", "--overlay", "training", "-f", "-", "--show-values"], Some("job:\n  parallelism: 2\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let o = text(&out.stdout);
    let line = show_line(&o, "job.backoffLimit");
    assert!(line.contains('2') && line.contains("training"), "preset keys name the overlay: {line}");
    let line = show_line(&o, "image.variant");
    assert!(line.contains("ml") && line.contains("training"), "{line}");
    let line = show_line(&o, "job.parallelism");
    assert!(line.contains('2') && line.trim_end().ends_with("<stdin>:2"), "{line}");
    let line = show_line(&o, "job.completions");
    assert!(line.trim_end().ends_with("default"), "{line}");
}

/// The block of `--explain` output for one key: its header line and the indented lines below.
fn explain_block(out: &str, key: &str) -> Option<String> {
    let mut lines = out.lines().skip_while(|l| !(l.starts_with(key) && l[key.len()..].starts_with(' ')));
    let head = lines.next()?;
    let body: Vec<&str> = lines.take_while(|l| l.starts_with(' ')).collect();
    Some(format!("{head}\n{}", body.join("\n")))
}

#[test]
fn explain_lists_each_user_key_with_source_and_patch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write_temp(&dir, "v.yaml", "image:\n  variant: ml\n");
    let out = run(&["render", "-f", &f, "--set", "replicaCount=5", "--explain"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let o = text(&out.stdout);
    let b = explain_block(&o, "replicaCount").unwrap_or_else(|| panic!("no replicaCount in:\n{o}"));
    assert!(b.lines().next().unwrap_or("").contains("--set replicaCount=5"), "{b}");
    assert!(b.contains("Deployment/dimtensor") && b.contains("replicas: 5"), "{b}");
    let b = explain_block(&o, "image.variant").unwrap_or_else(|| panic!("no image.variant in:\n{o}"));
    assert!(b.lines().next().unwrap_or("").contains(&format!("{f}:2")), "{b}");
    assert!(b.contains("image: docker.io/dimtensor:4.2.0-ml"), "{b}");
    // Only keys the user set are listed.
    assert!(explain_block(&o, "service.type").is_none(), "{o}");
    assert!(explain_block(&o, "job.backoffLimit").is_none(), "{o}");
    assert!(!o.contains("kind: List"), "--explain prints explanations, not manifests");
}

#[test]
fn explain_on_an_overlay_shows_only_the_users_keys() {
    let out = run(&["render", "--overlay", "training", "--set", "image.tag=5.0", "--explain"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let o = text(&out.stdout);
    let b = explain_block(&o, "image.tag").unwrap_or_else(|| panic!("no image.tag in:\n{o}"));
    assert!(b.contains("Job/dimtensor") && b.contains("docker.io/dimtensor:5.0-ml"), "{b}");
    assert!(!o.contains("backoffLimit"), "a preset key the user did not set was patched:\n{o}");
}

#[test]
fn explain_says_what_workload_type_did() {
    let out = run(&["render", "--set", "workloadType=job", "--explain"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let o = text(&out.stdout);
    let b = explain_block(&o, "workloadType").unwrap_or_else(|| panic!("no workloadType in:\n{o}"));
    assert!(!b.contains("no effect"), "workloadType=job turned the Deployment into a Job, yet --explain says:\n{b}");
    assert!(b.contains("Job"), "{b}");
}

#[test]
fn explain_without_values_says_so() {
    let out = run(&["render", "--overlay", "training", "--explain"], None);
    assert!(out.status.success());
    let o = text(&out.stdout);
    assert!(o.contains("no values"), "{o}");
    assert!(!o.contains("apiVersion"), "{o}");
}

#[test]
fn liveness_and_startup_success_threshold_must_be_one() {
    for probe in ["livenessProbe", "startupProbe"] {
        let arg = format!("{probe}.successThreshold=2");
        let out = run(&["render", "--set", &arg], None);
        assert_eq!(out.status.code(), Some(2), "{probe}");
        let err = text(&out.stderr);
        assert!(err.contains(&format!("{probe}.successThreshold")) && err.contains("must be 1"), "{err}");
        assert!(out.stdout.is_empty());
    }
}
