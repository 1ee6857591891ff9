//! HTTP Basic (RFC 7617) over real sockets.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use reqwest::Method;

const CHALLENGE: &str = r#"Basic realm="authbench", charset="UTF-8""#;

#[tokio::test]
async fn valid_credentials_get_the_baseline_payload_and_everything_else_a_challenge() {
    let s = TestServer::start(&[]).await;
    let password = s.field("basic", "password");
    let baseline = s.get("/baseline").send().await.unwrap().text().await.unwrap();
    let ok = observe(s.get("/basic/resource").basic_auth("alice", Some(&password))).await;
    assert_eq!((ok.status, ok.body.as_str()), (200, baseline.as_str()));

    for request in [
        s.get("/basic/resource"),
        s.get("/basic/resource").basic_auth("alice", Some("wrong")),
        s.get("/basic/resource").header("Authorization", "Basic !!!not-base64"),
        s.get("/basic/resource")
            .header("Authorization", format!("Basic {}", STANDARD.encode("no-colon"))),
        s.get("/basic/resource").header("Authorization", "Basic "),
        s.get("/basic/resource").header("Authorization", format!("Basic {}", "A".repeat(8000))),
        s.get("/basic/resource").bearer_auth("alice"),
    ] {
        let o = observe(request).await;
        assert_eq!(o.status, 401, "{o:?}");
        assert_eq!(o.challenge.as_deref(), Some(CHALLENGE));
    }
    s.stop().await;
}

#[tokio::test]
async fn scheme_is_case_insensitive_and_password_splits_at_the_first_colon() {
    let s = TestServer::start(&[]).await;
    let created = s
        .admin(Method::POST, "/users")
        .json(&serde_json::json!({"username": "zoë", "password": "pa:ss:wörd-🔑"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let credentials = STANDARD.encode("zoë:pa:ss:wörd-🔑");
    for scheme in ["Basic", "basic", "BASIC", "bAsIc"] {
        let o = observe(
            s.get("/basic/resource").header("Authorization", format!("{scheme} {credentials}")),
        )
        .await;
        assert_eq!(o.status, 200, "scheme {scheme}");
    }
    // Near misses of the password fail.
    for wrong in ["pa:ss:WÖRD-🔑", "pa:ss:wörd-🔑 ", "pa:ss:wörd-", "pa"] {
        let o = observe(s.get("/basic/resource").basic_auth("zoë", Some(wrong))).await;
        assert_eq!(o.status, 401, "{wrong}");
    }
    // A long password (ASVS 6.2.9: at least 64 characters allowed).
    let long = "x".repeat(100);
    s.admin(Method::POST, "/users")
        .json(&serde_json::json!({"username": "long", "password": long}))
        .send()
        .await
        .unwrap();
    assert_eq!(observe(s.get("/basic/resource").basic_auth("long", Some(&long))).await.status, 200);
    s.stop().await;
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let s = TestServer::start(&[]).await;
    let wrong = observe(s.get("/basic/resource").basic_auth("alice", Some("wrong"))).await;
    let unknown = observe(s.get("/basic/resource").basic_auth("nobody", Some("wrong"))).await;
    assert_eq!(wrong, unknown);
    s.stop().await;
}

#[tokio::test]
async fn two_authorization_headers_are_a_bad_request() {
    let s = TestServer::start(&[]).await;
    let password = s.field("basic", "password");
    let valid = format!("Basic {}", STANDARD.encode(format!("alice:{password}")));
    let o = observe(
        s.get("/basic/resource").header("Authorization", &valid).header("Authorization", &valid),
    )
    .await;
    assert_eq!(o.status, 400);
    s.stop().await;
}

#[tokio::test]
async fn repeated_failures_are_throttled_then_the_real_user_gets_back_in() {
    let s = TestServer::start_with(&[], |c| {
        c.throttle.max_failures = 3;
        c.throttle.base_lockout = Duration::from_millis(400);
        c.throttle.max_lockout = Duration::from_millis(800);
    })
    .await;
    let password = s.field("basic", "password");
    for _ in 0..3 {
        assert_eq!(
            observe(s.get("/basic/resource").basic_auth("alice", Some("guess"))).await.status,
            401
        );
    }
    let locked =
        s.get("/basic/resource").basic_auth("alice", Some(&password)).send().await.unwrap();
    assert_eq!(locked.status(), 429);
    let retry_after: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    // An unknown user is throttled the same way, so throttling reveals nothing.
    for _ in 0..3 {
        observe(s.get("/basic/resource").basic_auth("ghost", Some("guess"))).await;
    }
    assert_eq!(
        observe(s.get("/basic/resource").basic_auth("ghost", Some("guess"))).await.status,
        429
    );
    // The lockout ends: poll with the right password (which does not extend it).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status =
            observe(s.get("/basic/resource").basic_auth("alice", Some(&password))).await.status;
        if status == 200 {
            break;
        }
        assert_eq!(status, 429);
        assert!(Instant::now() < deadline, "the real user stayed locked out");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.stop().await;
}

#[tokio::test]
async fn the_cached_configuration_accepts_the_same_credentials_and_forgets_changed_passwords() {
    let s = TestServer::start(&[]).await;
    let password = s.field("basic", "password");
    for _ in 0..3 {
        assert_eq!(
            observe(s.get("/basic-cached/resource").basic_auth("alice", Some(&password)))
                .await
                .status,
            200
        );
    }
    assert_eq!(
        observe(s.get("/basic-cached/resource").basic_auth("alice", Some("wrong"))).await.status,
        401
    );
    let changed = s
        .admin(Method::PUT, "/users/alice/password")
        .json(&serde_json::json!({"password": "a-brand-new-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    // The old password was cached; the change must invalidate it at once.
    assert_eq!(
        observe(s.get("/basic-cached/resource").basic_auth("alice", Some(&password))).await.status,
        401
    );
    assert_eq!(
        observe(s.get("/basic-cached/resource").basic_auth("alice", Some("a-brand-new-password")))
            .await
            .status,
        200
    );
    s.stop().await;
}

#[tokio::test]
async fn other_methods_are_authenticated_before_being_refused() {
    let s = TestServer::start(&[]).await;
    let password = s.field("basic", "password");
    assert_eq!(observe(s.client.post(s.url("/basic/resource"))).await.status, 401);
    let o = observe(s.client.delete(s.url("/basic/resource")).basic_auth("alice", Some(&password)))
        .await;
    assert_eq!(o.status, 405);
    s.stop().await;
}
