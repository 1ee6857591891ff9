//! Self-contained HTML reports: one file, no scripts, no external assets
//! (its Content-Security-Policy forbids loading any), charts as inline SVG.

use std::fmt::Write as _;

use crate::compare::{Band, Comparison, Distributions, Point};
use crate::model::{CaseResult, Outcome, Results};

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in crate::model::printable(s).chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em;color:#1b1f24;background:#fff}
h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.25em;margin:1.6em 0 .5em}
.meta{color:#57606a;margin:0 0 1em}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #d0d7de;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.notes{color:#57606a;max-width:70em}.notes p{margin:.2em 0}
.pass{color:#1a7f37}.fail{color:#cf222e;font-weight:600}.warn{color:#9a6700}
.error{color:#8250df;font-weight:600}.skip{color:#57606a}
.charts{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0;border:1px solid #d0d7de;padding:.5em}figcaption{font-weight:600}
svg text{font:11px system-ui,sans-serif;fill:#57606a}
.legend span{display:inline-block;width:1.2em;height:.25em;margin:0 .3em .2em 1em;vertical-align:middle}
";

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    )
}

const TAIL: &str = "</body>\n</html>\n";

fn outcome_cell(o: Outcome) -> String {
    format!("<td class=\"{0}\">{0}</td>", o.as_str())
}

/// The cases that need a reader's attention (all but passes and skips), as a table.
fn cases_table(out: &mut String, cases: &[&CaseResult]) {
    out.push_str(
        "<table>\n<tr><th>case</th><th>outcome</th><th>severity</th><th>expected</th><th>observed</th><th>reason</th></tr>\n",
    );
    for c in cases {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code><br>{}</td>{}<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.id),
            escape(&c.title),
            outcome_cell(c.outcome),
            escape(&c.severity),
            escape(&c.expected),
            escape(&c.observed),
            escape(c.reason.as_deref().unwrap_or("")),
        );
    }
    out.push_str("</table>\n");
}

/// The findings, one per root cause, before anything else.
fn findings_section(out: &mut String, results: &Results) {
    if results.findings.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<h2>Findings</h2>\n<p>{}</p>\n<ol class=\"findings\">",
        escape(&crate::table::findings_summary(&results.findings))
    );
    for f in &results.findings {
        let class = match (f.kind, f.severity.as_str()) {
            (crate::model::FindingKind::Error, _) => "error",
            (_, "must") => "fail",
            _ => "warn",
        };
        let ids: Vec<String> =
            f.cases.iter().map(|c| format!("<code>{}</code>", escape(c))).collect();
        let _ = writeln!(
            out,
            "<li><p><span class=\"{class}\">{} · {}</span> <strong>{}</strong> ({} case{})</p>\
             <p>Requirement: {}. Fix: {}</p><p>Cases: {}</p></li>",
            escape(f.kind.as_str()),
            escape(&f.severity),
            escape(&f.title),
            f.cases.len(),
            if f.cases.len() == 1 { "" } else { "s" },
            escape(&f.requirements.join(", ")),
            escape(&f.remediation),
            ids.join(", ")
        );
    }
    out.push_str("</ol>\n");
}

/// The results grouped by threat: threat × method.
fn threats_table(out: &mut String, results: &Results) {
    let rows = crate::threats::rows(results);
    if rows.is_empty() {
        return;
    }
    out.push_str("<h3>By threat</h3>\n<table>\n<tr><th>threat</th>");
    for m in results.methods() {
        let _ = write!(out, "<th>{}</th>", escape(m));
    }
    out.push_str("<th>not held</th></tr>\n");
    for row in &rows {
        let _ = write!(
            out,
            "<tr><td>{}<br><small>{}</small></td>",
            escape(&row.threat.title),
            escape(&row.threat.sources.join(", "))
        );
        for t in &row.cells {
            let _ = write!(out, "<td class=\"{}\">{}</td>", t.class(), escape(&t.mark()));
        }
        let open: Vec<String> =
            row.open.iter().map(|c| format!("<code>{}</code>", escape(c))).collect();
        let _ = writeln!(out, "<td>{}</td></tr>", open.join(", "));
    }
    out.push_str("</table>\n");
}

