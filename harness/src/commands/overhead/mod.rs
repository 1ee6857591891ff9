//! `authbench overhead`: what authentication adds. For each method
//! configuration, the baseline endpoint and the authenticated one of the same
//! server take the same load in alternating rounds (so machine noise falls on
//! both alike), and the report gives each side's latency percentiles, rate and
//! server CPU per request, and their difference.
//!
//! Without `--target`, the reference servers run as a child process
//! (`authbench serve` on loopback port 0), so their CPU time is theirs alone
//! and read from `/proc`; a target's CPU comes from its Prometheus
//! `process_cpu_seconds_total` where it has `metrics_url`.

pub mod report;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::measure::generator::{self, Endpoint, Load, Measured, Phase};
use crate::measure::{Configuration, configurations, cpu, load_target, machine};
use crate::methods::Method;
use authbench_reports::compare::{Machine, PERCENTILES};

/// How the load is applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoadChoice {
    /// Closed loop: capacity.
    Max,
    /// Open loop at a fixed rate.
    Rate(f64),
    /// Baseline capacity first, then open loop at fractions of it.
    Sweep,
}

/// Fractions of baseline capacity `--sweep` runs at.
pub const SWEEP_FRACTIONS: [f64; 3] = [0.25, 0.5, 0.75];

/// What `overhead` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The target profile; none: the reference servers in a child process.
    pub target: Option<PathBuf>,
    /// Method configurations to run (prefix match: `jwt` runs every JWT one).
    pub methods: Option<Vec<String>>,
    /// The load.
    pub load: LoadChoice,
    /// Measured time per endpoint, split into alternating rounds.
    pub duration: Duration,
    /// Concurrent connections.
    pub connections: usize,
    /// A new connection per request.
    pub new_connection: bool,
    /// Request cap per phase.
    pub max_requests: u64,
    /// Load threads (default: one per core).
    pub workers: usize,
    /// Alternating rounds per endpoint.
    pub rounds: u32,
    /// Warm-up per endpoint before measuring.
    pub warmup: Duration,
    /// Also measure the baseline against itself (A/A): the run's noise floor.
    pub aa: bool,
}

/// The label of the A/A row: the baseline measured against itself.
pub const AA: &str = "A/A baseline";

/// One round's figures for one side.
#[derive(Debug, Clone)]
pub struct RoundFigures {
    /// Successful requests per second.
    pub rate: f64,
    /// Server CPU per successful request, µs.
    pub cpu_us: Option<f64>,
    /// Latency at [`PERCENTILES`], µs (empty when nothing succeeded).
    pub latency_us: Vec<f64>,
}

impl RoundFigures {
    fn of(side: &Side) -> Self {
        let m = &side.measured;
        let latency_us = if m.latency.is_empty() {
            Vec::new()
        } else {
            PERCENTILES
                .iter()
                .map(|p| m.latency.value_at_quantile(p / 100.0) as f64 / 1000.0)
                .collect()
        };
        RoundFigures { rate: m.rate(), cpu_us: side.cpu_us_per_request(), latency_us }
    }

    /// Latency at `percentile` (one of [`PERCENTILES`]), µs.
    pub fn at(&self, percentile: f64) -> Option<f64> {
        let i = PERCENTILES.iter().position(|p| *p == percentile)?;
        self.latency_us.get(i).copied()
    }
}

/// One side of a comparison.
#[derive(Debug, Clone)]
pub struct Side {
    /// Latencies and counts.
    pub measured: Measured,
    /// Server CPU seconds spent during the measured phases, if known.
    pub cpu_seconds: Option<f64>,
}

impl Side {
    /// Server CPU per successful request, in microseconds.
    pub fn cpu_us_per_request(&self) -> Option<f64> {
        let cpu = self.cpu_seconds?;
        (self.measured.ok > 0).then(|| cpu * 1e6 / self.measured.ok as f64)
    }
}

