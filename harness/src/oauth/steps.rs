//! The OAuth 2.0 cases: each a named step, `oauth2-<name>` for case
//! `oauth2::<name>`. Every case starts its own grant, so cases are independent
//! and run concurrently; none prints a code or token (reports show statuses
//! and error codes only).

use std::future::Future;
use std::pin::Pin;

use authbench_scenarios::{Case, Severity};
use serde_json::Value;
use url::Url;

use super::{Authorized, ClientAuth, DpopKey, Pkce, ProofFlaw, Session, Tokens};
use crate::client::{RawRequest, RawResponse};
use crate::engine::Shared;
use crate::engine::judge::{Verdict, is_served, observe, parse_challenges};

type Outcome = Result<Verdict, Verdict>;
type StepFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// The steps this module implements.
pub const NAMES: &[&str] = &[
    "oauth2-metadata",
    "oauth2-metadata-pkce-s256",
    "oauth2-metadata-no-implicit-or-password",
    "oauth2-redirect-uri-unregistered",
    "oauth2-redirect-uri-path-suffix",
    "oauth2-redirect-uri-query-added",
    "oauth2-redirect-uri-dot-segments",
    "oauth2-redirect-uri-encoded-slash",
    "oauth2-redirect-uri-case-changed",
    "oauth2-redirect-uri-fragment",
    "oauth2-redirect-uri-http",
    "oauth2-redirect-uri-mismatch-at-token",
    "oauth2-state-echoed",
    "oauth2-iss-in-response",
    "oauth2-duplicate-authorization-parameter",
    "oauth2-unknown-parameter-ignored",
    "oauth2-response-type-token-refused",
    "oauth2-code-flow",
    "oauth2-code-reuse",
    "oauth2-code-reuse-revokes-tokens",
    "oauth2-code-reuse-after-use",
    "oauth2-code-race",
    "oauth2-code-expired",
    "oauth2-code-other-client",
    "oauth2-code-entropy",
    "oauth2-pkce-required",
    "oauth2-pkce-wrong-verifier",
    "oauth2-pkce-verifier-omitted",
    "oauth2-pkce-downgrade",
    "oauth2-pkce-plain-refused",
    "oauth2-pkce-unknown-method",
    "oauth2-pkce-verifier-too-short",
    "oauth2-pkce-verifier-too-long",
    "oauth2-pkce-verifier-bad-characters",
    "oauth2-token-get-refused",
    "oauth2-client-secret-in-query",
    "oauth2-client-auth-wrong-secret",
    "oauth2-client-auth-unknown-client",
    "oauth2-client-auth-post-wrong-secret",
    "oauth2-client-auth-two-methods",
    "oauth2-client-auth-missing",
    "oauth2-token-error-shape",
    "oauth2-token-response-no-store",
    "oauth2-token-response-pragma",
    "oauth2-token-response-shape",
    "oauth2-grant-password-refused",
    "oauth2-grant-unsupported",
    "oauth2-grant-type-missing",
    "oauth2-duplicate-token-parameter",
    "oauth2-client-credentials",
    "oauth2-refresh",
    "oauth2-refresh-rotation",
    "oauth2-refresh-reuse-revokes-family",
    "oauth2-refresh-race",
    "oauth2-refresh-other-client",
    "oauth2-refresh-without-client-auth",
    "oauth2-refresh-wider-scope",
    "oauth2-refresh-invalid",
    "oauth2-refresh-token-entropy",
    "oauth2-revoke-access-token",
    "oauth2-revoke-refresh-token",
    "oauth2-revoke-refresh-kills-access",
    "oauth2-revoke-garbage",
    "oauth2-revoke-without-client-auth",
    "oauth2-revoke-other-clients-token",
    "oauth2-revocation-latency",
    "oauth2-introspect-without-auth",
    "oauth2-introspect-active",
    "oauth2-introspect-unknown",
    "oauth2-introspect-revoked",
    "oauth2-rs-valid-token",
    "oauth2-rs-no-token",
    "oauth2-rs-invalid-token",
    "oauth2-rs-token-in-query",
    "oauth2-rs-header-and-body",
    "oauth2-rs-bearer-lowercase",
    "oauth2-rs-insufficient-scope",
    "oauth2-rs-other-audience",
    "oauth2-rs-refresh-token-as-access-token",
    "oauth2-rs-opaque-token",
    "oauth2-replay-window",
    "oauth2-dpop-bound-token",
    "oauth2-dpop-token-as-bearer",
    "oauth2-dpop-no-proof",
    "oauth2-dpop-other-key",
    "oauth2-dpop-replayed-proof",
    "oauth2-dpop-proof-wrong-typ",
    "oauth2-dpop-proof-alg-none",
    "oauth2-dpop-proof-bad-signature",
    "oauth2-dpop-proof-private-key",
    "oauth2-dpop-proof-wrong-htm",
    "oauth2-dpop-proof-wrong-htu",
    "oauth2-dpop-proof-stale",
    "oauth2-dpop-proof-future",
    "oauth2-dpop-proof-wrong-ath",
    "oauth2-dpop-proof-no-ath",
    "oauth2-dpop-bad-proof-at-token",
];

/// Runs OAuth step `name`, or `None` if it is not one of these.
pub fn run<'a>(
    shared: &'a Shared,
    case: &'a Case,
    name: &'a str,
) -> Option<Pin<Box<dyn Future<Output = Verdict> + Send + 'a>>> {
    let short = name.strip_prefix("oauth2-")?;
    if !NAMES.contains(&name) {
        return None;
    }
    Some(Box::pin(async move {
        let s = match Session::open(shared).await {
            Ok(s) => s,
            Err(v) => return v,
        };
        let sev = case.severity;
        let result = dispatch(&s, sev, short).await;
        result.unwrap_or_else(|v| v)
    }))
}

