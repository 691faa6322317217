//! Values generated from the parameter table's types: plausible values and edge values for
//! each type, and for lists and objects samples of the Kubernetes type the rules table says
//! they become (`rules::shape_of`). A parameter added to the table is generated from its type
//! with no change here.

use dimtensor::values::rules::{shape_of, Shape};
use dimtensor::values::schema::{Param, Type};
use serde_json::{json, Value};

/// splitmix64: small, seedable, and the same on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize].clone()
    }
}

/// How often a value is an edge value rather than a plausible one.
const EDGE: f64 = 0.2;

const STRINGS: &[&str] = &["", "prod", "my-app", "ml-team", "a.b", "/data2", "4.3.0", "registry.local:5000"];
const EDGE_STRINGS: &[&str] = &["My-App", "a b", "1abc", "-x", "x-", "Bad_Name", "é", "a/b", " padded"];

fn strings(rng: &mut Rng) -> Value {
    if !rng.chance(EDGE) {
        return json!(rng.pick(STRINGS));
    }
    match rng.chance(0.3) {
        true => json!("x".repeat(rng.pick(&[53, 63, 64, 70]))),
        false => json!(rng.pick(EDGE_STRINGS)),
    }
}

/// A plausible value, or an edge one with probability [`EDGE`].
fn either(rng: &mut Rng, plausible: &[Value], edge: &[Value]) -> Value {
    match rng.chance(EDGE) {
        true => rng.pick(edge),
        false => rng.pick(plausible),
    }
}

/// Extra plausible values for a few keys whose generic strings are almost never valid.
fn hint(key: &str) -> Option<Vec<Value>> {
    let v = match key {
        "cronjob.schedule" => json!([
            "*/5 * * * *",
            "0 3 * * 1-5",
            "@hourly",
            "@every 1h30m",
            "0 0 1,15 * MON",
            "61 * * * *",
            "0 0 * *",
            "*/0 * * * *",
            "CRON_TZ=UTC 0 0 * * *"
        ]),
        "service.loadBalancerIP" => json!(["10.0.0.5", "::1", "not-an-ip"]),
        "persistence.mountPath" => json!(["/data", "/mnt/cache", "/tmp", "/config", ""]),
        "persistence.existingClaim" => json!(["", "shared-data", "Shared Data"]),
        "ingress.className" => json!(["nginx", "traefik", "", "Bad Class"]),
        "priorityClassName" => json!(["high-priority", "system-cluster-critical"]),
        "serviceAccount.name" => json!(["runner", "", "Runner"]),
        _ => return None,
    };
    v.as_array().cloned()
}

fn quantity(rng: &mut Rng) -> Value {
    let plausible = [
        json!("100m"),
        json!("500m"),
        json!("1"),
        json!("2"),
        json!("3"),
        json!("1.5"),
        json!("2Gi"),
        json!("512Mi"),
        json!("8Gi"),
        json!("16Gi"),
        json!("1e3"),
        json!("0.5Gi"),
        json!(4),
    ];
    either(rng, &plausible, &[json!("0"), json!("-1"), json!("-500m"), json!(0), json!("1m"), json!("100Ti")])
}

fn int(rng: &mut Rng) -> Value {
    let plausible =
        [json!(1), json!(2), json!(3), json!(5), json!(10), json!(30), json!(60), json!(100), json!(600), json!(8080)];
    let edge = [
        json!(0),
        json!(3600),
        json!(3601),
        json!(30080),
        json!(65535),
        json!(65536),
        json!(100_001),
        json!(-1),
        json!(2_147_483_647_i64),
        json!(2_147_483_648_i64),
    ];
    either(rng, &plausible, &edge)
}

fn int_or_str(rng: &mut Rng) -> Value {
    let plausible = [
        json!(1),
        json!(2),
        json!(80),
        json!(8080),
        json!(30080),
        json!(31000),
        json!("http"),
        json!("9000"),
        json!("30080"),
        json!("25%"),
        json!("100%"),
        json!("2"),
    ];
    let edge = [
        json!(0),
        json!(70000),
        json!(-1),
        json!("0%"),
        json!("150%"),
        json!(""),
        json!("abc_def"),
        json!("metrics-port-name-long"),
        json!(3000),
    ];
    either(rng, &plausible, &edge)
}

