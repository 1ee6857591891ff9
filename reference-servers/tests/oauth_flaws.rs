//! Each OAuth flaw changes the behaviour it names: the attack it enables
//! succeeds with the flaw and fails without it.

#![allow(clippy::unwrap_used)]

mod common;

use authbench_servers::Flaw;
use common::oauth::*;
use common::*;
use serde_json::Value;

async fn exchange(s: &TestServer, b: &Browser, code: &str, verifier: Option<&str>) -> (u16, Value) {
    let redirect = oauth(s, "redirect_uri");
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect.as_str()),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let (status, body, _) = token_request(s, b, &form).await;
    (status, body)
}

#[tokio::test]
async fn oauth_allow_code_reuse() {
    differs(Flaw::OauthAllowCodeReuse, |s| async move {
        let b = Browser::new(&s);
        let (verifier, challenge) = pkce();
        let q = approve(&s, &b, &authorize_params(&s, &challenge, "s")).await;
        let code = param(&q, "code").unwrap().to_owned();
        assert_eq!(exchange(&s, &b, &code, Some(&verifier)).await.0, 200);
        let second = exchange(&s, &b, &code, Some(&verifier)).await.0 == 200;
        (second, s)
    })
    .await;
}

async fn authorize_status(s: &TestServer, params: &[(String, String)]) -> u16 {
    let b = Browser::new(s);
    b.http.get(s.url("/oauth/authorize")).query(params).send().await.unwrap().status().as_u16()
}

fn without(params: Vec<(String, String)>, name: &str) -> Vec<(String, String)> {
    params.into_iter().filter(|(n, _)| n != name).collect()
}

#[tokio::test]
async fn oauth_pkce_optional() {
    // Errors redirected at once (not after login), so that 200 means accepted.
    differs_with(&[Flaw::OauthErrorsBeforeLogin], Flaw::OauthPkceOptional, |s| async move {
        let params = without(
            without(authorize_params(&s, "x", "s"), "code_challenge"),
            "code_challenge_method",
        );
        // 200: the login page, i.e. the request without PKCE was accepted.
        (authorize_status(&s, &params).await == 200, s)
    })
    .await;
}

#[tokio::test]
async fn oauth_accept_plain_pkce() {
    differs_with(&[Flaw::OauthErrorsBeforeLogin], Flaw::OauthAcceptPlainPkce, |s| async move {
        let mut params =
            without(authorize_params(&s, &"p".repeat(43), "s"), "code_challenge_method");
        params.push(("code_challenge_method".into(), "plain".into()));
        (authorize_status(&s, &params).await == 200, s)
    })
    .await;
}

#[tokio::test]
async fn oauth_redirect_prefix_match() {
    differs(Flaw::OauthRedirectPrefixMatch, |s| async move {
        let evil = format!("{}.attacker.example/steal", oauth(&s, "redirect_uri"));
        let mut params = without(authorize_params(&s, &pkce().1, "s"), "redirect_uri");
        params.push(("redirect_uri".into(), evil));
        (authorize_status(&s, &params).await == 200, s)
    })
    .await;
}

#[tokio::test]
async fn oauth_no_refresh_rotation() {
    differs(Flaw::OauthNoRefreshRotation, |s| async move {
        let b = Browser::new(&s);
        let tokens = code_flow(&s, &b).await;
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let first =
            token_request(&s, &b, &[("grant_type", "refresh_token"), ("refresh_token", refresh)])
                .await
                .0;
        assert_eq!(first, 200);
        // Replaying the same refresh token: refused (and the family revoked) when rotated.
        let again =
            token_request(&s, &b, &[("grant_type", "refresh_token"), ("refresh_token", refresh)])
                .await
                .0;
        (again == 200, s)
    })
    .await;
}

#[tokio::test]
async fn oauth_revocation_ignored() {
    differs(Flaw::OauthRevocationIgnored, |s| async move {
        let b = Browser::new(&s);
        let tokens = code_flow(&s, &b).await;
        let access = tokens["access_token"].as_str().unwrap();
        let r = b
            .http
            .post(s.url("/oauth/revoke"))
            .basic_auth(oauth(&s, "client_id"), Some(oauth(&s, "client_secret")))
            .form(&[("token", access)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        (call(&s, &b, "/oauth/resource", access).await.status == 200, s)
    })
    .await;
}

#[tokio::test]
async fn oauth_rs_skip_audience() {
    differs(Flaw::OauthRsSkipAudience, |s| async move {
        let b = Browser::new(&s);
        let other = oauth(&s, "other_resource");
        let (_, body, _) =
            token_request(&s, &b, &[("grant_type", "client_credentials"), ("resource", &other)])
                .await;
        (
            call(&s, &b, "/oauth/resource", body["access_token"].as_str().unwrap()).await.status
                == 200,
            s,
        )
    })
    .await;
}

#[tokio::test]
async fn oauth_dpop_skip_replay_check() {
    differs(Flaw::OauthDpopSkipReplayCheck, |s| async move {
        let b = Browser::new(&s);
        let k = dpop_key();
        let token_url = format!("{}/oauth/token", oauth(&s, "issuer"));
        let body: Value = b
            .http
            .post(s.url("/oauth/token"))
            .basic_auth(oauth(&s, "client_id"), Some(oauth(&s, "client_secret")))
            .header("DPoP", proof(&k, "POST", &token_url, None))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = body["access_token"].as_str().unwrap().to_owned();
        let p = proof(&k, "GET", &format!("{}/oauth/resource", oauth(&s, "issuer")), Some(&token));
        let send = || {
            b.http
                .get(s.url("/oauth/resource"))
                .header("Authorization", format!("DPoP {token}"))
                .header("DPoP", p.clone())
        };
        assert_eq!(observe(send()).await.status, 200);
        (observe(send()).await.status == 200, s)
    })
    .await;
}

/// Every OAuth flaw is proven: by a probe here, or by its row in the
/// harness's self-test matrix, which runs the whole catalog against the
/// flawed server and requires exactly the cases naming the flaw to change.
#[test]
fn every_oauth_flaw_has_a_test() {
    let source = include_str!("oauth_flaws.rs");
    let matrix = include_str!("../../harness/tests/self_test.rs");
    for flaw in authbench_servers::Flaw::ALL.iter().filter(|f| f.name().starts_with("oauth-")) {
        let variant = format!("{flaw:?}");
        assert!(
            source.contains(&format!("async fn {}()", flaw.name().replace('-', "_")))
                || matrix.contains(&format!("=> Flaw::{variant},")),
            "no test for {flaw}"
        );
    }
}
