//! The layered resource: three methods on one request, as production systems
//! stack them. On the mTLS listener, `/layered/resource` requires
//!
//! - a client certificate: the calling **service** (its identity must be known
//!   and hold `read`, as on `/mtls/resource`);
//! - an API key: the **application** (the key's owning client, scope `read`);
//! - a JWT bearer token (RS256, the `[jwt]` issuer and audience, scope
//!   `read`): the **user**;
//!
//! and a declared binding between them: the service is bound to one
//! application (`mtls_identities.application`), the key must belong to that
//! application, and the token's `client_id` (RFC 9068 §2.2) and `azp` (OpenID
//! Connect Core §2), whichever it carries, must name it too.
//!
//! Each layer is verified on every request, independently of the others and of
//! the order the headers came in, so neither the verdict nor the work done
//! depends on which layer fails first. A refusal names the layers that failed
//! and only those: telling a caller that its certificate and key passed would
//! tell someone holding stolen credentials which of them still work.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use jsonwebtoken::Algorithm;

use crate::app::App;
use crate::flaws::Flaw;
use crate::jwt::verify::VerifiedToken;
use crate::mtls::ClientCert;
use crate::respond;
use crate::store::ApiKeyRecord;

/// Paths on the mTLS listener.
pub mod paths {
    /// Requires certificate, API key and token, bound to one application.
    pub const RESOURCE: &str = "/layered/resource";
}

/// The scope (and mTLS permission) each layer must grant.
const SCOPE: &str = "read";

/// The three layers, in the order refusals list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The client certificate: the calling service.
    Service,
    /// The API key: the application.
    Application,
    /// The bearer token: the user.
    User,
}

impl Layer {
    fn noun(self) -> &'static str {
        match self {
            Layer::Service => "client certificate",
            Layer::Application => "API key",
            Layer::User => "access token",
        }
    }
}

/// Why one layer did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    /// Missing or invalid: 401, with this layer's challenge.
    Unauthorized(String),
    /// A malformed request (keys in several places, two Authorization headers): 400.
    BadRequest(String),
    /// Valid, but without the permission or scope: 403.
    Forbidden(String),
    /// Too many invalid keys from this address: 429.
    Throttled(Duration),
    /// A store failed: 503.
    Unavailable,
}

impl Failure {
    /// Most severe first: the status of a refusal is its worst layer's.
    fn rank(&self) -> u8 {
        match self {
            Failure::Unavailable => 0,
            Failure::Throttled(_) => 1,
            Failure::BadRequest(_) => 2,
            Failure::Unauthorized(_) => 3,
            Failure::Forbidden(_) => 4,
        }
    }

    fn description(&self) -> &str {
        match self {
            Failure::Unauthorized(d) | Failure::BadRequest(d) | Failure::Forbidden(d) => d,
            Failure::Throttled(_) => "too many invalid API keys from this address",
            Failure::Unavailable => "temporarily unavailable",
        }
    }
}

/// The service layer's result: the identity and the application it is bound to.
type ServiceLayer = Result<(String, Option<String>), Failure>;

/// What each layer concluded for one request.
struct Layers {
    service: ServiceLayer,
    application: Result<Arc<ApiKeyRecord>, Failure>,
    user: Result<VerifiedToken, Failure>,
}

