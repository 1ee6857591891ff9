//! The client side of the PKI: an intermediate CA for clients (signed by the
//! root CA), client certificates of three key types, a revoked one, and the
//! client CA's CRL, reissued on every revocation. Generated on first start,
//! reused afterwards. Private keys are PKCS#8 (v1 for Ed25519), readable by
//! OpenSSL-based clients such as curl.

use std::path::{Path, PathBuf};

use rand::RngExt;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::files::{self, Access};
use crate::pki::{PKI_DIR, PkiError};

/// A client certificate the PKI issues on first start.
#[derive(Debug, Clone, Copy)]
pub struct ClientSpec {
    /// Identity (CN and URI SAN `urn:authbench:client:<name>`).
    pub name: &'static str,
    /// Key type.
    pub key: KeyType,
}

/// Key types of client certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// ECDSA P-256.
    P256,
    /// Ed25519.
    Ed25519,
    /// RSA-2048.
    Rsa2048,
}

/// The demo clients: two with permission, one without, one revoked at first start.
pub const CLIENTS: &[ClientSpec] = &[
    ClientSpec { name: "client-a", key: KeyType::P256 },
    ClientSpec { name: "client-b", key: KeyType::Ed25519 },
    ClientSpec { name: "client-rsa", key: KeyType::Rsa2048 },
    ClientSpec { name: "client-revoked", key: KeyType::P256 },
];

/// The identity URI of client `name`.
pub fn identity_uri(name: &str) -> String {
    format!("urn:authbench:client:{name}")
}

/// The client CA, able to issue certificates and CRLs.
pub struct ClientCa {
    /// Certificate PEM.
    pub cert_pem: String,
    /// The CA as an rcgen issuer.
    issuer: Issuer<'static, KeyPair>,
    /// `pki/client-ca.pem`.
    pub cert_path: PathBuf,
    /// `pki/client-ca.key`.
    pub key_path: PathBuf,
    /// `pki/client-ca.crl.pem`.
    pub crl_path: PathBuf,
}

impl std::fmt::Debug for ClientCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCa").field("cert_path", &self.cert_path).finish_non_exhaustive()
    }
}

fn rcgen_err(path: &Path) -> impl Fn(rcgen::Error) -> PkiError + '_ {
    move |source| PkiError::Rcgen { path: path.to_owned(), source }
}

/// A fresh key of `key`, with its PEM as OpenSSL reads it.
pub fn generate_key(key: KeyType) -> Result<(KeyPair, String), rcgen::Error> {
    match key {
        KeyType::P256 => {
            let pair = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
            let pem = pair.serialize_pem();
            Ok((pair, pem))
        }
        KeyType::Rsa2048 => {
            let pair =
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)?;
            let pem = pair.serialize_pem();
            Ok((pair, pem))
        }
        KeyType::Ed25519 => {
            // PKCS#8 v1, which OpenSSL 3.0 reads (rcgen writes v2).
            let seed: [u8; 32] = rand::rng().random();
            let mut der = vec![
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20,
            ];
            der.extend_from_slice(&seed);
            let pem = pem_block("PRIVATE KEY", &der);
            let pair = KeyPair::from_pem(&pem)?;
            Ok((pair, pem))
        }
    }
}

fn pem_block(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A random positive 16-byte serial number.
pub fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::rng().random();
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

/// Parameters of a client certificate for `name`, valid for a year.
pub fn client_params(name: &str) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::OrganizationName, "authbench");
    params.distinguished_name.push(DnType::CommonName, name);
    params.subject_alt_names = vec![SanType::URI(identity_uri(name).try_into()?)];
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial());
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(365);
    Ok(params)
}

impl ClientCa {
    /// Loads the client CA from `state_dir/pki`, generating it (signed by the
    /// root CA given as PEM) on first start.
    pub fn load_or_generate(
        state_dir: &Path,
        root_pem: &str,
        root_key_pem: &str,
    ) -> Result<ClientCa, PkiError> {
        let dir = state_dir.join(PKI_DIR);
        let cert_path = dir.join("client-ca.pem");
        let key_path = dir.join("client-ca.key");
        let crl_path = dir.join("client-ca.crl.pem");
        let (cert_pem, key) =
            match (files::read_optional(&cert_path)?, files::read_optional(&key_path)?) {
                (Some(cert), Some(key)) => {
                    (cert, KeyPair::from_pem(&key).map_err(rcgen_err(&key_path))?)
                }
                _ => {
                    let root_key = KeyPair::from_pem(root_key_pem).map_err(rcgen_err(&key_path))?;
                    let root = Issuer::from_ca_cert_pem(root_pem, root_key)
                        .map_err(rcgen_err(&cert_path))?;
                    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                        .map_err(rcgen_err(&key_path))?;
                    let mut params = CertificateParams::default();
                    params.distinguished_name.push(DnType::OrganizationName, "authbench");
                    params.distinguished_name.push(DnType::CommonName, "authbench client CA");
                    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
                    params.key_usages =
                        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
                    params.use_authority_key_identifier_extension = true;
                    let now = OffsetDateTime::now_utc();
                    params.not_before = now - Duration::hours(1);
                    params.not_after = now + Duration::days(1825);
                    let cert = params.signed_by(&key, &root).map_err(rcgen_err(&cert_path))?;
                    files::write_atomic(
                        &key_path,
                        key.serialize_pem().as_bytes(),
                        Access::Private,
                    )?;
                    files::write_atomic(&cert_path, cert.pem().as_bytes(), Access::Public)?;
                    (cert.pem(), key)
                }
            };
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(rcgen_err(&cert_path))?;
        Ok(ClientCa { cert_pem, issuer, cert_path, key_path, crl_path })
    }

