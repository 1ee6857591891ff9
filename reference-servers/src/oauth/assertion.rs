//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3): a client
//! registered with a public key authenticates at the token endpoint with a
//! JWT it signed — issuer and subject its client_id, audience this server,
//! short-lived, used once.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::store::OAuthClient;
use super::{OAuthError, Params};
use crate::app::{App, now};
use crate::files::{self, Access};
use crate::flaws::Flaw;

/// RFC 7523 §2.2's `client_assertion_type`.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The client that authenticates this way.
pub const CLIENT_ID: &str = "authbench-jwt-client";

/// Its private key, relative to the state directory (the profile names it).
pub const KEY_FILE: &str = "keys/oauth-client-assertion.pem";

/// The only algorithm the client's key is registered for.
pub const ALGORITHM: Algorithm = Algorithm::ES256;

/// Assertions issued longer ago than this are refused (RFC 7523 §3 item 6
/// lets the server reject an `iat` unreasonably far in the past).
const MAX_AGE_SECS: i64 = 3600;

/// The registered public key and the `jti`s seen, until their `exp`.
pub struct Assertions {
    key: DecodingKey,
    seen: Mutex<HashMap<String, i64>>,
}

impl std::fmt::Debug for Assertions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assertions").finish_non_exhaustive()
    }
}

impl Assertions {
    /// Loads the client's key from `state_dir`, generating it the first time.
    pub fn load_or_generate(state_dir: &Path) -> Result<Self, String> {
        let path = state_dir.join(KEY_FILE);
        let private = match files::read_optional(&path).map_err(|e| e.to_string())? {
            Some(text) => text,
            None => {
                let pem = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                    .map_err(|e| e.to_string())?
                    .serialize_pem();
                files::write_atomic(&path, pem.as_bytes(), Access::Private)
                    .map_err(|e| e.to_string())?;
                pem
            }
        };
        let pair =
            rcgen::KeyPair::from_pem(&private).map_err(|e| format!("{}: {e}", path.display()))?;
        let key = DecodingKey::from_ec_pem(pair.public_key_pem().as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Assertions { key, seen: Mutex::new(HashMap::new()) })
    }

    /// The claims of a request object (RFC 9101) signed with the client's
    /// registered key; `unverified` (the `oauth-jar-unverified` flaw) reads
    /// them without a look at the signature, unsigned ones included.
    pub fn request_object_claims(
        &self,
        jwt: &str,
        unverified: bool,
    ) -> Result<serde_json::Value, String> {
        if unverified {
            return unverified_claims(jwt)
                .ok_or_else(|| "the request object is not a JWT".to_owned());
        }
        let mut validation = Validation::new(ALGORITHM);
        validation.required_spec_claims.clear();
        validation.validate_exp = true;
        validation.validate_aud = false;
        jsonwebtoken::decode::<serde_json::Value>(jwt, &self.key, &validation)
            .map(|data| data.claims)
            .map_err(|e| format!("the request object is not validly signed: {e}"))
    }

