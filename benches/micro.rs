//! criterion micro-benchmarks: strategic merge on a production-sized Deployment, rendering each
//! built-in variant (in process; `benches/compare.py --variants` times them as whole processes),
//! and the overlay engine on the benchmark corpus at N = 10.
//!
//! Run: `cargo bench --bench micro` (or `-- smp` for one group). Reports land in target/criterion.

#[path = "corpus/mod.rs"]
mod corpus;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use dimtensor::load::MemFs;
use dimtensor::overlay::{self, schema, strategic_merge};
use dimtensor::render::{self, Request};
use dimtensor::yaml;
use serde_json::json;
use std::hint::black_box;
use std::path::Path;

fn corpus_doc(rel: &str) -> serde_json::Value {
    let files = corpus::files(1);
    let text = files.iter().find(|(p, _)| p == rel).map(|(_, t)| t.as_str()).unwrap_or_default();
    yaml::parse_value(text, rel).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn strategic_merge(c: &mut Criterion) {
    let deployment = corpus_doc("base/app0000-deployment.yaml");
    let schema = schema::for_kind("apps/v1", "Deployment");
    let mut group = c.benchmark_group("smp");
    for (name, patch) in [("deployment patch", corpus_doc("overlay/patches/app0000.yaml")), ("empty patch", json!({}))]
    {
        group.bench_function(name, |b| {
            b.iter_batched(
                || deployment.clone(),
                |mut doc| {
                    strategic_merge::merge(&mut doc, black_box(&patch), schema).expect("merges");
                    doc
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn builtin_variants(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    let variants = std::iter::once(None).chain(dimtensor::builtin::variants().into_iter().map(Some));
    for variant in variants {
        let request = Request { overlay: variant.map(str::to_string), ..Request::default() };
        group.bench_function(variant.unwrap_or("base"), |b| {
            b.iter(|| render::render(black_box(&request)).map(|r| r.resources.len()).expect("renders"))
        });
    }
    group.finish();
}

fn corpus_build(c: &mut Criterion) {
    let mut fs = MemFs::new();
    for (rel, text) in corpus::files(10) {
        fs.insert(format!("/c/{rel}"), text);
    }
    c.bench_function("overlay build, corpus N=10", |b| {
        b.iter(|| overlay::build(&fs, Path::new("/c/overlay")).map(|s| s.len()).expect("builds"))
    });
}

criterion_group!(benches, strategic_merge, builtin_variants, corpus_build);
criterion_main!(benches);
