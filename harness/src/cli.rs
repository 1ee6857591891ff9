//! The command line: clap's types and the exit codes, read by `main` and the
//! commands (`commands/`), and depending on nothing of the harness.

use std::net::SocketAddr;
use std::path::PathBuf;

use authbench_servers::Flaw;
use clap::{Args, Parser, Subcommand};

/// Nothing failed.
pub const EXIT_OK: u8 = 0;
/// A case failed or could not be judged.
pub const EXIT_FAILED: u8 = 1;
/// The harness itself could not run (bad arguments, profile, catalog, target).
pub const EXIT_HARNESS_ERROR: u8 = 2;

/// `fuzz`'s default number of candidates per configuration.
pub const DEFAULT_ITERATIONS: u64 = 100_000;

/// Conformance and load testing for HTTP API authentication.
#[derive(Debug, Parser)]
#[command(name = "authbench", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the reference servers (baseline, Basic, API keys, JWT, OAuth 2.0, mTLS, layered) over HTTPS.
    Serve(ServeArgs),
    /// Run the conformance catalog against a target (default: the embedded reference servers).
    Conform(ConformArgs),
    /// List the conformance catalog.
    Cases(CasesArgs),
    /// Measure what each method adds to the baseline: latency, CPU, throughput.
    Overhead(OverheadArgs),
    /// Run a goose load profile: users, ramp, methods and journeys.
    Load(LoadArgs),
    /// The security/performance comparison of every method, measured on the reference servers.
    Compare(CompareArgs),
    /// Re-render saved results (results.json or compare.json); with --baseline, gate on what changed.
    Report(ReportArgs),
    /// Fuzz credential parsing: mutated credentials, judged by an oracle.
    Fuzz(FuzzArgs),
    /// Which method fits what you are building: the recommendation, why, measured figures, the cases that matter.
    Advise(AdviseArgs),
    /// Join a Locust master as a worker and run authbench scenarios as its users.
    Worker(WorkerArgs),
    /// Write the master-side locustfile for `authbench worker` runs.
    Locustfile(LocustfileArgs),
}

/// `authbench worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The Locust master's HOST:PORT (its --master-bind-port, 5557 by default).
    #[arg(long, value_name = "HOST:PORT")]
    pub master: String,
    /// Target profile (TOML), read here: no credential crosses the wire.
    /// Default: the reference servers, started as a child process.
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,
    /// This worker's node id (default: host name and a random suffix, as Locust's).
    #[arg(long, value_name = "ID")]
    pub node_id: Option<String>,
    /// Write this worker's own counts and histograms into DIR/worker-<node id>.json.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Seconds to keep trying to reach the master before giving up.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub connect_timeout: f64,
    /// Seconds without an answer from the master before reconnecting.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub master_timeout: f64,
}

/// `authbench locustfile`.
#[derive(Debug, Args)]
pub struct LocustfileArgs {
    /// The scenarios, comma-separated, each with an optional weight
    /// (`baseline,api_key:3,jwt-es256`). Default: all of them.
    #[arg(long, value_name = "LIST")]
    pub scenarios: Option<String>,
    /// Requests per second per user, unless the master's --authbench-rate says otherwise.
    #[arg(long, value_name = "PER_SECOND", default_value_t = 10.0)]
    pub rate: f64,
    /// Write it to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `authbench advise`.
#[derive(Debug, Args)]
pub struct AdviseArgs {
    /// What is being built (asked on a terminal when absent): internal-tool,
    /// public-api-own-data, public-api-user-data, mobile-spa, internal-services,
    /// zero-trust-services, partners, partners-user-data.
    #[arg(long = "for", value_name = "WHAT")]
    pub r#for: Option<String>,
    /// The comparison to take figures from (default: authbench-compare/compare.json
    /// when it exists, else a quick run of the recommended configurations).
    #[arg(long, value_name = "FILE")]
    pub compare: Option<PathBuf>,
    /// Format on standard output.
    #[arg(long, value_enum, default_value = "table")]
    pub format: AdviseFormat,
}

/// Output formats of `advise`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AdviseFormat {
    /// Text and tables.
    Table,
    /// Markdown.
    Markdown,
    /// JSON (schema authbench.advice/1).
    Json,
}

