//! The scenarios a load profile names, as goose scenarios: one method's
//! request repeated, or a journey — what a client does over a session.
//!
//! Every user gets its own reqwest client in an on-start transaction (the
//! target's CA; for mTLS, a certificate), so connections and TLS sessions are
//! per user as they would be for real clients. Credentials are minted before
//! the run starts, except where minting is the journey (OAuth log-in, key
//! rotation): those steps are requests goose measures.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context as _, bail};
use goose::goose::{GooseResponse, TransactionFunction};
use goose::prelude::*;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;
use url::Url;

use crate::methods::{Method, Shared};

/// Journeys: multi-step scenarios that are not one method's request.
pub const JOURNEYS: &[&str] = &["oauth2-journey", "api-key-rotation", "mtls-users"];

/// Configurations a profile may name besides the methods and journeys
/// (`jwt-<alg>` too, for each algorithm the target profile has).
const CONFIGURATIONS: &[&str] = &["baseline", "basic-cached", "oauth2-opaque", "oauth2-dpop"];

/// Scenario names a profile may use, for error messages.
pub fn names() -> String {
    let methods = Method::ALL.map(Method::name);
    let all: Vec<&str> = CONFIGURATIONS
        .iter()
        .chain(&methods)
        .chain(JOURNEYS)
        .copied()
        .chain(["jwt-<alg>"])
        .collect();
    all.join(", ")
}

/// Whether `name` is a scenario name.
pub fn known(name: &str) -> bool {
    Method::from_name(name).is_some()
        || CONFIGURATIONS.contains(&name)
        || JOURNEYS.contains(&name)
        || name.starts_with("jwt-")
}

/// One request of a method: where, and the headers carrying the credential.
#[derive(Debug, Clone)]
pub struct MethodRequest {
    /// The resource.
    pub url: Url,
    /// The credential's headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// A header minted afresh for every request (a DPoP proof).
    pub one_use: Option<Arc<crate::measure::generator::OneUse>>,
}

/// What the scenarios share: the engine (target, client), the methods'
/// pre-minted requests, and the admin token when the target has an admin API.
pub struct Context {
    /// Target and harness client.
    pub shared: Arc<Shared>,
    /// Method label (as `overhead` names them) → request.
    pub methods: Vec<(String, MethodRequest)>,
    /// The admin API's base URL and bearer token.
    pub admin: Option<(Url, String)>,
    /// Journey steps that found the server misbehaving (a revoked key accepted…).
    pub findings: AtomicU64,
}

impl Context {
    fn method(&self, label: &str) -> Option<&MethodRequest> {
        self.methods.iter().find(|(l, _)| l == label).map(|(_, r)| r)
    }

    /// A client builder trusting the target's CA (or the system's roots).
    pub fn client_builder(&self) -> Result<reqwest::ClientBuilder, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(crate::client::REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("authbench/", env!("CARGO_PKG_VERSION"), " (load)"));
        if let Some(pem) = &self.shared.forge.target().ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())?;
            builder = builder.tls_certs_only(certs);
        }
        Ok(builder)
    }
}

/// What one scenario's steps see: the shared context, the scenario's name and
/// its method request (for the method scenarios).
pub struct ScenarioContext {
    ctx: Arc<Context>,
    name: String,
    request: Option<MethodRequest>,
}

type Step = for<'r> fn(
    &'r mut GooseUser,
    Arc<ScenarioContext>,
) -> Pin<Box<dyn Future<Output = TransactionResult> + Send + 'r>>;

fn transaction(name: &str, sc: &Arc<ScenarioContext>, step: Step) -> Transaction {
    let sc = Arc::clone(sc);
    let function: TransactionFunction =
        Arc::new(move |user: &mut GooseUser| step(user, Arc::clone(&sc)));
    Transaction::new(function).set_name(name)
}

fn custom(message: impl Into<String>) -> Box<TransactionError> {
    Box::new(TransactionError::Custom(message.into()))
}

/// `api-key-rotation`: the user's key in use (id, key), in goose's session data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentKey(String, String);

/// A boxed future, for the object-safe [`Steps`].
pub type StepFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a journey sends its requests and has them measured: goose's user for
/// `load`, a worker's user for `worker`. The journeys are written once
/// against it.
pub trait Steps: Send {
    /// A request builder on this user's client.
    fn builder(
        &mut self,
        method: reqwest::Method,
        url: &Url,
    ) -> Result<reqwest::RequestBuilder, String>;
    /// Sends `builder`, measured as `name`, expecting `expect`: the response,
    /// or `None` when none came (already counted as a failure).
    fn send<'a>(
        &'a mut self,
        name: &'a str,
        builder: reqwest::RequestBuilder,
        expect: u16,
    ) -> StepFuture<'a, Result<Option<reqwest::Response>, String>>;
}

