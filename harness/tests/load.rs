//! `authbench load` as a user runs it: goose profiles and journeys against
//! the reference servers, kept short (a few users, seconds).

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use serde_json::Value;

mod common;

use common::{BIN, serve};

fn authbench(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn rows(report: &Value) -> Vec<(String, u64, u64)> {
    report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["count"].as_u64().unwrap(),
                r["failed"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn journeys_run_every_step_and_goose_writes_its_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = authbench(&[
        "load",
        "--profile",
        "journeys",
        "--users",
        "4",
        "--duration",
        "3",
        "--format",
        "json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}\n{}", String::from_utf8_lossy(&out.stdout));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["schema"], "authbench.load/1");
    let rows = rows(&report);
    for step in [
        "POST oauth2: token (code)",
        "GET oauth2: resource",
        "POST oauth2: token (refresh)",
        "GET oauth2: resource (refreshed)",
        "POST oauth2: revoke",
        "POST admin: create key",
        "GET api-key: new key",
        "POST admin: revoke key",
        "GET api-key: revoked key refused",
        "GET mtls-users",
    ] {
        let row = rows.iter().find(|(n, _, _)| n == step);
        assert!(row.is_some_and(|(_, count, _)| *count > 0), "{step} never ran: {rows:?}");
    }
    assert!(rows.iter().all(|(_, _, failed)| *failed == 0), "{rows:?}");
    assert_eq!(report["findings"], 0);
    let total: u64 = rows.iter().map(|(_, c, _)| c).sum();
    assert_eq!(report["total"].as_u64(), Some(total));
    // goose's own reports, and ours, side by side.
    let html = std::fs::read_to_string(dir.path().join("goose.html")).unwrap();
    assert!(html.contains("<html") && html.contains("oauth2: token (code)"));
    let goose: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("goose.json")).unwrap())
            .unwrap();
    assert!(goose.is_object());
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("load.json")).unwrap())
            .unwrap();
    assert_eq!(saved, report);
}

#[test]
fn a_revoked_key_still_accepted_is_a_finding_and_fails_the_run() {
    let server = serve(&["api-key-accept-revoked"]);
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("rotation.toml");
    std::fs::write(
        &profile,
        "users = 2\nduration = 2\nmax_requests = 2000\n[[scenario]]\nname = \"api-key-rotation\"\n",
    )
    .unwrap();
    let out = authbench(&[
        "load",
        "--profile",
        profile.to_str().unwrap(),
        "--target",
        &server.profile,
        "--format",
        "json",
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["findings"].as_u64().unwrap() > 0, "{report}");
    let refused =
        rows(&report).into_iter().find(|(n, _, _)| n == "GET api-key: revoked key refused");
    assert!(refused.is_some_and(|(_, count, failed)| failed == count && count > 0));
}

#[test]
fn profile_mistakes_name_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("bad.toml");
    std::fs::write(&profile, "users = 2\nduration = 2\n[[scenario]]\nname = \"carrier-pigeon\"\n")
        .unwrap();
    let out = authbench(&["load", "--profile", profile.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.toml") && stderr.contains("carrier-pigeon"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

/// Runs one scenario, two users for two seconds: its requests and failures.
fn one_scenario(name: &str) -> (u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("one.toml");
    std::fs::write(
        &profile,
        format!("users = 2\nduration = 2\nmax_requests = 2000\n[[scenario]]\nname = \"{name}\"\n"),
    )
    .unwrap();
    let out = authbench(&[
        "load",
        "--profile",
        profile.to_str().unwrap(),
        "--format",
        "json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows(&report);
    let (_, count, failed) = rows
        .iter()
        .find(|(n, _, _)| n.contains(name))
        .unwrap_or_else(|| panic!("no {name} requests: {rows:?}"));
    (*count, *failed)
}

/// Layered under load: each user presents the service's certificate, and
/// every request the application's key and a user token bound to it.
#[test]
fn layered_users_present_all_three_layers() {
    let (count, failed) = one_scenario("layered");
    assert!(count > 10 && failed == 0, "{count} requests, {failed} failed");
}

/// DPoP under load: each request carries a proof of its own, so none is
/// refused as a replay.
#[test]
fn dpop_users_send_a_fresh_proof_per_request() {
    let (count, failed) = one_scenario("oauth2-dpop");
    assert!(count > 10 && failed == 0, "{count} requests, {failed} failed");
}

/// Issue 21: both built-in profiles, at their own defaults, pass against the
/// servers `serve` runs (the rotation journey's revoked keys are not taken
/// for guessing by the API-key throttle).
#[test]
fn journeys_and_smoke_at_their_defaults_pass_against_serve() {
    let server = serve(&[]);
    for profile in ["journeys", "smoke"] {
        let dir = tempfile::tempdir().unwrap();
        let out = authbench(&[
            "load",
            "--target",
            &server.profile,
            "--profile",
            profile,
            "--format",
            "json",
            "--out",
            dir.path().to_str().unwrap(),
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{profile}: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let failed: u64 = rows(&report).iter().map(|(_, _, f)| f).sum();
        assert_eq!(failed, 0, "{profile}: {stdout}");
    }
}
