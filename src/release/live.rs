//! A release as it runs: its objects as the cluster has them, and the pods its workloads made.
//!
//! Pods carry no release label (templates stay as rendered), so they are found through their
//! workloads, the way `kubectl logs deployment/x` and the controllers find them: a Deployment's
//! pods match its selector and are owned by one of its ReplicaSets (`<name>-<hash>`); a Job's
//! pods are owned by the Job; a CronJob's, by a Job the CronJob owns. `doctor`, `logs` and
//! `status` share this one reading.

use super::RELEASE_LABEL;
use crate::cluster::{Cluster, ClusterError};
use crate::model::{Gvk, ResId};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The annotation an Indexed Job's pod carries its completion index in.
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";

/// One object of the release: as recorded, and as the cluster has it (None: not found).
#[derive(Debug, Clone)]
pub struct Object {
    pub id: ResId,
    pub stored: Value,
    pub live: Option<Value>,
}

/// A pod of the release and the workload (Deployment, Job, CronJob) it belongs to.
#[derive(Debug, Clone)]
pub struct Pod {
    pub owner: ResId,
    pub pod: Value,
}

impl Pod {
    pub fn name(&self) -> &str {
        self.pod["metadata"]["name"].as_str().unwrap_or("")
    }
    /// The completion index of an Indexed Job's pod.
    pub fn index(&self) -> Option<u32> {
        self.pod["metadata"]["annotations"][COMPLETION_INDEX].as_str().and_then(|i| i.parse().ok())
    }
}

