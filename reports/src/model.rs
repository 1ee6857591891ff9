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
        }
    }

    /// Whether the run failed: a failure or an error (or, `strict`, a warning).
    pub fn failed(&self, strict: bool) -> bool {
        self.summary.fail > 0 || self.summary.error > 0 || (strict && self.summary.warn > 0)
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
