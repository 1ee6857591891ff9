//! What a worker measured, twice over: in Locust's stats format (drained into
//! every `stats` report, whole-millisecond buckets, as the master merges
//! them), and as authbench's own counts and HdrHistograms (cumulative,
//! nanoseconds, sent on the `authbench_histograms` message and merged exactly
//! by `authbench report`).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hdrhistogram::Histogram;
use rmpv::Value;
use serde::{Deserialize, Serialize};

use super::protocol::{self, Message, map};
use crate::measure::generator::new_histogram;

/// The custom message carrying a worker's histograms.
pub const HISTOGRAMS_MESSAGE: &str = "authbench_histograms";

/// Unix time, seconds.
pub fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Locust's rounding of response times for its buckets: whole milliseconds
/// below 100, then two significant digits (147 → 150, 3432 → 3400).
pub fn bucket(ms: f64) -> u64 {
    let round_to = |x: f64, step: f64| ((x / step).round_ties_even() * step) as u64;
    match ms {
        m if m < 100.0 => m.round_ties_even() as u64,
        m if m < 1_000.0 => round_to(m, 10.0),
        m if m < 10_000.0 => round_to(m, 100.0),
        m => round_to(m, 1_000.0),
    }
}

/// One entry of Locust's stats (`StatsEntry.serialize()`), since the last report.
#[derive(Debug, Clone, PartialEq)]
pub struct LocustEntry {
    /// The request name (the scenario) or `Aggregated`.
    pub name: String,
    /// `GET`, or none for the total.
    pub method: Option<String>,
    last_request_timestamp: Option<f64>,
    start_time: f64,
    /// Requests, failed ones included.
    pub num_requests: u64,
    /// Failed requests.
    pub num_failures: u64,
    total_response_time: f64,
    max_response_time: f64,
    min_response_time: Option<f64>,
    total_content_length: u64,
    response_times: BTreeMap<u64, u64>,
    num_reqs_per_sec: BTreeMap<i64, u64>,
    num_fail_per_sec: BTreeMap<i64, u64>,
}

impl LocustEntry {
    /// An empty entry starting at `now` (Unix seconds).
    pub fn new(name: &str, method: Option<&str>, now: f64) -> LocustEntry {
        LocustEntry {
            name: name.to_owned(),
            method: method.map(str::to_owned),
            last_request_timestamp: None,
            start_time: now,
            num_requests: 0,
            num_failures: 0,
            total_response_time: 0.0,
            max_response_time: 0.0,
            min_response_time: None,
            total_content_length: 0,
            response_times: BTreeMap::new(),
            num_reqs_per_sec: BTreeMap::new(),
            num_fail_per_sec: BTreeMap::new(),
        }
    }

    /// One request answered at `at` after `ms` milliseconds.
    pub fn log(&mut self, at: f64, ms: f64, content_length: u64, failed: bool) {
        let second = at.floor() as i64;
        self.num_requests += 1;
        *self.num_reqs_per_sec.entry(second).or_default() += 1;
        self.last_request_timestamp = Some(at);
        self.total_response_time += ms;
        self.min_response_time = Some(self.min_response_time.map_or(ms, |m| m.min(ms)));
        self.max_response_time = self.max_response_time.max(ms);
        *self.response_times.entry(bucket(ms)).or_default() += 1;
        self.total_content_length += content_length;
        if failed {
            self.num_failures += 1;
            *self.num_fail_per_sec.entry(second).or_default() += 1;
        }
    }

    /// Adds `other` (for the total), as Locust's `StatsEntry.extend` does.
    pub fn extend(&mut self, other: &LocustEntry) {
        self.last_request_timestamp =
            match (self.last_request_timestamp, other.last_request_timestamp) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        self.start_time = self.start_time.min(other.start_time);
        self.num_requests += other.num_requests;
        self.num_failures += other.num_failures;
        self.total_response_time += other.total_response_time;
        self.max_response_time = self.max_response_time.max(other.max_response_time);
        self.min_response_time = match (self.min_response_time, other.min_response_time) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.total_content_length += other.total_content_length;
        for (k, v) in &other.response_times {
            *self.response_times.entry(*k).or_default() += v;
        }
        for (k, v) in &other.num_reqs_per_sec {
            *self.num_reqs_per_sec.entry(*k).or_default() += v;
        }
        for (k, v) in &other.num_fail_per_sec {
            *self.num_fail_per_sec.entry(*k).or_default() += v;
        }
    }

