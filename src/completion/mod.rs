//! Shell completion, two ways:
//!
//! - [`write_script`]: a static script (clap_complete) for `kubectl-dimtensor` typed as one word;
//! - [`complete`]: kubectl's plugin completion protocol. kubectl (>= 1.26) completes
//!   `kubectl dimtensor ...` by running `kubectl_complete-dimtensor` with the words typed after
//!   `dimtensor` (the last one possibly empty) and reads candidate lines (`value\tdescription`),
//!   then one `:<directive>` line, exactly as cobra's hidden `__complete` command answers.
//!
//! Candidates come from the clap command tree, so a new subcommand or flag completes without
//! touching this file; only values that need knowledge (overlay names, values keys, releases) are
//! listed in [`values_for`]. Release names come from the cluster ([`releases::ClusterReleases`]),
//! bounded by a short timeout, for the commands that act on an existing release.

pub mod releases;

use crate::cli::Cli;
use crate::{builtin, values};
use clap::{Arg, Command, CommandFactory, ValueEnum};
use std::io::Write;

/// Cobra's `ShellCompDirective` bits, which kubectl passes on to the shell.
pub mod directive {
    /// Let the shell complete file names.
    pub const DEFAULT: u32 = 0;
    /// Something went wrong; the shell shows nothing.
    pub const ERROR: u32 = 1;
    /// Do not add a space after the candidate (`key=` still needs a value).
    pub const NO_SPACE: u32 = 2;
    /// Do not fall back to file names when no candidate matches.
    pub const NO_FILE_COMP: u32 = 4;
    /// The candidates are file extensions to filter file names by.
    pub const FILTER_FILE_EXT: u32 = 8;
    /// Complete directory names only.
    pub const FILTER_DIRS: u32 = 16;
}

/// The shells `completion` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

/// Writes the completion script for `kubectl-dimtensor` in `shell`'s language.
pub fn write_script(shell: Shell, out: &mut dyn Write) {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    // The help text says `kubectl dimtensor`, but a script can only hook one word: the binary's.
    let mut cmd = Cli::command().bin_name("kubectl-dimtensor");
    clap_complete::generate(shell, &mut cmd, "kubectl-dimtensor", out);
}

/// Lists installed releases for completing `status NAME` and friends (release records are
/// Secrets labelled `owner=dimtensor,name=<release>`); completion must never fail because a
/// cluster is unreachable, so a lister returns an empty list instead of an error.
pub trait ReleaseLister {
    /// Release names in the scope the typed flags chose.
    fn releases(&self, scope: &Scope) -> Vec<String>;
}

/// The connection flags typed so far (`-n`, `--kubeconfig`, `--context`, ...), so a lister asks
/// the cluster the command will talk to, as that user. `None` means the kubeconfig's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub namespace: Option<String>,
    pub context: Option<String>,
    pub kubeconfig: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub as_user: Option<String>,
    pub as_groups: Vec<String>,
}

/// Commands whose NAME is an existing release (not `install`, `diff` or `render`, which name
/// a new one or none).
pub const RELEASE_COMMANDS: &[&str] = &[
    "upgrade",
    "rollback",
    "history",
    "status",
    "uninstall",
    "values",
    "manifest",
    "notes",
    "logs",
    "doctor",
    "handover",
];

/// A lister that knows no releases (no network): for tests and offline use.
pub struct NoReleases;

impl ReleaseLister for NoReleases {
    fn releases(&self, _scope: &Scope) -> Vec<String> {
        Vec::new()
    }
}

/// One completion candidate; the description is shown by zsh, fish and PowerShell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub value: String,
    pub description: String,
}

/// The answer to one completion request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub candidates: Vec<Candidate>,
    pub directive: u32,
}

impl Completion {
    /// The protocol's text: one `value[\tdescription]` line per candidate, then `:<directive>`.
    pub fn to_protocol(&self) -> String {
        let mut text = String::new();
        for c in &self.candidates {
            text.push_str(&c.value);
            if !c.description.is_empty() {
                text.push('\t');
                text.push_str(&c.description);
            }
            text.push('\n');
        }
        text.push_str(&format!(":{}\n", self.directive));
        text
    }
}

/// Where the walk over the typed words ended.
struct State<'a> {
    cmd: &'a Command,
    positional: usize,
    /// A flag still waiting for its value.
    pending: Option<&'a Arg>,
    scope: Scope,
}

