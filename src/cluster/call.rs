//! Sending one request: each attempt bounded by `--request-timeout`, failures put in the words of
//! the problem and naming the request, transient ones retried as [`super::retry`] decides.

use super::retry::{self, Failure, Next, Verb};
use super::{Cluster, ClusterError};
use std::future::Future;

/// What re-reading an object says about a write whose outcome is unknown.
pub(super) enum Reread<T> {
    /// The write took effect: here is the object.
    Ours(T),
    /// It did not (the object is absent, or unchanged): send it again.
    Again,
    /// Someone else's write is there: a conflict.
    Theirs,
}

/// A request that failed for good; `uncertain` when some attempt may have taken effect.
pub(super) struct Failed {
    pub error: ClusterError,
    pub uncertain: bool,
}

/// For requests that never re-read (idempotent ones).
pub(super) fn no_reread<T>() -> impl FnMut() -> std::future::Ready<Result<Reread<T>, ClusterError>> {
    || std::future::ready(Ok(Reread::Again))
}

impl Cluster {
    /// Sends an idempotent request, retrying transient failures.
    pub(super) async fn call<T, S, SF>(&self, action: &str, id: &str, send: S) -> Result<T, ClusterError>
    where
        S: FnMut() -> SF,
        SF: Future<Output = Result<T, kube::Error>>,
    {
        self.run(Verb::Idempotent, action, id, send, no_reread()).await.map_err(|f| f.error)
    }

    /// Sends a request until it succeeds, fails for good, or the policy gives up. For
    /// [`Verb::Guarded`] writes, `reread` decides after a failure that may have taken effect,
    /// and after a 409 that may be our own earlier attempt.
    pub(super) async fn run<T, S, SF, R, RF>(
        &self,
        verb: Verb,
        action: &str,
        id: &str,
        mut send: S,
        mut reread: R,
    ) -> Result<T, Failed>
    where
        S: FnMut() -> SF,
        SF: Future<Output = Result<T, kube::Error>>,
        R: FnMut() -> RF,
        RF: Future<Output = Result<Reread<T>, ClusterError>>,
    {
        let (mut attempts, mut timeouts, mut uncertain) = (0, 0, false);
        loop {
            attempts += 1;
            let (failure, error) = match self.attempt(send(), action, id).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if verb == Verb::Guarded && uncertain && error.code() == Some(409) {
                return match reread().await {
                    Ok(Reread::Ours(v)) => Ok(v),
                    _ => Err(Failed { error, uncertain }),
                };
            }
            timeouts += u32::from(failure == Failure::TimedOut);
            let next = self.policy.decide(verb, failure, attempts, timeouts);
            uncertain |= failure.uncertain();
            let Next::Retry { wait, reread: check } = next else {
                return Err(Failed { error: error.tried(attempts), uncertain });
            };
            let wait = match failure {
                Failure::NotProcessed { retry_after: Some(_) } => wait,
                _ => retry::jitter(wait),
            };
            tokio::time::sleep(wait).await;
            if check {
                match reread().await {
                    Ok(Reread::Ours(v)) => return Ok(v),
                    Ok(Reread::Again) => {}
                    Ok(Reread::Theirs) => return Err(Failed { error: conflict(action, id), uncertain }),
                    Err(e) => return Err(Failed { error: e, uncertain }),
                }
            }
        }
    }

