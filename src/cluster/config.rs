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
}

/// Without `--request-timeout`, one request may take this long.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) async fn load(opts: &ConnectOptions) -> Result<(kube::Config, Duration), ClusterError> {
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
    check_names(&kubeconfig, opts)?;
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
    Ok((config, timeout))
}

/// The user and cluster a connection would use must exist: kube-rs would otherwise connect
/// without credentials (kubectl refuses, and so do we).
fn check_names(kc: &Kubeconfig, opts: &ConnectOptions) -> Result<(), ClusterError> {
    let ctx_name = opts.context.clone().or_else(|| kc.current_context.clone());
    let ctx =
        ctx_name.as_ref().and_then(|n| kc.contexts.iter().find(|c| &c.name == n)).and_then(|c| c.context.as_ref());
    let user = opts.user.clone().or_else(|| ctx.and_then(|c| c.user.clone()));
    if let Some(user) = user.filter(|u| !u.is_empty()) {
        if !kc.auth_infos.iter().any(|a| a.name == user) {
            return Err(ClusterError::Config(format!("user \"{user}\" is not in the kubeconfig")));
        }
    }
    let cluster = opts.cluster.clone().or_else(|| ctx.map(|c| c.cluster.clone()));
    if let Some(cluster) = cluster.filter(|c| !c.is_empty()) {
        if !kc.clusters.iter().any(|c| c.name == cluster) {
            return Err(ClusterError::Config(format!("cluster \"{cluster}\" is not in the kubeconfig")));
        }
    }
    Ok(())
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
