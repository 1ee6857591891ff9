//! Target profiles (DESIGN.md, "Target profile"): parsed with care, so that a
//! missing file, a misspelt field, a bad URL or a key file that is not a key is
//! one clear error naming the file, line and field.

use std::path::{Path, PathBuf};

use jsonwebtoken::{Algorithm, EncodingKey};
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

/// A profile mistake: where and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{location}: {message}")]
pub struct ProfileError {
    /// The profile file.
    pub file: String,
    /// `:line: field` or empty.
    pub location: String,
    /// What is wrong and what to do.
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    version: Spanned<u32>,
    name: Option<String>,
    base_url: Spanned<String>,
    ca_file: Option<Spanned<String>>,
    baseline_url: Option<Spanned<String>>,
    metrics_url: Option<Spanned<String>>,
    basic: Option<RawBasic>,
    api_key: Option<RawApiKey>,
    jwt: Option<RawJwt>,
    oauth2: Option<RawOAuth2>,
    mtls: Option<RawMtls>,
    layered: Option<RawLayered>,
    reference: Option<RawReference>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBasic {
    url: Spanned<String>,
    username: String,
    password: String,
    cached_url: Option<Spanned<String>>,
    throttle_after: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApiKey {
    /// Required at top level; absent under `[layered]` (its own `url` applies).
    url: Option<Spanned<String>>,
    header: Option<String>,
    scheme: Option<String>,
    key: String,
    revoked_key: Option<String>,
    insufficient_scope_url: Option<Spanned<String>>,
    throttle_after: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJwt {
    /// Required at top level; absent under `[layered]`.
    url: Option<Spanned<String>>,
    issuer: String,
    audience: String,
    algorithm: Spanned<String>,
    signing_key_file: Option<Spanned<String>>,
    jwks_url: Option<Spanned<String>>,
    token: Option<String>,
    required_scope: Option<String>,
    revoked_token: Option<String>,
    revocation_url: Option<Spanned<String>>,
    insufficient_scope_url: Option<Spanned<String>>,
    token_url: Option<Spanned<String>>,
    leeway_seconds: Option<Spanned<i64>>,
    max_lifetime_seconds: Option<Spanned<u64>>,
    access_token_profile: Option<Spanned<String>>,
    #[serde(default)]
    variants: Vec<RawVariant>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOAuth2 {
    issuer: Spanned<String>,
    resource_url: Spanned<String>,
    client_id: String,
    client_secret: Option<String>,
    redirect_uri: Spanned<String>,
    scope: Option<String>,
    login: Option<std::collections::BTreeMap<String, String>>,
    resource: Option<String>,
    other_resource: Option<String>,
    insufficient_scope_url: Option<Spanned<String>>,
    opaque_client: Option<RawClient>,
    other_client: Option<RawClient>,
    tls_client_auth: Option<RawTlsClientAuth>,
    code_lifetime_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    client_id: String,
    client_secret: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTlsClientAuth {
    client_id: String,
    token_url: Spanned<String>,
    resource_url: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMtls {
    /// Required at top level; absent under `[layered]`.
    url: Option<Spanned<String>>,
    client_cert_file: Spanned<String>,
    client_key_file: Spanned<String>,
    client_ca_cert_file: Option<Spanned<String>>,
    client_ca_key_file: Option<Spanned<String>>,
    revoked_client_cert_file: Option<Spanned<String>>,
    revoked_client_key_file: Option<Spanned<String>>,
    forbidden_client_cert_file: Option<Spanned<String>>,
    forbidden_client_key_file: Option<Spanned<String>>,
    whoami_url: Option<Spanned<String>>,
    identities: Option<Identities>,
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

/// `[layered]`: one resource, its three layers in sub-tables that take the
/// fields of `[mtls]`, `[api_key]` and `[jwt]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayered {
    url: Spanned<String>,
    application: Option<String>,
    mtls: RawMtls,
    api_key: RawApiKey,
    jwt: RawJwt,
    other: Option<RawLayeredOther>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayeredOther {
    application: Option<String>,
    client_cert_file: Spanned<String>,
    client_key_file: Spanned<String>,
    key: String,
    token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariant {
    algorithm: Spanned<String>,
    url: Spanned<String>,
    signing_key_file: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReference {
    admin_url: Option<String>,
    admin_token_file: Option<String>,
    #[serde(default)]
    flaws: Vec<String>,
}

/// A parsed, checked target profile.
#[derive(Debug, Clone)]
pub struct Target {
    /// Name for reports.
    pub name: String,
    /// The profile file, if any.
    pub file: PathBuf,
    /// Where relative URLs resolve.
    pub base_url: Url,
    /// Trust anchor for the target's certificate (PEM), if the profile names one.
    pub ca_pem: Option<Vec<u8>>,
    /// The unauthenticated baseline.
    pub baseline_url: Option<Url>,
    /// Prometheus metrics with `process_cpu_seconds_total`, for server CPU.
    pub metrics_url: Option<Url>,
    /// `[basic]`.
    pub basic: Option<BasicTarget>,
    /// `[api_key]`.
    pub api_key: Option<ApiKeyTarget>,
    /// `[jwt]`.
    pub jwt: Option<JwtTarget>,
    /// `[oauth2]`.
    pub oauth2: Option<OAuth2Target>,
    /// `[mtls]`.
    pub mtls: Option<MtlsTarget>,
    /// `[layered]`.
    pub layered: Option<LayeredTarget>,
    /// Flaws the reference servers run with (`[reference] flaws`).
    pub flaws: Vec<String>,
    /// The reference servers' admin API and its token file, when the target is them.
    pub admin: Option<(String, PathBuf)>,
}

/// `[basic]`.
#[derive(Debug, Clone)]
pub struct BasicTarget {
    /// The protected resource.
    pub url: Url,
    /// The same resource behind a verified-credential cache (reference extension).
    pub cached_url: Option<Url>,
    /// A valid user.
    pub username: String,
    /// Its password.
    pub password: String,
    /// Declared policy: failed logins for one user before the target answers 429.
    pub throttle_after: Option<u32>,
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

/// A certificate chain and key from the profile, as PEM.
#[derive(Debug, Clone)]
pub struct CertificateFiles {
    /// The chain, leaf first.
    pub chain_pem: Vec<u8>,
    /// The private key.
    pub key_pem: Vec<u8>,
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

/// A signing key from the profile.
#[derive(Clone)]
pub struct SigningKey {
    /// Its algorithm.
    pub algorithm: Algorithm,
    /// For jsonwebtoken.
    pub encoding: EncodingKey,
    /// The key file's text (PEM, or the HMAC secret's bytes).
    pub material: Vec<u8>,
    /// The public key as SPKI PEM, for asymmetric keys.
    pub public_pem: Option<String>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
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
    /// A valid token.
    pub token: Option<String>,
    /// Scope the resource requires.
    pub required_scope: Option<String>,
    /// A revoked token.
    pub revoked_token: Option<String>,
    /// Where revocation is checked.
    pub revocation_url: Option<Url>,
    /// A resource the token's scopes do not cover.
    pub insufficient_scope_url: Option<Url>,
    /// Clock skew the target tolerates (60 s assumed when the profile is silent).
    pub leeway_seconds: i64,
    /// Declared policy: the longest lifetime (`exp` − now) the target accepts.
    pub max_lifetime_seconds: Option<u64>,
    /// Declared: the tokens are RFC 9068 JWT access tokens (`typ: at+jwt`, `sub` required).
    pub rfc9068: bool,
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

/// Parses an algorithm name.
pub fn algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "HS256" => Some(Algorithm::HS256),
        "HS384" => Some(Algorithm::HS384),
        "HS512" => Some(Algorithm::HS512),
        "RS256" => Some(Algorithm::RS256),
        "RS384" => Some(Algorithm::RS384),
        "RS512" => Some(Algorithm::RS512),
        "PS256" => Some(Algorithm::PS256),
        "PS384" => Some(Algorithm::PS384),
        "PS512" => Some(Algorithm::PS512),
        "ES256" => Some(Algorithm::ES256),
        "ES384" => Some(Algorithm::ES384),
        "EdDSA" => Some(Algorithm::EdDSA),
        _ => None,
    }
}

struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
    dir: &'a Path,
}

impl Ctx<'_> {
    fn err(&self, offset: usize, field: &str, message: impl Into<String>) -> ProfileError {
        let line =
            self.text[..offset.min(self.text.len())].bytes().filter(|&b| b == b'\n').count() + 1;
        ProfileError {
            file: self.file.display().to_string(),
            location: if field.is_empty() {
                format!(":{line}")
            } else {
                format!(":{line}: {field}")
            },
            message: message.into(),
        }
    }

    fn url(&self, base: &Url, value: &Spanned<String>, field: &str) -> Result<Url, ProfileError> {
        let url = base.join(value.get_ref()).map_err(|e| {
            self.err(value.span().start, field, format!("`{}` is not a URL: {e}", value.get_ref()))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(self.err(
                value.span().start,
                field,
                format!("`{url}` must be an http or https URL with a host"),
            ));
        }
        Ok(url)
    }

    /// The `url` a top-level section requires.
    fn section_url(
        &self,
        base: &Url,
        value: &Option<Spanned<String>>,
        section: &str,
    ) -> Result<Url, ProfileError> {
        match value {
            Some(v) => self.url(base, v, &format!("{section}.url")),
            None => Err(self.err(
                self.section_offset(section),
                section,
                format!("missing field `url`: the resource [{section}] describes"),
            )),
        }
    }

    /// Where `[section]` starts in the text (0 when it cannot be found).
    fn section_offset(&self, section: &str) -> usize {
        let header = format!("[{section}]");
        self.text
            .match_indices(&header)
            .find(|(i, _)| *i == 0 || self.text.as_bytes()[i - 1] == b'\n')
            .map_or(0, |(i, _)| i)
    }

    /// Where `field` is set inside `[section]`, if it can be found.
    fn field_offset(&self, section: &str, field: &str) -> Option<usize> {
        let start = self.section_offset(section);
        let rest = &self.text[start..];
        rest.match_indices(field)
            .find(|(i, _)| *i == 0 || rest.as_bytes()[i - 1] == b'\n')
            .map(|(i, _)| start + i)
    }

    fn opt_url(
        &self,
        base: &Url,
        value: &Option<Spanned<String>>,
        field: &str,
    ) -> Result<Option<Url>, ProfileError> {
        value.as_ref().map(|v| self.url(base, v, field)).transpose()
    }

    fn read(&self, value: &Spanned<String>, field: &str) -> Result<Vec<u8>, ProfileError> {
        let path = self.dir.join(value.get_ref());
        std::fs::read(&path).map_err(|e| {
            self.err(value.span().start, field, format!("cannot read {}: {e}", path.display()))
        })
    }

    fn signing_key(
        &self,
        alg: Algorithm,
        value: &Spanned<String>,
        field: &str,
    ) -> Result<SigningKey, ProfileError> {
        let material = self.read(value, field)?;
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            self.err(
                value.span().start,
                field,
                format!("{} is not {what}: {e}", self.dir.join(value.get_ref()).display()),
            )
        };
        let (encoding, public_pem) = match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                if material.is_empty() {
                    return Err(bad("an HMAC secret", &"the file is empty"));
                }
                (EncodingKey::from_secret(&material).map_err(|e| bad("an HMAC secret", &e))?, None)
            }
            Algorithm::EdDSA => {
                let key = EncodingKey::from_ed_pem(&material)
                    .map_err(|e| bad("an Ed25519 private key in PEM", &e))?;
                (key, None)
            }
            Algorithm::ES256 | Algorithm::ES384 => {
                let key = EncodingKey::from_ec_pem(&material)
                    .map_err(|e| bad("an EC private key in PEM (PKCS#8)", &e))?;
                (key, public_pem(&material))
            }
            _ => {
                let key = EncodingKey::from_rsa_pem(&material)
                    .map_err(|e| bad("an RSA private key in PEM", &e))?;
                (key, public_pem(&material))
            }
        };
        Ok(SigningKey { algorithm: alg, encoding, material, public_pem })
    }

    fn certificate_files(
        &self,
        cert: &Spanned<String>,
        key: &Spanned<String>,
        field: &str,
    ) -> Result<CertificateFiles, ProfileError> {
        let chain_pem = self.read(cert, &format!("{field}_cert_file"))?;
        let key_pem = self.read(key, &format!("{field}_key_file"))?;
        {
            // Name the file at fault: the chain first, then the key.
            use rustls_pki_types::pem::PemObject;
            let chain_parses = rustls_pki_types::CertificateDer::pem_slice_iter(&chain_pem)
                .next()
                .is_some_and(|c| c.is_ok());
            if chain_parses && rustls_pki_types::PrivateKeyDer::from_pem_slice(&key_pem).is_err() {
                return Err(self.err(
                    key.span().start,
                    &format!("{field}_key_file"),
                    "not a PEM private key; give the certificate's key as PEM (PKCS#8, PKCS#1 or SEC1)",
                ));
            }
        }
        crate::client::ClientIdentity::from_pem(&chain_pem, &key_pem).map_err(|e| {
            self.err(
                cert.span().start,
                &format!("{field}_cert_file"),
                format!("{e}; give a PEM certificate chain and its PEM private key"),
            )
        })?;
        Ok(CertificateFiles { chain_pem, key_pem })
    }

    fn optional_pair(
        &self,
        cert: &Option<Spanned<String>>,
        key: &Option<Spanned<String>>,
        field: &str,
    ) -> Result<Option<CertificateFiles>, ProfileError> {
        match (cert, key) {
            (Some(c), Some(k)) => Ok(Some(self.certificate_files(c, k, field)?)),
            (None, None) => Ok(None),
            (Some(v), None) | (None, Some(v)) => Err(self.err(
                v.span().start,
                field,
                format!("give both {field}_cert_file and {field}_key_file, or neither"),
            )),
        }
    }

    fn algorithm(&self, value: &Spanned<String>, field: &str) -> Result<Algorithm, ProfileError> {
        algorithm(value.get_ref()).ok_or_else(|| {
            self.err(
                value.span().start,
                field,
                format!("unknown algorithm `{}`; use one of HS256, RS256, PS256, ES256, EdDSA (or their 384/512 forms)", value.get_ref()),
            )
        })
    }
}

fn public_pem(private_pem: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(private_pem).ok()?;
    rcgen::KeyPair::from_pem(text).ok().map(|k| k.public_key_pem())
}

impl Target {
    /// Reads and checks the profile at `path`.
    pub fn load(path: &Path) -> Result<Target, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError {
            file: path.display().to_string(),
            location: String::new(),
            message: match e.kind() {
                std::io::ErrorKind::NotFound => {
                    "no such target profile; pass --target FILE, or omit it to test the embedded reference servers".to_owned()
                }
                _ => format!("cannot read the target profile: {e}"),
            },
        })?;
        let dir = path.parent().map(Path::to_owned).unwrap_or_default();
        Target::parse(path, &text, &dir)
    }

    /// Parses profile `text` read from `file`; relative paths resolve against `dir`.
    pub fn parse(file: &Path, text: &str, dir: &Path) -> Result<Target, ProfileError> {
        let ctx = Ctx { file, text, dir };
        let raw: RawProfile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            ctx.err(offset, "", e.message().trim().to_owned())
        })?;
        if *raw.version.get_ref() != 1 {
            return Err(ctx.err(
                raw.version.span().start,
                "version",
                "this authbench reads profile version 1",
            ));
        }
        let base = Url::parse(raw.base_url.get_ref()).map_err(|e| {
            ctx.err(
                raw.base_url.span().start,
                "base_url",
                format!("`{}` is not a URL: {e}", raw.base_url.get_ref()),
            )
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(ctx.err(
                raw.base_url.span().start,
                "base_url",
                "must be an http or https URL with a host",
            ));
        }
        let ca_pem = match &raw.ca_file {
            Some(ca) => {
                let pem = ctx.read(ca, "ca_file")?;
                let certs: Vec<_> =
                    rustls_pki_types::CertificateDer::pem_slice_iter(&pem).collect();
                if certs.is_empty() || certs.iter().any(Result::is_err) {
                    return Err(ctx.err(
                        ca.span().start,
                        "ca_file",
                        format!("{} holds no PEM certificate", dir.join(ca.get_ref()).display()),
                    ));
                }
                Some(pem)
            }
            None => None,
        };
        let oauth2 = raw.oauth2.map(|o| parse_oauth2(&ctx, &base, o)).transpose()?;
        let mtls = raw
            .mtls
            .map(|m| {
                let url = ctx.section_url(&base, &m.url, "mtls")?;
                parse_mtls(&ctx, &base, m, "mtls", url)
            })
            .transpose()?;
        let layered = raw.layered.map(|l| parse_layered(&ctx, &base, l)).transpose()?;
        let basic = raw
            .basic
            .map(|b| {
                Ok::<_, ProfileError>(BasicTarget {
                    url: ctx.url(&base, &b.url, "basic.url")?,
                    cached_url: ctx.opt_url(&base, &b.cached_url, "basic.cached_url")?,
                    username: b.username,
                    password: b.password,
                    throttle_after: throttle(&ctx, b.throttle_after, "basic.throttle_after")?,
                })
            })
            .transpose()?;
        let api_key = raw
            .api_key
            .map(|a| {
                let url = ctx.section_url(&base, &a.url, "api_key")?;
                parse_api_key(&ctx, &base, a, "api_key", url)
            })
            .transpose()?;
        let jwt = raw
            .jwt
            .map(|j| {
                let url = ctx.section_url(&base, &j.url, "jwt")?;
                parse_jwt(&ctx, &base, j, "jwt", url)
            })
            .transpose()?;
        Ok(Target {
            name: raw.name.unwrap_or_else(|| base.host_str().unwrap_or("target").to_owned()),
            file: file.to_owned(),
            base_url: base.clone(),
            ca_pem,
            baseline_url: ctx.opt_url(&base, &raw.baseline_url, "baseline_url")?,
            metrics_url: ctx.opt_url(&base, &raw.metrics_url, "metrics_url")?,
            basic,
            api_key,
            jwt,
            oauth2,
            mtls,
            layered,
            admin: raw
                .reference
                .as_ref()
                .and_then(|r| Some((r.admin_url.clone()?, dir.join(r.admin_token_file.as_ref()?)))),
            flaws: raw.reference.map(|r| r.flaws).unwrap_or_default(),
        })
    }

    /// The methods this profile describes, in catalog order.
    pub fn methods(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.basic.is_some() {
            out.push("basic");
        }
        if self.api_key.is_some() {
            out.push("api_key");
        }
        if self.jwt.is_some() {
            out.push("jwt");
        }
        if self.oauth2.is_some() {
            out.push("oauth2");
        }
        if self.mtls.is_some() {
            out.push("mtls");
        }
        if self.layered.is_some() {
            out.push("layered");
        }
        out
    }

    /// Whether the profile declares `policy` (a key of
    /// `authbench_scenarios::case::POLICIES`).
    pub fn declares(&self, policy: &str) -> bool {
        match policy {
            "basic.throttle_after" => {
                self.basic.as_ref().is_some_and(|b| b.throttle_after.is_some())
            }
            "api_key.throttle_after" => {
                self.api_key.as_ref().is_some_and(|a| a.throttle_after.is_some())
            }
            "jwt.max_lifetime_seconds" => {
                self.jwt.as_ref().is_some_and(|j| j.max_lifetime_seconds.is_some())
            }
            "jwt.access_token_profile" => self.jwt.as_ref().is_some_and(|j| j.rfc9068),
            _ => false,
        }
    }

    /// Every URL the profile names, to check reachability before a run.
    pub fn urls(&self) -> Vec<&Url> {
        let mut out = Vec::new();
        out.extend(self.basic.as_ref().map(|b| &b.url));
        out.extend(self.api_key.as_ref().map(|a| &a.url));
        out.extend(self.jwt.as_ref().map(|j| &j.url));
        out.extend(self.oauth2.as_ref().map(|o| &o.issuer));
        out.extend(self.oauth2.as_ref().map(|o| &o.resource_url));
        out.extend(self.mtls.as_ref().map(|m| &m.url));
        out.extend(self.layered.as_ref().map(|l| &l.url));
        out
    }
}

fn parse_oauth2(ctx: &Ctx<'_>, base: &Url, o: RawOAuth2) -> Result<OAuth2Target, ProfileError> {
    let issuer = ctx.url(base, &o.issuer, "oauth2.issuer")?;
    let redirect_uri = Url::parse(o.redirect_uri.get_ref()).map_err(|e| {
        ctx.err(
            o.redirect_uri.span().start,
            "oauth2.redirect_uri",
            format!("`{}` is not an absolute URL: {e}", o.redirect_uri.get_ref()),
        )
    })?;
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
    Ok(OAuth2Target {
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

fn parse_mtls(
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

/// Whether `value` can be sent in a header as written: a field name or auth
/// scheme must be an RFC 9110 token; a value must hold no control character.
fn wire_safe(value: &str, token: bool) -> Result<(), String> {
    if value.is_empty() {
        return Err("is empty".to_owned());
    }
    if token {
        let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if let Some(c) = value.chars().find(|c| !tchar(*c)) {
            return Err(format!(
                "{c:?} cannot appear in a header name or scheme (RFC 9110 §5.6.2 token)"
            ));
        }
    } else if value.chars().any(|c| c.is_control()) {
        return Err(
            "holds a control character (CR, LF, NUL…), which cannot be sent in a header".to_owned()
        );
    }
    Ok(())
}

fn parse_api_key(
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

/// The most failures a `throttle_after` may declare: the throttling cases
/// send one more than it, so it bounds their run time.
pub const MAX_THROTTLE_AFTER: u32 = 10_000;

/// A declared throttling threshold, 1 to [`MAX_THROTTLE_AFTER`].
fn throttle(
    ctx: &Ctx<'_>,
    value: Option<Spanned<u32>>,
    field: &str,
) -> Result<Option<u32>, ProfileError> {
    match value {
        None => Ok(None),
        Some(v) if (1..=MAX_THROTTLE_AFTER).contains(v.get_ref()) => Ok(Some(v.into_inner())),
        Some(v) => Err(ctx.err(
            v.span().start,
            field,
            format!(
                "{} is out of range: give how many failures the target allows before it answers 429, 1 to {MAX_THROTTLE_AFTER}",
                v.get_ref()
            ),
        )),
    }
}

fn parse_jwt(
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
    let _ = (&j.jwks_url, &j.token_url);
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
        url,
        issuer: j.issuer,
        audience: j.audience,
        algorithm,
        signing_key,
        token: j.token,
        required_scope: j.required_scope,
        revoked_token: j.revoked_token,
        revocation_url: ctx.opt_url(base, &j.revocation_url, &field("revocation_url"))?,
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
        variants,
    })
}

fn parse_layered(ctx: &Ctx<'_>, base: &Url, l: RawLayered) -> Result<LayeredTarget, ProfileError> {
    let url = ctx.url(base, &l.url, "layered.url")?;
    for (inner, name) in [(&l.mtls.url, "mtls"), (&l.api_key.url, "api_key"), (&l.jwt.url, "jwt")] {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Target, ProfileError> {
        Target::parse(Path::new("target.toml"), text, Path::new("/nonexistent"))
    }

    const MINIMAL: &str = "version = 1\nbase_url = \"https://api.example.test\"\n[basic]\nurl = \"/r\"\nusername = \"a\"\npassword = \"p\"\n";

    #[test]
    fn a_minimal_profile_resolves_relative_urls() {
        let t = parse(MINIMAL).unwrap();
        assert_eq!(t.basic.unwrap().url.as_str(), "https://api.example.test/r");
        assert_eq!(t.name, "api.example.test");
    }

    #[test]
    fn mistakes_name_file_line_and_field() {
        let e = parse(&MINIMAL.replace("username", "user_name")).unwrap_err();
        assert!(e.to_string().starts_with("target.toml:5: "), "{e}");
        assert!(e.message.contains("user_name"), "{e}");
        let e = parse(&MINIMAL.replace("https://api.example.test", "not a url")).unwrap_err();
        assert_eq!(e.location, ":2: base_url");
        let e = parse(&MINIMAL.replace("\"/r\"", "\"ftp://x/r\"")).unwrap_err();
        assert_eq!(e.location, ":4: basic.url");
        let e = parse(&format!(
            "{MINIMAL}[jwt]\nurl=\"/j\"\nissuer=\"i\"\naudience=\"a\"\nalgorithm=\"XS999\"\n"
        ))
        .unwrap_err();
        assert!(e.location.ends_with("jwt.algorithm") && e.message.contains("XS999"), "{e}");
        let e =
            parse(&MINIMAL.replace("version = 1\n", "version = 1\nca_file = \"missing.pem\"\n"))
                .unwrap_err();
        assert!(e.message.contains("cannot read"), "{e}");
        let e = parse(&MINIMAL.replace("version = 1", "version = 7")).unwrap_err();
        assert_eq!(e.location, ":1: version");
    }

    const JWT: &str = "[jwt]\nurl = \"/j\"\nissuer = \"i\"\naudience = \"a\"\nalgorithm = \"RS256\"\ntoken = \"t.t.t\"\n";

    #[test]
    fn declared_policies_are_read_and_every_policy_is_known() {
        let t = parse(&format!("{MINIMAL}{JWT}")).unwrap();
        for (policy, _) in authbench_scenarios::case::POLICIES {
            assert!(!t.declares(policy), "{policy} declared by a profile that says nothing");
        }
        let all = format!(
            "{}throttle_after = 5\n[api_key]\nurl = \"/k\"\nkey = \"k\"\nthrottle_after = 100\n{JWT}max_lifetime_seconds = 3600\naccess_token_profile = \"rfc9068\"\n",
            MINIMAL
        );
        let t = parse(&all).unwrap();
        for (policy, _) in authbench_scenarios::case::POLICIES {
            assert!(t.declares(policy), "{policy} is not read from the profile");
        }
        let e = parse(&all.replace("\"rfc9068\"", "\"rfc9999\"")).unwrap_err();
        assert!(e.location.ends_with("jwt.access_token_profile"), "{e}");
        let e = parse(&all.replace("throttle_after = 5", "throttle_after = 0")).unwrap_err();
        assert!(e.location.ends_with("basic.throttle_after"), "{e}");
    }

    #[test]
    fn leeway_and_header_values_are_checked() {
        for bad in ["-5", "86400"] {
            let e = parse(&format!("{MINIMAL}{JWT}leeway_seconds = {bad}\n")).unwrap_err();
            assert!(e.location.ends_with("jwt.leeway_seconds") && e.message.contains(bad), "{e}");
        }
        let t = parse(&format!("{MINIMAL}{JWT}leeway_seconds = 30\n")).unwrap();
        assert_eq!(t.jwt.unwrap().leeway_seconds, 30);
        let key = |header: &str, key: &str| {
            parse(&format!(
                "{MINIMAL}[api_key]\nurl = \"/k\"\nheader = \"{header}\"\nkey = \"{key}\"\n"
            ))
        };
        let e = key("X-Key\\r\\nEvil: 1", "k").unwrap_err();
        assert!(e.location.ends_with("api_key.header"), "{e}");
        let e = key("X-Key", "k\\nEvil: 1").unwrap_err();
        assert!(e.location.ends_with("api_key.key"), "{e}");
        let e = parse(&format!("{MINIMAL}{}", JWT.replace("t.t.t", "t.t\\r\\nX: 1"))).unwrap_err();
        assert!(e.location.ends_with("jwt.token"), "{e}");
        assert!(key("X-Key", "sk_ok").is_ok());
    }

    #[test]
    fn a_key_file_that_is_not_a_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key.pem"), "hello").unwrap();
        let text = format!(
            "{MINIMAL}[jwt]\nurl=\"/j\"\nissuer=\"i\"\naudience=\"a\"\nalgorithm=\"RS256\"\nsigning_key_file=\"key.pem\"\n"
        );
        let e = Target::parse(Path::new("t.toml"), &text, dir.path()).unwrap_err();
        assert!(
            e.location.ends_with("jwt.signing_key_file")
                && e.message.contains("not an RSA private key"),
            "{e}"
        );
    }

    #[test]
    fn a_client_key_that_is_not_pem_is_reported_as_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["client".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.path().join("c.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("c.key"), key.serialize_der()).unwrap();
        let text = format!(
            "{MINIMAL}[mtls]\nurl = \"https://api.example.test:8444/r\"\nclient_cert_file = \"c.pem\"\nclient_key_file = \"c.key\"\n"
        );
        let e = Target::parse(Path::new("t.toml"), &text, dir.path()).unwrap_err();
        assert!(e.location.ends_with("mtls.client_key_file"), "{e}");
        std::fs::write(dir.path().join("c.key"), key.serialize_pem()).unwrap();
        let t = Target::parse(Path::new("t.toml"), &text, dir.path()).unwrap();
        assert!(t.mtls.unwrap().identities.is_none());
    }

    #[test]
    fn oauth2_and_mtls_sections_are_checked() {
        let oauth = format!(
            "{MINIMAL}[oauth2]\nissuer = \"https://as.example.test\"\nresource_url = \"/r\"\nclient_id = \"c\"\nclient_secret = \"s\"\nredirect_uri = \"https://client.test/cb\"\nlogin = {{ username = \"u\", password = \"p\" }}\n"
        );
        let t = parse(&oauth).unwrap();
        let o = t.oauth2.unwrap();
        assert_eq!(o.resource_url.as_str(), "https://api.example.test/r");
        assert_eq!(
            o.login.unwrap(),
            [("password".into(), "p".into()), ("username".into(), "u".into())]
        );
        let e = parse(&oauth.replace("https://client.test/cb", "/cb")).unwrap_err();
        assert!(e.location.ends_with("oauth2.redirect_uri"), "{e}");
        let e = parse(&oauth.replace("client_id", "client")).unwrap_err();
        assert!(e.message.contains("client"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.pem"), "not a certificate").unwrap();
        std::fs::write(dir.path().join("c.key"), "not a key").unwrap();
        let mtls = format!(
            "{MINIMAL}[mtls]\nurl = \"https://api.example.test:8444/r\"\nclient_cert_file = \"c.pem\"\nclient_key_file = \"c.key\"\n"
        );
        let e = Target::parse(Path::new("t.toml"), &mtls, dir.path()).unwrap_err();
        assert!(e.location.ends_with("mtls.client_cert_file"), "{e}");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert =
            rcgen::CertificateParams::new(vec!["c".into()]).unwrap().self_signed(&key).unwrap();
        std::fs::write(dir.path().join("c.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("c.key"), key.serialize_pem()).unwrap();
        let t = Target::parse(Path::new("t.toml"), &mtls, dir.path()).unwrap();
        assert!(t.mtls.unwrap().client_ca.is_none());
        let half = format!("{mtls}client_ca_cert_file = \"c.pem\"\n");
        let e = Target::parse(Path::new("t.toml"), &half, dir.path()).unwrap_err();
        assert!(e.message.contains("give both"), "{e}");
    }

    #[test]
    fn the_layered_section_reuses_the_three_sections_fields() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert =
            rcgen::CertificateParams::new(vec!["c".into()]).unwrap().self_signed(&key).unwrap();
        std::fs::write(dir.path().join("c.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("c.key"), key.serialize_pem()).unwrap();
        let layered = format!(
            "{MINIMAL}[layered]\nurl = \"https://api.example.test:8444/l\"\napplication = \"app\"\n\
             [layered.mtls]\nclient_cert_file = \"c.pem\"\nclient_key_file = \"c.key\"\n\
             [layered.api_key]\nkey = \"sk_live_x\"\n\
             [layered.jwt]\nissuer = \"i\"\naudience = \"a\"\nalgorithm = \"RS256\"\n\
             [layered.other]\napplication = \"other\"\nclient_cert_file = \"c.pem\"\nclient_key_file = \"c.key\"\nkey = \"sk_live_y\"\n"
        );
        let parse_in = |text: &str| Target::parse(Path::new("t.toml"), text, dir.path());
        let t = parse_in(&layered).unwrap();
        assert_eq!(t.methods(), ["basic", "layered"]);
        let l = t.layered.unwrap();
        assert_eq!(l.url.as_str(), "https://api.example.test:8444/l");
        assert_eq!((l.mtls.url.as_str(), l.jwt.url.as_str()), (l.url.as_str(), l.url.as_str()));
        assert_eq!(l.api_key.header.as_deref(), Some("X-API-Key"));
        assert_eq!(l.other.unwrap().application.as_deref(), Some("other"));
        // One URL: a sub-table's own is refused, naming it.
        let e = parse_in(&layered.replace("[layered.jwt]\n", "[layered.jwt]\nurl = \"/j\"\n"))
            .unwrap_err();
        assert!(e.location.ends_with("layered.jwt.url") && e.message.contains("one URL"), "{e}");
        // The token takes Authorization: the key cannot.
        let e =
            parse_in(&layered.replace("key = \"sk_live_x\"", "key = \"k\"\nscheme = \"ApiKey\""))
                .unwrap_err();
        assert!(e.location.ends_with("layered.api_key.scheme"), "{e}");
        // Fields are checked as their own section's, with the layered name.
        let e =
            parse_in(&layered.replace("algorithm = \"RS256\"", "algorithm = \"XS1\"")).unwrap_err();
        assert!(e.location.ends_with("layered.jwt.algorithm"), "{e}");
        let e = parse_in(&layered.replacen(
            "client_cert_file = \"c.pem\"",
            "client_cert_file = \"no.pem\"",
            1,
        ))
        .unwrap_err();
        assert!(e.location.ends_with("layered.mtls.client_cert_file"), "{e}");
        // A top-level section still needs its url, and says so at its line.
        let e = parse(&format!("{MINIMAL}[api_key]\nkey = \"k\"\n")).unwrap_err();
        assert_eq!(e.location, ":7: api_key", "{e}");
        assert!(e.message.contains("missing field `url`"), "{e}");
    }

    #[test]
    fn a_missing_profile_says_what_to_do() {
        let e = Target::load(Path::new("/nonexistent/target.toml")).unwrap_err();
        assert!(e.message.contains("--target"), "{e}");
    }
}
