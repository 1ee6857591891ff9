//! `conform --methods openapi` against the reference servers' own document:
//! every check passes against the correct servers (or is skipped for a
//! reason the profile states), and each per-operation flaw is caught by
//! exactly the checks that should catch it, and by nothing else — the
//! catalog's cases included.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use authbench::catalog::load_catalog;
use authbench::commands::conform::{OpenApiRun, RunOptions, run_against};
use authbench::embedded::Embedded;
use authbench_reports::{Outcome, Results};
use authbench_servers::Flaw;

async fn run(flaws: &[Flaw], catalog: bool) -> Results {
    let cases = if catalog { load_catalog(None).unwrap().cases } else { Vec::new() };
    let embedded = Embedded::start(flaws).await.unwrap();
    let options = RunOptions { openapi: OpenApiRun::Yes(None), ..RunOptions::default() };
    let results = run_against(&embedded.profile_path(), cases, &options).await.unwrap();
    embedded.stop().await;
    results
}

fn not_passing(results: &Results) -> (BTreeSet<String>, Vec<String>) {
    let failing =
        results.cases.iter().filter(|c| !matches!(c.outcome, Outcome::Pass | Outcome::Skip));
    let ids = failing.clone().map(|c| c.id.clone()).collect();
    let details = failing
        .map(|c| format!("{} {}: {:?} ({})", c.outcome.as_str(), c.id, c.reason, c.observed))
        .collect();
    (ids, details)
}

/// Why a check against the correct servers may be skipped: each a limit of
/// the profile the servers write, stated in the reason.
const SKIPS: &[&str] = &[
    // The admin API changes state.
    "changes state: set [openapi] unsafe_methods = true",
    // The admin token is mapped to "none"; the admin API's GET cannot be controlled.
    "the profile can meet no requirement of this operation",
    // The profile's API key has scope read; the privileged resource needs write.
    "the requirement lists `write` for `apiKey`",
    // Schemes presented alike (two bearer schemes, two X-API-Key schemes).
    "is presented exactly as a scheme this operation accepts",
    // The layered token's scopes are minted by the layered section.
    "whose scopes authbench cannot choose",
    // carol's token is minted with [jwt]'s key: not an OAuth or layered credential.
    "identity `carol` has no credential for a scheme of this operation",
];

#[tokio::test]
async fn every_check_passes_against_the_correct_servers() {
    let results = run(&[], false).await;
    let (failing, details) = not_passing(&results);
    assert!(failing.is_empty(), "{details:#?}");
    let passed = results.cases.iter().filter(|c| c.outcome == Outcome::Pass).count();
    assert!(passed >= 200, "only {passed} checks passed");
    for c in results.cases.iter().filter(|c| c.outcome == Outcome::Skip) {
        let reason = c.reason.as_deref().unwrap_or_default();
        assert!(SKIPS.iter().any(|s| reason.contains(s)), "{}: skipped: {reason}", c.id);
    }
    // Only safe methods were sent; every case names its operation and its line.
    for c in &results.cases {
        let op = c.operation.as_ref().unwrap_or_else(|| panic!("{} names no operation", c.id));
        assert!(op.line > 1, "{}", c.id);
        if !matches!(op.method.as_str(), "GET" | "HEAD" | "OPTIONS") {
            assert_eq!(c.outcome, Outcome::Skip, "{} was sent", c.id);
        }
    }
    let ids: Vec<&str> = results.cases.iter().map(|c| c.id.as_str()).collect();
    for expected in [
        "openapi::getOrder::control",
        "openapi::getOrder::jwt-without-read",
        "openapi::getInvoice::apiKey-alone",
        "openapi::oauthResource::oauth2-without-read",
        "openapi::mtls::invalid-clientCertificate",
        "openapi::layered::layeredKey-alone",
        "openapi::basic::encoded-path-without-credentials",
        "openapi::baseline::public",
        "openapi::getOrder::objects-of-bob",
        "openapi::getInvoice::objects-of-bob",
        "openapi::getOrder::function-of-carol",
        "openapi::jwtPrivileged::function-of-carol",
    ] {
        let c = results.cases.iter().find(|c| c.id == expected);
        assert_eq!(c.map(|c| c.outcome), Some(Outcome::Pass), "{expected} in {ids:?}");
    }
}

async fn caught_exactly(flaw: Flaw, expected: &[&str]) {
    let results = run(&[flaw], true).await;
    let (failing, details) = not_passing(&results);
    let expected: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(failing, expected, "with {flaw}: {details:#?}");
}

#[tokio::test]
async fn an_operation_without_its_check() {
    caught_exactly(
        Flaw::OpenapiUnprotectedOperation,
        &[
            "openapi::getOrder::no-credentials",
            "openapi::getOrder::invalid-jwt",
            "openapi::getOrder::jwt-without-read",
            "openapi::getOrder::head-without-credentials",
            "openapi::getOrder::scheme-confusion-apiKey",
            "openapi::getOrder::scheme-confusion-basic",
            "openapi::getOrder::scheme-confusion-clientCertificate",
            "openapi::getOrder::scheme-confusion-layeredCertificate",
            "openapi::getOrder::scheme-confusion-layeredKey",
            // The profile's token is served bob's order: no check, no owner.
            "openapi::getOrder::objects-of-bob",
            // carol, with no scope, is served too.
            "openapi::getOrder::function-of-carol",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_scope_not_enforced() {
    // carol is still refused the order: it is not hers (404), scope or not.
    caught_exactly(Flaw::OpenapiScopeNotEnforced, &["openapi::getOrder::jwt-without-read"]).await;
}

#[tokio::test]
async fn an_and_taken_as_an_or() {
    caught_exactly(
        Flaw::OpenapiAndAsOr,
        &[
            "openapi::getInvoice::apiKey-alone",
            "openapi::getInvoice::jwt-alone",
            "openapi::getInvoice::invalid-apiKey",
            "openapi::getInvoice::invalid-jwt",
            "openapi::getInvoice::jwt-without-read",
            // The key alone is enough, so carol's token beside it is served.
            "openapi::getInvoice::function-of-carol",
        ],
    )
    .await;
}

#[tokio::test]
async fn another_user_s_object_served() {
    caught_exactly(
        Flaw::OpenapiOtherUsersObject,
        &["openapi::getOrder::objects-of-bob", "openapi::getInvoice::objects-of-bob"],
    )
    .await;
}
