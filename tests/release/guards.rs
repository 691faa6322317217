//! The guards under the ownership rules, driven through the library against the test API server
//! (or a real cluster): a delete with a uid precondition spares a same-named newcomer (409,
//! reported, skipped), a record delete is guarded by its resourceVersion, and a takeover whose
//! guarded managedFields patch loses a race reads the object again and tries again.

use crate::support::{assert_ok, text, Env};
use dimtensor::apply::{self, ApplyOptions, Cancel, Doomed, Outcome};
use dimtensor::cluster::{Cluster, ConnectOptions, Propagation};
use dimtensor::model::{Gvk, ResId};
use dimtensor::release::ownership::{self, Disposition};
use dimtensor::release::store::{SecretStore, Store, StoreError};
use dimtensor::release::takeover;
use serde_json::json;

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}

async fn connect(env: &Env) -> Cluster {
    let opts = ConnectOptions {
        kubeconfig: Some(env.kubeconfig.clone()),
        namespace: Some(env.namespace.clone()),
        ..ConnectOptions::default()
    };
    Cluster::connect(&opts).await.expect("connects")
}

fn configmap(env: &Env, name: &str, manager: &str) -> String {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}});
    let out = env.kubectl_with(
        &["-n", &env.namespace, "create", "-f", "-", "-o", "json", &format!("--field-manager={manager}")],
        Some(&cm.to_string()),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    made["metadata"]["uid"].as_str().unwrap().to_string()
}

#[test]
fn a_delete_with_a_stale_uid_is_reported_and_skipped() {
    let env = Env::new("guard-uid");
    let old_uid = configmap(&env, "x", "someone");
    assert!(env.kubectl(&["-n", &env.namespace, "delete", "configmap", "x"]).status.success());
    configmap(&env, "x", "someone");
    let id = ResId::new(Gvk::from_api_version("v1", "ConfigMap"), &env.namespace, "x");
    let mut outcome = Outcome::default();
    block_on(async {
        let cluster = connect(&env).await;
        let mut doomed = vec![Doomed { id: id.clone(), uid: Some(old_uid) }];
        let opts = ApplyOptions { cascade: Some(Propagation::Background), ..ApplyOptions::default() };
        apply::delete_all(&cluster, &mut doomed, &opts, &Cancel::default(), &mut outcome).await
    })
    .expect("a 409 is no failure");
    assert!(outcome.deleted.is_empty());
    assert_eq!(outcome.spared.len(), 1, "{:?}", outcome.spared);
    assert!(outcome.spared[0].1.contains("409") || outcome.spared[0].1.contains("UID"), "{:?}", outcome.spared);
    assert!(env.get("v1", "ConfigMap", "x").is_some(), "the newcomer is left alone");
}

#[test]
fn a_release_record_is_deleted_only_as_it_was_read() {
    let env = Env::new("guard-rv");
    assert_ok(&env.run(&["install", "prod", "--overlay", "cronjob", "--yes"]));
    let secret = "dimtensor.release.v1.prod.v1";
    let result = block_on(async {
        let cluster = connect(&env).await;
        let store = SecretStore { cluster: &cluster, namespace: env.namespace.clone() };
        let stale = store.history("prod").await.expect("history").remove(0);
        let touched = env.kubectl(&["-n", &env.namespace, "annotate", "secret", secret, "someone=was-here"]);
        assert!(touched.status.success(), "{}", text(&touched.stderr));
        store.delete(&stale).await
    });
    assert!(matches!(result, Err(StoreError::Conflict { .. })), "{result:?}");
    assert!(env.get("v1", "Secret", secret).is_some(), "kept: someone changed it after it was read");
}

#[test]
fn a_takeover_that_loses_a_race_reads_again_and_moves_every_field() {
    let env = Env::new("guard-race");
    configmap(&env, "legacy", "kubectl-client-side-apply");
    let id = ResId::new(Gvk::from_api_version("v1", "ConfigMap"), &env.namespace, "legacy");
    if let Some(server) = &env.server {
        // The first managedFields patch finds the object changed (its test fails, as a write in
        // between would make it).
        server.add_fault(env.fault("PATCH", "/configmaps/legacy").nth(1).times(1).status(422));
    }
    let manager = ownership::field_manager("prod");
    block_on(async {
        let cluster = connect(&env).await;
        let still = |_: &serde_json::Value| Ok(Disposition::TakeOver);
        takeover::take_over(&cluster, &id, &manager, Disposition::TakeOver, still).await
    })
    .expect("taken over on the second attempt");
    let live = env.get("v1", "ConfigMap", "legacy").unwrap();
    let managers: Vec<&str> =
        live["metadata"]["managedFields"].as_array().unwrap().iter().map(|e| e["manager"].as_str().unwrap()).collect();
    assert_eq!(managers, [manager.as_str()], "{live}");
    assert_eq!(live["data"], json!({"k": "v"}), "only ownership moved");
    if let Some(server) = &env.server {
        let patches = server.requests().into_iter().filter(|r| r.method == "PATCH").count();
        assert_eq!(patches, 2, "one refused, one taken");
    }
}
