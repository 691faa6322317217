//! One test per Kubernetes rule the values are checked against (issue 16): the real binary
//! refuses a value the API server would refuse, naming the key, the value and the rule, and
//! writes nothing; the nearest good value renders, and the API server accepts the render in a
//! server-side dry run (`diff`).
//!
//! The server is the project's test API server (modelled on kube-apiserver v1.24), or, with
//! `DIMTENSOR_E2E_KUBECONFIG`, a real cluster: each test creates a throwaway namespace there and
//! deletes it. Checks that need the test server's flags (`--service-node-port-range`) run only
//! against it.

mod common;

use common::text;
use dimtensor_test_apiserver::{Config, TestServer};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-dimtensor");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_remove("KUBECONFIG").env("NO_COLOR", "").output().expect("binary runs")
}

/// `render` with these arguments is refused: exit 2, nothing on stdout, and stderr has each of
/// `needles` (the key, the value, the rule).
fn refused(args: &[&str], needles: &[&str]) -> String {
    let mut all = vec!["render"];
    all.extend_from_slice(args);
    let out = run(&all);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?} should be refused; stderr: {err}");
    assert!(out.stdout.is_empty(), "{args:?}: nothing may be rendered");
    for n in needles {
        assert!(err.contains(n), "{args:?}: `{n}` missing from: {err}");
    }
    assert!(err.contains("Kubernetes v1.24"), "{args:?}: the rule's version: {err}");
    err
}

/// `render` succeeds; returns the objects and stderr (warnings).
fn rendered(args: &[&str]) -> (Vec<Value>, String) {
    let mut all = vec!["render"];
    all.extend_from_slice(args);
    all.extend(["-o", "json"]);
    let out = run(&all);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON list");
    (list["items"].as_array().cloned().unwrap_or_default(), err)
}

fn find<'a>(items: &'a [Value], kind: &str) -> &'a Value {
    items.iter().find(|i| i["kind"] == kind).unwrap_or_else(|| panic!("no {kind} in {items:?}"))
}

/// A namespace on the test API server (with `config`) or on a real cluster.
struct Cluster {
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    namespace: String,
    server: Option<TestServer>,
}

impl Cluster {
    fn new(name: &str) -> Cluster {
        Cluster::with(name, Config::new())
    }

