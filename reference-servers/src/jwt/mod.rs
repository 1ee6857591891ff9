//! JWT bearer tokens (RFC 7519, RFC 8725, RFC 6750): a token endpoint, a JWKS
//! endpoint and one resource per algorithm, each with a one-algorithm allowlist.
//! Validation is stateless and touches no database, except on the separate
//! revocable resource, which shows what an instant-revocation `jti` denylist costs.

mod follow;
pub mod keys;
mod published;
pub mod verify;

use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use rand::RngExt;

use crate::app::{App, now};
use crate::basic::BasicOutcome;
use crate::flaws::Flaw;
use crate::respond::{self, Authorization, REALM, quoted};
use keys::JwtKeys;
use verify::{TokenError, VerifiedToken, Verifier, VerifierFlaws, VerifierSettings};

/// The `iss` of every token the reference servers issue. Fixed, so that tokens
/// outlive a restart on another port.
pub const ISSUER: &str = "urn:authbench:reference:issuer";
/// The `aud` the reference resources require.
pub const AUDIENCE: &str = "urn:authbench:reference:api";
/// The `client_id` claim RFC 9068 §2.2 requires, naming the token endpoint's client.
pub const CLIENT_ID: &str = "authbench-reference";

/// Lifetimes and skew of the JWT servers.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// Clock skew tolerated on `exp`, `nbf`, `iat` (seconds).
    pub leeway_secs: i64,
    /// Longest lifetime issued and accepted (seconds).
    pub max_lifetime_secs: i64,
    /// Lifetime of tokens from the token endpoint when none is asked for (seconds).
    pub default_lifetime_secs: i64,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig { leeway_secs: 5, max_lifetime_secs: 24 * 3600, default_lifetime_secs: 900 }
    }
}

/// A newly minted token.
#[derive(Debug, Clone)]
pub struct Minted {
    /// The compact JWS.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Its `exp`.
    pub expires_at: i64,
}

/// The JWT issuer and resource servers.
#[derive(Debug)]
pub struct JwtService {
    keys: JwtKeys,
    verifiers: Vec<(Algorithm, Verifier)>,
    config: JwtConfig,
    jwks_json: String,
}

impl JwtService {
    /// Builds the verifiers, once, from the loaded keys; fails if a key does not
    /// parse for its algorithm.
    pub fn new(
        keys: JwtKeys,
        config: JwtConfig,
        flaws: &crate::flaws::Flaws,
    ) -> Result<Self, String> {
        let settings = VerifierSettings {
            issuer: ISSUER.to_owned(),
            audience: AUDIENCE.to_owned(),
            leeway_secs: config.leeway_secs,
            max_lifetime_secs: config.max_lifetime_secs,
            flaws: VerifierFlaws {
                accept_alg_none: flaws.has(Flaw::JwtAcceptAlgNone),
                skip_exp: flaws.has(Flaw::JwtSkipExp),
                skip_aud: flaws.has(Flaw::JwtSkipAud),
                skip_signature: flaws.has(Flaw::JwtSkipSignature),
                psychic_ecdsa: flaws.has(Flaw::JwtEcdsaPsychic),
            },
        };
        let verifiers = keys::ALGORITHMS
            .iter()
            .map(|&alg| {
                let key = keys.get(alg);
                let mut verifier =
                    Verifier::new(alg, &key.decoding, key.kid.clone(), settings.clone())
                        .map_err(|e| format!("{}: {e}", key.private_file.display()))?;
                if alg == Algorithm::RS256
                    && flaws.has(Flaw::JwtKeyConfusion)
                    && let Some(pem) = &key.public_pem
                {
                    verifier = verifier.with_key_confusion(pem);
                }
                if alg == Algorithm::HS256 && flaws.has(Flaw::JwtDefaultHmacSecret) {
                    verifier = verifier.with_fallback_secret(DEFAULT_HMAC_SECRET);
                }
                Ok((alg, verifier))
            })
            .collect::<Result<_, String>>()?;
        let jwks_json = published::jwks_json(&keys, flaws);
        let mut service = JwtService { keys, verifiers, config, jwks_json };
        // The header of the tokens this issuer mints, for the verifiers' fast path.
        for i in 0..service.verifiers.len() {
            let alg = service.verifiers[i].0;
            let token = service.mint(alg, "-", "", 1, 0).map_err(|e| e.to_string())?.token;
            let header = token.split('.').next().unwrap_or_default();
            if !service.verifiers[i].1.remember_header(header) {
                return Err(format!(
                    "the minted {} header fails verification",
                    verify::alg_name(alg)
                ));
            }
        }
        Ok(service)
    }

