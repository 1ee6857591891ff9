//! The results of a run, as serialized in `authbench.results/1`.

use serde::{Deserialize, Serialize};

/// The schema identifier written in every results file.
pub const SCHEMA: &str = "authbench.results/1";

/// The verdict on one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The target behaved as required.
    Pass,
    /// A `must` did not hold.
    Fail,
    /// A `should` did not hold, or the answer was tolerated but not exact.
    Warn,
    /// Not applicable to this target; the reason says why.
    Skip,
    /// No answer could be judged; never counted as a pass.
    Error,
}

impl Outcome {
    /// The outcome as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Warn => "warn",
            Outcome::Skip => "skip",
            Outcome::Error => "error",
        }
    }
}

/// The tool that produced the results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// `authbench`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// Counts by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// All cases.
    pub total: usize,
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Warnings.
    pub warn: usize,
    /// Skipped.
    pub skip: usize,
    /// Errors.
    pub error: usize,
}

impl Summary {
    /// Counts `outcomes`.
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Self {
        let mut s = Summary::default();
        for o in outcomes {
            s.total += 1;
            match o {
                Outcome::Pass => s.pass += 1,
                Outcome::Fail => s.fail += 1,
                Outcome::Warn => s.warn += 1,
                Outcome::Skip => s.skip += 1,
                Outcome::Error => s.error += 1,
            }
        }
        s
    }
}

/// One case's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseResult {
    /// `<method>::<name>`.
    pub id: String,
    /// The method.
    pub method: String,
    /// What the case checks.
    pub title: String,
    /// Requirements cited.
    pub requirements: Vec<String>,
    /// `must` or `should`.
    pub severity: String,
    /// The verdict.
    pub outcome: Outcome,
    /// What a conforming target answers.
    pub expected: String,
    /// What this target answered (secrets redacted).
    pub observed: String,
    /// Why a case was skipped or errored, or a note on the verdict.
    pub reason: Option<String>,
    /// Time spent on the case.
    pub duration_ms: u64,
    /// A figure the case measured (revocation latency, replay window), for
    /// `compare` and for trends; absent when the case measures nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement: Option<Measurement>,
    /// The verdict in two parts, where both apply: what the target did with
    /// the credential, apart from how it answered (DESIGN.md, "Judging
    /// principles"). Absent for cases that judge one thing only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<Parts>,
    /// The ids of the findings (in [`Results::findings`]) this case belongs to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
    /// The OpenAPI operation the case checks (`openapi` cases only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<OperationRef>,
    /// The ids of the threats (in [`Results::threats`]) the case counters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threats: Vec<String>,
}

/// A threat the cases counter, as `threats.toml` defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threat {
    /// Kebab-case: `token-forgery`.
    pub id: String,
    /// What an attacker achieves when the cases naming it fail.
    pub title: String,
    /// Threat-model sections that describe it (RFC 6819, RFC 9700, OWASP).
    #[serde(default)]
    pub sources: Vec<String>,
}

/// An operation of an OpenAPI document, as a result names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationRef {
    /// `operationId`, else `METHOD /path`.
    pub id: String,
    /// The HTTP method, upper case.
    pub method: String,
    /// The path template.
    pub path: String,
    /// The document (a path as given, or a URL).
    pub document: String,
    /// The operation's line in the document.
    pub line: usize,
}

/// A verdict in two parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parts {
    /// Was a bad credential served, or a good one refused? `pass` when the
    /// target did what the requirement says, `fail`/`warn` when not, `error`
    /// when nothing could be told.
    pub outcome: Outcome,
    /// How it answered: status, challenge, error code, headers.
    pub form: Outcome,
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    /// A bad credential was served (or a security property did not hold).
    Security,
    /// A valid credential was refused: the method does not work as specified.
    Function,
    /// The answer deviates in form (status, challenge, error code, headers)
    /// while the outcome held.
    Form,
    /// A declared policy (throttling, lifetimes, identity mapping) did not hold.
    Policy,
    /// Something the RFCs allow and best practice advises against was served
    /// (a key in the query string, a token issued in the future).
    Hardening,
    /// Cases that could not be judged, for one shared reason.
    Error,
}

impl FindingKind {
    /// The kind as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Security => "security",
            FindingKind::Function => "function",
            FindingKind::Form => "form",
            FindingKind::Policy => "policy",
            FindingKind::Hardening => "hardening",
            FindingKind::Error => "error",
        }
    }
}

