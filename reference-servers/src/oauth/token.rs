//! The token endpoint: authorization code (with PKCE), refresh token (rotated,
//! reuse revokes the family), client credentials. Errors per RFC 6749 §5.2,
//! every answer `no-store`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use serde_json::json;

use super::store::{OAuthClient, TokenFormat, TokenKind, TokenRecord};
use super::{OAuthError, Params, authenticate_client, dpop, hash, no_store, paths, random_token};
use crate::app::{App, now};
use crate::flaws::Flaw;

/// Checks a PKCE verifier against the stored challenge (RFC 7636 §4.1, §4.6).
fn pkce_ok(verifier: &str, challenge: &str, method: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    match method {
        "S256" => {
            let digest = <sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes());
            URL_SAFE_NO_PAD.encode(digest) == challenge
        }
        "plain" => verifier == challenge,
        _ => false,
    }
}

/// Tokens handed out by one successful token request.
struct Issued {
    access_token: String,
    refresh_token: Option<String>,
    scope: String,
    bound: bool,
}

/// What a new access token is for.
struct Grant<'a> {
    grant_id: &'a str,
    subject: Option<&'a str>,
    scope: &'a str,
    audience: &'a str,
    jkt: Option<&'a str>,
    x5t: Option<&'a str>,
    with_refresh: bool,
}

async fn blocking<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&crate::store::Store) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, OAuthError> {
    let store = Arc::clone(&app.store);
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|_| OAuthError::server())?
        .map_err(OAuthError::from)
}

async fn issue(app: &App, client: &OAuthClient, grant: Grant<'_>) -> Result<Issued, OAuthError> {
    let now = now();
    let lifetime = app.oauth.config.access_lifetime_secs;
    let jti = random_token();
    let access_token = match client.token_format {
        TokenFormat::Jwt => {
            let key = app.jwt.keys().get(Algorithm::RS256);
            let mut header = Header::new(Algorithm::RS256);
            header.typ = Some("at+jwt".to_owned());
            header.kid = Some(key.kid.clone());
            let mut claims = json!({
                "iss": app.oauth.issuer,
                "sub": match grant.subject {
                    Some(_) if app.flaws.has(Flaw::OauthSubIsClient) => &client.client_id,
                    Some(user) => user,
                    // Client credentials: the client acts for itself (RFC 9068 §2.2).
                    None => &client.client_id,
                },
                "aud": grant.audience,
                "client_id": client.client_id,
                "iat": now,
                "exp": now + lifetime,
                "jti": jti,
                "scope": grant.scope,
            });
            if let Some(jkt) = grant.jkt {
                claims["cnf"] = json!({ "jkt": jkt });
            }
            if let Some(x5t) = grant.x5t {
                claims["cnf"]["x5t#S256"] = json!(x5t);
            }
            jsonwebtoken::encode(&header, &claims, &key.encoding)
                .map_err(|_| OAuthError::server())?
        }
        TokenFormat::Opaque if app.flaws.has(Flaw::OauthShortOpaqueTokens) => {
            format!("ato_{}", &random_token()[..8])
        }
        TokenFormat::Opaque => format!("ato_{}", random_token()),
    };
    let record = |kind, expires_at, jti: Option<String>| TokenRecord {
        jti,
        kind,
        grant_id: grant.grant_id.to_owned(),
        client_id: client.client_id.clone(),
        subject: grant.subject.map(str::to_owned),
        scope: grant.scope.to_owned(),
        audience: Some(grant.audience.to_owned()),
        jkt: grant.jkt.map(str::to_owned),
        x5t: grant.x5t.map(str::to_owned),
        issued_at: now,
        expires_at,
        rotated_at: None,
        revoked_at: None,
    };
    let access = record(TokenKind::Access, now + lifetime, Some(jti));
    let access_hash = hash(&access_token);
    blocking(app, move |s| s.insert_token(&access_hash, &access)).await?;
    let refresh_token = if grant.with_refresh {
        let token = format!("rt_{}", random_token());
        let refresh =
            record(TokenKind::Refresh, now + app.oauth.config.refresh_lifetime_secs, None);
        let refresh_hash = super::token_key(app, &token);
        blocking(app, move |s| s.insert_token(&refresh_hash, &refresh)).await?;
        Some(token)
    } else {
        None
    };
    Ok(Issued {
        access_token,
        refresh_token,
        scope: grant.scope.to_owned(),
        bound: grant.jkt.is_some(),
    })
}

