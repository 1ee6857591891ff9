//! OAuth state in the shared database: clients, grants (token families),
//! authorization codes, tokens and the DPoP replay cache. Codes and refresh
//! tokens are stored as SHA-256 hashes only; every state change is one
//! transaction on the single writer, so two racing exchanges of one code or
//! one refresh token cannot both win.

use rusqlite::{OptionalExtension, params};

use crate::store::{Store, StoreError};

/// How a client's access tokens are issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFormat {
    /// RFC 9068 JWTs, validated locally by the resource server.
    Jwt,
    /// Random strings, validated by introspection.
    Opaque,
}

impl TokenFormat {
    fn as_str(self) -> &'static str {
        match self {
            TokenFormat::Jwt => "jwt",
            TokenFormat::Opaque => "opaque",
        }
    }
}

/// A registered client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// `client_id`.
    pub client_id: String,
    /// SHA-256 of the client secret; `None` for a public client.
    pub secret_hash: Option<[u8; 32]>,
    /// Registered redirect URIs, compared exactly.
    pub redirect_uris: Vec<String>,
    /// Scopes the client may ask for.
    pub scopes: Vec<String>,
    /// Access token format.
    pub token_format: TokenFormat,
}

/// An authorization code as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    /// The grant (token family) the code starts.
    pub grant_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI of the authorization request.
    pub redirect_uri: String,
    /// The user who approved it.
    pub subject: String,
    /// Granted scope.
    pub scope: String,
    /// RFC 8707 resource, if asked for.
    pub resource: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// PKCE method.
    pub challenge_method: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
    /// When it was first redeemed.
    pub used_at: Option<i64>,
}

/// Whether a token is an access or a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An access token.
    Access,
    /// A refresh token.
    Refresh,
}

/// A token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// `jti` of a JWT access token.
    pub jti: Option<String>,
    /// Access or refresh.
    pub kind: TokenKind,
    /// Its family.
    pub grant_id: String,
    /// Client.
    pub client_id: String,
    /// User, absent for client credentials.
    pub subject: Option<String>,
    /// Scope.
    pub scope: String,
    /// Audience (RFC 8707 resource).
    pub audience: Option<String>,
    /// DPoP key thumbprint it is bound to.
    pub jkt: Option<String>,
    /// Client certificate thumbprint it is bound to (RFC 8705).
    pub x5t: Option<String>,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Refresh tokens: when exchanged for a new one.
    pub rotated_at: Option<i64>,
    /// When revoked (the token, or its whole family).
    pub revoked_at: Option<i64>,
}

impl TokenRecord {
    /// Whether the token is usable at `now`.
    pub fn active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

const TOKEN_SELECT: &str = "SELECT t.jti, t.kind, t.grant_id, t.client_id, t.subject, t.scope, t.audience, \
     t.jkt, t.issued_at, t.expires_at, t.rotated_at, COALESCE(t.revoked_at, g.revoked_at), t.x5t \
     FROM oauth_tokens t JOIN oauth_grants g ON g.grant_id = t.grant_id";

fn token_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    let kind: String = row.get(1)?;
    Ok(TokenRecord {
        jti: row.get(0)?,
        kind: if kind == "refresh" { TokenKind::Refresh } else { TokenKind::Access },
        grant_id: row.get(2)?,
        client_id: row.get(3)?,
        subject: row.get(4)?,
        scope: row.get(5)?,
        audience: row.get(6)?,
        jkt: row.get(7)?,
        issued_at: row.get(8)?,
        expires_at: row.get(9)?,
        rotated_at: row.get(10)?,
        revoked_at: row.get(11)?,
        x5t: row.get(12)?,
    })
}

fn code_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<CodeRecord> {
    Ok(CodeRecord {
        grant_id: row.get(0)?,
        client_id: row.get(1)?,
        redirect_uri: row.get(2)?,
        subject: row.get(3)?,
        scope: row.get(4)?,
        resource: row.get(5)?,
        code_challenge: row.get(6)?,
        challenge_method: row.get(7)?,
        expires_at: row.get(8)?,
        used_at: row.get(9)?,
    })
}

impl Store {
    /// Registers `client`, replacing a registration of the same id.
    pub fn upsert_oauth_client(&self, client: &OAuthClient, now: i64) -> Result<(), StoreError> {
        let uris = client.redirect_uris.join("\n");
        self.write(|tx| {
            tx.execute(
                "INSERT INTO oauth_clients (client_id, secret_hash, redirect_uris, scopes, token_format, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (client_id) DO UPDATE SET secret_hash = ?2, redirect_uris = ?3, scopes = ?4,
                     token_format = ?5",
                params![
                    client.client_id,
                    client.secret_hash.as_ref().map(|h| &h[..]),
                    uris,
                    client.scopes.join(" "),
                    client.token_format.as_str(),
                    now
                ],
            )?;
            Ok(())
        })
    }