/// The conformance section: the findings, counts per method and the cases not passed.
fn conformance_section(out: &mut String, results: &Results) {
    findings_section(out, results);
    let s = &results.summary;
    let _ = writeln!(
        out,
        "<p>{} cases: <span class=\"pass\">{} pass</span>, <span class=\"fail\">{} fail</span>, \
         <span class=\"warn\">{} warn</span>, <span class=\"error\">{} error</span>, \
         <span class=\"skip\">{} skip</span>.</p>",
        s.total, s.pass, s.fail, s.warn, s.error, s.skip
    );
    out.push_str(
        "<table>\n<tr><th>method</th><th>pass</th><th>fail</th><th>warn</th><th>error</th><th>skip</th></tr>\n",
    );
    for method in results.methods() {
        let of = |o: Outcome| {
            results.cases.iter().filter(|c| c.method == method && c.outcome == o).count()
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(method),
            of(Outcome::Pass),
            of(Outcome::Fail),
            of(Outcome::Warn),
            of(Outcome::Error),
            of(Outcome::Skip),
        );
    }
    out.push_str("</table>\n");
    let matrix = crate::matrix::rows(results);
    if !matrix.is_empty() {
        out.push_str("<h3>OpenAPI operations</h3>\n<table>\n<tr><th>operation</th>");
        for c in crate::matrix::COLUMNS {
            let _ = write!(out, "<th>{}</th>", escape(c));
        }
        out.push_str("<th>skipped because</th></tr>\n");
        for row in &matrix {
            let _ = write!(out, "<tr><td>{}</td>", escape(&row.operation));
            for cell in &row.cells {
                let class = cell.map_or("", |o| o.as_str());
                let _ = write!(out, "<td class=\"{class}\">{}</td>", crate::matrix::mark(*cell));
            }
            let _ = writeln!(out, "<td>{}</td></tr>", escape(&row.skipped.join("; ")));
        }
        out.push_str("</table>\n");
    }
    threats_table(out, results);
    let attention: Vec<&CaseResult> = results
        .cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Fail | Outcome::Warn | Outcome::Error))
        .collect();
    if attention.is_empty() {
        out.push_str("<p class=\"pass\">Every judged case passed.</p>\n");
    } else {
        out.push_str("<h3>Cases not passed</h3>\n");
        cases_table(out, &attention);
    }
    let skipped: Vec<&CaseResult> =
        results.cases.iter().filter(|c| c.outcome == Outcome::Skip).collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "<details><summary>{} skipped cases</summary>", skipped.len());
        cases_table(out, &skipped);
        out.push_str("</details>\n");
    }
}

/// The conformance results as an HTML page.
pub fn results(r: &Results, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut page = head(&format!("authbench conform: {}", r.target));
    let _ = writeln!(
        page,
        "<h1>authbench conform: {}</h1>\n<p class=\"meta\">{} {}, started {}, {} ms</p>",
        escape(&r.target),
        escape(&r.tool.name),
        escape(&r.tool.version),
        escape(&r.started_at),
        r.duration_ms
    );
    conformance_section(&mut page, r);
    page.push_str(TAIL);
    out.write_all(page.as_bytes())
}

/// The comparison as an HTML page: the table, a latency chart per
/// configuration, and the conformance results.
pub fn comparison(c: &Comparison, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let (header, rows, notes) = crate::compare::html_parts(c);
    let mut page = head("authbench compare");
    let _ = writeln!(
        page,
        "<h1>authbench compare</h1>\n<p class=\"meta\">{} {}, started {}, {:.0} s{}</p>",
        escape(&c.tool.name),
        escape(&c.tool.version),
        escape(&c.started_at),
        c.duration_secs,
        if c.quick { ", --quick" } else { "" }
    );
    page.push_str("<table>\n<tr>");
    for h in header {
        let _ = write!(page, "<th>{}</th>", escape(h));
    }
    page.push_str("</tr>\n");
    for row in &rows {
        page.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class =
                if (crate::compare::FIRST_FIGURE..crate::compare::FIRST_FIGURE + 5).contains(&i) {
                    " class=\"num\""
                } else {
                    ""
                };
            let _ = write!(page, "<td{class}>{}</td>", escape(cell));
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</table>\n<div class=\"notes\">\n");
    for n in &notes {
        let _ = writeln!(page, "<p>{}</p>", escape(n));
    }
    page.push_str("</div>\n<h2>Latency distributions</h2>\n");
    page.push_str(
        "<p class=\"legend\">Latency (log scale) by percentile in the latency run, from each request's intended send time:\
         <span style=\"background:#8c959f\"></span>baseline<span style=\"background:#0969da\"></span>authenticated; \
         the shaded band around each curve spans its rounds, lowest to highest.</p>\n<div class=\"charts\">\n",
    );
    let mut charted = 0;
    for r in &c.rows {
        if let Some(d) = &r.latency {
            let _ = writeln!(
                page,
                "<figure><figcaption>{}</figcaption>\n{}</figure>",
                escape(&r.configuration),
                chart(&r.configuration, d)
            );
            charted += 1;
        }
    }
    page.push_str("</div>\n");
    if charted == 0 {
        page.push_str("<p>No latency run was recorded.</p>\n");
    }
    if let Some(results) = &c.conformance {
        page.push_str("<h2>Conformance</h2>\n");
        conformance_section(&mut page, results);
    }
    page.push_str(TAIL);
    out.write_all(page.as_bytes())
}

const W: f64 = 360.0;
const H: f64 = 210.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 22.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 30.0;
/// The x axis runs to p99.99: 1 / (1 − q) = 10⁴.
const X_DECADES: f64 = 4.0;

