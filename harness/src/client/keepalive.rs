//! Kept-alive HTTP/1.1 connections over TLS (hyper): the load generator's,
//! the fuzzer's and the Locust worker's users'. The conformance client in
//! `client/mod.rs` opens one connection per request instead, and writes bytes
//! hyper refuses to.

use std::sync::Arc;
use std::time::Duration;

use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use url::Url;

/// How long one request (or one connection's handshakes) may take: a target
/// that accepts and never answers, or stalls a body, holds a connection no
/// longer than this, so a phase ends within its duration plus this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP/1.1 connection over TLS to `url`'s origin (also the fuzzer's).
pub async fn connect_to<B>(
    url: &Url,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<http1::SendRequest<B>, String>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let host = url.host_str().unwrap_or("localhost").trim_matches(['[', ']']).to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let name = ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(Arc::clone(tls))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake with {host}:{port} failed: {e}"))?;
    let (sender, conn) = http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("HTTP/1.1 handshake failed: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

