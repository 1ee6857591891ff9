//! The load generator: one single-threaded tokio runtime per core, each
//! driving its share of the connections over rustls, each connection
//! writing its prepared request and framing the answer in its own task
//! (`wire.rs`).
//!
//! - `--max` is closed-loop: every connection sends its next request as soon
//!   as the previous answer is read; the achieved rate is the capacity.
//! - `--rate R` is open-loop: a pacer thread (OS sleep, not the runtime's 1 ms
//!   timer wheel) releases intended send times at a constant rate into each
//!   worker's queue; an idle connection takes the next one. Latency is timed
//!   from the *intended* send time, so a stalled server is not hidden by the
//!   generator waiting for it (coordinated omission). A send that starts more
//!   than 1 ms after its intended time is late; one that finds its worker's
//!   queue full is dropped; both are counted.
//! - New-connection mode opens a TCP and TLS connection per request (session
//!   resumption off), where TLS and mTLS handshakes show.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::{Mutex, mpsc};

use super::wire;
use crate::client::keepalive::REQUEST_TIMEOUT;
pub use crate::client::keepalive::{Endpoint, OneUse};

/// A send is late when it starts more than this after its intended time.
pub const LATE_AFTER: Duration = Duration::from_millis(1);

/// How a phase loads the endpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Load {
    /// Closed loop, as fast as the connections go.
    Max,
    /// Open loop at this many requests per second.
    Rate(f64),
}

/// Longest phase a one-use pool serves: its values are minted before the
/// phase, and a DPoP proof's `iat` is typically accepted for a minute.
pub const ONE_USE_MAX_PHASE: Duration = Duration::from_secs(30);

/// A closed-loop pool's rate before any phase has measured one.
const ONE_USE_FIRST_RATE: f64 = 20_000.0;

/// The most values one pool holds.
const ONE_USE_MAX_POOL: usize = 2_000_000;

/// Refills `pool` for `phase`: what the phase can use, from its rate or the
/// last phase's, minted before its clock starts.
fn prepare(pool: &OneUse, phase: &Phase) -> Result<(), String> {
    let secs = phase.duration.as_secs_f64();
    let wanted = match phase.load {
        Load::Rate(r) => r * secs * 1.05 + 64.0,
        Load::Max => pool.rate_hint().unwrap_or(ONE_USE_FIRST_RATE) * secs * 1.5 + 256.0,
    };
    let wanted = (wanted.ceil() as u64).min(phase.max_requests) as usize;
    pool.refill(wanted.min(ONE_USE_MAX_POOL))
}

/// What a phase runs.
#[derive(Debug, Clone)]
pub struct Phase {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Closed or open loop.
    pub load: Load,
    /// How long.
    pub duration: Duration,
    /// Concurrent connections (in-flight requests at most).
    pub connections: usize,
    /// A new TCP+TLS connection per request.
    pub new_connection: bool,
    /// Stop after this many requests.
    pub max_requests: u64,
    /// Worker threads (one single-threaded runtime each).
    pub workers: usize,
    /// The CPUs the load threads are pinned to (none: wherever the OS puts them).
    pub cpus: Option<Vec<usize>>,
}

/// What a phase measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Latencies of successful requests, in nanoseconds.
    pub latency: Histogram<u64>,
    /// Requests answered 2xx.
    pub ok: u64,
    /// Requests answered otherwise, or failed.
    pub errors: u64,
    /// The first error seen, for the report.
    pub first_error: Option<String>,
    /// Sends the pacer released more than [`LATE_AFTER`] after their intended
    /// time: the generator fell behind its own schedule.
    pub late: u64,
    /// Sends that started more than [`LATE_AFTER`] after their intended time
    /// for any reason, mostly waiting for a connection the target still held
    /// (its queueing, which the latencies include).
    pub queued: u64,
    /// Whether the pacer ran with real-time priority.
    pub pacer_realtime: bool,
    /// Sends dropped because the worker's queue was full.
    pub dropped: u64,
    /// Sends still waiting for a connection when the phase ended: the target
    /// could not keep up with the rate. Never sent (draining a backlog would
    /// stretch the phase without bound), counted instead.
    pub unsent: u64,
    /// Sends the pacer released (open loop).
    pub intended: u64,
    /// Wall time of the phase.
    pub elapsed: Duration,
}