impl Layers {
    fn verify(
        app: &App,
        cert: Option<&ClientCert>,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Layers {
        Layers {
            service: service(app, cert),
            application: application(app, peer, headers, uri),
            user: user(app, headers, uri),
        }
    }

    /// The layers that failed, in order, with why.
    fn failures(&self) -> Vec<(Layer, &Failure)> {
        let mut out = Vec::new();
        if let Err(f) = &self.service {
            out.push((Layer::Service, f));
        }
        if let Err(f) = &self.application {
            out.push((Layer::Application, f));
        }
        if let Err(f) = &self.user {
            out.push((Layer::User, f));
        }
        out
    }
}

fn service(app: &App, cert: Option<&ClientCert>) -> ServiceLayer {
    let cert =
        cert.ok_or_else(|| Failure::Unauthorized("A client certificate is required".into()))?;
    if app.mtls.is_revoked(&cert.serial) {
        return Err(Failure::Unauthorized("The client certificate was revoked".into()));
    }
    match app.store.mtls_identity(&cert.identity) {
        Ok(Some(service)) if service.permissions.iter().any(|p| p == SCOPE) => {
            Ok((cert.identity.clone(), service.application.clone()))
        }
        Ok(Some(_)) => {
            Err(Failure::Forbidden("The calling service may not use this resource".into()))
        }
        Ok(None) => Err(Failure::Unauthorized(
            "The client certificate's identity is not a known service".into(),
        )),
        Err(e) => {
            tracing::error!(error = %e, "mTLS identity lookup failed");
            Err(Failure::Unavailable)
        }
    }
}

fn application(
    app: &App,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Arc<ApiKeyRecord>, Failure> {
    use crate::api_key::Rejection;
    match crate::api_key::authenticate(app, peer, headers, uri) {
        Ok(record) if record.scopes.iter().any(|s| s == SCOPE) => Ok(record),
        Ok(_) => {
            Err(Failure::Forbidden("The API key lacks the scope this resource requires".into()))
        }
        Err(Rejection::Missing) => Err(Failure::Unauthorized("An API key is required".into())),
        Err(Rejection::QueryOnly) => Err(Failure::Unauthorized(
            "API keys are accepted only in the X-API-Key or Authorization header, never in the URL"
                .into(),
        )),
        Err(Rejection::Ambiguous) => {
            Err(Failure::BadRequest("Send exactly one API key, in one header".into()))
        }
        Err(Rejection::Invalid | Rejection::Retired | Rejection::SourceRefused) => {
            Err(Failure::Unauthorized("The API key is not valid".into()))
        }
        Err(Rejection::SourceRefusedVerbosely) => Err(Failure::Forbidden(
            "This API key is valid but may not be used from your address".into(),
        )),
        Err(Rejection::Throttled(retry_after)) => Err(Failure::Throttled(retry_after)),
        Err(Rejection::Unavailable) => Err(Failure::Unavailable),
    }
}

fn user(app: &App, headers: &HeaderMap, uri: &Uri) -> Result<VerifiedToken, Failure> {
    use crate::jwt::Rejection;
    match crate::jwt::authenticate(app, headers, uri, Algorithm::RS256, false) {
        Ok(token) if token.scopes.iter().any(|s| s == SCOPE) => Ok(token),
        Ok(_) => Err(Failure::Forbidden(
            "The access token lacks the scope this resource requires".into(),
        )),
        Err(Rejection::Missing) => Err(Failure::Unauthorized("An access token is required".into())),
        Err(Rejection::InvalidRequest(d)) => Err(Failure::BadRequest(d.to_owned())),
        Err(Rejection::InvalidToken(e)) => Err(Failure::Unauthorized(e.to_string())),
        Err(Rejection::Unavailable) => Err(Failure::Unavailable),
    }
}

/// The application the three layers agree on, if they are bound to one:
/// the service's application owns the key, and the token names it in
/// `client_id` and `azp` (each that it carries, at least one).
fn bound_application<'a>(
    service_app: Option<&'a str>,
    key: &ApiKeyRecord,
    token: &VerifiedToken,
) -> Option<&'a str> {
    let application = service_app?;
    let names = [token.client_id.as_deref(), token.azp.as_deref()];
    let named = names.iter().flatten().count() > 0;
    let agree = names.iter().flatten().all(|n| *n == application);
    (key.client_id == application && named && agree).then_some(application)
}

