//! HTTP Basic (RFC 7617): forging user-pass credentials, the multi-exchange
//! cases, and the measured configurations (`basic`, and `basic-cached` where
//! the profile names a cached resource).

pub mod forge;
pub mod fuzz;
pub mod profile;
mod steps;

pub use profile::BasicTarget;
use std::sync::Arc;

use authbench_scenarios::case::UrlSelector;
use hyper::header::AUTHORIZATION;
use url::Url;

use super::forge::{Forge, Skip, missing};
use super::{Configuration, ConfigurationsFuture, Method, MethodSpec, Shared, Step, StepFn, step};
use crate::client::keepalive::Endpoint;
use crate::methods::Target;

/// Basic in the registry.
pub struct Spec;

const STEPS: &[Step<StepFn>] = &[
    step("colon-and-utf8-password", |s, c| Box::pin(steps::basic_colon_and_utf8(s, c))),
    step("unknown-user-same-answer", |s, c| Box::pin(steps::basic_same_answer(s, c))),
    step("throttled-after-failures", |s, c| Box::pin(steps::basic_throttle(s, c))),
];

impl MethodSpec for Spec {
    fn method(&self) -> Method {
        Method::Basic
    }

    fn present(&self, target: &Target) -> bool {
        target.basic.is_some()
    }

    fn urls<'t>(&self, target: &'t Target) -> Vec<&'t Url> {
        target.basic.iter().map(|b| &b.url).collect()
    }

    fn secrets(&self, target: &Target) -> Vec<String> {
        target.basic.iter().map(|b| b.password.clone()).collect()
    }

    fn scheme(&self, _target: &Target) -> String {
        "Basic".to_owned()
    }

    fn valid_value(&self, forge: &Forge) -> Result<String, Skip> {
        let b = forge.target().basic.as_ref().ok_or_else(|| missing(Method::Basic))?;
        Ok(forge::header_value("Basic", &b.username, &b.password))
    }

    fn resolve_url(&self, target: &Target, selector: UrlSelector) -> Result<Url, String> {
        let b = target.basic.as_ref().ok_or("the profile has no [basic] section")?;
        match selector {
            UrlSelector::InsufficientScopeUrl => {
                Err("Basic credentials carry no scopes".to_owned())
            }
            _ => Ok(b.url.clone()),
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
            let Some(b) = &shared.forge.target().basic else { return Ok(Vec::new()) };
            let value = self.valid_value(&shared.forge).map_err(|s| anyhow::anyhow!(s.0))?;
            let header = super::header(AUTHORIZATION, &value)?;
            let mut out = vec![Configuration {
                label: "basic".into(),
                endpoint: Endpoint::new(&b.url, vec![header.clone()], tls),
            }];
            if let Some(cached) = &b.cached_url {
                out.push(Configuration {
                    label: "basic-cached".into(),
                    endpoint: Endpoint::new(cached, vec![header], tls),
                });
            }
            Ok(out)
        })
    }
}
