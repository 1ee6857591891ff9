//! Each method's whole server-side verification path beside its bare
//! primitive, in one run: group `<method>`, functions `path` and `primitive`.
//! `cargo bench -p authbench-benches --bench verify`, then
//! `cargo run -p authbench-benches --bin check-bound` for the verdict.
//!
//! The paths are the reference servers' own decision functions (`admits`,
//! `BasicAuth::authenticate`, the mTLS client-certificate verifier), fed the
//! request headers a client would send, over the state `serve` would run with.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use authbench_servers::app::{App, paths};
use authbench_servers::jwt::keys::ALGORITHMS;
use authbench_servers::jwt::verify::alg_name;
use authbench_servers::mtls::ClientCert;
use authbench_servers::seed::{DEMO_CLIENT, DEMO_USER, OAUTH_CLIENT, OAUTH_OPAQUE_CLIENT, Seed};
use authbench_servers::{ServeConfig, server};
use aws_lc_rs::signature;
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use criterion::{Criterion, criterion_group, criterion_main};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, UnixTime};

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn header(name: &'static str, value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(name, HeaderValue::from_str(value).unwrap());
    headers
}

/// Polls a future that must finish without waiting (a cache hit) once.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the path waited: not the cached path"),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    dir: std::path::PathBuf,
    app: Arc<App>,
    seed: Seed,
    runtime: tokio::runtime::Runtime,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let config = ServeConfig::new(dir.path().to_path_buf(), SocketAddr::from(([127, 0, 0, 1], 0)));
    let (app, seed) = server::prepare_app(config).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    Fixture { dir: dir.path().to_path_buf(), _dir: dir, app: Arc::new(app), seed, runtime }
}

fn jwt(c: &mut Criterion, f: &Fixture) {
    let uri: Uri = "/jwt/resource".parse().unwrap();
    for alg in ALGORITHMS {
        let name = alg_name(alg);
        let token = f.app.jwt.mint(alg, DEMO_USER, "read", 3600, now()).unwrap().token;
        let verifier = f.app.jwt.verifier(alg);
        let at = token.rfind('.').unwrap();
        let (message, signature) =
            (&token[..at], URL_SAFE_NO_PAD.decode(&token[at + 1..]).unwrap());
        let headers = header("authorization", &format!("Bearer {token}"));
        assert!(authbench_servers::jwt::admits(&f.app, &headers, &uri, alg, "read", false));
        assert!(!authbench_servers::jwt::admits(&f.app, &headers, &uri, alg, "write", false));
        assert!(verifier.verify_signature(message.as_bytes(), &signature));
        let mut group = c.benchmark_group(format!("jwt-{}", name.to_ascii_lowercase()));
        group.bench_function("primitive", |b| {
            b.iter(|| {
                verifier.verify_signature(black_box(message.as_bytes()), black_box(&signature))
            })
        });
        group.bench_function("path", |b| {
            b.iter(|| {
                authbench_servers::jwt::admits(
                    &f.app,
                    black_box(&headers),
                    &uri,
                    alg,
                    "read",
                    false,
                )
            })
        });
        group.finish();
    }
}

fn api_key(c: &mut Criterion, f: &Fixture) {
    let uri: Uri = paths::API_KEY.parse().unwrap();
    let headers = header("x-api-key", &f.seed.api_key);
    let peer = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert!(authbench_servers::api_key::admits(&f.app, peer, &headers, &uri, "read"));
    let revoked = header("x-api-key", &f.seed.revoked_api_key);
    assert!(!authbench_servers::api_key::admits(&f.app, None, &revoked, &uri, "read"));
    let mut group = c.benchmark_group("api-key");
    group.bench_function("primitive", |b| {
        b.iter(|| authbench_servers::api_key::hash(black_box(&f.seed.api_key)))
    });
    group.bench_function("path", |b| {
        b.iter(|| {
            authbench_servers::api_key::admits(&f.app, peer, black_box(&headers), &uri, "read")
        })
    });
    group.finish();
}

