//! The `kubectl-dimtensor` binary: set up the allocator, parse, run, report, exit. Nothing else.

use clap::Parser;
use dimtensor::{app, cli::Cli, report};
use std::process::ExitCode;

fn main() -> ExitCode {
    grow_heaps_in_steps();
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

/// glibc grows a thread's heap one page at a time, an `mprotect` each (1,500 of them for the
/// N = 100 benchmark corpus, each holding the address-space lock the other threads' page
/// faults need): a 4 MiB pad makes it a handful.
/// Only address space is reserved; pages are still touched as used. 5 % off that render
/// (benches/RESULTS.md), nothing at N = 1. Elsewhere the system allocator is left as it is.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn grow_heaps_in_steps() {
    const M_TOP_PAD: i32 = -2;
    extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    // SAFETY: mallopt takes plain integers and its own lock; M_TOP_PAD only changes how much a
    // heap grows by. Its result (1 on success) needs no handling: the default is a fine fallback.
    unsafe {
        mallopt(M_TOP_PAD, 4 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn grow_heaps_in_steps() {}
