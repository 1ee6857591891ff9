//! The mTLS listener over real sockets: good certificates of three key types
//! accepted and mapped to identities, bad ones refused (every kind an attacker
//! mints is the harness's: harness/tests/mtls_pki.rs), revocation
//! without a restart (new handshakes and open connections), forwarded headers
//! ignored, state across a restart.

#![allow(clippy::unwrap_used)]

mod common;

use authbench_servers::mtls::pki::{ClientCa, KeyType, client_params, generate_key};
use common::*;
use reqwest::Method;
use serde_json::Value;

fn mtls_url(s: &TestServer, path: &str) -> String {
    format!("{}{path}", s.servers.as_ref().unwrap().mtls_base_url)
}

fn client_ca(s: &TestServer) -> ClientCa {
    let root = String::from_utf8(s.key_file("pki/ca.pem")).unwrap();
    let root_key = String::from_utf8(s.key_file("pki/ca.key")).unwrap();
    ClientCa::load_or_generate(s.dir.path(), &root, &root_key).unwrap()
}

/// A certificate from the client CA for `name`, with `edit` applied to its parameters.
fn minted(
    s: &TestServer,
    name: &str,
    edit: impl FnOnce(&mut rcgen::CertificateParams),
) -> reqwest::Client {
    let ca = client_ca(s);
    let (key, key_pem) = generate_key(KeyType::P256).unwrap();
    let mut params = client_params(name).unwrap();
    edit(&mut params);
    let leaf = ca.issue(&params, &key).unwrap();
    let chain = format!("{leaf}{}", ca.cert_pem);
    client_with(s, Some((chain.as_bytes(), key_pem.as_bytes())))
}

async fn status(client: &reqwest::Client, url: &str) -> Result<u16, reqwest::Error> {
    Ok(client.get(url).send().await?.status().as_u16())
}

#[tokio::test]
async fn good_certificates_are_accepted_and_mapped_to_their_identity() {
    let s = TestServer::start(&[]).await;
    for (name, expected) in [("client-a", 200), ("client-rsa", 200), ("client-b", 403)] {
        let client = demo(&s, name);
        assert_eq!(
            status(&client, &mtls_url(&s, "/mtls/resource")).await.unwrap(),
            expected,
            "{name}"
        );
        let who: Value =
            client.get(mtls_url(&s, "/mtls/whoami")).send().await.unwrap().json().await.unwrap();
        assert_eq!(who["identity"], name);
    }
    // A certificate the CA issued for an identity the server does not know.
    let stranger = minted(&s, "stranger", |_| {});
    let r = stranger.get(mtls_url(&s, "/mtls/resource")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    s.stop().await;
}

#[tokio::test]
async fn bad_certificates_are_refused_at_the_handshake() {
    let s = TestServer::start(&[]).await;
    let url = mtls_url(&s, "/mtls/resource");
    let now = time::OffsetDateTime::now_utc();
    let expired = minted(&s, "client-a", |p| {
        p.not_before = now - time::Duration::days(30);
        p.not_after = now - time::Duration::days(1);
    });
    let not_yet = minted(&s, "client-a", |p| {
        p.not_before = now + time::Duration::days(1);
        p.not_after = now + time::Duration::days(30);
    });
    let server_eku = minted(&s, "client-a", |p| {
        p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    });
    let self_signed = {
        let (key, key_pem) = generate_key(KeyType::P256).unwrap();
        let cert = client_params("client-a").unwrap().self_signed(&key).unwrap().pem();
        client_with(&s, Some((cert.as_bytes(), key_pem.as_bytes())))
    };
    let cases = [
        ("no certificate", client_with(&s, None)),
        ("revoked", demo(&s, "client-revoked")),
        ("expired", expired),
        ("not yet valid", not_yet),
        ("serverAuth only", server_eku),
        ("self-signed", self_signed),
    ];
    for (what, client) in cases {
        let result = status(&client, &url).await;
        assert!(result.is_err(), "{what}: {result:?}");
    }
    s.stop().await;
}

#[tokio::test]
async fn revocation_takes_effect_without_a_restart_even_on_open_connections() {
    let s = TestServer::start(&[]).await;
    let url = mtls_url(&s, "/mtls/resource");
    let client = demo(&s, "client-rsa");
    assert_eq!(status(&client, &url).await.unwrap(), 200);
    let who: Value =
        client.get(mtls_url(&s, "/mtls/whoami")).send().await.unwrap().json().await.unwrap();
    let serial = who["serial"].as_str().unwrap().to_owned();
    let revoked = s
        .admin(Method::POST, "/mtls/revocations")
        .json(&serde_json::json!({ "serial": serial }))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 201);
    // The pooled keep-alive connection: its next request is refused.
    assert_eq!(status(&client, &url).await.unwrap(), 401);
    // A new connection: refused at the handshake.
    assert!(status(&demo(&s, "client-rsa"), &url).await.is_err());
    // Others are unaffected.
    assert_eq!(status(&demo(&s, "client-a"), &url).await.unwrap(), 200);
    // Durable: still revoked after a restart.
    let s = s.restart(&[]).await;
    assert!(status(&demo(&s, "client-rsa"), &mtls_url(&s, "/mtls/resource")).await.is_err());
    assert_eq!(status(&demo(&s, "client-a"), &mtls_url(&s, "/mtls/resource")).await.unwrap(), 200);
    s.stop().await;
}

