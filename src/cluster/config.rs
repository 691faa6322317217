//! Client configuration the way kubectl builds it: `$KUBECONFIG` or `--kubeconfig`, `--context`,
//! `--cluster`, `--user`, impersonation and a per-request timeout. Token, client-certificate and
//! exec-plugin credentials come from kube-rs. Errors never repeat credentials.

use super::ClusterError;
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::path::PathBuf;
use std::time::Duration;

/// kubectl's connection flags.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub namespace: Option<String>,
    pub as_user: Option<String>,
    pub as_groups: Vec<String>,
    pub request_timeout: Option<Duration>,
    /// `--concurrency`: requests in flight at once (None: [`super::limit::DEFAULT`]).
    pub concurrency: Option<usize>,
}

/// Without `--request-timeout`, one request may take this long.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Who the connection authenticates as, in the kubeconfig's words, for messages that must say
/// whose credentials were refused (never the credentials themselves).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identity {
    pub context: Option<String>,
    pub user: Option<String>,
    /// The exec credential plugin's command, when the user has one.
    pub exec: Option<String>,
}

impl Identity {
    /// `kubeconfig user "u" (context "c")`.
    pub fn describe(&self) -> String {
        let user = match &self.user {
            Some(u) => format!("kubeconfig user \"{u}\""),
            None => "the kubeconfig's user".to_string(),
        };
        match &self.context {
            Some(c) => format!("{user} (context \"{c}\")"),
            None => user,
        }
    }

    /// An authentication failure in words that name the plugin or user, never a credential: an
    /// exec plugin's stdout (which carries tokens) is not shown.
    pub fn auth_failure(&self, err: &kube::client::AuthError) -> String {
        use kube::client::AuthError;
        let plugin = self.exec.as_deref().unwrap_or("(unnamed)");
        let who = self.describe();
        match err {
            AuthError::AuthExecStart(io) if io.kind() == std::io::ErrorKind::NotFound => format!(
                "executable {plugin} not found: {who} gets its credentials from the exec plugin `{plugin}`; install it and put it on PATH, or fix users[].user.exec.command"
            ),
            AuthError::AuthExecStart(io) => {
                format!("cannot run the exec credential plugin `{plugin}` of {who}: {io}")
            }
            AuthError::AuthExecRun { out, .. } => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
                let last: String = last.chars().take(200).collect();
                format!("the exec credential plugin `{plugin}` of {who} failed ({}): {last}", out.status)
            }
            other => format!("authentication as {who} failed: {other}"),
        }
    }
}

pub(super) async fn load(opts: &ConnectOptions) -> Result<(kube::Config, Duration, Identity), ClusterError> {
    let kubeconfig = match &opts.kubeconfig {
        Some(path) => Kubeconfig::read_from(path)
            .map_err(|e| ClusterError::Config(format!("{}: {}", path.display(), describe_kubeconfig_error(&e))))?,
        None => Kubeconfig::read().map_err(|e| {
            ClusterError::Config(format!("{} (set KUBECONFIG or pass --kubeconfig)", describe_kubeconfig_error(&e)))
        })?,
    };
    if let Some(ctx) = &opts.context {
        if !kubeconfig.contexts.iter().any(|c| &c.name == ctx) {
            let known: Vec<&str> = kubeconfig.contexts.iter().map(|c| c.name.as_str()).collect();
            return Err(ClusterError::Config(format!(
                "context `{ctx}` is not in the kubeconfig (contexts: {})",
                known.join(", ")
            )));
        }
    }
    let identity = check_names(&kubeconfig, opts)?;
    let options =
        KubeConfigOptions { context: opts.context.clone(), cluster: opts.cluster.clone(), user: opts.user.clone() };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| ClusterError::Config(e.to_string()))?;
    if let Some(user) = &opts.as_user {
        config.auth_info.impersonate = Some(user.clone());
    }
    if !opts.as_groups.is_empty() {
        config.auth_info.impersonate_groups = Some(opts.as_groups.clone());
    }
    let timeout = opts.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT);
    config.connect_timeout = Some(timeout.min(Duration::from_secs(10)));
    config.read_timeout = Some(timeout);
    config.write_timeout = Some(timeout);
    // Retries are ours (`retry.rs`): kube-rs would also retry 429/503/504, up to 15 times and
    // for as long as Retry-After says, and POSTs too.
    config.default_retry = false;
    Ok((config, timeout, identity))
}

/// The user and cluster a connection would use must exist: kube-rs would otherwise connect
/// without credentials (kubectl refuses, and so do we). Returns who the connection will be.
fn check_names(kc: &Kubeconfig, opts: &ConnectOptions) -> Result<Identity, ClusterError> {
    let ctx_name = opts.context.clone().or_else(|| kc.current_context.clone());
    let ctx =
        ctx_name.as_ref().and_then(|n| kc.contexts.iter().find(|c| &c.name == n)).and_then(|c| c.context.as_ref());
    let user = opts.user.clone().or_else(|| ctx.and_then(|c| c.user.clone())).filter(|u| !u.is_empty());
    let mut exec = None;
    if let Some(user) = &user {
        let Some(info) = kc.auth_infos.iter().find(|a| &a.name == user) else {
            return Err(ClusterError::Config(format!("user \"{user}\" is not in the kubeconfig")));
        };
        exec = info.auth_info.as_ref().and_then(|a| a.exec.as_ref()).and_then(|e| e.command.clone());
    }
    let cluster = opts.cluster.clone().or_else(|| ctx.map(|c| c.cluster.clone()));
    if let Some(cluster) = cluster.filter(|c| !c.is_empty()) {
        if !kc.clusters.iter().any(|c| c.name == cluster) {
            return Err(ClusterError::Config(format!("cluster \"{cluster}\" is not in the kubeconfig")));
        }
    }
    Ok(Identity { context: ctx_name, user, exec })
}

/// A kubeconfig error fit to print. YAML parse errors quote the lines around the mistake, and a
/// kubeconfig holds tokens and keys, so for those only the position is kept.
fn describe_kubeconfig_error(e: &kube::config::KubeconfigError) -> String {
    match e {
        kube::config::KubeconfigError::Parse(_) => {
            let text = e.to_string();
            let re = regex::Regex::new(r"line (\d+)[,:]? *column (\d+)").expect("static regex");
            match re.captures(&text) {
                Some(c) => format!("not valid kubeconfig YAML (line {}, column {})", &c[1], &c[2]),
                None => "not valid kubeconfig YAML".to_string(),
            }
        }
        other => other.to_string(),
    }
}

/// Parses kubectl's `--request-timeout` values: `0` (no limit), `30`, `30s`, `2m`, `1h`.
pub fn parse_timeout(s: &str) -> Result<Option<Duration>, String> {
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num.parse().map_err(|_| format!("`{s}` is not a duration such as 30s or 2m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{s}` is not a duration such as 30s or 2m")),
    };
    Ok((secs > 0.0).then(|| Duration::from_secs_f64(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_like_kubectl() {
        assert_eq!(parse_timeout("30s").unwrap(), Some(Duration::from_secs(30)));
        assert_eq!(parse_timeout("2m").unwrap(), Some(Duration::from_secs(120)));
        assert_eq!(parse_timeout("5").unwrap(), Some(Duration::from_secs(5)));
        assert_eq!(parse_timeout("0").unwrap(), None);
        assert!(parse_timeout("soon").is_err());
    }
}
