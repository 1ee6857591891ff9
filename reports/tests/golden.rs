//! Golden-file tests: each renderer's output for a fixed set of results.
//! Run with `AUTHBENCH_UPDATE_GOLDEN=1` to rewrite the files after an intended change.

#![allow(clippy::unwrap_used)]

use authbench_reports::{CaseResult, Format, Outcome, Results, render};

fn case(id: &str, outcome: Outcome, reason: Option<&str>) -> CaseResult {
    CaseResult {
        id: id.to_owned(),
        method: id.split("::").next().unwrap_or_default().to_owned(),
        title: format!("Title of {id}"),
        requirements: vec!["RFC 7519 §4.1.4".to_owned()],
        severity: "must".to_owned(),
        outcome,
        expected: "401 + WWW-Authenticate: Bearer error=\"invalid_token\"".to_owned(),
        observed: if outcome == Outcome::Fail { "200".to_owned() } else { "401".to_owned() },
        reason: reason.map(str::to_owned),
        duration_ms: 3,
        measurement: None,
    }
}

fn results() -> Results {
    Results::new(
        "golden-target",
        "2026-11-29T12:00:00Z".to_owned(),
        1234,
        vec![
            case("basic::no-credentials", Outcome::Pass, None),
            case("basic::throttled | piped", Outcome::Warn, Some("429 without Retry-After")),
            case("jwt::exp-past-leeway", Outcome::Fail, Some("status 200")),
            case(
                "jwt::revoked-token",
                Outcome::Skip,
                Some("the profile's [jwt] has no revoked credential"),
            ),
            case("jwt::valid-token", Outcome::Error, Some("no answer within 10s")),
        ],
    )
}

fn check(format: Format) {
    let mut out = Vec::new();
    render(&results(), format, &mut out).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format.file_name());
    if std::env::var_os("AUTHBENCH_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &out).unwrap();
    }
    let golden = std::fs::read(&path).unwrap_or_default();
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&golden),
        "{} differs from its golden file; rerun with AUTHBENCH_UPDATE_GOLDEN=1 if the change is intended",
        path.display()
    );
}

#[test]
fn table() {
    check(Format::Table);
}

#[test]
fn json() {
    check(Format::Json);
}

#[test]
fn junit() {
    check(Format::Junit);
}

#[test]
fn markdown() {
    check(Format::Markdown);
}

#[test]
fn sarif() {
    check(Format::Sarif);
}

#[test]
fn json_round_trips_and_counts() {
    let r = results();
    assert_eq!(
        (r.summary.pass, r.summary.fail, r.summary.warn, r.summary.skip, r.summary.error),
        (1, 1, 1, 1, 1)
    );
    assert!(r.failed(false));
    let text = serde_json::to_string(&r).unwrap();
    let back: Results = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);
}