/// A TLS client that keeps sessions for resumption (rustls's default cache),
/// presenting `name`'s certificate.
fn resuming_client(s: &TestServer, name: &str) -> tokio_rustls::TlsConnector {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&s.key_file("pki/ca.pem")) {
        roots.add(cert.unwrap()).unwrap();
    }
    let chain: Vec<_> = rustls_pki_types::CertificateDer::pem_slice_iter(
        &s.key_file(&format!("pki/clients/{name}.pem")),
    )
    .map(Result::unwrap)
    .collect();
    let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(
        &s.key_file(&format!("pki/clients/{name}.key")),
    )
    .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .unwrap();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

/// One request over a new connection; the status, or `None` if refused.
async fn raw_status(s: &TestServer, connector: &tokio_rustls::TlsConnector) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.servers.as_ref().unwrap().mtls_addr;
    let tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.ok()?;
    tls.write_all(b"GET /mtls/resource HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).split(' ').nth(1)?.parse().ok()
}

#[tokio::test]
async fn a_revoked_certificate_cannot_resume_an_earlier_session() {
    let s = TestServer::start(&[]).await;
    let connector = resuming_client(&s, "client-rsa");
    assert_eq!(raw_status(&s, &connector).await, Some(200));
    assert_eq!(
        raw_status(&s, &connector).await,
        Some(200),
        "a second connection of the same client"
    );
    let who: Value = demo(&s, "client-rsa")
        .get(mtls_url(&s, "/mtls/whoami"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let revoked = s
        .admin(Method::POST, "/mtls/revocations")
        .json(&serde_json::json!({ "serial": who["serial"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 201);
    // With resumption, this connection could skip certificate verification;
    // the server offers none, so it is a full handshake, and refused.
    assert_eq!(raw_status(&s, &connector).await, None);
    s.stop().await;
}

#[tokio::test]
async fn forwarded_certificate_headers_are_ignored() {
    let s = TestServer::start(&[]).await;
    let a_cert = String::from_utf8(s.key_file("pki/clients/client-a.pem")).unwrap();
    let one_line = a_cert.lines().filter(|l| !l.starts_with("-----")).collect::<String>();
    let client = demo(&s, "client-b");
    for (name, value) in [
        (
            "X-Forwarded-Client-Cert",
            format!(
                "Hash=x;Subject=\"CN=client-a\";URI=urn:authbench:client:client-a;Cert=\"{one_line}\""
            ),
        ),
        ("Client-Cert", format!(":{one_line}:")),
    ] {
        let r =
            client.get(mtls_url(&s, "/mtls/resource")).header(name, value).send().await.unwrap();
        assert_eq!(r.status(), 403, "{name} must not make client-b into client-a");
    }
    s.stop().await;
}

async fn reaches(client: &reqwest::Client, s: &TestServer) -> bool {
    matches!(status(client, &mtls_url(s, "/mtls/resource")).await, Ok(200))
}

#[tokio::test]
async fn mtls_skip_crl() {
    differs(authbench_servers::Flaw::MtlsSkipCrl, |s| async move {
        let ok = reaches(&demo(&s, "client-revoked"), &s).await;
        (ok, s)
    })
    .await;
}

#[tokio::test]
async fn mtls_accept_any_ca() {
    differs(authbench_servers::Flaw::MtlsAcceptAnyCa, |s| async move {
        let (key, key_pem) = generate_key(KeyType::P256).unwrap();
        let cert = client_params("client-a").unwrap().self_signed(&key).unwrap().pem();
        let ok = reaches(&client_with(&s, Some((cert.as_bytes(), key_pem.as_bytes()))), &s).await;
        (ok, s)
    })
    .await;
}

#[tokio::test]
async fn mtls_ignore_eku() {
    differs(authbench_servers::Flaw::MtlsIgnoreEku, |s| async move {
        let client = minted(&s, "client-a", |p| {
            p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        });
        let ok = reaches(&client, &s).await;
        (ok, s)
    })
    .await;
}

#[tokio::test]
async fn mtls_ignore_expiry() {
    differs(authbench_servers::Flaw::MtlsIgnoreExpiry, |s| async move {
        let now = time::OffsetDateTime::now_utc();
        let client = minted(&s, "client-a", |p| {
            p.not_before = now - time::Duration::days(30);
            p.not_after = now - time::Duration::days(1);
        });
        let ok = reaches(&client, &s).await;
        (ok, s)
    })
    .await;
}

#[tokio::test]
async fn mtls_trust_forwarded_header() {
    differs(authbench_servers::Flaw::MtlsTrustForwardedHeader, |s| async move {
        let a_cert = String::from_utf8(s.key_file("pki/clients/client-a.pem")).unwrap();
        let first: String = a_cert
            .split("-----END CERTIFICATE-----")
            .next()
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let r = demo(&s, "client-b")
            .get(mtls_url(&s, "/mtls/resource"))
            .header("Client-Cert", format!(":{first}:"))
            .send()
            .await
            .unwrap();
        (r.status() == 200, s)
    })
    .await;
}

/// A client-credentials token from the mTLS token endpoint, authenticated by
/// `client`'s certificate (tls_client_auth) and bound to it.
async fn bound_token(s: &TestServer, client: &reqwest::Client) -> (u16, Value) {
    let tls = &s.profile["oauth2"]["tls_client_auth"];
    let r = client
        .post(tls["token_url"].as_str().unwrap())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", tls["client_id"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn tls_client_auth_issues_certificate_bound_tokens() {
    let s = TestServer::start(&[]).await;
    let owner = demo(&s, "client-a");
    let (status, body) = bound_token(&s, &owner).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            token.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(claims["cnf"]["x5t#S256"].as_str().is_some_and(|t| t.len() == 43), "{claims}");
    let resource =
        s.profile["oauth2"]["tls_client_auth"]["resource_url"].as_str().unwrap().to_owned();
    let with = |client: &reqwest::Client| client.get(&resource).bearer_auth(&token).send();
    assert_eq!(with(&owner).await.unwrap().status(), 200, "over the certificate it is bound to");
    assert_eq!(
        with(&demo(&s, "client-rsa")).await.unwrap().status(),
        401,
        "over another certificate"
    );
    let plain = s.get("/oauth/resource").bearer_auth(&token).send().await.unwrap();
    assert_eq!(plain.status(), 401, "over no certificate");
    // The certificate must be the client's own.
    let (status, body) = bound_token(&s, &demo(&s, "client-rsa")).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    let metadata: Value = s
        .get("/.well-known/oauth-authorization-server")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["tls_client_certificate_bound_access_tokens"], true);
    s.stop().await;
}

#[tokio::test]
async fn mtls_skip_token_binding() {
    differs(authbench_servers::Flaw::MtlsSkipTokenBinding, |s| async move {
        let (_, body) = bound_token(&s, &demo(&s, "client-a")).await;
        let token = body["access_token"].as_str().unwrap().to_owned();
        let resource =
            s.profile["oauth2"]["tls_client_auth"]["resource_url"].as_str().unwrap().to_owned();
        let r = demo(&s, "client-rsa").get(&resource).bearer_auth(&token).send().await.unwrap();
        (r.status() == 200, s)
    })
    .await;
}

#[test]
fn every_mtls_flaw_has_a_test() {
    let source = include_str!("mtls.rs");
    for flaw in authbench_servers::Flaw::ALL.iter().filter(|f| f.name().starts_with("mtls-")) {
        assert!(
            source.contains(&format!("async fn {}()", flaw.name().replace('-', "_"))),
            "no test for {flaw}"
        );
    }
}