/// A configuration measured against the baseline under one load.
#[derive(Debug, Clone)]
pub struct Row {
    /// The configuration.
    pub label: String,
    /// The load both sides took.
    pub load: Load,
    /// The baseline endpoint.
    pub baseline: Side,
    /// The authenticated endpoint.
    pub method: Side,
    /// Bytes the credential adds to each request's headers (0 for mTLS,
    /// whose certificate travels in the handshake).
    pub credential_header_bytes: usize,
    /// Each round's figures: (baseline, method).
    pub rounds: Vec<(RoundFigures, RoundFigures)>,
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Target name.
    pub target: String,
    /// Start time (RFC 3339).
    pub started_at: String,
    /// Options as run.
    pub options: Options,
    /// Where server CPU came from.
    pub cpu_source: String,
    /// The rows.
    pub rows: Vec<Row>,
    /// Baseline capacity found by `--sweep`.
    pub capacity: Option<f64>,
    /// The machine, and where the generator and the server ran (none for
    /// Locust workers' merged figures, measured on their own machines).
    pub machine: Option<Machine>,
}

fn selected(label: &str, methods: &Option<Vec<String>>) -> bool {
    match methods {
        None => label != "baseline",
        Some(list) => list.iter().any(|m| {
            let m = m.trim();
            let m: &str = match Method::from_legacy_name(m) {
                Some(method) => method.name(),
                None => m,
            };
            label == m || label.starts_with(&format!("{m}-"))
        }),
    }
}

/// What every phase of a run shares: where server CPU comes from and the
/// generator's CPUs.
struct Bench<'a> {
    cpu: &'a cpu::CpuSource,
    cpus: Option<Vec<usize>>,
}

fn phase(
    options: &Options,
    bench: &Bench<'_>,
    endpoint: &Endpoint,
    load: Load,
    duration: Duration,
) -> Phase {
    // Pinned, the generator has its half of the CPUs: a thread per CPU of it.
    let workers = bench.cpus.as_ref().map_or(options.workers, |c| options.workers.min(c.len()));
    Phase {
        endpoint: endpoint.clone(),
        load,
        duration,
        connections: options.connections,
        new_connection: options.new_connection,
        max_requests: options.max_requests,
        workers,
        cpus: bench.cpus.clone(),
    }
}

/// Runs one phase with CPU accounting.
fn measure(
    options: &Options,
    bench: &Bench<'_>,
    endpoint: &Endpoint,
    load: Load,
    duration: Duration,
) -> anyhow::Result<Side> {
    let cpu = bench.cpu;
    let before = cpu.seconds();
    let measured = generator::run(&phase(options, bench, endpoint, load, duration))
        .map_err(anyhow::Error::msg)?;
    let after = cpu.seconds();
    Ok(Side { measured, cpu_seconds: before.zip(after).map(|(b, a)| (a - b).max(0.0)) })
}

fn merge(into: &mut Side, other: Side) {
    into.measured.merge(&other.measured);
    into.cpu_seconds = into.cpu_seconds.zip(other.cpu_seconds).map(|(a, b)| a + b);
}

/// One configuration under one load, measured round by round beside the
/// baseline.
struct Pairing<'a> {
    config: &'a Configuration,
    load: Load,
    rounds: u32,
    slice: Duration,
    base: Option<Side>,
    method: Option<Side>,
    figures: Vec<(RoundFigures, RoundFigures)>,
}

impl<'a> Pairing<'a> {
    fn new(options: &Options, config: &'a Configuration, load: Load) -> Self {
        let mut rounds = options.rounds.max(1);
        // A one-use pool is minted per phase and its values age: phases stay short.
        if config.endpoint.one_use.is_some() {
            let needed =
                options.duration.as_secs_f64() / generator::ONE_USE_MAX_PHASE.as_secs_f64();
            rounds = rounds.max(needed.ceil() as u32);
        }
        Pairing {
            config,
            load,
            rounds,
            slice: options.duration / rounds,
            base: None,
            method: None,
            figures: Vec::new(),
        }
    }

    fn warm_up(
        &self,
        options: &Options,
        bench: &Bench<'_>,
        baseline: &Endpoint,
    ) -> anyhow::Result<()> {
        let warmup = if self.config.endpoint.one_use.is_some() {
            options.warmup.min(generator::ONE_USE_MAX_PHASE)
        } else {
            options.warmup
        };
        if warmup.is_zero() {
            return Ok(());
        }
        for endpoint in [baseline, &self.config.endpoint] {
            generator::run(&phase(options, bench, endpoint, self.load, warmup))
                .map_err(anyhow::Error::msg)?;
        }
        Ok(())
    }

