//! The comparison of `authbench compare` (`authbench.compare/1`): its model,
//! which `compare.json` serializes and `authbench report` reads back, and its
//! renderers (terminal table, Markdown, HTML; JUnit and SARIF carry its
//! conformance part).

use serde::{Deserialize, Serialize};
use tabled::builder::Builder;
use tabled::settings::formatting::{AlignmentStrategy, TrimStrategy};
use tabled::settings::object::Segment;
use tabled::settings::peaker::Priority;
use tabled::settings::{Modify, Style, Width};

use crate::model::{Results, Summary, Tool};
use crate::stats;
pub use crate::stats::{Interval, NoiseFloor};

/// The schema identifier of `compare.json`.
pub const SCHEMA: &str = "authbench.compare/1";

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The tool.
    pub tool: Tool,
    /// RFC 3339 UTC start time.
    pub started_at: String,
    /// Seconds the run took.
    pub duration_secs: f64,
    /// Whether `--quick`.
    pub quick: bool,
    /// The baseline's capacity in the closed-loop run, req/s.
    pub baseline_capacity: Option<f64>,
    /// The rate the latency columns were measured at, req/s.
    pub latency_rate: Option<f64>,
    /// The rate of the handshake-per-connection latency run, req/s.
    pub handshake_latency_rate: Option<f64>,
    /// The fraction of baseline capacity the latency runs are at.
    pub latency_fraction: f64,
    /// Conformance counts over the whole catalog.
    pub conformance_summary: Summary,
    /// The rows, in table order.
    pub rows: Vec<Row>,
    /// The conformance results the rows summarize (absent in files written
    /// before they were embedded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conformance: Option<Results>,
    /// This run's noise floor: what the baseline measured against itself
    /// could not tell from no difference (absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_floor: Option<NoiseFloor>,
    /// The machine the figures were measured on (absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<Machine>,
}

/// The machine a performance run measured on, and where its load ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// Logical CPUs this process may run on.
    pub cpus: usize,
    /// The CPU model, from `/proc/cpuinfo`.
    pub cpu_model: Option<String>,
    /// The kernel release.
    pub kernel: Option<String>,
    /// The CPU frequency governor, when readable.
    pub governor: Option<String>,
    /// Where the load generator and the server ran: disjoint CPUs, or shared.
    pub placement: String,
}

impl Machine {
    /// One line for a report's notes.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("{} CPUs", self.cpus)];
        parts.extend(self.cpu_model.clone());
        parts.extend(self.kernel.as_ref().map(|k| format!("Linux {k}")));
        parts.extend(self.governor.as_ref().map(|g| format!("governor {g}")));
        format!("Machine: {}. {}", parts.join(", "), self.placement)
    }
}

/// Conformance counts of one row's method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Cases passed.
    pub passed: usize,
    /// Cases judged (all but skipped).
    pub judged: usize,
}

/// One method configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The configuration (`jwt-es256`, `mtls-handshake`, …).
    pub configuration: String,
    /// The conformance method it belongs to.
    pub method: String,
    /// Conformance of the method.
    pub conformance: Counts,
    /// How long a captured credential can be replayed.
    pub replay_window: String,
    /// How soon a revocation takes effect.
    pub revocation: String,
    /// Whose identity the credential carries.
    pub user_context: String,
    /// Whether a user delegates limited access to a client.
    pub delegation: String,
    /// Bytes the credential adds.
    pub credential_bytes: Option<usize>,
    /// `req` (headers of every request) or `conn` (once per connection).
    pub credential_bytes_per: String,
    /// Server CPU the method adds per request, µs.
    pub added_cpu_us_per_request: Option<f64>,
    /// Added median latency at the latency run's rate, µs.
    pub added_p50_us: Option<f64>,
    /// Added p99 latency at the latency run's rate, µs.
    pub added_p99_us: Option<f64>,
    /// Capacity relative to the baseline's.
    pub throughput_ratio: Option<f64>,
    /// The 95 % interval of the added CPU (absent in older files and with one round).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_cpu_interval: Option<Interval>,
    /// The 95 % interval of the added median latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_p50_interval: Option<Interval>,
    /// The 95 % interval of the added p99 latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_p99_interval: Option<Interval>,
    /// The 95 % interval of the throughput ratio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_interval: Option<Interval>,
    /// The noise floor this row's figures are read against (the A/A run
    /// under the same load and connection mode), if one was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_floor: Option<NoiseFloor>,
    /// The credential's lifetime, as this run observed it (`*`) or as the
    /// method has it (absent in older files).
    #[serde(default)]
    pub expiration: String,
    /// What the client must keep secret, from the method and the profile.
    #[serde(default)]
    pub client_secret: String,
    /// Requests needed to obtain a usable credential and to renew it,
    /// counted in this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complexity: Option<Complexity>,
    /// The state the server keeps to verify the credential.
    #[serde(default)]
    pub server_state: String,
    /// The threats the method's cases counter, from this run's verdicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<Security>,
    /// The `advise` situations whose recommendation is this configuration.
    #[serde(default)]
    pub best_for: Vec<String>,
    /// Why a performance column is empty.
    pub note: Option<String>,
    /// The latency distributions of the latency run, for charts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Distributions>,
}

