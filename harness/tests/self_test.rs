//! The self-test matrix: every case passes against the correct reference
//! servers; with a flaw switched on, exactly the cases declaring it stop
//! passing, and no other case changes.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use authbench::catalog::load_catalog;
use authbench::commands::conform::run_against;
use authbench::embedded::Embedded;
use authbench_reports::{FindingKind, Outcome, Results};
use authbench_servers::Flaw;

async fn run(flaws: &[Flaw]) -> Results {
    let catalog = load_catalog(None).unwrap();
    // A flawed server runs every case but those that only wait (a code's or
    // a request_uri's lifetime) or measure time alone, unless they name the
    // flaw: the correct servers' run covers them, and with them each of the
    // sixty rows would wait out the same lifetimes again.
    let slow = |c: &authbench_scenarios::Case| match &c.body {
        authbench_scenarios::CaseBody::Step(id) => {
            authbench::methods::schedule(id) != authbench::methods::Schedule::Normal
        }
        _ => false,
    };
    let cases = catalog
        .cases
        .into_iter()
        .filter(|c| {
            flaws.is_empty()
                || !slow(c)
                || c.flaws.iter().any(|f| flaws.iter().any(|x| x.name() == f))
        })
        .collect();
    let embedded = Embedded::start(flaws).await.unwrap();
    let results = run_against(&embedded.profile_path(), cases, &Default::default()).await.unwrap();
    embedded.stop().await;
    results
}

async fn not_passing(flaws: &[Flaw]) -> (BTreeSet<String>, Vec<String>) {
    let results = run(flaws).await;
    let failing = results.cases.iter().filter(|c| c.outcome != Outcome::Pass);
    let ids = failing.clone().map(|c| c.id.clone()).collect();
    let details = failing
        .map(|c| format!("{} {}: {:?} ({})", c.outcome.as_str(), c.id, c.reason, c.observed))
        .collect();
    (ids, details)
}

#[tokio::test]
async fn every_case_passes_against_the_correct_servers() {
    let (failing, details) = not_passing(&[]).await;
    assert!(failing.is_empty(), "{details:#?}");
    let catalog = load_catalog(None).unwrap();
    assert!(catalog.cases.len() >= 60, "only {} cases", catalog.cases.len());
}

async fn check(flaw: Flaw) {
    let catalog = load_catalog(None).unwrap();
    let declared: BTreeSet<String> = catalog
        .cases
        .iter()
        .filter(|c| c.flaws.iter().any(|f| f == flaw.name()))
        .map(|c| c.id.clone())
        .collect();
    assert!(!declared.is_empty(), "no case declares {flaw}: it would go undetected");
    let (failing, details) = not_passing(&[flaw]).await;
    assert_eq!(failing, declared, "with {flaw}: {details:#?}");
}

macro_rules! flaw_is_caught_exactly {
    ($($test:ident => $flaw:expr),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                check($flaw).await;
            }
        )*

        #[test]
        fn every_flaw_has_a_row() {
            let rows = [$($flaw),*];
            // `no-challenge` touches every refusal's form: its own tests below.
            // The OpenAPI flaws plant per-operation bugs no catalog case
            // sees: `tests/openapi_checks.rs` proves them.
            let own_tests = |f: &Flaw| *f == Flaw::NoChallenge || f.name().starts_with("openapi-");
            for flaw in Flaw::ALL.iter().filter(|f| !own_tests(f)) {
                assert!(rows.contains(flaw), "no self-test row for {flaw}");
            }
        }
    };
}

