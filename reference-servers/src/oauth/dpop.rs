//! DPoP proofs (RFC 9449 §4.3): checked at the token endpoint, where they bind
//! a token to a key, and at the resource server, where they prove possession.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use crate::app::{App, now};
use crate::flaws::Flaw;
use crate::jwt::verify::decode_object;

/// The proof algorithms accepted.
pub const ALGORITHMS: &[&str] = &["ES256", "RS256", "EdDSA"];

/// Why a proof was refused. The text is safe for `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// Not a compact JWS of JSON objects.
    #[error("the DPoP proof is malformed")]
    Malformed,
    /// `typ` is not `dpop+jwt`.
    #[error("the DPoP proof's typ must be dpop+jwt")]
    Type,
    /// `alg` not accepted (including `none` and symmetric algorithms).
    #[error("the DPoP proof's alg is not accepted")]
    Algorithm,
    /// `jwk` missing, not a public key, or not usable.
    #[error("the DPoP proof's jwk is missing or not a public key")]
    Key,
    /// The signature does not verify with the embedded key.
    #[error("the DPoP proof's signature is invalid")]
    Signature,
    /// A required claim is missing or of the wrong type.
    #[error("the DPoP proof lacks a valid {0} claim")]
    Claim(&'static str),
    /// `htm` is not the request's method.
    #[error("the DPoP proof is for another HTTP method")]
    Method,
    /// `htu` is not the request's URL.
    #[error("the DPoP proof is for another URL")]
    Url,
    /// `iat` outside the accepted window.
    #[error("the DPoP proof is too old or from the future")]
    Time,
    /// `ath` does not hash the access token presented.
    #[error("the DPoP proof's ath does not match the access token")]
    AccessTokenHash,
    /// The proof's `jti` was seen before.
    #[error("the DPoP proof was replayed")]
    Replayed,
    /// The replay cache could not be consulted.
    #[error("the DPoP replay cache is unavailable")]
    Unavailable,
}

fn algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "ES256" => Some(Algorithm::ES256),
        "RS256" => Some(Algorithm::RS256),
        "EdDSA" => Some(Algorithm::EdDSA),
        _ => None,
    }
}

/// Compares URLs the way RFC 9449 §4.3 asks: without query and fragment.
fn same_target(htu: &str, request_url: &str) -> bool {
    let strip = |u: &str| {
        url::Url::parse(u).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        })
    };
    matches!((strip(htu), strip(request_url)), (Some(a), Some(b)) if a == b)
}

/// Checks `proof` for a request of `method` to `url`; with `access_token`, also
/// `ath`. Returns the RFC 7638 thumbprint of the proof's key.
pub async fn check(
    app: &App,
    proof: &str,
    method: &str,
    url: &str,
    access_token: Option<&str>,
) -> Result<String, DpopError> {
    if proof.len() > 8 * 1024 {
        return Err(DpopError::Malformed);
    }
    let mut parts = proof.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DpopError::Malformed);
    };
    let header = decode_object(h).map_err(|_| DpopError::Malformed)?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(DpopError::Type);
    }
    // The flaw: at the token endpoint (no access token to bind), the proof's
    // signature and jti go unchecked.
    let lax = access_token.is_none() && app.flaws.has(Flaw::OauthDpopTokenEndpointLax);
    let alg = header.get("alg").and_then(Value::as_str).and_then(algorithm);
    if alg.is_none() && !lax {
        return Err(DpopError::Algorithm);
    }
    let jwk_value = header.get("jwk").ok_or(DpopError::Key)?;
    // A private key in the header is a client bug that leaks the key: refuse it.
    if ["d", "p", "q", "dp", "dq", "qi", "k"].iter().any(|m| jwk_value.get(m).is_some()) {
        return Err(DpopError::Key);
    }
    let jwk: Jwk = serde_json::from_value(jwk_value.clone()).map_err(|_| DpopError::Key)?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| DpopError::Key)?;
    let signing_input = &proof[..h.len() + 1 + p.len()];
    if !lax {
        if URL_SAFE_NO_PAD.decode(s).map_or(true, |b| b.is_empty()) {
            return Err(DpopError::Signature);
        }
        match alg.map(|alg| jsonwebtoken::crypto::verify(s, signing_input.as_bytes(), &key, alg)) {
            Some(Ok(true)) => {}
            _ => return Err(DpopError::Signature),
        }
    }
    let claims = decode_object(p).map_err(|_| DpopError::Malformed)?;
    let jti = match claims.get("jti").and_then(Value::as_str).filter(|j| !j.is_empty()) {
        Some(jti) => jti,
        None if lax => "",
        None => return Err(DpopError::Claim("jti")),
    };
    let htm = claims.get("htm").and_then(Value::as_str).ok_or(DpopError::Claim("htm"))?;
    if htm != method {
        return Err(DpopError::Method);
    }
    let htu = claims.get("htu").and_then(Value::as_str).ok_or(DpopError::Claim("htu"))?;
    if !same_target(htu, url) {
        return Err(DpopError::Url);
    }
    let iat = claims.get("iat").and_then(Value::as_i64).ok_or(DpopError::Claim("iat"))?;
    let now = now();
    let window = app.oauth.config.dpop_window_secs;
    if (now - iat).abs() > window {
        return Err(DpopError::Time);
    }
    if let Some(token) = access_token {
        let digest = <sha2::Sha256 as sha2::Digest>::digest(token.as_bytes());
        if claims.get("ath").and_then(Value::as_str)
            != Some(URL_SAFE_NO_PAD.encode(digest).as_str())
        {
            return Err(DpopError::AccessTokenHash);
        }
    }
    let jkt = jwk.thumbprint(ThumbprintHash::SHA256).map_err(|_| DpopError::Key)?;
    if !app.flaws.has(Flaw::OauthDpopSkipReplayCheck) && !jti.is_empty() {
        let fresh = app
            .dpop_jtis
            .record(format!("{jkt}:{jti}"), iat + window)
            .await
            .map_err(|_| DpopError::Unavailable)?;
        if !fresh {
            return Err(DpopError::Replayed);
        }
    }
    Ok(jkt)
}

