//! The OAuth 2.0 cases: each a step for case `oauth2::<name>`, named once in
//! [`STEPS`]. Every case starts its own grant, so cases are independent and
//! run concurrently; none prints a code or token (reports show statuses and
//! error codes only). The steps are split by area: [`authorization`],
//! [`code`] (and PKCE), [`token`], [`refresh`], [`revocation`] (and
//! introspection), [`resource`] and [`dpop`].

mod assertion;
mod authorization;
mod code;
mod dpop;
mod fetch;
mod grant;
mod jar;
mod login;
mod pages;
mod par;
mod public;
mod redirector;
mod refresh;
mod resource;
mod revocation;
mod token;

use std::future::Future;
use std::pin::Pin;

use authbench_scenarios::{Case, Severity};
use serde_json::Value;
use url::Url;

use super::{
    Authorized, ClientAuth, DpopKey, Metadata, Pkce, ProofFlaw, Session, Tokens, dpop_tokens,
};
use crate::client::{RawRequest, RawResponse};
use crate::methods::{Schedule, Shared, Step, step};
use crate::verdict::{Verdict, is_served, observe, parse_challenges};
use authorization::*;
use code::*;
use dpop::*;
use grant::*;
use login::*;
use pages::*;
use par::*;
use public::*;
use redirector::*;
use refresh::*;
use resource::*;
use revocation::*;
use token::*;

type Outcome = Result<Verdict, Verdict>;

use crate::methods::jwks::Audit;

/// The audit of the key set the metadata's `jwks_uri` names.
async fn jwks(s: &Session<'_>, sev: Severity, audit: Audit) -> Outcome {
    let Some(url) = s.meta.raw.get("jwks_uri").and_then(Value::as_str) else {
        return Err(Verdict::skip("the metadata has no jwks_uri"));
    };
    let url = Url::parse(url)
        .map_err(|e| Verdict::error("a jwks_uri URL", format!("jwks_uri `{url}`: {e}")))?;
    Ok(crate::methods::jwks::judge(s.shared, &url, audit, sev).await)
}
type OutcomeFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// An OAuth step: the session (metadata, client, grants) and the case's severity.
pub type OAuthStep = for<'a> fn(&'a Session<'a>, Severity) -> OutcomeFuture<'a>;

