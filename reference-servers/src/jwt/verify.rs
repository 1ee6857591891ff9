//! Access-token verification, explicit step by step (RFC 7515, RFC 7519, RFC 8725,
//! RFC 9068), so that nothing depends on a library's defaults and each flaw
//! switches off exactly one step.
//!
//! Parsing and every claim check are ours, because jsonwebtoken's defaults (no
//! `nbf`, no `iat`, audience optional) are not what RFC 8725 asks for, and
//! because the flaws need to reach inside. The signature arithmetic is
//! aws-lc-rs's, with the public key parsed once when the verifier is built
//! (jsonwebtoken re-parses it on every verification).

use std::collections::BTreeMap;

use aws_lc_rs::{hmac, signature};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

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
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
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
        })
    }

    /// Switches on `jwt-key-confusion`: HS256 tokens verified with `public_pem` as the secret.
    pub fn with_key_confusion(mut self, public_pem: &str) -> Self {
        self.confused_hmac_key = Some(VerifyKey::Hmac(Box::new(hmac::Key::new(
            hmac::HMAC_SHA256,
            public_pem.as_bytes(),
        ))));
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
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header = decode_object(header_b64)?;
        let alg = match header.get("alg") {
            Some(Value::String(alg)) => alg.as_str(),
            _ => return Err(TokenError::Malformed),
        };
        match header.get("typ") {
            Some(Value::String(typ))
                if typ.eq_ignore_ascii_case("at+jwt")
                    || typ.eq_ignore_ascii_case("application/at+jwt") => {}
            _ => return Err(TokenError::Type),
        }
        if header.contains_key("crit") {
            return Err(TokenError::Critical);
        }
        // The signing input is the two encoded segments exactly as received.
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        self.check_signature(&header, alg, signing_input, signature_b64)?;
        let claims = decode_object(payload_b64)?;
        self.check_claims(&claims, now)
    }

    fn check_signature(
        &self,
        header: &BTreeMap<String, Value>,
        alg: &str,
        signing_input: &str,
        signature_b64: &str,
    ) -> Result<(), TokenError> {
        if alg.eq_ignore_ascii_case("none") {
            return if self.flaws.accept_alg_none { Ok(()) } else { Err(TokenError::Algorithm) };
        }
        let key = if alg == self.alg_name {
            &self.key
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
        };
        if self.flaws.skip_signature {
            return Ok(());
        }
        match header.get("kid") {
            None => {}
            Some(Value::String(kid)) if *kid == self.kid => {}
            Some(_) => return Err(TokenError::UnknownKey),
        }
        verify_with(key, signing_input, signature_b64)
    }

    fn check_claims(
        &self,
        claims: &BTreeMap<String, Value>,
        now: i64,
    ) -> Result<VerifiedToken, TokenError> {
        let iat = numeric_date(claims, "iat")?.ok_or(TokenError::MissingClaim("iat"))?;
        if iat > now + self.leeway {
            return Err(TokenError::IssuedInFuture);
        }
        let exp = numeric_date(claims, "exp")?;
        if !self.flaws.skip_exp {
            let exp = exp.ok_or(TokenError::MissingClaim("exp"))?;
            if now > exp + self.leeway {
                return Err(TokenError::Expired);
            }
            if exp - iat > self.max_lifetime {
                return Err(TokenError::LifetimeTooLong);
            }
        }
        if let Some(nbf) = numeric_date(claims, "nbf")?
            && nbf > now + self.leeway
        {
            return Err(TokenError::NotYetValid);
        }
        match claims.get("iss") {
            Some(Value::String(iss)) if *iss == self.issuer => {}
            Some(Value::String(_)) => return Err(TokenError::Issuer),
            Some(_) => return Err(TokenError::InvalidClaim("iss")),
            None => return Err(TokenError::MissingClaim("iss")),
        }
        if !self.flaws.skip_aud {
            match claims.get("aud") {
                Some(Value::String(aud)) if *aud == self.audience => {}
                // An array is acceptable when it names us (RFC 7519 §4.1.3).
                Some(Value::Array(auds))
                    if auds.iter().all(Value::is_string)
                        && auds.iter().any(|a| a.as_str() == Some(&self.audience)) => {}
                Some(Value::String(_) | Value::Array(_)) => return Err(TokenError::Audience),
                Some(_) => return Err(TokenError::InvalidClaim("aud")),
                None => return Err(TokenError::MissingClaim("aud")),
            }
        }
        let subject = match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            Some(_) => return Err(TokenError::InvalidClaim("sub")),
            None => return Err(TokenError::MissingClaim("sub")),
        };
        let scopes = match claims.get("scope") {
            None => Vec::new(),
            Some(Value::String(scope)) => {
                scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect()
            }
            Some(_) => return Err(TokenError::InvalidClaim("scope")),
        };
        let jti = match claims.get("jti") {
            None => None,
            Some(Value::String(jti)) if !jti.is_empty() => Some(jti.clone()),
            Some(_) => return Err(TokenError::InvalidClaim("jti")),
        };
        let cnf_jkt =
            claims.get("cnf").and_then(|c| c.get("jkt")).and_then(Value::as_str).map(str::to_owned);
        let cnf_x5t = claims
            .get("cnf")
            .and_then(|c| c.get("x5t#S256"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(VerifiedToken { subject, scopes, jti, expires_at: exp, cnf_jkt, cnf_x5t })
    }
}

/// Checks a signature: strict unpadded base64url (RFC 7515 §2), then the key.
fn verify_with(
    key: &VerifyKey,
    signing_input: &str,
    signature_b64: &str,
) -> Result<(), TokenError> {
    match URL_SAFE_NO_PAD.decode(signature_b64) {
        Ok(signature)
            if !signature.is_empty() && key.verify(signing_input.as_bytes(), &signature) =>
        {
            Ok(())
        }
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
fn numeric_date(
    claims: &BTreeMap<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
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

/// Decodes one segment: strict unpadded base64url, then a JSON object whose
/// members are all distinct (RFC 7515 §5.2 and RFC 7519 §7.2 let a parser
/// reject duplicates; accepting them invites parser-differential attacks).
pub fn decode_object(segment: &str) -> Result<BTreeMap<String, Value>, TokenError> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice::<UniqueObject>(&bytes).map(|o| o.0).map_err(|_| TokenError::Malformed)
}

/// A JSON object that refuses duplicate member names at its top level.
struct UniqueObject(BTreeMap<String, Value>);

impl<'de> Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UniqueVisitor;
        impl<'de> Visitor<'de> for UniqueVisitor {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object without duplicate members")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueObject, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    if out.insert(key, value).is_some() {
                        return Err(serde::de::Error::custom("duplicate member"));
                    }
                }
                Ok(UniqueObject(out))
            }
        }
        deserializer.deserialize_map(UniqueVisitor)
    }
}
