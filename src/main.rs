//! The `kubectl-dimtensor` binary: set up the allocator, parse, run, report, exit. Nothing else.

use clap::Parser;
use dimtensor::{app, cli::Cli, report};
use std::process::ExitCode;

/// mimalloc (v2) rather than the system allocator: a render builds and drops hundreds of
/// thousands of small strings and maps on two threads, and mimalloc backs its heaps with
/// transparent huge pages where the kernel allows them (a few hundred page faults instead of
/// 2,600 at N = 100). 21 % off the N = 100 render, nothing at N = 1 (benches/RESULTS.md, fourth
/// pass); v3 cost 0.1 ms at N = 1 and is not used.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match app::run(cli, &mut out) {
        Ok(code) => ExitCode::from(code),
        Err(dimtensor::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(err) => {
            report::print(&err);
            ExitCode::from(report::EXIT_ERROR)
        }
    }
}
