//! OAuth 2.0 against any authorization server: discovery (RFC 8414 and OpenID
//! Connect), PKCE, a form-following client for the login and consent pages,
//! token, revocation and introspection requests, DPoP proofs, resource calls.
//! The cases themselves are in [`steps`].

pub mod forms;
pub mod steps;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use sha2::Digest as _;
use url::Url;

use crate::client::{ClientIdentity, HttpClient, RawRequest, RawResponse};
use crate::engine::Shared;
use crate::engine::judge::Verdict;
use crate::target::OAuth2Target;

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

/// Fetches and checks the metadata of `issuer`.
pub async fn discover(client: &HttpClient, issuer: &Url) -> Result<Metadata, String> {
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
        let endpoint = |member: &str| -> Result<Option<Url>, String> {
            raw.get(member)
                .and_then(Value::as_str)
                .map(|s| Url::parse(s).map_err(|e| format!("{url}: {member} `{s}`: {e}")))
                .transpose()
        };
        let issuer_text = raw.get("issuer").and_then(Value::as_str).unwrap_or_default().to_owned();
        return Ok(Metadata {
            authorization_endpoint: endpoint("authorization_endpoint")?
                .ok_or_else(|| format!("{url}: no authorization_endpoint"))?,
            token_endpoint: endpoint("token_endpoint")?
                .ok_or_else(|| format!("{url}: no token_endpoint"))?,
            revocation_endpoint: endpoint("revocation_endpoint")?,
            introspection_endpoint: endpoint("introspection_endpoint")?,
            issuer: issuer_text,
            found_at: url,
            raw,
        });
    }
    Err(format!("no authorization server metadata ({})", tried.join("; ")))
}

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
        Pkce::of(crate::forge::random_string(PKCE_CHARS, 64))
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

    fn apply(&self, mut fields: Vec<(String, String)>, request: &mut RawRequest) {
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

/// One case's view of the authorization server: the target, its metadata,
/// and the requests every OAuth case is built from.
pub struct Session<'a> {
    /// Shared engine state.
    pub shared: &'a Shared,
    /// `[oauth2]`.
    pub t: &'a OAuth2Target,
    /// The server's metadata.
    pub meta: Arc<Metadata>,
}

impl<'a> Session<'a> {
    /// Opens a session: the profile's `[oauth2]` and the (cached) metadata.
    pub async fn open(shared: &'a Shared) -> Result<Session<'a>, Verdict> {
        let t = shared
            .forge
            .target()
            .oauth2
            .as_ref()
            .ok_or_else(|| Verdict::skip("the target profile has no [oauth2] section"))?;
        let meta = shared
            .oauth_metadata
            .get_or_init(|| async { discover(&shared.client, &t.issuer).await.map(Arc::new) })
            .await
            .clone()
            .map_err(|e| Verdict::error("the authorization server's metadata", e))?;
        Ok(Session { shared, t, meta })
    }

    /// The profile client's authentication: `client_secret_basic` when it has a secret.
    pub fn client_auth(&self) -> ClientAuth {
        match &self.t.client_secret {
            Some(secret) => ClientAuth::Basic(self.t.client_id.clone(), secret.clone()),
            None => ClientAuth::IdOnly(self.t.client_id.clone()),
        }
    }

    /// The other client's authentication, or a skip.
    pub fn other_client_auth(&self) -> Result<ClientAuth, Verdict> {
        let other = self.t.other_client.as_ref().ok_or_else(|| {
            Verdict::skip("the profile's [oauth2] has no other_client for cross-client cases")
        })?;
        Ok(ClientAuth::Basic(other.client_id.clone(), other.client_secret.clone()))
    }

    /// Requires `login` (for the authorization-code cases).
    pub fn require_login(&self) -> Result<&'a [(String, String)], Verdict> {
        self.t.login.as_deref().ok_or_else(|| {
            Verdict::skip(
                "the profile's [oauth2] has no login: the authorization-code cases need the login form's fields",
            )
        })
    }

    /// Sends `request`; no answer is an error verdict.
    pub async fn send(&self, request: &RawRequest) -> Result<RawResponse, Verdict> {
        self.shared.client.send(request).await.map_err(|e| {
            Verdict::error("an answer", format!("{} {}: {e}", request.method, request.url))
        })
    }

    /// POSTs `fields` to `url` with client authentication `auth`.
    pub async fn post_form(
        &self,
        url: &Url,
        fields: &[(&str, &str)],
        auth: &ClientAuth,
    ) -> Result<RawResponse, Verdict> {
        let mut request = RawRequest::form(url.clone(), &[] as &[(&str, &str)]);
        let fields = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        auth.apply(fields, &mut request);
        self.send(&request).await
    }

