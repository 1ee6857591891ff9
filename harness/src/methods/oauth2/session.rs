//! One case's session with the authorization server: token, revocation and
//! introspection requests, resource calls, and the form-following walk
//! through the login and consent pages.

use std::sync::Arc;

use url::Url;

use crate::client::{ClientIdentity, RawRequest, RawResponse};
use crate::methods::Shared;
use crate::methods::oauth2::OAuth2Target;

#[allow(clippy::wildcard_imports)]
use super::*;

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
    pub async fn open(shared: &'a Shared) -> Result<Session<'a>, OAuthError> {
        let t = shared
            .forge
            .target()
            .oauth2
            .as_ref()
            .ok_or_else(|| OAuthError::missing("the target profile has no [oauth2] section"))?;
        let meta = shared
            .oauth_metadata
            .get_or_init(|| async { discover(&shared.client, &t.issuer).await.map(Arc::new) })
            .await
            .clone()
            .map_err(|e| {
                OAuthError::failed("the authorization server's metadata", e.to_string())
            })?;
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
    pub fn other_client_auth(&self) -> Result<ClientAuth, OAuthError> {
        let other = self.t.other_client.as_ref().ok_or_else(|| {
            OAuthError::missing("the profile's [oauth2] has no other_client for cross-client cases")
        })?;
        Ok(ClientAuth::Basic(other.client_id.clone(), other.client_secret.clone()))
    }

    /// Requires `login` (for the authorization-code cases).
    pub fn require_login(&self) -> Result<&'a [(String, String)], OAuthError> {
        self.t.login.as_deref().ok_or_else(|| {
            OAuthError::missing(
                "the profile's [oauth2] has no login: the authorization-code cases need the login form's fields",
            )
        })
    }

    /// Sends `request`; no answer is an error verdict.
    pub async fn send(&self, request: &RawRequest) -> Result<RawResponse, OAuthError> {
        self.shared.client.send(request).await.map_err(|e| {
            OAuthError::failed("an answer", format!("{} {}: {e}", request.method, request.url))
        })
    }

    /// POSTs `fields` to `url` with client authentication `auth`.
    pub async fn post_form(
        &self,
        url: &Url,
        fields: &[(&str, &str)],
        auth: &ClientAuth,
    ) -> Result<RawResponse, OAuthError> {
        self.send(&Self::form_request(url, fields, auth)).await
    }

    /// The form POST of `fields` to `url` with client authentication `auth`.
    pub fn form_request(url: &Url, fields: &[(&str, &str)], auth: &ClientAuth) -> RawRequest {
        let mut request = RawRequest::form(url.clone(), &[] as &[(&str, &str)]);
        let fields = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        auth.apply(fields, &mut request);
        request
    }

    /// `request` sent `n` times so that the copies arrive together (last-byte
    /// synchronization, spread over the host's addresses).
    pub async fn send_together(
        &self,
        request: &RawRequest,
        n: usize,
    ) -> Vec<Result<RawResponse, OAuthError>> {
        let copies = vec![request.clone(); n];
        self.shared
            .client
            .send_together(&copies)
            .await
            .into_iter()
            .map(|r| {
                r.map_err(|e| {
                    OAuthError::failed(
                        "an answer",
                        format!("{} {}: {e}", request.method, request.url),
                    )
                })
            })
            .collect()
    }

    /// A token request.
    pub async fn token(
        &self,
        fields: &[(&str, &str)],
        auth: &ClientAuth,
    ) -> Result<RawResponse, OAuthError> {
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
    ) -> Result<RawResponse, OAuthError> {
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
    pub fn revocation_endpoint(&self) -> Result<Url, OAuthError> {
        self.meta.revocation_endpoint.clone().ok_or_else(|| {
            OAuthError::missing("the authorization server publishes no revocation_endpoint")
        })
    }

    /// The introspection endpoint, or a skip.
    pub fn introspection_endpoint(&self) -> Result<Url, OAuthError> {
        self.meta.introspection_endpoint.clone().ok_or_else(|| {
            OAuthError::missing("the authorization server publishes no introspection_endpoint")
        })
    }

    /// Revokes `token` (RFC 7009) as the profile's client.
    pub async fn revoke(&self, token: &str, hint: Option<&str>) -> Result<RawResponse, OAuthError> {
        let url = self.revocation_endpoint()?;
        let mut fields = vec![("token", token)];
        if let Some(h) = hint {
            fields.push(("token_type_hint", h));
        }
        self.post_form(&url, &fields, &self.client_auth()).await
    }

    /// Introspects `token` (RFC 7662) as the profile's client.
    pub async fn introspect(&self, token: &str) -> Result<RawResponse, OAuthError> {
        let url = self.introspection_endpoint()?;
        self.post_form(&url, &[("token", token)], &self.client_auth()).await
    }

    /// Calls the protected resource with `Authorization: <scheme> <token>`.
    pub async fn call(
        &self,
        url: &Url,
        scheme: &str,
        token: &str,
    ) -> Result<RawResponse, OAuthError> {
        let request =
            RawRequest::get(url.clone()).header("Authorization", format!("{scheme} {token}"));
        self.send(&request).await
    }

    /// Calls the profile's resource with a Bearer (or DPoP, by `token_type`) token.
    pub async fn use_token(&self, tokens: &Tokens) -> Result<RawResponse, OAuthError> {
        self.call(&self.t.resource_url, "Bearer", &tokens.access_token).await
    }

    /// A fresh authorization request for the profile's client, with PKCE S256.
    pub fn auth_request(&self) -> AuthRequest {
        let pkce = Pkce::new();
        let mut params = vec![
            ("response_type".to_owned(), "code".to_owned()),
            ("client_id".to_owned(), self.t.client_id.clone()),
            ("redirect_uri".to_owned(), self.t.redirect_uri.to_string()),
            (
                "state".to_owned(),
                crate::methods::forge::random_string(crate::methods::forge::ALNUM, 24),
            ),
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
    pub async fn authorize(&self, params: &[(String, String)]) -> Result<Authorized, OAuthError> {
        self.walk(RawRequest::get(self.authorization_url(params))).await
    }

    /// [`Session::authorize`] from an arbitrary first request.
    pub async fn walk(&self, first: RawRequest) -> Result<Authorized, OAuthError> {
        Ok(self.walk_traced(first).await?.0)
    }

    /// [`Session::walk`], with every answer on the way.
    pub async fn walk_traced(
        &self,
        first: RawRequest,
    ) -> Result<(Authorized, Vec<Hop>), OAuthError> {
        let mut hops = Vec::new();
        let outcome = self.walk_inner(first, &mut hops).await?;
        Ok((outcome, hops))
    }

    async fn walk_inner(
        &self,
        first: RawRequest,
        hops: &mut Vec<Hop>,
    ) -> Result<Authorized, OAuthError> {
        let origin = first.url.origin();
        let mut credentials = false;
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
            hops.push(Hop {
                method: request.method.clone(),
                url: request.url.clone(),
                status: response.status,
                location: response.header("location").and_then(|l| request.url.join(l).ok()),
                credentials: std::mem::take(&mut credentials),
                links: forms::links(&response.body_text())
                    .iter()
                    .filter_map(|l| request.url.join(l).ok())
                    .collect(),
            });
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
                    return Err(OAuthError::failed(
                        "a redirect with a Location",
                        format!("{} without Location at {}", response.status, request.url),
                    ));
                };
                let next = request.url.join(location).map_err(|e| {
                    OAuthError::failed("a redirect", format!("bad Location `{location}`: {e}"))
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
                    credentials = true;
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
                    OAuthError::failed("a form to submit", format!("bad form action: {e}"))
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
        Err(OAuthError::failed(
            "the authorization request to end in a redirect or an error page",
            format!("still walking pages after {MAX_PAGES}"),
        ))
    }

    /// Runs the authorization request `req` and requires a code back.
    pub async fn code_for(&self, req: &AuthRequest) -> Result<String, OAuthError> {
        self.require_login()?;
        let outcome = self.authorize(&req.params).await?;
        outcome.param("code").ok_or_else(|| {
            OAuthError::failed(
                "a code from a valid authorization request",
                format!("the valid authorization request ended in {}", outcome.describe()),
            )
        })
    }

    /// Exchanges `code` obtained with `req`.
    pub async fn exchange(&self, req: &AuthRequest, code: &str) -> Result<RawResponse, OAuthError> {
        self.send(&self.exchange_request(req, code)).await
    }

    /// The token request that exchanges `code` from `req`.
    pub fn exchange_request(&self, req: &AuthRequest, code: &str) -> RawRequest {
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
        Self::form_request(&self.meta.token_endpoint, &fields, &self.client_auth())
    }

    /// The whole code flow: a fresh grant's tokens.
    pub async fn code_flow(&self) -> Result<Tokens, OAuthError> {
        let req = self.auth_request();
        let code = self.code_for(&req).await?;
        let r = self.exchange(&req, &code).await?;
        Tokens::from_response(&r).ok_or_else(|| {
            OAuthError::failed(
                "tokens for a valid code",
                format!("the code exchange answered {}", crate::verdict::observe(&r)),
            )
        })
    }

    /// Tokens from the client-credentials grant.
    pub async fn client_credentials(&self) -> Result<Tokens, OAuthError> {
        let mut fields = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.t.scope {
            fields.push(("scope", scope));
        }
        if let Some(resource) = &self.t.resource {
            fields.push(("resource", resource));
        }
        let r = self.token(&fields, &self.client_auth()).await?;
        Tokens::from_response(&r).ok_or_else(|| {
            OAuthError::failed(
                "tokens from the client-credentials grant",
                format!("the token endpoint answered {}", crate::verdict::observe(&r)),
            )
        })
    }

    /// Tokens with a refresh token: the code flow (client credentials issue none).
    pub async fn refreshable(&self) -> Result<Tokens, OAuthError> {
        let tokens = self.code_flow().await?;
        if tokens.refresh_token.is_none() {
            return Err(OAuthError::missing("the authorization server issued no refresh token"));
        }
        Ok(tokens)
    }

    /// Requires the resource to accept `tokens` now (so a later refusal means something).
    pub async fn require_accepted(&self, tokens: &Tokens) -> Result<(), OAuthError> {
        let r = self.use_token(tokens).await?;
        if r.status == 200 {
            Ok(())
        } else {
            Err(OAuthError::failed(
                "the resource to accept a fresh token",
                format!("a fresh access token got {}", crate::verdict::observe(&r)),
            ))
        }
    }

    /// Any token from this server: the code flow with login, else client credentials.
    pub async fn any_tokens(&self) -> Result<Tokens, OAuthError> {
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
