//! The attacker's own key pair and self-signed certificate: the tokens of
//! the key-injection cases (`jwk`, `jku`, `x5u`, `x5c`) are signed with it,
//! and the out-of-band listener hosts its key set and certificate where a
//! token's `jku` and `x5u` point.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey};

/// The `kid` of the attacker's key, in the token header and its key set.
pub const ATTACKER_KID: &str = "authbench-attacker";

/// A key pair of the target's kind (RSA for RS256 and HS256 targets).
pub struct Attacker {
    alg: Algorithm,
    key: EncodingKey,
    jwk: Jwk,
    certificate_der: Vec<u8>,
}

impl std::fmt::Debug for Attacker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attacker").field("alg", &self.alg).finish_non_exhaustive()
    }
}

impl Attacker {
    /// A fresh key for tokens aimed at a resource accepting `target` (an
    /// asymmetric key either way: the attacker publishes its public half).
    pub fn new(target: Algorithm) -> Option<Self> {
        let alg = match target {
            a @ (Algorithm::ES256 | Algorithm::EdDSA) => a,
            _ => Algorithm::RS256,
        };
        let pair = match alg {
            Algorithm::ES256 => {
                rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).ok()?
            }
            Algorithm::EdDSA => rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).ok()?,
            _ => {
                rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                    .ok()?
            }
        };
        let pem = pair.serialize_pem();
        let key = match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()).ok()?,
            Algorithm::EdDSA => EncodingKey::from_ed_der(&v1_ed25519(pair.serialized_der())?),
            _ => EncodingKey::from_rsa_pem(pem.as_bytes()).ok()?,
        };
        let jwk = Jwk::from_encoding_key(&key, alg).ok()?;
        let params =
            rcgen::CertificateParams::new(vec!["attacker.authbench.invalid".to_owned()]).ok()?;
        let certificate_der = params.self_signed(&pair).ok()?.der().to_vec();
        Some(Attacker { alg, key, jwk, certificate_der })
    }

    /// The algorithm its tokens name.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The private key.
    pub fn key(&self) -> &EncodingKey {
        &self.key
    }

    /// The public key as a JWK, without a `kid` (as `jwk` embeds it).
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// The self-signed certificate, base64 DER (as `x5c` holds it).
    pub fn certificate_b64(&self) -> String {
        STANDARD.encode(&self.certificate_der)
    }

    /// The certificate as PEM (as an `x5u` URL serves it, RFC 7515 §4.1.5).
    pub fn certificate_pem(&self) -> Vec<u8> {
        let body = STANDARD.encode(&self.certificate_der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem.into_bytes()
    }

    /// The key set a `jku` URL serves: the public key under [`ATTACKER_KID`].
    pub fn jwks_json(&self) -> Vec<u8> {
        let mut jwk = self.jwk.clone();
        jwk.common.key_id = Some(ATTACKER_KID.to_owned());
        serde_json::to_vec(&JwkSet { keys: vec![jwk] }).unwrap_or_default()
    }
}

/// rcgen writes Ed25519 keys as PKCS#8 v2; jsonwebtoken wants v1.
fn v1_ed25519(v2: &[u8]) -> Option<Vec<u8>> {
    // The seed is the OCTET STRING 04 20 <32 bytes> inside the private key field.
    let at = v2.windows(2).position(|w| w == [0x04, 0x20])?;
    let seed = v2.get(at + 2..at + 34)?;
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    Some(der)
}
