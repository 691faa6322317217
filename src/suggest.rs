//! "Did you mean ...?" for misspelled keys and names.

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo
/// (at most a third of the word's length, and at least 1 edit allowed).
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    let word = word.to_lowercase();
    let scored: Vec<(usize, usize, &str)> = candidates
        .into_iter()
        .map(|c| {
            let lc = c.to_lowercase();
            (distance(&word, &lc), common_prefix(&word, &lc), c)
        })
        .collect();
    if let Some((_, _, c)) = scored.iter().filter(|(d, _, _)| *d <= limit).min_by_key(|(d, _, _)| *d) {
        return Some(c);
    }
    // Otherwise a shared stem: `replicas` -> `replicaCount`.
    scored
        .iter()
        .filter(|(_, p, _)| *p >= 5 && *p * 5 >= word.chars().count() * 3)
        .max_by_key(|(d, p, _)| (*p, std::cmp::Reverse(*d)))
        .map(|(_, _, c)| *c)
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// Levenshtein distance over chars.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_close_words_only() {
        let c = ["namePrefix", "nameSuffix", "namespace"];
        assert_eq!(nearest("namePrefx", c), Some("namePrefix"));
        assert_eq!(nearest("nmespace", c), Some("namespace"));
        assert_eq!(nearest("totally", c), None);
        assert_eq!(nearest("replicas", ["replicaCount", "resources.limits.cpu"]), Some("replicaCount"));
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "ab"), 2);
    }
}
