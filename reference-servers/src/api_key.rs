//! API keys: `sk_live_` / `sk_test_` prefixed keys carrying 256 random bits, of
//! which only the SHA-256 is stored. Accepted in `X-API-Key` or
//! `Authorization: ApiKey …`, never in the query string. Scopes (403 for a valid
//! key without the scope), expiry, revocation, and several active keys per
//! client for rotation.
//!
//! A key may carry an allowlist of source addresses (CIDRs, checked after the
//! key, against the connection's peer and never a client-sent header). A valid
//! key from a refused address gets exactly the answer of an invalid key, so the
//! refusal tells a holder of a leaked key nothing about whether it works; the
//! attempt is counted in the key's usage, where its owner can see it.
//!
//! Lookup is by the SHA-256 of the presented key: response timing can at most
//! reveal bits of a hash, never of the key (the comparison-timing attack of
//! CWE-208 needs the secret itself to be compared).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt;
use sha2::{Digest, Sha256};

use crate::app::{App, now};
use crate::flaws::Flaw;
use crate::respond::{self, Authorization, REALM, quoted};
use crate::store::{ApiKeyRecord, KeyMode};

/// The header that carries a key.
pub const HEADER: &str = "x-api-key";
/// The `Authorization` scheme that carries a key.
pub const SCHEME: &str = "ApiKey";
/// Characters of a key kept as its displayable, non-secret prefix (`sk_live_` + 8).
pub const DISPLAY_PREFIX_LEN: usize = 16;
/// Query parameters that look like a key; refused wherever they appear.
const QUERY_NAMES: [&str; 4] = ["api_key", "apikey", "api-key", "key"];

/// A freshly generated key: the secret (shown once) and what is stored.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// The key itself; never stored.
    pub key: String,
    /// The displayable prefix.
    pub display_prefix: String,
    /// SHA-256 of the key.
    pub hash: [u8; 32],
}

/// Generates a key of `mode`: prefix, then 32 random bytes in base64url (43 characters).
pub fn generate(mode: KeyMode) -> NewKey {
    let secret: [u8; 32] = rand::rng().random();
    let key = format!("sk_{}_{}", mode.as_str(), URL_SAFE_NO_PAD.encode(secret));
    NewKey { display_prefix: key[..DISPLAY_PREFIX_LEN].to_owned(), hash: hash(&key), key }
}

/// SHA-256 of a presented key.
pub fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Whether `key` has the shape of one of our keys; anything else is refused
/// without touching the database.
pub fn well_formed(key: &str) -> bool {
    let Some(rest) = key.strip_prefix("sk_live_").or_else(|| key.strip_prefix("sk_test_")) else {
        return false;
    };
    rest.len() == 43 && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Where the request carried its key.
#[derive(Debug, PartialEq, Eq)]
enum Presented<'a> {
    None,
    Key(&'a str),
    /// Different keys, or a key in several places: 400.
    Ambiguous,
    /// A key only in the query string.
    QueryOnly(&'a str),
}

fn presented<'a>(headers: &'a HeaderMap, uri: &'a Uri) -> Presented<'a> {
    let mut in_headers = Vec::new();
    for value in headers.get_all(HEADER) {
        match value.to_str() {
            Ok(v) => in_headers.push(v.trim()),
            Err(_) => return Presented::Ambiguous,
        }
    }
    match Authorization::of(headers) {
        Authorization::Duplicated => return Presented::Ambiguous,
        auth => {
            if let Some(key) = auth.credentials_for(SCHEME) {
                in_headers.push(key.trim());
            }
        }
    }
    let in_query = uri.query().and_then(|q| {
        q.split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            QUERY_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name)).then_some(value)
        })
    });
    match (in_headers.as_slice(), in_query) {
        ([], None) => Presented::None,
        ([], Some(q)) => Presented::QueryOnly(q),
        ([key], None) => Presented::Key(key),
        _ => Presented::Ambiguous,
    }
}

