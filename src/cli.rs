//! The command line, as clap derive types. Spellings follow kubectl and Helm (`-n`, `-f`,
//! `--set`, `render`/`template`), so what users type feels like the tools they know.

mod connection;
mod day_two;

pub use connection::{Connection, RenderNamespace};
pub use day_two::{DoctorArgs, LogsArgs};

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "kubectl-dimtensor",
    bin_name = "kubectl dimtensor",
    version,
    about = "Render, diff and install dimtensor workloads from Kustomize-style overlays",
    long_about = "kubectl dimtensor renders the dimtensor workloads (inference, training, batch, cronjob) from a base and Kustomize-compatible overlays, and takes the seed Helm chart's values.\n\nThe commands that talk to a cluster take kubectl's connection flags (-n, --kubeconfig, --context, --cluster, --user, --as, --as-group, --request-timeout, --concurrency); the offline ones (render, lint, init, show, overlays, completion, version) take none.",
    after_help = "Examples:\n  kubectl dimtensor render --overlay inference\n  kubectl dimtensor render --overlay ./my-overlay -o json\n  kubectl dimtensor overlays"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the manifests an overlay renders to (no cluster needed)
    #[command(
        visible_alias = "template",
        after_help = "Examples:\n  kubectl dimtensor render --overlay training\n  kubectl dimtensor render prod --overlay inference -n ml\n  kubectl dimtensor render --overlay training --set resources.gpu.count=2 --set image.tag=4.3.0\n  kubectl dimtensor render -f values-production.yaml --explain\n  kubectl dimtensor render --overlay ./overlays/staging -o json\n  kubectl dimtensor render --argocd\n\nWith no NAME and no values, `render --overlay DIR` prints the same objects, in the same order, as `kubectl kustomize DIR` (each object's keys stay in the order they were written, where Kustomize sorts them).\n\n`--argocd` is the generate command of Argo CD's plugin (packaging/argocd/plugin.yaml): it reads nothing but the environment Argo CD sets and the files of the Application's repository, and never contacts a cluster."
    )]
    Render(RenderArgs),
    /// Show what install/upgrade would change in the cluster: a server-side dry run, as a diff
    #[command(
        after_help = "Examples:\n  kubectl dimtensor diff --overlay inference -n ml\n  kubectl dimtensor diff prod --overlay inference --set image.tag=4.3.0 --color always\n  kubectl dimtensor diff --overlay training -o markdown > plan.md\n\nExit status: 0 nothing would change, 1 something would, 2 error (as kubectl diff).\n\nKUBECTL_EXTERNAL_DIFF=\"diff -u\" (or any program and its flags) is run, as kubectl does, on two directories, LIVE and MERGED, with one file per object named group.version.kind.namespace.name (Secret values masked).\n\nSkipping dry runs: the dry run of an object of the release is skipped when its records know the answer: the newest revision that lists it holds the stamp of its last apply (a keyed hash of the request, its uid and resourceVersion, and the release's managedFields entry), the request is the same, the live object has the same uid, is not being deleted, and has the same resourceVersion or an identical managedFields entry of the release (any writer of a field the release set takes that field's ownership, so nothing the release set has changed), and the server's and this tool's versions are those of the stamp. Limits: mutating admission webhooks are not tracked by managed fields; for a skipped object, admission added since the stamp (new webhooks or policies, stricter validation, deprecation warnings) is not checked again; a client that rewrites managedFields directly is not seen. --server-dry-run-all dry-runs everything."
    )]
    Diff(DiffArgs),
    /// Install a release: plan (server dry run), show the diff, confirm, apply
    #[command(
        after_help = "Examples:\n  kubectl dimtensor install --overlay training -n ml\n  kubectl dimtensor install prod --overlay inference -f values-production.yaml --yes --wait\n  kubectl dimtensor install --overlay batch --dry-run\n  kubectl dimtensor install prod --overlay inference --adopt --yes\n\nEach release applies as its own field manager, kubectl-dimtensor/NAME. Existing objects are never taken silently: a Helm release's of the same name needs --adopt, an object of no release --take-ownership, another release's is never taken."
    )]
    Install(InstallArgs),
    /// Upgrade a release to a new render (deleting what it no longer contains)
    #[command(
        after_help = "Examples:\n  kubectl dimtensor upgrade dimtensor --overlay inference --set image.tag=4.3.0 --yes\n  kubectl dimtensor upgrade prod --install --overlay inference --yes --wait\n  kubectl dimtensor upgrade prod --reuse-values --set image.tag=4.3.0 --atomic --wait --yes\n\nValues as Helm takes them, with the overlay in the chart's part (its preset values are the defaults; the stored overlay is used unless --overlay is given):\n  -f/--set given      the defaults plus what is given (the stored values are not reused)\n  nothing given       the stored values again (an empty -f counts as nothing)\n  --reuse-values      what is given over the stored values, over the defaults the last revision was made with\n  --reset-then-reuse-values  what is given over the stored values, over today's defaults\n  --reset-values      only what is given, over today's defaults (wins over both)"
    )]
    Upgrade(UpgradeArgs),
    /// Re-apply an earlier revision as a new one (default: the previous deployed revision)
    #[command(
        after_help = "Examples:\n  kubectl dimtensor rollback prod --yes\n  kubectl dimtensor rollback prod 3 --dry-run"
    )]
    Rollback(RollbackArgs),
    /// Show a release's revisions
    #[command(after_help = "Examples:\n  kubectl dimtensor history prod\n  kubectl dimtensor history prod -o json")]
    History(HistoryArgs),
    /// Show a release's revision, status, and the readiness of each of its resources
    #[command(after_help = "Examples:\n  kubectl dimtensor status prod\n  kubectl dimtensor status prod -o yaml")]
    Status(StatusArgs),
    /// Diagnose a release: the seed chart's troubleshooting steps, checked against the cluster
    #[command(
        after_help = "Examples:\n  kubectl dimtensor doctor prod -n ml\n  kubectl dimtensor doctor -o json\n\nChecks: GPU nodes, labels, taints and the NVIDIA device plugin; metrics-server and HPA scaling; image pulls, scheduling, crash loops, pending PVCs and quota refusals of the release's pods. Checks that need what you may not read (nodes, StorageClasses) are skipped with a line saying so.\n\nExit status: 0 nothing wrong, 1 something is, 2 error."
    )]
    Doctor(DoctorArgs),
    /// Print the logs of a release's pods, each line prefixed with its pod
    #[command(
        after_help = "Examples:\n  kubectl dimtensor logs prod -f\n  kubectl dimtensor logs batch --index 7 --tail 20\n  kubectl dimtensor logs train --previous --timestamps\n\nEach line is prefixed `[pod/NAME/CONTAINER]`, or `[#INDEX pod/NAME/CONTAINER]` for an Indexed Job's pod. Without -f, each container's log is printed whole, in index and pod order. With -f, lines are printed as they come and new pods (a Job's retries, a Deployment's rollout) are followed as they start; a release of Jobs only ends the command once its Jobs have finished."
    )]
    Logs(LogsArgs),
    /// List releases (in the namespace, or with -A in all)
    #[command(after_help = "Examples:\n  kubectl dimtensor list\n  kubectl dimtensor list -A -o json")]
    List(ListArgs),
    /// Print what a revision was made from (its values, its manifest) and its notes
    #[command(
        after_help = "Examples:\n  kubectl dimtensor get values prod\n  kubectl dimtensor get values prod --all -o json\n  kubectl dimtensor get manifest prod --revision 2\n  kubectl dimtensor get notes prod\n\nSecret values are shown as *** unless --show-secrets."
    )]
    Get {
        #[command(subcommand)]
        what: GetWhat,
    },
    /// Delete everything a release made (PersistentVolumeClaims are kept unless --delete-data)
    #[command(
        after_help = "Examples:\n  kubectl dimtensor uninstall dimtensor -n ml --yes\n  kubectl dimtensor uninstall prod --delete-data --cascade foreground --wait --yes\n\nOnly what the release's records list is deleted, and only while it still carries the release's label and is the object the release applied (its uid): another release's objects, or a same-named object someone made since, are left and named."
    )]
    Uninstall(UninstallArgs),
    /// Hand a release over to a GitOps engine (Argo CD, Flux): its objects stay as they are; its records, field manager and label go
    #[command(
        after_help = "Examples:\n  kubectl dimtensor handover prod -n ml --dry-run\n  kubectl dimtensor handover prod -n ml --yes\n\nNothing is deleted and no workload restarts: each object the release applied loses only the release's field manager entries, the dimtensor.io/release label and the dimtensor.io/release-namespace annotation, so no later uninstall or prune can delete what the GitOps engine now manages. Then the release's records and its lock go. Last, it prints the `kubectl dimtensor init` command that writes the equivalent Kustomize tree for the engine to deploy."
    )]
    Handover(HandoverArgs),
    /// List the built-in overlays and components
    #[command(after_help = "Example:\n  kubectl dimtensor overlays")]
    Overlays,
    /// Write the built-in base/ and overlays/ into DIR; with render's inputs, a plain Kustomize tree that renders the same
    #[command(
        after_help = "Examples:\n  kubectl dimtensor init ./deploy && kubectl dimtensor render --overlay ./deploy/overlays/inference\n  kubectl dimtensor init ./prod --overlay training --release prod -n ml -f values.yaml\n  kubectl dimtensor init ./prod -k inference -f secret-values.yaml --secrets-file secret.env\n\nWith --overlay, --release, -n or values, DIR gets a kustomization.yaml that `kubectl kustomize DIR` renders to what `kubectl dimtensor render` prints for the same inputs (the base, the overlay, and the values as an ordinary layer of patches and components), for Argo CD or Flux to deploy with their own Kustomize. Secret values never go into the tree: with --secrets-file they go to that env file in DIR/secrets/, listed in a .gitignore there, and a secretGenerator reads them."
    )]
    Init(InitArgs),
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
    /// Check what an overlay renders against the chart's best practices (no cluster needed)
    #[command(
        after_help = "Examples:\n  kubectl dimtensor lint --overlay inference\n  kubectl dimtensor lint --overlay batch --set image.tag=4.2.0 --strict\n  kubectl dimtensor lint --overlay ./deploy/overlays/inference -f values-production.yaml -o json\n\nExit code: 0, or 1 with --strict when there is a warning or an error (2 when rendering fails)."
    )]
    Lint(LintArgs),
    /// Print a completion script for the kubectl-dimtensor command
    #[command(
        after_help = "Examples:\n  source <(kubectl dimtensor completion bash)\n  kubectl dimtensor completion zsh > \"${fpath[1]}/_kubectl-dimtensor\"\n  kubectl dimtensor completion fish > ~/.config/fish/completions/kubectl-dimtensor.fish\n  kubectl dimtensor completion powershell | Out-String | Invoke-Expression\n\nThese complete `kubectl-dimtensor ...`. For `kubectl dimtensor <TAB>`, put kubectl_complete-dimtensor on your PATH (see the README)."
    )]
    Completion {
        #[arg(value_enum)]
        shell: crate::completion::Shell,
    },
}

