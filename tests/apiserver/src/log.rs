//! The request log tests read back.

/// One request as the server saw and answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// Raw query string (without '?'), empty if none.
    pub query: String,
    /// `dryRun=All` was given.
    pub dry_run: bool,
    pub field_manager: Option<String>,
    /// `force=true` was given.
    pub force: bool,
    /// Authenticated user, None when authentication failed.
    pub user: Option<String>,
    /// Status code answered; 0 when the connection was reset.
    pub status: u16,
    pub content_type: Option<String>,
    pub user_agent: Option<String>,
    /// The request body as sent (empty for most reads), so a test can check what each write said.
    pub body: Vec<u8>,
}

impl RequestRecord {
    /// The body as JSON, when it is (server-side apply bodies from kube-rs are).
    pub fn json_body(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// A decoded query parameter.
    pub fn param(&self, name: &str) -> Option<String> {
        crate::http::parse_query(&self.query).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}
