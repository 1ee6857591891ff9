//! The authbench results model (`authbench.results/1`, DESIGN.md) and its
//! renderers: terminal table, JSON, JUnit, Markdown and SARIF 2.1.0. Each renderer writes to
//! any `impl Write`, so every format is testable without a terminal.

pub mod junit;
pub mod markdown;
pub mod model;
pub mod sarif;
pub mod table;

pub use model::{CaseResult, Measurement, Outcome, Results, Summary, Tool};

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
}

impl Format {
    /// Every format, in the order `--out` writes them.
    pub const ALL: [Format; 5] =
        [Format::Table, Format::Json, Format::Junit, Format::Markdown, Format::Sarif];

    /// The file name `--out DIR` writes this format to.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Table => "results.txt",
            Format::Json => "results.json",
            Format::Junit => "junit.xml",
            Format::Markdown => "results.md",
            Format::Sarif => "results.sarif",
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
    }
}
