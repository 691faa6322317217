//! What runs after a stored write, as a cluster's controllers do a moment later (no status
//! right after an apply, then the controller's writes: `ctl-*` captures): the workload controller
//! (`controller.rs`) and v1.24's ServiceAccount token controller (here, which adds a token
//! Secret's name to `secrets`, as `ctl-serviceaccount-after-controllers` shows). They run
//! `ControllerConfig::delay` after the write, or, held (`Config::hold_controllers`), when a test
//! releases them at a chosen request (`Fault::run_controllers`) or by hand
//! (`TestServer::run_held_controllers`), to reproduce a read taken before they wrote and a dry
//! run after.

use crate::apply::managed::Scope;
use crate::apply::schema::schema;
use crate::apply::{record_update, Writer};
use crate::config::ControllerConfig;
use crate::http::Reply;
use crate::resources::ResourceInfo;
use crate::state::{Shared, State};
use crate::store::ObjKey;
use crate::util::name_suffix;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;

const MANAGER: &str = "kube-controller-manager";

fn token_controller_watches(st: &State, info: &ResourceInfo) -> bool {
    st.controller != ControllerConfig::off() && info.group.is_empty() && info.kind == "ServiceAccount"
}

/// Called after every stored write of a main resource.
pub fn after_write(sh: &Arc<Shared>, st: &mut State, info: &ResourceInfo, key: &ObjKey) {
    if !crate::controller::watches(st, info) && !token_controller_watches(st, info) {
        return;
    }
    if st.hold_controllers {
        st.held.push((info.clone(), key.clone()));
        return;
    }
    let delay = st.controller.delay;
    if delay.is_zero() {
        run(st, info, key);
        return;
    }
    let (sh, info, key) = (sh.clone(), info.clone(), key.clone());
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        run(&mut sh.lock(), &info, &key);
    });
}

fn run(st: &mut State, info: &ResourceInfo, key: &ObjKey) {
    if crate::controller::watches(st, info) {
        crate::controller::reconcile(st, info, key);
    }
    if token_controller_watches(st, info) {
        token_controller(st, info, key);
    }
}

/// Runs the held controllers' writes now, oldest first (being released is their delay).
pub fn release_held(st: &mut State) {
    for (info, key) in std::mem::take(&mut st.held) {
        run(st, &info, &key);
    }
}

/// v1.24's token controller: a ServiceAccount without a token Secret gets one named in
/// `secrets` (an Update by kube-controller-manager; the Secret itself is not modelled).
fn token_controller(st: &mut State, info: &ResourceInfo, key: &ObjKey) {
    let Some(old) = st.store.get(key).cloned() else { return };
    if old.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let name = old.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
    let prefix = format!("{name}-token-");
    let secrets = old.get("secrets").and_then(Value::as_array).cloned().unwrap_or_default();
    if secrets.iter().any(|s| s["name"].as_str().is_some_and(|n| n.starts_with(&prefix))) {
        return;
    }
    let mut new = old.clone();
    let mut list = secrets;
    list.push(json!({"name": format!("{prefix}{}", name_suffix(5))}));
    if let Some(m) = new.as_object_mut() {
        m.insert("secrets".into(), Value::Array(list));
    }
    let (av, now) = (info.api_version(), st.now());
    let w = Writer { manager: MANAGER, api_version: &av, now: &now, scope: Scope::Main { status_reset: false } };
    record_update(&old, &mut new, schema().root(&info.group, &info.version, &info.kind), &w);
    st.store.put(key.clone(), new);
}

/// `/debug/test-apiserver/stats`.
pub fn stats(sh: &Arc<Shared>) -> Reply {
    let requests = sh.lock().log.len();
    Reply::ok(json!({"connections": sh.connections.load(Ordering::SeqCst), "requests": requests}))
}
