//! SARIF 2.1.0 (OASIS): every case of the run a rule (its id the case id),
//! and every finding — one root cause — a rule and one result, with the cases
//! it explains as related locations: a dashboard shows three alerts for three
//! root causes, not thirty-two. Results files written before findings existed
//! get one result per case that did not pass, as below.
//!
//! The mapping, decided once:
//! - `fail` → `kind: fail`, `level: error` (a `must`) — or `warning` when the
//!   case is a `should` that the engine still counted as failed;
//! - `warn` → `kind: fail`, `level: warning`;
//! - `error` → `kind: fail`, `level: error`, the message saying it could not
//!   be judged: an unjudged check is never a silent pass, in SARIF either;
//! - `pass` and `skip` produce no result (SARIF consumers show results as
//!   alerts), but every case stays a rule, and the run's properties carry the
//!   summary, so a dashboard can tell "not run" from "passed".
//!
//! Results have no source location: what failed is the target's behaviour, not
//! a line of code. Each result names the target as a logical location and its
//! method's catalog file as its artifact (cross-cutting cases, written once in
//! `cross_cutting.toml`, point at the method they ran for), relative to
//! `AUTHBENCH_CATALOG` (the `scenarios/conformance/` folder of the authbench
//! source), and carries a fingerprint of target and case so that the same
//! finding on the next run is the same alert.

use std::io::Write;

use serde_json::{Value, json};

use crate::model::{CaseResult, Finding, FindingKind, Outcome, Results};

/// The schema URI written in `$schema`.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The catalog file that defines a case of `method`.
fn catalog_file(method: &str) -> String {
    format!("{method}.toml")
}

/// Where a case points: the OpenAPI operation it checks (document and line,
/// so code scanning annotates the spec), else its catalog file.
fn physical_location(case: Option<&CaseResult>, method: &str) -> Value {
    match case.and_then(|c| c.operation.as_ref()) {
        Some(op) => {
            let uri = if op.document.starts_with('/') {
                format!("file://{}", op.document)
            } else {
                op.document.clone()
            };
            json!({
                "artifactLocation": { "uri": uri },
                "region": { "startLine": op.line.max(1) },
            })
        }
        None => json!({
            "artifactLocation": {
                "uri": catalog_file(method),
                "uriBaseId": "AUTHBENCH_CATALOG",
            }
        }),
    }
}

fn level(case: &CaseResult) -> &'static str {
    match (case.outcome, case.severity.as_str()) {
        (Outcome::Warn, _) => "warning",
        (Outcome::Fail, "should") => "warning",
        _ => "error",
    }
}

fn message(case: &CaseResult) -> String {
    let mut text = match case.outcome {
        Outcome::Error => format!("{} — could not be judged.", case.title),
        _ => format!("{}.", case.title.trim_end_matches('.')),
    };
    if !case.expected.is_empty() {
        text.push_str(&format!(" Expected: {}.", case.expected));
    }
    if !case.observed.is_empty() {
        text.push_str(&format!(" Observed: {}.", case.observed));
    }
    if let Some(reason) = &case.reason {
        text.push_str(&format!(" {reason}."));
    }
    text
}

/// A stable fingerprint of (target, case): FNV-1a, 64 bits, hex.
fn fingerprint(target: &str, id: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in target.bytes().chain([0]).chain(id.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn finding_level(f: &Finding) -> &'static str {
    match (f.kind, f.severity.as_str()) {
        (FindingKind::Error, _) | (_, "must") => "error",
        _ => "warning",
    }
}

fn finding_rule(f: &Finding) -> Value {
    json!({
        "id": f.id,
        "shortDescription": { "text": f.title },
        "fullDescription": { "text": format!("{} ({})", f.title, f.requirements.join(", ")) },
        "help": { "text": format!("{} Requirements: {}.", f.remediation, f.requirements.join(", ")) },
        "defaultConfiguration": { "level": finding_level(f) },
        "properties": {
            "tags": ["security", "authentication", f.kind.as_str()],
            "requirements": f.requirements,
            "severity": f.severity,
            "kind": f.kind.as_str(),
        },
    })
}

fn finding_result(results: &Results, f: &Finding, rule_index: usize) -> Value {
    let related: Vec<Value> = f
        .cases
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let case = results.cases.iter().find(|c| &c.id == id);
            let method = case.map_or("", |c| c.method.as_str());
            let text = match case {
                Some(c) => format!("{}: {}", c.id, message(c)),
                None => id.clone(),
            };
            json!({
                "id": i,
                "physicalLocation": physical_location(case, method),
                "logicalLocations": [{
                    "name": id,
                    "fullyQualifiedName": format!("{}/{id}", results.target),
                    "kind": "function",
                }],
                "message": { "text": text },
            })
        })
        .collect();
    let first = f.cases.first().and_then(|id| results.cases.iter().find(|c| &c.id == id));
    let first_method = first.map_or("", |c| c.method.as_str());
    json!({
        "ruleId": f.id,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": finding_level(f),
        "message": {
            "text": format!(
                "{} ({} case{}). Fix: {}",
                f.title,
                f.cases.len(),
                if f.cases.len() == 1 { "" } else { "s" },
                f.remediation
            )
        },
        "locations": [{
            "physicalLocation": physical_location(first, first_method),
            "logicalLocations": [{
                "name": results.target,
                "fullyQualifiedName": results.target,
                "kind": "module",
            }],
        }],
        "relatedLocations": related,
        "partialFingerprints": {
            "authbenchFinding/v1": fingerprint(&results.target, &f.id),
        },
        "properties": {
            "kind": f.kind.as_str(),
            "severity": f.severity,
            "cases": f.cases,
        },
    })
}

