//! `authbench compare`: the security/performance comparison, measured.
//!
//! One command on a fresh machine: the reference servers start, the whole
//! conformance catalog runs against them, then `overhead` measures every
//! method configuration twice — closed loop for capacity and server CPU, open
//! loop at a tenth of the baseline's capacity for latency — plus mTLS with a
//! handshake per connection. The rows join the two: what each method gets
//! right (conformance, and the measured replay window and revocation latency)
//! and what it costs.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use authbench_reports::compare::{self as model, Band, Counts, Distributions, PERCENTILES, Point};
use authbench_reports::{Format, Outcome};

mod columns;
mod setup;

use std::sync::Arc;

use columns::{CLIENT, DELEGATED, LAYERED, Nature, SERVICE, USER, facts};

use crate::commands::overhead::{self, LoadChoice, Options};
use crate::methods::{Method, Shared, Target};

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
    /// Three rounds: the fewest that give an interval worth printing.
    pub const QUICK: Budget = Budget {
        duration: Duration::from_millis(450),
        warmup: Duration::from_millis(100),
        rounds: 3,
    };
    /// The full run: a few minutes; eight rounds of 375 ms a side.
    pub const FULL: Budget =
        Budget { duration: Duration::from_secs(3), warmup: Duration::from_millis(500), rounds: 8 };
}

/// The whole comparison: the model every report renders, and the overhead
/// runs it came from.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The rows and conformance results (`authbench.compare/1`).
    pub model: model::Comparison,
    /// The overhead reports (closed loop, open loop, handshake per connection).
    pub overhead: Vec<overhead::Report>,
}

/// The mTLS configuration's label (the method's name), measured per request
/// on kept-alive connections.
const MTLS: &str = Method::Mtls.name();
/// The mTLS row measured with a new connection (a handshake) per request.
const HANDSHAKE: &str = "mtls-handshake";

/// The configurations, in table order: label, conformance method, nature.
const CONFIGURATIONS: &[(&str, Method, Nature)] = &[
    ("basic", Method::Basic, USER),
    ("basic-cached", Method::Basic, USER),
    ("api_key", Method::ApiKey, CLIENT),
    ("jwt-hs256", Method::Jwt, USER),
    ("jwt-rs256", Method::Jwt, USER),
    ("jwt-es256", Method::Jwt, USER),
    ("jwt-eddsa", Method::Jwt, USER),
    ("oauth2-jwt", Method::OAuth2, DELEGATED),
    ("oauth2-opaque", Method::OAuth2, DELEGATED),
    ("oauth2-dpop", Method::OAuth2, DELEGATED),
    ("mtls", Method::Mtls, SERVICE),
    ("mtls-handshake", Method::Mtls, SERVICE),
    ("layered", Method::Layered, LAYERED),
];

/// The configuration labels of the comparison, in table order (the advice
/// test checks every branch names only these).
#[cfg(test)]
pub(crate) fn labels() -> impl Iterator<Item = &'static str> {
    CONFIGURATIONS.iter().map(|(label, _, _)| *label)
}