pub(crate) fn challenge() -> String {
    format!("{SCHEME} realm={}", quoted(REALM))
}

fn unauthorized(description: &str) -> Response {
    respond::error(StatusCode::UNAUTHORIZED, Some(challenge()), "unauthorized", description)
}

/// Throttling of invalid keys per client address. There is no account to lock
/// when keys are guessed, so the source is throttled: past `max_invalid`
/// invalid keys within `window`, every key from that address gets 429 without
/// being checked (a correct guess included), for a lockout that doubles with
/// each repeat up to `max_lockout`.
#[derive(Debug, Clone)]
pub struct KeyThrottleConfig {
    /// Invalid keys tolerated per address within `window`.
    pub max_invalid: u32,
    /// The counting window.
    pub window: Duration,
    /// The first lockout.
    pub base_lockout: Duration,
    /// The longest lockout.
    pub max_lockout: Duration,
}

impl Default for KeyThrottleConfig {
    fn default() -> Self {
        // High enough that a conformance run (a few hundred invalid keys,
        // mostly the timing check) never trips it; low enough to stop a
        // flood; the window long enough that a slow flood counts too.
        KeyThrottleConfig {
            max_invalid: 1000,
            window: Duration::from_secs(60),
            base_lockout: Duration::from_secs(1),
            max_lockout: Duration::from_secs(60),
        }
    }
}

#[derive(Debug)]
struct SourceState {
    invalid: u32,
    window_start: Instant,
    locked_until: Option<Instant>,
    lockouts: u32,
}

/// Per-address invalid-key counters.
#[derive(Debug)]
pub struct KeyThrottle {
    config: KeyThrottleConfig,
    sources: Mutex<HashMap<IpAddr, SourceState>>,
}

impl KeyThrottle {
    /// A throttle with `config`.
    pub fn new(config: KeyThrottleConfig) -> Self {
        KeyThrottle { config, sources: Mutex::new(HashMap::new()) }
    }

    fn retry_after(&self, ip: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        sources
            .get(&ip)
            .and_then(|s| s.locked_until)
            .filter(|&until| until > now)
            .map(|until| until - now)
    }

    fn record_invalid(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        if sources.len() >= 100_000 {
            let window = self.config.window;
            sources.retain(|_, s| now.duration_since(s.window_start) < window);
        }
        let state = sources.entry(ip).or_insert(SourceState {
            invalid: 0,
            window_start: now,
            locked_until: None,
            lockouts: 0,
        });
        if now.duration_since(state.window_start) >= self.config.window {
            // A quiet window forgives earlier lockouts too.
            if state
                .locked_until
                .is_none_or(|until| now.saturating_duration_since(until) >= self.config.window)
            {
                state.lockouts = 0;
            }
            state.invalid = 0;
            state.window_start = now;
        }
        state.invalid += 1;
        if state.invalid >= self.config.max_invalid {
            let lockout = self
                .config
                .base_lockout
                .saturating_mul(1 << state.lockouts.min(16))
                .min(self.config.max_lockout);
            state.locked_until = Some(now + lockout);
            state.lockouts += 1;
            state.invalid = 0;
            state.window_start = now;
        }
    }
}

/// Per-key usage since the server started: authenticated requests, the last
/// one's time and source, and uses of a valid key from an address its
/// allowlist refuses. Kept in memory — a database write on every request
/// would put the key store on the hot path — so it starts from zero at each
/// start. Bounded by the number of keys: only keys found in the store count.
#[derive(Debug, Default)]
pub struct UsageBook {
    keys: RwLock<HashMap<String, Arc<KeyUsage>>>,
}

#[derive(Debug, Default)]
struct KeyUsage {
    requests: AtomicU64,
    refused_source: AtomicU64,
    /// Unix seconds; 0: never.
    last_used_at: AtomicI64,
    /// Unix seconds; 0: never.
    last_refused_at: AtomicI64,
    last_source: Mutex<Option<IpAddr>>,
}

