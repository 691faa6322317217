//! Reading and parsing many files is most of the time a large overlay takes, and each file is
//! independent: this spreads such work over the machine's cores and keeps the results in input
//! order, so output and error reporting stay exactly as a sequential run would give them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Below this many items threads cost more than they save (the built-in overlays have a handful).
const MIN_PARALLEL: usize = 32;
/// Past a few threads, reading files no longer gets faster.
const MAX_THREADS: usize = 8;

/// `items.iter().map(f).collect()`, on several threads when there are enough items.
///
/// ```
/// let squares = dimtensor::parallel::map(&(0..100).collect::<Vec<u64>>(), |n| n * n);
/// assert_eq!(squares[9], 81);
/// ```
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = if items.len() < MIN_PARALLEL { 1 } else { cores() };
    if threads < 2 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    // The calling thread only waits: having it work too was measured slower twice (N = 100: 26.1
    // against 23.2 ms, then 39 against 33 ms; benches/RESULTS.md), for reasons not pinned down.
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                // Claim items one by one; store in batches to keep the lock cold.
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= items.len() {
                        break;
                    }
                    done.push((i, f(&items[i])));
                }
                let mut slots = results.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                for (i, r) in done {
                    slots[i] = Some(r);
                }
            });
        }
    });
    let slots = results.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    // Every index below items.len() was claimed by exactly one thread, and scope() joined them all
    // (a panic in `f` would have propagated out of scope above).
    slots.into_iter().map(|r| r.expect("every item was mapped")).collect()
}

/// The threads worth starting, asked once: the standard library reads the cgroup's CPU quota
/// from /proc and /sys on every call (a dozen system calls, a tenth of a small render's).
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_input_order_small_and_large() {
        for n in [0, 5, 31, 32, 1000] {
            let items: Vec<usize> = (0..n).collect();
            assert_eq!(map(&items, |i| i * 2), items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
    }
}
