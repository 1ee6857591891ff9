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

pub mod credentials;
pub mod jwt;
pub mod send;
pub mod sign;
pub mod wycheproof;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use authbench_reports::{CaseResult, Outcome, Results};
use rand::RngExt as _;
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use crate::methods::Method;

use credentials::{ApiKey, Basic, BasicOp, FormOp, KeyOp, TokenRequest};
use send::{Answer, Connection, Request};

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

pub use crate::cli::DEFAULT_ITERATIONS;

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

fn configurations(
    target: &crate::target::Target,
    methods: &Option<Vec<Method>>,
    token_endpoint: Option<url::Url>,
) -> anyhow::Result<Vec<Configuration>> {
    let wanted = |m: Method| methods.as_ref().is_none_or(|list| list.contains(&m));
    let mut out = Vec::new();
    if let (Some(j), true) = (&target.jwt, wanted(Method::Jwt)) {
        let mut resources = vec![(j.algorithm, j.url.clone(), j.signing_key.clone())];
        resources.extend(j.variants.iter().cloned());
        let forge = crate::methods::jwt::forge::JwtForge::new(j.clone());
        let valid = forge.valid_token().ok();
        let claims_of = |token: &str| -> Vec<(String, Value)> {
            use base64::Engine as _;
            token
                .split('.')
                .nth(1)
                .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok())
                .and_then(|b| serde_json::from_slice::<serde_json::Map<String, Value>>(&b).ok())
                .map(|m| m.into_iter().collect())
                .unwrap_or_default()
        };
        for (alg, url, key) in resources {
            let Some(key) = key else { continue };
            let name = crate::methods::jwt::forge::alg_name(alg);
            let signer =
                sign::Signer::new(&key).map_err(|e| anyhow::anyhow!("[jwt] {name}: {e}"))?;
            let mut header = vec![("alg".to_owned(), json!(name))];
            header.push(("typ".to_owned(), json!("at+jwt")));
            let mut claims = valid.as_deref().map(claims_of).unwrap_or_default();
            claims.retain(|(k, _)| !matches!(k.as_str(), "exp" | "nbf" | "iat"));
            if claims.is_empty() {
                claims = vec![
                    ("iss".into(), json!(j.issuer)),
                    ("aud".into(), json!(j.audience)),
                    ("sub".into(), json!("authbench")),
                ];
                if let Some(s) = &j.required_scope {
                    claims.push(("scope".into(), json!(s)));
                }
            }
            let asymmetric = key.public_pem.is_some();
            let public_jwk = if asymmetric {
                crate::methods::jwt::forge::public_jwk_text(&key.encoding, alg).ok()
            } else {
                None
            };
            let base = jwt::Base {
                header,
                claims,
                alg: name,
                issuer: j.issuer.clone(),
                audience: j.audience.clone(),
                scope: j.required_scope.clone(),
                leeway: j.leeway_seconds,
                public_pem: key.public_pem.clone(),
                public_jwk,
            };
            out.push(Configuration {
                label: format!("jwt-{}", name.to_ascii_lowercase()),
                method: Method::Jwt,
                url,
                weight: 0,
                subject: Subject::Jwt {
                    base: Arc::new(base),
                    signer: Arc::new(signer),
                    asymmetric,
                },
            });
        }
    }
    if let (Some(a), true) = (&target.api_key, wanted(Method::ApiKey)) {
        out.push(Configuration {
            label: Method::ApiKey.name().into(),
            method: Method::ApiKey,
            url: a.url.clone(),
            weight: 0,
            subject: Subject::ApiKey {
                header: a.header.clone().unwrap_or_else(|| "Authorization".into()),
                key: a.key.clone(),
                scheme: match &a.header {
                    None => Some(a.scheme.clone().unwrap_or_else(|| "Bearer".into())),
                    Some(_) => a.scheme.clone(),
                },
                revoked: a.revoked_key.clone(),
            },
        });
    }
    if let (Some(b), true) = (&target.basic, wanted(Method::Basic)) {
        out.push(Configuration {
            label: Method::Basic.name().into(),
            method: Method::Basic,
            url: b.cached_url.clone().unwrap_or_else(|| b.url.clone()),
            weight: 0,
            subject: Subject::Basic { user: b.username.clone(), password: b.password.clone() },
        });
    }
    if let (Some(o), true, Some(token_url)) =
        (&target.oauth2, wanted(Method::OAuth2), token_endpoint)
        && let Some(secret) = &o.client_secret
    {
        out.push(Configuration {
            label: "oauth2-token".into(),
            method: Method::OAuth2,
            url: token_url,
            weight: 0,
            subject: Subject::Token {
                client_id: o.client_id.clone(),
                secret: secret.clone(),
                scope: o.scope.clone(),
            },
        });
    }
    // JWT resources take most of the traffic: they are where parsers are
    // richest and cheapest to reach. Basic (argon2 behind a lockout), API keys
    // (throttled per client) and the token endpoint (a durable write per
    // token) get a few percent each.
    let jwts = out.iter().filter(|c| c.method == Method::Jwt).count().max(1) as u32;
    for c in &mut out {
        c.weight = match c.method {
            Method::Jwt => 900 / jwts,
            Method::ApiKey => 50,
            _ => 25,
        };
    }
    if out.is_empty() {
        bail!(
            "nothing to fuzz: the profile has none of the methods asked for (basic, api_key, jwt with a signing_key_file, oauth2 with a client_secret)"
        );
    }
    Ok(out)
}

