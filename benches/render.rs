//! Scaling benchmark: the overlay engine on the benchmark corpus (`benches/corpus/`) for N apps,
//! in process and in memory, to show rendering stays linear in the number of resources. The
//! side-by-side comparison with `kubectl kustomize` (whole processes, same trees) is
//! `benches/compare.py`; micro-benchmarks are `benches/micro.rs`.
//!
//! Run: `cargo bench --bench render` (or `-- 1 10 100 1000`). Prints the median of several runs
//! per N for the build and for writing the YAML, and the time per resource.

#[path = "corpus/mod.rs"]
mod corpus;

use dimtensor::load::MemFs;
use dimtensor::{overlay, yaml};
use std::path::Path;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![1, 10, 100, 1000] } else { sizes };
    println!("{:>6} {:>10} {:>12} {:>12} {:>14}", "apps", "resources", "build", "emit", "per resource");
    for n in sizes {
        let mut fs = MemFs::new();
        for (rel, text) in corpus::files(n) {
            fs.insert(format!("/c/{rel}"), text);
        }
        let runs = if n >= 1000 { 5 } else { 11 };
        let (mut build, mut emit, mut count) = (Vec::new(), Vec::new(), 0);
        for _ in 0..runs {
            let start = Instant::now();
            let set = overlay::build(&fs, Path::new("/c/overlay")).expect("corpus builds");
            build.push(start.elapsed());
            let start = Instant::now();
            let out = yaml::to_yaml_stream(set.iter().map(|r| r.body()));
            emit.push(start.elapsed());
            count = set.len();
            std::hint::black_box(out);
        }
        let (b, e) = (median(build), median(emit));
        println!(
            "{n:>6} {count:>10} {:>10.2}ms {:>10.2}ms {:>12.1}µs",
            ms(b),
            ms(e),
            (b + e).as_secs_f64() * 1e6 / count as f64
        );
    }
}
