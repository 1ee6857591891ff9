//! The SARIF renderer's output validates against the OASIS SARIF 2.1.0 schema
//! (`tests/schemas/`), checked by a validator we did not write: Python's
//! `jsonschema` (Debian `python3-jsonschema`, which `.ci/run` installs).

#![allow(clippy::unwrap_used)]

use std::process::Command;

use authbench_reports::{CaseResult, Format, Outcome, Results, render};

mod common;

const VALIDATE: &str = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(json.load(open(sys.argv[2]))), key=str)
for e in errors[:5]:
    print(f"{list(e.absolute_path)}: {e.message}")
sys.exit(1 if errors else 0)
"#;

fn validate(sarif: &[u8]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("results.sarif");
    std::fs::write(&file, sarif).unwrap();
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas/sarif-schema-2.1.0.json");
    let out = Command::new(common::python_with("jsonschema"))
        .args(["-c", VALIDATE])
        .arg(schema)
        .arg(&file)
        .output()
        .unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn case(id: &str, outcome: Outcome, severity: &str) -> CaseResult {
    CaseResult {
        id: id.to_owned(),
        method: id.split("::").next().unwrap_or_default().to_owned(),
        title: format!("Title of {id}"),
        requirements: vec!["RFC 6750 §3.1".to_owned()],
        severity: severity.to_owned(),
        outcome,
        expected: "401".to_owned(),
        observed: "200".to_owned(),
        reason: (outcome != Outcome::Pass).then(|| "because".to_owned()),
        duration_ms: 1,
        measurement: None,
        parts: None,
        findings: Vec::new(),
        operation: None,
        threats: Vec::new(),
    }
}

#[test]
fn every_outcome_renders_valid_sarif() {
    let results = Results::new(
        "schema-target",
        "2026-11-30T03:00:00Z".to_owned(),
        10,
        vec![
            case("jwt::a", Outcome::Pass, "must"),
            case("jwt::b", Outcome::Fail, "must"),
            case("jwt::c", Outcome::Fail, "should"),
            case("basic::d", Outcome::Warn, "should"),
            case("mtls::e", Outcome::Error, "must"),
            case("oauth2::f", Outcome::Skip, "must"),
        ],
    );
    let mut sarif = Vec::new();
    render(&results, Format::Sarif, &mut sarif).unwrap();
    let (valid, why) = validate(&sarif);
    assert!(valid, "{why}");
    let log: serde_json::Value = serde_json::from_slice(&sarif).unwrap();
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 6);
    // Failed, warned and unjudged cases are results, each under its case's rule.
    let findings: Vec<(&str, &str)> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["ruleId"].as_str().unwrap(), r["level"].as_str().unwrap()))
        .collect();
    assert_eq!(
        findings,
        [("jwt::b", "error"), ("jwt::c", "warning"), ("basic::d", "warning"), ("mtls::e", "error")]
    );
    for r in run["results"].as_array().unwrap() {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(run["tool"]["driver"]["rules"][index]["id"], r["ruleId"]);
    }
}

#[test]
fn the_validator_refuses_what_is_not_sarif() {
    // The check can fail: a log with a wrong version and a result without a message.
    let broken = br#"{"version": "2.0.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "a"}]}]}"#;
    let (valid, why) = validate(broken);
    assert!(!valid, "{why}");
}
