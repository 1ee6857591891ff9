//! DPoP (RFC 9449): a key, its proofs, and proofs spoiled on purpose.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use sha2::Digest as _;
use url::Url;

use super::{OAuthError, Session, Tokens};
use crate::verdict::observe;

/// A DPoP key (ES256) and proofs made with it (RFC 9449 §4.2).
pub struct DpopKey {
    key: EncodingKey,
    /// The public JWK.
    pub jwk: Value,
    private_d: String,
    /// The PKCS#8 document, for [`DpopKey::minter`].
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey").field("jwk", &self.jwk).finish_non_exhaustive()
    }
}

/// Valid DPoP proofs for one request line and token, each with its own `jti`
/// and the `iat` of its minting.
pub struct ProofMinter {
    pair: aws_lc_rs::signature::EcdsaKeyPair,
    header: String,
    htm: String,
    htu: String,
    ath: String,
}

impl std::fmt::Debug for ProofMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProofMinter").field("htm", &self.htm).field("htu", &self.htu).finish()
    }
}

impl ProofMinter {
    /// A fresh proof.
    pub fn mint(&self) -> Result<String, String> {
        let iat = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let claims = json!({
            "jti": crate::methods::forge::random_string(crate::methods::forge::ALNUM, 22),
            "htm": self.htm,
            "htu": self.htu,
            "iat": iat,
            "ath": self.ath,
        });
        let input = format!("{}.{}", self.header, URL_SAFE_NO_PAD.encode(claims.to_string()));
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let sig = self
            .pair
            .sign(&rng, input.as_bytes())
            .map_err(|_| "signing a DPoP proof failed".to_owned())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())))
    }
}

/// Changes to a DPoP proof (the server must refuse each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofFlaw {
    /// `typ` is `JWT`.
    WrongTyp,
    /// `alg: none`, no signature.
    AlgNone,
    /// The signature does not verify.
    BadSignature,
    /// The private key is in the header's `jwk`.
    PrivateJwk,
    /// `htm` is another method.
    WrongHtm,
    /// `htu` is another URL.
    WrongHtu,
    /// `iat` ten minutes ago.
    Stale,
    /// `iat` ten minutes ahead.
    Future,
    /// No `jti`.
    NoJti,
    /// `ath` of another token.
    WrongAth,
    /// No `ath` where a token is presented.
    NoAth,
    /// Signed with a key other than the one in `jwk`.
    OtherKey,
}

