//! URL paths to routes. Resource existence is checked later against the registry.

/// A resource URL, decomposed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourcePath {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The deprecated `/watch/` path prefix.
    pub watch: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Version,
    /// `/debug/test-apiserver/stats`: connections and requests so far (a bench reads it).
    Stats,
    Health,
    Api,
    Apis,
    Group(String),
    GroupVersion(String, String),
    OpenApiV2,
    OpenApiV3Root,
    OpenApiV3(String, String),
    Resource(ResourcePath),
    Unknown,
}

pub fn parse(path: &str) -> Route {
    let segs: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["debug", "test-apiserver", "stats"] => Route::Stats,
        ["healthz" | "livez" | "readyz", ..] => Route::Health,
        ["api"] => Route::Api,
        ["apis"] => Route::Apis,
        ["api", v] => Route::GroupVersion(String::new(), v.to_string()),
        ["apis", g] => Route::Group(g.to_string()),
        ["apis", g, v] => Route::GroupVersion(g.to_string(), v.to_string()),
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiV3Root,
        ["openapi", "v3", "api", v] => Route::OpenApiV3(String::new(), v.to_string()),
        ["openapi", "v3", "apis", g, v] => Route::OpenApiV3(g.to_string(), v.to_string()),
        ["api", v, rest @ ..] => resource("", v, rest),
        ["apis", g, v, rest @ ..] => resource(g, v, rest),
        _ => Route::Unknown,
    }
}

fn resource(group: &str, version: &str, rest: &[&str]) -> Route {
    let (watch, rest) = match rest {
        ["watch", tail @ ..] => (true, tail),
        _ => (false, rest),
    };
    let mut rp = ResourcePath { group: group.into(), version: version.into(), watch, ..Default::default() };
    let s = |x: &&str| Some(x.to_string());
    let tail: &[&str] = match rest {
        ["namespaces"] => {
            rp.plural = "namespaces".into();
            return Route::Resource(rp);
        }
        ["namespaces", name] => {
            rp.plural = "namespaces".into();
            rp.name = s(name);
            return Route::Resource(rp);
        }
        ["namespaces", name, sub @ ("status" | "finalize")] => {
            rp.plural = "namespaces".into();
            rp.name = s(name);
            rp.subresource = s(sub);
            return Route::Resource(rp);
        }
        ["namespaces", ns, tail @ ..] => {
            rp.namespace = s(ns);
            tail
        }
        other => other,
    };
    match tail {
        [plural] => rp.plural = plural.to_string(),
        [plural, name] => {
            rp.plural = plural.to_string();
            rp.name = s(name);
        }
        [plural, name, sub] => {
            rp.plural = plural.to_string();
            rp.name = s(name);
            rp.subresource = s(sub);
        }
        _ => return Route::Unknown,
    }
    Route::Resource(rp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(path: &str) -> ResourcePath {
        match parse(path) {
            Route::Resource(r) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn paths() {
        assert_eq!(parse("/api"), Route::Api);
        assert_eq!(parse("/apis/apps/v1"), Route::GroupVersion("apps".into(), "v1".into()));
        assert_eq!(parse("/openapi/v3/apis/apps/v1"), Route::OpenApiV3("apps".into(), "v1".into()));
        let d = res("/apis/apps/v1/namespaces/t/deployments/web/status");
        assert_eq!(
            (d.namespace.as_deref(), d.plural.as_str(), d.name.as_deref(), d.subresource.as_deref()),
            (Some("t"), "deployments", Some("web"), Some("status"))
        );
        let n = res("/api/v1/namespaces/t");
        assert_eq!((n.plural.as_str(), n.name.as_deref(), n.namespace), ("namespaces", Some("t"), None));
        let p = res("/api/v1/namespaces/t/pods");
        assert_eq!((p.plural.as_str(), p.namespace.as_deref()), ("pods", Some("t")));
        assert!(res("/apis/apps/v1/watch/namespaces/t/deployments").watch);
        assert_eq!(res("/api/v1/pods").namespace, None);
        assert_eq!(parse("/apis/apps/v1/namespaces/t/a/b/c/d"), Route::Unknown);
        assert_eq!(parse("/nope"), Route::Unknown);
    }
}
