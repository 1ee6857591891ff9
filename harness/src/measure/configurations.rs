//! The method configurations `overhead`, `load`, `compare` and the Locust
//! worker measure: each method's endpoint with a valid credential minted now.

use std::sync::Arc;

use anyhow::{Context, bail};
use hyper::header::{AUTHORIZATION, HeaderName, HeaderValue};

use super::generator::{self, Endpoint};
use crate::client::ClientIdentity;
use crate::engine::Shared;

/// One configuration: a label, its endpoint, and the baseline it is paired with.
#[derive(Debug, Clone)]
pub struct Configuration {
    /// e.g. `jwt-es256`, `mtls`, `baseline`.
    pub label: String,
    /// The authenticated endpoint (the baseline for `baseline`).
    pub endpoint: Endpoint,
}

fn header(name: HeaderName, value: &str) -> anyhow::Result<(HeaderName, HeaderValue)> {
    Ok((name, HeaderValue::from_str(value).context("a credential that is not a header value")?))
}

/// The configurations the profile allows, credentials minted now.
pub async fn configurations(
    shared: &Shared,
    resumption: bool,
) -> anyhow::Result<(Endpoint, Vec<Configuration>)> {
    let target = shared.forge.target();
    let tls = shared.client.load_config(None, resumption).map_err(anyhow::Error::msg)?;
    let endpoint = |url: &url::Url, headers: Vec<(HeaderName, HeaderValue)>| Endpoint {
        url: url.clone(),
        headers,
        one_use: None,
        tls: Arc::clone(&tls),
    };
    let baseline_url = target.baseline_url.as_ref().context(
        "the profile has no baseline_url: overhead compares each method with an unauthenticated endpoint of the same server",
    )?;
    let baseline = endpoint(baseline_url, Vec::new());
    let mut out = vec![Configuration { label: "baseline".into(), endpoint: baseline.clone() }];
    if let Some(b) = &target.basic {
        let value = shared.forge.valid_value("basic").map_err(|s| anyhow::anyhow!(s.0))?;
        out.push(Configuration {
            label: "basic".into(),
            endpoint: endpoint(&b.url, vec![header(AUTHORIZATION, &value)?]),
        });
        if let Some(cached) = &b.cached_url {
            out.push(Configuration {
                label: "basic-cached".into(),
                endpoint: endpoint(cached, vec![header(AUTHORIZATION, &value)?]),
            });
        }
    }
    if let Some(a) = &target.api_key {
        let value = shared.forge.valid_value("api_key").map_err(|s| anyhow::anyhow!(s.0))?;
        let name = match &a.header {
            Some(h) => HeaderName::from_bytes(h.as_bytes())?,
            None => AUTHORIZATION,
        };
        out.push(Configuration {
            label: "api_key".into(),
            endpoint: endpoint(&a.url, vec![header(name, &value)?]),
        });
    }
    if let Some(j) = &target.jwt {
        let mut algorithms = vec![j.algorithm];
        algorithms.extend(j.variants.iter().map(|(a, _, _)| *a));
        for alg in algorithms {
            let name = crate::forge::jwt::alg_name(alg);
            let forge = shared.forge.jwt_forge(Some(name)).map_err(|s| anyhow::anyhow!(s.0))?;
            let Ok(token) = forge.valid_token() else { continue };
            out.push(Configuration {
                label: format!("jwt-{}", name.to_ascii_lowercase()),
                endpoint: endpoint(
                    forge.url(),
                    vec![header(AUTHORIZATION, &format!("Bearer {token}"))?],
                ),
            });
        }
    }
    if target.oauth2.is_some() {
        let session = crate::oauth::Session::open(shared)
            .await
            .map_err(|v| anyhow::anyhow!("OAuth: {}", v.reason.unwrap_or_default()))?;
        let tokens = session
            .client_credentials()
            .await
            .map_err(|v| anyhow::anyhow!("OAuth token: {}", v.reason.unwrap_or_default()))?;
        let label =
            if tokens.access_token.matches('.').count() == 2 { "oauth2-jwt" } else { "oauth2" };
        out.push(Configuration {
            label: label.into(),
            endpoint: endpoint(
                &session.t.resource_url,
                vec![header(AUTHORIZATION, &format!("Bearer {}", tokens.access_token))?],
            ),
        });
        if let Some(client) = &session.t.opaque_client {
            let auth = crate::oauth::ClientAuth::Basic(
                client.client_id.clone(),
                client.client_secret.clone(),
            );
            let mut fields = vec![("grant_type", "client_credentials")];
            if let Some(scope) = &session.t.scope {
                fields.push(("scope", scope));
            }
            let r = session
                .token(&fields, &auth)
                .await
                .map_err(|v| anyhow::anyhow!("{:?}", v.reason))?;
            if let Some(t) = crate::oauth::Tokens::from_response(&r) {
                out.push(Configuration {
                    label: "oauth2-opaque".into(),
                    endpoint: endpoint(
                        &session.t.resource_url,
                        vec![header(AUTHORIZATION, &format!("Bearer {}", t.access_token))?],
                    ),
                });
            }
        }
        if session.meta.supports_dpop() {
            out.push(
                dpop_configuration(&session, endpoint(&session.t.resource_url, Vec::new())).await?,
            );
        }
    }
    if let Some(m) = &target.mtls {
        let id = ClientIdentity::from_pem(&m.client.chain_pem, &m.client.key_pem)
            .map_err(anyhow::Error::msg)?;
        let tls = shared.client.load_config(Some(&id), resumption).map_err(anyhow::Error::msg)?;
        out.push(Configuration {
            label: "mtls".into(),
            endpoint: Endpoint { url: m.url.clone(), headers: Vec::new(), one_use: None, tls },
        });
    }
    if let Some(l) = &target.layered {
        out.push(layered_configuration(shared, l, resumption)?);
    }
    Ok((baseline, out))
}