impl Measured {
    /// Nothing measured yet.
    pub(crate) fn new() -> Self {
        Measured {
            latency: new_histogram(),
            ok: 0,
            errors: 0,
            first_error: None,
            late: 0,
            queued: 0,
            pacer_realtime: false,
            dropped: 0,
            unsent: 0,
            intended: 0,
            elapsed: Duration::ZERO,
        }
    }

    /// Adds `other` (another worker's or round's measurements).
    pub fn merge(&mut self, other: &Measured) {
        let _ = self.latency.add(&other.latency);
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        self.late += other.late;
        self.queued += other.queued;
        self.pacer_realtime |= other.pacer_realtime;
        self.dropped += other.dropped;
        self.unsent += other.unsent;
        self.intended += other.intended;
        self.elapsed += other.elapsed;
    }

    /// Successful requests per second.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.ok as f64 / secs } else { 0.0 }
    }

    /// Whether the generator fell behind: over 0.1% of sends released late,
    /// or any dropped.
    pub fn behind(&self) -> bool {
        self.dropped > 0 || (self.intended > 0 && self.late as f64 / self.intended as f64 > 0.001)
    }
}

/// An empty histogram of nanoseconds, 1 ns to 100 s, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3)
        .unwrap_or_else(|_| unreachable!("the bounds are valid"))
}

/// Runs `phase` and returns the merged measurements of all workers.
pub fn run(phase: &Phase) -> Result<Measured, String> {
    if let Some(pool) = &phase.endpoint.one_use {
        prepare(pool, phase)?;
    }
    let measured = run_prepared(phase)?;
    if let Some(pool) = &phase.endpoint.one_use {
        pool.learn(measured.rate());
    }
    Ok(measured)
}

fn run_prepared(phase: &Phase) -> Result<Measured, String> {
    let workers = phase.workers.clamp(1, phase.connections.max(1));
    let deadline = Instant::now() + phase.duration;
    let budget = Arc::new(AtomicU64::new(phase.max_requests));
    let mut queues = Vec::new();
    let mut handles = Vec::new();
    let started = Instant::now();
    for w in 0..workers {
        let share = phase.connections / workers + usize::from(w < phase.connections % workers);
        let (tx, rx) = mpsc::channel::<Instant>(QUEUE_PER_WORKER);
        let rx = match phase.load {
            Load::Rate(_) => {
                queues.push(tx);
                Some(rx)
            }
            Load::Max => None,
        };
        let phase = phase.clone();
        let budget = Arc::clone(&budget);
        handles.push(
            std::thread::Builder::new()
                .name(format!("authbench-load-{w}"))
                .spawn(move || {
                    if let Some(cpus) = &phase.cpus {
                        crate::measure::machine::pin_current_thread(cpus);
                    }
                    worker(&phase, share, rx, deadline, budget)
                })
                .map_err(|e| format!("cannot start a load thread: {e}"))?,
        );
    }
    let (mut dropped, mut intended, mut late, mut realtime) = (0, 0, 0, false);
    if let Load::Rate(rate) = phase.load {
        // A thread of its own: real-time scheduling is inherited by threads a
        // thread spawns, and must not reach the workers (they would starve the
        // target) or outlive the phase.
        let duration = phase.duration;
        let budget = Arc::clone(&budget);
        let cpus = phase.cpus.clone();
        let pacer = std::thread::Builder::new()
            .name("authbench-pacer".to_owned())
            .spawn(move || {
                if let Some(cpus) = &cpus {
                    crate::measure::machine::pin_current_thread(cpus);
                }
                let realtime = pacer_priority();
                let (intended, late, dropped) = pace(rate, started, duration, &queues, &budget);
                (intended, late, dropped, realtime)
            })
            .map_err(|e| format!("cannot start the pacer thread: {e}"))?;
        (intended, late, dropped, realtime) =
            pacer.join().map_err(|_| "the pacer thread panicked".to_owned())?;
    }
    let mut total = Measured::new();
    for h in handles {
        let m = h.join().map_err(|_| "a load thread panicked".to_owned())??;
        total.merge(&m);
    }
    total.elapsed = started.elapsed();
    total.dropped += dropped;
    total.intended = intended;
    total.late = late;
    total.pacer_realtime = realtime;
    Ok(total)
}

