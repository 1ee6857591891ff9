//! Requests that arrive together: each on its own connection, opened and
//! sent but for its last byte, then every last byte at once — the
//! "last-byte synchronization" race testers use, so that a race window of a
//! millisecond is hit rather than missed behind handshakes. The connections
//! are spread over every address the host resolves to, so a cluster of
//! backends behind one name gets the race on several of them.

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{HttpClient, RawRequest, RawResponse, SendError, authority, roundtrip};

/// A connection ready for its last byte.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

impl HttpClient {
    /// Sends `requests` so that they arrive together (see the module), each
    /// answer in order. A request that could not be prepared is its error.
    pub async fn send_together(
        &self,
        requests: &[RawRequest],
    ) -> Vec<Result<RawResponse, SendError>> {
        let Some(first) = requests.first() else { return Vec::new() };
        let addr = authority(&first.url);
        let found = tokio::net::lookup_host(addr.as_str()).await.map(|a| a.collect::<Vec<_>>());
        let addrs: Vec<SocketAddr> = match found {
            Ok(found) if !found.is_empty() => found,
            Ok(_) => {
                let e = SendError::Connect { addr, reason: "no address".to_owned() };
                return requests.iter().map(|_| Err(e.clone())).collect();
            }
            Err(e) => {
                let e = SendError::Connect { addr, reason: e.to_string() };
                return requests.iter().map(|_| Err(e.clone())).collect();
            }
        };
        let prepared = futures_util::future::join_all(
            requests.iter().enumerate().map(|(i, r)| self.prepare(r, addrs[i % addrs.len()])),
        )
        .await;
        let finish = prepared.into_iter().zip(requests).map(|(p, r)| async move {
            let (stream, last) = p?;
            let head_only = r.method.eq_ignore_ascii_case("HEAD");
            roundtrip(stream, &last, head_only).await
        });
        let within = futures_util::future::join_all(finish);
        match tokio::time::timeout(self.timeout, within).await {
            Ok(answers) => answers,
            Err(_) => requests.iter().map(|_| Err(SendError::Timeout(self.timeout))).collect(),
        }
    }

    /// Connects to `addr`, completes TLS when the URL is https, and writes all
    /// of `request` but its last byte, which it returns.
    async fn prepare(
        &self,
        request: &RawRequest,
        addr: SocketAddr,
    ) -> Result<(Box<dyn Stream>, Vec<u8>), SendError> {
        let work = async {
            let mut bytes = request.to_bytes();
            let last = bytes.split_off(bytes.len().saturating_sub(1));
            let tcp = TcpStream::connect(addr).await.map_err(|e| SendError::Connect {
                addr: addr.to_string(),
                reason: e.to_string(),
            })?;
            let _ = tcp.set_nodelay(true);
            let mut stream: Box<dyn Stream> = if request.url.scheme() == "https" {
                Box::new(self.tls_over(request, tcp).await?)
            } else {
                Box::new(tcp)
            };
            let written = async {
                stream.write_all(&bytes).await?;
                stream.flush().await
            };
            written.await.map_err(|e| SendError::Closed(format!("writing the request: {e}")))?;
            Ok((stream, last))
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(SendError::Timeout(self.timeout)),
        }
    }
}
