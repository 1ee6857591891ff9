//! Security schemes and requirements, as the specifications define them:
//! Swagger 2.0's `securityDefinitions` and OpenAPI 3's
//! `components.securitySchemes`, mapped onto one model.

use super::SpecVersion;
use super::tree::Tree;

/// The HTTP authentication scheme `basic` (RFC 7617), as `Http` holds it.
pub const HTTP_BASIC: &str = "basic";

/// The HTTP authentication scheme `bearer` (RFC 6750), as `Http` holds it.
pub const HTTP_BEARER: &str = "bearer";

/// Where an API key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A request header.
    Header,
    /// The query string.
    Query,
    /// A cookie.
    Cookie,
}

/// An OAuth 2.0 flow a scheme declares (Swagger 2.0 names them `implicit`,
/// `password`, `application` and `accessCode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// `implicit`, `password`, `clientCredentials`, `authorizationCode` or
    /// `deviceAuthorization`, in OpenAPI 3's names.
    pub name: String,
    /// The token endpoint, when the flow has one.
    pub token_url: Option<String>,
    /// The authorization endpoint, when the flow has one.
    pub authorization_url: Option<String>,
    /// The scopes it declares.
    pub scopes: Vec<String>,
}

/// What a scheme is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemeKind {
    /// HTTP authentication with `scheme` (`basic`, `bearer`, `digest`, …,
    /// lower case), and the bearer format when one is given.
    Http {
        /// The HTTP authentication scheme, lower case.
        scheme: String,
        /// `bearerFormat` (a hint, e.g. `JWT`).
        bearer_format: Option<String>,
    },
    /// An API key named `name` in `location`.
    ApiKey {
        /// The header, query parameter or cookie name.
        name: String,
        /// Where it goes.
        location: Location,
    },
    /// OAuth 2.0 with these flows.
    OAuth2 {
        /// The flows.
        flows: Vec<Flow>,
    },
    /// OpenID Connect, discovered at `url`.
    OpenIdConnect {
        /// `openIdConnectUrl`.
        url: String,
    },
    /// A client certificate (OpenAPI 3.1 `mutualTLS`).
    MutualTls,
}

/// A named scheme of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityScheme {
    /// Its name in the document.
    pub name: String,
    /// What it is.
    pub kind: SchemeKind,
    /// Its line.
    pub line: usize,
}

/// One security requirement: every scheme listed, each with the scopes it
/// needs (AND). An empty requirement (`{}`) allows anonymous access.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Requirement(pub Vec<(String, Vec<String>)>);

impl Requirement {
    /// Whether it is `{}`: anonymous access allowed.
    pub fn is_anonymous(&self) -> bool {
        self.0.is_empty()
    }

    /// The scheme names, in order.
    pub fn schemes(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(name, _)| name.as_str())
    }
}

/// A `security` list: OR of requirements.
pub(super) fn requirements(list: &Tree) -> Result<Vec<Requirement>, String> {
    match list {
        Tree::Seq(items, _) => items
            .iter()
            .map(|r| match r {
                Tree::Map(members, _) => Ok(Requirement(
                    members
                        .iter()
                        .map(|(name, scopes)| {
                            let scopes = scopes.items().iter().filter_map(Tree::text);
                            (name.clone(), scopes.map(str::to_owned).collect())
                        })
                        .collect(),
                )),
                other => Err(format!(
                    "line {}: a security requirement is a mapping of scheme names to scopes",
                    other.line()
                )),
            })
            .collect(),
        other => Err(format!("line {}: `security` is a list of requirements", other.line())),
    }
}

