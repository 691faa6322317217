//! Where a field sits in a YAML file, for error messages.
//!
//! The YAML reader turns documents into JSON trees without positions, so an error found later
//! (a field of the wrong type) finds its line again here, by walking the block-style text along
//! the field's path. This is best effort: flow style (`{a: 1}`, `[x]`) is not entered, and the
//! line of the deepest part of the path that was found is given.

use std::fmt;

/// One step of a path into a document: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path as users write it: `replicas[0].count`.
pub struct Display<'a>(pub &'a [Seg]);

impl fmt::Display for Display<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A node of the text: the line it starts on (0-based, within the document) and its column.
#[derive(Clone, Copy)]
struct Node {
    line: usize,
    col: usize,
}

/// The 1-based line of `path` in the `doc`-th non-empty document of `text`; `None` when not even
/// the first step is found. An empty path gives the document's first line.
pub fn line_of(text: &str, doc: usize, path: &[Seg]) -> Option<usize> {
    let (offset, lines) = document(text, doc)?;
    let first = lines.iter().position(|l| is_content(l))?;
    let mut node = Node { line: first, col: indent(lines[first]) };
    let mut found = if path.is_empty() { Some(first) } else { None };
    for seg in path {
        let step = match seg {
            Seg::Key(k) => key(&lines, node, k),
            Seg::Index(i) => index(&lines, node, *i),
        };
        match step {
            Some((line, next)) => {
                found = Some(line);
                match next {
                    Some(n) => node = n,
                    None => break,
                }
            }
            None => break,
        }
    }
    found.map(|l| offset + l + 1)
}

/// The lines of the `doc`-th document that holds anything, and the line it starts on.
fn document(text: &str, doc: usize) -> Option<(usize, Vec<&str>)> {
    let mut docs: Vec<(usize, Vec<&str>)> = vec![(0, Vec::new())];
    for (i, line) in text.lines().enumerate() {
        if line == "---" || line.starts_with("--- ") {
            docs.push((i + 1, Vec::new()));
        } else if let Some(last) = docs.last_mut() {
            last.1.push(line);
        }
    }
    docs.into_iter().filter(|(_, lines)| lines.iter().any(|l| is_content(l))).nth(doc)
}

fn is_content(line: &str) -> bool {
    let t = line.trim_start();
    !t.is_empty() && !t.starts_with('#')
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The text of `line` from column `col` (empty when the line is shorter).
fn from(line: &str, col: usize) -> &str {
    line.get(col..).unwrap_or("")
}

fn is_item(s: &str) -> bool {
    s == "-" || s.starts_with("- ")
}

/// The node that starts after column `col` of `line` (inline), or on the next content line when
/// that is deeper than `parent_col` (or a sequence at the same column, kubectl's style).
fn value_after(lines: &[&str], line: usize, col: usize, parent_col: usize) -> Option<Node> {
    let rest = from(lines[line], col);
    let skipped = rest.len() - rest.trim_start().len();
    let rest = rest.trim_start();
    if !rest.is_empty() && !rest.starts_with('#') {
        return Some(Node { line, col: col + skipped });
    }
    let next = (line + 1..lines.len()).find(|&i| is_content(lines[i]))?;
    let ind = indent(lines[next]);
    (ind > parent_col || (ind == parent_col && is_item(from(lines[next], ind))))
        .then_some(Node { line: next, col: ind })
}

/// The lines that start an entry of the block at `node` (at its column, from its first line on,
/// up to the first line indented less), each with its text from that column.
fn entries<'t>(lines: &'t [&'t str], node: Node) -> impl Iterator<Item = (usize, &'t str)> + 't {
    (node.line..lines.len())
        .filter(move |&i| i == node.line || (is_content(lines[i]) && indent(lines[i]) <= node.col))
        .take_while(move |&i| i == node.line || indent(lines[i]) == node.col)
        .map(move |i| (i, from(lines[i], node.col)))
}

/// Finds `want` among the keys of the mapping at `node`: its line and its value's node.
fn key(lines: &[&str], node: Node, want: &str) -> Option<(usize, Option<Node>)> {
    for (i, text) in entries(lines, node) {
        if text.starts_with('{') || text.starts_with('[') {
            return None;
        }
        if let Some(after) = key_len(text, want) {
            return Some((i, value_after(lines, i, node.col + after, node.col)));
        }
    }
    None
}

/// When `text` starts with the key `want` and a colon, the length up to after the colon.
fn key_len(text: &str, want: &str) -> Option<usize> {
    let (name, rest) = match text.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let end = text[1..].find(q)? + 1;
            (&text[1..end], &text[end + 1..])
        }
        _ => {
            let end = text.find(": ").or_else(|| text.strip_suffix(':').map(str::len))?;
            (text[..end].trim_end(), &text[end..])
        }
    };
    let rest_trim = rest.trim_start();
    let colon = rest_trim.strip_prefix(':')?;
    if name != want || !(colon.is_empty() || colon.starts_with(' ')) {
        return None;
    }
    Some(text.len() - colon.len())
}

/// Finds item `want` of the block sequence at `node`: its line and its content's node.
fn index(lines: &[&str], node: Node, want: usize) -> Option<(usize, Option<Node>)> {
    let (i, _) = entries(lines, node).take_while(|(_, text)| is_item(text)).nth(want)?;
    Some((i, value_after(lines, i, node.col + 1, node.col)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &[&str]) -> Vec<Seg> {
        s.iter().map(|p| p.parse::<usize>().map_or_else(|_| Seg::Key(p.to_string()), Seg::Index)).collect()
    }

    #[test]
    fn finds_keys_and_items_in_kubectl_style() {
        let text = "resources: []\nreplicas:\n- name: app\n  count: two\n- name: b\n  count: 3\nimages:\n  - name: x\n    newTag: 1.10\n";
        assert_eq!(line_of(text, 0, &path(&["replicas", "0", "count"])), Some(4));
        assert_eq!(line_of(text, 0, &path(&["replicas", "1", "count"])), Some(6));
        assert_eq!(line_of(text, 0, &path(&["replicas", "1"])), Some(5));
        assert_eq!(line_of(text, 0, &path(&["images", "0", "newTag"])), Some(9));
        assert_eq!(line_of(text, 0, &path(&["resources"])), Some(1));
    }

    #[test]
    fn stops_at_flow_style_and_missing_keys() {
        let text = "a:\n  b: {c: 1}\n# comment\nd: [x]\n";
        assert_eq!(line_of(text, 0, &path(&["a", "b", "c"])), Some(2));
        assert_eq!(line_of(text, 0, &path(&["d", "0"])), Some(4));
        assert_eq!(line_of(text, 0, &path(&["a", "nope"])), Some(1));
        assert_eq!(line_of(text, 0, &path(&["nope"])), None);
    }

    #[test]
    fn counts_only_documents_with_content() {
        let text = "---\n# only a comment\n---\nkind: A\n---\nkind: B\ndata:\n  \"ver\": 1.10\n";
        assert_eq!(line_of(text, 1, &path(&["data", "ver"])), Some(8));
        assert_eq!(line_of(text, 0, &[]), Some(4));
    }

    #[test]
    fn paths_print_as_users_write_them() {
        assert_eq!(Display(&path(&["replicas", "0", "count"])).to_string(), "replicas[0].count");
    }
}
