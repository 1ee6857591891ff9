//! Kept-alive HTTP/1.1 connections over TLS (hyper): the load generator's,
//! the fuzzer's and the Locust worker's users'. The conformance client in
//! `client/mod.rs` opens one connection per request instead, and writes bytes
//! hyper refuses to.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::client::conn::http1;
use hyper::header::{HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use url::Url;

use super::ClientError;

/// How long one request (or one connection's handshakes) may take: a target
/// that accepts and never answers, or stalls a body, holds a connection no
/// longer than this, so a phase ends within its duration plus this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP/1.1 connection over TLS to `url`'s origin (also the fuzzer's).
pub async fn connect_to<B>(
    url: &Url,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<http1::SendRequest<B>, ClientError>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let tls = connect_tls(url, tls).await?;
    let (sender, conn) = http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| ClientError::Connect(format!("HTTP/1.1 handshake failed: {e}")))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// A TCP connection (no Nagle) and a TLS session to `url`'s origin.
pub async fn connect_tls(
    url: &Url,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ClientError> {
    let host = url.host_str().unwrap_or("localhost").trim_matches(['[', ']']).to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| ClientError::Connect(format!("cannot connect to {host}:{port}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let name =
        ServerName::try_from(host.clone()).map_err(|e| ClientError::Connect(e.to_string()))?;
    tokio_rustls::TlsConnector::from(Arc::clone(tls))
        .connect(name, tcp)
        .await
        .map_err(|e| ClientError::Connect(format!("TLS handshake with {host}:{port} failed: {e}")))
}

/// One endpoint under load: where, with which prepared credential.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The URL.
    pub url: Url,
    /// Headers sent with every request (the credential, minted before the clock).
    pub headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
    /// A header whose value may be used once only (a DPoP proof), from a pool
    /// minted before each phase.
    pub one_use: Option<Arc<OneUse>>,
    /// The TLS configuration (roots, client certificate, ALPN http/1.1).
    pub tls: Arc<rustls::ClientConfig>,
}

impl Endpoint {
    /// `url` with `headers` on every request, over `tls`.
    pub fn new(
        url: &Url,
        headers: Vec<(HeaderName, HeaderValue)>,
        tls: &Arc<rustls::ClientConfig>,
    ) -> Endpoint {
        Endpoint { url: url.clone(), headers, one_use: None, tls: Arc::clone(tls) }
    }
}

/// Mints a batch of one-use header values.
pub type Mint = dyn Fn(usize) -> Result<Vec<HeaderValue>, String> + Send + Sync;

/// A pool of one-use credentials (DPoP proofs: a fresh `jti` each, and an
/// `iat` the server accepts for a limited window). Each phase mints what it
/// can use before its clock starts, so minting costs the measurement nothing;
/// a closed-loop phase that uses the pool up ends early (its rate stays right:
/// requests over the time they took).
pub struct OneUse {
    /// The header's name.
    pub name: HeaderName,
    mint: Box<Mint>,
    pool: std::sync::Mutex<Vec<HeaderValue>>,
    /// The last phase's rate, to size the next closed-loop pool.
    rate_hint: std::sync::Mutex<Option<f64>>,
    /// Length of the values minted last.
    value_len: AtomicU64,
}

impl std::fmt::Debug for OneUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneUse").field("name", &self.name).finish_non_exhaustive()
    }
}

impl OneUse {
    /// A pool of `name` values made by `mint`.
    pub fn new(name: HeaderName, mint: Box<Mint>) -> OneUse {
        OneUse {
            name,
            mint,
            pool: std::sync::Mutex::new(Vec::new()),
            rate_hint: std::sync::Mutex::new(None),
            value_len: AtomicU64::new(0),
        }
    }

    /// Bytes the header adds to a request (`name: value\r\n`), once minted.
    pub fn header_bytes(&self) -> usize {
        match self.value_len.load(Ordering::Relaxed) {
            0 => 0,
            n => self.name.as_str().len() + n as usize + 4,
        }
    }

    /// One value minted now (for callers that mint as they go, like `load`).
    pub fn mint_one(&self) -> Result<HeaderValue, String> {
        (self.mint)(1)?.pop().ok_or_else(|| "nothing minted".to_owned())
    }

    /// Replaces the pool with `wanted` values minted now.
    pub fn refill(&self, wanted: usize) -> Result<(), String> {
        let values = (self.mint)(wanted)?;
        if let Some(v) = values.first() {
            self.value_len.store(v.len() as u64, Ordering::Relaxed);
        }
        *lock(&self.pool) = values;
        Ok(())
    }

    /// The last phase's rate, if one was learnt.
    pub fn rate_hint(&self) -> Option<f64> {
        *lock(&self.rate_hint)
    }

    /// A value, used up; `None` when the pool is spent.
    pub fn take(&self) -> Option<HeaderValue> {
        lock(&self.pool).pop()
    }

    /// Remembers the rate a phase reached, to size the next pool.
    pub fn learn(&self, rate: f64) {
        if rate > 0.0 {
            *lock(&self.rate_hint) = Some(rate);
        }
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
