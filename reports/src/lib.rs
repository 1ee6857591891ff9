//! The authbench results model (`authbench.results/1`, DESIGN.md) and its
//! renderers: terminal table, JSON, JUnit, Markdown, SARIF 2.1.0 and HTML; the
//! comparison model (`authbench.compare/1`) and its renderers; and the
//! differences from a baseline run. Each renderer writes to any `impl Write`,
//! so every format is testable without a terminal.

pub mod compare;
pub mod diff;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod matrix;
pub mod model;
pub mod sarif;
pub mod stats;
pub mod table;
pub mod threats;

pub use model::{
    CaseResult, Finding, FindingKind, Measurement, OperationRef, Outcome, Parts, Results, Summary,
    Threat, Tool, printable,
};

/// An output format of `conform` and `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The terminal table.
    Table,
    /// The results JSON.
    Json,
    /// JUnit XML.
    Junit,
    /// Markdown.
    Markdown,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// A self-contained HTML page.
    Html,
}

impl Format {
    /// Every format, in the order `--out` writes them.
    pub const ALL: [Format; 6] =
        [Format::Table, Format::Json, Format::Junit, Format::Markdown, Format::Sarif, Format::Html];

    /// The file name `--out DIR` writes this format to.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Table => "results.txt",
            Format::Json => "results.json",
            Format::Junit => "junit.xml",
            Format::Markdown => "results.md",
            Format::Sarif => "results.sarif",
            Format::Html => "report.html",
        }
    }

    /// The file name a comparison in this format is written to.
    pub fn comparison_file_name(self) -> &'static str {
        match self {
            Format::Table => "compare.txt",
            Format::Json => "compare.json",
            Format::Junit => "junit.xml",
            Format::Markdown => "compare.md",
            Format::Sarif => "results.sarif",
            Format::Html => "compare.html",
        }
    }
}

/// Renders `results` in `format` to `out`.
pub fn render(
    results: &Results,
    format: Format,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Table => table::render(results, out),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, results)?;
            writeln!(out)
        }
        Format::Junit => junit::render(results, out),
        Format::Markdown => markdown::render(results, out),
        Format::Sarif => sarif::render(results, out),
        Format::Html => html::results(results, out),
    }
}

/// Renders a comparison in `format` to `out`. JUnit and SARIF carry its
/// conformance results; a comparison saved without them has neither.
pub fn render_comparison(
    comparison: &compare::Comparison,
    format: Format,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Table => out.write_all(compare::table(comparison).as_bytes()),
        Format::Markdown => out.write_all(compare::markdown(comparison).as_bytes()),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, comparison)?;
            writeln!(out)
        }
        Format::Html => html::comparison(comparison, out),
        Format::Junit | Format::Sarif => match &comparison.conformance {
            Some(results) => render(results, format, out),
            None => Err(std::io::Error::other(
                "this comparison holds no conformance results to render as JUnit or SARIF",
            )),
        },
    }
}
