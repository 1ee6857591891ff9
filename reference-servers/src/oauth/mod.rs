//! OAuth 2.0 reference authorization server and resource server, to current
//! best practice (RFC 9700): authorization code with PKCE S256 only, exact
//! redirect URIs, `iss` in the authorization response (RFC 9207), single-use
//! codes, refresh token rotation with family revocation, client credentials,
//! revocation (RFC 7009), introspection (RFC 7662), metadata (RFC 8414),
//! JWT (RFC 9068) or opaque access tokens, audiences (RFC 8707) and DPoP
//! (RFC 9449).

pub mod assertion;
pub mod authorize;
pub mod dpop;
pub mod introspect;
pub mod jar;
pub mod pages;
pub mod par;
pub mod resource;
pub mod store;
pub mod token;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngExt;
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::respond::{Authorization, quoted};
use store::OAuthClient;

/// Lifetimes and windows of the OAuth servers.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// Authorization codes (RFC 9700 §4.2: short).
    pub code_lifetime_secs: i64,
    /// Access tokens.
    pub access_lifetime_secs: i64,
    /// Refresh tokens.
    pub refresh_lifetime_secs: i64,
    /// Accepted DPoP proof age, either side of now.
    pub dpop_window_secs: i64,
    /// A pending login/consent before it expires.
    pub login_lifetime_secs: i64,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            code_lifetime_secs: 10,
            access_lifetime_secs: 600,
            refresh_lifetime_secs: 14 * 24 * 3600,
            dpop_window_secs: 60,
            login_lifetime_secs: 600,
        }
    }
}

/// Paths of the OAuth endpoints.
pub mod paths {
    /// RFC 8414 metadata.
    pub const METADATA: &str = "/.well-known/oauth-authorization-server";
    /// Authorization endpoint.
    pub const AUTHORIZE: &str = "/oauth/authorize";
    /// Login form target.
    pub const LOGIN: &str = "/oauth/login";
    /// Consent form target.
    pub const CONSENT: &str = "/oauth/consent";
    /// "Not you?": sign out and return to the authorization request.
    pub const SWITCH_USER: &str = "/oauth/switch-user";
    /// Token endpoint.
    pub const TOKEN: &str = "/oauth/token";
    /// Revocation endpoint.
    pub const REVOKE: &str = "/oauth/revoke";
    /// Introspection endpoint.
    pub const INTROSPECT: &str = "/oauth/introspect";
    /// Pushed authorization requests (RFC 9126).
    pub const PAR: &str = "/oauth/par";
    /// Resource, scope `read`.
    pub const RESOURCE: &str = "/oauth/resource";
    /// Resource, scope `write`.
    pub const PRIVILEGED: &str = "/oauth/privileged";
}

/// The OAuth service: issuer identity and the pending logins.
#[derive(Debug)]
pub struct OAuthService {
    /// The issuer identifier: the listener's origin.
    pub issuer: String,
    /// This resource server's identifier (the default audience).
    pub resource_id: String,
    /// Another resource the AS issues tokens for (to test audience checks).
    pub other_resource_id: String,
    /// The mTLS listener's origin (RFC 8705 endpoint aliases).
    pub mtls_origin: String,
    /// Lifetimes.
    pub config: OAuthConfig,
    /// Logins in progress.
    pub pending: authorize::PendingLogins,
    /// Pushed authorization requests, by request_uri.
    pub pushed: par::PushedRequests,
    /// `private_key_jwt`: the registered key and the assertions seen.
    pub assertions: assertion::Assertions,
    /// Verifies this issuer's JWT access tokens for this resource server.
    pub verifier: crate::jwt::verify::Verifier,
}