impl DpopKey {
    /// A fresh P-256 key.
    pub fn generate() -> Result<DpopKey, OAuthError> {
        let fail = |e: &dyn std::fmt::Display| OAuthError::failed("a DPoP key", e.to_string());
        let pair =
            rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| fail(&e))?;
        let key =
            EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).map_err(|e| fail(&e))?;
        let raw = pair.public_key_raw();
        if raw.len() != 65 {
            return Err(fail(&"unexpected P-256 public key length"));
        }
        let jwk = json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&raw[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&raw[33..65]),
        });
        // The private scalar sits in the PKCS#8 document as OCTET STRING 04 20.
        let der = pair.serialized_der();
        let d = der
            .windows(2)
            .position(|w| w == [0x04, 0x20])
            .and_then(|at| der.get(at + 2..at + 34))
            .map(|d| URL_SAFE_NO_PAD.encode(d))
            .unwrap_or_default();
        Ok(DpopKey { key, jwk, private_d: d, pkcs8: der.to_vec() })
    }

    /// Mints valid proofs for `method` `url` bound to `token`, fast: the key
    /// parsed once, the header encoded once (for load, where each request
    /// needs a proof of its own).
    pub fn minter(&self, method: &str, url: &Url, token: &str) -> Result<ProofMinter, OAuthError> {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &self.pkcs8)
            .map_err(|e| OAuthError::failed("a DPoP key", e.to_string()))?;
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk });
        Ok(ProofMinter {
            pair,
            header: URL_SAFE_NO_PAD.encode(header.to_string()),
            htm: method.to_owned(),
            htu: htu.to_string(),
            ath: URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(token)),
        })
    }

    /// The RFC 7638 thumbprint of the public key.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            self.jwk["x"].as_str().unwrap_or_default(),
            self.jwk["y"].as_str().unwrap_or_default()
        );
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes()))
    }

    /// A proof for `method` `url`, bound to `token` when given, spoiled by `flaw`.
    pub fn proof(
        &self,
        method: &str,
        url: &Url,
        token: Option<&str>,
        flaw: Option<ProofFlaw>,
        other: Option<&DpopKey>,
    ) -> String {
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut jwk = self.jwk.clone();
        if flaw == Some(ProofFlaw::PrivateJwk) {
            jwk["d"] = Value::String(self.private_d.clone());
        }
        let mut header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": jwk });
        let mut claims = json!({
            "jti": crate::methods::forge::random_string(crate::methods::forge::ALNUM, 22),
            "htm": method,
            "htu": htu.as_str(),
            "iat": now,
        });
        if let Some(token) = token {
            claims["ath"] = Value::String(URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(token)));
        }
        match flaw {
            Some(ProofFlaw::WrongTyp) => header["typ"] = json!("JWT"),
            Some(ProofFlaw::WrongHtm) => {
                claims["htm"] = json!(if method == "GET" { "POST" } else { "GET" })
            }
            Some(ProofFlaw::WrongHtu) => {
                claims["htu"] = json!(format!("{}/elsewhere", htu.as_str().trim_end_matches('/')))
            }
            Some(ProofFlaw::Stale) => claims["iat"] = json!(now - 600),
            Some(ProofFlaw::Future) => claims["iat"] = json!(now + 600),
            Some(ProofFlaw::NoJti) => {
                if let Some(map) = claims.as_object_mut() {
                    map.remove("jti");
                }
            }
            Some(ProofFlaw::WrongAth) => {
                claims["ath"] =
                    json!(URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(b"another token")))
            }
            Some(ProofFlaw::NoAth) => {
                if let Some(map) = claims.as_object_mut() {
                    map.remove("ath");
                }
            }
            _ => {}
        }
        if flaw == Some(ProofFlaw::AlgNone) {
            header["alg"] = json!("none");
            let seg = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
            return format!("{}.{}.", seg(&header), seg(&claims));
        }
        let signer = match (flaw, other) {
            (Some(ProofFlaw::OtherKey), Some(o)) => &o.key,
            _ => &self.key,
        };
        let signed = crate::methods::jwt::forge::sign_json(
            &header.to_string(),
            &claims.to_string(),
            signer,
            Algorithm::ES256,
        )
        .unwrap_or_default();
        if flaw == Some(ProofFlaw::BadSignature) {
            let mut bytes = signed.into_bytes();
            if let Some(last) = bytes.iter().rposition(|b| *b != b'.') {
                let at = last.saturating_sub(4);
                bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            }
            return String::from_utf8(bytes).unwrap_or_default();
        }
        signed
    }
}

/// Tokens bound to `key`: a user's grant where the profile can log in, else
/// client credentials.
pub async fn dpop_tokens(s: &Session<'_>, key: &DpopKey) -> Result<Tokens, OAuthError> {
    if !s.meta.supports_dpop() {
        return Err(OAuthError::missing("the authorization server does not advertise DPoP"));
    }
    let url = s.meta.token_endpoint.clone();
    let proof = key.proof("POST", &url, None, None, None);
    // A user's grant where the profile can log in (the resource may serve
    // users only, as an OpenID Provider's userinfo does), else client credentials.
    let r = if s.t.login.is_some() {
        let req = s.auth_request();
        let code = s.code_for(&req).await?;
        let mut fields = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", req.get("redirect_uri").unwrap_or_default()),
            ("code_verifier", req.pkce.verifier.as_str()),
        ];
        if let Some(resource) = &s.t.resource {
            fields.push(("resource", resource));
        }
        s.token_with(&url, &fields, &s.client_auth(), &[("DPoP", proof)], None).await?
    } else {
        let mut fields = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &s.t.scope {
            fields.push(("scope", scope));
        }
        if let Some(resource) = &s.t.resource {
            fields.push(("resource", resource));
        }
        s.token_with(&url, &fields, &s.client_auth(), &[("DPoP", proof)], None).await?
    };
    Tokens::from_response(&r).ok_or_else(|| OAuthError::failed("a DPoP-bound token", observe(&r)))
}