fn basic(c: &mut Criterion, f: &Fixture) {
    use argon2::PasswordVerifier as _;
    use hmac::{KeyInit as _, Mac as _};
    let credentials = STANDARD.encode(format!("{DEMO_USER}:{}", f.seed.password));
    let headers = header("authorization", &format!("Basic {credentials}"));
    let ok = |o: authbench_servers::basic::BasicOutcome| {
        matches!(o, authbench_servers::basic::BasicOutcome::Ok(_))
    };
    let user = f.app.store.user(DEMO_USER).unwrap().unwrap();
    let hash = argon2::PasswordHash::new(&user.password_hash).unwrap();
    let argon2 = authbench_servers::basic::owasp_argon2();
    assert!(ok(f.runtime.block_on(f.app.basic.authenticate(&headers, false))));
    let mut group = c.benchmark_group("basic");
    group.sample_size(10);
    group.bench_function("primitive", |b| {
        b.iter(|| argon2.verify_password(black_box(f.seed.password.as_bytes()), &hash).is_ok())
    });
    group.bench_function("path", |b| {
        b.iter(|| ok(f.runtime.block_on(f.app.basic.authenticate(black_box(&headers), false))))
    });
    group.finish();

    // The verified-credential cache: filled once, then every request is a hit.
    assert!(ok(f.runtime.block_on(f.app.basic.authenticate(&headers, true))));
    assert!(ok(ready(f.app.basic.authenticate(&headers, true))));
    let key = [7u8; 32];
    let mut group = c.benchmark_group("basic-cached");
    group.bench_function("primitive", |b| {
        b.iter(|| {
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
            mac.update(black_box(DEMO_USER.as_bytes()));
            mac.update(&[0]);
            mac.update(black_box(f.seed.password.as_bytes()));
            mac.finalize().into_bytes()
        })
    });
    group.bench_function("path", |b| {
        b.iter(|| ok(ready(f.app.basic.authenticate(black_box(&headers), true))))
    });
    group.finish();
}

