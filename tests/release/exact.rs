//! Issue 18: `diff` as exact as a server-side dry run, quiet about what controllers write, and
//! skipping the dry run of objects whose answer the release's records already know (the skip
//! rule in `src/release/stamp.rs`): which objects must still be dry-run, and that both paths print
//! the same (`common::diff_both_ways`).

use crate::common::diff_both_ways;
use crate::support::{assert_ok, text, Env};
use dimtensor_test_apiserver::{Config, ControllerConfig};
use std::process::Output;

/// Dry-run requests the server saw since its log was last cleared (test server only).
fn dry_runs(env: &Env) -> Vec<String> {
    let Some(s) = &env.server else { return Vec::new() };
    s.requests().into_iter().filter(|r| r.dry_run).map(|r| r.path).collect()
}

fn diff(env: &Env, args: &[&str]) -> Output {
    diff_both_ways(|a| env.run(a), args)
}

/// The dry runs of `diff prod` on the skip path (after checking it prints as the full path).
fn skip_path_dry_runs(env: &Env) -> Vec<String> {
    diff(env, &["diff", "prod"]);
    if let Some(s) = &env.server {
        s.clear_log();
    }
    env.run(&["diff", "prod"]);
    dry_runs(env)
}

/// Installs `prod` (inference: ServiceAccount, Service, Deployment, HPA) with the controllers
/// held until a request matching `release_at` (they write after the install answered, and
/// after the diff's first read), then diffs it at once.
fn diff_right_after_install(name: &str, extra: &[&str], release_at: &str) {
    let config = Config::new().controller(ControllerConfig::ready()).hold_controllers(true);
    let env = Env::with(name, config);
    assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--yes"]));
    if let Some(s) = &env.server {
        s.add_fault(env.fault("", release_at).run_controllers());
    }
    let out = env.run(&[&["diff", "prod"], extra].concat());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "nothing changed:\n{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("0 to add, 0 to change, 0 to delete, 4 unchanged"), "{stdout}");
    assert!(!stdout.contains("deployment.kubernetes.io/revision") && !stdout.contains("secrets"), "{stdout}");
    assert!(stdout.contains("Drift since revision 1") && stdout.contains("none"), "{stdout}");
    if let Some(s) = &env.server {
        assert_eq!(s.faults_fired(), 1, "the controllers wrote during the diff");
        let deploy = env.get("apps/v1", "Deployment", "prod-dimtensor").expect("deployment");
        assert_eq!(deploy["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1");
        let sa = env.get("v1", "ServiceAccount", "prod-dimtensor").expect("service account");
        assert!(sa["secrets"][0]["name"].as_str().is_some_and(|n| n.starts_with("prod-dimtensor-token-")), "{sa}");
    }
}

#[test]
fn diff_right_after_install_dry_runs_see_controller_writes_the_list_missed() {
    // The LIST is older than the dry runs: each dry run is compared with the object at its own
    // resourceVersion, and fields only a controller owns are never ours to report.
    diff_right_after_install("fresh-dry", &["--server-dry-run-all"], r"dryRun=All");
}

#[test]
fn diff_right_after_install_on_the_skip_path_is_quiet_too() {
    diff_right_after_install("fresh-skip", &[], r"/namespaces/[^/]+/[a-z]+(\?|$)");
}

#[test]
fn a_replace_diff_shows_the_defaulted_new_object_against_the_live_one() {
    let env = Env::new("replace");
    assert_ok(&env.run(&["install", "prod", "--overlay", "training", "--yes"]));
    let out = diff(&env, &["diff", "prod", "--set", "image.tag=4.3.0"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let job = stdout.split("(replace)").nth(1).expect("the Job is replaced").split("\n\n").next().unwrap_or("");
    let changed: Vec<&str> = job
        .lines()
        .filter(|l| (l.starts_with('+') || l.starts_with('-')) && !l.starts_with("+++") && !l.starts_with("---"))
        .collect();
    assert!(changed.iter().any(|l| l.contains("image: docker.io/dimtensor:4.3.0-ml")), "{stdout}");
    for noise in ["controller-uid", "completionMode", "suspend", "job-tracking", "creationTimestamp", "job-name"] {
        assert!(!changed.iter().any(|l| l.contains(noise)), "{noise} is the server's, not a change:\n{stdout}");
    }
    assert!(changed.iter().all(|l| l.contains("image:") || l.contains("app.kubernetes.io/version")), "{stdout}");
}

/// `prod` installed, the log cleared.
fn installed(name: &str) -> Env {
    let env = Env::new(name);
    assert_ok(&env.run(&["install", "prod", "--overlay", "inference", "--yes"]));
    if let Some(s) = &env.server {
        s.clear_log();
    }
    env
}

fn kubectl_ok(env: &Env, args: &[&str], stdin: Option<&str>) {
    let out = env.kubectl_with(args, stdin);
    assert!(out.status.success(), "kubectl {args:?}: {}", text(&out.stderr));
}

#[test]
fn an_unchanged_release_is_diffed_without_a_dry_run() {
    let env = installed("skip");
    let out = env.run(&["diff", "prod"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    if let Some(s) = &env.server {
        assert_eq!(dry_runs(&env), Vec::<String>::new(), "every object's answer is known");
        assert!(s.requests().iter().all(|r| r.method == "GET"), "reads only");
    }
    diff(&env, &["diff", "prod"]);
    diff(&env, &["diff", "prod", "-o", "json"]);
}

#[test]
fn an_object_deleted_and_made_again_identical_is_dry_run() {
    let env = installed("recreated");
    let rendered = assert_ok(&env.run(&["render", "prod", "--overlay", "inference"]));
    let service = rendered.split("---\n").find(|d| d.contains("kind: Service\n")).expect("a Service").to_string();
    kubectl_ok(&env, &["delete", "service", "prod-dimtensor", "-n", &env.namespace], None);
    let apply =
        ["apply", "--server-side", "--field-manager", "kubectl-dimtensor/prod", "-n", &env.namespace, "-f", "-"];
    kubectl_ok(&env, &apply, Some(&service));
    let runs = skip_path_dry_runs(&env);
    if env.server.is_some() {
        assert!(runs.iter().any(|p| p.ends_with("/services/prod-dimtensor")), "a new uid: {runs:?}");
        assert!(!runs.iter().any(|p| p.contains("/deployments/")), "the others are known: {runs:?}");
    }
}

#[test]
fn an_update_or_a_forced_apply_by_another_manager_is_dry_run() {
    let env = installed("others");
    let ns = env.namespace.clone();
    let label = r#"{"metadata":{"labels":{"app.kubernetes.io/version":"9.9.9"}}}"#;
    kubectl_ok(&env, &["patch", "deployment", "prod-dimtensor", "-n", &ns, "--type", "merge", "-p", label], None);
    let hpa = format!(
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: prod-dimtensor\n  namespace: {ns}\nspec:\n  maxReplicas: 7\n"
    );
    let apply = ["apply", "--server-side", "--force-conflicts", "--field-manager", "someone-else", "-f", "-"];
    kubectl_ok(&env, &apply, Some(&hpa));
    // An update that touches nothing the release set changes nothing it owns: still known.
    let note = r#"{"metadata":{"annotations":{"team":"ml"}}}"#;
    kubectl_ok(&env, &["patch", "service", "prod-dimtensor", "-n", &ns, "--type", "merge", "-p", note], None);
    let out = diff(&env, &["diff", "prod"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("Drift: 2 modified"), "{}", text(&out.stdout));
    let runs = skip_path_dry_runs(&env);
    if env.server.is_some() {
        assert!(runs.iter().any(|p| p.ends_with("/deployments/prod-dimtensor")), "updated: {runs:?}");
        assert!(runs.iter().any(|p| p.ends_with("/horizontalpodautoscalers/prod-dimtensor")), "forced: {runs:?}");
        assert!(!runs.iter().any(|p| p.contains("/services/")), "untouched fields: {runs:?}");
    }
}

#[test]
fn a_terminating_object_is_dry_run() {
    let env = installed("terminating");
    let ns = env.namespace.clone();
    let hold = r#"{"metadata":{"finalizers":["example.com/hold"]}}"#;
    kubectl_ok(&env, &["patch", "serviceaccount", "prod-dimtensor", "-n", &ns, "--type", "merge", "-p", hold], None);
    kubectl_ok(&env, &["delete", "serviceaccount", "prod-dimtensor", "-n", &ns, "--wait=false"], None);
    let sa = env.get("v1", "ServiceAccount", "prod-dimtensor").expect("kept by its finalizer");
    assert!(sa["metadata"]["deletionTimestamp"].is_string(), "{sa}");
    let runs = skip_path_dry_runs(&env);
    if env.server.is_some() {
        assert!(runs.iter().any(|p| p.ends_with("/serviceaccounts/prod-dimtensor")), "terminating: {runs:?}");
        assert!(!runs.iter().any(|p| p.contains("/services/")), "the others are known: {runs:?}");
    }
    let free = r#"{"metadata":{"finalizers":null}}"#;
    kubectl_ok(&env, &["patch", "serviceaccount", "prod-dimtensor", "-n", &ns, "--type", "merge", "-p", free], None);
}

#[test]
fn a_new_server_version_dry_runs_everything() {
    let env = installed("version");
    let Some(s) = env.server_only("changes the server's version") else { return };
    s.set_git_version("v1.24.17");
    let out = diff(&env, &["diff", "prod"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    s.clear_log();
    assert_eq!(env.run(&["diff", "prod"]).status.code(), Some(0));
    assert_eq!(dry_runs(&env).len(), 4, "no stamp holds across a server upgrade");
}

#[test]
fn upgrade_and_rollback_skip_what_they_know_and_stamp_what_they_apply() {
    let env = installed("stamps");
    let memory = ["--set", "resources.limits.memory=3Gi"];
    let out = assert_ok(&env.run(&[&["upgrade", "prod", "--yes"], &memory[..]].concat()));
    assert!(out.contains("1 to change") && out.contains("3 unchanged"), "{out}");
    if let Some(s) = &env.server {
        let runs = dry_runs(&env);
        assert_eq!(runs.len(), 1, "only the changed Deployment is dry-run: {runs:?}");
        let writes: Vec<_> = s.requests().into_iter().filter(|r| r.method == "PATCH" && !r.dry_run).collect();
        assert_eq!(writes.len(), 1, "skipped objects are not applied either");
    }
    for step in [&["diff", "prod"][..], &["rollback", "prod", "--yes"], &["diff", "prod"]] {
        if let Some(s) = &env.server {
            s.clear_log();
        }
        let out = env.run(step);
        assert!(out.status.success(), "{step:?}: {}{}", text(&out.stdout), text(&out.stderr));
        if env.server.is_some() {
            let want = if step[0] == "rollback" { 1 } else { 0 };
            assert_eq!(dry_runs(&env).len(), want, "{step:?}: {:?}", dry_runs(&env));
        }
    }
    diff(&env, &["diff", "prod"]);
}

#[test]
fn a_server_answering_429_slows_the_diff_down_without_failing_it() {
    let env = installed("busy");
    let Some(s) = env.server_only("injects 429s") else { return };
    s.add_fault(env.fault("PATCH", "dryRun=All").times(6).too_many_requests(1));
    let out = env.run(&["diff", "prod", "--server-dry-run-all", "--concurrency", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(s.faults_fired(), 6, "every 429 was answered by waiting and sending again");
}
