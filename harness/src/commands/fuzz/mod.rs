//! `authbench fuzz`: structure-aware mutation of valid credentials, sent to
//! the target and judged by an oracle.
//!
//! Candidate `i` of a run is made from a generator seeded by (seed, i) alone,
//! so a seed and an iteration count name the same candidates on every run,
//! whatever the concurrency (signatures and times are fresh: ECDSA signing
//! is randomized and tokens must be valid now). Each candidate is a valid
//! credential with one to three mutations; the oracle flags
//!
//! - an answer of 2xx to a credential a correct server must refuse
//!   (`accepts-invalid`),
//! - a 5xx (`server-error`),
//! - no answer: a reset or closed connection (`connection-reset`),
//! - an answer slower than `--slow-ms` or none within the timeout (`slow`).
//!
//! The first finding of each kind per configuration is shrunk (mutations
//! dropped while it still reproduces) and saved as the exact request.

mod candidates;
mod configurations;
mod report;
pub mod send;

use crate::methods::Method;
use crate::methods::api_key::fuzz::{self as key_fuzz, ApiKey, KeyOp};
use crate::methods::basic::fuzz::{self as basic_fuzz, Basic, BasicOp};
use crate::methods::jwt::fuzz::{self as jwt, sign};
use crate::methods::oauth2::fuzz::{self as token_fuzz, FormOp, TokenRequest};
use anyhow::{Context, bail};
use authbench_reports::{CaseResult, Outcome, Results};
use rand::RngExt as _;
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use send::{Answer, Connection, Request};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[allow(clippy::wildcard_imports)]
use candidates::*;
use configurations::configurations;
use report::case;
pub use report::write_reproducers;

/// What `fuzz` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The target profile; none: the reference servers in a child process.
    pub target: Option<PathBuf>,
    /// Methods to fuzz (basic, api_key, jwt, oauth2); none: all the profile has.
    pub methods: Option<Vec<Method>>,
    /// Candidates to send at most.
    pub iterations: u64,
    /// Time to spend at most.
    pub duration: Duration,
    /// The generator's seed.
    pub seed: u64,
    /// Concurrent connections.
    pub connections: usize,
    /// An answer slower than this is a finding.
    pub slow: Duration,
}

/// What a configuration's credentials are, valid, and how to judge them.
enum Subject {
    Jwt { base: Arc<jwt::Base>, signer: Arc<sign::Signer>, asymmetric: bool },
    Basic { user: String, password: String },
    ApiKey { header: String, key: String, scheme: Option<String>, revoked: Option<String> },
    Token { client_id: String, secret: String, scope: Option<String> },
}

struct Configuration {
    label: String,
    method: Method,
    url: url::Url,
    weight: u32,
    subject: Subject,
}

/// A candidate's mutations.
#[derive(Debug, Clone)]
enum Ops {
    Jwt(Vec<jwt::Op>),
    Basic(Vec<BasicOp>),
    Key(Vec<KeyOp>),
    Form(Vec<FormOp>),
}

impl Ops {
    fn len(&self) -> usize {
        match self {
            Ops::Jwt(v) => v.len(),
            Ops::Basic(v) => v.len(),
            Ops::Key(v) => v.len(),
            Ops::Form(v) => v.len(),
        }
    }

    fn without(&self, i: usize) -> Ops {
        fn drop<T: Clone>(v: &[T], i: usize) -> Vec<T> {
            v.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, x)| x.clone()).collect()
        }
        match self {
            Ops::Jwt(v) => Ops::Jwt(drop(v, i)),
            Ops::Basic(v) => Ops::Basic(drop(v, i)),
            Ops::Key(v) => Ops::Key(drop(v, i)),
            Ops::Form(v) => Ops::Form(drop(v, i)),
        }
    }

    fn names(&self) -> Vec<String> {
        match self {
            Ops::Jwt(v) => v.iter().map(jwt::Op::name).collect(),
            Ops::Basic(v) => v.iter().map(BasicOp::name).collect(),
            Ops::Key(v) => v.iter().map(KeyOp::name).collect(),
            Ops::Form(v) => v.iter().map(FormOp::name).collect(),
        }
    }
}

/// The kinds of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// 2xx for a credential that must be refused.
    AcceptsInvalid,
    /// 5xx.
    ServerError,
    /// No answer.
    ConnectionReset,
    /// Slower than the bound.
    Slow,
}

impl Kind {
    const ALL: [Kind; 4] =
        [Kind::AcceptsInvalid, Kind::ServerError, Kind::ConnectionReset, Kind::Slow];