/// Completes `words` (what follows `kubectl dimtensor`, the last one being completed).
pub fn complete(words: &[String], releases: &dyn ReleaseLister) -> Completion {
    let mut root = Cli::command();
    root.build();
    let (current, typed) = match words.split_last() {
        Some((last, rest)) => (last.as_str(), rest),
        None => ("", &[][..]),
    };
    let mut st = State { cmd: &root, positional: 0, pending: None, scope: Scope::default() };
    let mut only_positionals = false;
    for word in typed {
        if let Some(arg) = st.pending.take() {
            note_value(&mut st, arg, word);
        } else if only_positionals || word == "-" || !word.starts_with('-') {
            positional(&mut st, word);
        } else if word == "--" {
            only_positionals = true;
        } else {
            flag(&mut st, word);
        }
    }
    if let Some(arg) = st.pending {
        return values_for(arg, current, "", &st.scope, releases);
    }
    if !only_positionals {
        if let Some((name, value)) = current.strip_prefix("--").and_then(|f| f.split_once('=')) {
            return match find_long(st.cmd, name) {
                Some(arg) => values_for(arg, value, &format!("--{name}="), &st.scope, releases),
                None => none(),
            };
        }
        if current.starts_with('-') {
            return flags(st.cmd, current);
        }
    }
    let subcommands: Vec<&Command> = st.cmd.get_subcommands().filter(|c| !c.is_hide_set()).collect();
    if !subcommands.is_empty() {
        let candidates = subcommands
            .iter()
            .map(|c| Candidate { value: c.get_name().to_string(), description: first_line(c.get_about()) })
            .collect();
        return filtered(candidates, current, directive::NO_FILE_COMP);
    }
    let mut positionals: Vec<&Arg> = st.cmd.get_positionals().collect();
    positionals.sort_by_key(|a| a.get_index());
    match positionals.get(st.positional) {
        Some(arg) if arg.get_id() == "name" && !RELEASE_COMMANDS.contains(&st.cmd.get_name()) => none(),
        Some(arg) => values_for(arg, current, "", &st.scope, releases),
        None => none(),
    }
}

fn none() -> Completion {
    Completion { candidates: Vec::new(), directive: directive::NO_FILE_COMP }
}

fn positional(st: &mut State<'_>, word: &str) {
    let sub = st.cmd.get_subcommands().find(|c| c.get_name() == word || c.get_all_aliases().any(|a| a == word));
    match sub {
        Some(sub) => {
            st.cmd = sub;
            st.positional = 0;
        }
        None => st.positional += 1,
    }
}

/// A typed flag: `--name`, `--name=value`, `-n`, `-nvalue`, or a cluster of short switches.
fn flag<'a>(st: &mut State<'a>, word: &str) {
    if let Some(long) = word.strip_prefix("--") {
        let (name, value) = match long.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (long, None),
        };
        if let Some(arg) = find_long(st.cmd, name) {
            match value {
                Some(v) => note_value(st, arg, v),
                None if takes_value(arg) => st.pending = Some(arg),
                None => {}
            }
        }
        return;
    }
    let shorts = &word[1..];
    for (i, c) in shorts.char_indices() {
        let Some(arg) = st.cmd.get_arguments().find(|a| a.get_short() == Some(c)) else { return };
        if takes_value(arg) {
            let rest = &shorts[i + c.len_utf8()..];
            if rest.is_empty() {
                st.pending = Some(arg);
            } else {
                note_value(st, arg, rest.strip_prefix('=').unwrap_or(rest));
            }
            return;
        }
    }
}

fn note_value(st: &mut State<'_>, arg: &Arg, value: &str) {
    let slot = match arg.get_id().as_str() {
        "namespace" => &mut st.scope.namespace,
        "context" => &mut st.scope.context,
        "kubeconfig" => &mut st.scope.kubeconfig,
        "cluster" => &mut st.scope.cluster,
        "user" => &mut st.scope.user,
        "as_user" => &mut st.scope.as_user,
        "as_group" => {
            st.scope.as_groups.push(value.to_string());
            return;
        }
        _ => return,
    };
    *slot = Some(value.to_string());
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

fn find_long<'a>(cmd: &'a Command, name: &str) -> Option<&'a Arg> {
    cmd.get_arguments().find(|a| a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name)))
}

