//! The one retry policy for every request this tool makes (kube-rs's own retry layer is off, see
//! `config::load`, so nothing is retried twice over).
//!
//! A transient failure is retried with capped exponential backoff (a 429's `Retry-After` is
//! honoured, capped), at most [`Policy::max_attempts`] times, so a persistent fault ends with a
//! clear error instead of a hang. Whether a request may simply be sent again depends on its verb:
//! GET/LIST, server-side apply (also dry-run) and DELETE of a named object have the same effect
//! twice as once. A POST (the release record, the Lease) or a PUT guarded by a resourceVersion is
//! sent again only when the server surely did not process it (429, 503, a refused connection);
//! after a failure that may have taken effect (500, reset, timeout) the caller re-reads the
//! object first, and a 409 after such a failure is checked the same way.

use std::time::Duration;

/// How a request may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// The same request twice has the effect of once: every transient failure is retried.
    Idempotent,
    /// A create, or a write guarded by a resourceVersion: re-read before repeating it after a
    /// failure that may have taken effect.
    Guarded,
}

/// What one failed attempt says about the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Turned away before it was processed (429, 503, a refused connection); the server may say
    /// when to come back.
    NotProcessed { retry_after: Option<Duration> },
    /// 500, 502, 504 or a dropped connection: it may or may not have taken effect.
    Uncertain,
    /// No answer within `--request-timeout`: it may still take effect.
    TimedOut,
    /// Anything else (4xx, TLS, credentials): sending it again cannot help.
    Permanent,
}

impl Failure {
    /// Whether the request may have been carried out although it failed.
    pub fn uncertain(self) -> bool {
        matches!(self, Failure::Uncertain | Failure::TimedOut)
    }

    /// The failure an HTTP status code means.
    pub fn from_status(code: u16, retry_after_secs: u32) -> Failure {
        let after = (retry_after_secs > 0).then(|| Duration::from_secs(u64::from(retry_after_secs)));
        match code {
            429 | 503 => Failure::NotProcessed { retry_after: after },
            500 | 502 | 504 => Failure::Uncertain,
            _ => Failure::Permanent,
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    GiveUp,
    /// Wait, then (`reread`: after checking whether the last attempt took effect) send again.
    Retry {
        wait: Duration,
        reread: bool,
    },
}

/// Bounds on retrying. The defaults keep a persistent fault under a few seconds plus the
/// request timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Attempts of one request, the first included.
    pub max_attempts: u32,
    /// Timed-out attempts of one request: each already waited the whole `--request-timeout`.
    pub max_timeouts: u32,
    /// The wait after the first failure; doubled after each further one.
    pub base: Duration,
    /// The longest computed wait.
    pub cap: Duration,
    /// The longest wait a `Retry-After` may ask for.
    pub retry_after_cap: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_attempts: 4,
            max_timeouts: 2,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(2),
            retry_after_cap: Duration::from_secs(10),
        }
    }
}

impl Policy {
    /// The backoff after `attempts` failed attempts (1-based): base, 2 x base, ... up to the cap.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(16);
        self.base.saturating_mul(1 << doublings).min(self.cap)
    }

    /// Decides after the `attempts`-th attempt failed with `failure` (`timeouts` of them timed out).
    pub fn decide(&self, verb: Verb, failure: Failure, attempts: u32, timeouts: u32) -> Next {
        if failure == Failure::Permanent || attempts >= self.max_attempts {
            return Next::GiveUp;
        }
        if failure == Failure::TimedOut && timeouts >= self.max_timeouts {
            return Next::GiveUp;
        }
        let wait = match failure {
            Failure::NotProcessed { retry_after: Some(after) } => after.min(self.retry_after_cap),
            _ => self.backoff(attempts),
        };
        Next::Retry { wait, reread: verb == Verb::Guarded && failure.uncertain() }
    }
}

/// Spreads computed waits by up to ±20 % so that concurrent requests do not retry in step
/// (no random-number crate: the clock's nanoseconds are random enough for this).
pub fn jitter(wait: Duration) -> Duration {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let factor = 0.8 + f64::from(nanos % 1000) / 1000.0 * 0.4;
    wait.mul_f64(factor)
}

