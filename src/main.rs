//! The `kubectl-dimtensor` binary: parse, run, report, exit. Nothing else.

use clap::Parser;
use dimtensor::{app, cli::Cli, report};
use std::process::ExitCode;

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