/// The OAuth steps, by the name in their case's id.
pub const STEPS: &[Step<OAuthStep>] = &[
    step("metadata", |s, sev| Box::pin(std::future::ready(metadata(s, sev)))),
    step("metadata-pkce-s256", |s, sev| Box::pin(std::future::ready(metadata_pkce(s, sev)))),
    step("metadata-no-implicit-or-password", |s, sev| {
        Box::pin(std::future::ready(metadata_no_implicit(s, sev)))
    }),
    step("redirect-uri-unregistered", |s, sev| {
        Box::pin(redirect_variant(s, sev, |_| {
            "https://attacker.authbench.invalid/callback".to_owned()
        }))
    }),
    step("redirect-uri-path-suffix", |s, sev| {
        Box::pin(redirect_variant(s, sev, |r| format!("{r}/evil")))
    }),
    step("redirect-uri-query-added", |s, sev| {
        Box::pin(redirect_variant(s, sev, |r| {
            let sep = if r.contains('?') { '&' } else { '?' };
            format!("{r}{sep}next=https://attacker.authbench.invalid")
        }))
    }),
    step("redirect-uri-dot-segments", |s, sev| {
        Box::pin(redirect_variant(s, sev, |r| format!("{r}/../../evil")))
    }),
    step("redirect-uri-encoded-slash", |s, sev| {
        Box::pin(redirect_variant(s, sev, |r| format!("{r}%2F..%2Fevil")))
    }),
    step("redirect-uri-case-changed", |s, sev| {
        Box::pin(redirect_variant(s, sev, |r| match Url::parse(r) {
            Ok(mut u) => {
                let upper = u.path().to_ascii_uppercase();
                u.set_path(&upper);
                u.to_string()
            }
            Err(_) => r.to_ascii_uppercase(),
        }))
    }),
    step("redirect-uri-fragment", |s, sev| {
        Box::pin(redirect_variant(s, sev, |r| format!("{r}#frag")))
    }),
    step("redirect-uri-code-pollution", |s, sev| {
        Box::pin(redirect_variant(s, sev, |r| {
            let sep = if r.contains('?') { '&' } else { '?' };
            format!("{r}{sep}code=authbench-planted-code")
        }))
    }),
    step("redirect-uri-double-encoded", |s, sev| {
        Box::pin(redirect_variant(s, sev, |r| format!("{r}%252F..%252Fevil")))
    }),
    step("redirect-uri-semicolon", |s, sev| {
        Box::pin(redirect_variant(s, sev, |r| format!("{r};evil")))
    }),
    step("redirect-uri-http", |s, sev| Box::pin(redirect_uri_http(s, sev))),
    step("redirect-uri-mismatch-at-token", |s, sev| Box::pin(redirect_mismatch_at_token(s, sev))),
    step("state-echoed", |s, sev| Box::pin(state_echoed(s, sev))),
    step("iss-in-response", |s, sev| Box::pin(iss_in_response(s, sev))),
    step("duplicate-authorization-parameter", |s, sev| {
        Box::pin(duplicate_authorization_parameter(s, sev))
    }),
    step("unknown-parameter-ignored", |s, sev| Box::pin(unknown_parameter_ignored(s, sev))),
    step("response-type-token-refused", |s, sev| Box::pin(response_type_token(s, sev))),
    step("response-type-unknown-refused", |s, sev| Box::pin(response_type_unknown(s, sev))),
    step("unknown-client-no-redirect", |s, sev| Box::pin(unknown_client_no_redirect(s, sev))),
    step("error-redirect-after-login", |s, sev| Box::pin(error_redirect_after_login(s, sev))),
    step("login-redirect-not-307", |s, sev| Box::pin(login_redirect_not_307(s, sev))),
    step("login-redirect-303", |s, sev| Box::pin(login_redirect_303(s, sev))),
    step("public-client-refresh-protected", |s, sev| {
        Box::pin(public_client_refresh_protected(s, sev))
    }),
    step("redirect-uri-loopback-any-port", |s, sev| Box::pin(loopback_any_port(s, sev))),
    step("public-client-id-required", |s, sev| Box::pin(public_client_id_required(s, sev))),
    step("refresh-other-resource-refused", |s, sev| Box::pin(refresh_other_resource(s, sev))),
    step("refresh-token-tampered", |s, sev| Box::pin(refresh_token_tampered(s, sev))),
    step("no-open-redirector", |s, sev| Box::pin(no_open_redirector(s, sev))),
    step("jwks-no-secret-keys", |s, sev| Box::pin(jwks(s, sev, Audit::Secrets))),
    step("jwks-keys-well-formed", |s, sev| Box::pin(jwks(s, sev, Audit::Form))),
    step("jwks-key-strength", |s, sev| Box::pin(jwks(s, sev, Audit::Strength))),
    step("jwks-unique-kids", |s, sev| Box::pin(jwks(s, sev, Audit::UniqueKids))),
    step("client-and-user-tokens-distinguishable", |s, sev| {
        Box::pin(client_and_user_tokens(s, sev))
    }),
    step("authorization-endpoint-no-cors", |s, sev| Box::pin(authorization_no_cors(s, sev))),
    step("forwarded-host-ignored", |s, sev| Box::pin(forwarded_host_ignored(s, sev))),
    step("authorization-page-anti-framing", |s, sev| Box::pin(page_anti_framing(s, sev))),
    step("authorization-page-referrer-policy", |s, sev| Box::pin(page_referrer_policy(s, sev))),
    step("code-flow", |s, sev| Box::pin(code_flow(s, sev))),
    step("par-flow", |s, sev| Box::pin(par_flow(s, sev))),
    step("jar-request-object", |s, sev| Box::pin(jar::jar_request_object(s, sev))),
    step("jar-wrong-key", |s, sev| Box::pin(jar::jar_wrong_key(s, sev))),
    step("jar-alg-none", |s, sev| Box::pin(jar::jar_alg_none(s, sev))),
    step("jar-client-id-mismatch", |s, sev| Box::pin(jar::jar_client_id_mismatch(s, sev))),
    step("jar-query-parameters-ignored", |s, sev| Box::pin(jar::jar_query_ignored(s, sev))),
    step("jar-required-as-advertised", |s, sev| Box::pin(jar::jar_required_as_advertised(s, sev))),
    step("par-requires-client-auth", |s, sev| Box::pin(par_requires_client_auth(s, sev))),
    step("par-request-uri-bound-to-client", |s, sev| Box::pin(par_bound_to_client(s, sev))),
    step("par-request-uri-one-time", |s, sev| Box::pin(par_one_time(s, sev))),
    step("par-request-uri-entropy", |s, sev| Box::pin(par_request_uri_entropy(s, sev))),
    step("par-required-as-advertised", |s, sev| Box::pin(par_required_as_advertised(s, sev))),
    step("request-uri-not-fetched", |s, sev| Box::pin(fetch::request_uri_not_fetched(s, sev))),
    Step {
        name: "par-request-uri-expires",
        run: |s, sev| Box::pin(par_request_uri_expires(s, sev)),
        schedule: Schedule::Waiting,
    },
    step("code-reuse", |s, sev| Box::pin(code_reuse(s, sev))),
    step("code-reuse-revokes-tokens", |s, sev| Box::pin(code_reuse_revokes(s, sev, false))),
    step("code-reuse-after-use", |s, sev| Box::pin(code_reuse_revokes(s, sev, true))),
    step("code-reuse-revokes-refresh-token", |s, sev| Box::pin(code_reuse_revokes_refresh(s, sev))),
    step("code-race", |s, sev| Box::pin(code_race(s, sev))),
    Step {
        name: "code-expired",
        run: |s, sev| Box::pin(code_expired(s, sev)),
        schedule: Schedule::Waiting,
    },
    step("code-other-client", |s, sev| Box::pin(code_other_client(s, sev))),
    step("code-entropy", |s, sev| Box::pin(code_entropy(s, sev))),
    step("pkce-required", |s, sev| Box::pin(pkce_required(s, sev))),
    step("pkce-wrong-verifier", |s, sev| {
        Box::pin(pkce_at_token(s, sev, |_| Some(Pkce::new().verifier)))
    }),
    step("pkce-verifier-omitted", |s, sev| Box::pin(pkce_at_token(s, sev, |_| None))),
    step("pkce-downgrade", |s, sev| Box::pin(pkce_downgrade(s, sev))),
    step("pkce-challenge-as-verifier", |s, sev| Box::pin(pkce_challenge_as_verifier(s, sev))),
    step("code-exchange-without-client-auth", |s, sev| {
        Box::pin(code_exchange_without_client_auth(s, sev))
    }),
    step("access-token-entropy", |s, sev| Box::pin(access_token_entropy(s, sev))),
    step("client-secret-entropy", |s, sev| Box::pin(client_secret_entropy(s, sev))),
    step("rs-token-alg-none", |s, sev| Box::pin(rs_token_spoiled(s, sev, Spoil::AlgNone))),
    step("rs-token-payload-tampered", |s, sev| {
        Box::pin(rs_token_spoiled(s, sev, Spoil::PayloadTampered))
    }),
    step("revoke-refresh-without-client-auth", |s, sev| {
        Box::pin(refresh_survives(
            s,
            sev,
            ClientAuth::None,
            "a caller without client authentication",
        ))
    }),
    step("revoke-other-clients-refresh-token", |s, sev| {
        Box::pin(async move {
            let other = s.other_client_auth()?;
            refresh_survives(s, sev, other, "another client").await
        })
    }),
    step("private-key-jwt", |s, sev| Box::pin(assertion::private_key_jwt(s, sev))),
    step("private-key-jwt-wrong-key", |s, sev| Box::pin(assertion::wrong_key(s, sev))),
    step("private-key-jwt-alg-none", |s, sev| Box::pin(assertion::alg_none(s, sev))),
    step("private-key-jwt-expired", |s, sev| Box::pin(assertion::expired(s, sev))),
    step("private-key-jwt-nbf-in-future", |s, sev| Box::pin(assertion::nbf_future(s, sev))),
    step("private-key-jwt-wrong-audience", |s, sev| Box::pin(assertion::wrong_audience(s, sev))),
    step("private-key-jwt-claims-missing", |s, sev| Box::pin(assertion::claims_missing(s, sev))),
    step("private-key-jwt-old-iat", |s, sev| Box::pin(assertion::old_iat(s, sev))),
    step("private-key-jwt-replayed", |s, sev| Box::pin(assertion::replayed(s, sev))),
    step("private-key-jwt-key-urls-not-fetched", |s, sev| {
        Box::pin(assertion::key_urls_not_fetched(s, sev))
    }),
    step("pkce-plain-refused", |s, sev| Box::pin(pkce_plain(s, sev))),
    step("pkce-unknown-method", |s, sev| Box::pin(pkce_unknown_method(s, sev))),
    step("pkce-verifier-too-short", |s, sev| {
        Box::pin(pkce_bad_verifier(
            s,
            sev,
            crate::methods::forge::random_string(super::PKCE_CHARS, 42),
        ))
    }),
    step("pkce-verifier-too-long", |s, sev| {
        Box::pin(pkce_bad_verifier(
            s,
            sev,
            crate::methods::forge::random_string(super::PKCE_CHARS, 129),
        ))
    }),
    step("pkce-verifier-bad-characters", |s, sev| {
        let v = format!(
            "{}+/ {}",
            crate::methods::forge::random_string(crate::methods::forge::ALNUM, 30),
            "x".repeat(20)
        );
        Box::pin(pkce_bad_verifier(s, sev, v))
    }),
    step("token-get-refused", |s, sev| Box::pin(token_get(s, sev))),
    step("token-unknown-parameter-ignored", |s, sev| Box::pin(token_unknown_parameter(s, sev))),
    step("client-credentials-no-refresh-token", |s, sev| {
        Box::pin(client_credentials_no_refresh(s, sev))
    }),
    step("access-token-lifetime", |s, sev| Box::pin(access_token_lifetime(s, sev))),
    step("client-secret-in-query", |s, sev| Box::pin(client_secret_in_query(s, sev))),
    step("client-auth-wrong-secret", |s, sev| {
        Box::pin(client_auth_bad(s, sev, BadAuth::WrongSecret))
    }),
    step("client-auth-unknown-client", |s, sev| {
        Box::pin(client_auth_bad(s, sev, BadAuth::UnknownClient))
    }),
    step("client-auth-post-wrong-secret", |s, sev| {
        Box::pin(client_auth_bad(s, sev, BadAuth::PostWrongSecret))
    }),
    step("client-auth-two-methods", |s, sev| {
        Box::pin(client_auth_bad(s, sev, BadAuth::TwoMethods))
    }),
    step("client-auth-missing", |s, sev| Box::pin(client_auth_bad(s, sev, BadAuth::Missing))),
    step("token-error-shape", |s, sev| Box::pin(token_error_shape(s, sev))),
    step("token-response-no-store", |s, sev| {
        Box::pin(token_response_header(s, sev, "cache-control", "no-store"))
    }),
    step("token-response-pragma", |s, sev| {
        Box::pin(token_response_header(s, sev, "pragma", "no-cache"))
    }),
    step("token-response-shape", |s, sev| Box::pin(token_response_shape(s, sev))),
    step("grant-password-refused", |s, sev| Box::pin(grant_password(s, sev))),
    step("grant-unsupported", |s, sev| {
        Box::pin(token_error(
            s,
            sev,
            &[("grant_type", "urn:authbench:no-such-grant")],
            &["unsupported_grant_type"],
        ))
    }),
    step("grant-type-missing", |s, sev| {
        Box::pin(token_error(s, sev, &[("scope", "read")], &["invalid_request"]))
    }),
    step("duplicate-token-parameter", |s, sev| {
        Box::pin(token_error(
            s,
            sev,
            &[("grant_type", "client_credentials"), ("grant_type", "client_credentials")],
            &["invalid_request"],
        ))
    }),
    step("client-credentials", |s, sev| Box::pin(client_credentials(s, sev))),
    step("refresh", |s, sev| Box::pin(refresh(s, sev))),
    step("refresh-rotation", |s, sev| Box::pin(refresh_rotation(s, sev))),
    step("refresh-reuse-revokes-family", |s, sev| Box::pin(refresh_reuse(s, sev))),
    step("refresh-race", |s, sev| Box::pin(refresh_race(s, sev))),
    step("refresh-other-client", |s, sev| Box::pin(refresh_other_client(s, sev))),
    step("refresh-without-client-auth", |s, sev| Box::pin(refresh_without_auth(s, sev))),
    step("refresh-wider-scope", |s, sev| Box::pin(refresh_wider_scope(s, sev))),
    step("refresh-invalid", |s, sev| {
        Box::pin(token_error(
            s,
            sev,
            &[("grant_type", "refresh_token"), ("refresh_token", "authbench-not-a-token")],
            &["invalid_grant"],
        ))
    }),
    step("refresh-token-entropy", |s, sev| Box::pin(refresh_entropy(s, sev))),
    step("revoke-access-token", |s, sev| Box::pin(revoke_access(s, sev))),
    step("revoke-refresh-token", |s, sev| Box::pin(revoke_refresh(s, sev, false))),
    step("revoke-refresh-kills-access", |s, sev| Box::pin(revoke_refresh(s, sev, true))),
    step("revoke-garbage", |s, sev| Box::pin(revoke_garbage(s, sev))),
    step("revoke-without-client-auth", |s, sev| Box::pin(revoke_without_auth(s, sev))),
    step("revoke-other-clients-token", |s, sev| Box::pin(revoke_other_client(s, sev))),
    step("revocation-latency", |s, sev| Box::pin(revocation_latency(s, sev))),
    step("introspect-without-auth", |s, sev| Box::pin(introspect_without_auth(s, sev))),
    step("introspect-active", |s, sev| Box::pin(introspect_active(s, sev))),
    step("introspect-unknown", |s, sev| Box::pin(introspect_inactive(s, sev, false))),
    step("introspect-revoked", |s, sev| Box::pin(introspect_inactive(s, sev, true))),
    step("rs-valid-token", |s, sev| Box::pin(rs_valid(s, sev))),
    step("rs-no-token", |s, sev| Box::pin(rs_no_token(s, sev))),
    step("rs-invalid-token", |s, sev| Box::pin(rs_invalid(s, sev))),
    step("rs-token-in-query", |s, sev| Box::pin(rs_in_query(s, sev))),
    step("rs-query-token-not-cached", |s, sev| Box::pin(rs_query_token_not_cached(s, sev))),
    step("rs-header-and-body", |s, sev| Box::pin(rs_header_and_body(s, sev))),
    step("rs-bearer-lowercase", |s, sev| Box::pin(rs_lowercase(s, sev))),
    step("rs-insufficient-scope", |s, sev| Box::pin(rs_insufficient_scope(s, sev))),
    step("rs-other-audience", |s, sev| Box::pin(rs_other_audience(s, sev))),
    step("rs-refresh-token-as-access-token", |s, sev| Box::pin(rs_refresh_as_access(s, sev))),
    step("rs-opaque-token", |s, sev| Box::pin(rs_opaque(s, sev))),
    step("replay-window", |s, sev| Box::pin(replay_window(s, sev))),
    step("dpop-bound-token", |s, sev| Box::pin(dpop_bound(s, sev))),
    step("dpop-token-as-bearer", |s, sev| Box::pin(dpop_misuse(s, sev, DpopMisuse::AsBearer))),
    step("dpop-no-proof", |s, sev| Box::pin(dpop_misuse(s, sev, DpopMisuse::NoProof))),
    step("dpop-other-key", |s, sev| Box::pin(dpop_misuse(s, sev, DpopMisuse::OtherKey))),
    step("dpop-replayed-proof", |s, sev| Box::pin(dpop_misuse(s, sev, DpopMisuse::Replayed))),
    step("dpop-proof-wrong-typ", |s, sev| {
        Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::WrongTyp)))
    }),
    step("dpop-proof-alg-none", |s, sev| {
        Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::AlgNone)))
    }),
    step("dpop-proof-bad-signature", |s, sev| {
        Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::BadSignature)))
    }),
    step("dpop-proof-private-key", |s, sev| {
        Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::PrivateJwk)))
    }),
    step("dpop-proof-wrong-htm", |s, sev| {
        Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::WrongHtm)))
    }),
    step("dpop-proof-wrong-htu", |s, sev| {
        Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::WrongHtu)))
    }),
    step("dpop-proof-stale", |s, sev| {
        Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::Stale)))
    }),
    step("dpop-proof-future", |s, sev| {
        Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::Future)))
    }),
    step("dpop-proof-wrong-ath", |s, sev| {
        Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::WrongAth)))
    }),
    step("dpop-proof-no-ath", |s, sev| {
        Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::NoAth)))
    }),
    step("dpop-bad-proof-at-token", |s, sev| {
        Box::pin(dpop_bad_proof_at_token(s, sev, ProofFlaw::BadSignature))
    }),
    step("dpop-proof-alg-none-at-token", |s, sev| {
        Box::pin(dpop_bad_proof_at_token(s, sev, ProofFlaw::AlgNone))
    }),
    step("dpop-proof-no-jti-at-token", |s, sev| {
        Box::pin(dpop_bad_proof_at_token(s, sev, ProofFlaw::NoJti))
    }),
];

