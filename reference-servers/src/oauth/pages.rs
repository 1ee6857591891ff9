//! The pages the authorization server shows a browser: their common
//! headers (no framing, no Referer, a strict CSP) and the flaws that undo
//! them, error pages, and "Not you?", which signs out and returns to the
//! authorization request — to a path of this server only (RFC 9700 §2.1: no
//! open redirector).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::authorize::COOKIE;
use super::paths;
use crate::app::App;
use crate::flaws::Flaw;

pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub(super) fn page(status: StatusCode, title: &str, body: &str, cookie: Option<&str>) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><h1>{t}</h1>\n{body}\n</body></html>\n",
        t = escape(title)
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The forms must not be framed (clickjacking) nor load anything foreign.
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    // The request's parameters are in the page's URL: keep them out of Referer (RFC 9700 §4.2.4).
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; form-action 'self'; frame-ancestors 'none'"),
    );
    if let Some(session) = cookie
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{COOKIE}={session}; Path=/oauth; Secure; HttpOnly; SameSite=Lax"
        ))
    {
        headers.insert(header::SET_COOKIE, v);
    }
    response
}

/// The pages' headers as the flaws leave them: framable
/// (`oauth-framable-pages`), or without a referrer policy
/// (`oauth-no-referrer-policy`).
pub(super) fn page_flaws(app: &App, mut r: Response) -> Response {
    let headers = r.headers_mut();
    if app.flaws.has(Flaw::OauthFramablePages) {
        headers.remove("x-frame-options");
        headers.insert(
            "content-security-policy",
            HeaderValue::from_static("default-src 'none'; form-action 'self'"),
        );
    }
    if app.flaws.has(Flaw::OauthNoReferrerPolicy) {
        headers.remove("referrer-policy");
    }
    if app.flaws.has(Flaw::OauthAuthorizeCors) {
        headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    }
    r
}

pub(super) fn error_page(description: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Authorization request refused",
        &format!("<p id=\"error\">{}</p>", escape(description)),
        None,
    )
}

/// The link to sign out and return to `authorize` (a path with its query).
pub(super) fn switch_user_link(authorize: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("return_to", authorize);
    format!(
        "\n<p><a href=\"{}?{}\">Not you? Sign in as someone else</a></p>",
        paths::SWITCH_USER,
        escape(&query.finish())
    )
}

/// Whether `target` is a path on this server: `/…`, never `//host` or
/// `/\host`, which browsers read as another host.
fn own_path(target: &str) -> bool {
    target.starts_with('/') && !target.starts_with("//") && !target.contains('\\')
}

/// `GET /oauth/switch-user?return_to=…`: forgets the pending login (a new
/// authorization request starts a new one) and goes to `return_to`, which
/// must be a path of this server (with `oauth-open-redirect`, anything).
pub async fn switch_user(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let target = form_urlencoded::parse(query.as_bytes())
        .find(|(n, _)| n == "return_to")
        .map(|(_, v)| v.into_owned());
    let allowed = |t: &str| own_path(t) || app.flaws.has(Flaw::OauthOpenRedirect);
    let r = match target {
        Some(t) if allowed(&t) => match HeaderValue::from_str(&t) {
            Ok(location) => {
                let mut r = StatusCode::SEE_OTHER.into_response();
                r.headers_mut().insert(header::LOCATION, location);
                r.headers_mut().insert(
                    header::SET_COOKIE,
                    HeaderValue::from_str(&format!(
                        "{COOKIE}=; Path=/oauth; Max-Age=0; Secure; HttpOnly; SameSite=Lax"
                    ))
                    .unwrap_or_else(|_| HeaderValue::from_static("")),
                );
                r
            }
            Err(_) => error_page("return_to is not a usable location"),
        },
        Some(_) => error_page("return_to must be a path on this server"),
        None => error_page("the return_to parameter is missing"),
    };
    page_flaws(&app, r)
}
