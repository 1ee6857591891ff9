//! Access-token verification, explicit step by step (RFC 7515, RFC 7519, RFC 8725,
//! RFC 9068), so that nothing depends on a library's defaults and each flaw
//! switches off exactly one step.
//!
//! Parsing and every claim check are ours, because jsonwebtoken's defaults (no
//! `nbf`, no `iat`, audience optional) are not what RFC 8725 asks for, and
//! because the flaws need to reach inside. The signature arithmetic is
//! aws-lc-rs's, with the public key parsed once when the verifier is built
//! (jsonwebtoken re-parses it on every verification).

mod members;

pub use members::decode_object;
#[allow(clippy::wildcard_imports)]
use members::*;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use std::collections::BTreeMap;

use aws_lc_rs::{hmac, signature};

use base64::Engine;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use serde_json::Value;

use serde_json::value::RawValue;

/// Tokens longer than this are refused before any parsing (RFC 8725 §3.6's
/// spirit: bound the work an unauthenticated request can cause).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a token was refused. The `Display` text is safe to send as an
/// `error_description`: it names the failed check, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not three base64url segments of JSON objects, too long, or duplicate members.
    #[error("The access token is malformed")]
    Malformed,
    /// The header's `alg` is not the one this resource accepts (or is `none`).
    #[error("The token's signing algorithm is not accepted")]
    Algorithm,
    /// The header's `typ` is not `at+jwt` (RFC 9068 §4).
    #[error("The token is not an access token (typ)")]
    Type,
    /// The header lists a `crit` extension this server does not understand (RFC 7515 §4.1.11).
    #[error("The token requires an unsupported extension (crit)")]
    Critical,
    /// The header's `kid` names no key of this server.
    #[error("The token's key is unknown")]
    UnknownKey,
    /// The signature does not verify.
    #[error("The token's signature is invalid")]
    Signature,
    /// A required claim is absent.
    #[error("The token lacks the {0} claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type or an impossible value.
    #[error("The token's {0} claim is invalid")]
    InvalidClaim(&'static str),
    /// `exp` is past (beyond the leeway).
    #[error("The access token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("The access token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("The access token was issued in the future")]
    IssuedInFuture,
    /// `exp - iat` exceeds the longest lifetime this server issues.
    #[error("The access token's lifetime is too long")]
    LifetimeTooLong,
    /// `iss` is not this server's issuer.
    #[error("The token was issued by another issuer")]
    Issuer,
    /// `aud` does not name this resource server.
    #[error("The token is for another audience")]
    Audience,
    /// The `jti` is on the revocation list.
    #[error("The access token was revoked")]
    Revoked,
}

/// What a valid token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// `sub`.
    pub subject: String,
    /// The space-separated `scope` claim, split.
    pub scopes: Vec<String>,
    /// `jti`, if present.
    pub jti: Option<String>,
    /// `exp` in Unix seconds, if present.
    pub expires_at: Option<i64>,
    /// `cnf.jkt`: the DPoP key the token is bound to (RFC 9449 §6.1).
    pub cnf_jkt: Option<String>,
    /// `cnf.x5t#S256`: the client certificate it is bound to (RFC 8705 §3.1).
    pub cnf_x5t: Option<String>,
    /// `client_id` (RFC 9068 §2.2): the client the token was issued to.
    pub client_id: Option<String>,
    /// `azp` (OpenID Connect Core §2): the authorized party.
    pub azp: Option<String>,
}

/// The switches the flaws turn; all `false` on a correct server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifierFlaws {
    /// `jwt-accept-alg-none`.
    pub accept_alg_none: bool,
    /// `jwt-skip-exp`.
    pub skip_exp: bool,
    /// `jwt-skip-aud`.
    pub skip_aud: bool,
    /// `jwt-skip-signature`.
    pub skip_signature: bool,
    /// `jwt-ecdsa-psychic`: ES256 signatures whose r and s are each 0 or n.
    pub psychic_ecdsa: bool,
}

