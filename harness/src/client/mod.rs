//! The conformance client: HTTP/1.1 written byte for byte over TCP or TLS, so a
//! case controls everything a request carries — duplicate headers, header-name
//! casing, bytes no HTTP library would send — and a fresh connection per
//! request, so no case's state leaks into another's.

pub mod callback;
mod error;
pub mod keepalive;
mod race;
pub mod tls_probe;
mod weak_rsa;
mod wire;

use wire::roundtrip;
#[cfg(test)]
use wire::{complete, parse};

/// Parses a whole HTTP/1.1 answer from its bytes: for tests that judge
/// answers without a server.
pub fn parse_answer(bytes: &[u8]) -> Result<RawResponse, SendError> {
    wire::parse(bytes, false, Duration::ZERO)
}

use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use url::Url;

pub use error::ClientError;

/// Answers larger than this are cut (the cases judge status and headers).
/// How long one request may take, by default (`--timeout` overrides it in
/// `conform`).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

const MAX_RESPONSE: usize = 1 << 20;

/// A client certificate chain and its private key, presented in the TLS handshake.
pub struct ClientIdentity {
    /// Leaf first, then intermediates.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity").field("chain", &self.chain.len()).finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// Reads a PEM chain and a PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, ClientError> {
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ClientError::Credentials(format!("not a PEM certificate chain: {e}")))?;
        if chain.is_empty() {
            return Err(ClientError::Credentials("no PEM certificate in the chain".to_owned()));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| ClientError::Credentials(format!("not a PEM private key: {e}")))?;
        Ok(ClientIdentity { chain, key })
    }

    /// The leaf only, without the intermediates.
    pub fn leaf_only(&self) -> Self {
        ClientIdentity { chain: self.chain[..1].to_vec(), key: self.key.clone_key() }
    }
}

/// A TLS protocol version to insist on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    /// TLS 1.2 only.
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// A request exactly as it will be written.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// The method token, sent as is.
    pub method: String,
    /// Scheme, host, port, path and query.
    pub url: Url,
    /// Header lines in order, names and values sent as is (after `Host`).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body; `Content-Length` is added when it is non-empty or the method has one.
    pub body: Vec<u8>,
    /// A client certificate to present (mutual TLS).
    pub identity: Option<Arc<ClientIdentity>>,
    /// Insist on one TLS version.
    pub tls_version: Option<TlsVersion>,
    /// Send from this local address (an address of this machine; on Linux
    /// any `127.0.0.0/8` address is a loopback source).
    pub source: Option<std::net::IpAddr>,
}

impl RawRequest {
    /// A GET of `url` with no headers.
    pub fn get(url: Url) -> Self {
        RawRequest {
            method: "GET".to_owned(),
            url,
            headers: Vec::new(),
            body: Vec::new(),
            identity: None,
            tls_version: None,
            source: None,
        }
    }

    /// A POST of `url` with a form body (`application/x-www-form-urlencoded`).
    pub fn form<K: AsRef<str>, V: AsRef<str>>(url: Url, fields: &[(K, V)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
            .finish();
        let mut request = RawRequest::get(url);
        request.method = "POST".to_owned();
        request.body = body.into_bytes();
        request.header("Content-Type", "application/x-www-form-urlencoded")
    }

    /// Appends a header line.
    pub fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Presents `identity` in the handshake.
    pub fn with_identity(mut self, identity: Option<Arc<ClientIdentity>>) -> Self {
        self.identity = identity;
        self
    }

    /// The request exactly as it goes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let (target, host) = target_and_host(&self.url);
        let mut out = format!("{} {target} HTTP/1.1\r\nHost: {host}\r\n", self.method).into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        let has_body = matches!(self.method.as_str(), "POST" | "PUT" | "PATCH");
        if has_body || !self.body.is_empty() {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"Connection: close\r\nUser-Agent: authbench\r\n\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// `url`'s request target (path and query, RFC 9112 §3.2.1) and its Host
/// header value.
pub fn target_and_host(url: &Url) -> (String, String) {
    let mut target = url.path().to_owned();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    };
    (target, host)
}

/// An answer.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Header lines in order (names lower-cased, values lossily UTF-8).
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
    /// From the first byte written to the last byte read.
    pub elapsed: Duration,
}

impl RawResponse {
    /// Every value of header `name` (case-insensitive).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The first value of header `name`.
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.header_values(name).next()
    }
}

/// Why no answer came.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// TCP connection failed.
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// host:port.
        addr: String,
        /// What the OS said.
        reason: String,
    },
    /// The TLS handshake failed.
    #[error("TLS handshake with {host} failed: {reason}")]
    Tls {
        /// Host.
        host: String,
        /// What rustls said.
        reason: String,
    },
    /// The server refused with a TLS alert, in the handshake or after it (in
    /// TLS 1.3 a refused client certificate is reported when the client reads).
    #[error("the server sent the TLS alert {alert}")]
    Alert {
        /// The alert's name, e.g. `bad_certificate`, `unknown_ca`.
        alert: String,
    },
    /// No complete answer within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection closed or was reset before a single byte of an answer.
    /// Over TLS 1.3 this is how some servers refuse a client certificate:
    /// their alert arrives after the client has finished its handshake, and
    /// the close can overtake it.
    #[error("the connection closed without an answer ({0})")]
    Closed(String),
    /// The connection closed before an answer, or the answer was not HTTP.
    #[error("bad answer: {0}")]
    Protocol(String),
}

