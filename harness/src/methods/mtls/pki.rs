//! The attacker's certificates: a client CA to mint with (the profile's, or
//! a throwaway one), certificates spoiled on purpose ([`BadCertificate`]),
//! copies of a certificate's identity with a new serial, and valid ones for
//! identities the target does not know. The reference servers keep only
//! their own PKI (their CA, its demo clients, the CRL); what an attacker
//! mints lives here.

use std::sync::Arc;

use authbench_servers::mtls::pki::{ClientCa, KeyType, client_params, generate_key};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use time::{Duration, OffsetDateTime};

use crate::client::ClientIdentity;
use crate::methods::mtls::MtlsTarget;
use crate::verdict::Verdict;

/// The client CA to mint with: the profile's, or (for the kinds that do not
/// need the target's trust) a throwaway one.
pub(super) fn client_ca(t: &MtlsTarget, kind: BadCertificate) -> Result<ClientCa, Verdict> {
    if let Some((cert, key)) = &t.client_ca {
        return ClientCa::from_pem(cert, key)
            .map_err(|e| Verdict::error("the client CA", e.to_string()));
    }
    if !matches!(kind, BadCertificate::SelfSigned | BadCertificate::UntrustedCa) {
        return Err(Verdict::skip(
            "needs the client CA the target trusts: give [mtls] client_ca_cert_file and client_ca_key_file",
        ));
    }
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| Verdict::error("a throwaway CA", e.to_string()))?;
    let mut params = rcgen::CertificateParams::default();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert =
        params.self_signed(&key).map_err(|e| Verdict::error("a throwaway CA", e.to_string()))?;
    ClientCa::from_pem(&cert.pem(), &key.serialize_pem())
        .map_err(|e| Verdict::error("a throwaway CA", e.to_string()))
}

/// The DER of the profile's client certificate (the template of minted ones).
pub(super) fn leaf_der(t: &MtlsTarget) -> Result<Vec<u8>, Verdict> {
    CertificateDer::pem_slice_iter(&t.client.chain_pem)
        .next()
        .and_then(Result::ok)
        .map(|c| c.to_vec())
        .ok_or_else(|| Verdict::error("the client certificate", "no certificate in the chain"))
}

/// A certificate like the profile's, spoiled as `kind` says.
pub(crate) fn bad_identity(
    t: &MtlsTarget,
    kind: BadCertificate,
) -> Result<Arc<ClientIdentity>, Verdict> {
    let ca = client_ca(t, kind)?;
    let template = leaf_der(t)?;
    let (chain, key) = mint_bad_like(&ca, &template, kind)
        .map_err(|e| Verdict::error("a bad certificate", e.to_string()))?;
    ClientIdentity::from_pem(chain.as_bytes(), key.as_bytes())
        .map(Arc::new)
        .map_err(|e| Verdict::error("a bad certificate", e))
}

/// A valid certificate from the client CA the target trusts, for an identity
/// it does not know.
pub(crate) fn unknown_identity(t: &MtlsTarget) -> Result<Arc<ClientIdentity>, Verdict> {
    let Some((cert, key)) = &t.client_ca else {
        return Err(Verdict::skip(
            "needs the client CA: give client_ca_cert_file and client_ca_key_file",
        ));
    };
    let ca = ClientCa::from_pem(cert, key)
        .map_err(|e| Verdict::error("the client CA", e.to_string()))?;
    let name = format!(
        "authbench-unknown-{}",
        crate::methods::forge::random_string(crate::methods::forge::ALNUM, 8)
    );
    let (leaf_key, key_pem) =
        generate_key(KeyType::P256).map_err(|e| Verdict::error("a key", e.to_string()))?;
    let params =
        client_params(&name).map_err(|e| Verdict::error("a certificate", e.to_string()))?;
    let leaf =
        ca.issue(&params, &leaf_key).map_err(|e| Verdict::error("a certificate", e.to_string()))?;
    let chain = format!("{leaf}{}", ca.cert_pem);
    ClientIdentity::from_pem(chain.as_bytes(), key_pem.as_bytes())
        .map(Arc::new)
        .map_err(|e| Verdict::error("a certificate", e))
}

