//! The target profile `authbench serve` writes to `state/target.toml`: the
//! format of DESIGN.md, filled with the credentials and key files of the servers
//! it started, plus the extensions documented in ARCHITECTURE.md (`baseline_url`,
//! `cached_url`, `insufficient_scope_url`, `revocation_url`, `[[jwt.variants]]`,
//! `[reference]`). Paths are relative to the profile file.

use serde::Serialize;

/// The whole profile.
#[derive(Debug, Serialize)]
pub struct Profile {
    /// Profile format version (1).
    pub version: u32,
    /// Target name shown in reports.
    pub name: String,
    /// Where relative URLs resolve.
    pub base_url: String,
    /// Trust anchor for the server certificate.
    pub ca_file: String,
    /// Extension: the unauthenticated resource returning the same payload.
    pub baseline_url: String,
    /// Extension: Prometheus metrics.
    pub metrics_url: String,
    /// HTTP Basic.
    pub basic: BasicSection,
    /// API keys.
    pub api_key: ApiKeySection,
    /// JWT bearer tokens.
    pub jwt: JwtSection,
    /// OAuth 2.0.
    pub oauth2: OAuth2Section,
    /// Mutual TLS.
    pub mtls: MtlsSection,
    /// Certificate, API key and JWT on one request, bound to one application.
    pub layered: LayeredSection,
    /// The servers' own OpenAPI document, and which section answers for the
    /// schemes the defaults do not cover.
    pub openapi: OpenApiSection,
    /// Extension: what only the reference servers offer.
    pub reference: ReferenceSection,
}

/// `[basic]`.
#[derive(Debug, Serialize)]
pub struct BasicSection {
    /// Resource requiring Basic.
    pub url: String,
    /// A valid user.
    pub username: String,
    /// Its password.
    pub password: String,
    /// Extension: the same resource behind the verified-credential cache.
    pub cached_url: String,
    /// Declared policy: failed logins for one user before 429.
    pub throttle_after: u32,
}

/// `[api_key]`.
#[derive(Debug, Serialize)]
pub struct ApiKeySection {
    /// Resource requiring a key with scope `read`.
    pub url: String,
    /// Header carrying the key.
    pub header: String,
    /// A valid key (scope `read`).
    pub key: String,
    /// A revoked key.
    pub revoked_key: String,
    /// Extension: a resource the key's scopes do not cover (expect 403).
    pub insufficient_scope_url: String,
    /// Declared policy: invalid keys from one address before 429.
    pub throttle_after: u32,
    /// `[api_key.allowlist]`.
    pub allowlist: AllowlistSection,
    /// `[api_key.usage]`.
    pub usage: UsageSection,
}

/// `[api_key.allowlist]`: a key served only from some source addresses.
#[derive(Debug, Serialize)]
pub struct AllowlistSection {
    /// The allowlisted key.
    pub key: String,
    /// An address it is served from.
    pub allowed_source: String,
    /// An address it is refused from.
    pub refused_source: String,
}

/// `[api_key.usage]`: where the usage of the profile's key is read.
#[derive(Debug, Serialize)]
pub struct UsageSection {
    /// GET answers the key's usage as JSON.
    pub url: String,
    /// The bearer token for that GET, in a file.
    pub bearer_file: String,
    /// JSON pointer to the request count.
    pub request_count: String,
    /// JSON pointer to the last use's time (Unix seconds).
    pub last_used_at: String,
}

/// `[jwt]`.
#[derive(Debug, Serialize)]
pub struct JwtSection {
    /// Resource requiring an RS256 token with scope `read`.
    pub url: String,
    /// Accepted `iss`.
    pub issuer: String,
    /// Required `aud`.
    pub audience: String,
    /// The resource's only algorithm.
    pub algorithm: String,
    /// Private key, to mint validly signed wrong tokens.
    pub signing_key_file: String,
    /// Public keys.
    pub jwks_url: String,
    /// A valid token.
    pub token: String,
    /// Scope the resource requires.
    pub required_scope: String,
    /// A token whose `jti` is revoked (judged at `revocation_url`).
    pub revoked_token: String,
    /// Extension: the resource that checks the `jti` denylist.
    pub revocation_url: String,
    /// Extension: a resource needing scope `write` (expect 403 for `token`).
    pub insufficient_scope_url: String,
    /// Extension: the token endpoint (Basic credentials, form `alg`, `scope`, `expires_in`).
    pub token_url: String,
    /// The `sub` of the tokens authbench mints: the demo user, who owns an order.
    pub subject: String,
    /// Declared policy: the longest lifetime accepted.
    pub max_lifetime_seconds: i64,
    /// Declared: the tokens are RFC 9068 JWT access tokens.
    pub access_token_profile: String,
    /// Extension: clock skew tolerated on `exp`, `nbf`, `iat`.
    pub leeway_seconds: i64,
    /// Extension: the same resource for the other algorithms.
    pub variants: Vec<JwtVariant>,
}

