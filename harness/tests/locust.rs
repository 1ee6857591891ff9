//! authbench as Locust workers, with a real Locust master from PyPI: the
//! generated locustfile, `locust --master --headless --expect-workers 2` on
//! loopback, two `authbench worker` processes against the embedded reference
//! servers, bounded in users and time. The master exits 0; Locust's request
//! count equals the sum of the workers' own counts and the merged
//! histogram's; the master's log has no unknown-message or version warning.
//! Run against the pinned current Locust and the oldest 2.x the README
//! claims (`LOCUST_VERSIONS`).
//!
//! Locust is installed into a virtualenv under the target directory with the
//! machine's python3 (`pip install locust==VERSION`), once per version.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_authbench");

/// The Locust this release is tested with, and the oldest 2.x it supports.
const CURRENT: &str = "2.47.0";
const OLDEST: &str = "2.8.0";

/// A virtualenv with Locust `version`, made once.
fn locust(version: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("locust-{version}"));
    let bin = dir.join("bin/locust");
    if bin.is_file() {
        return bin;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let ok = Command::new("python3").args(["-m", "venv"]).arg(&dir).status().unwrap().success();
    assert!(ok, "python3 -m venv failed: the test needs python3 with venv and pip");
    let out = Command::new(dir.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("locust=={version}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pip install locust=={version}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(bin.is_file());
    bin
}

/// A port free on loopback now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait(child: &mut Child, within: Duration, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not finish within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The Aggregated row's request and failure counts from Locust's CSV.
fn locust_counts(csv: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (requests, failures, name) = (col("Request Count"), col("Failure Count"), col("Name"));
    let row: Vec<&str> =
        lines.map(|l| l.split(',').collect::<Vec<_>>()).find(|r| r[name] == "Aggregated").unwrap();
    (row[requests].parse().unwrap(), row[failures].parse().unwrap())
}

fn run_with(version: &str) {
    let locust = locust(version);
    let dir = tempfile::tempdir().unwrap();
    let locustfile = dir.path().join("locustfile.py");
    let status = Command::new(BIN)
        .args(["locustfile", "--scenarios", "baseline,api_key,jwt-es256", "--out"])
        .arg(&locustfile)
        .status()
        .unwrap();
    assert!(status.success());
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("master.log")).unwrap();
    let mut master = Command::new(&locust)
        .args(["-f", "locustfile.py", "--master", "--headless", "--expect-workers", "2"])
        .args(["-u", "6", "-r", "6", "-t", "6s", "--csv", "stats"])
        .args(["--master-bind-host", "127.0.0.1", "--master-bind-port", &port.to_string()])
        .args(["--authbench-rate", "20", "--authbench-out", "out"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let workers: Vec<Child> = (0..2)
        .map(|_| {
            Command::new(BIN)
                .args(["worker", "--master", &format!("127.0.0.1:{port}"), "--out"])
                .arg(dir.path().join("workers"))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let status = wait(&mut master, Duration::from_secs(180), "the Locust master");
    let master_log = std::fs::read_to_string(dir.path().join("master.log")).unwrap();
    assert_eq!(status.code(), Some(0), "Locust {version} master:\n{master_log}");
    for mut w in workers {
        let status = wait(&mut w, Duration::from_secs(30), "a worker");
        let mut err = String::new();
        std::io::Read::read_to_string(w.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(0), "worker:\n{err}");
    }
    for warning in
        ["Unknown message type", "different version", "unrecognized worker", "old (pre 2.0)"]
    {
        assert!(!master_log.contains(warning), "Locust {version}: `{warning}`:\n{master_log}");
    }

    // Locust's count, the workers' own, and the merged histogram's: equal.
    let (locust_requests, locust_failures) = locust_counts(&dir.path().join("stats_stats.csv"));
    assert!(locust_requests > 100, "Locust {version} counted {locust_requests}");
    assert_eq!(locust_failures, 0);
    let mut own = 0;
    let files: Vec<_> = std::fs::read_dir(dir.path().join("workers")).unwrap().collect();
    assert_eq!(files.len(), 2);
    for f in files {
        let w: Value =
            serde_json::from_str(&std::fs::read_to_string(f.unwrap().path()).unwrap()).unwrap();
        for s in w["scenarios"].as_object().unwrap().values() {
            own += s["ok"].as_u64().unwrap() + s["failed"].as_u64().unwrap();
        }
    }
    assert_eq!(own, locust_requests, "Locust {version}: the workers' own counts");
    let out = Command::new(BIN)
        .args(["report", "--format", "json", "--in"])
        .arg(dir.path().join("out/histograms.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["schema"], "authbench.overhead/1");
    let rows = report["rows"].as_array().unwrap();
    let methods: Vec<&str> = rows.iter().map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["api_key", "jwt-es256"]);
    let merged = rows[0]["baseline"]["requests"].as_u64().unwrap()
        + rows.iter().map(|r| r["authenticated"]["requests"].as_u64().unwrap()).sum::<u64>();
    assert_eq!(merged, locust_requests, "Locust {version}: the merged histograms");
    for r in rows {
        assert!(r["authenticated"]["p99_us"].as_f64().unwrap() > 0.0, "{r}");
    }
}

#[test]
fn locust_master_with_two_authbench_workers() {
    run_with(CURRENT);
}

#[test]
fn the_oldest_supported_locust() {
    run_with(OLDEST);
}