/// Runs OAuth step `name`, or `None` if there is none.
pub fn run<'a>(
    shared: &'a Shared,
    case: &'a Case,
    name: &str,
) -> Option<Pin<Box<dyn Future<Output = Verdict> + Send + 'a>>> {
    let step = STEPS.iter().find(|s| s.name == name)?;
    let run = step.run;
    Some(Box::pin(async move {
        let s = match Session::open(shared).await {
            Ok(s) => s,
            Err(e) => return e.into(),
        };
        run(&s, case.severity).await.unwrap_or_else(|v| v)
    }))
}

// ---------------------------------------------------------------- helpers

pub(super) fn pass(expected: &str, observed: impl Into<String>) -> Outcome {
    Ok(Verdict::pass(expected.to_owned(), observed.into()))
}

pub(super) fn unmet(
    sev: Severity,
    expected: &str,
    observed: impl Into<String>,
    why: &str,
) -> Outcome {
    Ok(Verdict::unmet(sev, expected.to_owned(), observed.into(), why))
}

/// The outcome held, the form did not: a `warn` under the shared form finding `key`.
pub(super) fn form(key: &str, expected: &str, observed: impl Into<String>, why: &str) -> Outcome {
    Ok(Verdict::form(expected.to_owned(), observed.into(), key, why))
}