/// A verification key, parsed once.
enum VerifyKey {
    /// RSA, ECDSA or Ed25519 public key.
    Public(signature::ParsedPublicKey),
    /// HMAC-SHA-256 secret.
    Hmac(Box<hmac::Key>),
}

impl VerifyKey {
    fn new(alg: Algorithm, key: &DecodingKey) -> Result<Self, String> {
        let DecodingKeyKind::SecretOrDer(bytes) = key.kind() else {
            return Err("RSA keys must be given as DER, not modulus and exponent".into());
        };
        let public = |algorithm: &'static dyn signature::VerificationAlgorithm| {
            signature::ParsedPublicKey::new(algorithm, bytes)
                .map(VerifyKey::Public)
                .map_err(|e| e.to_string())
        };
        match alg {
            Algorithm::RS256 => public(&signature::RSA_PKCS1_2048_8192_SHA256),
            Algorithm::ES256 => public(&signature::ECDSA_P256_SHA256_FIXED),
            Algorithm::EdDSA => public(&signature::ED25519),
            Algorithm::HS256 => {
                Ok(VerifyKey::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, bytes))))
            }
            other => Err(format!("{other:?} is not supported by the reference servers")),
        }
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            VerifyKey::Public(key) => key.verify_sig(message, signature).is_ok(),
            // Constant-time comparison inside aws-lc.
            VerifyKey::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
        }
    }
}

/// Verifies access tokens for one resource: one algorithm, one key.
pub struct Verifier {
    alg: Algorithm,
    alg_name: &'static str,
    key: VerifyKey,
    kid: String,
    issuer: String,
    audience: String,
    leeway: i64,
    max_lifetime: i64,
    flaws: VerifierFlaws,
    /// `jwt-key-confusion`: HS256 also accepted, keyed with this (the public PEM).
    confused_hmac_key: Option<VerifyKey>,
    /// `jwt-default-hmac-secret`: a second HS256 key, a well-known string.
    fallback_hmac_key: Option<VerifyKey>,
    /// The encoded header of the tokens this resource's issuer mints, already
    /// found to pass every header check: a token whose header segment is these
    /// exact bytes skips decoding and parsing it (the checks are a function of
    /// the bytes alone). Any other header takes the full path.
    known_header: Option<Box<str>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier accepting only `alg`, with `key` (whose `kid` is `kid`);
    /// fails if the key does not parse for `alg`.
    pub fn new(
        alg: Algorithm,
        key: &DecodingKey,
        kid: String,
        settings: VerifierSettings,
    ) -> Result<Self, String> {
        Ok(Verifier {
            alg,
            alg_name: alg_name(alg),
            key: VerifyKey::new(alg, key)?,
            kid,
            issuer: settings.issuer,
            audience: settings.audience,
            leeway: settings.leeway_secs,
            max_lifetime: settings.max_lifetime_secs,
            flaws: settings.flaws,
            confused_hmac_key: None,
            fallback_hmac_key: None,
            known_header: None,
        })
    }

    /// Remembers `header_b64` (the header segment of this issuer's tokens) for
    /// the fast path, if it passes the header checks; returns whether it did.
    pub fn remember_header(&mut self, header_b64: &str) -> bool {
        let mut buffer = [0u8; SEGMENT_ON_STACK];
        let passes = decode_segment(header_b64, &mut buffer).ok().is_some_and(|bytes| {
            Members::parse(&bytes).is_ok_and(|header| {
                let kid_matches = match header.string("kid") {
                    None => true,
                    Some(Ok(kid)) => kid == self.kid,
                    Some(Err(())) => false,
                };
                kid_matches && self.check_header(&header).is_ok_and(|alg| alg == self.alg_name)
            })
        });
        if passes {
            self.known_header = Some(header_b64.into());
        }
        passes
    }

    /// Switches on `jwt-key-confusion`: HS256 tokens verified with `public_pem` as the secret.
    pub fn with_key_confusion(mut self, public_pem: &str) -> Self {
        self.confused_hmac_key = Some(VerifyKey::Hmac(Box::new(hmac::Key::new(
            hmac::HMAC_SHA256,
            public_pem.as_bytes(),
        ))));
        self
    }

