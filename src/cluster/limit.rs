//! How many requests are in flight at once: `--concurrency` (32 by default: a remote cluster's
//! round trips, not its CPU, bound a diff), halved whenever the server answers 429 (API priority
//! and fairness says it is saturated), and grown back by one after as many answers in a row as
//! the limit allows (additive increase, multiplicative decrease, as TCP does).
//!
//! Over HTTP/1.1 (kube-rs speaks nothing else) each request in flight holds a connection of its
//! own, so the limit is also how many connections, and TLS handshakes, a run opens at most.

use std::sync::Mutex;
use tokio::sync::Notify;

/// The default of `--concurrency`.
pub const DEFAULT: usize = 32;

#[derive(Debug)]
struct State {
    limit: usize,
    in_flight: usize,
    /// Answers since the limit last changed.
    streak: usize,
}

/// A concurrency limit that backs off on 429.
#[derive(Debug)]
pub struct Limit {
    max: usize,
    state: Mutex<State>,
    freed: Notify,
}

/// One request's place; dropping it frees the place.
pub struct Permit<'a>(&'a Limit);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.lock().in_flight -= 1;
        self.0.freed.notify_waiters();
    }
}

impl Limit {
    pub fn new(max: usize) -> Limit {
        let max = max.max(1);
        Limit { max, state: Mutex::new(State { limit: max, in_flight: 0, streak: 0 }), freed: Notify::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The configured maximum (what callers size their buffers to).
    pub fn max(&self) -> usize {
        self.max
    }

    /// The limit now.
    pub fn current(&self) -> usize {
        self.lock().limit
    }

    /// Waits for a place.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut s = self.lock();
                if s.in_flight < s.limit {
                    s.in_flight += 1;
                    return Permit(self);
                }
            }
            freed.await;
        }
    }

    /// The server turned a request away (429): halve the limit.
    pub fn overloaded(&self) {
        let mut s = self.lock();
        s.limit = (s.limit / 2).max(1);
        s.streak = 0;
    }

    /// A request was answered: after `limit` answers in a row, one more may run.
    pub fn answered(&self) {
        let mut s = self.lock();
        s.streak += 1;
        if s.streak >= s.limit && s.limit < self.max {
            s.limit += 1;
            s.streak = 0;
            drop(s);
            self.freed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn halves_on_429_and_grows_back_one_at_a_time() {
        let l = Limit::new(32);
        l.overloaded();
        l.overloaded();
        assert_eq!(l.current(), 8);
        for _ in 0..8 {
            l.answered();
        }
        assert_eq!(l.current(), 9);
        for _ in 0..1000 {
            l.answered();
        }
        assert_eq!(l.current(), 32, "never above the maximum");
        for _ in 0..10 {
            l.overloaded();
        }
        assert_eq!(l.current(), 1, "never below one");
    }

    #[tokio::test]
    async fn waits_for_a_place() {
        let l = std::sync::Arc::new(Limit::new(1));
        let first = l.acquire().await;
        let l2 = l.clone();
        let waiter = tokio::spawn(async move {
            let _p = l2.acquire().await;
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "no place until the first is dropped");
        drop(first);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.expect("woken").expect("no panic");
    }
}