/// The failure a transport error (no HTTP answer) means, from the kinds of I/O error in its
/// chain and, for TLS, its words.
pub fn classify_transport(err: &(dyn std::error::Error + 'static), root: &str) -> Failure {
    if is_tls(root) {
        return Failure::Permanent;
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.is::<kube::client::AuthError>() {
            return Failure::Permanent;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return Failure::NotProcessed { retry_after: None },
                TimedOut => return Failure::TimedOut,
                _ => {}
            }
        }
        cur = e.source();
    }
    if root.contains("timed out") || root.contains("deadline has elapsed") {
        return Failure::TimedOut;
    }
    Failure::Uncertain
}

/// rustls's words for a failed handshake ("corrupt message of type InvalidContentType" when an
/// https client meets a plain-http server).
pub fn is_tls(reason: &str) -> bool {
    reason.contains("InvalidContentType")
        || reason.contains("corrupt message")
        || reason.contains("certificate")
        || reason.contains("UnknownIssuer")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = Policy::default();
        let waits: Vec<Duration> = (1..=6).map(|n| p.backoff(n)).collect();
        assert_eq!(waits, vec![MS(250), MS(500), MS(1000), MS(2000), MS(2000), MS(2000)]);
        assert_eq!(p.backoff(u32::MAX), MS(2000), "no overflow");
    }

    #[test]
    fn transient_statuses_are_retried_and_others_are_not() {
        let p = Policy::default();
        for code in [500, 502, 503, 504, 429] {
            let f = Failure::from_status(code, 0);
            assert!(matches!(p.decide(Verb::Idempotent, f, 1, 0), Next::Retry { .. }), "{code}");
        }
        for code in [400, 401, 403, 404, 409, 422] {
            assert_eq!(p.decide(Verb::Idempotent, Failure::from_status(code, 0), 1, 0), Next::GiveUp, "{code}");
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = Policy::default();
        let wait = |secs| match p.decide(Verb::Guarded, Failure::from_status(429, secs), 1, 0) {
            Next::Retry { wait, reread } => {
                assert!(!reread, "a 429 was not processed: send again without re-reading");
                wait
            }
            Next::GiveUp => panic!("429 is retried"),
        };
        assert_eq!(wait(3), Duration::from_secs(3));
        assert_eq!(wait(3600), Duration::from_secs(10));
        assert_eq!(wait(0), MS(250), "no Retry-After: backoff");
    }

    #[test]
    fn attempts_and_timeouts_are_bounded() {
        let p = Policy::default();
        assert!(matches!(p.decide(Verb::Idempotent, Failure::Uncertain, 3, 0), Next::Retry { .. }));
        assert_eq!(p.decide(Verb::Idempotent, Failure::Uncertain, 4, 0), Next::GiveUp);
        assert!(matches!(p.decide(Verb::Idempotent, Failure::TimedOut, 1, 1), Next::Retry { .. }));
        assert_eq!(p.decide(Verb::Idempotent, Failure::TimedOut, 2, 2), Next::GiveUp);
        let total: Duration = (1..p.max_attempts).map(|n| p.backoff(n)).sum();
        assert!(total < Duration::from_secs(2), "a persistent fault ends quickly: {total:?}");
    }

    #[test]
    fn guarded_writes_reread_after_an_uncertain_failure_only() {
        let p = Policy::default();
        let reread = |f| matches!(p.decide(Verb::Guarded, f, 1, 0), Next::Retry { reread: true, .. });
        assert!(reread(Failure::Uncertain));
        assert!(reread(Failure::TimedOut));
        assert!(!reread(Failure::NotProcessed { retry_after: None }));
        assert!(!matches!(p.decide(Verb::Idempotent, Failure::Uncertain, 1, 0), Next::Retry { reread: true, .. }));
    }

    #[test]
    fn transport_errors_are_classified_by_their_io_kind() {
        use std::io::{Error, ErrorKind};
        let refused = Error::new(ErrorKind::ConnectionRefused, "refused");
        assert_eq!(classify_transport(&refused, "refused"), Failure::NotProcessed { retry_after: None });
        let reset = Error::new(ErrorKind::ConnectionReset, "reset");
        assert_eq!(classify_transport(&reset, "reset"), Failure::Uncertain);
        let slow = Error::new(ErrorKind::TimedOut, "slow");
        assert_eq!(classify_transport(&slow, "slow"), Failure::TimedOut);
        let tls = Error::other("x");
        assert_eq!(classify_transport(&tls, "corrupt message of type InvalidContentType"), Failure::Permanent);
    }

    #[test]
    fn jitter_stays_within_a_fifth() {
        for _ in 0..20 {
            let j = jitter(MS(1000));
            assert!(j >= MS(800) && j <= MS(1200), "{j:?}");
        }
    }
}
