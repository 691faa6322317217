//! `metav1.Status` failure bodies, shaped like the captured kube-apiserver answers.

use serde_json::{json, Map, Value};

/// A refusal the server answers with: HTTP code plus a `Status` body.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: u16,
    pub message: String,
    /// Boxed to keep `Result<_, ApiError>` small.
    pub body: Box<Value>,
    /// Extra response headers (Retry-After for 429).
    pub headers: Vec<(String, String)>,
}

/// One entry of `details.causes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub reason: String,
    pub message: String,
    pub field: String,
}

impl Cause {
    pub fn new(reason: &str, message: impl Into<String>, field: impl Into<String>) -> Self {
        Cause { reason: reason.to_string(), message: message.into(), field: field.into() }
    }
    /// `field.Invalid`: "Invalid value: <value>: <detail>".
    pub fn invalid(field: &str, value: &str, detail: &str) -> Self {
        Cause::new("FieldValueInvalid", format!("Invalid value: {value}: {detail}"), field)
    }
    /// `field.Required`.
    pub fn required(field: &str, detail: &str) -> Self {
        let msg = if detail.is_empty() { "Required value".to_string() } else { format!("Required value: {detail}") };
        Cause::new("FieldValueRequired", msg, field)
    }
    /// `field.NotSupported`.
    pub fn not_supported(field: &str, value: &str, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        Cause::new(
            "FieldValueNotSupported",
            format!("Unsupported value: {value}: supported values: {}", list.join(", ")),
            field,
        )
    }
    /// `field.TooLong`.
    pub fn too_long(field: &str, max: usize) -> Self {
        Cause::new("FieldValueTooLong", format!("Too long: must have at most {max} bytes"), field)
    }
    /// `field.Forbidden`.
    pub fn forbidden(field: &str, detail: &str) -> Self {
        Cause::new("FieldValueForbidden", format!("Forbidden: {detail}"), field)
    }
    /// How the cause reads inside the top-level message ("field: message").
    fn summary(&self) -> String {
        if self.field.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", self.field, self.message)
        }
    }
}

/// Builds a failure body in the field order the real server uses.
fn failure(code: u16, reason: &str, message: &str, details: Option<Map<String, Value>>) -> ApiError {
    let mut body = Map::new();
    body.insert("kind".into(), json!("Status"));
    body.insert("apiVersion".into(), json!("v1"));
    body.insert("metadata".into(), json!({}));
    body.insert("status".into(), json!("Failure"));
    body.insert("message".into(), json!(message));
    body.insert("reason".into(), json!(reason));
    if let Some(d) = details {
        body.insert("details".into(), Value::Object(d));
    }
    body.insert("code".into(), json!(code));
    ApiError { code, message: message.to_string(), body: Box::new(Value::Object(body)), headers: Vec::new() }
}

/// `details` with the optional name/group/kind in real order (empty ones omitted).
fn details(name: &str, group: &str, kind: &str) -> Map<String, Value> {
    let mut d = Map::new();
    if !name.is_empty() {
        d.insert("name".into(), json!(name));
    }
    if !group.is_empty() {
        d.insert("group".into(), json!(group));
    }
    if !kind.is_empty() {
        d.insert("kind".into(), json!(kind));
    }
    d
}