/// What it takes a client to get a usable credential, and to get a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Complexity {
    /// Requests before the first use.
    pub obtain: Exchanges,
    /// Requests to renew it; `None`: renewed out of band (a new key, password
    /// or certificate is issued by a person or a provisioning system).
    pub renew: Option<Exchanges>,
    /// Each connection makes a TLS handshake with a client certificate.
    pub handshake: bool,
    /// How the flow went, when it is not obvious (client credentials rather
    /// than the code flow, for instance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Requests of a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchanges {
    /// Requests sent (round trips).
    pub requests: u32,
    /// The distinct endpoints they went to (`POST /oauth/token`).
    pub endpoints: Vec<String>,
}

impl Complexity {
    /// `none`, `TLS handshake`, `4 req (3 endpoints); renew 1`.
    pub fn describe(&self) -> String {
        let obtain = match (self.obtain.requests, self.handshake) {
            (0, true) => "TLS handshake".to_owned(),
            (0, false) => "none".to_owned(),
            (n, handshake) => format!(
                "{n} req{}{}",
                match self.obtain.endpoints.len() {
                    e if e > 1 && e as u32 != n => format!(" ({e} endpoints)"),
                    _ => String::new(),
                },
                if handshake { " + TLS handshake" } else { "" }
            ),
        };
        match &self.renew {
            Some(r) => format!("{obtain}; renew {} req*", r.requests),
            None if self.obtain.requests > 0 => format!("{obtain}*; renew out of band"),
            None => obtain,
        }
    }
}

/// The threats a configuration's method counters, as this run's verdicts say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Security {
    /// Threats all of whose judged cases passed.
    pub countered: Vec<String>,
    /// Threats with a case that did not pass.
    pub open: Vec<String>,
}

impl Security {
    /// `12/12 threats` or `10/12; open: token-forgery, stale-credential`.
    pub fn describe(&self) -> String {
        let total = self.countered.len() + self.open.len();
        if self.open.is_empty() {
            format!("{total}/{total} threats")
        } else {
            format!("{}/{total}; open: {}", self.countered.len(), self.open.join(", "))
        }
    }
}

/// Latency at percentiles, the baseline's beside the method's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distributions {
    /// The rate both sides took, req/s.
    pub rate: f64,
    /// The baseline's.
    pub baseline: Vec<Point>,
    /// The method's.
    pub method: Vec<Point>,
    /// The baseline's spread across rounds: the lowest and highest round at each percentile.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub baseline_band: Vec<Band>,
    /// The method's spread across rounds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub method_band: Vec<Band>,
}

/// The spread of one percentile across rounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// The percentile, 0–100.
    pub percentile: f64,
    /// The lowest round's latency there, µs.
    pub low_us: f64,
    /// The highest round's, µs.
    pub high_us: f64,
}

/// One point of a latency distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The percentile, 0–100.
    pub percentile: f64,
    /// Latency at it, µs.
    pub us: f64,
}

/// The percentiles a distribution is sampled at.
pub const PERCENTILES: [f64; 17] = [
    0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0, 97.5, 99.0, 99.5, 99.75, 99.9,
    99.99,
];