    /// The serialized entry (Locust's `StatsEntryDict`).
    pub fn to_value(&self) -> Value {
        let int_map = |m: &BTreeMap<i64, u64>| {
            Value::Map(m.iter().map(|(k, v)| (Value::from(*k), Value::from(*v))).collect())
        };
        map([
            ("name", Value::from(self.name.as_str())),
            ("method", self.method.as_deref().map_or(Value::Nil, Value::from)),
            ("last_request_timestamp", self.last_request_timestamp.map_or(Value::Nil, Value::from)),
            ("start_time", Value::from(self.start_time)),
            ("num_requests", Value::from(self.num_requests)),
            ("num_none_requests", Value::from(0)),
            ("num_failures", Value::from(self.num_failures)),
            ("total_response_time", Value::from(self.total_response_time)),
            ("max_response_time", Value::from(self.max_response_time)),
            ("min_response_time", self.min_response_time.map_or(Value::Nil, Value::from)),
            ("total_content_length", Value::from(self.total_content_length)),
            (
                "response_times",
                Value::Map(
                    self.response_times
                        .iter()
                        .map(|(k, v)| (Value::from(*k), Value::from(*v)))
                        .collect(),
                ),
            ),
            ("num_reqs_per_sec", int_map(&self.num_reqs_per_sec)),
            ("num_fail_per_sec", int_map(&self.num_fail_per_sec)),
        ])
    }

    /// The serialized entry, then reset, starting again at `now`
    /// (Locust's `get_stripped_report`).
    pub fn take(&mut self, now: f64) -> Value {
        let value = self.to_value();
        *self = LocustEntry::new(&self.name, self.method.as_deref(), now);
        value
    }
}

/// One scenario's measurements on this worker.
#[derive(Debug, Clone)]
pub struct ScenarioStats {
    /// Since the last `stats` report.
    pub entry: LocustEntry,
    /// Error text → occurrences, since the last report.
    pub errors: BTreeMap<String, u64>,
    /// Latencies of successful requests since the test started, ns, timed
    /// from the intended send.
    pub histogram: Histogram<u64>,
    /// Requests answered 2xx since the test started.
    pub ok: u64,
    /// Requests that failed since the test started.
    pub failed: u64,
    /// Sends due by the schedule.
    pub intended: u64,
    /// Sends released more than a millisecond late.
    pub late: u64,
    /// Sends not made: the user had too many requests in flight.
    pub dropped: u64,
    /// The first error, for the report.
    pub first_error: Option<String>,
    /// When its first user started.
    pub started: Option<std::time::Instant>,
    /// Measured time, frozen when its users stop.
    pub elapsed: Duration,
}

impl ScenarioStats {
    fn new(name: &str, method: &str, now: f64) -> ScenarioStats {
        ScenarioStats {
            entry: LocustEntry::new(name, Some(method), now),
            errors: BTreeMap::new(),
            histogram: new_histogram(),
            ok: 0,
            failed: 0,
            intended: 0,
            late: 0,
            dropped: 0,
            first_error: None,
            started: None,
            elapsed: Duration::ZERO,
        }
    }

    /// A request that got a 2xx after `latency` (from its intended send).
    pub fn success(&mut self, latency: Duration, content_length: u64) {
        self.started.get_or_insert_with(std::time::Instant::now);
        let ns = latency.as_nanos().min(u128::from(u64::MAX)) as u64;
        let _ = self.histogram.record(ns.max(1));
        self.ok += 1;
        self.entry.log(unix_now(), latency.as_secs_f64() * 1000.0, content_length, false);
    }