flaw_is_caught_exactly! {
    basic_no_challenge => Flaw::BasicNoChallenge,
    basic_user_enumeration => Flaw::BasicUserEnumeration,
    api_key_accept_revoked => Flaw::ApiKeyAcceptRevoked,
    api_key_accept_query => Flaw::ApiKeyAcceptQuery,
    api_key_prefix_match => Flaw::ApiKeyPrefixMatch,
    api_key_trust_forwarded_for => Flaw::ApiKeyTrustForwardedFor,
    api_key_ignore_allowlist => Flaw::ApiKeyIgnoreAllowlist,
    api_key_allowlist_reveals_key => Flaw::ApiKeyAllowlistRevealsKey,
    api_key_allowlist_trusts_forwarded_for => Flaw::ApiKeyAllowlistTrustsForwardedFor,
    api_key_usage_untracked => Flaw::ApiKeyUsageUntracked,
    jwt_accept_alg_none => Flaw::JwtAcceptAlgNone,
    jwt_skip_exp => Flaw::JwtSkipExp,
    jwt_skip_aud => Flaw::JwtSkipAud,
    jwt_key_confusion => Flaw::JwtKeyConfusion,
    jwt_follow_jku => Flaw::JwtFollowJku,
    jwt_default_hmac_secret => Flaw::JwtDefaultHmacSecret,
    jwt_kid_command => Flaw::JwtKidCommand,
    jwt_skip_signature => Flaw::JwtSkipSignature,
    jwt_ecdsa_psychic => Flaw::JwtEcdsaPsychic,
    jwt_jwks_private_members => Flaw::JwtJwksPrivateMembers,
    jwt_jwks_malformed_key => Flaw::JwtJwksMalformedKey,
    jwt_jwks_weak_key => Flaw::JwtJwksWeakKey,
    jwt_jwks_duplicate_kid => Flaw::JwtJwksDuplicateKid,
    oauth_allow_code_reuse => Flaw::OauthAllowCodeReuse,
    oauth_pkce_optional => Flaw::OauthPkceOptional,
    oauth_accept_plain_pkce => Flaw::OauthAcceptPlainPkce,
    oauth_redirect_prefix_match => Flaw::OauthRedirectPrefixMatch,
    oauth_no_refresh_rotation => Flaw::OauthNoRefreshRotation,
    oauth_revocation_ignored => Flaw::OauthRevocationIgnored,
    oauth_rs_skip_audience => Flaw::OauthRsSkipAudience,
    oauth_strict_token_parameters => Flaw::OauthStrictTokenParameters,
    oauth_any_response_type => Flaw::OauthAnyResponseType,
    oauth_client_credentials_refresh => Flaw::OauthClientCredentialsRefresh,
    oauth_long_lived_tokens => Flaw::OauthLongLivedTokens,
    oauth_framable_pages => Flaw::OauthFramablePages,
    oauth_par_without_client_auth => Flaw::OauthParWithoutClientAuth,
    oauth_par_any_client => Flaw::OauthParAnyClient,
    oauth_errors_before_login => Flaw::OauthErrorsBeforeLogin,
    oauth_login_307 => Flaw::OauthLogin307,
    oauth_login_302 => Flaw::OauthLogin302,
    oauth_loopback_exact_port => Flaw::OauthLoopbackExactPort,
    oauth_redirect_scheme_lax => Flaw::OauthRedirectSchemeLax,
    oauth_refresh_any_resource => Flaw::OauthRefreshAnyResource,
    oauth_refresh_truncated => Flaw::OauthRefreshTruncated,
    oauth_sub_is_client => Flaw::OauthSubIsClient,
    oauth_open_redirect => Flaw::OauthOpenRedirect,
    oauth_public_client_id_optional => Flaw::OauthPublicClientIdOptional,
    oauth_trust_forwarded_host => Flaw::OauthTrustForwardedHost,
    oauth_unknown_client_redirects => Flaw::OauthUnknownClientRedirects,
    oauth_authorize_cors => Flaw::OauthAuthorizeCors,
    oauth_rs_accept_query => Flaw::OauthRsAcceptQuery,
    oauth_jar_unverified => Flaw::OauthJarUnverified,
    oauth_jar_merges_query => Flaw::OauthJarMergesQuery,
    oauth_jar_client_id_unchecked => Flaw::OauthJarClientIdUnchecked,
    oauth_jar_required_not_enforced => Flaw::OauthJarRequiredNotEnforced,
    oauth_dpop_token_endpoint_lax => Flaw::OauthDpopTokenEndpointLax,
    oauth_revocation_any_client => Flaw::OauthRevocationAnyClient,
    oauth_weak_client_secret => Flaw::OauthWeakClientSecret,
    oauth_rs_skip_signature => Flaw::OauthRsSkipSignature,
    oauth_client_assertion_unverified => Flaw::OauthClientAssertionUnverified,
    oauth_client_assertion_claims_unchecked => Flaw::OauthClientAssertionClaimsUnchecked,
    oauth_client_assertion_replay => Flaw::OauthClientAssertionReplay,
    oauth_par_required_not_enforced => Flaw::OauthParRequiredNotEnforced,
    oauth_par_reusable_request_uri => Flaw::OauthParReusableRequestUri,
    oauth_par_short_request_uri => Flaw::OauthParShortRequestUri,
    oauth_fetch_request_uri => Flaw::OauthFetchRequestUri,
    oauth_assertion_follow_jku => Flaw::OauthAssertionFollowJku,
    oauth_par_request_uri_never_expires => Flaw::OauthParRequestUriNeverExpires,
    oauth_short_opaque_tokens => Flaw::OauthShortOpaqueTokens,
    oauth_pkce_challenge_as_verifier => Flaw::OauthPkceChallengeAsVerifier,
    oauth_code_exchange_without_auth => Flaw::OauthCodeExchangeWithoutAuth,
    oauth_no_referrer_policy => Flaw::OauthNoReferrerPolicy,
    tls_legacy_versions => Flaw::TlsLegacyVersions,
    tls_weak_ciphers => Flaw::TlsWeakCiphers,
    tls_plain_http => Flaw::TlsPlainHttp,
    oauth_dpop_skip_replay_check => Flaw::OauthDpopSkipReplayCheck,
    mtls_skip_crl => Flaw::MtlsSkipCrl,
    mtls_accept_any_ca => Flaw::MtlsAcceptAnyCa,
    mtls_ignore_eku => Flaw::MtlsIgnoreEku,
    mtls_ignore_expiry => Flaw::MtlsIgnoreExpiry,
    mtls_trust_forwarded_header => Flaw::MtlsTrustForwardedHeader,
    mtls_skip_token_binding => Flaw::MtlsSkipTokenBinding,
    layered_skip_binding => Flaw::LayeredSkipBinding,
    layered_any_one_layer => Flaw::LayeredAnyOneLayer,
    layered_verbose_refusal => Flaw::LayeredVerboseRefusal,
}