    /// A token request.
    pub async fn token(
        &self,
        fields: &[(&str, &str)],
        auth: &ClientAuth,
    ) -> Result<RawResponse, Verdict> {
        self.post_form(&self.meta.token_endpoint, fields, auth).await
    }

    /// A token request with extra headers (DPoP) and optionally a client certificate.
    pub async fn token_with(
        &self,
        url: &Url,
        fields: &[(&str, &str)],
        auth: &ClientAuth,
        headers: &[(&str, String)],
        identity: Option<Arc<ClientIdentity>>,
    ) -> Result<RawResponse, Verdict> {
        let mut request = RawRequest::form(url.clone(), &[] as &[(&str, &str)]);
        let fields = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        auth.apply(fields, &mut request);
        for (name, value) in headers {
            request.headers.push(((*name).to_owned(), value.clone().into_bytes()));
        }
        request.identity = identity;
        self.send(&request).await
    }

    /// The revocation endpoint, or a skip.
    pub fn revocation_endpoint(&self) -> Result<Url, Verdict> {
        self.meta.revocation_endpoint.clone().ok_or_else(|| {
            Verdict::skip("the authorization server publishes no revocation_endpoint")
        })
    }

    /// The introspection endpoint, or a skip.
    pub fn introspection_endpoint(&self) -> Result<Url, Verdict> {
        self.meta.introspection_endpoint.clone().ok_or_else(|| {
            Verdict::skip("the authorization server publishes no introspection_endpoint")
        })
    }

    /// Revokes `token` (RFC 7009) as the profile's client.
    pub async fn revoke(&self, token: &str, hint: Option<&str>) -> Result<RawResponse, Verdict> {
        let url = self.revocation_endpoint()?;
        let mut fields = vec![("token", token)];
        if let Some(h) = hint {
            fields.push(("token_type_hint", h));
        }
        self.post_form(&url, &fields, &self.client_auth()).await
    }

    /// Introspects `token` (RFC 7662) as the profile's client.
    pub async fn introspect(&self, token: &str) -> Result<RawResponse, Verdict> {
        let url = self.introspection_endpoint()?;
        self.post_form(&url, &[("token", token)], &self.client_auth()).await
    }

    /// Calls the protected resource with `Authorization: <scheme> <token>`.
    pub async fn call(&self, url: &Url, scheme: &str, token: &str) -> Result<RawResponse, Verdict> {
        let request =
            RawRequest::get(url.clone()).header("Authorization", format!("{scheme} {token}"));
        self.send(&request).await
    }

    /// Calls the profile's resource with a Bearer (or DPoP, by `token_type`) token.
    pub async fn use_token(&self, tokens: &Tokens) -> Result<RawResponse, Verdict> {
        self.call(&self.t.resource_url, "Bearer", &tokens.access_token).await
    }

    /// A fresh authorization request for the profile's client, with PKCE S256.
    pub fn auth_request(&self) -> AuthRequest {
        let pkce = Pkce::new();
        let mut params = vec![
            ("response_type".to_owned(), "code".to_owned()),
            ("client_id".to_owned(), self.t.client_id.clone()),
            ("redirect_uri".to_owned(), self.t.redirect_uri.to_string()),
            ("state".to_owned(), crate::forge::random_string(crate::forge::ALNUM, 24)),
            ("code_challenge".to_owned(), pkce.challenge.clone()),
            ("code_challenge_method".to_owned(), "S256".to_owned()),
        ];
        if let Some(scope) = &self.t.scope {
            params.push(("scope".to_owned(), scope.clone()));
        }
        if let Some(resource) = &self.t.resource {
            params.push(("resource".to_owned(), resource.clone()));
        }
        AuthRequest { params, pkce }
    }

    /// The authorization endpoint's URL with `params`.
    pub fn authorization_url(&self, params: &[(String, String)]) -> Url {
        let mut url = self.meta.authorization_endpoint.clone();
        {
            let mut q = url.query_pairs_mut();
            for (n, v) in params {
                q.append_pair(n, v);
            }
        }
        url
    }

    /// Sends the authorization request and walks its pages: fills the
    /// profile's `login` fields into forms that ask for them, submits other
    /// forms (consent) with their approving button, follows redirects on the
    /// server's origin, and stops at a redirect off it or a page with no form.
    pub async fn authorize(&self, params: &[(String, String)]) -> Result<Authorized, Verdict> {
        self.walk(RawRequest::get(self.authorization_url(params))).await
    }

