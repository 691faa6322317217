//! Bearer-token authentication and forbid-rule authorization (an RBAC stand-in).

use crate::config::ForbidRule;
use crate::status::ApiError;
use std::collections::HashMap;

/// The user for the request: with no tokens configured everyone is "admin"; without
/// credentials it is the anonymous user, if one is configured.
pub fn authenticate(
    authorization: Option<&str>,
    tokens: &HashMap<String, String>,
    anonymous: Option<&str>,
) -> Result<String, ApiError> {
    if tokens.is_empty() {
        return Ok("admin".to_string());
    }
    let token =
        authorization.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))).map(str::trim);
    match token {
        Some(t) => tokens.get(t).cloned().ok_or_else(ApiError::unauthorized),
        None => anonymous.map(str::to_string).ok_or_else(ApiError::unauthorized),
    }
}

/// `Impersonate-User`: act as `target` if `user` may impersonate users.
pub fn impersonate(rules: &[ForbidRule], user: &str, target: &str) -> Result<String, ApiError> {
    let a = Attributes {
        user,
        verb: "impersonate",
        group: "",
        resource: "users",
        subresource: None,
        namespace: "",
        name: target,
    };
    if allowed(rules, &a) {
        Ok(target.to_string())
    } else {
        Err(forbidden(&a))
    }
}

/// One authorization question.
#[derive(Debug, Clone, PartialEq)]
pub struct Attributes<'a> {
    pub user: &'a str,
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: Option<&'a str>,
    pub namespace: &'a str,
    pub name: &'a str,
}

/// True if no rule denies it. A rule on `pods` also denies its subresources; a rule on
/// `pods/log` denies only that subresource (as RBAC names it).
pub fn allowed(rules: &[ForbidRule], a: &Attributes) -> bool {
    let sub = a.subresource.map(|s| format!("{}/{s}", a.resource));
    !rules.iter().any(|r| {
        r.matches(a.user, a.verb, a.group, a.resource, a.namespace)
            || sub.as_deref().is_some_and(|s| r.matches(a.user, a.verb, a.group, s, a.namespace))
    })
}

/// 403 with the message RBAC gives (forbidden-403.json).
pub fn forbidden(a: &Attributes) -> ApiError {
    let resource = match a.subresource {
        Some(s) => format!("{}/{s}", a.resource),
        None => a.resource.to_string(),
    };
    let scope = if a.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {:?}", a.namespace)
    };
    let why = format!("User {:?} cannot {} resource {:?} in API group {:?} {scope}", a.user, a.verb, resource, a.group);
    ApiError::forbidden(a.group, a.resource, a.name, &why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn capture(name: &str) -> Value {
        let p = format!("{}/tests/captures/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str::<Value>(&std::fs::read_to_string(p).unwrap()).unwrap()["response"]["body"].clone()
    }

    #[test]
    fn tokens() {
        let mut t = HashMap::new();
        assert_eq!(authenticate(None, &t, None).unwrap(), "admin");
        t.insert("abc".to_string(), "limited".to_string());
        assert_eq!(authenticate(Some("Bearer abc"), &t, None).unwrap(), "limited");
        assert_eq!(authenticate(Some("Bearer zzz"), &t, Some("admin")).unwrap_err().code, 401);
        assert_eq!(authenticate(None, &t, None).unwrap_err().body["reason"], "Unauthorized");
        assert_eq!(authenticate(None, &t, Some("admin")).unwrap(), "admin");
        let rules = vec![ForbidRule::user("limited")];
        assert_eq!(impersonate(&rules, "admin", "limited").unwrap(), "limited");
        let e = impersonate(&rules, "limited", "admin").unwrap_err();
        assert_eq!(e.message, "users \"admin\" is forbidden: User \"limited\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope");
    }

    #[test]
    fn forbidden_bodies_match_captures() {
        let list = Attributes {
            user: "limited",
            verb: "list",
            group: "",
            resource: "pods",
            subresource: None,
            namespace: "capture-demo",
            name: "",
        };
        assert_eq!(*forbidden(&list).body, capture("forbidden-403.json"));
        let patch = Attributes {
            user: "limited",
            verb: "patch",
            group: "apps",
            resource: "deployments",
            subresource: None,
            namespace: "capture-demo",
            name: "web2",
        };
        assert_eq!(*forbidden(&patch).body, capture("forbidden-apply-403.json"));
        let rules = vec![ForbidRule::user("limited").verb("list").resource("pods")];
        assert!(!allowed(&rules, &list));
        assert!(allowed(&rules, &patch));
    }
}
