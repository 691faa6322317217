//! Deciding which requests an injected fault hits.

use crate::config::{Fault, FaultAction};

/// A fault plus how many matching requests it has seen and how many it hit.
#[derive(Debug, Clone)]
pub struct FaultState {
    pub fault: Fault,
    pub seen: u32,
    pub fired: u32,
}

impl FaultState {
    pub fn new(fault: Fault) -> Self {
        FaultState { fault, seen: 0, fired: 0 }
    }
}

/// Counts the request against every fault; returns the action of the first that fires.
pub fn check(faults: &mut [FaultState], method: &str, target: &str) -> Option<FaultAction> {
    let mut fired = None;
    for f in faults.iter_mut() {
        let method_ok = f.fault.method.as_deref().map_or(true, |m| m == method);
        if !method_ok || !f.fault.path.is_match(target) {
            continue;
        }
        f.seen += 1;
        let first = f.fault.nth;
        let last = first.saturating_add(f.fault.times.saturating_sub(1));
        if fired.is_none() && f.fault.times > 0 && f.seen >= first && f.seen <= last {
            f.fired += 1;
            fired = Some(f.fault.action.clone());
        }
    }
    fired
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_and_times() {
        let mut fs = vec![FaultState::new(Fault::new("GET", "/pods").unwrap().nth(2).times(2).status(503))];
        let hits: Vec<bool> = (0..5).map(|_| check(&mut fs, "GET", "/api/v1/pods?limit=5").is_some()).collect();
        assert_eq!(hits, vec![false, true, true, false, false]);
        assert!(check(&mut fs, "POST", "/api/v1/pods").is_none());
        assert_eq!((fs[0].seen, fs[0].fired), (5, 2));
    }
}
