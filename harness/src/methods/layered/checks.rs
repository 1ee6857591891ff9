//! The layered checks: one choice per layer ([`COMBOS`]), the material of
//! each layer, the request, and the verdict.

use std::sync::Arc;

use crate::methods::mtls::pki::BadCertificate;
use authbench_scenarios::Severity;
use authbench_scenarios::case::{JwtCredential, JwtMutation};

use crate::client::{ClientIdentity, RawRequest, RawResponse, SendError};
use crate::methods::Shared;
use crate::methods::forge::Skip;
use crate::methods::jwt::forge::JwtForge;
use crate::methods::layered::LayeredTarget;
use crate::methods::mtls::{HTTP_REFUSALS, describe_error, is_refusal};
use crate::verdict::{Verdict, observe};

/// The certificate a request presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cert {
    /// The profile's service certificate.
    Valid,
    /// None.
    Missing,
    /// A self-signed copy of the valid one.
    SelfSigned,
    /// The profile's revoked certificate.
    Revoked,
    /// Issued by the trusted client CA to a service the target does not know.
    UnknownService,
    /// The other service's certificate (`[layered.other]`).
    Other,
}

/// The API key a request presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Key {
    Valid,
    Missing,
    /// A random key of the valid one's shape.
    Unknown,
    Revoked,
    /// The other application's key.
    Other,
}

/// The user token a request presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token {
    /// Minted for the application (`client_id`).
    Valid,
    Missing,
    Expired,
    BadSignature,
    WrongAudience,
    AlgNone,
    /// Minted for the other application.
    ForOther,
    /// Valid, but naming no application (`client_id` and `azp` removed).
    NoApplication,
    /// `client_id` names the application, `azp` the other one.
    TwoApplications,
}

/// The verdict a conforming target gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    Served,
    Refused,
}

/// One case: a choice per layer and the verdict.
#[derive(Debug, Clone, Copy)]
pub(super) struct Combo {
    cert: Cert,
    key: Key,
    token: Token,
    expect: Expect,
}

pub(super) const fn combo(cert: Cert, key: Key, token: Token, expect: Expect) -> Combo {
    Combo { cert, key, token, expect }
}

use Expect::{Refused, Served};

/// The combinations, by step name (without `layered-`).
pub(super) const COMBOS: &[(&str, Combo)] = &[
    ("all-layers-valid", combo(Cert::Valid, Key::Valid, Token::Valid, Served)),
    ("other-set-valid", combo(Cert::Other, Key::Other, Token::ForOther, Served)),
    // One layer broken, the other two valid.
    ("no-certificate", combo(Cert::Missing, Key::Valid, Token::Valid, Refused)),
    ("self-signed-certificate", combo(Cert::SelfSigned, Key::Valid, Token::Valid, Refused)),
    ("revoked-certificate", combo(Cert::Revoked, Key::Valid, Token::Valid, Refused)),
    ("unknown-service", combo(Cert::UnknownService, Key::Valid, Token::Valid, Refused)),
    ("no-api-key", combo(Cert::Valid, Key::Missing, Token::Valid, Refused)),
    ("unknown-api-key", combo(Cert::Valid, Key::Unknown, Token::Valid, Refused)),
    ("revoked-api-key", combo(Cert::Valid, Key::Revoked, Token::Valid, Refused)),
    ("no-token", combo(Cert::Valid, Key::Valid, Token::Missing, Refused)),
    ("expired-token", combo(Cert::Valid, Key::Valid, Token::Expired, Refused)),
    ("token-bad-signature", combo(Cert::Valid, Key::Valid, Token::BadSignature, Refused)),
    ("token-wrong-audience", combo(Cert::Valid, Key::Valid, Token::WrongAudience, Refused)),
    ("token-alg-none", combo(Cert::Valid, Key::Valid, Token::AlgNone, Refused)),
    // Two layers missing.
    ("certificate-only", combo(Cert::Valid, Key::Missing, Token::Missing, Refused)),
    ("no-credentials", combo(Cert::Missing, Key::Missing, Token::Missing, Refused)),
    // Every layer valid on its own, bound to different applications.
    ("api-key-of-other-application", combo(Cert::Valid, Key::Other, Token::Valid, Refused)),
    ("token-for-other-application", combo(Cert::Valid, Key::Valid, Token::ForOther, Refused)),
    ("certificate-of-other-service", combo(Cert::Other, Key::Valid, Token::Valid, Refused)),
    ("token-without-application", combo(Cert::Valid, Key::Valid, Token::NoApplication, Refused)),
    (
        "token-naming-two-applications",
        combo(Cert::Valid, Key::Valid, Token::TwoApplications, Refused),
    ),
];

