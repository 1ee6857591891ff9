//! The terminal report: the findings first (root causes, each with its cases,
//! requirement and remedy), then one block per method, then a summary line.
//! [`render`] lists every case; [`render_brief`] (the terminal's default)
//! lists per method a count and only the cases that did not pass.

use std::io::Write;

use tabled::settings::Style;
use tabled::{Table, Tabled};

use crate::model::{Finding, FindingKind, Outcome, Results, printable};

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

/// Writes the findings, then every case, to `out`.
pub fn render(results: &Results, out: &mut dyn Write) -> std::io::Result<()> {
    render_with(results, true, out)
}

/// Writes the findings, then per method a count and the cases that did not pass.
pub fn render_brief(results: &Results, out: &mut dyn Write) -> std::io::Result<()> {
    render_with(results, false, out)
}

/// A line per finding kind count: `2 findings: 1 security (must), 1 form (should)`.
pub fn findings_summary(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "no findings".to_owned();
    }
    let mut parts: Vec<String> = Vec::new();
    for kind in [
        FindingKind::Security,
        FindingKind::Function,
        FindingKind::Policy,
        FindingKind::Error,
        FindingKind::Form,
        FindingKind::Hardening,
    ] {
        let n = findings.iter().filter(|f| f.kind == kind).count();
        if n > 0 {
            parts.push(format!("{n} {}", kind.as_str()));
        }
    }
    format!(
        "{} finding{}: {}",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// The findings block: one paragraph per root cause.
pub fn write_findings(results: &Results, out: &mut dyn Write) -> std::io::Result<()> {
    if results.findings.is_empty() {
        return Ok(());
    }
    writeln!(out, "Findings — {}", findings_summary(&results.findings))?;
    for (i, f) in results.findings.iter().enumerate() {
        let n = f.cases.len();
        writeln!(
            out,
            "  {}. [{} · {}] {} ({} case{})",
            i + 1,
            f.kind.as_str(),
            f.severity,
            printable(&f.title),
            n,
            if n == 1 { "" } else { "s" }
        )?;
        writeln!(out, "     requirement: {}", f.requirements.join(", "))?;
        writeln!(out, "     fix: {}", f.remediation)?;
        let shown: Vec<&str> = f.cases.iter().take(12).map(String::as_str).collect();
        let more =
            if n > shown.len() { format!(", … {} more", n - shown.len()) } else { String::new() };
        writeln!(out, "     cases: {}{more}", shown.join(", "))?;
    }
    writeln!(out)
}

/// The OpenAPI matrix: the worst outcome per operation and kind of check.
fn write_matrix(results: &Results, out: &mut dyn Write) -> std::io::Result<()> {
    let rows = crate::matrix::rows(results);
    if rows.is_empty() {
        return Ok(());
    }
    let mut builder = tabled::builder::Builder::default();
    let mut header = vec!["operation".to_owned()];
    header.extend(crate::matrix::COLUMNS.iter().map(|c| (*c).to_owned()));
    builder.push_record(header);
    for row in &rows {
        let mut record = vec![clip(&printable(&row.operation), 40)];
        record.extend(row.cells.iter().map(|c| crate::matrix::mark(*c).to_owned()));
        builder.push_record(record);
    }
    writeln!(
        out,
        "OpenAPI operations (the worst outcome of each kind of check; the Markdown and HTML reports say why checks were skipped):"
    )?;
    writeln!(out, "{}", builder.build().with(Style::sharp()))
}

fn render_with(results: &Results, all: bool, out: &mut dyn Write) -> std::io::Result<()> {
    write_findings(results, out)?;
    write_matrix(results, out)?;
    for method in results.methods() {
        let cases: Vec<_> = results.cases.iter().filter(|c| c.method == method).collect();
        let rows: Vec<Row<'_>> = cases
            .iter()
            .filter(|c| all || !matches!(c.outcome, Outcome::Pass | Outcome::Skip))
            .map(|c| Row {
                outcome: c.outcome.as_str(),
                id: &c.id,
                expected: clip(&printable(&c.expected), 48),
                observed: clip(
                    &printable(&match (&c.outcome, &c.reason) {
                        (Outcome::Pass, _) | (_, None) => c.observed.clone(),
                        (Outcome::Skip | Outcome::Error, Some(reason)) => reason.clone(),
                        (_, Some(reason)) => format!("{} — {reason}", c.observed),
                    }),
                    60,
                ),
            })
            .collect();
        let counts = crate::model::Summary::of(cases.iter().map(|c| &c.outcome));
        writeln!(
            out,
            "{method}: {} pass, {} fail, {} warn, {} skip, {} error",
            counts.pass, counts.fail, counts.warn, counts.skip, counts.error
        )?;
        if !rows.is_empty() {
            writeln!(out, "{}", Table::new(rows).with(Style::sharp()))?;
        }
    }
    let s = &results.summary;
    writeln!(
        out,
        "{}: {} cases, {} pass, {} fail, {} warn, {} skip, {} error in {:.1} s; {}",
        results.target,
        s.total,
        s.pass,
        s.fail,
        s.warn,
        s.skip,
        s.error,
        results.duration_ms as f64 / 1000.0,
        findings_summary(&results.findings)
    )
}
