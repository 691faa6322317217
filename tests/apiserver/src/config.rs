//! Everything a test can set before (and while) the server runs.

use crate::podlog::{LogKey, SeedLog};
use crate::resources::CustomResource;
use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

/// Server configuration. `Config::default()` serves on a free port with no authentication
/// (every request is user "admin"), the usual namespaces, and no simulated controller.
#[derive(Debug, Clone)]
pub struct Config {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Namespaces that exist from the start.
    pub namespaces: Vec<String>,
    /// Objects stored before the first request (their namespaces are created as needed).
    pub seed: Vec<Value>,
    /// Bearer token → user name. Empty: no authentication, every request is "admin".
    pub tokens: HashMap<String, String>,
    /// The user for requests without credentials when tokens are configured (None: 401).
    /// kubectl 1.37 sends no bearer token to a plain-http server, so kubectl-driven tests set
    /// this and pick other users with `--as` (Impersonate-User).
    pub anonymous_user: Option<String>,
    pub forbid: Vec<ForbidRule>,
    pub faults: Vec<Fault>,
    pub controller: ControllerConfig,
    /// Answer `Accept: ...;g=apidiscovery.k8s.io;v=v2` with the aggregated form (1.30+ servers)
    /// instead of the legacy documents (what the captured v1.24 server does).
    pub aggregated_discovery: bool,
    pub custom_resources: Vec<CustomResource>,
    /// Fields the v1.24 schema does not declare: kept (default) or handled like a real server
    /// (dropped, or refused with 400 under `fieldValidation=Strict`).
    pub prune_unknown_fields: bool,
    /// How long a Foreground/Orphan-deleted object keeps its finalizer before it is gone.
    pub finalizer_delay: Duration,
    /// Also print every request (method, target, types, user, status) to stderr.
    pub log_to_stderr: bool,
    /// `--service-node-port-range` (default 30000-32767): node ports outside it are refused.
    pub node_port_range: (i64, i64),
    /// Seconds the server's clock is off from the real one: every timestamp it writes
    /// (creation, deletion, managedFields, conditions, simulated lease holders) follows it.
    pub clock_offset: i64,
    /// Container log lines present from the start (`pods/log`), stamped at start.
    pub logs: Vec<SeedLog>,
    /// Queue what the controllers would write after each stored write until a test releases it
    /// (`TestServer::run_held_controllers`, or a `Fault::run_controllers` on a chosen request):
    /// reads in between see the object as the write left it, as on a real cluster a moment
    /// after an apply.
    pub hold_controllers: bool,
    /// One network round trip, added to every request (half before it is handled, half after)
    /// and once more before the first request of each connection (the TCP handshake).
    pub latency: Duration,
    /// CPU each write burns (POST, PUT, PATCH, dry run or not): a real server's defaulting,
    /// admission, merge and managed fields cost several milliseconds each.
    pub write_cpu: Duration,
    /// What `/version` says its `gitVersion` is (default: the captured v1.24.0).
    pub git_version: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 0,
            namespaces: ["default", "kube-system", "kube-public", "kube-node-lease"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            seed: Vec::new(),
            tokens: HashMap::new(),
            anonymous_user: None,
            forbid: Vec::new(),
            faults: Vec::new(),
            controller: ControllerConfig::off(),
            aggregated_discovery: false,
            custom_resources: Vec::new(),
            prune_unknown_fields: false,
            finalizer_delay: Duration::ZERO,
            log_to_stderr: false,
            node_port_range: crate::validation::DEFAULT_NODE_PORTS,
            clock_offset: 0,
            logs: Vec::new(),
            hold_controllers: false,
            latency: Duration::ZERO,
            write_cpu: Duration::ZERO,
            git_version: None,
        }
    }
}

