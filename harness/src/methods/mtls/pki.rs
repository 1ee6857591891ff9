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
    /// Issued by an intermediate whose basicConstraints say cA=FALSE.
    IntermediateNotCa,
    /// Issued by an intermediate without basicConstraints.
    IntermediateNoBasicConstraints,
    /// Issued by a CA below an intermediate whose pathLenConstraint is 0.
    PathLenExceeded,
    /// Issued by an intermediate whose keyUsage lacks keyCertSign.
    IntermediateNoKeyCertSign,
    /// A critical extension no implementation knows.
    UnknownCriticalExtension,
}

/// The extension of [`BadCertificate::UnknownCriticalExtension`]: an OID
/// under 2.25 (UUID-derived, RFC 4122 §A.1; anyone may mint one) that no
/// software recognises.
const UNKNOWN_EXTENSION_OID: [u64; 3] = [2, 25, 8_823_442_184_519_680_331];

/// The RSA-1024 private key of [`BadCertificate::WeakKey`] certificates. It
/// is deliberately public: a weak key for testing refusals, never for use.
pub const WEAK_RSA_KEY_PEM: &str = include_str!("fixtures/rsa1024.key.pem");
const WEAK_RSA_PUBLIC_PEM: &str = include_str!("fixtures/rsa1024.pub.pem");

impl BadCertificate {
    /// Every kind.
    pub const ALL: [BadCertificate; 13] = [
        BadCertificate::Expired,
        BadCertificate::NotYetValid,
        BadCertificate::SelfSigned,
        BadCertificate::UntrustedCa,
        BadCertificate::WrongEku,
        BadCertificate::WrongKeyUsage,
        BadCertificate::CaAsLeaf,
        BadCertificate::WeakKey,
        BadCertificate::IntermediateNotCa,
        BadCertificate::IntermediateNoBasicConstraints,
        BadCertificate::PathLenExceeded,
        BadCertificate::IntermediateNoKeyCertSign,
        BadCertificate::UnknownCriticalExtension,
    ];

    /// The intermediates between the client CA and the leaf: (basic
    /// constraints, key usages) from the CA down; empty for a direct leaf.
    pub(crate) fn intermediates(self) -> Vec<(IsCa, Vec<KeyUsagePurpose>)> {
        let signing = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        match self {
            BadCertificate::IntermediateNotCa => vec![(IsCa::ExplicitNoCa, signing)],
            BadCertificate::IntermediateNoBasicConstraints => vec![(IsCa::NoCa, signing)],
            BadCertificate::PathLenExceeded => vec![
                (IsCa::Ca(BasicConstraints::Constrained(0)), signing.clone()),
                (IsCa::Ca(BasicConstraints::Unconstrained), signing),
            ],
            BadCertificate::IntermediateNoKeyCertSign => vec![(
                IsCa::Ca(BasicConstraints::Unconstrained),
                vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign],
            )],
            _ => Vec::new(),
        }
    }
}

impl BadCertificate {
    /// The sound counterpart of [`BadCertificate::intermediates`]: as many
    /// intermediates, each a CA allowed to issue what is below it.
    pub(crate) fn sound_intermediates(self) -> Vec<(IsCa, Vec<KeyUsagePurpose>)> {
        let n = self.intermediates().len();
        (0..n)
            .map(|depth| {
                let below = (n - 1 - depth) as u8;
                (
                    IsCa::Ca(BasicConstraints::Constrained(below)),
                    vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign],
                )
            })
            .collect()
    }
}

/// A certificate like the profile's, through the sound counterpart of the
/// intermediates `kind` spoils: the control that shows whether the target
/// accepts chains through intermediates at all.
pub(crate) fn sound_identity_through(
    t: &MtlsTarget,
    kind: BadCertificate,
) -> Result<Arc<ClientIdentity>, Verdict> {
    let ca = client_ca(t, kind)?;
    let params =
        params_like(&leaf_der(t)?).map_err(|e| Verdict::error("a certificate", e.to_string()))?;
    let (key, key_pem) =
        generate_key(KeyType::P256).map_err(|e| Verdict::error("a key", e.to_string()))?;
    let (leaf, intermediates) =
        through_intermediates(&ca, &params, &key, kind.sound_intermediates())
            .map_err(|e| Verdict::error("a certificate", e.to_string()))?;
    let chain = format!("{leaf}{intermediates}{}", ca.cert_pem);
    ClientIdentity::from_pem(chain.as_bytes(), key_pem.as_bytes())
        .map(Arc::new)
        .map_err(|e| Verdict::error("a certificate", e))
}