/// A 5xx: nothing to judge.
pub(super) fn server_error(expected: &str, r: &RawResponse) -> Outcome {
    Ok(Verdict::server_error(expected, observe(r), r.status))
}

/// A tolerated answer: safe, not what the RFC says.
pub(super) fn warn(expected: &str, observed: impl Into<String>, why: &str) -> Outcome {
    unmet(Severity::Should, expected, observed, why)
}

pub(super) fn error_code(r: &RawResponse) -> Option<String> {
    r.json()?.get("error")?.as_str().map(str::to_owned)
}

/// The answer is a §5.2 error: 4xx, JSON, `error` one of `codes`.
pub(super) fn judge_error(
    sev: Severity,
    expected: &str,
    r: &RawResponse,
    codes: &[&str],
) -> Outcome {
    let observed = observe(r);
    if (200..300).contains(&r.status) {
        return unmet(sev, expected, observed, "the request was granted");
    }
    if r.status >= 500 {
        return server_error(expected, r);
    }
    match error_code(r) {
        Some(code) if codes.contains(&code.as_str()) => pass(expected, observed),
        Some(_) => form("form:oauth-error", expected, observed, "refused, with another error code"),
        None => {
            form("form:oauth-error", expected, observed, "refused, but without an OAuth error body")
        }
    }
}

/// The profile's resource refuses `token`: 401.
pub(super) async fn judge_refused_at_rs(
    s: &Session<'_>,
    sev: Severity,
    expected: &str,
    tokens: &Tokens,
    context: &str,
) -> Outcome {
    let r = s.use_token(tokens).await?;
    let observed = format!("{context}; the access token then got {}", observe(&r));
    match r.status {
        401 => pass(expected, observed),
        s if (200..300).contains(&s) => unmet(sev, expected, observed, "the token still works"),
        s if s >= 500 => server_error(expected, &r),
        _ => form("form:refusal-status", expected, observed, "refused, but not with 401"),
    }
}

/// Whether `u` is the registered redirect URI itself (any parameters it
/// carries are the registered ones or response parameters).
pub(super) fn is_registered(u: &Url, registered: &Url) -> bool {
    let allowed = ["error", "error_description", "error_uri", "state", "iss"];
    u.origin() == registered.origin()
        && u.path() == registered.path()
        && u.fragment().is_none()
        && u.query_pairs().all(|(n, v)| {
            allowed.contains(&n.as_ref())
                || registered.query_pairs().any(|(rn, rv)| rn == n && rv == v)
        })
}

// ---------------------------------------------------------------- discovery
