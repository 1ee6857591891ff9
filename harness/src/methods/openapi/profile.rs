//! `[openapi]`: the document, which profile section answers for each of its
//! security schemes, values for path parameters, whether unsafe methods may
//! be sent and which operations to check.

use std::collections::BTreeMap;
use std::path::PathBuf;

use authbench_scenarios::Method;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

#[allow(clippy::wildcard_imports)]
use crate::profile::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOpenApi {
    spec: Spanned<String>,
    #[serde(default)]
    schemes: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    parameters: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    unsafe_methods: bool,
    operations: Option<Vec<String>>,
    #[serde(default)]
    identities: Vec<RawIdentity>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    name: Spanned<String>,
    jwt: Option<RawIdentityJwt>,
    token: Option<String>,
    api_key: Option<String>,
    basic: Option<RawIdentityBasic>,
    #[serde(default)]
    owns: BTreeMap<String, Spanned<toml::Value>>,
    scopes: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentityJwt {
    subject: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentityBasic {
    username: String,
    password: String,
}

/// Another principal's credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityCredential {
    /// A JWT minted with `[jwt]`'s key for this `sub`.
    Jwt {
        /// The `sub` claim.
        subject: String,
    },
    /// A bearer token as given.
    Token(String),
    /// An API key.
    ApiKey(String),
    /// A user-id and password.
    Basic(String, String),
}

impl IdentityCredential {
    /// The profile section whose schemes this credential answers.
    pub fn section(&self) -> Method {
        match self {
            IdentityCredential::Jwt { .. } | IdentityCredential::Token(_) => Method::Jwt,
            IdentityCredential::ApiKey(_) => Method::ApiKey,
            IdentityCredential::Basic(..) => Method::Basic,
        }
    }

    /// Its secrets, redacted from reports.
    pub fn secrets(&self) -> Vec<String> {
        match self {
            IdentityCredential::Jwt { .. } => Vec::new(),
            IdentityCredential::Token(t) | IdentityCredential::ApiKey(t) => vec![t.clone()],
            IdentityCredential::Basic(_, p) => vec![p.clone()],
        }
    }
}

/// `[[openapi.identities]]`: another principal, for object-level checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Its name in case ids.
    pub name: String,
    /// Its credential.
    pub credential: IdentityCredential,
    /// Path parameter values naming objects only it may use.
    pub owns: BTreeMap<String, String>,
    /// The scopes (or roles) it holds, when declared: operations that need
    /// others must refuse it. A JWT identity's tokens carry exactly these.
    pub scopes: Option<Vec<String>>,
}

/// Where the document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecSource {
    /// A file (relative paths resolved against the profile's folder).
    File(PathBuf),
    /// An `https` URL (or `http` on a loopback address).
    Url(Url),
}

impl std::fmt::Display for SpecSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpecSource::File(p) => write!(f, "{}", p.display()),
            SpecSource::Url(u) => write!(f, "{u}"),
        }
    }
}

impl SpecSource {
    /// A `--openapi` value or `spec` field: a URL when it has a scheme, else
    /// a path relative to `dir`.
    pub fn parse(value: &str, dir: &std::path::Path) -> Result<SpecSource, String> {
        if value.starts_with("https://") || value.starts_with("http://") {
            let url = Url::parse(value).map_err(|e| format!("`{value}` is not a URL: {e}"))?;
            let loopback = match url.host() {
                Some(url::Host::Ipv4(a)) => a.is_loopback(),
                Some(url::Host::Ipv6(a)) => a.is_loopback(),
                Some(url::Host::Domain(d)) => d == "localhost",
                None => false,
            };
            if url.scheme() == "http" && !loopback {
                return Err(format!(
                    "`{value}`: fetch the document over https (http only on a loopback address), or give a file"
                ));
            }
            return Ok(SpecSource::Url(url));
        }
        Ok(SpecSource::File(dir.join(value)))
    }
}

/// What a security scheme of the document is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// The credentials of this profile section.
    Section(Method),
    /// None: the profile has no credential for it (checks that need one skip).
    Nothing,
}

/// `[openapi]`.
#[derive(Debug, Clone)]
pub struct OpenApiTarget {
    /// The document.
    pub spec: SpecSource,
    /// Scheme name → what answers for it, where the profile says (else by type).
    pub schemes: BTreeMap<String, Binding>,
    /// Values for path and query parameters, by name.
    pub parameters: BTreeMap<String, String>,
    /// Send POST, PUT, PATCH, DELETE too.
    pub unsafe_methods: bool,
    /// `operationId` or `METHOD /path` globs to include.
    pub operations: Vec<String>,
    /// Other principals.
    pub identities: Vec<Identity>,
}