fn answer(app: &App, issued: Issued) -> Response {
    let mut body = json!({
        "access_token": issued.access_token,
        "token_type": if issued.bound { "DPoP" } else { "Bearer" },
        "expires_in": app.oauth.config.access_lifetime_secs,
        "scope": issued.scope,
    });
    if let Some(refresh) = issued.refresh_token {
        body["refresh_token"] = json!(refresh);
    }
    (no_store(), axum::Json(body)).into_response()
}

/// The token request parameters this server reads (for the
/// `oauth-strict-token-parameters` flaw, which refuses the others).
const KNOWN_TOKEN_PARAMETERS: &[&str] = &[
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "resource",
    "client_id",
    "client_secret",
    "username",
    "password",
    "client_assertion",
    "client_assertion_type",
];

/// `POST /oauth/token`.
pub async fn token(
    State(app): State<Arc<App>>,
    cert: Option<axum::Extension<crate::mtls::ClientCert>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let cert = cert.map(|axum::Extension(c)| c);
    super::assertion::follow_flaw(&app, &body).await;
    match token_inner(&app, &method, &uri, &headers, &body, cert.as_ref()).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn token_inner(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &str,
    cert: Option<&crate::mtls::ClientCert>,
) -> Result<Response, OAuthError> {
    // Credentials in the URL end up in logs (RFC 6749 §2.3.1, §3.2).
    if uri.query().is_some_and(|q| !q.is_empty()) {
        return Err(OAuthError::invalid_request(
            "parameters belong in the request body, not the URL",
        ));
    }
    let params = Params::parse(body)?;
    if app.flaws.has(Flaw::OauthStrictTokenParameters)
        && let Some(name) = params.names().find(|n| !KNOWN_TOKEN_PARAMETERS.contains(n))
    {
        return Err(OAuthError::invalid_request(format!("unknown parameter {name}")));
    }
    let client = match authenticate_client(app, headers, &params, cert) {
        // The flaw: a code redeemed on the client_id alone.
        Err(_)
            if app.flaws.has(Flaw::OauthCodeExchangeWithoutAuth)
                && params.get("grant_type") == Some("authorization_code")
                && params.get("client_secret").is_none()
                && !headers.contains_key(axum::http::header::AUTHORIZATION) =>
        {
            let id = params.require("client_id")?;
            app.store
                .oauth_client(id)?
                .ok_or_else(|| OAuthError::invalid_client("client authentication failed"))?
        }
        // The flaw: a public client's code redeemed without its client_id,
        // the client taken from the code.
        Err(_)
            if app.flaws.has(Flaw::OauthPublicClientIdOptional)
                && params.get("grant_type") == Some("authorization_code")
                && params.get("client_id").is_none()
                && !headers.contains_key(axum::http::header::AUTHORIZATION) =>
        {
            let code = hash(params.require("code")?);
            let id = blocking(app, move |s| s.code_client(&code))
                .await?
                .ok_or_else(|| OAuthError::invalid_grant("unknown code"))?;
            app.store
                .oauth_client(&id)?
                .filter(|c| c.public)
                .ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?
        }
        other => other?,
    };
    // A token requested over mutual TLS is bound to that certificate (RFC 8705 §3).
    let x5t = cert.map(|c| c.thumbprint.clone());
    let jkt = match headers.get("dpop") {
        Some(proof) => {
            let proof = proof
                .to_str()
                .map_err(|_| OAuthError::bad("invalid_dpop_proof", "malformed DPoP header"))?;
            let url = app.oauth.url(paths::TOKEN);
            let checked = dpop::check(app, proof, method.as_str(), &url, None)
                .await
                .map_err(|e| OAuthError::bad("invalid_dpop_proof", e.to_string()))?;
            Some(checked)
        }
        None => None,
    };
    match params.require("grant_type")? {
        "authorization_code" => authorization_code(app, &client, &params, jkt, x5t).await,
        "refresh_token" => refresh(app, &client, &params, jkt, x5t).await,
        // Only a confidential client may act for itself (RFC 6749 §4.4).
        "client_credentials" if client.public => Err(OAuthError::bad(
            "unauthorized_client",
            "a public client cannot use the client credentials grant",
        )),
        "client_credentials" => client_credentials(app, &client, &params, jkt, x5t).await,
        "password" | "implicit" | "token" => Err(OAuthError::bad(
            "unsupported_grant_type",
            "this grant type is deprecated by RFC 9700 and not supported",
        )),
        _ => Err(OAuthError::bad("unsupported_grant_type", "unknown grant_type")),
    }
}

async fn authorization_code(
    app: &App,
    client: &OAuthClient,
    params: &Params,
    jkt: Option<String>,
    x5t: Option<String>,
) -> Result<Response, OAuthError> {
    let code = params.require("code")?;
    let code_hash = hash(code);
    let now = now();
    let record = blocking(app, move |s| s.redeem_code(&code_hash, now))
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("unknown authorization code"))?;
    if record.used_at.is_some() && !app.flaws.has(Flaw::OauthAllowCodeReuse) {
        // A code used twice was stolen or replayed: revoke everything it
        // issued (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
        let grant_id = record.grant_id.clone();
        blocking(app, move |s| s.revoke_grant(&grant_id, now)).await?;
        return Err(OAuthError::invalid_grant(
            "the authorization code was already used; its tokens are revoked",
        ));
    }
    if record.client_id != client.client_id {
        return Err(OAuthError::invalid_grant("the code was issued to another client"));
    }
    if record.expires_at <= now {
        return Err(OAuthError::invalid_grant("the authorization code expired"));
    }
    if params.get("redirect_uri").is_some_and(|uri| uri != record.redirect_uri)
        || (params.get("redirect_uri").is_none() && client.redirect_uris.len() > 1)
    {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    let verifier = params.get("code_verifier");
    match (&record.code_challenge, &record.challenge_method, verifier) {
        (Some(challenge), Some(method), Some(verifier)) if pkce_ok(verifier, challenge, method) => {
        }
        (Some(challenge), _, Some(verifier))
            if verifier == challenge && app.flaws.has(Flaw::OauthPkceChallengeAsVerifier) => {}
        (Some(_), _, Some(_)) => {
            return Err(OAuthError::invalid_grant("the code_verifier does not match"));
        }
        (Some(_), _, None) => {
            return Err(OAuthError::invalid_grant("the code_verifier is missing"));
        }
        // A verifier without a challenge is a PKCE downgrade (RFC 9700 §4.8.2).
        (None, _, Some(_)) if !app.flaws.has(Flaw::OauthPkceOptional) => {
            return Err(OAuthError::invalid_grant("no code_challenge was sent for this code"));
        }
        (None, _, _) => {}
    }
    let audience = record.resource.clone().unwrap_or_else(|| app.oauth.resource_id.clone());
    let issued = issue(
        app,
        client,
        Grant {
            grant_id: &record.grant_id,
            subject: Some(&record.subject),
            scope: &record.scope,
            audience: &audience,
            jkt: jkt.as_deref(),
            x5t: x5t.as_deref(),
            with_refresh: true,
        },
    )
    .await?;
    Ok(answer(app, issued))
}

async fn refresh(
    app: &App,
    client: &OAuthClient,
    params: &Params,
    jkt: Option<String>,
    x5t: Option<String>,
) -> Result<Response, OAuthError> {
    let token = params.require("refresh_token")?;
    let token_hash = super::token_key(app, token);
    let now = now();
    let rotating = !app.flaws.has(Flaw::OauthNoRefreshRotation);
    let record = if rotating {
        blocking(app, move |s| s.rotate_refresh(&token_hash, now)).await?
    } else {
        blocking(app, move |s| s.oauth_token(&token_hash))
            .await?
            .filter(|t| t.kind == TokenKind::Refresh)
    }
    .ok_or_else(|| OAuthError::invalid_grant("unknown refresh token"))?;
    if record.client_id != client.client_id {
        return Err(OAuthError::invalid_grant("the refresh token was issued to another client"));
    }
    if !record.active(now) {
        return Err(OAuthError::invalid_grant("the refresh token is expired or revoked"));
    }
    if rotating && record.rotated_at.is_some() {
        // An old refresh token came back: one of two holders is an attacker.
        // Revoke the family (RFC 9700 §4.14.2).
        let grant_id = record.grant_id.clone();
        blocking(app, move |s| s.revoke_grant(&grant_id, now)).await?;
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used; its family is revoked",
        ));
    }
    if record.jkt.is_some() && jkt != record.jkt {
        return Err(OAuthError::bad(
            "invalid_dpop_proof",
            "the refresh token is bound to another DPoP key",
        ));
    }
    let scope = match params.get("scope") {
        Some(asked) if asked.split(' ').all(|s| record.scope.split(' ').any(|g| g == s)) => {
            asked.to_owned()
        }
        Some(_) => {
            return Err(OAuthError::bad("invalid_scope", "a refresh cannot widen the scope"));
        }
        None => record.scope.clone(),
    };
    let granted = record.audience.clone().unwrap_or_else(|| app.oauth.resource_id.clone());
    // A refresh narrows to a resource of the grant, never beyond (RFC 8707
    // §2.2, RFC 9700 §4.14.2).
    let audience = match params.get("resource") {
        Some(asked) if asked != granted && app.flaws.has(Flaw::OauthRefreshAnyResource) => {
            asked.to_owned()
        }
        Some(asked) if asked != granted => {
            return Err(OAuthError::bad(
                "invalid_target",
                "the refresh token's grant does not cover that resource",
            ));
        }
        _ => granted,
    };
    let mut issued = issue(
        app,
        client,
        Grant {
            grant_id: &record.grant_id,
            subject: record.subject.as_deref(),
            scope: &scope,
            audience: &audience,
            jkt: record.jkt.as_deref().or(jkt.as_deref()),
            x5t: record.x5t.as_deref().or(x5t.as_deref()),
            with_refresh: rotating,
        },
    )
    .await?;
    if !rotating {
        issued.refresh_token = Some(token.to_owned());
    }
    Ok(answer(app, issued))
}