fn str_map(rng: &mut Rng) -> Value {
    let plausible = [
        json!({}),
        json!({"team": "ml"}),
        json!({"example.com/owner": "data-team", "tier": "gpu"}),
        json!({"prometheus.io/scrape": "true", "port": 8080}),
        json!({"key_1.x-y": "true", "Upper/Key": "v"}),
    ];
    let edge = [
        json!({"a b": "x"}),
        json!({"long": "v".repeat(64)}),
        json!({"ok": "bad value!"}),
        json!({"example.com/": "x"}),
        json!({"Bad.Prefix/x": "y"}),
    ];
    either(rng, &plausible, &edge)
}

/// A value for `p`: from its type (and its Kubernetes shape for lists and objects).
pub fn value(p: &Param, rng: &mut Rng) -> Value {
    if rng.chance(0.04) {
        return Value::Null;
    }
    if let Some(h) = hint(p.path).filter(|_| rng.chance(0.6)) {
        return rng.pick(&h);
    }
    match p.ty {
        Type::Str => strings(rng),
        Type::Int => int(rng),
        Type::Bool => json!(rng.chance(0.5)),
        Type::Quantity => quantity(rng),
        Type::IntOrStr => int_or_str(rng),
        Type::Enum(opts) => json!(rng.pick(opts)),
        Type::StrMap => str_map(rng),
        Type::Object | Type::List => match shape_of(p.path) {
            Some(shape) => {
                let (plausible, edge) = samples(shape);
                either(rng, &plausible, &edge)
            }
            // A kind the rules do not know yet: its default and empty (the rules' table
            // test fails for such a key anyway).
            None => rng.pick(&[p.default.clone(), if p.ty == Type::List { json!([]) } else { json!({}) }]),
        },
    }
}

