//! The flags of `doctor` and `logs`.

use super::{Connection, LintOutput};
use clap::Args;

#[derive(Debug, Args, Clone)]
pub struct DoctorArgs {
    /// Release name (default: every release in the namespace)
    pub name: Option<String>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = LintOutput::Text)]
    pub output: LintOutput,
    #[command(flatten)]
    pub conn: Connection,
}

#[derive(Debug, Args, Clone)]
pub struct LogsArgs {
    /// Release name
    pub name: String,
    /// Keep streaming, and follow new pods as Jobs retry and Deployments roll
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the pod of this completion index (Indexed Jobs)
    #[arg(long, value_name = "N")]
    pub index: Option<u32>,
    /// Only this container (default: all containers)
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// The previous run of each container (after a crash or restart)
    #[arg(short = 'p', long)]
    pub previous: bool,
    /// Only lines newer than this (e.g. 5s, 2m, 3h)
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Lines from the end of each container's log to show (-1: all)
    #[arg(long, default_value_t = -1, allow_negative_numbers = true, value_name = "N")]
    pub tail: i64,
    /// Put the server's timestamp at the start of each line
    #[arg(long)]
    pub timestamps: bool,
    /// Log streams open at once; the others wait for one to end
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_log_requests: usize,
    #[command(flatten)]
    pub conn: Connection,
}