/// Candidate `i`: a configuration and its mutations.
fn candidate(configs: &[Configuration], seed: u64, i: u64) -> (usize, Ops) {
    let mut rng = StdRng::seed_from_u64(mix(seed, i));
    let total: u32 = configs.iter().map(|c| c.weight).sum();
    let mut pick = rng.random_range(0..total.max(1));
    let mut index = 0;
    for (n, c) in configs.iter().enumerate() {
        if pick < c.weight {
            index = n;
            break;
        }
        pick -= c.weight;
    }
    let count = match rng.random_range(0..10) {
        0..=5 => 1,
        6..=8 => 2,
        _ => 3,
    };
    let ops = match &configs[index].subject {
        Subject::Jwt { base, asymmetric, .. } => {
            Ops::Jwt((0..count).map(|_| jwt::Op::random(&mut rng, base, *asymmetric)).collect())
        }
        Subject::Basic { user, password } => {
            Ops::Basic((0..count).map(|_| BasicOp::random(&mut rng, user, password)).collect())
        }
        Subject::ApiKey { .. } => Ops::Key((0..count).map(|_| KeyOp::random(&mut rng)).collect()),
        Subject::Token { .. } => Ops::Form((0..count).map(|_| FormOp::random(&mut rng)).collect()),
    };
    (index, ops)
}

