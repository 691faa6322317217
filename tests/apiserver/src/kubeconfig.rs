//! A kubeconfig file pointing at the server with a bearer-token user.

use std::path::Path;

/// Kubeconfig text; strings are JSON-quoted, which YAML reads as plain strings.
pub fn render(server: &str, namespace: &str, token: &str) -> String {
    let q = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test-apiserver\n  cluster:\n    server: {}\ncontexts:\n- name: test-apiserver\n  context:\n    cluster: test-apiserver\n    user: test-user\n    namespace: {}\ncurrent-context: test-apiserver\nusers:\n- name: test-user\n  user:\n    token: {}\npreferences: {{}}\n",
        q(server),
        q(namespace),
        q(token)
    )
}

pub fn write(path: &Path, server: &str, namespace: &str, token: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, render(server, namespace, token))
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_parseable_yaml() {
        let text = super::render("http://127.0.0.1:1234", "t", "tok\"en");
        let v = crate::yaml::parse_document(&text).unwrap();
        assert_eq!(v["clusters"][0]["cluster"]["server"], "http://127.0.0.1:1234");
        assert_eq!(v["users"][0]["user"]["token"], "tok\"en");
        assert_eq!(v["contexts"][0]["context"]["namespace"], "t");
    }
}
