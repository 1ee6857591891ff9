//! `authbench conform` and `authbench cases` as a user runs them.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_authbench");

fn authbench(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn conform_with_no_target_passes_every_case_against_the_embedded_servers() {
    let out = authbench(&["conform"]);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    let summary = text.lines().last().unwrap();
    assert!(summary.contains(" 0 fail, 0 warn, 0 skip, 0 error"), "{summary}");
}

#[tokio::test]
async fn conform_against_a_flawed_server_fails_and_writes_every_report() {
    let state = tempfile::tempdir().unwrap();
    let mut serve = tokio::process::Command::new(BIN)
        .args([
            "serve",
            "--state",
            state.path().to_str().unwrap(),
            "--bind",
            "127.0.0.1:0",
            "--flaw",
            "jwt-skip-exp",
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(serve.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(ready.starts_with("ready "));

    let out_dir = tempfile::tempdir().unwrap();
    let profile = state.path().join("target.toml");
    let out = tokio::process::Command::new(BIN)
        .args(["conform", "--target", profile.to_str().unwrap(), "--format", "junit"])
        // The catalog's reports; the profile's [openapi] checks have their own tests.
        .args(["--methods", "basic,api_key,jwt,oauth2,mtls,layered"])
        .args(["--out", out_dir.path().to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // JUnit: valid XML, the findings suite then one suite per method, failures
    // carrying expected and observed.
    let xml = String::from_utf8(out.stdout).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suites: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .map(|n| n.attribute("name").unwrap())
        .collect();
    assert_eq!(suites, ["findings", "basic", "api_key", "jwt", "oauth2", "mtls", "layered"]);
    let failed: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase") && n.children().any(|c| c.has_tag_name("failure")))
        .map(|n| n.attribute("name").unwrap())
        .collect();
    // One root cause: the JWT verifier's flaw, which reaches the layered
    // resource's user layer and the replay window too.
    assert_eq!(
        failed,
        [
            "security:exp-not-enforced",
            "jwt::exp-past-leeway",
            "jwt::exp-long-past",
            "jwt::exp-missing",
            "jwt::replay-window",
            "layered::expired-token"
        ]
    );
    let failure = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("jwt::exp-missing"))
        .flat_map(|n| n.children())
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    let message = failure.attribute("message").unwrap();
    assert!(message.starts_with("expected 401") && message.contains("observed 200"), "{message}");
    assert_eq!(std::fs::read_to_string(out_dir.path().join("junit.xml")).unwrap(), xml);

    // JSON: the results schema, and no secret in full.
    let json = std::fs::read_to_string(out_dir.path().join("results.json")).unwrap();
    let results: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(results["schema"], "authbench.results/1");
    assert_eq!(results["summary"]["fail"], 5);
    let findings = results["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["id"], "security:exp-not-enforced");
    assert_eq!(findings[0]["cases"].as_array().unwrap().len(), 5);
    let profile_text: toml::Table = std::fs::read_to_string(&profile).unwrap().parse().unwrap();
    for secret in [
        profile_text["basic"]["password"].as_str().unwrap(),
        profile_text["api_key"]["key"].as_str().unwrap(),
        profile_text["jwt"]["token"].as_str().unwrap(),
        profile_text["layered"]["other"]["key"].as_str().unwrap(),
    ] {
        for file in ["results.json", "junit.xml", "results.md", "results.txt", "results.sarif"] {
            let text = std::fs::read_to_string(out_dir.path().join(file)).unwrap();
            assert!(!text.contains(secret), "{file} holds a secret");
        }
    }
    // The terminal: findings first, then only what did not pass; --verbose all.
    for verbose in [false, true] {
        let mut args = vec!["conform", "--target", profile.to_str().unwrap(), "--methods", "jwt"];
        if verbose {
            args.push("--verbose");
        }
        let out = tokio::process::Command::new(BIN).args(&args).output().await.unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.starts_with("Findings — 1 finding: 1 security"), "{text}");
        assert!(text.contains("jwt::exp-missing"), "{text}");
        assert_eq!(text.contains("│ pass"), verbose, "{text}");
    }
    let markdown = std::fs::read_to_string(out_dir.path().join("results.md")).unwrap();
    assert!(markdown.contains("## jwt") && markdown.contains("`jwt::exp-missing`"));
    let findings_at = markdown.find("## Findings").unwrap();
    assert!(findings_at < markdown.find("## basic").unwrap(), "the findings lead");
    serve.start_kill().unwrap();
}

#[test]
fn a_target_that_is_down_is_a_harness_error_never_a_pass() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("down.toml");
    std::fs::write(
        &profile,
        format!("version = 1\nbase_url = \"https://{closed}\"\n[api_key]\nurl = \"/r\"\nkey = \"sk_test_x\"\n"),
    )
    .unwrap();
    let out = authbench(&["conform", "--target", profile.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("unreachable") && err.contains(&closed.to_string()), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn profile_catalog_and_flag_mistakes_are_one_line_errors_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("bad.toml");
    std::fs::write(
        &profile,
        "version = 1\nbase_url = \"https://x.test\"\n[basic]\nurl = \"/r\"\nuser = \"a\"\n",
    )
    .unwrap();
    let catalog = dir.path().join("catalog");
    std::fs::create_dir(&catalog).unwrap();
    std::fs::write(
        catalog.join("mine.toml"),
        "[[case]]\nid = \"jwt::mine\"\ntitle = \"t\"\nrequirements = []\nseverity = \"must\"\ncredential = { kind = \"valid\" }\nexpect = { status = 200 }\nflaws = [\"jwt-does-not-exist\"]\n",
    )
    .unwrap();
    let cases = [
        (vec!["conform", "--target", profile.to_str().unwrap()], "bad.toml:5"),
        (vec!["conform", "--target", "/nonexistent/target.toml"], "--target"),
        (vec!["conform", "--catalog", catalog.to_str().unwrap()], "mine.toml:8: flaws:"),
        (vec!["conform", "--methods", "smtp"], "--methods"),
        (vec!["conform", "--cases", "nothing::*"], "--cases"),
    ];
    for (args, needle) in cases {
        let out = authbench(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn cases_lists_the_catalog() {
    let out = authbench(&["cases", "--format", "json"]);
    assert!(out.status.success());
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(list.len() >= 60, "{}", list.len());
    for method in ["basic::", "api_key::", "jwt::"] {
        assert!(list.iter().any(|c| c["id"].as_str().unwrap().starts_with(method)));
    }
    let only_jwt = authbench(&["cases", "--methods", "jwt", "--format", "json"]);
    let jwt: Vec<serde_json::Value> = serde_json::from_slice(&only_jwt.stdout).unwrap();
    assert!(jwt.iter().all(|c| c["id"].as_str().unwrap().starts_with("jwt::")));
}