/// "deployments.apps" or "pods": how messages name a group resource.
pub fn qualified(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

impl ApiError {
    /// 404 for a missing object (get-missing-404.json).
    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        let msg = format!("{} {name:?} not found", qualified(group, plural));
        failure(404, "NotFound", &msg, Some(details(name, group, plural)))
    }

    /// 404 for a path the server does not serve (get-unknown-resource-404.json).
    pub fn unknown_resource() -> Self {
        failure(404, "NotFound", "the server could not find the requested resource", Some(Map::new()))
    }

    /// 409 AlreadyExists (namespace-create-again-409.json).
    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        let msg = format!("{} {name:?} already exists", qualified(group, plural));
        failure(409, "AlreadyExists", &msg, Some(details(name, group, plural)))
    }

    /// 409 Conflict for a stale resourceVersion or failed precondition.
    pub fn conflict(group: &str, plural: &str, name: &str, why: &str) -> Self {
        let msg = format!("Operation cannot be fulfilled on {} {name:?}: {why}", qualified(group, plural));
        failure(409, "Conflict", &msg, Some(details(name, group, plural)))
    }

    /// 409 for a DELETE precondition that does not hold (delete-uid-precondition-409.json,
    /// delete-rv-precondition-409.json): the real server names the kind there, not the resource.
    pub fn precondition(group: &str, kind: &str, name: &str, why: &str) -> Self {
        let msg = format!("Operation cannot be fulfilled on {} {name:?}: {why}", qualified(group, kind));
        failure(409, "Conflict", &msg, Some(details(name, group, kind)))
    }

    /// The standard optimistic-concurrency refusal.
    pub fn stale(group: &str, plural: &str, name: &str) -> Self {
        Self::conflict(
            group,
            plural,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 409 for server-side apply conflicts (ssa-conflict-409.json).
    pub fn apply_conflict(message: &str, causes: &[Cause]) -> Self {
        let mut d = Map::new();
        d.insert("causes".into(), causes_json(causes));
        failure(409, "Conflict", message, Some(d))
    }

    /// 403 Forbidden (forbidden-403.json, forbidden-apply-403.json).
    pub fn forbidden(group: &str, plural: &str, name: &str, why: &str) -> Self {
        let q = qualified(group, plural);
        let msg = if name.is_empty() {
            format!("{q} is forbidden: {why}")
        } else {
            format!("{q} {name:?} is forbidden: {why}")
        };
        failure(403, "Forbidden", &msg, Some(details(name, group, plural)))
    }

    /// 422 Invalid with causes (invalid-selector-422.json, job-template-immutable-422.json).
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let gk = if group.is_empty() { kind.to_string() } else { format!("{kind}.{group}") };
        let summary = if causes.len() == 1 {
            causes[0].summary()
        } else {
            format!("[{}]", causes.iter().map(Cause::summary).collect::<Vec<_>>().join(", "))
        };
        let msg = format!("{gk} {name:?} is invalid: {summary}");
        let mut d = details(name, group, kind);
        d.insert("causes".into(), causes_json(&causes));
        failure(422, "Invalid", &msg, Some(d))
    }

    /// 422 with no details, as the server answers a failed JSON patch (json-patch-test-failed-422.json).
    pub fn unprocessable() -> Self {
        failure(422, "Invalid", "the server rejected our request due to an error in our request", Some(Map::new()))
    }

    /// 400 BadRequest.
    pub fn bad_request(message: &str) -> Self {
        failure(400, "BadRequest", message, None)
    }

    /// 401 for a missing or unknown bearer token.
    pub fn unauthorized() -> Self {
        failure(401, "Unauthorized", "Unauthorized", None)
    }

    /// 405 for a verb the resource does not take.
    pub fn method_not_allowed() -> Self {
        failure(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            Some(Map::new()),
        )
    }

    /// 406 for an Accept header we cannot satisfy (protobuf).
    pub fn not_acceptable() -> Self {
        failure(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml",
            None,
        )
    }

    /// 413 for oversized requests or objects.
    pub fn too_large(message: &str) -> Self {
        failure(413, "RequestEntityTooLarge", message, None)
    }

    /// 415 for an unknown body format.
    pub fn unsupported_media(accepted: &[&str]) -> Self {
        let msg = format!(
            "the body of the request was in an unknown format - accepted media types include: {}",
            accepted.join(", ")
        );
        failure(415, "UnsupportedMediaType", &msg, None)
    }

    /// 500, used by fault injection.
    pub fn internal(detail: &str) -> Self {
        let mut d = Map::new();
        d.insert("causes".into(), json!([{ "message": detail }]));
        failure(500, "InternalError", &format!("Internal error occurred: {detail}"), Some(d))
    }

    /// 503, used by fault injection.
    pub fn unavailable() -> Self {
        failure(503, "ServiceUnavailable", "the server is currently unable to handle the request", Some(Map::new()))
    }

    /// 429 with Retry-After, used by fault injection.
    pub fn too_many_requests(retry_after: u32) -> Self {
        let mut d = Map::new();
        d.insert("retryAfterSeconds".into(), json!(retry_after));
        let mut e = failure(429, "TooManyRequests", "Too many requests, please try again later.", Some(d));
        e.headers.push(("Retry-After".into(), retry_after.to_string()));
        e
    }

    /// 410 Expired for a watch from a compacted resourceVersion.
    pub fn expired(message: &str) -> Self {
        failure(410, "Expired", message, None)
    }
}

fn causes_json(causes: &[Cause]) -> Value {
    Value::Array(
        causes
            .iter()
            .map(|c| {
                let mut m = Map::new();
                m.insert("reason".into(), json!(c.reason));
                m.insert("message".into(), json!(c.message));
                m.insert("field".into(), json!(c.field));
                Value::Object(m)
            })
            .collect(),
    )
}

/// `Status` Success body a plain DELETE answers (delete-job-background.json).
pub fn delete_success(group: &str, plural: &str, name: &str, uid: &str) -> Value {
    let mut d = details(name, group, plural);
    d.insert("uid".into(), json!(uid));
    json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_matches_capture_shape() {
        let e = ApiError::not_found("apps", "deployments", "nope");
        assert_eq!(
            *e.body,
            json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
                "message":"deployments.apps \"nope\" not found","reason":"NotFound",
                "details":{"name":"nope","group":"apps","kind":"deployments"},"code":404})
        );
    }

    #[test]
    fn invalid_joins_several_causes() {
        let e = ApiError::invalid(
            "apps",
            "Deployment",
            "x",
            vec![Cause::required("spec.selector", ""), Cause::required("spec.template", "")],
        );
        assert_eq!(
            e.message,
            "Deployment.apps \"x\" is invalid: [spec.selector: Required value, spec.template: Required value]"
        );
    }
}