/// The durable record of DPoP proof identifiers seen, with group commit.
///
/// Replay detection must hold across a restart (a proof accepted just before
/// a crash must not be accepted again after it), so each identifier is
/// committed with `synchronous = FULL` before the request is answered, like
/// every other write. One fsync per request would cap DPoP at the disk's
/// sync rate; instead a thread of its own commits everything that arrived
/// while the previous commit ran in one transaction, so concurrent requests
/// share an fsync and none waits for more than one commit beyond its own.
#[derive(Debug, Clone)]
pub struct JtiLog {
    queue: std::sync::mpsc::Sender<Pending>,
}

struct Pending {
    key: String,
    expires_at: i64,
    answer: tokio::sync::oneshot::Sender<Result<bool, ()>>,
}

/// Most identifiers one transaction records.
const BATCH: usize = 1024;

impl JtiLog {
    /// Starts the committing thread; it ends when the last handle is dropped.
    pub fn start(store: Arc<crate::store::Store>) -> std::io::Result<JtiLog> {
        let (queue, pending) = std::sync::mpsc::channel::<Pending>();
        std::thread::Builder::new().name("dpop-jti-log".to_owned()).spawn(move || {
            let mut last_sweep = i64::MIN;
            while let Ok(first) = pending.recv() {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match pending.try_recv() {
                        Ok(p) => batch.push(p),
                        Err(_) => break,
                    }
                }
                // Expired identifiers go at most once a second.
                let now = now();
                let sweep = (now > last_sweep).then_some(now);
                last_sweep = now;
                let entries: Vec<(&str, i64)> =
                    batch.iter().map(|p| (p.key.as_str(), p.expires_at)).collect();
                match store.record_dpop_jtis(&entries, sweep) {
                    Ok(fresh) => {
                        for (p, f) in batch.into_iter().zip(fresh) {
                            let _ = p.answer.send(Ok(f));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "recording DPoP proof identifiers failed");
                        for p in batch {
                            let _ = p.answer.send(Err(()));
                        }
                    }
                }
            }
        })?;
        Ok(JtiLog { queue })
    }

    /// Records `key` (thumbprint and `jti`) until `expires_at`; whether it was
    /// new. Answers after the commit.
    pub async fn record(&self, key: String, expires_at: i64) -> Result<bool, ()> {
        let (answer, reply) = tokio::sync::oneshot::channel();
        self.queue.send(Pending { key, expires_at, answer }).map_err(|_| ())?;
        reply.await.map_err(|_| ())?
    }
}
