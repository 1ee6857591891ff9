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

pub mod cpu;
pub mod generator;
pub mod report;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyper::header::{AUTHORIZATION, HeaderName, HeaderValue};

use crate::client::{ClientIdentity, HttpClient};
use crate::engine::Shared;
use crate::forge::Forge;
use crate::target::Target;
use generator::{Endpoint, Load, Measured, Phase};

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
}

/// One configuration: a label, its endpoint, and the baseline it is paired with.
#[derive(Debug, Clone)]
pub struct Configuration {
    /// e.g. `jwt-es256`, `mtls`, `baseline`.
    pub label: String,
    /// The authenticated endpoint (the baseline for `baseline`).
    pub endpoint: Endpoint,
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
}

/// The reference servers in a child process, stopped on drop.
pub(crate) struct ChildServer {
    pub(crate) child: Child,
    pub(crate) profile: PathBuf,
    _state: tempfile::TempDir,
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_child_server() -> anyhow::Result<ChildServer> {
    let state = tempfile::Builder::new().prefix("authbench-overhead-").tempdir()?;
    let exe = std::env::current_exe().context("locating the authbench binary")?;
    let mut child = Command::new(exe)
        .args(["serve", "--bind", "127.0.0.1:0", "--state"])
        .arg(state.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the reference servers")?;
    let stdout = child.stdout.take().context("the servers' standard output")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("ready") {
                let _ = tx.send(line);
            }
        }
    });
    let line = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            bail!("the reference servers did not start within 60 s");
        }
    };
    let profile = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("profile="))
        .map(PathBuf::from)
        .context("the ready line names no profile")?;
    Ok(ChildServer { child, profile, _state: state })
}

fn header(name: HeaderName, value: &str) -> anyhow::Result<(HeaderName, HeaderValue)> {
    Ok((name, HeaderValue::from_str(value).context("a credential that is not a header value")?))
}

