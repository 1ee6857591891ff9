//! Markdown: for a pull-request comment or a README. The findings come
//! first, one per root cause; the cases follow, per method. Everything the
//! target sent is escaped: no raw HTML, no terminal escapes, no table breaks.

use std::io::Write;

use crate::model::{FindingKind, Outcome, Results, printable};

/// `text` safe in a Markdown table cell or paragraph: HTML and Markdown
/// metacharacters escaped, control characters written as escapes.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text).chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push(' '),
            '`' | '*' | '_' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Our own text (titles, remedies, requirements): Markdown kept, HTML and
/// table separators escaped.
fn prose(text: &str) -> String {
    printable(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('\n', " ")
}

/// An id as inline code, safe in a table cell.
fn code(id: &str) -> String {
    format!("`{}`", printable(id).replace('`', "'").replace('|', "\\|"))
}

fn finding_mark(kind: FindingKind, severity: &str) -> &'static str {
    match (kind, severity) {
        (FindingKind::Form | FindingKind::Policy, "should") => "⚠️",
        (FindingKind::Error, _) => "💥",
        _ => "❌",
    }
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

/// The threat × method table (nothing for files written before threats).
pub fn by_threat(results: &Results, out: &mut dyn Write) -> std::io::Result<()> {
    let rows = crate::threats::rows(results);
    if rows.is_empty() {
        return Ok(());
    }
    let methods = results.methods();
    writeln!(out)?;
    writeln!(out, "## By threat")?;
    writeln!(out)?;
    writeln!(
        out,
        "Each cell: ✅ every judged case held (how many), ❌/⚠️ how many of the judged cases failed/warned, 💥 cases that could not be judged, — not checked."
    )?;
    writeln!(out)?;
    writeln!(out, "| Threat | {} | Not held |", methods.join(" | "))?;
    writeln!(out, "|---|{}---|", "---|".repeat(methods.len()))?;
    for row in &rows {
        let cells: Vec<String> = row.cells.iter().map(|t| t.mark()).collect();
        let open: Vec<String> = row.open.iter().map(|c| code(c)).collect();
        writeln!(
            out,
            "| {} ({}) | {} | {} |",
            prose(&row.threat.title),
            prose(&row.threat.sources.join(", ")),
            cells.join(" | "),
            open.join(", ")
        )?;
    }
    Ok(())
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
    if !results.findings.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "## Findings ({})",
            cell(&crate::table::findings_summary(&results.findings))
        )?;
        for (i, f) in results.findings.iter().enumerate() {
            writeln!(out)?;
            writeln!(
                out,
                "{}. {} **{}** · {} — {} ({} case{})",
                i + 1,
                finding_mark(f.kind, &f.severity),
                f.kind.as_str(),
                f.severity,
                prose(&f.title),
                f.cases.len(),
                if f.cases.len() == 1 { "" } else { "s" }
            )?;
            writeln!(out, "   - Requirement: {}", prose(&f.requirements.join(", ")))?;
            writeln!(out, "   - Fix: {}", prose(&f.remediation))?;
            let ids: Vec<String> = f.cases.iter().map(|c| code(c)).collect();
            writeln!(out, "   - Cases: {}", ids.join(", "))?;
        }
    }
    let matrix = crate::matrix::rows(results);
    if !matrix.is_empty() {
        writeln!(out)?;
        writeln!(out, "## OpenAPI operations")?;
        writeln!(out)?;
        writeln!(out, "| Operation | {} | Skipped because |", crate::matrix::COLUMNS.join(" | "))?;
        writeln!(out, "|---|{}---|", "---|".repeat(crate::matrix::COLUMNS.len()))?;
        for row in &matrix {
            let cells: Vec<&str> = row.cells.iter().map(|c| crate::matrix::mark(*c)).collect();
            writeln!(
                out,
                "| {} | {} | {} |",
                cell(&row.operation),
                cells.join(" | "),
                cell(&row.skipped.join("; "))
            )?;
        }
    }
    by_threat(results, out)?;
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
            let observed = match (&c.outcome, &c.reason) {
                (Outcome::Warn | Outcome::Fail, Some(reason)) => format!("{observed} — {reason}"),
                _ => observed.to_owned(),
            };
            writeln!(
                out,
                "| {} | {} {} | {} | {} | {} |",
                mark(c.outcome),
                code(&c.id),
                prose(&c.title),
                prose(&c.requirements.join(", ")),
                cell(&c.expected),
                cell(&observed)
            )?;
        }
    }
    Ok(())
}