/// One root cause, with every case it explains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id: `security:jwt::exp-missing`, `form:no-challenge`.
    pub id: String,
    /// What it is about.
    pub kind: FindingKind,
    /// What was observed, in a sentence.
    pub title: String,
    /// The requirements it breaks.
    pub requirements: Vec<String>,
    /// `must` or `should` (see [`Finding::fails_run`]).
    pub severity: String,
    /// The cases it explains, in catalog order.
    pub cases: Vec<String>,
    /// What to change, in a sentence or two.
    pub remediation: String,
}

impl Finding {
    /// Whether this finding fails the run: a bad credential served or a
    /// case that could not be judged always does; a form, function or
    /// policy finding when its requirement is a `must`; a hardening finding
    /// never; any of them under `strict`.
    pub fn fails_run(&self, strict: bool) -> bool {
        strict
            || matches!(self.kind, FindingKind::Security | FindingKind::Error)
            || (self.severity == "must" && self.kind != FindingKind::Hardening)
    }
}

/// A measured figure: `revocation_latency_ms`, `replay_window_s`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measurement {
    /// What was measured, with its unit as the suffix.
    pub name: String,
    /// The value, in the unit the name ends with.
    pub value: u64,
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Results {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The tool.
    pub tool: Tool,
    /// The target's name.
    pub target: String,
    /// RFC 3339 UTC start time.
    pub started_at: String,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// Counts by outcome.
    pub summary: Summary,
    /// Every case, in catalog order.
    pub cases: Vec<CaseResult>,
    /// Root causes, most serious first; every report shows them before the
    /// cases. Absent from files written before findings existed.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// The threats the run's cases name, in catalog order. Absent from files
    /// written before threats existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threats: Vec<Threat>,
}

impl Results {
    /// Results for `cases`, with the summary computed.
    pub fn new(target: &str, started_at: String, duration_ms: u64, cases: Vec<CaseResult>) -> Self {
        Results {
            schema: SCHEMA.to_owned(),
            tool: Tool {
                name: "authbench".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            target: target.to_owned(),
            started_at,
            duration_ms,
            summary: Summary::of(cases.iter().map(|c| &c.outcome)),
            cases,
            findings: Vec::new(),
            threats: Vec::new(),
        }
    }

    /// These results with the definitions of the threats their cases name.
    pub fn with_threats(mut self, threats: Vec<Threat>) -> Self {
        self.threats = threats;
        self
    }

    /// These results with `findings`.
    pub fn with_findings(mut self, findings: Vec<Finding>) -> Self {
        self.findings = findings;
        self
    }

    /// Whether the run failed: a case that could not be judged, or a finding
    /// that fails the run (a `must`, or any under `strict`). Files written
    /// before findings existed are judged by their case outcomes: a failure
    /// or an error (or, `strict`, a warning).
    pub fn failed(&self, strict: bool) -> bool {
        if self.summary.error > 0 {
            return true;
        }
        if self.findings.is_empty() {
            return self.summary.fail > 0 || (strict && self.summary.warn > 0);
        }
        self.findings.iter().any(|f| f.fails_run(strict))
    }

    /// The findings of `kind`.
    pub fn findings_of(&self, kind: FindingKind) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.kind == kind)
    }

    /// The methods present, in first-seen order.
    pub fn methods(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.cases {
            if !out.contains(&c.method.as_str()) {
                out.push(&c.method);
            }
        }
        out
    }
}

/// `text` with every control character (C0 but tab and newline, DEL, C1)
/// written as an escape (`\\x1b`): what a target sent can neither move a
/// terminal's cursor nor hide text in a report.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' | '\n' => out.push(c),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\x1b[2Jb\u{7f}\u{9b}c\td"), "a\\x1b[2Jb\\x7f\\x9bc\td");
    }

    #[test]
    fn old_results_without_findings_fail_on_outcomes() {
        let mut r = Results::new("t", String::new(), 0, Vec::new());
        assert!(!r.failed(true));
        r.summary.warn = 1;
        assert!(!r.failed(false) && r.failed(true));
        r.summary.fail = 1;
        assert!(r.failed(false));
    }

    #[test]
    fn findings_fail_the_run_by_their_severity() {
        let finding = |kind, severity: &str| Finding {
            id: "x".to_owned(),
            kind,
            title: String::new(),
            requirements: Vec::new(),
            severity: severity.to_owned(),
            cases: Vec::new(),
            remediation: String::new(),
        };
        let mut r = Results::new("t", String::new(), 0, Vec::new());
        r.summary.warn = 3;
        r.findings = vec![finding(FindingKind::Form, "should")];
        assert!(!r.failed(false), "a should form finding passes without --strict");
        assert!(r.failed(true));
        r.findings.push(finding(FindingKind::Form, "must"));
        assert!(r.failed(false), "a must form finding fails the run");
        r.findings = vec![finding(FindingKind::Security, "must")];
        assert!(r.failed(false));
    }
}
