//! The Kubernetes API, as this tool uses it: a client configured the way kubectl is, discovery of
//! only the group-versions a render uses (cached per run), and the handful of verbs the plan and
//! apply stages need, all on untyped JSON objects. Every request goes through [`call`], which
//! bounds each attempt by `--request-timeout` and retries as [`retry`] decides.

mod call;
mod config;
mod crud;
pub mod limit;
pub mod retry;
mod stream;

pub use config::{parse_timeout, ConnectOptions, Identity};
pub use stream::{LogOptions, LogReader, WatchStream, Watched};

use crate::model::{Gvk, ResId};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, Preconditions, PropagationPolicy};
use kube::core::GroupVersion;
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::Mutex;

/// The field manager of what belongs to no release (a namespace `--create-namespace` made), and
/// the one every release shared before each got its own (`crate::release::ownership`).
pub const FIELD_MANAGER: &str = "kubectl-dimtensor";

/// Whether a field manager is one of Kubernetes' own controllers (`kube-controller-manager`,
/// `kube-scheduler`, the kubelet): their entries (status, scale, a token) are never a release's
/// to take, and a release never counts them as someone else's object.
pub fn is_controller(manager: &str) -> bool {
    manager.starts_with("kube-") || manager == "kubelet"
}

/// How an apply is sent: as which field manager, forced or not, for real or as a dry run.
#[derive(Debug, Clone, Copy)]
pub struct ApplyAs<'a> {
    pub manager: &'a str,
    pub force: bool,
    pub dry_run: bool,
}

/// An apply's answer: the object, and whether this apply created it (201) or found it (200).
#[derive(Debug, Clone)]
pub struct Applied {
    pub object: Value,
    pub created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot load the kubeconfig: {0}")]
    Config(String),
    /// The credentials could not be obtained (an exec plugin missing or failing).
    #[error("{0}")]
    Credentials(String),
    #[error("{request}: cannot reach the cluster at {url}: {reason}{}", tries(*attempts))]
    Unreachable { request: String, url: String, reason: String, attempts: u32 },
    #[error("{request}: no answer from {url} within --request-timeout ({limit:?}){}", tries(*attempts))]
    Timeout { request: String, url: String, limit: Duration, attempts: u32 },
    #[error("{request}: the cluster at {url} refused the credentials of {who} (401 Unauthorized{message}); they are wrong or expired: log in again or fix the kubeconfig")]
    Unauthorized {
        request: String,
        url: String,
        /// Whose credentials, in the kubeconfig's names (never the credentials).
        who: String,
        /// `: detail` when the server said more than "Unauthorized".
        message: String,
    },
    #[error("the server does not serve {what}; is the CRD installed and the API group enabled?")]
    UnknownKind { what: String },
    #[error("{action} {id}: {message}{}", tries(*attempts))]
    Api { action: String, id: String, code: u16, reason: String, message: String, causes: Vec<String>, attempts: u32 },
    #[error("{0}")]
    Other(String),
}

/// How a message says that retrying did not help.
fn tries(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (gave up after {attempts} attempts)")
    } else {
        String::new()
    }
}

