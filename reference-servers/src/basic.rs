//! HTTP Basic authentication (RFC 7617) against argon2id password hashes.
//!
//! - 401 with `WWW-Authenticate: Basic realm="authbench", charset="UTF-8"` for
//!   missing or invalid credentials; the scheme is case-insensitive; the
//!   credentials split at the first colon.
//! - An unknown user costs the same argon2id verification as a wrong password
//!   (against a dummy hash) and gets the same answer.
//! - Repeated failures for one username are throttled with 429 and
//!   `Retry-After`, with an exponential lockout capped at a maximum, so the real
//!   user is delayed, never locked out for ever.
//! - An opt-in verified-credential cache (`/basic-cached/resource`, labelled as
//!   such) shows what argon2id costs per request by contrast.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, Params};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use rand::RngExt;
use tokio::sync::Semaphore;

use crate::flaws::{Flaw, Flaws};
use crate::respond::{self, Authorization, REALM, quoted};
use crate::store::{Store, UserRecord};

/// OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
pub fn owasp_argon2() -> Argon2<'static> {
    // Invariant: these constants are within argon2's documented bounds.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// Verifies `password` against the PHC string `hash`, computing in `memory`
/// (grown to the hash's block count once, then reused). `None`: the hash
/// cannot be read.
fn verify_in(password: &[u8], hash: &str, memory: &mut Vec<argon2::Block>) -> Option<bool> {
    use subtle::ConstantTimeEq;
    let parsed = PasswordHash::new(hash).ok()?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else { return Some(false) };
    let params = Params::try_from(&parsed).ok()?;
    let algorithm = argon2::Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
    let version = match parsed.version {
        Some(v) => argon2::Version::try_from(v).ok()?,
        None => argon2::Version::default(),
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..blocks])
        .ok()?;
    Some(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
}

/// Hashes `password` with [`owasp_argon2`] and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    Ok(owasp_argon2().hash_password(password.as_bytes())?.to_string())
}

/// Throttling of failed logins.
#[derive(Debug, Clone)]
pub struct ThrottleConfig {
    /// Failures tolerated within `window` before the first lockout.
    pub max_failures: u32,
    /// Failures older than this are forgotten.
    pub window: Duration,
    /// The first lockout; each further failure doubles it…
    pub base_lockout: Duration,
    /// …up to this cap.
    pub max_lockout: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            max_failures: 5,
            window: Duration::from_secs(15 * 60),
            base_lockout: Duration::from_secs(1),
            max_lockout: Duration::from_secs(60),
        }
    }
}

/// How long a verified credential stays in the opt-in cache.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
const MAX_TRACKED: usize = 100_000;

/// The outcome of authenticating one request.
#[derive(Debug)]
pub enum BasicOutcome {
    /// Valid credentials of this user.
    Ok(UserRecord),
    /// No Basic credentials.
    Missing,
    /// More than one `Authorization` header, or an unparsable one: 400.
    BadRequest,
    /// Wrong password, unknown user, or undecodable credentials.
    Invalid {
        /// The user does not exist (only the enumeration flaw lets this show).
        unknown_user: bool,
    },
    /// Too many recent failures for this username.
    Throttled(Duration),
    /// The server could not decide (database or hashing failure).
    Error,
    /// Too many verifications already waiting: answered 503 with
    /// `Retry-After` rather than queued without end.
    Busy,
}

impl BasicOutcome {
    /// The outcome label used in metrics.
    pub fn label(&self) -> &'static str {
        match self {
            BasicOutcome::Ok(_) => "ok",
            BasicOutcome::Missing => "missing",
            BasicOutcome::BadRequest => "invalid_request",
            BasicOutcome::Invalid { .. } => "invalid",
            BasicOutcome::Throttled(_) => "throttled",
            BasicOutcome::Error => "error",
            BasicOutcome::Busy => "busy",
        }
    }
}

#[derive(Debug)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

#[derive(Debug, Clone)]
struct CachedCredential {
    user_id: i64,
    password_version: i64,
    expires: Instant,
}

/// The Basic authenticator shared by the Basic resources and the JWT token endpoint.
pub struct BasicAuth {
    store: Arc<Store>,
    flaws: Flaws,
    throttle: ThrottleConfig,
    dummy_hash: String,
    failures: Mutex<HashMap<String, Failures>>,
    cache_key: [u8; 32],
    cache: Mutex<HashMap<[u8; 32], CachedCredential>>,
    /// Each argon2id verification holds 19 MiB: bound how many run at once.
    hashing: Arc<Semaphore>,
    /// Verifications waiting for a permit; beyond [`MAX_WAITING`], `Busy`.
    waiting: std::sync::atomic::AtomicUsize,
    /// argon2id's working memory, one per permit at most, reused: allocating
    /// 19 MiB per request leaves the allocator holding hundreds of MiB.
    memory: Arc<Mutex<Vec<Vec<argon2::Block>>>>,
}

/// Verifications at once at most (2 × cores up to this): each holds 19 MiB,
/// kept for reuse, so the pool never exceeds 16 × 19 MiB.
pub const MAX_PERMITS: usize = 16;

