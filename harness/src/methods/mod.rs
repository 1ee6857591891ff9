//! The methods, and the registry that is the only place a [`Method`] is
//! matched: every other module asks [`spec`] what a method's section, URLs,
//! valid credential, secrets, steps and measured configurations are.
//!
//! One folder per method holds what is that method's own: its forging
//! (`forge.rs`), its multi-exchange cases (`steps.rs`, or OAuth's `steps/`
//! by area), and its [`MethodSpec`]. What every method's steps share lives
//! beside the registry: the run's [`Shared`] state and request building
//! (here), the forge ([`forge`]), step helpers ([`steps`]) and revocation
//! latency through the reference servers' admin API ([`revocation`]).
//! Each method's profile section is in its folder (`profile.rs`); the whole
//! profile, [`Target`], is composed here (`profile.rs`).

pub mod api_key;
pub mod basic;
pub mod callback;
pub mod forge;
pub mod jwks;
pub mod jwt;
pub mod layered;
pub mod mtls;
pub mod oauth2;
pub mod openapi;
mod profile;
pub mod revocation;
pub mod steps;
pub mod transport;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use authbench_scenarios::Case;
pub use authbench_scenarios::Method;
use authbench_scenarios::case::{Credential, UrlSelector};
use url::Url;

use crate::client::keepalive::Endpoint;
use crate::client::{HttpClient, RawRequest};
use crate::verdict::{self, Verdict};
use forge::{Forge, Forged, Skip};
pub use profile::Target;

/// How many cases run at once by default: few enough that a development
/// server with a listen backlog of 5 (Python's `http.server`, a TLS
/// handshake in its accept thread) never drops a connection and makes the
/// client wait out a SYN retransmission.
pub const CONCURRENCY: usize = 4;

/// A step's future: boxed, since together the steps' futures are too big
/// for a stack.
pub type StepFuture<'a> = Pin<Box<dyn Future<Output = Verdict> + Send + 'a>>;

/// A step of Basic, API keys or JWT: the run's state and the case.
pub type StepFn = for<'a> fn(&'a Shared, &'a Case) -> StepFuture<'a>;

/// When a step runs relative to the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// In its lane, holding one of the run's concurrency permits.
    Normal,
    /// It mostly waits (a code's lifetime): it starts first and holds no
    /// permit, so its wait overlaps the rest of the run.
    Waiting,
    /// It measures time: it runs alone, after every other case, so that the
    /// rest of the suite does not load the machine while it measures.
    Exclusive,
}

/// A step as a method's table lists it: the name after `<method>::` in the
/// id of the case it implements (its one spelling), how to run it, when.
#[derive(Debug, Clone, Copy)]
pub struct Step<F> {
    /// The case id's name part.
    pub name: &'static str,
    /// The step.
    pub run: F,
    /// When it runs.
    pub schedule: Schedule,
}

/// A step run in its lane.
pub const fn step<F>(name: &'static str, run: F) -> Step<F> {
    Step { name, run, schedule: Schedule::Normal }
}

/// A future of the endpoints a method's transport cases judge, or the
/// verdict (skip, error) when they cannot be known.
pub type UrlsFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<Url>, Verdict>> + Send + 'a>>;

/// A method configuration measured by `overhead`, `load`, `compare` and the
/// Locust worker: a label and its endpoint with a valid credential minted.
#[derive(Debug, Clone)]
pub struct Configuration {
    /// e.g. `jwt-es256`, `mtls`, `baseline`.
    pub label: String,
    /// The authenticated endpoint (the baseline for `baseline`).
    pub endpoint: Endpoint,
}

/// A future of a method's configurations.
pub type ConfigurationsFuture<'a> =
    Pin<Box<dyn Future<Output = anyhow::Result<Vec<Configuration>>> + Send + 'a>>;

/// What the registry knows of one method. Each method folder implements it
/// once; defaults are the answers of a method that has no such thing.
pub trait MethodSpec: Sync {
    /// Which method this is.
    fn method(&self) -> Method;

    /// Whether the profile has the method's section.
    fn present(&self, target: &Target) -> bool;