    /// Round `round`: the baseline and the method, which goes first
    /// alternating, so a drift within a round (a warming cache, a
    /// neighbour's burst) does not always favour one side.
    fn round(
        &mut self,
        round: u32,
        options: &Options,
        bench: &Bench<'_>,
        baseline: &Endpoint,
    ) -> anyhow::Result<()> {
        let order = if round.is_multiple_of(2) { [0, 1] } else { [1, 0] };
        let mut pair: [Option<RoundFigures>; 2] = [None, None];
        for i in order {
            let (side, endpoint) = if i == 0 {
                (&mut self.base, baseline)
            } else {
                (&mut self.method, &self.config.endpoint)
            };
            let s = measure(options, bench, endpoint, self.load, self.slice)?;
            pair[i] = Some(RoundFigures::of(&s));
            match side {
                Some(acc) => merge(acc, s),
                None => *side = Some(s),
            }
        }
        if let [Some(b), Some(m)] = pair {
            self.figures.push((b, m));
        }
        Ok(())
    }

    fn row(self) -> anyhow::Result<Row> {
        let (Some(baseline), Some(method)) = (self.base, self.method) else {
            bail!("no rounds ran")
        };
        let endpoint = &self.config.endpoint;
        // The credential's share of the request: `name: value\r\n` per header.
        let credential_header_bytes =
            endpoint.headers.iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum::<usize>()
                + endpoint.one_use.as_ref().map_or(0, |p| p.header_bytes());
        Ok(Row {
            label: self.config.label.clone(),
            load: self.load,
            baseline,
            method,
            credential_header_bytes,
            rounds: self.figures,
        })
    }
}