impl OAuthService {
    /// The service for an authorization server at `issuer`, signing access
    /// tokens with `key` (the JWT servers' RS256 key).
    pub fn new(
        issuer: &str,
        mtls_origin: &str,
        config: OAuthConfig,
        key: &crate::jwt::keys::SigningKey,
        assertions: assertion::Assertions,
        flaws: &crate::flaws::Flaws,
    ) -> Result<Self, String> {
        let mut config = config;
        if flaws.has(crate::flaws::Flaw::OauthLongLivedTokens) {
            config.access_lifetime_secs = 86_400;
        }
        let resource_id = format!("{issuer}/oauth");
        let settings = crate::jwt::verify::VerifierSettings {
            issuer: issuer.to_owned(),
            audience: resource_id.clone(),
            leeway_secs: 5,
            max_lifetime_secs: config.access_lifetime_secs,
            flaws: crate::jwt::verify::VerifierFlaws {
                skip_aud: flaws.has(crate::flaws::Flaw::OauthRsSkipAudience),
                skip_signature: flaws.has(crate::flaws::Flaw::OauthRsSkipSignature),
                accept_alg_none: flaws.has(crate::flaws::Flaw::OauthRsSkipSignature),
                ..Default::default()
            },
        };
        let verifier = crate::jwt::verify::Verifier::new(
            jsonwebtoken::Algorithm::RS256,
            &key.decoding,
            key.kid.clone(),
            settings,
        )?;
        Ok(OAuthService {
            issuer: issuer.to_owned(),
            resource_id,
            other_resource_id: format!("{issuer}/other-api"),
            mtls_origin: mtls_origin.to_owned(),
            config,
            pending: authorize::PendingLogins::default(),
            pushed: par::PushedRequests::default(),
            assertions,
            verifier,
        })
    }

    /// The absolute URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

/// The OAuth routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(paths::METADATA, get(metadata))
        .route(paths::AUTHORIZE, get(authorize::authorize))
        .route(paths::LOGIN, post(authorize::login))
        .route(paths::CONSENT, post(authorize::consent))
        .route(paths::SWITCH_USER, get(pages::switch_user))
        .route(paths::TOKEN, post(token::token))
        .route(paths::PAR, post(par::par))
        .route(paths::REVOKE, post(introspect::revoke))
        .route(paths::INTROSPECT, post(introspect::introspect))
        .route(
            paths::RESOURCE,
            any(|s, c, m, h, u, b| resource::resource(s, c, m, h, u, b, "read")),
        )
        .route(
            paths::PRIVILEGED,
            any(|s, c, m, h, u, b| resource::resource(s, c, m, h, u, b, "write")),
        )
}

async fn metadata(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    headers: HeaderMap,
) -> Response {
    let o = &app.oauth;
    // The flaw: URLs built from X-Forwarded-Host, which only a proxy may set
    // (RFC 9700 §4.13) — here the client sets it.
    let forwarded = headers
        .get("x-forwarded-host")
        .and_then(|v| v.to_str().ok())
        .filter(|_| app.flaws.has(crate::flaws::Flaw::OauthTrustForwardedHost));
    let base = forwarded.map_or_else(|| o.issuer.clone(), |h| format!("https://{h}"));
    let url = |path: &str| format!("{base}{path}");
    let body = serde_json::json!({
        "issuer": base,
        "authorization_endpoint": url(paths::AUTHORIZE),
        "token_endpoint": url(paths::TOKEN),
        "jwks_uri": url(crate::app::paths::JWT_JWKS),
        "revocation_endpoint": url(paths::REVOKE),
        "introspection_endpoint": url(paths::INTROSPECT),
        "pushed_authorization_request_endpoint": url(paths::PAR),
        // The flaw advertises what the server does not enforce.
        "require_pushed_authorization_requests": app.flaws.has(crate::flaws::Flaw::OauthParRequiredNotEnforced),
        "request_parameter_supported": true,
        "request_uri_parameter_supported": false,
        "request_object_signing_alg_values_supported": ["ES256"],
        // The flaw advertises what the server does not enforce.
        "require_signed_request_object": app.flaws.has(crate::flaws::Flaw::OauthJarRequiredNotEnforced),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "tls_client_auth", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
        "tls_client_certificate_bound_access_tokens": true,
        "mtls_endpoint_aliases": { "token_endpoint": format!("{}{}", o.mtls_origin, paths::TOKEN) },
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["read", "write"],
        "dpop_signing_alg_values_supported": dpop::ALGORITHMS,
        "authorization_response_iss_parameter_supported": true,
    });
    ([(header::CACHE_CONTROL, "max-age=300")], axum::Json(body)).into_response()
}

/// 256 random bits, base64url: codes, tokens, session and CSRF values.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a code or token, as stored.
pub fn hash(value: &str) -> [u8; 32] {
    <sha2::Sha256 as sha2::Digest>::digest(value.as_bytes()).into()
}

/// The key a token is stored and looked up under: its SHA-256. With the
/// `oauth-refresh-truncated` flaw a refresh token counts only by its first
/// 40 characters, as when a database column silently truncates it.
pub fn token_key(app: &App, token: &str) -> [u8; 32] {
    const STORED: usize = 40;
    if app.flaws.has(crate::flaws::Flaw::OauthRefreshTruncated)
        && token.starts_with("rt_")
        && let Some((cut, _)) = token.char_indices().nth(STORED)
    {
        return hash(&token[..cut]);
    }
    hash(token)
}