/// `layered`: the service's certificate on the connection, the application's
/// key and a user token for it (valid for an hour, so that a long run does
/// not outlive it) on every request.
fn layered_configuration(
    shared: &Shared,
    l: &crate::target::LayeredTarget,
    resumption: bool,
) -> anyhow::Result<Configuration> {
    let id = ClientIdentity::from_pem(&l.mtls.client.chain_pem, &l.mtls.client.key_pem)
        .map_err(anyhow::Error::msg)?;
    let tls = shared.client.load_config(Some(&id), resumption).map_err(anyhow::Error::msg)?;
    let token = crate::layered::user_token(l, "+1h")
        .map_err(|v| anyhow::anyhow!("layered: {}", v.reason.unwrap_or_default()))?;
    let key_header = l.api_key.header.as_deref().unwrap_or("X-API-Key");
    Ok(Configuration {
        label: "layered".into(),
        endpoint: Endpoint {
            url: l.url.clone(),
            headers: vec![
                header(HeaderName::from_bytes(key_header.as_bytes())?, &l.api_key.key)?,
                header(AUTHORIZATION, &format!("Bearer {token}"))?,
            ],
            one_use: None,
            tls,
        },
    })
}

/// `oauth2-dpop`: a DPoP-bound token, and a fresh proof per request from a
/// pool minted before each phase (RFC 9449 §4.3: one `jti` per proof).
async fn dpop_configuration(
    session: &crate::oauth::Session<'_>,
    mut endpoint: Endpoint,
) -> anyhow::Result<Configuration> {
    let failed = |v: crate::engine::judge::Verdict| {
        anyhow::anyhow!("OAuth DPoP: {}", v.reason.unwrap_or_default())
    };
    let key = crate::oauth::DpopKey::generate().map_err(failed)?;
    let tokens = crate::oauth::steps::dpop_tokens(session, &key).await.map_err(failed)?;
    if !tokens.token_type.eq_ignore_ascii_case("dpop") {
        bail!("OAuth DPoP: the token endpoint answered token_type {}", tokens.token_type);
    }
    let minter =
        Arc::new(key.minter("GET", &session.t.resource_url, &tokens.access_token).map_err(failed)?);
    endpoint.headers.push(header(AUTHORIZATION, &format!("DPoP {}", tokens.access_token))?);
    let mint = move |n: usize| mint_parallel(&minter, n);
    endpoint.one_use =
        Some(Arc::new(generator::OneUse::new(HeaderName::from_static("dpop"), Box::new(mint))));
    Ok(Configuration { label: "oauth2-dpop".into(), endpoint })
}

/// `n` proofs, minted on every core.
fn mint_parallel(minter: &crate::oauth::ProofMinter, n: usize) -> Result<Vec<HeaderValue>, String> {
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