async fn client_credentials(
    app: &App,
    client: &OAuthClient,
    params: &Params,
    jkt: Option<String>,
    x5t: Option<String>,
) -> Result<Response, OAuthError> {
    let scope = params.get("scope").unwrap_or("read").to_owned();
    if scope.split(' ').any(|s| !client.scopes.iter().any(|c| c == s)) {
        return Err(OAuthError::bad("invalid_scope", "the client may not ask for that scope"));
    }
    let audience = match params.get("resource") {
        None => app.oauth.resource_id.clone(),
        Some(r) if r == app.oauth.resource_id || r == app.oauth.other_resource_id => r.to_owned(),
        Some(_) => return Err(OAuthError::bad("invalid_target", "unknown resource")),
    };
    let grant_id = random_token();
    let (g, c, sc, a) =
        (grant_id.clone(), client.client_id.clone(), scope.clone(), audience.clone());
    blocking(app, move |s| s.insert_grant(&g, &c, None, &sc, Some(&a), now())).await?;
    let issued = issue(
        app,
        client,
        Grant {
            grant_id: &grant_id,
            subject: None,
            scope: &scope,
            audience: &audience,
            jkt: jkt.as_deref(),
            x5t: x5t.as_deref(),
            with_refresh: app.flaws.has(Flaw::OauthClientCredentialsRefresh),
        },
    )
    .await?;
    Ok(answer(app, issued))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_verifiers_are_checked_for_shape_and_value() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_ok(verifier, challenge, "S256"));
        assert!(!pkce_ok(verifier, challenge, "plain"));
        assert!(!pkce_ok(&verifier[..42], challenge, "S256"));
        assert!(!pkce_ok(&format!("{}+", &verifier[..43]), challenge, "S256"));
        assert!(!pkce_ok(&"a".repeat(129), challenge, "S256"));
    }
}
