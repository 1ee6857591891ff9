//! `/metrics` in the Prometheus text format: requests and authentication
//! verification time by method and outcome, and the process's CPU time, so that
//! `authbench overhead` can compute server CPU per request for any target that
//! exposes the standard `process_cpu_seconds_total`.

use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// Labels of the per-method metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuthLabels {
    method: &'static str,
    outcome: &'static str,
}

/// The servers' metrics registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<AuthLabels, Counter>,
    verification: Family<AuthLabels, Histogram, fn() -> Histogram>,
    /// OAuth logins started and not finished (bounded, issue 21).
    pub pending_logins: Gauge,
}

fn verification_histogram() -> Histogram {
    // 1 µs to ~4 s: from a hash lookup to argon2id on a loaded machine.
    Histogram::new(exponential_buckets(1e-6, 2.0, 23))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric registered and no samples.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProcessCollector));
        // The process metrics keep their standard names; ours carry a prefix.
        let ours = registry.sub_registry_with_prefix("authbench");
        let requests = Family::<AuthLabels, Counter>::default();
        let verification: Family<AuthLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(verification_histogram);
        ours.register(
            "requests",
            "Requests to protected resources, by authentication method and outcome",
            requests.clone(),
        );
        ours.register_with_unit(
            "auth_verification",
            "Time spent verifying credentials, by authentication method and outcome",
            Unit::Seconds,
            verification.clone(),
        );
        let pending_logins = Gauge::default();
        ours.register(
            "oauth_pending_logins",
            "Authorization requests waiting for the user's login or consent",
            pending_logins.clone(),
        );
        Metrics { registry, requests, verification, pending_logins }
    }

    /// Records one request to a resource of `method` that ended in `outcome`,
    /// whose credential verification took `elapsed`.
    pub fn record(&self, method: &'static str, outcome: &'static str, elapsed: Duration) {
        let labels = AuthLabels { method, outcome };
        self.requests.get_or_create(&labels).inc();
        self.verification.get_or_create(&labels).observe(elapsed.as_secs_f64());
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// `process_cpu_seconds_total` and `process_resident_memory_bytes`, read at scrape time.
#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let cpu = ConstCounter::new(process_cpu_time().as_secs_f64());
        let metric = encoder.encode_descriptor(
            "process_cpu",
            "Total user and system CPU time spent by the process",
            Some(&Unit::Seconds),
            cpu.metric_type(),
        )?;
        cpu.encode(metric)?;
        if let Some(rss) = resident_memory_bytes() {
            let gauge = ConstGauge::new(rss as i64);
            let metric = encoder.encode_descriptor(
                "process_resident_memory",
                "Resident memory size of the process",
                Some(&Unit::Bytes),
                gauge.metric_type(),
            )?;
            gauge.encode(metric)?;
        }
        Ok(())
    }
}

/// CPU time consumed by this process, all threads, user and system.
pub fn process_cpu_time() -> Duration {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32)
}

fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_requests_verification_time_and_process_cpu() {
        let metrics = Metrics::new();
        metrics.record("basic", "ok", Duration::from_millis(20));
        metrics.record("basic", "ok", Duration::from_millis(30));
        let text = metrics.render();
        assert!(
            text.contains(r#"authbench_requests_total{method="basic",outcome="ok"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"authbench_auth_verification_seconds_count{method="basic",outcome="ok"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains("\nprocess_cpu_seconds_total "), "{text}");
    }
}