fn dispatch<'a>(s: &'a Session<'a>, sev: Severity, name: &'a str) -> StepFuture<'a> {
    match name {
        "metadata" => Box::pin(std::future::ready(metadata(s, sev))),
        "metadata-pkce-s256" => Box::pin(std::future::ready(metadata_pkce(s, sev))),
        "metadata-no-implicit-or-password" => {
            Box::pin(std::future::ready(metadata_no_implicit(s, sev)))
        }
        "redirect-uri-unregistered" => Box::pin(redirect_variant(s, sev, |_| {
            "https://attacker.authbench.invalid/callback".to_owned()
        })),
        "redirect-uri-path-suffix" => Box::pin(redirect_variant(s, sev, |r| format!("{r}/evil"))),
        "redirect-uri-query-added" => Box::pin(redirect_variant(s, sev, |r| {
            let sep = if r.contains('?') { '&' } else { '?' };
            format!("{r}{sep}next=https://attacker.authbench.invalid")
        })),
        "redirect-uri-dot-segments" => {
            Box::pin(redirect_variant(s, sev, |r| format!("{r}/../../evil")))
        }
        "redirect-uri-encoded-slash" => {
            Box::pin(redirect_variant(s, sev, |r| format!("{r}%2F..%2Fevil")))
        }
        "redirect-uri-case-changed" => {
            Box::pin(redirect_variant(s, sev, |r| match Url::parse(r) {
                Ok(mut u) => {
                    let upper = u.path().to_ascii_uppercase();
                    u.set_path(&upper);
                    u.to_string()
                }
                Err(_) => r.to_ascii_uppercase(),
            }))
        }
        "redirect-uri-fragment" => Box::pin(redirect_variant(s, sev, |r| format!("{r}#frag"))),
        "redirect-uri-http" => {
            Box::pin(redirect_variant(s, sev, |r| r.replacen("https://", "http://", 1)))
        }
        "redirect-uri-mismatch-at-token" => Box::pin(redirect_mismatch_at_token(s, sev)),
        "state-echoed" => Box::pin(state_echoed(s, sev)),
        "iss-in-response" => Box::pin(iss_in_response(s, sev)),
        "duplicate-authorization-parameter" => Box::pin(duplicate_authorization_parameter(s, sev)),
        "unknown-parameter-ignored" => Box::pin(unknown_parameter_ignored(s, sev)),
        "response-type-token-refused" => Box::pin(response_type_token(s, sev)),
        "code-flow" => Box::pin(code_flow(s, sev)),
        "code-reuse" => Box::pin(code_reuse(s, sev)),
        "code-reuse-revokes-tokens" => Box::pin(code_reuse_revokes(s, sev, false)),
        "code-reuse-after-use" => Box::pin(code_reuse_revokes(s, sev, true)),
        "code-race" => Box::pin(code_race(s, sev)),
        "code-expired" => Box::pin(code_expired(s, sev)),
        "code-other-client" => Box::pin(code_other_client(s, sev)),
        "code-entropy" => Box::pin(code_entropy(s, sev)),
        "pkce-required" => Box::pin(pkce_required(s, sev)),
        "pkce-wrong-verifier" => Box::pin(pkce_at_token(s, sev, |_| Some(Pkce::new().verifier))),
        "pkce-verifier-omitted" => Box::pin(pkce_at_token(s, sev, |_| None)),
        "pkce-downgrade" => Box::pin(pkce_downgrade(s, sev)),
        "pkce-plain-refused" => Box::pin(pkce_plain(s, sev)),
        "pkce-unknown-method" => Box::pin(pkce_unknown_method(s, sev)),
        "pkce-verifier-too-short" => {
            Box::pin(pkce_bad_verifier(s, sev, crate::forge::random_string(super::PKCE_CHARS, 42)))
        }
        "pkce-verifier-too-long" => {
            Box::pin(pkce_bad_verifier(s, sev, crate::forge::random_string(super::PKCE_CHARS, 129)))
        }
        "pkce-verifier-bad-characters" => {
            let v = format!(
                "{}+/ {}",
                crate::forge::random_string(crate::forge::ALNUM, 30),
                "x".repeat(20)
            );
            Box::pin(pkce_bad_verifier(s, sev, v))
        }
        "token-get-refused" => Box::pin(token_get(s, sev)),
        "client-secret-in-query" => Box::pin(client_secret_in_query(s, sev)),
        "client-auth-wrong-secret" => Box::pin(client_auth_bad(s, sev, BadAuth::WrongSecret)),
        "client-auth-unknown-client" => Box::pin(client_auth_bad(s, sev, BadAuth::UnknownClient)),
        "client-auth-post-wrong-secret" => {
            Box::pin(client_auth_bad(s, sev, BadAuth::PostWrongSecret))
        }
        "client-auth-two-methods" => Box::pin(client_auth_bad(s, sev, BadAuth::TwoMethods)),
        "client-auth-missing" => Box::pin(client_auth_bad(s, sev, BadAuth::Missing)),
        "token-error-shape" => Box::pin(token_error_shape(s, sev)),
        "token-response-no-store" => {
            Box::pin(token_response_header(s, sev, "cache-control", "no-store"))
        }
        "token-response-pragma" => Box::pin(token_response_header(s, sev, "pragma", "no-cache")),
        "token-response-shape" => Box::pin(token_response_shape(s, sev)),
        "grant-password-refused" => Box::pin(grant_password(s, sev)),
        "grant-unsupported" => Box::pin(token_error(
            s,
            sev,
            &[("grant_type", "urn:authbench:no-such-grant")],
            &["unsupported_grant_type"],
        )),
        "grant-type-missing" => {
            Box::pin(token_error(s, sev, &[("scope", "read")], &["invalid_request"]))
        }
        "duplicate-token-parameter" => Box::pin(token_error(
            s,
            sev,
            &[("grant_type", "client_credentials"), ("grant_type", "client_credentials")],
            &["invalid_request"],
        )),
        "client-credentials" => Box::pin(client_credentials(s, sev)),
        "refresh" => Box::pin(refresh(s, sev)),
        "refresh-rotation" => Box::pin(refresh_rotation(s, sev)),
        "refresh-reuse-revokes-family" => Box::pin(refresh_reuse(s, sev)),
        "refresh-race" => Box::pin(refresh_race(s, sev)),
        "refresh-other-client" => Box::pin(refresh_other_client(s, sev)),
        "refresh-without-client-auth" => Box::pin(refresh_without_auth(s, sev)),
        "refresh-wider-scope" => Box::pin(refresh_wider_scope(s, sev)),
        "refresh-invalid" => Box::pin(token_error(
            s,
            sev,
            &[("grant_type", "refresh_token"), ("refresh_token", "authbench-not-a-token")],
            &["invalid_grant"],
        )),
        "refresh-token-entropy" => Box::pin(refresh_entropy(s, sev)),
        "revoke-access-token" => Box::pin(revoke_access(s, sev)),
        "revoke-refresh-token" => Box::pin(revoke_refresh(s, sev, false)),
        "revoke-refresh-kills-access" => Box::pin(revoke_refresh(s, sev, true)),
        "revoke-garbage" => Box::pin(revoke_garbage(s, sev)),
        "revoke-without-client-auth" => Box::pin(revoke_without_auth(s, sev)),
        "revoke-other-clients-token" => Box::pin(revoke_other_client(s, sev)),
        "revocation-latency" => Box::pin(revocation_latency(s, sev)),
        "introspect-without-auth" => Box::pin(introspect_without_auth(s, sev)),
        "introspect-active" => Box::pin(introspect_active(s, sev)),
        "introspect-unknown" => Box::pin(introspect_inactive(s, sev, false)),
        "introspect-revoked" => Box::pin(introspect_inactive(s, sev, true)),
        "rs-valid-token" => Box::pin(rs_valid(s, sev)),
        "rs-no-token" => Box::pin(rs_no_token(s, sev)),
        "rs-invalid-token" => Box::pin(rs_invalid(s, sev)),
        "rs-token-in-query" => Box::pin(rs_in_query(s, sev)),
        "rs-header-and-body" => Box::pin(rs_header_and_body(s, sev)),
        "rs-bearer-lowercase" => Box::pin(rs_lowercase(s, sev)),
        "rs-insufficient-scope" => Box::pin(rs_insufficient_scope(s, sev)),
        "rs-other-audience" => Box::pin(rs_other_audience(s, sev)),
        "rs-refresh-token-as-access-token" => Box::pin(rs_refresh_as_access(s, sev)),
        "rs-opaque-token" => Box::pin(rs_opaque(s, sev)),
        "replay-window" => Box::pin(replay_window(s, sev)),
        "dpop-bound-token" => Box::pin(dpop_bound(s, sev)),
        "dpop-token-as-bearer" => Box::pin(dpop_misuse(s, sev, DpopMisuse::AsBearer)),
        "dpop-no-proof" => Box::pin(dpop_misuse(s, sev, DpopMisuse::NoProof)),
        "dpop-other-key" => Box::pin(dpop_misuse(s, sev, DpopMisuse::OtherKey)),
        "dpop-replayed-proof" => Box::pin(dpop_misuse(s, sev, DpopMisuse::Replayed)),
        "dpop-proof-wrong-typ" => {
            Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::WrongTyp)))
        }
        "dpop-proof-alg-none" => {
            Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::AlgNone)))
        }
        "dpop-proof-bad-signature" => {
            Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::BadSignature)))
        }
        "dpop-proof-private-key" => {
            Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::PrivateJwk)))
        }
        "dpop-proof-wrong-htm" => {
            Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::WrongHtm)))
        }
        "dpop-proof-wrong-htu" => {
            Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::WrongHtu)))
        }
        "dpop-proof-stale" => Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::Stale))),
        "dpop-proof-future" => Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::Future))),
        "dpop-proof-wrong-ath" => {
            Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::WrongAth)))
        }
        "dpop-proof-no-ath" => Box::pin(dpop_misuse(s, sev, DpopMisuse::Proof(ProofFlaw::NoAth))),
        "dpop-bad-proof-at-token" => Box::pin(dpop_bad_proof_at_token(s, sev)),
        other => Box::pin(std::future::ready(Err(Verdict::error(
            "",
            format!("no OAuth step `{other}`"),
        )))),
    }
}

// ---------------------------------------------------------------- helpers

fn pass(expected: &str, observed: impl Into<String>) -> Outcome {
    Ok(Verdict::pass(expected.to_owned(), observed.into()))
}

fn unmet(sev: Severity, expected: &str, observed: impl Into<String>, why: &str) -> Outcome {
    Ok(Verdict::unmet(sev, expected.to_owned(), observed.into(), why))
}

/// The outcome held, the form did not: a `warn` under the shared form finding `key`.
fn form(key: &str, expected: &str, observed: impl Into<String>, why: &str) -> Outcome {
    Ok(Verdict::form(expected.to_owned(), observed.into(), key, why))
}

/// A 5xx: nothing to judge.
fn server_error(expected: &str, r: &RawResponse) -> Outcome {
    Ok(Verdict::server_error(expected, observe(r), r.status))
}

/// A tolerated answer: safe, not what the RFC says.
fn warn(expected: &str, observed: impl Into<String>, why: &str) -> Outcome {
    unmet(Severity::Should, expected, observed, why)
}

fn error_code(r: &RawResponse) -> Option<String> {
    r.json()?.get("error")?.as_str().map(str::to_owned)
}

