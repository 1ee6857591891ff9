//! The admin API, behind its own bearer credential (`state/admin.token`): create
//! users, set passwords, create, list and revoke API keys, set a key's
//! source-address allowlist and read its usage, revoke JWTs by `jti`.
//! Every write is durable before the answer goes out.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::api_key;
use crate::app::{App, deadline_after, now};
use crate::basic::hash_password;
use crate::respond::{self, Authorization, quoted};
use crate::store::{ApiKeyRecord, KeyMode, Store, StoreError};

/// The admin routes, nested under `/admin`.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/users", post(create_user))
        .route("/users/{username}/password", put(set_password))
        .route("/api-keys", post(create_key).get(list_keys))
        .route("/api-keys/{id}/revoke", post(revoke_key))
        .route("/api-keys/{id}/allowed-sources", put(set_allowed_sources))
        .route("/api-keys/{id}/usage", get(key_usage))
        .route("/jwt/revocations", post(revoke_jti))
        .route("/mtls/revocations", post(revoke_certificate))
}

/// Proof that a request carries the admin token; its rejection is the 401.
pub struct Admin;

impl FromRequestParts<Arc<App>> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        check_admin(app, &parts.headers).map_or(Ok(Admin), Err)
    }
}

/// The 401 for a request without the admin token, or `None` when it has it.
fn check_admin(app: &App, headers: &HeaderMap) -> Option<Response> {
    let presented = Authorization::of(headers).credentials_for("Bearer");
    let ok = presented.is_some_and(|token| {
        // Compare digests in constant time: equal-length inputs, no early exit.
        let digest = api_key::hash(token);
        bool::from(digest.ct_eq(&app.admin_token_hash))
    });
    if ok {
        None
    } else {
        Some(respond::error(
            StatusCode::UNAUTHORIZED,
            Some(format!("Bearer realm={}", quoted("authbench-admin"))),
            "unauthorized",
            "The admin API requires the admin token (state directory, admin.token)",
        ))
    }
}

fn bad_request(description: &str) -> Response {
    respond::error(StatusCode::BAD_REQUEST, None, "invalid_request", description)
}

fn store_failure(e: StoreError) -> Response {
    match e {
        StoreError::Conflict { what } => respond::error(
            StatusCode::CONFLICT,
            None,
            "conflict",
            &format!("{what} already exists"),
        ),
        other => {
            tracing::error!(error = %other, "admin write failed");
            respond::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                "server_error",
                "The state database failed",
            )
        }
    }
}

/// Runs a blocking (fsyncing) store operation off the async workers.
async fn blocking<T: Send + 'static>(
    store: &Arc<Store>,
    f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Response> {
    let store = Arc::clone(store);
    match tokio::task::spawn_blocking(move || f(&store)).await {
        Ok(result) => result.map_err(store_failure),
        Err(_) => Err(respond::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "server_error",
            "Write aborted",
        )),
    }
}

