//! Request dispatch: faults, authentication, routing, authorization, then the verb handlers.

pub mod delete;
pub mod log;
pub mod read;
pub mod review;
pub mod scale;
pub mod watch;
pub mod write;

use crate::auth::{self, Attributes};
use crate::config::FaultAction;
use crate::discovery;
use crate::faults;
use crate::http::{Query, Reply};
use crate::router::{self, ResourcePath, Route};
use crate::state::Shared;
use crate::status::{ApiError, Cause};
use bytes::Bytes;
use std::sync::Arc;
use write::WriteCtx;

/// A request as the handlers see it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub raw_query: String,
    pub query: Query,
    pub content_type: Option<String>,
    pub accept: String,
    pub authorization: Option<String>,
    pub impersonate: Option<String>,
    pub user_agent: Option<String>,
    pub body: Bytes,
}

impl Request {
    /// Path plus `?query`, as fault regexes see it.
    pub fn target(&self) -> String {
        if self.raw_query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.raw_query)
        }
    }

    /// `fieldManager`, or the user agent's first word as the real server derives it.
    fn manager(&self) -> String {
        if let Some(m) = self.query.get("fieldManager").filter(|m| !m.is_empty()) {
            return m.to_string();
        }
        let ua = self.user_agent.as_deref().unwrap_or("");
        let prefix = ua.split('/').next().unwrap_or("").trim();
        if prefix.is_empty() {
            "unknown".to_string()
        } else {
            prefix.to_string()
        }
    }
}

/// The answer plus who asked (for the log).
pub struct Outcome {
    pub reply: Reply,
    pub user: Option<String>,
}

fn fault_error(code: u16) -> ApiError {
    match code {
        429 => ApiError::too_many_requests(1),
        503 => ApiError::unavailable(),
        500 => ApiError::internal("injected fault"),
        other => {
            let mut e = ApiError::internal("injected fault");
            e.code = other;
            e.body["code"] = serde_json::json!(other);
            e
        }
    }
}

pub async fn handle(sh: &Arc<Shared>, req: &Request) -> Outcome {
    let (user, action) =
        {
            let mut st = sh.lock();
            let user = auth::authenticate(req.authorization.as_deref(), &st.tokens, st.anonymous_user.as_deref())
                .and_then(|u| match &req.impersonate {
                    Some(target) => auth::impersonate(&st.forbid, &u, target),
                    None => Ok(u),
                });
            let action = faults::check(&mut st.faults, &req.method, &req.target());
            st.faults_fired += u64::from(action.is_some());
            (user, action)
        };
    // Faults stand for trouble in front of the server, so they win over authentication,
    // but the log still names the user when the credentials were good.
    let known = user.as_ref().ok().cloned();
    match action {
        Some(FaultAction::Delay(d)) => tokio::time::sleep(d).await,
        Some(FaultAction::RunControllers) => crate::workers::release_held(&mut sh.lock()),
        Some(FaultAction::Reset) => return Outcome { reply: Reply::Reset, user: known },
        Some(FaultAction::Status(code)) => return Outcome { reply: fault_error(code).into(), user: known },
        Some(FaultAction::TooManyRequests { retry_after_secs }) => {
            return Outcome { reply: ApiError::too_many_requests(retry_after_secs).into(), user: known }
        }
        None => {}
    }
    let user = match user {
        Ok(u) => u,
        Err(e) => return Outcome { reply: e.into(), user: None },
    };
    let reply = route(sh, req, &user).unwrap_or_else(Reply::from);
    Outcome { reply, user: Some(user) }
}

fn route(sh: &Arc<Shared>, req: &Request, user: &str) -> Result<Reply, ApiError> {
    let aggregated = || {
        let st = sh.lock();
        if st.aggregated_discovery {
            discovery::wants_aggregated(&req.accept)
        } else {
            None
        }
    };
    let read_only = |r: Reply| if req.method == "GET" { Ok(r) } else { Err(ApiError::method_not_allowed()) };
    match router::parse(&req.path) {
        Route::Version => read_only(discovery::version(sh.lock().git_version.as_deref())),
        Route::Stats => read_only(crate::workers::stats(sh)),
        Route::Health => {
            read_only(Reply::Raw { status: 200, content_type: "text/plain".into(), body: Bytes::from_static(b"ok") })
        }
        Route::Api => {
            let agg = aggregated();
            read_only(discovery::api(&sh.lock().registry, &sh.addr.to_string(), agg))
        }
        Route::Apis => {
            let agg = aggregated();
            read_only(discovery::apis(&sh.lock().registry, agg))
        }
        Route::Group(g) => read_only(discovery::group(&sh.lock().registry, &g)),
        Route::GroupVersion(g, v) => read_only(discovery::resource_list(&sh.lock().registry, &g, &v)),
        Route::OpenApiV2 => read_only(discovery::openapi_v2(&req.accept)),
        Route::OpenApiV3Root => read_only(discovery::openapi_v3_root(&sh.lock().registry)),
        Route::OpenApiV3(g, v) => read_only(discovery::openapi_v3(&sh.lock().registry, &g, &v)),
        Route::Resource(rp) => resource(sh, req, user, &rp),
        Route::Unknown => Err(ApiError::unknown_resource()),
    }
}

/// Subresources this server implements (the others are listed in discovery only).
fn served_subresource(plural: &str, sub: &str) -> bool {
    matches!(sub, "status" | "scale") || (plural == "pods" && sub == "log")
}