    /// Switches on `jwt-default-hmac-secret`: HS256 tokens MACed with
    /// `secret` verify too, as when code falls back to a default secret.
    pub fn with_fallback_secret(mut self, secret: &[u8]) -> Self {
        self.fallback_hmac_key =
            Some(VerifyKey::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, secret))));
        self
    }

    /// The bare primitive the verifier is built on: `signature` over `message`
    /// with the resource's key, nothing else. The benchmarks set the whole
    /// path of [`Verifier::verify`] beside it.
    pub fn verify_signature(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify(message, signature)
    }

    /// Verifies `token` at Unix time `now`.
    pub fn verify(&self, token: &str, now: i64) -> Result<VerifiedToken, TokenError> {
        let (header_b64, payload_b64, signature_b64) = segments(token)?;
        // The signing input is the two encoded segments exactly as received.
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        if self.known_header.as_deref() == Some(header_b64) {
            // The same bytes passed the header checks, the algorithm and the
            // kid when they were remembered.
            if !self.flaws.skip_signature && !self.psychic(signature_b64) {
                self.verify_own(signing_input, signature_b64)?;
            }
        } else {
            let mut header_buffer = [0u8; SEGMENT_ON_STACK];
            let header_bytes = decode_segment(header_b64, &mut header_buffer)?;
            let header = Members::parse(&header_bytes)?;
            let alg = self.check_header(&header)?;
            self.check_signature(&header, &alg, signing_input, signature_b64)?;
        }
        let mut payload_buffer = [0u8; SEGMENT_ON_STACK];
        let payload_bytes = decode_segment(payload_b64, &mut payload_buffer)?;
        let claims = Members::parse(&payload_bytes)?;
        self.check_claims(&claims, now)
    }

    /// Every check of [`Verifier::verify`] but the signature and the `kid`:
    /// for a token whose signature was checked elsewhere (the
    /// `jwt-follow-jku` flaw checks it with the key the token points to).
    pub fn verify_claims(&self, token: &str, now: i64) -> Result<VerifiedToken, TokenError> {
        let (header_b64, payload_b64, _) = segments(token)?;
        let mut header_buffer = [0u8; SEGMENT_ON_STACK];
        let header_bytes = decode_segment(header_b64, &mut header_buffer)?;
        self.check_header(&Members::parse(&header_bytes)?)?;
        let mut payload_buffer = [0u8; SEGMENT_ON_STACK];
        let payload_bytes = decode_segment(payload_b64, &mut payload_buffer)?;
        self.check_claims(&Members::parse(&payload_bytes)?, now)
    }

    /// `alg` present, `typ` of an access token, no `crit`: returns `alg`.
    fn check_header<'a>(&self, header: &Members<'a>) -> Result<Cow<'a, str>, TokenError> {
        let alg = match header.string("alg") {
            Some(Ok(alg)) => alg,
            _ => return Err(TokenError::Malformed),
        };
        match header.string("typ") {
            Some(Ok(typ))
                if typ.eq_ignore_ascii_case("at+jwt")
                    || typ.eq_ignore_ascii_case("application/at+jwt") => {}
            _ => return Err(TokenError::Type),
        }
        if header.raw("crit").is_some() {
            return Err(TokenError::Critical);
        }
        Ok(alg)
    }

    fn check_signature(
        &self,
        header: &Members<'_>,
        alg: &str,
        signing_input: &str,
        signature_b64: &str,
    ) -> Result<(), TokenError> {
        if alg.eq_ignore_ascii_case("none") {
            return if self.flaws.accept_alg_none { Ok(()) } else { Err(TokenError::Algorithm) };
        }
        if alg == self.alg_name {
        } else if alg == "HS256" && self.confused_hmac_key.is_some() {
            // The flaw: trusting the header's alg and using whatever key the
            // resource has, so the RSA public key becomes an HMAC secret.
            return verify_with(
                self.confused_hmac_key.as_ref().ok_or(TokenError::Algorithm)?,
                signing_input,
                signature_b64,
            );
        } else {
            return Err(TokenError::Algorithm);
        }
        if self.flaws.skip_signature || self.psychic(signature_b64) {
            return Ok(());
        }
        match header.string("kid") {
            None => {}
            Some(Ok(kid)) if kid == self.kid => {}
            Some(_) => return Err(TokenError::UnknownKey),
        }
        self.verify_own(signing_input, signature_b64)
    }

    /// The signature checked with the resource's key (and, under
    /// `jwt-default-hmac-secret`, the well-known fallback secret).
    fn verify_own(&self, signing_input: &str, signature_b64: &str) -> Result<(), TokenError> {
        let result = verify_with(&self.key, signing_input, signature_b64);
        match (&result, &self.fallback_hmac_key) {
            (Err(_), Some(fallback)) => verify_with(fallback, signing_input, signature_b64),
            _ => result,
        }
    }

    fn check_claims(&self, claims: &Members<'_>, now: i64) -> Result<VerifiedToken, TokenError> {
        let iat = numeric_date(claims, "iat")?.ok_or(TokenError::MissingClaim("iat"))?;
        // Saturating: a date of i64::MAX must not overflow (the fuzzer's find).
        if iat > now.saturating_add(self.leeway) {
            return Err(TokenError::IssuedInFuture);
        }
        let exp = numeric_date(claims, "exp")?;
        if !self.flaws.skip_exp {
            let exp = exp.ok_or(TokenError::MissingClaim("exp"))?;
            if now > exp.saturating_add(self.leeway) {
                return Err(TokenError::Expired);
            }
            if exp.saturating_sub(iat) > self.max_lifetime {
                return Err(TokenError::LifetimeTooLong);
            }
        }
        if let Some(nbf) = numeric_date(claims, "nbf")?
            && nbf > now.saturating_add(self.leeway)
        {
            return Err(TokenError::NotYetValid);
        }
        match claims.string("iss") {
            Some(Ok(iss)) if iss == self.issuer => {}
            Some(Ok(_)) => return Err(TokenError::Issuer),
            Some(Err(())) => return Err(TokenError::InvalidClaim("iss")),
            None => return Err(TokenError::MissingClaim("iss")),
        }
        if !self.flaws.skip_aud {
            match claims.raw("aud").map(audience) {
                Some(Audience::One(aud)) if aud == self.audience => {}
                // An array is acceptable when it names us (RFC 7519 §4.1.3).
                Some(Audience::Many(auds)) if auds.iter().any(|a| *a == self.audience) => {}
                Some(Audience::One(_) | Audience::Many(_)) => return Err(TokenError::Audience),
                Some(Audience::Invalid) => return Err(TokenError::InvalidClaim("aud")),
                None => return Err(TokenError::MissingClaim("aud")),
            }
        }
        let subject = match claims.string("sub") {
            Some(Ok(sub)) if !sub.is_empty() => sub.into_owned(),
            Some(_) => return Err(TokenError::InvalidClaim("sub")),
            None => return Err(TokenError::MissingClaim("sub")),
        };
        let scopes = match claims.string("scope") {
            None => Vec::new(),
            Some(Ok(scope)) => {
                scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect()
            }
            Some(Err(())) => return Err(TokenError::InvalidClaim("scope")),
        };
        let jti = match claims.string("jti") {
            None => None,
            Some(Ok(jti)) if !jti.is_empty() => Some(jti.into_owned()),
            Some(_) => return Err(TokenError::InvalidClaim("jti")),
        };
        // `cnf` (RFC 7800) only on bound tokens: parsed when present.
        let cnf = match claims.raw("cnf") {
            Some(raw) => serde_json::from_str::<BTreeMap<String, Value>>(raw.get())
                .map_err(|_| TokenError::InvalidClaim("cnf"))?,
            None => BTreeMap::new(),
        };
        let cnf_jkt = cnf.get("jkt").and_then(Value::as_str).map(str::to_owned);
        let cnf_x5t = cnf.get("x5t#S256").and_then(Value::as_str).map(str::to_owned);
        let party = |name: &'static str| match claims.string(name) {
            None => Ok(None),
            Some(Ok(value)) if !value.is_empty() => Ok(Some(value.into_owned())),
            Some(_) => Err(TokenError::InvalidClaim(name)),
        };
        let client_id = party("client_id")?;
        let azp = party("azp")?;
        Ok(VerifiedToken {
            subject,
            scopes,
            jti,
            expires_at: exp,
            cnf_jkt,
            cnf_x5t,
            client_id,
            azp,
        })
    }
}