    fn with(name: &str, config: Config) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let namespace = format!("dt-rule-{name}-{}", std::process::id());
        if let Some(real) = std::env::var_os("DIMTENSOR_E2E_KUBECONFIG") {
            let c = Cluster { kubeconfig: PathBuf::from(real), namespace, server: None, _dir: dir };
            let out = c.kubectl(&["create", "namespace", &c.namespace]);
            assert!(out.status.success(), "cannot create the test namespace: {}", text(&out.stderr));
            return c;
        }
        let server = TestServer::start_blocking(config.namespace(&namespace)).expect("test API server starts");
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig, &namespace, "admin-token").expect("kubeconfig written");
        Cluster { kubeconfig, namespace, server: Some(server), _dir: dir }
    }

    fn kubectl(&self, args: &[&str]) -> Output {
        let kubectl = std::env::var("DIMTENSOR_KUBECTL").unwrap_or_else(|_| "kubectl".into());
        Command::new(kubectl).args(args).arg("--kubeconfig").arg(&self.kubeconfig).output().expect("kubectl runs")
    }

    /// `diff` (server-side dry run of every object) with these arguments.
    fn diff(&self, args: &[&str]) -> Output {
        let mut all = vec!["diff"];
        all.extend_from_slice(args);
        let kc = self.kubeconfig.to_str().expect("utf-8 path").to_string();
        all.extend(["--kubeconfig", &kc, "-n", &self.namespace]);
        run(&all)
    }

    /// The server accepts every object of the render (diff exits 1: all would be created).
    fn accepts(&self, args: &[&str]) -> String {
        let out = self.diff(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: the API server should accept the render: {}",
            text(&out.stderr)
        );
        text(&out.stderr)
    }

    /// Writes other than dry runs (test server only): refusals and warnings change nothing.
    fn writes(&self) -> usize {
        let Some(s) = &self.server else { return 0 };
        s.requests()
            .iter()
            .filter(|r| matches!(r.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE") && !r.dry_run)
            .count()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.server.is_none() {
            let _ = self.kubectl(&["delete", "namespace", &self.namespace, "--wait=false"]);
        }
    }
}

#[test]
fn node_port_is_rendered_only_for_types_with_node_ports() {
    let (items, err) = rendered(&["--set", "service.nodePort=30080"]);
    assert!(find(&items, "Service")["spec"]["ports"][0].get("nodePort").is_none());
    assert!(err.contains("warning:") && err.contains("`service.nodePort`") && err.contains("ClusterIP"), "{err}");
    for ty in ["NodePort", "LoadBalancer"] {
        let set = format!("service.type={ty},service.nodePort=30080");
        let (items, err) = rendered(&["--set", &set]);
        assert_eq!(find(&items, "Service")["spec"]["ports"][0]["nodePort"], 30080, "{ty}");
        assert!(!err.contains("warning"), "{err}");
    }
    let c = Cluster::new("nodeport");
    c.accepts(&["--set", "service.nodePort=30080"]);
    c.accepts(&["--set", "service.type=NodePort,service.nodePort=30080"]);
    assert_eq!(c.writes(), 0);
}

#[test]
fn load_balancer_source_ranges_only_with_type_load_balancer() {
    refused(
        &["--set", "service.loadBalancerSourceRanges[0]=10.0.0.0/8"],
        &["service.loadBalancerSourceRanges", "10.0.0.0/8", "may only be used when `type` is 'LoadBalancer'"],
    );
    refused(
        &["--set", "service.type=LoadBalancer,service.loadBalancerSourceRanges[0]=not-a-cidr"],
        &["service.loadBalancerSourceRanges[0]", "not-a-cidr", "IP ranges"],
    );
    let ok = ["--set", "service.type=LoadBalancer,service.loadBalancerSourceRanges[0]=10.0.0.0/8"];
    let (items, _) = rendered(&ok);
    assert_eq!(find(&items, "Service")["spec"]["loadBalancerSourceRanges"], serde_json::json!(["10.0.0.0/8"]));
    Cluster::new("lbranges").accepts(&ok);
}

#[test]
fn an_empty_ingress_class_is_left_out() {
    let args = ["--set", "ingress.enabled=true", "--set-string", "ingress.className="];
    let (items, _) = rendered(&args);
    assert!(find(&items, "Ingress")["spec"].get("ingressClassName").is_none(), "{items:?}");
    refused(
        &["--set", "ingress.enabled=true,ingress.className=Bad Class"],
        &["ingress.className", "Bad Class", "RFC 1123 subdomain"],
    );
    Cluster::new("ingressclass").accepts(&args);
}

#[test]
fn numeric_strings_in_port_fields_become_numbers_and_names_stay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = dir.path().join("v.yaml");
    std::fs::write(
        &f,
        "service:\n  type: NodePort\n  nodePort: \"30080\"\n  targetPort: \"9000\"\nstrategy:\n  rollingUpdate:\n    maxSurge: \"2\"\ncontainer:\n  env:\n    - name: PORT\n      value: \"8080\"\n",
    )
    .expect("values file");
    let file = f.to_str().expect("utf-8");
    let (items, _) = rendered(&["-f", file]);
    let port = &find(&items, "Service")["spec"]["ports"][0];
    assert_eq!((&port["nodePort"], &port["targetPort"]), (&serde_json::json!(30080), &serde_json::json!(9000)));
    let d = find(&items, "Deployment");
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], 2);
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"], "8080", "env values stay strings");
    // The chart's own default nodePort "" renders no node port; a named target port stays a name.
    let (items, _) =
        rendered(&["--set", "service.type=NodePort,service.targetPort=http", "--set-string", "service.nodePort="]);
    let port = &find(&items, "Service")["spec"]["ports"][0];
    assert!(port.get("nodePort").is_none() && port["targetPort"] == "http", "{port}");
    refused(&["--set", "service.targetPort=not_a_port"], &["service.targetPort", "not_a_port", "alpha-numeric"]);
    refused(&["--set", "service.type=NodePort,service.nodePort=abc"], &["service.nodePort", "abc", "port number"]);
    Cluster::new("numericports").accepts(&["-f", file]);
}

