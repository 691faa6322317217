//! What a Helm user expects of a release: values on upgrade as Helm takes them (one test per
//! flag), `get values --all`, notes after install and `get notes`, two releases of one preset in
//! one namespace.

use crate::record;
use crate::support::{assert_ok, text, Env};
use serde_json::{json, Value};

fn image(env: &Env) -> Value {
    env.get("apps/v1", "Deployment", "prod-dimtensor").expect("the Deployment")["spec"]["template"]["spec"]
        ["containers"][0]["image"]
        .clone()
}

fn install(env: &Env, overlay: &str, set: &str) {
    assert_ok(&env.run(&["install", "prod", "--overlay", overlay, "--set", set, "--yes"]));
}

/// Values given replace the stored ones: a key dropped from the values file is gone.
#[test]
fn upgrade_with_values_given_starts_from_the_defaults() {
    let env = Env::new("v-given");
    install(&env, "inference", "image.tag=4.3.0");
    assert_ok(&env.run(&["upgrade", "prod", "--set", "podAnnotations.team=ml", "--yes"]));
    assert_eq!(record(&env, "prod", 2)["values"], json!({"podAnnotations": {"team": "ml"}}));
    assert_eq!(image(&env), "docker.io/dimtensor:4.2.0-cpu-full", "the stored image.tag is not reused");
    assert_eq!(record(&env, "prod", 2)["overlay"], "inference", "the overlay is reused");
}

/// Nothing given (an empty values file counts as nothing): the stored values again.
#[test]
fn upgrade_with_nothing_given_reuses_the_stored_values() {
    let env = Env::new("v-none");
    install(&env, "inference", "image.tag=4.3.0");
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.yaml");
    std::fs::write(&empty, "# nothing\n").unwrap();
    let out = assert_ok(&env.run(&["upgrade", "prod", "-f", empty.to_str().unwrap(), "--yes"]));
    assert!(out.contains("nothing to change (revision 1 stays deployed)"), "{out}");
    assert_eq!(image(&env), "docker.io/dimtensor:4.3.0-cpu-full");
    let out = assert_ok(&env.run(&["upgrade", "prod", "--overlay", "cronjob", "--yes"]));
    assert!(out.contains("(revision 2)"), "{out}");
    assert_eq!(record(&env, "prod", 2)["values"], json!({"image": {"tag": "4.3.0"}}), "reused with a new overlay");
}

