//! Servers authbench did not write, and broken on purpose: one that answers
//! 500 to everything, one that serves everything, one that refuses every bad
//! credential with a bare 401, one that answers bytes that are not HTTP, one
//! that never answers. Judging principles 1–3 (DESIGN.md) must hold against
//! each: nothing broken passes, nothing refused is a security failure.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use authbench::catalog::{load_catalog, select};
use authbench::commands::conform::{OpenApiRun, RunOptions, run_against};
use authbench::methods::Method;
use authbench_reports::{FindingKind, Outcome, Results};
use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const PASSWORD: &str = "correct horse";
const KEY: &str = "sk_test_hostile0123456789abcdefghijklmnopqrstuv";
const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJl";

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// 500 to every request.
    ServerError,
    /// 200 to every request.
    ServeAll,
    /// 200 to the valid credentials, a 401 without a challenge to the rest.
    Bare401,
    /// Bytes that are not HTTP.
    Garbage,
    /// Reads, never answers.
    Silent,
}

fn valid(head: &str) -> bool {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("alice:{PASSWORD}"));
    head.lines().any(|l| {
        let Some((name, value)) = l.split_once(':') else { return false };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        (name == "authorization"
            && (value == format!("Basic {basic}") || value == format!("Bearer {TOKEN}")))
            || (name == "x-api-key" && value == KEY)
    })
}

/// Starts a server in `mode` on loopback; returns its port.
async fn start(mode: Mode) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 128 * 1024];
                let mut read = 0;
                // One request per connection: read the head, answer, close.
                loop {
                    match socket.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read += n,
                    }
                    if buf[..read].windows(4).any(|w| w == b"\r\n\r\n") || read == buf.len() {
                        break;
                    }
                }
                let head = String::from_utf8_lossy(&buf[..read]).into_owned();
                let answer: Vec<u8> = match mode {
                    Mode::ServerError => {
                        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 5\r\nconnection: close\r\n\r\noops\n".to_vec()
                    }
                    Mode::ServeAll => {
                        b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n".to_vec()
                    }
                    Mode::Bare401 if valid(&head) => {
                        b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n".to_vec()
                    }
                    Mode::Bare401 => {
                        b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 13\r\nconnection: close\r\n\r\nUnauthorized\n".to_vec()
                    }
                    Mode::Garbage => b"\x16\x03\x01garbage \x00\xff not http at all\r\n\r\n".to_vec(),
                    Mode::Silent => {
                        tokio::time::sleep(Duration::from_secs(600)).await;
                        return;
                    }
                };
                let _ = socket.write_all(&answer).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    port
}

fn profile(port: u16) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("target.toml");
    std::fs::write(
        &path,
        format!(
            r#"version = 1
name = "hostile"
base_url = "http://127.0.0.1:{port}"

[basic]
url = "/basic"
username = "alice"
password = "{PASSWORD}"

[api_key]
url = "/api-key"
header = "X-API-Key"
key = "{KEY}"

[jwt]
url = "/jwt"
issuer = "https://issuer.test"
audience = "https://api.test"
algorithm = "RS256"
token = "{TOKEN}"
"#
        ),
    )
    .unwrap();
    (dir, path)
}

async fn conform(mode: Mode) -> Results {
    let port = start(mode).await;
    let (_dir, path) = profile(port);
    let catalog = load_catalog(None).unwrap();
    let methods = [Method::Basic, Method::ApiKey, Method::Jwt];
    let cases = select(catalog, Some(&methods), None).unwrap();
    let options = RunOptions { timeout: Duration::from_secs(3), ..RunOptions::default() };
    run_against(&path, cases, &options).await.unwrap()
}

/// Cases that judge the profile alone, without a request: they may pass
/// whatever the server does.
const OFFLINE: &[&str] = &["api_key::key-entropy", "api_key::key-format"];

fn passed(results: &Results) -> Vec<String> {
    results
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::Pass && !OFFLINE.contains(&c.id.as_str()))
        .map(|c| format!("{}: {}", c.id, c.observed))
        .collect()
}

