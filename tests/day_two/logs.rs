//! `logs` end to end: prefixes, `--index`, `-c`, `--tail`, `--since`, `--timestamps`,
//! `--previous`, `-f` following a Job's retry, `--max-log-requests`, and the `pods/log` permission.

use super::common::{text, KILL_AFTER};
use super::support::{assert_ok, Env};
use super::{container, env, install, pod_of, running, set_status};
use dimtensor_test_apiserver::{Config, ForbidRule, TestServer};
use serde_json::json;
use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Installs the batch overlay (an Indexed Job) and seeds three running pods with logs.
fn batch_with_logs(env: &Env) -> Option<&TestServer> {
    install(env, "batch", "batch");
    let server = env.server_only("pod logs need seeded pods")?;
    for i in 0..3u32 {
        let name = format!("batch-dimtensor-{i}-p{i}x");
        server
            .insert_object(pod_of(server, &env.namespace, "Job", "batch-dimtensor", &name, Some(i), running()))
            .unwrap();
        server.append_log(&env.namespace, &name, "dimtensor", &format!("index {i}: loaded config\nindex {i}: done"));
    }
    Some(server)
}

#[test]
fn logs_prefix_every_line_with_its_pod_and_completion_index() {
    let env = env("logs");
    let Some(server) = batch_with_logs(&env) else { return };
    server.clear_log();
    let out = assert_ok(&env.run(&["logs", "batch", "--max-log-requests", "2"]));
    let expected: Vec<String> = (0..3)
        .flat_map(|i| {
            let p = format!("[#{i} pod/batch-dimtensor-{i}-p{i}x/dimtensor] ");
            [format!("{p}index {i}: loaded config"), format!("{p}index {i}: done")]
        })
        .collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), expected, "in index order, each block whole");
    let logs: Vec<_> = server.requests().into_iter().filter(|r| r.path.ends_with("/log")).collect();
    assert_eq!(logs.len(), 3, "one request per container");
    assert!(logs.iter().all(|r| r.param("container").as_deref() == Some("dimtensor")));

    let one = assert_ok(&env.run(&["logs", "batch", "--index", "1", "--tail", "1", "-c", "dimtensor"]));
    assert_eq!(one, "[#1 pod/batch-dimtensor-1-p1x/dimtensor] index 1: done\n");
    let stamped = assert_ok(&env.run(&["logs", "batch", "--index", "0", "--timestamps", "--since", "1h"]));
    let first = stamped.lines().next().unwrap_or_default();
    let rest = first.strip_prefix("[#0 pod/batch-dimtensor-0-p0x/dimtensor] ").expect("prefixed");
    let (time, line) = rest.split_once(' ').unwrap();
    assert!(time.ends_with('Z') && line == "index 0: loaded config", "{stamped}");
    assert!(server.requests().iter().any(|r| r.param("sinceSeconds").as_deref() == Some("3600")));

    let bad = env.run(&["logs", "batch", "-c", "sidecar"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr)
            .contains("-c sidecar: no pod of the release has a container named sidecar; its containers: dimtensor"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn logs_previous_shows_the_run_that_crashed_and_says_which_have_none() {
    let env = env("prev");
    install(&env, "train", "training");
    let Some(server) = env.server_only("crash loops need seeded pod statuses") else { return };
    let crash = json!({"phase": "Running", "containerStatuses": [{"name": "dimtensor", "restartCount": 2,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s restarting failed container"}},
        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]});
    let ns = &env.namespace;
    server.insert_object(pod_of(server, ns, "Job", "train-dimtensor", "train-dimtensor-c1", None, crash)).unwrap();
    server.set_previous_log(ns, "train-dimtensor-c1", "dimtensor", "epoch 3/10\nKilled");
    let pull = container(json!({"waiting": {"reason": "ImagePullBackOff"}}));
    server.insert_object(pod_of(server, ns, "Job", "train-dimtensor", "train-dimtensor-c2", None, pull)).unwrap();

    let out = env.run(&["logs", "train", "--previous"]);
    assert_eq!(
        text(&out.stdout),
        "[pod/train-dimtensor-c1/dimtensor] epoch 3/10\n[pod/train-dimtensor-c1/dimtensor] Killed\n"
    );
    assert!(text(&out.stderr).contains("pod/train-dimtensor-c2/dimtensor: no previous run"), "{}", text(&out.stderr));
    let now = env.run(&["logs", "train"]);
    assert_eq!(text(&now.stdout), text(&out.stdout), "a crash loop shows its last run, as the kubelet serves it");
    assert!(
        text(&now.stderr).contains("pod/train-dimtensor-c2/dimtensor: no logs: waiting to start (ImagePullBackOff)")
    );
    assert_eq!(now.status.code(), Some(0));

    let refused = env.run(&["logs", "train", "--previous", "-f"]);
    assert_eq!(refused.status.code(), Some(2));
}

/// Reads a child's stdout lines on a thread, so a test can wait for one without blocking.
fn lines_of(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a child whose stdout is read elsewhere; returns its exit code and stderr.
fn end(mut child: std::process::Child, what: &str) -> (Option<i32>, String) {
    let mut stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + KILL_AFTER;
    let code = loop {
        if let Some(status) = child.try_wait().expect("child") {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`{what}` was still running after {KILL_AFTER:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (code, reader.join().unwrap_or_default())
}

fn wait_for(rx: &mpsc::Receiver<String>, seen: &mut Vec<String>, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !seen.iter().any(|l| l.contains(want)) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => seen.push(l),
            Err(_) => panic!("no line with {want:?} within 15s; saw {seen:#?}"),
        }
    }
}

#[test]
fn logs_follow_new_pods_as_a_job_retries_and_end_when_it_is_done() {
    let env = env("follow");
    install(&env, "train", "training");
    let Some(server) = env.server_only("a retry needs seeded pods") else { return };
    let ns = env.namespace.clone();
    let first = pod_of(server, &ns, "Job", "train-dimtensor", "train-dimtensor-a", None, running());
    server.insert_object(first).unwrap();
    server.append_log(&ns, "train-dimtensor-a", "dimtensor", "attempt 1: starting");
    let mut child = env.spawn(&["logs", "train", "-f"]);
    let rx = lines_of(&mut child);
    let mut seen = Vec::new();
    wait_for(&rx, &mut seen, "attempt 1: starting");
    server.append_log(&ns, "train-dimtensor-a", "dimtensor", "attempt 1: CUDA error");
    wait_for(&rx, &mut seen, "attempt 1: CUDA error");

    // The first pod fails; the Job controller starts a second one.
    let failed = json!({"phase": "Failed", "containerStatuses": [{"name": "dimtensor", "restartCount": 0,
        "state": {"terminated": {"reason": "Error", "exitCode": 1}}}]});
    set_status(server, &ns, "train-dimtensor-a", failed);
    server.append_log(&ns, "train-dimtensor-b", "dimtensor", "attempt 2: starting");
    server.insert_object(pod_of(server, &ns, "Job", "train-dimtensor", "train-dimtensor-b", None, running())).unwrap();
    wait_for(&rx, &mut seen, "[pod/train-dimtensor-b/dimtensor] attempt 2: starting");
    server.append_log(&ns, "train-dimtensor-b", "dimtensor", "attempt 2: done");
    wait_for(&rx, &mut seen, "attempt 2: done");

    // The pod ends, then the Job is marked complete: the command ends by itself.
    let done = json!({"phase": "Succeeded", "containerStatuses": [{"name": "dimtensor", "restartCount": 0,
        "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]});
    set_status(server, &ns, "train-dimtensor-b", done);
    let mut job = server.get_object("batch/v1", "Job", Some(&ns), "train-dimtensor").unwrap();
    job["status"] = json!({"succeeded": 1, "failed": 1, "conditions": [{"type": "Complete", "status": "True"}]});
    server.insert_object(job).unwrap();
    let (code, stderr) = end(child, "logs -f");
    assert_eq!(code, Some(0), "{stderr}");
    seen.extend(rx.try_iter());
    let a = seen.iter().filter(|l| l.starts_with("[pod/train-dimtensor-a/dimtensor] ")).count();
    assert_eq!(a, 2, "no line shown twice: {seen:#?}");
}

#[test]
fn follow_keeps_at_most_max_log_requests_streams_open() {
    let env = env("max");
    let Some(server) = batch_with_logs(&env) else { return };
    server.clear_log();
    let mut child = env.spawn(&["logs", "batch", "-f", "--max-log-requests", "1"]);
    let rx = lines_of(&mut child);
    let mut seen = Vec::new();
    wait_for(&rx, &mut seen, "index 0: done");
    std::thread::sleep(Duration::from_millis(300));
    seen.extend(rx.try_iter());
    let open = server.requests().into_iter().filter(|r| r.path.ends_with("/log")).count();
    assert_eq!(open, 1, "one stream at a time: {seen:#?}");
    assert!(!seen.iter().any(|l| l.contains("index 1")), "{seen:#?}");
    // Index 0's container ends: its stream closes and the next one opens.
    let ns = env.namespace.clone();
    set_status(
        server,
        &ns,
        "batch-dimtensor-0-p0x",
        container(json!({"terminated": {"reason": "Completed", "exitCode": 0}})),
    );
    wait_for(&rx, &mut seen, "index 1: done");
    std::thread::sleep(Duration::from_millis(300));
    seen.extend(rx.try_iter());
    let zero = seen.iter().filter(|l| l.contains("index 0: done")).count();
    assert_eq!(zero, 1, "a run is shown once: {seen:#?}");
    let _ = child.kill();
    let (_, stderr) = end(child, "logs -f");
    assert!(stderr.contains("more than 1 log streams: 1 are followed at once (--max-log-requests 1)"), "{stderr}");
}

#[test]
fn reading_logs_needs_pods_log_and_says_so() {
    let config =
        Config::new().token("admin-token", "dev").forbid(ForbidRule::user("dev").verb("get").resource("pods/log"));
    let env = Env::with("nolog", config);
    let Some(_) = batch_with_logs(&env) else { return };
    let out = env.run(&["logs", "batch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot get resource \"pods/log\""), "{}", text(&out.stderr));
}
