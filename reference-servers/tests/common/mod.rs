//! Shared test support: start the reference servers on 127.0.0.1:0 in a fresh
//! state directory, and an HTTPS client that trusts their CA.

#![allow(dead_code, clippy::unwrap_used)]

pub mod oauth;

use std::time::Duration;

use authbench_servers::basic::ThrottleConfig;
use authbench_servers::{Flaw, RunningServers, ServeConfig};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::Value;

pub struct TestServer {
    pub servers: Option<RunningServers>,
    pub client: reqwest::Client,
    pub profile: toml::Table,
    pub admin_token: String,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start(flaws: &[Flaw]) -> TestServer {
        Self::start_with(flaws, |_| {}).await
    }

    pub async fn start_with(flaws: &[Flaw], tweak: impl FnOnce(&mut ServeConfig)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServeConfig::new(dir.path().to_owned(), "127.0.0.1:0".parse().unwrap());
        config.flaws = flaws.iter().copied().collect();
        config.throttle = ThrottleConfig {
            max_failures: 50,
            window: Duration::from_secs(60),
            base_lockout: Duration::from_millis(300),
            max_lockout: Duration::from_secs(1),
        };
        tweak(&mut config);
        let servers = authbench_servers::start(config).await.unwrap();
        let ca = std::fs::read(&servers.ca_cert_path).unwrap();
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
            .build()
            .unwrap();
        let profile: toml::Table =
            std::fs::read_to_string(&servers.profile_path).unwrap().parse().unwrap();
        let admin_token = std::fs::read_to_string(dir.path().join("admin.token")).unwrap();
        TestServer { servers: Some(servers), client, profile, admin_token, dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.servers.as_ref().unwrap().base_url, path)
    }

    pub fn field(&self, section: &str, key: &str) -> String {
        self.profile[section][key].as_str().unwrap().to_owned()
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(&format!("/admin{path}")))
            .bearer_auth(&self.admin_token)
    }

    /// The private key text for `file` (relative to the state dir).
    pub fn key_file(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join(file)).unwrap()
    }

    pub fn rs256_key(&self) -> EncodingKey {
        EncodingKey::from_rsa_pem(&self.key_file("keys/jwt-rs256.pem")).unwrap()
    }

    pub fn rs256_public_pem(&self) -> Vec<u8> {
        self.key_file("keys/jwt-rs256.pub.pem")
    }

    pub fn rs256_kid(&self) -> String {
        let token = self.field("jwt", "token");
        let header = token.split('.').next().unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        header["kid"].as_str().unwrap().to_owned()
    }

    /// Stops the servers and starts them again on the same port, same state.
    pub async fn restart(mut self, flaws: &[Flaw]) -> TestServer {
        let servers = self.servers.take().unwrap();
        let (addr, mtls_addr) = (servers.addr, servers.mtls_addr);
        servers.shutdown().await;
        let mut config = ServeConfig::new(self.dir.path().to_owned(), addr);
        config.mtls_bind = mtls_addr;
        config.flaws = flaws.iter().copied().collect();
        let servers = authbench_servers::start(config).await.unwrap();
        let profile: toml::Table =
            std::fs::read_to_string(&servers.profile_path).unwrap().parse().unwrap();
        TestServer { servers: Some(servers), profile, ..self }
    }

    pub async fn stop(mut self) {
        if let Some(servers) = self.servers.take() {
            servers.shutdown().await;
        }
    }
}

/// A client trusting the servers' CA, presenting `identity` (chain, key) if given.
pub fn client_with(s: &TestServer, identity: Option<(&[u8], &[u8])>) -> reqwest::Client {
    let ca = std::fs::read(s.dir.path().join("pki/ca.pem")).unwrap();
    let mut builder =
        reqwest::Client::builder().tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()]);
    if let Some((cert, key)) = identity {
        builder = builder.identity(reqwest::Identity::from_pem(&[cert, key].concat()).unwrap());
    }
    builder.build().unwrap()
}

/// A client presenting demo client certificate `name` (`client-a`, …).
pub fn demo(s: &TestServer, name: &str) -> reqwest::Client {
    let cert = s.key_file(&format!("pki/clients/{name}.pem"));
    let key = s.key_file(&format!("pki/clients/{name}.key"));
    client_with(s, Some((&cert, &key)))
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Valid RS256 access-token claims for the reference servers.
pub fn claims() -> Value {
    let now = now();
    serde_json::json!({
        "iss": "urn:authbench:reference:issuer",
        "sub": "alice",
        "aud": "urn:authbench:reference:api",
        "client_id": "test",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": format!("jti-{}", rand_suffix()),
        "scope": "read",
    })
}

pub fn header(alg: &str, kid: &str) -> Value {
    serde_json::json!({ "alg": alg, "typ": "at+jwt", "kid": kid })
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed) ^ (now() as u64) << 20
}

pub fn b64(json: &str) -> String {
    URL_SAFE_NO_PAD.encode(json)
}

/// Signs raw header and payload JSON text with `key` as `alg`.
pub fn sign_raw(header: &str, payload: &str, key: &EncodingKey, alg: Algorithm) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
    format!("{input}.{signature}")
}

pub fn sign(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    sign_raw(&header.to_string(), &claims.to_string(), key, alg)
}

/// Status, `WWW-Authenticate` and the body's `error` member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub status: u16,
    pub challenge: Option<String>,
    pub error: Option<String>,
    pub body: String,
}

pub async fn observe(request: reqwest::RequestBuilder) -> Observed {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge =
        response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    let error = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned));
    Observed { status, challenge, error, body }
}

/// Runs `attack` against the correct server and the one with `flaw`: refused
/// by the first, successful against the second.
pub async fn differs<F, Fut>(flaw: Flaw, attack: F)
where
    F: Fn(TestServer) -> Fut,
    Fut: std::future::Future<Output = (bool, TestServer)>,
{
    differs_with(&[], flaw, attack).await;
}

/// [`differs`] with `base` flaws on both servers (to observe a decision the
/// correct server hides, such as an error it redirects only after login).
pub async fn differs_with<F, Fut>(base: &[Flaw], flaw: Flaw, attack: F)
where
    F: Fn(TestServer) -> Fut,
    Fut: std::future::Future<Output = (bool, TestServer)>,
{
    let (succeeded, s) = attack(TestServer::start(base).await).await;
    assert!(!succeeded, "the attack of {flaw} succeeded against the correct server");
    s.stop().await;
    let mut flawed = base.to_vec();
    flawed.push(flaw);
    let (succeeded, s) = attack(TestServer::start(&flawed).await).await;
    assert!(succeeded, "the attack of {flaw} failed against the flawed server");
    s.stop().await;
}
