//! Starting and stopping the reference servers: state, PKI, keys, the HTTPS
//! listener, the target profile, graceful shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::app::{self, App, paths};
use crate::basic::{BasicAuth, ThrottleConfig};
use crate::files::{self, Access};
use crate::flaws::Flaws;
use crate::jwt::keys::{self, JwtKeys};
use crate::jwt::verify::alg_name;
use crate::jwt::{self, JwtConfig, JwtService};
use crate::metrics::Metrics;
use crate::pki::Pki;
use crate::profile::{
    ApiKeySection, BasicSection, ClientCredentials, JwtSection, JwtVariant, LayeredApiKey,
    LayeredJwt, LayeredMtls, LayeredOther, LayeredSection, LoginFields, MtlsSection, OAuth2Section,
    PrivateKeyJwt, Profile, PublicClient, ReferenceSection, TlsClientAuth,
};
use crate::seed::{self, DEMO_USER};
use crate::store::{KeyMode, Store};

/// The state database file, relative to the state directory.
pub const DATABASE_FILE: &str = "state.db";
/// The target profile, relative to the state directory.
pub const PROFILE_FILE: &str = "target.toml";

/// How to run the reference servers.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where all state lives (database, PKI, keys, profile).
    pub state_dir: PathBuf,
    /// The HTTPS listener's address; port 0 picks a free one.
    pub bind: SocketAddr,
    /// The mTLS listener's address.
    pub mtls_bind: SocketAddr,
    /// Deliberate misconfigurations to switch on.
    pub flaws: Flaws,
    /// Basic login throttling.
    pub throttle: ThrottleConfig,
    /// JWT lifetimes and skew.
    pub jwt: JwtConfig,
    /// Which API keys this deployment accepts.
    pub api_key_mode: KeyMode,
    /// Throttling of invalid API keys per client address.
    pub api_key_throttle: crate::api_key::KeyThrottleConfig,
    /// OAuth lifetimes.
    pub oauth: crate::oauth::OAuthConfig,
}

impl ServeConfig {
    /// Defaults for `state_dir` and `bind`: no flaws, standard throttling.
    pub fn new(state_dir: PathBuf, bind: SocketAddr) -> Self {
        // The mTLS listener defaults to the next port (8443 → 8444), or a free
        // one when the main listener takes a free one.
        let mtls_bind = SocketAddr::new(
            bind.ip(),
            if bind.port() == 0 { 0 } else { bind.port().wrapping_add(1) },
        );
        ServeConfig {
            state_dir,
            bind,
            mtls_bind,
            flaws: Flaws::none(),
            throttle: ThrottleConfig::default(),
            jwt: JwtConfig::default(),
            api_key_mode: KeyMode::Live,
            api_key_throttle: crate::api_key::KeyThrottleConfig::default(),
            oauth: crate::oauth::OAuthConfig::default(),
        }
    }
}