/// One key's usage, as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    /// Authenticated requests with the key.
    pub request_count: u64,
    /// Requests with the key from an address its allowlist refuses.
    pub refused_source_count: u64,
    /// Unix seconds of the last authenticated request.
    pub last_used_at: Option<i64>,
    /// The source address of the last authenticated request.
    pub last_used_from: Option<IpAddr>,
    /// Unix seconds of the last request from a refused address.
    pub last_refused_source_at: Option<i64>,
    /// Since when the counts run (the server's start, Unix seconds).
    pub counting_since: i64,
}

impl UsageBook {
    fn entry(&self, id: &str) -> Arc<KeyUsage> {
        if let Some(usage) = self.keys.read().unwrap_or_else(|p| p.into_inner()).get(id) {
            return Arc::clone(usage);
        }
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        Arc::clone(keys.entry(id.to_owned()).or_default())
    }

    fn used(&self, id: &str, source: Option<IpAddr>) {
        let usage = self.entry(id);
        usage.requests.fetch_add(1, Ordering::Relaxed);
        usage.last_used_at.fetch_max(now(), Ordering::Relaxed);
        // Per-request hot path: a busy lock means another request of the
        // same key is recording its source this instant; either is "the last".
        if let Ok(mut last) = usage.last_source.try_lock() {
            *last = source.map(|ip| ip.to_canonical());
        }
    }

    fn refused_source(&self, id: &str) {
        let usage = self.entry(id);
        usage.refused_source.fetch_add(1, Ordering::Relaxed);
        usage.last_refused_at.fetch_max(now(), Ordering::Relaxed);
    }

    /// The usage of key `id` (zero for a key not used since `counting_since`).
    pub fn of(&self, id: &str, counting_since: i64) -> Usage {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        let Some(u) = keys.get(id) else {
            return Usage {
                request_count: 0,
                refused_source_count: 0,
                last_used_at: None,
                last_used_from: None,
                last_refused_source_at: None,
                counting_since,
            };
        };
        let time = |t: &AtomicI64| Some(t.load(Ordering::Relaxed)).filter(|&t| t > 0);
        Usage {
            request_count: u.requests.load(Ordering::Relaxed),
            refused_source_count: u.refused_source.load(Ordering::Relaxed),
            last_used_at: time(&u.last_used_at),
            last_used_from: *u.last_source.lock().unwrap_or_else(|p| p.into_inner()),
            last_refused_source_at: time(&u.last_refused_at),
            counting_since,
        }
    }
}

/// A protected resource requiring an API key with `scope`.
pub async fn resource(
    app: &App,
    peer: Option<IpAddr>,
    method: &Method,
    headers: &HeaderMap,
    uri: &Uri,
    scope: &str,
) -> Response {
    let started = std::time::Instant::now();
    let (outcome, response) = match authenticate(app, peer, headers, uri) {
        Ok(record) if record.scopes.iter().any(|s| s == scope) => {
            ("ok", respond::payload(method, Some(&record.client_id)))
        }
        Ok(_) => (
            "insufficient_scope",
            respond::error(
                StatusCode::FORBIDDEN,
                Some(format!(
                    "{}, error=\"insufficient_scope\", scope={}",
                    challenge(),
                    quoted(scope)
                )),
                "insufficient_scope",
                "The key lacks the scope this resource requires",
            ),
        ),
        Err(rejection) => (rejection.label(), rejection.response()),
    };
    app.metrics.record("api_key", outcome, started.elapsed());
    response
}

/// Why a request's key was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// No key anywhere.
    Missing,
    /// A key only in the query string, which is never accepted.
    QueryOnly,
    /// Keys in several places, or twice: 400.
    Ambiguous,
    /// Unknown, revoked, expired, wrong mode or malformed: one answer for all
    /// (ASVS 6.3.8), so it tells an attacker nothing about which keys existed.
    Invalid,
    /// A known key that is revoked, expired or of the other mode: answered
    /// exactly as `Invalid`, but not counted toward the throttle — it is a
    /// client behind on a rotation, not someone guessing (issue 21).
    Retired,
    /// A valid key from an address its allowlist refuses: answered exactly
    /// as `Invalid` (so a leaked key's holder cannot tell it works), not
    /// counted toward the throttle (the key is known), counted in its usage.
    SourceRefused,
    /// The same, answered 403 naming the address: the
    /// `api-key-allowlist-reveals-key` flaw.
    SourceRefusedVerbosely,
    /// The key store failed.
    Unavailable,
    /// Too many invalid keys from this address.
    Throttled(Duration),
}

