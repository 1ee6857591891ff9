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
    // Every configuration the reference servers offer is measured, DPoP
    // with a fresh proof per request.
    assert_eq!(rows.len(), 13, "{json}");
    for r in rows {
        let name = r["configuration"].as_str().unwrap();
        let judged = r["conformance"]["judged"].as_u64().unwrap();
        assert!(judged > 0, "{name}: no conformance cases judged");
        assert_eq!(r["conformance"]["passed"], r["conformance"]["judged"], "{name}");
        for field in ["throughput_ratio", "added_cpu_us_per_request", "credential_bytes"] {
            assert!(r[field].is_number(), "{name}: {field} not measured: {r}");
        }
        // Latency at a tenth of the baseline's capacity, unless the method cannot
        // sustain that rate at all (argon2id on every request), which it says.
        let saturated = r["note"].as_str().is_some_and(|n| n.starts_with("no latency figures"));
        for field in ["added_p50_us", "added_p99_us"] {
            assert_eq!(r[field].is_number(), !saturated, "{name}: {field}: {r}");
        }
        // The charts' data: both distributions, rising with the percentile.
        if !saturated {
            for side in ["baseline", "method"] {
                let points = r["latency"][side].as_array().unwrap();
                assert!(points.len() > 10, "{name}: {side}: {r}");
                let us: Vec<f64> = points.iter().map(|p| p["us"].as_f64().unwrap()).collect();
                assert!(us.windows(2).all(|w| w[0] <= w[1]) && us[0] > 0.0, "{name}: {us:?}");
            }
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
    // The handshake per connection costs the mTLS row more than keep-alive does;
    // a proof per request costs DPoP more than its bearer JWT alone.
    // Judged on the intervals: a machine busy with other work widens them
    // (three quick rounds), and only a difference they can tell apart counts.
    let cpu_interval = |name: &str| {
        let i = &row(name)["added_cpu_interval"];
        (i["low"].as_f64().unwrap(), i["high"].as_f64().unwrap())
    };
    for (dearer, cheaper) in [("mtls-handshake", "mtls"), ("oauth2-dpop", "oauth2-jwt")] {
        let ((_, dearer_high), (cheaper_low, _)) = (cpu_interval(dearer), cpu_interval(cheaper));
        assert!(dearer_high > cheaper_low, "{dearer} measured cheaper than {cheaper}: {json}");
    }
    let bytes = |name: &str| row(name)["credential_bytes"].as_u64().unwrap();
    assert!(bytes("oauth2-dpop") > bytes("oauth2-jwt") + 300, "{json}");
    // Layered: a key and a user token on every request, over the service's certificate.
    assert!(bytes("layered") > bytes("api_key") + 300, "{json}");
    assert!(row("layered")["revocation"].as_str().unwrap().starts_with("key "), "{json}");
    // The guide's columns, from what the run observed.
    let requests = |name: &str, flow: &str| {
        row(name)["complexity"][flow]["requests"]
            .as_u64()
            .unwrap_or_else(|| panic!("{name}: {json}"))
    };
    assert_eq!(requests("api_key", "obtain"), 0, "{json}");
    assert!(row("api_key")["complexity"]["renew"].is_null(), "{json}");
    assert_eq!(requests("jwt-rs256", "obtain"), 1, "{json}");
    // The code flow: authorize, login (and consent), token.
    assert!(requests("oauth2-jwt", "obtain") >= 3, "{json}");
    assert_eq!(requests("oauth2-jwt", "renew"), 1, "{json}");
    assert_eq!(row("mtls")["complexity"]["handshake"], true, "{json}");
    assert!(row("mtls")["expiration"].as_str().unwrap().starts_with("certificate, "), "{json}");
    assert!(row("jwt-rs256")["expiration"].as_str().unwrap().ends_with("(exp)*"), "{json}");
    assert_eq!(row("mtls")["client_secret"], "private key + certificate");
    for r in rows {
        let security = &r["security"];
        assert!(!security["countered"].as_array().unwrap().is_empty(), "{r}");
        assert!(security["open"].as_array().unwrap().is_empty(), "{r}");
        assert!(!r["server_state"].as_str().unwrap().is_empty(), "{r}");
    }
    assert_eq!(row("basic-cached")["best_for"][0], "internal-tool", "{json}");
    assert!(stdout.lines().all(|l| l.chars().count() <= 120), "{stdout}");
    // The conformance results travel inside compare.json, for `report`.
    assert_eq!(json["conformance"]["schema"], "authbench.results/1");
    for file in [
        "compare.md",
        "compare.txt",
        "compare.html",
        "junit.xml",
        "results.sarif",
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
    let html = std::fs::read_to_string(dir.path().join("compare.html")).unwrap();
    for column in ["expiration", "client keeps", "to obtain / renew", "server keeps", "security"] {
        assert!(html.contains(&format!("<th>{column}</th>")), "{column} not in the HTML");
    }
    assert_eq!(
        html.matches("<svg").count(),
        rows.iter().filter(|r| !r["latency"].is_null()).count()
    );
    // Self-contained: nothing to fetch.
    assert!(!html.contains(" src=") && !html.contains(" href=") && !html.contains("<script"));

    report_rerenders_and_gates(dir.path(), &md);
    advise_for_every_branch(dir.path(), &json);
}

/// `advise` for each branch of the guide, from the compare.json just written
/// and from its default place: the recommendation, its measured rows, the
/// cases that matter with their outcomes.
fn advise_for_every_branch(dir: &std::path::Path, compare: &Value) {
    let file = dir.join("compare.json");
    let branches = [
        ("internal-tool", "HTTP Basic over TLS"),
        ("public-api-own-data", "API keys"),
        ("public-api-user-data", "OAuth 2.0 authorization code with PKCE"),
        ("mobile-spa", "DPoP"),
        ("internal-services", "JWT bearer tokens"),
        ("zero-trust-services", "mTLS between services"),
        ("partners", "mTLS with a certificate per partner"),
        ("partners-user-data", "Layered"),
    ];
    let rows = compare["rows"].as_array().unwrap();
    for (branch, recommendation) in branches {
        let out = Command::new(BIN)
            .args(["advise", "--for", branch, "--compare"])
            .arg(&file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{branch}: {stdout}");
        // The guide's answer first, then authbench's.
        let guide = stdout.lines().position(|l| l.starts_with("The guide:")).unwrap();
        let ours = stdout.lines().position(|l| l.starts_with("authbench:")).unwrap();
        assert!(guide < ours, "{branch}: {stdout}");
        let recommended = stdout.lines().nth(ours).unwrap();
        assert!(recommended.contains(recommendation), "{branch}: {recommended}");
        assert!(stdout.contains(&file.display().to_string()), "{branch}: no source: {stdout}");
        // The JSON form: every recommended configuration measured, the same
        // figures as the comparison's row.
        let out = Command::new(BIN)
            .args(["advise", "--for", branch, "--format", "json", "--compare"])
            .arg(&file)
            .output()
            .unwrap();
        let advice: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(advice["missing"].as_array().unwrap().len(), 0, "{branch}: {advice}");
        for row in advice["rows"].as_array().unwrap() {
            let name = row["configuration"].as_str().unwrap();
            let saved = rows.iter().find(|r| r["configuration"] == name).unwrap();
            assert_eq!(row["added_cpu_us_per_request"], saved["added_cpu_us_per_request"]);
            assert!(row["throughput_ratio"].is_number(), "{branch}: {name}: {row}");
            // The table shows the same row.
            assert!(stdout.contains(name), "{branch}: {name} not shown: {stdout}");
        }
        for case in advice["case_outcomes"].as_array().unwrap() {
            assert_eq!(case["outcome"], "pass", "{branch}: {case}");
        }
    }
    // From the default place, with no flag but --for.
    let cwd = tempfile::tempdir().unwrap();
    std::fs::create_dir(cwd.path().join("authbench-compare")).unwrap();
    std::fs::copy(&file, cwd.path().join("authbench-compare/compare.json")).unwrap();
    let out = Command::new(BIN)
        .args(["advise", "--for", "partners-user-data", "--format", "markdown"])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{md}");
    assert!(md.contains("authbench-compare/compare.json") && md.contains("| layered |"), "{md}");
    assert!(md.contains("`layered::api-key-of-other-application` (pass)"), "{md}");
}

fn report(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN).arg("report").args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `authbench report` on what `compare` wrote: the same Markdown again; no
/// change against itself; a regression against a better baseline; a new
/// failure against a baseline where the case passed.
fn report_rerenders_and_gates(dir: &std::path::Path, md: &str) {
    let json = dir.join("compare.json");
    let path = json.to_str().unwrap();
    let (code, stdout, stderr) = report(&["--in", path, "--format", "markdown"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, md);
    let (code, _, stderr) = report(&["--in", path, "--baseline", path]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("no change"), "{stderr}");

    // A baseline where JWT ES256 cost far less — beyond this run's interval
    // and the baseline's own (none), so it is no coin toss — and ran twice
    // as fast.
    let mut better: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for r in better["rows"].as_array_mut().unwrap() {
        if r["configuration"] == "jwt-es256" {
            let cpu = r["added_cpu_us_per_request"].as_f64().unwrap();
            let half = r["added_cpu_interval"]
                .as_object()
                .map_or(0.0, |i| (i["high"].as_f64().unwrap() - i["low"].as_f64().unwrap()) / 2.0);
            r["added_cpu_us_per_request"] = serde_json::json!(cpu - 3.0 * half - 100.0);
            r.as_object_mut().unwrap().remove("added_cpu_interval");
            // Twice this run's ratio and then some: a fall past any threshold and interval.
            let ratio = r["throughput_ratio"].as_f64().unwrap();
            let spread = r["throughput_interval"]
                .as_object()
                .map_or(0.0, |i| i["high"].as_f64().unwrap() - i["low"].as_f64().unwrap());
            r["throughput_ratio"] = serde_json::json!(ratio * 2.0 + spread);
            r.as_object_mut().unwrap().remove("throughput_interval");
        }
    }
    let better_path = dir.join("better.json");
    std::fs::write(&better_path, better.to_string()).unwrap();
    let (code, _, stderr) =
        report(&["--in", path, "--baseline", better_path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("regression: jwt-es256 added CPU µs/req"), "{stderr}");
    assert!(stderr.contains("regression: jwt-es256 throughput ratio"), "{stderr}");

    // Conformance: a case that passed in the baseline fails now.
    let results = dir.join("conformance/results.json");
    let mut now: Value = serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    now["cases"][0]["outcome"] = serde_json::json!("fail");
    let id = now["cases"][0]["id"].as_str().unwrap().to_owned();
    let now_path = dir.join("now.json");
    std::fs::write(&now_path, now.to_string()).unwrap();
    let (code, stdout, stderr) = report(&[
        "--in",
        now_path.to_str().unwrap(),
        "--baseline",
        results.to_str().unwrap(),
        "--format",
        "junit",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("new failure: {id} (pass → fail)")), "{stderr}");
    assert!(stdout.starts_with("<?xml"), "{stdout}");

    // Mistakes name the flag.
    let (code, _, stderr) = report(&["--in", "/nonexistent/results.json"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--in /nonexistent/results.json"), "{stderr}");
    let (code, _, stderr) = report(&["--in", path, "--baseline", results.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("same kind"), "{stderr}");
}
