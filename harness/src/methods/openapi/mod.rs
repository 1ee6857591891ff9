//! `openapi`: every operation of the target's OpenAPI document checked
//! against the security it declares, with the credentials of the profile's
//! other sections. The document is read ([`crate::openapi`]), planned
//! (`openapi::<operation>::<check>` cases), and each case is a step of this
//! method, looked up by its id in the run's [`Api`].
//!
//! Every refusal check of an operation rests on its positive control (the
//! declared credentials are served there); without it a refusal proves
//! nothing, and the check is `error`, never `pass`.

pub mod bind;
mod checks;
pub mod credentials;
mod objects;
pub mod profile;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use authbench_scenarios::{Case, CaseBody, Severity};
use tokio::sync::OnceCell;
use url::Url;

use super::{ConfigurationsFuture, Method, MethodSpec, Shared, StepFuture, Target};
use crate::client::HttpClient;
use crate::openapi::lint::{Firmness, StaticFinding, lint};
use crate::openapi::plan::{Check, Options, Planned, Principal, plan};
use crate::openapi::{Document, Operation};
use crate::verdict::Verdict;
pub use profile::{Binding, Identity, IdentityCredential, OpenApiTarget, SpecSource};

/// The openapi method in the registry.
pub struct Spec;

impl MethodSpec for Spec {
    fn method(&self) -> Method {
        Method::OpenApi
    }

    fn present(&self, target: &Target) -> bool {
        target.openapi.is_some()
    }

    fn urls<'t>(&self, _target: &'t Target) -> Vec<&'t Url> {
        // The document's servers are known once it is read; its operations'
        // controls say when they do not answer.
        Vec::new()
    }

    fn secrets(&self, target: &Target) -> Vec<String> {
        // The credentials are the other sections': every one is redacted.
        let identities = target.openapi.iter().flat_map(|o| &o.identities);
        Method::ALL
            .into_iter()
            .filter(|m| *m != Method::OpenApi)
            .flat_map(|m| super::spec(m).secrets(target))
            .chain(identities.flat_map(|i| i.credential.secrets()))
            .collect()
    }

    fn run_step<'a>(
        &self,
        shared: &'a Shared,
        case: &'a Case,
        _name: &str,
    ) -> Option<StepFuture<'a>> {
        Some(Box::pin(async move {
            let Some(api) = shared.openapi.as_ref() else {
                return Verdict::error("", "the OpenAPI document was not read for this run");
            };
            if let Some(f) = api.lints.get(&case.id) {
                return static_verdict(f);
            }
            match api.planned.get(&case.id) {
                Some(p) => checks::run(shared, api, p, case.severity).await,
                None => Verdict::error("", format!("no planned check `{}`", case.id)),
            }
        }))
    }

    /// An OpenAPI document's servers are the other methods' endpoints.
    fn transport(&self) -> bool {
        false
    }

    fn configurations<'a>(
        &'a self,
        _shared: &'a Shared,
        _tls: &'a Arc<rustls::ClientConfig>,
        _resumption: bool,
    ) -> ConfigurationsFuture<'a> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// The verdict of a finding of the document itself.
fn static_verdict(f: &StaticFinding) -> Verdict {
    let observed = format!("line {}: {}", f.line, f.subject);
    let severity = match f.firmness {
        Firmness::Must => Severity::Must,
        Firmness::Should => Severity::Should,
    };
    Verdict::unmet(severity, "a document without it".to_owned(), observed, f.title)
}

/// A document read and planned for one run.
#[derive(Debug)]
pub struct Api {
    /// The document.
    pub document: Document,
    /// Where it came from, as reports name it.
    pub origin: String,
    /// Where its relative server URLs resolve.
    pub base: Url,
    /// What answers for each scheme.
    pub bindings: BTreeMap<String, Binding>,
    /// The planned checks, by case id.
    pub planned: BTreeMap<String, Planned>,
    /// The document's own findings, by case id.
    pub lints: BTreeMap<String, StaticFinding>,
    /// The cases, in plan order.
    order: Vec<String>,
    /// OAuth tokens fetched for chosen scopes.
    pub tokens: credentials::TokenCache,
    /// Each operation's positive control, on first need.
    controls: Mutex<BTreeMap<usize, Arc<OnceCell<checks::Control>>>>,
}

