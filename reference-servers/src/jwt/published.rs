//! The key set the JWT servers publish (`/jwt/.well-known/jwks.json`, the
//! AS's `jwks_uri`): every public key, and nothing else — unless a flaw
//! plants what a careless deployment publishes: its HMAC secret, a key
//! whose curve is mislabelled, a 1024-bit RSA key, or two keys under one kid.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKeyKind};
use serde_json::{Value, json};

use super::keys::JwtKeys;
use crate::flaws::{Flaw, Flaws};

/// A 1024-bit RSA modulus (Project Wycheproof's `keysize_too_small` key).
const WEAK_MODULUS: &str = "rJBIp6T1YK-RtPyvYqFFlcucqewSAA_IReSFchE8qyiQrbARqRlXWkB2DR8j_pJQnLtT4BpfmDeP2BB6MHYBHJ6zFYLnfHmFP6Pl0bhQVlV4CvkH4RWSIrFb-gyIgd1GgFpcP5gyZ7SWkdxjZg5gPLWbOd-gPBSrNIupALtv9tE";

/// The published set as JSON text.
pub fn jwks_json(keys: &JwtKeys, flaws: &Flaws) -> String {
    let mut set = serde_json::to_value(keys.jwks()).unwrap_or_else(|_| json!({ "keys": [] }));
    if let Some(list) = set.get_mut("keys").and_then(Value::as_array_mut) {
        plant(list, keys, flaws);
    }
    set.to_string()
}

fn plant(list: &mut Vec<Value>, keys: &JwtKeys, flaws: &Flaws) {
    let es256 = keys.get(Algorithm::ES256);
    if flaws.has(Flaw::JwtJwksPrivateMembers)
        && let DecodingKeyKind::SecretOrDer(secret) = keys.get(Algorithm::HS256).decoding.kind()
    {
        let hs256 = keys.get(Algorithm::HS256);
        list.push(json!({
            "kty": "oct", "alg": "HS256", "use": "sig", "kid": hs256.kid,
            "k": URL_SAFE_NO_PAD.encode(secret),
        }));
    }
    if flaws.has(Flaw::JwtJwksMalformedKey) {
        for key in list.iter_mut().filter(|k| k["kid"] == json!(es256.kid)) {
            key["crv"] = json!("P-384");
        }
    }
    if flaws.has(Flaw::JwtJwksWeakKey) {
        list.push(json!({
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "legacy-rsa-1024",
            "n": WEAK_MODULUS, "e": "AQAB",
        }));
    }
    if flaws.has(Flaw::JwtJwksDuplicateKid)
        && let Ok(pair) = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
    {
        // A rotated key published under the kid of the current one.
        let point = pair.public_key_raw();
        list.push(json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": es256.kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        }));
    }
}
