//! API keys: forging keys (near misses, other placements, revoked), the
//! multi-exchange cases (same answer, timing, entropy, flood, revocation
//! latency), and the measured `api_key` configuration.

mod allowlist;
pub mod forge;
pub mod fuzz;
pub mod profile;
mod steps;

pub use profile::ApiKeyTarget;
use std::sync::Arc;

use authbench_scenarios::case::UrlSelector;
use hyper::header::{AUTHORIZATION, HeaderName};
use url::Url;

use super::forge::{Forge, Skip, missing};
use super::{
    Configuration, ConfigurationsFuture, Method, MethodSpec, Schedule, Shared, Step, StepFn, step,
};
use crate::client::keepalive::Endpoint;
use crate::methods::Target;

/// API keys in the registry.
pub struct Spec;

const STEPS: &[Step<StepFn>] = &[
    step("same-answer-for-every-bad-key", |s, c| Box::pin(steps::api_key_same_answer(s, c))),
    Step {
        name: "near-and-far-misses-take-equal-time",
        run: |s, c| Box::pin(steps::api_key_timing(s, c)),
        schedule: Schedule::Exclusive,
    },
    step("key-entropy", |s, c| Box::pin(std::future::ready(steps::api_key_entropy(s, c)))),
    Step {
        name: "invalid-key-flood-throttled",
        run: |s, c| Box::pin(steps::api_key_flood(s, c)),
        schedule: Schedule::Exclusive,
    },
    Step {
        name: "flood-throttle-ignores-forwarded-for",
        run: |s, c| Box::pin(steps::api_key_flood_forwarded(s, c)),
        schedule: Schedule::Exclusive,
    },
    step("revocation-latency", |s, c| Box::pin(super::revocation::api_key(s, c))),
    step("allowlisted-key-served-from-allowed-source", |s, c| {
        Box::pin(allowlist::served_from_allowed_source(s, c))
    }),
    step("allowlisted-key-refused-from-other-source", |s, c| {
        Box::pin(allowlist::refused_from_other_source(s, c))
    }),
    step("allowlist-ignores-forwarded-for", |s, c| {
        Box::pin(allowlist::ignores_forwarded_for(s, c))
    }),
    step("allowlist-refusal-reveals-nothing", |s, c| {
        Box::pin(allowlist::refusal_reveals_nothing(s, c))
    }),
    step("key-usage-recorded", |s, c| Box::pin(allowlist::usage_recorded(s, c))),
];

impl MethodSpec for Spec {
    fn method(&self) -> Method {
        Method::ApiKey
    }

    fn present(&self, target: &Target) -> bool {
        target.api_key.is_some()
    }

    fn urls<'t>(&self, target: &'t Target) -> Vec<&'t Url> {
        target.api_key.iter().map(|a| &a.url).collect()
    }

    fn secrets(&self, target: &Target) -> Vec<String> {
        target
            .api_key
            .iter()
            .flat_map(|a| {
                [
                    Some(a.key.clone()),
                    a.revoked_key.clone(),
                    a.allowlist.as_ref().map(|l| l.key.clone()),
                ]
            })
            .flatten()
            .collect()
    }

    fn credential_header(&self, target: &Target) -> String {
        target
            .api_key
            .as_ref()
            .and_then(|a| a.header.clone())
            .unwrap_or_else(|| "Authorization".to_owned())
    }

    fn scheme(&self, target: &Target) -> String {
        target.api_key.as_ref().and_then(|a| a.scheme.clone()).unwrap_or_default()
    }

    fn valid_value(&self, forge: &Forge) -> Result<String, Skip> {
        let a = forge.target().api_key.as_ref().ok_or_else(|| missing(Method::ApiKey))?;
        Ok(match &a.scheme {
            Some(scheme) => format!("{scheme} {}", a.key),
            None => a.key.clone(),
        })
    }

    fn revoked(&self, target: &Target) -> Option<String> {
        target.api_key.as_ref().and_then(|a| a.revoked_key.clone())
    }

    fn resolve_url(&self, target: &Target, selector: UrlSelector) -> Result<Url, String> {
        let a = target.api_key.as_ref().ok_or("the profile has no [api_key] section")?;
        match selector {
            UrlSelector::InsufficientScopeUrl => a
                .insufficient_scope_url
                .clone()
                .ok_or_else(|| "the profile's [api_key] has no insufficient_scope_url".to_owned()),
            _ => Ok(a.url.clone()),
        }
    }

    fn table(&self) -> &'static [Step<StepFn>] {
        STEPS
    }

    fn configurations<'a>(
        &'a self,
        shared: &'a Shared,
        tls: &'a Arc<rustls::ClientConfig>,
        _resumption: bool,
    ) -> ConfigurationsFuture<'a> {
        Box::pin(async move {
            let Some(a) = &shared.forge.target().api_key else { return Ok(Vec::new()) };
            let value = self.valid_value(&shared.forge).map_err(|s| anyhow::anyhow!(s.0))?;
            let name = match &a.header {
                Some(h) => HeaderName::from_bytes(h.as_bytes())?,
                None => AUTHORIZATION,
            };
            Ok(vec![Configuration {
                label: Method::ApiKey.name().into(),
                endpoint: Endpoint::new(&a.url, vec![super::header(name, &value)?], tls),
            }])
        })
    }
}