/// The configurations the profile allows, credentials minted now.
pub(crate) async fn configurations(
    shared: &Shared,
    resumption: bool,
) -> anyhow::Result<(Endpoint, Vec<Configuration>)> {
    let target = shared.forge.target();
    let tls = shared.client.load_config(None, resumption).map_err(anyhow::Error::msg)?;
    let endpoint = |url: &url::Url, headers: Vec<(HeaderName, HeaderValue)>| Endpoint {
        url: url.clone(),
        headers,
        one_use: None,
        tls: Arc::clone(&tls),
    };
    let baseline_url = target.baseline_url.as_ref().context(
        "the profile has no baseline_url: overhead compares each method with an unauthenticated endpoint of the same server",
    )?;
    let baseline = endpoint(baseline_url, Vec::new());
    let mut out = vec![Configuration { label: "baseline".into(), endpoint: baseline.clone() }];
    if let Some(b) = &target.basic {
        let value = shared.forge.valid_value("basic").map_err(|s| anyhow::anyhow!(s.0))?;
        out.push(Configuration {
            label: "basic".into(),
            endpoint: endpoint(&b.url, vec![header(AUTHORIZATION, &value)?]),
        });
        if let Some(cached) = &b.cached_url {
            out.push(Configuration {
                label: "basic-cached".into(),
                endpoint: endpoint(cached, vec![header(AUTHORIZATION, &value)?]),
            });
        }
    }
    if let Some(a) = &target.api_key {
        let value = shared.forge.valid_value("api_key").map_err(|s| anyhow::anyhow!(s.0))?;
        let name = match &a.header {
            Some(h) => HeaderName::from_bytes(h.as_bytes())?,
            None => AUTHORIZATION,
        };
        out.push(Configuration {
            label: "api_key".into(),
            endpoint: endpoint(&a.url, vec![header(name, &value)?]),
        });
    }
    if let Some(j) = &target.jwt {
        let mut algorithms = vec![j.algorithm];
        algorithms.extend(j.variants.iter().map(|(a, _, _)| *a));
        for alg in algorithms {
            let name = crate::forge::jwt::alg_name(alg);
            let forge = shared.forge.jwt_forge(Some(name)).map_err(|s| anyhow::anyhow!(s.0))?;
            let Ok(token) = forge.valid_token() else { continue };
            out.push(Configuration {
                label: format!("jwt-{}", name.to_ascii_lowercase()),
                endpoint: endpoint(
                    forge.url(),
                    vec![header(AUTHORIZATION, &format!("Bearer {token}"))?],
                ),
            });
        }
    }
    if target.oauth2.is_some() {
        let session = crate::oauth::Session::open(shared)
            .await
            .map_err(|v| anyhow::anyhow!("OAuth: {}", v.reason.unwrap_or_default()))?;
        let tokens = session
            .client_credentials()
            .await
            .map_err(|v| anyhow::anyhow!("OAuth token: {}", v.reason.unwrap_or_default()))?;
        let label =
            if tokens.access_token.matches('.').count() == 2 { "oauth2-jwt" } else { "oauth2" };
        out.push(Configuration {
            label: label.into(),
            endpoint: endpoint(
                &session.t.resource_url,
                vec![header(AUTHORIZATION, &format!("Bearer {}", tokens.access_token))?],
            ),
        });
        if let Some(client) = &session.t.opaque_client {
            let auth = crate::oauth::ClientAuth::Basic(
                client.client_id.clone(),
                client.client_secret.clone(),
            );
            let mut fields = vec![("grant_type", "client_credentials")];
            if let Some(scope) = &session.t.scope {
                fields.push(("scope", scope));
            }
            let r = session
                .token(&fields, &auth)
                .await
                .map_err(|v| anyhow::anyhow!("{:?}", v.reason))?;
            if let Some(t) = crate::oauth::Tokens::from_response(&r) {
                out.push(Configuration {
                    label: "oauth2-opaque".into(),
                    endpoint: endpoint(
                        &session.t.resource_url,
                        vec![header(AUTHORIZATION, &format!("Bearer {}", t.access_token))?],
                    ),
                });
            }
        }
        if session.meta.supports_dpop() {
            out.push(
                dpop_configuration(&session, endpoint(&session.t.resource_url, Vec::new())).await?,
            );
        }
    }
    if let Some(m) = &target.mtls {
        let id = ClientIdentity::from_pem(&m.client.chain_pem, &m.client.key_pem)
            .map_err(anyhow::Error::msg)?;
        let tls = shared.client.load_config(Some(&id), resumption).map_err(anyhow::Error::msg)?;
        out.push(Configuration {
            label: "mtls".into(),
            endpoint: Endpoint { url: m.url.clone(), headers: Vec::new(), one_use: None, tls },
        });
    }
    if let Some(l) = &target.layered {
        out.push(layered_configuration(shared, l, resumption)?);
    }
    Ok((baseline, out))
}

/// `layered`: the service's certificate on the connection, the application's
/// key and a user token for it (valid for an hour, so that a long run does
/// not outlive it) on every request.
fn layered_configuration(
    shared: &Shared,
    l: &crate::target::LayeredTarget,
    resumption: bool,
) -> anyhow::Result<Configuration> {
    let id = ClientIdentity::from_pem(&l.mtls.client.chain_pem, &l.mtls.client.key_pem)
        .map_err(anyhow::Error::msg)?;
    let tls = shared.client.load_config(Some(&id), resumption).map_err(anyhow::Error::msg)?;
    let token = crate::layered::user_token(l, "+1h")
        .map_err(|v| anyhow::anyhow!("layered: {}", v.reason.unwrap_or_default()))?;
    let key_header = l.api_key.header.as_deref().unwrap_or("X-API-Key");
    Ok(Configuration {
        label: "layered".into(),
        endpoint: Endpoint {
            url: l.url.clone(),
            headers: vec![
                header(HeaderName::from_bytes(key_header.as_bytes())?, &l.api_key.key)?,
                header(AUTHORIZATION, &format!("Bearer {token}"))?,
            ],
            one_use: None,
            tls,
        },
    })
}