    /// A client CA from its certificate and key in PEM, to mint certificates
    /// (the harness's forge does this with a target's client CA).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<ClientCa, rcgen::Error> {
        let key = KeyPair::from_pem(key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)?;
        Ok(ClientCa {
            cert_pem: cert_pem.to_owned(),
            issuer,
            cert_path: PathBuf::new(),
            key_path: PathBuf::new(),
            crl_path: PathBuf::new(),
        })
    }

    /// The CA as an rcgen issuer, for callers that sign keys they do not hold
    /// (the harness's weak-key certificates).
    pub fn issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.issuer
    }

    /// Issues a certificate from `params` for `key`.
    pub fn issue(&self, params: &CertificateParams, key: &KeyPair) -> Result<String, rcgen::Error> {
        Ok(params.signed_by(key, &self.issuer)?.pem())
    }

    /// The demo client certificates in `state_dir/pki/clients`, issuing the
    /// missing ones: `(name, chain file, key file)`, paths relative to the state dir.
    pub fn demo_clients(
        &self,
        state_dir: &Path,
    ) -> Result<Vec<(String, PathBuf, PathBuf)>, PkiError> {
        let mut out = Vec::new();
        for spec in CLIENTS {
            let relative_cert =
                Path::new(PKI_DIR).join("clients").join(format!("{}.pem", spec.name));
            let relative_key =
                Path::new(PKI_DIR).join("clients").join(format!("{}.key", spec.name));
            let cert_path = state_dir.join(&relative_cert);
            let key_path = state_dir.join(&relative_key);
            if files::read_optional(&cert_path)?.is_none()
                || files::read_optional(&key_path)?.is_none()
            {
                let (key, key_pem) = generate_key(spec.key).map_err(rcgen_err(&key_path))?;
                let params = client_params(spec.name).map_err(rcgen_err(&cert_path))?;
                let leaf = self.issue(&params, &key).map_err(rcgen_err(&cert_path))?;
                files::write_atomic(&key_path, key_pem.as_bytes(), Access::Private)?;
                // The chain a client presents: leaf, then the client CA.
                files::write_atomic(
                    &cert_path,
                    format!("{leaf}{}", self.cert_pem).as_bytes(),
                    Access::Public,
                )?;
            }
            out.push((spec.name.to_owned(), relative_cert, relative_key));
        }
        Ok(out)
    }

    /// Signs and writes a CRL listing `revoked` (serial hex, revocation time);
    /// the CRL number is the issue time, so it only grows.
    pub fn write_crl(&self, revoked: &[(String, i64)]) -> Result<String, PkiError> {
        let now = OffsetDateTime::now_utc();
        let revoked_certs = revoked
            .iter()
            .filter_map(|(serial, at)| {
                Some(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&hex::decode(serial).ok()?),
                    revocation_time: OffsetDateTime::from_unix_timestamp(*at).ok()?,
                    reason_code: None,
                    invalidity_date: None,
                })
            })
            .collect();
        let number = now.unix_timestamp_nanos().max(1) as u128;
        let params = CertificateRevocationListParams {
            this_update: now - Duration::minutes(1),
            next_update: now + Duration::days(7),
            crl_number: SerialNumber::from_slice(&number.to_be_bytes()[4..]),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer).map_err(rcgen_err(&self.crl_path))?;
        let pem = crl.pem().map_err(rcgen_err(&self.crl_path))?;
        files::write_atomic(&self.crl_path, pem.as_bytes(), Access::Public)?;
        Ok(pem)
    }
}

/// The serial number (hex, lower case, no leading zero bytes) of a PEM or DER certificate.
pub fn serial_of(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(hex::encode(cert.raw_serial()).trim_start_matches("00").to_owned())
}