impl Rejection {
    fn label(self) -> &'static str {
        match self {
            Rejection::Missing | Rejection::QueryOnly => "missing",
            Rejection::Ambiguous => "invalid_request",
            Rejection::Invalid | Rejection::Retired => "invalid",
            Rejection::SourceRefused | Rejection::SourceRefusedVerbosely => "source_refused",
            Rejection::Unavailable => "error",
            Rejection::Throttled(_) => "throttled",
        }
    }

    fn response(self) -> Response {
        match self {
            Rejection::Missing
            | Rejection::Invalid
            | Rejection::Retired
            | Rejection::SourceRefused => unauthorized("A valid API key is required"),
            Rejection::SourceRefusedVerbosely => respond::error(
                StatusCode::FORBIDDEN,
                None,
                "source_not_allowed",
                "This API key is valid but may not be used from your address",
            ),
            Rejection::QueryOnly => unauthorized(
                "API keys are accepted only in the X-API-Key or Authorization header, never in the URL",
            ),
            Rejection::Ambiguous => respond::error(
                StatusCode::BAD_REQUEST,
                None,
                "invalid_request",
                "Send exactly one API key, in the X-API-Key or Authorization header",
            ),
            Rejection::Unavailable => respond::error(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "temporarily_unavailable",
                "Key verification is temporarily unavailable",
            ),
            Rejection::Throttled(retry_after) => respond::throttled(retry_after),
        }
    }
}

/// The whole decision of an API key resource, as [`resource`] makes it — where
/// the key is, its shape, the throttle, the lookup, expiry, revocation, mode,
/// scope — without the response: `true` when the request may proceed. The
/// benchmarks time it beside SHA-256.
pub fn admits(
    app: &App,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    uri: &Uri,
    scope: &str,
) -> bool {
    authenticate(app, peer, headers, uri).is_ok_and(|r| r.scopes.iter().any(|s| s == scope))
}

pub(crate) fn authenticate(
    app: &App,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Arc<ApiKeyRecord>, Rejection> {
    let counted = throttled_address(app, peer, headers);
    let result = check_key(app, counted, headers, uri).and_then(|record| {
        if allowlist_admits(app, &record, peer, headers) {
            if !app.flaws.has(Flaw::ApiKeyUsageUntracked) {
                app.api_key_usage.used(&record.id, peer);
            }
            Ok(record)
        } else {
            app.api_key_usage.refused_source(&record.id);
            Err(if app.flaws.has(Flaw::ApiKeyAllowlistRevealsKey) {
                Rejection::SourceRefusedVerbosely
            } else {
                Rejection::SourceRefused
            })
        }
    });
    if let (Err(Rejection::Invalid), Some(ip)) = (&result, counted) {
        app.api_key_throttle.record_invalid(ip);
    }
    result
}

/// Whether the key's allowlist admits the request: judged on the connection's
/// peer. With `api-key-allowlist-trusts-forwarded-for`, the client's own
/// `X-Forwarded-For` is believed instead; with `api-key-ignore-allowlist`,
/// every address is admitted.
fn allowlist_admits(
    app: &App,
    record: &ApiKeyRecord,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
) -> bool {
    if app.flaws.has(Flaw::ApiKeyIgnoreAllowlist) {
        return true;
    }
    let source = if app.flaws.has(Flaw::ApiKeyAllowlistTrustsForwardedFor) {
        forwarded_for(headers).or(peer)
    } else {
        peer
    };
    record.allows_source(source)
}

/// The first address of the client's `X-Forwarded-For`, if it parses.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|ip| ip.trim().parse().ok())
}