/// The answer is a §5.2 error: 4xx, JSON, `error` one of `codes`.
fn judge_error(sev: Severity, expected: &str, r: &RawResponse, codes: &[&str]) -> Outcome {
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
async fn judge_refused_at_rs(
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
fn is_registered(u: &Url, registered: &Url) -> bool {
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

fn metadata(s: &Session<'_>, sev: Severity) -> Outcome {
    let expected = "metadata whose issuer is the profile's issuer, with https endpoints";
    let want = s.t.issuer.as_str().trim_end_matches('/');
    let observed = format!("issuer `{}` at {}", s.meta.issuer, s.meta.found_at);
    if s.meta.issuer.trim_end_matches('/') != want {
        return unmet(sev, expected, observed, "the metadata names another issuer (RFC 8414 §3.3)");
    }
    let endpoints = [
        Some(&s.meta.authorization_endpoint),
        Some(&s.meta.token_endpoint),
        s.meta.revocation_endpoint.as_ref(),
        s.meta.introspection_endpoint.as_ref(),
    ];
    if let Some(plain) = endpoints.into_iter().flatten().find(|u| u.scheme() != "https") {
        return unmet(sev, expected, format!("{observed}; {plain}"), "an endpoint is not https");
    }
    pass(expected, observed)
}

fn metadata_pkce(s: &Session<'_>, sev: Severity) -> Outcome {
    let expected = "code_challenge_methods_supported lists S256 and not plain";
    let methods = s.meta.list("code_challenge_methods_supported");
    let observed = format!("code_challenge_methods_supported: {methods:?}");
    if !methods.iter().any(|m| m == "S256") {
        return unmet(
            sev,
            expected,
            observed,
            "S256 is not advertised (RFC 8414 §2, RFC 9700 §2.1.1)",
        );
    }
    if methods.iter().any(|m| m == "plain") {
        return unmet(sev, expected, observed, "plain is advertised");
    }
    pass(expected, observed)
}

fn metadata_no_implicit(s: &Session<'_>, sev: Severity) -> Outcome {
    let expected = "neither the implicit nor the password grant advertised";
    let responses = s.meta.list("response_types_supported");
    let grants = s.meta.list("grant_types_supported");
    let observed = format!("response_types {responses:?}, grant_types {grants:?}");
    let implicit = responses.iter().any(|r| r.split(' ').any(|p| p == "token"));
    let password = grants.iter().any(|g| g == "password" || g == "implicit");
    if implicit || password {
        return unmet(
            sev,
            expected,
            observed,
            "a grant RFC 9700 §2.1.2 and §2.4 rule out is offered",
        );
    }
    pass(expected, observed)
}

// ---------------------------------------------------------------- authorization endpoint

async fn redirect_variant(
    s: &Session<'_>,
    sev: Severity,
    variant: impl Fn(&str) -> String,
) -> Outcome {
    let registered = s.t.redirect_uri.clone();
    let bad = variant(registered.as_str());
    let expected = "an error page; nothing sent to the altered redirect_uri";
    let mut req = s.auth_request();
    req.set("redirect_uri", &bad);
    let outcome = s.authorize(&req.params).await?;
    let observed = format!("redirect_uri `{bad}`: {}", outcome.describe());
    match &outcome {
        Authorized::NeedsLogin => Err(Verdict::skip(
            "the server asks for a login before judging the redirect_uri; give [oauth2] login",
        )),
        Authorized::Page { status, .. } if *status >= 500 => {
            unmet(sev, expected, observed, "a server error")
        }
        Authorized::Page { .. } => pass(expected, observed),
        Authorized::Redirected(u)
            if is_registered(u, &registered) && outcome.param("code").is_none() =>
        {
            warn(expected, observed, "redirected to the registered URI instead of an error page")
        }
        Authorized::Redirected(_) => {
            unmet(sev, expected, observed, "the server redirected to a URI that is not registered")
        }
    }
}

async fn redirect_mismatch_at_token(s: &Session<'_>, sev: Severity) -> Outcome {
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    let mut other = req.clone();
    other
        .set("redirect_uri", &format!("{}/other", s.t.redirect_uri.as_str().trim_end_matches('/')));
    let r = s.exchange(&other, &code).await?;
    judge_error(
        sev,
        "400 invalid_grant: redirect_uri differs from the authorization request",
        &r,
        &["invalid_grant"],
    )
}

async fn state_echoed(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let state = format!(
        "{}-._~ +/=%&;{}",
        crate::forge::random_string(crate::forge::ALNUM, 40),
        "s".repeat(200)
    );
    let mut req = s.auth_request();
    req.set("state", &state);
    let outcome = s.authorize(&req.params).await?;
    let expected = "the state (256 characters, with reserved ones) returned unchanged";
    match outcome.param("state") {
        Some(got) if got == state => pass(expected, "echoed exactly"),
        Some(got) => unmet(
            sev,
            expected,
            format!("returned {} characters, different", got.len()),
            "state was altered",
        ),
        None => unmet(sev, expected, outcome.describe(), "no state in the response"),
    }
}

async fn iss_in_response(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let req = s.auth_request();
    let outcome = s.authorize(&req.params).await?;
    let expected = "iss equal to the issuer in the authorization response (RFC 9207)";
    match outcome.param("iss") {
        Some(iss) if iss.trim_end_matches('/') == s.meta.issuer.trim_end_matches('/') => {
            pass(expected, format!("iss={iss}"))
        }
        Some(iss) => unmet(sev, expected, format!("iss={iss}"), "iss differs from the issuer"),
        None => unmet(sev, expected, outcome.describe(), "no iss: mix-up attacks go unnoticed"),
    }
}

async fn duplicate_authorization_parameter(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let mut req = s.auth_request();
    let other = Pkce::new();
    req.params.push(("code_challenge".to_owned(), other.challenge));
    let outcome = s.authorize(&req.params).await?;
    let expected = "an error (invalid_request), no code, for a repeated code_challenge";
    let observed = outcome.describe();
    if outcome.param("code").is_some() {
        return unmet(sev, expected, observed, "a code was issued for an ambiguous request");
    }
    pass(expected, observed)
}

async fn unknown_parameter_ignored(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let mut req = s.auth_request();
    req.set("authbench_unknown", "1");
    let outcome = s.authorize(&req.params).await?;
    let expected = "a code: unknown parameters are ignored (RFC 6749 §3.1)";
    if outcome.param("code").is_some() {
        pass(expected, outcome.describe())
    } else {
        unmet(
            sev,
            expected,
            outcome.describe(),
            "the request failed because of an unknown parameter",
        )
    }
}

async fn response_type_token(s: &Session<'_>, sev: Severity) -> Outcome {
    let mut req = s.auth_request();
    req.set("response_type", "token");
    let outcome = s.authorize(&req.params).await?;
    let expected = "no access token from the authorization endpoint (RFC 9700 §2.1.2)";
    let observed = outcome.describe();
    let leaked = match &outcome {
        Authorized::Redirected(u) => {
            u.fragment().is_some_and(|f| f.contains("access_token"))
                || outcome.param("access_token").is_some()
        }
        _ => false,
    };
    if leaked {
        unmet(sev, expected, observed, "the implicit grant issued a token")
    } else if matches!(outcome, Authorized::NeedsLogin) {
        Err(Verdict::skip("the server asks for a login first; give [oauth2] login"))
    } else {
        pass(expected, observed)
    }
}

// ---------------------------------------------------------------- codes

async fn code_flow(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.code_flow().await?;
    let r = s.use_token(&tokens).await?;
    let expected = "the code flow with PKCE yields a token the resource accepts";
    if r.status == 200 {
        pass(expected, format!("token_type {}, resource {}", tokens.token_type, r.status))
    } else {
        unmet(sev, expected, observe(&r), "the resource refused the token")
    }
}

async fn code_reuse(s: &Session<'_>, sev: Severity) -> Outcome {
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    let first = s.exchange(&req, &code).await?;
    if first.status != 200 {
        return Err(Verdict::error("tokens for a fresh code", observe(&first)));
    }
    let second = s.exchange(&req, &code).await?;
    judge_error(sev, "400 invalid_grant for a code used twice", &second, &["invalid_grant"])
}

async fn code_reuse_revokes(s: &Session<'_>, sev: Severity, use_first: bool) -> Outcome {
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    let first = s.exchange(&req, &code).await?;
    let tokens = Tokens::from_response(&first)
        .ok_or_else(|| Verdict::error("tokens for a fresh code", observe(&first)))?;
    if use_first {
        s.require_accepted(&tokens).await?;
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    let second = s.exchange(&req, &code).await?;
    let expected = "the tokens of a replayed code are revoked (RFC 6749 §4.1.2, RFC 9700 §4.2.4)";
    if (200..300).contains(&second.status) {
        return unmet(sev, expected, observe(&second), "the replayed code was redeemed again");
    }
    judge_refused_at_rs(s, sev, expected, &tokens, &format!("replay answered {}", second.status))
        .await
}

async fn code_race(s: &Session<'_>, sev: Severity) -> Outcome {
    const RACERS: usize = 8;
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    let answers =
        futures_util::future::join_all((0..RACERS).map(|_| s.exchange(&req, &code))).await;
    let mut won = 0;
    let mut statuses = Vec::new();
    for a in answers {
        let r = a?;
        statuses.push(r.status);
        if r.status == 200 {
            won += 1;
        }
    }
    let expected = "exactly one of 8 simultaneous exchanges of one code succeeds";
    let observed = format!("statuses {statuses:?}");
    match won {
        1 => pass(expected, observed),
        0 => Err(Verdict::error(expected, format!("no exchange succeeded: {observed}"))),
        _ => unmet(sev, expected, observed, "one code was redeemed more than once"),
    }
}

async fn code_expired(s: &Session<'_>, sev: Severity) -> Outcome {
    const LONGEST_WAIT: u64 = 15;
    let Some(lifetime) = s.t.code_lifetime_seconds.filter(|l| *l <= LONGEST_WAIT) else {
        return Err(Verdict::skip(format!(
            "needs [oauth2] code_lifetime_seconds of at most {LONGEST_WAIT} (the case waits it out)"
        )));
    };
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    tokio::time::sleep(std::time::Duration::from_secs(lifetime + 2)).await;
    let r = s.exchange(&req, &code).await?;
    judge_error(
        sev,
        &format!("400 invalid_grant {} s after a {lifetime} s code was issued", lifetime + 2),
        &r,
        &["invalid_grant"],
    )
}

async fn code_other_client(s: &Session<'_>, sev: Severity) -> Outcome {
    let other = s.other_client_auth()?;
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    let r = s
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", req.get("redirect_uri").unwrap_or_default()),
                ("code_verifier", &req.pkce.verifier),
            ],
            &other,
        )
        .await?;
    judge_error(
        sev,
        "400 invalid_grant: the code belongs to another client",
        &r,
        &["invalid_grant"],
    )
}

/// Bits an opaque string can carry at most, from its length and alphabet.
fn entropy_bits(text: &str) -> f64 {
    let per_char = if text.bytes().all(|b| b.is_ascii_hexdigit()) {
        4.0
    } else if text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        62f64.log2()
    } else {
        6.0
    };
    per_char * text.len() as f64
}

fn judge_entropy(sev: Severity, what: &str, value: &str) -> Outcome {
    let expected = format!("at least 128 bits in the {what} (RFC 6749 §10.10)");
    let bits = entropy_bits(value);
    let observed = format!("{} characters, at most {bits:.0} bits", value.len());
    if bits >= 128.0 {
        pass(&expected, observed)
    } else {
        unmet(sev, &expected, observed, "too short to carry 128 random bits")
    }
}

async fn code_entropy(s: &Session<'_>, sev: Severity) -> Outcome {
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    judge_entropy(sev, "authorization code", &code)
}

// ---------------------------------------------------------------- PKCE

async fn pkce_required(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let mut req = s.auth_request();
    req.remove("code_challenge");
    req.remove("code_challenge_method");
    let outcome = s.authorize(&req.params).await?;
    let expected = "no code without a code_challenge (RFC 9700 §2.1.1)";
    if outcome.param("code").is_some() {
        unmet(sev, expected, outcome.describe(), "a code was issued without PKCE")
    } else {
        pass(expected, outcome.describe())
    }
}

async fn pkce_at_token(
    s: &Session<'_>,
    sev: Severity,
    verifier: impl Fn(&str) -> Option<String>,
) -> Outcome {
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    let v = verifier(&req.pkce.verifier);
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", req.get("redirect_uri").unwrap_or_default()),
    ];
    if let Some(v) = &v {
        fields.push(("code_verifier", v));
    }
    let r = s.token(&fields, &s.client_auth()).await?;
    let what = if v.is_some() { "a wrong code_verifier" } else { "no code_verifier" };
    judge_error(
        sev,
        &format!("400 invalid_grant for {what} (RFC 7636 §4.6)"),
        &r,
        &["invalid_grant", "invalid_request"],
    )
}

