//! A linear pass over YAML text before the parser sees it.
//!
//! libyaml's scanner (under serde_yaml) is quadratic on deeply nested flow collections: a 200 KB
//! file of `[[[[…` took half a minute before the depth check after parsing could refuse it, a
//! 50 MB one many minutes. This pass measures the nesting in one sweep and refuses text deeper
//! than the limit, naming the line and column where it goes too deep. It knows just enough YAML
//! to not be fooled by text: brackets inside quoted scalars, comments and block scalars (`|`,
//! `>`) are not structure, nor is a `[` inside a plain scalar such as `a[0]`.
//!
//! Depth is counted as the parser nests: each open flow collection, each indentation level of
//! block collections, and each compact `- ` (or `? `) entry on one line (`- - - x`).
//!
//! It also counts the nodes (keys and values) as written: the parser holds an event for each
//! node of a document in memory before building it, so a file with too many is refused here,
//! before it costs gigabytes.

/// Why the text is refused; `line` and `column` are 1-based.
#[derive(Debug, PartialEq)]
pub enum Refused {
    TooDeep { line: usize, column: usize },
    TooManyNodes { line: usize },
}

/// The state carried from line to line.
#[derive(Default)]
struct Scan {
    /// Open flow collections (`[` or `{`).
    flow: usize,
    /// The block depth of the line where the outermost open flow collection began.
    flow_base: usize,
    /// Inside a quoted scalar that goes on to the next line: its quote character.
    quote: Option<u8>,
    /// Inside a block scalar: lines indented more than this (or blank) are its text.
    block_scalar: Option<usize>,
    /// Indentation of the open block collections, innermost last.
    indents: Vec<usize>,
    nodes: usize,
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Scans `text`, refusing nesting deeper than `max_depth` and more than `max_nodes` nodes.
pub fn scan(text: &str, max_depth: usize, max_nodes: usize) -> Result<(), Refused> {
    let mut s = Scan::default();
    for (n, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw).as_bytes();
        s.line(line, max_depth).map_err(|column| Refused::TooDeep { line: n + 1, column: column + 1 })?;
        if s.nodes > max_nodes {
            return Err(Refused::TooManyNodes { line: n + 1 });
        }
    }
    Ok(())
}

impl Scan {
    /// Scans one line; `Err(column)` where the nesting passes `max`.
    fn line(&mut self, line: &[u8], max: usize) -> Result<(), usize> {
        let indent = line.iter().take_while(|&&b| b == b' ').count();
        let content = &line[indent..];
        if let Some(parent) = self.block_scalar {
            if content.iter().all(|&b| is_blank(b)) || indent > parent {
                return Ok(());
            }
            self.block_scalar = None;
        }
        let mut i = 0;
        let mut start = true; // at a place where a node may begin
        let mut depth = self.flow_base;
        if let Some(q) = self.quote {
            i = match close_quote(line, 0, q) {
                Some(end) => end,
                None => return Ok(()),
            };
            self.quote = None;
            start = false;
        } else if self.flow == 0 {
            if content.is_empty() || content[0] == b'#' || (indent == 0 && content[0] == b'%') {
                return Ok(()); // blank, comment or directive: no indentation meaning
            }
            if indent == 0 && (content.starts_with(b"---") || content.starts_with(b"...")) {
                let marker_end = content.get(3).is_none_or(|&b| is_blank(b));
                if marker_end {
                    self.indents.clear();
                    i = 3;
                }
            }
            if i == 0 {
                while self.indents.last().is_some_and(|&top| top > indent) {
                    self.indents.pop();
                }
                if self.indents.last() != Some(&indent) {
                    self.indents.push(indent);
                }
                i = indent;
            }
            depth = self.indents.len();
            if depth > max {
                return Err(indent);
            }
        }
        while i < line.len() {
            let b = line[i];
            let next = line.get(i + 1).copied();
            let ends_token = next.is_none_or(is_blank);
            match b {
                b' ' | b'\t' => {}
                b'#' if i == 0 || is_blank(line[i - 1]) => return Ok(()),
                b'"' | b'\'' if start => {
                    self.nodes += 1;
                    match close_quote(line, i + 1, b) {
                        Some(end) => {
                            i = end;
                            start = false;
                            continue;
                        }
                        None => {
                            self.quote = Some(b);
                            return Ok(());
                        }
                    }
                }
                b'[' | b'{' if start || self.flow > 0 => {
                    if self.flow == 0 {
                        self.flow_base = depth;
                    }
                    self.flow += 1;
                    self.nodes += 1;
                    if depth + self.flow > max {
                        return Err(i);
                    }
                    start = true;
                }
                b']' | b'}' if self.flow > 0 => {
                    self.flow -= 1;
                    if self.flow == 0 {
                        self.flow_base = 0;
                    }
                    start = false;
                }
                b',' if self.flow > 0 => start = true,
                b':' if ends_token || (self.flow > 0 && next.is_some_and(|c| b",[]{}".contains(&c))) => start = true,
                // An entry after the line's first one nests a collection in it (`- - x`).
                b'-' | b'?' if start && ends_token && self.flow == 0 => {
                    if i > indent {
                        depth += 1;
                        if depth > max {
                            return Err(i);
                        }
                    }
                }
                b'|' | b'>' if start && self.flow == 0 => {
                    self.block_scalar = Some(indent);
                    return Ok(());
                }
                b'!' | b'&' if start => {
                    // A tag or an anchor: the node itself follows it.
                    while i < line.len() && !is_blank(line[i]) {
                        i += 1;
                    }
                    continue;
                }
                _ if start => {
                    self.nodes += 1; // a plain scalar or an alias begins
                    start = false;
                }
                _ => {}
            }
            i += 1;
        }
        Ok(())
    }
}