    /// [`Session::authorize`] from an arbitrary first request.
    pub async fn walk(&self, first: RawRequest) -> Result<Authorized, Verdict> {
        let origin = first.url.origin();
        let login = self.t.login.clone().unwrap_or_default();
        let mut jar: Vec<(String, String)> = Vec::new();
        let mut request = first;
        let mut logged_in = false;
        for _ in 0..MAX_PAGES {
            if !jar.is_empty() {
                let cookies: Vec<String> = jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
                request.headers.push(("Cookie".into(), cookies.join("; ").into_bytes()));
            }
            let response = self.send(&request).await?;
            for value in response.header_values("set-cookie") {
                let pair = value.split(';').next().unwrap_or_default();
                if let Some((name, v)) = pair.split_once('=') {
                    let name = name.trim().to_owned();
                    jar.retain(|(n, _)| *n != name);
                    jar.push((name, v.trim().to_owned()));
                }
            }
            if (300..400).contains(&response.status) {
                let Some(location) = response.header("location") else {
                    return Err(Verdict::error(
                        "a redirect with a Location",
                        format!("{} without Location at {}", response.status, request.url),
                    ));
                };
                let next = request.url.join(location).map_err(|e| {
                    Verdict::error("a redirect", format!("bad Location `{location}`: {e}"))
                })?;
                if next.origin() != origin {
                    return Ok(Authorized::Redirected(next));
                }
                request = RawRequest::get(next);
                continue;
            }
            let html = response.body_text();
            let page_forms = forms::forms(&html);
            let asks_login = |f: &&forms::Form| {
                !f.passwords.is_empty()
                    || (!login.is_empty() && login.iter().all(|(n, _)| f.has_field(n)))
            };
            let stop = || Authorized::Page {
                status: response.status,
                url: request.url.clone(),
                excerpt: excerpt(&html),
            };
            let form = match page_forms.iter().find(asks_login) {
                Some(_) if login.is_empty() => return Ok(Authorized::NeedsLogin),
                // The login form again after logging in: the credentials were refused.
                Some(_) if logged_in => return Ok(stop()),
                Some(f) => {
                    logged_in = true;
                    f
                }
                None => match page_forms.first() {
                    Some(f) if response.status == 200 => f,
                    _ => return Ok(stop()),
                },
            };
            let action = if form.action.is_empty() {
                request.url.clone()
            } else {
                request.url.join(&form.action).map_err(|e| {
                    Verdict::error("a form to submit", format!("bad form action: {e}"))
                })?
            };
            let fields = form.submission(&login);
            request = if form.method == "POST" {
                RawRequest::form(action, &fields)
            } else {
                let mut url = action;
                url.query_pairs_mut().clear().extend_pairs(fields.iter());
                RawRequest::get(url)
            };
        }
        Err(Verdict::error(
            "the authorization request to end in a redirect or an error page",
            format!("still walking pages after {MAX_PAGES}"),
        ))
    }

    /// Runs the authorization request `req` and requires a code back.
    pub async fn code_for(&self, req: &AuthRequest) -> Result<String, Verdict> {
        self.require_login()?;
        let outcome = self.authorize(&req.params).await?;
        outcome.param("code").ok_or_else(|| {
            Verdict::error(
                "a code from a valid authorization request",
                format!("the valid authorization request ended in {}", outcome.describe()),
            )
        })
    }

    /// Exchanges `code` obtained with `req`.
    pub async fn exchange(&self, req: &AuthRequest, code: &str) -> Result<RawResponse, Verdict> {
        let redirect = req.get("redirect_uri").unwrap_or_default().to_owned();
        let mut fields = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect.as_str()),
            ("code_verifier", req.pkce.verifier.as_str()),
        ];
        if let Some(resource) = &self.t.resource {
            fields.push(("resource", resource));
        }
        self.token(&fields, &self.client_auth()).await
    }

    /// The whole code flow: a fresh grant's tokens.
    pub async fn code_flow(&self) -> Result<Tokens, Verdict> {
        let req = self.auth_request();
        let code = self.code_for(&req).await?;
        let r = self.exchange(&req, &code).await?;
        Tokens::from_response(&r).ok_or_else(|| {
            Verdict::error(
                "tokens for a valid code",
                format!("the code exchange answered {}", crate::engine::judge::observe(&r)),
            )
        })
    }

    /// Tokens from the client-credentials grant.
    pub async fn client_credentials(&self) -> Result<Tokens, Verdict> {
        let mut fields = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.t.scope {
            fields.push(("scope", scope));
        }
        if let Some(resource) = &self.t.resource {
            fields.push(("resource", resource));
        }
        let r = self.token(&fields, &self.client_auth()).await?;
        Tokens::from_response(&r).ok_or_else(|| {
            Verdict::error(
                "tokens from the client-credentials grant",
                format!("the token endpoint answered {}", crate::engine::judge::observe(&r)),
            )
        })
    }

    /// Tokens with a refresh token: the code flow (client credentials issue none).
    pub async fn refreshable(&self) -> Result<Tokens, Verdict> {
        let tokens = self.code_flow().await?;
        if tokens.refresh_token.is_none() {
            return Err(Verdict::skip("the authorization server issued no refresh token"));
        }
        Ok(tokens)
    }

    /// Requires the resource to accept `tokens` now (so a later refusal means something).
    pub async fn require_accepted(&self, tokens: &Tokens) -> Result<(), Verdict> {
        let r = self.use_token(tokens).await?;
        if r.status == 200 {
            Ok(())
        } else {
            Err(Verdict::error(
                "the resource to accept a fresh token",
                format!("a fresh access token got {}", crate::engine::judge::observe(&r)),
            ))
        }
    }

    /// Any token from this server: the code flow with login, else client credentials.
    pub async fn any_tokens(&self) -> Result<Tokens, Verdict> {
        if self.t.login.is_some() {
            self.code_flow().await
        } else {
            self.client_credentials().await
        }
    }
}

