//! The flaw matrix: each flaw changes the behaviour it names and nothing else.
//!
//! One fixed set of probes runs against the correct servers and against each
//! flawed server; the probes whose observations differ must be exactly those
//! the flaw is expected to change.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use authbench_servers::Flaw;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey};

async fn probes(server: &TestServer) -> BTreeMap<&'static str, Observed> {
    let password = server.field("basic", "password");
    let key = server.field("api_key", "key");
    let revoked_key = server.field("api_key", "revoked_key");
    let kid = server.rs256_kid();
    let rsa = server.rs256_key();
    let rs =
        |claims: &serde_json::Value| sign(&header("RS256", &kid), claims, &rsa, Algorithm::RS256);
    let jwt_get = |token: String| server.get("/jwt/rs256/resource").bearer_auth(token);

    let mut expired = claims();
    expired["exp"] = (now() - 60).into();
    let mut no_exp = claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut wrong_aud = claims();
    wrong_aud["aud"] = "urn:someone-else".into();
    let mut no_aud = claims();
    no_aud.as_object_mut().unwrap().remove("aud");
    let none_token =
        format!("{}.{}.", b64(r#"{"alg":"nOnE","typ":"at+jwt"}"#), b64(&claims().to_string()));
    let confused = sign(
        &header("HS256", &kid),
        &claims(),
        &EncodingKey::from_secret(&server.rs256_public_pem()).unwrap(),
        Algorithm::HS256,
    );
    let valid = rs(&claims());
    let (head, rest) = valid.split_once('.').unwrap();
    let (payload, _) = rest.split_once('.').unwrap();
    let bad_signature = format!("{head}.{payload}.{}", b64("not the signature"));
    // A forged key sharing the real key's public prefix (first 16 characters).
    let forged_key = format!("{}{}", &key[..16], "A".repeat(key.len() - 16));

    let mut out = BTreeMap::new();
    out.insert("baseline", observe(server.get("/baseline")).await);
    out.insert(
        "basic-valid",
        observe(server.get("/basic/resource").basic_auth("alice", Some(&password))).await,
    );
    out.insert("basic-missing", observe(server.get("/basic/resource")).await);
    out.insert(
        "basic-wrong-password",
        observe(server.get("/basic/resource").basic_auth("alice", Some("wrong"))).await,
    );
    out.insert(
        "basic-unknown-user",
        observe(server.get("/basic/resource").basic_auth("mallory", Some("wrong"))).await,
    );
    out.insert(
        "api-key-valid",
        observe(server.get("/api-key/resource").header("X-API-Key", &key)).await,
    );
    out.insert("api-key-missing", observe(server.get("/api-key/resource")).await);
    out.insert(
        "api-key-revoked",
        observe(server.get("/api-key/resource").header("X-API-Key", &revoked_key)).await,
    );
    out.insert(
        "api-key-in-query",
        observe(server.get(&format!("/api-key/resource?api_key={key}"))).await,
    );
    out.insert(
        "api-key-forged-prefix",
        observe(server.get("/api-key/resource").header("X-API-Key", &forged_key)).await,
    );
    out.insert(
        "api-key-scope",
        observe(server.get("/api-key/privileged").header("X-API-Key", &key)).await,
    );
    out.insert("jwt-valid", observe(jwt_get(valid.clone())).await);
    out.insert("jwt-missing", observe(server.get("/jwt/rs256/resource")).await);
    out.insert("jwt-alg-none", observe(jwt_get(none_token)).await);
    out.insert("jwt-expired", observe(jwt_get(rs(&expired))).await);
    out.insert("jwt-no-exp", observe(jwt_get(rs(&no_exp))).await);
    out.insert("jwt-wrong-aud", observe(jwt_get(rs(&wrong_aud))).await);
    out.insert("jwt-no-aud", observe(jwt_get(rs(&no_aud))).await);
    out.insert("jwt-key-confusion", observe(jwt_get(confused)).await);
    out.insert("jwt-bad-signature", observe(jwt_get(bad_signature)).await);
    out.insert("jwt-scope", observe(server.get("/jwt/rs256/privileged").bearer_auth(&valid)).await);
    out
}

fn normalise(mut observed: Observed) -> Observed {
    // Bodies name the principal nowhere, but keep them out of the comparison
    // except through `error`, which is what a flaw may change.
    observed.body.clear();
    observed
}

async fn differences(flaw: Flaw) -> BTreeSet<&'static str> {
    let correct = TestServer::start(&[]).await;
    let flawed = TestServer::start(&[flaw]).await;
    let a = probes(&correct).await;
    let b = probes(&flawed).await;
    // The correct servers' own answers are pinned by the per-method tests; here
    // check the few that make the matrix meaningful.
    assert_eq!(a["basic-valid"].status, 200);
    assert_eq!(a["api-key-valid"].status, 200);
    assert_eq!(a["jwt-valid"].status, 200);
    let diff = a
        .into_iter()
        .filter(|(name, obs)| normalise(obs.clone()) != normalise(b[name].clone()))
        .map(|(name, _)| name)
        .collect();
    correct.stop().await;
    flawed.stop().await;
    diff
}