pub(super) type Outcome = Result<Verdict, Verdict>;

/// The words by which an answer names a layer.
pub(super) const VOCABULARY: [(&str, &[&str]); 3] = [
    ("certificate", &["certificate"]),
    ("API key", &["api key", "api-key", "api_key"]),
    ("token", &["token", "jwt"]),
];

/// The layers (by their `VOCABULARY` name) that `text` names.
pub(super) fn named_layers(text: &str) -> Vec<&'static str> {
    let text = text.to_lowercase();
    VOCABULARY
        .iter()
        .filter(|(_, words)| words.iter().any(|w| text.contains(w)))
        .map(|(layer, _)| *layer)
        .collect()
}

/// What a refusal says: its challenges and its body.
pub(super) fn refusal_text(r: &RawResponse) -> String {
    let mut text = r.header_values("www-authenticate").collect::<Vec<_>>().join(" ");
    text.push(' ');
    text.push_str(&String::from_utf8_lossy(&r.body));
    text
}

impl Combo {
    /// The layers left valid while another is broken; empty when no layer is
    /// broken (the cross-binding cases, where every layer passes on its own).
    pub(super) fn passed_layers(&self) -> Vec<&'static str> {
        let cert_ok = matches!(self.cert, Cert::Valid | Cert::Other);
        let key_ok = matches!(self.key, Key::Valid | Key::Other);
        let token_ok = matches!(
            self.token,
            Token::Valid | Token::ForOther | Token::NoApplication | Token::TwoApplications
        );
        if cert_ok && key_ok && token_ok {
            return Vec::new();
        }
        [(cert_ok, "certificate"), (key_ok, "API key"), (token_ok, "token")]
            .into_iter()
            .filter(|(ok, _)| *ok)
            .map(|(_, name)| name)
            .collect()
    }

    pub(super) fn describe(&self) -> String {
        let cert = match self.cert {
            Cert::Valid => "the service's certificate",
            Cert::Missing => "no certificate",
            Cert::SelfSigned => "a self-signed certificate",
            Cert::Revoked => "a revoked certificate",
            Cert::UnknownService => "a certificate of an unknown service",
            Cert::Other => "the other service's certificate",
        };
        let key = match self.key {
            Key::Valid => "the application's API key",
            Key::Missing => "no API key",
            Key::Unknown => "an unknown API key",
            Key::Revoked => "a revoked API key",
            Key::Other => "the other application's API key",
        };
        let token = match self.token {
            Token::Valid => "a user token for the application",
            Token::Missing => "no token",
            Token::Expired => "an expired token",
            Token::BadSignature => "a token with a bad signature",
            Token::WrongAudience => "a token for another audience",
            Token::AlgNone => "an unsigned alg:none token",
            Token::ForOther => "a user token for the other application",
            Token::NoApplication => "a token naming no application",
            Token::TwoApplications => "a token naming two applications (client_id, azp)",
        };
        format!("{cert}, {key}, {token}")
    }
}

/// The credentials of each layer, valid or spoiled, from the profile.
pub(super) struct Material<'a> {
    pub(super) t: &'a LayeredTarget,
    pub(super) jwt: JwtForge,
}

pub(super) struct Layered<'a> {
    pub(super) shared: &'a Shared,
    pub(super) t: &'a LayeredTarget,
    pub(super) m: Material<'a>,
}

pub(super) fn skip(s: Skip) -> Verdict {
    Verdict::skip(s.0)
}

impl<'a> Material<'a> {
    pub(super) fn new(t: &'a LayeredTarget) -> Self {
        Material { t, jwt: JwtForge::new(t.jwt.clone()) }
    }

    pub(super) fn other(&self) -> Result<&crate::methods::layered::LayeredOther, Verdict> {
        self.t.other.as_ref().ok_or_else(|| {
            Verdict::skip("the profile's [layered] has no [layered.other] (a second valid set)")
        })
    }