/// Whether a label selector (`matchLabels` and `matchExpressions`) selects `labels`. An empty
/// or missing selector selects nothing here: a workload always has one, and matching every pod
/// of the namespace would be wrong.
pub fn selects(selector: &Value, labels: &Map<String, Value>) -> bool {
    let ml = selector["matchLabels"].as_object();
    let me = selector["matchExpressions"].as_array();
    if ml.is_none_or(Map::is_empty) && me.is_none_or(Vec::is_empty) {
        return false;
    }
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let labels_ok = ml.into_iter().flatten().all(|(k, v)| label(k).is_some() && label(k) == v.as_str());
    let exprs_ok = me.into_iter().flatten().all(|e| {
        let key = e["key"].as_str().unwrap_or("");
        let values: Vec<&str> = e["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        match (e["operator"].as_str().unwrap_or(""), label(key)) {
            ("In", Some(v)) => values.contains(&v),
            ("NotIn", v) => v.is_none_or(|v| !values.contains(&v)),
            ("Exists", v) => v.is_some(),
            ("DoesNotExist", v) => v.is_none(),
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

/// The controller owner reference of an object: (kind, name).
pub fn controller(obj: &Value) -> Option<(&str, &str)> {
    obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"] == true)
        .map(|r| (r["kind"].as_str().unwrap_or(""), r["name"].as_str().unwrap_or("")))
}

/// The workload of the release that `pod` belongs to. `cron_jobs` maps a Job's name to the
/// CronJob that owns it.
pub fn owner_of<'a>(pod: &Value, objects: &'a [Object], cron_jobs: &BTreeMap<String, String>) -> Option<&'a ResId> {
    let labels = pod["metadata"]["labels"].as_object().cloned().unwrap_or_default();
    let owner = controller(pod);
    objects.iter().map(|o| (&o.id, o.live.as_ref().unwrap_or(&o.stored))).find_map(|(id, obj)| {
        let owned = match id.gvk.kind.as_str() {
            "Deployment" => {
                let by_rs = owner.is_none_or(|(k, n)| {
                    k == "ReplicaSet" && n.strip_prefix(id.name.as_str()).is_some_and(|h| h.starts_with('-'))
                });
                by_rs && selects(&obj["spec"]["selector"], &labels)
            }
            "Job" => owner == Some(("Job", id.name.as_str())),
            "CronJob" => owner
                .filter(|(k, _)| *k == "Job")
                .and_then(|(_, job)| cron_jobs.get(job))
                .is_some_and(|c| *c == id.name),
            _ => false,
        };
        owned.then_some(id)
    })
}

/// The pod template of a workload (a CronJob's is one level deeper).
pub fn pod_template(obj: &Value) -> Option<&Value> {
    let template = match obj["kind"].as_str()? {
        "CronJob" => &obj["spec"]["jobTemplate"]["spec"]["template"],
        "Deployment" | "Job" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => &obj["spec"]["template"],
        _ => return None,
    };
    template.is_object().then_some(template)
}

/// A release's objects as recorded and as live, read with one LIST per kind the release has;
/// [`Live::pods`] adds one LIST of pods and, when it has CronJobs, one of Jobs (to find the
/// runs they started).
#[derive(Debug, Clone)]
pub struct Live {
    pub objects: Vec<Object>,
}

impl Live {
    /// Reads what `manifest` (a revision's objects) became, in `namespace`, for release `name`.
    pub async fn read(
        cluster: &Cluster,
        name: &str,
        namespace: &str,
        manifest: &[Value],
    ) -> Result<Live, ClusterError> {
        // Each object under the version the server serves its kind with (a record may name
        // one since removed); a kind the server no longer serves at all has nothing live.
        let mut ids: Vec<(ResId, Value)> = Vec::new();
        for (id, stored) in super::plan::manifest_ids(manifest) {
            let id = match super::versions::served_id(cluster, &id).await {
                Ok(served) => served,
                Err(ClusterError::UnknownKind { .. }) => id,
                Err(e) => return Err(e),
            };
            ids.push((id, stored));
        }
        let mut kinds: Vec<Gvk> = ids.iter().map(|(id, _)| id.gvk.clone()).collect();
        kinds.sort();
        kinds.dedup();
        let selector = format!("{RELEASE_LABEL}={name}");
        let lists = futures::future::join_all(kinds.iter().map(|gvk| async {
            let ns = if gvk.is_cluster_scoped() { "" } else { namespace };
            cluster.list(gvk, ns, Some(&selector)).await
        }))
        .await;
        let mut live: BTreeMap<ResId, Value> = BTreeMap::new();
        for list in lists {
            match list {
                Ok(objects) => live.extend(objects.into_iter().map(|o| (ResId::of(&o), o))),
                Err(ClusterError::UnknownKind { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let objects: Vec<Object> = ids
            .into_iter()
            .map(|(id, stored)| {
                let live = live.remove(&id);
                Object { id, stored, live }
            })
            .collect();
        Ok(Live { objects })
    }

    /// The pods of the release's workloads (no request when it has none).
    pub async fn pods(&self, cluster: &Cluster, namespace: &str) -> Result<Vec<Pod>, ClusterError> {
        if self.workloads().next().is_none() {
            return Ok(Vec::new());
        }
        let cron_jobs = cron_jobs(cluster, namespace, &self.objects).await?;
        let all = cluster.list(&Gvk::from_api_version("v1", "Pod"), namespace, None).await?;
        Ok(members(all, &self.objects, &cron_jobs))
    }

    /// The release's workloads (objects with a pod template), as live as known.
    pub fn workloads(&self) -> impl Iterator<Item = (&ResId, &Value)> {
        self.objects
            .iter()
            .map(|o| (&o.id, o.live.as_ref().unwrap_or(&o.stored)))
            .filter(|(_, obj)| pod_template(obj).is_some())
    }

    pub fn object(&self, id: &ResId) -> Option<&Object> {
        self.objects.iter().find(|o| &o.id == id)
    }
}

/// The pods among `all` that belong to the release, each with its workload.
pub fn members(all: Vec<Value>, objects: &[Object], cron_jobs: &BTreeMap<String, String>) -> Vec<Pod> {
    all.into_iter()
        .filter_map(|pod| owner_of(&pod, objects, cron_jobs).cloned().map(|owner| Pod { owner, pod }))
        .collect()
}

/// Job name -> owning CronJob name, for the release's CronJobs (no request when it has none).
pub async fn cron_jobs(
    cluster: &Cluster,
    namespace: &str,
    objects: &[Object],
) -> Result<BTreeMap<String, String>, ClusterError> {
    let crons: Vec<&str> = objects.iter().filter(|o| o.id.gvk.kind == "CronJob").map(|o| o.id.name.as_str()).collect();
    if crons.is_empty() {
        return Ok(BTreeMap::new());
    }
    let jobs = cluster.list(&Gvk::from_api_version("batch/v1", "Job"), namespace, None).await?;
    Ok(jobs
        .iter()
        .filter_map(|j| {
            let (kind, owner) = controller(j)?;
            (kind == "CronJob" && crons.contains(&owner))
                .then(|| (j["metadata"]["name"].as_str().unwrap_or("").to_string(), owner.to_string()))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn selectors_match_as_the_api_machinery_does() {
        let l = labels(json!({"app": "web", "tier": "api"}));
        assert!(selects(&json!({"matchLabels": {"app": "web"}}), &l));
        assert!(!selects(&json!({"matchLabels": {"app": "db"}}), &l));
        assert!(!selects(&json!({}), &l), "an empty selector selects nothing here");
        let e = |op: &str, vals: Value| json!({"matchExpressions": [{"key": "tier", "operator": op, "values": vals}]});
        assert!(selects(&e("In", json!(["api", "x"])), &l));
        assert!(!selects(&e("NotIn", json!(["api"])), &l));
        assert!(selects(&e("Exists", json!(null)), &l));
        assert!(!selects(&e("DoesNotExist", json!(null)), &l));
        assert!(!selects(&e("Bogus", json!(null)), &l));
    }

    fn obj(kind: &str, name: &str, body: Value) -> Object {
        let api = if kind == "Deployment" { "apps/v1" } else { "batch/v1" };
        let mut v = json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": "ml"}});
        if let (Some(m), Some(b)) = (v.as_object_mut(), body.as_object()) {
            m.extend(b.clone());
        }
        Object { id: ResId::of(&v), stored: v.clone(), live: Some(v) }
    }

    fn pod(labels: Value, owner: Option<(&str, &str)>) -> Value {
        let refs: Vec<Value> =
            owner.into_iter().map(|(k, n)| json!({"kind": k, "name": n, "controller": true})).collect();
        json!({"metadata": {"name": "p", "labels": labels, "ownerReferences": refs}})
    }

    #[test]
    fn pods_belong_through_their_workloads() {
        let objects = vec![
            obj("Deployment", "web", json!({"spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {}}})),
            obj("Job", "train", json!({"spec": {"template": {}}})),
            obj("CronJob", "nightly", json!({"spec": {"jobTemplate": {"spec": {"template": {}}}}})),
        ];
        let crons = BTreeMap::from([("nightly-28000".to_string(), "nightly".to_string())]);
        let who = |p: &Value| owner_of(p, &objects, &crons).map(|id| id.name.clone());
        assert_eq!(who(&pod(json!({"app": "web"}), Some(("ReplicaSet", "web-5d8f")))), Some("web".into()));
        assert_eq!(who(&pod(json!({"app": "web"}), Some(("ReplicaSet", "webhook-1")))), None, "another app's RS");
        assert_eq!(who(&pod(json!({"app": "web"}), Some(("StatefulSet", "web")))), None);
        assert_eq!(who(&pod(json!({}), Some(("Job", "train")))), Some("train".into()));
        assert_eq!(who(&pod(json!({}), Some(("Job", "nightly-28000")))), Some("nightly".into()));
        assert_eq!(who(&pod(json!({}), Some(("Job", "other")))), None);
        let indexed =
            Pod { owner: objects[1].id.clone(), pod: json!({"metadata": {"annotations": {COMPLETION_INDEX: "7"}}}) };
        assert_eq!(indexed.index(), Some(7));
    }
}
