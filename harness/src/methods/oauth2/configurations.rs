//! What `overhead` measures of OAuth: the client-credentials token at the
//! resource (`oauth2-jwt` or `oauth2` by its shape), an opaque token
//! (`oauth2-opaque`) where the profile names such a client, and DPoP-bound
//! tokens with a fresh proof per request (`oauth2-dpop`).

use std::sync::Arc;

use anyhow::bail;
use hyper::header::{AUTHORIZATION, HeaderName, HeaderValue};

use crate::client::keepalive::{Endpoint, OneUse};
use crate::methods::{Configuration, Shared};

/// The configurations, credentials minted now.
pub(super) async fn configurations(
    shared: &Shared,
    tls: &Arc<rustls::ClientConfig>,
) -> anyhow::Result<Vec<Configuration>> {
    if shared.forge.target().oauth2.is_none() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let session = super::Session::open(shared).await.map_err(|e| anyhow::anyhow!("OAuth: {e}"))?;
    let tokens =
        session.client_credentials().await.map_err(|e| anyhow::anyhow!("OAuth token: {e}"))?;
    let label = if tokens.access_token.matches('.').count() == 2 { "oauth2-jwt" } else { "oauth2" };
    out.push(Configuration {
        label: label.into(),
        endpoint: Endpoint::new(
            &session.t.resource_url,
            vec![crate::methods::header(
                AUTHORIZATION,
                &format!("Bearer {}", tokens.access_token),
            )?],
            tls,
        ),
    });
    if let Some(client) = &session.t.opaque_client {
        let auth = super::ClientAuth::Basic(client.client_id.clone(), client.client_secret.clone());
        let mut fields = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &session.t.scope {
            fields.push(("scope", scope));
        }
        let r =
            session.token(&fields, &auth).await.map_err(|e| anyhow::anyhow!("OAuth token: {e}"))?;
        if let Some(t) = super::Tokens::from_response(&r) {
            out.push(Configuration {
                label: "oauth2-opaque".into(),
                endpoint: Endpoint::new(
                    &session.t.resource_url,
                    vec![crate::methods::header(
                        AUTHORIZATION,
                        &format!("Bearer {}", t.access_token),
                    )?],
                    tls,
                ),
            });
        }
    }
    if session.meta.supports_dpop() {
        out.push(
            dpop_configuration(&session, Endpoint::new(&session.t.resource_url, Vec::new(), tls))
                .await?,
        );
    }
    Ok(out)
}

/// `oauth2-dpop`: a DPoP-bound token, and a fresh proof per request from a
/// pool minted before each phase (RFC 9449 §4.3: one `jti` per proof).
async fn dpop_configuration(
    session: &super::Session<'_>,
    mut endpoint: Endpoint,
) -> anyhow::Result<Configuration> {
    let failed = |e: super::OAuthError| anyhow::anyhow!("OAuth DPoP: {e}");
    let key = super::DpopKey::generate().map_err(failed)?;
    let tokens = super::dpop_tokens(session, &key).await.map_err(failed)?;
    if !tokens.token_type.eq_ignore_ascii_case("dpop") {
        bail!("OAuth DPoP: the token endpoint answered token_type {}", tokens.token_type);
    }
    let minter =
        Arc::new(key.minter("GET", &session.t.resource_url, &tokens.access_token).map_err(failed)?);
    endpoint
        .headers
        .push(crate::methods::header(AUTHORIZATION, &format!("DPoP {}", tokens.access_token))?);
    let mint = move |n: usize| mint_parallel(&minter, n);
    endpoint.one_use = Some(Arc::new(OneUse::new(HeaderName::from_static("dpop"), Box::new(mint))));
    Ok(Configuration { label: "oauth2-dpop".into(), endpoint })
}

/// `n` proofs, minted on every core.
fn mint_parallel(minter: &super::ProofMinter, n: usize) -> Result<Vec<HeaderValue>, String> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(n.max(1));
    let per = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let count = per.min(n.saturating_sub(t * per));
                scope.spawn(move || -> Result<Vec<HeaderValue>, String> {
                    (0..count)
                        .map(|_| HeaderValue::from_str(&minter.mint()?).map_err(|e| e.to_string()))
                        .collect()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(n);
        for h in handles {
            out.extend(h.join().map_err(|_| "a minting thread panicked".to_owned())??);
        }
        Ok(out)
    })
}