    pub(super) fn certificate(&self, cert: Cert) -> Result<Option<Arc<ClientIdentity>>, Verdict> {
        let m = &self.t.mtls;
        Ok(match cert {
            Cert::Valid => Some(crate::methods::mtls::identity(&m.client)?),
            Cert::Missing => None,
            Cert::SelfSigned => Some(crate::methods::mtls::bad_identity(m, BadCertificate::SelfSigned)?),
            Cert::Revoked => {
                let files = m.revoked.as_ref().ok_or_else(|| {
                    Verdict::skip("the profile's [layered.mtls] has no revoked_client_cert_file")
                })?;
                Some(crate::methods::mtls::identity(files)?)
            }
            Cert::UnknownService => Some(crate::methods::mtls::unknown_identity(m).map_err(|v| {
                if v.outcome == authbench_reports::Outcome::Skip {
                    Verdict::skip(
                        "needs the client CA: give [layered.mtls] client_ca_cert_file and client_ca_key_file",
                    )
                } else {
                    v
                }
            })?),
            Cert::Other => Some(crate::methods::mtls::identity(&self.other()?.client)?),
        })
    }

    pub(super) fn key(&self, key: Key) -> Result<Option<String>, Verdict> {
        let a = &self.t.api_key;
        Ok(match key {
            Key::Valid => Some(a.key.clone()),
            Key::Missing => None,
            Key::Unknown => Some(crate::methods::api_key::forge::random_like(&a.key)),
            Key::Revoked => Some(a.revoked_key.clone().ok_or_else(|| {
                Verdict::skip("the profile's [layered.api_key] has no revoked_key")
            })?),
            Key::Other => Some(self.other()?.key.clone()),
        })
    }

    /// The application the service is bound to, for minted tokens.
    pub(super) fn application(&self) -> Result<&str, Verdict> {
        self.t.application.as_deref().ok_or_else(|| {
            Verdict::skip(
                "the profile's [layered] names no `application`, so tokens bound to it cannot be minted",
            )
        })
    }

    pub(super) fn other_application(&self) -> Result<&str, Verdict> {
        self.other()?
            .application
            .as_deref()
            .ok_or_else(|| Verdict::skip("the profile's [layered.other] names no `application`"))
    }

    /// A token minted for the application with `edit` applied to the spec.
    pub(super) fn mint(&self, edit: impl FnOnce(&mut JwtCredential)) -> Result<String, Verdict> {
        let mut spec = JwtCredential {
            scheme: None,
            header: toml::Table::new(),
            claims: toml::Table::new(),
            remove: vec!["azp".to_owned()],
            mutation: None,
        };
        spec.claims.insert("client_id".into(), self.application()?.into());
        edit(&mut spec);
        self.jwt.forge(&spec).map_err(skip)
    }

    pub(super) fn token(&self, token: Token) -> Result<Option<String>, Verdict> {
        let with_mutation = |m: JwtMutation| self.mint(|s| s.mutation = Some(m));
        Ok(match token {
            // Without an application or a key, the profile's token is the valid one.
            Token::Valid => match (self.t.application.is_some(), &self.t.jwt.signing_key) {
                (true, Some(_)) => Some(self.mint(|_| {})?),
                _ => Some(self.jwt.valid_token().map_err(skip)?),
            },
            Token::Missing => None,
            Token::Expired => Some(self.mint(|s| {
                s.claims.insert("exp".into(), "-1h".into());
                s.claims.insert("iat".into(), "-2h".into());
                s.claims.insert("nbf".into(), "-2h".into());
            })?),
            Token::BadSignature => Some(with_mutation(JwtMutation::SignatureFlipped)?),
            Token::WrongAudience => Some(self.mint(|s| {
                s.claims.insert("aud".into(), "https://other-api.authbench.invalid".into());
            })?),
            Token::AlgNone => Some(with_mutation(JwtMutation::AlgNone)?),
            Token::ForOther => match &self.other()?.token {
                Some(token) => Some(token.clone()),
                None => {
                    let other = self.other_application()?.to_owned();
                    Some(self.mint(|s| {
                        s.claims.insert("client_id".into(), other.into());
                    })?)
                }
            },
            Token::NoApplication => Some(self.mint(|s| {
                s.claims.remove("client_id");
                s.remove.push("client_id".to_owned());
            })?),
            Token::TwoApplications => {
                let other = self.other_application()?.to_owned();
                Some(self.mint(|s| {
                    s.remove.clear();
                    s.claims.insert("azp".into(), other.into());
                })?)
            }
        })
    }
}