/// `params` signed through the intermediates `kind` calls for: (leaf PEM,
/// the intermediates' PEM, nearest the leaf first).
fn through_intermediates(
    ca: &ClientCa,
    params: &CertificateParams,
    key: &KeyPair,
    intermediates: Vec<(IsCa, Vec<KeyUsagePurpose>)>,
) -> Result<(String, String), rcgen::Error> {
    let mut chain: Vec<String> = Vec::new();
    let mut issuer: Option<Issuer<'static, KeyPair>> = None;
    for (depth, (is_ca, key_usages)) in intermediates.into_iter().enumerate() {
        let mut inter = CertificateParams::default();
        inter
            .distinguished_name
            .push(DnType::CommonName, format!("authbench intermediate {depth}"));
        inter.is_ca = is_ca;
        inter.key_usages = key_usages;
        let inter_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let pem = match &issuer {
            Some(parent) => inter.signed_by(&inter_key, parent)?.pem(),
            None => inter.signed_by(&inter_key, ca.issuer())?.pem(),
        };
        chain.insert(0, pem);
        issuer = Some(Issuer::new(inter, inter_key));
    }
    let leaf = match &issuer {
        Some(parent) => params.signed_by(key, parent)?.pem(),
        None => ca.issue(params, key)?,
    };
    Ok((leaf, chain.concat()))
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
        BadCertificate::UnknownCriticalExtension => {
            let mut extension = rcgen::CustomExtension::from_oid_content(
                &UNKNOWN_EXTENSION_OID,
                vec![0x05, 0x00], // NULL
            );
            extension.set_criticality(true);
            params.custom_extensions.push(extension);
        }
        BadCertificate::IntermediateNotCa
        | BadCertificate::IntermediateNoBasicConstraints
        | BadCertificate::PathLenExceeded
        | BadCertificate::IntermediateNoKeyCertSign => {
            let (leaf, intermediates) =
                through_intermediates(ca, &params, &key, kind.intermediates())?;
            return Ok((format!("{leaf}{intermediates}{}", ca.cert_pem), key_pem));
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

    /// The chains through intermediates differ from a valid chain by their
    /// defect alone: the same construction with sound intermediates is
    /// accepted by rustls's validator, each defective one refused.
    #[test]
    fn intermediate_chains_are_valid_but_for_their_defect() {
        let ca = throwaway_ca();
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca.cert_pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .unwrap();
        let verify = |intermediates: Vec<(IsCa, Vec<KeyUsagePurpose>)>| {
            let (key, _) = generate_key(KeyType::P256).unwrap();
            let params = client_params("client-a").unwrap();
            let (leaf, chain) = through_intermediates(&ca, &params, &key, intermediates).unwrap();
            let leaf = CertificateDer::from_pem_slice(leaf.as_bytes()).unwrap();
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(chain.as_bytes()).map(Result::unwrap).collect();
            verifier.verify_client_cert(&leaf, &chain, rustls_pki_types::UnixTime::now()).is_ok()
        };
        for kind in BadCertificate::ALL.into_iter().filter(|k| !k.intermediates().is_empty()) {
            assert!(verify(kind.sound_intermediates()), "{kind:?}: the sound chain was refused");
            // rustls-webpki does not check keyCertSign on intermediates
            // (RFC 5280 §6.1.4(n)); the case is a should for that reason.
            if kind != BadCertificate::IntermediateNoKeyCertSign {
                assert!(!verify(kind.intermediates()), "{kind:?} was accepted");
            }
        }
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
            let issued_by_ca =
                leaf.issuer() != leaf.subject() && ders.len() == 2 + kind.intermediates().len();
            let inter = |i: usize| parse_x509_certificate(&ders[1 + i]).unwrap().1;
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
                BadCertificate::IntermediateNotCa => {
                    inter(0).basic_constraints().unwrap().is_some_and(|b| !b.value.ca)
                }
                BadCertificate::IntermediateNoBasicConstraints => {
                    inter(0).basic_constraints().unwrap().is_none()
                }
                BadCertificate::PathLenExceeded => {
                    // The leaf's issuer is a CA below one with pathlen 0.
                    let (upper, lower) = (inter(1), inter(0));
                    upper.basic_constraints().unwrap().unwrap().value.path_len_constraint == Some(0)
                        && lower.basic_constraints().unwrap().unwrap().value.ca
                        && lower.issuer() == upper.subject()
                        && leaf.issuer() == lower.subject()
                }
                BadCertificate::IntermediateNoKeyCertSign => {
                    let i = inter(0);
                    i.basic_constraints().unwrap().unwrap().value.ca
                        && !i.key_usage().unwrap().unwrap().value.key_cert_sign()
                }
                BadCertificate::UnknownCriticalExtension => leaf
                    .extensions()
                    .iter()
                    .any(|e| e.critical && e.oid.to_id_string() == "2.25.8823442184519680331"),
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
