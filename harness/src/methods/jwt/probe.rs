//! Sending tokens a case builds itself: the resource's valid request (after
//! its positive control, so that a refusal means something) as a template
//! whose Bearer token each probe replaces.

use crate::client::{RawRequest, RawResponse};
use crate::methods::{Method, Shared, request_for};
use crate::verdict::Verdict;
use authbench_scenarios::case::{Credential, UrlSelector};

/// The template of one resource.
pub(super) struct BearerProbe {
    template: RawRequest,
    at: usize,
}

impl BearerProbe {
    /// The valid request of the resource of `algorithm` (the main one when
    /// `None`), once its valid token is served; else the verdict to return.
    pub(super) async fn new(
        shared: &Shared,
        algorithm: Option<&str>,
        expected: &str,
    ) -> Result<Self, Verdict> {
        if let Err(why) = shared.control(Method::Jwt, algorithm).await {
            return Err(Verdict::error(expected, format!("the positive control failed: {why}")));
        }
        let (template, _) = request_for(
            shared,
            Method::Jwt,
            &Credential::Valid,
            algorithm,
            UrlSelector::Url,
            None,
        )?;
        let at =
            template.headers.iter().position(|(_, v)| v.starts_with(b"Bearer ")).ok_or_else(
                || Verdict::error(expected, "the valid token is not in a Bearer header"),
            )?;
        Ok(BearerProbe { template, at })
    }

    /// The answer to the template with `token` as its Bearer token.
    pub(super) async fn send(
        &self,
        shared: &Shared,
        token: &str,
        expected: &str,
    ) -> Result<RawResponse, Verdict> {
        let mut request = self.template.clone();
        request.headers[self.at].1 = format!("Bearer {token}").into_bytes();
        shared.client.send(&request).await.map_err(|e| Verdict::unanswered(expected, &e))
    }
}
