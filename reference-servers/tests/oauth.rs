//! OAuth 2.0 over real sockets: every flow, with the HTML login and consent
//! forms, each error path, DPoP, each flaw, and state across a restart.

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
    // Trusted: redirected with error, state and iss.
    for (name, value, error) in [
        ("code_challenge", None, "invalid_request"),
        ("code_challenge_method", Some("plain"), "invalid_request"),
        ("code_challenge_method", None, "invalid_request"),
        ("response_type", Some("token"), "unsupported_response_type"),
        ("scope", Some("admin"), "invalid_scope"),
    ] {
        let r =
            b.http.get(s.url("/oauth/authorize")).query(&with(name, value)).send().await.unwrap();
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
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let s = TestServer::start(&[]).await;
    let b = Browser::new(&s);
    let first = code_flow(&s, &b).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let (status, second, _) =
        token_request(&s, &b, &[("grant_type", "refresh_token"), ("refresh_token", r1)]).await;
    assert_eq!(status, 200, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2, "rotated");
    let access2 = second["access_token"].as_str().unwrap();
    assert_eq!(call(&s, &b, "/oauth/resource", access2).await.status, 200);
    let (status, wider, _) = token_request(
        &s,
        &b,
        &[("grant_type", "refresh_token"), ("refresh_token", r2), ("scope", "read write")],
    )
    .await;
    assert_eq!((status, wider["error"].as_str()), (400, Some("invalid_scope")));
    // The old refresh token comes back: the whole family dies.
    let (status, reuse, _) =
        token_request(&s, &b, &[("grant_type", "refresh_token"), ("refresh_token", r1)]).await;
    assert_eq!((status, reuse["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(call(&s, &b, "/oauth/resource", access2).await.status, 401);
    let (status, _, _) =
        token_request(&s, &b, &[("grant_type", "refresh_token"), ("refresh_token", r2)]).await;
    assert_eq!(status, 400);
    s.stop().await;
}

#[tokio::test]
async fn client_authentication_and_error_shapes() {
    let s = TestServer::start(&[]).await;
    let b = Browser::new(&s);
    let id = oauth(&s, "client_id");
    let secret = oauth(&s, "client_secret");
    let form = [("grant_type", "client_credentials")];
    // client_secret_post works too.
    let post = b.http.post(s.url("/oauth/token")).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &id),
        ("client_secret", &secret),
    ]);
    assert_eq!(post.send().await.unwrap().status(), 200);
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            b.http.post(s.url("/oauth/token")).basic_auth(&id, Some("wrong")).form(&form),
            401,
            "invalid_client",
        ),
        (b.http.post(s.url("/oauth/token")).form(&form), 401, "invalid_client"),
        (
            b.http
                .post(s.url("/oauth/token"))
                .basic_auth(&id, Some(&secret))
                .form(&[("grant_type", "client_credentials"), ("client_secret", &secret)]),
            400,
            "invalid_request",
        ),
        (
            b.http.post(s.url("/oauth/token")).basic_auth(&id, Some(&secret)).form(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "x"),
            ]),
            400,
            "unsupported_grant_type",
        ),
        (
            b.http.post(s.url("/oauth/token")).basic_auth(&id, Some(&secret)).form(&[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ]),
            400,
            "invalid_request",
        ),
        (
            b.http
                .post(s.url(&format!("/oauth/token?client_secret={secret}")))
                .basic_auth(&id, Some(&secret))
                .form(&form),
            400,
            "invalid_request",
        ),
    ];
    for (request, status, error) in cases {
        let r = request.send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{error}");
        assert_eq!(r.headers()["cache-control"], "no-store");
        if status == 401 {
            assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic "));
        }
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], error);
        assert!(!body["error_description"].as_str().unwrap().contains(['\r', '\n']));
    }
    assert_eq!(b.http.get(s.url("/oauth/token")).send().await.unwrap().status(), 405);
    s.stop().await;
}

