//! The `authbench` command: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = authbench::cli::Cli::parse();
    match authbench::commands::run(cli) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("authbench: error: {e:#}");
            authbench::cli::EXIT_HARNESS_ERROR.into()
        }
    }
}
