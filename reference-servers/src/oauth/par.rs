//! Pushed authorization requests (RFC 9126): a client posts its
//! authorization request's parameters, authenticated as at the token
//! endpoint, and gets a one-time `request_uri` that the authorization
//! endpoint takes in their place.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{OAuthError, Params, authenticate_client, no_store, random_token};
use crate::app::{App, now};
use crate::flaws::Flaw;

/// The `request_uri` prefix RFC 9126 §2.2 shows.
pub const URN_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How long a `request_uri` lives, in seconds: a browser follows it at once,
/// and a short life keeps the expiry case (which waits it out) quick.
pub const LIFETIME_SECS: i64 = 10;

/// The most pushed requests kept at once: an unauthenticated flood cannot
/// push (client authentication comes first), and an authenticated client
/// cannot grow memory without bound either.
const MAX_PUSHED: usize = 10_000;

/// A pushed request.
#[derive(Debug, Clone)]
struct Pushed {
    client_id: String,
    /// The authorization request's parameters, form-encoded (no client secret).
    query: String,
    expires_at: i64,
    used: bool,
}

/// The pushed requests, by `request_uri`.
#[derive(Debug, Default)]
pub struct PushedRequests(Mutex<HashMap<String, Pushed>>);

/// Why a `request_uri` cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Unknown, expired, or used already.
    Invalid,
    /// Pushed by another client.
    OtherClient,
}

impl PushedRequests {
    /// The pushed query of `request_uri` for `client_id`, consumed.
    pub fn take(&self, app: &App, request_uri: &str, client_id: &str) -> Result<String, Refused> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let never_expires = app.flaws.has(Flaw::OauthParRequestUriNeverExpires);
        let pushed = map
            .get_mut(request_uri)
            .filter(|p| !p.used && (never_expires || p.expires_at > now()))
            .ok_or(Refused::Invalid)?;
        if pushed.client_id != client_id && !app.flaws.has(Flaw::OauthParAnyClient) {
            return Err(Refused::OtherClient);
        }
        // One use (RFC 9126 §4 advises it), unless the flaw keeps it.
        if !app.flaws.has(Flaw::OauthParReusableRequestUri) {
            pushed.used = true;
        }
        Ok(pushed.query.clone())
    }

    fn insert(&self, request_uri: String, pushed: Pushed) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_PUSHED {
            let now = now();
            map.retain(|_, p| p.expires_at > now && !p.used);
        }
        if map.len() >= MAX_PUSHED {
            return false;
        }
        map.insert(request_uri, pushed);
        true
    }
}

/// `POST /oauth/par`.
pub async fn par(State(app): State<Arc<App>>, headers: HeaderMap, body: String) -> Response {
    fetch_request_uri_flaw(&app, Some(&body)).await;
    match push(&app, &headers, &body) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn push(app: &App, headers: &HeaderMap, body: &str) -> Result<Response, OAuthError> {
    let params = Params::parse(body)?;
    let client = match authenticate_client(app, headers, &params, None) {
        // The flaw: a push on the client_id alone.
        Err(_) if app.flaws.has(Flaw::OauthParWithoutClientAuth) => {
            let id = params.require("client_id")?;
            app.store
                .oauth_client(id)?
                .ok_or_else(|| OAuthError::invalid_client("client authentication failed"))?
        }
        other => other?,
    };
    if params.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request("request_uri cannot be pushed (RFC 9126 §2.1)"));
    }
    if params.get("client_id").is_some_and(|id| id != client.client_id) {
        return Err(OAuthError::invalid_request("client_id differs from the authenticated client"));
    }
    match params.get("redirect_uri") {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => {}
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "the redirect URI is not registered for this client",
            ));
        }
        None => return Err(OAuthError::invalid_request("the redirect_uri parameter is missing")),
    }
    if params.get("response_type") != Some("code") {
        return Err(OAuthError::bad("unsupported_response_type", "only response_type=code"));
    }
    // The rest (PKCE, scope, resource) is checked when the request is used,
    // as for any authorization request, with errors sent to the client.
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in
        params.pairs().filter(|(n, _)| !matches!(*n, "client_secret" | "client_id"))
    {
        query.append_pair(name, value);
    }
    query.append_pair("client_id", &client.client_id);
    let random = if app.flaws.has(Flaw::OauthParShortRequestUri) {
        random_token()[..6].to_owned()
    } else {
        random_token()
    };
    let request_uri = format!("{URN_PREFIX}{random}");
    let pushed = Pushed {
        client_id: client.client_id.clone(),
        query: query.finish(),
        expires_at: now() + LIFETIME_SECS,
        used: false,
    };
    if !app.oauth.pushed.insert(request_uri.clone(), pushed) {
        return Err(OAuthError::bad("temporarily_unavailable", "too many pushed requests"));
    }
    let body = serde_json::json!({ "request_uri": request_uri, "expires_in": LIFETIME_SECS });
    Ok((StatusCode::CREATED, no_store(), axum::Json(body)).into_response())
}

/// `oauth-fetch-request-uri`: the `request_uri` of an authorization
/// request's query or a pushed request's body, when it is a URL, fetched
/// (and then refused, as the correct server refuses it without fetching).
pub async fn fetch_request_uri_flaw(app: &App, query: Option<&str>) {
    if !app.flaws.has(Flaw::OauthFetchRequestUri) {
        return;
    }
    let uri = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(n, _)| n == "request_uri")
        .map(|(_, v)| v.into_owned());
    if let Some(uri) = uri.filter(|u| u.starts_with("http")) {
        let _ = crate::fetch::fetch_loopback(&uri).await;
    }
}
