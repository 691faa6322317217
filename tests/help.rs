//! Every subcommand's `--help` ends with examples a user can paste, and those examples parse.
//! Subcommands are enumerated from clap's command tree, so a new one without examples fails here.

use clap::{CommandFactory, Parser};
use dimtensor::cli::Cli;
use std::process::Command;

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"))
        .args(args)
        .arg("--help")
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{args:?} --help failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `kubectl dimtensor ...` lines of a help text, cut before shell operators.
fn example_commands(text: &str) -> Vec<Vec<String>> {
    let Some((_, examples)) = text.split_once("Example") else { return Vec::new() };
    examples
        .lines()
        .filter_map(|l| l.trim().strip_prefix("kubectl dimtensor "))
        .map(|l| {
            let cut = [" && ", " > ", " | "].iter().filter_map(|op| l.find(op)).min().unwrap_or(l.len());
            std::iter::once("kubectl-dimtensor".to_string())
                .chain(l[..cut].split_whitespace().map(str::to_string))
                .collect()
        })
        .collect()
}

#[test]
fn every_subcommand_has_examples_that_parse() {
    let root = Cli::command();
    let mut names: Vec<String> = root.get_subcommands().map(|c| c.get_name().to_string()).collect();
    assert!(names.len() >= 7, "expected the subcommands, found {names:?}");
    names.push(String::new());
    for name in &names {
        let args: Vec<&str> = if name.is_empty() { vec![] } else { vec![name.as_str()] };
        let text = help(&args);
        assert!(text.contains("Example"), "`kubectl dimtensor {name} --help` has no Example section:\n{text}");
        let examples = example_commands(&text);
        assert!(!examples.is_empty(), "`{name} --help` shows no `kubectl dimtensor ...` example:\n{text}");
        for words in examples {
            if let Err(e) = Cli::try_parse_from(&words) {
                panic!("example `{}` in `{name} --help` does not parse: {e}", words.join(" "));
            }
        }
    }
}

#[test]
fn the_command_tree_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn connection_flags_have_their_own_heading_on_cluster_commands_only() {
    let online = ["diff", "install", "upgrade", "rollback", "history", "status", "list", "uninstall", "doctor", "logs"];
    for cmd in online {
        let text = help(&[cmd]);
        let heading = text.find("Connection (as kubectl):").unwrap_or_else(|| panic!("{cmd}: no heading:\n{text}"));
        for flag in [
            "--kubeconfig",
            "--context",
            "--cluster",
            "--user",
            "--as <USER>",
            "--as-group",
            "--request-timeout",
            "--namespace",
        ] {
            let at = text.find(flag).unwrap_or_else(|| panic!("{cmd}: {flag} missing:\n{text}"));
            assert!(at > heading, "{cmd}: {flag} is not under the connection heading:\n{text}");
        }
    }
    let get = help(&["get", "values"]);
    assert!(get.contains("Connection (as kubectl):") && get.contains("--kubeconfig"), "{get}");

    let offline: [&[&str]; 7] = [
        &["render", "--overlay", "inference"],
        &["lint", "--overlay", "inference"],
        &["init", "/nonexistent-dir-for-help-test"],
        &["show", "values"],
        &["overlays"],
        &["completion", "bash"],
        &["version"],
    ];
    for args in offline {
        let text = help(&args[..1]);
        assert!(
            !text.contains("--kubeconfig") && !text.contains("Connection"),
            "{args:?} lists connection flags:\n{text}"
        );
        for flag in [["--kubeconfig", "/k"], ["--context", "c"], ["--request-timeout", "5s"]] {
            let out = Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor"))
                .args(args)
                .args(flag)
                .output()
                .expect("the binary runs");
            assert_eq!(out.status.code(), Some(2), "{args:?} {flag:?} accepted");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(&format!("unexpected argument '{}'", flag[0])), "{args:?}: {err}");
        }
    }
    // render and lint keep -n: it says where rendered objects go.
    assert!(help(&["render"]).contains("-n, --namespace"));
    assert!(help(&["lint"]).contains("-n, --namespace"));
}