/// The settings of a [`Verifier`] that are not the key.
#[derive(Debug, Clone)]
pub struct VerifierSettings {
    /// The only accepted `iss`.
    pub issuer: String,
    /// This resource server's identifier, which `aud` must contain.
    pub audience: String,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: i64,
    /// The longest `exp - iat` accepted, in seconds.
    pub max_lifetime_secs: i64,
    /// Flaw switches.
    pub flaws: VerifierFlaws,
}

/// Checks a signature: strict unpadded base64url (RFC 7515 §2), then the key.
/// P-256's group order n, big-endian.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

impl Verifier {
    /// The `jwt-ecdsa-psychic` flaw: an ES256 verifier that never checks
    /// 0 < r, s < n, as Java's did (CVE-2022-21449), takes r and s that are
    /// 0 modulo n as a valid signature of anything.
    fn psychic(&self, signature_b64: &str) -> bool {
        if !self.flaws.psychic_ecdsa || self.alg_name != "ES256" {
            return false;
        }
        let mut buffer = [0u8; 64];
        let zero_mod_n = |half: &[u8]| half.iter().all(|b| *b == 0) || half == P256_ORDER;
        matches!(URL_SAFE_NO_PAD.decode_slice(signature_b64, &mut buffer), Ok(64))
            && zero_mod_n(&buffer[..32])
            && zero_mod_n(&buffer[32..])
    }
}

