//! `authbench worker`: a Locust worker. It joins a Locust master (Python,
//! from PyPI) over Locust's ZeroMQ + msgpack protocol, as Boomer (Go) and
//! locust4j (Java) do, and runs authbench's scenarios as Locust users: the
//! master coordinates, ramps and reports; the worker measures.
//!
//! - `protocol.rs`: the messages.
//! - `stats.rs`: Locust's stats format, and authbench's own counts and
//!   HdrHistograms (the `authbench_histograms` message).
//! - `users.rs`: the users, open-loop arrival streams.
//! - `locustfile.rs`: the master-side locustfile (`authbench locustfile`).
//! - `merge.rs`: the saved histograms of every worker into one overhead report.
//!
//! The connection: zeromq 0.7's DEALER does not reconnect (only its SUB
//! sockets have a reconnect task), so the worker replaces its socket itself
//! when the connection drops or the master stops answering heartbeats, and
//! announces itself again (`client_ready`) until the master acknowledges.

pub mod locustfile;
pub mod merge;
pub mod protocol;
pub mod stats;
pub mod users;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use rmpv::Value;
use zeromq::{Socket, SocketEvent, SocketRecv, SocketSend};

use protocol::{FromMaster, Message};
use stats::Stats;
use users::{Scenario, Users};

/// How often the worker sends a heartbeat (Locust: every second).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// How often it reports stats (Locust: every 3 s).
pub const REPORT_INTERVAL: Duration = Duration::from_secs(3);
/// Requests per second per user when the master does not say (`--authbench-rate`).
pub const DEFAULT_RATE: f64 = 10.0;

/// What the worker was asked to do.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The master's `host:port`.
    pub master: String,
    /// The node id (the ZeroMQ identity); default `<hostname>_<random hex>`.
    pub node_id: String,
    /// Give up when the master cannot be reached for this long.
    pub connect_timeout: Duration,
    /// Reconnect when the master has not answered a heartbeat for this long.
    pub master_timeout: Duration,
}

/// A node id as Locust makes them: host name, underscore, 32 hex digits.
pub fn default_node_id() -> String {
    let host = rustix::system::uname().nodename().to_string_lossy().into_owned();
    let random: u128 = rand::random();
    format!("{host}_{random:032x}")
}

/// What happened on the connection.
enum Incoming {
    Message(Message),
    Malformed(String),
    Lost(String),
}

