//! The authorization endpoint with its server-rendered login and consent
//! forms. Errors that cannot be trusted to the redirect URI (unknown client,
//! unregistered redirect URI) get an error page; the others are redirected to
//! the client with `state` and `iss` (RFC 6749 §4.1.2.1, RFC 9207).
//!
//! CSRF: each authorization request gets a server-side record keyed by a
//! random id, bound to a random session cookie (`HttpOnly`, `SameSite=Lax`) and
//! a random form token; a POST must carry all three.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use super::pages::{self, error_page, escape, page, page_flaws};
use super::store::{CodeRecord, OAuthClient};
use super::{OAuthError, Params, hash, paths, random_token};
use crate::app::{App, deadline_after, now};
use crate::basic::BasicOutcome;
use crate::flaws::Flaw;

/// The session cookie's name.
pub const COOKIE: &str = "authbench_oauth_session";

/// An authorization request between its arrival and its approval.
#[derive(Debug, Clone)]
pub struct Pending {
    session: String,
    csrf: String,
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    scope: String,
    resource: Option<String>,
    code_challenge: Option<String>,
    challenge_method: Option<String>,
    subject: Option<String>,
    expires_at: i64,
    /// The client address that started it (the per-address cap).
    owner: Option<std::net::IpAddr>,
    /// An error found in the request, redirected to the client only once the
    /// user has signed in (RFC 9700 §4.11.2: authenticate before redirecting).
    error: Option<OAuthError>,
}

/// Pending authorization requests by id (in memory: a restart abandons
/// half-finished logins, never issued codes or tokens).
#[derive(Debug, Default)]
pub struct PendingLogins(Mutex<HashMap<String, Pending>>);

/// Pending logins at most, in total and per client address; over either,
/// the oldest goes (an unauthenticated client cannot grow memory without
/// end by starting authorization requests, issue 21).
pub const MAX_PENDING: usize = 4096;
/// Pending logins one client address may have.
pub const MAX_PENDING_PER_ADDRESS: usize = 256;

impl PendingLogins {
    fn insert(&self, id: String, pending: Pending) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = now();
        if map.len() >= MAX_PENDING / 2 {
            map.retain(|_, p| p.expires_at > now);
        }
        let owner = pending.owner;
        let mine = map.values().filter(|p| p.owner == owner).count();
        let evict = |map: &mut HashMap<String, Pending>, same_owner: bool| {
            let oldest = map
                .iter()
                .filter(|(_, p)| !same_owner || p.owner == owner)
                .min_by_key(|(_, p)| p.expires_at)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                map.remove(&k);
            }
        };
        if mine >= MAX_PENDING_PER_ADDRESS {
            evict(&mut map, true);
        } else if map.len() >= MAX_PENDING {
            evict(&mut map, false);
        }
        map.insert(id, pending);
    }

    /// How many are pending (tests).
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether none is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get(&self, id: &str) -> Option<Pending> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id).filter(|p| p.expires_at > now()).cloned()
    }

    fn update(&self, id: &str, pending: Pending) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_owned(), pending);
    }

    fn remove(&self, id: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}

fn login_form(id: &str, pending: &Pending, message: Option<&str>) -> String {
    format!(
        "{}<form method=\"post\" action=\"{}\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{}\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\n\
         <label>Username <input name=\"username\" autocomplete=\"username\"></label>\n\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\n\
         <button type=\"submit\">Sign in</button>\n</form>",
        message.map(|m| format!("<p id=\"error\">{}</p>\n", escape(m))).unwrap_or_default(),
        paths::LOGIN,
        escape(id),
        escape(&pending.csrf)
    )
}

fn consent_form(id: &str, pending: &Pending) -> String {
    format!(
        "<p><strong>{}</strong> asks for access to your account with the scopes <code>{}</code>.</p>\n\
         <form method=\"post\" action=\"{}\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{}\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\n\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n</form>{}",
        escape(&pending.client_id),
        escape(&pending.scope),
        paths::CONSENT,
        escape(id),
        escape(&pending.csrf),
        switch_user_link(pending)
    )
}