/// Why the servers could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The state directory is unusable.
    #[error("state directory {path}: {source}")]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The state database failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The PKI could not be loaded or generated.
    #[error(transparent)]
    Pki(#[from] crate::pki::PkiError),
    /// A JWT key could not be loaded or generated.
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    /// A state file could not be written.
    #[error(transparent)]
    File(#[from] files::FileError),
    /// The demo credentials could not be set up.
    #[error("demo credentials: {0}")]
    Seed(String),
    /// rustls refused the server certificate or key.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The listener could not bind.
    #[error("cannot listen on {addr}: {source}; pick another address with --bind")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}

/// Running reference servers.
#[derive(Debug)]
pub struct RunningServers {
    /// The HTTPS listener's bound address.
    pub addr: SocketAddr,
    /// `https://addr`.
    pub base_url: String,
    /// The state directory.
    pub state_dir: PathBuf,
    /// The written target profile.
    pub profile_path: PathBuf,
    /// The CA certificate clients must trust.
    pub ca_cert_path: PathBuf,
    /// The mTLS listener's bound address.
    pub mtls_addr: SocketAddr,
    /// `https://mtls_addr`.
    pub mtls_base_url: String,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
    mtls_task: JoinHandle<()>,
}

impl RunningServers {
    /// Stops accepting connections, lets open requests finish (up to a few
    /// seconds), and returns when the listener is closed.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
        let _ = self.mtls_task.await;
    }
}

/// Starts the reference servers; returns once the listener accepts connections.
pub async fn start(config: ServeConfig) -> Result<RunningServers, ServeError> {
    let state_dir = config.state_dir.clone();
    std::fs::create_dir_all(&state_dir)
        .map_err(|source| ServeError::StateDir { path: state_dir.clone(), source })?;
    // Bind first: the OAuth issuer is the listener's origin.
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|source| ServeError::Bind { addr: config.bind, source })?;
    let addr =
        listener.local_addr().map_err(|source| ServeError::Bind { addr: config.bind, source })?;
    let base_url = origin(addr);
    let mtls_listener = TcpListener::bind(config.mtls_bind)
        .await
        .map_err(|source| ServeError::Bind { addr: config.mtls_bind, source })?;
    let mtls_addr = mtls_listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr: config.mtls_bind, source })?;
    let mtls_base_url = origin(mtls_addr);
    // Key generation (RSA especially) and argon2 hashing block: keep them off the runtime.
    let prepared = {
        let config = config.clone();
        let base_url = base_url.clone();
        let mtls_base_url = mtls_base_url.clone();
        tokio::task::spawn_blocking(move || prepare(config, &base_url, &mtls_base_url))
            .await
            .map_err(|e| ServeError::Seed(format!("start-up task failed: {e}")))??
    };
    let Prepared { app, pki, seed } = prepared;
    let tls = tls_config(&pki)?;

    let now = app::now();
    let lifetime = app.jwt.config().max_lifetime_secs;
    let token = app.jwt.mint(jsonwebtoken::Algorithm::RS256, DEMO_USER, "read", lifetime, now);
    let revoked = app.jwt.mint(jsonwebtoken::Algorithm::RS256, DEMO_USER, "read", lifetime, now);
    let (token, revoked) = match (token, revoked) {
        (Ok(t), Ok(r)) => (t, r),
        (Err(e), _) | (_, Err(e)) => {
            return Err(ServeError::Seed(format!("minting demo tokens: {e}")));
        }
    };
    {
        let store = Arc::clone(&app.store);
        let (jti, exp) = (revoked.jti.clone(), revoked.expires_at);
        tokio::task::spawn_blocking(move || store.revoke_jti(&jti, Some(exp), now))
            .await
            .map_err(|e| ServeError::Seed(e.to_string()))??;
    }

    let profile =
        build_profile(&app, &config, &base_url, &mtls_base_url, &seed, token.token, revoked.token);
    let profile_path = state_dir.join(PROFILE_FILE);
    let text = profile.to_toml().map_err(|e| ServeError::Seed(e.to_string()))?;
    files::write_atomic(&profile_path, text.as_bytes(), Access::Private)?;
    files::write_atomic(
        &state_dir.join(crate::openapi::FILE),
        app.openapi.as_bytes(),
        Access::Public,
    )?;

    let (shutdown, shutdown_rx) = watch::channel(false);
    let app = Arc::new(app);
    let main_acceptor = TlsAcceptor::from(Arc::new(tls));
    let main: crate::listen::AcceptorSource = Arc::new(move || main_acceptor.clone());
    let task = tokio::spawn(crate::listen::serve(
        listener,
        main,
        app::router(Arc::clone(&app)),
        config.flaws.clone(),
        shutdown_rx.clone(),
    ));
    let mtls_app = Arc::clone(&app);
    let mtls: crate::listen::AcceptorSource =
        Arc::new(move || TlsAcceptor::from(mtls_app.mtls.current_config()));
    let mtls_task = tokio::spawn(crate::listen::serve(
        mtls_listener,
        mtls,
        crate::mtls::router(app),
        config.flaws.clone(),
        shutdown_rx,
    ));
    Ok(RunningServers {
        addr,
        base_url,
        mtls_addr,
        mtls_base_url,
        mtls_task,
        state_dir,
        profile_path,
        ca_cert_path: pki.ca_cert_path,
        shutdown,
        task,
    })
}

/// The state the servers would run with — database, keys, PKI, seed — built
/// from `config` without listening anywhere: for the criterion benches, which
/// time each method's verification path on its own. Base URLs are loopback
/// placeholders.
pub fn prepare_app(config: ServeConfig) -> Result<(App, seed::Seed), ServeError> {
    let Prepared { app, seed, .. } =
        prepare(config, "https://127.0.0.1:8443", "https://127.0.0.1:8444")?;
    Ok((app, seed))
}

