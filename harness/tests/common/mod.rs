//! Helpers shared by the end-to-end tests.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The authbench binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_authbench");

/// The reference servers as a child process (`serve` on port 0), with
/// `flaws`; killed on drop.
pub struct Server {
    child: Child,
    /// Its target profile.
    pub profile: String,
    _state: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Starts the servers and waits for their ready line (`serve` exits if it
/// cannot start, which ends the wait).
pub fn serve(flaws: &[&str]) -> Server {
    let state = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--state"]).arg(state.path());
    for f in flaws {
        cmd.args(["--flaw", f]);
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("ready"))
        .expect("the servers never said ready");
    let profile =
        line.split_whitespace().find_map(|w| w.strip_prefix("profile=")).unwrap().to_owned();
    Server { child, profile, _state: state }
}