impl ClusterError {
    pub fn code(&self) -> Option<u16> {
        match self {
            ClusterError::Api { code, .. } => Some(*code),
            ClusterError::Unauthorized { .. } => Some(401),
            _ => None,
        }
    }
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }
    pub fn is_forbidden(&self) -> bool {
        self.code() == Some(403)
    }
    /// A 422 that says a field cannot change (a Job's template, a selector, a clusterIP).
    pub fn is_immutable(&self) -> bool {
        self.immutable_reason().is_some()
    }

    /// What an immutable-field refusal is about, without the server's dump of the object's Go
    /// value (a Job template's runs to kilobytes): "spec.template is immutable".
    pub fn immutable_reason(&self) -> Option<String> {
        let ClusterError::Api { code: 422, message, causes, .. } = self else { return None };
        let said = |m: &str| m.contains("immutable") || m.contains("may not change");
        let mut fields: Vec<&str> =
            causes.iter().filter(|c| said(c)).filter_map(|c| c.split_once(": ").map(|(f, _)| f)).collect();
        if fields.is_empty() {
            // No causes: "Kind.group \"n\" is invalid: FIELD: Invalid value: DUMP: field is immutable".
            let after = message.split_once("is invalid: ").map_or(message.as_str(), |(_, r)| r);
            fields.extend(after.split_once(": ").map(|(f, _)| f).filter(|_| said(message)));
        }
        match fields.as_slice() {
            [] => None,
            [one] => Some(format!("{one} is immutable")),
            many => Some(format!("{} are immutable", many.join(", "))),
        }
    }

    /// The same error, saying how many attempts were made.
    fn tried(mut self, n: u32) -> Self {
        match &mut self {
            ClusterError::Unreachable { attempts, .. }
            | ClusterError::Timeout { attempts, .. }
            | ClusterError::Api { attempts, .. } => *attempts = n,
            _ => {}
        }
        self
    }
}