const QUEUE_PER_WORKER: usize = 4096;

/// The pacer's shortest sleep: sends due within it are released together.
pub const PACER_TICK: Duration = Duration::from_micros(200);

/// Asks for real-time scheduling (SCHED_FIFO) for the pacer thread, so that
/// the target's and the workers' threads on the same cores do not delay its
/// releases; it sleeps between them, so it takes little. Needs CAP_SYS_NICE
/// (root); without it the pacer runs at normal priority and says so.
fn pacer_priority() -> bool {
    use thread_priority::unix::{
        RealtimeThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
        thread_native_id,
    };
    let Ok(value) = thread_priority::ThreadPriorityValue::try_from(50u8) else { return false };
    set_thread_priority_and_policy(
        thread_native_id(),
        thread_priority::ThreadPriority::Crossplatform(value),
        ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
    )
    .is_ok()
}

/// Releases intended send times at `rate` per second, round-robin over the
/// workers' queues, sleeping with the OS timer between batches. Returns
/// (released, released late, dropped).
fn pace(
    rate: f64,
    started: Instant,
    duration: Duration,
    queues: &[mpsc::Sender<Instant>],
    budget: &AtomicU64,
) -> (u64, u64, u64) {
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    // Exactly rate × duration sends, counted rather than compared in floating point.
    let count = (rate * duration.as_secs_f64()).floor() as u64;
    let (mut i, mut late, mut dropped, mut next) = (0u64, 0u64, 0u64, started);
    loop {
        let now = Instant::now();
        // Far behind: give the CPU back a moment (a real-time thread must never spin).
        if now.saturating_duration_since(next) > Duration::from_millis(10) {
            std::thread::sleep(Duration::from_micros(100));
        }
        while next <= now {
            let spent = budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
                .is_err();
            if i >= count || spent {
                return (i, late, dropped);
            }
            if now.saturating_duration_since(next) > LATE_AFTER {
                late += 1;
            }
            if queues[(i as usize) % queues.len()].try_send(next).is_err() {
                dropped += 1;
            }
            i += 1;
            next = started + interval.mul_f64(i as f64);
        }
        if i >= count {
            return (i, late, dropped);
        }
        // Above 1 / PACER_TICK sends a second, wake once a tick and release
        // what is due: a wake-up per send (50 µs apart at 20k/s) costs the
        // pacer and every worker it wakes CPU the target needs on a shared
        // machine. A send then leaves up to one tick after its intended time,
        // which its latency includes.
        let wake = next.max(now + PACER_TICK);
        std::thread::sleep(wake.saturating_duration_since(Instant::now()));
    }
}