/// Columns of the comparison, in the Markdown and HTML order; the terminal
/// prints them as three tables (see [`TERMINAL_TABLES`]).
const HEADER: [&str; COLUMNS] = [
    "configuration",
    "conformance",
    "security",
    "replay window",
    "revocation",
    "expiration",
    "user context",
    "delegation",
    "client keeps",
    "to obtain / renew",
    "server keeps",
    "credential",
    "added CPU/req",
    "added p50",
    "added p99",
    "throughput",
    "best for",
];
const COLUMNS: usize = 17;
/// The first column holding a figure (right-aligned in HTML).
pub(crate) const FIRST_FIGURE: usize = 11;

/// The terminal's three tables: a title and the columns of [`HEADER`] each
/// shows, the configuration first in every one. "best for" follows them as a
/// line per situation, its names being too long for a column.
const TERMINAL_TABLES: [(&str, &[usize]); 3] = [
    ("What each configuration gets right", &[0, 1, 2, 3, 4, 5]),
    ("What it takes", &[0, 6, 7, 8, 9, 10]),
    ("What it costs", &[0, 11, 12, 13, 14, 15]),
];
/// The width the terminal tables wrap their cells to fit.
pub const TERMINAL_WIDTH: usize = 118;

/// `1.23 ms` or `42 µs`.
pub fn us(v: Option<f64>) -> String {
    match v {
        Some(v) if v.abs() >= 1000.0 => format!("{:.2} ms", v / 1000.0),
        Some(v) => format!("{v:.0} µs"),
        None => "n/a".to_owned(),
    }
}

/// The cells of `r`, in [`HEADER`] order.
fn cells(r: &Row) -> [String; COLUMNS] {
    let noise = r.noise_floor.as_ref();
    let or_na = |s: &str| if s.is_empty() { "n/a".to_owned() } else { s.to_owned() };
    [
        r.configuration.clone(),
        format!("{}/{}", r.conformance.passed, r.conformance.judged),
        r.security.as_ref().map_or_else(|| "n/a".to_owned(), Security::describe),
        r.replay_window.clone(),
        r.revocation.clone(),
        or_na(&r.expiration),
        r.user_context.clone(),
        r.delegation.clone(),
        or_na(&r.client_secret),
        r.complexity.as_ref().map_or_else(|| "not measured".to_owned(), Complexity::describe),
        or_na(&r.server_state),
        r.credential_bytes
            .map_or_else(|| "n/a".to_owned(), |b| format!("{b} B/{}", r.credential_bytes_per)),
        cost(
            r.added_cpu_us_per_request,
            r.added_cpu_interval.as_ref(),
            noise.and_then(|n| n.cpu_us),
        ),
        cost(r.added_p50_us, r.added_p50_interval.as_ref(), noise.and_then(|n| n.p50_us)),
        cost(r.added_p99_us, r.added_p99_interval.as_ref(), noise.and_then(|n| n.p99_us)),
        r.throughput_ratio.map_or_else(
            || "n/a".to_owned(),
            |t| stats::ratio(t, r.throughput_interval.as_ref(), noise.and_then(|n| n.throughput)),
        ),
        if r.best_for.is_empty() { "—".to_owned() } else { r.best_for.join(", ") },
    ]
}

/// An added cost with its interval (`+38 µs (±12 µs)`, `≈ 0 (±12 µs)`).
pub fn cost(value: Option<f64>, interval: Option<&Interval>, noise_floor: Option<f64>) -> String {
    match value {
        None => "n/a".to_owned(),
        Some(v) => stats::signed(v, interval, noise_floor, &|x| us(Some(x))),
    }
}