/// "Not you?": sign out and come back to this authorization request.
fn switch_user_link(p: &Pending) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("response_type", "code").append_pair("client_id", &p.client_id);
    query.append_pair("redirect_uri", &p.redirect_uri).append_pair("scope", &p.scope);
    for (name, value) in [("state", &p.state), ("resource", &p.resource)] {
        if let Some(v) = value {
            query.append_pair(name, v);
        }
    }
    if let (Some(c), Some(m)) = (&p.code_challenge, &p.challenge_method) {
        query.append_pair("code_challenge", c).append_pair("code_challenge_method", m);
    }
    pages::switch_user_link(&format!("{}?{}", paths::AUTHORIZE, query.finish()))
}

/// The redirect back to the client with `params`, `state` and `iss`.
fn redirect(
    app: &App,
    redirect_uri: &str,
    state: Option<&str>,
    params: &[(&str, &str)],
) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return error_page("the redirect URI is not a URL"),
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &app.oauth.issuer);
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn redirect_error(
    app: &App,
    pending_uri: &str,
    state: Option<&str>,
    error: &OAuthError,
) -> Response {
    redirect(
        app,
        pending_uri,
        state,
        &[("error", error.code), ("error_description", &error.description)],
    )
}

/// Whether `uri` is one of `client`'s redirect URIs: compared as exact
/// strings (RFC 9700 §2.1), unless the prefix-match flaw is on.
fn redirect_allowed(app: &App, client: &OAuthClient, uri: &str) -> bool {
    client.redirect_uris.iter().any(|registered| {
        registered == uri
            || (app.flaws.has(Flaw::OauthRedirectPrefixMatch)
                && uri.starts_with(registered.as_str()))
            || (!app.flaws.has(Flaw::OauthLoopbackExactPort)
                && same_but_loopback_port(registered, uri))
            || (app.flaws.has(Flaw::OauthRedirectSchemeLax)
                && registered.strip_prefix("https://") == uri.strip_prefix("http://"))
    })
}

