//! An ordered set of resources. Order is load order (Kustomize's `fifo`) until the final sort.
//!
//! Deliberately small (Kustomize's `ResMap` grew to forty methods): transformers get the slice
//! and work on it; the set only guards id uniqueness when resources come together.

use super::{IdRef, ResId, Resource};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

/// Two resources with the same id met in one build.
#[derive(Debug, thiserror::Error)]
#[error("{id} is defined twice: in {first} and in {second}")]
pub struct DuplicateId {
    pub id: ResId,
    pub first: String,
    pub second: String,
}

#[derive(Debug, Clone, Default)]
pub struct ResourceSet {
    items: Vec<Resource>,
}

impl ResourceSet {
    pub fn new() -> ResourceSet {
        ResourceSet::default()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Resource> {
        self.items.iter()
    }

    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Resource> {
        self.items.iter_mut()
    }

    pub fn as_slice(&self) -> &[Resource] {
        &self.items
    }

    pub fn as_mut_slice(&mut self) -> &mut [Resource] {
        &mut self.items
    }

    /// Adds one resource; an id already present is an error.
    pub fn push(&mut self, res: Resource) -> Result<(), DuplicateId> {
        let id = res.id();
        if let Some(existing) = self.items.iter().find(|r| r.id().same_object(&id)) {
            return Err(DuplicateId { id, first: existing.origin.clone(), second: res.origin });
        }
        self.items.push(res);
        Ok(())
    }

    /// Adds all resources of `other`, in order; any id already present is an error.
    pub fn append(&mut self, other: ResourceSet) -> Result<(), DuplicateId> {
        let mut seen: HashSet<Key> = HashSet::with_capacity(self.items.len() + other.items.len());
        seen.extend(self.items.iter().map(key));
        if let Some(i) = other.items.iter().position(|r| !seen.insert(key(r))) {
            let res = &other.items[i];
            let id = res.id();
            let mut earlier = self.items.iter().chain(&other.items[..i]);
            let first = earlier.find(|r| r.id().same_object(&id)).map(|r| r.origin.clone()).unwrap_or_default();
            return Err(DuplicateId { id, first, second: res.origin.clone() });
        }
        self.items.extend(other.items);
        Ok(())
    }

    /// Checks that no two resources share an id, as Kustomize does when a kustomization's result
    /// joins its parent (or is printed): transformers may rename two objects to one name. A
    /// renamed resource is described with its original id, so the user finds it.
    pub fn check_unique(&self) -> Result<(), DuplicateId> {
        let mut seen: HashMap<Key, usize> = HashMap::with_capacity(self.items.len());
        for (i, res) in self.items.iter().enumerate() {
            let first = match seen.entry(key(res)) {
                Entry::Vacant(slot) => {
                    slot.insert(i);
                    continue;
                }
                Entry::Occupied(first) => *first.get(),
            };
            let describe = |r: &Resource| match r.org_id() == r.id() {
                true => r.origin.clone(),
                false => format!("{} (originally {})", r.origin, r.org_id()),
            };
            return Err(DuplicateId { id: res.id(), first: describe(&self.items[first]), second: describe(res) });
        }
        Ok(())
    }

    /// Adds resources without checking ids; the caller checks the whole batch once with
    /// [`ResourceSet::append`].
    pub fn extend_unchecked(&mut self, other: ResourceSet) {
        self.items.extend(other.items);
    }

    pub fn remove(&mut self, index: usize) -> Resource {
        self.items.remove(index)
    }

    pub fn replace(&mut self, index: usize, res: Resource) {
        self.items[index] = res;
    }

    pub fn retain(&mut self, f: impl FnMut(&Resource) -> bool) {
        self.items.retain(f);
    }

    pub fn sort_by(&mut self, f: impl FnMut(&Resource, &Resource) -> std::cmp::Ordering) {
        self.items.sort_by(f);
    }

    pub fn into_vec(self) -> Vec<Resource> {
        self.items
    }
}

/// What makes two resources one object, borrowed from the body (thousands of these are made
/// for a large build).
type Key<'a> = IdRef<'a>;

fn key(r: &Resource) -> Key<'_> {
    r.id_ref()
}

impl IntoIterator for ResourceSet {
    type Item = Resource;
    type IntoIter = std::vec::IntoIter<Resource>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl FromIterator<Resource> for ResourceSet {
    fn from_iter<T: IntoIterator<Item = Resource>>(iter: T) -> Self {
        ResourceSet { items: iter.into_iter().collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(name: &str, ns: &str) -> Resource {
        Resource::new(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}}),
            format!("{name}.yaml"),
        )
    }

    #[test]
    fn duplicate_ids_name_both_origins() {
        let mut set = ResourceSet::new();
        set.push(cm("a", "")).unwrap();
        let err = set.push(cm("a", "default")).unwrap_err().to_string();
        assert!(err.contains("ConfigMap/default/a") && err.contains("a.yaml"), "{err}");
    }

    #[test]
    fn renames_into_one_id_are_found_with_their_original_names() {
        let mut a = cm("a", "");
        a.store_previous_id();
        a.set_name("same");
        let mut b = cm("b", "");
        b.store_previous_id();
        b.set_name("same");
        let set: ResourceSet = [a, b].into_iter().collect();
        let err = set.check_unique().unwrap_err().to_string();
        assert!(err.contains("ConfigMap/same is defined twice") && err.contains("originally ConfigMap/b"), "{err}");
        assert!([cm("a", ""), cm("a", "ml")].into_iter().collect::<ResourceSet>().check_unique().is_ok());
    }

    #[test]
    fn append_keeps_order_and_checks_ids() {
        let mut a: ResourceSet = [cm("a", ""), cm("b", "")].into_iter().collect();
        let b: ResourceSet = [cm("c", "")].into_iter().collect();
        a.append(b).unwrap();
        let names: Vec<_> = a.iter().map(|r| r.name().to_string()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(a.append([cm("b", "")].into_iter().collect()).is_err());
    }
}
