//! `handover`: a release prepared for a GitOps engine. Its objects stay exactly as they were but
//! for what made them the release's (its field manager entries, the release label and
//! namespace annotation); its records and lock go; nothing else in the namespace changes; no
//! later uninstall, prune or install can take the objects; a GitOps engine's apply meets no
//! conflict. The guarded patch reads again when someone wrote meanwhile.

use crate::support::{assert_fails, assert_ok, pairs, text, Env};
use dimtensor::cluster::{Cluster, ConnectOptions};
use dimtensor::model::{Gvk, ResId};
use dimtensor::release::takeover::{self, Handed};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const KINDS: &[(&str, &str)] = &[
    ("v1", "ServiceAccount"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "PersistentVolumeClaim"),
    ("apps/v1", "Deployment"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("batch/v1", "CronJob"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("coordination.k8s.io/v1", "Lease"),
];

const RELEASE_LABEL: &str = "dimtensor.io/release";
const RELEASE_NS: &str = "dimtensor.io/release-namespace";

/// Every object of [`KINDS`] in the namespace, by `Kind/name`.
fn snapshot(env: &Env) -> BTreeMap<String, Value> {
    let mut all = BTreeMap::new();
    for (v, k) in KINDS {
        for obj in env.list(v, k) {
            all.insert(format!("{k}/{}", obj["metadata"]["name"].as_str().unwrap()), obj);
        }
    }
    all
}

/// What may differ without anything having been changed: on a real cluster controllers write
/// status and their own managedFields times at any moment.
fn settled(obj: &Value, real: bool) -> Value {
    let mut o = obj.clone();
    if real {
        let m = o.as_object_mut().unwrap();
        m.remove("status");
        m["metadata"].as_object_mut().unwrap().remove("resourceVersion");
        for e in o["metadata"]["managedFields"].as_array_mut().into_iter().flatten() {
            e.as_object_mut().unwrap().remove("time");
        }
    }
    o
}

/// `before` as the hand-over should leave it: without release `name`'s entries, label and
/// annotation; a new resourceVersion (and, for a Deployment, whose generation counts annotation
/// changes, a new generation, which its controller records in its status at a new time: its pod
/// template is untouched, so nothing rolls out).
fn handed_over(before: &Value, name: &str) -> Value {
    let mut o = without_server_fields(before);
    let meta = o["metadata"].as_object_mut().unwrap();
    for (field, key) in [("labels", RELEASE_LABEL), ("annotations", RELEASE_NS)] {
        if let Some(m) = meta.get_mut(field).and_then(Value::as_object_mut) {
            m.remove(key);
            if m.is_empty() {
                meta.remove(field);
            }
        }
    }
    let own = format!("kubectl-dimtensor/{name}");
    if let Some(entries) = meta.get_mut("managedFields").and_then(Value::as_array_mut) {
        entries.retain(|e| e["manager"] != own.as_str());
        if entries.is_empty() {
            meta.remove("managedFields");
        }
    }
    o
}

fn without_server_fields(obj: &Value) -> Value {
    let mut o = obj.clone();
    let meta = o["metadata"].as_object_mut().unwrap();
    meta.remove("resourceVersion");
    meta.remove("generation");
    for e in meta.get_mut("managedFields").and_then(Value::as_array_mut).into_iter().flatten() {
        e.as_object_mut().unwrap().remove("time");
    }
    o.as_object_mut().unwrap().remove("status");
    o
}

fn managers(obj: &Value) -> Vec<String> {
    obj["metadata"]["managedFields"].as_array().into_iter().flatten().map(|e| e["manager"].to_string()).collect()
}

#[test]
fn a_handover_changes_nothing_but_what_made_the_objects_the_releases() {
    let env = Env::new("handover");
    let real = env.server.is_none();
    let prod = [
        "--overlay",
        "inference",
        "--set",
        "secret.enabled=true",
        "--set",
        "secret.stringData.token=s3cr3t-value",
        "--set",
        "configMap.enabled=true",
        "--set",
        "persistence.enabled=true",
    ];
    assert_ok(&env.run(&[&["install", "prod"][..], &prod, &["--yes"]].concat()));
    assert_ok(&env.run(&["upgrade", "prod", "--reuse-values", "--set", "image.tag=4.3.0", "--yes"]));
    assert_ok(&env.run(&["install", "other", "--overlay", "cronjob", "--set", "fullnameOverride=nightly", "--yes"]));
    let mine = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "users-own"}, "data": {"k": "v"}});
    assert!(env.kubectl_with(&["-n", &env.namespace, "create", "-f", "-"], Some(&mine.to_string())).status.success());
    // A lock left by a crashed operation, long expired.
    let stale = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "dimtensor.release.prod"},
        "spec": {"holderIdentity": "ci@runner:1", "leaseDurationSeconds": 60, "acquireTime": "2024-01-01T00:00:00.000000Z",
                 "renewTime": "2024-01-01T00:00:00.000000Z"}});
    let made = env.kubectl_with(&["-n", &env.namespace, "create", "-f", "-"], Some(&stale.to_string()));
    assert!(made.status.success(), "{}", text(&made.stderr));

    let before = snapshot(&env);
    let dry = env.run(&["handover", "prod", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(1), "{}{}", text(&dry.stdout), text(&dry.stderr));
    assert!(text(&dry.stdout).contains("Deployment/") && text(&dry.stdout).contains("(hand over)"));
    assert_eq!(
        snapshot(&env).keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "a dry run changes nothing"
    );
    if let Some(server) = &env.server {
        server.clear_log();
    }

    let out = assert_ok(&env.run(&["handover", "prod", "--yes"]));
    assert!(out.contains("release prod handed over"), "{out}");
    assert!(
        out.contains(&format!(
            "kubectl dimtensor init ./prod --release prod -n {} --overlay inference -f - <<'VALUES'",
            env.namespace
        )),
        "{out}"
    );
    assert!(out.contains("tag: \"4.3.0\"") && out.contains("secret.stringData.token"), "{out}");
    assert!(!out.contains("s3cr3t-value"), "no Secret value is printed: {out}");

    let after = snapshot(&env);
    let is_record = |k: &str| k.starts_with("Secret/dimtensor.release.v1.prod.");
    for (key, was) in &before {
        if is_record(key) || key == "Lease/dimtensor.release.prod" {
            assert!(!after.contains_key(key), "{key} is gone");
            continue;
        }
        let now = after.get(key).unwrap_or_else(|| panic!("{key} was deleted"));
        if was["metadata"]["labels"][RELEASE_LABEL] == "prod" {
            assert_eq!(without_server_fields(&settled(now, real)), handed_over(&settled(was, real), "prod"), "{key}");
            assert!(!managers(now).iter().any(|m| m.contains("kubectl-dimtensor")), "{key}: {:?}", managers(now));
        } else {
            assert_eq!(settled(now, real), settled(was, real), "{key} is not the release's: untouched");
        }
    }
    assert!(before.keys().filter(|k| is_record(k)).count() == 2, "{:?}", before.keys());
    assert!(after.keys().all(|k| before.contains_key(k)), "nothing made: {:?}", after.keys());
    if let Some(server) = &env.server {
        for r in server.requests().iter().filter(|r| r.method != "GET") {
            let ok = match r.method.as_str() {
                "PATCH" => r.content_type.as_deref() == Some("application/json-patch+json"),
                "DELETE" => {
                    r.path.contains("/secrets/dimtensor.release.v1.prod.")
                        || r.path.ends_with("/leases/dimtensor.release.prod")
                }
                "POST" | "PUT" => r.path.contains("/leases"),
                _ => false,
            };
            assert!(ok, "unexpected write {} {}", r.method, r.path);
        }
    }

    // Nothing can reach the objects any more: no release to uninstall, another install of the
    // same name finds objects of no release.
    let err = assert_fails(&env.run(&["uninstall", "prod", "--yes"]));
    assert!(err.contains("release prod not found"), "{err}");
    let err = assert_fails(&env.run(&[&["install", "prod"][..], &prod, &["--yes"]].concat()));
    assert!(err.contains("belongs to no release") && err.contains("--take-ownership"), "{err}");
    assert!(env.get("apps/v1", "Deployment", "prod-dimtensor").is_some());
    assert_eq!(env.statuses("other"), pairs(&[(1, "deployed")]));
    let list = assert_ok(&env.run(&["list"]));
    assert!(!list.contains("prod"), "{list}");

    // A GitOps engine applies the same render as its own manager: no conflict, nothing forced.
    let rendered = assert_ok(&env.run(&[&["render", "prod"][..], &prod[..], &["--set", "image.tag=4.3.0"]].concat()));
    let applied = env.kubectl_with(
        &["-n", &env.namespace, "apply", "--server-side", "--field-manager=kustomize-controller", "-f", "-"],
        Some(&rendered),
    );
    assert!(applied.status.success(), "{}{}", text(&applied.stdout), text(&applied.stderr));
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}

