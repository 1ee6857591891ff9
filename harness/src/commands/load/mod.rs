//! `authbench load`: goose load profiles and journeys.
//!
//! `overhead` answers "what does each method cost per request"; `load` answers
//! "how does the target behave under a realistic mix": users ramping up, each
//! with its own connections (and, for mTLS, its own certificate), running
//! methods and journeys (OAuth log-in/call/refresh/call/revoke, API key
//! rotation) for a set time under a request cap. goose runs the users and
//! writes its own HTML and JSON reports; we add a summary table, `load.json`
//! (schema `authbench.load/1`) and the journeys' findings (a revoked key
//! still accepted).
//!
//! Latency here is goose's, from when a user sends: a closed loop per user.
//! For open-loop overhead percentiles use `authbench overhead`.

pub mod journeys;
pub mod profile;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::{Context as _, bail};
use goose::config::GooseConfiguration;
use goose::prelude::*;
use serde_json::{Value, json};
use tabled::builder::Builder;
use tabled::settings::Style;

use crate::client::HttpClient;
use crate::methods::Shared;
use crate::methods::Target;
use crate::methods::forge::Forge;
use journeys::{Context, MethodRequest};
use profile::LoadProfile;

/// One named request's figures from goose's metrics.
#[derive(Debug, Clone)]
pub struct RequestRow {
    /// `METHOD name`.
    pub name: String,
    /// Requests sent.
    pub count: usize,
    /// Requests that failed (unexpected status or no answer).
    pub failed: usize,
    /// Median, p90, p99 and max in microseconds (goose's buckets).
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Slowest.
    pub max_us: u64,
}

/// The run's summary.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Target name.
    pub target: String,
    /// The profile as run.
    pub profile: LoadProfile,
    /// Seconds goose ran.
    pub duration_secs: usize,
    /// Most users at once.
    pub max_users: usize,
    /// Per named request, sorted by name.
    pub requests: Vec<RequestRow>,
    /// Journey findings (a revoked key accepted…).
    pub findings: u64,
}

impl LoadReport {
    /// Requests sent in all.
    pub fn total(&self) -> usize {
        self.requests.iter().map(|r| r.count).sum()
    }

    /// Requests failed in all.
    pub fn failed(&self) -> usize {
        self.requests.iter().map(|r| r.failed).sum()
    }
}

/// The reference servers' admin API (base URL, token), when the profile names one.
pub(crate) fn admin_of(
    target: &crate::methods::Target,
) -> anyhow::Result<Option<(url::Url, String)>> {
    match &target.admin {
        Some((path, token_file)) => {
            let token = std::fs::read_to_string(token_file)
                .with_context(|| format!("the admin token {}", token_file.display()))?;
            let base = target
                .base_url
                .join(&format!("{}/", path.trim_end_matches('/')))
                .context("the admin URL")?;
            Ok(Some((base, token.trim().to_owned())))
        }
        None => Ok(None),
    }
}

