//! The command line (clap). Thin: each command's work lives in its own module.

use std::net::SocketAddr;
use std::path::PathBuf;

use authbench_servers::Flaw;
use clap::{Args, Parser, Subcommand};

/// Nothing failed.
pub const EXIT_OK: u8 = 0;
/// A case failed or could not be judged.
pub const EXIT_FAILED: u8 = 1;
/// The harness itself could not run (bad arguments, profile, catalog, target).
pub const EXIT_HARNESS_ERROR: u8 = 2;

/// Conformance and load testing for HTTP API authentication.
#[derive(Debug, Parser)]
#[command(name = "authbench", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the reference servers (baseline, Basic, API keys, JWT) over HTTPS.
    Serve(ServeArgs),
}

/// `authbench serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Keep all state (SQLite database, PKI, keys, target.toml) in DIR; created if
    /// missing, reused if present. Default: a temporary directory removed on exit.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Address of the HTTPS listener (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub bind: SocketAddr,
    /// Switch on a deliberate flaw (repeatable); see --list-flaws.
    #[arg(long = "flaw", value_name = "NAME")]
    pub flaws: Vec<Flaw>,
    /// List the flaws, one sentence each, and exit.
    #[arg(long)]
    pub list_flaws: bool,
}

/// Runs the parsed command; the returned code is the process's exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    init_tracing();
    match cli.command {
        Command::Serve(args) => crate::serve::run(args),
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUTHBENCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