impl Config {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// Adds a namespace that exists from the start.
    pub fn namespace(mut self, name: &str) -> Self {
        self.namespaces.push(name.to_string());
        self
    }
    /// Adds a seed object (JSON as the API would return it; server fields are filled in).
    pub fn seed(mut self, obj: Value) -> Self {
        self.seed.push(obj);
        self
    }
    /// Maps a bearer token to a user; once any token is set, unknown tokens get 401.
    pub fn token(mut self, token: &str, user: &str) -> Self {
        self.tokens.insert(token.to_string(), user.to_string());
        self
    }
    /// Who a request without credentials is (see the field).
    pub fn anonymous_user(mut self, user: &str) -> Self {
        self.anonymous_user = Some(user.to_string());
        self
    }
    pub fn forbid(mut self, rule: ForbidRule) -> Self {
        self.forbid.push(rule);
        self
    }
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }
    pub fn controller(mut self, controller: ControllerConfig) -> Self {
        self.controller = controller;
        self
    }
    pub fn aggregated_discovery(mut self, on: bool) -> Self {
        self.aggregated_discovery = on;
        self
    }
    pub fn custom_resource(mut self, cr: CustomResource) -> Self {
        self.custom_resources.push(cr);
        self
    }
    pub fn prune_unknown_fields(mut self, on: bool) -> Self {
        self.prune_unknown_fields = on;
        self
    }
    /// The server's `--service-node-port-range`, inclusive.
    pub fn node_port_range(mut self, low: i64, high: i64) -> Self {
        self.node_port_range = (low, high);
        self
    }
    pub fn log_to_stderr(mut self, on: bool) -> Self {
        self.log_to_stderr = on;
        self
    }
    /// Seeds the current run of a container's log with `text` (one line per line).
    pub fn pod_log(mut self, namespace: &str, pod: &str, container: &str, text: &str) -> Self {
        self.logs.push(SeedLog { key: LogKey::new(namespace, pod, container, false), text: text.to_string() });
        self
    }
    pub fn finalizer_delay(mut self, delay: Duration) -> Self {
        self.finalizer_delay = delay;
        self
    }
    /// Sets the server's clock `secs` ahead of the real one (negative: behind).
    pub fn clock_offset(mut self, secs: i64) -> Self {
        self.clock_offset = secs;
        self
    }
    pub fn hold_controllers(mut self, on: bool) -> Self {
        self.hold_controllers = on;
        self
    }
    pub fn latency(mut self, round_trip: Duration) -> Self {
        self.latency = round_trip;
        self
    }
    pub fn write_cpu(mut self, cpu: Duration) -> Self {
        self.write_cpu = cpu;
        self
    }
    pub fn git_version(mut self, v: &str) -> Self {
        self.git_version = Some(v.to_string());
        self
    }
}

/// Denies matching requests with 403 (RBAC stand-in). Unset parts match anything.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ForbidRule {
    pub user: Option<String>,
    /// API verbs: get, list, watch, create, update, patch, delete, deletecollection. Empty: all.
    pub verbs: Vec<String>,
    pub group: Option<String>,
    /// Plural resource names ("deployments"). Empty: all.
    pub resources: Vec<String>,
    pub namespace: Option<String>,
}

impl ForbidRule {
    /// Everything is forbidden for `user` until narrowed.
    pub fn user(user: &str) -> Self {
        ForbidRule { user: Some(user.to_string()), ..Default::default() }
    }
    /// Applies to every user.
    pub fn any_user() -> Self {
        ForbidRule::default()
    }
    pub fn verb(mut self, verb: &str) -> Self {
        self.verbs.push(verb.to_string());
        self
    }
    pub fn resource(mut self, plural: &str) -> Self {
        self.resources.push(plural.to_string());
        self
    }
    pub fn group(mut self, group: &str) -> Self {
        self.group = Some(group.to_string());
        self
    }
    pub fn namespace(mut self, ns: &str) -> Self {
        self.namespace = Some(ns.to_string());
        self
    }

    /// True if this rule denies the request.
    pub fn matches(&self, user: &str, verb: &str, group: &str, resource: &str, namespace: &str) -> bool {
        self.user.as_deref().map_or(true, |u| u == user)
            && (self.verbs.is_empty() || self.verbs.iter().any(|v| v == verb || v == "*"))
            && self.group.as_deref().map_or(true, |g| g == group || g == "*")
            && (self.resources.is_empty() || self.resources.iter().any(|r| r == resource || r == "*"))
            && self.namespace.as_deref().map_or(true, |n| n == namespace)
    }
}

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Answer with this code and a Status body (500 InternalError, 503 ServiceUnavailable, ...).
    Status(u16),
    /// 429 TooManyRequests with `Retry-After`.
    TooManyRequests { retry_after_secs: u32 },
    /// Close the connection with a TCP reset, no answer.
    Reset,
    /// Wait, then answer normally.
    Delay(Duration),
    /// Run the held controllers' writes (see `Config::hold_controllers`), then answer normally.
    RunControllers,
}

/// Fault injection: the `nth` request (1-based) matching method and path regex, and the
/// `times - 1` matching ones after it, get `action`.
#[derive(Debug, Clone)]
pub struct Fault {
    /// HTTP method, or None for any.
    pub method: Option<String>,
    /// Matched (unanchored) against the path plus `?query` as sent.
    pub path: Regex,
    pub nth: u32,
    pub times: u32,
    pub action: FaultAction,
}

