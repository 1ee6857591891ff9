//! The listeners' accept loop: each connection's TLS handshake (or, under
//! the transport flaws, what `sniff` decides first), then HTTP/1.1 or HTTP/2
//! served until shutdown drains it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::flaws::Flaws;
use crate::guard::{
    Activity, HEADER_TIMEOUT, IDLE_TIMEOUT, Limits, REQUEST_TIMEOUT, RateLimitedLog, Watched,
};

/// 408, closing: the request (its body, or the work it asked for) took
/// longer than [`REQUEST_TIMEOUT`].
fn request_timeout() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::REQUEST_TIMEOUT,
        [(axum::http::header::CONNECTION, "close")],
        "the request took too long\n",
    )
        .into_response()
}

/// How long a TLS handshake may take.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests get to finish at shutdown.
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Gives the TLS acceptor for each new connection: fixed for the main
/// listener, the current configuration (with the current CRL) for mTLS.
pub(crate) type AcceptorSource = Arc<dyn Fn() -> TlsAcceptor + Send + Sync>;

/// Serves HTTP on one connection, TLS or (under `tls-plain-http`) not,
/// until it ends or has been idle for [`IDLE_TIMEOUT`].
async fn serve_io<I>(
    io: TokioIo<I>,
    client_cert: Option<crate::mtls::ClientCert>,
    peer: SocketAddr,
    activity: Arc<Activity>,
    router: axum::Router,
    builder: &auto::Builder<TokioExecutor>,
    graceful: &GracefulShutdown,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let requests = Arc::clone(&activity);
    let service = router
        .map_request(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            if let Some(cert) = &client_cert {
                request.extensions_mut().insert(cert.clone());
            }
            request
        })
        .map_future(move |response| {
            let in_flight = requests.request();
            async move {
                // A body that trickles in (or a handler that hangs) ends here.
                let response = match tokio::time::timeout(REQUEST_TIMEOUT, response).await {
                    Ok(response) => response,
                    Err(_) => Ok(request_timeout()),
                };
                drop(in_flight);
                response
            }
        });
    let connection = builder.serve_connection_with_upgrades(io, TowerToHyperService::new(service));
    let connection = graceful.watch(connection.into_owned());
    tokio::select! {
        ended = connection => {
            if let Err(e) = ended {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        () = activity.idle(IDLE_TIMEOUT) => tracing::debug!(%peer, "idle connection closed"),
    }
}

pub(crate) async fn serve(
    listener: TcpListener,
    acceptor: AcceptorSource,
    router: axum::Router,
    flaws: Flaws,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = Arc::new(GracefulShutdown::new());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Slowloris: a request's headers arrive within a few seconds (hyper
    // starts the clock when it waits for a request, idle keep-alive too).
    builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
    let builder = Arc::new(builder);
    let limits = Arc::new(Limits::default());
    let accept_log = RateLimitedLog::default();
    let refusal_log = RateLimitedLog::default();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly
                    // rather than spin; the listener itself is still good.
                    if let Some(suppressed) = accept_log.due(Duration::from_secs(1)) {
                        tracing::warn!(error = %e, suppressed, "accept failed");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        // Over a cap: closed at once, not left to fill the backlog.
        let Some(slot) = limits.admit(peer.ip()) else {
            if let Some(suppressed) = refusal_log.due(Duration::from_secs(1)) {
                tracing::warn!(%peer, suppressed, refused = limits.refused(), "connection refused: over the connection cap");
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor();
        let router = router.clone();
        let graceful = Arc::clone(&graceful);
        let builder = Arc::clone(&builder);
        let flaws = flaws.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let activity = Arc::new(Activity::default());
            let mut stream = stream;
            let tls = match crate::sniff::sniff(&mut stream, &flaws, HANDSHAKE_TIMEOUT).await {
                crate::sniff::Sniffed::Handled => return,
                crate::sniff::Sniffed::Plain => {
                    let io = TokioIo::new(Watched::new(stream, Arc::clone(&activity)));
                    return serve_io(io, None, peer, activity, router, &builder, &graceful).await;
                }
                crate::sniff::Sniffed::Tls => {
                    let watched = Watched::new(stream, Arc::clone(&activity));
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(watched)).await {
                        Ok(Ok(tls)) => tls,
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    }
                }
            };
            // Handlers see the client's address (API key throttling is per
            // source) and, on the mTLS listener, its certificate.
            let client_cert = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| crate::mtls::ClientCert::parse(leaf));
            let io = TokioIo::new(tls);
            serve_io(io, client_cert, peer, activity, router, &builder, &graceful).await;
        });
    }
    drop(listener);
    if let Ok(graceful) = Arc::try_unwrap(graceful) {
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
    }
}
