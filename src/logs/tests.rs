//! Which container runs have logs, and how their lines are prefixed (the cluster-facing tests
//! are in `tests/day_two.rs`).

use super::*;
use crate::model::{Gvk, ResId};
use serde_json::json;

fn pod(index: Option<u32>, node: bool, statuses: Value) -> Pod {
    let mut p = json!({"metadata": {"name": "batch-x", "uid": "u1", "annotations": {}},
        "spec": {"initContainers": [{"name": "fetch"}], "containers": [{"name": "main"}, {"name": "side"}]},
        "status": {"containerStatuses": statuses}});
    if let Some(i) = index {
        p["metadata"]["annotations"][crate::release::live::COMPLETION_INDEX] = json!(i.to_string());
    }
    if node {
        p["spec"]["nodeName"] = json!("n1");
    }
    Pod { owner: ResId::new(Gvk::from_api_version("batch/v1", "Job"), "ml", "batch"), pod: p }
}

fn running(name: &str, restarts: i64) -> Value {
    json!({"name": name, "restartCount": restarts, "state": {"running": {}}})
}

fn names(t: &[Target]) -> Vec<String> {
    t.iter().map(|t| format!("{}{}{}", t.prefix(), t.run, if t.previous { "p" } else { "" })).collect()
}

#[test]
fn runs_with_logs_follow_the_kubelet() {
    let crash = json!({"name": "side", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"reason": "Error"}}});
    let p = pod(Some(7), true, json!([running("main", 0), crash]));
    let (t, notes) = targets(&p, &Request::default());
    assert_eq!(
        names(&t),
        ["[#7 pod/batch-x/main] 0", "[#7 pod/batch-x/side] 2"],
        "a crash loop shows the run that ended"
    );
    assert_eq!(notes, ["pod/batch-x/fetch: no logs: not started yet"]);

    let previous = Request { previous: true, ..Request::default() };
    let (t, notes) = targets(&p, &previous);
    assert_eq!(names(&t), ["[#7 pod/batch-x/side] 2p"]);
    assert!(notes.contains(&"pod/batch-x/main: no previous run".to_string()), "{notes:?}");

    let only = Request { container: Some("main".into()), index: Some(7), ..Request::default() };
    assert_eq!(names(&targets(&p, &only).0), ["[#7 pod/batch-x/main] 0"]);
    let other_index = Request { index: Some(8), ..Request::default() };
    assert_eq!(targets(&p, &other_index), (Vec::new(), Vec::new()), "--index selects pods, silently");
}

#[test]
fn pods_without_logs_say_why() {
    let pulling = json!([{"name": "main", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]);
    let (t, notes) =
        targets(&pod(None, true, pulling), &Request { container: Some("main".into()), ..Request::default() });
    assert!(t.is_empty());
    assert_eq!(notes, ["pod/batch-x/main: no logs: waiting to start (ImagePullBackOff)"]);
    let (_, notes) =
        targets(&pod(None, false, json!([])), &Request { container: Some("main".into()), ..Request::default() });
    assert_eq!(notes, ["pod/batch-x/main: no logs: the pod is not scheduled yet"]);
}

#[test]
fn first_streams_honour_tail_and_since_later_ones_are_whole() {
    let req = Request { tail: Some(10), since_seconds: Some(60), follow: true, timestamps: true, ..Request::default() };
    let t = &targets(&pod(None, true, json!([running("main", 0)])), &Request::default()).0[0];
    let first = options(t, &req, true);
    assert_eq!(
        (first.tail_lines, first.since_seconds, first.follow, first.timestamps),
        (Some(10), Some(60), true, true)
    );
    let later = options(t, &req, false);
    assert_eq!((later.tail_lines, later.since_seconds), (None, None));
}

#[test]
fn pods_print_by_index_then_name() {
    let mut pods = vec![pod(Some(10), true, json!([])), pod(Some(2), true, json!([]))];
    pods[0].pod["metadata"]["name"] = json!("b-10");
    pods[1].pod["metadata"]["name"] = json!("b-2");
    sort(&mut pods);
    assert_eq!(pods.iter().map(|p| p.name()).collect::<Vec<_>>(), ["b-2", "b-10"]);
}
