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
        let servers = authbench_servers::start(config).await?;
        println!(
            "ready {} profile={} ca={} mtls={}",
            servers.base_url,
            servers.profile_path.display(),
            servers.ca_cert_path.display(),
            servers.mtls_base_url
        );
        std::io::stdout().flush()?;
        wait_for_signal().await?;
        eprintln!("authbench: shutting down");
        servers.shutdown().await;
        anyhow::Ok(())
    })?;
    drop(temp);
    Ok(EXIT_OK)
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}