fn excerpt(html: &str) -> String {
    html.chars().take(160).collect()
}

/// A DPoP key (ES256) and proofs made with it (RFC 9449 §4.2).
pub struct DpopKey {
    key: EncodingKey,
    /// The public JWK.
    pub jwk: Value,
    private_d: String,
    /// The PKCS#8 document, for [`DpopKey::minter`].
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey").field("jwk", &self.jwk).finish_non_exhaustive()
    }
}

/// Valid DPoP proofs for one request line and token, each with its own `jti`
/// and the `iat` of its minting.
pub struct ProofMinter {
    pair: aws_lc_rs::signature::EcdsaKeyPair,
    header: String,
    htm: String,
    htu: String,
    ath: String,
}

impl std::fmt::Debug for ProofMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProofMinter").field("htm", &self.htm).field("htu", &self.htu).finish()
    }
}

impl ProofMinter {
    /// A fresh proof.
    pub fn mint(&self) -> Result<String, String> {
        let iat = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let claims = json!({
            "jti": crate::forge::random_string(crate::forge::ALNUM, 22),
            "htm": self.htm,
            "htu": self.htu,
            "iat": iat,
            "ath": self.ath,
        });
        let input = format!("{}.{}", self.header, URL_SAFE_NO_PAD.encode(claims.to_string()));
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let sig = self
            .pair
            .sign(&rng, input.as_bytes())
            .map_err(|_| "signing a DPoP proof failed".to_owned())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())))
    }
}

/// Changes to a DPoP proof (the server must refuse each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofFlaw {
    /// `typ` is `JWT`.
    WrongTyp,
    /// `alg: none`, no signature.
    AlgNone,
    /// The signature does not verify.
    BadSignature,
    /// The private key is in the header's `jwk`.
    PrivateJwk,
    /// `htm` is another method.
    WrongHtm,
    /// `htu` is another URL.
    WrongHtu,
    /// `iat` ten minutes ago.
    Stale,
    /// `iat` ten minutes ahead.
    Future,
    /// No `jti`.
    NoJti,
    /// `ath` of another token.
    WrongAth,
    /// No `ath` where a token is presented.
    NoAth,
    /// Signed with a key other than the one in `jwk`.
    OtherKey,
}

