//! `authbench fuzz` end to end: the correct reference servers give no
//! findings; each flaw a fuzzer should find is found, with its reproducer,
//! within the first iterations of the default budget (a seed names the same
//! candidates in every run, so the first N of a run are the first N of the
//! default one).

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use serde_json::Value;

mod common;

use common::{BIN, serve};

fn fuzz(args: &[&str]) -> (Output, Value) {
    let out = Command::new(BIN).arg("fuzz").args(args).args(["--format", "json"]).output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, json)
}

fn failed(results: &Value) -> Vec<String> {
    results["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] != "pass")
        .map(|c| format!("{}: {}", c["id"].as_str().unwrap(), c["observed"].as_str().unwrap()))
        .collect()
}

#[test]
fn the_correct_servers_give_no_findings() {
    let (out, results) = fuzz(&["--seed", "7", "--iterations", "4000"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}\n{:#?}", failed(&results));
    let ids: Vec<&str> =
        results["cases"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    // Every method of the reference profile was fuzzed, each judged four ways.
    for id in [
        "fuzz::jwt-rs256::accepts-invalid",
        "fuzz::jwt-hs256::server-error",
        "fuzz::jwt-es256::connection-reset",
        "fuzz::jwt-eddsa::slow",
        "fuzz::api_key::accepts-invalid",
        "fuzz::basic::accepts-invalid",
        "fuzz::oauth2-token::accepts-invalid",
    ] {
        assert!(ids.contains(&id), "{id} missing: {ids:?}");
    }
    // The candidates reached every configuration.
    for c in results["cases"].as_array().unwrap() {
        let observed = c["observed"].as_str().unwrap();
        let n: u64 = observed
            .strip_prefix("none of ")
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(n > 20, "{}: {observed}", c["id"]);
    }
    assert!(stderr.contains("--seed 7"), "{stderr}");
}

/// Each flaw: the case it must fail, found within the first 3,000 candidates
/// of seed 1, with a reproducer.
#[test]
fn each_fuzzable_flaw_is_found_with_a_reproducer() {
    for (flaw, methods, case) in [
        ("jwt-skip-signature", "jwt", "fuzz::jwt-rs256::accepts-invalid"),
        ("jwt-accept-alg-none", "jwt", "fuzz::jwt-rs256::accepts-invalid"),
        ("jwt-key-confusion", "jwt", "fuzz::jwt-rs256::accepts-invalid"),
        ("jwt-skip-exp", "jwt", "fuzz::jwt-es256::accepts-invalid"),
        ("api-key-prefix-match", "api_key", "fuzz::api_key::accepts-invalid"),
    ] {
        let server = serve(&[flaw]);
        let dir = tempfile::tempdir().unwrap();
        let (out, results) = fuzz(&[
            "--target",
            &server.profile,
            "--methods",
            methods,
            "--seed",
            "1",
            "--iterations",
            "3000",
            "--out",
            dir.path().to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flaw}: {stderr}");
        let fails = failed(&results);
        let found = fails.iter().find(|f| f.starts_with(case));
        assert!(found.is_some(), "{flaw}: {case} not failed; failures: {fails:#?}");
        // Only acceptance findings: the flaw makes the server accept, not crash.
        assert!(
            fails.iter().all(|f| f.contains("::accepts-invalid")),
            "{flaw}: unexpected findings {fails:#?}"
        );
        let file = found.unwrap().rsplit("reproducer ").next().unwrap().to_owned();
        // The reproducer, replayed as bytes by a client we did not write,
        // is accepted again: the flaw, not the fuzzer's luck.
        let path = dir.path().join(&file);
        let request = std::fs::read(&path).unwrap();
        assert!(request.starts_with(b"GET /"), "{flaw}: {}", String::from_utf8_lossy(&request));
        let text = String::from_utf8_lossy(&request);
        let host = text.lines().find_map(|l| l.strip_prefix("Host: ")).unwrap().trim().to_owned();
        let replay = || {
            let out = Command::new("openssl")
                .args(["s_client", "-connect", &host, "-quiet", "-ign_eof"])
                .stdin(std::fs::File::open(&path).unwrap())
                .output()
                .expect("openssl (.ci/run installs it)");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        // The fuzzing may have left the client throttled (API keys): the
        // server says when to come back.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        let mut answer = replay();
        while answer.starts_with("HTTP/1.1 429") && std::time::Instant::now() < deadline {
            let wait = answer
                .lines()
                .find_map(|l| l.strip_prefix("retry-after: "))
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(1);
            std::thread::sleep(std::time::Duration::from_secs(wait));
            answer = replay();
        }
        assert!(answer.starts_with("HTTP/1.1 200"), "{flaw}: replayed {file}: {answer}");
        drop(server);
    }
}

#[test]
fn mistakes_name_the_flag() {
    let (out, _) = fuzz(&["--iterations", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--iterations"));
    let (out, _) = fuzz(&["--methods", "carrier-pigeon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--methods"));
}
