//! The users a worker runs. A user of a scenario is an open-loop arrival
//! stream: it sends at its rate whatever the answers do, each request timed
//! from its *intended* send time (so a slow target is not hidden by a user
//! waiting on it), on kept-alive connections shared by the scenario.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Empty;
use hyper::client::conn::http1;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::stats::Stats;
use crate::measure::generator::Endpoint;

/// Requests one user may have in flight; a send due beyond that is dropped
/// (and counted): the target cannot keep up with the arrival rate.
pub const MAX_IN_FLIGHT_PER_USER: usize = 64;

/// A send is late when it starts more than this after its intended time
/// (tokio's timer wheel ticks in milliseconds: a millisecond is its noise).
pub const LATE_AFTER: Duration = Duration::from_millis(5);

/// How long stopping users waits for their requests in flight.
pub const IN_FLIGHT_GRACE: Duration = Duration::from_secs(2);

/// A scenario a worker can run, as a Locust user class.
#[derive(Clone)]
pub struct Scenario {
    /// The authbench label (`api_key`, `jwt-es256`, `oauth2-journey`, …).
    pub label: String,
    /// What one arrival does.
    pub kind: Kind,
}

/// What one arrival of a scenario does.
#[derive(Clone)]
pub enum Kind {
    /// One request, with the credential minted before the test.
    Request(Endpoint),
    /// A journey (`authbench load`'s), on a client of the user's own; each
    /// step is measured under its own name.
    Journey(Journey, Arc<crate::commands::load::journeys::Context>),
}

/// The journeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journey {
    /// Log in, call, refresh, call, revoke.
    OAuth2,
    /// Create a key, use it, revoke the previous one, check it is refused.
    ApiKeyRotation,
    /// Each user with a certificate of its own.
    MtlsUsers,
}

/// The Locust user class name of authbench scenario `label`: a Python identifier.
pub fn class_name(label: &str) -> String {
    label.replace('-', "_")
}

type Sender = http1::SendRequest<Empty<Bytes>>;

struct Run {
    scenario: Scenario,
    idle: Mutex<Vec<Sender>>,
}

struct User {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

/// Every user of this worker.
pub struct Users {
    runs: BTreeMap<String, Arc<Run>>,
    users: BTreeMap<String, Vec<User>>,
    stats: Arc<Mutex<Stats>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Users {
    /// Users of `scenarios`, recording into `stats`.
    pub fn new(scenarios: Vec<Scenario>, stats: Arc<Mutex<Stats>>) -> Users {
        let runs = scenarios
            .into_iter()
            .map(|s| {
                (class_name(&s.label), Arc::new(Run { scenario: s, idle: Mutex::new(Vec::new()) }))
            })
            .collect();
        Users { runs, users: BTreeMap::new(), stats }
    }

    /// The class names this worker can run.
    pub fn classes(&self) -> Vec<String> {
        self.runs.keys().cloned().collect()
    }

    /// Users running per class, every known class listed.
    pub fn counts(&self) -> Vec<(String, u64)> {
        self.runs
            .keys()
            .map(|c| (c.clone(), self.users.get(c).map_or(0, |u| u.len() as u64)))
            .collect()
    }

    /// Users running in all.
    pub fn total(&self) -> u64 {
        self.users.values().map(|u| u.len() as u64).sum()
    }

    /// Brings each class to its wanted count, each user sending `rate`
    /// requests per second. Returns the classes this worker cannot run.
    pub async fn set(&mut self, wanted: &[(String, u64)], rate: f64) -> Vec<String> {
        let mut unknown = Vec::new();
        for (class, count) in wanted {
            let Some(run) = self.runs.get(class).cloned() else {
                if *count > 0 {
                    unknown.push(class.clone());
                }
                continue;
            };
            let running = self.users.entry(class.clone()).or_default();
            let count = *count as usize;
            while running.len() < count {
                running.push(spawn_user(Arc::clone(&run), Arc::clone(&self.stats), rate));
            }
            let mut stopping = Vec::new();
            while running.len() > count {
                stopping.extend(running.pop());
            }
            stop_all(stopping).await;
        }
        // Classes the master did not mention have no users on this worker.
        let mentioned: Vec<&String> = wanted.iter().map(|(c, _)| c).collect();
        let idle: Vec<String> =
            self.users.keys().filter(|c| !mentioned.contains(c)).cloned().collect();
        for class in idle {
            stop_all(self.users.remove(&class).unwrap_or_default()).await;
        }
        self.freeze_idle_scenarios();
        unknown
    }

    /// Stops every user, waiting for their requests in flight.
    pub async fn stop(&mut self) {
        let users: Vec<User> = std::mem::take(&mut self.users).into_values().flatten().collect();
        stop_all(users).await;
        lock(&self.stats).freeze();
    }

    /// A scenario without users stops its clock.
    fn freeze_idle_scenarios(&self) {
        let mut stats = lock(&self.stats);
        for (class, run) in &self.runs {
            if self.users.get(class).is_none_or(Vec::is_empty)
                && let Some(s) = stats.scenarios.get_mut(&run.scenario.label)
                && let Some(started) = s.started.take()
            {
                s.elapsed += started.elapsed();
            }
        }
    }
}

async fn stop_all(users: Vec<User>) {
    let mut tasks = Vec::new();
    for u in users {
        let _ = u.stop.send(());
        tasks.push(u.task);
    }
    for t in tasks {
        let _ = t.await;
    }
}

fn spawn_user(run: Arc<Run>, stats: Arc<Mutex<Stats>>, rate: f64) -> User {
    let (stop, stopped) = oneshot::channel();
    // A request scenario's clock starts with its first user; a journey's
    // steps start theirs with their first request.
    if let Kind::Request(_) = run.scenario.kind {
        let mut s = lock(&stats);
        let scenario = s.scenario(&run.scenario.label);
        if scenario.started.is_none() {
            scenario.started = Some(Instant::now());
        }
    }
    let task = tokio::spawn(async move {
        match &run.scenario.kind {
            Kind::Request(_) => user(run, stats, rate, stopped).await,
            Kind::Journey(journey, ctx) => {
                let (journey, ctx) = (*journey, Arc::clone(ctx));
                journey_user(run, journey, ctx, stats, rate, stopped).await;
            }
        }
    });
    User { stop, task }
}

/// One user: an arrival every `1/rate` seconds from a random phase, each
/// request a task of its own so the stream does not wait for answers.
async fn user(
    run: Arc<Run>,
    stats: Arc<Mutex<Stats>>,
    rate: f64,
    mut stopped: oneshot::Receiver<()>,
) {
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    // Users started together would send together: spread them over a period.
    let offset = period.mul_f64(rand::random::<f64>());
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut in_flight = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            intended = ticks.tick() => {
                let intended = intended.into_std();
                {
                    let mut s = lock(&stats);
                    let scenario = s.scenario(&run.scenario.label);
                    scenario.intended += 1;
                    if intended.elapsed() > LATE_AFTER {
                        scenario.late += 1;
                    }
                    if in_flight.len() >= MAX_IN_FLIGHT_PER_USER {
                        scenario.dropped += 1;
                        continue;
                    }
                }
                in_flight.spawn(send(Arc::clone(&run), Arc::clone(&stats), intended));
            }
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
        }
    }
    // Requests in flight finish (and count); past the grace they are
    // abandoned and counted nowhere, on this worker or the master.
    let _ = tokio::time::timeout(IN_FLIGHT_GRACE, async {
        while in_flight.join_next().await.is_some() {}
    })
    .await;
    in_flight.abort_all();
}

