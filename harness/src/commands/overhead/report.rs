//! The overhead report: a table for people, JSON (`authbench.overhead/1`)
//! for machines.

use serde_json::{Value, json};
use tabled::builder::Builder;
use tabled::settings::Style;

use super::{Report, Row, Side};
use crate::measure::generator::{Load, Measured};

/// The JSON schema name.
pub const SCHEMA: &str = "authbench.overhead/1";

/// `max` or `5000/s`.
pub fn describe_load(load: Load) -> String {
    match load {
        Load::Max => "max".to_owned(),
        Load::Rate(r) => format!("{r:.0}/s"),
    }
}

fn us(m: &Measured, q: f64) -> f64 {
    if m.latency.is_empty() { 0.0 } else { m.latency.value_at_quantile(q) as f64 / 1000.0 }
}

fn side_json(s: &Side) -> Value {
    let m = &s.measured;
    json!({
        "requests": m.ok,
        "errors": m.errors,
        "first_error": m.first_error,
        "rate": round(m.rate()),
        "p50_us": round(us(m, 0.5)),
        "p90_us": round(us(m, 0.9)),
        "p99_us": round(us(m, 0.99)),
        "p999_us": round(us(m, 0.999)),
        "max_us": round(if m.latency.is_empty() { 0.0 } else { m.latency.max() as f64 / 1000.0 }),
        "intended": m.intended,
        "late": m.late,
        "queued": m.queued,
        "unsent": m.unsent,
        "pacer_realtime": m.pacer_realtime,
        "dropped": m.dropped,
        "behind": m.behind(),
        "cpu_us_per_request": s.cpu_us_per_request().map(round),
    })
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl Row {
    /// Added median latency, µs.
    pub fn added_p50(&self) -> f64 {
        us(&self.method.measured, 0.5) - us(&self.baseline.measured, 0.5)
    }

    /// Added p99 latency, µs.
    pub fn added_p99(&self) -> f64 {
        us(&self.method.measured, 0.99) - us(&self.baseline.measured, 0.99)
    }

    /// Added server CPU per request, µs.
    pub fn added_cpu(&self) -> Option<f64> {
        Some(self.method.cpu_us_per_request()? - self.baseline.cpu_us_per_request()?)
    }

    /// The method's rate over the baseline's (meaningful under `max`).
    pub fn throughput_ratio(&self) -> f64 {
        let b = self.baseline.measured.rate();
        if b > 0.0 { self.method.measured.rate() / b } else { 0.0 }
    }
}

/// The report as JSON.
pub fn to_json(report: &Report) -> Value {
    let o = &report.options;
    json!({
        "schema": SCHEMA,
        "tool": { "name": "authbench", "version": env!("CARGO_PKG_VERSION") },
        "target": report.target,
        "started_at": report.started_at,
        "settings": {
            "load": match o.load {
                super::LoadChoice::Max => json!("max"),
                super::LoadChoice::Rate(r) => json!({ "rate": r }),
                super::LoadChoice::Sweep => json!({ "sweep": super::SWEEP_FRACTIONS }),
            },
            "duration_ms": o.duration.as_millis() as u64,
            "rounds": o.rounds,
            "connections": o.connections,
            "new_connection_per_request": o.new_connection,
            "workers": o.workers,
            "max_requests": o.max_requests,
            "cpu_source": report.cpu_source,
        },
        "baseline_capacity": report.capacity.map(round),
        "rows": report.rows.iter().map(|r| json!({
            "method": r.label,
            "load": match r.load { Load::Max => json!("max"), Load::Rate(x) => json!({ "rate": round(x) }) },
            "baseline": side_json(&r.baseline),
            "authenticated": side_json(&r.method),
            "added": {
                "p50_us": round(r.added_p50()),
                "p99_us": round(r.added_p99()),
                "cpu_us_per_request": r.added_cpu().map(round),
            },
            "throughput_ratio": round(r.throughput_ratio() * 1000.0) / 1000.0,
            "credential_header_bytes": r.credential_header_bytes,
        })).collect::<Vec<_>>(),
    })
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1}"))
}

/// The report as a table, with a line per generator that fell behind.
pub fn to_table(report: &Report) -> String {
    let mut b = Builder::default();
    b.push_record([
        "method",
        "load",
        "side",
        "req/s",
        "p50 µs",
        "p90 µs",
        "p99 µs",
        "p99.9 µs",
        "max µs",
        "CPU µs/req",
        "late",
        "queued",
        "unsent",
        "dropped",
        "errors",
    ]);
    for r in &report.rows {
        for (side, s) in [("baseline", &r.baseline), ("auth", &r.method)] {
            let m = &s.measured;
            b.push_record([
                r.label.clone(),
                describe_load(r.load),
                side.to_owned(),
                format!("{:.0}", m.rate()),
                format!("{:.0}", us(m, 0.5)),
                format!("{:.0}", us(m, 0.9)),
                format!("{:.0}", us(m, 0.99)),
                format!("{:.0}", us(m, 0.999)),
                format!(
                    "{:.0}",
                    if m.latency.is_empty() { 0.0 } else { m.latency.max() as f64 / 1000.0 }
                ),
                fmt_opt(s.cpu_us_per_request()),
                m.late.to_string(),
                m.queued.to_string(),
                m.unsent.to_string(),
                m.dropped.to_string(),
                m.errors.to_string(),
            ]);
        }
    }
    let mut out = b.build().with(Style::sharp()).to_string();
    out.push('\n');
    let mut summary = Builder::default();
    summary.push_record([
        "method",
        "load",
        "added p50 µs",
        "added p99 µs",
        "added CPU µs/req",
        "throughput vs baseline",
    ]);
    for r in &report.rows {
        summary.push_record([
            r.label.clone(),
            describe_load(r.load),
            format!("{:+.1}", r.added_p50()),
            format!("{:+.1}", r.added_p99()),
            r.added_cpu().map_or_else(|| "n/a".to_owned(), |v| format!("{v:+.1}")),
            format!("{:.2}×", r.throughput_ratio()),
        ]);
    }
    out.push_str(&summary.build().with(Style::sharp()).to_string());
    out.push('\n');
    if let Some(c) = report.capacity {
        out.push_str(&format!("baseline capacity: {c:.0} req/s\n"));
    }
    out.push_str(&format!("server CPU: {}\n", report.cpu_source));
    for r in &report.rows {
        for (side, s) in [("baseline", &r.baseline), (r.label.as_str(), &r.method)] {
            let m = &s.measured;
            if m.behind() {
                out.push_str(&format!(
                    "note: the generator fell behind on {side} at {}: {} of {} sends released over 1 ms late{}, {} dropped; the latencies include its delay\n",
                    describe_load(r.load),
                    m.late,
                    m.intended,
                    if m.pacer_realtime {
                        ""
                    } else {
                        " (the pacer ran at normal priority: real-time pacing needs root)"
                    },
                    m.dropped
                ));
            }
            if m.unsent > 0 {
                out.push_str(&format!(
                    "note: {side} could not keep up at {}: {} sends still queued at the end of the phase were not sent\n",
                    describe_load(r.load),
                    m.unsent
                ));
            }
            if let Some(e) = &m.first_error {
                out.push_str(&format!("note: {} errors on {side}, first: {e}\n", m.errors));
            }
        }
    }
    out
}