/// Runs `profile` against the target at `target_file` (or a child reference
/// server), writing goose's reports into `out`.
pub async fn run(
    profile: LoadProfile,
    target_file: Option<&std::path::Path>,
    out: &std::path::Path,
    progress: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<LoadReport> {
    let child = match target_file {
        Some(_) => None,
        None => Some(crate::embedded::start_child_server(std::process::Command::spawn)?),
    };
    let profile_path = match (target_file, &child) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(c)) => c.profile.clone(),
        (None, None) => unreachable!("a child server runs whenever --target is absent"),
    };
    let target = Target::load(&profile_path)?;
    let client = HttpClient::new(target.ca_pem.as_deref(), crate::client::REQUEST_TIMEOUT)
        .map_err(|e| anyhow::anyhow!("{}: ca_file: {e}", profile_path.display()))?;
    for url in crate::methods::urls(&target) {
        if let Err(e) = client.probe(url).await {
            bail!(
                "target unreachable: {url}: {e}; is it running, and is base_url right in {}?",
                profile_path.display()
            );
        }
    }
    let admin = admin_of(&target)?;
    let base_url = target.base_url.clone();
    let name = target.name.clone();
    let shared = Arc::new(Shared::new(Forge::new(Arc::new(target)), client));
    progress("minting credentials");
    let (_, configurations) = crate::measure::configurations(&shared, true).await?;
    let methods = configurations
        .into_iter()
        .map(|c| {
            let e = c.endpoint;
            (c.label, MethodRequest { url: e.url, headers: e.headers, one_use: e.one_use })
        })
        .collect();
    let ctx = Arc::new(Context {
        shared,
        methods,
        admin,
        findings: std::sync::atomic::AtomicU64::new(0),
    });

    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let total = profile.total();
    let throttle = (profile.max_requests as f64 / total.as_secs_f64()).ceil().max(1.0) as usize;
    // Struct update syntax is out: the configuration has private fields.
    let mut config = GooseConfiguration::default();
    config.host = Some(base_url.to_string());
    config.report_file = vec![
        out.join("goose.html").display().to_string(),
        out.join("goose.json").display().to_string(),
    ];
    config.throttle_requests = Some(throttle);
    config.no_print_metrics = true;
    config.no_telnet = true;
    config.no_reset_metrics = true;
    config.quiet = 1;
    if profile.test_plan.is_none() {
        config.users = Some(profile.users);
        config.increase_rate =
            Some(profile.increase_rate.unwrap_or(profile.users as f64).to_string());
        config.run_time = Some(format!("{}", profile.duration.ceil() as u64));
    }
    let goose = |e: GooseError| anyhow::anyhow!("goose: {e}");
    let mut attack = GooseAttack::initialize_with_config(config).map_err(goose)?;
    if let Some(plan) = &profile.test_plan {
        attack = *attack.set_default(GooseDefault::TestPlan, plan.as_str()).map_err(goose)?;
    }
    for entry in &profile.scenarios {
        attack = attack.register_scenario(journeys::scenario(&entry.name, entry.weight, &ctx)?);
    }
    progress(&format!(
        "{} users, {:.0} s, at most {} requests ({throttle}/s)",
        profile.users,
        total.as_secs_f64(),
        profile.max_requests
    ));
    // goose prints its progress on standard output, which is ours (the table
    // or the JSON): point it at standard error while goose runs.
    let stdout = StdoutToStderr::new()?;
    let metrics = attack.execute().await.map_err(goose);
    drop(stdout);
    let metrics = metrics?;
    let mut requests: Vec<RequestRow> = metrics
        .requests
        .iter()
        .map(|(key, r)| RequestRow {
            name: key.clone(),
            count: r.success_count + r.fail_count,
            failed: r.fail_count,
            p50_us: r.raw_data.percentile_us(0.5),
            p90_us: r.raw_data.percentile_us(0.9),
            p99_us: r.raw_data.percentile_us(0.99),
            max_us: r.raw_data.maximum_time_us,
        })
        .collect();
    requests.sort_by(|a, b| a.name.cmp(&b.name));
    drop(child);
    Ok(LoadReport {
        target: name,
        profile,
        duration_secs: metrics.duration,
        max_users: metrics.maximum_users,
        requests,
        findings: ctx.findings.load(Ordering::Relaxed),
    })
}

/// Standard output redirected to standard error until dropped.
struct StdoutToStderr(std::os::fd::OwnedFd);

impl StdoutToStderr {
    fn new() -> anyhow::Result<Self> {
        use std::io::Write as _;
        use std::os::fd::AsFd as _;
        std::io::stdout().flush()?;
        let saved = rustix::io::dup(std::io::stdout().as_fd()).context("saving stdout")?;
        rustix::stdio::dup2_stdout(std::io::stderr().as_fd()).context("redirecting stdout")?;
        Ok(StdoutToStderr(saved))
    }
}

