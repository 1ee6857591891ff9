//! The one outbound request the reference servers can make, for the flaws
//! that fetch what a request names (`jwt-follow-jku`,
//! `oauth-fetch-request-uri`): a GET of an `http://` URL on loopback, bounded
//! in time and size. A correct server never calls it; a flawed one cannot be
//! aimed beyond this machine.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use url::{Host, Url};

/// How long a fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest body read.
const MAX_BODY: usize = 64 * 1024;

/// GET `url`'s body, if `url` is `http://` on loopback and answers 200 in time.
pub(crate) async fn fetch_loopback(url: &str) -> Option<Vec<u8>> {
    let url = Url::parse(url).ok()?;
    let loopback = match url.host()? {
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
    };
    if url.scheme() != "http" || !loopback {
        return None;
    }
    let addresses = url.socket_addrs(|| Some(80)).ok()?;
    let work = async {
        let stream = tokio::net::TcpStream::connect(addresses.first()?).await.ok()?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .ok()?;
        tokio::spawn(connection);
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let request =
            Request::get(path).header(header::HOST, url.host_str()?).body(Body::empty()).ok()?;
        let response = sender.send_request(request).await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let body = axum::body::to_bytes(Body::new(response.into_body()), MAX_BODY).await.ok()?;
        Some(body.to_vec())
    };
    tokio::time::timeout(FETCH_TIMEOUT, work).await.ok()?
}
