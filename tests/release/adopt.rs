//! Taking over a Helm release: objects created the way Helm creates them (a POST with field
//! manager `helm`, `app.kubernetes.io/managed-by: Helm`, `meta.helm.sh/release-*` annotations),
//! through the reference kubectl. Objects of another release or of none are never taken silently.

use crate::support::{assert_fails, assert_ok, pairs, text, Env};
use serde_json::{json, Value};

/// Creates `objects` as Helm would for release `name`, with the Deployment at an older image.
fn helm_install(env: &Env, name: &str, objects: Vec<Value>) {
    let items: Vec<Value> = objects
        .into_iter()
        .map(|mut o| {
            o["metadata"]["labels"]["app.kubernetes.io/managed-by"] = json!("Helm");
            o["metadata"]["annotations"] =
                json!({"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": env.namespace});
            if o["kind"] == "Deployment" {
                o["spec"]["template"]["spec"]["containers"][0]["image"] = json!("docker.io/dimtensor:4.1.0-cpu-full");
            }
            o
        })
        .collect();
    create(env, &json!({"apiVersion": "v1", "kind": "List", "items": items}), "helm");
}

fn create(env: &Env, doc: &Value, manager: &str) {
    let out = env.kubectl_with(
        &["create", "-f", "-", "-n", &env.namespace, "--validate=false", &format!("--field-manager={manager}")],
        Some(&doc.to_string()),
    );
    assert!(out.status.success(), "kubectl create: {}", text(&out.stderr));
}

/// Helm's release record as Helm writes it: `data.release` is base64 of gzipped JSON whose
/// `manifest` is the rendered YAML (the Secret's own base64 on top).
fn helm_record(env: &Env, name: &str, version: u32, manifest: &[Value]) {
    let yaml: String = manifest.iter().map(|o| format!("---\n# Source: dimtensor/templates/x.yaml\n{o}\n")).collect();
    let release = json!({"name": name, "namespace": env.namespace, "version": version,
        "info": {"status": "deployed"}, "manifest": yaml});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, release.to_string().as_bytes()).unwrap();
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    let inner = b64(&gz.finish().unwrap());
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": format!("sh.helm.release.v1.{name}.v{version}"),
                     "labels": {"name": name, "owner": "helm", "status": "deployed", "version": version.to_string()}},
        "data": {"release": b64(inner.as_bytes())}});
    create(env, &secret, "helm");
}

fn managers(obj: &Value) -> Vec<String> {
    let entries = obj["metadata"]["managedFields"].as_array().cloned().unwrap_or_default();
    entries.iter().map(|m| m["manager"].as_str().unwrap_or("").to_string()).collect()
}

fn rendered(env: &Env, name: &str, overlay: &str) -> Vec<Value> {
    let out = assert_ok(&env.run(&["render", name, "--overlay", overlay, "-o", "json"]));
    let list: Value = serde_json::from_str(&out).unwrap();
    list["items"].as_array().cloned().unwrap_or_default()
}

fn writes(env: &Env) -> usize {
    env.server.as_ref().map_or(0, |s| s.requests().iter().filter(|r| r.method != "GET" && !r.dry_run).count())
}

#[test]
fn adopt_takes_over_a_helm_release_and_leaves_its_history() {
    let env = Env::new("adopt");
    let objects = rendered(&env, "prod", "inference");
    helm_install(&env, "prod", objects.clone());
    helm_record(&env, "prod", 1, &objects);
    let before = writes(&env);

    let err = assert_fails(&env.run(&["install", "prod", "--overlay", "inference", "--yes"]));
    let deploy_id = format!("Deployment/{}/prod-dimtensor", env.namespace);
    assert!(err.contains(&deploy_id) && err.contains("part of Helm release prod") && err.contains("--adopt"), "{err}");
    assert_eq!(writes(&env), before, "refused before writing anything");

    let plan = env.run(&["install", "prod", "--overlay", "inference", "--adopt", "--dry-run"]);
    let plan = text(&plan.stdout);
    assert!(plan.contains(&format!("{deploy_id} (adopt)")) && plan.contains("Adopt: 4 existing object(s)"), "{plan}");
    assert!(
        plan.lines()
            .any(|l| l.starts_with('-')
                && l.trim_start_matches(['-', ' ']) == "image: docker.io/dimtensor:4.1.0-cpu-full"),
        "{plan}"
    );

    let out = assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--adopt", "--yes"]));
    assert!(out.contains("release prod installed (revision 1)"), "{out}");
    let d = env.get("apps/v1", "Deployment", "prod-dimtensor").unwrap();
    assert_eq!(d["metadata"]["labels"]["dimtensor.io/release"], "prod");
    assert_eq!(d["metadata"]["labels"]["app.kubernetes.io/managed-by"], "kubectl-dimtensor");
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], "docker.io/dimtensor:4.2.0-cpu-full");
    let m = managers(&d);
    assert!(m.contains(&"kubectl-dimtensor/prod".to_string()), "{m:?}");
    assert!(!m.contains(&"helm".to_string()), "every field of helm's moved to the release: {m:?}");
    assert!(d["metadata"]["annotations"].get("meta.helm.sh/release-name").is_none(), "Helm's annotations go: {d}");
    assert!(env.get("v1", "Secret", "sh.helm.release.v1.prod.v1").is_some(), "Helm's history is left alone");
    assert_eq!(env.statuses("prod"), pairs(&[(1, "deployed")]));
    assert_eq!(
        crate::common::diff_both_ways(|a| env.run(a), &["diff", "prod"]).status.code(),
        Some(0),
        "nothing left to change"
    );
    if env.server.is_some() {
        assert!(m.contains(&"kube-controller-manager".to_string()), "controllers' entries are never taken: {m:?}");
    }

    // Defect 3: a field helm had set to the same value stayed co-owned by helm, so dropping it
    // from the render left it live.
    assert_ok(&env.run(&["upgrade", "prod", "--set", "livenessProbe.enabled=false", "--yes"]));
    let d = env.get("apps/v1", "Deployment", "prod-dimtensor").unwrap();
    assert!(d["spec"]["template"]["spec"]["containers"][0].get("livenessProbe").is_none(), "{d}");
}

