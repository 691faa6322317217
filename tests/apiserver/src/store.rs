//! The in-memory object store: objects by (group, resource, namespace, name), one global
//! resourceVersion counter, and the event history watches replay from.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Where an object lives. Cluster-scoped objects have an empty namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjKey {
    pub group: String,
    pub plural: String,
    pub namespace: String,
    pub name: String,
}

impl ObjKey {
    pub fn new(group: &str, plural: &str, namespace: &str, name: &str) -> Self {
        ObjKey { group: group.into(), plural: plural.into(), namespace: namespace.into(), name: name.into() }
    }
}

/// A change, as watches stream it.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub rv: u64,
    pub kind: &'static str,
    pub key: ObjKey,
    pub object: Value,
}

/// Objects plus history. Every write goes through `put`/`remove`, which bump the counter.
#[derive(Debug)]
pub struct Store {
    rv: u64,
    objects: BTreeMap<ObjKey, Value>,
    history: Vec<Arc<WatchEvent>>,
    tx: broadcast::Sender<Arc<WatchEvent>>,
}

impl Store {
    pub fn new(tx: broadcast::Sender<Arc<WatchEvent>>) -> Self {
        Store { rv: 1000, objects: BTreeMap::new(), history: Vec::new(), tx }
    }

    /// The latest resourceVersion (lists report it).
    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    pub fn get(&self, key: &ObjKey) -> Option<&Value> {
        self.objects.get(key)
    }

    /// Objects of one resource, optionally in one namespace, in etcd key order.
    pub fn list(&self, group: &str, plural: &str, namespace: Option<&str>) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|(k, _)| k.group == group && k.plural == plural && namespace.map_or(true, |ns| k.namespace == ns))
            .map(|(_, v)| v)
            .collect()
    }

    /// Keys of every object in a namespace (for namespace deletion).
    pub fn keys_in_namespace(&self, namespace: &str) -> Vec<ObjKey> {
        self.objects.keys().filter(|k| k.namespace == namespace).cloned().collect()
    }

    /// Stores `obj` under a fresh resourceVersion and records the event; returns the stored copy.
    pub fn put(&mut self, key: ObjKey, mut obj: Value) -> Value {
        self.rv += 1;
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), json!(self.rv.to_string()));
        }
        crate::strategy::normalize_order(&mut obj);
        let kind = if self.objects.contains_key(&key) { "MODIFIED" } else { "ADDED" };
        self.objects.insert(key.clone(), obj.clone());
        self.record(kind, key, obj.clone());
        obj
    }

    /// Deletes the object; the DELETED event carries a fresh resourceVersion.
    pub fn remove(&mut self, key: &ObjKey) -> Option<Value> {
        let mut obj = self.objects.remove(key)?;
        self.rv += 1;
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), json!(self.rv.to_string()));
        }
        self.record("DELETED", key.clone(), obj.clone());
        Some(obj)
    }

    fn record(&mut self, kind: &'static str, key: ObjKey, object: Value) {
        let ev = Arc::new(WatchEvent { rv: self.rv, kind, key, object });
        self.history.push(ev.clone());
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(ev);
    }

    /// Events after `rv` (for watches that resume), oldest first.
    pub fn events_since(&self, rv: u64) -> Vec<Arc<WatchEvent>> {
        let start = self.history.partition_point(|e| e.rv <= rv);
        self.history[start..].to_vec()
    }

    /// A new receiver; take it while holding the state lock so no event falls in between.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<WatchEvent>> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_events() {
        let (tx, _) = broadcast::channel(16);
        let mut s = Store::new(tx);
        let k = ObjKey::new("", "configmaps", "t", "a");
        let first = s.put(k.clone(), json!({"metadata": {"name": "a"}}));
        let rv1: u64 = first["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();
        s.put(k.clone(), json!({"metadata": {"name": "a"}, "data": {}}));
        let gone = s.remove(&k).unwrap();
        assert_eq!(gone["metadata"]["resourceVersion"], (rv1 + 2).to_string());
        let kinds: Vec<&str> = s.events_since(rv1 - 1).iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec!["ADDED", "MODIFIED", "DELETED"]);
        assert_eq!(s.events_since(rv1).len(), 2);
        assert!(s.get(&k).is_none());
    }
}