    /// The URLs the method's cases are sent to, for the pre-flight.
    fn urls<'t>(&self, target: &'t Target) -> Vec<&'t Url>;

    /// Secrets of the profile's credentials for the method: redacted from
    /// every report, and looked for in answers.
    fn secrets(&self, target: &Target) -> Vec<String>;

    /// The header that carries the credential.
    fn credential_header(&self, _target: &Target) -> String {
        "Authorization".to_owned()
    }

    /// The challenge and credential scheme; empty for none (an API key in
    /// its own header).
    fn scheme(&self, _target: &Target) -> String {
        String::new()
    }

    /// The valid credential's header value (`Basic …`, the key, `Bearer …`).
    fn valid_value(&self, _forge: &Forge) -> Result<String, Skip> {
        Err(Skip(format!(
            "the {} method's cases carry no credential in a header value; they are steps",
            self.method()
        )))
    }

    /// The profile's revoked credential, for `$revoked`.
    fn revoked(&self, _target: &Target) -> Option<String> {
        None
    }

    /// The URL `selector` names for the method's single-exchange cases.
    fn resolve_url(&self, _target: &Target, _selector: UrlSelector) -> Result<Url, String> {
        Err(format!("the {} method has no single-exchange cases", self.method()))
    }

    /// The method's steps when they take the run's state directly (Basic,
    /// API keys, JWT); methods whose steps take a state of their own (an
    /// OAuth session, the mTLS material) override `steps` and `run_step`.
    fn table(&self) -> &'static [Step<StepFn>] {
        &[]
    }

    /// The method's steps, by name, with their schedules.
    fn steps(&self) -> Vec<(&'static str, Schedule)> {
        names_of(self.table())
    }

    /// Runs step `name` for `case`; `None` when the method has no such step.
    fn run_step<'a>(
        &self,
        shared: &'a Shared,
        case: &'a Case,
        name: &str,
    ) -> Option<StepFuture<'a>> {
        self.table().iter().find(|s| s.name == name).map(|s| (s.run)(shared, case))
    }

    /// Whether the method has the transport cases (`transport.toml`): TLS and
    /// plain HTTP judged on its endpoints.
    fn transport(&self) -> bool {
        true
    }

    /// The endpoints the transport cases judge: the profile's URLs for the
    /// method, by default.
    fn transport_urls<'a>(&'a self, shared: &'a Shared) -> UrlsFuture<'a> {
        Box::pin(async move { Ok(transport::profile_urls(shared, self.method())) })
    }

    /// The client certificate to present in the transport cases' handshake.
    fn transport_identity(&self, _shared: &Shared) -> transport::Identity {
        None
    }

    /// The configurations `overhead` measures for the method, credentials
    /// minted now, sent over `tls` (`resumption` for new TLS configurations).
    fn configurations<'a>(
        &'a self,
        shared: &'a Shared,
        tls: &'a Arc<rustls::ClientConfig>,
        resumption: bool,
    ) -> ConfigurationsFuture<'a>;
}

/// The registry: what `method` is.
pub fn spec(method: Method) -> &'static dyn MethodSpec {
    match method {
        Method::Basic => &basic::Spec,
        Method::ApiKey => &api_key::Spec,
        Method::Jwt => &jwt::Spec,
        Method::OAuth2 => &oauth2::Spec,
        Method::Mtls => &mtls::Spec,
        Method::Layered => &layered::Spec,
        Method::OpenApi => &openapi::Spec,
    }
}

/// Every step's id, `<method>::<name>`, for catalog validation.
pub fn step_ids() -> Vec<String> {
    Method::ALL
        .into_iter()
        .flat_map(|m| {
            let transport = transport::STEPS.iter().filter(move |_| spec(m).transport());
            spec(m)
                .steps()
                .into_iter()
                .map(|(name, _)| name)
                .chain(transport.copied())
                .map(move |name| format!("{m}::{name}"))
        })
        .collect()
}

/// When the step with id `step_id` runs (`Normal` for an unknown id).
pub fn schedule(step_id: &str) -> Schedule {
    split_step(step_id)
        .and_then(|(m, name)| spec(m).steps().into_iter().find(|(n, _)| *n == name))
        .map_or(Schedule::Normal, |(_, s)| s)
}

fn split_step(step_id: &str) -> Option<(Method, &str)> {
    let (method, name) = step_id.split_once("::")?;
    Some((Method::from_name(method)?, name))
}

/// Runs the step with id `step_id` for `case`.
pub async fn run_step(shared: &Shared, case: &Case, step_id: &str) -> Verdict {
    let step = split_step(step_id).and_then(|(m, name)| {
        let transport = spec(m).transport().then(|| transport::run(shared, case, m, name));
        transport.flatten().or_else(|| spec(m).run_step(shared, case, name))
    });
    match step {
        Some(step) => step.await,
        None => Verdict::error(
            "",
            format!("no step `{step_id}` (catalog validation should have caught this)"),
        ),
    }
}

/// The methods the profile has sections for, in catalog order.
pub fn present(target: &Target) -> Vec<Method> {
    Method::ALL.into_iter().filter(|m| spec(*m).present(target)).collect()
}

/// Every URL the profile's method sections name, to check reachability
/// before a run.
pub fn urls(target: &Target) -> Vec<&Url> {
    Method::ALL.into_iter().flat_map(|m| spec(m).urls(target)).collect()
}

/// What every case needs: the target (through the forge) and the client.
#[derive(Debug)]
pub struct Shared {
    /// Mints and spoils credentials.
    pub forge: Forge,
    /// Sends requests.
    pub client: HttpClient,
    /// The OAuth authorization server's metadata, fetched once per run.
    pub oauth_metadata:
        tokio::sync::OnceCell<Result<Arc<oauth2::Metadata>, oauth2::DiscoveryError>>,
    /// How many cases run at once.
    pub concurrency: usize,
    /// The OpenAPI document read and planned for this run, when `openapi` runs.
    pub openapi: Option<Arc<openapi::Api>>,
    /// The positive controls, by method and algorithm: does the valid
    /// credential get the resource? Asked once, on first need.
    controls: std::sync::Mutex<BTreeMap<String, Arc<tokio::sync::OnceCell<Control>>>>,
}

