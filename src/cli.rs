//! The command line, as clap derive types. Spellings follow kubectl and Helm (`-n`, `-f`,
//! `--set`, `render`/`template`), so what users type feels like the tools they know.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "kubectl-dimtensor",
    bin_name = "kubectl dimtensor",
    version,
    about = "Render, diff and install dimtensor workloads from Kustomize-style overlays",
    long_about = "kubectl dimtensor renders the dimtensor workloads (inference, training, batch, cronjob) from a base and Kustomize-compatible overlays, and takes the seed Helm chart's values.",
    after_help = "Examples:\n  kubectl dimtensor render --overlay inference\n  kubectl dimtensor render --overlay ./my-overlay -o json\n  kubectl dimtensor overlays"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags shared by every command, as kubectl spells them.
#[derive(Debug, Args, Clone, Default)]
pub struct Global {
    /// Namespace to put namespaced resources in
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the manifests an overlay renders to (no cluster needed)
    #[command(
        visible_alias = "template",
        after_help = "Examples:\n  kubectl dimtensor render --overlay training\n  kubectl dimtensor render prod --overlay inference -n ml\n  kubectl dimtensor render --overlay ./overlays/staging -o json\n\nWith no NAME and no values, `render --overlay DIR` prints exactly what `kubectl kustomize DIR` prints."
    )]
    Render(RenderArgs),
    /// List the built-in overlays and components
    #[command(after_help = "Example:\n  kubectl dimtensor overlays")]
    Overlays,
    /// Write the built-in base/ and overlays/ into DIR to customise them
    #[command(
        after_help = "Example:\n  kubectl dimtensor init ./deploy && kubectl dimtensor render --overlay ./deploy/overlays/inference"
    )]
    Init {
        /// Directory to write into (created if missing; existing files are never overwritten)
        dir: PathBuf,
    },
    /// Print the version of the plugin and of dimtensor it deploys
    #[command(after_help = "Example:\n  kubectl dimtensor version")]
    Version,
}

#[derive(Debug, Args, Clone)]
pub struct RenderArgs {
    /// Release name; names resources like the Helm chart's fullname. Omit it to render the overlay exactly as Kustomize does
    pub name: Option<String>,
    /// Built-in overlay (inference, training, batch, cronjob) or a kustomization directory
    #[arg(long, short = 'k')]
    pub overlay: Option<String>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Yaml)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Yaml,
    Json,
}
