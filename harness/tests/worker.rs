//! `authbench worker` against a fake Locust master (a ZeroMQ ROUTER speaking
//! the protocol), in-process: acknowledgement, spawn, stats, stop → ready,
//! quit flushing the stats, unknown messages, a master restart.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use authbench::commands::worker::protocol::{self, Message, get, map};
use authbench::commands::worker::stats::WorkerHistograms;
use authbench::commands::worker::{WorkerOptions, run, scenarios_for};
use authbench::embedded::Embedded;
use rmpv::Value;
use zeromq::{Socket, SocketRecv, SocketSend, ZmqMessage};

/// A fake master: a ROUTER on loopback.
struct Master {
    socket: zeromq::RouterSocket,
    port: u16,
}

impl Master {
    async fn bind(port: u16) -> Master {
        let mut socket = zeromq::RouterSocket::new();
        let endpoint = socket.bind(&format!("tcp://127.0.0.1:{port}")).await.unwrap();
        let port = match endpoint {
            zeromq::Endpoint::Tcp(_, port) => port,
            other => panic!("bound to {other}"),
        };
        Master { socket, port }
    }

    /// The next message from a worker, within `within`.
    async fn recv(&mut self, within: Duration) -> Message {
        let frames = tokio::time::timeout(within, self.socket.recv())
            .await
            .expect("no message from the worker in time")
            .unwrap()
            .into_vec();
        let message = Message::decode(frames.last().unwrap()).unwrap();
        assert_eq!(frames[0].as_ref(), message.node_id.as_bytes(), "routing id = node id");
        message
    }

    /// The next message of `kind`, answering heartbeats on the way and
    /// keeping the stats and histograms seen.
    async fn expect(&mut self, kind: &str, seen: &mut Seen) -> Message {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self.recv(left).await;
            seen.note(&m);
            if m.kind == "heartbeat" {
                assert!(get(&m.data, "current_cpu_usage").is_some(), "{m:?}");
                assert!(get(&m.data, "state").and_then(Value::as_str).is_some(), "{m:?}");
                self.send(&Message::new("heartbeat", Value::Nil, &m.node_id)).await;
            }
            if m.kind == kind {
                return m;
            }
        }
    }

    /// Closes the socket and its listener (as a master process exiting does).
    async fn close(self) {
        let errors = self.socket.close().await;
        assert!(errors.is_empty(), "{errors:?}");
    }

    async fn send(&mut self, m: &Message) {
        let mut frames = ZmqMessage::from(m.node_id.clone().into_bytes());
        frames.push_back(m.encode().into());
        self.socket.send(frames).await.unwrap();
    }
}

/// What the master saw of the worker's measurements.
#[derive(Default)]
struct Seen {
    requests: u64,
    failures: u64,
    histograms: Option<WorkerHistograms>,
    kinds: Vec<String>,
}

impl Seen {
    fn note(&mut self, m: &Message) {
        self.kinds.push(m.kind.clone());
        match m.kind.as_str() {
            "stats" => {
                let total = get(&m.data, "stats_total").unwrap();
                self.requests += get(total, "num_requests").unwrap().as_u64().unwrap();
                self.failures += get(total, "num_failures").unwrap().as_u64().unwrap();
                // Each entry's requests add up to the total.
                let entries = get(&m.data, "stats").unwrap().as_array().unwrap();
                let sum: u64 =
                    entries.iter().map(|e| get(e, "num_requests").unwrap().as_u64().unwrap()).sum();
                assert_eq!(sum, get(total, "num_requests").unwrap().as_u64().unwrap());
            }
            "authbench_histograms" => {
                self.histograms = Some(serde_json::from_str(m.data.as_str().unwrap()).unwrap());
            }
            _ => {}
        }
    }
}

fn spawn_message(node: &str, timestamp: f64, counts: &[(&str, u64)]) -> Message {
    spawn_at_rate(node, timestamp, counts, 40.0)
}

fn spawn_at_rate(node: &str, timestamp: f64, counts: &[(&str, u64)], rate: f64) -> Message {
    Message::new(
        "spawn",
        map([
            ("timestamp", Value::from(timestamp)),
            (
                "user_classes_count",
                Value::Map(
                    counts.iter().map(|(c, n)| (Value::from(*c), Value::from(*n))).collect(),
                ),
            ),
            ("host", Value::from("")),
            ("stop_timeout", Value::Nil),
            ("parsed_options", map([("authbench_rate", Value::from(rate))])),
        ]),
        node,
    )
}

