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

/// Helm's release record (its content does not matter to us: we never read it).
fn helm_record(env: &Env, name: &str, version: u32) {
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": format!("sh.helm.release.v1.{name}.v{version}"),
                     "labels": {"name": name, "owner": "helm", "status": "deployed", "version": version.to_string()}},
        "data": {"release": "SDRzSUFBQUFBQUFBLw=="}});
    create(env, &secret, "helm");
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
    helm_install(&env, "prod", rendered(&env, "prod", "inference"));
    helm_record(&env, "prod", 1);
    let before = writes(&env);

    let err = assert_fails(&env.run(&["install", "prod", "--overlay", "inference", "--yes"]));
    let deploy_id = format!("Deployment/{}/prod-dimtensor", env.namespace);
    assert!(err.contains(&deploy_id) && err.contains("part of Helm release prod") && err.contains("--adopt"), "{err}");
    assert_eq!(writes(&env), before, "refused before writing anything");

    let plan = env.run(&["install", "prod", "--overlay", "inference", "--adopt", "--dry-run"]);
    let plan = text(&plan.stdout);
    assert!(plan.contains(&format!("{deploy_id} (adopt)")) && plan.contains("Adopt: 4 existing object(s)"), "{plan}");
    assert!(plan.contains("-      - image: docker.io/dimtensor:4.1.0-cpu-full"), "{plan}");

    let out = assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--adopt", "--yes"]));
    assert!(out.contains("release prod installed (revision 1)"), "{out}");
    let d = env.get("apps/v1", "Deployment", "prod-dimtensor").unwrap();
    assert_eq!(d["metadata"]["labels"]["dimtensor.io/release"], "prod");
    assert_eq!(d["metadata"]["labels"]["app.kubernetes.io/managed-by"], "kubectl-dimtensor");
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], "docker.io/dimtensor:4.2.0-cpu-full");
    let managers = d["metadata"]["managedFields"].as_array().cloned().unwrap_or_default();
    assert!(managers.iter().any(|m| m["manager"] == "kubectl-dimtensor" && m["operation"] == "Apply"), "{managers:?}");
    for m in managers.iter().filter(|m| m["manager"] == "helm") {
        let owned = m["fieldsV1"].to_string();
        assert!(!owned.contains("\"f:image\":"), "the changed image moved away from helm: {m}");
        assert!(!owned.contains("managed-by"), "so did the managed-by label: {m}");
    }
    assert!(env.get("v1", "Secret", "sh.helm.release.v1.prod.v1").is_some(), "Helm's history is left alone");
    assert_eq!(env.statuses("prod"), pairs(&[(1, "deployed")]));
    assert_eq!(env.run(&["diff", "prod"]).status.code(), Some(0), "nothing left to change");
}

#[test]
fn remove_helm_history_deletes_only_that_releases_records() {
    let env = Env::new("helmhist");
    helm_install(&env, "prod", rendered(&env, "prod", "cronjob"));
    for v in [1, 2] {
        helm_record(&env, "prod", v);
    }
    helm_record(&env, "other", 1);
    let out =
        assert_ok(&env.run(&["install", "prod", "--overlay", "cronjob", "--adopt", "--remove-helm-history", "--yes"]));
    assert!(out.contains("sh.helm.release.v1.prod.v2 deleted"), "{out}");
    assert!(env.get("v1", "Secret", "sh.helm.release.v1.prod.v1").is_none());
    assert!(env.get("v1", "Secret", "sh.helm.release.v1.other.v1").is_some());
}

#[test]
fn objects_of_another_release_or_of_none_are_never_taken_silently() {
    let env = Env::new("owners");
    assert_ok(&env.run(&["install", "dev", "--overlay", "cronjob", "--set", "configMap.enabled=true", "--yes"]));
    assert_ok(&env.run(&["install", "prod", "--overlay", "cronjob", "--yes"]));
    let cm = format!("ConfigMap/{}/dimtensor", env.namespace);
    for extra in [&[][..], &["--take-ownership"][..]] {
        let mut args = vec!["upgrade", "prod", "--set", "configMap.enabled=true", "--yes"];
        args.extend_from_slice(extra);
        let err = assert_fails(&env.run(&args));
        assert!(err.contains(&cm) && err.contains("dimtensor release dev"), "{err}");
    }
    assert_eq!(env.get("v1", "ConfigMap", "dimtensor").unwrap()["metadata"]["labels"]["dimtensor.io/release"], "dev");

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