/// `authbench fuzz`.
#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// Target profile (TOML). Default: the reference servers, started as a child process.
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,
    /// Only these methods (comma-separated: basic,api_key,jwt,oauth2).
    #[arg(long, value_name = "LIST")]
    pub methods: Option<String>,
    /// Candidates to send at most.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ITERATIONS)]
    pub iterations: u64,
    /// Seconds to run at most.
    #[arg(long, value_name = "SECONDS", default_value_t = 120.0)]
    pub duration: f64,
    /// The generator's seed (default: random, printed); a seed names the same candidates.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Concurrent connections.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub connections: usize,
    /// An answer slower than this many milliseconds is a finding.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub slow_ms: u64,
    /// Format on standard output.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Also write every format into DIR, and the findings' exact requests into DIR/reproducers.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `authbench report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Saved results: a conform results.json or a compare.json.
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// Format on standard output.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Also write every format into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// An earlier run of the same kind: print what changed, exit 1 on a new
    /// failure or an overhead regression.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Overhead regression threshold, percent growth (added CPU and p50
    /// latency, beyond a small absolute floor; throughput ratio drop).
    #[arg(long, value_name = "PCT", default_value_t = 25.0)]
    pub threshold: f64,
}

/// `authbench compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Short phases: the whole comparison in under a minute, with rougher numbers.
    #[arg(long)]
    pub quick: bool,
    /// Where the reports go: compare.{txt,md,json,html}, the overhead JSON, conformance/.
    #[arg(long, value_name = "DIR", default_value = "authbench-compare")]
    pub out: PathBuf,
}

/// `authbench load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Load profile: a TOML file, or a built-in one (smoke, journeys).
    #[arg(long, value_name = "FILE|NAME", default_value = "smoke")]
    pub profile: String,
    /// Target profile (TOML). Default: the reference servers, started as a child process.
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,
    /// Users at full strength (overrides the profile).
    #[arg(long, value_name = "N")]
    pub users: Option<usize>,
    /// Seconds at full strength (overrides the profile).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Requests the whole run may send (overrides the profile).
    #[arg(long, value_name = "N")]
    pub max_requests: Option<u64>,
    /// Where the reports go: load.json, load.txt, goose.html, goose.json.
    #[arg(long, value_name = "DIR", default_value = "authbench-load")]
    pub out: PathBuf,
    /// Output on standard output.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OverheadFormat,
}

/// Output formats of `overhead`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OverheadFormat {
    /// Tables and notes.
    Table,
    /// JSON (schema authbench.overhead/1).
    Json,
}

/// `authbench overhead`.
#[derive(Debug, Args)]
pub struct OverheadArgs {
    /// Target profile (TOML). Default: the reference servers, started as a child process.
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,
    /// Only these configurations (comma-separated; a prefix selects a family):
    /// baseline, basic, basic-cached, api_key, jwt (jwt-rs256, jwt-es256, …), oauth2, mtls, layered.
    #[arg(long, value_name = "LIST")]
    pub methods: Option<String>,
    /// Open loop at this many requests per second (latency timed from the intended send).
    #[arg(long, value_name = "PER_SECOND", conflicts_with_all = ["max", "sweep"])]
    pub rate: Option<f64>,
    /// Closed loop: as fast as the connections go (capacity).
    #[arg(long, conflicts_with = "sweep")]
    pub max: bool,
    /// Baseline capacity first, then open loop at 25%, 50% and 75% of it.
    #[arg(long)]
    pub sweep: bool,
    /// Seconds measured per endpoint (split into alternating rounds).
    #[arg(long, value_name = "SECONDS", default_value = "4")]
    pub duration: f64,
    /// Concurrent connections.
    #[arg(long, value_name = "N", default_value = "32")]
    pub connections: usize,
    /// Open a new TCP and TLS connection for every request (TLS and mTLS handshakes show).
    #[arg(long)]
    pub new_connection: bool,
    /// Stop a phase after this many requests.
    #[arg(long, value_name = "N", default_value = "5000000")]
    pub max_requests: u64,
    /// Load threads, each a single-threaded runtime (default: one per core).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Alternating baseline/method rounds per endpoint; each added cost's 95% interval comes
    /// from the spread of the per-round differences (two rounds at least).
    #[arg(long, value_name = "N", default_value = "6")]
    pub rounds: u32,
    /// Also measure the baseline against itself (A/A): this run's noise floor, below which a
    /// figure is labelled as noise.
    #[arg(long)]
    pub aa: bool,
    /// Seconds of warm-up per endpoint before measuring.
    #[arg(long, value_name = "SECONDS", default_value = "0.5")]
    pub warmup: f64,
    /// Format on standard output.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OverheadFormat,
    /// Also write overhead.json and overhead.txt into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Output formats of `conform`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A table per method and a summary line.
    Table,
    /// The results JSON (schema authbench.results/1).
    Json,
    /// JUnit XML, one testsuite per method.
    Junit,
    /// Markdown.
    Markdown,
    /// SARIF 2.1.0: each case a rule, each case that did not pass a result.
    Sarif,
    /// A self-contained HTML page (no scripts, no external assets).
    Html,
}

