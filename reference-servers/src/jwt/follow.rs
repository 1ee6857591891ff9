//! The `jwt-follow-jku` flaw: the mistake RFC 8725 §3.10 warns about, made
//! on purpose. A token whose header names a `jku` (a key set) or an `x5u` (a
//! certificate) has that URL fetched and the key found there trusted to
//! verify it; the claims are then checked as usual. Whoever can host a key
//! set can mint tokens, and anyone can make the server send requests.
//!
//! So that a flawed reference server cannot be turned against the network,
//! only `http://` URLs on loopback are fetched; that is where authbench's
//! out-of-band listener hosts the attacker's key.
//!
//! `jwt-kid-command` lives here too: a key looked up with a shell command,
//! simulated. A `kid` a shell would run as `curl URL` or `wget … URL` has
//! that URL fetched; nothing is ever executed.

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::verify::VerifiedToken;
use crate::app::App;
use crate::fetch::fetch_loopback;
use crate::respond::Authorization;

/// The token verified with the key its own `jku` or `x5u` points to, when
/// there is one, it verifies, and the claims hold; else `None` (the normal
/// path then decides).
pub(super) async fn follow(
    app: &App,
    headers: &HeaderMap,
    resource: Algorithm,
) -> Option<VerifiedToken> {
    let token = Authorization::of(headers).credentials_for("Bearer")?;
    let header_b64 = token.split('.').next()?;
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).ok()?).ok()?;
    let alg = jsonwebtoken::decode_header(token).ok()?.alg;
    if !matches!(alg, Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA) {
        return None;
    }
    let key = if let Some(jku) = header.get("jku").and_then(|v| v.as_str()) {
        let set: JwkSet = serde_json::from_slice(&fetch_loopback(jku).await?).ok()?;
        let kid = header.get("kid").and_then(|v| v.as_str());
        let jwk = set
            .keys
            .iter()
            .find(|k| kid.is_none() || k.common.key_id.as_deref() == kid)
            .or(set.keys.first())?;
        DecodingKey::from_jwk(jwk).ok()?
    } else {
        let x5u = header.get("x5u").and_then(|v| v.as_str())?;
        certificate_key(&fetch_loopback(x5u).await?)?
    };
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation).ok()?;
    app.jwt.verifier(resource).verify_claims(token, crate::app::now()).ok()
}

/// The public key of the first certificate in `pem`.
fn certificate_key(pem: &[u8]) -> Option<DecodingKey> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).ok()?;
    let cert = pem.parse_x509().ok()?;
    let spki = cert.public_key();
    let bits = &spki.subject_public_key.data;
    match spki.algorithm.algorithm.to_id_string().as_str() {
        "1.2.840.113549.1.1.1" => Some(DecodingKey::from_rsa_der(bits)),
        "1.2.840.10045.2.1" => Some(DecodingKey::from_ec_der(bits)),
        "1.3.101.112" => Some(DecodingKey::from_ed_der(bits)),
        _ => None,
    }
}

/// `jwt-kid-command`: the URL a shell would fetch if the token's `kid` were
/// spliced into a command line, fetched (never executed).
pub(super) async fn kid_command(headers: &HeaderMap) {
    let Some(token) = Authorization::of(headers).credentials_for("Bearer") else { return };
    let Some(kid) = token
        .split('.')
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|h| h.get("kid").and_then(|k| k.as_str()).map(str::to_owned))
    else {
        return;
    };
    if !(kid.contains("curl ") || kid.contains("wget ")) {
        return;
    }
    let Some(at) = kid.find("http://") else { return };
    let url: String =
        kid[at..].chars().take_while(|c| !c.is_whitespace() && !"`;|)&'\"".contains(*c)).collect();
    let _ = fetch_loopback(&url).await;
}
