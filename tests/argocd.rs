//! The Argo CD plugin (`packaging/argocd/plugin.yaml`), run as Argo CD's CMP server runs it: its
//! generate command, found on the PATH, with the environment Argo CD builds from an Application
//! (build variables, `ARGOCD_APP_PARAMETERS` and `PARAM_*`, `ARGOCD_ENV_*`) and nothing else,
//! in the Application's directory of a checked-out repository. Its output must be what
//! `kubectl dimtensor render` prints for the same inputs, and it must never contact a cluster.

mod common;

use dimtensor::gitops::argocd::{escaped, Collection, PARAMETERS};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn plugin() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/argocd/plugin.yaml");
    let text = std::fs::read_to_string(&path).expect("packaging/argocd/plugin.yaml");
    dimtensor::yaml::parse_value(&text, "plugin.yaml").expect("plugin.yaml parses")
}

/// The environment Argo CD's repo server builds for a plugin's command from an Application's
/// `spec.source.plugin` (reposerver getPluginEnvs, ApplicationSourcePluginParameters.Environ),
/// with empty values dropped as the CMP server drops them.
fn argocd_env(
    app: &str,
    namespace: &str,
    source_path: &str,
    plugin: &Value,
    with_json: bool,
) -> BTreeMap<String, String> {
    let mut env: Vec<(String, String)> = [
        ("ARGOCD_APP_NAME", app),
        ("ARGOCD_APP_NAMESPACE", namespace),
        ("ARGOCD_APP_PROJECT_NAME", "default"),
        ("ARGOCD_APP_REVISION", "f913b6cbf58aa5ae5ca1f8a2b149477aebcbd9d8"),
        ("ARGOCD_APP_REVISION_SHORT", "f913b6c"),
        ("ARGOCD_APP_SOURCE_REPO_URL", "https://git.example.com/ml/deploy.git"),
        ("ARGOCD_APP_SOURCE_PATH", source_path),
        ("ARGOCD_APP_SOURCE_TARGET_REVISION", "HEAD"),
        ("KUBE_VERSION", "1.24.17"),
        ("KUBE_API_VERSIONS", "v1,apps/v1,batch/v1,autoscaling/v2"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for e in plugin["env"].as_array().into_iter().flatten() {
        env.push((format!("ARGOCD_ENV_{}", e["name"].as_str().unwrap()), e["value"].as_str().unwrap().to_string()));
    }
    // Go marshals an Application without parameters as `null`.
    if with_json {
        env.push(("ARGOCD_APP_PARAMETERS".into(), plugin["parameters"].to_string()));
    }
    let params = plugin["parameters"].as_array().cloned().unwrap_or_default();
    for p in &params {
        let base = format!("PARAM_{}", escaped(p["name"].as_str().unwrap()));
        if let Some(s) = p["string"].as_str() {
            env.push((base.clone(), s.to_string()));
        }
        for (k, v) in p["map"].as_object().into_iter().flatten() {
            env.push((format!("{base}_{}", escaped(k)), v.as_str().unwrap().to_string()));
        }
        for (i, v) in p["array"].as_array().into_iter().flatten().enumerate() {
            env.push((format!("{base}_{i}"), v.as_str().unwrap().to_string()));
        }
    }
    env.into_iter().filter(|(_, v)| !v.is_empty()).collect()
}

/// A checked-out repository: the Application at apps/ml with its values, a shared file above.
fn repository() -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    let app = repo.path().join("apps/ml");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::create_dir_all(repo.path().join("shared")).unwrap();
    std::fs::write(
        app.join("values-prod.yaml"),
        "resources:\n  gpu:\n    count: 2\npodAnnotations:\n  team: physics\n",
    )
    .unwrap();
    std::fs::write(repo.path().join("shared/common.yaml"), "image:\n  tag: 4.3.0\n").unwrap();
    repo
}

/// A kubeconfig whose server is a listener that must never be called.
struct Tripwire {
    listener: TcpListener,
    kubeconfig: PathBuf,
}

impl Tripwire {
    fn new(dir: &Path) -> Tripwire {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let server = format!("http://{}", listener.local_addr().unwrap());
        let kubeconfig = dir.join("kubeconfig");
        let cfg = json!({"apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{"name": "c", "cluster": {"server": server}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": "elsewhere"}}],
            "users": [{"name": "u", "user": {"token": "t"}}]});
        std::fs::write(&kubeconfig, cfg.to_string()).unwrap();
        Tripwire { listener, kubeconfig }
    }

    fn untouched(&self) -> bool {
        self.listener.accept().is_err()
    }
}