    /// The client a valid assertion in `params` authenticates.
    pub fn authenticate(&self, app: &App, params: &Params) -> Result<OAuthClient, OAuthError> {
        if params.get("client_assertion_type") != Some(ASSERTION_TYPE) {
            return Err(OAuthError::invalid_client("unsupported client_assertion_type"));
        }
        let jwt = params.require("client_assertion")?;
        let claims = self.verify(app, jwt)?;
        let issuer = claims.get("iss").and_then(|v| v.as_str());
        let subject = claims.get("sub").and_then(|v| v.as_str());
        let unchecked = app.flaws.has(Flaw::OauthClientAssertionClaimsUnchecked);
        let client_id = match (issuer, subject) {
            (Some(i), Some(s)) if i == s => i,
            _ if unchecked => CLIENT_ID,
            _ => return Err(OAuthError::invalid_client("iss and sub must both be the client_id")),
        };
        if params.get("client_id").is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_client("client_id differs from the assertion's"));
        }
        if client_id != CLIENT_ID {
            return Err(OAuthError::invalid_client("no key is registered for this client"));
        }
        let now = now();
        let iat = claims.get("iat").and_then(serde_json::Value::as_i64);
        if !unchecked && iat.is_some_and(|iat| iat < now - MAX_AGE_SECS) {
            return Err(OAuthError::invalid_client("the assertion was issued too long ago"));
        }
        // One use per jti (RFC 7523 §3 item 7), remembered until its exp.
        let jti = claims.get("jti").and_then(|v| v.as_str()).map(str::to_owned);
        let exp = claims.get("exp").and_then(serde_json::Value::as_i64).unwrap_or(now);
        match jti {
            None if !unchecked => {
                return Err(OAuthError::invalid_client("the assertion needs a jti"));
            }
            Some(jti) if !app.flaws.has(Flaw::OauthClientAssertionReplay) => {
                let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
                seen.retain(|_, until| *until >= now);
                if seen.insert(jti, exp.max(now)).is_some() {
                    return Err(OAuthError::invalid_client("the assertion was used already"));
                }
            }
            _ => {}
        }
        app.store
            .oauth_client(client_id)?
            .ok_or_else(|| OAuthError::invalid_client("unknown client"))
    }

    /// The claims of `jwt`: its signature verified with the registered key
    /// (unless `oauth-client-assertion-unverified`), then `exp`, `nbf` and
    /// `aud` checked (unless `oauth-client-assertion-claims-unchecked`).
    fn verify(&self, app: &App, jwt: &str) -> Result<serde_json::Value, OAuthError> {
        let claims = if app.flaws.has(Flaw::OauthClientAssertionUnverified) {
            unverified_claims(jwt)
                .ok_or_else(|| OAuthError::invalid_client("the client assertion is not a JWT"))?
        } else {
            let mut validation = Validation::new(ALGORITHM);
            validation.required_spec_claims.clear();
            validation.validate_exp = false;
            validation.validate_aud = false;
            jsonwebtoken::decode::<serde_json::Value>(jwt, &self.key, &validation)
                .map(|data| data.claims)
                .map_err(|e| {
                    OAuthError::invalid_client(format!("the client assertion is not valid: {e}"))
                })?
        };
        if !app.flaws.has(Flaw::OauthClientAssertionClaimsUnchecked) {
            check_claims(app, &claims)?;
        }
        Ok(claims)
    }
}

/// RFC 7523 §3: `exp` required and not passed, `nbf` passed, `aud` naming
/// this server (its token endpoint or its issuer), with 5 s of leeway.
fn check_claims(app: &App, claims: &serde_json::Value) -> Result<(), OAuthError> {
    const LEEWAY: i64 = 5;
    let now = now();
    let number = |name: &str| claims.get(name).and_then(serde_json::Value::as_i64);
    match number("exp") {
        None => return Err(OAuthError::invalid_client("the assertion has no exp")),
        Some(exp) if exp + LEEWAY < now => {
            return Err(OAuthError::invalid_client("the assertion expired"));
        }
        Some(_) => {}
    }
    if number("nbf").is_some_and(|nbf| nbf - LEEWAY > now) {
        return Err(OAuthError::invalid_client("the assertion is not valid yet"));
    }
    let ours = [app.oauth.url(super::paths::TOKEN), app.oauth.issuer.clone()];
    let names_us = |v: &serde_json::Value| v.as_str().is_some_and(|a| ours.iter().any(|o| o == a));
    let aud_ok = match claims.get("aud") {
        Some(serde_json::Value::Array(list)) => list.iter().any(names_us),
        Some(one) => names_us(one),
        None => false,
    };
    if !aud_ok {
        return Err(OAuthError::invalid_client("the assertion's aud does not name this server"));
    }
    Ok(())
}

/// The payload of `jwt`, read without any check (the unverified flaw).
fn unverified_claims(jwt: &str) -> Option<serde_json::Value> {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `oauth-assertion-follow-jku`: the `jku` or `x5u` of a client assertion in
/// a token request's `body`, fetched (loopback only) before the assertion is
/// checked against the client's registered key as usual.
pub async fn follow_flaw(app: &App, body: &str) {
    if !app.flaws.has(Flaw::OauthAssertionFollowJku) {
        return;
    }
    let Some(assertion) = form_urlencoded::parse(body.as_bytes())
        .find(|(n, _)| n == "client_assertion")
        .map(|(_, v)| v.into_owned())
    else {
        return;
    };
    let Ok(header) = jsonwebtoken::decode_header(&assertion) else { return };
    for url in [header.jku, header.x5u].into_iter().flatten() {
        let _ = crate::fetch::fetch_loopback(&url).await;
    }
}
