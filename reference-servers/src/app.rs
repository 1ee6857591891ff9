//! The shared state of the reference servers and their routes.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use jsonwebtoken::Algorithm;

use crate::basic::{BasicAuth, BasicOutcome};
use crate::flaws::Flaws;
use crate::jwt::{self, JwtService};
use crate::metrics::Metrics;
use crate::store::{KeyMode, Store};
use crate::{admin, api_key, respond};

/// Unix time in seconds.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The whole second at which something granted `lifetime` seconds from now
/// expires (checked as `deadline <= now()`): rounded up, so it lives at least
/// `lifetime` seconds and at most one more. Truncating instead would let a
/// one-second key die a few milliseconds after it was issued. A lifetime of
/// zero or less is already over.
pub fn deadline_after(lifetime: i64) -> i64 {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let whole = elapsed.as_secs() as i64;
    if lifetime <= 0 {
        return whole.saturating_add(lifetime);
    }
    let rounded = if elapsed.subsec_nanos() > 0 { whole.saturating_add(1) } else { whole };
    rounded.saturating_add(lifetime)
}

/// Everything a request handler may need, built once at start.
#[derive(Debug)]
pub struct App {
    /// Flaws switched on.
    pub flaws: Flaws,
    /// The state database.
    pub store: Arc<Store>,
    /// The Basic authenticator.
    pub basic: BasicAuth,
    /// JWT issuing and verification.
    pub jwt: JwtService,
    /// Metrics.
    pub metrics: Metrics,
    /// The mode whose API keys this deployment accepts.
    pub api_key_mode: KeyMode,
    /// Invalid-key throttling per client address.
    pub api_key_throttle: crate::api_key::KeyThrottle,
    /// Per-key usage since `started_at`.
    pub api_key_usage: crate::api_key::UsageBook,
    /// Unix seconds of the server's start.
    pub started_at: i64,
    /// The OAuth authorization and resource servers.
    pub oauth: crate::oauth::OAuthService,
    /// DPoP proof identifiers seen (group-committed).
    pub dpop_jtis: crate::oauth::dpop::JtiLog,
    /// The mTLS server.
    pub mtls: crate::mtls::MtlsService,
    /// SHA-256 of the admin token.
    pub admin_token_hash: [u8; 32],
    /// The OpenAPI document of the servers, as served.
    pub openapi: String,
}

/// Paths of the resources, shared by the router, the profile and the tests.
pub mod paths {
    /// The unauthenticated baseline.
    pub const BASELINE: &str = "/baseline";
    /// Prometheus metrics.
    pub const METRICS: &str = "/metrics";
    /// Basic, argon2id on every request.
    pub const BASIC: &str = "/basic/resource";
    /// Basic behind the verified-credential cache.
    pub const BASIC_CACHED: &str = "/basic-cached/resource";
    /// API key, scope `read`.
    pub const API_KEY: &str = "/api-key/resource";
    /// API key, scope `write`.
    pub const API_KEY_PRIVILEGED: &str = "/api-key/privileged";
    /// JWT token endpoint.
    pub const JWT_TOKEN: &str = "/jwt/token";
    /// JWKS.
    pub const JWT_JWKS: &str = "/jwt/.well-known/jwks.json";
    /// RS256, scope `read`, with the `jti` denylist.
    pub const JWT_REVOCABLE: &str = "/jwt/revocable/resource";
    /// RS256, scope `write`.
    pub const JWT_PRIVILEGED: &str = "/jwt/rs256/privileged";
    /// The admin API prefix.
    pub const ADMIN: &str = "/admin";

    /// The resource of one JWT algorithm, scope `read`.
    pub fn jwt_resource(alg: jsonwebtoken::Algorithm) -> String {
        format!("/jwt/{}/resource", crate::jwt::verify::alg_name(alg).to_ascii_lowercase())
    }
}

