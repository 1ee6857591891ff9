//! The demo credentials the reference servers start with: a user, an active and a
//! revoked API key, and the admin token. Made on first start, kept in
//! `state/seed.toml` (owner-only) so the profile can be rewritten on each start,
//! and re-created in the database if it was wiped.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::admin::issue_key;
use crate::api_key;
use crate::basic::hash_password;
use crate::files::{self, Access};
use crate::store::{KeyMode, Store};

/// The seed file, relative to the state directory.
pub const SEED_FILE: &str = "seed.toml";
/// The admin token file, relative to the state directory.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";
/// The demo user's name.
pub const DEMO_USER: &str = "alice";
/// The client the demo keys belong to.
pub const DEMO_CLIENT: &str = "demo-app";

/// The demo credentials.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// Password of [`DEMO_USER`].
    pub password: String,
    /// An active key with scope `read`.
    pub api_key: String,
    /// A revoked key.
    pub revoked_api_key: String,
    /// Secret of [`OAUTH_CLIENT`] (added after the first release: optional on load).
    #[serde(default)]
    pub oauth_client_secret: Option<String>,
    /// Secret of [`OAUTH_OPAQUE_CLIENT`].
    #[serde(default)]
    pub oauth_opaque_client_secret: Option<String>,
    /// Secret of [`OAUTH_OTHER_CLIENT`].
    #[serde(default)]
    pub oauth_other_client_secret: Option<String>,
    /// An active key of [`PARTNER_APP`], scope `read` (for the layered
    /// resource's cross-binding cases).
    #[serde(default)]
    pub partner_api_key: Option<String>,
    /// An active key of [`PARTNER_APP`], scope `read`, usable only from
    /// [`ALLOWLISTED_SOURCE`] (the guide's partner integration).
    #[serde(default)]
    pub allowlisted_api_key: Option<String>,
}

/// The one address the allowlisted demo key may be used from. On Linux every
/// `127.0.0.0/8` address is a loopback source, so the key is served from
/// here and refused from [`REFUSED_SOURCE`] on one machine.
pub const ALLOWLISTED_SOURCE: &str = "127.0.0.2";
/// A loopback source the allowlisted demo key is refused from.
pub const REFUSED_SOURCE: &str = "127.0.0.3";

/// The application the layered resource's second service (`client-rsa`) is
/// bound to; [`DEMO_CLIENT`] is the first's (`client-a`).
pub const PARTNER_APP: &str = "partner-app";
/// The services (mTLS identities) bound to an application, for the layered
/// resource. The revoked certificate's service is bound too: a revoked
/// certificate is one a legitimate service used to hold, so the CRL is all
/// that stops it.
pub const LAYERED_BINDINGS: [(&str, &str); 3] =
    [("client-a", DEMO_CLIENT), ("client-revoked", DEMO_CLIENT), ("client-rsa", PARTNER_APP)];

/// The OAuth client whose access tokens are JWTs.
pub const OAUTH_CLIENT: &str = "authbench-client";
/// The OAuth client whose access tokens are opaque.
pub const OAUTH_OPAQUE_CLIENT: &str = "authbench-opaque-client";
/// A second JWT client, for cross-client checks.
pub const OAUTH_OTHER_CLIENT: &str = "authbench-other-client";
/// The `tls_client_auth` client: its certificate (mTLS identity) authenticates it.
pub const OAUTH_TLS_CLIENT: &str = "client-a";
/// The public client of a native app (RFC 8252): no secret, a loopback
/// redirect URI whose port it picks at each request.
pub const OAUTH_NATIVE_CLIENT: &str = "authbench-native-client";
/// The native client's registered redirect URI (any port, RFC 8252 §7.3).
pub const OAUTH_NATIVE_REDIRECT_URI: &str = "http://127.0.0.1/callback";
/// The redirect URIs registered for every demo client. Nothing listens there:
/// a client reads the code from the `Location` header.
pub const OAUTH_REDIRECT_URIS: [&str; 2] =
    ["https://client.authbench.test/callback", "https://client.authbench.test/other-callback"];

/// Registers the demo OAuth clients with the secrets of `seed`.
pub(crate) fn register_oauth_clients(store: &Store, seed: &Seed) -> Result<(), String> {
    use crate::oauth::store::{OAuthClient, TokenFormat};
    let clients = [
        (OAUTH_CLIENT, &seed.oauth_client_secret, TokenFormat::Jwt),
        (OAUTH_OPAQUE_CLIENT, &seed.oauth_opaque_client_secret, TokenFormat::Opaque),
        (OAUTH_OTHER_CLIENT, &seed.oauth_other_client_secret, TokenFormat::Jwt),
        // tls_client_auth: no secret; the mTLS identity client-a authenticates it.
        (OAUTH_TLS_CLIENT, &None, TokenFormat::Jwt),
        // private_key_jwt: no secret; its registered key authenticates it.
        (crate::oauth::assertion::CLIENT_ID, &None, TokenFormat::Jwt),
    ];
    for (client_id, secret, token_format) in clients {
        let client = OAuthClient {
            client_id: client_id.to_owned(),
            secret_hash: secret.as_deref().map(crate::oauth::hash),
            redirect_uris: OAUTH_REDIRECT_URIS.iter().map(|s| (*s).to_owned()).collect(),
            scopes: vec!["read".to_owned(), "write".to_owned()],
            token_format,
            public: false,
        };
        store.upsert_oauth_client(&client, crate::app::now()).map_err(|e| e.to_string())?;
    }
    let native = OAuthClient {
        client_id: OAUTH_NATIVE_CLIENT.to_owned(),
        secret_hash: None,
        redirect_uris: vec![OAUTH_NATIVE_REDIRECT_URI.to_owned()],
        scopes: vec!["read".to_owned()],
        token_format: TokenFormat::Jwt,
        public: true,
    };
    store.upsert_oauth_client(&native, crate::app::now()).map_err(|e| e.to_string())?;
    Ok(())
}

