//! Property: every render is one the API server accepts.
//!
//! Seeded random combinations over every parameter of the values table (`values/schema.rs`),
//! with plausible and edge values generated from each parameter's type (`values_property/gen.rs`),
//! on a random built-in overlay and release name. For each case, either the tool refuses and
//! its message names one of the keys the case set, or every rendered object passes a
//! server-side dry-run apply. A rule the cluster decides (node port range, environment variable
//! names before 1.34, ReadWriteOncePod) is a warning naming the key; then the server may refuse
//! that field.
//!
//! The server is the project's test API server (modelled on kube-apiserver v1.24), or, with
//! `DIMTENSOR_E2E_KUBECONFIG`, a real cluster (a throwaway namespace is created and deleted).
//! `DIMTENSOR_PROPERTY_SEED` (default fixed, so CI is reproducible; `random` for a new one),
//! `DIMTENSOR_PROPERTY_CASES` (default 400) and `DIMTENSOR_PROPERTY_CASE` (replay one case).

#[path = "values_property/gen.rs"]
mod gen;

use dimtensor::render::{self, Request};
use dimtensor::values::{self, schema, tree, Input};
use dimtensor_test_apiserver::{Config, TestServer};
use gen::Rng;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Map, Value};
use std::path::Path;
use std::time::Instant;

const DEFAULT_SEED: u64 = 0x5EED_0016;
const DEFAULT_CASES: u64 = 400;

/// One generated case: where it renders and the values it sets.
struct Case {
    index: u64,
    overlay: Option<&'static str>,
    release: String,
    keys: Vec<&'static str>,
    doc: Value,
}

impl Case {
    fn generate(index: u64, seed: u64) -> Case {
        let mut rng = Rng::new(seed ^ index.wrapping_mul(0xA24B_AED4_963E_E407));
        let overlay = rng.pick(&[None, None, Some("inference"), Some("training"), Some("batch"), Some("cronjob")]);
        let release =
            rng.pick(&["dimtensor".to_string(), "prod".to_string(), "dimtensor-training".to_string(), "r".repeat(53)]);
        let mut doc = Value::Object(Map::new());
        let mut keys = Vec::new();
        while keys.is_empty() {
            for p in schema::params() {
                let p_pick = match p.ty {
                    schema::Type::Bool | schema::Type::Enum(_) => 0.08,
                    _ => 0.05,
                };
                if rng.chance(p_pick) {
                    tree::set(&mut doc, &tree::split(p.path), gen::value(p, &mut rng));
                    keys.push(p.path);
                }
            }
        }
        Case { index, overlay, release, keys, doc }
    }

    fn describe(&self, seed: u64) -> String {
        format!(
            "case {} (replay: DIMTENSOR_PROPERTY_SEED={seed} DIMTENSOR_PROPERTY_CASE={}): render {} {}\n{}",
            self.index,
            self.index,
            self.release,
            self.overlay.map(|o| format!("--overlay {o}")).unwrap_or_default(),
            dimtensor::yaml::to_yaml(&self.doc)
        )
    }

    /// Whether `message` names one of the case's keys.
    fn names_a_key(&self, message: &str) -> bool {
        self.keys.iter().any(|k| message.contains(k))
    }
}

/// The field a cluster-dependent warning is about, as the server's refusal would name it.
fn warned_field(key: &str) -> String {
    let parts: Vec<String> = key.split('.').map(|p| p.split('[').next().unwrap_or(p).to_string()).collect();
    match parts.as_slice() {
        [.., parent, last] if last == "name" => parent.clone(),
        [.., last] => last.clone(),
        [] => String::new(),
    }
}

/// A server for the cases: the test API server, or a real cluster.
struct Target {
    _dir: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
    namespace: String,
    _server: Option<TestServer>,
}

impl Target {
    fn new() -> Target {
        let dir = tempfile::tempdir().expect("temp dir");
        let namespace = format!("dt-values-property-{}", std::process::id());
        if let Some(real) = std::env::var_os("DIMTENSOR_E2E_KUBECONFIG") {
            let kubectl = std::env::var("DIMTENSOR_KUBECTL").unwrap_or_else(|_| "kubectl".into());
            let out = std::process::Command::new(kubectl)
                .args(["create", "namespace", &namespace, "--kubeconfig"])
                .arg(&real)
                .output()
                .expect("kubectl runs");
            assert!(out.status.success(), "cannot create the test namespace: {}", String::from_utf8_lossy(&out.stderr));
            return Target { kubeconfig: real.into(), namespace, _server: None, _dir: dir };
        }
        let server = TestServer::start_blocking(Config::new().namespace(&namespace)).expect("test API server starts");
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig, &namespace, "admin-token").expect("kubeconfig written");
        Target { kubeconfig, namespace, _server: Some(server), _dir: dir }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if self._server.is_none() {
            let kubectl = std::env::var("DIMTENSOR_KUBECTL").unwrap_or_else(|_| "kubectl".into());
            let _ = std::process::Command::new(kubectl)
                .args(["delete", "namespace", &self.namespace, "--wait=false", "--kubeconfig"])
                .arg(&self.kubeconfig)
                .output();
        }
    }
}

