//! The reference servers' PKI: a root CA and a server certificate, generated with
//! rcgen on first start and reused afterwards, so clients can keep trusting
//! `pki/ca.pem` across restarts. (The mTLS issue adds a client CA beside it.)

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use time::{Duration, OffsetDateTime};

use crate::files::{self, Access, FileError};

/// Where the PKI lives inside the state directory.
pub const PKI_DIR: &str = "pki";

/// An error creating or loading the PKI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// A file could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// rcgen could not generate or parse a key or certificate.
    #[error("{path}: {source}")]
    Rcgen {
        /// The file being generated or parsed.
        path: PathBuf,
        /// What rcgen said.
        #[source]
        source: rcgen::Error,
    },
    /// A PEM file holds no certificate or key of the expected kind.
    #[error("{path}: not a PEM {what}; delete the state directory's pki/ folder to regenerate it")]
    Pem {
        /// The file at fault.
        path: PathBuf,
        /// What was expected in it.
        what: &'static str,
    },
}

/// The loaded PKI: what the HTTPS listeners need.
#[derive(Debug)]
pub struct Pki {
    /// The root CA certificate file clients trust.
    pub ca_cert_path: PathBuf,
    /// The server certificate chain (leaf, then the CA).
    pub server_chain: Vec<CertificateDer<'static>>,
    /// The server's private key.
    pub server_key: PrivateKeyDer<'static>,
    /// The root CA certificate (PEM).
    pub ca_pem: String,
    /// The root CA's private key (PEM), to sign the client CA.
    pub(crate) ca_key_pem: String,
}

impl Pki {
    /// Loads the PKI from `state_dir/pki`, generating whatever is missing.
    pub fn load_or_generate(state_dir: &Path) -> Result<Pki, PkiError> {
        let dir = state_dir.join(PKI_DIR);
        let ca_cert_path = dir.join("ca.pem");
        let ca_key_path = dir.join("ca.key");
        let server_cert_path = dir.join("server.pem");
        let server_key_path = dir.join("server.key");

        let (ca_pem, ca_key) =
            match (files::read_optional(&ca_cert_path)?, files::read_optional(&ca_key_path)?) {
                (Some(cert), Some(key)) => (cert, parse_key(&key, &ca_key_path)?),
                _ => {
                    let key = generate_key(&ca_key_path)?;
                    let cert = ca_params()
                        .self_signed(&key)
                        .map_err(|source| PkiError::Rcgen { path: ca_cert_path.clone(), source })?;
                    files::write_atomic(
                        &ca_key_path,
                        key.serialize_pem().as_bytes(),
                        Access::Private,
                    )?;
                    files::write_atomic(&ca_cert_path, cert.pem().as_bytes(), Access::Public)?;
                    // A new CA invalidates any server certificate issued by an old one.
                    let _ = std::fs::remove_file(&server_cert_path);
                    (cert.pem(), key)
                }
            };

        let server_pem = match (
            files::read_optional(&server_cert_path)?,
            files::read_optional(&server_key_path)?,
        ) {
            (Some(cert), Some(_)) => cert,
            _ => {
                let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key)
                    .map_err(|source| PkiError::Rcgen { path: ca_cert_path.clone(), source })?;
                let key = generate_key(&server_key_path)?;
                let cert = server_params()
                    .and_then(|params| params.signed_by(&key, &issuer))
                    .map_err(|source| PkiError::Rcgen { path: server_cert_path.clone(), source })?;
                files::write_atomic(
                    &server_key_path,
                    key.serialize_pem().as_bytes(),
                    Access::Private,
                )?;
                files::write_atomic(&server_cert_path, cert.pem().as_bytes(), Access::Public)?;
                cert.pem()
            }
        };

        let mut server_chain = certs(&server_pem, &server_cert_path)?;
        server_chain.extend(certs(&ca_pem, &ca_cert_path)?);
        let server_key_pem = files::read_optional(&server_key_path)?
            .ok_or_else(|| PkiError::Pem { path: server_key_path.clone(), what: "private key" })?;
        let server_key = PrivateKeyDer::from_pem_slice(server_key_pem.as_bytes())
            .map_err(|_| PkiError::Pem { path: server_key_path, what: "private key" })?;
        let ca_key_pem = files::read_optional(&ca_key_path)?
            .ok_or_else(|| PkiError::Pem { path: ca_key_path.clone(), what: "private key" })?;
        Ok(Pki { ca_cert_path, server_chain, server_key, ca_pem, ca_key_pem })
    }
}

fn generate_key(path: &Path) -> Result<KeyPair, PkiError> {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|source| PkiError::Rcgen { path: path.to_owned(), source })
}

fn parse_key(pem: &str, path: &Path) -> Result<KeyPair, PkiError> {
    KeyPair::from_pem(pem).map_err(|source| PkiError::Rcgen { path: path.to_owned(), source })
}

fn certs(pem: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| PkiError::Pem { path: path.to_owned(), what: "certificate" })?;
    if certs.is_empty() {
        return Err(PkiError::Pem { path: path.to_owned(), what: "certificate" });
    }
    Ok(certs)
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::OrganizationName, "authbench");
    params.distinguished_name.push(DnType::CommonName, "authbench reference root CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(3650);
    params
}

fn server_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])?;
    params.distinguished_name.push(DnType::OrganizationName, "authbench");
    params.distinguished_name.push(DnType::CommonName, "localhost");
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(825);
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = Pki::load_or_generate(dir.path()).unwrap();
        let second = Pki::load_or_generate(dir.path()).unwrap();
        assert_eq!(first.server_chain, second.server_chain);
        assert_eq!(first.server_chain.len(), 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode =
                std::fs::metadata(dir.path().join("pki/ca.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "CA key must not be readable by others");
        }
    }
}