/// [`Steps`] on a goose user.
struct GooseSteps<'u>(&'u mut GooseUser);

fn goose_method(method: &reqwest::Method) -> GooseMethod {
    match *method {
        reqwest::Method::POST => GooseMethod::Post,
        reqwest::Method::PUT => GooseMethod::Put,
        reqwest::Method::DELETE => GooseMethod::Delete,
        _ => GooseMethod::Get,
    }
}

impl Steps for GooseSteps<'_> {
    fn builder(
        &mut self,
        method: reqwest::Method,
        url: &Url,
    ) -> Result<reqwest::RequestBuilder, String> {
        self.0.get_request_builder(&goose_method(&method), url.as_str()).map_err(|e| e.to_string())
    }

    fn send<'a>(
        &'a mut self,
        name: &'a str,
        builder: reqwest::RequestBuilder,
        expect: u16,
    ) -> StepFuture<'a, Result<Option<reqwest::Response>, String>> {
        Box::pin(async move {
            let method = builder
                .try_clone()
                .and_then(|b| b.build().ok())
                .map_or(GooseMethod::Get, |r| goose_method(r.method()));
            let response =
                send(self.0, name, builder, method, expect).await.map_err(|e| e.to_string())?;
            Ok(response.response.ok())
        })
    }
}

/// Builds the scenario `name` with `weight`; fails, naming what the target
/// profile lacks, when it cannot run against this target.
pub fn scenario(name: &str, weight: usize, ctx: &Arc<Context>) -> anyhow::Result<Scenario> {
    let target = ctx.shared.forge.target();
    let method = Method::from_name(name);
    let request = match (name, method) {
        ("mtls-users", _) => ctx.method(Method::Mtls.name()).cloned(),
        ("oauth2-journey" | "api-key-rotation", _) => None,
        (_, Some(m @ (Method::Mtls | Method::Layered))) => ctx.method(m.name()).cloned(),
        _ => {
            let label = method_label(name, ctx)?;
            ctx.method(&label).cloned()
        }
    };
    let sc = Arc::new(ScenarioContext { ctx: Arc::clone(ctx), name: name.to_owned(), request });
    let ctx = &sc;
    let scenario = Scenario::new(name).set_weight(weight)?;
    let scenario = match (name, method) {
        ("oauth2-journey", _) => {
            target.oauth2.as_ref().context(
                "scenario oauth2-journey needs an [oauth2] section in the target profile",
            )?;
            scenario
                .register_transaction(transaction("setup", ctx, setup_plain).set_on_start())
                .register_transaction(transaction("oauth2 journey", ctx, oauth_journey))
        }
        ("api-key-rotation", _) => {
            target.api_key.as_ref().context(
                "scenario api-key-rotation needs an [api_key] section in the target profile",
            )?;
            if sc.ctx.admin.is_none() {
                bail!(
                    "scenario api-key-rotation needs an admin API to create and revoke keys: the reference servers' profile has one ([reference] admin_url)"
                );
            }
            scenario
                .register_transaction(transaction("setup", ctx, setup_plain).set_on_start())
                .register_transaction(transaction("api-key rotation", ctx, rotation))
        }
        ("mtls-users", _) => {
            let m = target
                .mtls
                .as_ref()
                .context("scenario mtls-users needs an [mtls] section in the target profile")?;
            if m.client_ca.is_none() {
                bail!(
                    "scenario mtls-users mints a certificate per user: give [mtls] client_ca_cert_file and client_ca_key_file"
                );
            }
            scenario
                .register_transaction(
                    transaction("setup", ctx, setup_own_certificate).set_on_start(),
                )
                .register_transaction(transaction(Method::Mtls.name(), ctx, call_method))
        }
        (_, Some(Method::Layered)) => {
            target
                .layered
                .as_ref()
                .context("scenario layered needs a [layered] section in the target profile")?;
            scenario
                .register_transaction(
                    transaction("setup", ctx, setup_layered_certificate).set_on_start(),
                )
                .register_transaction(transaction(name, ctx, call_method))
        }
        (_, Some(Method::Mtls)) => {
            target
                .mtls
                .as_ref()
                .context("scenario mtls needs an [mtls] section in the target profile")?;
            scenario
                .register_transaction(
                    transaction("setup", ctx, setup_profile_certificate).set_on_start(),
                )
                .register_transaction(transaction(name, ctx, call_method))
        }
        _ => scenario
            .register_transaction(transaction("setup", ctx, setup_plain).set_on_start())
            .register_transaction(transaction(name, ctx, call_method)),
    };
    Ok(scenario)
}

