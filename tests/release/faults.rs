//! The fault matrix: each step of install, upgrade, rollback and uninstall (the table is in
//! `fault_steps.rs`) under injected faults.
//!
//! - Transient (500 twice, 503 once, 429 with `Retry-After: 1` once): one run per operation and
//!   fault, with the fault at *every* step at once. Retries absorb them all: the command
//!   succeeds and the history is what the same command leaves without faults.
//! - Persistent (500, connection reset, an answer slower than `--request-timeout`): one run per
//!   step and fault. The command fails after a few attempts, in one paragraph naming the
//!   request; history keeps every record, revisions stay contiguous, the lock is released or
//!   expiring; and the next command repairs it.
//!
//! Every case runs on its own test API server seeded with the operation's starting state, several
//! at once. The matrix and the number of faults injected are printed (to the real stderr, also
//! without `--nocapture`) for the CI note.

use crate::fault_steps::{Kind, Op, Step, PERSISTENT, SLOW, STEPS, TRANSIENT};
use crate::support::{text, Env};
use dimtensor_test_apiserver::{Config, ControllerConfig};
use serde_json::Value;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Each attempt's bound; a slow answer ([`SLOW`]) takes longer, so it times out.
const TIMEOUT: &str = "1s";
/// The lease: a lock left behind by a failed release expires this soon.
const LOCK: Duration = Duration::from_secs(2);
/// A persistent fault's run taking this long is a hang (unbounded retries), not slowness.
const HUNG: Duration = Duration::from_secs(120);
const WORKERS: usize = 16;

/// What a case found: faults it injected, and what went wrong (empty: passed).
#[derive(Default)]
struct Outcome {
    injected: u64,
    /// Per step, the requests its fault hit.
    hits: Vec<u32>,
    problems: Vec<String>,
}

impl Outcome {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.problems.push(what());
        }
    }
}

