//! The attacker's certificates: a client CA to mint with (the profile's, or
//! a throwaway one), certificates spoiled on purpose, and valid ones for
//! identities the target does not know.

use std::sync::Arc;

use authbench_servers::mtls::pki::{BadCertificate, ClientCa};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::client::ClientIdentity;
use crate::target::MtlsTarget;
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
    let (chain, key) = ca
        .mint_bad_like(&template, kind)
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
        authbench_servers::mtls::pki::generate_key(authbench_servers::mtls::pki::KeyType::P256)
            .map_err(|e| Verdict::error("a key", e.to_string()))?;
    let params = authbench_servers::mtls::pki::client_params(&name)
        .map_err(|e| Verdict::error("a certificate", e.to_string()))?;
    let leaf =
        ca.issue(&params, &leaf_key).map_err(|e| Verdict::error("a certificate", e.to_string()))?;
    let chain = format!("{leaf}{}", ca.cert_pem);
    ClientIdentity::from_pem(chain.as_bytes(), key_pem.as_bytes())
        .map(Arc::new)
        .map_err(|e| Verdict::error("a certificate", e))
}