/// A compact JWS's three segments, if it is one and not too long.
#[inline]
fn segments(token: &str) -> Result<(&str, &str, &str), TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(payload), Some(signature), None) => Ok((header, payload, signature)),
        _ => Err(TokenError::Malformed),
    }
}

fn verify_with(
    key: &VerifyKey,
    signing_input: &str,
    signature_b64: &str,
) -> Result<(), TokenError> {
    // Every supported signature fits on the stack (RS256: 256 bytes).
    let mut buffer = [0u8; 512];
    match URL_SAFE_NO_PAD.decode_slice(signature_b64, &mut buffer) {
        Ok(n) if n > 0 && key.verify(signing_input.as_bytes(), &buffer[..n]) => Ok(()),
        _ => Err(TokenError::Signature),
    }
}

/// The JWS name of `alg`.
pub fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        _ => "unsupported",
    }
}

/// A NumericDate claim (RFC 7519 §2): a JSON number, possibly fractional,
/// truncated to whole seconds. A string or any other type is invalid.
fn numeric_date(claims: &Members<'_>, name: &'static str) -> Result<Option<i64>, TokenError> {
    let number = match claims.raw(name) {
        None => return Ok(None),
        // Whole seconds, the usual case, without building a JSON value.
        Some(raw) => match raw.get().parse::<i64>() {
            Ok(seconds) => return Ok(Some(seconds)),
            Err(_) => serde_json::from_str::<Value>(raw.get()).ok(),
        },
    };
    match number {
        None => Err(TokenError::InvalidClaim(name)),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else {
                match n.as_f64() {
                    // Beyond ±2^53 a float is no longer a precise second; such
                    // dates are nonsense for a token anyway.
                    Some(f) if f.is_finite() && f.abs() < 9.007_199_254_740_992e15 => {
                        Ok(Some(f.trunc() as i64))
                    }
                    _ => Err(TokenError::InvalidClaim(name)),
                }
            }
        }
        Some(_) => Err(TokenError::InvalidClaim(name)),
    }
}
