//! The mTLS reference server: a second HTTPS listener that requires a client
//! certificate from the client CA (rustls `WebPkiClientVerifier`, the client
//! CA's CRL checked, TLS 1.2 and 1.3), and maps the certificate's identity
//! (URI SAN, else CN) to permissions: 401 for a valid certificate of an unknown
//! identity, 403 for a known identity without the permission.
//!
//! Revocation takes effect without a restart: the CRL is reissued and the
//! server configuration swapped, so new handshakes see it; session resumption
//! is off (no session cache, no tickets), so a revoked certificate cannot ride
//! on an earlier handshake; and every request re-checks the certificate's
//! serial, so an open keep-alive connection of a revoked certificate gets 401
//! on its next request.

pub mod pki;
pub mod verifier;

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::app::App;
use crate::pki::{Pki, PkiError};
use crate::respond::{self, quoted};
use pki::ClientCa;

/// Paths on the mTLS listener.
pub mod paths {
    /// Requires a certificate whose identity has permission `read`.
    pub const RESOURCE: &str = "/mtls/resource";
    /// Reports the identity the certificate maps to.
    pub const WHOAMI: &str = "/mtls/whoami";
}

/// The client certificate of a connection, as handlers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    /// Serial number, hex.
    pub serial: String,
    /// The identity: the `urn:authbench:client:` URI SAN, else the CN.
    pub identity: String,
    /// base64url SHA-256 of the certificate (RFC 8705 `x5t#S256`).
    pub thumbprint: String,
}

impl ClientCert {
    /// Reads serial and identity from a DER certificate.
    pub fn parse(der: &[u8]) -> Option<ClientCert> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let serial = hex::encode(cert.raw_serial()).trim_start_matches("00").to_owned();
        let uri = cert.subject_alternative_name().ok().flatten().and_then(|san| {
            san.value.general_names.iter().find_map(|n| match n {
                x509_parser::extensions::GeneralName::URI(u) => {
                    u.strip_prefix("urn:authbench:client:").map(str::to_owned)
                }
                _ => None,
            })
        });
        let cn = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_owned);
        use base64::Engine;
        let digest = <sha2::Sha256 as sha2::Digest>::digest(der);
        let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
        Some(ClientCert { serial, identity: uri.or(cn)?, thumbprint })
    }
}

/// The mTLS service: the current TLS configuration and the revoked serials.
pub struct MtlsService {
    ca: ClientCa,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: rustls_pki_types::PrivateKeyDer<'static>,
    root: CertificateDer<'static>,
    config: RwLock<Arc<rustls::ServerConfig>>,
    verifier: RwLock<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
    /// The revoked serials, shared with the current handshake policy.
    revoked: RwLock<Arc<HashSet<String>>>,
    flaws: crate::flaws::Flaws,
}

impl std::fmt::Debug for MtlsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MtlsService").field("ca", &self.ca).finish_non_exhaustive()
    }
}

/// Why the mTLS service could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MtlsError {
    /// The PKI failed.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// rustls refused the configuration.
    #[error("mTLS configuration: {0}")]
    Tls(String),
}