struct Prepared {
    app: App,
    pki: Pki,
    seed: seed::Seed,
}

fn prepare(
    config: ServeConfig,
    base_url: &str,
    mtls_base_url: &str,
) -> Result<Prepared, ServeError> {
    let dir = &config.state_dir;
    let store = Arc::new(Store::open(&dir.join(DATABASE_FILE))?);
    let pki = Pki::load_or_generate(dir)?;
    let jwt_keys = JwtKeys::load_or_generate(dir)?;
    let (mut seed, admin_token) = seed::ensure(dir, &store).map_err(ServeError::Seed)?;
    if config.flaws.has(crate::flaws::Flaw::OauthWeakClientSecret) {
        seed.oauth_client_secret = Some("letmein-oauth".to_owned());
        seed::register_oauth_clients(&store, &seed).map_err(ServeError::Seed)?;
    }
    let basic = BasicAuth::new(Arc::clone(&store), config.flaws.clone(), config.throttle.clone())
        .map_err(ServeError::Seed)?;
    let mtls =
        crate::mtls::MtlsService::new(dir, &pki, &store.revoked_certificates()?, &config.flaws)
            .map_err(|e| ServeError::Seed(e.to_string()))?;
    seed_mtls(dir, &store, &mtls)?;
    let oauth = crate::oauth::OAuthService::new(
        base_url,
        mtls_base_url,
        config.oauth.clone(),
        jwt_keys.get(jsonwebtoken::Algorithm::RS256),
        crate::oauth::assertion::Assertions::load_or_generate(dir).map_err(ServeError::Seed)?,
        &config.flaws,
    )
    .map_err(ServeError::Seed)?;
    let dpop_jtis = crate::oauth::dpop::JtiLog::start(Arc::clone(&store))
        .map_err(|e| ServeError::Seed(format!("cannot start the DPoP proof log: {e}")))?;
    let app = App {
        dpop_jtis,
        oauth,
        mtls,
        flaws: config.flaws.clone(),
        basic,
        jwt: JwtService::new(jwt_keys, config.jwt.clone(), &config.flaws)
            .map_err(ServeError::Seed)?,
        metrics: Metrics::new(),
        api_key_mode: config.api_key_mode,
        api_key_throttle: crate::api_key::KeyThrottle::new(config.api_key_throttle.clone()),
        api_key_usage: crate::api_key::UsageBook::default(),
        started_at: crate::app::now(),
        admin_token_hash: crate::api_key::hash(&admin_token),
        // Pretty, so that a report's line numbers point somewhere.
        openapi: format!(
            "{:#}",
            crate::openapi::document(base_url, mtls_base_url, &crate::jwt::keys::ALGORITHMS)
        ),
        store,
    };
    Ok(Prepared { app, pki, seed })
}

/// Grants the demo identities their permissions and revokes the demo revoked
/// certificate on first start.
fn seed_mtls(dir: &Path, store: &Store, mtls: &crate::mtls::MtlsService) -> Result<(), ServeError> {
    let clients = mtls.ca().demo_clients(dir)?;
    for (name, cert_file, _) in &clients {
        // client-b is known but may not read: the 403 case.
        let permissions = if name == "client-b" { "" } else { "read" };
        store.upsert_mtls_identity(name, permissions)?;
        if let Some((_, application)) =
            seed::LAYERED_BINDINGS.iter().find(|(service, _)| service == name)
        {
            store.bind_mtls_application(name, application)?;
        }
        if name == "client-revoked" {
            let pem = std::fs::read(dir.join(cert_file))
                .map_err(|source| ServeError::StateDir { path: dir.join(cert_file), source })?;
            let der = CertificateDer::from_pem_slice(&pem)
                .map_err(|e| ServeError::Seed(format!("{}: {e}", cert_file.display())))?;
            let serial = crate::mtls::pki::serial_of(&der)
                .ok_or_else(|| ServeError::Seed("bad client certificate".into()))?;
            let revoked = store.revoked_certificates()?;
            if !revoked.iter().any(|(s, _)| *s == serial) {
                store.revoke_certificate(&serial, app::now())?;
                mtls.reload(&store.revoked_certificates()?)
                    .map_err(|e| ServeError::Seed(e.to_string()))?;
            }
        }
    }
    Ok(())
}

