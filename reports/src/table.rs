//! The terminal table: one block per method, then a summary line.

use std::io::Write;

use tabled::settings::Style;
use tabled::{Table, Tabled};

use crate::model::{Outcome, Results};

#[derive(Tabled)]
struct Row<'a> {
    #[tabled(rename = "outcome")]
    outcome: &'a str,
    #[tabled(rename = "case")]
    id: &'a str,
    #[tabled(rename = "expected")]
    expected: String,
    #[tabled(rename = "observed")]
    observed: String,
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

/// Writes the table for `results` to `out`.
pub fn render(results: &Results, out: &mut dyn Write) -> std::io::Result<()> {
    for method in results.methods() {
        let rows: Vec<Row<'_>> = results
            .cases
            .iter()
            .filter(|c| c.method == method)
            .map(|c| Row {
                outcome: c.outcome.as_str(),
                id: &c.id,
                expected: clip(&c.expected, 48),
                observed: clip(
                    match (&c.outcome, &c.reason) {
                        (Outcome::Skip | Outcome::Error, Some(reason)) => reason,
                        _ => &c.observed,
                    },
                    60,
                ),
            })
            .collect();
        writeln!(out, "{method}")?;
        writeln!(out, "{}", Table::new(rows).with(Style::sharp()))?;
    }
    let s = &results.summary;
    writeln!(
        out,
        "{}: {} cases, {} pass, {} fail, {} warn, {} skip, {} error in {:.1} s",
        results.target,
        s.total,
        s.pass,
        s.fail,
        s.warn,
        s.skip,
        s.error,
        results.duration_ms as f64 / 1000.0
    )
}