impl Command {
    /// The connection flags of a command that talks to a cluster; None for the offline ones.
    pub fn connection(&self) -> Option<&Connection> {
        Some(match self {
            Command::Diff(a) => &a.common.conn,
            Command::Install(a) => &a.common.conn,
            Command::Upgrade(a) => &a.common.conn,
            Command::Rollback(a) => &a.conn,
            Command::History(a) => &a.conn,
            Command::Status(a) => &a.conn,
            Command::List(a) => &a.conn,
            Command::Get { what } => what.conn(),
            Command::Uninstall(a) => &a.conn,
            Command::Handover(a) => &a.conn,
            Command::Doctor(a) => &a.conn,
            Command::Logs(a) => &a.conn,
            Command::Render(_)
            | Command::Lint(_)
            | Command::Overlays
            | Command::Init { .. }
            | Command::Show { .. }
            | Command::Version
            | Command::Completion { .. } => return None,
        })
    }

    /// `-n` as given, to whichever command took it.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Command::Render(a) => a.ns.namespace.as_deref(),
            Command::Lint(a) => a.ns.namespace.as_deref(),
            Command::Init(a) => a.ns.namespace.as_deref(),
            other => other.connection().and_then(|c| c.namespace.as_deref()),
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct LintArgs {
    /// Built-in overlay (inference, training, batch, cronjob) or a kustomization directory
    #[arg(long, short = 'k')]
    pub overlay: Option<String>,
    #[command(flatten)]
    pub ns: RenderNamespace,
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Exit 1 when there is a warning or an error
    #[arg(long)]
    pub strict: bool,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = LintOutput::Text)]
    pub output: LintOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintOutput {
    Text,
    Json,
}