/// The sections a scheme may be answered with.
const SECTIONS: [Method; 6] =
    [Method::Basic, Method::ApiKey, Method::Jwt, Method::OAuth2, Method::Mtls, Method::Layered];

pub(crate) fn parse_openapi(
    ctx: &Ctx<'_>,
    raw: RawOpenApi,
    present: &dyn Fn(Method) -> bool,
) -> Result<OpenApiTarget, ProfileError> {
    let spec = SpecSource::parse(raw.spec.get_ref(), ctx.dir)
        .map_err(|why| ctx.err(raw.spec.span().start, "openapi.spec", why))?;
    let mut schemes = BTreeMap::new();
    for (name, value) in raw.schemes {
        let field = format!("openapi.schemes.{name}");
        let binding = match value.get_ref().as_str() {
            "none" => Binding::Nothing,
            other => match Method::from_name(other).filter(|m| SECTIONS.contains(m)) {
                Some(m) if present(m) => Binding::Section(m),
                Some(m) => {
                    return Err(ctx.err(
                        value.span().start,
                        &field,
                        format!("the profile has no [{m}] section to answer for `{name}`: add it, or map `{name}` to another section"),
                    ));
                }
                None => {
                    return Err(ctx.err(
                        value.span().start,
                        &field,
                        format!(
                            "`{other}` is not a section: give one of {}, or \"none\"",
                            SECTIONS.map(Method::name).join(", ")
                        ),
                    ));
                }
            },
        };
        schemes.insert(name, binding);
    }
    let parameters = values(ctx, raw.parameters, "openapi.parameters")?;
    let mut identities: Vec<Identity> = Vec::new();
    for i in raw.identities {
        let field = format!("openapi.identities.{}", i.name.get_ref());
        let at = i.name.span().start;
        let name = i.name.into_inner();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)) {
            return Err(ctx.err(
                at,
                &field,
                "name an identity with letters, digits, - and _ (it goes into case ids)",
            ));
        }
        if identities.iter().any(|other| other.name == name) {
            return Err(ctx.err(at, &field, "two identities have this name"));
        }
        let credential = match (i.jwt, i.token, i.api_key, i.basic) {
            (Some(j), None, None, None) => {
                if !present(Method::Jwt) {
                    return Err(ctx.err(
                        at,
                        &field,
                        "jwt = { subject } mints with [jwt]'s signing key: add a [jwt] section",
                    ));
                }
                IdentityCredential::Jwt { subject: j.subject }
            }
            (None, Some(t), None, None) => IdentityCredential::Token(t),
            (None, None, Some(k), None) => IdentityCredential::ApiKey(k),
            (None, None, None, Some(b)) => IdentityCredential::Basic(b.username, b.password),
            _ => {
                return Err(ctx.err(
                    at,
                    &field,
                    "give exactly one credential: jwt = { subject = \"…\" }, token, api_key or basic = { username, password }",
                ));
            }
        };
        if let IdentityCredential::Token(v) | IdentityCredential::ApiKey(v) = &credential
            && let Err(why) = wire_safe(v, false)
        {
            return Err(ctx.err(at, &field, why));
        }
        let owns = values(ctx, i.owns, &format!("{field}.owns"))?;
        identities.push(Identity { name, credential, owns, scopes: i.scopes });
    }
    Ok(OpenApiTarget {
        spec,
        schemes,
        parameters,
        unsafe_methods: raw.unsafe_methods,
        operations: raw.operations.unwrap_or_else(|| vec!["*".to_owned()]),
        identities,
    })
}

/// Parameter values: strings, numbers or booleans, as text.
fn values(
    ctx: &Ctx<'_>,
    raw: BTreeMap<String, Spanned<toml::Value>>,
    field: &str,
) -> Result<BTreeMap<String, String>, ProfileError> {
    let mut out = BTreeMap::new();
    for (name, value) in raw {
        let text = match value.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => {
                return Err(ctx.err(
                    value.span().start,
                    &format!("{field}.{name}"),
                    "give a string, number or boolean",
                ));
            }
        };
        out.insert(name, text);
    }
    Ok(out)
}