/// One signature verification: algorithm, public key, message, signature.
type SignatureCheck = (&'static dyn signature::VerificationAlgorithm, Vec<u8>, Vec<u8>, Vec<u8>);

/// The client certificate's chain and key, the issuers' public keys, and a
/// TLS 1.3 CertificateVerify signature made with the client's key.
fn mtls(c: &mut Criterion, f: &Fixture) {
    let clients = f.app.mtls.ca().demo_clients(&f.dir).unwrap();
    let (_, cert_file, key_file) = clients.iter().find(|(n, _, _)| n == "client-a").unwrap();
    let (cert_path, key_path) = (f.dir.join(cert_file), f.dir.join(key_file));
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(&cert_path).unwrap().map(Result::unwrap).collect();
    let root = authbench_servers::pki::Pki::load_or_generate(&f.dir).unwrap().ca_pem;
    let root = CertificateDer::from_pem_slice(root.as_bytes()).unwrap();
    let key_der = rustls_pki_types::PrivateKeyDer::from_pem_file(&key_path).unwrap();
    let key = signature::EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        key_der.secret_der(),
    )
    .unwrap();
    // RFC 8446 §4.4.3: 64 spaces, the context string, a zero, the transcript hash.
    let mut message = vec![b' '; 64];
    message.extend_from_slice(b"TLS 1.3, client CertificateVerify\0");
    message.extend_from_slice(&[0x5a; 32]);
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let proof = key.sign(&rng, &message).unwrap().as_ref().to_vec();
    let verifier = f.app.mtls.client_verifier();
    let algorithms =
        rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
    let (_, ecdsa) = algorithms
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == rustls::SignatureScheme::ECDSA_NISTP256_SHA256)
        .unwrap();
    let handshake = || {
        let at = UnixTime::now();
        verifier.verify_client_cert(&chain[0], &chain[1..], at).is_ok()
            && webpki::EndEntityCert::try_from(&chain[0])
                .is_ok_and(|ee| ee.verify_signature(ecdsa[0], &message, &proof).is_ok())
            && ClientCert::parse(&chain[0])
                .is_some_and(|cert| authbench_servers::mtls::admits(&f.app, &cert, "read"))
    };
    assert!(handshake());
    // The primitive: every signature the path must check — each certificate of
    // the chain by its issuer's key, and the CertificateVerify by the leaf's.
    let mut checks: Vec<SignatureCheck> = Vec::new();
    let issuers: Vec<&CertificateDer<'_>> = chain[1..].iter().chain([&root]).collect();
    for (subject, issuer) in chain.iter().zip(issuers) {
        let (_, subject) = x509_parser::parse_x509_certificate(subject).unwrap();
        let (_, issuer) = x509_parser::parse_x509_certificate(issuer).unwrap();
        checks.push((
            algorithm_of(&subject),
            issuer.public_key().subject_public_key.data.to_vec(),
            subject.tbs_certificate.as_ref().to_vec(),
            subject.signature_value.data.to_vec(),
        ));
    }
    let (_, leaf) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
    checks.push((
        &signature::ECDSA_P256_SHA256_ASN1,
        leaf.public_key().subject_public_key.data.to_vec(),
        message.clone(),
        proof.clone(),
    ));
    // Keys from certificates are parsed per verification, as webpki does.
    let verify_all = || {
        checks.iter().all(|(alg, key, message, sig)| {
            signature::UnparsedPublicKey::new(*alg, black_box(key))
                .verify(black_box(message), black_box(sig))
                .is_ok()
        })
    };
    assert!(verify_all());
    let mut group = c.benchmark_group("mtls");
    group.bench_function("primitive", |b| b.iter(verify_all));
    group.bench_function("path", |b| b.iter(handshake));
    group.finish();
}

/// The aws-lc algorithm of a certificate's signature (the reference PKI signs
/// with ECDSA P-256 or RSA PKCS#1 SHA-256).
fn algorithm_of(
    cert: &x509_parser::certificate::X509Certificate<'_>,
) -> &'static dyn signature::VerificationAlgorithm {
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    match oid.as_str() {
        "1.2.840.10045.4.3.2" => &signature::ECDSA_P256_SHA256_ASN1,
        "1.2.840.113549.1.1.11" => &signature::RSA_PKCS1_2048_8192_SHA256,
        other => panic!("unexpected signature algorithm {other}"),
    }
}

/// An access token for `client` from the token endpoint (client credentials).
fn oauth_token(f: &Fixture, client: &str, secret: &str) -> String {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let request = axum::http::Request::post("/oauth/token")
        .header("authorization", format!("Basic {}", STANDARD.encode(format!("{client}:{secret}"))))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("grant_type=client_credentials&scope=read"))
        .unwrap();
    let router = authbench_servers::app::router(Arc::clone(&f.app));
    let response = f.runtime.block_on(router.oneshot(request)).unwrap();
    let body = f.runtime.block_on(response.into_body().collect()).unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    json["access_token"].as_str().unwrap().to_owned()
}