/// Reads the document `source` names: a file, or a URL fetched with `client`.
pub async fn fetch(source: &SpecSource, client: &HttpClient) -> anyhow::Result<Document> {
    match source {
        SpecSource::File(path) => Document::load(path).map_err(|e| {
            anyhow::anyhow!("{e}; give [openapi] spec or --openapi a readable OpenAPI document")
        }),
        SpecSource::Url(url) => {
            let mut request = crate::client::RawRequest::get(url.clone());
            request
                .headers
                .push(("Accept".to_owned(), b"application/json, application/yaml".to_vec()));
            let r = client
                .send(&request)
                .await
                .map_err(|e| anyhow::anyhow!("{url}: cannot fetch the OpenAPI document: {e}"))?;
            if r.status != 200 {
                anyhow::bail!(
                    "{url}: fetching the OpenAPI document answered {}; give a URL that serves it, or a file",
                    r.status
                );
            }
            let text = String::from_utf8_lossy(&r.body);
            Document::parse(&text, url.as_str()).map_err(anyhow::Error::from)
        }
    }
}

impl Api {
    /// The run's plan of `document` for `section`, against `target`.
    pub fn new(document: Document, target: &Target, section: &OpenApiTarget) -> Api {
        let origin = section.spec.to_string();
        let base = match &section.spec {
            SpecSource::Url(u) => u.clone(),
            SpecSource::File(_) => target.base_url.clone(),
        };
        let bindings = document
            .schemes
            .iter()
            .map(|s| {
                let binding = section
                    .schemes
                    .get(&s.name)
                    .copied()
                    .unwrap_or_else(|| bind::default_binding(&s.kind, target));
                (s.name.clone(), binding)
            })
            .collect();
        let options = Options {
            unsafe_methods: section.unsafe_methods,
            parameters: section.parameters.clone(),
            identities: section
                .identities
                .iter()
                .map(|i| Principal {
                    name: i.name.clone(),
                    owns: i.owns.clone(),
                    scopes: i.scopes.clone(),
                })
                .collect(),
        };
        let include = |op: &Operation| {
            let id = op.id();
            let route = format!("{} {}", op.method, op.path);
            section.operations.iter().any(|g| {
                crate::profile::glob_match(g, &id) || crate::profile::glob_match(g, &route)
            })
        };
        let mut order = Vec::new();
        let mut lints = BTreeMap::new();
        for f in lint(&document) {
            let id = format!(
                "openapi::document::{}::{}",
                f.id.trim_start_matches("openapi-"),
                f.subject
            );
            order.push(id.clone());
            lints.insert(id, f);
        }
        let mut planned = BTreeMap::new();
        for p in plan(&document, &options, &include) {
            order.push(p.id.clone());
            planned.insert(p.id.clone(), p);
        }
        Api {
            document,
            origin,
            base,
            bindings,
            planned,
            lints,
            order,
            tokens: credentials::TokenCache::default(),
            controls: Mutex::new(BTreeMap::new()),
        }
    }

    /// The cases of the plan, for the engine.
    pub fn cases(&self) -> Vec<Case> {
        self.order
            .iter()
            .map(|id| {
                let threats = match (self.lints.get(id), self.planned.get(id)) {
                    (Some(f), _) => lint_threats(f.id),
                    (None, Some(p)) => check_threats(&p.check),
                    (None, None) => &[],
                };
                let (title, requirements, severity, line) =
                    match (self.lints.get(id), self.planned.get(id)) {
                        (Some(f), _) => (
                            format!("the document: {}", f.title),
                            vec![f.requirement],
                            match f.firmness {
                                Firmness::Must => Severity::Must,
                                Firmness::Should => Severity::Should,
                            },
                            f.line,
                        ),
                        (None, Some(p)) => {
                            let op = &self.document.operations[p.operation];
                            let (title, requirements, severity) = describe(&p.check);
                            (
                                format!("{} {}: {title}", op.method, op.path),
                                requirements,
                                severity,
                                op.line,
                            )
                        }
                        (None, None) => unreachable!("every id in the order is planned or linted"),
                    };
                Case {
                    id: id.clone(),
                    method: Method::OpenApi,
                    title,
                    requirements: requirements.into_iter().map(str::to_owned).collect(),
                    severity,
                    body: CaseBody::Step(id.clone()),
                    flaws: Vec::new(),
                    finding: None,
                    policy: None,
                    hardening: severity == Severity::Should,
                    threats: authbench_scenarios::embedded_threats()
                        .iter()
                        .filter(|t| threats.contains(&t.id.as_str()))
                        .cloned()
                        .collect(),
                    lane: None,
                    file: self.origin.clone(),
                    line,
                }
            })
            .collect()
    }

    /// Where the document's selected operations are served, once each, for
    /// the pre-flight.
    pub fn servers(&self) -> Vec<Url> {
        let mut out: Vec<Url> = Vec::new();
        for p in self.planned.values().filter(|p| p.skip.is_none()) {
            let op = &self.document.operations[p.operation];
            let server = self.document.servers_of(op).first().map_or("/", String::as_str);
            if let Ok(url) = self.base.join(server)
                && !out.contains(&url)
            {
                out.push(url);
            }
        }
        out
    }

