//! The attacker's certificates (harness/src/methods/mtls/pki.rs) against the
//! reference servers: every kind minted with the identity of a certificate
//! the server accepts is refused, and the RSA-1024 one, which rustls will not
//! sign with, is refused when OpenSSL presents it.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use authbench::client::{ClientIdentity, HttpClient, RawRequest};
use authbench::embedded::Embedded;
use authbench::methods::Target;
use authbench::methods::mtls::pki::{BadCertificate, mint_bad, mint_bad_like};
use authbench_servers::mtls::pki::ClientCa;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

fn client_ca(s: &Embedded) -> ClientCa {
    let target = Target::load(&s.profile_path()).unwrap();
    let (cert, key) = target.mtls.unwrap().client_ca.unwrap();
    ClientCa::from_pem(&cert, &key).unwrap()
}

#[tokio::test]
async fn every_kind_minted_like_an_accepted_certificate_is_refused() {
    let s = Embedded::start(&[]).await.unwrap();
    let target = Target::load(&s.profile_path()).unwrap();
    let mtls = target.mtls.as_ref().unwrap();
    let client = HttpClient::new(target.ca_pem.as_deref(), Duration::from_secs(10)).unwrap();
    let send = |identity: ClientIdentity| {
        let request = RawRequest::get(mtls.url.clone()).with_identity(Some(Arc::new(identity)));
        let client = client.clone();
        async move { client.send(&request).await.map(|r| r.status) }
    };
    // The control: the profile's own certificate is served.
    let good = ClientIdentity::from_pem(&mtls.client.chain_pem, &mtls.client.key_pem).unwrap();
    assert_eq!(send(good).await.unwrap(), 200);
    let template: Vec<u8> =
        CertificateDer::pem_slice_iter(&mtls.client.chain_pem).next().unwrap().unwrap().to_vec();
    let ca = client_ca(&s);
    for kind in BadCertificate::ALL.into_iter().filter(|k| *k != BadCertificate::WeakKey) {
        let (chain, key) = mint_bad_like(&ca, &template, kind).unwrap();
        let identity = ClientIdentity::from_pem(chain.as_bytes(), key.as_bytes()).unwrap();
        let answer = send(identity).await;
        assert!(!matches!(answer, Ok(200)), "{kind:?}: {answer:?}");
    }
    s.stop().await;
}

/// rustls (aws-lc) will not sign with an RSA-1024 key, so the weak-key
/// certificate is presented by OpenSSL's client at security level 0. The
/// server runs on other worker threads while the test waits for OpenSSL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weak_key_certificate_is_refused() {
    let s = Embedded::start(&[]).await.unwrap();
    let state = s.profile_path().parent().unwrap().to_owned();
    let (chain, key) = mint_bad(&client_ca(&s), "client-a", BadCertificate::WeakKey).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("weak.pem"), &chain).unwrap();
    std::fs::write(dir.path().join("weak.key"), &key).unwrap();
    let target = Target::load(&s.profile_path()).unwrap();
    let mtls = target.mtls.as_ref().unwrap().url.clone();
    let addr = format!("{}:{}", mtls.host_str().unwrap(), mtls.port().unwrap());
    let attempt = |cert: &str, key: &str| {
        // `timeout` bounds the attempt: a stuck handshake fails the test, never hangs it.
        let mut child = std::process::Command::new("timeout")
            .args([
                "20",
                "openssl",
                "s_client",
                "-quiet",
                "-ign_eof",
                "-connect",
                &addr.to_string(),
                "-CAfile",
            ])
            .arg(state.join("pki/ca.pem"))
            .args([
                "-cipher",
                "DEFAULT@SECLEVEL=0",
                "-tls1_2",
                "-cert",
                cert,
                "-cert_chain",
                cert,
                "-key",
                key,
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("openssl must be installed (Debian's openssl package)");
        use std::io::Write;
        let _ = child
            .stdin
            .take()
            .unwrap()
            .write_all(b"GET /mtls/resource HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The control: a good certificate through the same client gets its 200.
    let good = attempt(
        state.join("pki/clients/client-a.pem").to_str().unwrap(),
        state.join("pki/clients/client-a.key").to_str().unwrap(),
    );
    assert!(good.contains("HTTP/1.1 200"), "{good}");
    let weak = attempt(
        dir.path().join("weak.pem").to_str().unwrap(),
        dir.path().join("weak.key").to_str().unwrap(),
    );
    assert!(!weak.contains("HTTP/1.1 200"), "{weak}");
    s.stop().await;
}
