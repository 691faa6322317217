//! GET `pods/<name>/log`: the API server's `LogLocation` (which container, is the pod on a node)
//! then the kubelet's `validateContainerLogStatus` (which run of the container), with the
//! kubelet's messages; `tailLines`, `sinceSeconds`, `sinceTime`, `timestamps`, `limitBytes`,
//! and `follow` as a chunked `text/plain` stream that ends when the container stops running.

use super::Request;
use crate::http::Reply;
use crate::podlog::{rfc3339_nano, unix_nanos, LogKey, LogLine};
use crate::state::{Shared, State};
use crate::status::{ApiError, Cause};
use crate::store::ObjKey;
use bytes::Bytes;
use serde_json::Value;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::mpsc;

/// `PodLogOptions` from the query, validated as `ValidatePodLogOptions` does.
struct Options {
    container: String,
    follow: bool,
    previous: bool,
    timestamps: bool,
    tail: Option<i64>,
    /// Lines written at or after this (unix nanoseconds).
    since: Option<i128>,
    limit_bytes: Option<i64>,
}

fn int(req: &Request, name: &str) -> Result<Option<i64>, ApiError> {
    match req.query.get(name) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::bad_request(&format!("strconv.ParseInt: parsing {v:?}: invalid syntax"))),
    }
}

fn options(req: &Request, name: &str) -> Result<Options, ApiError> {
    let tail = int(req, "tailLines")?;
    let since_seconds = int(req, "sinceSeconds")?;
    let limit_bytes = int(req, "limitBytes")?;
    let since_time = match req.query.get("sinceTime").filter(|s| !s.is_empty()) {
        Some(t) => Some(crate::util::parse_rfc3339(t).ok_or_else(|| {
            ApiError::bad_request(&format!("parsing time {t:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse"))
        })?),
        None => None,
    };
    let mut causes = Vec::new();
    if let Some(t) = tail.filter(|t| *t < 0) {
        causes.push(Cause::invalid("tailLines", &t.to_string(), "must be greater than or equal to 0"));
    }
    if let Some(l) = limit_bytes.filter(|l| *l < 1) {
        causes.push(Cause::invalid("limitBytes", &l.to_string(), "must be greater than 0"));
    }
    match (since_seconds, since_time) {
        (Some(_), Some(_)) => {
            causes.push(Cause::forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
        }
        (Some(s), None) if s < 1 => {
            causes.push(Cause::invalid("sinceSeconds", &s.to_string(), "must be greater than 0"))
        }
        _ => {}
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid("", "PodLogOptions", name, causes));
    }
    let now = unix_nanos(SystemTime::now());
    let since = since_seconds
        .map(|s| now - i128::from(s) * 1_000_000_000)
        .or(since_time.map(|t| i128::from(t) * 1_000_000_000));
    Ok(Options {
        container: req.query.get("container").unwrap_or("").to_string(),
        follow: req.query.flag("follow"),
        previous: req.query.flag("previous"),
        timestamps: req.query.flag("timestamps"),
        tail,
        since,
        limit_bytes,
    })
}

fn names(pod: &Value, field: &str) -> Vec<String> {
    pod["spec"][field].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str().map(str::to_string)).collect()
}

/// `LogLocation`'s choice of container.
fn container(pod: &Value, name: &str, asked: &str) -> Result<String, ApiError> {
    let (containers, init) = (names(pod, "containers"), names(pod, "initContainers"));
    if !asked.is_empty() {
        if containers.iter().chain(&init).any(|c| c == asked) {
            return Ok(asked.to_string());
        }
        return Err(ApiError::bad_request(&format!("container {asked} is not valid for pod {name}")));
    }
    match containers.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(ApiError::bad_request(&format!("a container name must be specified for pod {name}"))),
        many => {
            let mut msg =
                format!("a container name must be specified for pod {name}, choose one of: [{}]", many.join(" "));
            if !init.is_empty() {
                msg.push_str(&format!(" or one of the init containers: [{}]", init.join(" ")));
            }
            Err(ApiError::bad_request(&msg))
        }
    }
}

