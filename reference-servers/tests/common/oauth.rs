//! OAuth test support: a browser-like client that walks the login and consent
//! forms, PKCE, DPoP proofs.

#![allow(dead_code, clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::{Observed, TestServer, now, observe};

/// A browser-like client: no automatic redirects, cookies kept by hand.
pub struct Browser {
    pub http: reqwest::Client,
}

impl Browser {
    pub fn new(s: &TestServer) -> Self {
        let ca = std::fs::read(s.dir.path().join("pki/ca.pem")).unwrap();
        let http = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser { http }
    }
}

pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand_bytes());
    let challenge =
        URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub fn rand_bytes() -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = (now() as u8).wrapping_mul(31).wrapping_add(i as u8).wrapping_add(rand_byte());
    }
    out
}

pub fn rand_byte() -> u8 {
    use std::sync::atomic::{AtomicU8, Ordering};
    static N: AtomicU8 = AtomicU8::new(7);
    N.fetch_add(13, Ordering::Relaxed)
}

pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

pub fn oauth(s: &TestServer, key: &str) -> String {
    s.profile["oauth2"][key].as_str().unwrap().to_owned()
}

pub fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location).unwrap().query_pairs().into_owned().collect()
}

pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Authorization request parameters for the profile's client, with PKCE.
pub fn authorize_params(s: &TestServer, challenge: &str, state: &str) -> Vec<(String, String)> {
    [
        ("response_type", "code"),
        ("client_id", &oauth(s, "client_id")),
        ("redirect_uri", &oauth(s, "redirect_uri")),
        ("scope", "read"),
        ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect()
}

/// Walks the login and consent forms; returns the redirect's query.
pub async fn approve(
    s: &TestServer,
    b: &Browser,
    params: &[(String, String)],
) -> Vec<(String, String)> {
    approve_at(s, b, b.http.get(s.url("/oauth/authorize")).query(params)).await
}

/// Walks the login and consent forms of the authorization request `request`
/// (any client's URL); returns the redirect's query.
pub async fn approve_at(
    s: &TestServer,
    b: &Browser,
    request: reqwest::RequestBuilder,
) -> Vec<(String, String)> {
    let page = request.send().await.unwrap();
    assert_eq!(page.status(), 200, "{:?}", page.headers().get("location"));
    let cookie =
        page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert!(page.headers()["set-cookie"].to_str().unwrap().contains("HttpOnly"));
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\" action=\"/oauth/login\">"));
    let password = s.field("basic", "password");
    let consent = b
        .http
        .post(s.url("/oauth/login"))
        .header("cookie", &cookie)
        .form(&[
            ("request", hidden(&html, "request")),
            ("csrf", hidden(&html, "csrf")),
            ("username", "alice".to_owned()),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(consent.status(), 200);
    let html = consent.text().await.unwrap();
    assert!(html.contains("action=\"/oauth/consent\""), "{html}");
    let done = b
        .http
        .post(s.url("/oauth/consent"))
        .header("cookie", &cookie)
        .form(&[
            ("request", hidden(&html, "request")),
            ("csrf", hidden(&html, "csrf")),
            ("decision", "approve".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let location = done.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&oauth(s, "redirect_uri")), "{location}");
    query_of(&location)
}

pub async fn token_request(
    s: &TestServer,
    b: &Browser,
    form: &[(&str, &str)],
) -> (u16, Value, reqwest::header::HeaderMap) {
    let response = b
        .http
        .post(s.url("/oauth/token"))
        .basic_auth(oauth(s, "client_id"), Some(oauth(s, "client_secret")))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.json().await.unwrap_or(Value::Null), headers)
}

/// The whole code flow; returns the token response.
pub async fn code_flow(s: &TestServer, b: &Browser) -> Value {
    let (verifier, challenge) = pkce();
    let query = approve(s, b, &authorize_params(s, &challenge, "st-1")).await;
    let code = param(&query, "code").unwrap().to_owned();
    let redirect = oauth(s, "redirect_uri");
    let (status, body, _) = token_request(
        s,
        b,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

pub async fn call(s: &TestServer, b: &Browser, path: &str, token: &str) -> Observed {
    observe(b.http.get(s.url(path)).bearer_auth(token)).await
}

pub struct DpopKey {
    pub key: EncodingKey,
    pub jwk: jsonwebtoken::jwk::Jwk,
}

pub fn dpop_key() -> DpopKey {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let key = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
    let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    DpopKey { key, jwk }
}

pub fn proof(k: &DpopKey, method: &str, url: &str, token: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(k.jwk.clone());
    let mut claims = json!({ "jti": URL_SAFE_NO_PAD.encode(rand_bytes()), "htm": method, "htu": url, "iat": now() });
    if let Some(t) = token {
        claims["ath"] =
            json!(URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(t.as_bytes())));
    }
    jsonwebtoken::encode(&header, &claims, &k.key).unwrap()
}