impl Fault {
    /// A fault on the first request matching `method` ("" or "*" for any) and `path_regex`;
    /// it answers 500 until changed.
    pub fn new(method: &str, path_regex: &str) -> Result<Fault, regex::Error> {
        Ok(Fault {
            method: (!method.is_empty() && method != "*").then(|| method.to_uppercase()),
            path: Regex::new(path_regex)?,
            nth: 1,
            times: 1,
            action: FaultAction::Status(500),
        })
    }
    pub fn nth(mut self, n: u32) -> Self {
        self.nth = n.max(1);
        self
    }
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }
    /// Every matching request from the nth on.
    pub fn always(mut self) -> Self {
        self.times = u32::MAX;
        self
    }
    pub fn status(mut self, code: u16) -> Self {
        self.action = FaultAction::Status(code);
        self
    }
    pub fn too_many_requests(mut self, retry_after_secs: u32) -> Self {
        self.action = FaultAction::TooManyRequests { retry_after_secs };
        self
    }
    pub fn reset(mut self) -> Self {
        self.action = FaultAction::Reset;
        self
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.action = FaultAction::Delay(d);
        self
    }
    pub fn run_controllers(mut self) -> Self {
        self.action = FaultAction::RunControllers;
        self
    }
}

/// How the simulated controller treats Deployments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentBehaviour {
    /// Status stays as written (no controller).
    Untouched,
    /// Rolled out: all replicas updated, ready and available, condition Available=True.
    Ready,
    /// Observed but never available (Available=False), like a cluster without nodes.
    NeverReady,
    /// Progressing=False with reason ProgressDeadlineExceeded.
    DeadlineExceeded,
    /// A rolling update that stays half done: the new replicas are all updated and available,
    /// but one old replica is still there (status.replicas > updatedReplicas).
    OldReplicasRemain,
}

/// How the simulated controller treats PersistentVolumeClaims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeBehaviour {
    /// Phase stays Pending (no provisioner).
    Untouched,
    /// Bound, unless the claim's StorageClass has `volumeBindingMode: WaitForFirstConsumer`
    /// (binding then waits for a pod, and there is no scheduler).
    Bind,
}

/// How the simulated controller treats Jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobBehaviour {
    Untouched,
    /// succeeded = completions, condition Complete=True.
    Complete,
    /// Condition Failed=True, reason BackoffLimitExceeded.
    Fail,
    /// Started but never finishes (active pods).
    Running,
}

/// The stand-in for kube-controller-manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControllerConfig {
    pub deployments: DeploymentBehaviour,
    pub jobs: JobBehaviour,
    pub volumes: VolumeBehaviour,
    /// Time between a workload write and its status update; zero updates before the next request.
    pub delay: Duration,
}

impl ControllerConfig {
    /// No controller: status is never touched.
    pub fn off() -> Self {
        ControllerConfig {
            deployments: DeploymentBehaviour::Untouched,
            jobs: JobBehaviour::Untouched,
            volumes: VolumeBehaviour::Untouched,
            delay: Duration::ZERO,
        }
    }
    /// Deployments roll out, Jobs complete and claims bind immediately.
    pub fn ready() -> Self {
        ControllerConfig {
            deployments: DeploymentBehaviour::Ready,
            jobs: JobBehaviour::Complete,
            volumes: VolumeBehaviour::Bind,
            delay: Duration::ZERO,
        }
    }
    /// Deployments roll out and Jobs complete after `delay`.
    pub fn ready_after(delay: Duration) -> Self {
        ControllerConfig { delay, ..Self::ready() }
    }
    /// Workloads are observed but never become ready; Jobs keep running; claims stay Pending.
    pub fn never_ready() -> Self {
        ControllerConfig {
            deployments: DeploymentBehaviour::NeverReady,
            jobs: JobBehaviour::Running,
            volumes: VolumeBehaviour::Untouched,
            delay: Duration::ZERO,
        }
    }
    pub fn deployments(mut self, b: DeploymentBehaviour) -> Self {
        self.deployments = b;
        self
    }
    pub fn jobs(mut self, b: JobBehaviour) -> Self {
        self.jobs = b;
        self
    }
    pub fn volumes(mut self, b: VolumeBehaviour) -> Self {
        self.volumes = b;
        self
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbid_rules_narrow() {
        let r = ForbidRule::user("limited").verb("list").resource("pods").namespace("t");
        assert!(r.matches("limited", "list", "", "pods", "t"));
        assert!(!r.matches("limited", "get", "", "pods", "t"));
        assert!(!r.matches("admin", "list", "", "pods", "t"));
        assert!(!r.matches("limited", "list", "", "pods", "u"));
        assert!(ForbidRule::user("x").matches("x", "patch", "apps", "deployments", ""));
    }

    #[test]
    fn faults_build() {
        let f = Fault::new("patch", "/deployments/web").unwrap().nth(2).too_many_requests(3);
        assert_eq!(f.method.as_deref(), Some("PATCH"));
        assert_eq!(f.action, FaultAction::TooManyRequests { retry_after_secs: 3 });
        assert!(Fault::new("", "(").is_err());
    }
}