/// An OAuth error (RFC 6749 §5.2): a code, a description and a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// HTTP status.
    pub status: StatusCode,
    /// The `error` code.
    pub code: &'static str,
    /// `error_description`: no CR or LF, printable ASCII.
    pub description: String,
}

impl OAuthError {
    /// A 400 with `code`.
    pub fn bad(code: &'static str, description: impl Into<String>) -> Self {
        OAuthError { status: StatusCode::BAD_REQUEST, code, description: description.into() }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::bad("invalid_request", description)
    }

    /// `invalid_grant`.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::bad("invalid_grant", description)
    }

    /// `invalid_client`: 401 with a Basic challenge (RFC 6749 §5.2).
    pub fn invalid_client(description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_client",
            description: description.into(),
        }
    }

    /// `server_error`.
    pub fn server() -> Self {
        OAuthError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "server_error",
            description: "The authorization server failed".to_owned(),
        }
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "OAuth state failed");
        OAuthError::server()
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut headers = no_store();
        if self.status == StatusCode::UNAUTHORIZED
            && let Ok(v) =
                HeaderValue::from_str(&format!("Basic realm={}", quoted("authbench-oauth")))
        {
            headers.insert(header::WWW_AUTHENTICATE, v);
        }
        let body = serde_json::json!({ "error": self.code, "error_description": self.description });
        (self.status, headers, axum::Json(body)).into_response()
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
pub fn no_store() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers
}

/// A form body or query string parsed into pairs, refusing a parameter sent
/// twice (RFC 6749 §3.1, §3.2).
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` text.
    pub fn parse(text: &str) -> Result<Self, OAuthError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(text.as_bytes()) {
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(OAuthError::invalid_request(format!(
                    "the {name} parameter is repeated"
                )));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Params(pairs))
    }

    /// The parameters' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }

    /// Every parameter, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The value of `name`; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// The value of `name`, or `invalid_request`.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("the {name} parameter is missing")))
    }
}

fn secret_matches(client: &OAuthClient, secret: &str) -> bool {
    client.secret_hash.is_some_and(|h| bool::from(hash(secret).ct_eq(&h)))
}

/// Authenticates the client of a token, revocation or introspection request:
/// `client_secret_basic` (id and secret form-urlencoded, then base64, RFC 6749
/// §2.3.1) or `client_secret_post`, exactly one of them (RFC 6749 §2.3).
pub fn authenticate_client(
    app: &App,
    headers: &HeaderMap,
    params: &Params,
    cert: Option<&crate::mtls::ClientCert>,
) -> Result<OAuthClient, OAuthError> {
    let auth = Authorization::of(headers);
    let basic = auth.credentials_for("Basic");
    let post = params.get("client_secret");
    if params.get("client_assertion").is_some() {
        if basic.is_some() || post.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        return app.oauth.assertions.authenticate(app, params);
    }
    let (client_id, secret) = match (basic, post) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        (Some(encoded), None) => {
            let decoded = STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
            let unescape = |s: &str| -> String {
                form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            let id = unescape(id);
            if params.get("client_id").is_some_and(|p| p != id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the authenticated client",
                ));
            }
            (id, unescape(secret))
        }
        (None, Some(secret)) => (params.require("client_id")?.to_owned(), secret.to_owned()),
        (None, None) => {
            // A public client names itself and nothing more (RFC 6749 §2.1).
            if let Some(id) = params.get("client_id")
                && let Some(client) = app.store.oauth_client(id)?.filter(|c| c.public)
            {
                return Ok(client);
            }
            // tls_client_auth (RFC 8705 §2.1): a client registered without a
            // secret authenticates with a certificate of its own identity.
            return match (cert, params.get("client_id")) {
                (Some(cert), Some(id)) => match app.store.oauth_client(id)? {
                    Some(client)
                        if client.secret_hash.is_none() && cert.identity == client.client_id =>
                    {
                        Ok(client)
                    }
                    _ => Err(OAuthError::invalid_client(
                        "the client certificate does not authenticate this client",
                    )),
                },
                _ => Err(OAuthError::invalid_client("client authentication is required")),
            };
        }
    };
    match app.store.oauth_client(&client_id)? {
        Some(client) if secret_matches(&client, &secret) => Ok(client),
        _ => Err(OAuthError::invalid_client("client authentication failed")),
    }
}
