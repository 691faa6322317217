//! `kubectl_complete-dimtensor`: kubectl (>= 1.26) runs it to complete `kubectl dimtensor ...`.
//! It gets the words typed after `dimtensor` (the last one possibly empty) and prints candidate
//! lines, then a `:<directive>` line, as cobra's `__complete` does. The logic is in the library;
//! release names come from the cluster the typed flags choose, within a short timeout
//! (`DIMTENSOR_COMPLETION_TIMEOUT`, e.g. `500ms`, changes it).

use dimtensor::completion;
use dimtensor::completion::releases::{ClusterReleases, TIMEOUT};
use std::io::Write;

fn main() {
    let words: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    let timeout = std::env::var("DIMTENSOR_COMPLETION_TIMEOUT")
        .ok()
        .and_then(|t| dimtensor::cluster::parse_timeout(&t).ok().flatten())
        .unwrap_or(TIMEOUT);
    let answer = completion::complete(&words, &ClusterReleases { timeout }).to_protocol();
    // A closed pipe means the shell gave up; there is no one left to tell.
    let _ = std::io::stdout().lock().write_all(answer.as_bytes());
}
