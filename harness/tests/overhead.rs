//! `authbench overhead` as a user runs it, kept short: the numbers' quality
//! is for release builds and `benches/scripts/load-tools.sh`; these check
//! that every figure is measured, consistent, and reported.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_authbench");

fn authbench(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn json(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn num(v: &Value, path: &[&str]) -> f64 {
    let mut at = v;
    for p in path {
        at = &at[*p];
    }
    at.as_f64().unwrap_or_else(|| panic!("{path:?} is not a number in {v}"))
}

#[test]
fn closed_loop_measures_both_sides_and_server_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let out = authbench(&[
        "overhead",
        "--methods",
        "api_key,jwt-es256",
        "--max",
        "--duration",
        "0.6",
        "--warmup",
        "0",
        "--connections",
        "4",
        "--format",
        "json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let report = json(&out);
    assert_eq!(report["schema"], "authbench.overhead/1");
    let rows = report["rows"].as_array().unwrap();
    let methods: Vec<&str> = rows.iter().map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["api_key", "jwt-es256"]);
    for row in rows {
        for side in ["baseline", "authenticated"] {
            assert!(num(row, &[side, "requests"]) > 10.0, "{row}");
            assert_eq!(num(row, &[side, "errors"]), 0.0, "{row}");
            let (p50, p99, max) = (
                num(row, &[side, "p50_us"]),
                num(row, &[side, "p99_us"]),
                num(row, &[side, "max_us"]),
            );
            assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{row}");
            // The reference servers run as a child: their CPU is read from /proc.
            assert!(num(row, &[side, "cpu_us_per_request"]) > 0.0, "{row}");
        }
        // Verifying a signature costs more than serving the baseline.
        if row["method"] == "jwt-es256" {
            assert!(num(row, &["added", "cpu_us_per_request"]) > 0.0, "{row}");
        }
    }
    assert!(
        dir.path().join("overhead.json").is_file() && dir.path().join("overhead.txt").is_file()
    );
}

#[test]
fn open_loop_sends_at_the_rate_asked_and_counts_lateness() {
    let out = authbench(&[
        "overhead",
        "--methods",
        "basic-cached",
        "--rate",
        "300",
        "--duration",
        "1",
        "--warmup",
        "0",
        "--rounds",
        "1",
        "--format",
        "json",
    ]);
    let report = json(&out);
    let row = &report["rows"][0];
    for side in ["baseline", "authenticated"] {
        // 300/s for one second: every intended send released and answered.
        assert_eq!(num(row, &[side, "intended"]), 300.0, "{row}");
        assert_eq!(num(row, &[side, "requests"]) + num(row, &[side, "errors"]), 300.0, "{row}");
        assert!(num(row, &[side, "late"]) <= num(row, &[side, "intended"]), "{row}");
        assert!(num(row, &[side, "p50_us"]) > 0.0, "{row}");
    }
}

#[test]
fn a_target_behind_the_rate_leaves_sends_unsent_instead_of_draining_them() {
    // argon2id on every request serves a few dozen per second: at 1000/s the
    // backlog is counted when the phase ends, not worked through for minutes.
    let out = authbench(&[
        "overhead",
        "--methods",
        "basic",
        "--rate",
        "1000",
        "--duration",
        "0.5",
        "--warmup",
        "0",
        "--rounds",
        "1",
        "--format",
        "json",
    ]);
    let report = json(&out);
    let auth = &report["rows"][0]["authenticated"];
    let (ok, unsent, intended) =
        (num(auth, &["requests"]), num(auth, &["unsent"]), num(auth, &["intended"]));
    assert!(unsent > 0.0, "{auth}");
    assert!(ok + unsent <= intended, "{auth}");
    assert_eq!(num(&report["rows"][0], &["baseline", "unsent"]), 0.0, "{report}");
}

#[test]
fn mistakes_are_one_line_errors_with_exit_2() {
    for (args, needle) in [
        (&["overhead", "--rate=-5"][..], "--rate"),
        (&["overhead", "--rate", "0"][..], "--rate"),
        (&["overhead", "--duration", "0"][..], "--duration"),
        (&["overhead", "--connections", "0"][..], "--connections"),
        (&["overhead", "--target", "/nonexistent/target.toml"][..], "--target"),
    ] {
        let out = authbench(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
}