/// Client certificates a correct mTLS server must refuse (CATALOG MT-02,
/// MT-03, MT-06, MT-07, MT-08, MT-10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadCertificate {
    /// Expired yesterday.
    Expired,
    /// Valid from tomorrow.
    NotYetValid,
    /// Self-signed.
    SelfSigned,
    /// Issued by a CA the server does not trust.
    UntrustedCa,
    /// Extended key usage serverAuth only.
    WrongEku,
    /// Key usage without digitalSignature.
    WrongKeyUsage,
    /// A CA certificate used as a client certificate.
    CaAsLeaf,
    /// An RSA-1024 key (a fixed, public test key: aws-lc will not generate one).
    WeakKey,
}

/// The RSA-1024 private key of [`BadCertificate::WeakKey`] certificates. It
/// is deliberately public: a weak key for testing refusals, never for use.
pub const WEAK_RSA_KEY_PEM: &str = include_str!("fixtures/rsa1024.key.pem");
const WEAK_RSA_PUBLIC_PEM: &str = include_str!("fixtures/rsa1024.pub.pem");

impl BadCertificate {
    /// Every kind.
    pub const ALL: [BadCertificate; 8] = [
        BadCertificate::Expired,
        BadCertificate::NotYetValid,
        BadCertificate::SelfSigned,
        BadCertificate::UntrustedCa,
        BadCertificate::WrongEku,
        BadCertificate::WrongKeyUsage,
        BadCertificate::CaAsLeaf,
        BadCertificate::WeakKey,
    ];
}

/// Mints a certificate of `kind` for identity `name` from `ca`: (chain PEM,
/// key PEM).
pub fn mint_bad(
    ca: &ClientCa,
    name: &str,
    kind: BadCertificate,
) -> Result<(String, String), rcgen::Error> {
    mint_bad_with(ca, client_params(name)?, kind)
}

/// Mints a certificate of `kind` with the subject and subject alternative
/// names of `template` (DER), so that only its defect tells it apart from
/// the template: a server that ignores the defect maps it to the
/// template's identity.
pub fn mint_bad_like(
    ca: &ClientCa,
    template: &[u8],
    kind: BadCertificate,
) -> Result<(String, String), rcgen::Error> {
    mint_bad_with(ca, params_like(template)?, kind)
}

/// Mints a valid certificate with the subject and subject alternative
/// names of `template` (DER): the same identity, a new serial, so that it
/// can be revoked without touching the template's.
pub fn mint_like(ca: &ClientCa, template: &[u8]) -> Result<(String, String), rcgen::Error> {
    let (key, key_pem) = generate_key(KeyType::P256)?;
    let leaf = ca.issue(&params_like(template)?, &key)?;
    Ok((format!("{leaf}{}", ca.cert_pem), key_pem))
}

fn mint_bad_with(
    ca: &ClientCa,
    mut params: CertificateParams,
    kind: BadCertificate,
) -> Result<(String, String), rcgen::Error> {
    let (key, key_pem) = generate_key(KeyType::P256)?;
    let now = OffsetDateTime::now_utc();
    match kind {
        BadCertificate::Expired => {
            params.not_before = now - Duration::days(30);
            params.not_after = now - Duration::days(1);
        }
        BadCertificate::NotYetValid => {
            params.not_before = now + Duration::days(1);
            params.not_after = now + Duration::days(30);
        }
        BadCertificate::WrongEku => {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth]
        }
        BadCertificate::WrongKeyUsage => params.key_usages = vec![KeyUsagePurpose::KeyEncipherment],
        BadCertificate::CaAsLeaf => {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages =
                vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        }
        BadCertificate::SelfSigned => return Ok((params.self_signed(&key)?.pem(), key_pem)),
        BadCertificate::WeakKey => {
            use rustls_pki_types::pem::PemObject;
            let spki = rustls_pki_types::SubjectPublicKeyInfoDer::from_pem_slice(
                WEAK_RSA_PUBLIC_PEM.as_bytes(),
            )
            .map_err(|_| rcgen::Error::CouldNotParseKeyPair)?;
            let public = rcgen::SubjectPublicKeyInfo::from_der(&spki)?;
            let leaf = params.signed_by(&public, ca.issuer())?.pem();
            return Ok((format!("{leaf}{}", ca.cert_pem), WEAK_RSA_KEY_PEM.to_owned()));
        }
        BadCertificate::UntrustedCa => {
            let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
            let mut untrusted = CertificateParams::default();
            untrusted.distinguished_name.push(DnType::CommonName, "authbench untrusted CA");
            untrusted.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            untrusted.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let ca_pem = untrusted.self_signed(&ca_key)?.pem();
            let issuer = Issuer::new(untrusted, ca_key);
            let leaf = params.signed_by(&key, &issuer)?.pem();
            return Ok((format!("{leaf}{ca_pem}"), key_pem));
        }
    }
    Ok((format!("{}{}", ca.issue(&params, &key)?, ca.cert_pem), key_pem))
}