fn container_status<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    ["containerStatuses", "initContainerStatuses"]
        .iter()
        .flat_map(|f| pod["status"][*f].as_array().into_iter().flatten())
        .find(|s| s["name"] == container)
}

/// Which run the kubelet reads (`validateContainerLogStatus`): true for the previous one.
fn run(pod: &Value, pod_name: &str, c: &str, previous: bool) -> Result<bool, ApiError> {
    let bad = |m: String| ApiError::bad_request(&m);
    let status =
        container_status(pod, c).ok_or_else(|| bad(format!("container {c:?} in pod {pod_name:?} is not available")))?;
    let last_terminated = status["lastState"]["terminated"].is_object();
    let state = &status["state"];
    if previous {
        return match last_terminated {
            true => Ok(true),
            false => Err(bad(format!("previous terminated container {c:?} in pod {pod_name:?} not found"))),
        };
    }
    if state["running"].is_object() || state["terminated"].is_object() {
        return Ok(false);
    }
    if last_terminated {
        return Ok(true);
    }
    match state["waiting"]["reason"].as_str() {
        Some("ErrImagePull") => {
            Err(bad(format!("container {c:?} in pod {pod_name:?} is waiting to start: image can't be pulled")))
        }
        Some("ImagePullBackOff") => Err(bad(format!(
            "container {c:?} in pod {pod_name:?} is waiting to start: trying and failing to pull image"
        ))),
        Some(reason) => Err(bad(format!("container {c:?} in pod {pod_name:?} is waiting to start: {reason}"))),
        None => Err(bad(format!("container {c:?} in pod {pod_name:?} is waiting to start - no logs yet"))),
    }
}

fn format(lines: &[LogLine], timestamps: bool) -> String {
    let mut out = String::new();
    for l in lines {
        if timestamps {
            out.push_str(&rfc3339_nano(l.at));
            out.push(' ');
        }
        out.push_str(&l.text);
        out.push('\n');
    }
    out
}

/// The lines a request selects, as text (`sinceSeconds`/`sinceTime`, then `tailLines`).
fn select(all: &[LogLine], o: &Options) -> String {
    let since: Vec<LogLine> = all.iter().filter(|l| o.since.is_none_or(|s| l.at >= s)).cloned().collect();
    let start = o.tail.map_or(0, |t| since.len().saturating_sub(usize::try_from(t).unwrap_or(usize::MAX)));
    format(&since[start..], o.timestamps)
}

fn running(st: &State, key: &ObjKey, container: &str) -> bool {
    st.store.get(key).and_then(|p| container_status(p, container)).is_some_and(|s| s["state"]["running"].is_object())
}

pub fn get(sh: &Arc<Shared>, st: &State, namespace: &str, name: &str, req: &Request) -> Result<Reply, ApiError> {
    let o = options(req, name)?;
    let pod_key = ObjKey::new("", "pods", namespace, name);
    let pod = st.store.get(&pod_key).ok_or_else(|| ApiError::not_found("", "pods", name))?;
    let c = container(pod, name, &o.container)?;
    if pod["spec"]["nodeName"].as_str().unwrap_or("").is_empty() {
        // LogLocation gives no location for an unscheduled pod: an empty answer, not an error.
        return Ok(text(Bytes::new()));
    }
    let previous = run(pod, name, &c, o.previous)?;
    let key = LogKey::new(namespace, name, &c, previous);
    let lines = st.logs.lines(&key);
    let mut first = select(lines, &o);
    if let Some(limit) = o.limit_bytes {
        first.truncate(floor_char_boundary(&first, usize::try_from(limit).unwrap_or(usize::MAX)));
        return Ok(text(Bytes::from(first)));
    }
    if !o.follow || previous || !running(st, &pod_key, &c) {
        return Ok(text(Bytes::from(first)));
    }
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let (sh, mut seen, timestamps) = (sh.clone(), lines.len(), o.timestamps);
    let (mut changed, mut events, mut shutdown) = (st.logs.subscribe(), st.store.subscribe(), sh.shutdown.clone());
    tokio::spawn(async move {
        if tx.send(Bytes::from(first)).await.is_err() {
            return;
        }
        loop {
            let (new, still_running) = {
                let st = sh.lock();
                let all = st.logs.lines(&key);
                let new = format(all.get(seen..).unwrap_or(&[]), timestamps);
                seen = all.len();
                (new, running(&st, &pod_key, &key.container))
            };
            if !new.is_empty() && tx.send(Bytes::from(new)).await.is_err() {
                return;
            }
            if !still_running {
                return;
            }
            tokio::select! {
                r = changed.changed() => if r.is_err() { return },
                // Any store change may be the pod's container stopping; a lagging receiver only
                // means another look.
                _ = events.recv() => {}
                _ = shutdown.changed() => return,
                _ = tx.closed() => return,
            }
        }
    });
    Ok(Reply::TextStream(rx))
}

