//! `[mtls]`: the resource, the client certificates and the client CA.

use serde::Deserialize;
use toml::Spanned;
use url::Url;

#[allow(clippy::wildcard_imports)]
use crate::profile::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMtls {
    /// Required at top level; absent under `[layered]`.
    pub(crate) url: Option<Spanned<String>>,
    pub(crate) client_cert_file: Spanned<String>,
    pub(crate) client_key_file: Spanned<String>,
    pub(crate) client_ca_cert_file: Option<Spanned<String>>,
    pub(crate) client_ca_key_file: Option<Spanned<String>>,
    pub(crate) revoked_client_cert_file: Option<Spanned<String>>,
    pub(crate) revoked_client_key_file: Option<Spanned<String>>,
    pub(crate) forbidden_client_cert_file: Option<Spanned<String>>,
    pub(crate) forbidden_client_key_file: Option<Spanned<String>>,
    pub(crate) whoami_url: Option<Spanned<String>>,
    pub(crate) identities: Option<Identities>,
}

/// `[mtls] identities`: the target's declared policy for certificates from
/// its client CA. Whether an unknown identity is refused is policy, not a
/// protocol rule, so the case that checks it runs only when this is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Identities {
    /// Only identities the target maps to a client are clients.
    Mapped,
    /// Every certificate the client CA issued is a client (nginx with
    /// `ssl_verify_client on` and nothing more).
    Any,
}

/// `[mtls]`.
#[derive(Debug, Clone)]
pub struct MtlsTarget {
    /// The resource requiring a client certificate.
    pub url: Url,
    /// A certificate the target accepts.
    pub client: CertificateFiles,
    /// The CA that issues the target's client certificates (certificate, key).
    pub client_ca: Option<(String, String)>,
    /// A certificate the target has revoked.
    pub revoked: Option<CertificateFiles>,
    /// A certificate of a known identity without permission.
    pub forbidden: Option<CertificateFiles>,
    /// Reports the identity a certificate maps to.
    pub whoami_url: Option<Url>,
    /// The declared identity policy, if any.
    pub identities: Option<Identities>,
}

pub(crate) fn parse_mtls(
    ctx: &Ctx<'_>,
    base: &Url,
    m: RawMtls,
    section: &str,
    url: Url,
) -> Result<MtlsTarget, ProfileError> {
    let client = ctx.certificate_files(
        &m.client_cert_file,
        &m.client_key_file,
        &format!("{section}.client"),
    )?;
    let client_ca = match (&m.client_ca_cert_file, &m.client_ca_key_file) {
        (Some(c), Some(k)) => {
            let cert_field = format!("{section}.client_ca_cert_file");
            let cert = String::from_utf8_lossy(&ctx.read(c, &cert_field)?).into_owned();
            let key =
                String::from_utf8_lossy(&ctx.read(k, &format!("{section}.client_ca_key_file"))?)
                    .into_owned();
            authbench_servers::mtls::pki::ClientCa::from_pem(&cert, &key).map_err(|e| {
                ctx.err(
                    c.span().start,
                    &cert_field,
                    format!("cannot issue certificates with this CA certificate and key: {e}"),
                )
            })?;
            Some((cert, key))
        }
        (None, None) => None,
        (Some(v), None) | (None, Some(v)) => {
            return Err(ctx.err(
                v.span().start,
                section,
                "give both client_ca_cert_file and client_ca_key_file, or neither",
            ));
        }
    };
    Ok(MtlsTarget {
        url,
        client,
        client_ca,
        revoked: ctx.optional_pair(
            &m.revoked_client_cert_file,
            &m.revoked_client_key_file,
            &format!("{section}.revoked_client"),
        )?,
        forbidden: ctx.optional_pair(
            &m.forbidden_client_cert_file,
            &m.forbidden_client_key_file,
            &format!("{section}.forbidden_client"),
        )?,
        whoami_url: ctx.opt_url(base, &m.whoami_url, &format!("{section}.whoami_url"))?,
        identities: m.identities,
    })
}