#[test]
fn rolling_update_needs_some_room_and_at_most_all_unavailable() {
    refused(
        &["--set", "strategy.rollingUpdate.maxSurge=0"],
        &["strategy.rollingUpdate.maxSurge", "`0`", "may not be 0 when `maxSurge` is 0"],
    );
    refused(
        &["--set", "strategy.rollingUpdate.maxSurge=0%,strategy.rollingUpdate.maxUnavailable=0"],
        &["strategy.rollingUpdate.maxUnavailable", "may not be 0"],
    );
    refused(
        &["--set", "strategy.rollingUpdate.maxUnavailable=150%"],
        &["maxUnavailable", "150%", "must not be greater than 100%"],
    );
    refused(&["--set", "strategy.rollingUpdate.maxSurge=lots"], &["maxSurge", "lots", "percent"]);
    let ok = ["--set", "strategy.rollingUpdate.maxSurge=150%,strategy.rollingUpdate.maxUnavailable=100%"];
    rendered(&ok);
    Cluster::new("rolling").accepts(&ok);
}

#[test]
fn requests_within_limits_and_gpus_whole_and_equal() {
    refused(&["--set", "resources.requests.cpu=3"], &["resources.requests.cpu", "`3`", "above the limit (2000m)"]);
    refused(&["--set", "resources.limits.memory=1Gi"], &["resources.limits.memory", "1Gi", "above the limit"]);
    refused(&["--set", "resources.requests.cpu=-1"], &["resources.requests.cpu", "must be greater than or equal to 0"]);
    // The untouched side is what the overlay renders: training's limit is 4000m.
    let ok = ["--overlay", "training", "--set", "resources.requests.cpu=3,resources.gpu.count=2"];
    let (items, _) = rendered(&ok);
    let res = &find(&items, "Job")["spec"]["template"]["spec"]["containers"][0]["resources"];
    assert_eq!(res["requests"]["nvidia.com/gpu"], res["limits"]["nvidia.com/gpu"], "{res}");
    assert_eq!(res["limits"]["nvidia.com/gpu"], 2);
    refused(&["--set", "resources.gpu.enabled=true,resources.gpu.count=0"], &["resources.gpu.count", "`0`"]);
    let c = Cluster::new("resources");
    c.accepts(&ok);
    c.accepts(&["--set", "resources.requests.cpu=2,resources.limits.cpu=2"]);
}

#[test]
fn names_are_names_the_api_server_takes() {
    refused(&["--set", "fullnameOverride=My-App"], &["fullnameOverride", "My-App", "RFC 1123 subdomain"]);
    // A Service name is a DNS-1035 label: no leading digit; a Job has no Service.
    refused(&["--set", "fullnameOverride=1abc"], &["fullnameOverride", "1abc", "DNS-1035 label"]);
    let job = ["--set", "workloadType=job,fullnameOverride=1abc"];
    rendered(&job);
    refused(&["--set", "nameOverride=Bad Name!"], &["nameOverride", "Bad Name!"]);
    // Job names at most 63 characters, CronJob names at most 52 (the controller appends 11).
    let long = "x".repeat(70);
    let set = format!("fullnameOverride={long}");
    let (items, _) = rendered(&["--overlay", "cronjob", "--set", &set]);
    assert_eq!(find(&items, "CronJob")["metadata"]["name"].as_str().map(str::len), Some(52));
    let (items, _) = rendered(&["--overlay", "training", "--set", &set]);
    assert_eq!(find(&items, "Job")["metadata"]["name"].as_str().map(str::len), Some(63));
    let c = Cluster::new("names");
    c.accepts(&job);
    c.accepts(&["--overlay", "cronjob", "--set", &set]);
    c.accepts(&["--overlay", "training", "--set", &set]);
}

#[test]
fn priority_class_and_map_keys_and_label_values() {
    refused(&["--set", "priorityClassName=Bad Name"], &["priorityClassName", "Bad Name", "RFC 1123 subdomain"]);
    refused(&["--set", "podAnnotations.a b=x"], &["podAnnotations.a b", "annotation key", "name part"]);
    refused(&["--set", "service.annotations.a b=x"], &["service.annotations.a b", "annotation key"]);
    refused(&["--set", "nodeSelector.a b=x"], &["nodeSelector.a b", "label key"]);
    let long = format!("nodeSelector.pool={}", "v".repeat(64));
    refused(&["--set", &long], &["nodeSelector.pool", "label value", "must be no more than 63 characters"]);
    refused(&["--set", "nodeSelector.pool=bad value!"], &["nodeSelector.pool", "bad value!", "a valid label"]);
    refused(&["--set", "configMap.enabled=true,configMap.data.a b=x"], &["configMap.data.a b", "config key"]);
    let ok =
        ["--set", "priorityClassName=high-priority,podAnnotations.Example\\.com/Owner=ml,nodeSelector.pool=gpu-a100"];
    rendered(&ok);
    Cluster::new("labels").accepts(&ok);
}