#[tokio::test]
async fn server_errors_never_pass() {
    let results = conform(Mode::ServerError).await;
    assert!(passed(&results).is_empty(), "{:#?}", passed(&results));
    for id in [
        "basic::unknown-user-same-answer",
        "api_key::same-answer-for-every-bad-key",
        "api_key::near-and-far-misses-take-equal-time",
        "jwt::alg-none",
        "basic::wrong-password",
    ] {
        let case = results.cases.iter().find(|c| c.id == id);
        assert!(
            case.is_none_or(|c| c.outcome == Outcome::Error || c.outcome == Outcome::Skip),
            "{id}: {case:?}"
        );
    }
    assert!(results.findings.iter().any(|f| f.id == "error:server-error"));
    assert!(results.findings_of(FindingKind::Security).next().is_none(), "{:#?}", results.findings);
    assert!(results.failed(false));
}

#[tokio::test]
async fn serving_everything_fails_every_refusal() {
    let results = conform(Mode::ServeAll).await;
    let judged: Vec<_> = results.cases.iter().filter(|c| c.outcome != Outcome::Skip).collect();
    for id in ["basic::wrong-password", "api_key::unknown-key", "basic::unknown-user-same-answer"] {
        let case = judged.iter().find(|c| c.id == id).unwrap();
        assert_eq!(case.outcome, Outcome::Fail, "{id}: {case:?}");
    }
    // 200 to everything is no replay window that "closes at exp".
    let replay = results.cases.iter().find(|c| c.id == "jwt::replay-window").unwrap();
    assert_ne!(replay.outcome, Outcome::Pass, "{replay:?}");
    assert!(results.findings_of(FindingKind::Security).count() >= 3, "{:#?}", results.findings);
    assert!(results.failed(false));
}

#[tokio::test]
async fn bare_401_refusals_are_one_form_finding_and_no_security_failure() {
    let results = conform(Mode::Bare401).await;
    let security: Vec<_> = results.findings_of(FindingKind::Security).collect();
    assert!(security.is_empty(), "{security:#?}");
    // This server compares the scheme case-sensitively, a real deviation
    // (RFC 9110 §11.1): those cases fail, as function findings.
    let failed: Vec<_> = results
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .filter(|c| !c.findings.iter().all(|f| f.starts_with("function:")))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let no_challenge = results.findings.iter().find(|f| f.id == "form:no-challenge").unwrap();
    assert_eq!(no_challenge.severity, "must");
    for id in ["basic::wrong-password", "api_key::no-credentials", "jwt::no-credentials"] {
        assert!(no_challenge.cases.iter().any(|c| c == id), "{id} not in {no_challenge:#?}");
    }
    assert!(results.failed(false), "a 401 without a challenge breaks a MUST of RFC 9110");
}

/// Bytes that are not HTTP answer nothing: the pre-flight says so and the
/// run stops (exit 2) instead of judging garbage.
#[tokio::test]
async fn garbage_is_no_answer() {
    let port = start(Mode::Garbage).await;
    let (_dir, path) = profile(port);
    let catalog = load_catalog(None).unwrap();
    let error = run_against(&path, catalog.cases, &RunOptions::default()).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("no selected URL") && text.contains("not an HTTP answer"), "{text}");
}

#[tokio::test]
async fn a_silent_target_is_reported_after_the_preflight() {
    let port = start(Mode::Silent).await;
    let (_dir, path) = profile(port);
    let catalog = load_catalog(None).unwrap();
    let started = Instant::now();
    let error = run_against(&path, catalog.cases, &RunOptions::default()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
    let text = error.to_string();
    assert!(text.contains("no selected URL") && text.contains("[basic]"), "{text}");
}

/// A document for the hostile servers' paths: one operation per scheme, an
/// AND of two, and a public one.
const DOCUMENT: &str = "openapi: 3.0.3
info: {title: hostile, version: '1'}
paths:
  /basic:
    get: {operationId: getBasic, security: [{basic: []}], responses: {'200': {description: ok}}}
  /api-key:
    get: {operationId: getKey, security: [{key: []}], responses: {'200': {description: ok}}}
  /jwt:
    get: {operationId: getJwt, security: [{bearer: []}], responses: {'200': {description: ok}}}
  /both:
    get: {operationId: getBoth, security: [{key: [], bearer: []}], responses: {'200': {description: ok}}}
  /public:
    get: {operationId: getPublic, security: [], responses: {'200': {description: ok}}}
components:
  securitySchemes:
    basic: {type: http, scheme: basic}
    key: {type: apiKey, name: X-API-Key, in: header}
    bearer: {type: http, scheme: bearer}
";

/// `--openapi` against a hostile server: the document's checks only.
async fn openapi(mode: Mode) -> anyhow::Result<Results> {
    let port = start(mode).await;
    let (dir, path) = profile(port);
    let document = dir.path().join("openapi.yaml");
    std::fs::write(&document, DOCUMENT).unwrap();
    let options = RunOptions {
        timeout: Duration::from_secs(3),
        openapi: OpenApiRun::Yes(Some(document.to_string_lossy().into_owned())),
        ..RunOptions::default()
    };
    run_against(&path, Vec::new(), &options).await
}

fn outcome(results: &Results, id: &str) -> Outcome {
    results.cases.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("no {id}")).outcome
}