/// How many verifications may wait for a permit. With 2 × cores permits and
/// about 20–60 ms per verification, a full queue drains in under a second or
/// two; beyond it a client is told to come back.
pub const MAX_WAITING: usize = 64;

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth").field("throttle", &self.throttle).finish_non_exhaustive()
    }
}

/// Decodes Basic credentials (RFC 7617 §2): base64, UTF-8, split at the first
/// colon; control characters are refused in both parts.
pub fn decode_credentials(credentials: &str) -> Option<(String, String)> {
    let bytes = STANDARD.decode(credentials.trim_end_matches(' ')).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    if user.is_empty() || text.chars().any(char::is_control) {
        return None;
    }
    Some((user.to_owned(), password.to_owned()))
}

impl BasicAuth {
    /// An authenticator over `store`'s users.
    pub fn new(store: Arc<Store>, flaws: Flaws, throttle: ThrottleConfig) -> Result<Self, String> {
        let random: [u8; 24] = rand::rng().random();
        let dummy_hash = hash_password(&STANDARD.encode(random)).map_err(|e| e.to_string())?;
        let permits =
            std::thread::available_parallelism().map_or(2, |n| n.get() * 2).min(MAX_PERMITS);
        Ok(BasicAuth {
            store,
            flaws,
            throttle,
            dummy_hash,
            failures: Mutex::new(HashMap::new()),
            cache_key: rand::rng().random(),
            cache: Mutex::new(HashMap::new()),
            hashing: Arc::new(Semaphore::new(permits)),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            memory: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Authenticates the request's Basic credentials; `use_cache` selects the
    /// labelled verified-credential cache configuration.
    pub async fn authenticate(&self, headers: &HeaderMap, use_cache: bool) -> BasicOutcome {
        let auth = Authorization::of(headers);
        let credentials = match auth {
            Authorization::Duplicated | Authorization::Malformed => {
                return BasicOutcome::BadRequest;
            }
            _ => match auth.credentials_for("Basic") {
                Some(c) => c,
                None => return BasicOutcome::Missing,
            },
        };
        let Some((username, password)) = decode_credentials(credentials) else {
            return BasicOutcome::Invalid { unknown_user: false };
        };
        self.verify_credentials(&username, password, use_cache).await
    }

    /// Checks a username and password (a login form, the token endpoint), with
    /// the same throttling and the same cost for unknown users.
    pub async fn verify_password(&self, username: &str, password: &str) -> BasicOutcome {
        if username.is_empty() {
            return BasicOutcome::Invalid { unknown_user: false };
        }
        self.verify_credentials(username, password.to_owned(), false).await
    }

    async fn verify_credentials(
        &self,
        username: &str,
        password: String,
        use_cache: bool,
    ) -> BasicOutcome {
        let username = username.to_owned();
        if let Err(retry_after) = self.check_throttle(&username) {
            return BasicOutcome::Throttled(retry_after);
        }
        let user = match self.store.user(&username) {
            Ok(user) => user,
            Err(e) => {
                tracing::error!(error = %e, "user lookup failed");
                return BasicOutcome::Error;
            }
        };
        if user.is_none() && self.flaws.has(Flaw::BasicUserEnumeration) {
            self.record_failure(&username);
            return BasicOutcome::Invalid { unknown_user: true };
        }
        let cache_slot = use_cache.then(|| self.cache_slot(&username, &password));
        if let (Some(slot), Some(user)) = (&cache_slot, &user)
            && self.cached(slot, user)
        {
            self.record_success(&username);
            return BasicOutcome::Ok(user.clone());
        }
        let hash = user.as_ref().map_or(self.dummy_hash.clone(), |u| u.password_hash.clone());
        let verified = match self.verify(password, hash).await {
            Some(Some(ok)) => ok,
            Some(None) => return BasicOutcome::Busy,
            None => return BasicOutcome::Error,
        };
        match user {
            Some(user) if verified => {
                self.record_success(&username);
                if let Some(slot) = cache_slot {
                    self.remember(slot, &user);
                }
                BasicOutcome::Ok(user)
            }
            _ => {
                self.record_failure(&username);
                BasicOutcome::Invalid { unknown_user: false }
            }
        }
    }

    /// The response for a non-`Ok` outcome.
    pub fn rejection(&self, outcome: BasicOutcome) -> Response {
        let challenge = (!self.flaws.has(Flaw::BasicNoChallenge))
            .then(|| format!("Basic realm={}, charset=\"UTF-8\"", quoted(REALM)));
        match outcome {
            BasicOutcome::Ok(_) | BasicOutcome::Error => respond::error(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "temporarily_unavailable",
                "Authentication is temporarily unavailable",
            ),
            BasicOutcome::BadRequest => respond::error(
                StatusCode::BAD_REQUEST,
                None,
                "invalid_request",
                "Send exactly one well-formed Authorization header",
            ),
            BasicOutcome::Throttled(retry_after) => respond::throttled(retry_after),
            BasicOutcome::Busy => {
                let mut r = respond::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    None,
                    "temporarily_unavailable",
                    "Too many sign-ins at once; retry shortly.",
                );
                r.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from_static("1"),
                );
                r
            }
            BasicOutcome::Invalid { unknown_user: true } => {
                respond::error(StatusCode::UNAUTHORIZED, challenge, "unknown_user", "No such user")
            }
            BasicOutcome::Missing | BasicOutcome::Invalid { unknown_user: false } => {
                respond::error(
                    StatusCode::UNAUTHORIZED,
                    challenge,
                    "unauthorized",
                    "Valid Basic credentials are required",
                )
            }
        }
    }

    /// One argon2id verification: `None` when it could not run, `Some(None)`
    /// when too many are waiting. The permit travels with the computation,
    /// so a client that hangs up never frees it early; a computation whose
    /// client is gone before it starts is skipped.
    async fn verify(&self, password: String, hash: String) -> Option<Option<bool>> {
        use std::sync::atomic::Ordering;
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Some(None);
        }
        let permit = Arc::clone(&self.hashing).acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let permit = permit.ok()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let memory = Arc::clone(&self.memory);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            if tx.is_closed() {
                return;
            }
            let mut blocks =
                memory.lock().unwrap_or_else(|p| p.into_inner()).pop().unwrap_or_default();
            let verified = verify_in(password.as_bytes(), &hash, &mut blocks);
            memory.lock().unwrap_or_else(|p| p.into_inner()).push(blocks);
            let _ = tx.send(verified);
        });
        rx.await.ok().flatten().map(Some)
    }

    fn check_throttle(&self, username: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match failures.get(username).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    fn record_failure(&self, username: &str) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() >= MAX_TRACKED {
            let window = self.throttle.window;
            failures.retain(|_, f| now.duration_since(f.last) < window);
        }
        let entry = failures.entry(username.to_owned()).or_insert(Failures {
            count: 0,
            last: now,
            locked_until: None,
        });
        if now.duration_since(entry.last) >= self.throttle.window {
            entry.count = 0;
        }
        entry.count += 1;
        entry.last = now;
        if entry.count >= self.throttle.max_failures {
            let doublings = (entry.count - self.throttle.max_failures).min(20);
            let lockout = self
                .throttle
                .base_lockout
                .saturating_mul(1 << doublings)
                .min(self.throttle.max_lockout);
            entry.locked_until = Some(now + lockout);
        }
    }

    fn record_success(&self, username: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(username);
    }

    fn cache_slot(&self, username: &str, password: &str) -> [u8; 32] {
        // Keyed with a per-process secret: the cache never holds anything from
        // which a password could be recovered offline.
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.cache_key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(username.as_bytes());
        mac.update(&[0]);
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn cached(&self, slot: &[u8; 32], user: &UserRecord) -> bool {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(slot).is_some_and(|c| {
            // A password change bumps the version and so invalidates the entry.
            c.user_id == user.id
                && c.password_version == user.password_version
                && c.expires > Instant::now()
        })
    }

    fn remember(&self, slot: [u8; 32], user: &UserRecord) {
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_TRACKED {
            cache.retain(|_, c| c.expires > now);
        }
        cache.insert(
            slot,
            CachedCredential {
                user_id: user.id,
                password_version: user.password_version,
                expires: now + CACHE_TTL,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;

    #[test]
    fn credentials_split_at_the_first_colon() {
        let encoded = STANDARD.encode("alice:pa:ss:word");
        assert_eq!(decode_credentials(&encoded), Some(("alice".into(), "pa:ss:word".into())));
        assert_eq!(decode_credentials(&STANDARD.encode("no-colon")), None);
        assert_eq!(decode_credentials(&STANDARD.encode(":empty-user")), None);
        assert_eq!(decode_credentials(&STANDARD.encode("a:b\u{7}")), None);
        assert_eq!(decode_credentials("not base64!"), None);
        assert_eq!(decode_credentials(&STANDARD.encode([b'a', b':', 0xff])), None);
        let utf8 = STANDARD.encode("zoë:mañana");
        assert_eq!(decode_credentials(&utf8), Some(("zoë".into(), "mañana".into())));
    }

    #[test]
    fn password_hashes_are_owasp_argon2id() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(owasp_argon2().verify_password(b"correct horse", &parsed).is_ok());
        assert!(owasp_argon2().verify_password(b"correct horse ", &parsed).is_err());
    }

    #[test]
    fn verifying_in_reused_memory_agrees_with_the_library() {
        let hash = hash_password("correct horse").unwrap();
        let mut memory = Vec::new();
        assert_eq!(verify_in(b"correct horse", &hash, &mut memory), Some(true));
        let allocated = memory.len();
        assert_eq!(allocated, 19 * 1024);
        assert_eq!(verify_in(b"correct horse ", &hash, &mut memory), Some(false));
        assert_eq!(memory.len(), allocated, "the memory is reused, not grown");
        assert_eq!(verify_in(b"x", "not a PHC string", &mut memory), None);
    }
}