#[test]
fn probes_take_no_negative_numbers_and_liveness_succeeds_once() {
    refused(
        &["--set", "readinessProbe.periodSeconds=-1"],
        &["readinessProbe.periodSeconds", "-1", "greater than or equal to 0"],
    );
    refused(&["--set", "livenessProbe.initialDelaySeconds=-5"], &["livenessProbe.initialDelaySeconds", "-5"]);
    for probe in ["livenessProbe", "startupProbe"] {
        let set = format!("{probe}.successThreshold=2");
        refused(&["--set", &set], &[&format!("{probe}.successThreshold"), "must be 1"]);
    }
    // 0 means the default (1); readiness may need several successes.
    let ok =
        ["--set", "livenessProbe.successThreshold=0,readinessProbe.successThreshold=3,startupProbe.periodSeconds=0"];
    rendered(&ok);
    Cluster::new("probes").accepts(&ok);
}

/// The chart's `*.httpGet.port` keys (issue 15) take what `ValidatePortNumOrName` takes; a numeric
/// string is the port it spells, a name stays a name.
#[test]
fn probe_ports_are_port_numbers_or_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = dir.path().join("v.yaml");
    std::fs::write(
        &f,
        "livenessProbe:\n  httpGet:\n    port: \"8080\"\nreadinessProbe:\n  httpGet:\n    port: http\nstartupProbe:\n  initialDelaySeconds: 5\n  httpGet:\n    port: 8080\n",
    )
    .expect("values file");
    let file = f.to_str().expect("utf-8");
    let (items, _) = rendered(&["-f", file]);
    let c = &find(&items, "Deployment")["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], 8080, "{c}");
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "http", "{c}");
    assert_eq!(
        (&c["startupProbe"]["httpGet"]["port"], &c["startupProbe"]["initialDelaySeconds"]),
        (&8080.into(), &5.into())
    );
    refused(
        &["--set", "livenessProbe.httpGet.port=70000"],
        &["livenessProbe.httpGet.port", "70000", "between 1 and 65535"],
    );
    refused(
        &["--set-string", "readinessProbe.httpGet.port=0"],
        &["readinessProbe.httpGet.port", "between 1 and 65535"],
    );
    refused(
        &["--set", "startupProbe.httpGet.port=not_a_port"],
        &["startupProbe.httpGet.port", "not_a_port", "alpha-numeric"],
    );
    refused(
        &["--set", "startupProbe.initialDelaySeconds=-1"],
        &["startupProbe.initialDelaySeconds", "greater than or equal to 0"],
    );
    Cluster::new("probeports").accepts(&["-f", file]);
}

/// `volumes: null` (and its deprecated spelling) keeps the pod's own volumes, which its mounts
/// need: the server accepts the render.
#[test]
fn null_volumes_keep_the_volumes_the_mounts_need() {
    let c = Cluster::new("nullvolumes");
    c.accepts(&["--set", "volumes=null"]);
    c.accepts(&["--set", "extraVolumes=null,volumeMounts=null"]);
}

#[test]
fn dns_policy_none_needs_a_dns_config() {
    refused(&["--set", "dnsPolicy=None"], &["dnsPolicy", "None", "dnsConfig"]);
    let ok = ["--set", "dnsPolicy=Default"];
    rendered(&ok);
    Cluster::new("dns").accepts(&ok);
}

#[test]
fn cron_schedules_are_parsed_as_kubernetes_parses_them() {
    refused(
        &["--overlay", "cronjob", "--set", "cronjob.schedule=61 * * * *"],
        &["cronjob.schedule", "61 * * * *", "end of range (61) above maximum (59): 61"],
    );
    refused(
        &["--overlay", "cronjob", "--set", "cronjob.schedule=0 0 31 13 *"],
        &["end of range (13) above maximum (12)"],
    );
    refused(
        &["--overlay", "cronjob", "--set", "cronjob.schedule=*/0 * * * *"],
        &["step of range should be a positive number"],
    );
    let ok = ["--overlay", "cronjob", "--set", "cronjob.schedule=*/15 0-5 1\\,15 JAN-jun mon"];
    rendered(&ok);
    Cluster::new("cron").accepts(&ok);
}

