//! `[api_key]`: where the key goes, a valid and a revoked key, the declared
//! throttling.

use serde::Deserialize;
use toml::Spanned;
use url::Url;

#[allow(clippy::wildcard_imports)]
use crate::profile::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApiKey {
    /// Required at top level; absent under `[layered]` (its own `url` applies).
    pub(crate) url: Option<Spanned<String>>,
    pub(crate) header: Option<String>,
    pub(crate) scheme: Option<String>,
    pub(crate) key: String,
    pub(crate) revoked_key: Option<String>,
    pub(crate) insufficient_scope_url: Option<Spanned<String>>,
    pub(crate) throttle_after: Option<Spanned<u32>>,
}

/// `[api_key]`.
#[derive(Debug, Clone)]
pub struct ApiKeyTarget {
    /// The protected resource.
    pub url: Url,
    /// The header carrying the key, when the key goes in its own header.
    pub header: Option<String>,
    /// The Authorization scheme, when the key goes there.
    pub scheme: Option<String>,
    /// A valid key.
    pub key: String,
    /// A revoked key.
    pub revoked_key: Option<String>,
    /// A resource the key's scopes do not cover.
    pub insufficient_scope_url: Option<Url>,
    /// Declared policy: invalid keys from one client before the target answers 429.
    pub throttle_after: Option<u32>,
}

pub(crate) fn parse_api_key(
    ctx: &Ctx<'_>,
    base: &Url,
    a: RawApiKey,
    section: &str,
    url: Url,
) -> Result<ApiKeyTarget, ProfileError> {
    if let (Some(_), Some(scheme)) = (&a.header, &a.scheme) {
        return Err(ctx.err(
            ctx.field_offset(section, "scheme").unwrap_or_default(),
            section,
            format!("give `header` or `scheme` (`{scheme}`), not both"),
        ));
    }
    // These go on the wire as written: a CR or LF would split the request.
    for (name, value, token) in [
        ("header", a.header.as_deref(), true),
        ("scheme", a.scheme.as_deref(), true),
        ("key", Some(a.key.as_str()), false),
        ("revoked_key", a.revoked_key.as_deref(), false),
    ] {
        if let Some(value) = value
            && let Err(why) = wire_safe(value, token)
        {
            return Err(ctx.err(
                ctx.field_offset(section, name).unwrap_or_default(),
                &format!("{section}.{name}"),
                why,
            ));
        }
    }
    Ok(ApiKeyTarget {
        url,
        header: if a.scheme.is_none() {
            Some(a.header.unwrap_or_else(|| "X-API-Key".to_owned()))
        } else {
            None
        },
        scheme: a.scheme,
        key: a.key,
        revoked_key: a.revoked_key,
        insufficient_scope_url: ctx.opt_url(
            base,
            &a.insufficient_scope_url,
            &format!("{section}.insufficient_scope_url"),
        )?,
        throttle_after: throttle(ctx, a.throttle_after, &format!("{section}.throttle_after"))?,
    })
}
