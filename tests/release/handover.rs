//! Autoscaling switched on and off on a running release: `spec.replicas` moves to the HPA with
//! no dip (proved by the recorded apply sequence and the live count), and back from it once the
//! HPA is gone, taking only that field with force.

use crate::support::{assert_ok, text, Env};
use serde_json::{json, Value};

const DEPLOYMENT: &str = "/deployments/prod-dimtensor";

fn replicas(env: &Env) -> Value {
    env.get("apps/v1", "Deployment", "prod-dimtensor").expect("the Deployment")["spec"]["replicas"].clone()
}

fn managers_of_replicas(env: &Env) -> Vec<String> {
    let d = env.get("apps/v1", "Deployment", "prod-dimtensor").expect("the Deployment");
    d["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["fieldsV1"]["f:spec"].get("f:replicas").is_some())
        .map(|m| m["manager"].as_str().unwrap_or("").to_string())
        .collect()
}

/// What the HPA controller does: scale through the scale subresource, as its own manager.
fn hpa_scales_to(env: &Env, n: u32) {
    let patch = format!("{{\"spec\":{{\"replicas\":{n}}}}}");
    let out = env.kubectl(&[
        "patch",
        "deployment",
        "prod-dimtensor",
        "-n",
        &env.namespace,
        "--subresource=scale",
        "--type=merge",
        "-p",
        &patch,
        "--field-manager=kube-controller-manager",
    ]);
    assert!(out.status.success(), "kubectl patch --subresource=scale: {}", text(&out.stderr));
}

#[test]
fn autoscaling_on_keeps_the_replica_count_and_off_takes_it_back_after_the_hpa() {
    let env = Env::new("handover");
    assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--set", "autoscaling.enabled=false", "--yes"]));
    assert_eq!(replicas(&env), json!(3));
    if let Some(s) = &env.server {
        s.clear_log();
    }

    let on = ["upgrade", "prod", "--set", "autoscaling.enabled=true"];
    let plan = text(&env.run(&[&on[..], &["--dry-run"]].concat()).stdout);
    assert!(plan.contains("HorizontalPodAutoscaler/"), "{plan}");
    assert!(!plan.contains("-  replicas: 3"), "the plan must not show a dip:\n{plan}");
    assert_ok(&env.run(&[&on[..], &["--yes"]].concat()));
    assert_eq!(replicas(&env), json!(3), "no dip to 1 while the HPA takes over");
    assert!(
        managers_of_replicas(&env).contains(&"kubectl-dimtensor/prod/handover".to_string()),
        "{:?}",
        managers_of_replicas(&env)
    );
    if let Some(s) = &env.server {
        // The recorded sequence: the handover manager restates the live count, then the release's
        // apply leaves replicas out, then the HPA is created.
        let writes: Vec<_> = s
            .requests()
            .into_iter()
            .filter(|r| {
                r.method == "PATCH"
                    && !r.dry_run
                    && (r.path.ends_with(DEPLOYMENT) || r.path.contains("horizontalpodautoscalers"))
            })
            .collect();
        let seq: Vec<(String, Option<Value>)> = writes
            .iter()
            .map(|r| {
                (
                    format!(
                        "{} {}",
                        r.field_manager.as_deref().unwrap_or("-"),
                        r.path.rsplit('/').nth(1).unwrap_or("")
                    ),
                    r.json_body().and_then(|b| b.pointer("/spec/replicas").cloned()),
                )
            })
            .collect();
        assert_eq!(
            seq,
            vec![
                ("kubectl-dimtensor/prod/handover deployments".to_string(), Some(json!(3))),
                ("kubectl-dimtensor/prod deployments".to_string(), None),
                ("kubectl-dimtensor/prod horizontalpodautoscalers".to_string(), None),
            ],
            "{writes:#?}"
        );
        s.clear_log();
    }

    // The HPA scales up; its controller now owns the count.
    hpa_scales_to(&env, 5);
    assert_eq!(replicas(&env), json!(5));
    // Off again: the HPA goes first, then the count comes back, forced on that field only.
    let out = env.run(&["upgrade", "prod", "--set", "autoscaling.enabled=false", "--yes"]);
    assert_ok(&out);
    assert_eq!(replicas(&env), json!(3));
    assert!(env.get("autoscaling/v2", "HorizontalPodAutoscaler", "prod-dimtensor").is_none());
    assert!(
        managers_of_replicas(&env).contains(&"kubectl-dimtensor/prod".to_string()),
        "{:?}",
        managers_of_replicas(&env)
    );
    if let Some(s) = &env.server {
        let order: Vec<String> = s
            .requests()
            .into_iter()
            .filter(|r| {
                !r.dry_run
                    && (r.method == "DELETE" && r.path.contains("horizontalpodautoscalers")
                        || r.method == "PATCH" && r.path.ends_with(DEPLOYMENT))
            })
            .map(|r| format!("{} {} force={}", r.method, r.path.rsplit('/').nth(1).unwrap_or(""), r.force))
            .collect();
        assert_eq!(order.first().map(String::as_str), Some("DELETE horizontalpodautoscalers force=false"), "{order:?}");
        assert_eq!(order.last().map(String::as_str), Some("PATCH deployments force=true"), "{order:?}");
    }
}