#[derive(Debug, Args, Clone)]
pub struct RenderArgs {
    /// Release name; names resources like the Helm chart's fullname. Omit it to render the overlay exactly as Kustomize does
    pub name: Option<String>,
    /// Built-in overlay (inference, training, batch, cronjob) or a kustomization directory
    #[arg(long, short = 'k')]
    pub overlay: Option<String>,
    #[command(flatten)]
    pub ns: RenderNamespace,
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
    /// File holding the key of the checksum/secret pod annotation (else $DIMTENSOR_CHECKSUM_KEY; with neither, the annotation is left out)
    #[arg(long, value_name = "FILE")]
    pub checksum_key_file: Option<PathBuf>,
    /// Run as Argo CD's config management plugin: release, namespace, overlay and values from Argo CD's environment (ARGOCD_APP_NAME, ARGOCD_APP_NAMESPACE, ARGOCD_APP_PARAMETERS or PARAM_*, ARGOCD_ENV_*)
    #[arg(long, conflicts_with_all = ["name", "overlay", "files", "set", "set_string", "set_file", "show_values", "explain"])]
    pub argocd: bool,
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

/// What the cluster commands share: what to render, and how to plan and apply it.
#[derive(Debug, Args, Clone)]
pub struct ClusterArgs {
    /// Release name (default: dimtensor)
    pub name: Option<String>,
    /// Built-in overlay (inference, training, batch, cronjob) or a kustomization directory
    #[arg(long, short = 'k')]
    pub overlay: Option<String>,
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Create the namespace if it does not exist
    #[arg(long)]
    pub create_namespace: bool,
    /// Take over fields another field manager owns instead of failing on the conflict (never another release's objects)
    #[arg(long)]
    pub force_conflicts: bool,
    /// Delete and recreate objects whose immutable fields changed (a Job's template)
    #[arg(long)]
    pub force: bool,
    /// Stop after the diff; exit 0 if nothing would change, 1 if something would
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Wait until every object of the revision is ready (Deployments rolled out, claims bound, load balancers addressed); only then is it deployed
    #[arg(long)]
    pub wait: bool,
    /// Also wait for Jobs to complete (training can take days: off by default)
    #[arg(long)]
    pub wait_for_jobs: bool,
    /// How long --wait may take (e.g. 5m); also how long an object being deleted may take to go before it is made again
    #[arg(long, default_value = "5m")]
    pub timeout: String,
    /// Diff format
    #[arg(short = 'o', long, value_enum, default_value_t = crate::diff::output::Format::Simple)]
    pub output: crate::diff::output::Format,
    /// Colour the diff
    #[arg(long, value_enum, default_value_t = crate::diff::output::ColorChoice::Auto)]
    pub color: crate::diff::output::ColorChoice,
    /// No progress output
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub conn: Connection,
    #[command(flatten)]
    pub exact: Exactness,
}

/// How the plan is made and shown, shared by diff, install, upgrade and rollback.
#[derive(Debug, Args, Clone, Default)]
pub struct Exactness {
    /// Dry-run every object on the server, also those the release's records vouch for (see diff --help)
    #[arg(long)]
    pub server_dry_run_all: bool,
    /// Lines of context around each change in the diff, as `diff -U N` (`--context` is kubectl's kubeconfig context)
    #[arg(short = 'U', long = "unified", value_name = "N", default_value_t = 3)]
    pub unified: usize,
}

/// How install and upgrade record the release and guard it.
#[derive(Debug, Args, Clone)]
pub struct ReleaseFlags {
    /// When apply or --wait fails, roll back to the previous revision (or remove a first install)
    #[arg(long, visible_alias = "rollback-on-failure")]
    pub atomic: bool,
    /// Revisions of history to keep (0: all)
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub history_max: usize,
    /// How long the release lock lasts without renewal: a crashed operation's lock is taken over once seen unrenewed this long
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub lock_duration: String,
    /// Take over existing objects that belong to no release: kubectl apply's fields move to this release (applied with force)
    #[arg(long)]
    pub take_ownership: bool,
    /// Also delete PersistentVolumeClaims the new render no longer has
    #[arg(long)]
    pub delete_data: bool,
}

#[derive(Debug, Args, Clone)]
pub struct InstallArgs {
    #[command(flatten)]
    pub common: ClusterArgs,
    #[command(flatten)]
    pub release: ReleaseFlags,
    /// Take over the objects of the Helm release of the same name: every field `helm` set moves to this release
    #[arg(long)]
    pub adopt: bool,
    /// With --adopt: also delete Helm's release records (sh.helm.release.v1.NAME.v*)
    #[arg(long, requires = "adopt")]
    pub remove_helm_history: bool,
}

#[derive(Debug, Args, Clone)]
pub struct UpgradeArgs {
    #[command(flatten)]
    pub common: ClusterArgs,
    /// Install the release if it does not exist yet
    #[arg(long, short = 'i')]
    pub install: bool,
    #[command(flatten)]
    pub release: ReleaseFlags,
    #[command(flatten)]
    pub reuse: ReuseFlags,
}

/// How an upgrade treats the stored values, as Helm's flags do.
#[derive(Debug, Args, Clone, Default)]
pub struct ReuseFlags {
    /// Only the values given, over the overlay's defaults (wins over the reuse flags)
    #[arg(long)]
    pub reset_values: bool,
    /// The values given over the stored ones, over the defaults the last revision was made with
    #[arg(long)]
    pub reuse_values: bool,
    /// The values given over the stored ones, over today's defaults
    #[arg(long)]
    pub reset_then_reuse_values: bool,
}

impl ReuseFlags {
    pub fn rule(&self) -> crate::release::inputs::Reuse {
        crate::release::inputs::Reuse::from_flags(self.reset_values, self.reuse_values, self.reset_then_reuse_values)
    }
}

#[derive(Debug, Args, Clone)]
pub struct DiffArgs {
    #[command(flatten)]
    pub common: ClusterArgs,
    /// For an installed release: how the values given meet the stored ones (as `upgrade`)
    #[command(flatten)]
    pub reuse: ReuseFlags,
}

#[derive(Debug, Args, Clone)]
pub struct RollbackArgs {
    /// Release name
    pub name: String,
    /// Revision to roll back to (default: the previous deployed one)
    pub revision: Option<u32>,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Stop after the diff
    #[arg(long)]
    pub dry_run: bool,
    /// Wait until every object of the new revision is ready; only then is it deployed
    #[arg(long)]
    pub wait: bool,
    /// Also wait for Jobs to complete
    #[arg(long)]
    pub wait_for_jobs: bool,
    /// How long --wait may take; also how long an object being deleted may take to go
    #[arg(long, default_value = "5m")]
    pub timeout: String,
    /// Delete and recreate objects whose immutable fields differ
    #[arg(long)]
    pub force: bool,
    /// Take over fields another field manager owns
    #[arg(long)]
    pub force_conflicts: bool,
    /// Also delete PersistentVolumeClaims the target revision does not have
    #[arg(long)]
    pub delete_data: bool,
    /// Revisions of history to keep (0: all)
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub history_max: usize,
    /// How long the release lock lasts without renewal
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub lock_duration: String,
    /// Diff format
    #[arg(short = 'o', long, value_enum, default_value_t = crate::diff::output::Format::Simple)]
    pub output: crate::diff::output::Format,
    /// Colour the diff
    #[arg(long, value_enum, default_value_t = crate::diff::output::ColorChoice::Auto)]
    pub color: crate::diff::output::ColorChoice,
    /// No progress output
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub conn: Connection,
    #[command(flatten)]
    pub exact: Exactness,
}

#[derive(Debug, Args, Clone)]
pub struct HistoryArgs {
    /// Release name
    pub name: String,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = crate::release::show::Format::Table)]
    pub output: crate::release::show::Format,
    #[command(flatten)]
    pub conn: Connection,
}