#[test]
fn numbers_fit_the_kubernetes_fields() {
    refused(&["--set", "replicaCount=2147483648"], &["replicaCount", "2147483648", "32-bit"]);
    refused(
        &["--set", "autoscaling.enabled=true,autoscaling.targetCPUUtilizationPercentage=0"],
        &["targetCPUUtilizationPercentage", "greater than or equal to 1"],
    );
    refused(
        &["--set", "autoscaling.enabled=true,autoscaling.behavior.scaleDown.stabilizationWindowSeconds=3601"],
        &["stabilizationWindowSeconds", "3600"],
    );
    refused(&["--overlay", "batch", "--set", "job.completions=100001"], &["job.completions", "100000", "Indexed"]);
    refused(&["--set", "persistence.enabled=true,persistence.size=0"], &["persistence.size", "greater than zero"]);
    refused(&["--overlay", "training", "--set", "job.restartPolicy=null"], &["job.restartPolicy", "Required value"]);
}

#[test]
fn pass_through_lists_are_read_as_their_kubernetes_types() {
    refused(
        &["--set", "container.env[0].name=PORT,container.env[0].value=8080"],
        &["container.env[0]", "EnvVar", "expected a string"],
    );
    refused(&["--set", "tolerations[0].key=a b,tolerations[0].operator=Exists"], &["tolerations[0].key", "a b"]);
    refused(
        &["--set", "volumes[0].name=tmp,volumes[0].emptyDir.medium=Memory"],
        &["volumes[0].name", "tmp", "already has this volume"],
    );
    refused(
        &["--set", "volumeMounts[0].name=nope,volumeMounts[0].mountPath=/x"],
        &["volumeMounts[0].name", "nope", "Not found"],
    );
    refused(
        &["--set", "initContainers[0].name=dimtensor,initContainers[0].image=busybox"],
        &["initContainers[0].name", "Duplicate"],
    );
    let ok = ["--set", "tolerations[0].key=dedicated,tolerations[0].operator=Equal,tolerations[0].value=ml,tolerations[0].effect=NoSchedule"];
    rendered(&ok);
    Cluster::new("lists").accepts(&ok);
}

#[test]
fn the_node_port_range_is_the_servers_to_decide() {
    // No server takes a port outside 1-65535: refused before anything is sent.
    refused(
        &["--set", "service.type=NodePort,service.nodePort=70000"],
        &["service.nodePort", "70000", "between 1 and 65535"],
    );
    let args = ["--set", "service.type=NodePort,service.nodePort=3080"];
    let (_, err) = rendered(&args);
    assert!(err.contains("warning:") && err.contains("`service.nodePort`") && err.contains("30000-32767"), "{err}");
    if std::env::var_os("DIMTENSOR_E2E_KUBECONFIG").is_some() {
        return; // the range is the real server's flag
    }
    // A server with the default range refuses it in the dry run, and nothing is written...
    let c = Cluster::new("nodeport-range");
    let out = c.diff(&args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("provided port is not in the valid range. The range of valid ports is 30000-32767"),
        "{stderr}"
    );
    assert_eq!(c.writes(), 0);
    // ...and one started with --service-node-port-range=3000-4000 accepts it.
    let c = Cluster::with("nodeport-wide", Config::new().node_port_range(3000, 4000));
    c.accepts(&args);
}

#[test]
fn env_names_newer_servers_accept_are_left_to_the_server() {
    let args = ["--set", "container.env[0].name=1BAD,container.env[0].value=x"];
    let (_, err) = rendered(&args);
    assert!(err.contains("warning:") && err.contains("container.env[0].name") && err.contains("1.34"), "{err}");
    refused(
        &["--set", "container.env[0].name=A=B,container.env[0].value=x"],
        &["container.env[0].name", "A=B", "other than '='"],
    );
    if std::env::var_os("DIMTENSOR_E2E_KUBECONFIG").is_some() {
        return; // a 1.34+ cluster accepts it; an older one refuses it: either way the server decides
    }
    let c = Cluster::new("envname");
    let out = c.diff(&args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "the v1.24 test server refuses it: {stderr}");
    assert!(stderr.contains("a valid environment variable name"), "{stderr}");
    assert_eq!(c.writes(), 0);
}
