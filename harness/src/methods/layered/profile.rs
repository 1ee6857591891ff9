//! `[layered]`: the three layers' sections, parsed as their own, and a
//! second valid set.

use authbench_scenarios::Method;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::methods::api_key::profile::{ApiKeyTarget, RawApiKey, parse_api_key};
use crate::methods::jwt::profile::{JwtTarget, RawJwt, parse_jwt};
use crate::methods::mtls::profile::{MtlsTarget, RawMtls, parse_mtls};
#[allow(clippy::wildcard_imports)]
use crate::profile::*;

/// `[layered]`: one resource, its three layers in sub-tables that take the
/// fields of `[mtls]`, `[api_key]` and `[jwt]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLayered {
    pub(crate) url: Spanned<String>,
    pub(crate) application: Option<String>,
    pub(crate) mtls: RawMtls,
    pub(crate) api_key: RawApiKey,
    pub(crate) jwt: RawJwt,
    pub(crate) other: Option<RawLayeredOther>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLayeredOther {
    pub(crate) application: Option<String>,
    pub(crate) client_cert_file: Spanned<String>,
    pub(crate) client_key_file: Spanned<String>,
    pub(crate) key: String,
    pub(crate) token: Option<String>,
}

/// `[layered]`: a resource that requires a client certificate (the service),
/// an API key (the application) and a bearer token (the user) on one request.
/// Each layer is parsed as its own section would be, with the layered URL.
#[derive(Debug, Clone)]
pub struct LayeredTarget {
    /// The layered resource.
    pub url: Url,
    /// The application the valid certificate's service is bound to: the key's
    /// owner, named in the `client_id` of the tokens minted for the cases.
    pub application: Option<String>,
    /// The service layer (`[layered.mtls]`).
    pub mtls: MtlsTarget,
    /// The application layer (`[layered.api_key]`; always in its own header).
    pub api_key: ApiKeyTarget,
    /// The user layer (`[layered.jwt]`).
    pub jwt: JwtTarget,
    /// A second valid set, of another service and application (`[layered.other]`).
    pub other: Option<LayeredOther>,
}

/// `[layered.other]`: another service's certificate, another application's
/// key, and that application's id (or a token for it), for cross-binding.
#[derive(Debug, Clone)]
pub struct LayeredOther {
    /// The other application.
    pub application: Option<String>,
    /// A certificate of the service bound to it.
    pub client: CertificateFiles,
    /// A key of the other application.
    pub key: String,
    /// A user token for the other application, when none can be minted.
    pub token: Option<String>,
}

pub(crate) fn parse_layered(
    ctx: &Ctx<'_>,
    base: &Url,
    l: RawLayered,
) -> Result<LayeredTarget, ProfileError> {
    let url = ctx.url(base, &l.url, "layered.url")?;
    for (inner, method) in
        [(&l.mtls.url, Method::Mtls), (&l.api_key.url, Method::ApiKey), (&l.jwt.url, Method::Jwt)]
    {
        let name = method.name();
        if let Some(v) = inner {
            return Err(ctx.err(
                v.span().start,
                &format!("layered.{name}.url"),
                "the layered resource has one URL: set `url` in [layered] and remove this one",
            ));
        }
    }
    if let Some(scheme) = &l.api_key.scheme {
        return Err(ctx.err(
            ctx.field_offset("layered.api_key", "scheme").unwrap_or_default(),
            "layered.api_key.scheme",
            format!(
                "the bearer token takes the Authorization header, so the key cannot use scheme `{scheme}`: give its `header` instead"
            ),
        ));
    }
    let other = match l.other {
        Some(o) => Some(LayeredOther {
            client: ctx.certificate_files(
                &o.client_cert_file,
                &o.client_key_file,
                "layered.other.client",
            )?,
            application: o.application,
            key: o.key,
            token: o.token,
        }),
        None => None,
    };
    Ok(LayeredTarget {
        mtls: parse_mtls(ctx, base, l.mtls, "layered.mtls", url.clone())?,
        api_key: parse_api_key(ctx, base, l.api_key, "layered.api_key", url.clone())?,
        jwt: parse_jwt(ctx, base, l.jwt, "layered.jwt", url.clone())?,
        application: l.application,
        other,
        url,
    })
}
