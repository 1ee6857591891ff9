//! Seeds from Project Wycheproof's JOSE test vectors, imported as data
//! (`scenarios/fuzz/wycheproof_jose.json`, with its source, commit and the
//! test ids taken): each JWS vector is sent as a bearer token (signed with
//! keys the target does not hold, every one must be refused), and the JWK
//! vectors' keys are embedded as `jwk` header members of the fuzzer's own
//! tokens — with the exponent-one key, under a signature that verifies by
//! construction, so a server that trusts an embedded key accepts it.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

const DATA: &str = include_str!("../../../../../scenarios/fuzz/wycheproof_jose.json");

/// The imported vectors.
#[derive(Debug, Deserialize)]
pub struct Data {
    /// Where they come from.
    pub source: String,
    /// The Wycheproof commit they were taken from.
    pub commit: String,
    /// JWS test groups.
    pub groups: Vec<Group>,
    /// JWK vectors' public keys.
    pub keys: Vec<Key>,
}

/// A JWS test group: a key and its vectors.
#[derive(Debug, Deserialize)]
pub struct Group {
    /// `hs256`, `es256`, `rs256`.
    pub comment: String,
    /// The group's (public) key as a JWK.
    pub public: Value,
    /// Its vectors.
    pub tests: Vec<Vector>,
}

/// One JWS vector.
#[derive(Debug, Deserialize)]
pub struct Vector {
    /// Wycheproof's test id.
    #[serde(rename = "tcId")]
    pub id: u32,
    /// What it tests.
    pub comment: String,
    /// The token (compact, or JSON serialization).
    pub jws: String,
    /// `valid` under the group's key, or `invalid`.
    pub result: String,
}

/// A JWK vector's key.
#[derive(Debug, Deserialize)]
pub struct Key {
    /// What is wrong with it.
    pub comment: String,
    /// The key.
    pub jwk: Value,
}

/// The vectors, parsed once.
pub fn data() -> &'static Data {
    static DATA_PARSED: OnceLock<Data> = OnceLock::new();
    DATA_PARSED.get_or_init(|| {
        serde_json::from_str(DATA).unwrap_or_else(|e| {
            unreachable!("scenarios/fuzz/wycheproof_jose.json is compiled in and tested: {e}")
        })
    })
}

/// Every JWS vector, in file order.
pub fn vectors() -> impl Iterator<Item = &'static Vector> {
    data().groups.iter().flat_map(|g| g.tests.iter())
}

/// How many JWS vectors there are.
pub fn vector_count() -> usize {
    vectors().count()
}

/// The exponent-one key (e = 1): its RSA "signature" is the encoded message.
pub fn exponent_one() -> Option<&'static Value> {
    data().keys.iter().map(|k| &k.jwk).find(|k| k["e"] == "AQ")
}

/// A PKCS#1 v1.5 SHA-256 signature that verifies under any key whose public
/// exponent is 1 and whose modulus is `n`: the encoded message itself
/// (RFC 8017 §9.2), since s¹ mod n = s.
pub fn exponent_one_signature(n_b64: &str, input: &[u8]) -> Option<Vec<u8>> {
    use sha2::Digest as _;
    const DIGEST_INFO: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let n = URL_SAFE_NO_PAD.decode(n_b64).ok()?;
    let len = n.len();
    let hash = sha2::Sha256::digest(input);
    let t_len = DIGEST_INFO.len() + hash.len();
    if len < t_len + 11 {
        return None;
    }
    let mut em = vec![0x00, 0x01];
    em.extend(std::iter::repeat_n(0xff, len - t_len - 3));
    em.push(0x00);
    em.extend_from_slice(&DIGEST_INFO);
    em.extend_from_slice(&hash);
    Some(em)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};

    fn b64(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).unwrap()
    }

    /// Whether `jws` verifies under `jwk` (HS256, ES256 or RS256).
    fn verifies(jwk: &Value, jws: &str) -> bool {
        let parts: Vec<&str> = jws.split('.').collect();
        let [h, p, s] = parts[..] else { return false };
        let Ok(sig) = URL_SAFE_NO_PAD.decode(s) else { return false };
        let input = format!("{h}.{p}");
        match jwk["kty"].as_str() {
            Some("oct") => {
                let key = aws_lc_rs::hmac::Key::new(
                    aws_lc_rs::hmac::HMAC_SHA256,
                    &b64(jwk["k"].as_str().unwrap()),
                );
                aws_lc_rs::hmac::verify(&key, input.as_bytes(), &sig).is_ok()
            }
            Some("EC") => {
                let mut point = vec![4u8];
                point.extend(b64(jwk["x"].as_str().unwrap()));
                point.extend(b64(jwk["y"].as_str().unwrap()));
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(input.as_bytes(), &sig)
                    .is_ok()
            }
            Some("RSA") => RsaPublicKeyComponents {
                n: b64(jwk["n"].as_str().unwrap()),
                e: b64(jwk["e"].as_str().unwrap()),
            }
            .verify(&signature::RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &sig)
            .is_ok(),
            _ => false,
        }
    }

    /// The copy is faithful: each group's valid vector verifies under its
    /// key, its modified-signature vector does not, and the embedded-JWK
    /// vector verifies under the key it embeds.
    #[test]
    fn the_imported_vectors_verify_as_wycheproof_says() {
        let d = data();
        assert_eq!(d.commit.len(), 40);
        assert!(d.source.contains("wycheproof"));
        for g in &d.groups {
            for t in &g.tests {
                let ok = verifies(&g.public, &t.jws);
                match t.comment.as_str() {
                    "acceptsValid" => assert!(ok, "{} tcId {}", g.comment, t.id),
                    _ => assert!(!ok, "{} tcId {} ({}) verifies", g.comment, t.id, t.comment),
                }
                assert_eq!(t.result == "valid", t.comment == "acceptsValid");
            }
        }
        let embedded =
            vectors().find(|v| v.comment == "rejectsAttackerProvidedEmbeddedJwk").unwrap();
        let header: Value =
            serde_json::from_slice(&b64(embedded.jws.split('.').next().unwrap())).unwrap();
        assert!(verifies(&header["jwk"], &embedded.jws));
        assert_eq!(vector_count(), 40);
    }

    /// The exponent-one signature verifies under (n, e = 1) with an
    /// independent RSA implementation's arithmetic: s^e mod n with e = 1 is
    /// s, so checking the encoding is checking the signature.
    #[test]
    fn the_exponent_one_signature_is_the_encoded_message() {
        let key = exponent_one().unwrap();
        let n = key["n"].as_str().unwrap();
        let em = exponent_one_signature(n, b"header.payload").unwrap();
        assert_eq!(em.len(), b64(n).len());
        assert_eq!(&em[..2], &[0, 1]);
        assert!(em < b64(n), "the signature must be below the modulus");
        use sha2::Digest as _;
        assert!(em.ends_with(&sha2::Sha256::digest(b"header.payload")));
    }
}
