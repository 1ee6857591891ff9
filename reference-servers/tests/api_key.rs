//! API keys over real sockets: header forms, query refusal, scopes, expiry,
//! revocation, rotation, and the admin API that manages them.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const CHALLENGE: &str = r#"ApiKey realm="authbench""#;

async fn create_key(s: &TestServer, body: Value) -> Value {
    let response = s.admin(Method::POST, "/api-keys").json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_key_works_in_either_header_and_nowhere_else() {
    let s = TestServer::start(&[]).await;
    let key = s.field("api_key", "key");
    assert_eq!(observe(s.get("/api-key/resource").header("X-API-Key", &key)).await.status, 200);
    assert_eq!(observe(s.get("/api-key/resource").header("x-api-key", &key)).await.status, 200);
    for scheme in ["ApiKey", "apikey", "APIKEY"] {
        let o =
            observe(s.get("/api-key/resource").header("Authorization", format!("{scheme} {key}")))
                .await;
        assert_eq!(o.status, 200, "{scheme}");
    }
    let missing = observe(s.get("/api-key/resource")).await;
    assert_eq!((missing.status, missing.challenge.as_deref()), (401, Some(CHALLENGE)));
    let query = observe(s.get(&format!("/api-key/resource?api_key={key}"))).await;
    assert_eq!((query.status, query.challenge.as_deref()), (401, Some(CHALLENGE)));
    let both =
        observe(s.get(&format!("/api-key/resource?api_key={key}")).header("X-API-Key", &key)).await;
    assert_eq!(both.status, 400);
    let twice =
        observe(s.get("/api-key/resource").header("X-API-Key", &key).header("X-API-Key", &key))
            .await;
    assert_eq!(twice.status, 400);
    // The key is never echoed back.
    for o in [missing, query, both, twice] {
        assert!(!o.body.contains(&key[8..]), "{o:?}");
    }
    s.stop().await;
}

#[tokio::test]
async fn unknown_revoked_mangled_and_expired_keys_all_get_the_same_answer() {
    let s = TestServer::start(&[]).await;
    let key = s.field("api_key", "key");
    let expiring = create_key(&s, json!({"client_id": "short-lived", "expires_in": 2})).await;
    let expiring = expiring["key"].as_str().unwrap().to_owned();
    assert_eq!(
        observe(s.get("/api-key/resource").header("X-API-Key", &expiring)).await.status,
        200
    );

    let mut flipped = key.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let reference =
        observe(s.get("/api-key/resource").header("X-API-Key", s.field("api_key", "revoked_key")))
            .await;
    assert_eq!((reference.status, reference.challenge.as_deref()), (401, Some(CHALLENGE)));
    for bad in [
        flipped,
        key[..key.len() - 1].to_owned(),
        format!("{key}x"),
        key.to_uppercase(),
        key.replacen("sk_live_", "sk_test_", 1),
        "sk_live_".to_owned(),
        "%00".to_owned(),
    ] {
        assert_eq!(
            observe(s.get("/api-key/resource").header("X-API-Key", &bad)).await,
            reference,
            "{bad}"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let o = observe(s.get("/api-key/resource").header("X-API-Key", &expiring)).await;
        if o.status == 401 {
            assert_eq!(o, reference);
            break;
        }
        assert!(Instant::now() < deadline, "the key never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s.stop().await;
}

#[tokio::test]
async fn a_valid_key_without_the_scope_is_forbidden() {
    let s = TestServer::start(&[]).await;
    let o =
        observe(s.get("/api-key/privileged").header("X-API-Key", s.field("api_key", "key"))).await;
    assert_eq!(o.status, 403);
    assert_eq!(
        o.challenge.as_deref(),
        Some(r#"ApiKey realm="authbench", error="insufficient_scope", scope="write""#)
    );
    let writer = create_key(&s, json!({"client_id": "writer", "scopes": ["read", "write"]})).await;
    let o =
        observe(s.get("/api-key/privileged").header("X-API-Key", writer["key"].as_str().unwrap()))
            .await;
    assert_eq!(o.status, 200);
    s.stop().await;
}

#[tokio::test]
async fn rotation_keeps_both_keys_until_the_old_one_is_revoked() {
    let s = TestServer::start(&[]).await;
    let old = create_key(&s, json!({"client_id": "rotating"})).await;
    let new = create_key(&s, json!({"client_id": "rotating"})).await;
    let (old_key, new_key) = (old["key"].as_str().unwrap(), new["key"].as_str().unwrap());
    for k in [old_key, new_key] {
        assert_eq!(observe(s.get("/api-key/resource").header("X-API-Key", k)).await.status, 200);
    }
    let listed: Value = s
        .admin(Method::GET, "/api-keys?client_id=rotating")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    // Listing never shows the secret, only the prefix.
    assert!(
        listed
            .iter()
            .all(|k| k.get("key").is_none() && k["display_prefix"].as_str().unwrap().len() == 16)
    );

    let revoked = s
        .admin(Method::POST, &format!("/api-keys/{}/revoke", old["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(observe(s.get("/api-key/resource").header("X-API-Key", old_key)).await.status, 401);
    assert_eq!(observe(s.get("/api-key/resource").header("X-API-Key", new_key)).await.status, 200);
    let missing = s.admin(Method::POST, "/api-keys/key_nope/revoke").send().await.unwrap();
    assert_eq!(missing.status(), 404);
    s.stop().await;
}

#[tokio::test]
async fn test_mode_keys_are_refused_by_a_live_deployment() {
    let s = TestServer::start(&[]).await;
    let test_key = create_key(&s, json!({"client_id": "sandbox", "mode": "test"})).await;
    let key = test_key["key"].as_str().unwrap();
    assert!(key.starts_with("sk_test_"));
    assert_eq!(observe(s.get("/api-key/resource").header("X-API-Key", key)).await.status, 401);
    s.stop().await;
}

#[tokio::test]
async fn the_admin_api_requires_its_own_credential() {
    let s = TestServer::start(&[]).await;
    let key = s.field("api_key", "key");
    for auth in [None, Some("wrong-token".to_owned()), Some(key)] {
        let mut request = s.client.post(s.url("/admin/api-keys")).json(&json!({"client_id": "x"}));
        if let Some(token) = auth {
            request = request.bearer_auth(token);
        }
        let o = observe(request).await;
        assert_eq!(o.status, 401);
        assert!(o.challenge.unwrap().starts_with("Bearer realm="));
    }
    let bad = s
        .admin(Method::POST, "/api-keys")
        .json(&json!({"client_id": "x", "expires_in": -5}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let dup = s
        .admin(Method::POST, "/users")
        .json(&json!({"username": "alice", "password": "long-enough"}))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 409);
    s.stop().await;
}

#[tokio::test]
async fn a_flood_of_invalid_keys_throttles_the_source_for_a_while() {
    let s = TestServer::start_with(&[], |c| {
        c.api_key_throttle.max_invalid = 5;
        c.api_key_throttle.base_lockout = Duration::from_millis(300);
        c.api_key_throttle.max_lockout = Duration::from_millis(600);
    })
    .await;
    let key = s.field("api_key", "key");
    let bad = format!("{}{}", &key[..key.len() - 1], if key.ends_with('A') { 'B' } else { 'A' });
    for _ in 0..5 {
        assert_eq!(observe(s.get("/api-key/resource").header("X-API-Key", &bad)).await.status, 401);
    }
    // Locked: even the valid key is not checked, so a correct guess learns nothing.
    let locked = s.get("/api-key/resource").header("X-API-Key", &key).send().await.unwrap();
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));
    // A request without a key is not a guess: it still gets the challenge.
    assert_eq!(observe(s.get("/api-key/resource")).await.status, 401);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = observe(s.get("/api-key/resource").header("X-API-Key", &key)).await.status;
        if status == 200 {
            break;
        }
        assert_eq!(status, 429);
        assert!(Instant::now() < deadline, "the lockout never ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.stop().await;
}