/// A training release moved to the cronjob overlay with `flag` and one new key: the stored
/// values come along; `variant` is the image variant under them, `image` the CronJob's image.
fn moved_with(flag: &str, name: &str, variant: &str, image: &str) {
    let env = Env::new(name);
    install(&env, "training", "image.tag=4.3.0");
    assert_ok(&env.run(&["upgrade", "prod", "--overlay", "cronjob", flag, "--set", "cronjob.suspend=true", "--yes"]));
    let r2 = record(&env, "prod", 2);
    assert_eq!(r2["values"], json!({"image": {"tag": "4.3.0"}, "cronjob": {"suspend": true}}), "{flag}");
    assert_eq!(r2["defaults"]["image"]["variant"], variant, "{flag}: the defaults under the values");
    let cj = env.get("batch/v1", "CronJob", "prod-dimtensor").expect("CronJob");
    assert_eq!(cj["spec"]["suspend"], true);
    assert_eq!(cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"], image, "{flag}");
}

/// `--reuse-values`: the given over the stored, over the defaults the last revision used
/// (training's `ml` variant, as Helm keeps the old chart's values).
#[test]
fn reuse_values_merges_over_the_stored_values_and_their_defaults() {
    moved_with("--reuse-values", "v-reuse", "ml", "docker.io/dimtensor:4.3.0-ml");
}

/// `--reset-then-reuse-values`: the given over the stored, over today's defaults (the cronjob
/// overlay's `latest` variant).
#[test]
fn reset_then_reuse_values_puts_todays_defaults_under_the_stored_values() {
    moved_with("--reset-then-reuse-values", "v-rtr", "latest", "docker.io/dimtensor:4.3.0");
}

/// `--reset-values` wins over both reuse flags: only what is given.
#[test]
fn reset_values_wins_over_the_reuse_flags() {
    let env = Env::new("v-reset");
    install(&env, "inference", "image.tag=4.3.0");
    let out = env.run(&["upgrade", "prod", "--reset-values", "--reuse-values", "--reset-then-reuse-values", "--yes"]);
    assert_ok(&out);
    assert_eq!(record(&env, "prod", 2)["values"], json!({}));
    assert_eq!(image(&env), "docker.io/dimtensor:4.2.0-cpu-full");
}

#[test]
fn get_values_all_shows_every_value_with_the_defaults() {
    let env = Env::new("v-all");
    install(&env, "inference", "image.tag=4.3.0,secret.enabled=true,secret.data.t=c2VjcmV0");
    let all: Value =
        serde_json::from_str(&assert_ok(&env.run(&["get", "values", "prod", "--all", "-o", "json"]))).unwrap();
    assert_eq!(
        all["image"],
        json!({"registry": "docker.io", "repository": "dimtensor", "tag": "4.3.0", "variant": "cpu-full", "pullPolicy": "IfNotPresent", "pullSecrets": []})
    );
    assert_eq!((&all["replicaCount"], &all["autoscaling"]["enabled"]), (&json!(3), &json!(true)));
    assert_eq!(all["secret"]["data"], json!({"t": "***"}), "secrets stay masked");
    let shown = assert_ok(&env.run(&["get", "values", "prod", "-a", "--show-secrets", "-o", "json"]));
    assert!(shown.contains("c2VjcmV0"), "{shown}");
    let given = assert_ok(&env.run(&["get", "values", "prod", "-o", "json"]));
    assert!(!given.contains("replicaCount"), "without --all only what was given: {given}");
}

#[test]
fn install_prints_notes_and_get_notes_prints_them_again() {
    let env = Env::new("notes");
    let out = assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--yes"]));
    let ns = &env.namespace;
    assert!(out.contains(&format!("kubectl port-forward -n {ns} svc/prod-dimtensor 8080:80")), "{out}");
    assert!(out.contains("Autoscaling between 2 and 10 replicas"), "{out}");
    let again = assert_ok(&env.run(&["get", "notes", "prod"]));
    assert!(out.contains(again.trim()), "get notes differs from what install printed:\n{again}\n---\n{out}");
    let out = assert_ok(&env.run(&["install", "batch", "--overlay", "batch", "--yes"]));
    assert!(out.contains(&format!("kubectl logs -n {ns} -f -l app.kubernetes.io/instance=batch")), "{out}");
    let out = assert_ok(&env.run(&[
        "install",
        "lb",
        "--overlay",
        "inference",
        "--set",
        "service.type=LoadBalancer",
        "--yes",
    ]));
    assert!(out.contains(&format!("kubectl get svc -n {ns} lb-dimtensor --watch")), "{out}");
}

/// Two releases of the batch preset in one namespace: each has its own ConfigMap.
#[test]
fn two_releases_of_one_preset_share_a_namespace() {
    let env = Env::new("two");
    for name in ["sweep-a", "sweep-b"] {
        assert_ok(&env.run(&["install", name, "--overlay", "batch", "--yes"]));
    }
    for name in ["sweep-a", "sweep-b"] {
        let full = format!("{name}-dimtensor");
        let cm = env.get("v1", "ConfigMap", &full).unwrap_or_else(|| panic!("ConfigMap {full}"));
        assert_eq!(cm["metadata"]["labels"]["dimtensor.io/release"], name);
        let job = env.get("batch/v1", "Job", &full).expect("Job");
        let volumes = job["spec"]["template"]["spec"]["volumes"].to_string();
        assert!(volumes.contains(&format!("\"name\":\"{full}\"")), "{volumes}");
    }
    assert!(env.get("v1", "ConfigMap", "dimtensor").is_none(), "no shared name");
    let out = assert_ok(&env.run(&["uninstall", "sweep-a", "--yes"]));
    assert!(out.contains("uninstalled"), "{}", text(out.as_bytes()));
    assert!(env.get("v1", "ConfigMap", "sweep-b-dimtensor").is_some(), "the other release keeps its own");
}

/// A ConfigMap the old pods read (here dropped; after the chart's rename, the old `dimtensor`
/// one) is deleted only after the new pods rolled out, even without --wait.
#[test]
fn a_config_map_the_old_pods_read_is_pruned_only_after_the_rollout() {
    use dimtensor_test_apiserver::{Config, ControllerConfig};
    // Each rollout takes 3 s: longer than the first attempt's --timeout, shorter than the second's.
    let slow = ControllerConfig::ready_after(std::time::Duration::from_secs(3));
    let env = Env::with("prune-late", Config::new().controller(slow));
    let Some(server) = env.server_only("needs a rollout of a known duration") else { return };
    install(&env, "inference", "configMap.enabled=true");
    let drop = ["upgrade", "prod", "--set", "configMap.enabled=false", "--timeout", "1s", "--yes"];
    let out = env.run(&drop);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("timed out"), "{}", text(&out.stderr));
    assert!(env.get("v1", "ConfigMap", "prod-dimtensor").is_some(), "kept while the rollout is not done");

    server.clear_log();
    assert_ok(&env.run(&["upgrade", "prod", "--set", "configMap.enabled=false", "--timeout", "60s", "--yes"]));
    assert!(env.get("v1", "ConfigMap", "prod-dimtensor").is_none());
    let log = server.requests();
    let at = |pred: &dyn Fn(&dimtensor_test_apiserver::RequestRecord) -> bool| log.iter().rposition(pred);
    let last_rollout_check = at(&|r| r.method == "GET" && r.path.ends_with("/deployments/prod-dimtensor"));
    let delete = at(&|r| r.method == "DELETE" && r.path.ends_with("/configmaps/prod-dimtensor"));
    assert!(last_rollout_check.is_some() && last_rollout_check < delete, "{last_rollout_check:?} {delete:?}");
}