fn text(body: Bytes) -> Reply {
    Reply::Raw { status: 200, content_type: "text/plain".into(), body }
}

fn floor_char_boundary(s: &str, n: usize) -> usize {
    (0..=n.min(s.len())).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: Value) -> Value {
        json!({"spec": {"containers": [{"name": "main"}, {"name": "side"}], "initContainers": [{"name": "init"}]},
               "status": {"containerStatuses": [status]}})
    }

    #[test]
    fn container_choice_follows_log_location() {
        let p = pod(json!({}));
        let e = container(&p, "p", "").unwrap_err();
        assert_eq!(
            e.message,
            "a container name must be specified for pod p, choose one of: [main side] or one of the init containers: [init]"
        );
        assert_eq!(container(&p, "p", "init").unwrap(), "init");
        assert_eq!(container(&p, "p", "nope").unwrap_err().message, "container nope is not valid for pod p");
        let one = json!({"spec": {"containers": [{"name": "only"}]}});
        assert_eq!(container(&one, "p", "").unwrap(), "only");
    }

    #[test]
    fn the_run_read_follows_the_kubelet() {
        let waiting = |reason: &str| pod(json!({"name": "main", "state": {"waiting": {"reason": reason}}}));
        let msg = |p: &Value, prev| run(p, "p", "main", prev).unwrap_err().message;
        assert_eq!(
            msg(&waiting("ImagePullBackOff"), false),
            "container \"main\" in pod \"p\" is waiting to start: trying and failing to pull image"
        );
        assert_eq!(
            msg(&waiting("ErrImagePull"), false),
            "container \"main\" in pod \"p\" is waiting to start: image can't be pulled"
        );
        assert_eq!(
            msg(&waiting("ContainerCreating"), false),
            "container \"main\" in pod \"p\" is waiting to start: ContainerCreating"
        );
        assert_eq!(
            msg(&waiting("ContainerCreating"), true),
            "previous terminated container \"main\" in pod \"p\" not found"
        );
        assert_eq!(msg(&pod(json!({"name": "other"})), false), "container \"main\" in pod \"p\" is not available");
        let crash = pod(json!({"name": "main", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                              "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}}));
        assert!(run(&crash, "p", "main", false).unwrap(), "a crash loop shows the last run");
        let running = pod(json!({"name": "main", "state": {"running": {}}}));
        assert!(!run(&running, "p", "main", false).unwrap());
    }

    #[test]
    fn since_then_tail() {
        let lines: Vec<LogLine> = (1..=5).map(|i| LogLine { at: i * 1_000_000_000, text: format!("l{i}") }).collect();
        let o = |tail, since| Options {
            container: String::new(),
            follow: false,
            previous: false,
            timestamps: false,
            tail,
            since,
            limit_bytes: None,
        };
        assert_eq!(select(&lines, &o(Some(2), None)), "l4\nl5\n");
        assert_eq!(select(&lines, &o(None, Some(4_000_000_000))), "l4\nl5\n");
        assert_eq!(select(&lines, &o(Some(0), None)), "");
        let mut t = o(Some(1), None);
        t.timestamps = true;
        assert_eq!(select(&lines, &t), "1970-01-01T00:00:05Z l5\n");
    }
}
