//! The krew manifest and the release archive behind it.
//!
//! - `krew-manifest.yaml` at the repository root has krew's schema, and its version is Cargo.toml's
//!   with a `v` in front;
//! - `packaging/package.sh` is reproducible: packaging the already-built binaries twice gives the
//!   same archive, byte for byte, and the manifest it writes carries that archive's sha256;
//! - the manifest lists exactly the archives of this version present in dist/, so the release
//!   workflow can assemble all platforms by collecting their archives in one directory.

use dimtensor::yaml;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_manifest(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    yaml::parse_value(&text, &path.display().to_string()).unwrap_or_else(|e| panic!("{e}"))
}

/// Everything krew checks (and a little more), as a list of problems.
fn schema_problems(m: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            problems.push(what.to_string());
        }
    };
    need(m["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2", "apiVersion");
    need(m["kind"] == "Plugin", "kind: Plugin");
    need(m["metadata"]["name"] == "dimtensor", "metadata.name: dimtensor");
    let spec = &m["spec"];
    need(spec["version"] == format!("v{VERSION}").as_str(), "spec.version is v + Cargo.toml's version");
    need(spec["homepage"].as_str().is_some_and(|h| h.starts_with("https://")), "spec.homepage");
    let short = spec["shortDescription"].as_str().unwrap_or("");
    need(!short.is_empty() && short.len() <= 70, "spec.shortDescription (at most 70 characters)");
    let description = spec["description"].as_str().unwrap_or("");
    for word in ["Secrets", "Leases", "ConfigMaps", "PersistentVolumeClaims", "HorizontalPodAutoscalers", "Services"] {
        need(description.contains(word), &format!("spec.description names the permission on {word}"));
    }
    let platforms = spec["platforms"].as_array().cloned().unwrap_or_default();
    need(!platforms.is_empty(), "spec.platforms");
    let hex64 = regex::Regex::new("^[0-9a-f]{64}$").expect("static regex");
    for (i, p) in platforms.iter().enumerate() {
        let labels = &p["selector"]["matchLabels"];
        let (os, arch) = (labels["os"].as_str().unwrap_or(""), labels["arch"].as_str().unwrap_or(""));
        need(["linux", "darwin", "windows"].contains(&os), &format!("platforms[{i}].selector.matchLabels.os"));
        need(["amd64", "arm64"].contains(&arch), &format!("platforms[{i}].selector.matchLabels.arch"));
        let uri = p["uri"].as_str().unwrap_or("");
        need(
            uri.starts_with("https://") && uri.ends_with(&format!("_v{VERSION}_{os}_{arch}.tar.gz")),
            &format!("platforms[{i}].uri"),
        );
        need(
            p["sha256"].as_str().is_some_and(|h| hex64.is_match(h)),
            &format!("platforms[{i}].sha256 (64 hex digits)"),
        );
        let exe = if os == "windows" { ".exe" } else { "" };
        need(p["bin"] == format!("kubectl-dimtensor{exe}").as_str(), &format!("platforms[{i}].bin"));
        let froms: Vec<&str> = p["files"].as_array().into_iter().flatten().filter_map(|f| f["from"].as_str()).collect();
        let wanted = [format!("kubectl-dimtensor{exe}"), "LICENSE".to_string()];
        need(
            wanted.iter().all(|w| froms.contains(&w.as_str())),
            &format!("platforms[{i}].files holds the binary and LICENSE"),
        );
    }
    problems
}

#[test]
fn the_committed_manifest_has_krews_schema() {
    let m = read_manifest(&root().join("krew-manifest.yaml"));
    assert_eq!(schema_problems(&m), Vec::<String>::new());
}

#[test]
fn the_schema_check_catches_a_placeholder_hash() {
    let mut m = read_manifest(&root().join("krew-manifest.yaml"));
    m["spec"]["platforms"][0]["sha256"] = Value::String("TODO".into());
    m["spec"]["version"] = Value::String(VERSION.into());
    let problems = schema_problems(&m);
    assert!(
        problems.iter().any(|p| p.contains("sha256")) && problems.iter().any(|p| p.contains("version")),
        "{problems:?}"
    );
}

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs package.sh on the test's own binaries, writing into `dist`, with extra `env`.
fn package(dist: &Path, env: &[(&str, &str)]) -> std::process::Child {
    Command::new("bash")
        .arg(root().join("packaging/package.sh"))
        .env("DIMTENSOR_BIN", env!("CARGO_BIN_EXE_kubectl-dimtensor"))
        .env("DIST_DIR", dist)
        .env("KREW_MANIFEST", dist.join("krew-manifest.yaml"))
        .env_remove("TARGET")
        .env_remove("SOURCE_DATE_EPOCH")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bash runs")
}