/// The notes under the table, one per line.
fn footer(c: &Comparison) -> Vec<String> {
    let pct = c.latency_fraction * 100.0;
    let mut out = vec![format!(
        "Measured against the reference servers{}, {:.0} s; * measured in this run. \
         Conformance: cases passed of those judged, per method. \
         Credential: bytes per request (headers) or per connection (the certificate chain). \
         CPU and throughput: closed loop against the same server's baseline{}. \
         Latency: open loop at {pct:.0}% of baseline capacity{}, added to the baseline's.",
        if c.quick {
            " (--quick: rough figures from short phases, wide intervals; run without --quick for figures to quote)"
        } else {
            ""
        },
        c.duration_secs,
        c.baseline_capacity.map_or_else(String::new, |cap| format!(" (capacity {cap:.0} req/s)")),
        c.latency_rate.map_or_else(String::new, |r| format!(", {r:.0} req/s")),
    )];
    if let Some(r) = c.handshake_latency_rate {
        out.push(format!(
            "mtls-handshake: both sides open a connection per request; its latency run is at {pct:.0}% of that baseline's capacity, {r:.0} req/s."
        ));
    }
    out.push(
        "Security: the threats the method's cases counter (threats.toml), countered when every judged case naming one passed. \
         Expiration: the credential's lifetime; * as measured in this run. \
         Client keeps: the secrets a client must store. To obtain / renew: requests a client sends before its first use and to get a new credential, \
         counted in this run (*); TLS handshake: the certificate is presented on each connection instead. \
         Server keeps: the state the reference server reads to verify the credential. \
         Best for: the `authbench advise` situations that recommend it."
            .to_owned(),
    );
    out.push(
        "Added costs: the mean of the per-round differences between method and baseline (alternating rounds), \
         ± the half-width of its 95% interval; ≈ 0 where the interval contains no difference, \
         \"noise\" where the figure is below this run's noise floor (the baseline measured against itself)."
            .to_owned(),
    );
    if let Some(n) = &c.noise_floor {
        let show = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| us(Some(v)));
        out.push(format!(
            "Noise floor (A/A): CPU ±{}, p50 ±{}, p99 ±{}, throughput ±{}.",
            show(n.cpu_us),
            show(n.p50_us),
            show(n.p99_us),
            n.throughput.map_or_else(|| "n/a".to_owned(), |t| format!("{t:.2}×"))
        ));
    }
    if let Some(m) = &c.machine {
        out.push(m.describe());
    }
    for r in &c.rows {
        if let Some(note) = &r.note {
            out.push(format!("{}: {note}", r.configuration));
        }
    }
    out
}

/// The terminal report: three tables of at most [`TERMINAL_WIDTH`] columns
/// (long cells wrap), then the notes that say what the columns mean.
pub fn table(c: &Comparison) -> String {
    let rows: Vec<[String; COLUMNS]> = c.rows.iter().map(cells).collect();
    let mut out = String::new();
    for (title, columns) in TERMINAL_TABLES {
        let mut b = Builder::default();
        b.push_record(columns.iter().map(|&i| HEADER[i]));
        for row in &rows {
            b.push_record(columns.iter().map(|&i| row[i].clone()));
        }
        let mut table = b.build();
        table
            .with(Style::sharp())
            .with(Width::wrap(TERMINAL_WIDTH).keep_words(true).priority(Priority::max(true)))
            // A wrapped line starts where a space was: trim it.
            .with(
                Modify::new(Segment::all())
                    .with(TrimStrategy::Horizontal)
                    .with(AlignmentStrategy::PerLine),
            );
        out.push_str(&format!("{title}\n{table}\n\n"));
    }
    let best: Vec<String> = c
        .rows
        .iter()
        .filter(|r| !r.best_for.is_empty())
        .map(|r| format!("{} → {}", r.best_for.join(", "), r.configuration))
        .collect();
    if !best.is_empty() {
        out.push_str(&wrap_note(
            &format!("Best for (`authbench advise --for <situation>`): {}.", best.join("; ")),
            TERMINAL_WIDTH,
        ));
        out.push_str("\n\n");
    }
    let notes: Vec<String> = footer(c).iter().map(|n| wrap_note(n, TERMINAL_WIDTH)).collect();
    format!("{out}{}\n", notes.join("\n"))
}

/// `text` wrapped at word boundaries to `width` columns, continuation lines
/// indented by two.
fn wrap_note(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if line_len > 0 && line_len + 1 + len > width {
            out.push_str("\n  ");
            line_len = 2;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += len;
    }
    out
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
    out.push_str(&footer(c).join("\n"));
    out.push('\n');
    if let Some(results) = &c.conformance {
        let mut threats = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = crate::markdown::by_threat(results, &mut threats);
        out.push_str(&String::from_utf8_lossy(&threats));
    }
    out
}

/// The HTML report's parts: header cells, row cells and footer lines.
pub(crate) fn html_parts(
    c: &Comparison,
) -> ([&'static str; COLUMNS], Vec<[String; COLUMNS]>, Vec<String>) {
    (HEADER, c.rows.iter().map(cells).collect(), footer(c))
}
