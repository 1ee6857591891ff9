//! The reference servers as the default target: in this process for the
//! length of a command (`conform`, tests), or as a child process (`authbench
//! serve`) where their CPU time must be theirs alone (`overhead`, `load`,
//! `fuzz`, `worker`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use authbench_servers::{Flaw, ServeConfig};

/// How many cases run at once against the embedded reference servers, which
/// are built for it (against a `--target`, [`crate::methods::CONCURRENCY`]).
pub const EMBEDDED_CONCURRENCY: usize = 16;

/// The authorization codes' lifetime on the embedded servers.
pub const EMBEDDED_CODE_LIFETIME_SECS: i64 = 6;

/// The embedded reference servers, running for the length of a command.
pub struct Embedded {
    servers: authbench_servers::RunningServers,
    _dir: tempfile::TempDir,
}

impl Embedded {
    /// Starts the reference servers on loopback in a temporary state directory.
    pub async fn start(flaws: &[Flaw]) -> anyhow::Result<Embedded> {
        let dir = tempfile::Builder::new()
            .prefix("authbench-embedded-")
            .tempdir()
            .context("creating a state directory")?;
        let mut config = ServeConfig::new(
            dir.path().to_owned(),
            "127.0.0.1:0".parse().context("loopback address")?,
        );
        config.flaws = flaws.iter().copied().collect();
        // `oauth2::code-expired` waits a code's lifetime out, and it is the
        // longest case of the run: 6 s instead of `serve`'s 10 keeps the
        // whole catalog under 10 s, with room for a loaded machine to redeem
        // every other code in time.
        config.oauth.code_lifetime_secs = EMBEDDED_CODE_LIFETIME_SECS;
        let servers = authbench_servers::start(config)
            .await
            .context("starting the embedded reference servers")?;
        Ok(Embedded { servers, _dir: dir })
    }

    /// The profile the servers wrote.
    pub fn profile_path(&self) -> PathBuf {
        self.servers.profile_path.clone()
    }

    /// Stops the servers.
    pub async fn stop(self) {
        self.servers.shutdown().await;
    }
}

/// The reference servers in a child process, stopped on drop.
pub struct ChildServer {
    /// The `authbench serve` process.
    pub child: Child,
    /// The profile it wrote.
    pub profile: PathBuf,
    _state: tempfile::TempDir,
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `authbench serve` on a loopback port in a temporary state directory
/// and waits (up to 60 s) for its `ready` line.
/// `spawn` starts the command (`Command::spawn`, or on chosen CPUs).
pub fn start_child_server(
    spawn: impl FnOnce(&mut Command) -> std::io::Result<Child>,
) -> anyhow::Result<ChildServer> {
    let state = tempfile::Builder::new().prefix("authbench-overhead-").tempdir()?;
    let exe = std::env::current_exe().context("locating the authbench binary")?;
    let mut command = Command::new(exe);
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--state"])
        .arg(state.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = spawn(&mut command).context("starting the reference servers")?;
    let stdout = child.stdout.take().context("the servers' standard output")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("ready") {
                let _ = tx.send(line);
            }
        }
    });
    let line = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            bail!("the reference servers did not start within 60 s");
        }
    };
    let profile = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("profile="))
        .map(PathBuf::from)
        .context("the ready line names no profile")?;
    Ok(ChildServer { child, profile, _state: state })
}