/// Defect 3: objects of the Helm release that the new render lacks are listed, with what
/// happens to them.
#[test]
fn adopt_lists_the_helm_releases_objects_the_render_lacks() {
    let env = Env::new("orphans");
    let mut objects = rendered(&env, "prod", "cronjob");
    let legacy =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "prod-legacy"}, "data": {"a": "1"}});
    objects.push(legacy);
    helm_install(&env, "prod", objects.clone());
    helm_record(&env, "prod", 1, &objects);
    let plan = text(&env.run(&["install", "prod", "--overlay", "cronjob", "--adopt", "--dry-run"]).stdout);
    let id = format!("ConfigMap/{}/prod-legacy", env.namespace);
    assert!(plan.contains(&id) && plan.contains("not in this render"), "{plan}");
    let out = assert_ok(&env.run(&["install", "prod", "--overlay", "cronjob", "--adopt", "--yes"]));
    assert!(out.contains(&id) && out.contains("left in place"), "{out}");
    let cm = env.get("v1", "ConfigMap", "prod-legacy").expect("left alone");
    assert_eq!(managers(&cm), ["helm"], "not taken");
}

#[test]
fn remove_helm_history_deletes_only_that_releases_records() {
    let env = Env::new("helmhist");
    let objects = rendered(&env, "prod", "cronjob");
    helm_install(&env, "prod", objects.clone());
    for v in [1, 2] {
        helm_record(&env, "prod", v, &objects);
    }
    helm_record(&env, "other", 1, &[]);
    let out =
        assert_ok(&env.run(&["install", "prod", "--overlay", "cronjob", "--adopt", "--remove-helm-history", "--yes"]));
    assert!(out.contains("sh.helm.release.v1.prod.v2 deleted"), "{out}");
    assert!(env.get("v1", "Secret", "sh.helm.release.v1.prod.v1").is_none());
    assert!(env.get("v1", "Secret", "sh.helm.release.v1.other.v1").is_some());
}

#[test]
fn objects_of_another_release_or_of_none_are_never_taken_silently() {
    let env = Env::new("owners");
    // Two releases whose objects would have the same names (the same fullnameOverride).
    let shared = "fullnameOverride=shared,configMap.enabled=true";
    assert_ok(&env.run(&["install", "dev", "--overlay", "cronjob", "--set", shared, "--yes"]));
    assert_ok(&env.run(&["install", "prod", "--overlay", "cronjob", "--yes"]));
    let cm = format!("ConfigMap/{}/shared", env.namespace);
    for extra in [&[][..], &["--take-ownership"][..]] {
        let mut args = vec!["upgrade", "prod", "--set", shared, "--yes"];
        args.extend_from_slice(extra);
        let err = assert_fails(&env.run(&args));
        assert!(err.contains(&cm) && err.contains("dimtensor release dev"), "{err}");
    }
    assert_eq!(env.get("v1", "ConfigMap", "shared").unwrap()["metadata"]["labels"]["dimtensor.io/release"], "dev");

    // A Service someone created by hand, with the name the release would use.
    let svc = rendered(&env, "solo", "inference").into_iter().find(|o| o["kind"] == "Service").unwrap();
    create(&env, &svc, "kubectl-create");
    let err = assert_fails(&env.run(&["install", "solo", "--overlay", "inference", "--adopt", "--yes"]));
    assert!(
        err.contains("Service/") && err.contains("belongs to no release") && err.contains("--take-ownership"),
        "{err}"
    );
    assert!(env.statuses("solo").is_empty(), "nothing recorded");
    assert_ok(&env.run(&["install", "solo", "--overlay", "inference", "--take-ownership", "--yes"]));
    let s = env.get("v1", "Service", "solo-dimtensor").unwrap();
    assert_eq!(s["metadata"]["labels"]["dimtensor.io/release"], "solo");
}

/// Defect 3 for `--take-ownership`: objects made by `kubectl apply` (client-side) lose the
/// `kubectl-client-side-apply` entry and, with the next apply, the last-applied annotation.
#[test]
fn take_ownership_takes_every_field_of_kubectl_apply() {
    let env = Env::new("csa");
    let svc = rendered(&env, "solo", "inference").into_iter().find(|o| o["kind"] == "Service").unwrap();
    let mut svc = svc;
    svc["metadata"]["labels"]["extra"] = json!("from-kubectl");
    let out = env.kubectl_with(&["apply", "-f", "-", "-n", &env.namespace], Some(&svc.to_string()));
    assert!(out.status.success(), "kubectl apply: {}", text(&out.stderr));
    let before = env.get("v1", "Service", "solo-dimtensor").unwrap();
    assert!(managers(&before).contains(&"kubectl-client-side-apply".to_string()), "{:?}", managers(&before));

    assert_ok(&env.run(&["install", "solo", "--overlay", "inference", "--take-ownership", "--yes"]));
    let after = env.get("v1", "Service", "solo-dimtensor").unwrap();
    assert!(!managers(&after).contains(&"kubectl-client-side-apply".to_string()), "{:?}", managers(&after));
    let ann = &after["metadata"]["annotations"];
    assert!(ann.get("kubectl.kubernetes.io/last-applied-configuration").is_none(), "{after}");
    assert!(after["metadata"]["labels"].get("extra").is_none(), "what the render leaves out goes: {after}");
}