impl MtlsService {
    /// Sets up the client CA, the demo client certificates and the CRL from
    /// `revoked` (serial hex, time).
    pub fn new(
        state_dir: &std::path::Path,
        pki: &Pki,
        revoked: &[(String, i64)],
        flaws: &crate::flaws::Flaws,
    ) -> Result<MtlsService, MtlsError> {
        let ca = ClientCa::load_or_generate(state_dir, &pki.ca_pem, &pki.ca_key_pem)?;
        let root = CertificateDer::from_pem_slice(pki.ca_pem.as_bytes())
            .map_err(|e| MtlsError::Tls(format!("root CA: {e}")))?;
        let service = MtlsService {
            ca,
            server_chain: pki.server_chain.clone(),
            server_key: pki.server_key.clone_key(),
            root,
            config: RwLock::new(Arc::new(
                rustls::ServerConfig::builder()
                    .with_no_client_auth()
                    .with_single_cert(pki.server_chain.clone(), pki.server_key.clone_key())
                    .map_err(|e| MtlsError::Tls(e.to_string()))?,
            )),
            // Replaced by `reload` below, before the service is returned.
            verifier: RwLock::new(Arc::new(verifier::AnyCertificate::new(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            )))),
            revoked: RwLock::new(Arc::new(HashSet::new())),
            flaws: flaws.clone(),
        };
        service.reload(revoked)?;
        Ok(service)
    }

    /// The client CA.
    pub fn ca(&self) -> &ClientCa {
        &self.ca
    }

    /// Reissues the CRL for `revoked` and swaps in a configuration that checks it.
    pub fn reload(&self, revoked: &[(String, i64)]) -> Result<(), MtlsError> {
        // The CRL is published (`pki/client-ca.crl`, for other servers and
        // for users); this server checks the same list by serial in its policy.
        self.ca.write_crl(revoked)?;
        let serials: Arc<HashSet<String>> =
            Arc::new(revoked.iter().map(|(s, _)| s.clone()).collect());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.root.clone()).map_err(|e| MtlsError::Tls(e.to_string()))?;
        use crate::flaws::Flaw;
        let builder =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
        let mut policy =
            verifier::Policy::new(builder.build().map_err(|e| MtlsError::Tls(e.to_string()))?);
        policy.ignore_eku = self.flaws.has(Flaw::MtlsIgnoreEku);
        policy.ignore_expiry = self.flaws.has(Flaw::MtlsIgnoreExpiry);
        // Only the leaf is checked for revocation: the client CA publishes a
        // CRL, the root (offline, in a real deployment) does not.
        if !self.flaws.has(Flaw::MtlsSkipCrl) {
            policy.revoked = Some(Arc::clone(&serials));
        }
        let mut verifier: Arc<dyn rustls::server::danger::ClientCertVerifier> = Arc::new(policy);
        if self.flaws.has(Flaw::MtlsAcceptAnyCa) {
            verifier = Arc::new(verifier::AnyCertificate::new(Arc::clone(&provider)));
        }
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| MtlsError::Tls(e.to_string()))?
            .with_client_cert_verifier(Arc::clone(&verifier))
            .with_single_cert(self.server_chain.clone(), self.server_key.clone_key())
            .map_err(|e| MtlsError::Tls(e.to_string()))?;
        // No resumption: a revoked certificate must not skip the next handshake.
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(config);
        *self.verifier.write().unwrap_or_else(|p| p.into_inner()) = verifier;
        *self.revoked.write().unwrap_or_else(|p| p.into_inner()) = serials;
        Ok(())
    }

    /// The client-certificate verifier new handshakes use (the benchmarks time it).
    pub fn client_verifier(&self) -> Arc<dyn rustls::server::danger::ClientCertVerifier> {
        Arc::clone(&self.verifier.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The configuration new handshakes use.
    pub fn current_config(&self) -> Arc<rustls::ServerConfig> {
        Arc::clone(&self.config.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub(crate) fn is_revoked(&self, serial: &str) -> bool {
        !self.flaws.has(crate::flaws::Flaw::MtlsSkipCrl)
            && self.revoked.read().unwrap_or_else(|p| p.into_inner()).contains(serial)
    }

    /// The certificate a request authenticates with: the connection's, or —
    /// only with the `mtls-trust-forwarded-header` flaw — one named in a
    /// forwarded-certificate header.
    pub(crate) fn certificate(
        &self,
        connection: Option<ClientCert>,
        headers: &axum::http::HeaderMap,
    ) -> Option<ClientCert> {
        if !self.flaws.has(crate::flaws::Flaw::MtlsTrustForwardedHeader) {
            return connection;
        }
        forwarded_certificate(headers).or(connection)
    }
}

/// The router of the mTLS listener.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            crate::app::paths::BASELINE,
            any(|m: Method| async move { respond::payload(&m, None) }),
        )
        .route(paths::WHOAMI, get(whoami))
        .route(paths::RESOURCE, any(resource))
        .route(crate::layered::paths::RESOURCE, any(crate::layered::resource))
        // RFC 8705: the token endpoint's mTLS alias (tls_client_auth, binding
        // tokens to the certificate) and the resource server that checks it.
        .route(crate::oauth::paths::TOKEN, axum::routing::post(crate::oauth::token::token))
        .route(
            crate::oauth::paths::RESOURCE,
            any(|s, c, m, h, u, b| crate::oauth::resource::resource(s, c, m, h, u, b, "read")),
        )
        .fallback(|| async {
            respond::error(StatusCode::NOT_FOUND, None, "not_found", "No such resource")
        })
        .layer(axum::middleware::map_response_with_state(
            Arc::clone(&app),
            crate::app::drop_challenges,
        ))
        .with_state(app)
}

pub(crate) fn challenge() -> String {
    format!("Mutual realm={}", quoted("authbench-mtls"))
}

/// Why a request on the mTLS listener was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// No certificate (only when the verifier lets one through).
    NoCertificate,
    /// Revoked since the connection's handshake.
    Revoked,
    /// A valid certificate of an identity the server does not know: 401.
    UnknownIdentity,
    /// A known identity without the permission: 403.
    Forbidden,
    /// The identity store failed.
    Unavailable,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Refusal::Forbidden => "forbidden",
            Refusal::Unavailable => "error",
            _ => "invalid",
        }
    }

    fn response(self) -> Response {
        let unauthorized = |d: &str| {
            respond::error(StatusCode::UNAUTHORIZED, Some(challenge()), "unauthorized", d)
        };
        match self {
            Refusal::NoCertificate => unauthorized("A client certificate is required"),
            Refusal::Revoked => unauthorized("The client certificate was revoked"),
            Refusal::UnknownIdentity => {
                unauthorized("The certificate's identity is not a known client")
            }
            Refusal::Forbidden => respond::error(
                StatusCode::FORBIDDEN,
                None,
                "forbidden",
                "This client may not use this resource",
            ),
            Refusal::Unavailable => respond::error(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "temporarily_unavailable",
                "Try again",
            ),
        }
    }
}

