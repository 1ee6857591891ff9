//! Signing the TLS handshake with an RSA key aws-lc refuses (under 2048 bits),
//! so the weak-key client certificate (CATALOG MT-10) can be presented and the
//! server's refusal observed. RustCrypto's `rsa` does the arithmetic; the keys
//! are public test fixtures, so its lack of constant-time decryption (RUSTSEC-
//! 2023-0071, decryption only) does not matter here: it only signs.

use std::sync::Arc;

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use rustls::sign::{Signer, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme};
use rustls_pki_types::PrivateKeyDer;
use sha2::Digest as _;

/// An RSA private key of any size.
#[derive(Debug)]
pub struct WeakRsaKey(rsa::RsaPrivateKey);

impl WeakRsaKey {
    /// Parses a PKCS#8 or PKCS#1 RSA key; `None` for any other key.
    pub fn parse(key: &PrivateKeyDer<'_>) -> Option<Arc<dyn SigningKey>> {
        let parsed = match key {
            PrivateKeyDer::Pkcs8(k) => {
                rsa::RsaPrivateKey::from_pkcs8_der(k.secret_pkcs8_der()).ok()
            }
            PrivateKeyDer::Pkcs1(k) => {
                rsa::RsaPrivateKey::from_pkcs1_der(k.secret_pkcs1_der()).ok()
            }
            _ => None,
        }?;
        Some(Arc::new(WeakRsaKey(parsed)))
    }
}

/// TLS 1.3 signs with PSS, TLS 1.2 may use PKCS#1 v1.5: offer both.
const SCHEMES: [SignatureScheme; 2] =
    [SignatureScheme::RSA_PSS_SHA256, SignatureScheme::RSA_PKCS1_SHA256];

impl SigningKey for WeakRsaKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        let scheme = SCHEMES.into_iter().find(|s| offered.contains(s))?;
        Some(Box::new(WeakRsaSigner { key: self.0.clone(), scheme }))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::RSA
    }
}

#[derive(Debug)]
struct WeakRsaSigner {
    key: rsa::RsaPrivateKey,
    scheme: SignatureScheme,
}

/// DigestInfo prefix of SHA-256 (RFC 8017 §9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// The operating system's RNG behind `rand_core` 0.6's traits, which `rsa` uses.
struct OsRng;

impl rand_core_06::RngCore for OsRng {
    fn next_u32(&mut self) -> u32 {
        rand::random()
    }
    fn next_u64(&mut self) -> u64 {
        rand::random()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        rand::fill(dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core_06::Error> {
        rand::fill(dest);
        Ok(())
    }
}

impl rand_core_06::CryptoRng for OsRng {}

impl Signer for WeakRsaSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        let failed = |e: rsa::Error| rustls::Error::General(format!("RSA signing failed: {e}"));
        match self.scheme {
            SignatureScheme::RSA_PSS_SHA256 => {
                let key = rsa::pss::BlindedSigningKey::<rsa::sha2::Sha256>::new(self.key.clone());
                let signature = key
                    .try_sign_with_rng(&mut OsRng, message)
                    .map_err(|e| rustls::Error::General(format!("RSA-PSS signing failed: {e}")))?;
                Ok(signature.to_vec())
            }
            _ => {
                let padding = rsa::Pkcs1v15Sign {
                    hash_len: Some(32),
                    prefix: SHA256_DIGEST_INFO.to_vec().into_boxed_slice(),
                };
                self.key.sign(padding, &sha2::Sha256::digest(message)).map_err(failed)
            }
        }
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{self, UnparsedPublicKey};

    #[test]
    fn signatures_verify_with_aws_lc_in_both_schemes() {
        // A 2048-bit key, so that aws-lc will verify what this signer made.
        let pair =
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                .unwrap();
        let der = PrivateKeyDer::Pkcs8(pair.serialized_der().to_vec().into());
        let key = WeakRsaKey::parse(&der).unwrap();
        // For RSA, rcgen's raw public key is the RSAPublicKey DER aws-lc takes.
        let public = pair.public_key_raw().to_vec();
        for (scheme, algorithm) in [
            (SignatureScheme::RSA_PSS_SHA256, &signature::RSA_PSS_2048_8192_SHA256),
            (SignatureScheme::RSA_PKCS1_SHA256, &signature::RSA_PKCS1_2048_8192_SHA256),
        ] {
            let signer = key.choose_scheme(&[scheme]).unwrap();
            assert_eq!(signer.scheme(), scheme);
            let sig = signer.sign(b"handshake transcript").unwrap();
            UnparsedPublicKey::new(algorithm, &public)
                .verify(b"handshake transcript", &sig)
                .unwrap_or_else(|_| panic!("{scheme:?} signature does not verify"));
        }
        assert!(key.choose_scheme(&[SignatureScheme::ECDSA_NISTP256_SHA256]).is_none());
    }
}