/// Extra flags of every faulted command: short timeouts and lease.
fn flags(cmd: &[&'static str]) -> Vec<&'static str> {
    let mut v = cmd.to_vec();
    v.extend(["--request-timeout", TIMEOUT, "--lock-duration", "2s"]);
    v
}

/// The release's records as (revision, status), read from the server (what `history` shows).
fn records(env: &Env) -> Vec<(u64, String)> {
    let Some(server) = &env.server else { return Vec::new() };
    let mut out: Vec<(u64, String)> = server
        .list_objects("v1", "Secret", Some(&env.namespace))
        .into_iter()
        .filter(|s| s["type"] == "dimtensor.io/release.v1" && s["metadata"]["labels"]["name"] == "prod")
        .map(|s| {
            let l = &s["metadata"]["labels"];
            (
                l["revision"].as_str().and_then(|r| r.parse().ok()).unwrap_or(0),
                l["status"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    out.sort();
    out
}

fn owned(h: &[(u64, &str)]) -> Vec<(u64, String)> {
    h.iter().map(|(r, s)| (*r, s.to_string())).collect()
}

fn contiguous(h: &[(u64, String)]) -> bool {
    h.windows(2).all(|w| w[1].0 == w[0].0 + 1)
}

fn deployed(h: &[(u64, String)]) -> usize {
    h.iter().filter(|(_, s)| s == "deployed").count()
}

/// The objects of the operation's starting state, to seed each case's server with.
fn starting_state(op: &Op) -> (Vec<Value>, Vec<(u64, String)>) {
    let env = Env::new(&format!("f-{}", op.name));
    for cmd in op.setup {
        let out = env.run(cmd);
        assert!(out.status.success(), "{} setup {cmd:?}: {}", op.name, text(&out.stderr));
    }
    let server = env.server.as_ref().expect("fault tests run on the test server");
    let kinds = [
        ("v1", "Secret"),
        ("v1", "ServiceAccount"),
        ("v1", "Service"),
        ("v1", "ConfigMap"),
        ("apps/v1", "Deployment"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ];
    let objects = kinds.iter().flat_map(|(v, k)| server.list_objects(v, k, Some(&env.namespace))).collect();
    let out = env.run(&flags(op.command));
    assert!(out.status.success(), "{} without faults: {}", op.name, text(&out.stderr));
    (objects, records(&env))
}

fn seeded(op: &Op, objects: &[Value]) -> Env {
    let config = objects.iter().cloned().fold(Config::new().controller(ControllerConfig::ready()), Config::seed);
    Env::with(&format!("f-{}", op.name), config)
}

/// Transient faults at every step at once: the command succeeds with the unfaulted history.
fn transient(op: &Op, kind: &Kind, objects: &[Value], reference: &[(u64, String)]) -> Outcome {
    let env = seeded(op, objects);
    let server = env.server.as_ref().expect("test server");
    let mut o = Outcome::default();
    // Steps that share a request pattern take turns: each fault's hits and the retry that
    // clears it come before the next step's.
    let mut next_nth: Vec<(&str, &str, u32)> = Vec::new();
    for s in op.steps {
        let nth = match next_nth.iter_mut().find(|(m, p, _)| *m == s.method && *p == s.path) {
            Some(slot) => slot.2,
            None => {
                next_nth.push((s.method, s.path, 1));
                1
            }
        };
        if let Some(slot) = next_nth.iter_mut().find(|(m, p, _)| *m == s.method && *p == s.path) {
            slot.2 = nth + kind.times + 1;
        }
        server.add_fault((kind.make)(env.fault(s.method, s.path).nth(nth).times(kind.times)));
    }
    let start = Instant::now();
    let out = env.run(&flags(op.command));
    let took = start.elapsed();
    o.hits = server.fault_hits().into_iter().map(|(_, _, n)| n).collect();
    o.injected = server.faults_fired();
    server.clear_faults();
    let err = text(&out.stderr);
    o.check(out.status.success(), || format!("failed: {err}"));
    for (s, n) in op.steps.iter().zip(o.hits.clone()) {
        o.check(n == kind.times, || format!("{}: fault hit {n} requests, not {}", s.name, kind.times));
    }
    if kind.name.starts_with("429") {
        let waited = Duration::from_secs(op.steps.len() as u64);
        o.check(took >= waited, || format!("Retry-After not honoured: {took:?} for {} steps", op.steps.len()));
    }
    let h = records(&env);
    o.check(h == reference, || format!("history {h:?}, without faults {reference:?}"));
    o.check(env.get("coordination.k8s.io/v1", "Lease", "dimtensor.release.prod").is_none(), || "lease left".into());
    o
}

/// A persistent fault at one step: a clear failure, consistent history, and a repair.
fn persistent(op: &Op, s: &Step, kind: &Kind, objects: &[Value]) -> Outcome {
    let env = seeded(op, objects);
    let server = env.server.as_ref().expect("test server");
    let mut o = Outcome::default();
    let before = records(&env);
    server.add_fault((kind.make)(env.fault(s.method, s.path).nth(s.nth).always()));
    let start = Instant::now();
    let out = env.run(&flags(op.command));
    let took = start.elapsed();
    let fired = server.fault_hits().first().map_or(0, |h| h.2);
    o.hits = vec![fired];
    o.injected = server.faults_fired();
    server.clear_faults();
    if kind.name == "slow" {
        drain(&env);
    }
    let err = text(&out.stderr);
    let names = s.names.replace("{ns}", &env.namespace);
    let succeeds = s.name == "lock release";
    // A hang detector, not a speed check: bounded retries end in seconds even on a loaded machine.
    o.check(took < HUNG, || format!("still running after {took:?}: the retries are not bounded"));
    o.check((2..=4).contains(&fired), || format!("fault hit {fired} requests: expected 2 to 4 attempts"));
    if succeeds {
        o.check(out.status.success(), || format!("exit {:?}: {err}", out.status.code()));
        o.check(err.contains("warning: ") && err.contains(&names), || format!("no warning naming {names}: {err}"));
    } else {
        o.check(out.status.code() == Some(2), || format!("exit {:?}, expected 2", out.status.code()));
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        let error = lines.iter().find(|l| l.starts_with("error: ")).copied().unwrap_or("");
        o.check(error.contains(&names), || format!("the error does not name {names}: {err}"));
        o.check(lines.len() <= 3 && !err.contains("panicked"), || format!("not one paragraph: {err}"));
    }
    let h = records(&env);
    o.check(contiguous(&h), || format!("revisions not contiguous: {h:?}"));
    if op.name != "uninstall" {
        let lost: Vec<_> = before.iter().filter(|(r, _)| !h.iter().any(|(x, _)| x == r)).collect();
        o.check(lost.is_empty(), || format!("records lost: {lost:?} (history {h:?})"));
    }
    if kind.name == "slow" {
        // A timed-out write may land after the command gave up; history stays one of the
        // states a 500 could leave, or the step's write done.
        o.check(deployed(&h) <= 2, || format!("history {h:?}"));
    } else {
        o.check(h == owned(s.leaves), || format!("history {h:?}, expected {:?}", s.leaves));
    }
    // A lease left behind (its release failed, or a slow create landed late) expires.
    if env.get("coordination.k8s.io/v1", "Lease", "dimtensor.release.prod").is_some() {
        std::thread::sleep(LOCK + Duration::from_millis(300));
    }
    let next = if succeeds { op.next_after_success } else { op.repair };
    let fixed = env.run(&flags(next));
    o.check(fixed.status.success(), || format!("the next command {next:?} failed: {}", text(&fixed.stderr)));
    let h = env.statuses("prod");
    o.check(contiguous(&h) && deployed(&h) <= 1, || format!("after the repair: {h:?}"));
    o.check(h.iter().all(|(_, s)| !s.starts_with("pending")), || format!("pending after the repair: {h:?}"));
    let gone = next[0] == "uninstall";
    let done = if gone { h.is_empty() } else { h.last().is_some_and(|(_, s)| s == "deployed") };
    o.check(done, || format!("not repaired by {next:?}: {h:?}"));
    o.check(lock_free(&env), || "the lease is still held after the next command".into());
    o
}

/// Waits until the server has let go of the slow requests: one may still be carried out after
/// the command gave up on it.
fn drain(env: &Env) {
    let Some(server) = &env.server else { return };
    let deadline = Instant::now() + SLOW * 2;
    while server.in_flight() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// No lease, or one whose holder stopped renewing long enough ago (a command that had nothing
/// to change leaves an expired lease in place: it never takes the lock).
fn lock_free(env: &Env) -> bool {
    use k8s_openapi::jiff::{SignedDuration, Timestamp};
    let Some(lease) = env.get("coordination.k8s.io/v1", "Lease", "dimtensor.release.prod") else { return true };
    let spec = &lease["spec"];
    let renewed = spec["renewTime"].as_str().and_then(|t| t.parse::<Timestamp>().ok());
    let secs = spec["leaseDurationSeconds"].as_i64().unwrap_or(0);
    renewed
        .and_then(|r| r.checked_add(SignedDuration::from_secs(secs)).ok())
        .is_some_and(|expires| expires <= Timestamp::now())
}

/// One case, run on a worker thread.
type Job<'a> = Box<dyn FnOnce() -> Outcome + Send + 'a>;

/// Runs jobs on a few threads (cases mostly wait: on backoff, timeouts, leases).
fn pool<'a>(jobs: Vec<Job<'a>>) -> Vec<Outcome> {
    let slots: Vec<Mutex<Option<Job<'a>>>> = jobs.into_iter().map(|j| Mutex::new(Some(j))).collect();
    let results: Vec<Mutex<Option<Outcome>>> = slots.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(slot) = slots.get(i) else { return };
                let job = slot.lock().ok().and_then(|mut j| j.take());
                if let Some(job) = job {
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
                        .unwrap_or_else(|_| Outcome { problems: vec!["panicked".into()], ..Outcome::default() });
                    if let Ok(mut r) = results[i].lock() {
                        *r = Some(outcome);
                    }
                }
            });
        }
    });
    results.into_iter().map(|r| r.into_inner().ok().flatten().unwrap_or_default()).collect()
}

#[test]
fn every_step_survives_transient_faults_and_recovers_from_persistent_ones() {
    if std::env::var_os("DIMTENSOR_E2E_KUBECONFIG").is_some() {
        eprintln!("skipped on a real cluster: needs fault injection");
        return;
    }
    let start = Instant::now();
    let states: Vec<(Vec<Value>, Vec<(u64, String)>)> = STEPS.iter().map(|op| starting_state(op)).collect();
    let mut jobs: Vec<Job<'_>> = Vec::new();
    let mut labels: Vec<(usize, Option<usize>, &Kind)> = Vec::new();
    for (i, op) in STEPS.iter().enumerate() {
        let (objects, reference) = &states[i];
        for kind in &TRANSIENT {
            jobs.push(Box::new(move || transient(op, kind, objects, reference)));
            labels.push((i, None, kind));
        }
        for (j, s) in op.steps.iter().enumerate() {
            for kind in &PERSISTENT {
                jobs.push(Box::new(move || persistent(op, s, kind, objects)));
                labels.push((i, Some(j), kind));
            }
        }
    }
    let outcomes = pool(jobs);
    let find = |i: usize, j: Option<usize>, kind: &str| {
        labels.iter().position(|l| l.0 == i && l.1 == j && l.2.name == kind).map(|k| &outcomes[k])
    };
    // One row per step: for each fault, the requests it hit there ("!" marks a failed case).
    let mut report = format!("\nfault matrix: requests each fault hit, ! marks a failed case\n{:<38}", "step");
    for kind in TRANSIENT.iter().chain(&PERSISTENT) {
        report.push_str(&format!(" {:>7}", kind.name));
    }
    report.push('\n');
    for (i, op) in STEPS.iter().enumerate() {
        for (j, s) in op.steps.iter().enumerate() {
            report.push_str(&format!("{:<38}", format!("{} {}", op.name, s.name)));
            let cells = TRANSIENT
                .iter()
                .map(|k| find(i, None, k.name).map(|o| (o.hits.get(j).copied().unwrap_or(0), o.problems.is_empty())))
                .chain(PERSISTENT.iter().map(|k| {
                    find(i, Some(j), k.name).map(|o| (o.hits.first().copied().unwrap_or(0), o.problems.is_empty()))
                }));
            for cell in cells {
                let (n, ok) = cell.unwrap_or((0, false));
                report.push_str(&format!(" {:>7}", format!("{n}{}", if ok { "" } else { "!" })));
            }
            report.push('\n');
        }
    }
    let mut failures = Vec::new();
    let (mut transient_faults, mut persistent_faults) = (0, 0);
    for (label, o) in labels.iter().zip(&outcomes) {
        let op = STEPS[label.0];
        if label.1.is_none() {
            transient_faults += o.injected;
        } else {
            persistent_faults += o.injected;
        }
        if !o.problems.is_empty() {
            let step = label.1.map_or("every step".to_string(), |j| op.steps[j].name.to_string());
            failures.push(format!("{} / {} / {}: {}", op.name, step, label.2.name, o.problems.join("; ")));
        }
    }
    let steps: usize = STEPS.iter().map(|op| op.steps.len()).sum();
    report.push_str(&format!(
        "{} operations, {steps} steps, {} cases ({} transient runs with a fault at every step, {} persistent); \
         faults injected: {} ({transient_faults} transient, {persistent_faults} persistent); {} failed; {:.0?}\n",
        STEPS.len(),
        outcomes.len(),
        STEPS.len() * TRANSIENT.len(),
        steps * PERSISTENT.len(),
        transient_faults + persistent_faults,
        failures.len(),
        start.elapsed()
    ));
    // Straight to the process's stderr: the test harness captures eprintln!, and CI wants this.
    let _ = std::io::stderr().write_all(report.as_bytes());
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// kube-rs would retry 429/503/504 on its own (up to 15 times, for as long as Retry-After
/// says); it is switched off, so a persistent 503 costs exactly our four attempts.
#[test]
fn retries_are_ours_alone_and_bounded() {
    let env = Env::new("f-retries");
    let Some(server) = env.server_only("needs fault injection") else { return };
    server.add_fault(env.fault("GET", r"/secrets\?.*labelSelector=owner").always().status(503));
    let out = env.run(&flags(&["upgrade", "prod", "--install", "--overlay", "cronjob", "--yes"]));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("list Secret/") && err.contains("(gave up after 4 attempts)"), "{err}");
    assert_eq!(server.fault_hits()[0].2, 4, "{err}");
}
