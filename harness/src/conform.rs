//! `authbench conform`: run the catalog against a target and report.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use authbench_reports::{Format, Results};
use authbench_scenarios::{Case, Catalog, Known};
use authbench_servers::{Flaw, ServeConfig};

use crate::cli::{ConformArgs, EXIT_FAILED, EXIT_OK};
use crate::client::HttpClient;
use crate::engine::{self, Shared};
use crate::forge::Forge;
use crate::target::Target;

/// How long one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the pre-flight waits for each selected URL: a target that answers
/// none of them within this is reported at once (exit 2), not after every
/// case has waited out its own timeout.
pub const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(5);

/// How many cases run at once against the embedded reference servers, which
/// are built for it (against a `--target`, [`engine::CONCURRENCY`]).
pub const EMBEDDED_CONCURRENCY: usize = 16;

/// The authorization codes' lifetime on the embedded servers.
pub const EMBEDDED_CODE_LIFETIME_SECS: i64 = 6;

/// How a conformance run is carried out.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Show a progress line on stderr.
    pub progress: bool,
    /// How many cases run at once.
    pub concurrency: usize,
    /// How long one request may take.
    pub timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { progress: false, concurrency: engine::CONCURRENCY, timeout: REQUEST_TIMEOUT }
    }
}

