//! `kubectl_complete-dimtensor`: kubectl (>= 1.26) runs it to complete `kubectl dimtensor ...`.
//! It gets the words typed after `dimtensor` (the last one possibly empty) and prints candidate
//! lines, then a `:<directive>` line, as cobra's `__complete` does. The logic is in the library.

use dimtensor::completion::{self, NoReleases};
use std::io::Write;

fn main() {
    let words: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    let answer = completion::complete(&words, &NoReleases).to_protocol();
    // A closed pipe means the shell gave up; there is no one left to tell.
    let _ = std::io::stdout().lock().write_all(answer.as_bytes());
}