fn random_text(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::rng().random()).collect();
    URL_SAFE_NO_PAD.encode(raw)
}

/// Loads the seed and admin token (creating them on first start) and makes sure
/// the database holds what they describe. Returns the seed and the admin token.
pub fn ensure(state_dir: &Path, store: &Store) -> Result<(Seed, String), String> {
    let seed_path = state_dir.join(SEED_FILE);
    let seed = match files::read_optional(&seed_path).map_err(|e| e.to_string())? {
        Some(text) => toml::from_str(&text).map_err(|e| {
            format!("{}: {e}; delete it to regenerate the demo credentials", seed_path.display())
        })?,
        None => {
            let seed = Seed {
                // A colon and a non-ASCII letter, so that the valid credential
                // itself proves the split at the first colon and UTF-8 (RFC 7617).
                password: format!("{}:ü{}", random_text(9), random_text(9)),
                api_key: String::new(),
                revoked_api_key: String::new(),
                oauth_client_secret: None,
                oauth_opaque_client_secret: None,
                oauth_other_client_secret: None,
                partner_api_key: None,
                allowlisted_api_key: None,
            };
            let seed = with_keys(store, seed)?;
            let text = toml::to_string(&seed).map_err(|e| e.to_string())?;
            files::write_atomic(&seed_path, text.as_bytes(), Access::Private)
                .map_err(|e| e.to_string())?;
            seed
        }
    };
    let token_path = state_dir.join(ADMIN_TOKEN_FILE);
    let admin_token = match files::read_optional(&token_path).map_err(|e| e.to_string())? {
        Some(token) if token.trim().len() >= 32 => token.trim().to_owned(),
        _ => {
            let token = format!("adm_{}", random_text(32));
            files::write_atomic(&token_path, token.as_bytes(), Access::Private)
                .map_err(|e| e.to_string())?;
            token
        }
    };
    // The database may have been wiped while the seed survived: put back what is missing.
    if store.user(DEMO_USER).map_err(|e| e.to_string())?.is_none() {
        let hash = hash_password(&seed.password).map_err(|e| e.to_string())?;
        store.create_user(DEMO_USER, &hash, crate::app::now()).map_err(|e| e.to_string())?;
    }
    let seed = if store
        .api_key_by_hash(&api_key::hash(&seed.api_key))
        .map_err(|e| e.to_string())?
        .is_none()
        || store
            .api_key_by_hash(&api_key::hash(&seed.revoked_api_key))
            .map_err(|e| e.to_string())?
            .is_none()
    {
        let seed = with_keys(store, seed)?;
        let text = toml::to_string(&seed).map_err(|e| e.to_string())?;
        files::write_atomic(&seed_path, text.as_bytes(), Access::Private)
            .map_err(|e| e.to_string())?;
        seed
    } else {
        seed
    };
    let mut seed = seed;
    let mut changed = false;
    for secret in [
        &mut seed.oauth_client_secret,
        &mut seed.oauth_opaque_client_secret,
        &mut seed.oauth_other_client_secret,
    ] {
        if secret.is_none() {
            *secret = Some(format!("cs_{}", random_text(32)));
            changed = true;
        }
    }
    let partner_key_known = match &seed.partner_api_key {
        Some(key) => {
            store.api_key_by_hash(&api_key::hash(key)).map_err(|e| e.to_string())?.is_some()
        }
        None => false,
    };
    if !partner_key_known {
        let (_, key) =
            issue_key(store, PARTNER_APP, vec!["read".to_owned()], KeyMode::Live, None, Vec::new())
                .map_err(|e| e.to_string())?;
        seed.partner_api_key = Some(key);
        changed = true;
    }
    let allowlisted_known = match &seed.allowlisted_api_key {
        Some(key) => {
            store.api_key_by_hash(&api_key::hash(key)).map_err(|e| e.to_string())?.is_some()
        }
        None => false,
    };
    if !allowlisted_known {
        let source: std::net::IpAddr = ALLOWLISTED_SOURCE.parse().map_err(|e| format!("{e}"))?;
        let (_, key) = issue_key(
            store,
            PARTNER_APP,
            vec!["read".to_owned()],
            KeyMode::Live,
            None,
            vec![source.into()],
        )
        .map_err(|e| e.to_string())?;
        seed.allowlisted_api_key = Some(key);
        changed = true;
    }
    if changed {
        let text = toml::to_string(&seed).map_err(|e| e.to_string())?;
        files::write_atomic(&seed_path, text.as_bytes(), Access::Private)
            .map_err(|e| e.to_string())?;
    }
    register_oauth_clients(store, &seed)?;
    Ok((seed, admin_token))
}

fn with_keys(store: &Store, mut seed: Seed) -> Result<Seed, String> {
    let scopes = vec!["read".to_owned()];
    let (_, key) = issue_key(store, DEMO_CLIENT, scopes.clone(), KeyMode::Live, None, Vec::new())
        .map_err(|e| e.to_string())?;
    let (revoked, revoked_key) =
        issue_key(store, DEMO_CLIENT, scopes, KeyMode::Live, None, Vec::new())
            .map_err(|e| e.to_string())?;
    store.revoke_api_key(&revoked.id, crate::app::now()).map_err(|e| e.to_string())?;
    seed.api_key = key;
    seed.revoked_api_key = revoked_key;
    Ok(seed)
}