fn request(endpoint: &Endpoint) -> Result<hyper::Request<Empty<Bytes>>, String> {
    let (path, host) = crate::client::target_and_host(&endpoint.url);
    let mut builder = hyper::Request::get(path).header(hyper::header::HOST, host);
    for (name, value) in &endpoint.headers {
        builder = builder.header(name, value);
    }
    // A one-use credential (a DPoP proof) is minted per request, as a client does.
    if let Some(pool) = &endpoint.one_use {
        builder = builder.header(&pool.name, pool.mint_one()?);
    }
    builder.body(Empty::new()).map_err(|e| e.to_string())
}

async fn send(run: Arc<Run>, stats: Arc<Mutex<Stats>>, intended: Instant) {
    let Kind::Request(endpoint) = &run.scenario.kind else { return };
    let idle = lock(&run.idle).pop();
    let work = async {
        let mut sender = match idle {
            Some(s) => s,
            None => crate::client::keepalive::connect_to(&endpoint.url, &endpoint.tls).await?,
        };
        let request = request(endpoint)?;
        sender.ready().await.map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let length =
            crate::client::drain_body(response.into_body(), crate::client::MAX_BODY).await?;
        Ok::<_, String>((status, length, sender))
    };
    // A stalled answer holds this request no longer than the generator's timeout.
    let timeout = crate::client::keepalive::REQUEST_TIMEOUT;
    let result = match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!("no complete answer within {} s", timeout.as_secs())),
    };
    let latency = intended.elapsed();
    let mut s = lock(&stats);
    let scenario = s.scenario(&run.scenario.label);
    match result {
        Ok((status, length, sender)) => {
            lock(&run.idle).push(sender);
            if (200..300).contains(&status) {
                scenario.success(latency, length);
            } else {
                scenario.failure(latency, format!("HTTP {status}"));
            }
        }
        Err(e) => scenario.failure(latency, e),
    }
}