/// A connection to the master.
struct Link {
    send: zeromq::DealerSendHalf,
    incoming: tokio::sync::mpsc::Receiver<Incoming>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Link {
    async fn send(&mut self, message: &Message) -> Result<(), String> {
        self.send
            .send(zeromq::ZmqMessage::from(message.encode()))
            .await
            .map_err(|e| format!("sending {}: {e}", message.kind))
    }
}

/// Connects to `endpoint` as `node_id`, retrying until `deadline`.
async fn connect(endpoint: &str, node_id: &str, deadline: Instant) -> anyhow::Result<Link> {
    let mut delay = Duration::from_millis(50);
    loop {
        let mut options = zeromq::SocketOptions::default();
        options.peer_identity(
            zeromq::util::PeerIdentity::try_from(node_id.as_bytes().to_vec())
                .map_err(|e| anyhow::anyhow!("node id {node_id}: {e}"))?,
        );
        options.connect_timeout(Duration::from_secs(2));
        let mut socket = zeromq::DealerSocket::with_options(options);
        let mut monitor = socket.monitor();
        match socket.connect(endpoint).await {
            Ok(()) => {
                let (send, mut recv) = socket.split();
                let (tx, incoming) = tokio::sync::mpsc::channel(256);
                let reader = tokio::spawn(async move {
                    loop {
                        let item = tokio::select! {
                            received = recv.recv() => match received {
                                Ok(frames) => match frames.into_vec().pop() {
                                    Some(payload) => match Message::decode(&payload) {
                                        Ok(m) => Incoming::Message(m),
                                        Err(e) => Incoming::Malformed(e.to_string()),
                                    },
                                    None => continue,
                                },
                                Err(e) => Incoming::Lost(e.to_string()),
                            },
                            event = monitor.next() => match event {
                                Some(SocketEvent::Disconnected(_)) | None => {
                                    Incoming::Lost("the master closed the connection".to_owned())
                                }
                                Some(_) => continue,
                            },
                        };
                        let lost = matches!(item, Incoming::Lost(_));
                        if tx.send(item).await.is_err() || lost {
                            return;
                        }
                    }
                });
                return Ok(Link { send, incoming, reader });
            }
            Err(e) if Instant::now() + delay < deadline => {
                tracing::debug!(error = %e, "master not reachable yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
            Err(e) => bail!("cannot reach the Locust master at {endpoint}: {e}"),
        }
    }
}

/// The worker's life: `Ok` with its own measurements when the master says
/// `quit` (or the process is interrupted).
pub async fn run(options: &WorkerOptions, scenarios: Vec<Scenario>) -> anyhow::Result<Stats> {
    let endpoint = format!("tcp://{}", options.master);
    let node = options.node_id.as_str();
    let stats = Arc::new(Mutex::new(Stats::default()));
    let mut users = Users::new(scenarios, Arc::clone(&stats));
    // Installed before the master can see this worker, so a stop signal is
    // never met by the default action.
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut link = connect(&endpoint, node, Instant::now() + options.connect_timeout).await?;
    let mut session = Session::new();
    let mut last_master = Instant::now();
    let mut cpu = CpuMeter::new();
    let mut heartbeat = tokio::time::interval(HEARTBEAT_INTERVAL);
    let mut report = tokio::time::interval(REPORT_INTERVAL);
    // Both fire at once when created: the first announcement is sent below.
    heartbeat.tick().await;
    report.tick().await;
    // Sends, and on failure treats the master as lost.
    macro_rules! send {
        ($message:expr) => {{
            let message = $message;
            if let Err(e) = link.send(&message).await {
                tracing::warn!(error = %e, "lost the master");
                session.lost(&mut users).await;
                link = connect(&endpoint, node, Instant::now() + options.connect_timeout).await?;
                last_master = Instant::now();
                continue;
            }
        }};
    }
    link.send(&protocol::client_ready(node)).await.map_err(anyhow::Error::msg)?;
    loop {
        tokio::select! {
            incoming = link.incoming.recv() => match incoming {
                Some(Incoming::Message(message)) => {
                    last_master = Instant::now();
                    match FromMaster::parse(&message) {
                        FromMaster::Ack(index) => {
                            if !session.acked {
                                tracing::info!(?index, "the master acknowledged this worker");
                            }
                            session.acked = true;
                        }
                        FromMaster::Heartbeat => {}
                        FromMaster::Spawn(job) => {
                            send!(Message::new("spawning", Value::Nil, node));
                            if job.timestamp <= session.last_spawn {
                                continue;
                            }
                            session.last_spawn = job.timestamp;
                            if !matches!(session.state, "running" | "spawning") {
                                lock(&stats).clear();
                                session.reported_unknown.clear();
                            }
                            session.state = "spawning";
                            let rate = protocol::get(&job.options, "authbench_rate")
                                .and_then(protocol::number)
                                .filter(|r| *r > 0.0)
                                .unwrap_or(DEFAULT_RATE);
                            let unknown = users.set(&job.user_classes_count, rate).await;
                            for class in unknown {
                                if !session.reported_unknown.contains(&class) {
                                    send!(protocol::exception(node, &format!(
                                        "authbench worker {node} cannot run user class {class}: its target profile offers {}",
                                        users.classes().join(", ")
                                    )));
                                    session.reported_unknown.push(class);
                                }
                            }
                            send!(protocol::spawning_complete(node, &users.counts()));
                            session.state = "running";
                        }
                        FromMaster::Stop => {
                            session.state = "stopping";
                            users.stop().await;
                            // Every sample before client_stopped: the master
                            // forgets this worker when that arrives.
                            send!(lock(&stats).report(node, &users.counts()));
                            send!(lock(&stats).snapshot(node).message());
                            send!(Message::new("client_stopped", Value::Nil, node));
                            send!(protocol::client_ready(node));
                            session.acked = false;
                            session.state = "ready";
                        }
                        FromMaster::Quit => {
                            users.stop().await;
                            finish(&mut link, &stats, &users, node).await;
                            return Ok(take(&stats));
                        }
                        FromMaster::Reconnect => {
                            tracing::info!("the master asked for a new connection");
                            session.lost(&mut users).await;
                            link = connect(&endpoint, node, Instant::now() + options.connect_timeout).await?;
                            send!(protocol::client_ready(node));
                        }
                        FromMaster::Other(kind) => {
                            tracing::debug!(kind, "ignored a message from the master");
                        }
                    }
                }
                Some(Incoming::Malformed(e)) => tracing::warn!(error = %e, "ignored a malformed message"),
                lost_or_closed => {
                    let reason = match lost_or_closed {
                        Some(Incoming::Lost(reason)) => reason,
                        _ => "the connection closed".to_owned(),
                    };
                    tracing::warn!(reason, "lost the master; reconnecting");
                    session.lost(&mut users).await;
                    link = connect(&endpoint, node, Instant::now() + options.connect_timeout).await?;
                    last_master = Instant::now();
                    send!(protocol::client_ready(node));
                }
            },
            _ = heartbeat.tick() => {
                if !session.acked {
                    // Announce until acknowledged (Locust's master may be starting).
                    send!(protocol::client_ready(node));
                } else if last_master.elapsed() > options.master_timeout {
                    tracing::warn!(
                        silent_secs = last_master.elapsed().as_secs(),
                        "the master stopped answering; reconnecting"
                    );
                    session.lost(&mut users).await;
                    link = connect(&endpoint, node, Instant::now() + options.connect_timeout).await?;
                    last_master = Instant::now();
                    send!(protocol::client_ready(node));
                } else {
                    let (cpu_percent, memory) = cpu.sample();
                    send!(protocol::heartbeat(node, session.state, cpu_percent, memory));
                }
            }
            _ = report.tick() => {
                if session.acked && session.state != "ready" {
                    send!(lock(&stats).report(node, &users.counts()));
                    send!(lock(&stats).snapshot(node).message());
                }
            }
            _ = terminate.recv() => {
                users.stop().await;
                finish(&mut link, &stats, &users, node).await;
                let _ = link.send(&Message::new("quit", Value::Nil, node)).await;
                return Ok(take(&stats));
            }
            _ = interrupt.recv() => {
                users.stop().await;
                finish(&mut link, &stats, &users, node).await;
                let _ = link.send(&Message::new("quit", Value::Nil, node)).await;
                return Ok(take(&stats));
            }
        }
    }
}

fn signal(kind: tokio::signal::unix::SignalKind) -> anyhow::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind).context("installing a signal handler")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn take(stats: &Mutex<Stats>) -> Stats {
    std::mem::take(&mut *lock(stats))
}

/// Where the worker stands with its master.
struct Session {
    /// The master acknowledged the last `client_ready`.
    acked: bool,
    /// Locust's worker state, sent in heartbeats.
    state: &'static str,
    /// The last spawn's timestamp; older or equal ones are duplicates.
    last_spawn: f64,
    /// Classes already reported as not runnable here.
    reported_unknown: Vec<String>,
}

impl Session {
    fn new() -> Session {
        Session { acked: false, state: "ready", last_spawn: f64::MIN, reported_unknown: Vec::new() }
    }

    /// The master is gone: its test is over for this worker; a new master
    /// starts from nothing.
    async fn lost(&mut self, users: &mut Users) {
        users.stop().await;
        *self = Session::new();
    }
}

/// The last stats and histograms, then a linger: until the master closes the
/// connection (it exits half a second after `quit`) or a second passes, so
/// the queued messages reach it.
async fn finish(link: &mut Link, stats: &Mutex<Stats>, users: &Users, node: &str) {
    let report = lock(stats).report(node, &users.counts());
    let snapshot = lock(stats).snapshot(node).message();
    for message in [report, snapshot] {
        if let Err(e) = link.send(&message).await {
            tracing::warn!(error = %e, "the final stats did not go out");
            return;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(incoming) = link.incoming.recv().await {
            if matches!(incoming, Incoming::Lost(_)) {
                break;
            }
        }
    })
    .await;
}

/// This process's CPU use since the last sample, in percent of one core
/// (as psutil's `cpu_percent` gives it), and its resident memory.
struct CpuMeter {
    last: Option<(Instant, f64)>,
}

impl CpuMeter {
    fn new() -> CpuMeter {
        CpuMeter { last: None }
    }

    fn sample(&mut self) -> (f64, u64) {
        let now = Instant::now();
        let cpu = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| crate::measure::cpu::parse_proc_stat(&s));
        let percent = match (self.last, cpu) {
            (Some((then, before)), Some(cpu)) => {
                let wall = now.duration_since(then).as_secs_f64();
                if wall > 0.0 { ((cpu - before) / wall * 100.0).max(0.0) } else { 0.0 }
            }
            _ => 0.0,
        };
        if let Some(cpu) = cpu {
            self.last = Some((now, cpu));
        }
        let memory = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map_or(0, |pages| pages * rustix::param::page_size() as u64);
        (percent, memory)
    }
}

/// The worker's scenarios: every configuration `overhead` measures on
/// `shared`'s target, the baseline among them, and `load`'s journeys the
/// target allows.
pub async fn scenarios(shared: &Arc<crate::methods::Shared>) -> anyhow::Result<Vec<Scenario>> {
    use users::{Journey, Kind};
    let (baseline, configurations) = crate::measure::configurations(shared, true).await?;
    let mut out = vec![Scenario { label: "baseline".to_owned(), kind: Kind::Request(baseline) }];
    out.extend(
        configurations
            .into_iter()
            .filter(|c| c.label != "baseline")
            .map(|c| Scenario { label: c.label, kind: Kind::Request(c.endpoint) }),
    );
    let target = shared.forge.target();
    let ctx = Arc::new(crate::commands::load::journeys::Context {
        shared: Arc::clone(shared),
        methods: Vec::new(),
        admin: crate::commands::load::admin_of(target)?,
        findings: std::sync::atomic::AtomicU64::new(0),
    });
    let journeys = [
        ("oauth2-journey", Journey::OAuth2, target.oauth2.is_some()),
        (
            "api-key-rotation",
            Journey::ApiKeyRotation,
            target.api_key.is_some() && ctx.admin.is_some(),
        ),
        (
            "mtls-users",
            Journey::MtlsUsers,
            target.mtls.as_ref().is_some_and(|m| m.client_ca.is_some()),
        ),
    ];
    for (label, journey, offered) in journeys {
        if offered {
            out.push(Scenario {
                label: label.to_owned(),
                kind: Kind::Journey(journey, Arc::clone(&ctx)),
            });
        }
    }
    Ok(out)
}

/// The scenarios of the target profile at `profile` (which must be running).
pub async fn scenarios_for(profile: &std::path::Path) -> anyhow::Result<Vec<Scenario>> {
    let target = crate::measure::load_target(Some(profile)).await?;
    scenarios(&target.shared).await
}

/// `authbench worker` from the command line.
pub fn command(args: crate::cli::WorkerArgs) -> anyhow::Result<u8> {
    if !args.master.contains(':') {
        bail!("--master {}: give HOST:PORT (Locust's master listens on 5557)", args.master);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let target = crate::measure::load_target(args.target.as_deref()).await?;
        let scenarios = scenarios(&target.shared).await?;
        let options = WorkerOptions {
            master: args.master.clone(),
            node_id: args.node_id.clone().unwrap_or_else(default_node_id),
            connect_timeout: Duration::from_secs_f64(args.connect_timeout),
            master_timeout: Duration::from_secs_f64(args.master_timeout),
        };
        eprintln!(
            "authbench: worker {} for {} joining the master at {} (scenarios: {})",
            options.node_id,
            target.shared.forge.target().name,
            options.master,
            scenarios.iter().map(|s| users::class_name(&s.label)).collect::<Vec<_>>().join(", ")
        );
        let stats = run(&options, scenarios).await?;
        let snapshot = stats.snapshot(&options.node_id);
        for (name, s) in &snapshot.scenarios {
            eprintln!("authbench: {name}: {} ok, {} failed", s.ok, s.failed);
        }
        if let Some(dir) = &args.out {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("--out {}: cannot create the directory", dir.display()))?;
            let path: PathBuf = dir.join(format!("worker-{}.json", options.node_id));
            std::fs::write(&path, serde_json::to_string_pretty(&snapshot)?)
                .with_context(|| format!("--out: cannot write {}", path.display()))?;
        }
        let failed = snapshot.scenarios.values().any(|s| s.failed > 0);
        drop(target);
        Ok(if failed { crate::cli::EXIT_FAILED } else { crate::cli::EXIT_OK })
    })
}