    /// The signing keys.
    pub fn keys(&self) -> &JwtKeys {
        &self.keys
    }

    /// The lifetimes and skew in force.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// The verifier of `alg`'s resource (the benchmarks time it).
    pub fn verifier(&self, alg: Algorithm) -> &Verifier {
        // Invariant: `verifiers` has one entry per ALGORITHMS, built in `new`.
        &self.verifiers.iter().find(|(a, _)| *a == alg).unwrap_or(&self.verifiers[0]).1
    }

    /// Mints an access token (RFC 9068 profile) for `subject` with `scope`.
    pub fn mint(
        &self,
        alg: Algorithm,
        subject: &str,
        scope: &str,
        lifetime_secs: i64,
        now: i64,
    ) -> Result<Minted, jsonwebtoken::errors::Error> {
        self.mint_for(CLIENT_ID, alg, subject, scope, lifetime_secs, now)
    }

    /// Mints an access token issued to client `client_id` (an application of
    /// the layered resource, say).
    pub fn mint_for(
        &self,
        client_id: &str,
        alg: Algorithm,
        subject: &str,
        scope: &str,
        lifetime_secs: i64,
        now: i64,
    ) -> Result<Minted, jsonwebtoken::errors::Error> {
        let key = self.keys.get(alg);
        let mut header = Header::new(alg);
        header.typ = Some("at+jwt".to_owned());
        header.kid = Some(key.kid.clone());
        let jti = random_id();
        let expires_at = now + lifetime_secs;
        let claims = serde_json::json!({
            "iss": ISSUER,
            "sub": subject,
            "aud": AUDIENCE,
            "client_id": client_id,
            "iat": now,
            "nbf": now,
            "exp": expires_at,
            "jti": jti,
            "scope": scope,
        });
        let token = jsonwebtoken::encode(&header, &claims, &key.encoding)?;
        Ok(Minted { token, jti, expires_at })
    }

    /// The JWKS document, serialized once.
    pub fn jwks_json(&self) -> &str {
        &self.jwks_json
    }
}

/// 128 random bits, base64url.
/// The fallback secret of `jwt-default-hmac-secret`: the example secret of a
/// popular JWT debugger, which code copied from it keeps.
const DEFAULT_HMAC_SECRET: &[u8] = b"your-256-bit-secret";

fn random_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn bearer_challenge(error: Option<(&str, &str)>, scope: Option<&str>) -> String {
    let mut challenge = format!("Bearer realm={}", quoted(REALM));
    if let Some((code, description)) = error {
        challenge.push_str(&format!(
            ", error={}, error_description={}",
            quoted(code),
            quoted(description)
        ));
    }
    if let Some(scope) = scope {
        challenge.push_str(&format!(", scope={}", quoted(scope)));
    }
    challenge
}

/// Whether the query string carries an `access_token` (RFC 6750 §2.3).
fn query_has_token(uri: &Uri) -> bool {
    uri.query().is_some_and(|q| {
        q.split('&').any(|pair| {
            pair.split('=').next().is_some_and(|k| k.eq_ignore_ascii_case("access_token"))
        })
    })
}