fn verb_of(req: &Request, rp: &ResourcePath) -> &'static str {
    let watch = rp.watch || req.query.flag("watch");
    match (req.method.as_str(), rp.name.is_some()) {
        ("GET", _) if watch => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

fn options_kind(verb: &str) -> &'static str {
    match verb {
        "create" => "CreateOptions",
        "update" => "UpdateOptions",
        "patch" => "PatchOptions",
        _ => "DeleteOptions",
    }
}

/// A resource request, answered under the URL's version: objects carry its `apiVersion`,
/// and a deprecated version adds its `Warning`.
fn resource(sh: &Arc<Shared>, req: &Request, user: &str, rp: &ResourcePath) -> Result<Reply, ApiError> {
    let info = sh.lock().registry.lookup(&rp.group, &rp.version, &rp.plural).cloned();
    let reply = serve(sh, req, user, rp);
    let Some(info) = info else { return reply };
    let mut reply = reply.unwrap_or_else(Reply::from);
    if let Reply::Json { body, headers, .. } = &mut reply {
        info.at_version(body);
        if let Some(warning) = info.deprecation() {
            headers.push(("Warning".into(), warning));
        }
    }
    Ok(reply)
}

fn serve(sh: &Arc<Shared>, req: &Request, user: &str, rp: &ResourcePath) -> Result<Reply, ApiError> {
    let accept_ok = req.accept.is_empty() || ["json", "*/*", "yaml"].iter().any(|t| req.accept.contains(t));
    if !accept_ok {
        return Err(ApiError::not_acceptable());
    }
    let mut st = sh.lock();
    let info =
        st.registry.lookup(&rp.group, &rp.version, &rp.plural).cloned().ok_or_else(ApiError::unknown_resource)?;
    let scoped_wrong = (rp.namespace.is_some() && !info.namespaced)
        || (rp.namespace.is_none() && info.namespaced && rp.name.is_some());
    let sub_ok = rp
        .subresource
        .as_deref()
        .map_or(true, |s| info.subresources.iter().any(|x| x.name == s) && served_subresource(&info.plural, s));
    if scoped_wrong || !sub_ok {
        return Err(ApiError::unknown_resource());
    }
    let verb = verb_of(req, rp);
    let subresource_verb = rp.subresource.is_some() && matches!(verb, "get" | "update" | "patch");
    if !subresource_verb && !info.verbs.iter().any(|v| v == verb) {
        return Err(ApiError::method_not_allowed());
    }
    let namespace = rp.namespace.clone().unwrap_or_default();
    let name = rp.name.clone().unwrap_or_default();
    let attrs = Attributes {
        user,
        verb,
        group: &info.group,
        resource: &info.plural,
        subresource: rp.subresource.as_deref(),
        namespace: &namespace,
        name: &name,
    };
    if !info.is_review() && !auth::allowed(&st.forbid, &attrs) {
        return Err(auth::forbidden(&attrs));
    }
    if info.is_review() {
        return match verb {
            "create" => review::create(&st, &info, user, &req.manager(), req),
            _ => Err(ApiError::method_not_allowed()),
        };
    }
    if verb == "create" && rp.name.is_some() {
        return Err(ApiError::method_not_allowed());
    }
    let writes = !matches!(verb, "get" | "list" | "watch");
    let dry_run =
        req.query.dry_run().map(|d| d && writes).or_else(|e| if writes { Err(e) } else { Ok(false) }).map_err(|e| {
            let (field, msg) = e.split_once(": ").unwrap_or(("dryRun", &e));
            ApiError::invalid(
                "meta.k8s.io",
                options_kind(verb),
                "",
                vec![Cause::new("FieldValueNotSupported", msg, field)],
            )
        })?;
    let ns_opt = rp.namespace.as_deref();
    match verb {
        "get" if rp.subresource.as_deref() == Some("scale") => {
            let w = WriteCtx {
                info: &info,
                namespace: &namespace,
                manager: String::new(),
                dry_run,
                strict: false,
                status_subresource: false,
            };
            scale::get(&st, &w, &name)
        }
        "get" if rp.subresource.as_deref() == Some("log") => log::get(sh, &st, &namespace, &name, req),
        _ if rp.subresource.as_deref() == Some("log") => Err(ApiError::method_not_allowed()),
        "get" => read::get(&st, &info, &namespace, &name, req),
        "list" => read::list(&st, &info, ns_opt, req),
        "watch" => {
            drop(st);
            watch::start(sh, &info, ns_opt, req)
        }
        _ => {
            let apply = req.content_type.as_deref().is_some_and(|c| c.starts_with("application/apply-patch+yaml"));
            let manager = if apply { req.query.get("fieldManager").unwrap_or("").to_string() } else { req.manager() };
            let w = WriteCtx {
                info: &info,
                namespace: &namespace,
                manager,
                dry_run,
                strict: req.query.get("fieldValidation") == Some("Strict"),
                status_subresource: rp.subresource.as_deref() == Some("status"),
            };
            if rp.subresource.as_deref() == Some("scale") {
                return scale::write(sh, &mut st, &w, &name, req);
            }
            match verb {
                "create" => write::create(sh, &mut st, &w, req),
                "update" => write::update(sh, &mut st, &w, &name, req),
                "patch" => write::patch(sh, &mut st, &w, &name, req, req.query.flag("force")),
                "delete" => delete::delete(sh, &mut st, &w, &name, req),
                "deletecollection" => delete::delete_collection(sh, &mut st, &w, req),
                _ => Err(ApiError::method_not_allowed()),
            }
        }
    }
}
