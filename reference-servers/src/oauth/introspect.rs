//! Revocation (RFC 7009) and introspection (RFC 7662), both for authenticated
//! clients only.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::store::TokenKind;
use super::{OAuthError, Params, authenticate_client, no_store};
use crate::app::{App, now};
use crate::flaws::Flaw;

/// `POST /oauth/revoke`: 200 for any token, known or not (RFC 7009 §2.2).
/// Revoking a refresh token revokes its whole grant, access tokens included
/// (RFC 7009 §2.1).
pub async fn revoke(State(app): State<Arc<App>>, headers: HeaderMap, body: String) -> Response {
    let result: Result<(), OAuthError> = async {
        let params = Params::parse(&body)?;
        let anyone = app.flaws.has(Flaw::OauthRevocationAnyClient);
        let client = match authenticate_client(&app, &headers, &params, None) {
            Ok(c) => Some(c),
            Err(_) if anyone => None,
            Err(e) => return Err(e),
        };
        let token = params.require("token")?;
        let token_hash = super::token_key(&app, token);
        let Some(record) = app.store.oauth_token(&token_hash)? else { return Ok(()) };
        if let Some(client) = &client
            && record.client_id != client.client_id
            && !anyone
        {
            return Err(OAuthError::bad(
                "unauthorized_client",
                "the token was issued to another client",
            ));
        }
        if app.flaws.has(Flaw::OauthRevocationIgnored) {
            return Ok(());
        }
        let store = Arc::clone(&app.store);
        let now = now();
        tokio::task::spawn_blocking(move || match record.kind {
            TokenKind::Refresh => store.revoke_grant(&record.grant_id, now),
            TokenKind::Access => store.revoke_oauth_token(&token_hash, now),
        })
        .await
        .map_err(|_| OAuthError::server())??;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => (no_store(), axum::http::StatusCode::OK).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /oauth/introspect`: `{"active": false}` and nothing else for any token
/// that is unknown, expired or revoked (RFC 7662 §2.2).
pub async fn introspect(State(app): State<Arc<App>>, headers: HeaderMap, body: String) -> Response {
    let result: Result<serde_json::Value, OAuthError> = async {
        let params = Params::parse(&body)?;
        authenticate_client(&app, &headers, &params, None)?;
        let token = params.require("token")?;
        let record = app.store.oauth_token(&super::token_key(&app, token))?;
        Ok(match record {
            Some(t) if t.active(now()) => {
                let mut body = json!({
                    "active": true,
                    "scope": t.scope,
                    "client_id": t.client_id,
                    "token_type": if t.kind == TokenKind::Refresh { "refresh_token" } else if t.jkt.is_some() { "DPoP" } else { "Bearer" },
                    "exp": t.expires_at,
                    "iat": t.issued_at,
                    "iss": app.oauth.issuer,
                });
                if let Some(sub) = &t.subject {
                    body["sub"] = json!(sub);
                }
                if let Some(aud) = &t.audience {
                    body["aud"] = json!(aud);
                }
                if let Some(jkt) = &t.jkt {
                    body["cnf"] = json!({ "jkt": jkt });
                }
                body
            }
            _ => json!({ "active": false }),
        })
    }
    .await;
    match result {
        Ok(body) => (no_store(), axum::Json(body)).into_response(),
        Err(e) => e.into_response(),
    }
}
