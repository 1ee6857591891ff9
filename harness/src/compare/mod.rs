//! `authbench compare`: the security/performance comparison, measured.
//!
//! One command on a fresh machine: the reference servers start, the whole
//! conformance catalog runs against them, then `overhead` measures every
//! method configuration twice — closed loop for capacity and server CPU, open
//! loop at a tenth of the baseline's capacity for latency — plus mTLS with a
//! handshake per connection. The rows join the two: what each method gets
//! right (conformance, and the measured replay window and revocation latency)
//! and what it costs.

pub mod render;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use authbench_reports::{Outcome, Results};

use crate::overhead::{self, LoadChoice, Options};

/// The fraction of baseline capacity the latency columns are measured at:
/// a load every method but argon2id-per-request Basic sustains with room to
/// spare, so the added latency is the method's work, not a queue (at half
/// the baseline's capacity the asymmetric JWT algorithms are saturated on a
/// 2-core machine, and the figures measure the queue).
pub const LATENCY_FRACTION: f64 = 0.1;

/// How long each part runs.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Measured time per endpoint and load.
    pub duration: Duration,
    /// Warm-up per endpoint.
    pub warmup: Duration,
    /// Alternating rounds.
    pub rounds: u32,
}

impl Budget {
    /// `--quick`: under a minute in all.
    pub const QUICK: Budget = Budget {
        duration: Duration::from_millis(400),
        warmup: Duration::from_millis(100),
        rounds: 1,
    };
    /// The full run: a few minutes.
    pub const FULL: Budget =
        Budget { duration: Duration::from_secs(3), warmup: Duration::from_millis(500), rounds: 2 };
}

/// What the method is, as opposed to what was measured.
#[derive(Debug, Clone, Copy)]
pub struct Nature {
    /// Whose identity the credential carries: a user's, or only a client's.
    pub user_context: &'static str,
    /// Whether a user delegates limited access to a client.
    pub delegation: &'static str,
}

/// One row of the comparison.
#[derive(Debug, Clone)]
pub struct Row {
    /// The configuration (`jwt-es256`, `mtls-handshake`, …).
    pub label: String,
    /// The conformance method it belongs to (`jwt`, `oauth2`, …).
    pub method: String,
    /// Conformance: cases passed, and judged (pass + fail + warn + error).
    pub passed: usize,
    /// Cases judged.
    pub judged: usize,
    /// How long a captured credential can be replayed.
    pub replay: String,
    /// How soon a revocation takes effect.
    pub revocation: String,
    /// Whose identity the credential carries.
    pub nature: Nature,
    /// Bytes the credential adds per request (mTLS: the chain, per handshake).
    pub credential_bytes: Option<usize>,
    /// Per what the credential bytes are sent: `req` (headers of every
    /// request) or `conn` (the certificate chain, once per connection).
    pub credential_bytes_note: &'static str,
    /// Server CPU the method adds per request, µs (closed loop).
    pub added_cpu_us: Option<f64>,
    /// p50 the method adds at [`LATENCY_FRACTION`] of capacity, µs.
    pub added_p50_us: Option<f64>,
    /// p99 the method adds at [`LATENCY_FRACTION`] of capacity, µs.
    pub added_p99_us: Option<f64>,
    /// Capacity relative to the baseline's.
    pub throughput_ratio: Option<f64>,
    /// Why a performance column is empty.
    pub note: Option<String>,
}

/// The whole comparison.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Start time (RFC 3339).
    pub started_at: String,
    /// Seconds the run took.
    pub duration_secs: f64,
    /// Whether `--quick`.
    pub quick: bool,
    /// The baseline's capacity in the closed-loop run, req/s.
    pub capacity: Option<f64>,
    /// The rate the latency columns were measured at.
    pub latency_rate: Option<f64>,
    /// The rate of the handshake-per-connection latency run.
    pub handshake_rate: Option<f64>,
    /// The rows.
    pub rows: Vec<Row>,
    /// The conformance results the rows summarize.
    pub conformance: Results,
    /// The overhead reports (closed loop, open loop, handshake per connection).
    pub overhead: Vec<overhead::Report>,
}

