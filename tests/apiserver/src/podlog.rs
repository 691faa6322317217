//! Container logs, the kubelet's half of `pods/log`: lines per container run (the current one
//! and the one before it, which `previous=true` reads), each with the time it was written.
//! Tests seed and append lines; a follow stream is told about new lines through a watch channel.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// One run of one container: `previous` is the run before the current one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogKey {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub previous: bool,
}

impl LogKey {
    pub fn new(namespace: &str, pod: &str, container: &str, previous: bool) -> LogKey {
        LogKey { namespace: namespace.into(), pod: pod.into(), container: container.into(), previous }
    }
}

/// A line as the container runtime stored it (without its newline).
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Nanoseconds since the Unix epoch.
    pub at: i128,
    pub text: String,
}

/// Lines a test seeded before the server started.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedLog {
    pub key: LogKey,
    pub text: String,
}

/// Every container's lines, and a counter bumped on each append (follow streams watch it).
#[derive(Debug)]
pub struct Logs {
    lines: BTreeMap<LogKey, Vec<LogLine>>,
    changed: watch::Sender<u64>,
}

impl Default for Logs {
    fn default() -> Self {
        Logs { lines: BTreeMap::new(), changed: watch::channel(0).0 }
    }
}

pub fn unix_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

impl Logs {
    /// Appends `text` (split into lines) written at `at`; lines of one call are a nanosecond
    /// apart, and never earlier than the lines before them, as a runtime's clock would stamp them.
    pub fn append(&mut self, key: LogKey, text: &str, at: SystemTime) {
        let lines = self.lines.entry(key).or_default();
        let first = unix_nanos(at).max(lines.last().map_or(i128::MIN, |l| l.at + 1));
        for (t, line) in (first..).zip(text.lines()) {
            lines.push(LogLine { at: t, text: line.to_string() });
        }
        self.changed.send_modify(|n| *n += 1);
    }

    /// Replaces a run's lines (a test that restarts a container moves them to `previous`).
    pub fn set(&mut self, key: LogKey, text: &str, at: SystemTime) {
        self.lines.remove(&key);
        self.append(key, text, at);
    }

    pub fn lines(&self, key: &LogKey) -> &[LogLine] {
        self.lines.get(key).map_or(&[], Vec::as_slice)
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

/// `time.RFC3339Nano` as Go prints it: UTC, the fraction without trailing zeros (none if zero).
pub fn rfc3339_nano(nanos: i128) -> String {
    let secs = nanos.div_euclid(1_000_000_000) as i64;
    let frac = nanos.rem_euclid(1_000_000_000);
    let base = crate::util::rfc3339(secs);
    if frac == 0 {
        return base;
    }
    let digits = format!("{frac:09}");
    format!("{}.{}Z", base.trim_end_matches('Z'), digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_print_as_go_rfc3339_nano() {
        assert_eq!(rfc3339_nano(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_nano(1_500_000_000), "1970-01-01T00:00:01.5Z");
        assert_eq!(rfc3339_nano(1_000_000_123), "1970-01-01T00:00:01.000000123Z");
    }

    #[test]
    fn appended_lines_keep_order_and_notify() {
        let mut logs = Logs::default();
        let mut rx = logs.subscribe();
        let key = LogKey::new("t", "p", "c", false);
        let t = UNIX_EPOCH + Duration::from_secs(10);
        logs.append(key.clone(), "a\nb\n", t);
        logs.append(key.clone(), "c", UNIX_EPOCH);
        let l = logs.lines(&key);
        assert_eq!(l.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(l[0].at < l[1].at && l[1].at < l[2].at, "never earlier than what came before");
        assert!(rx.has_changed().unwrap());
        rx.borrow_and_update();
        logs.set(key.clone(), "x", t);
        assert_eq!(logs.lines(&key).len(), 1);
        assert!(rx.has_changed().unwrap());
    }
}