#[derive(Debug, Args, Clone)]
pub struct StatusArgs {
    /// Release name
    pub name: String,
    /// Revision to show (default: the latest)
    #[arg(long)]
    pub revision: Option<u32>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = crate::release::show::Format::Table)]
    pub output: crate::release::show::Format,
    #[command(flatten)]
    pub conn: Connection,
}

#[derive(Debug, Args, Clone)]
pub struct ListArgs {
    /// List releases in all namespaces
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = crate::release::show::Format::Table)]
    pub output: crate::release::show::Format,
    #[command(flatten)]
    pub conn: Connection,
}

#[derive(Debug, Subcommand)]
pub enum GetWhat {
    /// The values the user gave (with --all: every value, defaults included)
    Values(GetValuesArgs),
    /// The objects as applied
    Manifest(GetArgs),
    /// How to reach or follow what the release runs (printed after install)
    Notes(GetNotesArgs),
}

#[derive(Debug, Args, Clone)]
pub struct GetValuesArgs {
    #[command(flatten)]
    pub get: GetArgs,
    /// Every value, the defaults included (the overlay's preset and the parameters' defaults)
    #[arg(short = 'a', long)]
    pub all: bool,
}

#[derive(Debug, Args, Clone)]
pub struct GetNotesArgs {
    /// Release name
    pub name: String,
    /// Revision (default: the latest)
    #[arg(long)]
    pub revision: Option<u32>,
    #[command(flatten)]
    pub conn: Connection,
}