/// Client certificate parameters with the subject and subject alternative
/// names of `template` (DER).
fn params_like(template: &[u8]) -> Result<CertificateParams, rcgen::Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(template)
        .map_err(|_| rcgen::Error::CouldNotParseCertificate)?;
    let mut params = client_params("template")?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    for rdn in cert.subject().iter() {
        for attr in rdn.iter() {
            let oid: Vec<u64> = attr.attr_type().iter().into_iter().flatten().collect();
            if let Ok(text) = attr.as_str() {
                params.distinguished_name.push(DnType::from_oid(&oid), text);
            }
        }
    }
    params.subject_alt_names.clear();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        use x509_parser::extensions::GeneralName;
        for name in &san.value.general_names {
            let entry = match name {
                GeneralName::URI(u) => SanType::URI((*u).try_into()?),
                GeneralName::DNSName(d) => SanType::DnsName((*d).try_into()?),
                GeneralName::RFC822Name(m) => SanType::Rfc822Name((*m).try_into()?),
                _ => continue,
            };
            params.subject_alt_names.push(entry);
        }
    }
    Ok(params)
}

/// The serial number (hex, lower case, no leading zero bytes) of a DER
/// certificate, as a CRL or an admin API names it.
pub fn serial_of(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(hex::encode(cert.raw_serial()).trim_start_matches("00").to_owned())
}

#[cfg(test)]
mod tests {
    use x509_parser::prelude::parse_x509_certificate;

    use super::*;

    fn throwaway_ca() -> ClientCa {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        ClientCa::from_pem(&cert.pem(), &key.serialize_pem()).unwrap()
    }

    /// Each kind carries exactly the defect it is named for: a refusal of it
    /// proves the server checks that property.
    #[test]
    fn every_kind_has_its_defect() {
        let ca = throwaway_ca();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        for kind in BadCertificate::ALL {
            let (chain, _) = mint_bad(&ca, "client-a", kind).unwrap();
            let ders: Vec<Vec<u8>> =
                rustls_pki_types::CertificateDer::pem_slice_iter(chain.as_bytes())
                    .map(|c| c.unwrap().to_vec())
                    .collect();
            let (_, leaf) = parse_x509_certificate(&ders[0]).unwrap();
            let eku = leaf.extended_key_usage().unwrap().map(|e| e.value.clone());
            let ku = leaf.key_usage().unwrap().map(|k| k.value);
            let ca_flag = leaf.basic_constraints().unwrap().is_some_and(|b| b.value.ca);
            let issued_by_ca = leaf.issuer() != leaf.subject() && ders.len() == 2;
            let defect = match kind {
                BadCertificate::Expired => leaf.validity().not_after.timestamp() < now,
                BadCertificate::NotYetValid => leaf.validity().not_before.timestamp() > now,
                BadCertificate::SelfSigned => leaf.issuer() == leaf.subject() && ders.len() == 1,
                BadCertificate::UntrustedCa => {
                    let (_, issuer) = parse_x509_certificate(&ders[1]).unwrap();
                    issuer.subject().to_string().contains("authbench untrusted CA")
                }
                BadCertificate::WrongEku => {
                    eku.as_ref().is_some_and(|e| e.server_auth && !e.client_auth)
                }
                BadCertificate::WrongKeyUsage => ku.is_some_and(|k| !k.digital_signature()),
                BadCertificate::CaAsLeaf => ca_flag,
                BadCertificate::WeakKey => {
                    leaf.public_key().parsed().is_ok_and(|k| k.key_size() == 1024)
                }
            };
            assert!(defect, "{kind:?} lacks its defect");
            // and only that one: the rest is a good client certificate.
            if !matches!(kind, BadCertificate::Expired | BadCertificate::NotYetValid) {
                assert!(leaf.validity().is_valid(), "{kind:?}");
            }
            if !matches!(kind, BadCertificate::SelfSigned | BadCertificate::UntrustedCa) {
                assert!(issued_by_ca, "{kind:?}");
            }
            if kind != BadCertificate::WrongEku {
                assert!(eku.is_some_and(|e| e.client_auth), "{kind:?}");
            }
            if kind != BadCertificate::CaAsLeaf {
                assert!(!ca_flag, "{kind:?}");
            }
        }
    }
}