/// The router of the HTTPS listener.
pub fn router(app: Arc<App>) -> Router {
    let mut router = Router::new()
        .route(paths::BASELINE, any(baseline))
        .route(paths::METRICS, get(metrics))
        .route(crate::openapi::PATH, get(openapi))
        .route(paths::BASIC, any(|s, m, h| basic(s, m, h, false)))
        .route(paths::BASIC_CACHED, any(|s, m, h| basic(s, m, h, true)))
        .route(paths::API_KEY, any(|s, p, m, h, u| api_key_resource(s, p, m, h, u, "read")))
        .route(
            paths::API_KEY_PRIVILEGED,
            any(|s, p, m, h, u| api_key_resource(s, p, m, h, u, "write")),
        )
        .route(paths::JWT_TOKEN, post(jwt::token_endpoint))
        .route(paths::JWT_JWKS, get(jwt::jwks))
        .route(
            paths::JWT_REVOCABLE,
            any(|s, m, h, u| jwt_resource(s, m, h, u, Algorithm::RS256, "read", true)),
        )
        .route(
            paths::JWT_PRIVILEGED,
            any(|s, m, h, u| jwt_resource(s, m, h, u, Algorithm::RS256, "write", false)),
        );
    for alg in jwt::keys::ALGORITHMS {
        router = router.route(
            &paths::jwt_resource(alg),
            any(move |s, m, h, u| jwt_resource(s, m, h, u, alg, "read", false)),
        );
    }
    router
        .merge(crate::oauth::routes())
        .merge(crate::orders::routes())
        .nest(paths::ADMIN, admin::routes())
        .fallback(not_found)
        .layer(axum::middleware::map_response_with_state(Arc::clone(&app), drop_challenges))
        .with_state(app)
}

/// The `no-challenge` flaw: every answer loses its `WWW-Authenticate`, the
/// way a framework's error handler that writes its own 401 drops it.
pub(crate) async fn drop_challenges(
    State(app): State<Arc<App>>,
    mut response: Response,
) -> Response {
    if app.flaws.has(crate::flaws::Flaw::NoChallenge) {
        response.headers_mut().remove(header::WWW_AUTHENTICATE);
    }
    response
}

async fn baseline(method: Method) -> Response {
    respond::payload(&method, None)
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    app.metrics.pending_logins.set(i64::try_from(app.oauth.pending.len()).unwrap_or(i64::MAX));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], app.metrics.render())
        .into_response()
}

async fn openapi(State(app): State<Arc<App>>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], app.openapi.clone()).into_response()
}

async fn not_found() -> Response {
    respond::error(StatusCode::NOT_FOUND, None, "not_found", "No such resource")
}

async fn basic(
    State(app): State<Arc<App>>,
    method: Method,
    headers: HeaderMap,
    cached: bool,
) -> Response {
    let started = std::time::Instant::now();
    let outcome = app.basic.authenticate(&headers, cached).await;
    let label = outcome.label();
    let response = match outcome {
        BasicOutcome::Ok(user) => respond::payload(&method, Some(&user.username)),
        other => app.basic.rejection(other),
    };
    app.metrics.record(if cached { "basic_cached" } else { "basic" }, label, started.elapsed());
    response
}

async fn api_key_resource(
    State(app): State<Arc<App>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    scope: &'static str,
) -> Response {
    let peer = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    api_key::resource(&app, peer, &method, &headers, &uri, scope).await
}

async fn jwt_resource(
    State(app): State<Arc<App>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    alg: Algorithm,
    scope: &'static str,
    revocable: bool,
) -> Response {
    jwt::resource(&app, &method, &headers, &uri, alg, scope, revocable).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_grants_at_least_the_whole_lifetime() {
        let precise = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
        let before = precise();
        let deadline = deadline_after(1);
        // Measured against the exact clock, not the truncated one: a second
        // counted from a truncated start ends up to a second early.
        assert!(deadline as f64 >= before + 1.0, "{before} {deadline}");
        assert!(deadline as f64 <= precise() + 2.0, "{before} {deadline}");
        assert!(deadline_after(0) <= now());
        assert!(deadline_after(-5) < now());
    }
}
