//! Fast JWS signing and verification for the fuzzer: the profile's key parsed
//! once into aws-lc key pairs (jsonwebtoken re-parses the key per signature,
//! which would cap the fuzzer at a few hundred RSA tokens a second).

use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use aws_lc_rs::{hmac, rand::SystemRandom};
use jsonwebtoken::Algorithm;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject as _;

use crate::profile::SigningKey;

/// A key that signs (and checks) one JWS algorithm, remembering recent
/// signatures: candidates share signing inputs (every mutation of the text
/// or the signature keeps the valid token's), and an RSA signature costs a
/// millisecond the target's side of the measurement should not wait for.
pub struct Signer {
    key: Key,
    recent: std::sync::Mutex<std::collections::HashMap<Vec<u8>, Vec<u8>>>,
}

/// Signatures remembered at most.
const RECENT: usize = 16_384;

enum Key {
    /// HS256/384/512.
    Hmac(Box<hmac::Key>),
    /// RS256/384/512 and PS256/384/512.
    Rsa(RsaKeyPair, &'static dyn signature::RsaEncoding, &'static signature::RsaParameters),
    /// ES256/384.
    Ecdsa(EcdsaKeyPair, &'static signature::EcdsaVerificationAlgorithm),
    /// EdDSA (Ed25519).
    Ed(Ed25519KeyPair),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.key {
            Key::Hmac(_) => "Signer(HMAC)",
            Key::Rsa(..) => "Signer(RSA)",
            Key::Ecdsa(..) => "Signer(ECDSA)",
            Key::Ed(_) => "Signer(Ed25519)",
        })
    }
}

fn private_der(material: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(material).map_err(|e| format!("the signing key's PEM: {e}"))
}

impl Signer {
    /// The signer for `key`.
    pub fn new(key: &SigningKey) -> Result<Signer, String> {
        Ok(Signer { key: Key::new(key)?, recent: std::sync::Mutex::default() })
    }

    /// The signature over `input`.
    pub fn sign(&self, input: &[u8]) -> Vec<u8> {
        let lock = || self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(sig) = lock().get(input) {
            return sig.clone();
        }
        let sig = self.key.sign(input);
        let mut recent = lock();
        if recent.len() >= RECENT {
            recent.clear();
        }
        recent.insert(input.to_vec(), sig.clone());
        sig
    }

    /// Whether `sig` is this key's signature over `input`.
    pub fn verify(&self, input: &[u8], sig: &[u8]) -> bool {
        self.key.verify(input, sig)
    }
}

impl Key {
    fn new(key: &SigningKey) -> Result<Key, String> {
        let bad = |e: &dyn std::fmt::Display| format!("the signing key: {e}");
        Ok(match key.algorithm {
            Algorithm::HS256 => {
                Key::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, &key.material)))
            }
            Algorithm::HS384 => {
                Key::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA384, &key.material)))
            }
            Algorithm::HS512 => {
                Key::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA512, &key.material)))
            }
            alg @ (Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512) => {
                let pair = match private_der(&key.material)? {
                    PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
                    PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
                    _ => return Err("the RSA signing key is neither PKCS#1 nor PKCS#8".into()),
                }
                .map_err(|e| bad(&e))?;
                let (encoding, parameters): (&'static dyn signature::RsaEncoding, _) = match alg {
                    Algorithm::RS256 => {
                        (&signature::RSA_PKCS1_SHA256, &signature::RSA_PKCS1_2048_8192_SHA256)
                    }
                    Algorithm::RS384 => {
                        (&signature::RSA_PKCS1_SHA384, &signature::RSA_PKCS1_2048_8192_SHA384)
                    }
                    Algorithm::RS512 => {
                        (&signature::RSA_PKCS1_SHA512, &signature::RSA_PKCS1_2048_8192_SHA512)
                    }
                    Algorithm::PS256 => {
                        (&signature::RSA_PSS_SHA256, &signature::RSA_PSS_2048_8192_SHA256)
                    }
                    Algorithm::PS384 => {
                        (&signature::RSA_PSS_SHA384, &signature::RSA_PSS_2048_8192_SHA384)
                    }
                    _ => (&signature::RSA_PSS_SHA512, &signature::RSA_PSS_2048_8192_SHA512),
                };
                Key::Rsa(pair, encoding, parameters)
            }
            alg @ (Algorithm::ES256 | Algorithm::ES384) => {
                let (signing, verifying) = if alg == Algorithm::ES256 {
                    (
                        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                        &signature::ECDSA_P256_SHA256_FIXED,
                    )
                } else {
                    (
                        &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                        &signature::ECDSA_P384_SHA384_FIXED,
                    )
                };
                let der = private_der(&key.material)?;
                let pair = EcdsaKeyPair::from_private_key_der(signing, der.secret_der())
                    .map_err(|e| bad(&e))?;
                Key::Ecdsa(pair, verifying)
            }
            Algorithm::EdDSA => {
                let der = private_der(&key.material)?;
                Key::Ed(
                    Ed25519KeyPair::from_pkcs8_maybe_unchecked(der.secret_der())
                        .map_err(|e| bad(&e))?,
                )
            }
            other => return Err(format!("{other:?} is not an algorithm the fuzzer signs")),
        })
    }

    fn sign(&self, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Key::Hmac(key) => hmac::sign(key, input).as_ref().to_vec(),
            Key::Rsa(pair, encoding, _) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                match pair.sign(*encoding, &rng, input, &mut sig) {
                    Ok(()) => sig,
                    Err(_) => Vec::new(),
                }
            }
            Key::Ecdsa(pair, _) => {
                pair.sign(&rng, input).map(|s| s.as_ref().to_vec()).unwrap_or_default()
            }
            Key::Ed(pair) => pair.sign(input).as_ref().to_vec(),
        }
    }

    fn verify(&self, input: &[u8], sig: &[u8]) -> bool {
        match self {
            Key::Hmac(key) => hmac::verify(key, input, sig).is_ok(),
            Key::Rsa(pair, _, parameters) => {
                signature::UnparsedPublicKey::new(*parameters, pair.public_key().as_ref())
                    .verify(input, sig)
                    .is_ok()
            }
            Key::Ecdsa(pair, algorithm) => {
                signature::UnparsedPublicKey::new(*algorithm, pair.public_key().as_ref())
                    .verify(input, sig)
                    .is_ok()
            }
            Key::Ed(pair) => {
                signature::UnparsedPublicKey::new(&signature::ED25519, pair.public_key().as_ref())
                    .verify(input, sig)
                    .is_ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_signatures_verify_and_others_do_not() {
        let key = SigningKey {
            algorithm: Algorithm::HS256,
            encoding: jsonwebtoken::EncodingKey::from_secret(b"k").unwrap(),
            material: b"k".to_vec(),
            public_pem: None,
        };
        let s = Signer::new(&key).unwrap();
        let sig = s.sign(b"a.b");
        assert!(s.verify(b"a.b", &sig));
        assert!(!s.verify(b"a.c", &sig));
        // RFC 4231-style check against an independent implementation.
        let theirs = jsonwebtoken::crypto::sign(b"a.b", &key.encoding, Algorithm::HS256).unwrap();
        assert_eq!(
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &sig),
            theirs
        );
    }
}
