//! `[oauth2]`: the authorization server, the clients, the login form.

use serde::Deserialize;
use toml::Spanned;
use url::Url;

#[allow(clippy::wildcard_imports)]
use crate::profile::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOAuth2 {
    pub(crate) issuer: Spanned<String>,
    pub(crate) resource_url: Spanned<String>,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
    pub(crate) redirect_uri: Spanned<String>,
    pub(crate) scope: Option<String>,
    pub(crate) login: Option<std::collections::BTreeMap<String, String>>,
    pub(crate) resource: Option<String>,
    pub(crate) other_resource: Option<String>,
    pub(crate) insufficient_scope_url: Option<Spanned<String>>,
    pub(crate) opaque_client: Option<RawClient>,
    pub(crate) other_client: Option<RawClient>,
    pub(crate) tls_client_auth: Option<RawTlsClientAuth>,
    pub(crate) private_key_jwt: Option<RawPrivateKeyJwt>,
    pub(crate) public_client: Option<RawPublicClient>,
    pub(crate) code_lifetime_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPublicClient {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: Spanned<String>,
}

/// `[oauth2.public_client]`: a client with no credentials (RFC 6749 §2.1),
/// as a native app or a single-page app is registered.
#[derive(Debug, Clone)]
pub struct PublicClientTarget {
    /// `client_id`.
    pub client_id: String,
    /// Its registered redirect URI; a loopback one (`http://127.0.0.1/…`)
    /// makes it a native app's (RFC 8252 §7.3).
    pub redirect_uri: Url,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrivateKeyJwt {
    pub(crate) client_id: String,
    pub(crate) key_file: Spanned<String>,
    pub(crate) algorithm: Spanned<String>,
}

/// `[oauth2.private_key_jwt]`: a client that authenticates with assertions
/// signed by its key (RFC 7523 §2.2).
#[derive(Debug, Clone)]
pub struct PrivateKeyJwtTarget {
    /// `client_id`.
    pub client_id: String,
    /// The key its assertions are signed with.
    pub key: std::sync::Arc<SigningKey>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClient {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTlsClientAuth {
    pub(crate) client_id: String,
    pub(crate) token_url: Spanned<String>,
    pub(crate) resource_url: Spanned<String>,
}

/// A client's id and secret.
#[derive(Debug, Clone)]
pub struct ClientSecret {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: String,
}

/// `[oauth2]`.
#[derive(Debug, Clone)]
pub struct OAuth2Target {
    /// The issuer; metadata from its well-known URLs.
    pub issuer: Url,
    /// The protected resource.
    pub resource_url: Url,
    /// The confidential client the cases act as.
    pub client_id: String,
    /// Its secret (none for a client that authenticates otherwise).
    pub client_secret: Option<String>,
    /// A redirect URI registered for the client.
    pub redirect_uri: Url,
    /// The scope to ask for.
    pub scope: Option<String>,
    /// Form fields filled into the login (and consent) pages; none: the
    /// authorization-code cases skip.
    pub login: Option<Vec<(String, String)>>,
    /// The resource indicator (RFC 8707) of `resource_url`.
    pub resource: Option<String>,
    /// Another resource the authorization server issues tokens for.
    pub other_resource: Option<String>,
    /// A resource the scope does not cover.
    pub insufficient_scope_url: Option<Url>,
    /// A client whose access tokens are opaque.
    pub opaque_client: Option<ClientSecret>,
    /// Another client, for cross-client cases.
    pub other_client: Option<ClientSecret>,
    /// A `tls_client_auth` client authenticated by `[mtls]`'s certificate.
    pub tls_client_auth: Option<TlsClientAuthTarget>,
    /// A `private_key_jwt` client.
    pub private_key_jwt: Option<PrivateKeyJwtTarget>,
    /// A public client.
    pub public_client: Option<PublicClientTarget>,
    /// How long codes live, if the profile says (enables the expiry case).
    pub code_lifetime_seconds: Option<u64>,
}

/// `[oauth2.tls_client_auth]`.
#[derive(Debug, Clone)]
pub struct TlsClientAuthTarget {
    /// The client's id (its certificate's identity).
    pub client_id: String,
    /// The token endpoint on the mTLS listener.
    pub token_url: Url,
    /// The resource server on the mTLS listener.
    pub resource_url: Url,
}

pub(crate) fn parse_oauth2(
    ctx: &Ctx<'_>,
    base: &Url,
    o: RawOAuth2,
) -> Result<OAuth2Target, ProfileError> {
    let issuer = ctx.url(base, &o.issuer, "oauth2.issuer")?;
    let absolute = |raw: &Spanned<String>, field: &str| {
        Url::parse(raw.get_ref()).map_err(|e| {
            ctx.err(
                raw.span().start,
                field,
                format!("`{}` is not an absolute URL: {e}", raw.get_ref()),
            )
        })
    };
    let redirect_uri = absolute(&o.redirect_uri, "oauth2.redirect_uri")?;
    let public_client = o
        .public_client
        .map(|p| {
            Ok::<_, ProfileError>(PublicClientTarget {
                client_id: p.client_id,
                redirect_uri: absolute(&p.redirect_uri, "oauth2.public_client.redirect_uri")?,
            })
        })
        .transpose()?;
    let client =
        |c: RawClient| ClientSecret { client_id: c.client_id, client_secret: c.client_secret };
    let tls_client_auth = o
        .tls_client_auth
        .map(|t| {
            Ok::<_, ProfileError>(TlsClientAuthTarget {
                client_id: t.client_id,
                token_url: ctx.url(base, &t.token_url, "oauth2.tls_client_auth.token_url")?,
                resource_url: ctx.url(
                    base,
                    &t.resource_url,
                    "oauth2.tls_client_auth.resource_url",
                )?,
            })
        })
        .transpose()?;
    let private_key_jwt = o
        .private_key_jwt
        .map(|p| {
            let alg = ctx.algorithm(&p.algorithm, "oauth2.private_key_jwt.algorithm")?;
            let key = ctx.signing_key(alg, &p.key_file, "oauth2.private_key_jwt.key_file")?;
            Ok::<_, ProfileError>(PrivateKeyJwtTarget {
                client_id: p.client_id,
                key: std::sync::Arc::new(key),
            })
        })
        .transpose()?;
    Ok(OAuth2Target {
        private_key_jwt,
        public_client,
        resource_url: ctx.url(base, &o.resource_url, "oauth2.resource_url")?,
        issuer,
        client_id: o.client_id,
        client_secret: o.client_secret,
        redirect_uri,
        scope: o.scope,
        login: o.login.map(|m| m.into_iter().collect()),
        resource: o.resource,
        other_resource: o.other_resource,
        insufficient_scope_url: ctx.opt_url(
            base,
            &o.insufficient_scope_url,
            "oauth2.insufficient_scope_url",
        )?,
        opaque_client: o.opaque_client.map(client),
        other_client: o.other_client.map(client),
        tls_client_auth,
        code_lifetime_seconds: o.code_lifetime_seconds,
    })
}