/// The `overhead` label of a method scenario, checked against what the target offers.
fn method_label(name: &str, ctx: &Context) -> anyhow::Result<String> {
    let label = match Method::from_name(name) {
        Some(Method::Jwt) => {
            let alg = ctx
                .shared
                .forge
                .target()
                .jwt
                .as_ref()
                .context("scenario jwt needs a [jwt] section in the target profile")?
                .algorithm;
            format!("jwt-{}", crate::methods::jwt::forge::alg_name(alg).to_ascii_lowercase())
        }
        Some(Method::OAuth2) => {
            match ctx.methods.iter().find(|(l, _)| l == "oauth2-jwt" || l == Method::OAuth2.name())
            {
                Some((l, _)) => l.clone(),
                None => bail!("scenario oauth2 needs an [oauth2] section in the target profile"),
            }
        }
        _ => name.to_owned(),
    };
    if ctx.method(&label).is_none() {
        let offered: Vec<&str> = ctx.methods.iter().map(|(l, _)| l.as_str()).collect();
        bail!(
            "scenario {name}: the target profile does not offer it (it offers {})",
            offered.join(", ")
        );
    }
    Ok(label)
}

async fn install(user: &mut GooseUser, builder: reqwest::ClientBuilder) -> TransactionResult {
    user.set_client_builder(builder).await?;
    Ok(())
}

fn setup_plain(
    user: &mut GooseUser,
    sc: Arc<ScenarioContext>,
) -> Pin<Box<dyn Future<Output = TransactionResult> + Send + '_>> {
    Box::pin(async move {
        let builder = sc.ctx.client_builder().map_err(custom)?;
        install(user, builder).await
    })
}

fn setup_profile_certificate(
    user: &mut GooseUser,
    sc: Arc<ScenarioContext>,
) -> Pin<Box<dyn Future<Output = TransactionResult> + Send + '_>> {
    Box::pin(async move {
        let m = sc.ctx.shared.forge.target().mtls.as_ref().ok_or_else(|| custom("no [mtls]"))?;
        let mut pem = m.client.chain_pem.clone();
        pem.extend_from_slice(&m.client.key_pem);
        let identity = reqwest::Identity::from_pem(&pem).map_err(|e| custom(e.to_string()))?;
        let builder = sc.ctx.client_builder().map_err(custom)?.identity(identity);
        install(user, builder).await
    })
}

/// The layered resource's service certificate (`[layered.mtls]`).
fn setup_layered_certificate(
    user: &mut GooseUser,
    sc: Arc<ScenarioContext>,
) -> Pin<Box<dyn Future<Output = TransactionResult> + Send + '_>> {
    Box::pin(async move {
        let l =
            sc.ctx.shared.forge.target().layered.as_ref().ok_or_else(|| custom("no [layered]"))?;
        let mut pem = l.mtls.client.chain_pem.clone();
        pem.extend_from_slice(&l.mtls.client.key_pem);
        let identity = reqwest::Identity::from_pem(&pem).map_err(|e| custom(e.to_string()))?;
        let builder = sc.ctx.client_builder().map_err(custom)?.identity(identity);
        install(user, builder).await
    })
}

/// A certificate of this user's own: the profile certificate's subject and
/// names on a fresh key, issued by the profile's client CA.
fn setup_own_certificate(
    user: &mut GooseUser,
    sc: Arc<ScenarioContext>,
) -> Pin<Box<dyn Future<Output = TransactionResult> + Send + '_>> {
    Box::pin(async move {
        let identity = own_certificate(&sc.ctx).map_err(custom)?;
        let builder = sc.ctx.client_builder().map_err(custom)?.identity(identity);
        install(user, builder).await
    })
}