/// The address invalid keys are counted against: the connection's peer. A
/// client's `X-Forwarded-For` is its own word, not the proxy's (RFC 9700
/// §4.13); with the `api-key-trust-forwarded-for` flaw it is believed.
fn throttled_address(app: &App, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
    if app.flaws.has(Flaw::ApiKeyTrustForwardedFor)
        && let Some(claimed) = forwarded_for(headers)
    {
        return Some(claimed);
    }
    peer
}

fn check_key(
    app: &App,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Arc<ApiKeyRecord>, Rejection> {
    let key = match presented(headers, uri) {
        Presented::None => return Err(Rejection::Missing),
        Presented::Ambiguous => return Err(Rejection::Ambiguous),
        Presented::QueryOnly(key) if app.flaws.has(Flaw::ApiKeyAcceptQuery) => key,
        Presented::QueryOnly(_) => return Err(Rejection::QueryOnly),
        Presented::Key(key) => key,
    };
    if let Some(retry_after) = peer.and_then(|ip| app.api_key_throttle.retry_after(ip)) {
        return Err(Rejection::Throttled(retry_after));
    }
    if !well_formed(key) {
        return Err(Rejection::Invalid);
    }
    let lookup = if app.flaws.has(Flaw::ApiKeyPrefixMatch) {
        app.store.api_key_by_display_prefix(&key[..DISPLAY_PREFIX_LEN]).map(|r| r.map(Arc::new))
    } else {
        app.store.api_key_by_hash(&hash(key))
    };
    let record = match lookup {
        Ok(Some(record)) => record,
        Ok(None) => return Err(Rejection::Invalid),
        Err(e) => {
            tracing::error!(error = %e, "API key lookup failed");
            return Err(Rejection::Unavailable);
        }
    };
    let now = now();
    let revoked =
        record.revoked_at.is_some_and(|at| at <= now) && !app.flaws.has(Flaw::ApiKeyAcceptRevoked);
    let expired = record.expires_at.is_some_and(|at| at <= now);
    if revoked || expired || record.mode != app.api_key_mode {
        return Err(Rejection::Retired);
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn generated_keys_carry_256_bits_behind_their_prefix() {
        let a = generate(KeyMode::Live);
        let b = generate(KeyMode::Test);
        assert!(a.key.starts_with("sk_live_") && b.key.starts_with("sk_test_"));
        assert!(well_formed(&a.key) && well_formed(&b.key));
        assert_eq!(URL_SAFE_NO_PAD.decode(&a.key[8..]).unwrap().len(), 32);
        assert_eq!(a.display_prefix, a.key[..16]);
        assert_ne!(a.key[8..], b.key[8..]);
        assert!(!well_formed(&a.key[..a.key.len() - 1]));
        assert!(!well_formed(&format!("{}x", a.key)));
        assert!(!well_formed(&a.key.replacen("sk_live_", "sk_prod_", 1)));
    }

    #[test]
    fn a_key_must_come_from_exactly_one_place() {
        let uri: Uri = "/r".parse().unwrap();
        let query: Uri = "/r?x=1&API_KEY=sk".parse().unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(presented(&h, &uri), Presented::None);
        assert_eq!(presented(&h, &query), Presented::QueryOnly("sk"));
        h.insert(HEADER, HeaderValue::from_static("k1"));
        assert_eq!(presented(&h, &uri), Presented::Key("k1"));
        assert_eq!(presented(&h, &query), Presented::Ambiguous);
        h.insert("authorization", HeaderValue::from_static("apikey k2"));
        assert_eq!(presented(&h, &uri), Presented::Ambiguous);
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("APIKEY k2"));
        assert_eq!(presented(&h, &uri), Presented::Key("k2"));
        h.append(HEADER, HeaderValue::from_static("k2"));
        assert_eq!(presented(&h, &uri), Presented::Ambiguous);
    }
}