/// Runs plugin.yaml's generate command as the CMP server does: the command by name from the PATH,
/// only the given environment, in `cwd`.
fn generate(env: &BTreeMap<String, String>, cwd: &Path, home: &Path, kubeconfig: &Path) -> common::Outcome {
    let spec = plugin();
    let gen = &spec["spec"]["generate"];
    let mut argv: Vec<String> = gen["command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().into()).collect();
    argv.extend(gen["args"].as_array().into_iter().flatten().map(|v| v.as_str().unwrap().to_string()));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_kubectl-dimtensor")).parent().unwrap();
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .env_clear()
        .env("PATH", bin_dir)
        .env("HOME", home)
        .env("KUBECONFIG", kubeconfig)
        .envs(env)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{} is not on the PATH Argo CD would search: {e}", argv[0]));
    common::finish(child, "the plugin's generate command")
}

fn render(args: &[&str], cwd: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor")).arg("render").args(args).current_dir(cwd).output();
    common::assert_ok(&out.unwrap())
}

#[test]
fn the_announcement_lists_what_the_plugin_reads() {
    let spec = plugin();
    assert_eq!(spec["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(spec["kind"], "ConfigManagementPlugin");
    let announced = spec["spec"]["parameters"]["static"].as_array().expect("parameters.static");
    let got: Vec<(String, String)> = announced
        .iter()
        .map(|p| {
            (p["name"].as_str().unwrap().to_string(), p["collectionType"].as_str().unwrap_or("string").to_string())
        })
        .collect();
    let want: Vec<(String, String)> = PARAMETERS
        .iter()
        .map(|p| {
            let c = match p.collection {
                Collection::String => "string",
                Collection::Array => "array",
                Collection::Map => "map",
            };
            (p.name.to_string(), c.to_string())
        })
        .collect();
    assert_eq!(got, want);
    for p in announced {
        assert!(p["title"].is_string() && p["tooltip"].is_string(), "{p}");
    }
    let argv = &spec["spec"]["generate"]["command"];
    assert_eq!(argv[0], "kubectl-dimtensor", "no shell between Argo CD and the plugin: {argv}");
}

#[test]
fn generate_renders_what_render_renders_from_every_source_of_inputs() {
    let repo = repository();
    let app = repo.path().join("apps/ml");
    let home = tempfile::tempdir().unwrap();
    let wire = Tripwire::new(home.path());
    let want = render(
        &[
            "prod",
            "--overlay",
            "training",
            "-n",
            "ml",
            "-f",
            "values-prod.yaml",
            "-f",
            "../../shared/common.yaml",
            "--set",
            "job.backoffLimit=5",
            "--set",
            "podAnnotations.note=a\\,b",
            "--set-string",
            "podAnnotations.build=007",
        ],
        &app,
    );
    assert!(want.contains("name: prod-dimtensor") && want.contains("namespace: ml"), "{want}");
    assert!(want.contains(":4.3.0") && want.contains("note: a,b"), "{want}");
    let parameters = json!([
        {"name": "overlay", "string": "training"},
        {"name": "values-files", "array": ["values-prod.yaml", "/shared/common.yaml"]},
        {"name": "set", "map": {"job.backoffLimit": "5", "podAnnotations.note": "a,b"}},
        {"name": "set-string", "map": {"podAnnotations.build": "007"}},
    ]);
    let cases = [
        ("the parameters", json!({"parameters": parameters})),
        (
            "the Application env",
            json!({"env": [
                {"name": "OVERLAY", "value": "training"},
                {"name": "VALUES_FILES", "value": "values-prod.yaml,../../shared/common.yaml"},
                {"name": "SET", "value": "job.backoffLimit=5,podAnnotations.note=a\\,b"},
                {"name": "SET_STRING", "value": "podAnnotations.build=007"},
            ]}),
        ),
    ];
    for (what, plugin) in cases {
        let env = argocd_env("prod", "ml", "apps/ml", &plugin, true);
        let out = generate(&env, &app, home.path(), &wire.kubeconfig);
        assert_eq!(out.code, Some(0), "{what}: {}", out.stderr);
        assert_eq!(out.stdout, want, "{what}");
        let docs = dimtensor::yaml::parse_documents(&out.stdout, "stdout").unwrap();
        assert!(docs.iter().all(|d| d["kind"].is_string() && d["metadata"]["name"].is_string()), "{what}");
    }
    assert!(wire.untouched(), "the plugin contacted the cluster in KUBECONFIG");
}

#[test]
fn param_variables_alone_reach_chart_keys() {
    let repo = repository();
    let app = repo.path().join("apps/ml");
    let home = tempfile::tempdir().unwrap();
    let wire = Tripwire::new(home.path());
    let plugin = json!({"parameters": [
        {"name": "overlay", "string": "inference"},
        {"name": "set", "map": {"image.tag": "4.3.0", "resources.limits.memory": "8Gi"}},
    ]});
    let env = argocd_env("argocd_prod", "ml", "apps/ml", &plugin, false);
    assert!(!env.contains_key("ARGOCD_APP_PARAMETERS") && env.contains_key("PARAM_SET_RESOURCES_LIMITS_MEMORY"));
    let out = generate(&env, &app, home.path(), &wire.kubeconfig);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let want = render(
        &[
            "prod",
            "--overlay",
            "inference",
            "-n",
            "ml",
            "--set",
            "image.tag=4.3.0",
            "--set",
            "resources.limits.memory=8Gi",
        ],
        &app,
    );
    assert_eq!(out.stdout, want);
    assert!(wire.untouched());
}

#[test]
fn bad_inputs_fail_with_a_named_error_and_no_output() {
    let repo = repository();
    let app = repo.path().join("apps/ml");
    let home = tempfile::tempdir().unwrap();
    let wire = Tripwire::new(home.path());
    let cases = [
        (
            json!({"parameters": [{"name": "overlays", "string": "training"}]}),
            "unknown plugin parameter `overlays` (did you mean `overlay`?)",
        ),
        (json!({"parameters": [{"name": "overlay", "string": "trainig"}]}), "unknown overlay `trainig`"),
        (
            json!({"parameters": [{"name": "set", "map": {"image.tga": "1"}}]}),
            "unknown values key `image.tga` (did you mean image.tag?)",
        ),
        (
            json!({"parameters": [{"name": "values-files", "array": ["../../../../etc/passwd"]}]}),
            "values file `../../../../etc/passwd` is outside the repository",
        ),
        (
            json!({"parameters": [{"name": "values-files", "array": ["missing.yaml"]}]}),
            "cannot read values file missing.yaml",
        ),
        (
            json!({"env": [{"name": "OVERLAY", "value": "batch"}], "parameters": [{"name": "overlay", "string": "training"}]}),
            "`overlay` is given twice",
        ),
        (
            json!({"parameters": [{"name": "set", "map": {"secret.stringData.password": "hunter2", "secret.enabled": "maybe"}}]}),
            "secret.enabled",
        ),
    ];
    for (plugin, message) in cases {
        let env = argocd_env("prod", "ml", "apps/ml", &plugin, true);
        let out = generate(&env, &app, home.path(), &wire.kubeconfig);
        assert_eq!(out.code, Some(2), "{plugin}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{plugin}: {}", out.stdout);
        assert!(out.stderr.starts_with("error: ") && out.stderr.contains(message), "{plugin}: {}", out.stderr);
        assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    }
    let out = generate(&BTreeMap::new(), &app, home.path(), &wire.kubeconfig);
    assert!(out.code == Some(2) && out.stderr.contains("ARGOCD_APP_NAME is not set"), "{}", out.stderr);
    assert!(wire.untouched());
}
