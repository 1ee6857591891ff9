//! Markdown: for a pull-request comment or a README.

use std::io::Write;

use crate::model::{Outcome, Results};

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn mark(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "✅ pass",
        Outcome::Fail => "❌ fail",
        Outcome::Warn => "⚠️ warn",
        Outcome::Skip => "⏭️ skip",
        Outcome::Error => "💥 error",
    }
}

/// Writes `results` as Markdown to `out`.
pub fn render(results: &Results, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &results.summary;
    writeln!(out, "# authbench conformance: {}", cell(&results.target))?;
    writeln!(out)?;
    writeln!(
        out,
        "{} cases: **{} pass**, **{} fail**, {} warn, {} skip, {} error ({} ms, {}).",
        s.total, s.pass, s.fail, s.warn, s.skip, s.error, results.duration_ms, results.started_at
    )?;
    for method in results.methods() {
        writeln!(out)?;
        writeln!(out, "## {method}")?;
        writeln!(out)?;
        writeln!(out, "| Outcome | Case | Requirement | Expected | Observed |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for c in results.cases.iter().filter(|c| c.method == method) {
            let observed = match (&c.outcome, &c.reason) {
                (Outcome::Skip | Outcome::Error, Some(reason)) => reason.as_str(),
                _ => c.observed.as_str(),
            };
            writeln!(
                out,
                "| {} | `{}` {} | {} | {} | {} |",
                mark(c.outcome),
                c.id,
                cell(&c.title),
                cell(&c.requirements.join(", ")),
                cell(&c.expected),
                cell(observed)
            )?;
        }
    }
    Ok(())
}
