//! `authbench report`: re-renders saved results (a `conform` results.json or
//! a `compare` compare.json, told apart by their `schema`) and, with
//! `--baseline`, prints what changed and fails on a regression.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use authbench_reports::compare::Comparison;
use authbench_reports::{Format, Results, diff};

use crate::cli::{EXIT_FAILED, EXIT_OK, ReportArgs};

/// A saved run.
#[derive(Debug)]
pub enum Saved {
    /// `authbench.results/1`.
    Results(Box<Results>),
    /// `authbench.compare/1`.
    Comparison(Box<Comparison>),
}

impl Saved {
    fn kind(&self) -> &'static str {
        match self {
            Saved::Results(_) => "conformance results (authbench.results/1)",
            Saved::Comparison(_) => "a comparison (authbench.compare/1)",
        }
    }
}

/// Reads `path`, naming the flag it came from in every error.
pub fn load(path: &Path, flag: &str) -> anyhow::Result<Saved> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{flag} {}: cannot read the file", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{flag} {}: not JSON", path.display()))?;
    let schema = value.get("schema").and_then(|s| s.as_str()).unwrap_or_default().to_owned();
    let parsed = match schema.as_str() {
        authbench_reports::model::SCHEMA => {
            serde_json::from_value(value).map(|r| Saved::Results(Box::new(r)))
        }
        authbench_reports::compare::SCHEMA => {
            serde_json::from_value(value).map(|c| Saved::Comparison(Box::new(c)))
        }
        "" => bail!(
            "{flag} {}: no `schema` field; expected results.json from `conform` or compare.json from `compare`",
            path.display()
        ),
        other => bail!(
            "{flag} {}: schema `{other}` is not one `report` reads ({}, {} or {})",
            path.display(),
            authbench_reports::model::SCHEMA,
            authbench_reports::compare::SCHEMA,
            crate::commands::worker::merge::SCHEMA
        ),
    };
    parsed.with_context(|| format!("{flag} {}: not a valid {schema} file", path.display()))
}

fn render(saved: &Saved, format: Format, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    match saved {
        Saved::Results(r) => authbench_reports::render(r, format, out),
        Saved::Comparison(c) => authbench_reports::render_comparison(c, format, out),
    }
}

/// Runs `report`.
pub fn run(args: ReportArgs) -> anyhow::Result<u8> {
    if !(args.threshold.is_finite() && args.threshold >= 0.0) {
        bail!("--threshold must be a percentage of 0 or more");
    }
    if crate::commands::worker::merge::is_saved(&args.input) {
        return crate::commands::worker::merge::command(&args);
    }
    let saved = load(&args.input, "--in")?;
    let format: Format = args.format.into();
    let mut text = Vec::new();
    render(&saved, format, &mut text).with_context(|| format!("--format {format:?}"))?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--out {}: cannot create the directory", dir.display()))?;
        for f in Format::ALL {
            let name = match &saved {
                Saved::Results(_) => f.file_name(),
                Saved::Comparison(_) => f.comparison_file_name(),
            };
            let mut bytes = Vec::new();
            // A comparison saved without its conformance results has no JUnit or SARIF.
            if render(&saved, f, &mut bytes).is_ok() {
                std::fs::write(dir.join(name), bytes)
                    .with_context(|| format!("--out: cannot write {}", dir.join(name).display()))?;
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&text)?;
    stdout.flush()?;
    let Some(path) = &args.baseline else {
        let failed = match &saved {
            Saved::Results(r) => r.failed(false),
            Saved::Comparison(c) => c.conformance_summary.fail + c.conformance_summary.error > 0,
        };
        return Ok(if failed { EXIT_FAILED } else { EXIT_OK });
    };
    let baseline = load(path, "--baseline")?;
    let threshold = args.threshold / 100.0;
    let changes = match (&baseline, &saved) {
        (Saved::Results(b), Saved::Results(c)) => diff::results(b, c),
        (Saved::Comparison(b), Saved::Comparison(c)) => diff::comparison(b, c, threshold),
        (b, c) => bail!(
            "--baseline {} holds {}, --in {} holds {}: compare runs of the same kind",
            path.display(),
            b.kind(),
            args.input.display(),
            c.kind()
        ),
    };
    // The verdict goes to standard error, so a rendered report on standard output stays clean.
    eprint!("authbench: since {}:\n{}", path.display(), changes.text());
    Ok(if changes.regressed() { EXIT_FAILED } else { EXIT_OK })
}