#[tokio::test]
async fn opaque_tokens_introspection_and_revocation() {
    let s = TestServer::start(&[]).await;
    let b = Browser::new(&s);
    let opaque = &s.profile["oauth2"]["opaque_client"];
    let (id, secret) =
        (opaque["client_id"].as_str().unwrap(), opaque["client_secret"].as_str().unwrap());
    let body: Value = b
        .http
        .post(s.url("/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("ato_") && !token.contains('.'));
    assert_eq!(call(&s, &b, "/oauth/resource", &token).await.status, 200);
    let introspect = |t: String| {
        b.http.post(s.url("/oauth/introspect")).basic_auth(id, Some(secret)).form(&[("token", t)])
    };
    let info: Value = introspect(token.clone()).send().await.unwrap().json().await.unwrap();
    assert_eq!((info["active"].as_bool(), info["client_id"].as_str()), (Some(true), Some(id)));
    let unauthenticated =
        b.http.post(s.url("/oauth/introspect")).form(&[("token", &token)]).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    // Revocation needs client authentication, answers 200 for garbage, and works.
    let revoke = |t: &str| {
        b.http.post(s.url("/oauth/revoke")).basic_auth(id, Some(secret)).form(&[("token", t)])
    };
    assert_eq!(
        b.http
            .post(s.url("/oauth/revoke"))
            .form(&[("token", &token)])
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(revoke("garbage").send().await.unwrap().status(), 200);
    assert_eq!(revoke(&token).send().await.unwrap().status(), 200);
    let info: Value = introspect(token.clone()).send().await.unwrap().json().await.unwrap();
    assert_eq!(info, json!({ "active": false }));
    assert_eq!(call(&s, &b, "/oauth/resource", &token).await.status, 401);
    s.stop().await;
}

#[tokio::test]
async fn revoking_a_refresh_token_kills_its_access_tokens() {
    let s = TestServer::start(&[]).await;
    let b = Browser::new(&s);
    let tokens = code_flow(&s, &b).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(call(&s, &b, "/oauth/resource", access).await.status, 200);
    let r = b
        .http
        .post(s.url("/oauth/revoke"))
        .basic_auth(oauth(&s, "client_id"), Some(oauth(&s, "client_secret")))
        .form(&[
            ("token", tokens["refresh_token"].as_str().unwrap()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(call(&s, &b, "/oauth/resource", access).await.status, 401);
    s.stop().await;
}

#[tokio::test]
async fn tokens_for_another_resource_are_refused() {
    let s = TestServer::start(&[]).await;
    let b = Browser::new(&s);
    let other = oauth(&s, "other_resource");
    let (status, body, _) =
        token_request(&s, &b, &[("grant_type", "client_credentials"), ("resource", &other)]).await;
    assert_eq!(status, 200, "{body}");
    let o = call(&s, &b, "/oauth/resource", body["access_token"].as_str().unwrap()).await;
    assert_eq!(o.status, 401);
    let (status, _, _) = token_request(
        &s,
        &b,
        &[("grant_type", "client_credentials"), ("resource", "https://elsewhere.example")],
    )
    .await;
    assert_eq!(status, 400);
    s.stop().await;
}

#[tokio::test]
async fn dpop_binds_tokens_to_a_key() {
    let s = TestServer::start(&[]).await;
    let b = Browser::new(&s);
    let k = dpop_key();
    let token_url = format!("{}/oauth/token", oauth(&s, "issuer"));
    let resource_url = format!("{}/oauth/resource", oauth(&s, "issuer"));
    let response = b
        .http
        .post(s.url("/oauth/token"))
        .basic_auth(oauth(&s, "client_id"), Some(oauth(&s, "client_secret")))
        .header("DPoP", proof(&k, "POST", &token_url, None))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let with = |proof: String| {
        b.http
            .get(s.url("/oauth/resource"))
            .header("Authorization", format!("DPoP {token}"))
            .header("DPoP", proof)
    };
    let good = proof(&k, "GET", &resource_url, Some(&token));
    assert_eq!(observe(with(good.clone())).await.status, 200);
    let replayed = observe(with(good)).await;
    assert_eq!(replayed.status, 401, "a replayed proof");
    assert!(replayed.challenge.unwrap().starts_with("DPoP "));
    assert_eq!(
        observe(b.http.get(s.url("/oauth/resource")).bearer_auth(&token)).await.status,
        401,
        "as a bearer token"
    );
    assert_eq!(
        observe(
            b.http.get(s.url("/oauth/resource")).header("Authorization", format!("DPoP {token}"))
        )
        .await
        .status,
        401,
        "no proof"
    );
    let other = dpop_key();
    assert_eq!(
        observe(with(proof(&other, "GET", &resource_url, Some(&token)))).await.status,
        401,
        "another key"
    );
    assert_eq!(
        observe(with(proof(&k, "POST", &resource_url, Some(&token)))).await.status,
        401,
        "wrong htm"
    );
    assert_eq!(
        observe(with(proof(&k, "GET", &token_url, Some(&token)))).await.status,
        401,
        "wrong htu"
    );
    assert_eq!(
        observe(with(proof(&k, "GET", &resource_url, Some("other")))).await.status,
        401,
        "wrong ath"
    );
    assert_eq!(observe(with(proof(&k, "GET", &resource_url, None))).await.status, 401, "no ath");
    // A bad proof at the token endpoint.
    let r = b
        .http
        .post(s.url("/oauth/token"))
        .basic_auth(oauth(&s, "client_id"), Some(oauth(&s, "client_secret")))
        .header("DPoP", proof(&k, "GET", &token_url, None))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof");
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