fn declaring(flaw: Flaw) -> BTreeSet<String> {
    let catalog = load_catalog(None).unwrap();
    catalog
        .cases
        .iter()
        .filter(|c| c.flaws.iter().any(|f| f == flaw.name()))
        .map(|c| c.id.clone())
        .collect()
}

fn summary(results: &Results) -> Vec<String> {
    results.findings.iter().map(|f| format!("{} {:?}", f.id, f.cases)).collect()
}

/// A server that refuses everything it must but never sends a challenge: no
/// security failure, one form finding (a MUST of RFC 9110 §15.5.2, so the
/// run fails) naming every case that saw a bare refusal.
#[tokio::test]
async fn without_challenges_one_form_finding_and_no_security_finding() {
    let results = run(&[Flaw::NoChallenge]).await;
    let broken: Vec<_> = results
        .cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Fail | Outcome::Error))
        .map(|c| format!("{} {:?} {}", c.id, c.reason, c.observed))
        .collect();
    assert!(broken.is_empty(), "{broken:#?}");
    assert_eq!(results.findings.len(), 1, "{:#?}", summary(&results));
    let finding = &results.findings[0];
    assert_eq!((finding.id.as_str(), finding.kind), ("form:no-challenge", FindingKind::Form));
    assert_eq!(finding.severity, "must");
    let warned: Vec<String> =
        results.cases.iter().filter(|c| c.outcome == Outcome::Warn).map(|c| c.id.clone()).collect();
    assert_eq!(finding.cases, warned);
    assert!(finding.cases.len() > 50, "only {} cases saw a bare refusal", finding.cases.len());
    assert!(finding.cases.iter().any(|c| c == "jwt::alg-none"));
    assert!(results.failed(false));
}

