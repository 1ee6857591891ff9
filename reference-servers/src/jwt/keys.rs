//! The JWT signing keys, one per algorithm, generated into `state/keys/` on first
//! start and parsed once: every verification reuses the parsed key.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use rand::RngExt;

use crate::files::{self, Access, FileError};

/// Where JWT keys live inside the state directory.
pub const KEYS_DIR: &str = "keys";

/// The algorithms the reference servers sign and verify, each on its own resource.
pub const ALGORITHMS: [Algorithm; 4] =
    [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA, Algorithm::HS256];

/// An error loading or generating a JWT key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key file could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// A key file does not hold a usable key.
    #[error("{path}: not a usable {alg:?} key ({reason}); delete it to regenerate")]
    Invalid {
        /// The key file.
        path: PathBuf,
        /// The algorithm it is for.
        alg: Algorithm,
        /// What went wrong.
        reason: String,
    },
}

/// One signing key with everything the servers need from it.
pub struct SigningKey {
    /// The JWS algorithm.
    pub alg: Algorithm,
    /// `kid`: the RFC 7638 thumbprint of the public JWK (for HS256, of the secret's hash).
    pub kid: String,
    /// For signing.
    pub encoding: EncodingKey,
    /// For verifying.
    pub decoding: DecodingKey,
    /// The public JWK (with `kid`, `alg`, `use`); `None` for HS256.
    pub public_jwk: Option<Jwk>,
    /// The public key in SPKI PEM, exactly as written to disk; `None` for HS256.
    pub public_pem: Option<String>,
    /// The private key (or secret) file, relative to the state directory.
    pub private_file: PathBuf,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("private_file", &self.private_file)
            .finish_non_exhaustive()
    }
}

/// The JWT keys of every algorithm.
#[derive(Debug)]
pub struct JwtKeys {
    keys: Vec<SigningKey>,
}

impl JwtKeys {
    /// Loads the keys from `state_dir/keys`, generating any that are missing.
    pub fn load_or_generate(state_dir: &Path) -> Result<JwtKeys, KeyError> {
        let keys = ALGORITHMS
            .iter()
            .map(|&alg| load_or_generate(state_dir, alg))
            .collect::<Result<_, _>>()?;
        Ok(JwtKeys { keys })
    }

    /// The key for `alg`; every algorithm of [`ALGORITHMS`] has one.
    pub fn get(&self, alg: Algorithm) -> &SigningKey {
        self.keys
            .iter()
            .find(|k| k.alg == alg)
            // Invariant: `keys` holds one key for each of ALGORITHMS, and only
            // those algorithms are ever asked for.
            .unwrap_or(&self.keys[0])
    }

    /// The public keys as a JWKS document (RFC 7517 §5); the HMAC secret is never in it.
    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: self.keys.iter().filter_map(|k| k.public_jwk.clone()).collect() }
    }
}

/// The file name stem of `alg`'s key: `jwt-rs256`, `jwt-eddsa`, …
pub fn file_stem(alg: Algorithm) -> String {
    format!("jwt-{alg:?}").to_ascii_lowercase()
}

fn load_or_generate(state_dir: &Path, alg: Algorithm) -> Result<SigningKey, KeyError> {
    let stem = file_stem(alg);
    let relative = if alg == Algorithm::HS256 {
        Path::new(KEYS_DIR).join(format!("{stem}.secret"))
    } else {
        Path::new(KEYS_DIR).join(format!("{stem}.pem"))
    };
    let path = state_dir.join(&relative);
    let invalid = |reason: String| KeyError::Invalid { path: path.clone(), alg, reason };
    let private = match files::read_optional(&path)? {
        Some(text) => text,
        None => {
            let text = generate(alg).map_err(invalid)?;
            files::write_atomic(&path, text.as_bytes(), Access::Private)?;
            text
        }
    };
    let key = parse(alg, &private, relative).map_err(invalid)?;
    if let Some(pem) = &key.public_pem {
        files::write_atomic(
            &state_dir.join(KEYS_DIR).join(format!("{stem}.pub.pem")),
            pem.as_bytes(),
            Access::Public,
        )?;
    }
    Ok(key)
}

