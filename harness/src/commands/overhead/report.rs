//! The overhead report: a table for people, JSON (`authbench.overhead/1`)
//! for machines.

use serde_json::{Value, json};
use tabled::builder::Builder;
use tabled::settings::Style;

use super::{Report, RoundFigures, Row, Side};
use crate::measure::generator::{Load, Measured};
use authbench_reports::stats::{self, Interval, NoiseFloor};

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
    /// Per-round differences of `f` (method minus baseline), rounds where both sides have it.
    fn diffs(&self, f: impl Fn(&RoundFigures) -> Option<f64>) -> Vec<f64> {
        self.rounds.iter().filter_map(|(b, m)| Some(f(m)? - f(b)?)).collect()
    }

    fn mean(values: &[f64]) -> Option<f64> {
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }

    /// Added median latency, µs: the mean of the per-round differences.
    pub fn added_p50(&self) -> f64 {
        Self::mean(&self.diffs(|r| r.at(50.0)))
            .unwrap_or_else(|| us(&self.method.measured, 0.5) - us(&self.baseline.measured, 0.5))
    }

    /// Added p99 latency, µs.
    pub fn added_p99(&self) -> f64 {
        Self::mean(&self.diffs(|r| r.at(99.0)))
            .unwrap_or_else(|| us(&self.method.measured, 0.99) - us(&self.baseline.measured, 0.99))
    }

    /// Added server CPU per request, µs.
    pub fn added_cpu(&self) -> Option<f64> {
        Self::mean(&self.diffs(|r| r.cpu_us)).or_else(|| {
            Some(self.method.cpu_us_per_request()? - self.baseline.cpu_us_per_request()?)
        })
    }

    /// The method's rate over the baseline's (meaningful under `max`): the
    /// mean of the per-round ratios.
    pub fn throughput_ratio(&self) -> f64 {
        Self::mean(&self.ratios()).unwrap_or_else(|| {
            let b = self.baseline.measured.rate();
            if b > 0.0 { self.method.measured.rate() / b } else { 0.0 }
        })
    }

    fn ratios(&self) -> Vec<f64> {
        self.rounds.iter().filter(|(b, _)| b.rate > 0.0).map(|(b, m)| m.rate / b.rate).collect()
    }

    /// The 95 % interval of the added median latency.
    pub fn added_p50_interval(&self) -> Option<Interval> {
        Interval::paired(&self.diffs(|r| r.at(50.0)))
    }

    /// The 95 % interval of the added p99 latency.
    pub fn added_p99_interval(&self) -> Option<Interval> {
        Interval::paired(&self.diffs(|r| r.at(99.0)))
    }

    /// The 95 % interval of the added CPU per request.
    pub fn added_cpu_interval(&self) -> Option<Interval> {
        Interval::paired(&self.diffs(|r| r.cpu_us))
    }

    /// The 95 % interval of the throughput ratio.
    pub fn throughput_interval(&self) -> Option<Interval> {
        Interval::paired(&self.ratios())
    }
}

impl Report {
    /// The noise floor of this run: from its A/A row under `load` (any
    /// load when `None`), if it measured one.
    pub fn noise_floor(&self, load: Option<Load>) -> Option<NoiseFloor> {
        let aa =
            self.rows.iter().find(|r| r.label == super::AA && load.is_none_or(|l| r.load == l))?;
        Some(NoiseFloor {
            cpu_us: aa.added_cpu_interval().map(|i| i.reach(0.0)),
            p50_us: aa.added_p50_interval().map(|i| i.reach(0.0)),
            p99_us: aa.added_p99_interval().map(|i| i.reach(0.0)),
            throughput: aa.throughput_interval().map(|i| i.reach(1.0)),
        })
    }
}

fn interval_json(i: Option<Interval>) -> Value {
    match i {
        Some(i) => json!({
            "estimate": round(i.estimate),
            "low": round(i.low),
            "high": round(i.high),
            "rounds": i.rounds,
        }),
        None => Value::Null,
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
            "aa": o.aa,
        },
        "machine": report.machine,
        "noise_floor": report.noise_floor(None),
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
                "p50_us_interval": interval_json(r.added_p50_interval()),
                "p99_us_interval": interval_json(r.added_p99_interval()),
                "cpu_us_per_request_interval": interval_json(r.added_cpu_interval()),
            },
            "throughput_ratio": round(r.throughput_ratio() * 1000.0) / 1000.0,
            "throughput_ratio_interval": r.throughput_interval().map(|i| json!({
                "estimate": (i.estimate * 1000.0).round() / 1000.0,
                "low": (i.low * 1000.0).round() / 1000.0,
                "high": (i.high * 1000.0).round() / 1000.0,
                "rounds": i.rounds,
            })),
            "rounds": r.rounds.iter().map(|(b, m)| json!({
                "baseline": { "rate": round(b.rate), "p50_us": b.at(50.0).map(round), "p99_us": b.at(99.0).map(round), "cpu_us_per_request": b.cpu_us.map(round) },
                "authenticated": { "rate": round(m.rate), "p50_us": m.at(50.0).map(round), "p99_us": m.at(99.0).map(round), "cpu_us_per_request": m.cpu_us.map(round) },
            })).collect::<Vec<_>>(),
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
        // The A/A row is judged against zero, not against itself.
        let noise = if r.label == super::AA { None } else { report.noise_floor(Some(r.load)) };
        let fig = |v: f64, i: Option<Interval>, n: Option<f64>| {
            stats::signed(v, i.as_ref(), n, &|x| format!("{x:.1}"))
        };
        summary.push_record([
            r.label.clone(),
            describe_load(r.load),
            fig(r.added_p50(), r.added_p50_interval(), noise.and_then(|n| n.p50_us)),
            fig(r.added_p99(), r.added_p99_interval(), noise.and_then(|n| n.p99_us)),
            r.added_cpu().map_or_else(
                || "n/a".to_owned(),
                |v| fig(v, r.added_cpu_interval(), noise.and_then(|n| n.cpu_us)),
            ),
            stats::ratio(
                r.throughput_ratio(),
                r.throughput_interval().as_ref(),
                noise.and_then(|n| n.throughput),
            ),
        ]);
    }
    out.push_str(&summary.build().with(Style::sharp()).to_string());
    out.push('\n');
    out.push_str(&format!(
        "added: the mean of the per-round differences (method minus baseline) over {} alternating rounds, ± the half-width of its 95% interval; ≈ 0 where the interval contains no difference{}\n",
        report.options.rounds,
        if report.options.aa {
            ", noise where it is below the A/A row's reach (the baseline against itself)"
        } else {
            " (add --aa for this run's noise floor)"
        }
    ));
    if let Some(m) = &report.machine {
        out.push_str(&m.describe());
        out.push('\n');
    }
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