impl From<OutputFormat> for authbench_reports::Format {
    fn from(f: OutputFormat) -> Self {
        match f {
            OutputFormat::Table => authbench_reports::Format::Table,
            OutputFormat::Json => authbench_reports::Format::Json,
            OutputFormat::Junit => authbench_reports::Format::Junit,
            OutputFormat::Markdown => authbench_reports::Format::Markdown,
            OutputFormat::Sarif => authbench_reports::Format::Sarif,
            OutputFormat::Html => authbench_reports::Format::Html,
        }
    }
}

/// `authbench conform`.
#[derive(Debug, Args)]
pub struct ConformArgs {
    /// Target profile (TOML). Default: start the reference servers on loopback and test them.
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,
    /// Only these methods (comma-separated: basic,api_key,jwt,oauth2,mtls,layered,openapi).
    #[arg(long, value_name = "LIST")]
    pub methods: Option<String>,
    /// Only cases whose id matches GLOB (`*` and `?`), e.g. 'jwt::alg-none*'.
    #[arg(long, value_name = "GLOB")]
    pub cases: Option<String>,
    /// Check every operation of this OpenAPI document (a file, or an https URL) with the profile's credentials; overrides [openapi] spec and selects the openapi checks.
    #[arg(long, value_name = "FILE|URL")]
    pub openapi: Option<String>,
    /// Load the catalog from DIR (*.toml) instead of the built-in one.
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// Fail on every finding, `should` ones included (without it, only `must` findings and unjudged cases fail the run).
    #[arg(long)]
    pub strict: bool,
    /// How many cases run at once [default: 4 against --target, which never overflows a small listen backlog; 16 against the embedded servers].
    #[arg(long, value_name = "N", value_parser = parse_concurrency)]
    pub concurrency: Option<usize>,
    /// How long one request may take, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = parse_timeout)]
    pub timeout: f64,
    /// List every case on the terminal, not only those that did not pass.
    #[arg(long, short)]
    pub verbose: bool,
    /// Format on standard output.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Also write every format into DIR (results.json, junit.xml, results.md, results.txt, results.sarif, report.html).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `--concurrency`: 1 to 256.
fn parse_concurrency(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=256).contains(&n) => Ok(n),
        _ => Err(format!("`{text}` is not a number of cases from 1 to 256")),
    }
}

/// `--timeout`: seconds, more than 0 and at most an hour.
fn parse_timeout(text: &str) -> Result<f64, String> {
    let seconds: f64 = text.parse().map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err(format!("{text} s is out of range: give more than 0 and at most 3600"));
    }
    Ok(seconds)
}

/// List formats of `cases`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// A table.
    Table,
    /// JSON.
    Json,
}

/// `authbench cases`.
#[derive(Debug, Args)]
pub struct CasesArgs {
    /// Only these methods (comma-separated).
    #[arg(long, value_name = "LIST")]
    pub methods: Option<String>,
    /// Load the catalog from DIR instead of the built-in one.
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

/// `authbench serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Keep all state (SQLite database, PKI, keys, target.toml) in DIR; created if
    /// missing, reused if present. Default: a temporary directory removed on exit.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Address of the HTTPS listener (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub bind: SocketAddr,
    /// Address of the mTLS listener. Default: the port after --bind's (8444),
    /// or a free port when --bind's port is 0.
    #[arg(long, value_name = "ADDR")]
    pub mtls_bind: Option<SocketAddr>,
    /// Switch on a deliberate flaw (repeatable); see --list-flaws.
    #[arg(long = "flaw", value_name = "NAME")]
    pub flaws: Vec<Flaw>,
    /// List the flaws, one sentence each, and exit.
    #[arg(long)]
    pub list_flaws: bool,
}
