//! `[api_key]`: where the key goes, a valid and a revoked key, the declared
//! throttling, a key with a source-address allowlist, where a key's usage is
//! read.

use std::net::IpAddr;
use std::path::PathBuf;

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
    pub(crate) allowlist: Option<RawAllowlist>,
    pub(crate) usage: Option<RawUsage>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAllowlist {
    url: Option<Spanned<String>>,
    key: Option<String>,
    allowed_source: Spanned<String>,
    refused_source: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUsage {
    url: Spanned<String>,
    bearer_file: Option<String>,
    request_count: Option<Spanned<String>>,
    last_used_at: Option<Spanned<String>>,
}

/// `[api_key.allowlist]`: a key the target serves only from some source
/// addresses — the policy the `allowlist` cases check.
#[derive(Debug, Clone)]
pub struct Allowlist {
    /// The resource the allowlisted key is sent to (`[api_key] url` when
    /// absent): a partner endpoint, when the allowlist is the resource's.
    pub url: Url,
    /// The allowlisted key (the profile's `key` when absent).
    pub key: String,
    /// An address of this machine the key is served from.
    pub allowed_source: IpAddr,
    /// An address of this machine the key is refused from.
    pub refused_source: IpAddr,
}

/// `[api_key.usage]`: where the profile's key's usage is read.
#[derive(Debug, Clone)]
pub struct UsageEndpoint {
    /// GET answers JSON.
    pub url: Url,
    /// A file holding a bearer token for that GET.
    pub bearer_file: Option<PathBuf>,
    /// JSON pointer to the key's request count.
    pub request_count: String,
    /// JSON pointer to its last use's time (Unix seconds or RFC 3339), if the target reports it.
    pub last_used_at: Option<String>,
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
    /// Declared policy: a key served only from some addresses.
    pub allowlist: Option<Allowlist>,
    /// Where the key's usage is read.
    pub usage: Option<UsageEndpoint>,
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
        ("allowlist.key", a.allowlist.as_ref().and_then(|l| l.key.as_deref()), false),
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
    let allowlist =
        a.allowlist.map(|l| parse_allowlist(ctx, base, l, &a.key, &url, section)).transpose()?;
    let usage = a.usage.map(|u| parse_usage(ctx, base, u, section)).transpose()?;
    Ok(ApiKeyTarget {
        allowlist,
        usage,
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

fn parse_allowlist(
    ctx: &Ctx<'_>,
    base: &Url,
    l: RawAllowlist,
    key: &str,
    url: &Url,
    section: &str,
) -> Result<Allowlist, ProfileError> {
    let address = |value: &Spanned<String>, name: &str| {
        value.get_ref().trim().parse::<IpAddr>().map_err(|_| {
            ctx.err(
                value.span().start,
                &format!("{section}.allowlist.{name}"),
                format!(
                    "`{}` is not an IP address: give an address of this machine (on Linux any 127.0.0.0/8 address, such as 127.0.0.2)",
                    value.get_ref()
                ),
            )
        })
    };
    let allowed_source = address(&l.allowed_source, "allowed_source")?;
    let refused_source = address(&l.refused_source, "refused_source")?;
    if allowed_source == refused_source || allowed_source.is_ipv4() != refused_source.is_ipv4() {
        return Err(ctx.err(
            l.refused_source.span().start,
            &format!("{section}.allowlist.refused_source"),
            "give two different addresses of the same family (IPv4 or IPv6)",
        ));
    }
    Ok(Allowlist {
        url: ctx.opt_url(base, &l.url, &format!("{section}.allowlist.url"))?.unwrap_or(url.clone()),
        key: l.key.unwrap_or_else(|| key.to_owned()),
        allowed_source,
        refused_source,
    })
}

fn parse_usage(
    ctx: &Ctx<'_>,
    base: &Url,
    u: RawUsage,
    section: &str,
) -> Result<UsageEndpoint, ProfileError> {
    let pointer = |value: Option<Spanned<String>>, name: &str, default: &str| {
        let Some(value) = value else { return Ok(default.to_owned()) };
        if value.get_ref().starts_with('/') {
            Ok(value.into_inner())
        } else {
            Err(ctx.err(
                value.span().start,
                &format!("{section}.usage.{name}"),
                format!(
                    "`{}` is not a JSON pointer: write it as /field or /object/field (RFC 6901)",
                    value.get_ref()
                ),
            ))
        }
    };
    Ok(UsageEndpoint {
        url: ctx.url(base, &u.url, &format!("{section}.usage.url"))?,
        bearer_file: u.bearer_file.map(|f| ctx.dir.join(f)),
        request_count: pointer(u.request_count, "request_count", "/request_count")?,
        last_used_at: Some(pointer(u.last_used_at, "last_used_at", "/last_used_at")?),
    })
}
