//! The workers' histograms, as the master's locustfile saved them
//! (`authbench.locust/1`), merged into one overhead report: each scenario
//! against the `baseline` scenario run beside it, with exact percentiles
//! (Locust's own are whole-millisecond buckets, too coarse for authentication
//! overhead).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use super::stats::{WorkerHistograms, decode_histogram};
use crate::commands::overhead::{LoadChoice, Options, Report, Row, Side};
use crate::measure::generator::{Load, Measured};

/// The schema of the saved file.
pub const SCHEMA: &str = "authbench.locust/1";

/// What the master saved.
#[derive(Debug, Clone, Deserialize)]
pub struct Saved {
    /// [`SCHEMA`].
    pub schema: String,
    /// The latest histograms of each worker.
    pub workers: BTreeMap<String, WorkerHistograms>,
}

/// Every worker's measurements of each scenario, added up.
#[derive(Debug, Clone)]
pub struct Merged {
    /// Workers that reported.
    pub workers: usize,
    /// By scenario label.
    pub scenarios: BTreeMap<String, Measured>,
    /// When the first worker's test started, Unix seconds.
    pub started_at: f64,
}

/// Adds up `saved`'s workers.
pub fn merge(saved: &Saved) -> anyhow::Result<Merged> {
    let mut scenarios: BTreeMap<String, Measured> = BTreeMap::new();
    for (node, worker) in &saved.workers {
        for (label, s) in &worker.scenarios {
            let histogram = decode_histogram(&s.histogram)
                .map_err(|e| anyhow::anyhow!("worker {node}, scenario {label}: {e}"))?;
            let m = scenarios.entry(label.clone()).or_insert_with(empty);
            m.latency.add(&histogram).map_err(|e| {
                anyhow::anyhow!("worker {node}, scenario {label}: histogram: {e:?}")
            })?;
            m.ok += s.ok;
            m.errors += s.failed;
            m.intended += s.intended;
            m.late += s.late;
            m.dropped += s.dropped;
            if m.first_error.is_none() {
                m.first_error.clone_from(&s.first_error);
            }
            // The workers ran side by side: the scenario's time is the longest.
            m.elapsed = m.elapsed.max(Duration::from_secs_f64(s.elapsed_secs.max(0.0)));
        }
    }
    let started_at =
        saved.workers.values().map(|w| w.started_at).filter(|t| *t > 0.0).fold(f64::MAX, f64::min);
    Ok(Merged {
        workers: saved.workers.len(),
        scenarios,
        started_at: if started_at == f64::MAX { 0.0 } else { started_at },
    })
}

fn empty() -> Measured {
    let mut m = Measured::new();
    // No pacer thread: the users' own timers; the report's note on pacing
    // priority does not apply.
    m.pacer_realtime = true;
    m
}

/// Reads a saved file, naming `flag` in every error.
pub fn load(path: &Path, flag: &str) -> anyhow::Result<Saved> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{flag} {}: cannot read the file", path.display()))?;
    let saved: Saved = serde_json::from_str(&text)
        .with_context(|| format!("{flag} {}: not a valid {SCHEMA} file", path.display()))?;
    if saved.schema != SCHEMA {
        bail!("{flag} {}: schema `{}`, expected {SCHEMA}", path.display(), saved.schema);
    }
    Ok(saved)
}

/// The merged measurements as an overhead report: each scenario beside the
/// baseline scenario (an empty baseline when none ran).
pub fn report(merged: &Merged, source: &Path) -> Report {
    let baseline = merged.scenarios.get("baseline").cloned().unwrap_or_else(empty);
    let elapsed = merged.scenarios.values().map(|m| m.elapsed).max().unwrap_or_default();
    // The arrival rate: sends due for a scenario's users, requests made for
    // a journey's steps (which follow one another, not a schedule).
    let rate = |m: &Measured| {
        let sends = if m.intended > 0 { m.intended } else { m.ok + m.errors };
        if m.elapsed.is_zero() { 0.0 } else { sends as f64 / m.elapsed.as_secs_f64() }
    };
    let total_rate: f64 = merged.scenarios.values().map(rate).sum();
    let rows = merged
        .scenarios
        .iter()
        .filter(|(label, m)| label.as_str() != "baseline" && m.ok + m.errors + m.dropped > 0)
        .map(|(label, m)| Row {
            label: label.clone(),
            load: Load::Rate(rate(m)),
            baseline: Side { measured: baseline.clone(), cpu_seconds: None },
            method: Side { measured: m.clone(), cpu_seconds: None },
            credential_header_bytes: 0,
            rounds: Vec::new(),
        })
        .collect();
    let started_at = time::OffsetDateTime::from_unix_timestamp(merged.started_at as i64)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default();
    Report {
        target: format!("{} Locust worker(s), {}", merged.workers, source.display()),
        started_at,
        options: Options {
            target: None,
            methods: Some(merged.scenarios.keys().cloned().collect()),
            load: LoadChoice::Rate(total_rate),
            duration: elapsed,
            connections: 0,
            new_connection: false,
            max_requests: 0,
            workers: merged.workers,
            rounds: 1,
            warmup: Duration::ZERO,
            aa: false,
        },
        cpu_source: "not measured: the workers measure latency; the target's CPU is its own"
            .to_owned(),
        rows,
        capacity: None,
        // The workers measured on their own machines.
        machine: None,
    }
}

