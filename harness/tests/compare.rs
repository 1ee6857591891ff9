//! `authbench compare --quick` as a new user runs it: every row measured,
//! every report file written.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_authbench");

#[test]
fn quick_compare_prints_the_table_and_writes_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        Command::new(BIN).args(["compare", "--quick", "--out"]).arg(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    for label in ["basic-cached", "api_key", "jwt-es256", "oauth2-opaque", "mtls-handshake"] {
        assert!(stdout.contains(label), "{label} missing from the table:\n{stdout}");
    }
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("compare.json")).unwrap())
            .unwrap();
    assert_eq!(json["schema"], "authbench.compare/1");
    let rows = json["rows"].as_array().unwrap();
    let row = |name: &str| rows.iter().find(|r| r["configuration"] == name).unwrap();
    // Every configuration the reference servers offer is measured; DPoP says why not.
    for r in rows {
        let name = r["configuration"].as_str().unwrap();
        let judged = r["conformance"]["judged"].as_u64().unwrap();
        assert!(judged > 0, "{name}: no conformance cases judged");
        assert_eq!(r["conformance"]["passed"], r["conformance"]["judged"], "{name}");
        if name == "oauth2-dpop" {
            assert!(r["note"].as_str().unwrap().contains("DPoP"), "{r}");
            continue;
        }
        for field in ["throughput_ratio", "added_cpu_us_per_request", "credential_bytes"] {
            assert!(r[field].is_number(), "{name}: {field} not measured: {r}");
        }
        // Latency at a tenth of the baseline's capacity, unless the method cannot
        // sustain that rate at all (argon2id on every request), which it says.
        let saturated = r["note"].as_str().is_some_and(|n| n.contains("capacity"));
        for field in ["added_p50_us", "added_p99_us"] {
            assert_eq!(r[field].is_number(), !saturated, "{name}: {field}: {r}");
        }
        let ratio = r["throughput_ratio"].as_f64().unwrap();
        assert!(ratio > 0.0 && ratio < 5.0, "{name}: throughput ratio {ratio}");
    }
    // argon2id on every request costs far more than the cache's hit, and
    // cannot keep up with a tenth of the baseline's rate.
    let cpu = |name: &str| row(name)["added_cpu_us_per_request"].as_f64().unwrap();
    assert!(cpu("basic") > 10.0 * cpu("basic-cached").max(1.0), "{}", json);
    assert!(row("basic")["added_p50_us"].is_null(), "{json}");
    // Measured facts, not assertions: revocation latencies and replay windows.
    let measured_ms = |v: &Value| {
        v.as_str().unwrap().strip_suffix(" ms*").is_some_and(|n| n.parse::<u64>().is_ok())
    };
    assert!(measured_ms(&row("api_key")["revocation"]), "{json}");
    assert!(measured_ms(&row("mtls")["revocation"]), "{json}");
    assert!(measured_ms(&row("oauth2-opaque")["revocation"]), "{json}");
    assert!(row("jwt-rs256")["replay_window"].as_str().unwrap().ends_with("(exp)*"));
    assert!(row("oauth2-dpop")["replay_window"].as_str().unwrap().contains("one-use"));
    // The handshake per connection costs the mTLS row more than keep-alive does.
    assert!(cpu("mtls-handshake") > cpu("mtls"), "{json}");
    for file in [
        "compare.md",
        "compare.txt",
        "overhead-closed-loop.json",
        "overhead-open-loop.json",
        "overhead-closed-loop-handshake.json",
        "conformance/results.json",
        "conformance/junit.xml",
    ] {
        assert!(dir.path().join(file).is_file(), "{file} not written");
    }
    let md = std::fs::read_to_string(dir.path().join("compare.md")).unwrap();
    assert!(md.contains("| configuration |") && md.contains("| mtls-handshake |"), "{md}");
}