impl Drop for StdoutToStderr {
    fn drop(&mut self) {
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        let _ = rustix::stdio::dup2_stdout(&self.0);
    }
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

/// The summary as a table.
pub fn to_table(report: &LoadReport) -> String {
    let mut b = Builder::default();
    b.push_record(["request", "count", "failed", "p50", "p90", "p99", "max"]);
    for r in &report.requests {
        b.push_record([
            r.name.clone(),
            r.count.to_string(),
            r.failed.to_string(),
            ms(r.p50_us),
            ms(r.p90_us),
            ms(r.p99_us),
            ms(r.max_us),
        ]);
    }
    let mut table = b.build();
    table.with(Style::sharp());
    let mut out = format!(
        "load against {}: {} users at most, {} s, {} requests, {} failed\n{table}\n",
        report.target,
        report.max_users,
        report.duration_secs,
        report.total(),
        report.failed()
    );
    if report.findings > 0 {
        out.push_str(&format!(
            "FINDING: a revoked API key was accepted {} time(s) after its revocation answered\n",
            report.findings
        ));
    }
    out.push_str("goose's own reports: goose.html, goose.json (percentiles in its buckets)\n");
    out
}

/// The summary as JSON (schema `authbench.load/1`).
pub fn to_json(report: &LoadReport) -> Value {
    json!({
        "schema": "authbench.load/1",
        "target": report.target,
        "profile": {
            "description": report.profile.description,
            "users": report.profile.users,
            "increase_rate": report.profile.increase_rate,
            "duration_secs": report.profile.duration,
            "test_plan": report.profile.test_plan,
            "max_requests": report.profile.max_requests,
            "scenarios": report.profile.scenarios.iter()
                .map(|s| json!({"name": s.name, "weight": s.weight})).collect::<Vec<_>>(),
        },
        "duration_secs": report.duration_secs,
        "max_users": report.max_users,
        "total": report.total(),
        "failed": report.failed(),
        "findings": report.findings,
        "requests": report.requests.iter().map(|r| json!({
            "name": r.name,
            "count": r.count,
            "failed": r.failed,
            "p50_us": r.p50_us,
            "p90_us": r.p90_us,
            "p99_us": r.p99_us,
            "max_us": r.max_us,
        })).collect::<Vec<_>>(),
    })
}

/// `authbench load` from the command line: exit 0 when every request got
/// its expected answer, 1 when some failed or a journey found a flaw.
pub fn command(args: crate::cli::LoadArgs) -> anyhow::Result<u8> {
    let mut profile = LoadProfile::load(&args.profile)?;
    if let Some(users) = args.users {
        if users == 0 || users > profile::MAX_USERS {
            bail!("--users must be between 1 and {}", profile::MAX_USERS);
        }
        profile.users = users;
    }
    if let Some(duration) = args.duration {
        if !(duration > 0.0 && duration <= profile::MAX_DURATION.as_secs_f64()) {
            bail!("--duration must be between 0 and {} seconds", profile::MAX_DURATION.as_secs());
        }
        profile.duration = duration;
    }
    if let Some(max) = args.max_requests {
        if max == 0 {
            bail!("--max-requests must be at least 1");
        }
        profile.max_requests = max;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let progress = |line: &str| eprintln!("authbench: {line}");
    let report = runtime.block_on(run(profile, args.target.as_deref(), &args.out, &progress))?;
    let table = to_table(&report);
    let json = serde_json::to_string_pretty(&to_json(&report))?;
    match args.format {
        crate::cli::OverheadFormat::Table => print!("{table}"),
        crate::cli::OverheadFormat::Json => println!("{json}"),
    }
    std::fs::write(args.out.join("load.json"), format!("{json}\n"))?;
    std::fs::write(args.out.join("load.txt"), &table)?;
    Ok(if report.failed() > 0 || report.findings > 0 || report.total() == 0 {
        crate::cli::EXIT_FAILED
    } else {
        crate::cli::EXIT_OK
    })
}
