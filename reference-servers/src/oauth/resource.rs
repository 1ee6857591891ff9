//! The OAuth resource server: JWT access tokens validated locally (signature,
//! claims, audience) plus a revocation lookup; opaque tokens by introspection
//! of the shared store; DPoP-bound tokens only with a matching proof.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;

use super::dpop;
use super::store::TokenKind;
use crate::app::{App, now};
use crate::flaws::Flaw;
use crate::jwt::verify::TokenError;
use crate::respond::{self, Authorization, REALM, quoted};

/// Why a request was refused.
#[derive(Debug)]
enum Refusal {
    Missing,
    BadRequest(&'static str),
    InvalidToken(String, bool),
    Scope(&'static str),
    Unavailable,
}

fn challenges(error: Option<(&str, &str)>, dpop_scheme: bool, scope: Option<&str>) -> String {
    let algs = dpop::ALGORITHMS.join(" ");
    let params = |base: String| match error {
        Some((code, description)) => {
            let mut c = format!(
                "{base}, error={}, error_description={}",
                quoted(code),
                quoted(description)
            );
            if let Some(scope) = scope {
                c.push_str(&format!(", scope={}", quoted(scope)));
            }
            c
        }
        None => base,
    };
    match (error, dpop_scheme) {
        (None, _) => format!("Bearer realm={}, DPoP algs={}", quoted(REALM), quoted(&algs)),
        (Some(_), true) => params(format!("DPoP algs={}", quoted(&algs))),
        (Some(_), false) => params(format!("Bearer realm={}", quoted(REALM))),
    }
}

/// A protected resource requiring `scope`.
pub async fn resource(
    State(app): State<Arc<App>>,
    cert: Option<axum::Extension<crate::mtls::ClientCert>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
    scope: &'static str,
) -> Response {
    let started = std::time::Instant::now();
    let dpop_scheme = Authorization::of(&headers).credentials_for("DPoP").is_some();
    let cert = cert.map(|axum::Extension(c)| c);
    let (label, response) =
        match authenticate(&app, cert.as_ref(), &method, &headers, &uri, &body, scope).await {
            Ok(subject) => ("ok", respond::payload(&method, Some(&subject))),
            Err(Refusal::Missing) => (
                "missing",
                respond::error(
                    StatusCode::UNAUTHORIZED,
                    Some(challenges(None, false, None)),
                    "unauthorized",
                    "This resource requires an OAuth access token",
                ),
            ),
            Err(Refusal::BadRequest(d)) => (
                "invalid_request",
                respond::error(
                    StatusCode::BAD_REQUEST,
                    Some(challenges(Some(("invalid_request", d)), dpop_scheme, None)),
                    "invalid_request",
                    d,
                ),
            ),
            Err(Refusal::InvalidToken(d, dpop)) => (
                "invalid_token",
                respond::error(
                    StatusCode::UNAUTHORIZED,
                    Some(challenges(Some(("invalid_token", &d)), dpop || dpop_scheme, None)),
                    "invalid_token",
                    &d,
                ),
            ),
            Err(Refusal::Scope(s)) => (
                "insufficient_scope",
                respond::error(
                    StatusCode::FORBIDDEN,
                    Some(challenges(
                        Some((
                            "insufficient_scope",
                            "The token lacks the scope this resource requires",
                        )),
                        dpop_scheme,
                        Some(s),
                    )),
                    "insufficient_scope",
                    "The token lacks the scope this resource requires",
                ),
            ),
            Err(Refusal::Unavailable) => (
                "error",
                respond::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    None,
                    "temporarily_unavailable",
                    "Token status unavailable",
                ),
            ),
        };
    app.metrics.record("oauth2", label, started.elapsed());
    let mut response = response;
    if app.flaws.has(Flaw::OauthRsAcceptQuery)
        && uri.query().is_some_and(|q| q.contains("access_token="))
    {
        // ... and its answer is left cacheable (RFC 6750 §2.3 asks for `private`).
        response.headers_mut().remove(axum::http::header::CACHE_CONTROL);
    }
    response
}

/// The whole decision of the OAuth resource, as [`resource`] makes it — the
/// Authorization header, the token (JWT or opaque), its record, DPoP and
/// certificate binding, the scope — without the response: `true` when the
/// request may proceed. The benchmarks time it beside the primitives.
pub async fn admits(
    app: &App,
    cert: Option<&crate::mtls::ClientCert>,
    method: &Method,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
    scope: &'static str,
) -> bool {
    authenticate(app, cert, method, headers, uri, body, scope).await.is_ok()
}

async fn authenticate(
    app: &App,
    cert: Option<&crate::mtls::ClientCert>,
    method: &Method,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
    scope: &'static str,
) -> Result<String, Refusal> {
    let auth = Authorization::of(headers);
    let (token, dpop_scheme) = match auth {
        Authorization::Duplicated => {
            return Err(Refusal::BadRequest("More than one Authorization header"));
        }
        Authorization::Malformed => {
            return Err(Refusal::BadRequest("Malformed Authorization header"));
        }
        _ => match (auth.credentials_for("Bearer"), auth.credentials_for("DPoP")) {
            (Some(t), _) => (Some(t), false),
            (None, Some(t)) => (Some(t), true),
            (None, None) => (None, false),
        },
    };
    let in_query = uri.query().is_some_and(|q| {
        q.split('&')
            .any(|p| p.split('=').next().is_some_and(|k| k.eq_ignore_ascii_case("access_token")))
    });
    // A form body may carry the token too (RFC 6750 §2.2). This server does
    // not accept it there, but a token in two places is a malformed request.
    let form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    let in_body =
        form && form_urlencoded::parse(body).any(|(k, _)| k.eq_ignore_ascii_case("access_token"));
    // The flaw: a token in the query string is taken (RFC 6750 §2.3 allows
    // it; RFC 9700 §4.3.2 says not to).
    let from_query =
        (in_query && token.is_none() && !in_body && app.flaws.has(Flaw::OauthRsAcceptQuery))
            .then(|| {
                uri.query().and_then(|q| {
                    form_urlencoded::parse(q.as_bytes())
                        .find(|(k, _)| k.eq_ignore_ascii_case("access_token"))
                        .map(|(_, v)| v.into_owned())
                })
            })
            .flatten();
    if (in_query || in_body) && from_query.is_none() {
        return Err(match token {
            Some(_) => Refusal::BadRequest("The access token was sent in more than one way"),
            None => Refusal::Missing,
        });
    }
    let Some(token) = token.or(from_query.as_deref()) else { return Err(Refusal::Missing) };
    let invalid = |d: &str| Refusal::InvalidToken(d.to_owned(), dpop_scheme);
    let now = now();
    let skip_aud = app.flaws.has(Flaw::OauthRsSkipAudience);
    let (subject, scopes, jkt, x5t) = if token.matches('.').count() == 2 {
        let verified = app
            .oauth
            .verifier
            .verify(token, now)
            .map_err(|e: TokenError| invalid(&e.to_string()))?;
        let jti = verified.jti.clone().ok_or_else(|| invalid("The token lacks the jti claim"))?;
        let record = app.store.oauth_token_by_jti(&jti).map_err(|_| Refusal::Unavailable)?;
        match record {
            Some(r) if r.active(now) => {}
            Some(_) => return Err(invalid("The access token was revoked")),
            None => return Err(invalid("The access token is unknown")),
        }
        (verified.subject, verified.scopes, verified.cnf_jkt, verified.cnf_x5t)
    } else {
        let record = app
            .store
            .oauth_token(&super::token_key(app, token))
            .map_err(|_| Refusal::Unavailable)?;
        let record = match record {
            Some(r) if r.kind == TokenKind::Access && r.active(now) => r,
            _ => return Err(invalid("The access token is invalid, expired or revoked")),
        };
        if !skip_aud && record.audience.as_deref() != Some(app.oauth.resource_id.as_str()) {
            return Err(invalid("The token is for another audience"));
        }
        let subject = record.subject.clone().unwrap_or_else(|| record.client_id.clone());
        (subject, record.scope.split(' ').map(str::to_owned).collect(), record.jkt, record.x5t)
    };
    match (&jkt, dpop_scheme) {
        (Some(bound), true) => {
            let proof = match headers.get_all("dpop").iter().collect::<Vec<_>>().as_slice() {
                [one] => one.to_str().map_err(|_| invalid("Malformed DPoP proof"))?,
                [] => {
                    return Err(Refusal::InvalidToken("A DPoP proof is required".to_owned(), true));
                }
                _ => return Err(Refusal::BadRequest("More than one DPoP header")),
            };
            let url = app.oauth.url(uri.path());
            let jkt = dpop::check(app, proof, method.as_str(), &url, Some(token))
                .await
                .map_err(|e| Refusal::InvalidToken(e.to_string(), true))?;
            if jkt != *bound {
                return Err(Refusal::InvalidToken(
                    "The DPoP proof is signed by another key".to_owned(),
                    true,
                ));
            }
        }
        // A DPoP-bound token sent as a bearer token is refused (RFC 9449 §7.1).
        (Some(_), false) => {
            return Err(Refusal::InvalidToken("The token is DPoP-bound".to_owned(), true));
        }
        (None, true) => return Err(invalid("The token is not DPoP-bound")),
        (None, false) => {}
    }
    // A certificate-bound token works only over the certificate it is bound to
    // (RFC 8705 §3): presented over another certificate, or none, it is refused.
    if let Some(bound) = &x5t
        && !app.flaws.has(Flaw::MtlsSkipTokenBinding)
        && cert.map(|c| &c.thumbprint) != Some(bound)
    {
        return Err(invalid("The token is bound to another client certificate"));
    }
    if !scopes.iter().any(|s| s == scope) {
        return Err(Refusal::Scope(scope));
    }
    Ok(subject)
}