/// The answer to the positive control: `Ok` when the valid credential is
/// served, else what the target answered instead.
pub type Control = Result<(), String>;

impl Shared {
    /// Engine state for `forge`'s target, sending with `client`.
    pub fn new(forge: Forge, client: HttpClient) -> Self {
        Shared {
            forge,
            client,
            oauth_metadata: tokio::sync::OnceCell::new(),
            concurrency: CONCURRENCY,
            openapi: None,
            controls: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// Whether the valid credential of `method` (on the JWT resource of
    /// `algorithm`) is served. A refusal proves something only where the
    /// valid credential is served: against a resource that answers 404 or
    /// 401 to everything every refusal case would otherwise pass (judging
    /// principle 3). A control that cannot be formed (no valid credential in
    /// the profile) does not block.
    pub async fn control(&self, method: Method, algorithm: Option<&str>) -> Control {
        let key = format!("{method}/{}", algorithm.unwrap_or(""));
        let cell = {
            let mut controls = self.controls.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(controls.entry(key).or_default())
        };
        cell.get_or_init(|| async {
            let Ok((request, _)) =
                request_for(self, method, &Credential::Valid, algorithm, UrlSelector::Url, None)
            else {
                return Ok(());
            };
            let url = request.url.clone();
            match self.client.send(&request).await {
                Ok(r) if verdict::is_served(r.status) => Ok(()),
                Ok(r) => Err(format!("the valid credential got {} at {url}", r.status)),
                Err(e) => Err(format!("the valid credential got no answer at {url}: {e}")),
            }
        })
        .await
        .clone()
    }

    /// The same, with the run's OpenAPI plan.
    pub fn with_openapi(mut self, api: Option<Arc<openapi::Api>>) -> Self {
        self.openapi = api;
        self
    }

    /// The same, running `n` cases at once (at least one).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }
}

/// The URL a selector names for `method`.
pub fn resolve_url(shared: &Shared, method: Method, selector: UrlSelector) -> Result<Url, String> {
    let t = shared.forge.target();
    match selector {
        UrlSelector::BaselineUrl => {
            t.baseline_url.clone().ok_or_else(|| "the profile has no baseline_url".to_owned())
        }
        _ => spec(method).resolve_url(t, selector),
    }
}

/// `url` with `suffix` appended to its path (`/…`) or query (`?…`), and `query` added.
pub fn extend_url(url: &Url, suffix: Option<&str>, query: Option<&str>) -> Result<Url, String> {
    let mut text = url.as_str().to_owned();
    if let Some(suffix) = suffix {
        match (suffix.strip_prefix('?'), url.query()) {
            (Some(q), Some(_)) => text = format!("{text}&{q}"),
            _ => text.push_str(suffix),
        }
    }
    let mut url = Url::parse(&text).map_err(|e| format!("bad URL {text}: {e}"))?;
    if let Some(q) = query {
        let joined = match url.query() {
            Some(existing) => format!("{existing}&{q}"),
            None => q.to_owned(),
        };
        url.set_query(Some(&joined));
    }
    Ok(url)
}

/// The GET request presenting `credential` of `method`: at the URL
/// `selector` names (with `algorithm`, at that algorithm's JWT resource),
/// `suffix` appended. A `skip` when the profile lacks what it needs.
pub fn request_for(
    shared: &Shared,
    method: Method,
    credential: &Credential,
    algorithm: Option<&str>,
    selector: UrlSelector,
    suffix: Option<&str>,
) -> Result<(RawRequest, Forged), Verdict> {
    let forged =
        shared.forge.forge_for(method, credential, algorithm).map_err(|s| Verdict::skip(s.0))?;
    let base = match algorithm {
        Some(_) => shared.forge.jwt_forge(algorithm).map_err(|s| Verdict::skip(s.0))?.url().clone(),
        None => resolve_url(shared, method, selector).map_err(Verdict::skip)?,
    };
    let suffix = suffix.map(|s| shared.forge.expand(method, s)).transpose();
    let suffix = suffix.map_err(|s| Verdict::skip(s.0))?;
    let url = extend_url(&base, suffix.as_deref(), forged.query.as_deref())
        .map_err(|e| Verdict::error("", e))?;
    let mut request = RawRequest::get(url);
    request.headers.extend(forged.headers.iter().cloned());
    Ok((request, forged))
}

/// A step table's names and schedules, for [`MethodSpec::steps`].
pub fn names_of<F>(table: &[Step<F>]) -> Vec<(&'static str, Schedule)> {
    table.iter().map(|s| (s.name, s.schedule)).collect()
}

/// A header of a measured configuration.
pub fn header(
    name: hyper::header::HeaderName,
    value: &str,
) -> anyhow::Result<(hyper::header::HeaderName, hyper::header::HeaderValue)> {
    let value = hyper::header::HeaderValue::from_str(value)
        .map_err(|_| anyhow::anyhow!("a credential that is not a header value"))?;
    Ok((name, value))
}