    /// A request that failed with `error` after `latency`.
    pub fn failure(&mut self, latency: Duration, error: String) {
        self.started.get_or_insert_with(std::time::Instant::now);
        self.failed += 1;
        self.entry.log(unix_now(), latency.as_secs_f64() * 1000.0, 0, true);
        if self.first_error.is_none() {
            self.first_error = Some(error.clone());
        }
        *self.errors.entry(error).or_default() += 1;
    }

    fn elapsed_now(&self) -> Duration {
        self.started.map_or(self.elapsed, |s| self.elapsed.max(s.elapsed()))
    }
}

/// Every scenario's measurements on this worker, for one test.
#[derive(Debug, Default)]
pub struct Stats {
    /// By scenario label.
    pub scenarios: BTreeMap<String, ScenarioStats>,
    /// When the test (the first spawn) started, Unix seconds.
    pub started_at: Option<f64>,
}

impl Stats {
    /// The scenario's stats, created on first use.
    pub fn scenario(&mut self, name: &str) -> &mut ScenarioStats {
        self.scenario_with(name, "GET")
    }

    /// The stats of a request named `name` made with `method` (a journey's step).
    pub fn scenario_with(&mut self, name: &str, method: &str) -> &mut ScenarioStats {
        self.started_at.get_or_insert_with(unix_now);
        self.scenarios
            .entry(name.to_owned())
            .or_insert_with(|| ScenarioStats::new(name, method, unix_now()))
    }

    /// Stops every scenario's clock (the users stopped).
    pub fn freeze(&mut self) {
        for s in self.scenarios.values_mut() {
            if let Some(started) = s.started.take() {
                s.elapsed += started.elapsed();
            }
        }
    }

    /// Forgets everything: a new test starts.
    pub fn clear(&mut self) {
        self.scenarios.clear();
        self.started_at = None;
    }

    /// The `stats` message since the last one (Locust's report format), with
    /// the user counts the master tracks; drains the Locust entries.
    pub fn report(&mut self, node_id: &str, counts: &[(String, u64)]) -> Message {
        let now = unix_now();
        let mut total = LocustEntry::new("Aggregated", None, now);
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        for s in self.scenarios.values_mut() {
            total.extend(&s.entry);
            let method = s.entry.method.clone().unwrap_or_default();
            if s.entry.num_requests > 0 || s.entry.num_failures > 0 {
                entries.push(s.entry.take(now));
            } else {
                s.entry = LocustEntry::new(&s.entry.name, Some(&method), now);
            }
            for (error, occurrences) in std::mem::take(&mut s.errors) {
                let key = format!("{method}.{}.{error}", s.entry.name);
                errors.push((
                    Value::from(key),
                    map([
                        ("name", Value::from(s.entry.name.as_str())),
                        ("method", Value::from(method.as_str())),
                        ("error", Value::from(error)),
                        ("occurrences", Value::from(occurrences)),
                    ]),
                ));
            }
        }
        let users: u64 = counts.iter().map(|(_, n)| n).sum();
        Message::new(
            "stats",
            map([
                ("stats", Value::Array(entries)),
                ("stats_total", total.to_value()),
                ("errors", Value::Map(errors)),
                ("user_classes_count", protocol::counts_value(counts)),
                ("user_count", Value::from(users)),
            ]),
            node_id,
        )
    }

    /// This worker's cumulative measurements, authbench's form.
    pub fn snapshot(&self, node_id: &str) -> WorkerHistograms {
        let scenarios = self
            .scenarios
            .iter()
            .map(|(name, s)| {
                (
                    name.clone(),
                    ScenarioSnapshot {
                        ok: s.ok,
                        failed: s.failed,
                        intended: s.intended,
                        late: s.late,
                        dropped: s.dropped,
                        elapsed_secs: s.elapsed_now().as_secs_f64(),
                        first_error: s.first_error.clone(),
                        histogram: encode_histogram(&s.histogram),
                    },
                )
            })
            .collect();
        WorkerHistograms {
            node_id: node_id.to_owned(),
            started_at: self.started_at.unwrap_or_default(),
            scenarios,
        }
    }
}

