//! OAuth 2.0 over real sockets, after the code flow: refresh rotation,
//! client authentication and error shapes, opaque tokens, introspection and
//! revocation, resource indicators, and DPoP.

#![allow(clippy::unwrap_used)]

mod common;

use common::oauth::*;
use common::*;

use serde_json::{Value, json};

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