/// Plausible and edge values of each Kubernetes shape: the first `n` of each list are plausible.
pub fn samples(shape: Shape) -> (Vec<Value>, Vec<Value>) {
    let (n, v) = match shape {
        Shape::Strings => (3, json!([[], ["python", "-m", "dimtensor.serve"], ["--port", "8080"], ["a", 1]])),
        Shape::Env => (
            4,
            json!([
                [],
                [{"name": "LOG_LEVEL", "value": "debug"}, {"name": "WORKERS", "value": "4"}],
                [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}],
                [{"name": "1BAD", "value": "x"}],
                [{"name": "A B", "value": "x"}],
                [{"name": "", "value": "x"}],
                [{"name": "A=B", "value": "x"}],
                [{"name": "PORT", "value": 8080}],
                [{"name": "X", "value": "v", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                [{"name": "Y", "valueFrom": {}}],
            ]),
        ),
        Shape::EnvFrom => (
            3,
            json!([
                [],
                [{"configMapRef": {"name": "settings"}}],
                [{"secretRef": {"name": "creds"}, "prefix": "APP_"}],
                [{"prefix": "X_"}],
                [{"configMapRef": {"name": "Bad Name"}}],
                [{"configMapRef": {"name": "a"}, "secretRef": {"name": "b"}}],
                [{"secretRef": {"name": "creds"}, "prefix": "1_"}],
            ]),
        ),
        Shape::PullSecrets => (3, json!([[], ["regcred"], [{"name": "regcred"}], [{"name": "r", "extra": 1}]])),
        Shape::Tolerations => (
            4,
            json!([
                [],
                [{"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}],
                [{"operator": "Exists"}],
                [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
                [{"key": "k", "operator": "Exists", "value": "v"}],
                [{"key": "a b", "operator": "Exists"}],
                [{"key": "k", "effect": "NoSchedule", "tolerationSeconds": 30}],
                [{"key": "k", "operator": "Sometimes"}],
                [{"key": "k", "value": "bad value!"}],
                [{"value": "x"}],
                [{"key": "k", "operator": "Exists", "effect": "Never"}],
            ]),
        ),
        Shape::Affinity => (
            3,
            json!([
                {},
                {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}]}}},
                {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "dimtensor"}}}}]}},
                {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}},
                {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 0, "preference": {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}}]}},
                {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": ""}]}},
                {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In"}]}]}}},
                {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "Near", "values": ["a"]}]}]}}},
                {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["x"]}]}}]}},
            ]),
        ),
        Shape::PodSecurityContext => (
            2,
            json!([
                {},
                {"runAsNonRoot": true, "runAsUser": 1000, "fsGroup": 2000},
                {"runAsUser": -1},
                {"runAsUser": "root"},
                {"supplementalGroups": [1000, 3000000000_i64]},
            ]),
        ),
        Shape::SecurityContext => (
            2,
            json!([
                {},
                {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
                {"allowPrivilegeEscalation": false, "privileged": true},
                {"runAsUser": 3000000000_i64},
                {"allowPrivilegeEscalation": false, "capabilities": {"add": ["CAP_SYS_ADMIN"]}},
                {"runAsGroup": -5},
            ]),
        ),
        Shape::Containers { .. } => (
            3,
            json!([
                [],
                [{"name": "log-shipper", "image": "busybox:1.36", "args": ["tail", "-f", "/dev/null"]}],
                [{"name": "helper", "image": "busybox:1.36", "ports": [{"name": "metrics", "containerPort": 9090}], "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}}}],
                [{"name": "Bad_Name", "image": "busybox"}],
                [{"name": "noimage"}],
                [{"name": "dimtensor", "image": "busybox"}],
                [{"name": "p", "image": "busybox", "ports": [{"containerPort": 70000}]}],
                [{"name": "w", "image": "busybox", "livenessProbe": {"exec": {"command": ["true"]}, "successThreshold": 2}}],
                [{"name": "r", "image": "busybox", "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}],
                [{"name": "m", "image": "busybox", "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}],
                [{"name": "a", "image": "busybox"}, {"name": "a", "image": "busybox"}],
                [{"name": "e", "image": "busybox", "env": [{"name": "1X", "value": "y"}]}],
                [{"name": "t", "image": " busybox"}],
            ]),
        ),
        Shape::Volumes => (
            3,
            json!([
                [],
                [{"name": "cache", "emptyDir": {}}],
                [{"name": "extra-config", "configMap": {"name": "extra"}}],
                [{"name": "tmp", "emptyDir": {}}],
                [{"name": "v"}],
                [{"name": "Bad", "emptyDir": {}}],
                [{"name": "two", "emptyDir": {}, "configMap": {"name": "x"}}],
                [{"name": "c", "configMap": {}}],
                [{"name": "d", "emptyDir": {}}, {"name": "d", "emptyDir": {}}],
            ]),
        ),
        Shape::VolumeMounts => (
            3,
            json!([
                [],
                [{"name": "tmp", "mountPath": "/scratch"}],
                [{"name": "cache", "mountPath": "/cache"}],
                [{"name": "tmp", "mountPath": ""}],
                [{"name": "nope", "mountPath": "/x"}],
                [{"name": "tmp", "mountPath": "/a"}, {"name": "tmp", "mountPath": "/a"}],
                [{"name": "tmp", "mountPath": "/sub", "subPath": "../up"}],
            ]),
        ),
        Shape::Cidrs => {
            (3, json!([[], ["10.0.0.0/8"], ["10.0.0.0/8", "192.168.0.0/16"], ["not-a-cidr"], [" 10.1.0.0/16 "]]))
        }
        Shape::IngressHosts => (
            3,
            json!([
                [],
                [{"host": "dimtensor.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}],
                [{"host": "*.example.com", "paths": [{"path": "/api", "pathType": "Exact"}, {"path": "/v1", "pathType": "ImplementationSpecific"}]}],
                [{"host": "10.0.0.1", "paths": [{"path": "/", "pathType": "Prefix"}]}],
                [{"host": "Bad_Host", "paths": [{"path": "/", "pathType": "Prefix"}]}],
                [{"host": "a.example.com", "paths": [{"path": "api", "pathType": "Prefix"}]}],
                [{"host": "a.example.com", "paths": []}],
                [{"host": "a.example.com", "paths": [{"path": "/", "pathType": "Fuzzy"}]}],
                [{"host": "a.example.com", "paths": [{"path": "/a//b", "pathType": "Prefix"}]}],
                [{"host": "a.example.com"}],
            ]),
        ),
        Shape::IngressTls => (
            2,
            json!([
                [],
                [{"hosts": ["dimtensor.example.com"], "secretName": "dimtensor-tls"}],
                [{"hosts": ["Bad Host"], "secretName": "x"}],
                [{"hosts": ["a.example.com"], "secretName": "Bad_Secret"}],
                [{"hosts": ["*.example.com"]}],
            ]),
        ),
        Shape::ScalingPolicies => (
            3,
            json!([
                [],
                [{"type": "Percent", "value": 50, "periodSeconds": 60}],
                [{"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}],
                [{"type": "Pods", "value": 0, "periodSeconds": 60}],
                [{"type": "Percent", "value": 10, "periodSeconds": 4000}],
                [{"type": "Cores", "value": 1, "periodSeconds": 60}],
            ]),
        ),
    };
    let all = v.as_array().cloned().unwrap_or_default();
    let (plausible, edge) = all.split_at(n);
    (plausible.to_vec(), edge.to_vec())
}
