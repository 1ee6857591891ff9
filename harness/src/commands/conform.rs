//! `authbench conform`: run the catalog against a target and report.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use authbench_reports::Results;
use authbench_scenarios::Case;

use crate::catalog::{filter, glob_match, load_catalog, parse_methods};
use crate::cli::{ConformArgs, EXIT_FAILED, EXIT_OK};
use crate::client::{HttpClient, REQUEST_TIMEOUT};
use crate::embedded::{EMBEDDED_CONCURRENCY, Embedded};
use crate::engine::{self};
use crate::methods::Target;
use crate::methods::forge::Forge;
use crate::methods::{self, Method, Shared, spec};
use crate::output::{emit, progress_line};

/// How long the pre-flight waits for each selected URL: a target that answers
/// none of them within this is reported at once (exit 2), not after every
/// case has waited out its own timeout.
pub const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(5);

/// How a conformance run is carried out.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Show a progress line on stderr.
    pub progress: bool,
    /// How many cases run at once.
    pub concurrency: usize,
    /// How long one request may take.
    pub timeout: Duration,
    /// Whether the OpenAPI document's operations are checked too.
    pub openapi: OpenApiRun,
    /// Only the OpenAPI checks whose id matches this glob.
    pub openapi_cases: Option<String>,
}

/// Whether a run checks the operations of an OpenAPI document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OpenApiRun {
    /// No (`--methods` without `openapi`).
    #[default]
    No,
    /// When the profile has an `[openapi]` section (no `--methods`).
    IfDeclared,
    /// Yes: the profile's document, or this one (`--openapi`).
    Yes(Option<String>),
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            progress: false,
            concurrency: crate::methods::CONCURRENCY,
            timeout: REQUEST_TIMEOUT,
            openapi: OpenApiRun::No,
            openapi_cases: None,
        }
    }
}

/// The URLs the selected methods' cases are sent to, for the pre-flight:
/// the sections' own, and the servers of the OpenAPI document's operations.
fn selected_urls(
    target: &Target,
    cases: &[Case],
    api: Option<&methods::openapi::Api>,
) -> Vec<(Method, url::Url)> {
    let mut urls: Vec<(Method, url::Url)> = Method::ALL
        .into_iter()
        .filter(|m| cases.iter().any(|c| c.method == *m))
        .flat_map(|m| spec(m).urls(target).into_iter().map(move |url| (m, url.clone())))
        .collect();
    if cases.iter().any(|c| c.method == Method::OpenApi) {
        urls.extend(api.into_iter().flat_map(|a| a.servers()).map(|u| (Method::OpenApi, u)));
    }
    urls
}

