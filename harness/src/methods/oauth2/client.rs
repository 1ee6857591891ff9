//! What an OAuth client sends: PKCE pairs, client authentication, the
//! authorization request, and what comes back (the redirect, tokens).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::Digest as _;
use url::Url;

use crate::client::{RawRequest, RawResponse};
use crate::verdict::Verdict;

/// A PKCE pair (RFC 7636).
#[derive(Debug, Clone)]
pub struct Pkce {
    /// `code_verifier`.
    pub verifier: String,
    /// `code_challenge` (S256).
    pub challenge: String,
}

impl Pkce {
    /// A fresh pair: 64 unreserved characters, S256.
    pub fn new() -> Self {
        Pkce::of(crate::methods::forge::random_string(PKCE_CHARS, 64))
    }

    /// The S256 pair for `verifier`, whatever its length or characters.
    pub fn of(verifier: String) -> Self {
        let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
        Pkce { verifier, challenge }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Pkce::new()
    }
}

/// The characters RFC 7636 §4.1 allows in a verifier.
pub const PKCE_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/// How a request to the token, revocation or introspection endpoint authenticates the client.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// None at all.
    None,
    /// `client_secret_basic`: form-urlencoded id and secret (RFC 6749 §2.3.1).
    Basic(String, String),
    /// `client_secret_post`.
    Post(String, String),
    /// Both at once (never valid).
    Both(String, String),
    /// `client_id` in the body only (a public client, or `tls_client_auth`).
    IdOnly(String),
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl ClientAuth {
    /// Adds only the header part (for a request that carries no form).
    pub fn apply_headers(&self, request: &mut RawRequest) {
        self.apply(Vec::new(), request);
        request.body.clear();
    }

    pub(super) fn apply(&self, mut fields: Vec<(String, String)>, request: &mut RawRequest) {
        let basic = |id: &str, secret: &str| {
            let pair = format!("{}:{}", form_encode(id), form_encode(secret));
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
        };
        match self {
            ClientAuth::None => {}
            ClientAuth::Basic(id, secret) => {
                request.headers.push(("Authorization".into(), basic(id, secret).into_bytes()));
            }
            ClientAuth::Post(id, secret) => {
                fields.push(("client_id".into(), id.clone()));
                fields.push(("client_secret".into(), secret.clone()));
            }
            ClientAuth::Both(id, secret) => {
                request.headers.push(("Authorization".into(), basic(id, secret).into_bytes()));
                fields.push(("client_id".into(), id.clone()));
                fields.push(("client_secret".into(), secret.clone()));
            }
            ClientAuth::IdOnly(id) => fields.push(("client_id".into(), id.clone())),
        }
        request.body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .finish()
            .into_bytes();
    }
}

/// One answer on an authorization walk.
#[derive(Debug, Clone)]
pub struct Hop {
    /// The request's method.
    pub method: String,
    /// The request's URL.
    pub url: Url,
    /// The answer's status.
    pub status: u16,
    /// The answer's `Location`, resolved against `url`.
    pub location: Option<Url>,
    /// The request submitted the profile's login fields (a user's credentials).
    pub credentials: bool,
    /// The page's links and form actions, resolved against `url`.
    pub links: Vec<Url>,
}

/// Where the authorization request ended.
#[derive(Debug, Clone)]
pub enum Authorized {
    /// The server redirected off its own origin: to the client (or wherever).
    Redirected(Url),
    /// It stopped on a page that is not a form to fill: an error page.
    Page {
        /// Its status.
        status: u16,
        /// Its URL.
        url: Url,
        /// The start of its text.
        excerpt: String,
    },
    /// A login page appeared and the profile has no `login` to fill it with.
    NeedsLogin,
}

impl Authorized {
    /// The query parameters of the redirect, if it was one.
    pub fn params(&self) -> Option<Vec<(String, String)>> {
        match self {
            Authorized::Redirected(url) => Some(url.query_pairs().into_owned().collect()),
            _ => None,
        }
    }

    /// Parameter `name` of the redirect.
    pub fn param(&self, name: &str) -> Option<String> {
        self.params()?.into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// A short description for reports (no codes or tokens).
    pub fn describe(&self) -> String {
        match self {
            Authorized::Redirected(url) => {
                let names: Vec<String> = url.query_pairs().map(|(n, _)| n.into_owned()).collect();
                let mut at = url.clone();
                at.set_query(None);
                format!("redirect to {at} with {}", names.join(", "))
            }
            Authorized::Page { status, url, .. } => format!("{status} page at {}", url.path()),
            Authorized::NeedsLogin => "a login page".to_owned(),
        }
    }
}

/// Tokens from a token response.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// `access_token`.
    pub access_token: String,
    /// `refresh_token`.
    pub refresh_token: Option<String>,
    /// `token_type`.
    pub token_type: String,
    /// The whole response.
    pub raw: Value,
}

impl Tokens {
    /// Reads a successful token response.
    pub fn from_response(r: &RawResponse) -> Option<Tokens> {
        if r.status != 200 {
            return None;
        }
        let raw = r.json()?;
        Some(Tokens {
            access_token: raw.get("access_token")?.as_str()?.to_owned(),
            refresh_token: raw.get("refresh_token").and_then(Value::as_str).map(str::to_owned),
            token_type: raw.get("token_type").and_then(Value::as_str).unwrap_or("").to_owned(),
            raw,
        })
    }
}

/// Options of one authorization request, starting from the profile's client.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    /// The parameters, in order; cases edit them.
    pub params: Vec<(String, String)>,
    /// The PKCE pair whose challenge is in `params`.
    pub pkce: Pkce,
}

impl AuthRequest {
    /// Replaces (or adds) parameter `name`.
    pub fn set(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.params.push((name.to_owned(), value.to_owned()));
    }

    /// Removes parameter `name`.
    pub fn remove(&mut self, name: &str) {
        self.params.retain(|(n, _)| n != name);
    }

    /// Value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Why an OAuth request could not serve a case: the profile or the server
/// lacks something (the case skips), or an exchange did not go as a working
/// client needs (the case cannot be judged). Steps turn it into their
/// verdict with `?`; `overhead`, `load` and `fuzz` into their own errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// Something the case needs is missing: the reason says what to add.
    #[error("{0}")]
    Missing(String),
    /// An exchange failed: what was wanted, and what happened instead.
    #[error("{reason}")]
    Failed {
        /// What was wanted.
        expected: String,
        /// What happened instead.
        reason: String,
    },
}

impl OAuthError {
    /// Something the case needs is missing.
    pub fn missing(reason: impl Into<String>) -> Self {
        OAuthError::Missing(reason.into())
    }

    /// `expected` did not come; `reason` says what happened instead.
    pub fn failed(expected: impl Into<String>, reason: impl Into<String>) -> Self {
        OAuthError::Failed { expected: expected.into(), reason: reason.into() }
    }
}

impl From<OAuthError> for Verdict {
    fn from(e: OAuthError) -> Verdict {
        match e {
            OAuthError::Missing(reason) => Verdict::skip(reason),
            OAuthError::Failed { expected, reason } => Verdict::error(expected, reason),
        }
    }
}
