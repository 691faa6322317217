//! Writes the benchmark corpus (see `benches/corpus/mod.rs`) to a directory.
//!
//! ```text
//! cargo run --release --example corpus -- 1000 /tmp/corpus-1000
//! kubectl kustomize /tmp/corpus-1000/overlay > kustomize.yaml
//! kubectl-dimtensor render --overlay /tmp/corpus-1000/overlay > dimtensor.yaml
//! ```

#[path = "../benches/corpus/mod.rs"]
mod corpus;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(n), Some(dir)) = (args.first().and_then(|a| a.parse::<usize>().ok()), args.get(1)) else {
        eprintln!("usage: corpus N DIR   (writes N apps; build DIR/overlay)");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    if let Err(e) = corpus::write(n, &dir) {
        eprintln!("error: writing the corpus into {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    println!("{} ({} resources)", dir.join("overlay").display(), corpus::resource_count(n));
    ExitCode::SUCCESS
}