fn worker(
    phase: &Phase,
    connections: usize,
    queue: Option<mpsc::Receiver<Instant>>,
    deadline: Instant,
    budget: Arc<AtomicU64>,
) -> Result<Measured, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a load runtime: {e}"))?;
    runtime.block_on(async {
        let queue = queue.map(|q| Arc::new(Mutex::new(q)));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..connections {
            let phase = phase.clone();
            let queue = queue.clone();
            // Open loop: sends intended before the deadline are still sent
            // for a short grace (a tenth of the phase, 50 ms to 1 s); later,
            // what remains queued is counted as unsent.
            let grace =
                (phase.duration / 10).clamp(Duration::from_millis(50), Duration::from_secs(1));
            let shared = Arc::new(Shared {
                deadline,
                stop_sending: deadline + grace,
                budget: Arc::clone(&budget),
            });
            tasks.spawn(connection_loop(phase, queue, shared));
        }
        let mut total = Measured::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok(m) = done {
                total.merge(&m);
            }
        }
        Ok(total)
    })
}

struct Shared {
    deadline: Instant,
    /// Open loop: after this, queued sends are counted as unsent.
    stop_sending: Instant,
    /// Requests left (closed loop; the pacer spends it in open loop).
    budget: Arc<AtomicU64>,
}

async fn connect(endpoint: &Endpoint) -> Result<wire::Conn, String> {
    tokio::time::timeout(REQUEST_TIMEOUT, wire::Conn::connect(endpoint))
        .await
        .map_err(|_| format!("no connection within {} s", REQUEST_TIMEOUT.as_secs()))?
}

async fn exchange(conn: &mut wire::Conn, request: &[u8]) -> Result<wire::Answer, String> {
    tokio::time::timeout(REQUEST_TIMEOUT, conn.exchange(request, crate::client::MAX_BODY))
        .await
        .map_err(|_| format!("no complete answer within {} s", REQUEST_TIMEOUT.as_secs()))?
}

async fn connection_loop(
    phase: Phase,
    queue: Option<Arc<Mutex<mpsc::Receiver<Instant>>>>,
    shared: Arc<Shared>,
) -> Measured {
    let mut m = Measured::new();
    let mut conn: Option<wire::Conn> = None;
    let prepared = wire::Prepared::new(&phase.endpoint);
    let mut request = Vec::with_capacity(1024);
    if prepared.is_fixed() {
        let _ = prepared.next(&mut request);
    }
    let fail = |m: &mut Measured, e: String| {
        m.errors += 1;
        if m.first_error.is_none() {
            m.first_error = Some(e);
        }
    };
    loop {
        // The next send: now (closed loop) or the next intended time (open loop).
        let intended = match &queue {
            None => {
                let spent = shared
                    .budget
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
                    .is_err();
                if Instant::now() >= shared.deadline || spent {
                    break;
                }
                Instant::now()
            }
            Some(q) => {
                let mut q = q.lock().await;
                match q.recv().await {
                    // The phase is over and the target is behind: what is
                    // still queued is counted, not sent.
                    Some(_) if Instant::now() >= shared.stop_sending => {
                        m.unsent += 1;
                        while q.try_recv().is_ok() {
                            m.unsent += 1;
                        }
                        break;
                    }
                    Some(t) => t,
                    None => break,
                }
            }
        };
        if queue.is_some() && intended.elapsed() > LATE_AFTER {
            m.queued += 1;
        }
        if phase.new_connection || conn.is_none() {
            match connect(&phase.endpoint).await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    fail(&mut m, e);
                    conn = None;
                    if queue.is_none() {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        // A spent one-use pool ends the phase for this connection.
        if !prepared.is_fixed() && prepared.next(&mut request).is_none() {
            break;
        }
        match exchange(c, &request).await {
            Ok(answer) => {
                if (200..300).contains(&answer.status) {
                    m.ok += 1;
                    let ns = intended.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
                    let _ = m.latency.record(ns.max(1));
                } else {
                    fail(&mut m, format!("{} answered {}", phase.endpoint.url, answer.status));
                }
                if !answer.keep_alive {
                    conn = None;
                }
            }
            Err(e) => {
                fail(&mut m, format!("{}: {e}", phase.endpoint.url));
                conn = None;
            }
        }
        if phase.new_connection {
            conn = None;
        }
    }
    m
}
