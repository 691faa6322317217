//! kubectl's connection flags, on the commands that talk to a cluster only.

use clap::Args;
use std::path::PathBuf;

/// kubectl's connection flags, for the commands that talk to a cluster (and only those: an
/// offline command that took `--context` would suggest it looked at one).
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Connection (as kubectl)")]
pub struct Connection {
    /// Namespace of the release (default: the kubeconfig context's namespace)
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use
    #[arg(long)]
    pub context: Option<String>,
    /// The kubeconfig cluster to use
    #[arg(long)]
    pub cluster: Option<String>,
    /// The kubeconfig user to use
    #[arg(long)]
    pub user: Option<String>,
    /// Username to impersonate
    #[arg(long = "as", value_name = "USER")]
    pub as_user: Option<String>,
    /// Group to impersonate (repeatable)
    #[arg(long = "as-group", value_name = "GROUP")]
    pub as_group: Vec<String>,
    /// How long one API request may take (e.g. 10s, 1m; 0 for the default of 30s)
    #[arg(long, value_name = "DURATION")]
    pub request_timeout: Option<String>,
    /// API requests in flight at once (halved while the server answers 429 Too Many Requests)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: Option<u16>,
}

/// `-n` of the offline commands: where rendered objects go; no cluster is contacted.
#[derive(Debug, Args, Clone, Default)]
pub struct RenderNamespace {
    /// Namespace to put namespaced resources in
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
}