/// The configurations, in table order: label, conformance method, nature.
const CONFIGURATIONS: &[(&str, &str, Nature)] = &[
    ("basic", "basic", USER),
    ("basic-cached", "basic", USER),
    ("api_key", "api_key", CLIENT),
    ("jwt-hs256", "jwt", USER),
    ("jwt-rs256", "jwt", USER),
    ("jwt-es256", "jwt", USER),
    ("jwt-eddsa", "jwt", USER),
    ("oauth2-jwt", "oauth2", DELEGATED),
    ("oauth2-opaque", "oauth2", DELEGATED),
    ("oauth2-dpop", "oauth2", DELEGATED),
    ("mtls", "mtls", SERVICE),
    ("mtls-handshake", "mtls", SERVICE),
];

const USER: Nature = Nature { user_context: "user", delegation: "no" };
const CLIENT: Nature = Nature { user_context: "application", delegation: "no" };
const DELEGATED: Nature = Nature { user_context: "user via client", delegation: "yes" };
const SERVICE: Nature = Nature { user_context: "service", delegation: "no" };

/// A measured figure from the conformance results.
fn measured(results: &Results, id: &str) -> Option<u64> {
    results
        .cases
        .iter()
        .find(|c| c.id == id && c.outcome == Outcome::Pass)
        .and_then(|c| c.measurement.as_ref())
        .map(|m| m.value)
}

fn passed(results: &Results, id: &str) -> bool {
    results.cases.iter().any(|c| c.id == id && c.outcome == Outcome::Pass)
}

/// A measured lifetime; `*` marks what this run measured.
fn duration_text(secs: u64) -> String {
    // Measured a moment after issue: within a minute of a whole hour is that hour.
    let hours = (secs as f64 / 3600.0).round();
    match secs {
        s if s >= 3540 && (s as f64 - hours * 3600.0).abs() < 60.0 => format!("{hours} h (exp)*"),
        s if s >= 3600 => format!("{:.1} h (exp)*", s as f64 / 3600.0),
        s if s >= 60 => format!("{} min (exp)*", (s + 30) / 60),
        s => format!("{s} s (exp)*"),
    }
}

/// Replay window and revocation, from what the conformance run measured.
fn facts(label: &str, results: &Results) -> (String, String) {
    let latency = |id: &str| {
        measured(results, id).map_or_else(|| "not measured".to_owned(), |ms| format!("{ms} ms*"))
    };
    match label {
        // A cached entry is keyed to the password's version: a change ends it too.
        "basic" | "basic-cached" => {
            ("until password change".to_owned(), "password change".to_owned())
        }
        "api_key" => ("until revoked".to_owned(), latency("api_key::revocation-latency")),
        l if l.starts_with("jwt") => (
            measured(results, "jwt::replay-window")
                .map_or_else(|| "not measured".to_owned(), duration_text),
            match measured(results, "jwt::revocation-latency") {
                Some(ms) => format!("at exp; {ms} ms with a jti list*"),
                None => "at exp".to_owned(),
            },
        ),
        "oauth2-dpop" => (
            if passed(results, "oauth2::dpop-replayed-proof") {
                "none (one-use proofs)*".to_owned()
            } else {
                "not measured".to_owned()
            },
            latency("oauth2::revocation-latency"),
        ),
        l if l.starts_with("oauth2") => (
            measured(results, "oauth2::replay-window")
                .map_or_else(|| "not measured".to_owned(), duration_text),
            latency("oauth2::revocation-latency"),
        ),
        _ => ("none (the key stays)".to_owned(), latency("mtls::revocation-latency")),
    }
}