/// `uri` is the registered loopback redirect URI of a native app with
/// another port (RFC 8252 §7.3, RFC 9700 §4.1.3: any port, for an IP
/// literal over http; everything else still exact).
fn same_but_loopback_port(registered: &str, uri: &str) -> bool {
    let (Ok(registered), Ok(mut asked)) = (url::Url::parse(registered), url::Url::parse(uri))
    else {
        return false;
    };
    let loopback = matches!(
        registered.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(registered.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    if registered.scheme() != "http" || !loopback || asked.set_port(registered.port()).is_err() {
        return false;
    }
    asked.as_str() == registered.as_str()
}

/// A PKCE challenge as S256 produces it: 43 base64url characters.
fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && URL_SAFE_NO_PAD.decode(challenge).is_ok_and(|b| b.len() == 32)
}

/// `GET /oauth/authorize`.
pub async fn authorize(
    State(app): State<Arc<App>>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    query: RawQuery,
) -> Response {
    let peer = peer.map(|axum::Extension(axum::extract::ConnectInfo(a))| a.ip());
    super::par::fetch_request_uri_flaw(&app, query.0.as_deref()).await;
    let r = authorize_inner(State(Arc::clone(&app)), peer, query).await;
    page_flaws(&app, r)
}

async fn authorize_inner(
    State(app): State<Arc<App>>,
    peer: Option<std::net::IpAddr>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    // A pushed request (RFC 9126 §4): its parameters stand in for the query's.
    let lax: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let query = match lax.iter().find(|(n, _)| n == "request_uri") {
        Some((_, request_uri)) => {
            let Some((_, client_id)) = lax.iter().find(|(n, _)| n == "client_id") else {
                return error_page("the client_id parameter is missing");
            };
            match app.oauth.pushed.take(&app, request_uri, client_id) {
                Ok(pushed) => pushed,
                Err(super::par::Refused::Invalid) => {
                    return error_page("the request_uri is unknown, expired or used already");
                }
                Err(super::par::Refused::OtherClient) => {
                    return error_page("the request_uri was pushed by another client");
                }
            }
        }
        None => query,
    };
    // A request object (RFC 9101): its claims stand in for the query.
    let lax: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let query = match super::jar::resolve(&app, &lax) {
        Ok(Some(object)) => object,
        Ok(None) => query,
        Err(why) => return error_page(&why),
    };
    // Which client and where to send errors come first: until both are
    // trusted, nothing may be redirected.
    let params = match Params::parse(&query) {
        Ok(p) => p,
        Err(e) => {
            let lax: Vec<(String, String)> =
                form_urlencoded::parse(query.as_bytes()).into_owned().collect();
            let count = |n: &str| lax.iter().filter(|(k, _)| k == n).count();
            if count("client_id") > 1 || count("redirect_uri") > 1 {
                return error_page(&e.description);
            }
            return redirect_after_checks(&app, &lax, e).await;
        }
    };
    let client = match params.get("client_id") {
        None => return error_page("the client_id parameter is missing"),
        Some(id) => match app.store.oauth_client(id) {
            Ok(Some(c)) => c,
            // The flaw: an unknown client's redirect_uri is trusted with the error.
            Ok(None) => match params.get("redirect_uri") {
                Some(uri) if app.flaws.has(Flaw::OauthUnknownClientRedirects) => {
                    return redirect_error(
                        &app,
                        uri,
                        params.get("state"),
                        &OAuthError::invalid_client("unknown client"),
                    );
                }
                _ => return error_page("unknown client"),
            },
            Err(_) => return error_page("the authorization server failed"),
        },
    };
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if redirect_allowed(&app, &client, uri) => uri.to_owned(),
        Some(_) => return error_page("the redirect URI is not registered for this client"),
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => return error_page("the redirect_uri parameter is required"),
    };
    let state = params.get("state").map(str::to_owned);
    let client_id = client.client_id.clone();
    // An erroneous request goes back to the client only after the user signs
    // in (RFC 9700 §4.11.2), so that the AS's URL cannot bounce a user to a
    // registered phishing site unseen; the flaw redirects at once.
    let fail = |e: OAuthError| {
        if app.flaws.has(Flaw::OauthErrorsBeforeLogin) {
            return redirect_error(&app, &redirect_uri, state.as_deref(), &e);
        }
        let id = random_token();
        let session = random_token();
        let pending = Pending {
            session: session.clone(),
            csrf: random_token(),
            client_id: client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            scope: String::new(),
            resource: None,
            code_challenge: None,
            challenge_method: None,
            subject: None,
            expires_at: deadline_after(app.oauth.config.login_lifetime_secs),
            owner: peer,
            error: Some(e),
        };
        let form = login_form(&id, &pending, None);
        app.oauth.pending.insert(id, pending);
        page(StatusCode::OK, "Sign in", &form, Some(&session))
    };
    match params.get("response_type") {
        Some("code") => {}
        Some(t) if t != "token" && app.flaws.has(Flaw::OauthAnyResponseType) => {}
        Some(_) => {
            return fail(OAuthError::bad(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
        None => return fail(OAuthError::invalid_request("the response_type parameter is missing")),
    }
    let method = params.get("code_challenge_method");
    let (code_challenge, challenge_method) = match params.get("code_challenge") {
        None if app.flaws.has(Flaw::OauthPkceOptional) => (None, None),
        None => {
            return fail(OAuthError::invalid_request(
                "PKCE is required: send code_challenge with S256",
            ));
        }
        Some(c) => match method {
            Some("S256") if valid_challenge(c) => (Some(c.to_owned()), Some("S256".to_owned())),
            Some("S256") => {
                return fail(OAuthError::invalid_request("code_challenge is not an S256 value"));
            }
            Some("plain") | None if app.flaws.has(Flaw::OauthAcceptPlainPkce) => {
                (Some(c.to_owned()), Some("plain".to_owned()))
            }
            Some("plain") | None => {
                return fail(OAuthError::invalid_request(
                    "code_challenge_method must be S256; plain is refused",
                ));
            }
            Some(_) => return fail(OAuthError::invalid_request("unknown code_challenge_method")),
        },
    };
    let scope = params.get("scope").unwrap_or("read").to_owned();
    if scope.split(' ').any(|s| !client.scopes.iter().any(|c| c == s)) {
        return fail(OAuthError::bad("invalid_scope", "the client may not ask for that scope"));
    }
    let resource = params.get("resource").map(str::to_owned);
    if let Some(r) = &resource
        && *r != app.oauth.resource_id
        && *r != app.oauth.other_resource_id
    {
        return fail(OAuthError::bad("invalid_target", "unknown resource"));
    }
    let id = random_token();
    let session = random_token();
    let pending = Pending {
        session: session.clone(),
        csrf: random_token(),
        client_id: client.client_id,
        redirect_uri,
        state,
        scope,
        resource,
        code_challenge,
        challenge_method,
        subject: None,
        expires_at: deadline_after(app.oauth.config.login_lifetime_secs),
        owner: peer,
        error: None,
    };
    let form = login_form(&id, &pending, None);
    app.oauth.pending.insert(id, pending);
    page(StatusCode::OK, "Sign in", &form, Some(&session))
}

/// A duplicated parameter other than client_id or redirect_uri: once the
/// client and redirect URI check out, the error goes back to the client.
async fn redirect_after_checks(app: &App, lax: &[(String, String)], error: OAuthError) -> Response {
    let first = |n: &str| lax.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let Some(client) = first("client_id").and_then(|id| app.store.oauth_client(id).ok().flatten())
    else {
        return error_page("unknown client");
    };
    match first("redirect_uri") {
        Some(uri) if redirect_allowed(app, &client, uri) => {
            redirect_error(app, uri, first("state"), &error)
        }
        _ => error_page("the redirect URI is not registered for this client"),
    }
}

/// Why a form POST was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FormRefusal {
    /// No such pending request (expired, or never existed).
    Unknown,
    /// The session cookie or CSRF token does not match.
    Csrf,
}

impl FormRefusal {
    fn page(self) -> Response {
        match self {
            FormRefusal::Unknown => error_page(
                "this sign-in expired or does not exist; start again from the application",
            ),
            FormRefusal::Csrf => page(
                StatusCode::FORBIDDEN,
                "Request refused",
                "<p id=\"error\">The form was not submitted from this sign-in (CSRF check failed).</p>",
                None,
            ),
        }
    }
}

/// The pending request a form POST names, if its session cookie and CSRF token match.
fn checked_pending(
    app: &App,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(String, Pending), FormRefusal> {
    let id = params.get("request").unwrap_or_default().to_owned();
    let pending = app.oauth.pending.get(&id).ok_or(FormRefusal::Unknown)?;
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(&format!("{COOKIE}=")).map(str::to_owned))
        .unwrap_or_default();
    let csrf = params.get("csrf").unwrap_or_default();
    let same = |a: &str, b: &str| bool::from(a.as_bytes().ct_eq(b.as_bytes()));
    if !same(&cookie, &pending.session) || !same(csrf, &pending.csrf) {
        return Err(FormRefusal::Csrf);
    }
    Ok((id, pending))
}

/// `POST /oauth/login`: the user's credentials.
pub async fn login(State(app): State<Arc<App>>, headers: HeaderMap, body: String) -> Response {
    let r = login_inner(State(Arc::clone(&app)), headers, body).await;
    page_flaws(&app, r)
}

async fn login_inner(State(app): State<Arc<App>>, headers: HeaderMap, body: String) -> Response {
    let params = match Params::parse(&body) {
        Ok(p) => p,
        Err(e) => return error_page(&e.description),
    };
    let (id, mut pending) = match checked_pending(&app, &headers, &params) {
        Ok(x) => x,
        Err(refusal) => return refusal.page(),
    };
    let username = params.get("username").unwrap_or_default();
    let password = params.get("password").unwrap_or_default();
    match app.basic.verify_password(username, password).await {
        BasicOutcome::Ok(_) if pending.error.is_some() => {
            app.oauth.pending.remove(&id);
            let error = pending.error.clone().unwrap_or_else(OAuthError::server);
            let mut r =
                redirect_error(&app, &pending.redirect_uri, pending.state.as_deref(), &error);
            // The request carried the password: 303, so that no browser posts
            // it again to the client (RFC 9700 §4.12).
            if app.flaws.has(Flaw::OauthLogin307) {
                *r.status_mut() = StatusCode::TEMPORARY_REDIRECT;
            } else if app.flaws.has(Flaw::OauthLogin302) {
                *r.status_mut() = StatusCode::FOUND;
            }
            r
        }
        BasicOutcome::Ok(user) => {
            pending.subject = Some(user.username);
            let form = consent_form(&id, &pending);
            app.oauth.pending.update(&id, pending);
            page(StatusCode::OK, "Allow access?", &form, None)
        }
        BasicOutcome::Busy | BasicOutcome::Error => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign in",
            &login_form(&id, &pending, Some("Signing in is busy; try again in a moment.")),
            None,
        ),
        BasicOutcome::Throttled(_) => page(
            StatusCode::TOO_MANY_REQUESTS,
            "Sign in",
            &login_form(&id, &pending, Some("Too many failed attempts; wait and try again.")),
            None,
        ),
        _ => page(
            StatusCode::OK,
            "Sign in",
            &login_form(&id, &pending, Some("Wrong username or password.")),
            None,
        ),
    }
}

/// `POST /oauth/consent`: the user's decision.
pub async fn consent(State(app): State<Arc<App>>, headers: HeaderMap, body: String) -> Response {
    let r = consent_inner(State(Arc::clone(&app)), headers, body).await;
    page_flaws(&app, r)
}

async fn consent_inner(State(app): State<Arc<App>>, headers: HeaderMap, body: String) -> Response {
    let params = match Params::parse(&body) {
        Ok(p) => p,
        Err(e) => return error_page(&e.description),
    };
    let (id, pending) = match checked_pending(&app, &headers, &params) {
        Ok(x) => x,
        Err(refusal) => return refusal.page(),
    };
    let Some(subject) = pending.subject.clone() else {
        return error_page("sign in first");
    };
    app.oauth.pending.remove(&id);
    if params.get("decision") != Some("approve") {
        let denied = OAuthError::bad("access_denied", "the user denied the request");
        return redirect_error(&app, &pending.redirect_uri, pending.state.as_deref(), &denied);
    }
    let code = random_token();
    let record = CodeRecord {
        grant_id: random_token(),
        client_id: pending.client_id.clone(),
        redirect_uri: pending.redirect_uri.clone(),
        subject,
        scope: pending.scope.clone(),
        resource: pending.resource.clone(),
        code_challenge: pending.code_challenge.clone(),
        challenge_method: pending.challenge_method.clone(),
        expires_at: deadline_after(app.oauth.config.code_lifetime_secs),
        used_at: None,
    };
    let store = Arc::clone(&app.store);
    let code_hash = hash(&code);
    let stored =
        tokio::task::spawn_blocking(move || store.insert_code(&code_hash, &record, now())).await;
    match stored {
        Ok(Ok(())) => {
            redirect(&app, &pending.redirect_uri, pending.state.as_deref(), &[("code", &code)])
        }
        _ => redirect_error(
            &app,
            &pending.redirect_uri,
            pending.state.as_deref(),
            &OAuthError::server(),
        ),
    }
}
