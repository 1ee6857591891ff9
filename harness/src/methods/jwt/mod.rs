//! JWT bearer tokens (RFC 7519, RFC 6750, RFC 8725): the token forge (every
//! algorithm of the profile), the multi-exchange cases (replay window,
//! revocation latency), and one measured configuration per algorithm.

pub mod attacker;
mod command;
mod ecdsa;
pub mod forge;
pub mod fuzz;
pub mod hmac;
mod probe;
pub mod profile;
mod relative_time;
mod ssrf;
mod steps;
mod types;

pub use profile::JwtTarget;
use std::sync::Arc;

use authbench_scenarios::case::UrlSelector;
use hyper::header::AUTHORIZATION;
use url::Url;

use super::forge::{Forge, Skip};
use super::jwks::Audit;
use super::{Configuration, ConfigurationsFuture, Method, MethodSpec, Shared, Step, StepFn, step};
use crate::client::keepalive::Endpoint;
use crate::methods::Target;

/// JWT in the registry.
pub struct Spec;

const STEPS: &[Step<StepFn>] = &[
    step("replay-window", |s, c| Box::pin(steps::jwt_replay_window(s, c))),
    step("revocation-latency", |s, c| Box::pin(super::revocation::jwt(s, c))),
    step("es256-special-signatures", |s, c| Box::pin(ecdsa::es256_special_signatures(s, c))),
    step("jwks-no-secret-keys", |s, c| Box::pin(jwks(s, c, Audit::Secrets))),
    step("jwks-keys-well-formed", |s, c| Box::pin(jwks(s, c, Audit::Form))),
    step("jwks-key-strength", |s, c| Box::pin(jwks(s, c, Audit::Strength))),
    step("jwks-unique-kids", |s, c| Box::pin(jwks(s, c, Audit::UniqueKids))),
    step("hmac-secret-not-well-known", |s, c| Box::pin(hmac::hmac_secret_not_well_known(s, c))),
    step("bearer-placeholders", |s, c| Box::pin(steps::bearer_placeholders(s, c))),
    step("kid-not-executed", |s, c| Box::pin(command::kid_not_executed(s, c))),
    step("claim-types-refused", |s, c| Box::pin(types::claim_types_refused(s, c))),
    step("variants-serve-valid-tokens", |s, c| Box::pin(steps::variants_serve_valid_tokens(s, c))),
    step("token-urls-not-fetched", |s, c| Box::pin(ssrf::token_urls_not_fetched(s, c))),
];

/// The audit of `[jwt] jwks_url`'s key set.
async fn jwks(
    shared: &Shared,
    case: &authbench_scenarios::Case,
    audit: Audit,
) -> crate::verdict::Verdict {
    match shared.forge.target().jwt.as_ref().and_then(|j| j.jwks_url.clone()) {
        Some(url) => super::jwks::judge(shared, &url, audit, case.severity).await,
        None => crate::verdict::Verdict::skip("the profile's [jwt] has no jwks_url"),
    }
}

impl MethodSpec for Spec {
    fn method(&self) -> Method {
        Method::Jwt
    }

    fn present(&self, target: &Target) -> bool {
        target.jwt.is_some()
    }

    fn urls<'t>(&self, target: &'t Target) -> Vec<&'t Url> {
        target.jwt.iter().map(|j| &j.url).collect()
    }

    fn secrets(&self, target: &Target) -> Vec<String> {
        target
            .jwt
            .iter()
            .flat_map(|j| [j.token.clone(), j.revoked_token.clone()])
            .flatten()
            .collect()
    }

    fn scheme(&self, _target: &Target) -> String {
        "Bearer".to_owned()
    }

    fn valid_value(&self, forge: &Forge) -> Result<String, Skip> {
        Ok(format!("Bearer {}", forge.valid_token()?))
    }

    fn revoked(&self, target: &Target) -> Option<String> {
        target.jwt.as_ref().and_then(|j| j.revoked_token.clone())
    }

    fn resolve_url(&self, target: &Target, selector: UrlSelector) -> Result<Url, String> {
        let j = target.jwt.as_ref().ok_or("the profile has no [jwt] section")?;
        match selector {
            UrlSelector::InsufficientScopeUrl => j
                .insufficient_scope_url
                .clone()
                .ok_or_else(|| "the profile's [jwt] has no insufficient_scope_url".to_owned()),
            UrlSelector::RevocationUrl => {
                Ok(j.revocation_url.clone().unwrap_or_else(|| j.url.clone()))
            }
            _ => Ok(j.url.clone()),
        }
    }

    fn table(&self) -> &'static [Step<StepFn>] {
        STEPS
    }

    /// `jwt-<alg>`: one per algorithm the profile can mint or holds a token for.
    fn configurations<'a>(
        &'a self,
        shared: &'a Shared,
        tls: &'a Arc<rustls::ClientConfig>,
        _resumption: bool,
    ) -> ConfigurationsFuture<'a> {
        Box::pin(async move {
            let Some(j) = &shared.forge.target().jwt else { return Ok(Vec::new()) };
            let mut algorithms = vec![j.algorithm];
            algorithms.extend(j.variants.iter().map(|(a, _, _)| *a));
            let mut out = Vec::new();
            for alg in algorithms {
                let name = forge::alg_name(alg);
                let forge = shared.forge.jwt_forge(Some(name)).map_err(|s| anyhow::anyhow!(s.0))?;
                let Ok(token) = forge.valid_token() else { continue };
                out.push(Configuration {
                    label: format!("{}-{}", Method::Jwt, name.to_ascii_lowercase()),
                    endpoint: Endpoint::new(
                        forge.url(),
                        vec![super::header(AUTHORIZATION, &format!("Bearer {token}"))?],
                        tls,
                    ),
                });
            }
            Ok(out)
        })
    }
}
