//! Results grouped by threat, as OAuch groups its tests: one row per threat
//! the run's cases counter, one column per method, each cell saying whether
//! every judged case of that threat held there — so a reader sees which
//! attacks the target resists, not only which cases passed.

use crate::model::{Outcome, Results, Threat};

/// What the cases of one threat on one method came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Judged cases (pass, warn, fail).
    pub judged: usize,
    /// Of them, failed.
    pub failed: usize,
    /// Of them, warned.
    pub warned: usize,
    /// Cases that could not be judged.
    pub errors: usize,
}

impl Tally {
    /// The cell's text: `—` when nothing was judged, else the worst state
    /// and how many of the judged cases it concerns.
    pub fn mark(&self) -> String {
        match *self {
            Tally { failed: f, judged, .. } if f > 0 => format!("❌ {f}/{judged}"),
            Tally { warned: w, judged, .. } if w > 0 => format!("⚠️ {w}/{judged}"),
            Tally { errors: e, .. } if e > 0 => format!("💥 {e}"),
            Tally { judged: 0, .. } => "—".to_owned(),
            Tally { judged, .. } => format!("✅ {judged}"),
        }
    }

    /// The CSS class of the cell in HTML.
    pub fn class(&self) -> &'static str {
        match *self {
            Tally { failed: f, .. } if f > 0 => "fail",
            Tally { warned: w, .. } if w > 0 => "warn",
            Tally { errors: e, .. } if e > 0 => "error",
            Tally { judged: 0, .. } => "",
            _ => "pass",
        }
    }
}

/// One threat's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row<'a> {
    /// The threat.
    pub threat: &'a Threat,
    /// One tally per method of [`Results::methods`].
    pub cells: Vec<Tally>,
    /// The cases that failed or warned, in catalog order.
    pub open: Vec<&'a str>,
}

/// The rows, in the order of [`Results::threats`]; empty for files written
/// before threats existed.
pub fn rows(results: &Results) -> Vec<Row<'_>> {
    let methods = results.methods();
    results
        .threats
        .iter()
        .map(|threat| {
            let of_threat = || results.cases.iter().filter(|c| c.threats.contains(&threat.id));
            let cells = methods
                .iter()
                .map(|m| {
                    let mut t = Tally::default();
                    for c in of_threat().filter(|c| c.method == *m) {
                        match c.outcome {
                            Outcome::Pass => t.judged += 1,
                            Outcome::Fail => {
                                t.judged += 1;
                                t.failed += 1;
                            }
                            Outcome::Warn => {
                                t.judged += 1;
                                t.warned += 1;
                            }
                            Outcome::Error => t.errors += 1,
                            Outcome::Skip => {}
                        }
                    }
                    t
                })
                .collect();
            let open = of_threat()
                .filter(|c| matches!(c.outcome, Outcome::Fail | Outcome::Warn))
                .map(|c| c.id.as_str())
                .collect();
            Row { threat, cells, open }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threat_is_open_where_one_of_its_cases_failed() {
        let json = serde_json::json!({
            "schema": "authbench.results/1",
            "tool": {"name": "authbench", "version": "0"},
            "target": "t", "started_at": "", "duration_ms": 0,
            "summary": {"total": 4, "pass": 2, "fail": 1, "warn": 0, "skip": 1, "error": 0},
            "cases": [
                {"id": "jwt::alg-none", "method": "jwt", "title": "", "requirements": [], "severity": "must",
                 "outcome": "fail", "expected": "", "observed": "", "reason": null, "duration_ms": 0,
                 "threats": ["token-forgery"]},
                {"id": "jwt::signature-flipped", "method": "jwt", "title": "", "requirements": [], "severity": "must",
                 "outcome": "pass", "expected": "", "observed": "", "reason": null, "duration_ms": 0,
                 "threats": ["token-forgery"]},
                {"id": "layered::token-alg-none", "method": "layered", "title": "", "requirements": [], "severity": "must",
                 "outcome": "pass", "expected": "", "observed": "", "reason": null, "duration_ms": 0,
                 "threats": ["token-forgery"]},
                {"id": "jwt::exp-missing", "method": "jwt", "title": "", "requirements": [], "severity": "must",
                 "outcome": "skip", "expected": "", "observed": "", "reason": null, "duration_ms": 0,
                 "threats": ["stale-credential"]}
            ],
            "threats": [
                {"id": "token-forgery", "title": "forged", "sources": []},
                {"id": "stale-credential", "title": "stale", "sources": []}
            ]
        });
        let results: Results = serde_json::from_value(json).unwrap();
        let rows = rows(&results);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].cells.iter().map(Tally::mark).collect::<Vec<_>>(), ["❌ 1/2", "✅ 1"]);
        assert_eq!(rows[0].open, ["jwt::alg-none"]);
        // Only skipped: nothing known about the threat, never a pass.
        assert_eq!(rows[1].cells.iter().map(Tally::mark).collect::<Vec<_>>(), ["—", "—"]);
    }
}