/// Sends one plain GET to every selected URL at once; fails when none
/// answers at all (an HTTP answer of any status, or a TLS alert, is an answer).
async fn preflight(
    urls: Vec<(Method, url::Url)>,
    client: &HttpClient,
    profile: &Path,
) -> anyhow::Result<()> {
    if urls.is_empty() {
        return Ok(());
    }
    let quick = client.clone().with_timeout(PREFLIGHT_TIMEOUT.min(client.timeout()));
    let attempts = urls.iter().map(|(_, url)| {
        let quick = quick.clone();
        let request = crate::client::RawRequest::get(url.clone());
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

/// Runs `cases` against the profile at `profile`, checking first that the
/// selected methods' URLs answer at all.
pub async fn run_against(
    profile: &Path,
    cases: Vec<Case>,
    options: &RunOptions,
) -> anyhow::Result<Results> {
    let mut target = Target::load(profile)?;
    let client = HttpClient::new(target.ca_pem.as_deref(), options.timeout)
        .map_err(|e| anyhow::anyhow!("{}: ca_file: {e}", profile.display()))?;
    let api = openapi_plan(&mut target, options, &client, profile).await?;
    let mut cases = cases;
    if let Some(api) = &api {
        let glob = options.openapi_cases.as_deref();
        cases.extend(api.cases().into_iter().filter(|c| glob.is_none_or(|g| glob_match(g, &c.id))));
    }
    if cases.is_empty() {
        bail!("--cases/--methods select no case; `authbench cases` lists them");
    }
    preflight(selected_urls(&target, &cases, api.as_deref()), &client, profile).await?;
    let progress = options.progress;
    let name = target.name.clone();
    let callback = methods::callback::start(&target).await?;
    let shared = Arc::new(
        Shared::new(Forge::new(Arc::new(target)).with_callback(callback), client)
            .with_concurrency(options.concurrency)
            .with_openapi(api),
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
        .with_findings(findings)
        .with_threats(engine::threats_of(&cases)))
}

/// The run's OpenAPI plan, when it checks a document: read from the
/// profile's `[openapi]` (or `--openapi`, which may stand in for it).
async fn openapi_plan(
    target: &mut Target,
    options: &RunOptions,
    client: &HttpClient,
    profile: &Path,
) -> anyhow::Result<Option<Arc<methods::openapi::Api>>> {
    use methods::openapi::{Api, OpenApiTarget, SpecSource, fetch};
    match &options.openapi {
        OpenApiRun::No => return Ok(None),
        OpenApiRun::IfDeclared if target.openapi.is_none() => return Ok(None),
        OpenApiRun::Yes(Some(spec)) => {
            let cwd = std::env::current_dir().unwrap_or_default();
            let source =
                SpecSource::parse(spec, &cwd).map_err(|why| anyhow::anyhow!("--openapi: {why}"))?;
            let section = target.openapi.take().unwrap_or_else(|| OpenApiTarget {
                spec: source.clone(),
                schemes: Default::default(),
                parameters: Default::default(),
                unsafe_methods: false,
                operations: vec!["*".to_owned()],
                identities: Vec::new(),
            });
            target.openapi = Some(OpenApiTarget { spec: source, ..section });
        }
        OpenApiRun::Yes(None) if target.openapi.is_none() => bail!(
            "--methods openapi: {} has no [openapi] section; add one (spec = \"openapi.yaml\") or pass --openapi FILE",
            profile.display()
        ),
        OpenApiRun::Yes(None) | OpenApiRun::IfDeclared => {}
    }
    let section = target.openapi.clone().expect("set above");
    let document = fetch(&section.spec, client).await?;
    for note in &document.notes {
        eprintln!("openapi: {}: {note}", section.spec);
    }
    Ok(Some(Arc::new(Api::new(document, target, &section))))
}

/// Runs `conform`.
pub fn run(args: ConformArgs) -> anyhow::Result<u8> {
    let catalog = load_catalog(args.catalog.as_deref())?;
    let methods = parse_methods(args.methods.as_deref())?;
    let openapi = match (&args.openapi, &methods) {
        (Some(spec), _) => OpenApiRun::Yes(Some(spec.clone())),
        (None, Some(m)) if m.contains(&Method::OpenApi) => OpenApiRun::Yes(None),
        (None, Some(_)) => OpenApiRun::No,
        // The embedded servers' default run is the catalog; their document's
        // checks (admin writes and role-bound operations skipped) on request.
        (None, None) if args.target.is_none() => OpenApiRun::No,
        (None, None) => OpenApiRun::IfDeclared,
    };
    // `--openapi` alone checks the document only.
    let catalog_methods = match (&args.openapi, methods) {
        (Some(_), None) => Some(Vec::new()),
        (_, m) => m,
    };
    let cases = filter(catalog, catalog_methods.as_deref(), args.cases.as_deref());
    let options = RunOptions {
        progress: std::io::stderr().is_terminal(),
        concurrency: args.concurrency.unwrap_or(if args.target.is_some() {
            crate::methods::CONCURRENCY
        } else {
            EMBEDDED_CONCURRENCY
        }),
        timeout: Duration::from_secs_f64(args.timeout),
        openapi,
        openapi_cases: args.cases.clone(),
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
