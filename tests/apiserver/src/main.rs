//! `test-apiserver`: runs the in-memory API server until interrupted and prints its URL.

use dimtensor_test_apiserver::{Config, ControllerConfig, CustomResource, DeploymentBehaviour, ForbidRule, TestServer};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: test-apiserver [options]
  --port N                 listen on 127.0.0.1:N (default: a free port)
  --kubeconfig PATH        write a kubeconfig for the server there
  --namespace NS           kubeconfig default namespace (default: default)
  --token TOKEN            kubeconfig bearer token (default: test-token)
  --user TOKEN=USER        accept TOKEN as USER (repeatable; enables authentication)
  --anonymous-user USER    who a request without a token is (kubectl sends none over http)
  --forbid USER:VERB:RESOURCE[:NAMESPACE]   deny with 403 (\"*\" matches anything; repeatable)
  --seed FILE              store the objects of a YAML/JSON stream at start (repeatable)
  --pod-log NS/POD/CONTAINER=FILE   the container's log (pods/log) at start (repeatable)
  --controller MODE        ready | never | deadline | old-replicas | off (default: ready)
  --controller-delay-ms N  delay before workloads get their status (default: 0)
  --clock-offset SECS      the server's clock is this far ahead (negative: behind)
  --aggregated-discovery   answer aggregated discovery like a 1.30+ server
  --service-node-port-range LOW-HIGH   node ports the server takes (default: 30000-32767)
  --latency-ms N           add N ms of round trip to every request (and to each new connection)
  --write-cpu-ms N         burn N ms of CPU per write, dry run or not (a real server's admission and merge)
  --git-version V          what /version says (default: v1.24.0)
  --log                    print every request to stderr
  --crd G/V/KIND/PLURAL[/cluster]  serve a custom resource (repeatable)
Prints the server URL on the first line of stdout, then serves until SIGINT or SIGTERM.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("test-apiserver: {e}");
            ExitCode::from(2)
        }
    }
}

struct Options {
    config: Config,
    kubeconfig: Option<String>,
    namespace: String,
    token: String,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        config: Config::new().controller(ControllerConfig::ready()),
        kubeconfig: None,
        namespace: "default".into(),
        token: "test-token".into(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{a} needs a value\n{USAGE}"));
        match a.as_str() {
            "--port" => o.config.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--kubeconfig" => o.kubeconfig = Some(value()?),
            "--namespace" => o.namespace = value()?,
            "--token" => o.token = value()?,
            "--user" => {
                let v = value()?;
                let (t, u) = v.split_once('=').ok_or("--user wants TOKEN=USER")?;
                o.config = std::mem::take(&mut o.config).token(t, u);
            }
            "--forbid" => o.config.forbid.push(forbid_rule(&value()?)?),
            "--anonymous-user" => o.config.anonymous_user = Some(value()?),
            "--seed" => {
                let path = value()?;
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
                let docs = dimtensor_test_apiserver::yaml::parse_stream(&text).map_err(|e| format!("{path}: {e}"))?;
                o.config.seed.extend(docs);
            }
            "--pod-log" => {
                let v = value()?;
                let (key, path) = v.split_once('=').ok_or("--pod-log wants NAMESPACE/POD/CONTAINER=FILE")?;
                let [ns, pod, container] = key.split('/').collect::<Vec<_>>()[..] else {
                    return Err(format!("--pod-log wants NAMESPACE/POD/CONTAINER=FILE, got {v:?}"));
                };
                let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
                o.config = std::mem::take(&mut o.config).pod_log(ns, pod, container, &text);
            }
            "--controller" => {
                o.config.controller = match value()?.as_str() {
                    "ready" => ControllerConfig { delay: o.config.controller.delay, ..ControllerConfig::ready() },
                    "never" => ControllerConfig { delay: o.config.controller.delay, ..ControllerConfig::never_ready() },
                    "deadline" => ControllerConfig::never_ready()
                        .deployments(DeploymentBehaviour::DeadlineExceeded)
                        .delay(o.config.controller.delay),
                    "old-replicas" => ControllerConfig::ready()
                        .deployments(DeploymentBehaviour::OldReplicasRemain)
                        .delay(o.config.controller.delay),
                    "off" => ControllerConfig::off(),
                    other => return Err(format!("--controller: unknown mode {other:?}")),
                }
            }
            "--controller-delay-ms" => {
                let ms: u64 = value()?.parse().map_err(|e| format!("--controller-delay-ms: {e}"))?;
                o.config.controller.delay = Duration::from_millis(ms);
            }
            "--clock-offset" => {
                o.config.clock_offset = value()?.parse().map_err(|e| format!("--clock-offset: {e}"))?;
            }
            "--aggregated-discovery" => o.config.aggregated_discovery = true,
            "--service-node-port-range" => {
                let v = value()?;
                let range = v.split_once('-').and_then(|(lo, hi)| Some((lo.parse().ok()?, hi.parse().ok()?)));
                let (lo, hi) = range
                    .filter(|(lo, hi)| lo <= hi)
                    .ok_or(format!("--service-node-port-range wants LOW-HIGH, got {v:?}"))?;
                o.config.node_port_range = (lo, hi);
            }
            "--latency-ms" => o.config.latency = millis("--latency-ms", &value()?)?,
            "--write-cpu-ms" => o.config.write_cpu = millis("--write-cpu-ms", &value()?)?,
            "--git-version" => o.config.git_version = Some(value()?),
            "--log" => o.config.log_to_stderr = true,
            "--crd" => o.config.custom_resources.push(custom_resource(&value()?)?),
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown option {other:?}\n{USAGE}")),
        }
    }
    Ok(o)
}