/// The position after the quote closing a scalar opened with `quote`, scanning `line` from
/// `from`; `None` if it goes on to the next line.
fn close_quote(line: &[u8], from: usize, quote: u8) -> Option<usize> {
    let mut i = from;
    while i < line.len() {
        match line[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && line.get(i + 1) == Some(&b'\'') => i += 2,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(text: &str, max: usize) -> bool {
        scan(text, max, usize::MAX).is_ok()
    }

    fn too_deep(text: &str, max: usize) -> Result<(), Refused> {
        scan(text, max, usize::MAX)
    }

    #[test]
    fn flow_nesting_is_measured_and_located() {
        assert!(depth_ok("a: [[[1]]]\n", 4));
        assert_eq!(too_deep("a: [[[[1]]]]\n", 4), Err(Refused::TooDeep { line: 1, column: 7 }));
        let deep = format!("x: 1\ndata: {}{}\n", "[".repeat(200), "]".repeat(200));
        assert!(matches!(too_deep(&deep, 100), Err(Refused::TooDeep { line: 2, .. })));
        assert!(depth_ok("a: {b: {c: [1, {d: 2}]}}\n", 5));
    }

    #[test]
    fn brackets_that_are_text_do_not_count() {
        let text = "a: \"[[[[[[\"\nb: '[[[['\nc: x[[[[[[\nd: |\n  [[[[[[[\n  {{{{{{{\ne: 1 # [[[[[[\nf: >-\n    [[[[\n";
        assert!(depth_ok(text, 3), "quoted, plain, block and comment text");
        let multi = "a: \"line one [[[[\n  still [[[[ quoted\"\nb: 'it''s [[[[\n  [[[['\n";
        assert!(depth_ok(multi, 2), "quoted scalars over several lines");
    }

    #[test]
    fn block_nesting_counts_indentation_and_compact_entries() {
        let mut text = String::new();
        for i in 0..10 {
            text.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
        }
        assert!(depth_ok(&text, 10));
        assert!(matches!(too_deep(&text, 9), Err(Refused::TooDeep { line: 10, .. })));
        assert!(depth_ok("- - - x\n", 3));
        assert!(!depth_ok("- - - - x\n", 3));
        assert!(depth_ok("a: -1\nb:\n- -2\n", 2), "signed numbers are not entries");
    }

    #[test]
    fn documents_reset_the_indentation() {
        let text = "a:\n  b:\n    c: 1\n---\nd:\n  e: 1\n";
        assert!(depth_ok(text, 3));
    }

    #[test]
    fn nodes_are_counted_as_written() {
        // a, [, 1, b, *x, c, [, *x, *x, d, '*x' and the block scalar's key: 12 nodes.
        let text = "a: &x [1]\nb: *x\nc: [*x, *x]\nd: '*x'\ne: |\n  [1, 2, 3]\n";
        assert!(scan(text, 10, 12).is_ok());
        assert_eq!(scan(text, 10, 11), Err(Refused::TooManyNodes { line: 5 }));
        let flat = "- 1\n".repeat(1000);
        assert_eq!(scan(&flat, 10, 999), Err(Refused::TooManyNodes { line: 1000 }));
    }

    #[test]
    fn the_training_preset_scans() {
        let text = "script: |\n  import torch\n  x = [[1, 2], [3, 4]]\n  y = {'a': [1]}\nnext: [a, b]\n";
        assert_eq!(scan(text, 2, 10), Ok(()));
    }
}