macro_rules! flaw_changes_only {
    ($test:ident, $flaw:expr, [$($probe:literal),*]) => {
        #[tokio::test]
        async fn $test() {
            let expected: BTreeSet<&str> = [$($probe),*].into_iter().collect();
            assert_eq!(differences($flaw).await, expected);
        }
    };
}

flaw_changes_only!(
    basic_no_challenge,
    Flaw::BasicNoChallenge,
    ["basic-missing", "basic-unknown-user", "basic-wrong-password"]
);
flaw_changes_only!(basic_user_enumeration, Flaw::BasicUserEnumeration, ["basic-unknown-user"]);
flaw_changes_only!(api_key_accept_revoked, Flaw::ApiKeyAcceptRevoked, ["api-key-revoked"]);
flaw_changes_only!(api_key_accept_query, Flaw::ApiKeyAcceptQuery, ["api-key-in-query"]);
flaw_changes_only!(api_key_prefix_match, Flaw::ApiKeyPrefixMatch, ["api-key-forged-prefix"]);
flaw_changes_only!(jwt_accept_alg_none, Flaw::JwtAcceptAlgNone, ["jwt-alg-none"]);
flaw_changes_only!(jwt_skip_exp, Flaw::JwtSkipExp, ["jwt-expired", "jwt-no-exp"]);
flaw_changes_only!(jwt_skip_aud, Flaw::JwtSkipAud, ["jwt-no-aud", "jwt-wrong-aud"]);
flaw_changes_only!(jwt_key_confusion, Flaw::JwtKeyConfusion, ["jwt-key-confusion"]);
flaw_changes_only!(jwt_skip_signature, Flaw::JwtSkipSignature, ["jwt-bad-signature"]);

#[test]
fn every_flaw_is_in_the_matrix() {
    // Adding a flaw without a matrix row must fail this test.
    // OAuth, mTLS and layered flaws have their own tests (oauth_flaws.rs,
    // mtls.rs, layered.rs); the OpenAPI flaws' per-operation bugs are proven
    // by the checks that catch them (harness/tests/openapi_checks.rs).
    let source = include_str!("flaws.rs");
    // A flaw seen only through many requests (a flood) is proven by its row
    // in the harness's self-test matrix instead.
    let matrix = include_str!("../../harness/tests/self_test.rs");
    // The transport flaws act before HTTP: sniff.rs's unit test and the
    // harness's transport cases (self_test.rs) prove them.
    let own_tests = ["oauth-", "mtls-", "layered-", "openapi-", "tls-"];
    for flaw in
        Flaw::ALL.iter().filter(|f| !own_tests.iter().any(|prefix| f.name().starts_with(prefix)))
    {
        let variant = format!("{flaw:?}");
        assert!(
            source.contains(&format!("Flaw::{variant},"))
                || source.contains(&format!("&[Flaw::{variant}]"))
                || matrix.contains(&format!("=> Flaw::{variant},")),
            "no matrix row for {flaw}"
        );
    }
}

/// `no-challenge` drops the challenge from every answer that had one, and
/// changes nothing else: the statuses stay, what is refused stays refused.
#[tokio::test]
async fn no_challenge_changes_only_the_challenges() {
    let correct = TestServer::start(&[]).await;
    let flawed = TestServer::start(&[Flaw::NoChallenge]).await;
    let a = probes(&correct).await;
    let b = probes(&flawed).await;
    correct.stop().await;
    flawed.stop().await;
    let mut changed = Vec::new();
    for (name, before) in &a {
        let after = &b[name];
        assert_eq!(before.status, after.status, "{name}: the status changed");
        if normalise(before.clone()) != normalise(after.clone()) {
            assert!(before.challenge.is_some() && after.challenge.is_none(), "{name}: {after:?}");
            changed.push(*name);
        }
    }
    // Every refusal of the matrix carried a challenge.
    assert!(changed.len() >= 14, "{changed:?}");
}
