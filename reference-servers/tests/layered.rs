//! The layered resource over real sockets: the three layers accepted together,
//! each single-layer break and each cross-binding refused, refusals that name
//! only the failed layers, and each layered flaw changing what it names.

#![allow(clippy::unwrap_used)]

mod common;

use authbench_servers::Flaw;
use authbench_servers::mtls::pki::{ClientCa, KeyType, client_params, generate_key};
use common::*;
use jsonwebtoken::Algorithm;
use serde_json::Value;

const DEMO_APP: &str = "demo-app";
const PARTNER_APP: &str = "partner-app";

fn layered_url(s: &TestServer) -> String {
    format!("{}/layered/resource", s.servers.as_ref().unwrap().mtls_base_url)
}

/// A client presenting a certificate the client CA issued to an unknown service.
fn stranger(s: &TestServer) -> reqwest::Client {
    let root = String::from_utf8(s.key_file("pki/ca.pem")).unwrap();
    let root_key = String::from_utf8(s.key_file("pki/ca.key")).unwrap();
    let ca = ClientCa::load_or_generate(s.dir.path(), &root, &root_key).unwrap();
    let (key, key_pem) = generate_key(KeyType::P256).unwrap();
    let leaf = ca.issue(&client_params("stranger").unwrap(), &key).unwrap();
    let chain = format!("{leaf}{}", ca.cert_pem);
    client_with(s, Some((chain.as_bytes(), key_pem.as_bytes())))
}

/// A user token naming `application` in `client_id`, with `edit` applied.
fn token(s: &TestServer, application: Option<&str>, edit: impl FnOnce(&mut Value)) -> String {
    let mut c = claims();
    match application {
        Some(app) => c["client_id"] = app.into(),
        None => {
            c.as_object_mut().unwrap().remove("client_id");
        }
    }
    edit(&mut c);
    sign(&header("RS256", &s.rs256_kid()), &c, &s.rs256_key(), Algorithm::RS256)
}

fn demo_key(s: &TestServer) -> String {
    s.profile["layered"]["api_key"]["key"].as_str().unwrap().to_owned()
}

fn partner_key(s: &TestServer) -> String {
    s.profile["layered"]["other"]["key"].as_str().unwrap().to_owned()
}

/// A layered request: `client`'s certificate, then the key and token given.
async fn send(
    s: &TestServer,
    client: &reqwest::Client,
    key: Option<&str>,
    token: Option<&str>,
) -> Observed {
    let mut request = client.get(layered_url(s));
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    observe(request).await
}

/// Whether `o`'s refusal text mentions the layer named by `noun`.
fn names(o: &Observed, noun: &str) -> bool {
    let text = format!("{} {}", o.challenge.as_deref().unwrap_or_default(), o.body).to_lowercase();
    text.contains(noun)
}

#[tokio::test]
async fn the_profile_describes_a_resource_that_takes_all_three_layers() {
    let s = TestServer::start(&[]).await;
    assert_eq!(s.profile["layered"]["application"].as_str(), Some(DEMO_APP));
    assert_eq!(s.profile["layered"]["other"]["application"].as_str(), Some(PARTNER_APP));
    let a = demo(&s, "client-a");
    let o = send(&s, &a, Some(&demo_key(&s)), Some(&token(&s, Some(DEMO_APP), |_| {}))).await;
    assert_eq!(o.status, 200, "{o:?}");
    // The other service, its application's key, a token for that application.
    let rsa = demo(&s, "client-rsa");
    let o =
        send(&s, &rsa, Some(&partner_key(&s)), Some(&token(&s, Some(PARTNER_APP), |_| {}))).await;
    assert_eq!(o.status, 200, "{o:?}");
    // `azp` binds as well as `client_id`.
    let azp = token(&s, None, |c| c["azp"] = DEMO_APP.into());
    assert_eq!(send(&s, &a, Some(&demo_key(&s)), Some(&azp)).await.status, 200);
    s.stop().await;
}

