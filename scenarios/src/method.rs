//! The authentication methods: one spelling each, everywhere (case ids, the
//! command line, profile sections, overhead configurations, load scenarios,
//! Locust users).

use std::fmt;
use std::str::FromStr;

/// An authentication method authbench tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// HTTP Basic (RFC 7617).
    Basic,
    /// API keys in a header or the query.
    ApiKey,
    /// JWT bearer tokens (RFC 7519, RFC 6750).
    Jwt,
    /// OAuth 2.0 (RFC 6749 and its extensions).
    OAuth2,
    /// Mutual TLS (RFC 8705).
    Mtls,
    /// A client certificate, an API key and a JWT, each verified.
    Layered,
    /// Every operation of an OpenAPI document, with the security it declares,
    /// checked with the credentials of the other sections.
    OpenApi,
}

impl Method {
    /// Every method, in catalog order.
    pub const ALL: [Method; 7] = [
        Method::Basic,
        Method::ApiKey,
        Method::Jwt,
        Method::OAuth2,
        Method::Mtls,
        Method::Layered,
        Method::OpenApi,
    ];

    /// The method's one spelling: `basic`, `api_key`, `jwt`, `oauth2`, `mtls`,
    /// `layered`, `openapi`.
    pub const fn name(self) -> &'static str {
        match self {
            Method::Basic => "basic",
            Method::ApiKey => "api_key",
            Method::Jwt => "jwt",
            Method::OAuth2 => "oauth2",
            Method::Mtls => "mtls",
            Method::Layered => "layered",
            Method::OpenApi => "openapi",
        }
    }

    /// The method named `name` exactly.
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The method a name written before the one spelling names: `api-key`
    /// (the load profiles' and `overhead --methods`' old spelling), still read
    /// so that existing files keep working.
    pub fn from_legacy_name(name: &str) -> Option<Method> {
        match name {
            "api-key" => Some(Method::ApiKey),
            _ => None,
        }
    }

    /// The prefix of the reference servers' flaw names for this method
    /// (`api-key-accept-revoked`): flaws are spelled as `--flaw` values.
    pub fn flaw_prefix(self) -> String {
        self.name().replace('_', "-")
    }

    /// Every name, comma-separated, for error messages.
    pub fn names() -> String {
        Method::ALL.map(Method::name).join(", ")
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = String;

    fn from_str(s: &str) -> Result<Method, String> {
        Method::from_name(s)
            .ok_or_else(|| format!("unknown method `{s}`; known: {}", Method::names()))
    }
}

impl PartialEq<str> for Method {
    fn eq(&self, other: &str) -> bool {
        self.name() == other
    }
}

impl PartialEq<&str> for Method {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_parses_back_from_its_one_name() {
        for m in Method::ALL {
            assert_eq!(m.name().parse::<Method>(), Ok(m));
        }
        assert!("api-key".parse::<Method>().unwrap_err().contains("api_key"));
        assert_eq!(Method::from_legacy_name("api-key"), Some(Method::ApiKey));
        assert_eq!(Method::from_legacy_name("api_key"), None);
    }
}