impl Layered<'_> {
    /// The request of `c`, its headers in `token_first` order.
    pub(super) fn request(&self, c: Combo, token_first: bool) -> Result<RawRequest, Verdict> {
        let m = &self.m;
        let mut request = RawRequest::get(self.t.url.clone()).with_identity(m.certificate(c.cert)?);
        let header = self.t.api_key.header.clone().unwrap_or_else(|| "X-API-Key".to_owned());
        let key = m.key(c.key)?.map(|k| (header, k.into_bytes()));
        let token = m
            .token(c.token)?
            .map(|t| ("Authorization".to_owned(), format!("Bearer {t}").into_bytes()));
        let (first, second) = if token_first { (token, key) } else { (key, token) };
        request.headers.extend(first);
        request.headers.extend(second);
        Ok(request)
    }

    pub(super) async fn send(&self, request: &RawRequest) -> Result<RawResponse, SendError> {
        self.shared.client.send(request).await
    }

    pub(super) async fn combination(&self, sev: Severity, c: Combo) -> Outcome {
        let request = self.request(c, false)?;
        let answer = self.send(&request).await;
        Ok(judge(sev, c, answer))
    }

    /// The same combinations with the key and the token in either order:
    /// the same answer each time.
    pub(super) async fn order_independent(&self, sev: Severity) -> Outcome {
        let probes = [
            combo(Cert::Valid, Key::Valid, Token::Valid, Served),
            combo(Cert::Valid, Key::Valid, Token::Expired, Refused),
            combo(Cert::Valid, Key::Unknown, Token::Valid, Refused),
        ];
        let expected = "the same answer whichever of the key and the token comes first";
        let mut observed = Vec::new();
        for c in probes {
            let mut statuses = Vec::new();
            for token_first in [false, true] {
                let request = self.request(c, token_first)?;
                match self.send(&request).await {
                    Ok(r) if r.status >= 500 => {
                        return Err(Verdict::server_error(expected, observe(&r), r.status));
                    }
                    // The positive control: the valid set must be served, or
                    // two identical refusals prove nothing.
                    Ok(r) if c.expect == Served && !(200..300).contains(&r.status) => {
                        return Err(Verdict::error(
                            expected,
                            format!(
                                "the valid set got {}, so comparing orders proves nothing",
                                r.status
                            ),
                        )
                        .because(crate::verdict::Cause::Shared("error:control".to_owned())));
                    }
                    Ok(r) => statuses.push(r.status.to_string()),
                    Err(e) if is_refusal(&e) => statuses.push(describe_error(&e)),
                    Err(e) => return Err(Verdict::unanswered(expected, &e)),
                }
            }
            let line = format!("{}: {} / {}", c.describe(), statuses[0], statuses[1]);
            if statuses[0] != statuses[1] {
                return Ok(Verdict::unmet(
                    sev,
                    expected.to_owned(),
                    line,
                    "the order changed the verdict",
                ));
            }
            observed.push(line);
        }
        Ok(Verdict::pass(expected.to_owned(), observed.join("; ")))
    }
}