    /// The operation a case checks, for reports.
    pub fn operation_of(&self, id: &str) -> Option<authbench_reports::OperationRef> {
        let op = &self.document.operations[self.planned.get(id)?.operation];
        Some(authbench_reports::OperationRef {
            id: op.id(),
            method: op.method.clone(),
            path: op.path.clone(),
            document: self.origin.clone(),
            line: op.line,
        })
    }

    fn control_cell(&self, operation: usize) -> Arc<OnceCell<checks::Control>> {
        let mut map = self.controls.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(operation).or_default())
    }
}

/// A check's title, citations and firmness.
/// The threats (`threats.toml`) a check counters.
fn check_threats(check: &Check) -> &'static [&'static str] {
    match check {
        Check::Control | Check::Public | Check::Alternative { .. } => &["legitimate-use"],
        Check::NoCredentials | Check::Alone { .. } | Check::Variant(_) => {
            &["unauthenticated-access"]
        }
        Check::Invalid { .. } => &["token-forgery", "credential-guessing", "stale-credential"],
        Check::SchemeConfusion { .. } => &["request-ambiguity"],
        Check::KeyElsewhere { .. } => &["credential-leakage"],
        Check::InsufficientScope { .. } | Check::FunctionOf { .. } => &["excessive-privilege"],
        Check::OtherUsersObject { .. } => &["object-level-access"],
    }
}

/// The threats (`threats.toml`) a document lint names; none for hygiene.
fn lint_threats(id: &str) -> &'static [&'static str] {
    match id {
        "openapi-api-key-in-query" => &["credential-leakage"],
        "openapi-credentials-over-http" => &["weak-transport"],
        "openapi-undeclared-scheme" | "openapi-operation-without-security" => {
            &["unauthenticated-access"]
        }
        "openapi-implicit-flow" => &["credential-leakage"],
        "openapi-password-flow" => &["credential-leakage", "credential-guessing"],
        _ => &[],
    }
}

fn describe(check: &Check) -> (String, Vec<&'static str>, Severity) {
    const REQUIREMENT: &str = "OpenAPI Security Requirement Object";
    const API2: &str = "OWASP API2:2023";
    match check {
        Check::Control => (
            "the declared credentials are served (the control every other check rests on)"
                .to_owned(),
            vec![REQUIREMENT],
            Severity::Must,
        ),
        Check::NoCredentials => (
            "refused without credentials".to_owned(),
            vec![REQUIREMENT, API2, "RFC 9110 §15.5.2"],
            Severity::Must,
        ),
        Check::Invalid { scheme } => (
            format!(
                "invalid `{scheme}` credentials refused (wrong secret, expired, spoiled signature, unknown key or certificate)"
            ),
            vec![REQUIREMENT, API2],
            Severity::Must,
        ),
        Check::SchemeConfusion { scheme } => (
            format!(
                "a valid `{scheme}` credential, a scheme this operation does not accept, refused"
            ),
            vec![REQUIREMENT, API2],
            Severity::Must,
        ),
        Check::KeyElsewhere { scheme, location } => (
            format!(
                "the `{scheme}` key sent in the {} instead of where the document puts it, refused",
                format!("{location:?}").to_lowercase()
            ),
            vec![REQUIREMENT, API2, "RFC 6750 §5.3"],
            Severity::Should,
        ),
        Check::Alone { scheme } => (
            format!(
                "`{scheme}` alone refused where the requirement needs it with other schemes (AND)"
            ),
            vec![REQUIREMENT, API2],
            Severity::Must,
        ),
        Check::Alternative { index } => (
            format!("requirement {} alone served (the list is OR)", index + 1),
            vec![REQUIREMENT],
            Severity::Should,
        ),
        Check::InsufficientScope { scheme, scope } => (
            format!(
                "a `{scheme}` token with every required scope but `{scope}` refused with 403 insufficient_scope"
            ),
            vec!["RFC 6750 §3.1", "OWASP API5:2023", REQUIREMENT],
            Severity::Must,
        ),
        Check::Variant(v) => (
            format!("the {} variant not served without credentials", v.name()),
            vec![API2, "CWE-288"],
            Severity::Must,
        ),
        Check::Public => (
            "declared public, served without credentials".to_owned(),
            vec![REQUIREMENT],
            Severity::Should,
        ),
        Check::FunctionOf { identity } => (
            format!("`{identity}`, without a scope this operation requires, refused"),
            vec!["OWASP API5:2023", "RFC 6750 §3.1"],
            Severity::Must,
        ),
        Check::OtherUsersObject { identity } => (
            format!(
                "`{identity}`'s objects refused to the profile's credentials, and the profile's to `{identity}`"
            ),
            vec!["OWASP API1:2023", "CWE-639"],
            Severity::Must,
        ),
    }
}
