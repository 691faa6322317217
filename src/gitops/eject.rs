//! Ejecting to plain Kustomize: `kubectl dimtensor init DIR` with a release's inputs writes a
//! kustomization tree that `kubectl kustomize DIR` renders to what `render` renders.

use serde_json::Value;

/// Values keys whose values are never printed or written into the tree.
const SECRET_MAPS: &[&str] = &["data", "stringData"];

/// The `init` command that writes the tree equivalent to a release: its name, namespace,
/// overlay and values (a heredoc for `-f -`). Secret values are left out of it; the second
/// item names the keys left out.
pub fn init_command(release: &str, namespace: &str, overlay: Option<&str>, values: &Value) -> (String, Vec<String>) {
    let mut values = values.clone();
    let mut withheld = Vec::new();
    if let Some(secret) = values.get_mut("secret").and_then(Value::as_object_mut) {
        for map in SECRET_MAPS {
            let Some(Value::Object(m)) = secret.get(*map) else { continue };
            withheld.extend(m.keys().map(|k| format!("secret.{map}.{k}")));
            secret.remove(*map);
        }
        if secret.is_empty() {
            values.as_object_mut().map(|v| v.remove("secret"));
        }
    }
    let mut cmd = format!("kubectl dimtensor init ./{release} --release {release} -n {namespace}");
    if let Some(o) = overlay {
        cmd.push_str(&format!(" --overlay {}", shell_word(o)));
    }
    if values.as_object().is_some_and(|m| !m.is_empty()) {
        let yaml = crate::yaml::to_yaml(&values);
        let mut end = "VALUES".to_string();
        while yaml.lines().any(|l| l == end) {
            end.push('_');
        }
        cmd.push_str(&format!(" -f - <<'{end}'\n{yaml}{end}"));
    }
    (cmd, withheld)
}

/// `s` as one shell word.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=@+,".contains(&b));
    match plain {
        true => s.to_string(),
        false => format!("'{}'", s.replace('\'', r"'\''")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_init_command_carries_the_inputs_but_no_secret_value() {
        let values = json!({"image": {"tag": "4.3.0"}, "secret": {"enabled": true, "stringData": {"pw": "hunter2"}}});
        let (cmd, withheld) = init_command("prod", "ml", Some("training"), &values);
        assert!(
            cmd.starts_with("kubectl dimtensor init ./prod --release prod -n ml --overlay training -f - <<'VALUES'\n")
        );
        assert!(cmd.ends_with("\nVALUES") && cmd.contains("tag: \"4.3.0\"") && cmd.contains("enabled: true"), "{cmd}");
        assert!(!cmd.contains("hunter2") && !cmd.contains("stringData"), "{cmd}");
        assert_eq!(withheld, ["secret.stringData.pw"]);
        let (cmd, _) = init_command("a", "b", Some("/my dir/it's"), &json!({}));
        assert_eq!(cmd, r"kubectl dimtensor init ./a --release a -n b --overlay '/my dir/it'\''s'");
        let (cmd, _) = init_command("a", "b", None, &json!({"x": "VALUES"}));
        assert!(cmd.contains("<<'VALUES'") && cmd.contains("x: VALUES"), "a value is not a line of its own: {cmd}");
    }
}