/// The SARIF log of `results`.
pub fn to_value(results: &Results) -> Value {
    let mut rules: Vec<Value> = results
        .cases
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "shortDescription": { "text": c.title },
                "fullDescription": {
                    "text": format!("{} ({})", c.title, c.requirements.join(", "))
                },
                "help": {
                    "text": format!(
                        "Requirements: {}. Severity: {}.",
                        c.requirements.join(", "),
                        c.severity
                    )
                },
                "defaultConfiguration": {
                    "level": if c.severity == "should" { "warning" } else { "error" }
                },
                "properties": {
                    "tags": ["security", "authentication", c.method],
                    "requirements": c.requirements,
                    "severity": c.severity,
                },
            })
        })
        .collect();
    let case_rules = rules.len();
    rules.extend(results.findings.iter().map(finding_rule));
    let by_finding = results
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| finding_result(results, f, case_rules + i));
    let by_case = results
        .cases
        .iter()
        .enumerate()
        .filter(|_| results.findings.is_empty())
        .filter(|(_, c)| matches!(c.outcome, Outcome::Fail | Outcome::Warn | Outcome::Error))
        .map(|(index, c)| {
            json!({
                "ruleId": c.id,
                "ruleIndex": index,
                "kind": "fail",
                "level": level(c),
                "message": { "text": message(c) },
                "locations": [{
                    "physicalLocation": physical_location(Some(c), &c.method),
                    "logicalLocations": [{
                        "name": results.target,
                        "fullyQualifiedName": format!("{}/{}", results.target, c.method),
                        "kind": "module",
                    }],
                }],
                "partialFingerprints": {
                    "authbenchCase/v1": fingerprint(&results.target, &c.id),
                },
                "properties": {
                    "outcome": c.outcome.as_str(),
                    "expected": c.expected,
                    "observed": c.observed,
                    "durationMs": c.duration_ms,
                },
            })
        });
    let findings: Vec<Value> = by_finding.chain(by_case).collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": results.tool.name,
                    "version": results.tool.version,
                    "semanticVersion": results.tool.version,
                    "informationUri": "https://github.com/authbench/authbench",
                    "rules": rules,
                }
            },
            "originalUriBaseIds": {
                "AUTHBENCH_CATALOG": {
                    "uri": "https://github.com/authbench/authbench/blob/main/scenarios/conformance/",
                    "description": { "text": "The authbench conformance catalog." },
                }
            },
            "automationDetails": { "id": format!("authbench/conform/{}/", results.target) },
            "invocations": [{
                "executionSuccessful": true,
                "startTimeUtc": results.started_at,
            }],
            "results": findings,
            "properties": {
                "target": results.target,
                "summary": results.summary,
                "findings": results.findings.len(),
            },
        }],
    })
}

/// Writes `results` as SARIF 2.1.0 to `out`.
pub fn render(results: &Results, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(results))?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        assert_eq!(fingerprint("t", "jwt::a"), fingerprint("t", "jwt::a"));
        assert_ne!(fingerprint("t", "jwt::a"), fingerprint("t", "jwt::b"));
        assert_ne!(fingerprint("ta", "b"), fingerprint("t", "ab"));
    }
}
