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
        after_help = "Examples:\n  kubectl dimtensor render --overlay training\n  kubectl dimtensor render prod --overlay inference -n ml\n  kubectl dimtensor render --overlay training --set resources.gpu.count=2 --set image.tag=4.3.0\n  kubectl dimtensor render -f values-production.yaml --explain\n  kubectl dimtensor render --overlay ./overlays/staging -o json\n\nWith no NAME and no values, `render --overlay DIR` prints exactly what `kubectl kustomize DIR` prints."
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
    /// Show the chart parameters: defaults with a comment per key, or the JSON Schema
    #[command(
        after_help = "Examples:\n  kubectl dimtensor show values > my-values.yaml\n  kubectl dimtensor show schema > values.schema.json"
    )]
    Show {
        #[arg(value_enum)]
        what: ShowWhat,
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
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Print the merged values and where each came from, instead of the manifests
    #[arg(long)]
    pub show_values: bool,
    /// Print, for each values key you set, its source and the patch it produced, instead of the manifests
    #[arg(long)]
    pub explain: bool,
}

/// Chart values, spelled as Helm spells them.
#[derive(Debug, Args, Clone, Default)]
pub struct ValuesArgs {
    /// Values file (repeatable; later files win; - reads stdin)
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub files: Vec<String>,
    /// Set values: a.b=c, a[0].b=c, several split by commas (\. escapes a dot in a key, null removes a default)
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Like --set, but every value stays a string
    #[arg(long, value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,
    /// Like --set, but the value is read from a file
    #[arg(long, value_name = "KEY=PATH")]
    pub set_file: Vec<String>,
}

impl ValuesArgs {
    pub fn input(&self) -> crate::values::Input {
        crate::values::Input {
            files: self.files.clone(),
            set: self.set.clone(),
            set_string: self.set_string.clone(),
            set_file: self.set_file.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowWhat {
    /// The default values, one comment per key
    Values,
    /// The JSON Schema of the values
    Schema,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Yaml,
    Json,
}
