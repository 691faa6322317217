//! The controllers' writes after a stored write (`ctl-*` captures): none right after it, then
//! the workload controller's status and revision annotation and v1.24's token controller's
//! `secrets`, a moment later or, held, when a test releases them (how the client tests put them
//! between a read and a dry run).

use crate::captures::{capture, check, send, want_body};
use crate::client::Client;
use dimtensor_test_apiserver::{Config, ControllerConfig, TestServer};
use serde_json::Value;
use std::time::{Duration, Instant};

const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/capture-demo/deployments/web";
const SERVICE_ACCOUNT: &str = "/api/v1/namespaces/capture-demo/serviceaccounts/runner";

fn rv(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn entries(v: &Value) -> Vec<(Value, Value, Value)> {
    let list = v["metadata"]["managedFields"].as_array().cloned().unwrap_or_default();
    list.iter().map(|m| (m["manager"].clone(), m["operation"].clone(), m["subresource"].clone())).collect()
}

/// A token Secret's name as the token controller writes it: `NAME-token-` and five characters.
fn token_of(sa: &Value, name: &str) -> Option<String> {
    let list = sa["secrets"].as_array()?;
    let [one] = list.as_slice() else { return None };
    let n = one["name"].as_str()?;
    let suffix = n.strip_prefix(&format!("{name}-token-"))?;
    (suffix.len() == 5 && suffix.chars().all(|c| c.is_ascii_alphanumeric())).then(|| n.to_string())
}

#[test]
fn held_controllers_write_what_the_captures_show_once_released() {
    let controller = ControllerConfig::never_ready();
    let config = Config::new().namespace("capture-demo").controller(controller).hold_controllers(true);
    let server = TestServer::start_blocking(config).expect("server");
    let c = Client::new(server.url());
    let applied = check("ctl-deployment-right-after-apply.json", &send(&c, "ctl-deployment-right-after-apply.json"));
    let created = check("ctl-serviceaccount-create.json", &send(&c, "ctl-serviceaccount-create.json"));
    assert_eq!(created.get("secrets"), want_body(&capture("ctl-serviceaccount-create.json")).get("secrets"));

    // Held: a read (a diff's LIST) sees the objects as the writes left them.
    let read = c.get(DEPLOYMENT).json();
    assert_eq!((rv(&read), read.get("status")), (rv(&applied), applied.get("status")));
    assert_eq!(c.get(SERVICE_ACCOUNT).json().get("secrets"), None);

    server.run_held_controllers();
    // A dry run of the same config now answers at a newer resourceVersion, with the revision
    // annotation and the controller's status entry: what the read above missed.
    let dry = check("ctl-deployment-dry-run-same.json", &send(&c, "ctl-deployment-dry-run-same.json"));
    let want = want_body(&capture("ctl-deployment-dry-run-same.json")).clone();
    assert!(rv(&dry) > rv(&applied), "{dry}");
    assert_eq!(dry["metadata"]["annotations"], want["metadata"]["annotations"]);
    assert_eq!(entries(&dry), entries(&want));
    let sa = check("ctl-serviceaccount-after-controllers.json", &send(&c, "ctl-serviceaccount-after-controllers.json"));
    let want = want_body(&capture("ctl-serviceaccount-after-controllers.json")).clone();
    assert!(token_of(&want, "runner").is_some(), "{want}");
    assert!(token_of(&sa, "runner").is_some(), "{sa}");
    assert!(rv(&sa) > rv(&created));

    // Once: a later write gets no second token.
    let patch = r#"{"metadata":{"labels":{"a":"b"}}}"#;
    let r = c.send("PATCH", SERVICE_ACCOUNT, Some("application/merge-patch+json"), None, Some(patch.as_bytes()));
    assert_eq!(r.expect("patch").status, 200);
    server.run_held_controllers();
    assert_eq!(token_of(&c.get(SERVICE_ACCOUNT).json(), "runner"), token_of(&sa, "runner"));
}

#[test]
fn the_token_controller_writes_a_moment_later_as_the_workload_controller_does() {
    let controller = ControllerConfig::ready_after(Duration::from_secs(1));
    let server =
        TestServer::start_blocking(Config::new().namespace("capture-demo").controller(controller)).expect("server");
    let c = Client::new(server.url());
    check("ctl-serviceaccount-create.json", &send(&c, "ctl-serviceaccount-create.json"));
    assert_eq!(c.get(SERVICE_ACCOUNT).json().get("secrets"), None, "not right after the create");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut sa = c.get(SERVICE_ACCOUNT).json();
    while token_of(&sa, "runner").is_none() {
        assert!(Instant::now() < deadline, "the token controller never wrote: {sa}");
        std::thread::sleep(Duration::from_millis(50));
        sa = c.get(SERVICE_ACCOUNT).json();
    }
}