/// Judges the answer to combination `c`.
pub(super) fn judge(sev: Severity, c: Combo, answer: Result<RawResponse, SendError>) -> Verdict {
    let what = c.describe();
    match c.expect {
        Served => {
            let expected = format!("2xx for {what}");
            match answer {
                Ok(r) if (200..300).contains(&r.status) => Verdict::pass(expected, observe(&r)),
                Ok(r) if r.status >= 500 => Verdict::server_error(expected, observe(&r), r.status),
                Ok(r) => Verdict::refused_valid(
                    sev,
                    expected,
                    observe(&r),
                    "a valid, bound set was refused",
                ),
                Err(e) if is_refusal(&e) => Verdict::refused_valid(
                    sev,
                    expected,
                    describe_error(&e),
                    "a valid, bound set was refused at the handshake",
                ),
                Err(e) => Verdict::unanswered(expected, &e),
            }
        }
        Refused => {
            let expected = format!("{what}: a TLS refusal or 400/401/403/429, never the resource");
            match answer {
                Err(e) if is_refusal(&e) => Verdict::pass(expected, describe_error(&e)),
                Err(e) => Verdict::unanswered(expected, &e),
                Ok(r) if (200..300).contains(&r.status) => {
                    Verdict::unmet(sev, expected, observe(&r), "the resource was served")
                }
                Ok(r) if r.status >= 500 => Verdict::server_error(expected, observe(&r), r.status),
                Ok(r) if HTTP_REFUSALS.contains(&r.status) || r.status == 429 => {
                    let passed = c.passed_layers();
                    let named: Vec<_> = named_layers(&refusal_text(&r))
                        .into_iter()
                        .filter(|l| passed.contains(l))
                        .collect();
                    if named.is_empty() {
                        Verdict::pass(expected, observe(&r))
                    } else {
                        Verdict::unmet(
                            Severity::Should,
                            expected,
                            observe(&r),
                            format!(
                                "the refusal names the {}, which passed: it tells a caller which credentials still work",
                                named.join(" and ")
                            ),
                        )
                        // Refused all the same: what leaks is which layers
                        // passed, a disclosure to harden, not a hole.
                        .because(crate::verdict::Cause::Own(
                            authbench_reports::FindingKind::Hardening,
                        ))
                    }
                }
                // Served nothing, with another status (404, 405, a redirect).
                Ok(r) => Verdict::form(
                    expected,
                    observe(&r),
                    &format!("form:status-{}", r.status),
                    "refused, but neither with a TLS alert nor 400/401/403/429",
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn every_combination_is_a_step() {
        use crate::methods::MethodSpec as _;
        let names = super::super::Spec.steps();
        for (name, _) in COMBOS {
            assert!(names.iter().any(|(n, _)| n == name), "{name}");
        }
        assert_eq!(names.len(), COMBOS.len() + 1);
    }

    pub(super) fn response(status: u16, challenge: &str, body: &str) -> RawResponse {
        RawResponse {
            status,
            headers: vec![("www-authenticate".into(), challenge.to_owned())],
            body: body.as_bytes().to_vec(),
            elapsed: std::time::Duration::ZERO,
        }
    }

    #[test]
    pub(super) fn a_refusal_that_names_a_passed_layer_is_a_warning() {
        let c = combo(Cert::Valid, Key::Valid, Token::Expired, Refused);
        let quiet = response(401, "Bearer error=\"invalid_token\"", "{\"error\":\"unauthorized\"}");
        assert_eq!(judge(Severity::Must, c, Ok(quiet)).outcome, authbench_reports::Outcome::Pass);
        let verbose =
            response(401, "Bearer", "certificate accepted; API key accepted; token expired");
        let v = judge(Severity::Must, c, Ok(verbose));
        assert_eq!(v.outcome, authbench_reports::Outcome::Warn, "{v:?}");
        assert!(v.reason.unwrap().contains("certificate and API key"));
        let served = response(200, "", "{}");
        assert_eq!(judge(Severity::Must, c, Ok(served)).outcome, authbench_reports::Outcome::Fail);
        // Cross-binding: every layer passed on its own; naming them is no leak.
        let crossed = combo(Cert::Valid, Key::Other, Token::Valid, Refused);
        let r = response(403, "", "the certificate, API key and token are not bound");
        assert_eq!(judge(Severity::Must, crossed, Ok(r)).outcome, authbench_reports::Outcome::Pass);
        // A server error is no refusal: nothing can be judged (principle 3).
        let e = judge(Severity::Must, c, Ok(response(500, "", "")));
        assert_eq!(e.outcome, authbench_reports::Outcome::Error);
        assert_eq!(e.causes, [crate::verdict::Cause::Shared("error:server-error".into())]);
        // A 404 serves nothing: refused, in another form.
        let f = judge(Severity::Must, c, Ok(response(404, "", "")));
        assert_eq!(f.outcome, authbench_reports::Outcome::Warn, "{f:?}");
        assert_eq!(f.causes, [crate::verdict::Cause::Shared("form:status-404".into())]);
    }
}