async fn pkce_downgrade(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let mut req = s.auth_request();
    req.remove("code_challenge");
    req.remove("code_challenge_method");
    let outcome = s.authorize(&req.params).await?;
    let expected = "a verifier for a code issued without a challenge is refused (RFC 9700 §4.8.2)";
    let Some(code) = outcome.param("code") else {
        return pass(expected, format!("no code without a challenge: {}", outcome.describe()));
    };
    let r = s.exchange(&req, &code).await?;
    // RFC 9700 §4.8.2 requires the refusal and names no error code: any
    // RFC 6749 §5.2 code will do (`invalid_grant` and `invalid_request` are both seen).
    judge_error(sev, expected, &r, &["invalid_grant", "invalid_request"])
}

async fn pkce_plain(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let mut req = s.auth_request();
    let verifier = req.pkce.verifier.clone();
    req.set("code_challenge", &verifier);
    req.set("code_challenge_method", "plain");
    let outcome = s.authorize(&req.params).await?;
    let expected = "code_challenge_method=plain refused";
    let Some(code) = outcome.param("code") else {
        return pass(expected, outcome.describe());
    };
    let r = s.exchange(&req, &code).await?;
    if r.status == 200 {
        unmet(sev, expected, "a plain challenge was accepted and redeemed", "plain PKCE accepted")
    } else {
        warn(
            expected,
            format!("code issued, exchange {}", observe(&r)),
            "the authorization endpoint accepted plain",
        )
    }
}

async fn pkce_unknown_method(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let mut req = s.auth_request();
    req.set("code_challenge_method", "S512");
    let outcome = s.authorize(&req.params).await?;
    let expected = "an unknown code_challenge_method refused (RFC 7636 §4.4.1)";
    if outcome.param("code").is_some() {
        unmet(sev, expected, outcome.describe(), "a code was issued for an unknown method")
    } else {
        pass(expected, outcome.describe())
    }
}

async fn pkce_bad_verifier(s: &Session<'_>, sev: Severity, verifier: String) -> Outcome {
    s.require_login()?;
    let pkce = Pkce::of(verifier);
    let mut req = s.auth_request();
    req.set("code_challenge", &pkce.challenge);
    req.pkce = pkce.clone();
    let expected = format!(
        "a {}-character or ill-formed verifier refused (RFC 7636 §4.1)",
        pkce.verifier.len()
    );
    let outcome = s.authorize(&req.params).await?;
    let Some(code) = outcome.param("code") else {
        return Err(Verdict::error(&expected, format!("no code: {}", outcome.describe())));
    };
    let r = s.exchange(&req, &code).await?;
    judge_error(sev, &expected, &r, &["invalid_grant", "invalid_request"])
}

// ---------------------------------------------------------------- token endpoint

async fn token_get(s: &Session<'_>, sev: Severity) -> Outcome {
    let mut url = s.meta.token_endpoint.clone();
    url.query_pairs_mut().append_pair("grant_type", "client_credentials");
    let mut request = RawRequest::get(url);
    s.client_auth().apply_headers(&mut request);
    let r = s.send(&request).await?;
    let expected = "a GET to the token endpoint refused (RFC 6749 §3.2)";
    if (200..300).contains(&r.status) {
        unmet(sev, expected, observe(&r), "the token endpoint issued tokens on GET")
    } else if r.status >= 500 {
        unmet(sev, expected, observe(&r), "a server error")
    } else {
        pass(expected, observe(&r))
    }
}

async fn client_secret_in_query(s: &Session<'_>, sev: Severity) -> Outcome {
    let Some(secret) = &s.t.client_secret else {
        return Err(Verdict::skip("the profile's client has no client_secret"));
    };
    let mut url = s.meta.token_endpoint.clone();
    url.query_pairs_mut()
        .append_pair("client_id", &s.t.client_id)
        .append_pair("client_secret", secret);
    let request = RawRequest::form(url, &[("grant_type", "client_credentials")]);
    let r = s.send(&request).await?;
    let expected = "credentials in the URL refused (RFC 6749 §2.3.1)";
    if (200..300).contains(&r.status) {
        unmet(sev, expected, observe(&r), "a client secret in the URL was accepted")
    } else {
        pass(expected, observe(&r))
    }
}

#[derive(Clone, Copy)]
enum BadAuth {
    WrongSecret,
    UnknownClient,
    PostWrongSecret,
    TwoMethods,
    Missing,
}

