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

/// Runs `cases` against the profile at `profile`, checking first that it is reachable.
pub async fn run_against(
    profile: &Path,
    cases: Vec<Case>,
    progress: bool,
) -> anyhow::Result<Results> {
    let target = Target::load(profile)?;
    let client = HttpClient::new(target.ca_pem.as_deref(), REQUEST_TIMEOUT)
        .map_err(|e| anyhow::anyhow!("{}: ca_file: {e}", profile.display()))?;
    for url in target.urls() {
        if let Err(e) = client.probe(url).await {
            bail!(
                "target unreachable: {url}: {e}; is it running, and is base_url right in {}?",
                profile.display()
            );
        }
    }
    let name = target.name.clone();
    let shared = Arc::new(Shared::new(Forge::new(Arc::new(target)), client));
    let started_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let clock = Instant::now();
    let bar = progress.then(|| progress_line(cases.len()));
    let on_done: Option<engine::OnDone> = bar.clone().map(|b| {
        let f: engine::OnDone = Arc::new(move |r: &authbench_reports::CaseResult| b.tick(&r.id));
        f
    });
    let results = engine::run(shared, cases, on_done).await;
    if let Some(b) = bar {
        b.finish();
    }
    Ok(Results::new(&name, started_at, clock.elapsed().as_millis() as u64, results))
}

/// A one-line progress counter on stderr (only when it is a terminal).
#[derive(Clone)]
pub struct Progress {
    total: usize,
    done: Arc<std::sync::atomic::AtomicUsize>,
}

fn progress_line(total: usize) -> Progress {
    Progress { total, done: Arc::new(std::sync::atomic::AtomicUsize::new(0)) }
}

impl Progress {
    fn tick(&self, id: &str) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K[{done}/{}] {id}", self.total);
        let _ = err.flush();
    }

    fn finish(&self) {
        let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
    }
}

/// Writes `results` to stdout in `format`, and every format into `out` if given.
pub fn emit(results: &Results, format: Format, out: Option<&Path>) -> anyhow::Result<()> {
    if let Some(dir) = out {
        emit_files(results, dir)?;
    }
    let mut stdout = std::io::stdout().lock();
    authbench_reports::render(results, format, &mut stdout)?;
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
    let progress = std::io::stderr().is_terminal();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let results = runtime.block_on(async {
        match &args.target {
            Some(profile) => run_against(profile, cases, progress).await,
            None => {
                let embedded = Embedded::start(&[]).await?;
                let results = run_against(&embedded.profile_path(), cases, progress).await;
                embedded.stop().await;
                results
            }
        }
    })?;
    emit(&results, args.format.into(), args.out.as_deref())?;
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