#[tokio::test]
async fn each_single_layer_break_is_refused_and_names_only_that_layer() {
    let s = TestServer::start(&[]).await;
    let a = demo(&s, "client-a");
    let key = demo_key(&s);
    let good = token(&s, Some(DEMO_APP), |_| {});
    let expired = token(&s, Some(DEMO_APP), |c| c["exp"] = (now() - 600).into());
    let wrong_aud = token(&s, Some(DEMO_APP), |c| c["aud"] = "urn:someone-else".into());
    let mut bad_signature = good.clone();
    bad_signature.replace_range(bad_signature.len() - 4.., "AAAA");
    let revoked = s.profile["layered"]["api_key"]["revoked_key"].as_str().unwrap().to_owned();
    let unknown_key = format!("sk_live_{}", "A".repeat(43));

    // (what, client, key, token, status, the layer that failed)
    type Break<'a> = (&'a str, reqwest::Client, Option<&'a str>, Option<&'a str>, u16, &'a str);
    let breaks: Vec<Break<'_>> = vec![
        ("no key", a.clone(), None, Some(&good), 401, "api key"),
        ("unknown key", a.clone(), Some(&unknown_key), Some(&good), 401, "api key"),
        ("revoked key", a.clone(), Some(&revoked), Some(&good), 401, "api key"),
        ("no token", a.clone(), Some(&key), None, 401, "access token"),
        ("expired token", a.clone(), Some(&key), Some(&expired), 401, "access token"),
        ("wrong audience", a.clone(), Some(&key), Some(&wrong_aud), 401, "access token"),
        ("bad signature", a.clone(), Some(&key), Some(&bad_signature), 401, "access token"),
        ("unknown service", stranger(&s), Some(&key), Some(&good), 401, "certificate"),
        ("service without read", demo(&s, "client-b"), Some(&key), Some(&good), 403, "certificate"),
    ];
    let layers = ["certificate", "api key", "access token"];
    for (what, client, key, token, status, failed) in breaks {
        let o = send(&s, &client, key, token).await;
        assert_eq!(o.status, status, "{what}: {o:?}");
        assert!(names(&o, failed), "{what}: the refusal does not say what failed: {o:?}");
        for passed in layers.iter().filter(|l| **l != failed) {
            assert!(!names(&o, passed), "{what}: the refusal names {passed}, which passed: {o:?}");
        }
    }
    // No certificate at all: refused at the handshake.
    let none = client_with(&s, None);
    assert!(
        none.get(layered_url(&s))
            .header("x-api-key", &key)
            .bearer_auth(&good)
            .send()
            .await
            .is_err()
    );
    s.stop().await;
}

#[tokio::test]
async fn each_cross_binding_is_refused() {
    let s = TestServer::start(&[]).await;
    let a = demo(&s, "client-a");
    let rsa = demo(&s, "client-rsa");
    let (key, partner) = (demo_key(&s), partner_key(&s));
    let demo_token = token(&s, Some(DEMO_APP), |_| {});
    let partner_token = token(&s, Some(PARTNER_APP), |_| {});
    let no_app = token(&s, None, |_| {});
    let conflicting = token(&s, Some(DEMO_APP), |c| c["azp"] = PARTNER_APP.into());
    let crossed = [
        ("another application's key", &a, &partner, &demo_token),
        ("a token for another application", &a, &key, &partner_token),
        ("another service's certificate", &rsa, &key, &demo_token),
        ("a token naming no application", &a, &key, &no_app),
        ("a token naming two applications", &a, &key, &conflicting),
    ];
    for (what, client, key, token) in crossed {
        let o = send(&s, client, Some(key), Some(token)).await;
        assert_eq!(o.status, 403, "{what}: {o:?}");
        assert_eq!(o.error.as_deref(), Some("forbidden"), "{what}");
    }
    s.stop().await;
}

#[tokio::test]
async fn the_verdict_does_not_depend_on_header_order() {
    let s = TestServer::start(&[]).await;
    let a = demo(&s, "client-a");
    let key = demo_key(&s);
    let good = token(&s, Some(DEMO_APP), |_| {});
    for token in [good.clone(), format!("{good}x")] {
        let key_first = a
            .get(layered_url(&s))
            .header("x-api-key", &key)
            .header("authorization", format!("Bearer {token}"));
        let token_first = a
            .get(layered_url(&s))
            .header("authorization", format!("Bearer {token}"))
            .header("x-api-key", &key);
        assert_eq!(observe(key_first).await, observe(token_first).await);
    }
    s.stop().await;
}

#[tokio::test]
async fn layered_skip_binding() {
    differs(Flaw::LayeredSkipBinding, |s| async move {
        let o = send(
            &s,
            &demo(&s, "client-a"),
            Some(&partner_key(&s)),
            Some(&token(&s, Some(DEMO_APP), |_| {})),
        )
        .await;
        (o.status == 200, s)
    })
    .await;
}

#[tokio::test]
async fn layered_any_one_layer() {
    differs(Flaw::LayeredAnyOneLayer, |s| async move {
        let o = send(&s, &demo(&s, "client-a"), None, None).await;
        (o.status == 200, s)
    })
    .await;
}

#[tokio::test]
async fn layered_verbose_refusal() {
    differs(Flaw::LayeredVerboseRefusal, |s| async move {
        let o = send(&s, &demo(&s, "client-a"), Some(&demo_key(&s)), None).await;
        assert_eq!(o.status, 401);
        (names(&o, "certificate"), s)
    })
    .await;
}

#[test]
fn every_layered_flaw_has_a_test() {
    let source = include_str!("layered.rs");
    for flaw in Flaw::ALL.iter().filter(|f| f.name().starts_with("layered-")) {
        assert!(
            source.contains(&format!("async fn {}()", flaw.name().replace('-', "_"))),
            "no test for {flaw}"
        );
    }
}
