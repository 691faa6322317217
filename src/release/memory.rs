//! An in-memory [`Store`] for unit tests, with injectable failures: "the 2nd update fails".

use super::record::Release;
use super::store::{Store, StoreError};
use crate::cluster::ClusterError;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    History,
    Create,
    Update,
    Delete,
}

#[derive(Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<(String, u32), Release>>,
    /// (operation, nth call of it that fails), counted from 1.
    faults: Mutex<Vec<(Op, u32)>>,
    calls: Mutex<BTreeMap<String, u32>>,
    next_rv: Mutex<u64>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the `nth` call of `op` from now on fail as a dropped connection would.
    pub fn fail(&self, op: Op, nth: u32) {
        let seen = self.count(op, false);
        self.faults.lock().expect("lock").push((op, seen + nth));
    }

    fn count(&self, op: Op, bump: bool) -> u32 {
        let mut calls = self.calls.lock().expect("lock");
        let n = calls.entry(format!("{op:?}")).or_insert(0);
        if bump {
            *n += 1;
        }
        *n
    }

    fn check(&self, op: Op) -> Result<(), StoreError> {
        let n = self.count(op, true);
        if self.faults.lock().expect("lock").contains(&(op, n)) {
            return Err(StoreError::Cluster(ClusterError::Unreachable {
                request: format!("{op:?}"),
                url: "memory://".into(),
                reason: format!("injected failure of {op:?} call {n}"),
                attempts: 1,
            }));
        }
        Ok(())
    }

    /// Every stored record, oldest first (for assertions).
    pub fn all(&self) -> Vec<Release> {
        self.records.lock().expect("lock").values().cloned().collect()
    }

    fn stamp(&self, rel: &mut Release) {
        let mut rv = self.next_rv.lock().expect("lock");
        *rv += 1;
        rel.resource_version = Some(rv.to_string());
    }
}

impl Store for MemoryStore {
    async fn history(&self, name: &str) -> Result<Vec<Release>, StoreError> {
        self.check(Op::History)?;
        Ok(self.all().into_iter().filter(|r| r.name == name).collect())
    }

    async fn latest_all(&self, _all_namespaces: bool) -> Result<Vec<Release>, StoreError> {
        let mut latest: BTreeMap<String, Release> = BTreeMap::new();
        for r in self.all() {
            latest.insert(r.name.clone(), r);
        }
        Ok(latest.into_values().collect())
    }

    async fn create(&self, rel: &mut Release) -> Result<(), StoreError> {
        self.check(Op::Create)?;
        super::record::encode(rel)?;
        let key = (rel.name.clone(), rel.revision);
        if self.records.lock().expect("lock").contains_key(&key) {
            return Err(StoreError::Conflict { secret: rel.secret_name() });
        }
        self.stamp(rel);
        self.records.lock().expect("lock").insert(key, rel.clone());
        Ok(())
    }

    async fn update(&self, rel: &mut Release) -> Result<(), StoreError> {
        self.check(Op::Update)?;
        super::record::encode(rel)?;
        let key = (rel.name.clone(), rel.revision);
        let stored_rv = self.records.lock().expect("lock").get(&key).and_then(|r| r.resource_version.clone());
        if stored_rv.is_none() || stored_rv != rel.resource_version {
            return Err(StoreError::Conflict { secret: rel.secret_name() });
        }
        self.stamp(rel);
        self.records.lock().expect("lock").insert(key, rel.clone());
        Ok(())
    }

    async fn delete(&self, rel: &Release) -> Result<(), StoreError> {
        self.check(Op::Delete)?;
        let key = (rel.name.clone(), rel.revision);
        let mut records = self.records.lock().expect("lock");
        let stored_rv = records.get(&key).and_then(|r| r.resource_version.clone());
        if stored_rv.is_some() && rel.resource_version.is_some() && stored_rv != rel.resource_version {
            return Err(StoreError::Conflict { secret: rel.secret_name() });
        }
        records.remove(&key);
        Ok(())
    }
}