    fn id(self) -> &'static str {
        match self {
            Kind::AcceptsInvalid => "accepts-invalid",
            Kind::ServerError => "server-error",
            Kind::ConnectionReset => "connection-reset",
            Kind::Slow => "slow",
        }
    }
}

/// A finding, shrunk.
#[derive(Debug, Clone)]
struct Finding {
    iteration: u64,
    ops: Ops,
    request: Request,
    answer: Answer,
    elapsed: Duration,
}

#[derive(Default)]
struct Tally {
    findings: u64,
    first: Option<Finding>,
}

/// splitmix64: candidate i's seed from the run's.
fn mix(seed: u64, i: u64) -> u64 {
    let mut z = seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The run's outcome.
pub struct Run {
    /// The results, one case per configuration and kind.
    pub results: Results,
    /// Reproducers: file name and exact request bytes.
    pub reproducers: Vec<(String, Vec<u8>)>,
    /// Candidates sent.
    pub sent: u64,
    /// Requests per second.
    pub rate: f64,
}

/// Runs the fuzzer.
pub async fn run(options: Options, progress: &(dyn Fn(&str) + Sync)) -> anyhow::Result<Run> {
    let child = match &options.target {
        Some(_) => None,
        None => Some(crate::embedded::start_child_server(std::process::Command::spawn)?),
    };
    let profile: PathBuf = match (&options.target, &child) {
        (Some(p), _) => p.clone(),
        (None, Some(c)) => c.profile.clone(),
        (None, None) => unreachable!("a child server runs whenever --target is absent"),
    };
    let target = crate::methods::Target::load(&profile)?;
    let timeout = options.slow.max(Duration::from_secs(2)) * 3;
    let client = crate::client::HttpClient::new(target.ca_pem.as_deref(), timeout)
        .map_err(|e| anyhow::anyhow!("{}: ca_file: {e}", profile.display()))?;
    // The token endpoint from the authorization server's metadata.
    let token_endpoint = match &target.oauth2 {
        Some(_) => {
            let shared = crate::methods::Shared::new(
                crate::methods::forge::Forge::new(Arc::new(crate::methods::Target::load(
                    &profile,
                )?)),
                client.clone(),
            );
            let session = crate::methods::oauth2::Session::open(&shared)
                .await
                .map_err(|e| anyhow::anyhow!("OAuth discovery: {e}"))?;
            Some(session.meta.token_endpoint.clone())
        }
        None => None,
    };
    let configs = Arc::new(configurations(&target, &options.methods, token_endpoint)?);
    for c in configs.iter() {
        if let Err(e) = client.probe(&c.url).await {
            bail!(
                "target unreachable: {}: {e}; is it running, and is base_url right in {}?",
                c.url,
                profile.display()
            );
        }
    }
    let tls = client.load_config(None, true).map_err(anyhow::Error::msg)?;
    let started_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let clock = Instant::now();
    let deadline = clock + options.duration;
    let next = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let tallies: Arc<Mutex<BTreeMap<(usize, Kind), Tally>>> = Arc::new(Mutex::new(BTreeMap::new()));
    let per_config = Arc::new((0..configs.len()).map(|_| AtomicU64::new(0)).collect::<Vec<_>>());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..options.connections.max(1) {
        let (configs, next, sent, tallies, per_config) = (
            Arc::clone(&configs),
            Arc::clone(&next),
            Arc::clone(&sent),
            Arc::clone(&tallies),
            Arc::clone(&per_config),
        );
        let mut conn = Connection::new(Arc::clone(&tls), client.clone(), timeout);
        let (seed, iterations, slow) = (options.seed, options.iterations, options.slow);
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= iterations || Instant::now() >= deadline {
                    break;
                }
                let (index, ops) = candidate(&configs, seed, i);
                let config = &configs[index];
                let request = render(config, &ops);
                let (answer, elapsed) = conn.send(&request).await;
                sent.fetch_add(1, Ordering::Relaxed);
                per_config[index].fetch_add(1, Ordering::Relaxed);
                if let Some(kind) = judge(config, &request, &answer, elapsed, slow) {
                    let mut t = tallies.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let tally = t.entry((index, kind)).or_default();
                    tally.findings += 1;
                    if tally.first.as_ref().is_none_or(|f| f.iteration > i) {
                        tally.first = Some(Finding { iteration: i, ops, request, answer, elapsed });
                    }
                }
            }
        });
    }
    let mut last = Instant::now();
    loop {
        tokio::select! {
            done = tasks.join_next() => {
                if done.is_none() { break; }
            }
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
        if last.elapsed() >= Duration::from_secs(2) {
            last = Instant::now();
            let n = sent.load(Ordering::Relaxed);
            let findings: u64 = tallies
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .values()
                .map(|t| t.findings)
                .sum();
            progress(&format!(
                "{n} of {} candidates, {:.0} req/s, {findings} findings",
                options.iterations,
                n as f64 / clock.elapsed().as_secs_f64()
            ));
        }
    }
    let elapsed = clock.elapsed();
    let total = sent.load(Ordering::Relaxed);
    let rate = total as f64 / elapsed.as_secs_f64().max(1e-9);

    // Shrink each first finding: drop mutations while the same kind reproduces.
    let mut tallies =
        std::mem::take(&mut *tallies.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    let mut conn = Connection::new(Arc::clone(&tls), client.clone(), timeout);
    for ((index, kind), tally) in tallies.iter_mut() {
        let Some(finding) = tally.first.as_mut() else { continue };
        progress(&format!(
            "shrinking the first {} finding on {}",
            kind.id(),
            configs[*index].label
        ));
        let config = &configs[*index];
        let mut i = 0;
        while i < finding.ops.len() && finding.ops.len() > 1 {
            let smaller = finding.ops.without(i);
            let request = render(config, &smaller);
            let (answer, elapsed) = conn.send(&request).await;
            if judge(config, &request, &answer, elapsed, options.slow) == Some(*kind) {
                *finding = Finding {
                    iteration: finding.iteration,
                    ops: smaller,
                    request,
                    answer,
                    elapsed,
                };
            } else {
                i += 1;
            }
        }
    }
    drop(child);

    let mut cases = Vec::new();
    let mut reproducers = Vec::new();
    for (index, config) in configs.iter().enumerate() {
        let candidates = per_config[index].load(Ordering::Relaxed);
        for kind in Kind::ALL {
            let tally = tallies.remove(&(index, kind)).unwrap_or_default();
            let id = format!("fuzz::{}::{}", config.label, kind.id());
            let (outcome, observed) = match &tally.first {
                None => (Outcome::Pass, format!("none of {candidates} candidates")),
                Some(f) => {
                    let file = format!("{}-{}.http", config.label, kind.id());
                    reproducers.push((file.clone(), f.request.to_http()));
                    let answer = match &f.answer {
                        Answer::Status(s) => format!("{s}"),
                        Answer::Failed(e) => format!("no answer ({e})"),
                        Answer::Timeout => "no answer in time".to_owned(),
                    };
                    (
                        Outcome::Fail,
                        format!(
                            "{} of {candidates} candidates; first at iteration {} (seed {}): {} → {answer} in {} ms; reproducer reproducers/{file}",
                            tally.findings,
                            f.iteration,
                            options.seed,
                            f.ops.names().join(", "),
                            f.elapsed.as_millis()
                        ),
                    )
                }
            };
            cases.push(case(config, kind, id, outcome, observed, options.slow));
        }
    }
    let results = Results::new(&target.name, started_at, elapsed.as_millis() as u64, cases);
    Ok(Run { results, reproducers, sent: total, rate })
}

/// `authbench fuzz` from the command line.
pub fn command(args: crate::cli::FuzzArgs) -> anyhow::Result<u8> {
    if !(args.duration > 0.0
        && args.duration <= crate::commands::overhead::MAX_DURATION.as_secs_f64())
    {
        bail!(
            "--duration must be between 0 and {} seconds",
            crate::commands::overhead::MAX_DURATION.as_secs()
        );
    }
    if args.iterations == 0 || args.iterations > 100_000_000 {
        bail!("--iterations must be between 1 and 100000000");
    }
    if args.connections == 0 || args.connections > 1024 {
        bail!("--connections must be between 1 and 1024");
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    let methods = crate::catalog::parse_methods(args.methods.as_deref())?;
    let options = Options {
        target: args.target,
        methods,
        iterations: args.iterations,
        duration: Duration::from_secs_f64(args.duration),
        seed,
        connections: args.connections,
        slow: Duration::from_millis(args.slow_ms.max(1)),
    };
    eprintln!("authbench: fuzzing with seed {seed} (repeat with --seed {seed})");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let progress = |line: &str| eprintln!("authbench: fuzz: {line}");
    let run = runtime.block_on(run(options, &progress))?;
    eprintln!(
        "authbench: fuzz: {} candidates in {:.1} s, {:.0} req/s",
        run.sent,
        run.results.duration_ms as f64 / 1000.0,
        run.rate
    );
    if let Some(dir) = &args.out {
        crate::output::emit_files(&run.results, dir)?;
        write_reproducers(dir, &run.reproducers)?;
    }
    crate::output::emit(&run.results, args.format.into(), None, true)?;
    Ok(if run.results.failed(false) { crate::cli::EXIT_FAILED } else { crate::cli::EXIT_OK })
}
