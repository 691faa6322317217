//! Access reviews (authorization.k8s.io/v1): answered from the forbid rules, never stored.

use super::write::decode_body;
use super::Request;
use crate::apply::managed::Scope;
use crate::apply::schema::schema;
use crate::apply::{record_update, Writer};
use crate::auth::{allowed, Attributes};
use crate::http::Reply;
use crate::resources::ResourceInfo;
use crate::state::State;
use crate::status::ApiError;
use serde_json::{json, Value};

/// POST of a review: SelfSubjectAccessReview (self-subject-access-review.json) or
/// SelfSubjectRulesReview (answered with an empty, incomplete rule list).
pub fn create(st: &State, info: &ResourceInfo, user: &str, manager: &str, req: &Request) -> Result<Reply, ApiError> {
    let body = decode_body(req)?;
    let spec = body.get("spec").cloned().unwrap_or(json!({}));
    let status = match info.kind.as_str() {
        "SelfSubjectAccessReview" | "SubjectAccessReview" | "LocalSubjectAccessReview" => {
            let subject = if info.kind == "SelfSubjectAccessReview" {
                user
            } else {
                spec.get("user").and_then(Value::as_str).unwrap_or("")
            };
            let ok = match spec.get("resourceAttributes") {
                Some(ra) => {
                    let s = |k: &str| ra.get(k).and_then(Value::as_str).unwrap_or("");
                    let a = Attributes {
                        user: subject,
                        verb: s("verb"),
                        group: s("group"),
                        resource: s("resource"),
                        subresource: Some(s("subresource")).filter(|x| !x.is_empty()),
                        namespace: s("namespace"),
                        name: s("name"),
                    };
                    allowed(&st.forbid, &a)
                }
                None => true,
            };
            json!({"allowed": ok})
        }
        "SelfSubjectRulesReview" => json!({"resourceRules": [], "nonResourceRules": [], "incomplete": true}),
        _ => return Err(ApiError::method_not_allowed()),
    };
    let mut out = json!({
        "kind": info.kind,
        "apiVersion": info.api_version(),
        "metadata": {"creationTimestamp": null},
        "spec": spec,
    });
    let baseline = json!({"metadata": {"creationTimestamp": null}, "spec": {}});
    let av = info.api_version();
    let now = st.now();
    let w = Writer { manager, api_version: &av, now: &now, scope: Scope::Main { status_reset: true } };
    record_update(&baseline, &mut out, schema().root(&info.group, &info.version, &info.kind), &w);
    out["status"] = status;
    Ok(Reply::json(201, out))
}