fn millis(flag: &str, v: &str) -> Result<Duration, String> {
    let ms: f64 = v.parse().map_err(|e| format!("{flag}: {e}"))?;
    if !(0.0..=60_000.0).contains(&ms) {
        return Err(format!("{flag}: {ms} is not between 0 and 60000"));
    }
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

fn forbid_rule(spec: &str) -> Result<ForbidRule, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    if !(3..=4).contains(&parts.len()) {
        return Err(format!("--forbid wants USER:VERB:RESOURCE[:NAMESPACE], got {spec:?}"));
    }
    let mut r = if parts[0] == "*" { ForbidRule::any_user() } else { ForbidRule::user(parts[0]) };
    if parts[1] != "*" {
        r = r.verb(parts[1]);
    }
    if parts[2] != "*" {
        r = r.resource(parts[2]);
    }
    if let Some(ns) = parts.get(3).filter(|n| **n != "*") {
        r = r.namespace(ns);
    }
    Ok(r)
}

fn custom_resource(spec: &str) -> Result<CustomResource, String> {
    let parts: Vec<&str> = spec.split('/').collect();
    match parts.as_slice() {
        [g, v, k, p] => Ok(CustomResource::new(g, v, k, p)),
        [g, v, k, p, "cluster"] => Ok(CustomResource::new(g, v, k, p).cluster_scoped()),
        _ => Err(format!("--crd wants GROUP/VERSION/KIND/PLURAL[/cluster], got {spec:?}")),
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let server = TestServer::start(o.config).await.map_err(|e| e.to_string())?;
        if let Some(path) = &o.kubeconfig {
            server
                .write_kubeconfig(std::path::Path::new(path), &o.namespace, &o.token)
                .map_err(|e| format!("{path}: {e}"))?;
        }
        let mut out = std::io::stdout();
        writeln!(out, "{}", server.url()).and_then(|_| out.flush()).map_err(|e| e.to_string())?;
        wait_for_signal().await;
        server.shutdown();
        Ok(())
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let args: Vec<String> = [
            "--port",
            "0",
            "--user",
            "t=limited",
            "--forbid",
            "limited:list:pods",
            "--crd",
            "x.io/v1/Thing/things/cluster",
            "--controller",
            "never",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let o = parse(&args).unwrap();
        assert_eq!(o.config.tokens.get("t").map(String::as_str), Some("limited"));
        assert!(o.config.forbid[0].matches("limited", "list", "", "pods", "x"));
        assert!(!o.config.custom_resources[0].namespaced);
        assert_eq!(o.config.controller.deployments, DeploymentBehaviour::NeverReady);
        assert!(parse(&["--bogus".to_string()]).is_err());
        let bad = parse(&["--pod-log".to_string(), "ns/pod=x".to_string()]);
        assert!(bad.is_err_and(|e| e.contains("NAMESPACE/POD/CONTAINER")));
    }
}