impl DpopKey {
    /// A fresh P-256 key.
    pub fn generate() -> Result<DpopKey, Verdict> {
        let fail = |e: &dyn std::fmt::Display| Verdict::error("a DPoP key", e.to_string());
        let pair =
            rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| fail(&e))?;
        let key =
            EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).map_err(|e| fail(&e))?;
        let raw = pair.public_key_raw();
        if raw.len() != 65 {
            return Err(fail(&"unexpected P-256 public key length"));
        }
        let jwk = json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&raw[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&raw[33..65]),
        });
        // The private scalar sits in the PKCS#8 document as OCTET STRING 04 20.
        let der = pair.serialized_der();
        let d = der
            .windows(2)
            .position(|w| w == [0x04, 0x20])
            .and_then(|at| der.get(at + 2..at + 34))
            .map(|d| URL_SAFE_NO_PAD.encode(d))
            .unwrap_or_default();
        Ok(DpopKey { key, jwk, private_d: d, pkcs8: der.to_vec() })
    }

    /// Mints valid proofs for `method` `url` bound to `token`, fast: the key
    /// parsed once, the header encoded once (for load, where each request
    /// needs a proof of its own).
    pub fn minter(&self, method: &str, url: &Url, token: &str) -> Result<ProofMinter, Verdict> {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &self.pkcs8)
            .map_err(|e| Verdict::error("a DPoP key", e.to_string()))?;
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk });
        Ok(ProofMinter {
            pair,
            header: URL_SAFE_NO_PAD.encode(header.to_string()),
            htm: method.to_owned(),
            htu: htu.to_string(),
            ath: URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(token)),
        })
    }

    /// The RFC 7638 thumbprint of the public key.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            self.jwk["x"].as_str().unwrap_or_default(),
            self.jwk["y"].as_str().unwrap_or_default()
        );
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes()))
    }

    /// A proof for `method` `url`, bound to `token` when given, spoiled by `flaw`.
    pub fn proof(
        &self,
        method: &str,
        url: &Url,
        token: Option<&str>,
        flaw: Option<ProofFlaw>,
        other: Option<&DpopKey>,
    ) -> String {
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut jwk = self.jwk.clone();
        if flaw == Some(ProofFlaw::PrivateJwk) {
            jwk["d"] = Value::String(self.private_d.clone());
        }
        let mut header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": jwk });
        let mut claims = json!({
            "jti": crate::forge::random_string(crate::forge::ALNUM, 22),
            "htm": method,
            "htu": htu.as_str(),
            "iat": now,
        });
        if let Some(token) = token {
            claims["ath"] = Value::String(URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(token)));
        }
        match flaw {
            Some(ProofFlaw::WrongTyp) => header["typ"] = json!("JWT"),
            Some(ProofFlaw::WrongHtm) => {
                claims["htm"] = json!(if method == "GET" { "POST" } else { "GET" })
            }
            Some(ProofFlaw::WrongHtu) => {
                claims["htu"] = json!(format!("{}/elsewhere", htu.as_str().trim_end_matches('/')))
            }
            Some(ProofFlaw::Stale) => claims["iat"] = json!(now - 600),
            Some(ProofFlaw::Future) => claims["iat"] = json!(now + 600),
            Some(ProofFlaw::NoJti) => {
                if let Some(map) = claims.as_object_mut() {
                    map.remove("jti");
                }
            }
            Some(ProofFlaw::WrongAth) => {
                claims["ath"] =
                    json!(URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(b"another token")))
            }
            Some(ProofFlaw::NoAth) => {
                if let Some(map) = claims.as_object_mut() {
                    map.remove("ath");
                }
            }
            _ => {}
        }
        if flaw == Some(ProofFlaw::AlgNone) {
            header["alg"] = json!("none");
            let seg = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
            return format!("{}.{}.", seg(&header), seg(&claims));
        }
        let signer = match (flaw, other) {
            (Some(ProofFlaw::OtherKey), Some(o)) => &o.key,
            _ => &self.key,
        };
        let signed = crate::forge::jwt::sign_json(
            &header.to_string(),
            &claims.to_string(),
            signer,
            Algorithm::ES256,
        )
        .unwrap_or_default();
        if flaw == Some(ProofFlaw::BadSignature) {
            let mut bytes = signed.into_bytes();
            if let Some(last) = bytes.iter().rposition(|b| *b != b'.') {
                let at = last.saturating_sub(4);
                bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            }
            return String::from_utf8(bytes).unwrap_or_default();
        }
        signed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_urls_follow_rfc8414_and_oidc() {
        let urls = metadata_urls(&Url::parse("https://as.test/tenant1").unwrap());
        assert_eq!(
            urls[0].as_str(),
            "https://as.test/.well-known/oauth-authorization-server/tenant1"
        );
        assert_eq!(urls[1].as_str(), "https://as.test/tenant1/.well-known/openid-configuration");
        let urls = metadata_urls(&Url::parse("https://as.test").unwrap());
        assert_eq!(urls[0].as_str(), "https://as.test/.well-known/oauth-authorization-server");
    }

    #[test]
    fn pkce_is_s256_of_the_verifier() {
        // RFC 7636 Appendix B.
        let p = Pkce::of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned());
        assert_eq!(p.challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn client_secret_basic_form_encodes_before_base64() {
        let mut r = RawRequest::get(Url::parse("https://as.test/token").unwrap());
        ClientAuth::Basic("a b".into(), "p:w%".into()).apply(Vec::new(), &mut r);
        let header = String::from_utf8(r.headers[0].1.clone()).unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(header.trim_start_matches("Basic "))
            .unwrap();
        assert_eq!(decoded, b"a+b:p%3Aw%25");
    }
}
