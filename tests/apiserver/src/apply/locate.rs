//! Finding, testing and removing the node a field path names: how apply prunes what a manager
//! no longer sets.

use super::fieldpath::Pe;
use super::schema::{schema, ListKind, Shape, Ty};
use super::walk::item_pe;
use serde_json::{Map, Value};

/// Removes the node at `path`; returns whether something was removed.
pub fn remove_path(root: &mut Value, path: &[Pe], ty: Ty) -> bool {
    let Some((last, parents)) = path.split_last() else { return false };
    let Some((parent, pty)) = descend_mut(root, parents, ty) else { return false };
    let shape = schema().shape(pty, Some(parent));
    match (last, parent) {
        (Pe::Field(f), Value::Object(m)) => m.shift_remove(f).is_some(),
        (Pe::Index(i), Value::Array(a)) if *i < a.len() => {
            a.remove(*i);
            true
        }
        (pe, Value::Array(a)) => {
            let kind = match &shape {
                Shape::List(k, _) => k.clone(),
                _ => return false,
            };
            match a.iter().enumerate().position(|(i, v)| item_pe(&kind, v, i) == *pe) {
                Some(i) => {
                    a.remove(i);
                    true
                }
                None => false,
            }
        }
        _ => false,
    }
}

/// Where a path element leads from `cur` (whose shape is `shape`): an object key or a list index.
enum Slot<'p> {
    Key(&'p str),
    Index(usize),
}

fn slot<'p>(shape: &Shape, pe: &'p Pe, cur: &Value) -> Option<Slot<'p>> {
    match (pe, cur) {
        (Pe::Field(f), Value::Object(_)) => Some(Slot::Key(f)),
        (Pe::Index(i), Value::Array(_)) => Some(Slot::Index(*i)),
        (pe, Value::Array(a)) => {
            let kind = match shape {
                Shape::List(k, _) => k.clone(),
                _ => ListKind::Atomic,
            };
            a.iter().enumerate().position(|(i, v)| item_pe(&kind, v, i) == *pe).map(Slot::Index)
        }
        _ => None,
    }
}

/// Walks down `path`, returning the node there and its type.
pub fn descend_mut<'a>(root: &'a mut Value, path: &[Pe], ty: Ty) -> Option<(&'a mut Value, Ty)> {
    let mut cur = root;
    let mut cty = ty;
    for pe in path {
        let shape = schema().shape(cty, Some(cur));
        match slot(&shape, pe, cur)? {
            Slot::Key(k) => {
                cty = shape.child(k);
                cur = cur.get_mut(k)?;
            }
            Slot::Index(i) => {
                cty = shape.elem();
                cur = cur.get_mut(i)?;
            }
        }
    }
    Some((cur, cty))
}

/// Whether `path` ends in a named field of a struct (not a map key or list item): such a field
/// counts as owned along with what is owned below it (structured-merge-diff's
/// `EnsureNamedFieldsAreMembers`), so dropping all of it from an apply removes it whole,
/// defaulted children included.
pub fn is_struct_field(root: &Value, path: &[Pe], ty: Ty) -> bool {
    let Some((Pe::Field(_), parents)) = path.split_last() else { return false };
    let mut cur = root;
    let mut cty = ty;
    for pe in parents {
        let shape = schema().shape(cty, Some(cur));
        let next = match slot(&shape, pe, cur) {
            Some(Slot::Key(k)) => {
                cty = shape.child(k);
                cur.get(k)
            }
            Some(Slot::Index(i)) => {
                cty = shape.elem();
                cur.get(i)
            }
            None => None,
        };
        let Some(next) = next else { return false };
        cur = next;
    }
    matches!(schema().shape(cty, Some(cur)), Shape::Struct(_))
}

/// Removes empty `map[string]T` values left on the way to `path` (Go drops empty maps).
pub fn drop_empty_maps_above(root: &mut Value, path: &[Pe], ty: Ty) {
    for depth in (1..path.len()).rev() {
        let ancestor = &path[..depth];
        let Some((node, nty)) = descend_mut(root, ancestor, ty) else { continue };
        let empty = node.as_object().is_some_and(Map::is_empty);
        if empty && schema().shape(nty, Some(node)).is_map() {
            remove_path(root, ancestor, ty);
        } else {
            break;
        }
    }
}
