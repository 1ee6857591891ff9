//! JWT bearer tokens (RFC 7519, RFC 8725, RFC 6750, RFC 9068) over real sockets.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::Method;
use serde_json::{Value, json};

const MISSING: &str = r#"Bearer realm="authbench""#;

async fn token(s: &TestServer, alg: &str, scope: &str) -> String {
    let password = s.field("basic", "password");
    let response = s
        .client
        .post(s.url("/jwt/token"))
        .basic_auth("alice", Some(&password))
        .form(&[("alg", alg), ("scope", scope)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    body["access_token"].as_str().unwrap().to_owned()
}

fn assert_invalid_token(o: &Observed) {
    assert_eq!(o.status, 401, "{o:?}");
    let challenge = o.challenge.as_deref().unwrap();
    assert!(
        challenge.starts_with(r#"Bearer realm="authbench", error="invalid_token""#),
        "{challenge}"
    );
    assert_eq!(o.error.as_deref(), Some("invalid_token"));
}

#[tokio::test]
async fn each_algorithm_has_its_own_resource_and_accepts_only_itself() {
    let s = TestServer::start(&[]).await;
    let algs = [("RS256", "rs256"), ("ES256", "es256"), ("EdDSA", "eddsa"), ("HS256", "hs256")];
    let tokens: Vec<String> = {
        let mut out = Vec::new();
        for (alg, _) in algs {
            out.push(token(&s, alg, "read").await);
        }
        out
    };
    for (i, (_, path)) in algs.iter().enumerate() {
        for (j, t) in tokens.iter().enumerate() {
            let o = observe(s.get(&format!("/jwt/{path}/resource")).bearer_auth(t)).await;
            if i == j {
                assert_eq!(o.status, 200, "{path}");
            } else {
                assert_invalid_token(&o);
            }
        }
        let missing = observe(s.get(&format!("/jwt/{path}/resource"))).await;
        assert_eq!((missing.status, missing.challenge.as_deref()), (401, Some(MISSING)));
    }
    // The JWKS publishes the three public keys, never the HMAC secret.
    let jwks: Value =
        s.get("/jwt/.well-known/jwks.json").send().await.unwrap().json().await.unwrap();
    let kinds: Vec<&str> =
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kty"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["RSA", "EC", "OKP"]);
    assert!(!jwks.to_string().contains("\"oct\""));
    s.stop().await;
}

#[tokio::test]
async fn the_profile_token_works_and_the_bearer_scheme_is_case_insensitive() {
    let s = TestServer::start(&[]).await;
    let t = s.field("jwt", "token");
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let o =
            observe(s.get("/jwt/rs256/resource").header("Authorization", format!("{scheme} {t}")))
                .await;
        assert_eq!(o.status, 200, "{scheme}");
    }
    s.stop().await;
}

#[tokio::test]
async fn claims_are_validated_exactly() {
    let s = TestServer::start(&[]).await;
    let kid = s.rs256_kid();
    let key = s.rs256_key();
    let now = now();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut c = claims();
        edit(&mut c);
        sign(&header("RS256", &kid), &c, &key, Algorithm::RS256)
    };
    let remove =
        |name: &'static str| move |c: &mut Value| drop(c.as_object_mut().unwrap().remove(name));
    let accepted = [
        with(&|_| {}),
        with(&|c| c["aud"] = json!(["urn:other", "urn:authbench:reference:api"])),
        with(&|c| c["exp"] = json!(now - 3)), // within the 5 s leeway
        with(&|c| c["exp"] = json!(now as f64 + 60.5)),
        with(&remove("nbf")),
        with(&remove("jti")),
    ];
    for t in accepted {
        assert_eq!(observe(s.get("/jwt/rs256/resource").bearer_auth(&t)).await.status, 200);
    }
    let refused = [
        ("exp past leeway + 1 s", with(&|c| c["exp"] = json!(now - 6))),
        ("exp missing", with(&remove("exp"))),
        ("exp a string", with(&|c| c["exp"] = json!((now + 60).to_string()))),
        ("exp huge", with(&|c| c["exp"] = json!(1e300))),
        ("lifetime over a day", with(&|c| c["exp"] = json!(now + 2 * 86400))),
        ("nbf in the future", with(&|c| c["nbf"] = json!(now + 60))),
        ("iat in the future", with(&|c| c["iat"] = json!(now + 60))),
        ("iat missing", with(&remove("iat"))),
        ("wrong iss", with(&|c| c["iss"] = json!("https://evil.example"))),
        ("iss missing", with(&remove("iss"))),
        ("wrong aud", with(&|c| c["aud"] = json!("urn:other"))),
        ("aud missing", with(&remove("aud"))),
        ("aud array without us", with(&|c| c["aud"] = json!(["urn:other"]))),
        ("aud a number", with(&|c| c["aud"] = json!(7))),
        ("sub missing", with(&remove("sub"))),
        ("scope not a string", with(&|c| c["scope"] = json!(["read"]))),
    ];
    for (what, t) in refused {
        let o = observe(s.get("/jwt/rs256/resource").bearer_auth(&t)).await;
        assert_eq!(o.status, 401, "{what}: {o:?}");
        assert_eq!(o.error.as_deref(), Some("invalid_token"), "{what}");
    }
    s.stop().await;
}

#[tokio::test]
async fn header_attacks_are_refused() {
    let s = TestServer::start(&[]).await;
    let kid = s.rs256_kid();
    let key = s.rs256_key();
    let c = claims();
    let payload = c.to_string();
    let public_pem = s.rs256_public_pem();
    let mut tokens = vec![
        (
            "typ JWT",
            sign(&json!({"alg": "RS256", "typ": "JWT", "kid": kid}), &c, &key, Algorithm::RS256),
        ),
        ("typ missing", sign(&json!({"alg": "RS256", "kid": kid}), &c, &key, Algorithm::RS256)),
        (
            "crit unknown",
            sign(
                &json!({"alg": "RS256", "typ": "at+jwt", "crit": ["x-unknown"], "x-unknown": 1}),
                &c,
                &key,
                Algorithm::RS256,
            ),
        ),
        ("unknown kid", sign(&header("RS256", "../../etc/passwd"), &c, &key, Algorithm::RS256)),
        ("kid injection", sign(&header("RS256", "' OR 1=1 --"), &c, &key, Algorithm::RS256)),
        (
            "key confusion (PEM)",
            sign(
                &header("HS256", &kid),
                &c,
                &EncodingKey::from_secret(&public_pem).unwrap(),
                Algorithm::HS256,
            ),
        ),
        ("empty HMAC key", empty_key_hs256(&header("HS256", &kid).to_string(), &payload)),
        (
            "duplicate sub",
            sign_raw(
                &header("RS256", &kid).to_string(),
                &payload.replacen('{', r#"{"sub":"admin","#, 1),
                &key,
                Algorithm::RS256,
            ),
        ),
        (
            "duplicate alg",
            sign_raw(
                &format!(r#"{{"alg":"none","alg":"RS256","typ":"at+jwt","kid":"{kid}"}}"#),
                &payload,
                &key,
                Algorithm::RS256,
            ),
        ),
    ];
    for none in ["none", "None", "NONE", "nOnE"] {
        tokens.push((
            "alg none",
            format!("{}.{}.", b64(&format!(r#"{{"alg":"{none}","typ":"at+jwt"}}"#)), b64(&payload)),
        ));
    }
    // An attacker's own key, embedded in the header, must not be trusted.
    let attacker =
        jsonwebtoken::EncodingKey::from_secret(b"attacker-secret-attacker-secret-0").unwrap();
    tokens.push((
        "embedded jwk",
        sign(
            &json!({"alg": "HS256", "typ": "at+jwt", "jwk": {"kty": "oct", "k": "YXR0YWNrZXI"}}),
            &c,
            &attacker,
            Algorithm::HS256,
        ),
    ));
    let valid = sign(&header("RS256", &kid), &c, &key, Algorithm::RS256);
    let parts: Vec<&str> = valid.split('.').collect();
    tokens.extend([
        ("signature stripped", format!("{}.{}.", parts[0], parts[1])),
        ("two segments", format!("{}.{}", parts[0], parts[1])),
        ("four segments", format!("{valid}.{}", parts[2])),
        ("padded", format!("{}=.{}.{}", parts[0], parts[1], parts[2])),
        (
            "payload swapped",
            format!("{}.{}.{}", parts[0], b64(&payload.replace("read", "write")), parts[2]),
        ),
        ("oversized", format!("{}.{}.{}", parts[0], b64(&"x".repeat(9000)), parts[2])),
        (
            "jku elsewhere",
            sign(
                &json!({"alg": "RS256", "typ": "at+jwt", "jku": "https://evil.example/jwks"}),
                &c,
                &EncodingKey::from_rsa_pem(&attacker_rsa()).unwrap(),
                Algorithm::RS256,
            ),
        ),
    ]);
    for (what, t) in tokens {
        let o = observe(s.get("/jwt/rs256/resource").bearer_auth(&t)).await;
        assert_eq!(o.status, 401, "{what}");
        assert_invalid_token(&o);
    }
    // A flipped signature on the HS256 resource is refused too.
    let hs = token(&s, "HS256", "read").await;
    let mut bytes = hs.into_bytes();
    let i = bytes.len() - 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let o =
        observe(s.get("/jwt/hs256/resource").bearer_auth(String::from_utf8(bytes).unwrap())).await;
    assert_invalid_token(&o);
    s.stop().await;
}

/// HS256 with an empty key, which jsonwebtoken rightly refuses to produce.
fn empty_key_hs256(header: &str, payload: &str) -> String {
    use hmac::{KeyInit, Mac};
    let input = format!("{}.{}", b64(header), b64(payload));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"").unwrap();
    mac.update(input.as_bytes());
    let signature = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        mac.finalize().into_bytes(),
    );
    format!("{input}.{signature}")
}

fn attacker_rsa() -> Vec<u8> {
    rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .unwrap()
        .serialize_pem()
        .into_bytes()
}

#[tokio::test]
async fn scope_and_request_shape_rules_of_rfc_6750() {
    let s = TestServer::start(&[]).await;
    let t = s.field("jwt", "token");
    let o = observe(s.get("/jwt/rs256/privileged").bearer_auth(&t)).await;
    assert_eq!(o.status, 403);
    assert!(o.challenge.unwrap().contains(r#"error="insufficient_scope""#));
    let writer = token(&s, "RS256", "read write").await;
    assert_eq!(observe(s.get("/jwt/rs256/privileged").bearer_auth(&writer)).await.status, 200);
    // A token in the query string is not a credential; with the header as well it is a bad request.
    let query = observe(s.get(&format!("/jwt/rs256/resource?access_token={t}"))).await;
    assert_eq!((query.status, query.challenge.as_deref()), (401, Some(MISSING)));
    let both =
        observe(s.get(&format!("/jwt/rs256/resource?access_token={t}")).bearer_auth(&t)).await;
    assert_eq!((both.status, both.error.as_deref()), (400, Some("invalid_request")));
    s.stop().await;
}

#[tokio::test]
async fn revocation_by_jti_applies_to_the_revocable_resource_only() {
    let s = TestServer::start(&[]).await;
    let revoked = s.field("jwt", "revoked_token");
    assert_invalid_token(&observe(s.get("/jwt/revocable/resource").bearer_auth(&revoked)).await);
    // Stateless validation does not consult the denylist: that is the trade-off measured.
    assert_eq!(observe(s.get("/jwt/rs256/resource").bearer_auth(&revoked)).await.status, 200);

    let fresh = token(&s, "RS256", "read").await;
    assert_eq!(observe(s.get("/jwt/revocable/resource").bearer_auth(&fresh)).await.status, 200);
    let payload = fresh.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    let revoke = s
        .admin(Method::POST, "/jwt/revocations")
        .json(&json!({"jti": claims["jti"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 201);
    assert_invalid_token(&observe(s.get("/jwt/revocable/resource").bearer_auth(&fresh)).await);
    s.stop().await;
}

#[tokio::test]
async fn the_token_endpoint_requires_the_users_password() {
    let s = TestServer::start(&[]).await;
    let o = observe(
        s.client
            .post(s.url("/jwt/token"))
            .basic_auth("alice", Some("wrong"))
            .form(&[("alg", "RS256")]),
    )
    .await;
    assert_eq!(o.status, 401);
    assert!(o.challenge.unwrap().starts_with("Basic realm="));
    let o = observe(
        s.client
            .post(s.url("/jwt/token"))
            .basic_auth("alice", Some(&s.field("basic", "password")))
            .form(&[("alg", "none")]),
    )
    .await;
    assert_eq!(o.status, 400);
    s.stop().await;
}