/// Runs the comparison against the reference servers.
pub async fn run(
    budget: Budget,
    quick: bool,
    progress: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Comparison> {
    let clock = Instant::now();
    let started_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();

    progress("conformance: the whole catalog against the reference servers");
    let catalog = crate::conform::load_catalog(None)?;
    let cases = crate::conform::select(catalog, None, None)?;
    let embedded = crate::conform::Embedded::start(&[]).await?;
    let profile = embedded.profile_path();
    let conformance = crate::conform::run_against(&profile, cases, false).await;
    let chain_bytes = crate::target::Target::load(&profile).ok().and_then(|t| {
        t.mtls.map(|m| {
            use rustls_pki_types::pem::PemObject as _;
            rustls_pki_types::CertificateDer::pem_slice_iter(&m.client.chain_pem)
                .filter_map(Result::ok)
                .map(|c| c.len())
                .sum::<usize>()
        })
    });
    embedded.stop().await;
    let conformance = conformance?;
    progress(&format!(
        "conformance: {} of {} passed",
        conformance.summary.pass, conformance.summary.total
    ));

    let options = |load: LoadChoice, new_connection: bool, methods: Option<Vec<String>>| Options {
        target: None,
        methods,
        load,
        duration: budget.duration,
        connections: 32,
        new_connection,
        max_requests: u64::MAX,
        workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        rounds: budget.rounds,
        warmup: budget.warmup,
    };
    let step = |line: &str| progress(&format!("overhead: {line}"));
    let capacity_run = overhead::run(options(LoadChoice::Max, false, None), &step).await?;
    let capacity = mean(capacity_run.rows.iter().map(|r| r.baseline.measured.rate()));
    let latency_rate = capacity.map(|c| (c * LATENCY_FRACTION).max(1.0));
    let latency_run = match latency_rate {
        Some(rate) => {
            Some(overhead::run(options(LoadChoice::Rate(rate), false, None), &step).await?)
        }
        None => None,
    };
    step("mtls with a handshake per connection");
    let handshake_run =
        overhead::run(options(LoadChoice::Max, true, Some(vec!["mtls".to_owned()])), &step).await?;
    // With a handshake per request the baseline's capacity is lower: the
    // latency run takes the same fraction of that capacity.
    let handshake_rate = mean(handshake_run.rows.iter().map(|r| r.baseline.measured.rate()))
        .map(|c| (c * LATENCY_FRACTION).max(1.0));
    let handshake_latency = match handshake_rate {
        Some(rate) => Some(
            overhead::run(
                options(LoadChoice::Rate(rate), true, Some(vec!["mtls".to_owned()])),
                &step,
            )
            .await?,
        ),
        None => None,
    };

    let find = |report: Option<&overhead::Report>, label: &str| {
        report.and_then(|r| r.rows.iter().find(|row| row.label == label).cloned())
    };
    let mut rows = Vec::new();
    for (label, method, nature) in CONFIGURATIONS {
        let (closed, open, rate) = if *label == "mtls-handshake" {
            (
                find(Some(&handshake_run), "mtls"),
                find(handshake_latency.as_ref(), "mtls"),
                handshake_rate,
            )
        } else {
            (find(Some(&capacity_run), label), find(latency_run.as_ref(), label), latency_rate)
        };
        // A method whose own capacity is below the latency run's rate is
        // saturated there: its queue grows for as long as the run lasts, and
        // its latency says how long the run was, not what the method costs.
        let capacity = closed.as_ref().map(|r| r.method.measured.rate());
        let saturated = matches!((capacity, rate), (Some(c), Some(r)) if c < r);
        let open = if saturated { None } else { open };
        let (replay, revocation) = facts(label, &conformance);
        let method_cases: Vec<_> =
            conformance.cases.iter().filter(|c| c.method == *method).collect();
        let judged = method_cases.iter().filter(|c| c.outcome != Outcome::Skip).count();
        let passed = method_cases.iter().filter(|c| c.outcome == Outcome::Pass).count();
        let (credential_bytes, credential_bytes_note) = if method == &"mtls" {
            (chain_bytes, if *label == "mtls" { "conn" } else { "req" })
        } else {
            (closed.as_ref().map(|r| r.credential_header_bytes), "req")
        };
        let note = match (&closed, *label) {
            _ if saturated => Some(format!(
                "no latency figures: its capacity ({:.0} req/s) is below the latency run's rate ({:.0} req/s)",
                capacity.unwrap_or_default(),
                rate.unwrap_or_default()
            )),
            (None, "oauth2-dpop") => {
                Some("the authorization server does not advertise DPoP".to_owned())
            }
            (None, _) => Some("the reference profile does not offer it".to_owned()),
            _ => None,
        };
        rows.push(Row {
            label: (*label).to_owned(),
            method: (*method).to_owned(),
            passed,
            judged,
            replay,
            revocation,
            nature: *nature,
            credential_bytes,
            credential_bytes_note,
            added_cpu_us: closed.as_ref().and_then(|r| r.added_cpu()),
            added_p50_us: open.as_ref().map(|r| r.added_p50()),
            added_p99_us: open.as_ref().map(|r| r.added_p99()),
            throughput_ratio: closed.as_ref().map(|r| r.throughput_ratio()),
            note,
        });
    }
    let mut reports = vec![capacity_run];
    reports.extend(latency_run);
    reports.push(handshake_run);
    reports.extend(handshake_latency);
    Ok(Comparison {
        started_at,
        duration_secs: clock.elapsed().as_secs_f64(),
        quick,
        capacity,
        latency_rate,
        handshake_rate,
        rows,
        conformance,
        overhead: reports,
    })
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0 && sum > 0.0).then(|| sum / n as f64)
}