#[tokio::test]
async fn openapi_checks_never_pass_on_server_errors() {
    let results = openapi(Mode::ServerError).await.unwrap();
    assert!(passed(&results).is_empty(), "{:#?}", passed(&results));
    assert_eq!(outcome(&results, "openapi::getBasic::control"), Outcome::Error);
    assert_eq!(outcome(&results, "openapi::getBasic::no-credentials"), Outcome::Error);
    assert!(results.findings_of(FindingKind::Security).next().is_none(), "{:#?}", results.findings);
}

#[tokio::test]
async fn openapi_checks_fail_every_refusal_of_a_server_that_serves_everything() {
    let results = openapi(Mode::ServeAll).await.unwrap();
    for id in [
        "openapi::getBasic::no-credentials",
        "openapi::getBasic::invalid-basic",
        "openapi::getKey::invalid-key",
        "openapi::getJwt::head-without-credentials",
        "openapi::getBoth::key-alone",
        "openapi::getBoth::bearer-alone",
    ] {
        assert_eq!(outcome(&results, id), Outcome::Fail, "{id}");
    }
    assert_eq!(outcome(&results, "openapi::getBasic::control"), Outcome::Pass);
    assert_eq!(outcome(&results, "openapi::getPublic::public"), Outcome::Pass);
}

/// A server that checks credentials (with bare 401s) but takes any valid one
/// anywhere: its refusals pass; taking Basic where the document says bearer,
/// one scheme of an AND alone, or a bad one beside a good one fail, and
/// nothing else does; its 401 on the
/// operation the document calls public is spec drift, a warning.
#[tokio::test]
async fn openapi_checks_credit_refusals_and_catch_any_credential_anywhere() {
    let results = openapi(Mode::Bare401).await.unwrap();
    for id in [
        "openapi::getBasic::control",
        "openapi::getBasic::no-credentials",
        "openapi::getBasic::invalid-basic",
        "openapi::getKey::invalid-key",
        "openapi::getKey::key-in-query",
        "openapi::getJwt::invalid-bearer",
        "openapi::getJwt::trailing-slash-without-credentials",
    ] {
        assert_eq!(outcome(&results, id), Outcome::Pass, "{id}");
    }
    let failed: Vec<&str> = results
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| c.id.as_str())
        .collect();
    assert!(failed.contains(&"openapi::getJwt::scheme-confusion-basic"), "{failed:?}");
    assert!(failed.contains(&"openapi::getBoth::key-alone"), "{failed:?}");
    // At the AND operation an invalid credential beside a valid one is
    // served too: the same bug, seen from the other side.
    let same_bug = |id: &&str| {
        id.contains("::scheme-confusion-")
            || id.ends_with("-alone")
            || id.starts_with("openapi::getBoth::invalid-")
    };
    assert!(failed.iter().all(same_bug), "{failed:?}");
    assert_eq!(outcome(&results, "openapi::getPublic::public"), Outcome::Warn);
}

/// Garbage and silence answer nothing: the document's servers are in the
/// pre-flight, so the run stops with a harness error instead of judging.
#[tokio::test]
async fn openapi_checks_stop_at_the_preflight_when_nothing_answers() {
    for mode in [Mode::Garbage, Mode::Silent] {
        let started = Instant::now();
        let error = openapi(mode).await.unwrap_err().to_string();
        assert!(error.contains("no selected URL") && error.contains("[openapi]"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
    }
}
