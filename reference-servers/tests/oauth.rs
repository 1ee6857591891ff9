//! OAuth 2.0 over real sockets: metadata, the code flow with the HTML login
//! and consent forms, authorization errors, CSRF, PKCE, code expiry and
//! races, and state across a restart (the token endpoint's other grants,
//! revocation, introspection and DPoP: oauth_tokens.rs).

#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::oauth::*;
use common::*;

use serde_json::{Value, json};

#[tokio::test]
async fn metadata_describes_the_server() {
    let s = TestServer::start(&[]).await;
    let m: Value = s
        .get("/.well-known/oauth-authorization-server")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["issuer"], oauth(&s, "issuer"));
    assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "jwks_uri",
    ] {
        assert!(m[endpoint].as_str().unwrap().starts_with(&oauth(&s, "issuer")), "{endpoint}");
    }
    s.stop().await;
}

#[tokio::test]
async fn the_code_flow_issues_tokens_the_resource_server_accepts() {
    let s = TestServer::start(&[]).await;
    let b = Browser::new(&s);
    let (verifier, challenge) = pkce();
    let state = "odd state with spaces & symbols ✓";
    let query = approve(&s, &b, &authorize_params(&s, &challenge, state)).await;
    assert_eq!(param(&query, "state"), Some(state), "state is returned unchanged");
    assert_eq!(param(&query, "iss"), Some(oauth(&s, "issuer").as_str()), "RFC 9207 iss");
    let code = param(&query, "code").unwrap().to_owned();
    let redirect = oauth(&s, "redirect_uri");
    let (status, body, headers) = token_request(
        &s,
        &b,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    assert_eq!(body["token_type"], "Bearer");
    let access = body["access_token"].as_str().unwrap();
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(access.split('.').next().unwrap()).unwrap())
            .unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(call(&s, &b, "/oauth/resource", access).await.status, 200);
    let forbidden = call(&s, &b, "/oauth/privileged", access).await;
    assert_eq!(forbidden.status, 403);
    assert!(forbidden.challenge.unwrap().contains("insufficient_scope"));
    let missing = observe(b.http.get(s.url("/oauth/resource"))).await;
    assert_eq!(missing.status, 401);
    assert!(missing.challenge.unwrap().starts_with("Bearer realm="));
    let in_query =
        observe(b.http.get(s.url(&format!("/oauth/resource?access_token={access}")))).await;
    assert_eq!(in_query.status, 401);

    // The code is single-use; its reuse revokes what it issued.
    let (status, again, _) = token_request(
        &s,
        &b,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!((status, again["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(call(&s, &b, "/oauth/resource", access).await.status, 401);
    let (status, refreshed, _) = token_request(
        &s,
        &b,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!((status, refreshed["error"].as_str()), (400, Some("invalid_grant")));
    s.stop().await;
}

#[tokio::test]
async fn authorization_errors_go_to_the_client_only_when_it_is_trusted() {
    let s = TestServer::start(&[]).await;
    let b = Browser::new(&s);
    let (_, challenge) = pkce();
    let base = authorize_params(&s, &challenge, "st");
    let with = |name: &str, value: Option<&str>| {
        let mut p: Vec<(String, String)> =
            base.iter().filter(|(n, _)| n != name).cloned().collect();
        if let Some(v) = value {
            p.push((name.to_owned(), v.to_owned()));
        }
        p
    };
    // Untrusted: an error page, never a redirect.
    let redirect = oauth(&s, "redirect_uri");
    for (name, value) in [
        ("client_id", Some("nobody")),
        ("redirect_uri", Some("https://attacker.example/callback")),
        ("redirect_uri", Some(&format!("{redirect}/../evil") as &str)),
        ("redirect_uri", Some(&format!("{redirect}?x=1") as &str)),
        ("redirect_uri", Some(&redirect.to_uppercase() as &str)),
        ("client_id", None),
        ("redirect_uri", None),
    ] {
        let r =
            b.http.get(s.url("/oauth/authorize")).query(&with(name, value)).send().await.unwrap();
        assert_eq!(r.status(), 400, "{name}={value:?}");
        assert!(r.headers().get("location").is_none());
    }
    // Trusted: redirected with error, state and iss — once the user has
    // signed in, never before (RFC 9700 §4.11.2).
    for (name, value, error) in [
        ("code_challenge", None, "invalid_request"),
        ("code_challenge_method", Some("plain"), "invalid_request"),
        ("code_challenge_method", None, "invalid_request"),
        ("response_type", Some("token"), "unsupported_response_type"),
        ("scope", Some("admin"), "invalid_scope"),
    ] {
        let page =
            b.http.get(s.url("/oauth/authorize")).query(&with(name, value)).send().await.unwrap();
        assert_eq!(page.status(), 200, "{name}={value:?}: the login page first");
        assert!(page.headers().get("location").is_none());
        let cookie =
            page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let html = page.text().await.unwrap();
        let r = b
            .http
            .post(s.url("/oauth/login"))
            .header("cookie", &cookie)
            .form(&[
                ("request", hidden(&html, "request")),
                ("csrf", hidden(&html, "csrf")),
                ("username", "alice".to_owned()),
                ("password", s.field("basic", "password")),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{name}={value:?}");
        let q = query_of(r.headers()["location"].to_str().unwrap());
        assert_eq!(param(&q, "error"), Some(error), "{name}={value:?}");
        assert_eq!(param(&q, "state"), Some("st"));
        assert_eq!(param(&q, "iss"), Some(oauth(&s, "issuer").as_str()));
    }
    // A repeated parameter is invalid_request.
    let mut twice = base.clone();
    twice.push(("scope".into(), "write".into()));
    let r = b.http.get(s.url("/oauth/authorize")).query(&twice).send().await.unwrap();
    assert_eq!(
        param(&query_of(r.headers()["location"].to_str().unwrap()), "error"),
        Some("invalid_request")
    );
    s.stop().await;
}

#[tokio::test]
async fn the_forms_are_protected_against_csrf() {
    let s = TestServer::start(&[]).await;
    let b = Browser::new(&s);
    let (_, challenge) = pkce();
    let page = b
        .http
        .get(s.url("/oauth/authorize"))
        .query(&authorize_params(&s, &challenge, "x"))
        .send()
        .await
        .unwrap();
    let cookie =
        page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let password = s.field("basic", "password");
    let form = |csrf: String| {
        [
            ("request", hidden(&html, "request")),
            ("csrf", csrf),
            ("username", "alice".into()),
            ("password", password.clone()),
        ]
    };
    let no_cookie =
        b.http.post(s.url("/oauth/login")).form(&form(hidden(&html, "csrf"))).send().await.unwrap();
    assert_eq!(no_cookie.status(), 403);
    let wrong_csrf = b
        .http
        .post(s.url("/oauth/login"))
        .header("cookie", &cookie)
        .form(&form("forged".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_csrf.status(), 403);
    let wrong_password = b
        .http
        .post(s.url("/oauth/login"))
        .header("cookie", &cookie)
        .form(&[
            ("request", hidden(&html, "request")),
            ("csrf", hidden(&html, "csrf")),
            ("username", "alice".into()),
            ("password", "nope".into()),
        ])
        .send()
        .await
        .unwrap();
    assert!(wrong_password.text().await.unwrap().contains("Wrong username or password"));
    s.stop().await;
}

#[tokio::test]
async fn pkce_and_code_binding_are_enforced_at_the_token_endpoint() {
    let s = TestServer::start(&[]).await;
    let b = Browser::new(&s);
    let redirect = oauth(&s, "redirect_uri");
    let other_redirect = "https://client.authbench.test/other-callback";
    for (verifier_case, redirect_uri, expected) in [
        ("wrong", redirect.as_str(), "invalid_grant"),
        ("missing", redirect.as_str(), "invalid_grant"),
        ("short", redirect.as_str(), "invalid_grant"),
        ("right", other_redirect, "invalid_grant"),
    ] {
        let (verifier, challenge) = pkce();
        let q = approve(&s, &b, &authorize_params(&s, &challenge, "s")).await;
        let code = param(&q, "code").unwrap().to_owned();
        let verifier = match verifier_case {
            "wrong" => pkce().0,
            "short" => verifier[..40].to_owned(),
            _ => verifier,
        };
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect_uri),
        ];
        if verifier_case != "missing" {
            form.push(("code_verifier", &verifier));
        }
        let (status, body, _) = token_request(&s, &b, &form).await;
        assert_eq!((status, body["error"].as_str()), (400, Some(expected)), "{verifier_case}");
    }
    // A code redeemed by another client.
    let (verifier, challenge) = pkce();
    let q = approve(&s, &b, &authorize_params(&s, &challenge, "s")).await;
    let other = &s.profile["oauth2"]["other_client"];
    let r = b
        .http
        .post(s.url("/oauth/token"))
        .basic_auth(other["client_id"].as_str().unwrap(), other["client_secret"].as_str())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", param(&q, "code").unwrap()),
            ("redirect_uri", &redirect),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    s.stop().await;
}

#[tokio::test]
async fn codes_expire() {
    let s = TestServer::start_with(&[], |c| c.oauth.code_lifetime_secs = 0).await;
    let b = Browser::new(&s);
    let (verifier, challenge) = pkce();
    let q = approve(&s, &b, &authorize_params(&s, &challenge, "s")).await;
    let redirect = oauth(&s, "redirect_uri");
    let (status, body, _) = token_request(
        &s,
        &b,
        &[
            ("grant_type", "authorization_code"),
            ("code", param(&q, "code").unwrap()),
            ("redirect_uri", &redirect),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    s.stop().await;
}

#[tokio::test]
async fn state_survives_a_restart() {
    let s = TestServer::start(&[]).await;
    let b = Browser::new(&s);
    let tokens = code_flow(&s, &b).await;
    let revoked = code_flow(&s, &b).await;
    let r = b
        .http
        .post(s.url("/oauth/revoke"))
        .basic_auth(oauth(&s, "client_id"), Some(oauth(&s, "client_secret")))
        .form(&[("token", revoked["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let s = s.restart(&[]).await;
    let b = Browser::new(&s);
    assert_eq!(
        call(&s, &b, "/oauth/resource", tokens["access_token"].as_str().unwrap()).await.status,
        200
    );
    assert_eq!(
        call(&s, &b, "/oauth/resource", revoked["access_token"].as_str().unwrap()).await.status,
        401
    );
    let (status, _, _) = token_request(
        &s,
        &b,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = token_request(
        &s,
        &b,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", revoked["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 400);
    s.stop().await;
}

#[tokio::test]
async fn of_parallel_exchanges_of_one_code_exactly_one_wins() {
    let s = TestServer::start(&[]).await;
    let b = Browser::new(&s);
    let (verifier, challenge) = pkce();
    let q = approve(&s, &b, &authorize_params(&s, &challenge, "s")).await;
    let code = param(&q, "code").unwrap().to_owned();
    let redirect = oauth(&s, "redirect_uri");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let one = || token_request(&s, &b, &form);
    let results = tokio::join!(one(), one(), one(), one(), one(), one());
    let results = [results.0, results.1, results.2, results.3, results.4, results.5];
    let winners: Vec<&Value> =
        results.iter().filter(|(status, _, _)| *status == 200).map(|(_, body, _)| body).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    // The losers' replay revoked the winner's tokens too.
    let access = winners[0]["access_token"].as_str().unwrap();
    assert_eq!(call(&s, &b, "/oauth/resource", access).await.status, 401);
    s.stop().await;
}