fn flags(cmd: &Command, current: &str) -> Completion {
    let mut candidates = Vec::new();
    for arg in cmd.get_arguments().filter(|a| !a.is_positional() && !a.is_hide_set()) {
        let description = first_line(arg.get_help());
        if let Some(long) = arg.get_long() {
            candidates.push(Candidate { value: format!("--{long}"), description: description.clone() });
        }
        if let Some(short) = arg.get_short() {
            candidates.push(Candidate { value: format!("-{short}"), description });
        }
    }
    filtered(candidates, current, directive::NO_FILE_COMP)
}

/// Candidates for one argument's value; `prefix` is put back in front (`--overlay=`).
fn values_for(arg: &Arg, current: &str, prefix: &str, scope: &Scope, releases: &dyn ReleaseLister) -> Completion {
    let nothing = directive::NO_FILE_COMP;
    let (candidates, directive) = match arg.get_id().as_str() {
        // A directory is also accepted: once the word looks like a path, complete directories.
        "overlay" if looks_like_path(current) => (Vec::new(), directive::FILTER_DIRS),
        "overlay" => (described(builtin::variants(), |v| builtin::describe(&format!("overlays/{v}"))), nothing),
        "component" | "components" => {
            (described(builtin::components(), |c| builtin::describe(&format!("overlays/components/{c}"))), nothing)
        }
        "files" => (["yaml", "yml", "json"].map(|e| plain(e.to_string())).to_vec(), directive::FILTER_FILE_EXT),
        "set" | "set_string" | "set_file" if current.contains('=') => {
            let files = arg.get_id() == "set_file";
            (Vec::new(), if files { directive::DEFAULT } else { nothing })
        }
        "set" | "set_string" | "set_file" => (values_keys(), directive::NO_SPACE | nothing),
        "dir" => (Vec::new(), directive::FILTER_DIRS),
        "kubeconfig" | "checksum_key_file" => (Vec::new(), directive::DEFAULT),
        "name" => (releases.releases(scope).into_iter().map(plain).collect(), nothing),
        _ => {
            let possible = arg.get_possible_values();
            let candidates = possible
                .iter()
                .filter(|p| !p.is_hide_set())
                .map(|p| Candidate { value: p.get_name().to_string(), description: first_line(p.get_help()) })
                .collect();
            (candidates, nothing)
        }
    };
    let mut done = filtered(candidates, current, directive);
    for c in &mut done.candidates {
        c.value.insert_str(0, prefix);
    }
    done
}

fn looks_like_path(word: &str) -> bool {
    word.starts_with('.') || word.starts_with('/') || word.starts_with('~') || word.contains('/')
}

fn described(names: Vec<&'static str>, describe: impl Fn(&str) -> String) -> Vec<Candidate> {
    names.into_iter().map(|n| Candidate { value: n.to_string(), description: describe(n) }).collect()
}

fn plain(value: String) -> Candidate {
    Candidate { value, description: String::new() }
}

/// Every values key as `key=`, described by its doc line.
fn values_keys() -> Vec<Candidate> {
    values::schema::params()
        .iter()
        .map(|p| Candidate { value: format!("{}=", p.path), description: p.doc.to_string() })
        .collect()
}

fn filtered(candidates: Vec<Candidate>, current: &str, directive: u32) -> Completion {
    let candidates = candidates.into_iter().filter(|c| c.value.starts_with(current)).collect();
    Completion { candidates, directive }
}