/// A worker's cumulative histograms, as the custom message carries them and
/// the master's locustfile saves them (`authbench.locust/1`'s `workers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerHistograms {
    /// The worker.
    pub node_id: String,
    /// When its test started, Unix seconds.
    pub started_at: f64,
    /// By scenario.
    pub scenarios: BTreeMap<String, ScenarioSnapshot>,
}

/// One scenario on one worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSnapshot {
    /// 2xx answers.
    pub ok: u64,
    /// Failures.
    pub failed: u64,
    /// Sends due.
    pub intended: u64,
    /// Sends released late.
    pub late: u64,
    /// Sends not made.
    pub dropped: u64,
    /// Measured time.
    pub elapsed_secs: f64,
    /// The first error.
    pub first_error: Option<String>,
    /// The latency histogram (ns), HdrHistogram V2 with deflate, base64.
    pub histogram: String,
}

impl WorkerHistograms {
    /// The custom message.
    pub fn message(&self) -> Message {
        // JSON text inside msgpack: the master's locustfile saves it as it
        // comes, without a msgpack-to-JSON conversion of its own.
        let json = serde_json::to_string(self).unwrap_or_default();
        Message::new(HISTOGRAMS_MESSAGE, Value::from(json), &self.node_id)
    }
}

/// HdrHistogram's V2 deflate serialization, base64.
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    use hdrhistogram::serialization::Serializer as _;
    let mut serializer = hdrhistogram::serialization::V2DeflateSerializer::new();
    if serializer.serialize(h, &mut bytes).is_err() {
        return String::new();
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The histogram [`encode_histogram`] wrote.
pub fn decode_histogram(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("histogram: not base64: {e}"))?;
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("histogram: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_as_locust_does() {
        assert_eq!(bucket(0.4), 0);
        assert_eq!(bucket(2.5), 2);
        assert_eq!(bucket(99.4), 99);
        assert_eq!(bucket(147.0), 150);
        assert_eq!(bucket(3432.0), 3400);
        assert_eq!(bucket(58760.0), 59000);
    }

    #[test]
    fn a_report_drains_the_locust_entries_but_not_the_histograms() {
        let mut stats = Stats::default();
        stats.scenario("api_key").success(Duration::from_micros(1500), 20);
        stats.scenario("api_key").failure(Duration::from_millis(3), "HTTP 401".to_owned());
        stats.scenario("jwt-rs256").success(Duration::from_micros(700), 20);
        let counts = [("api_key".to_owned(), 2), ("jwt_rs256".to_owned(), 1)];
        let m = stats.report("w", &counts);
        let entries = protocol::get(&m.data, "stats").unwrap().as_array().unwrap();
        assert_eq!(entries.len(), 2);
        let total = protocol::get(&m.data, "stats_total").unwrap();
        assert_eq!(protocol::get(total, "num_requests").unwrap().as_u64(), Some(3));
        assert_eq!(protocol::get(total, "num_failures").unwrap().as_u64(), Some(1));
        assert_eq!(protocol::get(total, "name").unwrap().as_str(), Some("Aggregated"));
        let errors = protocol::get(&m.data, "errors").unwrap().as_map().unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(protocol::get(&m.data, "user_count").unwrap().as_u64(), Some(3));
        // Drained: the next report is empty; the histograms are not.
        let again = stats.report("w", &counts);
        assert!(protocol::get(&again.data, "stats").unwrap().as_array().unwrap().is_empty());
        let snapshot = stats.snapshot("w");
        let api = &snapshot.scenarios["api_key"];
        assert_eq!((api.ok, api.failed), (1, 1));
        let h = decode_histogram(&api.histogram).unwrap();
        assert_eq!(h.len(), 1);
        assert!(h.value_at_quantile(0.5) >= 1_499_000);
        // The message the master's locustfile saves is JSON inside msgpack.
        let message = snapshot.message();
        let back: WorkerHistograms = serde_json::from_str(message.data.as_str().unwrap()).unwrap();
        assert_eq!(back, snapshot);
    }
}