/// A new private key for `alg`, as the text stored on disk.
fn generate(alg: Algorithm) -> Result<String, String> {
    let pem = match alg {
        Algorithm::RS256 => {
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                .map_err(|e| e.to_string())?
                .serialize_pem()
        }
        Algorithm::ES256 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| e.to_string())?
            .serialize_pem(),
        Algorithm::EdDSA => {
            // PKCS#8 v1 (seed only): what jsonwebtoken and OpenSSL 3.0 read.
            // rcgen writes v2, which neither does.
            let seed: [u8; 32] = rand::rng().random();
            let mut der = ED25519_PKCS8_V1_PREFIX.to_vec();
            der.extend_from_slice(&seed);
            pem_block("PRIVATE KEY", &der)
        }
        _ => {
            // 64 characters of [A-Za-z0-9]: 381 bits, above the 256 RFC 7518
            // §3.2 requires for HS256, and text a user can paste into a profile.
            let mut rng = rand::rng();
            (0..64)
                .map(|_| {
                    const ALPHABET: &[u8] =
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
                    char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])
                })
                .collect()
        }
    };
    Ok(pem)
}

/// DER prefix of an Ed25519 PKCS#8 v1 private key (RFC 8410 §7), before the 32-byte seed.
const ED25519_PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4), before the 32-byte key.
const ED25519_SPKI_PREFIX: [u8; 12] =
    [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

fn pem_block(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn parse(alg: Algorithm, private: &str, private_file: PathBuf) -> Result<SigningKey, String> {
    let err = |e: jsonwebtoken::errors::Error| e.to_string();
    let (encoding, decoding, public_pem) = match alg {
        Algorithm::HS256 => {
            if private.len() < 32 {
                return Err("an HS256 secret must be at least 32 bytes (RFC 7518 §3.2)".into());
            }
            let secret = private.as_bytes();
            (
                EncodingKey::from_secret(secret).map_err(err)?,
                DecodingKey::from_secret(secret).map_err(err)?,
                None::<String>,
            )
        }
        Algorithm::EdDSA => {
            let encoding = EncodingKey::from_ed_pem(private.as_bytes()).map_err(err)?;
            let jwk = Jwk::from_encoding_key(&encoding, alg).map_err(err)?;
            let x = match &jwk.algorithm {
                jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(p) => p.x.clone(),
                _ => return Err("not an Ed25519 key".into()),
            };
            let raw = URL_SAFE_NO_PAD.decode(&x).map_err(|e| e.to_string())?;
            let mut spki = ED25519_SPKI_PREFIX.to_vec();
            spki.extend_from_slice(&raw);
            let pem = pem_block("PUBLIC KEY", &spki);
            (encoding, DecodingKey::from_ed_pem(pem.as_bytes()).map_err(err)?, Some(pem))
        }
        _ => {
            let pair = rcgen::KeyPair::from_pem(private).map_err(|e| e.to_string())?;
            let pem = pair.public_key_pem();
            let (encoding, decoding) = if alg == Algorithm::RS256 {
                (
                    EncodingKey::from_rsa_pem(private.as_bytes()).map_err(err)?,
                    DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(err)?,
                )
            } else {
                (
                    EncodingKey::from_ec_pem(private.as_bytes()).map_err(err)?,
                    DecodingKey::from_ec_pem(pem.as_bytes()).map_err(err)?,
                )
            };
            (encoding, decoding, Some(pem))
        }
    };
    let (kid, public_jwk) = if alg == Algorithm::HS256 {
        let digest = <sha2::Sha256 as sha2::Digest>::digest(private.as_bytes());
        (format!("hs256-{}", hex::encode(&digest[..8])), None)
    } else {
        let mut jwk = Jwk::from_encoding_key(&encoding, alg).map_err(err)?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(err)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(key_algorithm(alg));
        (kid, Some(jwk))
    };
    Ok(SigningKey { alg, kid, encoding, decoding, public_jwk, public_pem, private_file })
}

fn key_algorithm(alg: Algorithm) -> KeyAlgorithm {
    match alg {
        Algorithm::ES256 => KeyAlgorithm::ES256,
        Algorithm::EdDSA => KeyAlgorithm::EdDSA,
        _ => KeyAlgorithm::RS256,
    }
}
