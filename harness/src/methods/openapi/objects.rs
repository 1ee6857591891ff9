//! Other identities: object-level authorization (OWASP API1:2023), another
//! identity's objects (its `owns` values in the path) refused to the
//! profile's credentials and the profile's refused to it, once each identity
//! is shown to get its own; and function-level authorization (OWASP
//! API5:2023), an identity without the scopes an operation needs refused.

use std::collections::BTreeMap;

use url::Url;

use super::bind::{Presented, Raw, jwt_forge_for, mint, place};
use super::checks::{Ctx, operation_url};
use super::profile::{Binding, Identity, IdentityCredential};
use crate::methods::Method;
use crate::openapi::plan::fill_with;
use crate::verdict::{Cause, Verdict, is_served, observe};

impl Ctx<'_> {
    /// `identity`'s credentials for a requirement of this operation that
    /// names a scheme its credential answers (the requirement's other
    /// schemes with the profile's), at `url`.
    pub(super) async fn as_identity(
        &self,
        identity: &Identity,
        url: &Url,
    ) -> Result<Presented, Verdict> {
        let section = identity.credential.section();
        let answers = |b: Binding| match b {
            Binding::Section(m) if m == section => true,
            // A token given as is may be the authorization server's; one
            // minted with [jwt]'s key is not.
            Binding::Section(Method::OAuth2) => {
                matches!(identity.credential, IdentityCredential::Token(_))
            }
            _ => false,
        };
        for (i, r) in self.api.document.requirements(self.op).iter().enumerate() {
            let Some((scheme, scopes)) = r.0.iter().find(|(s, _)| answers(self.binding(s))) else {
                continue;
            };
            let raw = match &identity.credential {
                IdentityCredential::Jwt { subject } => {
                    let forge = jwt_forge_for(self.shared, url)?;
                    let claims = [("sub".to_owned(), toml::Value::String(subject.clone()))];
                    let spec = authbench_scenarios::case::JwtCredential {
                        claims: claims.into_iter().collect(),
                        ..Default::default()
                    };
                    // The identity's own scopes when declared, else the requirement's.
                    let chosen = identity
                        .scopes
                        .as_deref()
                        .or((!scopes.is_empty()).then_some(scopes.as_slice()));
                    Raw::Token(mint(forge, chosen, spec)?)
                }
                IdentityCredential::Token(t) | IdentityCredential::ApiKey(t) => {
                    Raw::Token(t.clone())
                }
                IdentityCredential::Basic(u, p) => Raw::Basic(u.clone(), p.clone()),
            };
            let definition = self.api.document.scheme(scheme).expect("named");
            let others = self.requirement(i, Some(scheme)).await?;
            return Ok(others.with(place(definition, &raw, None)?));
        }
        Err(Verdict::skip(format!(
            "identity `{}` has no credential for a scheme of this operation",
            identity.name
        )))
    }

    /// Identity `name` and the profile's parameter values.
    fn identity(&self, name: &str) -> Result<(&Identity, &BTreeMap<String, String>), Verdict> {
        let section = self.shared.forge.target().openapi.as_ref();
        section
            .and_then(|s| s.identities.iter().find(|i| i.name == name).map(|i| (i, &s.parameters)))
            .ok_or_else(|| Verdict::error("", format!("no identity `{name}` in [openapi]")))
    }

    /// Function-level authorization: the identity, holding none of the
    /// scopes some requirement would need in full, is refused.
    pub(super) async fn function_of(&self, name: &str) -> Verdict {
        let identity = match self.identity(name) {
            Ok((i, _)) => i,
            Err(v) => return v,
        };
        let held = identity.scopes.as_deref().unwrap_or_default().join(" ");
        match self.as_identity(identity, &self.url).await {
            Ok(p) => {
                let what = format!("`{name}`'s credentials (scopes `{held}`)");
                self.refused(&p, &self.op.method, &self.url, &what).await
            }
            Err(v) => v,
        }
    }

    pub(super) async fn objects_of(&self, name: &str, chosen: usize) -> Verdict {
        let (identity, parameters) = match self.identity(name) {
            Ok(x) => x,
            Err(v) => return v,
        };
        let Some(theirs) = fill_with(self.op, &identity.owns, parameters)
            .map(|path| operation_url(self.api, self.op, &path))
        else {
            return Verdict::skip(format!("a path parameter has no value for `{name}`"));
        };
        let theirs = match theirs {
            Ok(u) => u,
            Err(v) => return v,
        };
        if theirs == self.url {
            return Verdict::skip(format!(
                "`{name}`'s object is the profile's own here: give [openapi] parameters another"
            ));
        }
        let built = async {
            let them = self.as_identity(identity, &theirs).await?;
            let us = self.requirement(chosen, None).await?;
            Ok::<_, Verdict>((them, us))
        };
        let (them, us) = match built.await {
            Ok(x) => x,
            Err(v) => return v,
        };
        // Their control: `name` gets its own object, so a refusal of ours proves something.
        let expected = format!("`{name}`'s credentials served `{name}`'s object");
        match self.send(&them, &self.op.method, &theirs).await {
            Ok(r) if is_served(r.status) => {}
            Ok(r) => {
                return Verdict::error(
                    expected,
                    format!("`{name}`'s credentials got {} at its own object {theirs}: give it credentials and owns values that work", observe(&r)),
                )
                .because(Cause::Shared("error:control".to_owned()));
            }
            Err(e) => return Verdict::unanswered(expected, &e),
        }
        let ours_to_them = self
            .refused(
                &us,
                &self.op.method,
                &theirs,
                &format!("the profile's credentials on `{name}`'s object"),
            )
            .await;
        let them_to_ours = self
            .refused(
                &them,
                &self.op.method,
                &self.url,
                &format!("`{name}`'s credentials on the profile's object"),
            )
            .await;
        // The worse of the two, by outcome.
        let rank = |v: &Verdict| match v.outcome {
            authbench_reports::Outcome::Fail => 3,
            authbench_reports::Outcome::Error => 2,
            authbench_reports::Outcome::Warn => 1,
            _ => 0,
        };
        let observed = format!("{}; {}", ours_to_them.observed, them_to_ours.observed);
        let mut worst =
            if rank(&them_to_ours) > rank(&ours_to_them) { them_to_ours } else { ours_to_them };
        worst.expected =
            format!("each identity refused the other's object ({name} and the profile)");
        worst.observed = observed;
        worst
    }
}