/// The per-request decision of the mTLS resource, as its handler makes it for
/// a connection authenticated with `cert`: revocation, identity, `permission`.
/// The handshake's part is [`MtlsService::client_verifier`]. For the benchmarks.
pub fn admits(app: &App, cert: &ClientCert, permission: &str) -> bool {
    authorize(app, Some(cert), permission).is_ok()
}

/// Authenticates the connection's certificate and checks `permission`.
fn authorize(app: &App, cert: Option<&ClientCert>, permission: &str) -> Result<String, Refusal> {
    // Forwarded-certificate headers (X-Forwarded-Client-Cert, RFC 9440
    // Client-Cert) are never read here: on a direct listener anyone can send them.
    let cert = cert.ok_or(Refusal::NoCertificate)?;
    if app.mtls.is_revoked(&cert.serial) {
        return Err(Refusal::Revoked);
    }
    match app.store.mtls_identity(&cert.identity) {
        Ok(Some(known)) if known.permissions.iter().any(|p| p == permission) => {
            Ok(cert.identity.clone())
        }
        Ok(Some(_)) => Err(Refusal::Forbidden),
        Ok(None) => Err(Refusal::UnknownIdentity),
        Err(e) => {
            tracing::error!(error = %e, "mTLS identity lookup failed");
            Err(Refusal::Unavailable)
        }
    }
}

/// A certificate from `Client-Cert` (RFC 9440: `:base64 DER:`) or
/// `X-Forwarded-Client-Cert` (Envoy: `Cert="<URL-encoded PEM>"`).
fn forwarded_certificate(headers: &axum::http::HeaderMap) -> Option<ClientCert> {
    use base64::Engine;
    let der = if let Some(v) = headers.get("client-cert").and_then(|v| v.to_str().ok()) {
        base64::engine::general_purpose::STANDARD.decode(v.trim().trim_matches(':')).ok()?
    } else {
        let v = headers.get("x-forwarded-client-cert")?.to_str().ok()?;
        let cert =
            v.split(';').find_map(|part| part.trim().strip_prefix("Cert="))?.trim_matches('"');
        let pem: String =
            form_urlencoded::parse(format!("c={cert}").as_bytes()).next()?.1.into_owned();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD.decode(body.trim()).ok()?
    };
    ClientCert::parse(&der)
}

async fn resource(
    State(app): State<Arc<App>>,
    cert: Option<Extension<ClientCert>>,
    method: Method,
    headers: axum::http::HeaderMap,
) -> Response {
    let started = std::time::Instant::now();
    let cert = app.mtls.certificate(cert.map(|Extension(c)| c), &headers);
    let (label, response) = match authorize(&app, cert.as_ref(), "read") {
        Ok(identity) => ("ok", respond::payload(&method, Some(&identity))),
        Err(refusal) => (refusal.label(), refusal.response()),
    };
    app.metrics.record("mtls", label, started.elapsed());
    response
}

async fn whoami(
    State(app): State<Arc<App>>,
    cert: Option<Extension<ClientCert>>,
    headers: axum::http::HeaderMap,
) -> Response {
    let cert = app.mtls.certificate(cert.map(|Extension(c)| c), &headers);
    match &cert {
        Some(c) => {
            let known = app.store.mtls_permissions(&c.identity).ok().flatten();
            axum::Json(serde_json::json!({
                "identity": c.identity,
                "serial": c.serial,
                "known": known.is_some(),
                "permissions": known.unwrap_or_default(),
                "revoked": app.mtls.is_revoked(&c.serial),
            }))
            .into_response()
        }
        None => respond::error(
            StatusCode::UNAUTHORIZED,
            Some(challenge()),
            "unauthorized",
            "No client certificate",
        ),
    }
}
