//! Client certificate verifiers: [`Policy`] around rustls's own (a key usage
//! check webpki lacks, and the errors the EKU and expiry flaws forgive), and
//! [`AnyCertificate`] for `mtls-accept-any-ca`.

use std::collections::HashSet;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature_with_raw_key};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};

/// Accepts any client certificate, and none: optional and unverified.
#[derive(Debug)]
pub struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl AnyCertificate {
    /// A verifier that checks handshake signatures only.
    pub fn new(provider: Arc<CryptoProvider>) -> Self {
        AnyCertificate { provider }
    }
}

impl ClientCertVerifier for AnyCertificate {
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    /// The handshake signature checked with the certificate's public key
    /// alone: rustls's own helper parses the whole certificate with webpki,
    /// which would refuse one with an unknown critical extension and so
    /// check more than a server that verifies nothing does.
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let (_, parsed) = x509_parser::parse_x509_certificate(cert)
            .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let spki = rustls_pki_types::SubjectPublicKeyInfoDer::from(parsed.public_key().raw);
        verify_tls13_signature_with_raw_key(
            message,
            &spki,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Wraps rustls's verifier with the checks it leaves out and the errors the
/// flaws forgive. Correct server: `require_digital_signature` on, nothing
/// forgiven.
#[derive(Debug)]
pub struct Policy {
    inner: Arc<dyn ClientCertVerifier>,
    /// Refuse a certificate whose key usage lacks digitalSignature (RFC 5280
    /// §4.2.1.3): a TLS client signs the handshake with it, and webpki does not
    /// check key usage on client certificates.
    pub require_digital_signature: bool,
    /// Forgive a missing clientAuth extended key usage (`mtls-ignore-eku`).
    pub ignore_eku: bool,
    /// Forgive an expired or not yet valid certificate (`mtls-ignore-expiry`).
    pub ignore_expiry: bool,
    /// The revoked leaf serials (hex, as [`super::pki::serial_of`] writes
    /// them): the entries of the CRL the client CA publishes, checked here
    /// rather than by webpki, which verifies the CRL's signature again on every
    /// handshake (the benches showed it: one more ECDSA verification per
    /// connection). `None` checks nothing (`mtls-skip-crl`).
    pub revoked: Option<Arc<HashSet<String>>>,
}

impl Policy {
    /// Wraps `inner` with the correct policy.
    pub fn new(inner: Arc<dyn ClientCertVerifier>) -> Self {
        Policy {
            inner,
            require_digital_signature: true,
            ignore_eku: false,
            ignore_expiry: false,
            revoked: None,
        }
    }
}

/// Whether the certificate may sign: no key usage extension, or one with digitalSignature.
pub fn may_sign(der: &[u8]) -> bool {
    x509_parser::parse_x509_certificate(der).is_ok_and(|(_, cert)| cert_may_sign(&cert))
}

fn cert_may_sign(cert: &x509_parser::certificate::X509Certificate<'_>) -> bool {
    match cert.key_usage() {
        Ok(Some(ku)) => ku.value.digital_signature(),
        Ok(None) => true,
        Err(_) => false,
    }
}

impl ClientCertVerifier for Policy {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let verified = match self.inner.verify_client_cert(end_entity, intermediates, now) {
            Err(Error::InvalidCertificate(
                CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. },
            )) if self.ignore_eku => ClientCertVerified::assertion(),
            Err(Error::InvalidCertificate(
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. },
            )) if self.ignore_expiry => ClientCertVerified::assertion(),
            other => other?,
        };
        let (_, cert) = x509_parser::parse_x509_certificate(end_entity)
            .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?;
        if self.require_digital_signature && !cert_may_sign(&cert) {
            return Err(Error::InvalidCertificate(CertificateError::InvalidPurpose));
        }
        if let Some(revoked) = &self.revoked {
            let serial = hex::encode(cert.raw_serial());
            if revoked.contains(serial.trim_start_matches("00")) {
                return Err(Error::InvalidCertificate(CertificateError::Revoked));
            }
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