/// A protected JWT resource: `alg` is the only algorithm accepted,
/// `scope` is required, `revocable` consults the `jti` denylist.
pub async fn resource(
    app: &App,
    method: &Method,
    headers: &HeaderMap,
    uri: &Uri,
    alg: Algorithm,
    scope: &'static str,
    revocable: bool,
) -> Response {
    let started = std::time::Instant::now();
    let label = if revocable { "jwt_revocable" } else { verify::alg_name(alg) };
    if app.flaws.has(Flaw::JwtKidCommand) {
        follow::kid_command(headers).await;
    }
    // The `jwt-follow-jku` flaw: a token's own key URL, tried first.
    let followed = if app.flaws.has(Flaw::JwtFollowJku) && !revocable {
        follow::follow(app, headers, alg).await
    } else {
        None
    };
    let authenticated = match followed {
        Some(token) => Ok(token),
        None => authenticate(app, headers, uri, alg, revocable),
    };
    let (outcome, response) = match authenticated {
        Ok(token) if token.scopes.iter().any(|s| s == scope) => {
            ("ok", respond::payload(method, Some(&token.subject)))
        }
        Ok(_) => ("insufficient_scope", insufficient_scope(scope)),
        Err(rejection) => (rejection.label(), rejection.response()),
    };
    app.metrics.record(metric_method(label), outcome, started.elapsed());
    response
}

/// 403 for a valid token without `scope` (RFC 6750 §3.1), naming it.
pub(crate) fn insufficient_scope(scope: &str) -> Response {
    respond::error(
        StatusCode::FORBIDDEN,
        Some(bearer_challenge(
            Some(("insufficient_scope", "The token lacks the scope this resource requires")),
            Some(scope),
        )),
        "insufficient_scope",
        "The token lacks the scope this resource requires",
    )
}

fn metric_method(label: &str) -> &'static str {
    match label {
        "RS256" => "jwt_rs256",
        "ES256" => "jwt_es256",
        "EdDSA" => "jwt_eddsa",
        "HS256" => "jwt_hs256",
        _ => "jwt_revocable",
    }
}

/// Why a request's bearer token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// No Bearer token in the Authorization header (a token in the query
    /// string counts as none): a challenge without an error code (RFC 6750 §3.1).
    Missing,
    /// A malformed request (RFC 6750 §3.1 `invalid_request`): 400.
    InvalidRequest(&'static str),
    /// The token itself failed verification: 401 `invalid_token`.
    InvalidToken(TokenError),
    /// The revocation list could not be read.
    Unavailable,
}

impl Rejection {
    fn label(&self) -> &'static str {
        match self {
            Rejection::Missing => "missing",
            Rejection::InvalidRequest(_) => "invalid_request",
            Rejection::InvalidToken(_) => "invalid_token",
            Rejection::Unavailable => "error",
        }
    }

    pub(crate) fn response(&self) -> Response {
        match self {
            Rejection::Missing => respond::error(
                StatusCode::UNAUTHORIZED,
                Some(bearer_challenge(None, None)),
                "unauthorized",
                "This resource requires a Bearer access token in the Authorization header",
            ),
            Rejection::InvalidRequest(description) => respond::error(
                StatusCode::BAD_REQUEST,
                Some(bearer_challenge(Some(("invalid_request", description)), None)),
                "invalid_request",
                description,
            ),
            Rejection::InvalidToken(e) => {
                let description = e.to_string();
                respond::error(
                    StatusCode::UNAUTHORIZED,
                    Some(bearer_challenge(Some(("invalid_token", &description)), None)),
                    "invalid_token",
                    &description,
                )
            }
            Rejection::Unavailable => respond::error(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "temporarily_unavailable",
                "Revocation status unavailable",
            ),
        }
    }
}

/// The whole decision of a JWT resource, as [`resource`] makes it — the
/// Authorization header, the token, its claims, the revocation list when
/// `revocable`, the scope — without the response: `true` when the request may
/// proceed. The benchmarks time it beside the signature primitive.
pub fn admits(
    app: &App,
    headers: &HeaderMap,
    uri: &Uri,
    alg: Algorithm,
    scope: &str,
    revocable: bool,
) -> bool {
    authenticate(app, headers, uri, alg, revocable)
        .is_ok_and(|token| token.scopes.iter().any(|s| s == scope))
}