/// A fresh certificate like the profile's `[mtls]` one, from its client CA.
pub fn own_certificate(ctx: &Context) -> Result<reqwest::Identity, String> {
    let m = ctx.shared.forge.target().mtls.as_ref().ok_or("no [mtls]")?;
    let (ca_cert, ca_key) = m.client_ca.as_ref().ok_or("no client CA")?;
    let ca = authbench_servers::mtls::pki::ClientCa::from_pem(ca_cert, ca_key)
        .map_err(|e| format!("the client CA: {e}"))?;
    use rustls_pki_types::pem::PemObject as _;
    let leaf = rustls_pki_types::CertificateDer::pem_slice_iter(&m.client.chain_pem)
        .next()
        .and_then(Result::ok)
        .ok_or("the profile's client certificate does not parse")?;
    let (chain, key) =
        crate::methods::mtls::pki::mint_like(&ca, &leaf).map_err(|e| e.to_string())?;
    reqwest::Identity::from_pem(format!("{chain}{key}").as_bytes()).map_err(|e| e.to_string())
}

/// Sends one request goose measures, named `name`, expecting `expect`.
async fn send(
    user: &mut GooseUser,
    name: &str,
    builder: reqwest::RequestBuilder,
    method: GooseMethod,
    expect: u16,
) -> Result<GooseResponse, Box<TransactionError>> {
    let request = GooseRequest::builder()
        .method(method)
        .name(name)
        .expect_status_code(expect)
        .set_request_builder(builder)
        .build();
    user.request(request).await
}

fn call_method(
    user: &mut GooseUser,
    sc: Arc<ScenarioContext>,
) -> Pin<Box<dyn Future<Output = TransactionResult> + Send + '_>> {
    Box::pin(async move {
        let request = sc.request.as_ref().ok_or_else(|| custom("no request"))?;
        let mut builder = user.get_request_builder(&GooseMethod::Get, request.url.as_str())?;
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(pool) = &request.one_use {
            builder = builder.header(&pool.name, pool.mint_one().map_err(|e| custom(&e))?);
        }
        send(user, &sc.name, builder, GooseMethod::Get, 200).await?;
        Ok(())
    })
}

/// POSTs a form to the token or revocation endpoint with the profile client's credentials.
async fn oauth_post(
    steps: &mut dyn Steps,
    ctx: &Context,
    name: &str,
    url: &Url,
    fields: &[(&str, &str)],
) -> Result<Option<Value>, String> {
    let t = ctx.shared.forge.target().oauth2.as_ref().ok_or("no [oauth2]")?;
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    let mut builder = steps.builder(reqwest::Method::POST, url)?;
    match &t.client_secret {
        Some(secret) => {
            builder = builder.basic_auth(
                url::form_urlencoded::byte_serialize(t.client_id.as_bytes()).collect::<String>(),
                Some(url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()),
            );
        }
        None => form.push(("client_id", &t.client_id)),
    }
    let body: String =
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let builder = builder.header("content-type", "application/x-www-form-urlencoded").body(body);
    match steps.send(name, builder, 200).await? {
        Some(r) if r.status().is_success() => Ok(r.json::<Value>().await.ok()),
        _ => Ok(None),
    }
}

async fn call_resource(
    steps: &mut dyn Steps,
    url: &Url,
    name: &str,
    token: &str,
) -> Result<(), String> {
    let builder = steps
        .builder(reqwest::Method::GET, url)?
        .header("authorization", format!("Bearer {token}"));
    steps.send(name, builder, 200).await?;
    Ok(())
}

fn oauth_journey(
    user: &mut GooseUser,
    sc: Arc<ScenarioContext>,
) -> Pin<Box<dyn Future<Output = TransactionResult> + Send + '_>> {
    Box::pin(async move { run_oauth_journey(&mut GooseSteps(user), &sc.ctx).await.map_err(custom) })
}