/// Rewrites revision `revision`'s record as an earlier version stored it: `edit` changes the
/// decoded record, which is encoded again (gzip, base64) into its Secret.
fn rewrite_record(env: &Env, name: &str, revision: u64, edit: impl FnOnce(&mut Value)) {
    use base64::Engine;
    use std::io::Write;
    let mut rel = record(env, name, revision);
    edit(&mut rel);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(rel.to_string().as_bytes()).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    let patch = json!({"data": {"release": data}}).to_string();
    let secret = format!("dimtensor.release.v1.{name}.v{revision}");
    let out = env.kubectl(&["-n", &env.namespace, "patch", "secret", &secret, "--type=merge", "-p", &patch]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// `extraVolumes` and `extraVolumeMounts` were renamed to the chart's `volumes` and
/// `volumeMounts`: a release stored with the old keys still upgrades, the old keys folded into
/// the new ones with a warning naming them, and the next revision stores the new keys.
#[test]
fn a_release_stored_with_the_old_volume_keys_still_upgrades() {
    let env = Env::new("v-alias");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("volumes.yaml");
    let values =
        "volumes:\n  - name: scratch\n    emptyDir: {}\nvolumeMounts:\n  - name: scratch\n    mountPath: /scratch\n";
    std::fs::write(&file, values).unwrap();
    assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "-f", file.to_str().unwrap(), "--yes"]));
    rewrite_record(&env, "prod", 1, |rel| {
        let v = rel["values"].as_object_mut().unwrap();
        for (old, new) in [("extraVolumes", "volumes"), ("extraVolumeMounts", "volumeMounts")] {
            let moved = v.remove(new).unwrap();
            v.insert(old.into(), moved);
        }
    });

    let out = env.run(&["upgrade", "prod", "--reuse-values", "--set", "image.tag=4.3.0", "--yes"]);
    assert_ok(&out);
    let stderr = text(&out.stderr);
    for (old, new) in [("extraVolumes", "volumes"), ("extraVolumeMounts", "volumeMounts")] {
        assert!(
            stderr.lines().any(|l| l.starts_with("warning:")
                && l.contains(&format!("`{old}`"))
                && l.contains(&format!("`{new}`"))),
            "{stderr}"
        );
    }
    let pod = &env.get("apps/v1", "Deployment", "prod-dimtensor").unwrap()["spec"]["template"]["spec"];
    assert!(pod["volumes"].as_array().unwrap().iter().any(|v| v["name"] == "scratch"), "{pod}");
    let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
    assert!(mounts.iter().any(|m| m["mountPath"] == "/scratch"), "{pod}");
    let stored = &record(&env, "prod", 2)["values"];
    assert_eq!(stored["volumes"][0]["name"], "scratch", "{stored}");
    assert!(stored.get("extraVolumes").is_none() && stored.get("extraVolumeMounts").is_none(), "{stored}");
}
