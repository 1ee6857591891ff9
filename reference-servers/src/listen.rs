//! The listeners' accept loop: each connection's TLS handshake (or, under
//! the transport flaws, what `sniff` decides first), then HTTP/1.1 or HTTP/2
//! served until shutdown drains it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::flaws::Flaws;

/// How long a TLS handshake may take.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests get to finish at shutdown.
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Gives the TLS acceptor for each new connection: fixed for the main
/// listener, the current configuration (with the current CRL) for mTLS.
pub(crate) type AcceptorSource = Arc<dyn Fn() -> TlsAcceptor + Send + Sync>;

/// Serves HTTP on one connection, TLS or (under `tls-plain-http`) not.
async fn serve_io<I>(
    io: TokioIo<I>,
    client_cert: Option<crate::mtls::ClientCert>,
    peer: SocketAddr,
    router: axum::Router,
    builder: &auto::Builder<TokioExecutor>,
    graceful: &GracefulShutdown,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(router.map_request(
        move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            if let Some(cert) = &client_cert {
                request.extensions_mut().insert(cert.clone());
            }
            request
        },
    ));
    let connection = builder.serve_connection_with_upgrades(io, service);
    let connection = graceful.watch(connection.into_owned());
    if let Err(e) = connection.await {
        tracing::debug!(error = %e, "connection ended with an error");
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
    let builder = Arc::new(auto::Builder::new(TokioExecutor::new()));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly
                    // rather than spin; the listener itself is still good.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor();
        let router = router.clone();
        let graceful = Arc::clone(&graceful);
        let builder = Arc::clone(&builder);
        let flaws = flaws.clone();
        tokio::spawn(async move {
            let mut stream = stream;
            let tls = match crate::sniff::sniff(&mut stream, &flaws, HANDSHAKE_TIMEOUT).await {
                crate::sniff::Sniffed::Handled => return,
                crate::sniff::Sniffed::Plain => {
                    return serve_io(TokioIo::new(stream), None, peer, router, &builder, &graceful)
                        .await;
                }
                crate::sniff::Sniffed::Tls => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
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
            serve_io(TokioIo::new(tls), client_cert, peer, router, &builder, &graceful).await;
        });
    }
    drop(listener);
    if let Ok(graceful) = Arc::try_unwrap(graceful) {
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
    }
}