async fn client_auth_bad(s: &Session<'_>, sev: Severity, kind: BadAuth) -> Outcome {
    let Some(secret) = s.t.client_secret.clone() else {
        return Err(Verdict::skip("the profile's client has no client_secret"));
    };
    let id = s.t.client_id.clone();
    let wrong = format!("{secret}x");
    let (auth, expected, statuses, codes): (ClientAuth, &str, &[u16], &[&str]) = match kind {
        BadAuth::WrongSecret => (
            ClientAuth::Basic(id, wrong),
            "401 invalid_client with a WWW-Authenticate challenge (RFC 6749 §5.2)",
            &[401],
            &["invalid_client"],
        ),
        BadAuth::UnknownClient => (
            ClientAuth::Basic(
                format!(
                    "authbench-unknown-{}",
                    crate::forge::random_string(crate::forge::ALNUM, 8)
                ),
                secret,
            ),
            "401 invalid_client with a WWW-Authenticate challenge (RFC 6749 §5.2)",
            &[401],
            &["invalid_client"],
        ),
        BadAuth::PostWrongSecret => (
            ClientAuth::Post(id, wrong),
            "400 or 401 invalid_client (RFC 6749 §5.2)",
            &[400, 401],
            &["invalid_client"],
        ),
        BadAuth::TwoMethods => (
            ClientAuth::Both(id, secret),
            "invalid_request: two client authentication methods (RFC 6749 §2.3)",
            &[400, 401],
            &["invalid_request", "invalid_client"],
        ),
        BadAuth::Missing => (
            ClientAuth::IdOnly(id),
            "a confidential client without authentication refused: invalid_client",
            &[400, 401],
            &["invalid_client", "invalid_request", "unauthorized_client"],
        ),
    };
    let r = s.token(&[("grant_type", "client_credentials")], &auth).await?;
    let observed = observe(&r);
    if (200..300).contains(&r.status) {
        return unmet(sev, expected, observed, "tokens were issued");
    }
    let code = error_code(&r);
    if !statuses.contains(&r.status) || !code.as_deref().is_some_and(|c| codes.contains(&c)) {
        if r.status >= 500 {
            return server_error(expected, &r);
        }
        return form(
            "form:oauth-error",
            expected,
            observed,
            "refused, but not as RFC 6749 §5.2 says",
        );
    }
    if matches!(kind, BadAuth::WrongSecret | BadAuth::UnknownClient)
        && r.header("www-authenticate").is_none()
    {
        return form("form:no-challenge", expected, observed, "401 without WWW-Authenticate");
    }
    pass(expected, observed)
}

const ERROR_CODES: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
    "invalid_dpop_proof",
    "use_dpop_nonce",
];

async fn token_error_shape(s: &Session<'_>, sev: Severity) -> Outcome {
    let r = s
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", "authbench-no-such-code"),
                ("redirect_uri", s.t.redirect_uri.as_str()),
                ("code_verifier", &Pkce::new().verifier),
            ],
            &s.client_auth(),
        )
        .await?;
    let expected = "400, application/json, error from RFC 6749 §5.2, no CR/LF in error_description";
    let observed =
        format!("{} ({})", observe(&r), r.header("content-type").unwrap_or("no content type"));
    if r.status != 400 {
        return unmet(sev, expected, observed, "not 400");
    }
    if !r
        .header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/json"))
    {
        return unmet(sev, expected, observed, "the error is not JSON");
    }
    let Some(body) = r.json() else {
        return unmet(sev, expected, observed, "the body does not parse");
    };
    match body.get("error").and_then(Value::as_str) {
        Some(code) if ERROR_CODES.contains(&code) => {}
        _ => return unmet(sev, expected, observed, "error is missing or not a §5.2 code"),
    }
    if body
        .get("error_description")
        .and_then(Value::as_str)
        .is_some_and(|d| d.chars().any(|c| !(' '..='~').contains(&c)))
    {
        return unmet(sev, expected, observed, "error_description has characters outside %x20-7E");
    }
    pass(expected, observed)
}

async fn successful_token_response(s: &Session<'_>) -> Result<RawResponse, Verdict> {
    let mut fields = vec![("grant_type", "client_credentials")];
    if let Some(scope) = &s.t.scope {
        fields.push(("scope", scope));
    }
    let r = s.token(&fields, &s.client_auth()).await?;
    if r.status == 200 {
        Ok(r)
    } else {
        Err(Verdict::error(
            "a token response",
            format!("client credentials answered {}", observe(&r)),
        ))
    }
}

async fn token_response_header(s: &Session<'_>, sev: Severity, name: &str, token: &str) -> Outcome {
    let r = successful_token_response(s).await?;
    let expected = format!("{name}: {token} on the token response (RFC 6749 §5.1)");
    let values: Vec<&str> = r.header_values(name).collect();
    let observed = format!(
        "{name}: {}",
        if values.is_empty() { "absent".to_owned() } else { values.join(", ") }
    );
    if values.iter().any(|v| v.split(',').any(|d| d.trim().eq_ignore_ascii_case(token))) {
        pass(&expected, observed)
    } else {
        unmet(sev, &expected, observed, "tokens may be cached by intermediaries")
    }
}

async fn token_response_shape(s: &Session<'_>, sev: Severity) -> Outcome {
    let r = successful_token_response(s).await?;
    let expected = "JSON with access_token, token_type Bearer or DPoP, expires_in a number";
    let Some(body) = r.json() else { return unmet(sev, expected, observe(&r), "not JSON") };
    let token_type = body.get("token_type").and_then(Value::as_str).unwrap_or_default();
    let observed = format!(
        "members {:?}",
        body.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default()
    );
    if body.get("access_token").and_then(Value::as_str).is_none() {
        return unmet(sev, expected, observed, "no access_token");
    }
    if !["bearer", "dpop", "n_a"].contains(&token_type.to_ascii_lowercase().as_str()) {
        return unmet(sev, expected, observed, "token_type missing or unknown");
    }
    if body.get("expires_in").is_some_and(|e| !e.is_u64()) {
        return unmet(sev, expected, observed, "expires_in is not a number");
    }
    pass(expected, observed)
}

async fn grant_password(s: &Session<'_>, sev: Severity) -> Outcome {
    let (user, password) =
        s.t.login
            .as_ref()
            .and_then(|l| {
                let get = |k: &str| l.iter().find(|(n, _)| n.contains(k)).map(|(_, v)| v.clone());
                Some((get("user").or_else(|| get("login"))?, get("pass")?))
            })
            .unwrap_or_else(|| ("authbench".to_owned(), "authbench".to_owned()));
    let r = s
        .token(
            &[("grant_type", "password"), ("username", &user), ("password", &password)],
            &s.client_auth(),
        )
        .await?;
    judge_error(
        sev,
        "the password grant refused (RFC 9700 §2.4): unsupported_grant_type or unauthorized_client",
        &r,
        &["unsupported_grant_type", "unauthorized_client"],
    )
}

async fn token_error(
    s: &Session<'_>,
    sev: Severity,
    fields: &[(&str, &str)],
    codes: &[&str],
) -> Outcome {
    let r = s.token(fields, &s.client_auth()).await?;
    judge_error(sev, &format!("400 {}", codes.join(" or ")), &r, codes)
}

async fn client_credentials(s: &Session<'_>, sev: Severity) -> Outcome {
    // The token is judged by the server that issued it: the profile's
    // resource may serve users only (an OpenID Provider's userinfo does).
    let tokens = s.client_credentials().await?;
    let expected = "client credentials yield an access token the server reports active";
    let Some(url) = s.meta.introspection_endpoint.clone() else {
        let r = s.use_token(&tokens).await?;
        return if r.status == 200 {
            pass(expected, "no introspection endpoint; the resource accepts it")
        } else {
            unmet(sev, expected, observe(&r), "the resource refused the token")
        };
    };
    let r = s.post_form(&url, &[("token", &tokens.access_token)], &s.client_auth()).await?;
    match r.json().and_then(|b| b.get("active").and_then(Value::as_bool)) {
        Some(true) => pass(expected, "issued; introspection: active"),
        _ => unmet(sev, expected, observe(&r), "the token is not active"),
    }
}

// ---------------------------------------------------------------- refresh

async fn refresh_with(
    s: &Session<'_>,
    refresh_token: &str,
    auth: &ClientAuth,
) -> Result<RawResponse, Verdict> {
    s.token(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)], auth).await
}

fn refresh_of(tokens: &Tokens) -> &str {
    tokens.refresh_token.as_deref().unwrap_or_default()
}

async fn refresh(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.refreshable().await?;
    let r = refresh_with(s, refresh_of(&tokens), &s.client_auth()).await?;
    let expected = "a refresh yields a new access token the resource accepts";
    let Some(fresh) = Tokens::from_response(&r) else {
        return unmet(sev, expected, observe(&r), "the refresh failed");
    };
    let used = s.use_token(&fresh).await?;
    if used.status == 200 {
        pass(expected, "200")
    } else {
        unmet(sev, expected, observe(&used), "the refreshed token is refused")
    }
}