/// The whole decision, without the response: `Ok(principal)` when served.
fn decide(app: &App, layers: &Layers) -> Result<String, Refusal> {
    let passed = [layers.service.is_ok(), layers.application.is_ok(), layers.user.is_ok()];
    if app.flaws.has(Flaw::LayeredAnyOneLayer) && passed.iter().any(|p| *p) {
        // The flaw: "at least one method authenticated the caller".
        let principal = layers
            .user
            .as_ref()
            .map(|t| t.subject.clone())
            .or_else(|_| layers.application.as_ref().map(|k| k.client_id.clone()))
            .or_else(|_| layers.service.as_ref().map(|(s, _)| s.clone()))
            .unwrap_or_default();
        return Ok(principal);
    }
    let (Ok((service, service_app)), Ok(key), Ok(token)) =
        (&layers.service, &layers.application, &layers.user)
    else {
        return Err(Refusal::Layers);
    };
    if app.flaws.has(Flaw::LayeredSkipBinding) {
        return Ok(format!("{} via {} on {service}", token.subject, key.client_id));
    }
    match bound_application(service_app.as_deref(), key, token) {
        Some(application) => Ok(format!("{} via {application} on {service}", token.subject)),
        None => Err(Refusal::Unbound),
    }
}

/// Why the layered resource was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// At least one layer failed.
    Layers,
    /// Every layer passed, but they do not belong to one application.
    Unbound,
}

/// One challenge per failed layer (RFC 9110 §11.6.1 allows a list), so a
/// client learns what to fix without learning what passed.
fn challenges(failures: &[(Layer, &Failure)]) -> Option<String> {
    let list: Vec<String> = failures
        .iter()
        .filter(|(_, f)| matches!(f, Failure::Unauthorized(_)))
        .map(|(layer, failure)| match layer {
            Layer::Service => crate::mtls::challenge(),
            Layer::Application => crate::api_key::challenge(),
            // A request without a token gets the bare challenge (RFC 6750 §3.1).
            Layer::User if failure.description() == "An access token is required" => {
                crate::jwt::bearer_challenge(None, None)
            }
            Layer::User => {
                crate::jwt::bearer_challenge(Some(("invalid_token", failure.description())), None)
            }
        })
        .collect();
    (!list.is_empty()).then(|| list.join(", "))
}

fn refusal_response(app: &App, layers: &Layers, refusal: Refusal) -> (&'static str, Response) {
    if refusal == Refusal::Unbound {
        return (
            "unbound",
            respond::error(
                StatusCode::FORBIDDEN,
                None,
                "forbidden",
                "The credentials presented are not bound to one application",
            ),
        );
    }
    let failures = layers.failures();
    let worst = failures.iter().map(|(_, f)| *f).min_by_key(|f| f.rank());
    let mut description = failures
        .iter()
        .map(|(layer, failure)| format!("{}: {}", layer.noun(), failure.description()))
        .collect::<Vec<_>>()
        .join("; ");
    if app.flaws.has(Flaw::LayeredVerboseRefusal) {
        // The flaw: every layer's verdict, the passed ones too.
        let verdict = |layer: Layer, ok: bool| {
            let state = if ok { "accepted" } else { "refused" };
            format!("{} {state}", layer.noun())
        };
        description = [
            verdict(Layer::Service, layers.service.is_ok()),
            verdict(Layer::Application, layers.application.is_ok()),
            verdict(Layer::User, layers.user.is_ok()),
        ]
        .join("; ");
    }
    match worst {
        Some(Failure::Unavailable) | None => (
            "error",
            respond::error(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "temporarily_unavailable",
                "Try again",
            ),
        ),
        Some(Failure::Throttled(retry_after)) => ("throttled", respond::throttled(*retry_after)),
        Some(Failure::BadRequest(_)) => (
            "invalid_request",
            respond::error(StatusCode::BAD_REQUEST, None, "invalid_request", &description),
        ),
        Some(Failure::Unauthorized(_)) => (
            "invalid",
            respond::error(
                StatusCode::UNAUTHORIZED,
                challenges(&failures),
                "unauthorized",
                &description,
            ),
        ),
        Some(Failure::Forbidden(_)) => {
            ("forbidden", respond::error(StatusCode::FORBIDDEN, None, "forbidden", &description))
        }
    }
}