/// The URLs the selected methods' cases are sent to, for the pre-flight.
fn selected_urls<'t>(target: &'t Target, cases: &[Case]) -> Vec<(&'static str, &'t url::Url)> {
    let mut out: Vec<(&'static str, &url::Url)> = Vec::new();
    let wants = |m: &str| cases.iter().any(|c| c.method == m);
    if wants("basic") {
        out.extend(target.basic.as_ref().map(|b| ("basic", &b.url)));
    }
    if wants("api_key") {
        out.extend(target.api_key.as_ref().map(|a| ("api_key", &a.url)));
    }
    if wants("jwt") {
        out.extend(target.jwt.as_ref().map(|j| ("jwt", &j.url)));
    }
    if wants("oauth2") {
        out.extend(target.oauth2.as_ref().map(|o| ("oauth2", &o.issuer)));
        out.extend(target.oauth2.as_ref().map(|o| ("oauth2", &o.resource_url)));
    }
    if wants("mtls") {
        out.extend(target.mtls.as_ref().map(|m| ("mtls", &m.url)));
    }
    if wants("layered") {
        out.extend(target.layered.as_ref().map(|l| ("layered", &l.url)));
    }
    out
}

/// Sends one plain GET to every selected URL at once; fails when none
/// answers at all (an HTTP answer of any status, or a TLS alert, is an answer).
async fn preflight(
    target: &Target,
    cases: &[Case],
    client: &HttpClient,
    profile: &Path,
) -> anyhow::Result<()> {
    let urls = selected_urls(target, cases);
    if urls.is_empty() {
        return Ok(());
    }
    let quick = client.clone().with_timeout(PREFLIGHT_TIMEOUT.min(client.timeout()));
    let attempts = urls.iter().map(|(_, url)| {
        let quick = quick.clone();
        let request = crate::client::RawRequest::get((*url).clone());
        async move { quick.send(&request).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let mut problems = Vec::new();
    for ((method, url), answer) in urls.iter().zip(answers) {
        match answer {
            // A TLS server that refuses a request without a client
            // certificate (an alert, or a close after the handshake) is there.
            Ok(_) | Err(crate::client::SendError::Alert { .. }) => return Ok(()),
            Err(crate::client::SendError::Closed(_)) if url.scheme() == "https" => return Ok(()),
            Err(e) => problems.push(format!("[{method}] {url}: {e}")),
        }
    }
    bail!(
        "target unreachable: no selected URL of {} answers: {}; is the target running, and are its URLs right?",
        profile.display(),
        problems.join("; ")
    )
}

/// The flaw names, for catalog validation.
pub fn flaw_names() -> Vec<&'static str> {
    Flaw::ALL.iter().map(|f| f.name()).collect()
}

/// Loads the embedded catalog, or `dir`'s.
pub fn load_catalog(dir: Option<&Path>) -> anyhow::Result<Catalog> {
    let flaws = flaw_names();
    let steps = engine::steps::all_names();
    let known = Known { flaws: &flaws, steps: &steps };
    let catalog = match dir {
        Some(dir) => Catalog::from_dir(dir, known),
        None => Catalog::embedded(known),
    };
    // The error names file, line and field already.
    catalog.map_err(|e| anyhow::anyhow!("catalog: {e}"))
}

/// Whether `text` matches `pattern`, where `*` is any run of characters and `?` one.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Parses `--methods a,b` against the known method names.
pub fn parse_methods(list: Option<&str>) -> anyhow::Result<Option<Vec<String>>> {
    let Some(list) = list else { return Ok(None) };
    let methods: Vec<String> =
        list.split(',').map(|m| m.trim().to_owned()).filter(|m| !m.is_empty()).collect();
    for m in &methods {
        if !authbench_scenarios::case::METHODS.contains(&m.as_str()) {
            bail!(
                "--methods: unknown method `{m}`; use a comma-separated list of {}",
                authbench_scenarios::case::METHODS.join(", ")
            );
        }
    }
    Ok(Some(methods))
}

/// Selects the cases `--methods` and `--cases` name.
pub fn select(
    catalog: Catalog,
    methods: Option<&[String]>,
    glob: Option<&str>,
) -> anyhow::Result<Vec<Case>> {
    let cases: Vec<Case> = catalog
        .cases
        .into_iter()
        .filter(|c| methods.is_none_or(|m| m.contains(&c.method)))
        .filter(|c| glob.is_none_or(|g| glob_match(g, &c.id)))
        .collect();
    if cases.is_empty() {
        bail!("--cases/--methods select no case; `authbench cases` lists them");
    }
    Ok(cases)
}

/// The embedded reference servers, running for the length of a command.
pub struct Embedded {
    servers: authbench_servers::RunningServers,
    _dir: tempfile::TempDir,
}

impl Embedded {
    /// Starts the reference servers on loopback in a temporary state directory.
    pub async fn start(flaws: &[Flaw]) -> anyhow::Result<Embedded> {
        let dir = tempfile::Builder::new()
            .prefix("authbench-embedded-")
            .tempdir()
            .context("creating a state directory")?;
        let mut config = ServeConfig::new(
            dir.path().to_owned(),
            "127.0.0.1:0".parse().context("loopback address")?,
        );
        config.flaws = flaws.iter().copied().collect();
        // `oauth2::code-expired` waits a code's lifetime out, and it is the
        // longest case of the run: 6 s instead of `serve`'s 10 keeps the
        // whole catalog under 10 s, with room for a loaded machine to redeem
        // every other code in time.
        config.oauth.code_lifetime_secs = EMBEDDED_CODE_LIFETIME_SECS;
        let servers = authbench_servers::start(config)
            .await
            .context("starting the embedded reference servers")?;
        Ok(Embedded { servers, _dir: dir })
    }

    /// The profile the servers wrote.
    pub fn profile_path(&self) -> PathBuf {
        self.servers.profile_path.clone()
    }

    /// Stops the servers.
    pub async fn stop(self) {
        self.servers.shutdown().await;
    }
}

/// Runs `cases` against the profile at `profile`, checking first that the
/// selected methods' URLs answer at all.
pub async fn run_against(
    profile: &Path,
    cases: Vec<Case>,
    options: &RunOptions,
) -> anyhow::Result<Results> {
    let target = Target::load(profile)?;
    let client = HttpClient::new(target.ca_pem.as_deref(), options.timeout)
        .map_err(|e| anyhow::anyhow!("{}: ca_file: {e}", profile.display()))?;
    preflight(&target, &cases, &client, profile).await?;
    let progress = options.progress;
    let name = target.name.clone();
    let shared = Arc::new(
        Shared::new(Forge::new(Arc::new(target)), client).with_concurrency(options.concurrency),
    );
    let started_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let clock = Instant::now();
    let bar = progress.then(|| progress_line(cases.len()));
    let on_done: Option<engine::OnDone> = bar.clone().map(|b| {
        let f: engine::OnDone = Arc::new(b);
        f
    });
    let results = engine::run(shared, cases.clone(), on_done).await;
    if let Some(b) = bar {
        b.finish();
    }
    let findings = engine::findings::collect(&cases, &results);
    Ok(Results::new(&name, started_at, clock.elapsed().as_millis() as u64, results)
        .with_findings(findings))
}

/// A one-line progress line on stderr (only when it is a terminal): how
/// many cases are done, how many did not pass, and what is running.
#[derive(Clone)]
pub struct Progress {
    total: usize,
    state: Arc<std::sync::Mutex<ProgressState>>,
}

#[derive(Default)]
struct ProgressState {
    done: usize,
    not_passed: usize,
    running: Vec<String>,
}

fn progress_line(total: usize) -> Progress {
    Progress { total, state: Arc::default() }
}

impl Progress {
    fn draw(&self, state: &ProgressState) {
        let mut line = format!("[{}/{}]", state.done, self.total);
        if state.not_passed > 0 {
            line.push_str(&format!(" {} not passed ·", state.not_passed));
        }
        line.push_str(" running ");
        line.push_str(&state.running.join(", "));
        // One terminal line: a wrapped line cannot be erased with \r.
        let clipped: String = line.chars().take(110).collect();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{clipped}");
        let _ = err.flush();
    }

    fn finish(&self) {
        let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
    }
}

impl engine::Observer for Progress {
    fn started(&self, id: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.running.push(id.to_owned());
        self.draw(&state);
    }

    fn done(&self, result: &authbench_reports::CaseResult) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.done += 1;
        if !matches!(
            result.outcome,
            authbench_reports::Outcome::Pass | authbench_reports::Outcome::Skip
        ) {
            state.not_passed += 1;
        }
        state.running.retain(|r| r != &result.id);
        self.draw(&state);
    }
}

/// Writes `results` to stdout in `format`, and every format into `out` if
/// given. The table on stdout lists only the cases that did not pass unless
/// `verbose`; the files hold every case.
pub fn emit(
    results: &Results,
    format: Format,
    out: Option<&Path>,
    verbose: bool,
) -> anyhow::Result<()> {
    if let Some(dir) = out {
        emit_files(results, dir)?;
    }
    let mut stdout = std::io::stdout().lock();
    match format {
        Format::Table if !verbose => authbench_reports::table::render_brief(results, &mut stdout)?,
        _ => authbench_reports::render(results, format, &mut stdout)?,
    }
    stdout.flush()?;
    Ok(())
}

/// Writes `results` into `dir` in every format.
pub fn emit_files(results: &Results, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--out {}: cannot create the directory", dir.display()))?;
    for f in Format::ALL {
        let path = dir.join(f.file_name());
        let mut file = std::fs::File::create(&path)
            .with_context(|| format!("--out: cannot write {}", path.display()))?;
        authbench_reports::render(results, f, &mut file)?;
    }
    Ok(())
}

/// Runs `conform`.
pub fn run(args: ConformArgs) -> anyhow::Result<u8> {
    let catalog = load_catalog(args.catalog.as_deref())?;
    let methods = parse_methods(args.methods.as_deref())?;
    let cases = select(catalog, methods.as_deref(), args.cases.as_deref())?;
    let options = RunOptions {
        progress: std::io::stderr().is_terminal(),
        concurrency: args.concurrency.unwrap_or(if args.target.is_some() {
            engine::CONCURRENCY
        } else {
            EMBEDDED_CONCURRENCY
        }),
        timeout: Duration::from_secs_f64(args.timeout),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let results = runtime.block_on(async {
        match &args.target {
            Some(profile) => run_against(profile, cases, &options).await,
            None => {
                let embedded = Embedded::start(&[]).await?;
                let results = run_against(&embedded.profile_path(), cases, &options).await;
                embedded.stop().await;
                results
            }
        }
    })?;
    emit(&results, args.format.into(), args.out.as_deref(), args.verbose)?;
    Ok(if results.failed(args.strict) { EXIT_FAILED } else { EXIT_OK })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob_match("jwt::*", "jwt::alg-none"));
        assert!(glob_match("*alg-none*", "jwt::alg-none-mixed"));
        assert!(glob_match("basic::?rong-password", "basic::wrong-password"));
        assert!(!glob_match("jwt::*", "basic::wrong-password"));
        assert!(glob_match("*", ""));
    }
}