/// The request for `ops` on `config`.
fn render(config: &Configuration, ops: &Ops) -> Request {
    let get = |headers: Vec<(String, Vec<u8>)>| Request {
        method: "GET",
        url: config.url.clone(),
        headers,
        body: Vec::new(),
    };
    match (&config.subject, ops) {
        (Subject::Jwt { base, signer, .. }, Ops::Jwt(ops)) => {
            let mut t = jwt::Jwt::valid(base);
            for op in ops {
                t.apply(op);
            }
            get(vec![("Authorization".into(), t.render(base, signer))])
        }
        (Subject::Basic { user, password }, Ops::Basic(ops)) => {
            let mut b = Basic::valid(user, password);
            for op in ops {
                b.apply(op);
            }
            get(vec![("Authorization".into(), b.render())])
        }
        (Subject::ApiKey { header, key, scheme, revoked }, Ops::Key(ops)) => {
            let mut k = ApiKey::valid(key, scheme.as_deref());
            for op in ops {
                k.apply(op, revoked.as_deref());
            }
            get(vec![(header.clone(), k.render())])
        }
        (Subject::Token { client_id, secret, scope }, Ops::Form(ops)) => {
            let mut r = TokenRequest::valid(client_id, secret, scope.as_deref());
            for op in ops {
                r.apply(op);
            }
            let (auth, body) = r.render();
            let mut headers =
                vec![("Content-Type".to_owned(), b"application/x-www-form-urlencoded".to_vec())];
            if let Some(a) = auth {
                headers.push(("Authorization".into(), a));
            }
            Request { method: "POST", url: config.url.clone(), headers, body }
        }
        _ => unreachable!("a configuration's candidates have its mutations"),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The finding `answer` to `request` makes, if any.
fn judge(
    config: &Configuration,
    request: &Request,
    answer: &Answer,
    elapsed: Duration,
    slow: Duration,
) -> Option<Kind> {
    match answer {
        Answer::Failed(_) => return Some(Kind::ConnectionReset),
        Answer::Timeout => return Some(Kind::Slow),
        Answer::Status(s) if *s >= 500 => return Some(Kind::ServerError),
        Answer::Status(s) if (200..300).contains(s) => {
            let header = |name: &str| {
                request
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.as_slice())
            };
            let ok = match &config.subject {
                Subject::Jwt { base, signer, .. } => {
                    // Too close to a time boundary to judge: not a finding.
                    jwt::acceptable(
                        header("Authorization").unwrap_or_default(),
                        base,
                        signer,
                        now(),
                    )
                    .unwrap_or(true)
                }
                Subject::Basic { user, password } => credentials::basic_acceptable(
                    header("Authorization").unwrap_or_default(),
                    user,
                    password,
                ),
                Subject::ApiKey { header: name, key, scheme, .. } => credentials::key_acceptable(
                    header(name).unwrap_or_default(),
                    key,
                    scheme.as_deref(),
                ),
                Subject::Token { client_id, secret, .. } => credentials::token_request_acceptable(
                    header("Authorization"),
                    &request.body,
                    client_id,
                    secret,
                ),
            };
            if !ok {
                return Some(Kind::AcceptsInvalid);
            }
        }
        Answer::Status(_) => {}
    }
    (elapsed > slow).then_some(Kind::Slow)
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
        None => Some(crate::embedded::start_child_server()?),
    };
    let profile: PathBuf = match (&options.target, &child) {
        (Some(p), _) => p.clone(),
        (None, Some(c)) => c.profile.clone(),
        (None, None) => unreachable!("a child server runs whenever --target is absent"),
    };
    let target = crate::target::Target::load(&profile)?;
    let timeout = options.slow.max(Duration::from_secs(2)) * 3;
    let client = crate::client::HttpClient::new(target.ca_pem.as_deref(), timeout)
        .map_err(|e| anyhow::anyhow!("{}: ca_file: {e}", profile.display()))?;
    // The token endpoint from the authorization server's metadata.
    let token_endpoint = match &target.oauth2 {
        Some(_) => {
            let shared = crate::methods::Shared::new(
                crate::methods::forge::Forge::new(Arc::new(crate::target::Target::load(&profile)?)),
                client.clone(),
            );
            let session = crate::methods::oauth2::Session::open(&shared).await.map_err(|v| {
                anyhow::anyhow!("OAuth discovery: {}", v.reason.unwrap_or_default())
            })?;
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

fn case(
    config: &Configuration,
    kind: Kind,
    id: String,
    outcome: Outcome,
    observed: String,
    slow: Duration,
) -> CaseResult {
    let (title, expected, requirements): (String, String, Vec<&str>) = match kind {
        Kind::AcceptsInvalid => (
            format!(
                "{}: mutated credentials that are not equivalent to a valid one are refused",
                config.label
            ),
            "no 2xx for any credential a correct server must refuse".into(),
            match config.method {
                Method::Jwt => vec!["RFC 7515 §5.2", "RFC 7519 §7.2", "RFC 8725 §3.1"],
                Method::Basic => vec!["RFC 7617 §2"],
                Method::ApiKey => vec!["OWASP API2:2023"],
                _ => vec!["RFC 6749 §2.3", "RFC 6749 §3.2"],
            },
        ),
        Kind::ServerError => (
            format!("{}: malformed credentials never cause a server error", config.label),
            "a 4xx for every malformed credential, never 5xx".into(),
            vec!["RFC 9110 §15.5", "OWASP API8:2023"],
        ),
        Kind::ConnectionReset => (
            format!("{}: malformed credentials are answered, never dropped", config.label),
            "an HTTP answer to every request".into(),
            vec!["RFC 9112 §9.6"],
        ),
        Kind::Slow => (
            format!("{}: malformed credentials are refused promptly", config.label),
            format!("every answer within {} ms", slow.as_millis()),
            vec!["OWASP API4:2023"],
        ),
    };
    CaseResult {
        id,
        method: config.method.name().to_owned(),
        title,
        requirements: requirements.into_iter().map(str::to_owned).collect(),
        severity: "must".to_owned(),
        outcome,
        expected,
        observed,
        reason: None,
        duration_ms: 0,
        measurement: None,
        parts: None,
        findings: Vec::new(),
    }
}

/// Writes the reproducers into `dir/reproducers` (0600: they hold credentials).
pub fn write_reproducers(dir: &Path, reproducers: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    if reproducers.is_empty() {
        return Ok(());
    }
    let dir = dir.join("reproducers");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("--out: cannot create {}", dir.display()))?;
    for (name, bytes) in reproducers {
        let path = dir.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options
            .open(&path)
            .with_context(|| format!("--out: cannot write {}", path.display()))?;
        std::io::Write::write_all(&mut file, bytes)?;
    }
    Ok(())
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
