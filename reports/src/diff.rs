//! What changed since a baseline run, for `authbench report --baseline`:
//! conformance cases that now fail, and overhead that grew past a threshold.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::compare::Comparison;
use crate::model::{Outcome, Results};

/// Growth below these is noise, whatever the relative change: server CPU per
/// request, µs; added median latency, µs.
pub const CPU_FLOOR_US: f64 = 5.0;
/// See [`CPU_FLOOR_US`].
pub const P50_FLOOR_US: f64 = 250.0;

/// A case whose outcome changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The case.
    pub id: String,
    /// Its outcome in the baseline, if it ran there.
    pub before: Option<Outcome>,
    /// Its outcome now.
    pub after: Outcome,
}

/// An overhead figure that grew past the threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    /// The configuration.
    pub configuration: String,
    /// Which figure.
    pub metric: &'static str,
    /// Its value in the baseline.
    pub before: f64,
    /// Its value now.
    pub after: f64,
}

/// The differences between a baseline and a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diff {
    /// Cases failing (or erroring) now that did not before.
    pub new_failures: Vec<Changed>,
    /// Cases failing before that pass now.
    pub fixed: Vec<Changed>,
    /// Overhead regressions.
    pub regressions: Vec<Regression>,
    /// Configurations in the baseline missing now.
    pub missing: Vec<String>,
}

fn failing(o: Outcome) -> bool {
    matches!(o, Outcome::Fail | Outcome::Error)
}

/// Conformance differences.
pub fn results(baseline: &Results, current: &Results) -> Diff {
    let before: HashMap<&str, Outcome> =
        baseline.cases.iter().map(|c| (c.id.as_str(), c.outcome)).collect();
    let mut diff = Diff::default();
    for c in &current.cases {
        let was = before.get(c.id.as_str()).copied();
        let changed = Changed { id: c.id.clone(), before: was, after: c.outcome };
        if failing(c.outcome) && !was.is_some_and(failing) {
            diff.new_failures.push(changed);
        } else if c.outcome == Outcome::Pass && was.is_some_and(failing) {
            diff.fixed.push(changed);
        }
    }
    diff
}

/// Conformance and overhead differences; `threshold` is the relative growth
/// (0.25: 25%) past which an overhead figure regressed.
pub fn comparison(baseline: &Comparison, current: &Comparison, threshold: f64) -> Diff {
    let mut diff = match (&baseline.conformance, &current.conformance) {
        (Some(b), Some(c)) => results(b, c),
        _ => Diff::default(),
    };
    for before in &baseline.rows {
        let Some(after) = current.rows.iter().find(|r| r.configuration == before.configuration)
        else {
            diff.missing.push(before.configuration.clone());
            continue;
        };
        let mut regressed = |metric: &'static str, b: f64, a: f64| {
            diff.regressions.push(Regression {
                configuration: before.configuration.clone(),
                metric,
                before: b,
                after: a,
            });
        };
        // Without the full results, a drop in passed cases is the signal.
        if baseline.conformance.is_none() || current.conformance.is_none() {
            let (b, a) = (before.conformance.passed, after.conformance.passed);
            if a < b {
                regressed("conformance passed", b as f64, a as f64);
            }
        }
        // Two runs' figures differ by chance up to about the sum of their
        // intervals' half-widths: a change within that is not a regression.
        let spread = |b: Option<&crate::stats::Interval>, a: Option<&crate::stats::Interval>| {
            b.map_or(0.0, |i| i.half_width()) + a.map_or(0.0, |i| i.half_width())
        };
        let pairs = [
            (
                "added CPU µs/req",
                before.added_cpu_us_per_request,
                after.added_cpu_us_per_request,
                CPU_FLOOR_US.max(spread(
                    before.added_cpu_interval.as_ref(),
                    after.added_cpu_interval.as_ref(),
                )),
            ),
            (
                "added p50 µs",
                before.added_p50_us,
                after.added_p50_us,
                P50_FLOOR_US.max(spread(
                    before.added_p50_interval.as_ref(),
                    after.added_p50_interval.as_ref(),
                )),
            ),
        ];
        // Costs regress by growing, past the threshold and the noise floor.
        for (metric, b, a, floor) in pairs {
            if let (Some(b), Some(a)) = (b, a)
                && a - b > (threshold * b.abs()).max(floor)
            {
                regressed(metric, b, a);
            }
        }
        // Throughput regresses by falling.
        let throughput_spread =
            spread(before.throughput_interval.as_ref(), after.throughput_interval.as_ref());
        if let (Some(b), Some(a)) = (before.throughput_ratio, after.throughput_ratio)
            && b - a > (threshold * b).max(throughput_spread)
        {
            regressed("throughput ratio", b, a);
        }
    }
    diff
}

impl Diff {
    /// Whether CI should fail: a new failure, a regression or a missing configuration.
    pub fn regressed(&self) -> bool {
        !self.new_failures.is_empty() || !self.regressions.is_empty() || !self.missing.is_empty()
    }

    /// A summary for people, one line per change.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let name = |o: Option<Outcome>| o.map_or("absent", Outcome::as_str);
        for c in &self.new_failures {
            let _ =
                writeln!(out, "new failure: {} ({} → {})", c.id, name(c.before), c.after.as_str());
        }
        for r in &self.regressions {
            let _ = writeln!(
                out,
                "regression: {} {}: {:.1} → {:.1}",
                r.configuration, r.metric, r.before, r.after
            );
        }
        for m in &self.missing {
            let _ = writeln!(out, "missing: {m} was measured in the baseline, not in this run");
        }
        for c in &self.fixed {
            let _ = writeln!(out, "fixed: {} ({} → pass)", c.id, name(c.before));
        }
        if out.is_empty() {
            out.push_str("no change past the thresholds since the baseline\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CaseResult;

    fn case(id: &str, outcome: Outcome) -> CaseResult {
        CaseResult {
            id: id.to_owned(),
            method: "jwt".to_owned(),
            title: String::new(),
            requirements: Vec::new(),
            severity: "must".to_owned(),
            outcome,
            expected: String::new(),
            observed: String::new(),
            reason: None,
            duration_ms: 1,
            measurement: None,
            parts: None,
            findings: Vec::new(),
            operation: None,
            threats: Vec::new(),
        }
    }

    fn run(cases: Vec<CaseResult>) -> Results {
        Results::new("t", String::new(), 0, cases)
    }

    #[test]
    fn a_case_that_starts_failing_is_a_new_failure() {
        let before = run(vec![case("a", Outcome::Pass), case("b", Outcome::Fail)]);
        let after = run(vec![
            case("a", Outcome::Fail),
            case("b", Outcome::Pass),
            case("c", Outcome::Error),
        ]);
        let d = results(&before, &after);
        let ids: Vec<&str> = d.new_failures.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(d.fixed.len(), 1);
        assert!(d.regressed());
        assert!(d.text().contains("new failure: c (absent → error)"));
    }

    #[test]
    fn still_failing_is_not_new() {
        let before = run(vec![case("a", Outcome::Fail)]);
        let d = results(&before, &before.clone());
        assert!(!d.regressed(), "{d:?}");
        assert!(d.text().contains("no change"));
    }
}