/// The whole decision of the layered resource, as its handler makes it for a
/// connection authenticated with `cert`, without the response: `true` when
/// the request is served. For the benchmarks.
pub fn admits(
    app: &App,
    cert: &ClientCert,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    uri: &Uri,
) -> bool {
    decide(app, &Layers::verify(app, Some(cert), peer, headers, uri)).is_ok()
}

/// `GET /layered/resource` on the mTLS listener.
pub async fn resource(
    State(app): State<Arc<App>>,
    cert: Option<Extension<ClientCert>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let started = std::time::Instant::now();
    let cert = app.mtls.certificate(cert.map(|Extension(c)| c), &headers);
    let peer = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    let layers = Layers::verify(&app, cert.as_ref(), peer, &headers, &uri);
    let (label, response) = match decide(&app, &layers) {
        Ok(principal) => ("ok", respond::payload(&method, Some(&principal))),
        Err(refusal) => refusal_response(&app, &layers, refusal),
    };
    app.metrics.record("layered", label, started.elapsed());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(client: &str) -> ApiKeyRecord {
        ApiKeyRecord {
            id: "k".into(),
            client_id: client.into(),
            mode: crate::store::KeyMode::Live,
            display_prefix: "sk_live_x".into(),
            key_hash: [0; 32],
            scopes: vec!["read".into()],
            created_at: 0,
            expires_at: None,
            revoked_at: None,
            allowed_sources: Vec::new(),
        }
    }

    fn token(client_id: Option<&str>, azp: Option<&str>) -> VerifiedToken {
        VerifiedToken {
            subject: "alice".into(),
            scopes: vec!["read".into()],
            jti: None,
            expires_at: None,
            cnf_jkt: None,
            cnf_x5t: None,
            client_id: client_id.map(Into::into),
            azp: azp.map(Into::into),
        }
    }

    #[test]
    fn the_binding_needs_one_application_named_by_every_layer() {
        let k = key("app");
        assert_eq!(bound_application(Some("app"), &k, &token(Some("app"), None)), Some("app"));
        assert_eq!(bound_application(Some("app"), &k, &token(None, Some("app"))), Some("app"));
        assert_eq!(
            bound_application(Some("app"), &k, &token(Some("app"), Some("app"))),
            Some("app")
        );
        // A service bound to nothing, a key of another application, a token
        // naming no application or another one: unbound.
        assert_eq!(bound_application(None, &k, &token(Some("app"), None)), None);
        assert_eq!(bound_application(Some("app"), &key("other"), &token(Some("app"), None)), None);
        assert_eq!(bound_application(Some("app"), &k, &token(None, None)), None);
        assert_eq!(bound_application(Some("app"), &k, &token(Some("other"), None)), None);
        assert_eq!(bound_application(Some("app"), &k, &token(Some("app"), Some("other"))), None);
    }

    #[test]
    fn a_refusal_carries_challenges_of_the_failed_layers_only() {
        let missing_key = Failure::Unauthorized("An API key is required".into());
        let bad_token = Failure::Unauthorized("The access token expired".into());
        let value =
            challenges(&[(Layer::Application, &missing_key), (Layer::User, &bad_token)]).unwrap();
        assert!(value.starts_with("ApiKey realm="), "{value}");
        assert!(value.contains("Bearer realm=") && value.contains("invalid_token"), "{value}");
        assert!(!value.contains("Mutual"), "{value}");
        let forbidden = Failure::Forbidden("no".into());
        assert_eq!(challenges(&[(Layer::Service, &forbidden)]), None);
    }
}