    /// One attempt, bounded by `--request-timeout`.
    async fn attempt<T>(
        &self,
        fut: impl Future<Output = Result<T, kube::Error>>,
        action: &str,
        id: &str,
    ) -> Result<T, (Failure, ClusterError)> {
        let _place = self.limit.acquire().await;
        let answer = match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.convert(e, action, id)),
            Err(_) => Err((Failure::TimedOut, self.timed_out(action, id))),
        };
        match &answer {
            Err((_, e)) if e.code() == Some(429) => self.limit.overloaded(),
            _ => self.limit.answered(),
        }
        answer
    }

    fn timed_out(&self, action: &str, id: &str) -> ClusterError {
        ClusterError::Timeout {
            request: format!("{action} {id}"),
            url: self.url.clone(),
            limit: self.timeout,
            attempts: 1,
        }
    }

    /// A kube-rs error in the words of the problem, naming the request, and what it means for
    /// retrying.
    fn convert(&self, e: kube::Error, action: &str, id: &str) -> (Failure, ClusterError) {
        let request = || format!("{action} {id}");
        match e {
            kube::Error::Api(status) if status.code == 401 => (
                Failure::Permanent,
                ClusterError::Unauthorized {
                    request: request(),
                    url: self.url.clone(),
                    who: self.identity.describe(),
                    message: Some(&status.message)
                        .filter(|m| !m.is_empty() && m.as_str() != "Unauthorized")
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default(),
                },
            ),
            kube::Error::Api(status) => {
                let retry_after = status.details.as_ref().map_or(0, |d| d.retry_after_seconds);
                let error = ClusterError::Api {
                    action: action.to_string(),
                    id: id.to_string(),
                    code: status.code,
                    reason: status.reason.clone(),
                    message: status.message.clone(),
                    causes: status
                        .details
                        .as_ref()
                        .map(|d| d.causes.iter().map(|c| format!("{}: {}", c.field, c.message)).collect())
                        .unwrap_or_default(),
                    attempts: 1,
                };
                (Failure::from_status(status.code, retry_after), error)
            }
            kube::Error::Auth(err) => (Failure::Permanent, ClusterError::Credentials(self.identity.auth_failure(&err))),
            kube::Error::HyperError(err) => self.transport(&err, request()),
            kube::Error::Service(err) => {
                if let Some(auth) = find::<kube::client::AuthError>(err.as_ref()) {
                    return (Failure::Permanent, ClusterError::Credentials(self.identity.auth_failure(auth)));
                }
                self.transport(err.as_ref(), request())
            }
            other => (Failure::Permanent, ClusterError::Other(format!("{} {id}: {other}", action))),
        }
    }

    fn transport(&self, err: &(dyn std::error::Error + 'static), request: String) -> (Failure, ClusterError) {
        let root = root_cause(err);
        let failure = retry::classify_transport(err, &root);
        let error = match failure {
            Failure::TimedOut => {
                ClusterError::Timeout { request, url: self.url.clone(), limit: self.timeout, attempts: 1 }
            }
            _ => ClusterError::Unreachable {
                request,
                url: self.url.clone(),
                reason: explain_transport(root),
                attempts: 1,
            },
        };
        (failure, error)
    }
}

/// An answer read as JSON, or the error kube-rs would make of it: the API's `Status` (or, from a
/// proxy that answers in plain text, a Status made of its text).
pub(super) fn json_answer(code: u16, body: &[u8]) -> Result<serde_json::Value, kube::Error> {
    if code >= 400 {
        let status = serde_json::from_slice::<kube::core::Status>(body).unwrap_or_else(|_| {
            let text = String::from_utf8_lossy(body);
            kube::core::Status::failure(text.trim(), "Failed to parse error data").with_code(code)
        });
        return Err(kube::Error::Api(status.boxed()));
    }
    serde_json::from_slice(body).map_err(kube::Error::SerdeError)
}

/// The 409 a guarded write reports when re-reading finds someone else's object.
fn conflict(action: &str, id: &str) -> ClusterError {
    ClusterError::Api {
        action: action.to_string(),
        id: id.to_string(),
        code: 409,
        reason: "Conflict".into(),
        message: "the object was changed by someone else while the outcome of this request was unknown".into(),
        causes: Vec::new(),
        attempts: 1,
    }
}

fn find<'e, E: std::error::Error + 'static>(err: &'e (dyn std::error::Error + 'static)) -> Option<&'e E> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(hit) = e.downcast_ref::<E>() {
            return Some(hit);
        }
        cur = e.source();
    }
    None
}

/// Transport errors in the words of the problem: rustls says "corrupt message of type
/// InvalidContentType" when the server answers https with plain http.
fn explain_transport(reason: String) -> String {
    if reason.contains("InvalidContentType") || reason.contains("corrupt message") {
        format!("TLS handshake failed: the server did not answer with TLS; is the URL http://? ({reason})")
    } else if retry::is_tls(&reason) {
        format!("TLS handshake failed: {reason}")
    } else {
        reason
    }
}

