//! `[basic]`: the protected resource and a valid user.

use serde::Deserialize;
use toml::Spanned;
use url::Url;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBasic {
    pub(crate) url: Spanned<String>,
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) cached_url: Option<Spanned<String>>,
    pub(crate) throttle_after: Option<Spanned<u32>>,
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
