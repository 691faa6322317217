use super::*;
use crate::render::{render, Request};
use crate::values::{load, Input};

fn rendered(overlay: Option<&str>, release: Option<&str>, ns: Option<&str>, set: &[&str]) -> Rendered {
    let input = Input { set: set.iter().map(|s| s.to_string()).collect(), ..Input::default() };
    let values = load(&input, &mut std::io::empty()).unwrap();
    let req = Request {
        overlay: overlay.map(str::to_string),
        release: release.map(str::to_string),
        namespace: ns.map(str::to_string),
        values,
        ..Request::default()
    };
    render(&req).unwrap()
}

fn read(dir: &Path, rel: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    crate::yaml::parse_value(&text, rel).unwrap()
}

#[test]
fn layers_are_written_with_paths_into_the_tree() {
    let r = rendered(Some("training"), Some("prod"), Some("ml"), &["job.backoffLimit=5", "configMap.enabled=true"]);
    let dir = tempfile::tempdir().unwrap();
    let written = eject(&r, dir.path(), None).unwrap();
    assert!(written.secrets.is_none());
    let top = read(dir.path(), "kustomization.yaml");
    assert_eq!(top["namespace"], "ml");
    assert_eq!(top["resources"], json!(["release"]));
    let release = read(dir.path(), "release/kustomization.yaml");
    assert_eq!(release["resources"], json!(["../values"]));
    assert_eq!(release["components"], json!(["../release-names"]));
    let values = read(dir.path(), "values/kustomization.yaml");
    assert_eq!(values["resources"], json!(["../overlays/training"]));
    assert_eq!(values["components"], json!(["../overlays/components/config"]));
    assert!(dir.path().join("base/kustomization.yaml").is_file());
    assert!(!dir.path().join("overlays/inference").exists(), "only the overlay used");
    let again = eject(&r, dir.path(), None).unwrap_err().to_string();
    assert!(again.contains("already exists") && again.contains("never overwrites"), "{again}");
}

#[test]
fn an_overlay_without_values_is_one_kustomization_over_it() {
    let r = rendered(Some("batch"), None, None, &[]);
    let dir = tempfile::tempdir().unwrap();
    eject(&r, dir.path(), None).unwrap();
    assert_eq!(read(dir.path(), "kustomization.yaml")["resources"], json!(["overlays/batch"]));
}

#[test]
fn secret_values_go_to_an_ignored_env_file_only() {
    let set = ["secret.enabled=true", "secret.stringData.token=hunter2", "secret.data.url=aHR0cDovL3g6NTAwMA=="];
    let r = rendered(Some("inference"), Some("prod"), None, &set);
    let dir = tempfile::tempdir().unwrap();
    let e = eject(&r, dir.path(), None).unwrap_err().to_string();
    assert!(e.contains("secret.stringData.token") && e.contains("--secrets-file") && !e.contains("hunter2"), "{e}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing written");
    for bad in ["../x.env", "/tmp/x.env", ""] {
        assert!(eject(&r, dir.path(), Some(bad)).unwrap_err().to_string().contains("--secrets-file"), "{bad}");
    }
    let written = eject(&r, dir.path(), Some("secrets/prod.env")).unwrap();
    assert_eq!(written.secrets.as_deref(), Some(dir.path().join("secrets/secrets/prod.env").as_path()));
    let env = std::fs::read_to_string(dir.path().join("secrets/secrets/prod.env")).unwrap();
    assert!(env.contains("\ntoken=hunter2\n") && env.contains("\nurl=http://x:5000\n"), "{env}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("secrets/secrets/.gitignore")).unwrap().lines().last(),
        Some("prod.env")
    );
    for f in written.files.iter().filter(|f| !f.ends_with("prod.env")) {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(!text.contains("hunter2") && !text.contains("aHR0cDovL3g6NTAwMA"), "{}: {text}", f.display());
    }
    let layer = read(dir.path(), "secrets/kustomization.yaml");
    assert_eq!(layer["resources"], json!(["../values"]));
    assert_eq!(read(dir.path(), "kustomization.yaml")["resources"], json!(["secrets"]), "the release layer reads it");
    assert_eq!(
        layer["secretGenerator"],
        json!([{"name": "dimtensor", "behavior": "replace", "envs": ["secrets/prod.env"], "options": {"disableNameSuffixHash": true}}])
    );
}

#[test]
fn values_an_env_file_cannot_hold_are_refused() {
    for (set, why) in [
        ("secret.stringData.cert=a\nb", "line break"),
        ("secret.stringData.1st=x", "must not start with a digit"),
        ("secret.data.x=/w==", "not UTF-8"),
    ] {
        let r = rendered(None, Some("prod"), None, &["secret.enabled=true", set]);
        let dir = tempfile::tempdir().unwrap();
        let e = eject(&r, dir.path(), Some("s.env")).unwrap_err().to_string();
        assert!(e.contains(why), "{set}: {e}");
    }
}

#[test]
fn the_init_command_carries_the_inputs_but_no_secret_value() {
    let values = json!({"image": {"tag": "4.3.0"}, "secret": {"enabled": true, "stringData": {"pw": "hunter2"}}});
    let (cmd, withheld) = init_command("prod", "ml", Some("training"), &values);
    assert!(cmd.starts_with("kubectl dimtensor init ./prod --release prod -n ml --overlay training -f - <<'VALUES'\n"));
    assert!(cmd.ends_with("\nVALUES") && cmd.contains("tag: \"4.3.0\"") && cmd.contains("enabled: true"), "{cmd}");
    assert!(!cmd.contains("hunter2") && !cmd.contains("stringData"), "{cmd}");
    assert_eq!(withheld, ["secret.stringData.pw"]);
    let (cmd, _) = init_command("a", "b", Some("/my dir/it's"), &json!({}));
    assert_eq!(cmd, r"kubectl dimtensor init ./a --release a -n b --overlay '/my dir/it'\''s'");
    let (cmd, _) = init_command("a", "b", None, &json!({"x": "VALUES"}));
    assert!(cmd.contains("<<'VALUES'") && cmd.contains("x: VALUES"), "a value is not a line of its own: {cmd}");
}
