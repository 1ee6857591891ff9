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
    let mut parameters = BTreeMap::new();
    for (name, value) in raw.parameters {
        let text = match value.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => {
                return Err(ctx.err(
                    value.span().start,
                    &format!("openapi.parameters.{name}"),
                    "give a string, number or boolean",
                ));
            }
        };
        parameters.insert(name, text);
    }
    Ok(OpenApiTarget {
        spec,
        schemes,
        parameters,
        unsafe_methods: raw.unsafe_methods,
        operations: raw.operations.unwrap_or_else(|| vec!["*".to_owned()]),
    })
}
