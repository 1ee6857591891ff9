//! The self-test matrix: every case passes against the correct reference
//! servers; with a flaw switched on, exactly the cases declaring it stop
//! passing, and no other case changes.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use authbench::conform::{Embedded, load_catalog, run_against};
use authbench_reports::Outcome;
use authbench_servers::Flaw;

async fn not_passing(flaws: &[Flaw]) -> (BTreeSet<String>, Vec<String>) {
    let catalog = load_catalog(None).unwrap();
    let cases = catalog.cases;
    let embedded = Embedded::start(flaws).await.unwrap();
    let results = run_against(&embedded.profile_path(), cases, false).await.unwrap();
    embedded.stop().await;
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
            for flaw in Flaw::ALL {
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
    jwt_accept_alg_none => Flaw::JwtAcceptAlgNone,
    jwt_skip_exp => Flaw::JwtSkipExp,
    jwt_skip_aud => Flaw::JwtSkipAud,
    jwt_key_confusion => Flaw::JwtKeyConfusion,
    jwt_skip_signature => Flaw::JwtSkipSignature,
    oauth_allow_code_reuse => Flaw::OauthAllowCodeReuse,
    oauth_pkce_optional => Flaw::OauthPkceOptional,
    oauth_accept_plain_pkce => Flaw::OauthAcceptPlainPkce,
    oauth_redirect_prefix_match => Flaw::OauthRedirectPrefixMatch,
    oauth_no_refresh_rotation => Flaw::OauthNoRefreshRotation,
    oauth_revocation_ignored => Flaw::OauthRevocationIgnored,
    oauth_rs_skip_audience => Flaw::OauthRsSkipAudience,
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