/// The most of one answer's body the load tools (`overhead`, `fuzz`,
/// `worker`) read: they discard bodies as they stream in, and an answer
/// longer than this is cut off and counted as an error, so a target that
/// streams without end costs neither memory nor more than a request's time.
pub const MAX_BODY: u64 = 8 << 20;

/// Reads `body` to its end, discarding it, and returns its length; an error
/// past `cap` bytes (the caller drops the connection).
pub async fn drain_body<B>(mut body: B, cap: u64) -> Result<u64, ClientError>
where
    B: hyper::body::Body + Unpin,
    B::Error: std::fmt::Display,
{
    use bytes::Buf as _;
    use http_body_util::BodyExt as _;
    let mut length = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ClientError::Body(e.to_string()))?;
        if let Some(data) = frame.data_ref() {
            length += data.remaining() as u64;
        }
        if length > cap {
            return Err(ClientError::Body(format!(
                "the answer's body runs past {} MiB: cut off",
                cap >> 20
            )));
        }
    }
    Ok(length)
}

/// The client: TLS settings shared by every request.
#[derive(Clone)]
pub struct HttpClient {
    tls: tokio_rustls::TlsConnector,
    roots: Arc<rustls::RootCertStore>,
    timeout: Duration,
    recorder: Option<Recorder>,
}

/// The requests a client sent (`POST https://host/oauth/token`, without the
/// query): `compare` counts a flow's round trips and endpoints with it.
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<std::sync::Mutex<Vec<String>>>);