/// The x position of a percentile: log scale of 1 / (1 − q), as latency
/// percentile plots draw it, so the tail gets the room it deserves.
fn x_of(percentile: f64) -> f64 {
    let q = (percentile / 100.0).clamp(0.0, 0.9999);
    let decades = (1.0 / (1.0 - q)).log10().min(X_DECADES);
    LEFT + decades / X_DECADES * (W - LEFT - RIGHT)
}

/// The y axis: whole decades of µs around the values, log scale, so a
/// median of 200 µs and a tail of 20 ms both show.
fn decades(values: impl Iterator<Item = f64>) -> (i32, i32) {
    let (lo, hi) = values
        .filter(|v| *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return (0, 1);
    }
    let low = lo.log10().floor() as i32;
    let high = (hi.log10().ceil() as i32).max(low + 1);
    (low, high)
}

/// An axis label: `10 µs`, `1 ms`, `10 s`.
fn axis_label(us: f64) -> String {
    match us {
        u if u >= 1e6 => format!("{} s", u / 1e6),
        u if u >= 1e3 => format!("{} ms", u / 1e3),
        u => format!("{u} µs"),
    }
}

fn polyline(points: &[Point], y_of: &dyn Fn(f64) -> f64, colour: &str) -> String {
    let coords: Vec<String> =
        points.iter().map(|p| format!("{:.1},{:.1}", x_of(p.percentile), y_of(p.us))).collect();
    format!(
        "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
        coords.join(" ")
    )
}

/// The spread across rounds as a shaded area: the highest round's curve
/// left to right, then the lowest's back.
fn band(points: &[Band], y_of: &dyn Fn(f64) -> f64, colour: &str) -> String {
    if points.len() < 2 {
        return String::new();
    }
    let upper = points.iter().map(|b| format!("{:.1},{:.1}", x_of(b.percentile), y_of(b.high_us)));
    let lower =
        points.iter().rev().map(|b| format!("{:.1},{:.1}", x_of(b.percentile), y_of(b.low_us)));
    format!(
        "<polygon class=\"band\" fill=\"{colour}\" fill-opacity=\"0.18\" stroke=\"none\" points=\"{}\"/>\n",
        upper.chain(lower).collect::<Vec<_>>().join(" ")
    )
}

/// One configuration's chart: latency (µs, log) by percentile (log of 1 / (1 − q)).
fn chart(label: &str, d: &Distributions) -> String {
    let (low, high) = decades(d.baseline.iter().chain(&d.method).map(|p| p.us));
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, TOP, H - BOTTOM);
    let span = f64::from(high - low);
    let y_of = |us: f64| {
        let at = (us.max(10f64.powi(low)).log10() - f64::from(low)) / span;
        y1 - at.clamp(0.0, 1.0) * (y1 - y0)
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{} latency by percentile\">\n",
        escape(label)
    );
    let _ = writeln!(
        svg,
        "<rect x=\"{x0}\" y=\"{y0}\" width=\"{}\" height=\"{}\" fill=\"#fff\" stroke=\"#d0d7de\"/>",
        x1 - x0,
        y1 - y0
    );
    for (p, name) in [(0.0, "p0"), (90.0, "p90"), (99.0, "p99"), (99.9, "p99.9"), (99.99, "p99.99")]
    {
        let x = x_of(p);
        let _ = writeln!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{y0}\" x2=\"{x:.1}\" y2=\"{y1}\" stroke=\"#eaeef2\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{name}</text>",
            y1 + 14.0
        );
    }
    for decade in low..=high {
        let v = 10f64.powi(decade);
        let y = y_of(v);
        let _ = writeln!(
            svg,
            "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{x1}\" y2=\"{y:.1}\" stroke=\"#eaeef2\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            x0 - 4.0,
            y + 4.0,
            escape(&axis_label(v))
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">percentile at {:.0} req/s</text>",
        (x0 + x1) / 2.0,
        H - 2.0,
        d.rate
    );
    svg.push_str(&band(&d.baseline_band, &y_of, "#8c959f"));
    svg.push_str(&band(&d.method_band, &y_of, "#0969da"));
    svg.push_str(&polyline(&d.baseline, &y_of, "#8c959f"));
    svg.push('\n');
    svg.push_str(&polyline(&d.method, &y_of, "#0969da"));
    svg.push_str("\n</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn percentiles_spread_by_decade() {
        assert!((x_of(0.0) - LEFT).abs() < 1e-9);
        let span = W - LEFT - RIGHT;
        assert!((x_of(90.0) - (LEFT + span / 4.0)).abs() < 1e-9);
        assert!((x_of(99.99) - (W - RIGHT)).abs() < 1e-6);
    }

    #[test]
    fn the_y_axis_spans_whole_decades() {
        assert_eq!(decades([180.0, 730.0, 21_000.0].into_iter()), (2, 5));
        assert_eq!(decades([100.0].into_iter()), (2, 3));
        assert_eq!(decades(std::iter::empty()), (0, 1));
        assert_eq!(axis_label(10_000.0), "10 ms");
        assert_eq!(axis_label(100.0), "100 µs");
    }
}