fn oauth(c: &mut Criterion, f: &Fixture) {
    let uri: Uri = "/oauth/resource".parse().unwrap();
    let admits = |headers: &HeaderMap| {
        ready(authbench_servers::oauth::resource::admits(
            &f.app,
            None,
            &Method::GET,
            headers,
            &uri,
            b"",
            "read",
        ))
    };
    let jwt_token = oauth_token(f, OAUTH_CLIENT, f.seed.oauth_client_secret.as_deref().unwrap());
    let opaque_token =
        oauth_token(f, OAUTH_OPAQUE_CLIENT, f.seed.oauth_opaque_client_secret.as_deref().unwrap());
    assert_eq!(jwt_token.matches('.').count(), 2);
    assert_eq!(opaque_token.matches('.').count(), 0);

    // JWT access tokens: RS256 plus the token's record (revocation).
    let verifier = f.app.jwt.verifier(jsonwebtoken::Algorithm::RS256);
    let at = jwt_token.rfind('.').unwrap();
    let (message, signature) =
        (&jwt_token[..at], URL_SAFE_NO_PAD.decode(&jwt_token[at + 1..]).unwrap());
    assert!(verifier.verify_signature(message.as_bytes(), &signature));
    let headers = header("authorization", &format!("Bearer {jwt_token}"));
    assert!(admits(&headers));
    let mut group = c.benchmark_group("oauth-jwt");
    group.bench_function("primitive", |b| {
        b.iter(|| verifier.verify_signature(black_box(message.as_bytes()), black_box(&signature)))
    });
    group.bench_function("path", |b| b.iter(|| admits(black_box(&headers))));
    group.finish();

    // Opaque tokens: the hash the store is keyed by, then the lookup.
    let headers = header("authorization", &format!("Bearer {opaque_token}"));
    assert!(admits(&headers));
    let mut group = c.benchmark_group("oauth-opaque");
    group.bench_function("primitive", |b| {
        b.iter(|| authbench_servers::oauth::hash(black_box(&opaque_token)))
    });
    group.bench_function("path", |b| b.iter(|| admits(black_box(&headers))));
    group.finish();
}

/// The layered resource on a kept-alive connection: the certificate's
/// handshake is behind it, so the per-request work is the three layers'
/// checks and their binding; the primitive is the token's RS256 signature and
/// the key's SHA-256.
fn layered(c: &mut Criterion, f: &Fixture) {
    use jsonwebtoken::Algorithm;
    let clients = f.app.mtls.ca().demo_clients(&f.dir).unwrap();
    let (_, cert_file, _) = clients.iter().find(|(n, _, _)| n == "client-a").unwrap();
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(f.dir.join(cert_file)).unwrap().map(Result::unwrap).collect();
    let cert = ClientCert::parse(&chain[0]).unwrap();
    let token = f
        .app
        .jwt
        .mint_for(DEMO_CLIENT, Algorithm::RS256, DEMO_USER, "read", 3600, now())
        .unwrap()
        .token;
    let mut headers = header("x-api-key", &f.seed.api_key);
    headers.insert("authorization", HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
    let uri: Uri = authbench_servers::layered::paths::RESOURCE.parse().unwrap();
    let peer = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert!(authbench_servers::layered::admits(&f.app, &cert, peer, &headers, &uri));
    let other = f.seed.partner_api_key.clone().unwrap();
    let mut crossed = headers.clone();
    crossed.insert("x-api-key", HeaderValue::from_str(&other).unwrap());
    assert!(!authbench_servers::layered::admits(&f.app, &cert, peer, &crossed, &uri));
    let verifier = f.app.jwt.verifier(Algorithm::RS256);
    let at = token.rfind('.').unwrap();
    let (message, signature) = (&token[..at], URL_SAFE_NO_PAD.decode(&token[at + 1..]).unwrap());
    let mut group = c.benchmark_group("layered");
    group.bench_function("primitive", |b| {
        b.iter(|| {
            verifier.verify_signature(black_box(message.as_bytes()), black_box(&signature))
                && authbench_servers::api_key::hash(black_box(&f.seed.api_key))[0] < 255
        })
    });
    group.bench_function("path", |b| {
        b.iter(|| {
            authbench_servers::layered::admits(&f.app, &cert, peer, black_box(&headers), &uri)
        })
    });
    group.finish();
}

fn all(c: &mut Criterion) {
    let f = fixture();
    jwt(c, &f);
    api_key(c, &f);
    basic(c, &f);
    mtls(c, &f);
    oauth(c, &f);
    layered(c, &f);
}

criterion_group!(benches, all);
criterion_main!(benches);