/// Every configuration under every load beside the baseline, in rounds
/// taken in turn: round 1 of each configuration, then round 2 of each, and
/// so on. A configuration's rounds thus span the whole run, and its interval
/// holds the machine's drift over the run (a neighbour's load, the memory
/// bandwidth argon2id depends on) instead of the few seconds one
/// configuration's block of rounds would see.
fn measure_all(
    options: &Options,
    bench: &Bench<'_>,
    baseline: &Endpoint,
    configs: &[Configuration],
    loads: &[Load],
    progress: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Vec<Row>> {
    let mut pairings: Vec<Pairing<'_>> = configs
        .iter()
        .flat_map(|c| loads.iter().map(move |l| (c, *l)))
        .map(|(c, l)| Pairing::new(options, c, l))
        .collect();
    for p in &pairings {
        progress(&format!("warming up {} at {}", p.config.label, report::describe_load(p.load)));
        p.warm_up(options, bench, baseline)?;
    }
    let most = pairings.iter().map(|p| p.rounds).max().unwrap_or(0);
    for round in 0..most {
        progress(&format!("round {} of {most}", round + 1));
        for p in pairings.iter_mut().filter(|p| round < p.rounds) {
            p.round(round, options, bench, baseline)?;
        }
    }
    pairings.into_iter().map(Pairing::row).collect()
}

/// Runs `overhead`; `progress` gets a line per configuration.
pub async fn run(options: Options, progress: &(dyn Fn(&str) + Sync)) -> anyhow::Result<Report> {
    let loaded = load_target(options.target.as_deref()).await?;
    let (shared, cpu) = (&loaded.shared, &loaded.cpu);
    let bench = Bench { cpu, cpus: loaded.placement.generator().map(<[usize]>::to_vec) };
    let machine = Some(machine::machine(&loaded.placement));
    let name = shared.forge.target().name.clone();
    let (baseline, configs) = configurations(shared, !options.new_connection).await?;
    let mut configs: Vec<_> =
        configs.into_iter().filter(|c| selected(&c.label, &options.methods)).collect();
    if options.aa && !configs.is_empty() {
        configs.insert(0, Configuration { label: AA.to_owned(), endpoint: baseline.clone() });
    }
    if configs.is_empty() {
        bail!(
            "no method configuration matches --methods; the profile offers: baseline, basic, basic-cached, api_key, jwt-*, oauth2*, mtls, layered (those it has sections for)"
        );
    }
    let started_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let cpu_source = cpu.describe();
    let opts = options.clone();
    // The generator runs its own threads and runtimes: keep it off this one.
    let (rows, capacity) = tokio::task::block_in_place(|| -> anyhow::Result<_> {
        let mut rows = Vec::new();
        let mut capacity = None;
        let loads: Vec<Load> = match opts.load {
            LoadChoice::Max => vec![Load::Max],
            LoadChoice::Rate(r) => vec![Load::Rate(r)],
            LoadChoice::Sweep => {
                progress("measuring baseline capacity");
                let clock = Instant::now();
                let side = measure(&opts, &bench, &baseline, Load::Max, opts.duration)?;
                let c = side.measured.rate();
                if c <= 0.0 {
                    bail!(
                        "the baseline served nothing: {}",
                        side.measured.first_error.unwrap_or_default()
                    );
                }
                progress(&format!(
                    "baseline capacity {c:.0} req/s ({:.1} s)",
                    clock.elapsed().as_secs_f64()
                ));
                capacity = Some(c);
                SWEEP_FRACTIONS.iter().map(|f| Load::Rate((c * f).max(1.0))).collect()
            }
        };
        rows.extend(measure_all(&opts, &bench, &baseline, &configs, &loads, progress)?);
        Ok((rows, capacity))
    })?;
    drop(loaded);
    Ok(Report { target: name, started_at, options, cpu_source, rows, capacity, machine })
}

/// Longest measured duration per endpoint a run accepts, so every load command is bounded.
pub const MAX_DURATION: Duration = Duration::from_secs(600);

/// The runtime a measuring command runs on: one worker thread, since the
/// generator runs threads and runtimes of its own and the target shares the cores.
pub fn command_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// `authbench overhead` from the command line.
pub fn command(args: crate::cli::OverheadArgs) -> anyhow::Result<u8> {
    let seconds = |v: f64, flag: &str| -> anyhow::Result<Duration> {
        if !(0.0..=MAX_DURATION.as_secs_f64()).contains(&v) || v.is_nan() {
            bail!("{flag} must be between 0 and {} seconds", MAX_DURATION.as_secs());
        }
        Ok(Duration::from_secs_f64(v))
    };
    let duration = seconds(args.duration, "--duration")?;
    if duration.is_zero() {
        bail!("--duration must be more than 0 seconds");
    }
    if args.connections == 0 || args.connections > 10_000 {
        bail!("--connections must be between 1 and 10000");
    }
    let load = match (args.rate, args.max, args.sweep) {
        (Some(r), _, _) if !(r > 0.0 && r <= 10_000_000.0) => {
            bail!("--rate must be a positive number of requests per second")
        }
        (Some(r), _, _) => LoadChoice::Rate(r),
        (None, _, true) => LoadChoice::Sweep,
        // Capacity is the default question: how much does auth cost at full load.
        (None, _, false) => LoadChoice::Max,
    };
    let options = Options {
        target: args.target,
        methods: args.methods.map(|m| m.split(',').map(str::to_owned).collect()),
        load,
        duration,
        connections: args.connections,
        new_connection: args.new_connection,
        max_requests: args.max_requests.max(1),
        workers: args
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        rounds: args.rounds.clamp(1, 100),
        warmup: seconds(args.warmup, "--warmup")?,
        aa: args.aa,
    };
    let runtime = command_runtime()?;
    let progress = |line: &str| eprintln!("authbench: {line}");
    let report = runtime.block_on(run(options, &progress))?;
    let table = report::to_table(&report);
    let json = serde_json::to_string_pretty(&report::to_json(&report))?;
    match args.format {
        crate::cli::OverheadFormat::Table => print!("{table}"),
        crate::cli::OverheadFormat::Json => println!("{json}"),
    }
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(dir.join("overhead.json"), format!("{json}\n"))?;
        std::fs::write(dir.join("overhead.txt"), &table)?;
    }
    let failed =
        report.rows.iter().any(|r| r.baseline.measured.errors > 0 || r.method.measured.errors > 0);
    Ok(if failed { crate::cli::EXIT_FAILED } else { crate::cli::EXIT_OK })
}
