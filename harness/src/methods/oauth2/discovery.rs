//! Discovery: the authorization server's metadata (RFC 8414, and OpenID
//! Connect's well-known URL), fetched once per run.

use serde_json::Value;
use url::Url;

use crate::client::{HttpClient, RawRequest};

/// Pages the login walk follows before giving up.
pub const MAX_PAGES: usize = 12;

/// What the authorization server publishes about itself.
#[derive(Debug, Clone)]
pub struct Metadata {
    /// `issuer`.
    pub issuer: String,
    /// `authorization_endpoint`.
    pub authorization_endpoint: Url,
    /// `token_endpoint`.
    pub token_endpoint: Url,
    /// `revocation_endpoint`.
    pub revocation_endpoint: Option<Url>,
    /// `introspection_endpoint`.
    pub introspection_endpoint: Option<Url>,
    /// Where the metadata was found.
    pub found_at: Url,
    /// The whole document.
    pub raw: Value,
}

impl Metadata {
    /// Every endpoint the metadata names: the four it must or may have by
    /// name here, and any other `*_endpoint` member that is an https or
    /// http URL (PAR, device authorization, registration, userinfo…).
    pub fn endpoints(&self) -> Vec<Url> {
        let mut out = vec![self.authorization_endpoint.clone(), self.token_endpoint.clone()];
        out.extend(self.revocation_endpoint.iter().cloned());
        out.extend(self.introspection_endpoint.iter().cloned());
        if let Some(members) = self.raw.as_object() {
            for (name, value) in members {
                if (name.ends_with("_endpoint") || name == "jwks_uri")
                    && let Some(url) = value.as_str().and_then(|v| Url::parse(v).ok())
                    && matches!(url.scheme(), "https" | "http")
                {
                    out.push(url);
                }
            }
        }
        out
    }

    /// A string-array member, empty when absent.
    pub fn list(&self, member: &str) -> Vec<String> {
        self.raw
            .get(member)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Whether the server advertises DPoP (RFC 9449 §5.1).
    pub fn supports_dpop(&self) -> bool {
        !self.list("dpop_signing_alg_values_supported").is_empty()
    }
}

/// The metadata URLs to try for `issuer`: RFC 8414 §3.1 inserts the well-known
/// segment before the issuer's path; OpenID Connect Discovery appends it.
pub fn metadata_urls(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let mut out = Vec::new();
    for (well_known, inserted) in
        [("oauth-authorization-server", true), ("openid-configuration", false)]
    {
        let mut url = issuer.clone();
        url.set_query(None);
        url.set_fragment(None);
        if inserted {
            url.set_path(&format!("/.well-known/{well_known}{path}"));
        } else {
            url.set_path(&format!("{path}/.well-known/{well_known}"));
        }
        out.push(url);
    }
    out
}

/// Why an authorization server's metadata could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// None of the well-known URLs answered with metadata: what each said.
    #[error("no authorization server metadata ({})", tried.join("; "))]
    NotFound {
        /// Each URL tried, and its answer.
        tried: Vec<String>,
    },
    /// The metadata lacks an endpoint it must have, or names one that is not a URL.
    #[error("{0}")]
    Invalid(String),
}

/// Fetches and checks the metadata of `issuer`.
pub async fn discover(client: &HttpClient, issuer: &Url) -> Result<Metadata, DiscoveryError> {
    let mut tried = Vec::new();
    for url in metadata_urls(issuer) {
        let response = match client.send(&RawRequest::get(url.clone())).await {
            Ok(r) => r,
            Err(e) => {
                tried.push(format!("{url}: {e}"));
                continue;
            }
        };
        if response.status != 200 {
            tried.push(format!("{url}: {}", response.status));
            continue;
        }
        let Some(raw) = response.json() else {
            tried.push(format!("{url}: not JSON"));
            continue;
        };
        let endpoint = |member: &str| -> Result<Option<Url>, DiscoveryError> {
            raw.get(member)
                .and_then(Value::as_str)
                .map(|s| {
                    Url::parse(s)
                        .map_err(|e| DiscoveryError::Invalid(format!("{url}: {member} `{s}`: {e}")))
                })
                .transpose()
        };
        let issuer_text = raw.get("issuer").and_then(Value::as_str).unwrap_or_default().to_owned();
        return Ok(Metadata {
            authorization_endpoint: endpoint("authorization_endpoint")?.ok_or_else(|| {
                DiscoveryError::Invalid(format!("{url}: no authorization_endpoint"))
            })?,
            token_endpoint: endpoint("token_endpoint")?
                .ok_or_else(|| DiscoveryError::Invalid(format!("{url}: no token_endpoint")))?,
            revocation_endpoint: endpoint("revocation_endpoint")?,
            introspection_endpoint: endpoint("introspection_endpoint")?,
            issuer: issuer_text,
            found_at: url,
            raw,
        });
    }
    Err(DiscoveryError::NotFound { tried })
}