pub(super) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::retry::Policy;
    use kube::core::Status;
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use std::time::Duration;

    /// A cluster nothing is sent to (the tests' `send` answers), with millisecond backoff.
    fn cluster() -> Cluster {
        let config = kube::Config::new("http://127.0.0.1:9".parse().expect("uri"));
        Cluster {
            client: kube::Client::try_from(config.clone()).expect("client"),
            stream_config: config,
            stream_client: Default::default(),
            namespace: "ml".into(),
            url: "http://127.0.0.1:9/".into(),
            timeout: Duration::from_secs(5),
            identity: Default::default(),
            policy: Policy { base: Duration::from_millis(1), cap: Duration::from_millis(4), ..Policy::default() },
            discovery: Default::default(),
            limit: crate::cluster::limit::Limit::new(4),
            version: Default::default(),
        }
    }

    fn status(code: u16) -> kube::Error {
        kube::Error::Api(Status::failure("injected", "Injected").with_code(code).boxed())
    }

    /// Answers in turn (then OK), counting what was sent.
    struct Script(Mutex<VecDeque<Option<u16>>>, Mutex<u32>);

    impl Script {
        fn new(codes: &[Option<u16>]) -> Script {
            Script(Mutex::new(codes.iter().copied().collect()), Mutex::new(0))
        }
        fn send(&self) -> std::future::Ready<Result<u32, kube::Error>> {
            *self.1.lock().unwrap() += 1;
            let next = self.0.lock().unwrap().pop_front().flatten();
            std::future::ready(match next {
                Some(code) => Err(status(code)),
                None => Ok(7),
            })
        }
        fn sent(&self) -> u32 {
            *self.1.lock().unwrap()
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_an_answer() {
        let c = cluster();
        let script = Script::new(&[Some(503), Some(500), Some(429)]);
        assert_eq!(c.call("get", "X/ml/a", || script.send()).await.unwrap(), 7);
        assert_eq!(script.sent(), 4);
    }

    #[tokio::test]
    async fn a_persistent_fault_ends_after_the_last_attempt_naming_the_request() {
        let c = cluster();
        let script = Script::new(&[Some(500); 10]);
        let err = c.call("get", "X/ml/a", || script.send()).await.unwrap_err();
        assert_eq!(script.sent(), 4);
        assert!(err.to_string().starts_with("get X/ml/a: injected"), "{err}");
        assert!(err.to_string().ends_with("(gave up after 4 attempts)"), "{err}");
        let once = Script::new(&[Some(404)]);
        assert!(c.call("get", "X/ml/a", || once.send()).await.unwrap_err().is_not_found());
        assert_eq!(once.sent(), 1, "a 404 is an answer");
    }

    #[tokio::test]
    async fn a_guarded_write_rereads_before_sending_again_and_after_its_own_conflict() {
        let c = cluster();
        // 500 (did it land?), reread: absent; again: 409 (the first one had landed), reread: ours.
        let script = Script::new(&[Some(500), Some(409)]);
        let rereads = Mutex::new(VecDeque::from([Reread::Again, Reread::Ours(9)]));
        let reread = || std::future::ready(Ok(rereads.lock().unwrap().pop_front().unwrap_or(Reread::Theirs)));
        let v = c.run(Verb::Guarded, "create", "X/ml/a", || script.send(), reread).await.ok();
        assert_eq!((v, script.sent()), (Some(9), 2));

        // Not processed (429): sent again without a reread.
        let script = Script::new(&[Some(429)]);
        let reread = || -> std::future::Ready<Result<Reread<u32>, ClusterError>> { panic!("no reread after a 429") };
        assert!(c.run(Verb::Guarded, "create", "X/ml/a", || script.send(), reread).await.is_ok());

        // Someone else's object after an uncertain failure: a conflict, not a second write.
        let script = Script::new(&[Some(502)]);
        let theirs = || std::future::ready(Ok(Reread::Theirs));
        let err = c.run(Verb::Guarded, "create", "X/ml/a", || script.send(), theirs).await.err().unwrap();
        assert_eq!((err.error.code(), script.sent()), (Some(409), 1));
    }
}