/// The document's schemes.
pub(super) fn schemes(
    root: &Tree,
    version: SpecVersion,
    notes: &mut Vec<String>,
) -> Result<Vec<SecurityScheme>, String> {
    let definitions = match version {
        SpecVersion::Swagger2 => root.get("securityDefinitions"),
        _ => root.get("components").and_then(|c| c.get("securitySchemes")),
    };
    let mut out = Vec::new();
    for (name, scheme) in definitions.map(Tree::members).unwrap_or_default() {
        let scheme = match scheme.deref(root) {
            Ok(s) => s,
            Err(e) => {
                notes.push(format!("security scheme {name}: {e}"));
                continue;
            }
        };
        let line = scheme.line();
        let kind = match version {
            SpecVersion::Swagger2 => swagger_scheme(scheme),
            _ => openapi_scheme(scheme),
        };
        match kind {
            Ok(kind) => out.push(SecurityScheme { name: name.clone(), kind, line }),
            Err(why) => notes.push(format!("security scheme {name} (line {line}): {why}")),
        }
    }
    Ok(out)
}

fn location(text: Option<&str>) -> Result<Location, String> {
    match text {
        Some("header") => Ok(Location::Header),
        Some("query") => Ok(Location::Query),
        Some("cookie") => Ok(Location::Cookie),
        other => {
            Err(format!("an API key `in: {}` is not header, query or cookie", other.unwrap_or("")))
        }
    }
}

fn api_key(scheme: &Tree) -> Result<SchemeKind, String> {
    let name = scheme.str("name").ok_or("an API key scheme without `name`")?;
    Ok(SchemeKind::ApiKey { name: name.to_owned(), location: location(scheme.str("in"))? })
}

fn scopes(flow: &Tree) -> Vec<String> {
    flow.get("scopes")
        .map(Tree::members)
        .unwrap_or_default()
        .iter()
        .map(|(s, _)| s.clone())
        .collect()
}

fn swagger_scheme(scheme: &Tree) -> Result<SchemeKind, String> {
    match scheme.str("type") {
        Some("basic") => Ok(SchemeKind::Http { scheme: "basic".to_owned(), bearer_format: None }),
        Some("apiKey") => api_key(scheme),
        Some("oauth2") => {
            let name = match scheme.str("flow") {
                Some("application") => "clientCredentials",
                Some("accessCode") => "authorizationCode",
                Some(other) => other,
                None => return Err("an oauth2 scheme without `flow`".to_owned()),
            };
            Ok(SchemeKind::OAuth2 {
                flows: vec![Flow {
                    name: name.to_owned(),
                    token_url: scheme.str("tokenUrl").map(str::to_owned),
                    authorization_url: scheme.str("authorizationUrl").map(str::to_owned),
                    scopes: scopes(scheme),
                }],
            })
        }
        other => Err(format!("type `{}` is not one Swagger 2.0 defines", other.unwrap_or(""))),
    }
}

fn openapi_scheme(scheme: &Tree) -> Result<SchemeKind, String> {
    match scheme.str("type") {
        Some("http") => Ok(SchemeKind::Http {
            scheme: scheme
                .str("scheme")
                .ok_or("an http scheme without `scheme`")?
                .to_ascii_lowercase(),
            bearer_format: scheme.str("bearerFormat").map(str::to_owned),
        }),
        Some("apiKey") => api_key(scheme),
        Some("oauth2") => Ok(SchemeKind::OAuth2 {
            flows: scheme
                .get("flows")
                .map(Tree::members)
                .unwrap_or_default()
                .iter()
                .map(|(name, flow)| Flow {
                    name: name.clone(),
                    token_url: flow.str("tokenUrl").map(str::to_owned),
                    authorization_url: flow.str("authorizationUrl").map(str::to_owned),
                    scopes: scopes(flow),
                })
                .collect(),
        }),
        Some("openIdConnect") => Ok(SchemeKind::OpenIdConnect {
            url: scheme
                .str("openIdConnectUrl")
                .ok_or("openIdConnect without `openIdConnectUrl`")?
                .to_owned(),
        }),
        Some("mutualTLS") => Ok(SchemeKind::MutualTls),
        other => Err(format!("type `{}` is not one OpenAPI defines", other.unwrap_or(""))),
    }
}