#[derive(Debug, Args, Clone)]
pub struct GetArgs {
    /// Release name
    pub name: String,
    /// Revision (default: the latest)
    #[arg(long)]
    pub revision: Option<u32>,
    /// Show Secret values instead of ***
    #[arg(long)]
    pub show_secrets: bool,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Yaml)]
    pub output: Output,
    #[command(flatten)]
    pub conn: Connection,
}

impl GetWhat {
    pub fn conn(&self) -> &Connection {
        match self {
            GetWhat::Values(a) => &a.get.conn,
            GetWhat::Manifest(a) => &a.conn,
            GetWhat::Notes(a) => &a.conn,
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct UninstallArgs {
    /// Release name
    pub name: String,
    /// Deletion propagation for dependents (a Job's pods)
    #[arg(long, value_enum, default_value_t = crate::cluster::Propagation::Background)]
    pub cascade: crate::cluster::Propagation,
    /// Also delete PersistentVolumeClaims (checkpoints are data: kept by default)
    #[arg(long)]
    pub delete_data: bool,
    /// Wait until everything is gone (an object held by finalizers is named)
    #[arg(long)]
    pub wait: bool,
    /// How long --wait may take
    #[arg(long, default_value = "5m")]
    pub timeout: String,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show what would be deleted and stop
    #[arg(long)]
    pub dry_run: bool,
    /// Keep the release's history (marked uninstalled); `install` may reuse the name later
    #[arg(long)]
    pub keep_history: bool,
    /// How long the release lock lasts without renewal
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub lock_duration: String,
    #[command(flatten)]
    pub conn: Connection,
}

#[derive(Debug, Args, Clone)]
pub struct HandoverArgs {
    /// Release name
    pub name: String,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show what would be handed over and stop
    #[arg(long)]
    pub dry_run: bool,
    /// How long the release lock lasts without renewal
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub lock_duration: String,
    #[command(flatten)]
    pub conn: Connection,
}

#[derive(Debug, Args, Clone)]
pub struct InitArgs {
    /// Directory to write into (created if missing; existing files are never overwritten)
    pub dir: PathBuf,
    /// Built-in overlay (inference, training, batch, cronjob) or a kustomization directory, as for render
    #[arg(long, short = 'k')]
    pub overlay: Option<String>,
    /// Release name, as `render NAME` takes it (names resources like the chart's fullname)
    #[arg(long, value_name = "NAME")]
    pub release: Option<String>,
    #[command(flatten)]
    pub ns: RenderNamespace,
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Env file for the values of secret.data and secret.stringData, relative to the tree's secrets/ layer (listed in a .gitignore beside it; init refuses Secret values without it)
    #[arg(long, value_name = "FILE")]
    pub secrets_file: Option<String>,
    /// File holding the key of the checksum/secret pod annotation, as for render (else $DIMTENSOR_CHECKSUM_KEY; with neither, the annotation is left out)
    #[arg(long, value_name = "FILE")]
    pub checksum_key_file: Option<PathBuf>,
}

impl InitArgs {
    /// Whether anything beyond the directory was given: then the tree renders those inputs.
    pub fn ejects(&self) -> bool {
        self.overlay.is_some()
            || self.release.is_some()
            || self.ns.namespace.is_some()
            || !self.values.input().is_empty()
            || self.secrets_file.is_some()
            || self.checksum_key_file.is_some()
    }
}
