//! Shell completion: the static scripts of `kubectl dimtensor completion SHELL`, and the
//! `kubectl_complete-dimtensor` executable speaking kubectl's plugin completion protocol.

use std::process::Command;

#[test]
fn every_shell_gets_a_script_naming_the_commands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out =
            Command::new(env!("CARGO_BIN_EXE_kubectl-dimtensor")).args(["completion", shell]).output().expect("runs");
        assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.len() > 500, "{shell}: script too short:\n{script}");
        for word in ["kubectl-dimtensor", "render", "lint", "overlays", "overlay", "strict"] {
            assert!(script.contains(word), "{shell}: the script does not mention {word}");
        }
    }
}

/// Runs the completion executable as kubectl does: the words after `kubectl dimtensor`.
fn complete(words: &[&str]) -> (Vec<String>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl_complete-dimtensor")).args(words).output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let directive = lines.pop().unwrap_or_default();
    // A candidate line is `value` or `value<TAB>description`.
    let values = lines.iter().map(|l| l.split('\t').next().unwrap_or_default().to_string()).collect();
    (values, directive)
}

#[test]
fn overlay_names_then_the_no_file_directive() {
    let (values, directive) = complete(&["render", "--overlay", ""]);
    for v in ["inference", "training", "batch", "cronjob"] {
        assert!(values.contains(&v.to_string()), "{v} missing from {values:?}");
    }
    assert_eq!(directive, ":4");
}

#[test]
fn subcommands_flags_and_enum_values() {
    let (values, directive) = complete(&[""]);
    for v in ["render", "lint", "overlays", "init", "show", "version", "completion"] {
        assert!(values.contains(&v.to_string()), "{v} missing from {values:?}");
    }
    assert_eq!(directive, ":4");
    assert_eq!(complete(&["lint", "-o", ""]).0, ["text", "json"]);
    assert_eq!(complete(&["completion", "p"]).0, ["powershell"]);
    assert!(complete(&["lint", "--st"]).0.contains(&"--strict".to_string()));
}

#[test]
fn no_cluster_means_no_release_names_and_no_failure() {
    let (values, directive) = complete(&["render", ""]);
    assert!(values.is_empty(), "{values:?}");
    assert_eq!(directive, ":4");
}

#[test]
fn values_files_filter_by_extension() {
    assert_eq!(complete(&["render", "-f", ""]), (vec!["yaml".into(), "yml".into(), "json".into()], ":8".into()));
}
