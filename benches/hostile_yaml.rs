//! Hostile YAML: how long the reader takes to refuse 50 MB files built to hurt a YAML parser,
//! and how much memory it takes, next to 50 MB files it accepts. Target: under a second and
//! memory bounded (about the size of the text) for every hostile file.
//!
//! Run: `cargo bench --bench hostile_yaml` (Linux: peak memory is read from /proc/self/status).
//! Each input is built first, then parsed five times; the table shows the median time and the
//! peak resident memory while parsing, beyond the text itself.

use dimtensor::yaml;
use std::time::{Duration, Instant};

const MB: usize = 1_000_000;

/// Inputs of about `size` bytes: (name, text, whether the reader must accept it).
fn inputs(size: usize) -> Vec<(&'static str, String, bool)> {
    let deep_flow = format!("affinity: {}{}\n", "[".repeat(size / 2), "]".repeat(size / 2));
    let deep_maps = format!("data: {}1{}\n", "{a: ".repeat(size / 5), "}".repeat(size / 5));
    let compact = format!("{}x\n", "- ".repeat(size / 2));
    let mut indented = String::with_capacity(size);
    for i in 0.. {
        if indented.len() >= size {
            break;
        }
        indented.push_str(&format!("{}k:\n", " ".repeat(i)));
    }
    let line = format!("- {}1{}\n", "[".repeat(98), "]".repeat(98));
    let wide = format!("a:\n{}", line.repeat(size / line.len()));
    let flat = format!("a:\n{}", "- 1\n".repeat(size / 4));
    let aliases = format!("a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: [{}*a]\n", "*a, ".repeat(size / 4));
    // Every line is scanned to its end (quoted text with brackets) before the last one goes too deep.
    let mut late = String::with_capacity(size + 500);
    for i in 0.. {
        if late.len() >= size {
            break;
        }
        late.push_str(&format!(
            "k{i}: 'padding [[[[ {{{{ padding ]]]] padding padding padding padding padding padding padding pad'\n"
        ));
    }
    late.push_str(&format!("data: {}1{}\n", "[".repeat(200), "]".repeat(200)));
    let block = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  script: |\n{}",
        "    x = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ {{{{{{{{{{{{{{{{{{{{{{{{ '\"'\n".repeat(size / 80)
    );
    let json_like = format!(
        "{{\"data\": [{}\"end\"]}}\n",
        "\"[[[[[[[[[[[[[[[[[[[[ {{{{{{{{{{{{{{{{{{{{{{ ]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]] \\\" [[[[[[\", "
            .repeat(size / 80)
    );
    vec![
        ("nested flow lists", deep_flow, false),
        ("nested flow maps", deep_maps, false),
        ("compact nested sequences", compact, false),
        ("nested block indentation", indented, false),
        ("depth 99 on every line", wide, false),
        ("one value per line", flat, false),
        ("aliases everywhere", aliases, false),
        ("too deep on the last line", late, false),
        ("brackets in a block scalar", block, true),
        ("brackets in quoted strings", json_like, true),
    ]
}

/// Peak resident memory of this process since the last reset, in KiB (Linux).
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn current_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak to the current resident memory (Linux: `echo 5 > /proc/self/clear_refs`).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() {
    let sizes = [5 * MB, 50 * MB];
    println!("| input | size | outcome | median time | peak memory beyond the text |");
    println!("|---|---:|---|---:|---:|");
    for size in sizes {
        for (name, text, accepted) in inputs(size) {
            let mut times = Vec::new();
            let mut outcome = String::new();
            reset_peak();
            let before = current_kib().unwrap_or(0);
            for _ in 0..5 {
                let started = Instant::now();
                let result = yaml::parse_documents(std::hint::black_box(&text), "bench.yaml");
                times.push(started.elapsed());
                outcome = match &result {
                    Ok(docs) => format!("read ({} documents)", docs.len()),
                    Err(e) => e.to_string().chars().take(70).collect(),
                };
                assert_eq!(result.is_ok(), accepted, "{name}: {outcome}");
                drop(result);
            }
            times.sort();
            let median: Duration = times[times.len() / 2];
            let extra = peak_kib().map(|p| p.saturating_sub(before) / 1024);
            println!(
                "| {name} | {:.1} MB | {outcome} | {:.3} s | {} |",
                text.len() as f64 / MB as f64,
                median.as_secs_f64(),
                extra.map(|m| format!("{m} MiB")).unwrap_or_else(|| "n/a".into())
            );
        }
    }
}