async fn client(kubeconfig: &Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default()).await.expect("config");
    kube::Client::try_from(config).expect("client")
}

/// Server-side dry-run apply of one object: `Err` is the server's message.
async fn dry_run(client: &kube::Client, namespace: &str, body: &Value) -> Result<(), String> {
    let api_version = body["apiVersion"].as_str().unwrap_or("");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, body["kind"].as_str().unwrap_or(""));
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk(&gvk));
    let name = body["metadata"]["name"].as_str().unwrap_or("");
    let params = PatchParams::apply("kubectl-dimtensor").dry_run().force();
    match api.patch(name, &params, &Patch::Apply(body)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) => {
            Err(format!("{} {name}: {} ({})", body["kind"].as_str().unwrap_or(""), e.message, e.code))
        }
        Err(e) => Err(format!("{} {name}: {e}", body["kind"].as_str().unwrap_or(""))),
    }
}

/// What one case came to.
enum Outcome {
    Refused,
    Accepted,
    /// The server refused, for a field the tool warned was the cluster's to decide.
    LeftToServer,
    Violation(String),
}

async fn run_case(case: &Case, dir: &Path, client: &kube::Client, namespace: &str) -> Outcome {
    let file = dir.join(format!("values-{}.yaml", case.index));
    std::fs::write(&file, dimtensor::yaml::to_yaml(&case.doc)).expect("values file written");
    let input = Input { files: vec![file.display().to_string()], ..Default::default() };
    let rendered = values::load(&input, &mut std::io::empty()).map_err(render::RenderError::from).and_then(|user| {
        render::render(&Request {
            overlay: case.overlay.map(str::to_string),
            release: Some(case.release.clone()),
            namespace: None,
            values: user,
            ..Default::default()
        })
    });
    let rendered = match rendered {
        Err(e) => {
            let message = e.to_string();
            return match case.names_a_key(&message) {
                true => Outcome::Refused,
                false => Outcome::Violation(format!("refused without naming a key it set: {message}")),
            };
        }
        Ok(r) => r,
    };
    let bodies: Vec<Value> = rendered.resources.iter().map(|r| r.body().clone()).collect();
    let results = futures::future::join_all(bodies.iter().map(|b| dry_run(client, namespace, b))).await;
    let refusals: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    if refusals.is_empty() {
        return Outcome::Accepted;
    }
    let warned: Vec<String> = rendered.warnings.iter().map(|w| warned_field(&w.key)).collect();
    let unexplained: Vec<&String> =
        refusals.iter().filter(|m| !warned.iter().any(|f| !f.is_empty() && m.contains(f.as_str()))).collect();
    match unexplained.is_empty() {
        true => Outcome::LeftToServer,
        false => Outcome::Violation(format!(
            "the tool rendered it{}, and the API server refused:\n  {}",
            if rendered.warnings.is_empty() {
                String::new()
            } else {
                format!(" (warnings: {:?})", rendered.warnings.iter().map(|w| &w.key).collect::<Vec<_>>())
            },
            unexplained.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  ")
        )),
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn every_render_is_accepted_by_the_api_server_or_refused_naming_a_key() {
    let seed = match std::env::var("DIMTENSOR_PROPERTY_SEED").as_deref() {
        Ok("random") => {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
        }
        _ => env_u64("DIMTENSOR_PROPERTY_SEED").unwrap_or(DEFAULT_SEED),
    };
    let cases: Vec<u64> = match env_u64("DIMTENSOR_PROPERTY_CASE") {
        Some(one) => vec![one],
        None => (0..env_u64("DIMTENSOR_PROPERTY_CASES").unwrap_or(DEFAULT_CASES)).collect(),
    };
    let target = Target::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let client = runtime.block_on(client(&target.kubeconfig));
    let started = Instant::now();
    let (mut refused, mut accepted, mut left) = (0, 0, 0);
    let mut violations = Vec::new();
    for &i in &cases {
        let case = Case::generate(i, seed);
        match runtime.block_on(run_case(&case, dir.path(), &client, &target.namespace)) {
            Outcome::Refused => refused += 1,
            Outcome::Accepted => accepted += 1,
            Outcome::LeftToServer => left += 1,
            Outcome::Violation(why) => violations.push(format!("{}{why}", case.describe(seed))),
        }
    }
    eprintln!(
        "values property: seed {seed}, {} cases in {:.1?}: {accepted} accepted by the server, {refused} refused by the tool naming a key, {left} left to the server with a warning, {} violations",
        cases.len(),
        started.elapsed(),
        violations.len()
    );
    assert!(
        violations.is_empty(),
        "{} of {} cases break the property; the first ones:\n\n{}",
        violations.len(),
        cases.len(),
        violations.iter().take(6).cloned().collect::<Vec<_>>().join("\n\n")
    );
    if cases.len() > 1 {
        assert!(
            accepted > cases.len() / 10 && refused > cases.len() / 10,
            "the generator should give both kinds: {accepted} accepted, {refused} refused"
        );
    }
}
