//! What Kustomize knows about YAML nodes that JSON does not: fields that are one node, and
//! scalars without a type.
//!
//! Kustomize's label and annotation transformers write one value node into every place a field
//! spec reaches (metadata, selectors, pod templates) when the key is new there. Later in-place
//! writes to any of those places (another label transformer, a strategic-merge patch, a
//! replacement) change the shared node, so all of them change: a label set with
//! `includeSelectors` in a base and changed without it in an overlay still rewrites the
//! selectors. To print the same objects, a resource remembers such groups and, after a step
//! that writes in place, carries a change made to one member over to the others.
//!
//! A field a replacement creates has no YAML type: its text is read as YAML reads it (`3` is a
//! number), also when a later replacement writes it again, until something else writes it.
//!
//! A JSON patch round-trips the resource through JSON, which forgets both.

use serde_json::Value;

/// One step of a location inside a resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Keys and indexes from the resource's root.
pub type Location = Vec<Seg>;

/// Places holding one node, and the value they had after the last synchronisation.
#[derive(Debug, Clone)]
pub struct SharedNode {
    at: Vec<Location>,
    value: Value,
}

impl SharedNode {
    pub fn new(at: Vec<Location>, value: Value) -> SharedNode {
        SharedNode { at, value }
    }
}

/// A scalar without a YAML type, and the value it had when it was last written so.
#[derive(Debug, Clone)]
pub struct Untyped {
    pub at: Location,
    pub value: Value,
}

pub fn get<'v>(mut v: &'v Value, at: &[Seg]) -> Option<&'v Value> {
    for seg in at {
        v = match (seg, v) {
            (Seg::Key(k), Value::Object(m)) => super::fields::get(m, k)?,
            (Seg::Index(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

pub fn get_mut<'v>(mut v: &'v mut Value, at: &[Seg]) -> Option<&'v mut Value> {
    for seg in at {
        v = match (seg, v) {
            (Seg::Key(k), Value::Object(m)) => super::fields::get_mut(m, k)?,
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// How to find a list element again after its list was reordered: by the value of its merge
/// key, one entry per segment of a location (`None` where the position is all there is).
pub type Anchors = Vec<Option<(String, Value)>>;

/// Points `at` again at the elements `anchors` names, after their lists were reordered. A
/// location whose element is gone is left as it was (it then fails its value check).
pub fn relocate(body: &Value, at: &mut Location, anchors: &Anchors) {
    let mut node = body;
    for (seg, anchor) in at.iter_mut().zip(anchors) {
        let next = match (&mut *seg, node, anchor) {
            (Seg::Index(i), Value::Array(a), Some((key, want))) => {
                match a.iter().position(|e| e.get(key) == Some(want)) {
                    Some(found) => {
                        *i = found;
                        a.get(found)
                    }
                    None => return,
                }
            }
            (Seg::Index(i), Value::Array(a), None) => a.get(*i),
            (Seg::Key(k), Value::Object(m), _) => m.get(k.as_str()),
            _ => return,
        };
        let Some(next) = next else { return };
        node = next;
    }
}

impl SharedNode {
    pub fn locations_mut(&mut self) -> &mut Vec<Location> {
        &mut self.at
    }
}

/// Carries in-place changes across each group of `groups` in `body`: a member whose value
/// changed since the last sync gives its value to the others. Members that disappeared leave
/// the group; a group of fewer than two members is dropped.
pub fn sync(body: &mut Value, groups: &mut Vec<SharedNode>) {
    for group in groups.iter_mut() {
        group.at.retain(|at| get(body, at).is_some());
        let changed = group.at.iter().find_map(|at| get(body, at).filter(|v| **v != group.value).cloned());
        if let Some(new) = changed {
            for at in &group.at {
                if let Some(slot) = get_mut(body, at) {
                    *slot = new.clone();
                }
            }
            group.value = new;
        }
    }
    groups.retain(|g| g.at.len() > 1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(path: &str) -> Location {
        path.split('.').map(|k| Seg::Key(k.to_string())).collect()
    }

    #[test]
    fn locations_follow_list_elements_by_their_key() {
        let body = json!({"c": [{"name": "new"}, {"name": "main", "env": [{"name": "A", "value": 1}]}]});
        let mut at = vec![Seg::Key("c".into()), Seg::Index(0), Seg::Key("env".into()), Seg::Index(0)];
        let anchors = vec![None, Some(("name".to_string(), json!("main"))), None, None];
        relocate(&body, &mut at, &anchors);
        assert_eq!(at[1], Seg::Index(1), "main moved from 0 to 1");
        assert_eq!(get(&body, &at), Some(&json!({"name": "A", "value": 1})));
    }

    #[test]
    fn a_change_to_one_member_reaches_the_others() {
        let mut body = json!({"m": {"team": "a"}, "s": {"team": "a"}, "t": {"team": "a"}});
        let mut groups = vec![SharedNode::new(vec![key("m.team"), key("s.team"), key("t.team")], json!("a"))];
        body["s"]["team"] = json!("b");
        sync(&mut body, &mut groups);
        assert_eq!(body, json!({"m": {"team": "b"}, "s": {"team": "b"}, "t": {"team": "b"}}));
        body["t"].as_object_mut().unwrap().remove("team");
        body["m"]["team"] = json!("c");
        sync(&mut body, &mut groups);
        assert_eq!(body, json!({"m": {"team": "c"}, "s": {"team": "c"}, "t": {}}));
        body["s"].as_object_mut().unwrap().remove("team");
        sync(&mut body, &mut groups);
        assert!(groups.is_empty(), "a group of one shares nothing");
    }
}