fn origin(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("https://{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("https://[{}]:{}", a.ip(), a.port()),
    }
}

fn relative(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

fn build_profile(
    app: &App,
    config: &ServeConfig,
    base_url: &str,
    mtls_base_url: &str,
    seed: &seed::Seed,
    token: String,
    revoked_token: String,
) -> Profile {
    use jsonwebtoken::Algorithm;
    let keys = app.jwt.keys();
    Profile {
        version: 1,
        name: "authbench-reference".to_owned(),
        base_url: base_url.to_owned(),
        ca_file: "pki/ca.pem".to_owned(),
        baseline_url: paths::BASELINE.to_owned(),
        metrics_url: paths::METRICS.to_owned(),
        basic: BasicSection {
            url: paths::BASIC.to_owned(),
            username: DEMO_USER.to_owned(),
            password: seed.password.clone(),
            cached_url: paths::BASIC_CACHED.to_owned(),
            throttle_after: config.throttle.max_failures,
        },
        api_key: ApiKeySection {
            url: paths::API_KEY.to_owned(),
            header: "X-API-Key".to_owned(),
            key: seed.api_key.clone(),
            revoked_key: seed.revoked_api_key.clone(),
            insufficient_scope_url: paths::API_KEY_PRIVILEGED.to_owned(),
            throttle_after: config.api_key_throttle.max_invalid,
            allowlist: crate::profile::AllowlistSection {
                key: seed.allowlisted_api_key.clone().unwrap_or_default(),
                allowed_source: seed::ALLOWLISTED_SOURCE.to_owned(),
                refused_source: seed::REFUSED_SOURCE.to_owned(),
            },
            usage: crate::profile::UsageSection {
                url: format!(
                    "{}/api-keys/{}/usage",
                    paths::ADMIN,
                    crate::admin::key_id(&seed.api_key)
                ),
                bearer_file: seed::ADMIN_TOKEN_FILE.to_owned(),
                request_count: "/usage/request_count".to_owned(),
                last_used_at: "/usage/last_used_at".to_owned(),
            },
        },
        jwt: JwtSection {
            url: paths::jwt_resource(Algorithm::RS256),
            issuer: jwt::ISSUER.to_owned(),
            audience: jwt::AUDIENCE.to_owned(),
            algorithm: "RS256".to_owned(),
            signing_key_file: relative(&keys.get(Algorithm::RS256).private_file),
            jwks_url: paths::JWT_JWKS.to_owned(),
            token,
            required_scope: "read".to_owned(),
            revoked_token,
            revocation_url: paths::JWT_REVOCABLE.to_owned(),
            insufficient_scope_url: paths::JWT_PRIVILEGED.to_owned(),
            token_url: paths::JWT_TOKEN.to_owned(),
            subject: DEMO_USER.to_owned(),
            leeway_seconds: app.jwt.config().leeway_secs,
            max_lifetime_seconds: app.jwt.config().max_lifetime_secs,
            access_token_profile: "rfc9068".to_owned(),
            variants: keys::ALGORITHMS
                .iter()
                .filter(|&&alg| alg != Algorithm::RS256)
                .map(|&alg| JwtVariant {
                    algorithm: alg_name(alg).to_owned(),
                    url: paths::jwt_resource(alg),
                    signing_key_file: relative(&keys.get(alg).private_file),
                })
                .collect(),
        },
        oauth2: OAuth2Section {
            issuer: app.oauth.issuer.clone(),
            resource_url: crate::oauth::paths::RESOURCE.to_owned(),
            client_id: seed::OAUTH_CLIENT.to_owned(),
            client_secret: seed.oauth_client_secret.clone().unwrap_or_default(),
            redirect_uri: seed::OAUTH_REDIRECT_URIS[0].to_owned(),
            scope: "read".to_owned(),
            login: LoginFields { username: DEMO_USER.to_owned(), password: seed.password.clone() },
            resource: app.oauth.resource_id.clone(),
            other_resource: app.oauth.other_resource_id.clone(),
            insufficient_scope_url: crate::oauth::paths::PRIVILEGED.to_owned(),
            opaque_client: ClientCredentials {
                client_id: seed::OAUTH_OPAQUE_CLIENT.to_owned(),
                client_secret: seed.oauth_opaque_client_secret.clone().unwrap_or_default(),
            },
            other_client: ClientCredentials {
                client_id: seed::OAUTH_OTHER_CLIENT.to_owned(),
                client_secret: seed.oauth_other_client_secret.clone().unwrap_or_default(),
            },
            code_lifetime_seconds: config.oauth.code_lifetime_secs,
            private_key_jwt: PrivateKeyJwt {
                client_id: crate::oauth::assertion::CLIENT_ID.to_owned(),
                key_file: crate::oauth::assertion::KEY_FILE.to_owned(),
                algorithm: "ES256".to_owned(),
            },
            tls_client_auth: TlsClientAuth {
                client_id: seed::OAUTH_TLS_CLIENT.to_owned(),
                token_url: format!("{mtls_base_url}{}", crate::oauth::paths::TOKEN),
                resource_url: format!("{mtls_base_url}{}", crate::oauth::paths::RESOURCE),
            },
            public_client: PublicClient {
                client_id: seed::OAUTH_NATIVE_CLIENT.to_owned(),
                redirect_uri: seed::OAUTH_NATIVE_REDIRECT_URI.to_owned(),
            },
        },
        mtls: {
            let client = |name: &str| format!("pki/clients/{name}");
            MtlsSection {
                url: format!("{mtls_base_url}{}", crate::mtls::paths::RESOURCE),
                client_cert_file: client("client-a.pem"),
                client_key_file: client("client-a.key"),
                client_ca_cert_file: "pki/client-ca.pem".to_owned(),
                client_ca_key_file: "pki/client-ca.key".to_owned(),
                revoked_client_cert_file: client("client-revoked.pem"),
                revoked_client_key_file: client("client-revoked.key"),
                forbidden_client_cert_file: client("client-b.pem"),
                forbidden_client_key_file: client("client-b.key"),
                whoami_url: format!("{mtls_base_url}{}", crate::mtls::paths::WHOAMI),
                identities: "mapped".to_owned(),
            }
        },
        layered: {
            let client = |name: &str| format!("pki/clients/{name}");
            LayeredSection {
                url: format!("{mtls_base_url}{}", crate::layered::paths::RESOURCE),
                application: seed::DEMO_CLIENT.to_owned(),
                mtls: LayeredMtls {
                    client_cert_file: client("client-a.pem"),
                    client_key_file: client("client-a.key"),
                    client_ca_cert_file: "pki/client-ca.pem".to_owned(),
                    client_ca_key_file: "pki/client-ca.key".to_owned(),
                    revoked_client_cert_file: client("client-revoked.pem"),
                    revoked_client_key_file: client("client-revoked.key"),
                },
                api_key: LayeredApiKey {
                    header: "X-API-Key".to_owned(),
                    key: seed.api_key.clone(),
                    revoked_key: seed.revoked_api_key.clone(),
                },
                jwt: LayeredJwt {
                    issuer: jwt::ISSUER.to_owned(),
                    audience: jwt::AUDIENCE.to_owned(),
                    algorithm: "RS256".to_owned(),
                    signing_key_file: relative(&keys.get(Algorithm::RS256).private_file),
                    required_scope: "read".to_owned(),
                    leeway_seconds: app.jwt.config().leeway_secs,
                },
                other: LayeredOther {
                    application: seed::PARTNER_APP.to_owned(),
                    client_cert_file: client("client-rsa.pem"),
                    client_key_file: client("client-rsa.key"),
                    key: seed.partner_api_key.clone().unwrap_or_default(),
                },
            }
        },
        openapi: crate::openapi::profile_section(),
        reference: ReferenceSection {
            admin_url: paths::ADMIN.to_owned(),
            admin_token_file: seed::ADMIN_TOKEN_FILE.to_owned(),
            flaws: config.flaws.iter().map(|f| f.name().to_owned()).collect(),
        },
    }
}

fn tls_config(pki: &Pki) -> Result<rustls::ServerConfig, ServeError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(pki.server_chain.clone(), pki.server_key.clone_key())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
