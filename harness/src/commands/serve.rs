//! `authbench serve`: run the reference servers until SIGINT or SIGTERM.

use std::io::Write;

use anyhow::Context;
use authbench_servers::{Flaw, ServeConfig};

use crate::cli::{EXIT_OK, ServeArgs};

/// Runs `serve`: prints `ready …` once the listener accepts connections, then
/// waits for SIGINT/SIGTERM and shuts down gracefully.
pub fn run(args: ServeArgs) -> anyhow::Result<u8> {
    if args.list_flaws {
        let mut out = std::io::stdout().lock();
        for flaw in Flaw::ALL {
            writeln!(out, "{:<24} {}", flaw.name(), flaw.description())?;
        }
        return Ok(EXIT_OK);
    }
    // Without --state, a temporary directory that lives as long as the servers.
    let temp = match &args.state {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("authbench-state-")
                .tempdir()
                .context("creating a temporary state directory")?,
        ),
    };
    let state_dir = match (&args.state, &temp) {
        (Some(dir), _) => dir.clone(),
        (None, Some(temp)) => temp.path().to_owned(),
        (None, None) => unreachable!("a temporary directory is made whenever --state is absent"),
    };
    let mut config = ServeConfig::new(state_dir, args.bind);
    if let Some(mtls_bind) = args.mtls_bind {
        config.mtls_bind = mtls_bind;
    }
    config.flaws = args.flaws.into_iter().collect();

    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        // The handlers are installed before anything is started, so a signal
        // that arrives right after `ready` (or during start-up) is never met
        // by the default action, which would kill the process uncleanly.
        let signals = Signals::install()?;
        let servers = authbench_servers::start(config).await?;
        println!(
            "ready {} profile={} ca={} mtls={}",
            servers.base_url,
            servers.profile_path.display(),
            servers.ca_cert_path.display(),
            servers.mtls_base_url
        );
        std::io::stdout().flush()?;
        signals.wait().await;
        eprintln!("authbench: shutting down");
        servers.shutdown().await;
        anyhow::Ok(())
    })?;
    drop(temp);
    Ok(EXIT_OK)
}

/// SIGINT and SIGTERM, caught from the moment they are installed.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            terminate: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