/// The guard: the patch is computed from the object as surveyed; a write that lands before it
/// fails its resourceVersion test and changes nothing, so the object is read again: handed over
/// with the other write kept, or left alone once another release holds it.
#[test]
fn a_handover_patch_reads_again_when_someone_wrote_meanwhile() {
    let env = Env::new("handover-race");
    assert_ok(&env.run(&["install", "prod", "--overlay", "cronjob", "--set", "configMap.enabled=true", "--yes"]));
    let id = |kind: &str, name: &str| ResId::new(Gvk::from_api_version("v1", kind), &env.namespace, name);
    let stale_cm = env.get("v1", "ConfigMap", "prod-dimtensor").unwrap();
    let stale_sa = env.get("v1", "ServiceAccount", "prod-dimtensor").unwrap();
    let ns = env.namespace.as_str();
    assert!(env.kubectl(&["-n", ns, "annotate", "configmap", "prod-dimtensor", "someone=was-here"]).status.success());
    let relabel = ["-n", ns, "label", "--overwrite", "serviceaccount", "prod-dimtensor", "dimtensor.io/release=other"];
    assert!(env.kubectl(&relabel).status.success());
    if let Some(server) = &env.server {
        server.clear_log();
    }
    let (cm, sa) = block_on(async {
        let opts = ConnectOptions {
            kubeconfig: Some(env.kubeconfig.clone()),
            namespace: Some(env.namespace.clone()),
            ..ConnectOptions::default()
        };
        let cluster = Cluster::connect(&opts).await.expect("connects");
        let still = |live: &Value| match live["metadata"]["labels"][RELEASE_LABEL].as_str() {
            Some("prod") => Ok(()),
            other => Err(format!("belongs to release {} now", other.unwrap_or("none"))),
        };
        let cm = takeover::hand_over(&cluster, &id("ConfigMap", "prod-dimtensor"), "prod", stale_cm, still).await;
        let sa = takeover::hand_over(&cluster, &id("ServiceAccount", "prod-dimtensor"), "prod", stale_sa, still).await;
        (cm.expect("handed over on the second attempt"), sa.expect("left, no error"))
    });
    assert_eq!(cm, Handed::Over);
    assert_eq!(sa, Handed::Left("belongs to release other now".into()));
    let live = env.get("v1", "ConfigMap", "prod-dimtensor").unwrap();
    assert_eq!(live["metadata"]["annotations"]["someone"], "was-here", "the other write is kept: {live}");
    assert!(live["metadata"]["labels"].get(RELEASE_LABEL).is_none(), "{live}");
    assert!(!managers(&live).iter().any(|m| m.contains("kubectl-dimtensor")), "{live}");
    let sa = env.get("v1", "ServiceAccount", "prod-dimtensor").unwrap();
    assert_eq!(sa["metadata"]["labels"][RELEASE_LABEL], "other", "left as it is");
    if let Some(server) = &env.server {
        let patches: Vec<u16> = server.requests().iter().filter(|r| r.method == "PATCH").map(|r| r.status).collect();
        assert_eq!(patches, [422, 200, 422], "each stale patch refused by its test, changing nothing");
    }
}