/// `oauth2-dpop`: a DPoP-bound token, and a fresh proof per request from a
/// pool minted before each phase (RFC 9449 §4.3: one `jti` per proof).
async fn dpop_configuration(
    session: &crate::oauth::Session<'_>,
    mut endpoint: Endpoint,
) -> anyhow::Result<Configuration> {
    let failed = |v: crate::engine::judge::Verdict| {
        anyhow::anyhow!("OAuth DPoP: {}", v.reason.unwrap_or_default())
    };
    let key = crate::oauth::DpopKey::generate().map_err(failed)?;
    let tokens = crate::oauth::steps::dpop_tokens(session, &key).await.map_err(failed)?;
    if !tokens.token_type.eq_ignore_ascii_case("dpop") {
        bail!("OAuth DPoP: the token endpoint answered token_type {}", tokens.token_type);
    }
    let minter =
        Arc::new(key.minter("GET", &session.t.resource_url, &tokens.access_token).map_err(failed)?);
    endpoint.headers.push(header(AUTHORIZATION, &format!("DPoP {}", tokens.access_token))?);
    let mint = move |n: usize| mint_parallel(&minter, n);
    endpoint.one_use =
        Some(Arc::new(generator::OneUse::new(HeaderName::from_static("dpop"), Box::new(mint))));
    Ok(Configuration { label: "oauth2-dpop".into(), endpoint })
}

/// `n` proofs, minted on every core.
fn mint_parallel(minter: &crate::oauth::ProofMinter, n: usize) -> Result<Vec<HeaderValue>, String> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(n.max(1));
    let per = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let count = per.min(n.saturating_sub(t * per));
                scope.spawn(move || -> Result<Vec<HeaderValue>, String> {
                    (0..count)
                        .map(|_| HeaderValue::from_str(&minter.mint()?).map_err(|e| e.to_string()))
                        .collect()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(n);
        for h in handles {
            out.extend(h.join().map_err(|_| "a minting thread panicked".to_owned())??);
        }
        Ok(out)
    })
}

fn selected(label: &str, methods: &Option<Vec<String>>) -> bool {
    match methods {
        None => label != "baseline",
        Some(list) => list.iter().any(|m| {
            let m = m.trim();
            label == m
                || label.starts_with(&format!("{m}-"))
                || (m == "api-key" && label == "api_key")
        }),
    }
}

fn phase(options: &Options, endpoint: &Endpoint, load: Load, duration: Duration) -> Phase {
    Phase {
        endpoint: endpoint.clone(),
        load,
        duration,
        connections: options.connections,
        new_connection: options.new_connection,
        max_requests: options.max_requests,
        workers: options.workers,
    }
}

/// Runs one phase with CPU accounting.
fn measure(
    options: &Options,
    endpoint: &Endpoint,
    load: Load,
    duration: Duration,
    cpu: &cpu::CpuSource,
) -> anyhow::Result<Side> {
    let before = cpu.seconds();
    let measured =
        generator::run(&phase(options, endpoint, load, duration)).map_err(anyhow::Error::msg)?;
    let after = cpu.seconds();
    Ok(Side { measured, cpu_seconds: before.zip(after).map(|(b, a)| (a - b).max(0.0)) })
}

fn merge(into: &mut Side, other: Side) {
    into.measured.merge(&other.measured);
    into.cpu_seconds = into.cpu_seconds.zip(other.cpu_seconds).map(|(a, b)| a + b);
}