pub(crate) fn authenticate(
    app: &App,
    headers: &HeaderMap,
    uri: &Uri,
    alg: Algorithm,
    revocable: bool,
) -> Result<VerifiedToken, Rejection> {
    let auth = Authorization::of(headers);
    let token = match auth {
        Authorization::Duplicated => {
            return Err(Rejection::InvalidRequest("More than one Authorization header"));
        }
        Authorization::Malformed => {
            return Err(Rejection::InvalidRequest("Malformed Authorization header"));
        }
        _ => auth.credentials_for("Bearer"),
    };
    // RFC 6750 §2: a client must not use more than one method; the query
    // method itself is refused (RFC 9700 §2.5: tokens in URLs leak).
    if query_has_token(uri) {
        return Err(match token {
            Some(_) => Rejection::InvalidRequest("The access token was sent in more than one way"),
            None => Rejection::Missing,
        });
    }
    let Some(token) = token else { return Err(Rejection::Missing) };
    let verified = app.jwt.verifier(alg).verify(token, now()).map_err(Rejection::InvalidToken)?;
    if revocable {
        let jti = verified
            .jti
            .as_deref()
            .ok_or(Rejection::InvalidToken(TokenError::MissingClaim("jti")))?;
        match app.store.is_jti_revoked(jti) {
            Ok(false) => {}
            Ok(true) => return Err(Rejection::InvalidToken(TokenError::Revoked)),
            Err(e) => {
                tracing::error!(error = %e, "jti denylist lookup failed");
                return Err(Rejection::Unavailable);
            }
        }
    }
    Ok(verified)
}

/// The token request: `POST /jwt/token` with the user's Basic credentials.
#[derive(Debug, serde::Deserialize)]
pub struct TokenRequest {
    /// `RS256`, `ES256`, `EdDSA` or `HS256`; RS256 when absent.
    alg: Option<String>,
    /// Space-separated scopes; `read` when absent.
    scope: Option<String>,
    /// Requested lifetime in seconds, capped at the maximum.
    expires_in: Option<i64>,
}

/// Issues an access token to a user who authenticates with Basic credentials.
pub async fn token_endpoint(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(request): Form<TokenRequest>,
) -> Response {
    let user = match app.basic.authenticate(&headers, false).await {
        BasicOutcome::Ok(user) => user,
        other => return app.basic.rejection(other),
    };
    let alg = match request.alg.as_deref().unwrap_or("RS256") {
        "RS256" => Algorithm::RS256,
        "ES256" => Algorithm::ES256,
        "EdDSA" => Algorithm::EdDSA,
        "HS256" => Algorithm::HS256,
        _ => {
            return respond::error(
                StatusCode::BAD_REQUEST,
                None,
                "invalid_request",
                "alg must be one of RS256, ES256, EdDSA, HS256",
            );
        }
    };
    let scope = request.scope.unwrap_or_else(|| "read".to_owned());
    if scope.split(' ').any(|s| !matches!(s, "read" | "write")) {
        return respond::error(
            StatusCode::BAD_REQUEST,
            None,
            "invalid_scope",
            "Known scopes: read, write",
        );
    }
    let lifetime = request
        .expires_in
        .unwrap_or(app.jwt.config.default_lifetime_secs)
        .clamp(1, app.jwt.config.max_lifetime_secs);
    match app.jwt.mint(alg, &user.username, &scope, lifetime, now()) {
        Ok(minted) => (
            [(axum::http::header::CACHE_CONTROL, "no-store")],
            axum::Json(serde_json::json!({
                "access_token": minted.token,
                "token_type": "Bearer",
                "expires_in": lifetime,
                "scope": scope,
            })),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "minting a token failed");
            respond::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                "server_error",
                "Could not mint a token",
            )
        }
    }
}

/// The public keys, `GET /jwt/.well-known/jwks.json`.
pub async fn jwks(State(app): State<Arc<App>>) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/jwk-set+json")], app.jwt.jwks_json.clone())
        .into_response()
}