/// argon2id on the blocking pool: it takes tens of milliseconds.
async fn hash_blocking(password: String) -> Result<String, Response> {
    match tokio::task::spawn_blocking(move || hash_password(&password)).await {
        Ok(Ok(hash)) => Ok(hash),
        _ => Err(respond::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "server_error",
            "Hashing failed",
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    username: String,
    password: String,
}

fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.contains(':')
        && !name.chars().any(char::is_control)
}

fn valid_password(password: &str) -> bool {
    // ASVS 6.2.1 asks for at least 8 characters; 6.2.9 for at least 64 allowed.
    (8..=1024).contains(&password.chars().count()) && !password.chars().any(char::is_control)
}

async fn create_user(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Json(user): Json<NewUser>,
) -> Response {
    if !valid_username(&user.username) {
        return bad_request("username must be 1-128 characters, without ':' or control characters");
    }
    if !valid_password(&user.password) {
        return bad_request("password must be 8-1024 characters, without control characters");
    }
    let hash = match hash_blocking(user.password).await {
        Ok(hash) => hash,
        Err(r) => return r,
    };
    let username = user.username.clone();
    match blocking(&app.store, move |s| s.create_user(&username, &hash, now())).await {
        Ok(record) => {
            (StatusCode::CREATED, Json(serde_json::json!({ "username": record.username })))
                .into_response()
        }
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPassword {
    password: String,
}

async fn set_password(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(username): Path<String>,
    Json(body): Json<NewPassword>,
) -> Response {
    if !valid_password(&body.password) {
        return bad_request("password must be 8-1024 characters, without control characters");
    }
    let hash = match hash_blocking(body.password).await {
        Ok(hash) => hash,
        Err(r) => return r,
    };
    match blocking(&app.store, move |s| s.set_password(&username, &hash)).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => respond::error(StatusCode::NOT_FOUND, None, "not_found", "No such user"),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKeyRequest {
    client_id: String,
    #[serde(default = "default_scopes")]
    scopes: Vec<String>,
    #[serde(default = "default_mode")]
    mode: KeyMode,
    /// Lifetime in seconds; none: the key does not expire.
    expires_in: Option<i64>,
    /// Addresses or CIDRs the key may be used from; empty: anywhere.
    #[serde(default)]
    allowed_sources: Vec<String>,
}

/// The most entries an allowlist may hold.
const MAX_ALLOWED_SOURCES: usize = 64;

/// Parses an allowlist: addresses (`192.0.2.7`, a single host) or CIDRs
/// (`192.0.2.0/24`), at most [`MAX_ALLOWED_SOURCES`].
pub fn parse_sources(sources: &[String]) -> Result<Vec<ipnet::IpNet>, String> {
    if sources.len() > MAX_ALLOWED_SOURCES {
        return Err(format!("allowed_sources holds at most {MAX_ALLOWED_SOURCES} entries"));
    }
    sources
        .iter()
        .map(|s| {
            let s = s.trim();
            s.parse::<ipnet::IpNet>()
                .map(|net| net.trunc())
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    format!("allowed_sources: `{s}` is neither an IP address nor a CIDR such as 192.0.2.0/24")
                })
        })
        .collect()
}

fn default_scopes() -> Vec<String> {
    vec!["read".to_owned()]
}

fn default_mode() -> KeyMode {
    KeyMode::Live
}

/// An API key as the admin API shows it: never the secret, except once at creation.
#[derive(Debug, Serialize)]
struct KeyView {
    id: String,
    client_id: String,
    mode: KeyMode,
    display_prefix: String,
    scopes: Vec<String>,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    allowed_sources: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

impl KeyView {
    fn of(record: ApiKeyRecord, key: Option<String>) -> Self {
        KeyView {
            id: record.id,
            client_id: record.client_id,
            mode: record.mode,
            display_prefix: record.display_prefix,
            scopes: record.scopes,
            created_at: record.created_at,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
            allowed_sources: record.allowed_sources.iter().map(ToString::to_string).collect(),
            key,
        }
    }
}

/// The public identifier of `key`: `key_` and the first 8 bytes of its
/// SHA-256 in hex (a hash of a 256-bit secret: it reveals nothing usable).
pub fn key_id(key: &str) -> String {
    format!("key_{}", hex::encode(&api_key::hash(key)[..8]))
}

/// Creates and stores a key; returns the record and the secret.
pub fn issue_key(
    store: &Store,
    client_id: &str,
    scopes: Vec<String>,
    mode: KeyMode,
    expires_at: Option<i64>,
    allowed_sources: Vec<ipnet::IpNet>,
) -> Result<(ApiKeyRecord, String), StoreError> {
    let new = api_key::generate(mode);
    let record = ApiKeyRecord {
        id: key_id(&new.key),
        client_id: client_id.to_owned(),
        mode,
        display_prefix: new.display_prefix,
        key_hash: new.hash,
        scopes,
        created_at: now(),
        expires_at,
        revoked_at: None,
        allowed_sources,
    };
    store.insert_api_key(&record)?;
    Ok((record, new.key))
}

async fn create_key(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Json(req): Json<NewKeyRequest>,
) -> Response {
    if !valid_username(&req.client_id) {
        return bad_request(
            "client_id must be 1-128 characters, without ':' or control characters",
        );
    }
    if req.scopes.iter().any(|s| s.is_empty() || s.contains(char::is_whitespace)) {
        return bad_request("scopes must be non-empty words");
    }
    if req.expires_in.is_some_and(|s| s <= 0) {
        return bad_request("expires_in must be a positive number of seconds");
    }
    let expires_at = req.expires_in.map(deadline_after);
    let sources = match parse_sources(&req.allowed_sources) {
        Ok(sources) => sources,
        Err(why) => return bad_request(&why),
    };
    match blocking(&app.store, move |s| {
        issue_key(s, &req.client_id, req.scopes, req.mode, expires_at, sources)
    })
    .await
    {
        Ok((record, key)) => {
            (StatusCode::CREATED, Json(KeyView::of(record, Some(key)))).into_response()
        }
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
struct KeyFilter {
    client_id: Option<String>,
}

async fn list_keys(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Query(filter): Query<KeyFilter>,
) -> Response {
    match app.store.api_keys(filter.client_id.as_deref()) {
        Ok(keys) => {
            Json(keys.into_iter().map(|k| KeyView::of(k, None)).collect::<Vec<_>>()).into_response()
        }
        Err(e) => store_failure(e),
    }
}

async fn revoke_key(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Response {
    key_view(blocking(&app.store, move |s| s.revoke_api_key(&id, now())).await)
}

/// A changed key as the admin API shows it, 404 when there is no such key.
fn key_view(result: Result<Option<ApiKeyRecord>, Response>) -> Response {
    match result {
        Ok(Some(record)) => Json(KeyView::of(record, None)).into_response(),
        Ok(None) => respond::error(StatusCode::NOT_FOUND, None, "not_found", "No such API key"),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowedSources {
    allowed_sources: Vec<String>,
}

async fn set_allowed_sources(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(id): Path<String>,
    Json(req): Json<AllowedSources>,
) -> Response {
    let sources = match parse_sources(&req.allowed_sources) {
        Ok(sources) => sources,
        Err(why) => return bad_request(&why),
    };
    key_view(blocking(&app.store, move |s| s.set_allowed_sources(&id, &sources)).await)
}

/// A key's usage since the server started (in memory; see `api_key::UsageBook`).
async fn key_usage(State(app): State<Arc<App>>, _admin: Admin, Path(id): Path<String>) -> Response {
    match app.store.api_key(&id) {
        Ok(Some(record)) => {
            let usage = app.api_key_usage.of(&record.id, app.started_at);
            Json(serde_json::json!({
                "id": record.id,
                "client_id": record.client_id,
                "display_prefix": record.display_prefix,
                "allowed_sources": record.allowed_sources.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "usage": usage,
            }))
            .into_response()
        }
        Ok(None) => respond::error(StatusCode::NOT_FOUND, None, "not_found", "No such API key"),
        Err(e) => store_failure(e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JtiRevocation {
    jti: String,
    expires_at: Option<i64>,
}

async fn revoke_jti(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Json(req): Json<JtiRevocation>,
) -> Response {
    if req.jti.is_empty() || req.jti.len() > 256 {
        return bad_request("jti must be 1-256 characters");
    }
    let jti = req.jti.clone();
    match blocking(&app.store, move |s| s.revoke_jti(&req.jti, req.expires_at, now())).await {
        Ok(()) => (StatusCode::CREATED, Json(serde_json::json!({ "jti": jti }))).into_response(),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateRevocation {
    /// The certificate's serial number in hex.
    serial: String,
}

/// Revokes a client certificate: durable, then the CRL is reissued and new
/// handshakes (and requests on open connections) refuse it.
async fn revoke_certificate(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Json(req): Json<CertificateRevocation>,
) -> Response {
    let serial = req.serial.to_ascii_lowercase().trim_start_matches("00").to_owned();
    if serial.is_empty() || serial.len() > 40 || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        return bad_request("serial must be the certificate's serial number in hex");
    }
    let worker = Arc::clone(&app);
    let s = serial.clone();
    let done = tokio::task::spawn_blocking(move || {
        worker.store.revoke_certificate(&s, now())?;
        let revoked = worker.store.revoked_certificates()?;
        Ok::<_, StoreError>(worker.mtls.reload(&revoked).map_err(|e| e.to_string()))
    })
    .await;
    match done {
        Ok(Ok(Ok(()))) => {
            (StatusCode::CREATED, Json(serde_json::json!({ "serial": serial }))).into_response()
        }
        Ok(Err(e)) => store_failure(e),
        _ => respond::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "server_error",
            "Could not reissue the CRL",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlists_take_addresses_and_cidrs_and_name_what_is_wrong() {
        let parsed =
            parse_sources(&["192.0.2.7".into(), " 10.1.2.3/16 ".into(), "::1".into()]).unwrap();
        let shown: Vec<String> = parsed.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["192.0.2.7/32", "10.1.0.0/16", "::1/128"]);
        let e = parse_sources(&["example.com".into()]).unwrap_err();
        assert!(e.contains("`example.com`"), "{e}");
        assert!(parse_sources(&vec!["10.0.0.1".to_owned(); 65]).is_err());
    }
}
