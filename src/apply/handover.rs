//! Moving a Deployment's `spec.replicas` between the release and a HorizontalPodAutoscaler
//! without a dip, as the "Transferring ownership" section of the Kubernetes server-side apply
//! documentation describes.
//!
//! Turning autoscaling on drops `replicas` from the release's apply. Alone, that would leave the
//! field to no one and the API server would default it to 1 until the HPA scales back up. So the
//! live value is first applied by a manager of its own ([`manager_of`] the release's), which then
//! holds the field while the release's apply leaves it out; the HPA's first scale takes it from
//! there (an update takes ownership from appliers). If someone (the HPA) already owns the field
//! with another value, that apply conflicts and is skipped: nothing needs holding. It never
//! forces.
//!
//! Turning autoscaling off, the release applies `replicas` again, which conflicts with the
//! controller that owns it through the scale subresource. The HPA is deleted first (so it cannot
//! scale again), then the Deployment is applied, and a conflict is forced only when it is on
//! `spec.replicas` alone and held by a controller or the handover's own manager
//! ([`may_take_back`]): the one force the ownership rules allow without a flag
//! (`crate::release::ownership`), on that object only.

use crate::cluster::{is_controller, Applied, ApplyAs, Cluster, ClusterError};
use crate::model::ResId;
use serde_json::{json, Value};
use std::borrow::Cow;
use std::collections::HashMap;

/// The field manager that holds `replicas` during the handover: the release's manager's own
/// (`kubectl-dimtensor/<release>/handover`: release names are at most 53 bytes, so at most 80
/// of the API server's 128).
pub fn manager_of(release_manager: &str) -> String {
    format!("{release_manager}/handover")
}

/// What a plan does around autoscaling switched on or off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Handover {
    /// The release's own field manager.
    pub manager: String,
    /// Deployments whose `replicas` leave the release's apply: the live count, held first.
    pub keep: Vec<(ResId, Value)>,
    /// Deployments whose `replicas` come back from an HPA: a replicas-only conflict is forced.
    pub take_back: Vec<ResId>,
    /// The HPAs those scaled, deleted before anything is applied.
    pub hpa_first: Vec<ResId>,
}

fn replicas(body: &Value) -> Option<&Value> {
    body.pointer("/spec/replicas")
}

fn scales(hpa: &Value, deployment: &ResId) -> bool {
    let target = &hpa["spec"]["scaleTargetRef"];
    hpa["kind"] == "HorizontalPodAutoscaler"
        && target["kind"] == "Deployment"
        && target["name"] == deployment.name.as_str()
        && hpa["metadata"]["namespace"].as_str().unwrap_or("") == deployment.namespace
}

impl Handover {
    /// For the release applying as `manager`: from the manifest the cluster runs (`running`, the
    /// deployed revision's), the new render and the live objects. Objects are matched by
    /// identity, whatever their version.
    pub fn plan(
        manager: &str,
        running: &[Value],
        desired: &[(ResId, Value)],
        live: &HashMap<ResId, Value>,
    ) -> Handover {
        let mut h = Handover { manager: manager.to_string(), ..Handover::default() };
        let before = |id: &ResId| running.iter().find(|o| ResId::of(o).same_identity(id));
        for (id, body) in desired.iter().filter(|(id, _)| id.gvk.kind == "Deployment") {
            let Some(old) = before(id) else { continue };
            match (replicas(old), replicas(body)) {
                (Some(_), None) => {
                    if let Some(n) = live.get(id).and_then(replicas) {
                        h.keep.push((id.clone(), n.clone()));
                    }
                }
                (None, Some(_)) => {
                    let gone = running.iter().filter(|o| scales(o, id)).map(ResId::of);
                    let gone: Vec<ResId> =
                        gone.filter(|hpa| !desired.iter().any(|(d, _)| d.same_identity(hpa))).collect();
                    if !gone.is_empty() {
                        h.take_back.push(id.clone());
                        h.hpa_first.extend(gone);
                    }
                }
                _ => {}
            }
        }
        h
    }

