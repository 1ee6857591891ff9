//! `[jwt]`: issuer, audience, algorithms and their keys, tokens, leeway and
//! the declared policies.

use jsonwebtoken::Algorithm;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

#[allow(clippy::wildcard_imports)]
use crate::profile::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawJwt {
    /// Required at top level; absent under `[layered]`.
    pub(crate) url: Option<Spanned<String>>,
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) algorithm: Spanned<String>,
    pub(crate) signing_key_file: Option<Spanned<String>>,
    pub(crate) jwks_url: Option<Spanned<String>>,
    pub(crate) token: Option<String>,
    pub(crate) required_scope: Option<String>,
    pub(crate) revoked_token: Option<String>,
    pub(crate) revocation_url: Option<Spanned<String>>,
    pub(crate) insufficient_scope_url: Option<Spanned<String>>,
    pub(crate) token_url: Option<Spanned<String>>,
    pub(crate) leeway_seconds: Option<Spanned<i64>>,
    pub(crate) max_lifetime_seconds: Option<Spanned<u64>>,
    pub(crate) access_token_profile: Option<Spanned<String>>,
    pub(crate) subject: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) variants: Vec<RawVariant>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVariant {
    pub(crate) algorithm: Spanned<String>,
    pub(crate) url: Spanned<String>,
    pub(crate) signing_key_file: Option<Spanned<String>>,
}

/// `[jwt]`.
#[derive(Debug, Clone)]
pub struct JwtTarget {
    /// The protected resource.
    pub url: Url,
    /// Accepted `iss`.
    pub issuer: String,
    /// Required `aud`.
    pub audience: String,
    /// The resource's algorithm.
    pub algorithm: Algorithm,
    /// The signing key, to mint validly signed wrong tokens.
    pub signing_key: Option<SigningKey>,
    /// Where a client gets a token: a POST with the `[basic]` user's
    /// credentials (`compare` counts its round trips).
    pub token_url: Option<Url>,
    /// A valid token.
    pub token: Option<String>,
    /// Scope the resource requires.
    pub required_scope: Option<String>,
    /// A revoked token.
    pub revoked_token: Option<String>,
    /// Where revocation is checked.
    pub revocation_url: Option<Url>,
    /// The published key set (JWKS) the resource's keys come from, audited.
    pub jwks_url: Option<Url>,
    /// A resource the token's scopes do not cover.
    pub insufficient_scope_url: Option<Url>,
    /// Clock skew the target tolerates (60 s assumed when the profile is silent).
    pub leeway_seconds: i64,
    /// Declared policy: the longest lifetime (`exp` − now) the target accepts.
    pub max_lifetime_seconds: Option<u64>,
    /// Declared: the tokens are RFC 9068 JWT access tokens (`typ: at+jwt`, `sub` required).
    pub rfc9068: bool,
    /// The `sub` of the tokens minted with the signing key (else the profile
    /// token's, else `authbench`).
    pub subject: Option<String>,
    /// Other algorithms' keys (and resources).
    pub variants: Vec<(Algorithm, Url, Option<SigningKey>)>,
}

/// The largest leeway a profile may state: five minutes, the most any
/// common library defaults to; more is a mistake, and would make the
/// `exp`/`nbf` cases mint tokens whose verdicts mean nothing.
pub const MAX_LEEWAY: i64 = 300;

/// The leeway assumed when a profile does not state one: RFC 8725 asks for a
/// small one, and a minute is the most common ceiling.
pub const DEFAULT_LEEWAY: i64 = 60;

pub(crate) fn parse_jwt(
    ctx: &Ctx<'_>,
    base: &Url,
    j: RawJwt,
    section: &str,
    url: Url,
) -> Result<JwtTarget, ProfileError> {
    let field = |name: &str| format!("{section}.{name}");
    let algorithm = ctx.algorithm(&j.algorithm, &field("algorithm"))?;
    let signing_key = j
        .signing_key_file
        .as_ref()
        .map(|f| ctx.signing_key(algorithm, f, &field("signing_key_file")))
        .transpose()?;
    let token_url = ctx.opt_url(base, &j.token_url, &field("token_url"))?;
    let variants = j
        .variants
        .iter()
        .map(|v| {
            let alg = ctx.algorithm(&v.algorithm, &field("variants.algorithm"))?;
            let key = v
                .signing_key_file
                .as_ref()
                .map(|f| ctx.signing_key(alg, f, &field("variants.signing_key_file")))
                .transpose()?;
            Ok((alg, ctx.url(base, &v.url, &field("variants.url"))?, key))
        })
        .collect::<Result<_, ProfileError>>()?;
    for (name, value) in
        [("token", j.token.as_deref()), ("revoked_token", j.revoked_token.as_deref())]
    {
        if let Some(value) = value
            && let Err(why) = wire_safe(value, false)
        {
            return Err(ctx.err(
                ctx.field_offset(section, name).unwrap_or_default(),
                &field(name),
                why,
            ));
        }
    }
    let rfc9068 = match &j.access_token_profile {
        None => false,
        Some(p) if p.get_ref() == "rfc9068" => true,
        Some(p) => {
            return Err(ctx.err(
                p.span().start,
                &field("access_token_profile"),
                format!(
                    "`{}` is not a known profile: give \"rfc9068\" (JWT access tokens, RFC 9068) or leave it out",
                    p.get_ref()
                ),
            ));
        }
    };
    let subject = match j.subject {
        Some(s) if s.get_ref().trim().is_empty() => {
            return Err(ctx.err(
                s.span().start,
                &field("subject"),
                "give the `sub` the minted tokens carry (a user the target knows), or leave it out",
            ));
        }
        other => other.map(Spanned::into_inner),
    };
    let max_lifetime_seconds = match j.max_lifetime_seconds {
        Some(m) if *m.get_ref() == 0 => {
            return Err(ctx.err(
                m.span().start,
                &field("max_lifetime_seconds"),
                "give the longest token lifetime the target accepts, in seconds (more than 0)",
            ));
        }
        other => other.map(Spanned::into_inner),
    };
    Ok(JwtTarget {
        token_url,
        url,
        issuer: j.issuer,
        audience: j.audience,
        algorithm,
        signing_key,
        token: j.token,
        required_scope: j.required_scope,
        revoked_token: j.revoked_token,
        revocation_url: ctx.opt_url(base, &j.revocation_url, &field("revocation_url"))?,
        jwks_url: ctx.opt_url(base, &j.jwks_url, &field("jwks_url"))?,
        insufficient_scope_url: ctx.opt_url(
            base,
            &j.insufficient_scope_url,
            &field("insufficient_scope_url"),
        )?,
        leeway_seconds: match j.leeway_seconds {
            None => DEFAULT_LEEWAY,
            Some(l) if (0..=MAX_LEEWAY).contains(l.get_ref()) => l.into_inner(),
            Some(l) => {
                return Err(ctx.err(
                    l.span().start,
                    &field("leeway_seconds"),
                    format!(
                        "{} is out of range: give the target's clock-skew allowance, 0 to {MAX_LEEWAY} seconds",
                        l.get_ref()
                    ),
                ));
            }
        },
        max_lifetime_seconds,
        rfc9068,
        subject,
        variants,
    })
}