/// `authbench compare` from the command line.
pub fn command(args: crate::cli::CompareArgs) -> anyhow::Result<u8> {
    let budget = if args.quick { Budget::QUICK } else { Budget::FULL };
    let runtime = overhead::command_runtime()?;
    let progress = |line: &str| eprintln!("authbench: {line}");
    let comparison = runtime.block_on(run(budget, args.quick, &progress))?;
    write(&comparison, &args.out)?;
    print!("{}", render::table(&comparison));
    eprintln!("authbench: reports in {}", args.out.display());
    let failed = comparison.conformance.failed(false)
        || comparison
            .overhead
            .iter()
            .flat_map(|r| &r.rows)
            .any(|r| r.baseline.measured.errors > 0 || r.method.measured.errors > 0);
    Ok(if failed { crate::cli::EXIT_FAILED } else { crate::cli::EXIT_OK })
}

/// Writes every report of `comparison` into `dir`.
pub fn write(comparison: &Comparison, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--out {}: cannot create the directory", dir.display()))?;
    let file = |name: &str| -> PathBuf { dir.join(name) };
    let json = serde_json::to_string_pretty(&render::json(comparison))?;
    std::fs::write(file("compare.json"), format!("{json}\n"))?;
    std::fs::write(file("compare.md"), render::markdown(comparison))?;
    std::fs::write(file("compare.txt"), render::table(comparison))?;
    for report in &comparison.overhead {
        let name = format!(
            "overhead-{}{}.json",
            match report.options.load {
                LoadChoice::Rate(_) => "open-loop",
                _ => "closed-loop",
            },
            if report.options.new_connection { "-handshake" } else { "" }
        );
        let json = serde_json::to_string_pretty(&overhead::report::to_json(report))?;
        std::fs::write(file(&name), format!("{json}\n"))?;
    }
    crate::conform::emit_files(&comparison.conformance, &dir.join("conformance"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_as_people_write_them() {
        assert_eq!(duration_text(86_399), "24 h (exp)*");
        assert_eq!(duration_text(86_400), "24 h (exp)*");
        assert_eq!(duration_text(5_400), "1.5 h (exp)*");
        assert_eq!(duration_text(599), "10 min (exp)*");
        assert_eq!(duration_text(42), "42 s (exp)*");
    }
}