/// `[[jwt.variants]]`: one more algorithm's resource.
#[derive(Debug, Serialize)]
pub struct JwtVariant {
    /// The algorithm.
    pub algorithm: String,
    /// Its resource.
    pub url: String,
    /// Its key (for HS256, the shared secret's bytes).
    pub signing_key_file: String,
}

/// `[oauth2]`.
#[derive(Debug, Serialize)]
pub struct OAuth2Section {
    /// The issuer; metadata at `/.well-known/oauth-authorization-server`.
    pub issuer: String,
    /// The protected resource (scope `read`).
    pub resource_url: String,
    /// A confidential client whose access tokens are JWTs.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// A registered redirect URI.
    pub redirect_uri: String,
    /// The scope to ask for.
    pub scope: String,
    /// Form fields of the login page.
    pub login: LoginFields,
    /// Extension: the resource server's identifier (RFC 8707 `resource`).
    pub resource: String,
    /// Extension: another resource the AS issues tokens for.
    pub other_resource: String,
    /// Extension: a resource needing scope `write`.
    pub insufficient_scope_url: String,
    /// Extension: a client whose access tokens are opaque.
    pub opaque_client: ClientCredentials,
    /// Extension: another client, for cross-client checks.
    pub other_client: ClientCredentials,
    /// Extension: how long authorization codes live.
    pub code_lifetime_seconds: i64,
    /// Extension: the `private_key_jwt` client and its key (RFC 7523).
    pub private_key_jwt: PrivateKeyJwt,
    /// Extension: the `tls_client_auth` client and its mTLS endpoints (RFC 8705).
    pub tls_client_auth: TlsClientAuth,
    /// Extension: a public client with a loopback redirect URI (RFC 8252).
    pub public_client: PublicClient,
}

/// A public client (no credentials) of a native app.
#[derive(Debug, Serialize)]
pub struct PublicClient {
    /// `client_id`.
    pub client_id: String,
    /// Its registered redirect URI.
    pub redirect_uri: String,
}

/// A `private_key_jwt` client: it signs its client assertions with `key_file`.
#[derive(Debug, Serialize)]
pub struct PrivateKeyJwt {
    /// `client_id`.
    pub client_id: String,
    /// Its private key (PEM, PKCS#8), relative to the profile.
    pub key_file: String,
    /// The algorithm its key is registered for.
    pub algorithm: String,
}

/// A `tls_client_auth` client: `[mtls]`'s client certificate authenticates it.
#[derive(Debug, Serialize)]
pub struct TlsClientAuth {
    /// `client_id` (the certificate's identity).
    pub client_id: String,
    /// The token endpoint on the mTLS listener.
    pub token_url: String,
    /// The resource server on the mTLS listener (checks the binding).
    pub resource_url: String,
}

/// The login form's fields.
#[derive(Debug, Serialize)]
pub struct LoginFields {
    /// `username` field.
    pub username: String,
    /// `password` field.
    pub password: String,
}

/// A client's credentials.
#[derive(Debug, Serialize)]
pub struct ClientCredentials {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: String,
}

/// `[mtls]`.
#[derive(Debug, Serialize)]
pub struct MtlsSection {
    /// The resource on the mTLS listener (absolute: another port).
    pub url: String,
    /// A client certificate chain whose identity may read.
    pub client_cert_file: String,
    /// Its key.
    pub client_key_file: String,
    /// The client CA's certificate, to mint certificates the target trusts.
    pub client_ca_cert_file: String,
    /// The client CA's key.
    pub client_ca_key_file: String,
    /// A revoked client certificate.
    pub revoked_client_cert_file: String,
    /// Its key.
    pub revoked_client_key_file: String,
    /// Extension: a certificate of a known identity without permission (expect 403).
    pub forbidden_client_cert_file: String,
    /// Extension: its key.
    pub forbidden_client_key_file: String,
    /// Extension: reports the identity a certificate maps to.
    pub whoami_url: String,
    /// The declared identity policy: only mapped identities are clients.
    pub identities: String,
}

