//! OAuth 2.0 against any authorization server: discovery (RFC 8414 and
//! OpenID Connect), PKCE, client authentication, a form-following client for
//! the login and consent pages, token, revocation and introspection requests,
//! DPoP proofs, resource calls. The cases themselves are in [`steps`]; what
//! `overhead` measures, in [`configurations`].

mod client;
mod configurations;
mod discovery;
mod dpop;
pub mod forms;
pub mod fuzz;
pub mod profile;
mod session;
pub mod steps;

pub use profile::{ClientSecret, OAuth2Target, PublicClientTarget, TlsClientAuthTarget};
use std::sync::Arc;

use authbench_scenarios::Case;
use url::Url;

pub use client::*;
pub use discovery::*;
pub use dpop::*;
pub use session::*;

use super::{
    ConfigurationsFuture, Method, MethodSpec, Schedule, Shared, StepFuture, UrlsFuture, names_of,
};
use crate::methods::Target;
use crate::verdict::Verdict;

/// OAuth 2.0 in the registry.
pub struct Spec;

impl MethodSpec for Spec {
    fn method(&self) -> Method {
        Method::OAuth2
    }

    fn present(&self, target: &Target) -> bool {
        target.oauth2.is_some()
    }

    fn urls<'t>(&self, target: &'t Target) -> Vec<&'t Url> {
        target.oauth2.iter().flat_map(|o| [&o.issuer, &o.resource_url]).collect()
    }

    fn secrets(&self, target: &Target) -> Vec<String> {
        target
            .oauth2
            .iter()
            .flat_map(|o| {
                let clients = [&o.opaque_client, &o.other_client];
                let mut out: Vec<String> = o.client_secret.iter().cloned().collect();
                out.extend(clients.into_iter().flatten().map(|c| c.client_secret.clone()));
                out.extend(o.login.iter().flatten().map(|(_, v)| v.clone()));
                out
            })
            .collect()
    }

    fn steps(&self) -> Vec<(&'static str, Schedule)> {
        names_of(steps::STEPS)
    }

    fn run_step<'a>(
        &self,
        shared: &'a Shared,
        case: &'a Case,
        name: &str,
    ) -> Option<StepFuture<'a>> {
        steps::run(shared, case, name)
    }

    /// The resource, the issuer and every endpoint the metadata names.
    fn transport_urls<'a>(&'a self, shared: &'a Shared) -> UrlsFuture<'a> {
        Box::pin(async move {
            let mut urls = super::transport::profile_urls(shared, Method::OAuth2);
            let session = Session::open(shared).await.map_err(Verdict::from)?;
            urls.extend(session.meta.endpoints());
            Ok(urls)
        })
    }

    fn configurations<'a>(
        &'a self,
        shared: &'a Shared,
        tls: &'a Arc<rustls::ClientConfig>,
        _resumption: bool,
    ) -> ConfigurationsFuture<'a> {
        Box::pin(configurations::configurations(shared, tls))
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;
    use crate::client::RawRequest;

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