/// Runs the comparison against the reference servers.
///
/// `only` limits the run to some configurations (labels of [`labels`]): the
/// conformance cases of their methods (and of those their facts come from)
/// and their overhead; `None` runs everything.
pub async fn run(
    budget: Budget,
    quick: bool,
    only: Option<&[&str]>,
    progress: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Comparison> {
    let wanted = |label: &str| only.is_none_or(|o| o.contains(&label));
    let conformance_methods: Option<Vec<Method>> = only.map(|labels| {
        let mut methods: Vec<Method> = CONFIGURATIONS
            .iter()
            .filter(|(label, _, _)| labels.contains(label))
            .flat_map(|(_, method, _)| {
                // The layered row's replay window and revocation are its layers'.
                let facts: &[Method] = if *method == Method::Layered {
                    &[Method::Jwt, Method::ApiKey, Method::Mtls]
                } else {
                    &[]
                };
                std::iter::once(*method).chain(facts.iter().copied())
            })
            .collect();
        methods.sort();
        methods.dedup();
        methods
    });
    let overhead_labels: Option<Vec<String>> = only.map(|labels| {
        let mut out: Vec<String> = labels
            .iter()
            .map(|l| if *l == HANDSHAKE { MTLS } else { l })
            .map(str::to_owned)
            .collect();
        out.dedup();
        out
    });
    let clock = Instant::now();
    let started_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();

    progress(&match &conformance_methods {
        Some(methods) => {
            format!(
                "conformance: the {} cases against the reference servers",
                methods.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
            )
        }
        None => "conformance: the whole catalog against the reference servers".to_owned(),
    });
    let catalog = crate::catalog::load_catalog(None)?;
    let cases = crate::catalog::select(catalog, conformance_methods.as_deref(), None)?;
    let embedded = crate::embedded::Embedded::start(&[]).await?;
    let profile = embedded.profile_path();
    let conformance = crate::commands::conform::run_against(
        &profile,
        cases,
        &crate::commands::conform::RunOptions::default(),
    )
    .await;
    let target = Target::load(&profile).ok().map(Arc::new);
    // Each method's flow once more, requests counted: the complexity column.
    let complexity = match &target {
        Some(t) => {
            let client = crate::client::HttpClient::new(
                t.ca_pem.as_deref(),
                crate::client::REQUEST_TIMEOUT,
            )?;
            let (client, recorder) = client.recording();
            let shared = Shared::new(crate::methods::forge::Forge::new(Arc::clone(t)), client);
            setup::measure(&shared, &recorder).await
        }
        None => Default::default(),
    };
    let chain_bytes = target.as_ref().and_then(|t| {
        t.mtls.as_ref().map(|m| {
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
        // The keep-alive runs measure the baseline against itself too: the
        // noise floor the figures are read against.
        aa: !new_connection,
    };
    let step = |line: &str| progress(&format!("overhead: {line}"));
    let capacity_run =
        overhead::run(options(LoadChoice::Max, false, overhead_labels.clone()), &step).await?;
    let capacity = mean(capacity_run.rows.iter().map(|r| r.baseline.measured.rate()));
    let latency_rate = capacity.map(|c| (c * LATENCY_FRACTION).max(1.0));
    let latency_run = match latency_rate {
        Some(rate) => Some(
            overhead::run(options(LoadChoice::Rate(rate), false, overhead_labels), &step).await?,
        ),
        None => None,
    };
    let handshake_run = if wanted("mtls-handshake") {
        step("mtls with a handshake per connection");
        Some(
            overhead::run(options(LoadChoice::Max, true, Some(vec![MTLS.to_owned()])), &step)
                .await?,
        )
    } else {
        None
    };
    // With a handshake per request the baseline's capacity is lower: the
    // latency run takes the same fraction of that capacity.
    let handshake_rate = handshake_run
        .as_ref()
        .and_then(|run| mean(run.rows.iter().map(|r| r.baseline.measured.rate())))
        .map(|c| (c * LATENCY_FRACTION).max(1.0));
    let handshake_latency = match handshake_rate {
        Some(rate) => Some(
            overhead::run(
                options(LoadChoice::Rate(rate), true, Some(vec![MTLS.to_owned()])),
                &step,
            )
            .await?,
        ),
        None => None,
    };

    // CPU and throughput from the closed-loop A/A row, latency from the open-loop one.
    let noise_floor = {
        let closed = capacity_run.noise_floor(None);
        let open = latency_run.as_ref().and_then(|r| r.noise_floor(None));
        (closed.is_some() || open.is_some()).then(|| model::NoiseFloor {
            cpu_us: closed.and_then(|n| n.cpu_us),
            throughput: closed.and_then(|n| n.throughput),
            p50_us: open.and_then(|n| n.p50_us),
            p99_us: open.and_then(|n| n.p99_us),
        })
    };
    let machine = capacity_run.machine.clone();
    let find = |report: Option<&overhead::Report>, label: &str| {
        report.and_then(|r| r.rows.iter().find(|row| row.label == label).cloned())
    };
    let mut rows = Vec::new();
    for (label, method, nature) in CONFIGURATIONS.iter().filter(|(l, _, _)| wanted(l)) {
        let (closed, open, rate) = if *label == HANDSHAKE {
            (
                find(handshake_run.as_ref(), MTLS),
                find(handshake_latency.as_ref(), MTLS),
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
        let (replay, revocation) = facts(label, *method, &conformance);
        let method_cases: Vec<_> =
            conformance.cases.iter().filter(|c| *method == c.method.as_str()).collect();
        let judged = method_cases.iter().filter(|c| c.outcome != Outcome::Skip).count();
        let passed = method_cases.iter().filter(|c| c.outcome == Outcome::Pass).count();
        let (credential_bytes, credential_bytes_note) = if *method == Method::Mtls {
            (chain_bytes, if *label == MTLS { "conn" } else { "req" })
        } else {
            (closed.as_ref().map(|r| r.credential_header_bytes), "req")
        };
        let note = match (&closed, *label) {
            _ if saturated => Some(format!(
                "no latency figures: its capacity ({:.0} req/s) is below the latency run's rate ({:.0} req/s)",
                capacity.unwrap_or_default(),
                rate.unwrap_or_default()
            )),
            // Past half its own capacity, a queue forms: say so beside the figures.
            (Some(_), _) if matches!((capacity, rate), (Some(c), Some(r)) if r > 0.5 * c) => {
                Some(format!(
                    "the latency run's rate ({:.0} req/s) is {:.0}% of its own capacity ({:.0} req/s): its latency includes queueing",
                    rate.unwrap_or_default(),
                    100.0 * rate.unwrap_or_default() / capacity.unwrap_or(1.0),
                    capacity.unwrap_or_default()
                ))
            }
            (None, "oauth2-dpop") => {
                Some("the authorization server does not advertise DPoP".to_owned())
            }
            (None, _) => Some("the reference profile does not offer it".to_owned()),
            _ => None,
        };
        rows.push(model::Row {
            configuration: (*label).to_owned(),
            method: method.name().to_owned(),
            conformance: Counts { passed, judged },
            replay_window: replay,
            revocation,
            user_context: nature.user_context.to_owned(),
            delegation: nature.delegation.to_owned(),
            credential_bytes,
            credential_bytes_per: credential_bytes_note.to_owned(),
            added_cpu_us_per_request: closed.as_ref().and_then(|r| r.added_cpu()).map(round),
            added_p50_us: open.as_ref().map(|r| round(r.added_p50())),
            added_p99_us: open.as_ref().map(|r| round(r.added_p99())),
            throughput_ratio: closed
                .as_ref()
                .map(|r| (r.throughput_ratio() * 1000.0).round() / 1000.0),
            added_cpu_interval: closed.as_ref().and_then(overhead::Row::added_cpu_interval),
            added_p50_interval: open.as_ref().and_then(overhead::Row::added_p50_interval),
            added_p99_interval: open.as_ref().and_then(overhead::Row::added_p99_interval),
            throughput_interval: closed.as_ref().and_then(overhead::Row::throughput_interval),
            noise_floor: if *label == HANDSHAKE { None } else { noise_floor },
            expiration: columns::expiration(label, *method, &conformance, target.as_deref()),
            client_secret: columns::client_secret(label, *method, target.as_deref()),
            complexity: complexity.get(label).cloned(),
            server_state: columns::server_state(label, *method).to_owned(),
            security: columns::security(*method, &conformance),
            best_for: columns::best_for(label),
            note,
            latency: open.as_ref().zip(rate).map(|(r, rate)| distributions(r, rate)),
        });
    }
    let mut reports = vec![capacity_run];
    reports.extend(latency_run);
    reports.extend(handshake_run);
    reports.extend(handshake_latency);
    let model = model::Comparison {
        schema: model::SCHEMA.to_owned(),
        tool: conformance.tool.clone(),
        started_at,
        duration_secs: round(clock.elapsed().as_secs_f64()),
        quick,
        baseline_capacity: capacity.map(round),
        latency_rate: latency_rate.map(round),
        handshake_latency_rate: handshake_rate.map(round),
        latency_fraction: LATENCY_FRACTION,
        conformance_summary: conformance.summary,
        rows,
        conformance: Some(conformance),
        noise_floor,
        machine,
    };
    Ok(Comparison { model, overhead: reports })
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Both sides' latency at [`PERCENTILES`], µs.
fn distributions(row: &overhead::Row, rate: f64) -> Distributions {
    let points = |h: &hdrhistogram::Histogram<u64>| -> Vec<Point> {
        if h.is_empty() {
            return Vec::new();
        }
        PERCENTILES
            .iter()
            .map(|p| Point {
                percentile: *p,
                us: round(h.value_at_quantile(p / 100.0) as f64 / 1000.0),
            })
            .collect()
    };
    // Each side's spread across rounds, percentile by percentile.
    let band = |side: fn(
        &(overhead::RoundFigures, overhead::RoundFigures),
    ) -> &overhead::RoundFigures|
     -> Vec<Band> {
        if row.rounds.len() < 2 {
            return Vec::new();
        }
        PERCENTILES
            .iter()
            .filter_map(|p| {
                let values: Vec<f64> = row.rounds.iter().filter_map(|r| side(r).at(*p)).collect();
                let low = values.iter().copied().reduce(f64::min)?;
                let high = values.iter().copied().reduce(f64::max)?;
                Some(Band { percentile: *p, low_us: round(low), high_us: round(high) })
            })
            .collect()
    };
    Distributions {
        rate: round(rate),
        baseline: points(&row.baseline.measured.latency),
        method: points(&row.method.measured.latency),
        baseline_band: band(|r| &r.0),
        method_band: band(|r| &r.1),
    }
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
    let comparison = runtime.block_on(run(budget, args.quick, None, &progress))?;
    write(&comparison, &args.out)?;
    print!("{}", model::table(&comparison.model));
    eprintln!("authbench: reports in {}", args.out.display());
    let failed = comparison.model.conformance.as_ref().is_some_and(|r| r.failed(false))
        || comparison
            .overhead
            .iter()
            .flat_map(|r| &r.rows)
            .any(|r| r.baseline.measured.errors > 0 || r.method.measured.errors > 0);
    Ok(if failed { crate::cli::EXIT_FAILED } else { crate::cli::EXIT_OK })
}

/// Writes every report of `comparison` into `dir`: the comparison in each
/// format (JUnit and SARIF are its conformance part), the overhead JSONs,
/// and the conformance results in every format under `conformance/`.
pub fn write(comparison: &Comparison, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--out {}: cannot create the directory", dir.display()))?;
    for format in Format::ALL {
        let path = dir.join(format.comparison_file_name());
        let mut file = std::fs::File::create(&path)
            .with_context(|| format!("--out: cannot write {}", path.display()))?;
        authbench_reports::render_comparison(&comparison.model, format, &mut file)
            .with_context(|| format!("writing {}", path.display()))?;
    }
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
        std::fs::write(dir.join(&name), format!("{json}\n"))?;
    }
    if let Some(results) = &comparison.model.conformance {
        crate::output::emit_files(results, &dir.join("conformance"))?;
    }
    Ok(())
}