/// Baseline and `config` under `load`, in alternating rounds after a warm-up.
fn compare(
    options: &Options,
    baseline: &Endpoint,
    config: &Configuration,
    load: Load,
    cpu: &cpu::CpuSource,
) -> anyhow::Result<Row> {
    // A one-use pool is minted per phase and its values age: phases stay short.
    let one_use = config.endpoint.one_use.is_some();
    let warmup =
        if one_use { options.warmup.min(generator::ONE_USE_MAX_PHASE) } else { options.warmup };
    for endpoint in [baseline, &config.endpoint] {
        if !warmup.is_zero() {
            generator::run(&phase(options, endpoint, load, warmup)).map_err(anyhow::Error::msg)?;
        }
    }
    let mut rounds = options.rounds.max(1);
    if one_use {
        let needed = options.duration.as_secs_f64() / generator::ONE_USE_MAX_PHASE.as_secs_f64();
        rounds = rounds.max(needed.ceil() as u32);
    }
    let slice = options.duration / rounds;
    let mut base: Option<Side> = None;
    let mut method: Option<Side> = None;
    for _ in 0..rounds {
        for (side, endpoint) in [(&mut base, baseline), (&mut method, &config.endpoint)] {
            let s = measure(options, endpoint, load, slice, cpu)?;
            match side {
                Some(acc) => merge(acc, s),
                None => *side = Some(s),
            }
        }
    }
    let (Some(baseline), Some(method)) = (base, method) else { bail!("no rounds ran") };
    // The credential's share of the request: `name: value\r\n` per header.
    let credential_header_bytes =
        config.endpoint.headers.iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum::<usize>()
            + config.endpoint.one_use.as_ref().map_or(0, |p| p.header_bytes());
    Ok(Row { label: config.label.clone(), load, baseline, method, credential_header_bytes })
}

/// The target a load command runs against: the profile given, or the
/// reference servers as a child process (stopped when this is dropped).
pub(crate) struct LoadTarget {
    /// The reference servers, when no profile was given.
    _child: Option<ChildServer>,
    /// The target, the forge and the client.
    pub(crate) shared: Arc<Shared>,
    /// Where server CPU time comes from.
    pub(crate) cpu: cpu::CpuSource,
}

/// Loads `target` (or starts the reference servers) and checks that every
/// URL it names answers.
pub(crate) async fn load_target(target: Option<&Path>) -> anyhow::Result<LoadTarget> {
    let child = match target {
        Some(_) => None,
        None => Some(start_child_server()?),
    };
    let profile: &Path = match (target, &child) {
        (Some(p), _) => p,
        (None, Some(c)) => &c.profile,
        (None, None) => unreachable!("a child server runs whenever --target is absent"),
    };
    let target = Target::load(profile)?;
    let client = HttpClient::new(target.ca_pem.as_deref(), crate::conform::REQUEST_TIMEOUT)
        .map_err(|e| anyhow::anyhow!("{}: ca_file: {e}", profile.display()))?;
    for url in target.urls().into_iter().chain(target.baseline_url.as_ref()) {
        if let Err(e) = client.probe(url).await {
            bail!(
                "target unreachable: {url}: {e}; is it running, and is base_url right in {}?",
                profile.display()
            );
        }
    }
    let cpu = match (&child, &target.metrics_url) {
        (Some(c), _) => cpu::CpuSource::Proc(c.child.id()),
        (None, Some(url)) => cpu::CpuSource::Metrics { url: url.clone(), client: client.clone() },
        (None, None) => cpu::CpuSource::None,
    };
    let shared = Arc::new(Shared::new(Forge::new(Arc::new(target)), client));
    Ok(LoadTarget { _child: child, shared, cpu })
}

/// Runs `overhead`; `progress` gets a line per configuration.
pub async fn run(options: Options, progress: &(dyn Fn(&str) + Sync)) -> anyhow::Result<Report> {
    let loaded = load_target(options.target.as_deref()).await?;
    let (shared, cpu) = (&loaded.shared, &loaded.cpu);
    let name = shared.forge.target().name.clone();
    let (baseline, configs) = configurations(shared, !options.new_connection).await?;
    let configs: Vec<_> =
        configs.into_iter().filter(|c| selected(&c.label, &options.methods)).collect();
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
                let side = measure(&opts, &baseline, Load::Max, opts.duration, cpu)?;
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
        for config in &configs {
            for load in &loads {
                progress(&format!("{} at {}", config.label, report::describe_load(*load)));
                rows.push(compare(&opts, &baseline, config, *load, cpu)?);
            }
        }
        Ok((rows, capacity))
    })?;
    drop(loaded);
    Ok(Report { target: name, started_at, options, cpu_source, rows, capacity })
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