    /// Whether `replicas` of `id` changes hands in this plan.
    pub fn moves(&self, id: &ResId) -> bool {
        self.kept(id).is_some() || self.takes_back(id)
    }

    /// Whether `id` is an HPA to delete before anything is applied.
    pub fn goes_first(&self, id: &ResId) -> bool {
        self.hpa_first.iter().any(|h| h.same_identity(id))
    }

    fn takes_back(&self, id: &ResId) -> bool {
        self.take_back.iter().any(|d| d.same_identity(id))
    }

    fn kept(&self, id: &ResId) -> Option<&Value> {
        self.keep.iter().find(|(k, _)| k.same_identity(id)).map(|(_, n)| n)
    }

    /// One line per Deployment whose count changes hands, for the plan's notes.
    pub fn notes(&self) -> Vec<String> {
        let kept = self.keep.iter().map(|(id, n)| {
            format!(
                "{id}: spec.replicas stays {n} while the HorizontalPodAutoscaler takes it over (held by {})",
                manager_of(&self.manager)
            )
        });
        let back = self.take_back.iter().map(|id| {
            format!("{id}: spec.replicas taken back from the HorizontalPodAutoscaler, which is deleted first")
        });
        kept.chain(back).collect()
    }

    /// The body a dry run sends: a kept count restated, so the plan shows the count staying
    /// (which the handover makes true) rather than the default of 1.
    pub fn dry_run_body<'b>(&self, id: &ResId, body: &'b Value) -> Cow<'b, Value> {
        match self.kept(id) {
            Some(n) => {
                let mut b = body.clone();
                if let Some(spec) = b.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.insert("replicas".into(), n.clone());
                }
                Cow::Owned(b)
            }
            None => Cow::Borrowed(body),
        }
    }

    /// Applies one object as `how` says (dry run or for real) with the handover's steps around it.
    pub async fn apply(
        &self,
        cluster: &Cluster,
        id: &ResId,
        body: &Value,
        how: ApplyAs<'_>,
    ) -> Result<Applied, ClusterError> {
        let body = if how.dry_run {
            self.dry_run_body(id, body)
        } else {
            self.hold(cluster, id, body).await?;
            Cow::Borrowed(body)
        };
        match cluster.apply(id, &body, how).await {
            Err(e) if !how.force && self.takes_back(id) && may_take_back(&e, &manager_of(&self.manager)) => {
                cluster.apply(id, &body, ApplyAs { force: true, ..how }).await
            }
            other => other,
        }
    }

    /// Before the release's apply leaves `replicas` out: the live count under [`manager_of`].
    async fn hold(&self, cluster: &Cluster, id: &ResId, body: &Value) -> Result<(), ClusterError> {
        let Some(n) = self.kept(id) else { return Ok(()) };
        let hold = json!({"apiVersion": body["apiVersion"], "kind": body["kind"],
            "metadata": {"name": id.name, "namespace": id.namespace}, "spec": {"replicas": n}});
        let manager = manager_of(&self.manager);
        match cluster.apply(id, &hold, ApplyAs { manager: &manager, force: false, dry_run: false }).await {
            // Someone (the HPA) owns it already: nothing to hold.
            Err(e) if e.code() == Some(409) => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

/// Whether an apply conflict may be forced to take `spec.replicas` back: it is about that field
/// alone, held by a controller (the HPA's, through the scale subresource) or by `handover` (the
/// release's own handover manager, when the HPA never scaled).
pub fn may_take_back(e: &ClusterError, handover: &str) -> bool {
    let ClusterError::Api { code: 409, causes, .. } = e else { return false };
    !causes.is_empty() && causes.iter().all(|c| held_by(c).is_some_and(|m| is_controller(m) || m == handover))
}

/// The manager a conflict on `spec.replicas` names (`.spec.replicas: conflict with "NAME" ...`).
fn held_by(cause: &str) -> Option<&str> {
    cause.strip_prefix(".spec.replicas: conflict with \"")?.split('"').next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Gvk;

    fn deploy(replicas: Option<i64>) -> Value {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ml"}, "spec": {}});
        if let Some(n) = replicas {
            d["spec"]["replicas"] = json!(n);
        }
        d
    }

    fn hpa(version: &str) -> Value {
        json!({"apiVersion": version, "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web", "namespace": "ml"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}})
    }

    fn id(kind: &str, v: &str) -> ResId {
        ResId::new(Gvk::from_api_version(v, kind), "ml", "web")
    }

    const MANAGER: &str = "kubectl-dimtensor/web";

    #[test]
    fn autoscaling_on_keeps_the_live_count_and_off_takes_it_back_after_the_hpa() {
        let d = id("Deployment", "apps/v1");
        let live: HashMap<ResId, Value> = [(d.clone(), deploy(Some(4)))].into();
        let on = Handover::plan(
            MANAGER,
            &[deploy(Some(3))],
            &[(d.clone(), deploy(None)), (id("HorizontalPodAutoscaler", "autoscaling/v2"), hpa("autoscaling/v2"))],
            &live,
        );
        assert_eq!(on.keep, vec![(d.clone(), json!(4))], "the live count, not the stored one");
        assert_eq!(on.dry_run_body(&d, &deploy(None)).pointer("/spec/replicas"), Some(&json!(4)));
        let off = Handover::plan(
            MANAGER,
            &[deploy(None), hpa("autoscaling/v2beta2")],
            &[(d.clone(), deploy(Some(3)))],
            &live,
        );
        assert_eq!(off.take_back, vec![d.clone()]);
        assert!(off.goes_first(&id("HorizontalPodAutoscaler", "autoscaling/v2")), "whatever its version: {off:?}");
        let same = Handover::plan(MANAGER, &[deploy(Some(3))], &[(d.clone(), deploy(Some(5)))], &live);
        assert!(same.keep.is_empty() && same.take_back.is_empty(), "a count changing is an ordinary apply");
        let kept = Handover::plan(
            MANAGER,
            &[deploy(None), hpa("autoscaling/v2beta2")],
            &[(d.clone(), deploy(Some(3))), (id("HorizontalPodAutoscaler", "autoscaling/v2"), hpa("autoscaling/v2"))],
            &live,
        );
        assert!(kept.take_back.is_empty(), "an HPA moved to a new version stays: nothing to take back");
        assert_eq!(manager_of(&on.manager), "kubectl-dimtensor/web/handover");
        let longest = manager_of(&format!("kubectl-dimtensor/{}", "r".repeat(53)));
        assert!(longest.len() <= 128, "the API server's limit for a field manager: {}", longest.len());
    }

    #[test]
    fn only_a_conflict_on_replicas_alone_held_by_a_controller_or_the_handover_is_forced() {
        let conflict = |causes: &[&str]| ClusterError::Api {
            action: "apply".into(),
            id: "x".into(),
            code: 409,
            reason: "Conflict".into(),
            message: String::new(),
            causes: causes.iter().map(|c| c.to_string()).collect(),
            attempts: 1,
        };
        let handover = "kubectl-dimtensor/web/handover";
        let take = |causes: &[&str]| may_take_back(&conflict(causes), handover);
        assert!(take(&[
            r#".spec.replicas: conflict with "kube-controller-manager" with subresource "scale" using autoscaling/v1"#
        ]));
        assert!(take(&[r#".spec.replicas: conflict with "kubectl-dimtensor/web/handover""#]));
        assert!(!take(&[r#".spec.replicas: conflict with "kubectl-dimtensor/other""#]), "another release's: never");
        assert!(
            !take(&[r#".spec.replicas: conflict with "kubectl" using apps/v1"#]),
            "a user's scale: --force-conflicts"
        );
        assert!(!take(&[
            r#".spec.replicas: conflict with "kube-controller-manager""#,
            r#".spec.template.spec.containers: conflict with "kube-controller-manager""#
        ]));
        assert!(!take(&[]));
    }
}
