//! Helpers shared by the end-to-end tests.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use authbench::catalog::load_catalog;
use authbench::commands::conform::run_against;
use authbench_reports::Outcome;

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

/// Runs `method`'s cases against `profile`; returns the non-passing ones.
pub async fn not_passing(profile: &Path, method: &str) -> BTreeMap<String, String> {
    let cases: Vec<_> =
        load_catalog(None).unwrap().cases.into_iter().filter(|c| c.method == method).collect();
    let results = run_against(profile, cases, &Default::default()).await.unwrap();
    // The counts the README's compatibility notes state (`--nocapture` shows them).
    let s = &results.summary;
    eprintln!(
        "{method} against {}: {} cases, {} pass, {} fail, {} warn, {} skip, {} error",
        profile.display(),
        s.total,
        s.pass,
        s.fail,
        s.warn,
        s.skip,
        s.error
    );
    let skipped: Vec<String> = results
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::Skip)
        .map(|c| format!("{} ({})", c.id, c.reason.as_deref().unwrap_or("")))
        .collect();
    eprintln!("skipped: {skipped:#?}");
    results
        .cases
        .into_iter()
        .filter(|c| !matches!(c.outcome, Outcome::Pass | Outcome::Skip))
        .map(|c| (c.id, format!("{} {:?}: {}", c.outcome.as_str(), c.reason, c.observed)))
        .collect()
}

pub fn check(found: BTreeMap<String, String>, expected: &[(&str, &str)]) {
    let expected_ids: Vec<&str> = expected.iter().map(|(id, _)| *id).collect();
    let unexpected: Vec<_> =
        found.iter().filter(|(id, _)| !expected_ids.contains(&id.as_str())).collect();
    let now_passing: Vec<_> = expected_ids.iter().filter(|id| !found.contains_key(**id)).collect();
    assert!(
        unexpected.is_empty() && now_passing.is_empty(),
        "not passing and not in the compatibility notes: {unexpected:#?}\nlisted but passing now: {now_passing:?}"
    );
}
