//! The layered cases: a resource that requires a client certificate (the
//! service), an API key (the application) and a JWT (the user) on one
//! request, bound to one application. Each case is a step for case
//! `layered::<name>`: a combination of one choice per layer and the verdict
//! a conforming target gives ([`checks::COMBOS`]), or the header order.
//!
//! A refusal is a TLS alert (for the certificate layer) or 400/401/403/429;
//! where a single layer was broken and the others were valid, the refusal
//! must not name a layer that passed: telling a caller that its certificate
//! and key were fine tells a thief which stolen credentials still work.

mod checks;
pub mod profile;

pub use profile::{LayeredOther, LayeredTarget};
use std::sync::Arc;

use authbench_scenarios::Case;
use hyper::header::{AUTHORIZATION, HeaderName};
use url::Url;

use super::{
    Configuration, ConfigurationsFuture, Method, MethodSpec, Schedule, Shared, StepFuture,
};
use crate::client::ClientIdentity;
use crate::client::keepalive::Endpoint;
use crate::methods::Target;

use crate::verdict::Verdict;
use checks::{COMBOS, Layered, Material, skip};

/// The one step that is not a combination: the layers' headers in either order.
const ORDER_INDEPENDENT: &str = "order-independent";

/// The layered method in the registry.
pub struct Spec;

impl MethodSpec for Spec {
    fn method(&self) -> Method {
        Method::Layered
    }

    fn present(&self, target: &Target) -> bool {
        target.layered.is_some()
    }

    fn urls<'t>(&self, target: &'t Target) -> Vec<&'t Url> {
        target.layered.iter().map(|l| &l.url).collect()
    }

    fn secrets(&self, target: &Target) -> Vec<String> {
        target
            .layered
            .iter()
            .flat_map(|l| {
                let mut out = vec![l.api_key.key.clone()];
                out.extend(l.api_key.revoked_key.clone());
                out.extend(l.jwt.token.clone());
                out.extend(l.other.iter().map(|o| o.key.clone()));
                out.extend(l.other.iter().filter_map(|o| o.token.clone()));
                out
            })
            .collect()
    }

    fn steps(&self) -> Vec<(&'static str, Schedule)> {
        COMBOS
            .iter()
            .map(|(name, _)| (*name, Schedule::Normal))
            .chain([(ORDER_INDEPENDENT, Schedule::Normal)])
            .collect()
    }

    fn run_step<'a>(
        &self,
        shared: &'a Shared,
        case: &'a Case,
        name: &str,
    ) -> Option<StepFuture<'a>> {
        let combo = COMBOS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c);
        if combo.is_none() && name != ORDER_INDEPENDENT {
            return None;
        }
        Some(Box::pin(async move {
            let Some(t) = shared.forge.target().layered.as_ref() else {
                return Verdict::skip("the target profile has no [layered] section");
            };
            let layered = Layered { shared, t, m: Material::new(t) };
            let outcome = match combo {
                Some(c) => Box::pin(layered.combination(case.severity, c)).await,
                None => Box::pin(layered.order_independent(case.severity)).await,
            };
            outcome.unwrap_or_else(|v| v)
        }))
    }

    /// The layered resource's transport is its mTLS listener's, judged there.
    fn transport(&self) -> bool {
        false
    }

    /// `layered`: the service's certificate on the connection, the
    /// application's key and a user token for it (valid for an hour, so that
    /// a long run does not outlive it) on every request.
    fn configurations<'a>(
        &'a self,
        shared: &'a Shared,
        _tls: &'a Arc<rustls::ClientConfig>,
        resumption: bool,
    ) -> ConfigurationsFuture<'a> {
        Box::pin(async move {
            let Some(l) = &shared.forge.target().layered else { return Ok(Vec::new()) };
            let id = ClientIdentity::from_pem(&l.mtls.client.chain_pem, &l.mtls.client.key_pem)
                .map_err(anyhow::Error::msg)?;
            let tls =
                shared.client.load_config(Some(&id), resumption).map_err(anyhow::Error::msg)?;
            let token = user_token(l, "+1h")
                .map_err(|v| anyhow::anyhow!("layered: {}", v.reason.unwrap_or_default()))?;
            let key_header = l.api_key.header.as_deref().unwrap_or("X-API-Key");
            let headers = vec![
                super::header(HeaderName::from_bytes(key_header.as_bytes())?, &l.api_key.key)?,
                super::header(AUTHORIZATION, &format!("Bearer {token}"))?,
            ];
            Ok(vec![Configuration {
                label: Method::Layered.name().into(),
                endpoint: Endpoint::new(&l.url, headers, &tls),
            }])
        })
    }
}

/// A valid user token for `l`'s application, expiring at `exp` (a relative
/// time: `+1h`): for the overhead and load runs.
pub fn user_token(l: &LayeredTarget, exp: &str) -> Result<String, Verdict> {
    let material = Material::new(l);
    match (l.application.is_some(), &l.jwt.signing_key) {
        (true, Some(_)) => material.mint(|s| {
            s.claims.insert("exp".into(), exp.into());
        }),
        _ => material.jwt.valid_token().map_err(skip),
    }
}