/// A resolved kind: its REST resource and whether it lives in a namespace.
#[derive(Debug, Clone)]
pub struct Kind {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// A connected cluster.
pub struct Cluster {
    client: kube::Client,
    /// For followed logs and watches: the same settings without a read timeout, built on first
    /// use (most commands never stream).
    stream_config: kube::Config,
    stream_client: std::sync::OnceLock<kube::Client>,
    /// The namespace objects go to when they name none: `-n`, or the context's namespace.
    pub namespace: String,
    url: String,
    timeout: Duration,
    identity: Identity,
    policy: retry::Policy,
    discovery: Mutex<HashMap<String, HashMap<String, Kind>>>,
    limit: limit::Limit,
    /// The server's `gitVersion`, once asked.
    version: tokio::sync::OnceCell<String>,
}

impl Cluster {
    /// Connects as kubectl would with the same flags. Nothing is requested yet.
    pub async fn connect(opts: &ConnectOptions) -> Result<Cluster, ClusterError> {
        let (config, timeout, identity) = config::load(opts).await?;
        let namespace = opts.namespace.clone().unwrap_or_else(|| config.default_namespace.clone());
        let url = config.cluster_url.to_string();
        let mut stream_config = config.clone();
        stream_config.read_timeout = None;
        let client = build_client(config, &identity)?;
        let policy = retry::Policy::default();
        let limit = limit::Limit::new(opts.concurrency.unwrap_or(limit::DEFAULT));
        Ok(Cluster {
            client,
            stream_config,
            stream_client: std::sync::OnceLock::new(),
            namespace,
            url,
            timeout,
            identity,
            policy,
            discovery: Mutex::new(HashMap::new()),
            limit,
            version: tokio::sync::OnceCell::new(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The client for followed logs and watches.
    fn stream_client(&self) -> Result<kube::Client, ClusterError> {
        if let Some(c) = self.stream_client.get() {
            return Ok(c.clone());
        }
        let c = build_client(self.stream_config.clone(), &self.identity)?;
        Ok(self.stream_client.get_or_init(|| c).clone())
    }

    /// How many requests may be in flight at once (`--concurrency`): what callers size their
    /// streams to; the limit itself is enforced, and lowered on 429, per request.
    pub fn concurrency(&self) -> usize {
        self.limit.max()
    }

    /// The server's `gitVersion` (`GET /version`, once per run).
    pub async fn server_version(&self) -> Result<String, ClusterError> {
        let v = self
            .version
            .get_or_try_init(|| async {
                let info = self.call("get", "/version", || self.client.apiserver_version()).await?;
                Ok::<_, ClusterError>(info.git_version)
            })
            .await?;
        Ok(v.clone())
    }

    /// The REST resource of a kind. One discovery request per group-version, cached.
    pub async fn resolve(&self, gvk: &Gvk) -> Result<Kind, ClusterError> {
        let gv_key = gvk.api_version();
        let mut cache = self.discovery.lock().await;
        if !cache.contains_key(&gv_key) {
            let gv: GroupVersion = gv_key.parse().map_err(|_| ClusterError::UnknownKind { what: gv_key.clone() })?;
            let group = match self
                .call("discover", &gv_key, || kube::discovery::oneshot::pinned_group(&self.client, &gv))
                .await
            {
                Ok(g) => g,
                Err(e) if e.is_not_found() => {
                    return Err(ClusterError::UnknownKind { what: format!("{gv_key} (kind {})", gvk.kind) })
                }
                Err(e) => return Err(e),
            };
            let kinds: HashMap<String, Kind> = group
                .versioned_resources(&gv.version)
                .into_iter()
                .filter(|(ar, _)| !ar.plural.contains('/'))
                .map(|(ar, caps): (ApiResource, ApiCapabilities)| {
                    (ar.kind.clone(), Kind { namespaced: caps.scope == Scope::Namespaced, resource: ar })
                })
                .collect();
            cache.insert(gv_key.clone(), kinds);
        }
        cache
            .get(&gv_key)
            .and_then(|k| k.get(&gvk.kind))
            .cloned()
            .ok_or_else(|| ClusterError::UnknownKind { what: format!("{} in {gv_key}", gvk.kind) })
    }

    fn api(&self, kind: &Kind, namespace: &str) -> Api<DynamicObject> {
        if kind.namespaced {
            Api::namespaced_with(self.client.clone(), namespace, &kind.resource)
        } else {
            Api::all_with(self.client.clone(), &kind.resource)
        }
    }

    /// Server-side apply. With `dry_run` the server validates and authorizes exactly as for the
    /// real call and returns the merged object, storing nothing.
    pub async fn apply(&self, id: &ResId, body: &Value, how: ApplyAs<'_>) -> Result<Applied, ClusterError> {
        let kind = self.resolve(&id.gvk).await?;
        let mut pp = PatchParams::apply(how.manager);
        if how.force {
            pp = pp.force();
        }
        if how.dry_run {
            pp = pp.dry_run();
        }
        let action = if how.dry_run { "dry-run apply" } else { "apply" };
        let patch = Patch::Apply(body);
        let request = self.raw_request(&kind, &id.namespace);
        let send = || async {
            let mut req = request.patch(&id.name, &pp, &patch).map_err(kube::Error::BuildRequest)?;
            req.extensions_mut().insert("patch");
            let res = self.client.send(req.map(kube::client::Body::from)).await?;
            let code = res.status().as_u16();
            let object = call::json_answer(code, &res.into_body().collect_bytes().await?)?;
            Ok(Applied { object, created: code == 201 })
        };
        self.call(action, &id.to_string(), send).await
    }

    /// What the server would make of `body` as a new object (a dry-run POST under a generated
    /// name, so the live object of the same name is no obstacle): every default and every field
    /// the server fills in on create. Returns the object and the name it was given.
    pub async fn dry_run_create(
        &self,
        id: &ResId,
        body: &Value,
        manager: &str,
    ) -> Result<(Value, String), ClusterError> {
        let kind = self.resolve(&id.gvk).await?;
        let mut fresh = body.clone();
        if let Some(meta) = fresh.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.shift_remove("name");
            meta.insert("generateName".into(), Value::String(format!("{}-", id.name)));
        }
        let pp = kube::api::PostParams { dry_run: true, field_manager: Some(manager.to_string()) };
        let request = self.raw_request(&kind, &id.namespace);
        let send = || async {
            let data = serde_json::to_vec(&fresh).map_err(kube::Error::SerdeError)?;
            let req = request.create(&pp, data).map_err(kube::Error::BuildRequest)?;
            self.client.request::<Value>(req).await
        };
        let made = self.call("dry-run create", &id.to_string(), send).await?;
        let name = made["metadata"]["name"].as_str().unwrap_or_default().to_string();
        Ok((made, name))
    }

    /// An RFC 6902 JSON patch (`ops`), sent as `manager`. A `test` op that fails is a 422 and
    /// changes nothing, which makes a patch guarded by one safe to send again.
    pub async fn json_patch(&self, id: &ResId, ops: &Value, manager: &str) -> Result<Value, ClusterError> {
        let kind = self.resolve(&id.gvk).await?;
        let pp = PatchParams { field_manager: Some(manager.to_string()), ..PatchParams::default() };
        let patch = Patch::Merge(ops);
        let request = self.raw_request(&kind, &id.namespace);
        let send = || async {
            let mut req = request.patch(&id.name, &pp, &patch).map_err(kube::Error::BuildRequest)?;
            if let Ok(json_patch) = "application/json-patch+json".parse() {
                req.headers_mut().insert("content-type", json_patch);
            }
            self.client.request::<Value>(req).await
        };
        self.call("patch", &id.to_string(), send).await
    }

    /// Requests read straight into JSON values: going through `DynamicObject` parsed every
    /// answer's metadata (managedFields and all) into typed structs and back, which was most of
    /// the client's time in a large diff.
    fn raw_request(&self, kind: &Kind, namespace: &str) -> kube::core::Request {
        let namespace = kind.namespaced.then_some(namespace);
        kube::core::Request::new(<DynamicObject as kube::Resource>::url_path(&kind.resource, namespace))
    }

    pub async fn get(&self, id: &ResId) -> Result<Option<Value>, ClusterError> {
        let kind = self.resolve(&id.gvk).await?;
        let api = self.api(&kind, &id.namespace);
        let obj = self.call("get", &id.to_string(), || api.get_opt(&id.name)).await?;
        obj.map(|o| serde_json::to_value(o).map_err(|e| ClusterError::Other(e.to_string()))).transpose()
    }

    /// Every object of a kind in a namespace (all namespaces for cluster-scoped kinds).
    pub async fn list(
        &self,
        gvk: &Gvk,
        namespace: &str,
        label_selector: Option<&str>,
    ) -> Result<Vec<Value>, ClusterError> {
        Ok(self.list_versioned(gvk, namespace, label_selector).await?.0)
    }

    /// [`Cluster::list`], with the list's resourceVersion (to watch from).
    pub async fn list_versioned(
        &self,
        gvk: &Gvk,
        namespace: &str,
        label_selector: Option<&str>,
    ) -> Result<(Vec<Value>, String), ClusterError> {
        let kind = self.resolve(gvk).await?;
        let mut lp = ListParams::default();
        if let Some(sel) = label_selector {
            lp = lp.labels(sel);
        }
        let what = format!("{}/{namespace}", gvk.kind);
        let request = self.raw_request(&kind, namespace);
        let send =
            || async { self.client.request::<Value>(request.list(&lp).map_err(kube::Error::BuildRequest)?).await };
        let mut list = self.call("list", &what, send).await?;
        let version = list["metadata"]["resourceVersion"].as_str().unwrap_or("").to_string();
        let Some(Value::Array(items)) = list.get_mut("items").map(Value::take) else {
            return Ok((Vec::new(), version));
        };
        // A list's items carry no apiVersion and kind; put them back, first as the API server does.
        let items = items
            .into_iter()
            .map(|item| {
                let mut typed = serde_json::Map::with_capacity(item.as_object().map_or(0, |m| m.len()) + 2);
                typed.insert("apiVersion".into(), Value::String(gvk.api_version()));
                typed.insert("kind".into(), Value::String(gvk.kind.clone()));
                if let Value::Object(fields) = item {
                    typed.extend(fields.into_iter().filter(|(k, _)| k != "apiVersion" && k != "kind"));
                }
                Value::Object(typed)
            })
            .collect();
        Ok((items, version))
    }

    /// Whether the server serves a group-version (`metrics.k8s.io/v1beta1`: is metrics-server
    /// installed). One discovery request, cached like [`Cluster::resolve`]'s.
    pub async fn serves(&self, api_version: &str, kind: &str) -> Result<bool, ClusterError> {
        match self.resolve(&Gvk::from_api_version(api_version, kind)).await {
            Ok(_) => Ok(true),
            Err(ClusterError::UnknownKind { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes with an explicit propagation policy (a Job deleted without one orphans its pods),
    /// only while the object is still the one with `uid` when given: a same-named newcomer is
    /// answered with 409 and left alone. Returns false when the object was already gone (before
    /// our first attempt).
    pub async fn delete(&self, id: &ResId, propagation: Propagation, uid: Option<&str>) -> Result<bool, ClusterError> {
        let kind = self.resolve(&id.gvk).await?;
        let api = self.api(&kind, &id.namespace);
        let preconditions = uid.map(|u| Preconditions { uid: Some(u.to_string()), resource_version: None });
        let dp =
            DeleteParams { propagation_policy: Some(propagation.policy()), preconditions, ..DeleteParams::default() };
        let send = || api.delete(&id.name, &dp);
        match self.run(retry::Verb::Idempotent, "delete", &id.to_string(), send, call::no_reread()).await {
            Ok(_) => Ok(true),
            // Gone after an attempt whose answer was lost: that attempt deleted it.
            Err(f) if f.error.is_not_found() => Ok(f.uncertain),
            Err(f) => Err(f.error),
        }
    }

    /// The version the server serves `gvk`'s kind under: its own, or (for an object stored
    /// under a version since removed, such as autoscaling/v2beta2) the group's preferred one
    /// that has the kind. Identity is group and kind: the object is the same under every version.
    pub async fn served(&self, gvk: &Gvk) -> Result<Gvk, ClusterError> {
        match self.resolve(gvk).await {
            Err(ClusterError::UnknownKind { what }) if !gvk.group.is_empty() => {
                let found = self
                    .call("discover", &gvk.group, || kube::discovery::oneshot::group(&self.client, &gvk.group))
                    .await;
                let group = match found {
                    Ok(g) => g,
                    Err(e) if e.is_not_found() => return Err(ClusterError::UnknownKind { what }),
                    Err(e) => return Err(e),
                };
                let (ar, _) = group.recommended_kind(&gvk.kind).ok_or(ClusterError::UnknownKind { what })?;
                let served = Gvk { group: gvk.group.clone(), version: ar.version, kind: gvk.kind.clone() };
                self.resolve(&served).await?;
                Ok(served)
            }
            Err(e) => Err(e),
            Ok(_) => Ok(gvk.clone()),
        }
    }

    /// Creates a namespace if it does not exist.
    pub async fn ensure_namespace(&self, name: &str) -> Result<bool, ClusterError> {
        let id = ResId::new(Gvk::from_api_version("v1", "Namespace"), "", name);
        if self.get(&id).await?.is_some() {
            return Ok(false);
        }
        let body = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        self.apply(&id, &body, ApplyAs { manager: FIELD_MANAGER, force: false, dry_run: false }).await?;
        Ok(true)
    }
}

fn build_client(config: kube::Config, identity: &Identity) -> Result<kube::Client, ClusterError> {
    kube::Client::try_from(config).map_err(|e| match e {
        kube::Error::Auth(auth) => ClusterError::Credentials(identity.auth_failure(&auth)),
        other => ClusterError::Config(other.to_string()),
    })
}

/// `--cascade`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

impl Propagation {
    fn policy(self) -> PropagationPolicy {
        match self {
            Propagation::Background => PropagationPolicy::Background,
            Propagation::Foreground => PropagationPolicy::Foreground,
            Propagation::Orphan => PropagationPolicy::Orphan,
        }
    }
}