async fn refresh_rotation(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.refreshable().await?;
    let r = refresh_with(s, refresh_of(&tokens), &s.client_auth()).await?;
    let fresh =
        Tokens::from_response(&r).ok_or_else(|| Verdict::error("a refresh", observe(&r)))?;
    let expected = "a new refresh token on each refresh (RFC 9700 §4.14.2)";
    match &fresh.refresh_token {
        Some(new) if new != refresh_of(&tokens) => pass(expected, "rotated"),
        Some(_) => unmet(sev, expected, "the same refresh token came back", "no rotation"),
        None => unmet(sev, expected, "no refresh token in the answer", "no rotation"),
    }
}

async fn refresh_reuse(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.refreshable().await?;
    let old = refresh_of(&tokens).to_owned();
    let r = refresh_with(s, &old, &s.client_auth()).await?;
    let fresh =
        Tokens::from_response(&r).ok_or_else(|| Verdict::error("a refresh", observe(&r)))?;
    let expected = "a rotated refresh token refused, and its family revoked (RFC 9700 §4.14.2)";
    let Some(new) = fresh.refresh_token.clone().filter(|n| *n != old) else {
        return unmet(
            sev,
            expected,
            "no rotation",
            "refresh tokens are not rotated, so a stolen one lives on",
        );
    };
    let replay = refresh_with(s, &old, &s.client_auth()).await?;
    if (200..300).contains(&replay.status) {
        return unmet(sev, expected, observe(&replay), "the rotated refresh token was accepted");
    }
    let after = refresh_with(s, &new, &s.client_auth()).await?;
    if (200..300).contains(&after.status) {
        return unmet(
            sev,
            expected,
            format!("replay {}, newest {}", replay.status, after.status),
            "the family survived the replay",
        );
    }
    judge_refused_at_rs(
        s,
        sev,
        expected,
        &fresh,
        &format!("replay {}, newest {}", replay.status, after.status),
    )
    .await
}

async fn refresh_race(s: &Session<'_>, sev: Severity) -> Outcome {
    const RACERS: usize = 4;
    let tokens = s.refreshable().await?;
    let old = refresh_of(&tokens).to_owned();
    let auth = s.client_auth();
    let answers =
        futures_util::future::join_all((0..RACERS).map(|_| refresh_with(s, &old, &auth))).await;
    let mut statuses = Vec::new();
    for a in answers {
        statuses.push(a?.status);
    }
    let won = statuses.iter().filter(|s| **s == 200).count();
    let expected = "one of 4 simultaneous refreshes with one token succeeds";
    let observed = format!("statuses {statuses:?}");
    match won {
        1 => pass(expected, observed),
        0 => Err(Verdict::error(expected, format!("no refresh succeeded: {observed}"))),
        _ => unmet(sev, expected, observed, "one refresh token was used more than once"),
    }
}

async fn refresh_other_client(s: &Session<'_>, sev: Severity) -> Outcome {
    let other = s.other_client_auth()?;
    let tokens = s.refreshable().await?;
    let r = refresh_with(s, refresh_of(&tokens), &other).await?;
    judge_error(
        sev,
        "400 invalid_grant: the refresh token belongs to another client",
        &r,
        &["invalid_grant"],
    )
}

async fn refresh_without_auth(s: &Session<'_>, sev: Severity) -> Outcome {
    if s.t.client_secret.is_none() {
        return Err(Verdict::skip("the profile's client has no client_secret"));
    }
    let tokens = s.refreshable().await?;
    let r =
        refresh_with(s, refresh_of(&tokens), &ClientAuth::IdOnly(s.t.client_id.clone())).await?;
    judge_error(
        sev,
        "a confidential client's refresh without authentication refused (RFC 6749 §6)",
        &r,
        &["invalid_client", "invalid_request", "unauthorized_client"],
    )
}

async fn refresh_wider_scope(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.refreshable().await?;
    let granted = tokens
        .raw
        .get("scope")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or(s.t.scope.clone())
        .unwrap_or_default();
    let wider = format!("{granted} authbench-never-granted").trim().to_owned();
    let r = s
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_of(&tokens)),
                ("scope", &wider),
            ],
            &s.client_auth(),
        )
        .await?;
    judge_error(
        sev,
        "400 invalid_scope: a refresh cannot widen the scope (RFC 6749 §6)",
        &r,
        &["invalid_scope"],
    )
}

async fn refresh_entropy(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.refreshable().await?;
    judge_entropy(sev, "refresh token", refresh_of(&tokens))
}

// ---------------------------------------------------------------- revocation

async fn revoke_access(s: &Session<'_>, sev: Severity) -> Outcome {
    s.revocation_endpoint()?;
    let tokens = s.any_tokens().await?;
    s.require_accepted(&tokens).await?;
    let r = s.revoke(&tokens.access_token, Some("access_token")).await?;
    let expected = "200 from revocation, then 401 at the resource (RFC 7009 §2.2)";
    if r.status != 200 {
        return unmet(sev, expected, observe(&r), "the revocation request failed");
    }
    judge_refused_at_rs(s, sev, expected, &tokens, "revoked").await
}

async fn revoke_refresh(s: &Session<'_>, sev: Severity, check_access: bool) -> Outcome {
    s.revocation_endpoint()?;
    let tokens = s.refreshable().await?;
    s.require_accepted(&tokens).await?;
    let r = s.revoke(refresh_of(&tokens), Some("refresh_token")).await?;
    if r.status != 200 {
        return unmet(sev, "200 from revocation", observe(&r), "the revocation request failed");
    }
    if check_access {
        let expected = "revoking a refresh token kills the grant's access tokens (RFC 7009 §2.1)";
        return judge_refused_at_rs(s, sev, expected, &tokens, "refresh token revoked").await;
    }
    let after = refresh_with(s, refresh_of(&tokens), &s.client_auth()).await?;
    judge_error(
        sev,
        "a revoked refresh token is refused: invalid_grant",
        &after,
        &["invalid_grant"],
    )
}

async fn revoke_garbage(s: &Session<'_>, sev: Severity) -> Outcome {
    s.revocation_endpoint()?;
    let r = s.revoke("authbench-not-a-token", None).await?;
    let expected = "200 for an unknown token (RFC 7009 §2.2)";
    if r.status == 200 {
        pass(expected, "200")
    } else {
        unmet(sev, expected, observe(&r), "an invalid token is not a revocation error")
    }
}

async fn revoke_without_auth(s: &Session<'_>, sev: Severity) -> Outcome {
    let url = s.revocation_endpoint()?;
    let tokens = s.any_tokens().await?;
    let r = s.post_form(&url, &[("token", &tokens.access_token)], &ClientAuth::None).await?;
    let expected =
        "revocation without client authentication refused; the token still works (RFC 7009 §2.1)";
    if r.status == 200 {
        let used = s.use_token(&tokens).await?;
        return if used.status == 200 {
            warn(
                expected,
                "200 from revocation, token untouched",
                "an unauthenticated request is answered 200",
            )
        } else {
            unmet(
                sev,
                expected,
                format!("200, then the token got {}", used.status),
                "anyone can revoke a token",
            )
        };
    }
    let used = s.use_token(&tokens).await?;
    if used.status == 200 {
        pass(expected, format!("revocation {}, token still 200", r.status))
    } else {
        unmet(
            sev,
            expected,
            format!("revocation {}, token {}", r.status, used.status),
            "the token died anyway",
        )
    }
}

async fn revoke_other_client(s: &Session<'_>, sev: Severity) -> Outcome {
    let url = s.revocation_endpoint()?;
    let other = s.other_client_auth()?;
    let tokens = s.any_tokens().await?;
    let r = s.post_form(&url, &[("token", &tokens.access_token)], &other).await?;
    let used = s.use_token(&tokens).await?;
    let expected = "another client cannot revoke the token (RFC 7009 §2.1)";
    let observed = format!("revocation {}, token then {}", r.status, used.status);
    if used.status == 200 {
        pass(expected, observed)
    } else {
        unmet(sev, expected, observed, "one client revoked another's token")
    }
}