/// `jwt-skip-exp` with `no-challenge`: two findings, each with exactly its
/// cases — the lifetime hole (a security finding naming the cases that
/// declare the flaw) and the missing challenges (every other non-pass).
#[tokio::test]
async fn skip_exp_and_no_challenge_are_two_findings_with_exactly_their_cases() {
    let results = run(&[Flaw::JwtSkipExp, Flaw::NoChallenge]).await;
    assert_eq!(results.findings.len(), 2, "{:#?}", summary(&results));
    let security = &results.findings[0];
    assert_eq!(security.kind, FindingKind::Security, "{:#?}", summary(&results));
    assert_eq!(security.id, "security:exp-not-enforced");
    let cases: BTreeSet<String> = security.cases.iter().cloned().collect();
    assert_eq!(cases, declaring(Flaw::JwtSkipExp));
    let form = &results.findings[1];
    assert_eq!(form.id, "form:no-challenge");
    assert!(form.cases.iter().all(|c| !cases.contains(c)));
    let not_passing: BTreeSet<String> = results
        .cases
        .iter()
        .filter(|c| c.outcome != Outcome::Pass && c.outcome != Outcome::Skip)
        .map(|c| c.id.clone())
        .collect();
    let explained: BTreeSet<String> = security.cases.iter().chain(&form.cases).cloned().collect();
    assert_eq!(explained, not_passing);
}

/// A `[[jwt.variants]]` resource that refuses its own valid tokens is
/// reported by the variants' positive control: here a "PS256" variant
/// pointed at the RS256 resource, which accepts RS256 alone.
#[tokio::test]
async fn a_variant_refusing_its_valid_tokens_is_reported() {
    let embedded = Embedded::start(&[]).await.unwrap();
    let profile = embedded.profile_path();
    let text = std::fs::read_to_string(&profile).unwrap();
    let jwt = text.split("\n[jwt]\n").nth(1).unwrap();
    let field = |name: &str| {
        jwt.lines().find_map(|l| l.strip_prefix(&format!("{name} = "))).unwrap().to_owned()
    };
    let (url, key) = (field("url"), field("signing_key_file"));
    let wrong = profile.with_file_name("ps256-variant.toml");
    std::fs::write(
        &wrong,
        format!("{text}\n[[jwt.variants]]\nalgorithm = \"PS256\"\nurl = {url}\nsigning_key_file = {key}\n"),
    )
    .unwrap();
    let catalog = load_catalog(None).unwrap();
    let case: Vec<_> =
        catalog.cases.into_iter().filter(|c| c.id == "jwt::variants-serve-valid-tokens").collect();
    let results = run_against(&wrong, case.clone(), &Default::default()).await.unwrap();
    let r = &results.cases[0];
    assert_eq!(r.outcome, Outcome::Warn, "{r:?}");
    assert!(r.observed.starts_with("PS256: 401"), "{r:?}");
    // The reference's own variants (ES256, EdDSA, HS256) serve theirs.
    let results = run_against(&profile, case, &Default::default()).await.unwrap();
    assert_eq!(results.cases[0].outcome, Outcome::Pass, "{:?}", results.cases[0]);
    assert!(results.cases[0].observed.contains("ES256"), "{:?}", results.cases[0]);
    embedded.stop().await;
}
