//! The comparison as a terminal table, Markdown and JSON (`authbench.compare/1`).

use serde_json::{Value, json};
use tabled::builder::Builder;
use tabled::settings::Style;

use super::{Comparison, LATENCY_FRACTION, Row};

/// The schema identifier of `compare.json`.
pub const SCHEMA: &str = "authbench.compare/1";

const HEADER: [&str; 11] = [
    "configuration",
    "conformance",
    "replay window",
    "revocation",
    "user context",
    "delegation",
    "credential",
    "added CPU/req",
    "added p50",
    "added p99",
    "throughput",
];

fn us(v: Option<f64>) -> String {
    match v {
        Some(v) if v.abs() >= 1000.0 => format!("{:.2} ms", v / 1000.0),
        Some(v) => format!("{v:.0} µs"),
        None => "n/a".to_owned(),
    }
}

fn cells(r: &Row) -> [String; 11] {
    [
        r.label.clone(),
        format!("{}/{}", r.passed, r.judged),
        r.replay.clone(),
        r.revocation.clone(),
        r.nature.user_context.to_owned(),
        r.nature.delegation.to_owned(),
        r.credential_bytes
            .map_or_else(|| "n/a".to_owned(), |b| format!("{b} B/{}", r.credential_bytes_note)),
        us(r.added_cpu_us),
        us(r.added_p50_us),
        us(r.added_p99_us),
        r.throughput_ratio.map_or_else(|| "n/a".to_owned(), |t| format!("{t:.2}×")),
    ]
}

fn footer(c: &Comparison) -> String {
    let mut out = format!(
        "Measured against the reference servers{}, {:.0} s; * measured in this run. \
         Conformance: cases passed of those judged, per method. \
         Credential: bytes per request (headers) or per connection (the certificate chain). \
         CPU and throughput: closed loop against the same server's baseline{}. \
         Latency: open loop at {:.0}% of baseline capacity{}, added to the baseline's.\n",
        if c.quick { " (--quick: short phases, rougher numbers)" } else { "" },
        c.duration_secs,
        c.capacity.map_or_else(String::new, |cap| format!(" (capacity {cap:.0} req/s)")),
        LATENCY_FRACTION * 100.0,
        c.latency_rate.map_or_else(String::new, |r| format!(", {r:.0} req/s")),
    );
    if let Some(r) = c.handshake_rate {
        out.push_str(&format!(
            "mtls-handshake: both sides open a connection per request; its latency run is at {:.0}% of that baseline's capacity, {r:.0} req/s.\n",
            LATENCY_FRACTION * 100.0
        ));
    }
    out.push_str("Added latencies are differences of two measured percentiles: within noise they can be negative.\n");
    for r in c.rows.iter().filter(|r| r.note.is_some()) {
        out.push_str(&format!("{}: {}\n", r.label, r.note.as_deref().unwrap_or_default()));
    }
    out
}

/// The terminal table.
pub fn table(c: &Comparison) -> String {
    let mut b = Builder::default();
    b.push_record(HEADER);
    for r in &c.rows {
        b.push_record(cells(r));
    }
    let mut table = b.build();
    table.with(Style::sharp());
    format!("{table}\n{}", footer(c))
}

/// Markdown, for a pull-request comment or a README.
pub fn markdown(c: &Comparison) -> String {
    let escape = |s: &str| s.replace('|', "\\|");
    let mut out = String::from("## authbench compare\n\n");
    out.push_str(&format!("| {} |\n", HEADER.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(HEADER.len())));
    for r in &c.rows {
        let row: Vec<String> = cells(r).iter().map(|s| escape(s)).collect();
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out.push('\n');
    out.push_str(&footer(c));
    out
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// JSON (`authbench.compare/1`).
pub fn json(c: &Comparison) -> Value {
    json!({
        "schema": SCHEMA,
        "tool": { "name": "authbench", "version": env!("CARGO_PKG_VERSION") },
        "started_at": c.started_at,
        "duration_secs": round(c.duration_secs),
        "quick": c.quick,
        "baseline_capacity": c.capacity.map(round),
        "latency_rate": c.latency_rate.map(round),
        "handshake_latency_rate": c.handshake_rate.map(round),
        "latency_fraction": LATENCY_FRACTION,
        "conformance_summary": c.conformance.summary,
        "rows": c.rows.iter().map(|r| json!({
            "configuration": r.label,
            "method": r.method,
            "conformance": { "passed": r.passed, "judged": r.judged },
            "replay_window": r.replay,
            "revocation": r.revocation,
            "user_context": r.nature.user_context,
            "delegation": r.nature.delegation,
            "credential_bytes": r.credential_bytes,
            "credential_bytes_per": r.credential_bytes_note,
            "added_cpu_us_per_request": r.added_cpu_us.map(round),
            "added_p50_us": r.added_p50_us.map(round),
            "added_p99_us": r.added_p99_us.map(round),
            "throughput_ratio": r.throughput_ratio.map(|t| (t * 1000.0).round() / 1000.0),
            "note": r.note,
        })).collect::<Vec<_>>(),
    })
}