/// `[layered]`: one resource requiring the three layers. Its sub-tables take
/// the fields of `[mtls]`, `[api_key]` and `[jwt]` (without `url`: the
/// layered resource's is above).
#[derive(Debug, Serialize)]
pub struct LayeredSection {
    /// The layered resource on the mTLS listener.
    pub url: String,
    /// The application the valid certificate's service is bound to; it owns
    /// the key, and tokens minted for the cases name it in `client_id`.
    pub application: String,
    /// The service layer.
    pub mtls: LayeredMtls,
    /// The application layer.
    pub api_key: LayeredApiKey,
    /// The user layer.
    pub jwt: LayeredJwt,
    /// A second, valid set of another service and application, for the
    /// cross-binding cases.
    pub other: LayeredOther,
}

/// `[layered.mtls]`.
#[derive(Debug, Serialize)]
pub struct LayeredMtls {
    /// The service's certificate chain.
    pub client_cert_file: String,
    /// Its key.
    pub client_key_file: String,
    /// The client CA's certificate.
    pub client_ca_cert_file: String,
    /// The client CA's key.
    pub client_ca_key_file: String,
    /// A revoked client certificate.
    pub revoked_client_cert_file: String,
    /// Its key.
    pub revoked_client_key_file: String,
}

/// `[layered.api_key]`.
#[derive(Debug, Serialize)]
pub struct LayeredApiKey {
    /// The header carrying the key.
    pub header: String,
    /// A key of `application`.
    pub key: String,
    /// A revoked key of `application`.
    pub revoked_key: String,
}

/// `[layered.jwt]`.
#[derive(Debug, Serialize)]
pub struct LayeredJwt {
    /// Accepted `iss`.
    pub issuer: String,
    /// Accepted `aud`.
    pub audience: String,
    /// The algorithm.
    pub algorithm: String,
    /// The key to mint user tokens with.
    pub signing_key_file: String,
    /// The scope the resource requires.
    pub required_scope: String,
    /// Clock skew tolerated (seconds).
    pub leeway_seconds: i64,
}

/// `[layered.other]`.
#[derive(Debug, Serialize)]
pub struct LayeredOther {
    /// The other application.
    pub application: String,
    /// A certificate of the service bound to it.
    pub client_cert_file: String,
    /// Its key.
    pub client_key_file: String,
    /// A key of the other application.
    pub key: String,
}

/// `[openapi]`.
#[derive(Debug, Serialize)]
pub struct OpenApiSection {
    /// The document (written beside the profile).
    pub spec: String,
    /// Scheme name → profile section (or `none`).
    pub schemes: std::collections::BTreeMap<String, String>,
    /// Another user, who owns another order.
    pub identities: Vec<OpenApiIdentity>,
}

/// `[[openapi.identities]]`.
#[derive(Debug, Serialize)]
pub struct OpenApiIdentity {
    /// Its name in case ids.
    pub name: String,
    /// Tokens minted for this `sub`.
    pub jwt: IdentityJwt,
    /// The objects only it may use, by path parameter.
    pub owns: std::collections::BTreeMap<String, String>,
    /// The scopes it holds, when declared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

/// `jwt = { subject }`.
#[derive(Debug, Serialize)]
pub struct IdentityJwt {
    /// The `sub`.
    pub subject: String,
}

/// `[reference]`.
#[derive(Debug, Serialize)]
pub struct ReferenceSection {
    /// The admin API.
    pub admin_url: String,
    /// The admin bearer token file.
    pub admin_token_file: String,
    /// Flaws this server runs with.
    pub flaws: Vec<String>,
}

impl Profile {
    /// The profile as TOML, with a header saying where it came from.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        let body = toml::to_string_pretty(self)?;
        Ok(format!(
            "# Target profile written by `authbench serve`; rewritten on every start.\n\
             # It holds live credentials: keep it private. Paths are relative to this file.\n\n{body}"
        ))
    }
}