/// Log in (the authorization walk by the harness, the code exchange
/// measured), call, refresh, call, revoke. Without a login in the profile,
/// the client-credentials grant stands in for the log-in, and there is no
/// refresh.
pub async fn run_oauth_journey(steps: &mut dyn Steps, ctx: &Context) -> Result<(), String> {
    let session = crate::methods::oauth2::Session::open(&ctx.shared)
        .await
        .map_err(|e| format!("OAuth metadata: {e}"))?;
    let token_url = session.meta.token_endpoint.clone();
    let resource = session.t.resource_url.clone();
    let tokens = if session.t.login.is_some() {
        let req = session.auth_request();
        let code = session.code_for(&req).await.map_err(|e| format!("log-in: {e}"))?;
        let redirect = session.t.redirect_uri.to_string();
        let mut fields = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("code_verifier", req.pkce.verifier.as_str()),
        ];
        if let Some(r) = &session.t.resource {
            fields.push(("resource", r));
        }
        oauth_post(steps, ctx, "oauth2: token (code)", &token_url, &fields).await?
    } else {
        let mut fields = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &session.t.scope {
            fields.push(("scope", scope));
        }
        oauth_post(steps, ctx, "oauth2: token (client credentials)", &token_url, &fields).await?
    };
    // A failed step is already a failed request in the metrics.
    let Some(tokens) = tokens else { return Ok(()) };
    let Some(access) = tokens["access_token"].as_str().map(str::to_owned) else {
        return Err("the token response has no access_token".to_owned());
    };
    call_resource(steps, &resource, "oauth2: resource", &access).await?;
    // Revoke what the session holds last: the (rotated) refresh token,
    // which ends the grant, or else the access token.
    let mut last = (access, "access_token");
    if let Some(refresh) = tokens["refresh_token"].as_str() {
        last = (refresh.to_owned(), "refresh_token");
        let fields = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
        if let Some(fresh) =
            oauth_post(steps, ctx, "oauth2: token (refresh)", &token_url, &fields).await?
            && let Some(a) = fresh["access_token"].as_str()
        {
            call_resource(steps, &resource, "oauth2: resource (refreshed)", a).await?;
            if let Some(rotated) = fresh["refresh_token"].as_str() {
                last = (rotated.to_owned(), "refresh_token");
            }
        }
    }
    if let Some(revocation) = session.meta.revocation_endpoint.clone() {
        let fields = [("token", last.0.as_str()), ("token_type_hint", last.1)];
        oauth_post(steps, ctx, "oauth2: revoke", &revocation, &fields).await?;
    }
    Ok(())
}

fn rotation(
    user: &mut GooseUser,
    sc: Arc<ScenarioContext>,
) -> Pin<Box<dyn Future<Output = TransactionResult> + Send + '_>> {
    Box::pin(async move {
        let previous = user.get_session_data::<CurrentKey>().cloned();
        let index = user.weighted_users_index;
        let current =
            run_rotation(&mut GooseSteps(user), &sc.ctx, index, previous).await.map_err(custom)?;
        if let Some(key) = current {
            user.set_session_data(key);
        }
        Ok(())
    })
}

/// Creates a key, uses it, revokes the previous one and checks it is
/// refused; returns the key now in use (the user's next `previous`).
pub async fn run_rotation(
    steps: &mut dyn Steps,
    ctx: &Context,
    user_index: usize,
    previous: Option<CurrentKey>,
) -> Result<Option<CurrentKey>, String> {
    let (admin, token) = ctx.admin.clone().ok_or("no admin API")?;
    let a = ctx.shared.forge.target().api_key.as_ref().ok_or("no [api_key]")?;
    let with_key = |builder: reqwest::RequestBuilder, key: &str| match (&a.header, &a.scheme) {
        (Some(h), _) => builder.header(h.as_str(), key),
        (None, Some(s)) => builder.header("authorization", format!("{s} {key}")),
        (None, None) => builder,
    };
    let create = admin.join("api-keys").map_err(|e| e.to_string())?;
    let body = serde_json::json!({ "client_id": format!("authbench-load-{user_index}") });
    let builder = steps.builder(reqwest::Method::POST, &create)?.bearer_auth(&token).json(&body);
    let view = match steps.send("admin: create key", builder, 201).await? {
        Some(r) if r.status().as_u16() == 201 => r.json::<Value>().await.ok(),
        _ => None,
    };
    let Some((id, key)) = view.as_ref().and_then(|v| {
        let id: &str = v.get("id")?.as_str()?;
        let key: &str = v.get("key")?.as_str()?;
        Some((String::from(id), String::from(key)))
    }) else {
        return Ok(previous);
    };
    for _ in 0..2 {
        let builder = with_key(steps.builder(reqwest::Method::GET, &a.url)?, &key);
        steps.send("api-key: new key", builder, 200).await?;
    }
    if let Some(CurrentKey(old_id, old_key)) = previous {
        let revoke = admin.join(&format!("api-keys/{old_id}/revoke")).map_err(|e| e.to_string())?;
        let builder = steps
            .builder(reqwest::Method::POST, &revoke)?
            .bearer_auth(&token)
            .json(&serde_json::json!({}));
        steps.send("admin: revoke key", builder, 200).await?;
        let builder = with_key(steps.builder(reqwest::Method::GET, &a.url)?, &old_key);
        let refused = steps.send("api-key: revoked key refused", builder, 401).await?;
        if refused.as_ref().is_some_and(|r| r.status().is_success()) {
            ctx.findings.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(Some(CurrentKey(id, key)))
}
