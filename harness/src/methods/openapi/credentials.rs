//! The valid credential of a scheme, with the scopes a requirement lists,
//! and one with every scope but one: minted with the profile's JWT key, or
//! asked of the OAuth authorization server (client credentials) and checked
//! against the scope it granted.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::bind::{Raw, jwt_forge_for, mint};
use super::profile::Binding;
use crate::methods::oauth2::{Session, Tokens};
use crate::methods::{Method, Shared};
use crate::openapi::SchemeKind;
use crate::verdict::Verdict;

/// A token asked for once, or why there is none.
type Fetched = Arc<OnceCell<Result<String, String>>>;

/// OAuth access tokens fetched in this run, by the scope asked for.
#[derive(Debug, Default)]
pub struct TokenCache {
    tokens: Mutex<BTreeMap<String, Fetched>>,
}

impl TokenCache {
    /// An access token for exactly `scopes` (the profile's scope when `None`).
    async fn token(&self, shared: &Shared, scopes: Option<&[String]>) -> Result<String, Verdict> {
        let key = scopes.map_or_else(|| "\u{0}".to_owned(), |s| s.join(" "));
        let cell = {
            let mut map = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(map.entry(key).or_default())
        };
        cell.get_or_init(|| fetch(shared, scopes)).await.clone().map_err(|why| {
            Verdict::error("an access token from the authorization server", why)
                .because(crate::verdict::Cause::Shared("error:control".to_owned()))
        })
    }
}

async fn fetch(shared: &Shared, scopes: Option<&[String]>) -> Result<String, String> {
    let session = Session::open(shared).await.map_err(|e| reason(e.into()))?;
    let Some(scopes) = scopes else {
        return session
            .client_credentials()
            .await
            .map(|t| t.access_token)
            .map_err(|e| reason(e.into()));
    };
    let scope = scopes.join(" ");
    let mut fields = vec![("grant_type", "client_credentials"), ("scope", scope.as_str())];
    if let Some(resource) = &session.t.resource {
        fields.push(("resource", resource));
    }
    let r = session.token(&fields, &session.client_auth()).await.map_err(|e| reason(e.into()))?;
    let tokens = Tokens::from_response(&r).ok_or_else(|| {
        format!(
            "the client-credentials grant for scope `{scope}` answered {}",
            crate::verdict::observe(&r)
        )
    })?;
    // RFC 6749 §5.1: `scope` is in the answer when it differs from the request.
    if let Some(granted) = tokens.raw.get("scope").and_then(|s| s.as_str()) {
        let granted: Vec<&str> = granted.split(' ').collect();
        if let Some(extra) = granted.iter().find(|g| !scopes.iter().any(|s| s == *g)) {
            return Err(format!(
                "asked for scope `{scope}`, the authorization server granted `{}` (with `{extra}`): a token without a scope cannot be had this way",
                granted.join(" ")
            ));
        }
    }
    Ok(tokens.access_token)
}

fn reason(v: Verdict) -> String {
    v.reason.unwrap_or_default()
}

/// Whether `binding` can give a credential with chosen scopes for a scheme of `kind`.
pub fn scopes_choosable(binding: Binding, kind: &SchemeKind) -> bool {
    // An API key, a password or a certificate has the rights it has; only
    // tokens are minted or asked for with the scopes wanted.
    let token = !matches!(kind, SchemeKind::MutualTls);
    token && matches!(binding, Binding::Section(Method::Jwt | Method::OAuth2))
}

/// The valid credential of `binding` for a scheme of `kind` at `url`, with
/// exactly `scopes` when given (`Some(&[])`: none at all).
pub async fn valid(
    shared: &Shared,
    tokens: &TokenCache,
    binding: Binding,
    kind: &SchemeKind,
    url: &url::Url,
    scopes: Option<&[String]>,
) -> Result<Raw, Verdict> {
    let target = shared.forge.target();
    let Binding::Section(method) = binding else {
        return Err(Verdict::skip(
            "the profile has no credential for this scheme ([openapi] schemes maps it to \"none\", or its section is absent)",
        ));
    };
    let absent = || Verdict::skip(format!("the profile has no [{method}] section"));
    match method {
        Method::Basic => {
            let b = target.basic.as_ref().ok_or_else(absent)?;
            Ok(Raw::Basic(b.username.clone(), b.password.clone()))
        }
        Method::ApiKey => {
            let a = target.api_key.as_ref().ok_or_else(absent)?;
            Ok(Raw::Token(a.key.clone()))
        }
        Method::Jwt => {
            let forge = jwt_forge_for(shared, url)?;
            match scopes {
                None => forge.valid_token().map(Raw::Token).map_err(|s| Verdict::skip(s.0)),
                Some(list) => mint(forge, Some(list), Default::default()).map(Raw::Token),
            }
        }
        Method::OAuth2 => tokens.token(shared, scopes).await.map(Raw::Token),
        Method::Mtls => {
            let m = target.mtls.as_ref().ok_or_else(absent)?;
            crate::methods::mtls::identity(&m.client).map(Raw::Certificate)
        }
        Method::Layered => {
            let l = target.layered.as_ref().ok_or_else(absent)?;
            match kind {
                SchemeKind::ApiKey { .. } => Ok(Raw::Token(l.api_key.key.clone())),
                SchemeKind::MutualTls => {
                    crate::methods::mtls::identity(&l.mtls.client).map(Raw::Certificate)
                }
                _ => crate::methods::layered::user_token(l, "+10m").map(Raw::Token),
            }
        }
        Method::OpenApi => Err(Verdict::skip("[openapi] cannot answer for a scheme")),
    }
}