/// Whether `path` holds this schema (a cheap look, before the full parse).
pub fn is_saved(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|v| v.get("schema").and_then(|s| s.as_str()) == Some(SCHEMA))
}

/// `authbench report --in histograms.json`: the merged overhead report, as
/// a table or `authbench.overhead/1` JSON; `--out` writes both.
pub fn command(args: &crate::cli::ReportArgs) -> anyhow::Result<u8> {
    use crate::cli::OutputFormat;
    if args.baseline.is_some() {
        bail!(
            "--baseline: Locust runs are compared by their overhead JSON; run `authbench report --in {} --format json` and keep it",
            args.input.display()
        );
    }
    let saved = load(&args.input, "--in")?;
    let merged = merge(&saved)?;
    if merged.scenarios.is_empty() {
        bail!("--in {}: no worker measured anything yet", args.input.display());
    }
    let report = report(&merged, &args.input);
    let json = format!(
        "{}\n",
        serde_json::to_string_pretty(&crate::commands::overhead::report::to_json(&report))?
    );
    let mut table = crate::commands::overhead::report::to_table(&report);
    if !merged.scenarios.contains_key("baseline") {
        table.push_str(
            "note: no baseline scenario ran, so nothing is added to it: run the `baseline` user class beside the others\n",
        );
    }
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--out {}: cannot create the directory", dir.display()))?;
        std::fs::write(dir.join("overhead.json"), &json)?;
        std::fs::write(dir.join("overhead.txt"), &table)?;
    }
    match args.format {
        OutputFormat::Table => print!("{table}"),
        OutputFormat::Json => print!("{json}"),
        other => bail!(
            "--format {other:?}: a Locust run's histograms render as table or json (the overhead report)"
        ),
    }
    let errors = merged.scenarios.values().any(|m| m.errors > 0);
    Ok(if errors { crate::cli::EXIT_FAILED } else { crate::cli::EXIT_OK })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::worker::stats::Stats;

    #[test]
    fn workers_add_up_exactly() {
        let mut a = Stats::default();
        let mut b = Stats::default();
        for us in [100, 200, 300] {
            a.scenario("api_key").success(Duration::from_micros(us), 10);
            a.scenario("baseline").success(Duration::from_micros(us / 2), 10);
        }
        b.scenario("api_key").success(Duration::from_micros(900), 10);
        b.scenario("api_key").failure(Duration::from_millis(1), "HTTP 500".into());
        let saved = Saved {
            schema: SCHEMA.to_owned(),
            workers: [("a".to_owned(), a.snapshot("a")), ("b".to_owned(), b.snapshot("b"))]
                .into_iter()
                .collect(),
        };
        let merged = merge(&saved).unwrap();
        assert_eq!(merged.workers, 2);
        let api = &merged.scenarios["api_key"];
        assert_eq!((api.ok, api.errors, api.latency.len()), (4, 1, 4));
        assert!(api.latency.max() >= 899_000);
        let report = report(&merged, Path::new("histograms.json"));
        assert_eq!(report.rows.len(), 1);
        assert_eq!(report.rows[0].baseline.measured.ok, 3);
        let table = crate::commands::overhead::report::to_table(&report);
        assert!(table.contains("api_key"), "{table}");
        // A broken histogram names its worker and scenario.
        let mut broken = saved.clone();
        broken.workers.get_mut("b").unwrap().scenarios.get_mut("api_key").unwrap().histogram =
            "!!".into();
        let e = merge(&broken).unwrap_err().to_string();
        assert!(e.contains("worker b") && e.contains("api_key"), "{e}");
    }
}