fn options(port: u16, node: &str) -> WorkerOptions {
    WorkerOptions {
        master: format!("127.0.0.1:{port}"),
        node_id: node.to_owned(),
        connect_timeout: Duration::from_secs(20),
        master_timeout: Duration::from_secs(5),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_spawn_stop_ready_and_quit_flushing_the_stats() {
    let embedded = Embedded::start(&[]).await.unwrap();
    let scenarios = scenarios_for(&embedded.profile_path()).await.unwrap();
    let mut master = Master::bind(0).await;
    let node = "test-host_0123456789abcdef0123456789abcdef";
    let worker = tokio::spawn({
        let options = options(master.port, node);
        async move { run(&options, scenarios).await }
    });
    let mut seen = Seen::default();

    // Announced until acknowledged, with -1 so the master compares no version.
    let ready = master.expect("client_ready", &mut seen).await;
    assert_eq!(ready.data, Value::from(-1));
    assert_eq!(ready.node_id, node);
    master.send(&Message::new("ack", map([("index", Value::from(0))]), node)).await;
    master.expect("heartbeat", &mut seen).await;

    // Unknown messages (a newer Locust's, another tool's) are ignored.
    master.send(&Message::new("update_user_class", map([]), node)).await;
    master.send(&Message::new("a_message_from_the_future", Value::from(7), node)).await;
    master.expect("heartbeat", &mut seen).await;

    master.send(&spawn_message(node, 1.0, &[("api_key", 2), ("baseline", 1)])).await;
    master.expect("spawning", &mut seen).await;
    let complete = master.expect("spawning_complete", &mut seen).await;
    assert_eq!(get(&complete.data, "user_count").unwrap().as_u64(), Some(3));
    // A duplicate spawn (same timestamp) changes nothing.
    master.send(&spawn_message(node, 1.0, &[("api_key", 9)])).await;
    master.expect("spawning", &mut seen).await;
    // Stats every few seconds, with requests in them.
    while seen.requests == 0 {
        master.expect("stats", &mut seen).await;
    }

    // stop: the final stats and histograms before client_stopped, then ready again.
    master.send(&Message::new("stop", Value::Nil, node)).await;
    let last_stats = master.expect("stats", &mut seen).await;
    assert_eq!(get(&last_stats.data, "user_count").unwrap().as_u64(), Some(0));
    master.expect("authbench_histograms", &mut seen).await;
    master.expect("client_stopped", &mut seen).await;
    master.expect("client_ready", &mut seen).await;
    let order: Vec<&str> = seen
        .kinds
        .iter()
        .map(String::as_str)
        .filter(|k| *k != "heartbeat")
        .skip_while(|k| *k != "client_stopped")
        .collect();
    assert_eq!(order, ["client_stopped", "client_ready"]);
    let histograms = seen.histograms.clone().unwrap();
    let own: u64 = histograms.scenarios.values().map(|s| s.ok + s.failed).sum();
    assert_eq!(own, seen.requests, "the master's count and the worker's differ");
    assert_eq!(seen.failures, 0);
    assert!(histograms.scenarios["api_key"].ok > 0 && histograms.scenarios["baseline"].ok > 0);

    // quit: the stats are flushed, and the worker's own counts agree.
    master.send(&Message::new("ack", map([("index", Value::from(0))]), node)).await;
    master.send(&Message::new("quit", Value::Nil, node)).await;
    master.expect("stats", &mut seen).await;
    master.expect("authbench_histograms", &mut seen).await;
    drop(master);
    let stats =
        tokio::time::timeout(Duration::from_secs(10), worker).await.unwrap().unwrap().unwrap();
    let mine: u64 = stats.scenarios.values().map(|s| s.ok + s.failed).sum();
    assert_eq!(mine, seen.requests);
    embedded.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_master_gets_the_worker_back() {
    let embedded = Embedded::start(&[]).await.unwrap();
    let scenarios = scenarios_for(&embedded.profile_path()).await.unwrap();
    let mut master = Master::bind(0).await;
    let port = master.port;
    let node = "restart-host_00000000000000000000000000000001";
    let worker = tokio::spawn({
        let options = options(port, node);
        async move { run(&options, scenarios).await }
    });
    let mut seen = Seen::default();
    master.expect("client_ready", &mut seen).await;
    master.send(&Message::new("ack", Value::Nil, node)).await;
    master.send(&spawn_message(node, 1.0, &[("api_key", 1)])).await;
    master.expect("spawning_complete", &mut seen).await;

    // The master goes away and a new one binds the same port: the worker
    // stops its users, reconnects and announces itself again.
    master.close().await;
    let mut master = Master::bind(port).await;
    let mut seen = Seen::default();
    let ready = master.expect("client_ready", &mut seen).await;
    assert_eq!(ready.node_id, node);
    master.send(&Message::new("ack", Value::Nil, node)).await;
    let beat = master.expect("heartbeat", &mut seen).await;
    assert_eq!(get(&beat.data, "state").and_then(Value::as_str), Some("ready"));
    // And takes a new test from it.
    master.send(&spawn_message(node, 2.0, &[("api_key", 1), ("no_such_scenario", 1)])).await;
    // A class it cannot run is reported, not ignored.
    let exception = master.expect("exception", &mut seen).await;
    let text = get(&exception.data, "msg").and_then(Value::as_str).unwrap();
    assert!(text.contains("no_such_scenario") && text.contains("api_key"), "{text}");
    let complete = master.expect("spawning_complete", &mut seen).await;
    assert_eq!(get(&complete.data, "user_count").unwrap().as_u64(), Some(1));
    master.send(&Message::new("quit", Value::Nil, node)).await;
    master.expect("authbench_histograms", &mut seen).await;
    tokio::time::timeout(Duration::from_secs(10), worker).await.unwrap().unwrap().unwrap();
    embedded.stop().await;
}

#[test]
fn protocol_values_are_plain_msgpack() {
    // The master decodes with msgpack's `raw=False`: strings, not bytes.
    let m = protocol::client_ready("n");
    let bytes = m.encode();
    assert_eq!(&bytes[..14], b"\x93\xacclient_ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_run_as_users_each_step_measured() {
    let embedded = Embedded::start(&[]).await.unwrap();
    let scenarios = scenarios_for(&embedded.profile_path()).await.unwrap();
    let mut master = Master::bind(0).await;
    let node = "journey-host_00000000000000000000000000000002";
    let worker = tokio::spawn({
        let options = options(master.port, node);
        async move { run(&options, scenarios).await }
    });
    let mut seen = Seen::default();
    master.expect("client_ready", &mut seen).await;
    master.send(&Message::new("ack", Value::Nil, node)).await;
    let counts = [("oauth2_journey", 1), ("api_key_rotation", 1), ("mtls_users", 1)];
    master.send(&spawn_at_rate(node, 1.0, &counts, 4.0)).await;
    let complete = master.expect("spawning_complete", &mut seen).await;
    assert_eq!(get(&complete.data, "user_count").unwrap().as_u64(), Some(3));
    // Until a report shows the journeys' steps, each under its own name and method.
    let mut steps: Vec<(String, String)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !steps.iter().any(|(n, _)| n == "api-key: revoked key refused") {
        assert!(Instant::now() < deadline, "steps seen: {steps:?}");
        let stats = master.expect("stats", &mut seen).await;
        for e in get(&stats.data, "stats").unwrap().as_array().unwrap() {
            let name = get(e, "name").unwrap().as_str().unwrap().to_owned();
            let method = get(e, "method").unwrap().as_str().unwrap().to_owned();
            if !steps.contains(&(name.clone(), method.clone())) {
                steps.push((name, method));
            }
        }
    }
    for step in [
        ("oauth2: token (code)", "POST"),
        ("oauth2: resource", "GET"),
        ("admin: create key", "POST"),
        ("mtls-users", "GET"),
    ] {
        assert!(steps.contains(&(step.0.to_owned(), step.1.to_owned())), "{step:?} in {steps:?}");
    }
    assert_eq!(seen.failures, 0, "a journey step failed");
    master.send(&Message::new("quit", Value::Nil, node)).await;
    master.expect("authbench_histograms", &mut seen).await;
    drop(master);
    tokio::time::timeout(Duration::from_secs(10), worker).await.unwrap().unwrap().unwrap();
    embedded.stop().await;
}
