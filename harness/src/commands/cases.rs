//! `authbench cases`: list the catalog.

use std::io::Write;

use serde::Serialize;
use tabled::settings::Style;

use crate::catalog::{load_catalog, parse_methods, select};
use crate::cli::{CasesArgs, EXIT_OK, ListFormat};

#[derive(Serialize, tabled::Tabled)]
struct Row {
    id: String,
    severity: String,
    title: String,
    requirements: String,
    /// `policy <name>` for a case judged against a declared policy,
    /// `hardening` for one whose failure is advice, else empty.
    judged: String,
    flaws: String,
    /// The threats the case counters (`threats.toml`); JSON only, the table is wide enough.
    #[tabled(skip)]
    threats: Vec<String>,
}

/// Runs `cases`.
pub fn run(args: CasesArgs) -> anyhow::Result<u8> {
    let catalog = load_catalog(args.catalog.as_deref())?;
    let methods = parse_methods(args.methods.as_deref())?;
    let cases = select(catalog, methods.as_deref(), None)?;
    let rows: Vec<Row> = cases
        .into_iter()
        .map(|c| Row {
            id: c.id,
            severity: c.severity.as_str().to_owned(),
            title: c.title,
            requirements: c.requirements.join(", "),
            judged: match (&c.policy, c.hardening) {
                (Some(policy), _) => format!("policy {policy}"),
                (None, true) => "hardening".to_owned(),
                (None, false) => String::new(),
            },
            flaws: c.flaws.join(", "),
            threats: c.threats.into_iter().map(|t| t.id).collect(),
        })
        .collect();
    let mut out = std::io::stdout().lock();
    match args.format {
        ListFormat::Table => {
            let count = rows.len();
            writeln!(out, "{}", tabled::Table::new(rows).with(Style::sharp()))?;
            writeln!(out, "{count} cases")?;
        }
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &rows)?;
            writeln!(out)?;
        }
    }
    Ok(EXIT_OK)
}