impl Recorder {
    /// The requests recorded since the last call, oldest first.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn push(&self, request: &RawRequest) {
        let mut url = request.url.clone();
        url.set_query(None);
        url.set_fragment(None);
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(format!("{} {url}", request.method));
    }
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client trusting `ca_pem` when given, else the system's roots.
    pub fn new(ca_pem: Option<&[u8]>, timeout: Duration) -> Result<Self, ClientError> {
        let mut roots = rustls::RootCertStore::empty();
        match ca_pem {
            Some(pem) => {
                for cert in CertificateDer::pem_slice_iter(pem) {
                    let cert =
                        cert.map_err(|e| ClientError::Credentials(format!("CA file: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| ClientError::Credentials(format!("CA file: {e}")))?;
                }
            }
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
            }
        }
        let roots = Arc::new(roots);
        let config = tls_builder(&roots, None).map_err(ClientError::Tls)?.with_no_client_auth();
        Ok(HttpClient {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            roots,
            timeout,
            recorder: None,
        })
    }

    /// This client, recording every request it sends into the recorder returned.
    pub fn recording(&self) -> (HttpClient, Recorder) {
        let recorder = Recorder::default();
        (HttpClient { recorder: Some(recorder.clone()), ..self.clone() }, recorder)
    }

    /// A TLS configuration for load generation: the same roots, an optional
    /// client certificate, ALPN http/1.1, and session resumption off when
    /// every request opens a connection (so each pays a full handshake).
    pub fn load_config(
        &self,
        identity: Option<&ClientIdentity>,
        resumption: bool,
    ) -> Result<Arc<rustls::ClientConfig>, ClientError> {
        let builder = tls_builder(&self.roots, None).map_err(ClientError::Tls)?;
        let mut config = match identity {
            Some(id) => {
                let key =
                    rustls::crypto::aws_lc_rs::sign::any_supported_type(&id.key).map_err(|e| {
                        ClientError::Credentials(format!("the client key cannot sign: {e}"))
                    })?;
                let certified = rustls::sign::CertifiedKey::new(id.chain.clone(), key);
                builder.with_client_cert_resolver(Arc::new(FixedIdentity(Arc::new(certified))))
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        if !resumption {
            config.resumption = rustls::client::Resumption::disabled();
        }
        Ok(Arc::new(config))
    }

    /// The connector for `request`: the shared one, or one presenting its
    /// client certificate or limited to its TLS version.
    fn connector(&self, request: &RawRequest) -> Result<tokio_rustls::TlsConnector, String> {
        if request.identity.is_none() && request.tls_version.is_none() {
            return Ok(self.tls.clone());
        }
        let builder = tls_builder(&self.roots, request.tls_version)?;
        let config = match &request.identity {
            // A resolver rather than `with_client_auth_cert`, which refuses a
            // key that does not match the certificate: presenting one is a case.
            Some(id) => {
                let key = match rustls::crypto::aws_lc_rs::sign::any_supported_type(&id.key) {
                    Ok(key) => key,
                    // aws-lc refuses RSA under 2048 bits; the weak-key case needs one.
                    Err(e) => weak_rsa::WeakRsaKey::parse(&id.key)
                        .ok_or_else(|| format!("the client key cannot sign: {e}"))?,
                };
                let certified = rustls::sign::CertifiedKey::new(id.chain.clone(), key);
                builder.with_client_cert_resolver(Arc::new(FixedIdentity(Arc::new(certified))))
            }
            None => builder.with_no_client_auth(),
        };
        Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
    }

    /// This client with another per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `request` on a new connection and reads the whole answer.
    pub async fn send(&self, request: &RawRequest) -> Result<RawResponse, SendError> {
        if let Some(recorder) = &self.recorder {
            recorder.push(request);
        }
        // Boxed: a TLS exchange is a large future, and cases nest several.
        match tokio::time::timeout(self.timeout, Box::pin(self.exchange(request))).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Timeout(self.timeout)),
        }
    }

    /// Opens a TCP connection to `url`'s host and closes it: is anything listening?
    pub async fn probe(&self, url: &Url) -> Result<(), SendError> {
        let addr = authority(url);
        match tokio::time::timeout(self.timeout, TcpStream::connect(&addr)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(SendError::Connect { addr, reason: e.to_string() }),
            Err(_) => Err(SendError::Timeout(self.timeout)),
        }
    }

    async fn exchange(&self, request: &RawRequest) -> Result<RawResponse, SendError> {
        let addr = authority(&request.url);
        let tcp = connect(&addr, request.source).await?;
        let _ = tcp.set_nodelay(true);
        let bytes = request.to_bytes();
        let head_only = request.method.eq_ignore_ascii_case("HEAD");
        if request.url.scheme() == "https" {
            let tls = self.tls_over(request, tcp).await?;
            roundtrip(tls, &bytes, head_only).await
        } else {
            roundtrip(tcp, &bytes, head_only).await
        }
    }

    /// The TLS handshake for `request` over `tcp`: its host's name, its
    /// client certificate and TLS version, alerts named.
    async fn tls_over(
        &self,
        request: &RawRequest,
        tcp: TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, SendError> {
        let host = request.url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned();
        let name = ServerName::try_from(host.clone())
            .map_err(|e| SendError::Tls { host: host.clone(), reason: e.to_string() })?;
        let connector = self
            .connector(request)
            .map_err(|reason| SendError::Tls { host: host.clone(), reason })?;
        connector.connect(name, tcp).await.map_err(|e| match alert_of(&e) {
            Some(alert) => SendError::Alert { alert },
            None => SendError::Tls { host, reason: e.to_string() },
        })
    }
}

/// Presents one certificate whatever the server asks for.
#[derive(Debug)]
struct FixedIdentity(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for FixedIdentity {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

fn tls_builder(
    roots: &Arc<rustls::RootCertStore>,
    version: Option<TlsVersion>,
) -> Result<rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider);
    let builder = match version {
        None => builder.with_safe_default_protocol_versions(),
        Some(TlsVersion::Tls12) => builder.with_protocol_versions(&[&rustls::version::TLS12]),
        Some(TlsVersion::Tls13) => builder.with_protocol_versions(&[&rustls::version::TLS13]),
    }
    .map_err(|e| e.to_string())?;
    Ok(builder.with_root_certificates(Arc::clone(roots)))
}

/// The alert a peer sent, if `e` reports one, named as in RFC 8446 §6.
fn alert_of(e: &std::io::Error) -> Option<String> {
    let inner = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    match inner {
        rustls::Error::AlertReceived(alert) => Some(alert_name(*alert)),
        _ => None,
    }
}

fn alert_name(alert: rustls::AlertDescription) -> String {
    // rustls names alerts in CamelCase (`BadCertificate`); the RFC in snake_case.
    let camel = format!("{alert:?}");
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A TCP connection to `addr`, from `source` when one is given.
async fn connect(addr: &str, source: Option<std::net::IpAddr>) -> Result<TcpStream, SendError> {
    let fail = |reason: String| SendError::Connect { addr: addr.to_owned(), reason };
    let Some(source) = source else {
        return TcpStream::connect(addr).await.map_err(|e| fail(e.to_string()));
    };
    let peer = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| fail(e.to_string()))?
        .find(|peer| peer.is_ipv4() == source.is_ipv4())
        .ok_or_else(|| fail(format!("the host has no address of source {source}'s family")))?;
    let socket = if source.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(|e| fail(e.to_string()))?;
    socket.bind(std::net::SocketAddr::new(source, 0)).map_err(|e| {
        fail(format!(
            "cannot send from {source}: {e} (a source must be an address of this machine; on Linux every 127.0.0.0/8 address is one)"
        ))
    })?;
    socket.connect(peer).await.map_err(|e| fail(e.to_string()))
}

fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or("localhost");
    let port = url.port_or_known_default().unwrap_or(443);
    format!("{host}:{port}")
}

#[cfg(test)]
mod tests;