/// Measured: how long after the revocation call the resource first refuses.
async fn revocation_latency(s: &Session<'_>, sev: Severity) -> Outcome {
    const DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);
    s.revocation_endpoint()?;
    let tokens = s.any_tokens().await?;
    s.require_accepted(&tokens).await?;
    let started = std::time::Instant::now();
    let r = s.revoke(&tokens.access_token, Some("access_token")).await?;
    if r.status != 200 {
        return unmet(sev, "200 from revocation", observe(&r), "the revocation request failed");
    }
    let acknowledged = started.elapsed();
    let expected =
        format!("the resource refuses the token within {} s of revocation", DEADLINE.as_secs());
    loop {
        let used = s.use_token(&tokens).await?;
        if used.status != 200 {
            let latency = started.elapsed().as_millis() as u64;
            return pass(
                &expected,
                format!(
                    "revocation latency {latency} ms (acknowledged after {} ms)",
                    acknowledged.as_millis()
                ),
            )
            .map(|v| v.measured("revocation_latency_ms", latency));
        }
        if started.elapsed() > DEADLINE {
            return unmet(
                sev,
                &expected,
                "still accepted after 10 s",
                "revocation does not reach the resource (until expiry)",
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------- introspection

async fn introspect_without_auth(s: &Session<'_>, sev: Severity) -> Outcome {
    let url = s.introspection_endpoint()?;
    let tokens = s.any_tokens().await?;
    let r = s.post_form(&url, &[("token", &tokens.access_token)], &ClientAuth::None).await?;
    let expected = "401 without client authentication (RFC 7662 §2.1)";
    let leaked = r.json().and_then(|b| b.get("active").and_then(Value::as_bool)) == Some(true);
    if leaked {
        unmet(sev, expected, observe(&r), "anyone can introspect tokens")
    } else if r.status == 401 {
        pass(expected, observe(&r))
    } else if (400..500).contains(&r.status) {
        form("form:refusal-status", expected, observe(&r), "refused, but not with 401")
    } else {
        unmet(sev, expected, observe(&r), "not refused")
    }
}

async fn introspect_active(s: &Session<'_>, sev: Severity) -> Outcome {
    s.introspection_endpoint()?;
    let tokens = s.any_tokens().await?;
    let r = s.introspect(&tokens.access_token).await?;
    let expected = "{\"active\": true, ...} for a live token (RFC 7662 §2.2)";
    match r.json().and_then(|b| b.get("active").and_then(Value::as_bool)) {
        Some(true) => pass(expected, "active: true"),
        _ => unmet(sev, expected, observe(&r), "a live token is not reported active"),
    }
}

async fn introspect_inactive(s: &Session<'_>, sev: Severity, revoked: bool) -> Outcome {
    s.introspection_endpoint()?;
    let token = if revoked {
        s.revocation_endpoint()?;
        let tokens = s.any_tokens().await?;
        let r = s.revoke(&tokens.access_token, Some("access_token")).await?;
        if r.status != 200 {
            return Err(Verdict::error("a revoked token", observe(&r)));
        }
        tokens.access_token
    } else {
        format!("authbench-unknown-{}", crate::forge::random_string(crate::forge::ALNUM, 32))
    };
    let r = s.introspect(&token).await?;
    let what = if revoked { "a revoked token" } else { "an unknown token" };
    let expected = format!("{{\"active\": false}} and nothing else for {what} (RFC 7662 §2.2)");
    let Some(body) = r.json().filter(|_| r.status == 200) else {
        return unmet(sev, &expected, observe(&r), "no introspection response");
    };
    let members: Vec<String> =
        body.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    match body.get("active").and_then(Value::as_bool) {
        Some(false) if members.len() == 1 => pass(&expected, "{\"active\": false}"),
        Some(false) => warn(
            &expected,
            format!("members {members:?}"),
            "details of an inactive token are disclosed",
        ),
        _ => unmet(sev, &expected, format!("members {members:?}"), "the token is reported active"),
    }
}

// ---------------------------------------------------------------- resource server

async fn rs_valid(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.any_tokens().await?;
    let r = s.use_token(&tokens).await?;
    let expected = "200 for a valid access token";
    if r.status == 200 {
        pass(expected, "200")
    } else {
        unmet(sev, expected, observe(&r), "refused")
    }
}

fn bearer_challenge(r: &RawResponse) -> Option<crate::engine::judge::Challenge> {
    r.header_values("www-authenticate")
        .flat_map(parse_challenges)
        .find(|c| c.scheme.eq_ignore_ascii_case("bearer") || c.scheme.eq_ignore_ascii_case("dpop"))
}

/// Judges a resource server's refusal in two parts: served (security),
/// then the form — the status, and a Bearer (or DPoP) challenge with `error`
/// (`None`: no error code, as for a request without a token).
fn judge_bearer_refusal(
    sev: Severity,
    expected: &str,
    r: &RawResponse,
    status: u16,
    error: Option<&str>,
) -> Outcome {
    let observed = observe(r);
    if is_served(r.status) {
        return unmet(sev, expected, observed, "served without a usable token");
    }
    if r.status >= 500 {
        return server_error(expected, r);
    }
    if r.status != status {
        return form(
            &format!("form:status-{}", r.status),
            expected,
            observed,
            &format!("not {status}"),
        );
    }
    let Some(challenge) = bearer_challenge(r) else {
        let key = if r.header("www-authenticate").is_none() {
            "form:no-challenge"
        } else {
            "form:challenge-scheme"
        };
        return form(key, expected, observed, "no Bearer challenge");
    };
    match (error, challenge.param("error")) {
        (None, None) => pass(expected, observed),
        (None, Some(_)) => form(
            "form:error-without-credentials",
            expected,
            observed,
            "an error code though no credentials were sent",
        ),
        (Some(want), Some(got)) if want == got => pass(expected, observed),
        (Some(want), _) => {
            form("form:error-code", expected, observed, &format!("no error=\"{want}\""))
        }
    }
}

async fn rs_no_token(s: &Session<'_>, sev: Severity) -> Outcome {
    let r = s.send(&RawRequest::get(s.t.resource_url.clone())).await?;
    let expected = "401 with a Bearer challenge and no error code (RFC 6750 §3.1)";
    judge_bearer_refusal(sev, expected, &r, 401, None)
}

async fn rs_invalid(s: &Session<'_>, sev: Severity) -> Outcome {
    let r = s.call(&s.t.resource_url, "Bearer", "authbench-not-a-token").await?;
    let expected = "401 Bearer error=\"invalid_token\" (RFC 6750 §3.1)";
    judge_bearer_refusal(sev, expected, &r, 401, Some("invalid_token"))
}

async fn rs_in_query(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.any_tokens().await?;
    let mut url = s.t.resource_url.clone();
    url.query_pairs_mut().append_pair("access_token", &tokens.access_token);
    let r = s.send(&RawRequest::get(url)).await?;
    let expected = "401: a token in the query string is not accepted (RFC 9700 §4.3.2)";
    if (200..300).contains(&r.status) {
        unmet(sev, expected, observe(&r), "the token was accepted from the URL")
    } else {
        pass(expected, observe(&r))
    }
}

async fn rs_header_and_body(s: &Session<'_>, _sev: Severity) -> Outcome {
    let tokens = s.any_tokens().await?;
    let request = RawRequest::form(
        s.t.resource_url.clone(),
        &[("access_token", tokens.access_token.as_str())],
    )
    .header("Authorization", format!("Bearer {}", tokens.access_token));
    let r = s.send(&request).await?;
    let expected = "400 invalid_request: a token in two places (RFC 6750 §2)";
    match r.status {
        400 => pass(expected, observe(&r)),
        s if (200..300).contains(&s) => {
            warn(expected, observe(&r), "accepted a request carrying the token twice")
        }
        // A resource that takes no POST cannot be asked (RFC 9110 §15.5.6, §15.6.2).
        405 | 501 => Err(Verdict::skip(format!(
            "the resource answers POST with {}: it takes no form body, so a token in two places cannot be tried",
            r.status
        ))),
        s if s >= 500 => server_error(expected, &r),
        s => form(&format!("form:status-{s}"), expected, observe(&r), "refused, but not with 400"),
    }
}

async fn rs_lowercase(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.any_tokens().await?;
    let r = s.call(&s.t.resource_url, "bearer", &tokens.access_token).await?;
    let expected = "200: auth schemes are case-insensitive (RFC 9110 §11.1)";
    if r.status == 200 {
        pass(expected, "200")
    } else {
        unmet(sev, expected, observe(&r), "`bearer` refused")
    }
}

async fn rs_insufficient_scope(s: &Session<'_>, sev: Severity) -> Outcome {
    let Some(url) = s.t.insufficient_scope_url.clone() else {
        return Err(Verdict::skip("the profile's [oauth2] has no insufficient_scope_url"));
    };
    let tokens = s.any_tokens().await?;
    let r = s.call(&url, "Bearer", &tokens.access_token).await?;
    // `scope=` in the challenge is a MAY (RFC 6750 §3): not required.
    let expected = "403 Bearer error=\"insufficient_scope\" (RFC 6750 §3.1)";
    judge_bearer_refusal(sev, expected, &r, 403, Some("insufficient_scope"))
}

async fn rs_other_audience(s: &Session<'_>, sev: Severity) -> Outcome {
    let Some(other) = s.t.other_resource.clone() else {
        return Err(Verdict::skip("the profile's [oauth2] has no other_resource"));
    };
    let mut fields = vec![("grant_type", "client_credentials"), ("resource", other.as_str())];
    if let Some(scope) = &s.t.scope {
        fields.push(("scope", scope));
    }
    let r = s.token(&fields, &s.client_auth()).await?;
    let tokens = Tokens::from_response(&r)
        .ok_or_else(|| Verdict::error("a token for the other resource", observe(&r)))?;
    let expected = "401: a token issued for another resource is refused (RFC 8707)";
    let used = s.use_token(&tokens).await?;
    match used.status {
        401 => pass(expected, observe(&used)),
        s if (200..300).contains(&s) => {
            unmet(sev, expected, observe(&used), "the audience is not checked")
        }
        _ => form("form:refusal-status", expected, observe(&used), "refused, but not with 401"),
    }
}

async fn rs_refresh_as_access(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.refreshable().await?;
    let r = s.call(&s.t.resource_url, "Bearer", refresh_of(&tokens)).await?;
    let expected = "401: a refresh token is not an access token";
    if (200..300).contains(&r.status) {
        unmet(sev, expected, observe(&r), "the resource accepted a refresh token")
    } else {
        pass(expected, observe(&r))
    }
}

async fn rs_opaque(s: &Session<'_>, sev: Severity) -> Outcome {
    let Some(client) = &s.t.opaque_client else {
        return Err(Verdict::skip("the profile's [oauth2] has no opaque_client"));
    };
    let auth = ClientAuth::Basic(client.client_id.clone(), client.client_secret.clone());
    let mut fields = vec![("grant_type", "client_credentials")];
    if let Some(scope) = &s.t.scope {
        fields.push(("scope", scope));
    }
    let r = s.token(&fields, &auth).await?;
    let tokens =
        Tokens::from_response(&r).ok_or_else(|| Verdict::error("an opaque token", observe(&r)))?;
    let expected = "an opaque token accepted, then refused once revoked";
    let used = s.use_token(&tokens).await?;
    if used.status != 200 {
        return unmet(sev, expected, observe(&used), "the opaque token is refused");
    }
    let Some(url) = s.meta.revocation_endpoint.clone() else {
        return pass(expected, "accepted (no revocation endpoint to go further)");
    };
    let revoked = s.post_form(&url, &[("token", &tokens.access_token)], &auth).await?;
    if revoked.status != 200 {
        return unmet(sev, expected, observe(&revoked), "revocation failed");
    }
    judge_refused_at_rs(s, sev, expected, &tokens, "accepted, revoked").await
}

/// Measured: how long a captured access token keeps working (its lifetime).
async fn replay_window(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.any_tokens().await?;
    for _ in 0..2 {
        s.require_accepted(&tokens).await?;
    }
    let expected = "a captured bearer token is replayable only for a bounded lifetime";
    match tokens.raw.get("expires_in").and_then(Value::as_u64) {
        Some(secs) => {
            pass(expected, format!("replayed twice; the window is expires_in = {secs} s"))
                .map(|v| v.measured("replay_window_s", secs))
        }
        None => unmet(
            sev,
            expected,
            "replayed twice; no expires_in",
            "the token's lifetime is not stated",
        ),
    }
}

// ---------------------------------------------------------------- DPoP

/// Tokens bound to `key`: a user's grant where the profile can log in, else
/// client credentials.
pub(crate) async fn dpop_tokens(s: &Session<'_>, key: &DpopKey) -> Result<Tokens, Verdict> {
    if !s.meta.supports_dpop() {
        return Err(Verdict::skip("the authorization server does not advertise DPoP"));
    }
    let url = s.meta.token_endpoint.clone();
    let proof = key.proof("POST", &url, None, None, None);
    // A user's grant where the profile can log in (the resource may serve
    // users only, as an OpenID Provider's userinfo does), else client credentials.
    let r = if s.t.login.is_some() {
        let req = s.auth_request();
        let code = s.code_for(&req).await?;
        let mut fields = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", req.get("redirect_uri").unwrap_or_default()),
            ("code_verifier", req.pkce.verifier.as_str()),
        ];
        if let Some(resource) = &s.t.resource {
            fields.push(("resource", resource));
        }
        s.token_with(&url, &fields, &s.client_auth(), &[("DPoP", proof)], None).await?
    } else {
        let mut fields = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &s.t.scope {
            fields.push(("scope", scope));
        }
        if let Some(resource) = &s.t.resource {
            fields.push(("resource", resource));
        }
        s.token_with(&url, &fields, &s.client_auth(), &[("DPoP", proof)], None).await?
    };
    Tokens::from_response(&r).ok_or_else(|| Verdict::error("a DPoP-bound token", observe(&r)))
}

async fn dpop_call(
    s: &Session<'_>,
    scheme: &str,
    token: &str,
    proof: Option<String>,
) -> Result<RawResponse, Verdict> {
    let mut request = RawRequest::get(s.t.resource_url.clone())
        .header("Authorization", format!("{scheme} {token}"));
    if let Some(p) = proof {
        request = request.header("DPoP", p);
    }
    s.send(&request).await
}

async fn dpop_bound(s: &Session<'_>, sev: Severity) -> Outcome {
    let key = DpopKey::generate()?;
    let tokens = dpop_tokens(s, &key).await?;
    let expected = "token_type DPoP, and the resource accepts it with a fresh proof (RFC 9449)";
    if !tokens.token_type.eq_ignore_ascii_case("dpop") {
        return unmet(
            sev,
            expected,
            format!("token_type {}", tokens.token_type),
            "the token is not DPoP-bound",
        );
    }
    let proof = key.proof("GET", &s.t.resource_url, Some(&tokens.access_token), None, None);
    let r = dpop_call(s, "DPoP", &tokens.access_token, Some(proof)).await?;
    if r.status == 200 {
        pass(expected, format!("token_type {}, resource 200", tokens.token_type))
    } else {
        unmet(sev, expected, observe(&r), "the resource refused a valid proof")
    }
}

#[derive(Clone, Copy)]
enum DpopMisuse {
    AsBearer,
    NoProof,
    OtherKey,
    Replayed,
    Proof(ProofFlaw),
}

async fn dpop_misuse(s: &Session<'_>, sev: Severity, misuse: DpopMisuse) -> Outcome {
    let key = DpopKey::generate()?;
    let tokens = dpop_tokens(s, &key).await?;
    let token = tokens.access_token.as_str();
    let url = &s.t.resource_url;
    let (expected, r) = match misuse {
        DpopMisuse::AsBearer => (
            "401: a DPoP-bound token sent as Bearer (RFC 9449 §7.2)",
            dpop_call(s, "Bearer", token, None).await?,
        ),
        DpopMisuse::NoProof => {
            ("401: a DPoP-bound token without a proof", dpop_call(s, "DPoP", token, None).await?)
        }
        DpopMisuse::OtherKey => {
            let other = DpopKey::generate()?;
            let proof = other.proof("GET", url, Some(token), None, None);
            (
                "401: a proof by another key (RFC 9449 §7.1)",
                dpop_call(s, "DPoP", token, Some(proof)).await?,
            )
        }
        DpopMisuse::Replayed => {
            let proof = key.proof("GET", url, Some(token), None, None);
            let first = dpop_call(s, "DPoP", token, Some(proof.clone())).await?;
            if first.status != 200 {
                return Err(Verdict::error("a fresh proof accepted", observe(&first)));
            }
            (
                "401: a proof replayed (RFC 9449 §11.1)",
                dpop_call(s, "DPoP", token, Some(proof)).await?,
            )
        }
        DpopMisuse::Proof(flaw) => {
            let other = DpopKey::generate()?;
            let proof = key.proof("GET", url, Some(token), Some(flaw), Some(&other));
            (
                "401: a spoiled DPoP proof (RFC 9449 §4.3)",
                dpop_call(s, "DPoP", token, Some(proof)).await?,
            )
        }
    };
    match r.status {
        401 => pass(expected, observe(&r)),
        st if (200..300).contains(&st) => unmet(sev, expected, observe(&r), "accepted"),
        st if st >= 500 => unmet(sev, expected, observe(&r), "a server error"),
        _ => form("form:refusal-status", expected, observe(&r), "refused, but not with 401"),
    }
}

async fn dpop_bad_proof_at_token(s: &Session<'_>, sev: Severity) -> Outcome {
    if !s.meta.supports_dpop() {
        return Err(Verdict::skip("the authorization server does not advertise DPoP"));
    }
    let key = DpopKey::generate()?;
    let url = s.meta.token_endpoint.clone();
    let proof = key.proof("POST", &url, None, Some(ProofFlaw::BadSignature), None);
    let r = s
        .token_with(
            &url,
            &[("grant_type", "client_credentials")],
            &s.client_auth(),
            &[("DPoP", proof)],
            None,
        )
        .await?;
    judge_error(
        sev,
        "400 invalid_dpop_proof at the token endpoint (RFC 9449 §5)",
        &r,
        &["invalid_dpop_proof"],
    )
}

// ---------------------------------------------------------------- plumbing
