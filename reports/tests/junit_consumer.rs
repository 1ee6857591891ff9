//! The JUnit file is read by a consumer we did not write: `junitparser`
//! (PyPI; Debian `python3-junitparser`, which `.ci/run` installs), the parser
//! CI dashboards' Python tooling uses. Its counts must equal ours.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use authbench_reports::{CaseResult, Format, Outcome, Results, render};

mod common;

const READ: &str = r#"
import json, sys
from junitparser import JUnitXml, Failure, Error, Skipped
xml = JUnitXml.fromfile(sys.argv[1])
suites = {}
for suite in xml:
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "ids": []}
    for case in suite:
        counts["tests"] += 1
        counts["ids"].append(case.name)
        for r in case.result:
            if isinstance(r, Failure): counts["failures"] += 1
            elif isinstance(r, Error): counts["errors"] += 1
            elif isinstance(r, Skipped): counts["skipped"] += 1
    suites[suite.name] = counts
print(json.dumps(suites))
"#;

fn case(id: &str, outcome: Outcome) -> CaseResult {
    CaseResult {
        id: id.to_owned(),
        method: id.split("::").next().unwrap_or_default().to_owned(),
        title: format!("Title of {id} <with> & \"markup\""),
        requirements: vec!["RFC 7617 §2".to_owned()],
        severity: "must".to_owned(),
        outcome,
        expected: "401 <challenge>".to_owned(),
        observed: "200 & body".to_owned(),
        reason: Some("reason".to_owned()),
        duration_ms: 2,
        measurement: None,
        parts: None,
        findings: Vec::new(),
        operation: None,
        threats: Vec::new(),
    }
}

#[test]
fn junitparser_reads_what_we_wrote() {
    let results = Results::new(
        "junit-target",
        "2026-11-30T03:00:00Z".to_owned(),
        10,
        vec![
            case("basic::a", Outcome::Pass),
            case("basic::b", Outcome::Fail),
            case("basic::c", Outcome::Warn),
            case("jwt::d", Outcome::Error),
            case("jwt::e", Outcome::Skip),
            case("jwt::f", Outcome::Fail),
        ],
    );
    let mut xml = Vec::new();
    render(&results, Format::Junit, &mut xml).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, &xml).unwrap();
    let out = Command::new(common::python_with("junitparser"))
        .args(["-c", READ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let suites: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // One suite per method; a warning passes (it fails only under --strict).
    assert_eq!(suites["basic"]["tests"], 3);
    assert_eq!(suites["basic"]["failures"], 1);
    assert_eq!(suites["basic"]["errors"], 0);
    assert_eq!(suites["jwt"]["tests"], 3);
    assert_eq!(suites["jwt"]["failures"], 1);
    assert_eq!(suites["jwt"]["errors"], 1);
    assert_eq!(suites["jwt"]["skipped"], 1);
    assert_eq!(suites["jwt"]["ids"], serde_json::json!(["jwt::d", "jwt::e", "jwt::f"]));
}