    /// The client `client_id`.
    pub fn oauth_client(&self, client_id: &str) -> Result<Option<OAuthClient>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT client_id, secret_hash, redirect_uris, scopes, token_format FROM oauth_clients
                 WHERE client_id = ?1",
            )?
            .query_row([client_id], |row| {
                let uris: String = row.get(2)?;
                let scopes: String = row.get(3)?;
                let format: String = row.get(4)?;
                Ok(OAuthClient {
                    client_id: row.get(0)?,
                    secret_hash: row.get(1)?,
                    redirect_uris: uris.lines().map(str::to_owned).collect(),
                    scopes: scopes.split_whitespace().map(str::to_owned).collect(),
                    token_format: if format == "opaque" { TokenFormat::Opaque } else { TokenFormat::Jwt },
                })
            })
            .optional()
        })
    }

    /// Stores a new code and the grant it starts.
    pub fn insert_code(
        &self,
        code_hash: &[u8; 32],
        code: &CodeRecord,
        now: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO oauth_grants (grant_id, client_id, subject, scope, resource, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![code.grant_id, code.client_id, code.subject, code.scope, code.resource, now],
            )?;
            tx.execute(
                "INSERT INTO oauth_codes (code_hash, grant_id, client_id, redirect_uri, subject, scope, resource,
                     code_challenge, challenge_method, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    &code_hash[..],
                    code.grant_id,
                    code.client_id,
                    code.redirect_uri,
                    code.subject,
                    code.scope,
                    code.resource,
                    code.code_challenge,
                    code.challenge_method,
                    code.expires_at
                ],
            )?;
            Ok(())
        })
    }

    /// Marks the code used and returns it as it was before: a `used_at` that
    /// is already set means this is a replay. Atomic: of two racing calls,
    /// exactly one sees `used_at` unset.
    pub fn redeem_code(
        &self,
        code_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<CodeRecord>, StoreError> {
        self.write(|tx| {
            let code = tx
                .prepare(
                    "SELECT grant_id, client_id, redirect_uri, subject, scope, resource, code_challenge,
                         challenge_method, expires_at, used_at FROM oauth_codes WHERE code_hash = ?1",
                )?
                .query_row([&code_hash[..]], code_from_row)
                .optional()?;
            if code.as_ref().is_some_and(|c| c.used_at.is_none()) {
                tx.execute("UPDATE oauth_codes SET used_at = ?2 WHERE code_hash = ?1", params![&code_hash[..], now])?;
            }
            Ok(code)
        })
    }

    /// Starts a grant with no code (client credentials).
    pub fn insert_grant(
        &self,
        grant_id: &str,
        client_id: &str,
        subject: Option<&str>,
        scope: &str,
        resource: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO oauth_grants (grant_id, client_id, subject, scope, resource, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![grant_id, client_id, subject, scope, resource, now],
            )?;
            Ok(())
        })
    }

    /// Revokes a grant and so every token of its family.
    pub fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE oauth_grants SET revoked_at = COALESCE(revoked_at, ?2) WHERE grant_id = ?1",
                params![grant_id, now],
            )?;
            Ok(())
        })
    }

    /// Stores an issued token.
    pub fn insert_token(
        &self,
        token_hash: &[u8; 32],
        token: &TokenRecord,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO oauth_tokens (token_hash, jti, kind, grant_id, client_id, subject, scope, audience, jkt,
                     issued_at, expires_at, x5t)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    &token_hash[..],
                    token.jti,
                    if token.kind == TokenKind::Refresh { "refresh" } else { "access" },
                    token.grant_id,
                    token.client_id,
                    token.subject,
                    token.scope,
                    token.audience,
                    token.jkt,
                    token.issued_at,
                    token.expires_at,
                    token.x5t
                ],
            )?;
            Ok(())
        })
    }

    /// The token whose SHA-256 is `token_hash`, with its family's revocation folded in.
    pub fn oauth_token(&self, token_hash: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(&format!("{TOKEN_SELECT} WHERE t.token_hash = ?1"))?
                .query_row([&token_hash[..]], token_from_row)
                .optional()
        })
    }

    /// The JWT access token with `jti`.
    pub fn oauth_token_by_jti(&self, jti: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(&format!("{TOKEN_SELECT} WHERE t.jti = ?1"))?
                .query_row([jti], token_from_row)
                .optional()
        })
    }

    /// Marks a refresh token rotated and returns it as it was before (a set
    /// `rotated_at` means reuse). Atomic, like [`Store::redeem_code`].
    pub fn rotate_refresh(
        &self,
        token_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<TokenRecord>, StoreError> {
        self.write(|tx| {
            let token = tx
                .prepare(&format!("{TOKEN_SELECT} WHERE t.token_hash = ?1 AND t.kind = 'refresh'"))?
                .query_row([&token_hash[..]], token_from_row)
                .optional()?;
            if token.as_ref().is_some_and(|t| t.rotated_at.is_none()) {
                tx.execute(
                    "UPDATE oauth_tokens SET rotated_at = ?2 WHERE token_hash = ?1",
                    params![&token_hash[..], now],
                )?;
            }
            Ok(token)
        })
    }

    /// Revokes one token.
    pub fn revoke_oauth_token(&self, token_hash: &[u8; 32], now: i64) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE oauth_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE token_hash = ?1",
                params![&token_hash[..], now],
            )?;
            Ok(())
        })
    }

    /// Records a DPoP proof `jti`; `false` if it was seen before (a replay).
    pub fn record_dpop_jti(
        &self,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM dpop_proofs WHERE expires_at < ?1", [now])?;
            let inserted = tx.execute(
                "INSERT INTO dpop_proofs (jti, expires_at) VALUES (?1, ?2) ON CONFLICT (jti) DO NOTHING",
                params![jti, expires_at],
            )?;
            Ok(inserted == 1)
        })
    }
}