/// Descriptions are one line without tabs: the protocol is line- and tab-separated.
fn first_line(text: Option<&clap::builder::StyledStr>) -> String {
    text.map(|t| t.to_string().lines().next().unwrap_or("").replace('\t', " ")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(words: &[&str]) -> Completion {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        complete(&words, &NoReleases)
    }

    fn values(c: &Completion) -> Vec<&str> {
        c.candidates.iter().map(|c| c.value.as_str()).collect()
    }

    struct Fixed;
    impl ReleaseLister for Fixed {
        fn releases(&self, scope: &Scope) -> Vec<String> {
            match (scope.namespace.as_deref(), scope.context.as_deref()) {
                (Some("ml"), Some("gpu")) => vec!["train".into()],
                (Some("ml"), _) => vec!["prod".into(), "staging".into()],
                _ => vec!["dev".into()],
            }
        }
    }

    #[test]
    fn subcommands_first() {
        let c = run(&[""]);
        assert!(values(&c).contains(&"render") && values(&c).contains(&"lint"), "{c:?}");
        assert_eq!(c.directive, directive::NO_FILE_COMP);
        assert_eq!(values(&run(&["re"])), ["render"]);
    }

    #[test]
    fn overlay_names_in_every_spelling() {
        assert_eq!(values(&run(&["render", "--overlay", ""])), ["batch", "cronjob", "inference", "training"]);
        assert_eq!(values(&run(&["render", "-k", "in"])), ["inference"]);
        assert_eq!(values(&run(&["template", "--overlay=tr"])), ["--overlay=training"]);
        assert_eq!(run(&["render", "--overlay", "./"]).directive, directive::FILTER_DIRS);
    }

    #[test]
    fn enum_values_and_flags() {
        assert_eq!(values(&run(&["render", "-o", ""])), ["yaml", "json"]);
        assert_eq!(values(&run(&["show", ""])), ["values", "schema"]);
        let flags = run(&["render", "--ov"]);
        assert_eq!(values(&flags), ["--overlay"]);
        assert!(values(&run(&["render", "-"])).contains(&"-n"), "render takes -n");
        assert!(!values(&run(&["render", "--"])).contains(&"--kubeconfig"), "but no connection flags");
        assert!(values(&run(&["status", "--k"])).contains(&"--kubeconfig"));
    }

    #[test]
    fn values_files_and_keys() {
        let f = run(&["render", "-f", ""]);
        assert_eq!((values(&f), f.directive), (vec!["yaml", "yml", "json"], directive::FILTER_FILE_EXT));
        let s = run(&["render", "--set", "image.t"]);
        assert_eq!(values(&s), ["image.tag="]);
        assert_eq!(s.directive, directive::NO_SPACE | directive::NO_FILE_COMP);
    }

    #[test]
    fn release_names_come_from_the_lister_in_the_typed_namespace() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(run(&["status", ""]).candidates.is_empty(), "no cluster: no releases, no failure");
        assert_eq!(values(&complete(&words(&["status", ""]), &Fixed)), ["dev"]);
        assert_eq!(values(&complete(&words(&["logs", "-n", "ml", "p"]), &Fixed)), ["prod"]);
        assert_eq!(values(&complete(&words(&["history", "--namespace=ml", ""]), &Fixed)), ["prod", "staging"]);
        assert_eq!(values(&complete(&words(&["get", "values", "-n", "ml", ""]), &Fixed)), ["prod", "staging"]);
        // A flag's value is not a positional: the release name is still to come.
        assert_eq!(values(&complete(&words(&["upgrade", "--overlay", "inference", ""]), &Fixed)), ["dev"]);
        assert_eq!(values(&complete(&words(&["uninstall", "-nml", "--context", "gpu", ""]), &Fixed)), ["train"]);
        for cmd in ["rollback", "doctor", "handover"] {
            assert_eq!(values(&complete(&words(&[cmd, ""]), &Fixed)), ["dev"], "{cmd}");
        }
        // New names, or none: nothing to look up.
        for cmd in ["render", "install", "diff"] {
            assert!(complete(&words(&[cmd, ""]), &Fixed).candidates.is_empty(), "{cmd}");
        }
        assert!(complete(&words(&["rollback", "prod", ""]), &Fixed).candidates.is_empty(), "a revision is not a name");
    }

    #[test]
    fn every_typed_connection_flag_reaches_the_lister() {
        struct Echo;
        impl ReleaseLister for Echo {
            fn releases(&self, scope: &Scope) -> Vec<String> {
                vec![format!("{scope:?}")]
            }
        }
        let words: Vec<String> = [
            "status",
            "--kubeconfig",
            "/k",
            "--cluster=c",
            "--user",
            "u",
            "--as",
            "a",
            "--as-group",
            "g1",
            "--as-group=g2",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let got = values(&complete(&words, &Echo)).join("");
        for part in ["Some(\"/k\")", "Some(\"c\")", "Some(\"u\")", "Some(\"a\")", "[\"g1\", \"g2\"]"] {
            assert!(got.contains(part), "{part} missing from {got}");
        }
    }

    #[test]
    fn protocol_text_ends_with_the_directive() {
        let text = run(&["render", "--overlay", "b"]).to_protocol();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("batch\t"), "{text}");
        assert_eq!(lines.last(), Some(&":4"));
    }
}