fn finish(child: std::process::Child) {
    let out = child.wait_with_output().expect("package.sh runs");
    assert!(out.status.success(), "package.sh failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

fn commit_time() -> String {
    let out = Command::new("git").args(["log", "-1", "--format=%ct"]).current_dir(root()).output().expect("git runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `(os/arch, sha256)` of each platform entry.
fn platforms(m: &Value) -> Vec<(String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    m["spec"]["platforms"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let l = &p["selector"]["matchLabels"];
            (format!("{}/{}", text(&l["os"]), text(&l["arch"])), text(&p["sha256"]))
        })
        .collect()
}

/// Two runs at once (the binaries are large; gzip is the slow part): one with the default
/// mtime, one with SOURCE_DATE_EPOCH set to the last commit's time. Equal archives show both
/// that packaging is reproducible and that the default is the commit time.
#[test]
fn the_archive_is_reproducible_and_its_hash_is_in_the_manifest() {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        eprintln!("skipped: the archive is checked on linux/amd64 only");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    // Archives of this version for other platforms join the manifest; other versions do not.
    std::fs::create_dir_all(&a).expect("mkdir");
    let other_platform = a.join(format!("kubectl-dimtensor_v{VERSION}_darwin_arm64.tar.gz"));
    std::fs::write(&other_platform, b"built on another runner").expect("write");
    std::fs::write(a.join("kubectl-dimtensor_v0.0.0-old_linux_arm64.tar.gz"), b"stale").expect("write");

    let epoch = commit_time();
    let (first, second) = (package(&a, &[]), package(&b, &[("SOURCE_DATE_EPOCH", &epoch)]));
    finish(first);
    finish(second);
    let name = format!("kubectl-dimtensor_v{VERSION}_linux_amd64.tar.gz");
    let hash = sha256_hex(&a.join(&name));
    assert_eq!(hash, sha256_hex(&b.join(&name)), "two runs on the same binaries gave different archives");

    let m = read_manifest(&a.join("krew-manifest.yaml"));
    assert_eq!(schema_problems(&m), Vec::<String>::new());
    let expected =
        [("darwin/arm64".to_string(), sha256_hex(&other_platform)), ("linux/amd64".to_string(), hash.clone())];
    assert_eq!(platforms(&m), expected);
    assert_eq!(platforms(&read_manifest(&b.join("krew-manifest.yaml"))), [("linux/amd64".to_string(), hash)]);

    let list = Command::new("tar")
        .args(["--list", "--verbose", "--numeric-owner", "--full-time", "--file"])
        .arg(a.join(&name))
        .env("TZ", "UTC")
        .output()
        .expect("tar runs");
    let text = String::from_utf8_lossy(&list.stdout);
    let entries: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect()).collect();
    let names: Vec<&str> = entries.iter().filter_map(|e| e.last().copied()).collect();
    assert_eq!(names, ["LICENSE", "README.md", "kubectl-dimtensor", "kubectl_complete-dimtensor"], "sorted: {text}");
    let modes: Vec<&str> = entries.iter().map(|e| e[0]).collect();
    assert_eq!(modes, ["-rw-r--r--", "-rw-r--r--", "-rwxr-xr-x", "-rwxr-xr-x"], "{text}");
    assert!(entries.iter().all(|e| e.get(1) == Some(&"0/0")), "owner and group 0: {text}");
    let date = Command::new("date")
        .args(["-u", "-d", &format!("@{epoch}"), "+%Y-%m-%d %H:%M:%S"])
        .output()
        .expect("date runs");
    let when = String::from_utf8_lossy(&date.stdout).trim().to_string();
    assert!(entries.iter().all(|e| e.get(3..5).map(|d| d.join(" ")) == Some(when.clone())), "mtime {when}: {text}");
}