/// Arrivals of a journey user: the same open-loop stream, each arrival a
/// journey on the user's own client; a user's journeys take turns on its
/// state (the key in use), so a late one waits and its latency shows it.
async fn journey_user(
    run: Arc<Run>,
    journey: Journey,
    ctx: Arc<crate::commands::load::journeys::Context>,
    stats: Arc<Mutex<Stats>>,
    rate: f64,
    mut stopped: oneshot::Receiver<()>,
) {
    let client = match user_client(journey, &ctx) {
        Ok(c) => c,
        Err(e) => {
            lock(&stats).scenario(&run.scenario.label).failure(Duration::ZERO, e);
            return;
        }
    };
    let state: Arc<tokio::sync::Mutex<Option<crate::commands::load::journeys::CurrentKey>>> =
        Arc::new(tokio::sync::Mutex::new(None));
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let offset = period.mul_f64(rand::random::<f64>());
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut in_flight = JoinSet::new();
    let index = rand::random::<u32>() as usize;
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            intended = ticks.tick() => {
                if in_flight.len() >= MAX_IN_FLIGHT_PER_USER {
                    lock(&stats).scenario(&run.scenario.label).dropped += 1;
                    continue;
                }
                let mut steps = WorkerSteps {
                    client: client.clone(),
                    stats: Arc::clone(&stats),
                    intended: Some(intended.into_std()),
                };
                let (ctx, state, label) = (Arc::clone(&ctx), Arc::clone(&state), run.scenario.label.clone());
                in_flight.spawn(async move {
                    let result = match journey {
                        Journey::OAuth2 => crate::commands::load::journeys::run_oauth_journey(&mut steps, &ctx).await,
                        Journey::ApiKeyRotation => {
                            let mut key = state.lock().await;
                            match crate::commands::load::journeys::run_rotation(&mut steps, &ctx, index, key.take()).await {
                                Ok(next) => {
                                    *key = next;
                                    Ok(())
                                }
                                Err(e) => Err(e),
                            }
                        }
                        Journey::MtlsUsers => mtls_call(&mut steps, &ctx).await,
                    };
                    if let Err(e) = result {
                        lock(&steps.stats).scenario(&label).failure(Duration::ZERO, e);
                    }
                });
            }
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
        }
    }
    let _ = tokio::time::timeout(IN_FLIGHT_GRACE, async {
        while in_flight.join_next().await.is_some() {}
    })
    .await;
    in_flight.abort_all();
}

/// A journey user's client: the target's CA, and for `mtls-users` a
/// certificate of its own from the profile's client CA.
fn user_client(
    journey: Journey,
    ctx: &crate::commands::load::journeys::Context,
) -> Result<reqwest::Client, String> {
    let mut builder = ctx.client_builder()?;
    if journey == Journey::MtlsUsers {
        builder = builder.identity(crate::commands::load::journeys::own_certificate(ctx)?);
    }
    builder.build().map_err(|e| e.to_string())
}

async fn mtls_call(
    steps: &mut WorkerSteps,
    ctx: &crate::commands::load::journeys::Context,
) -> Result<(), String> {
    use crate::commands::load::journeys::Steps as _;
    let m = ctx.shared.forge.target().mtls.as_ref().ok_or("no [mtls]")?;
    let builder = steps.builder(reqwest::Method::GET, &m.url)?;
    steps.send("mtls-users", builder, 200).await?;
    Ok(())
}

/// A journey's requests on a worker: each measured under its step's name,
/// the first from the arrival's intended time.
struct WorkerSteps {
    client: reqwest::Client,
    stats: Arc<Mutex<Stats>>,
    intended: Option<Instant>,
}

impl crate::commands::load::journeys::Steps for WorkerSteps {
    fn builder(
        &mut self,
        method: reqwest::Method,
        url: &url::Url,
    ) -> Result<reqwest::RequestBuilder, String> {
        Ok(self.client.request(method, url.clone()))
    }

    fn send<'a>(
        &'a mut self,
        name: &'a str,
        builder: reqwest::RequestBuilder,
        expect: u16,
    ) -> crate::commands::load::journeys::StepFuture<'a, Result<Option<reqwest::Response>, String>>
    {
        Box::pin(async move {
            let started = self.intended.take().unwrap_or_else(Instant::now);
            let method = builder
                .try_clone()
                .and_then(|b| b.build().ok())
                .map_or_else(|| "GET".to_owned(), |r| r.method().to_string());
            let answer = builder.send().await;
            let latency = started.elapsed();
            let mut s = lock(&self.stats);
            let step = s.scenario_with(name, &method);
            match answer {
                Ok(r) if r.status().as_u16() == expect => {
                    step.success(latency, r.content_length().unwrap_or(0));
                    Ok(Some(r))
                }
                Ok(r) => {
                    step.failure(
                        latency,
                        format!("HTTP {} (expected {expect})", r.status().as_u16()),
                    );
                    Ok(Some(r))
                }
                Err(e) => {
                    step.failure(latency, e.to_string());
                    Ok(None)
                }
            }
        })
    }
}
