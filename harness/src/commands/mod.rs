//! The commands, one module each; [`run`] dispatches the parsed command line.
//! Commands build on the stages below them (catalog, engine, methods, client,
//! measure, output) and never on each other, except where one command is
//! another's first step (`compare` runs `conform` and `overhead`; `advise`
//! reads `compare`'s result; `report` re-renders all of them).

pub(crate) mod advise;
pub(crate) mod cases;
pub(crate) mod compare;
pub mod conform;
pub(crate) mod fuzz;
pub(crate) mod load;
pub(crate) mod overhead;
pub(crate) mod report;
pub(crate) mod serve;
pub mod worker;

use crate::cli::{Cli, Command};

/// Runs the parsed command; the returned code is the process's exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    init_tracing();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Conform(args) => conform::run(args),
        Command::Cases(args) => cases::run(args),
        Command::Overhead(args) => overhead::command(args),
        Command::Load(args) => load::command(args),
        Command::Compare(args) => compare::command(args),
        Command::Report(args) => report::run(args),
        Command::Fuzz(args) => fuzz::command(args),
        Command::Advise(args) => advise::command(args),
        Command::Worker(args) => worker::command(args),
        Command::Locustfile(args) => worker::locustfile::command(args),
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUTHBENCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
