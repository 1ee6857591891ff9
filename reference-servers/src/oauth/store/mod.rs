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
    /// A public client (RFC 6749 §2.1): no credentials at all, PKCE and
    /// rotated refresh tokens instead (RFC 9700 §2.2.2).
    pub public: bool,
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

/// A token's columns as [`token_from_row_at`] reads them, revocation folded
/// with its grant's.
const TOKEN_COLUMNS: &str = "t.jti, t.kind, t.grant_id, t.client_id, t.subject, t.scope, t.audience, \
     t.jkt, t.issued_at, t.expires_at, t.rotated_at, COALESCE(t.revoked_at, g.revoked_at), t.x5t";
const TOKEN_FROM: &str = "FROM oauth_tokens t JOIN oauth_grants g ON g.grant_id = t.grant_id";

/// A token from [`TOKEN_COLUMNS`] starting at column `at`.
fn token_from_row_at(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<TokenRecord> {
    let kind: String = row.get(at + 1)?;
    Ok(TokenRecord {
        jti: row.get(at)?,
        kind: if kind == "refresh" { TokenKind::Refresh } else { TokenKind::Access },
        grant_id: row.get(at + 2)?,
        client_id: row.get(at + 3)?,
        subject: row.get(at + 4)?,
        scope: row.get(at + 5)?,
        audience: row.get(at + 6)?,
        jkt: row.get(at + 7)?,
        issued_at: row.get(at + 8)?,
        expires_at: row.get(at + 9)?,
        rotated_at: row.get(at + 10)?,
        revoked_at: row.get(at + 11)?,
        x5t: row.get(at + 12)?,
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

/// How long past its expiry a token stays in the index (so answers about a
/// token that just expired are the same as the database's).
const INDEX_GRACE_SECS: i64 = 300;

/// The tokens that have not expired, by hash, `jti` and grant, with the
/// revocations of their grants: loaded at open and written through after each
/// committed change, so the resource server's per-request lookup is a map
/// read instead of a query (the benches: 27 µs for the join, against a hash
/// of 0.1 µs). Expired tokens are swept as the index grows; a token absent
/// from it is unknown or long expired, which every caller refuses alike.
#[derive(Debug, Default)]
pub struct TokenIndex {
    by_hash: std::collections::HashMap<[u8; 32], TokenRecord>,
    by_jti: std::collections::HashMap<String, [u8; 32]>,
    by_grant: std::collections::HashMap<String, Vec<[u8; 32]>>,
    revoked_grants: std::collections::HashMap<String, i64>,
    sweep_at: usize,
}

impl TokenIndex {
    fn get(&self, hash: &[u8; 32]) -> Option<TokenRecord> {
        let mut record = self.by_hash.get(hash)?.clone();
        // COALESCE(t.revoked_at, g.revoked_at), as the query folds it.
        record.revoked_at =
            record.revoked_at.or_else(|| self.revoked_grants.get(&record.grant_id).copied());
        Some(record)
    }

    fn insert(&mut self, hash: [u8; 32], record: TokenRecord, now: i64) {
        if self.by_hash.len() >= self.sweep_at {
            self.sweep(now);
        }
        if let Some(jti) = &record.jti {
            self.by_jti.insert(jti.clone(), hash);
        }
        self.by_grant.entry(record.grant_id.clone()).or_default().push(hash);
        self.by_hash.insert(hash, record);
    }

    /// Drops tokens expired for longer than the grace, and grants left without tokens.
    fn sweep(&mut self, now: i64) {
        let expired: Vec<[u8; 32]> = self
            .by_hash
            .iter()
            .filter(|(_, r)| r.expires_at + INDEX_GRACE_SECS <= now)
            .map(|(h, _)| *h)
            .collect();
        for hash in expired {
            if let Some(record) = self.by_hash.remove(&hash) {
                if let Some(jti) = &record.jti {
                    self.by_jti.remove(jti);
                }
                if let Some(family) = self.by_grant.get_mut(&record.grant_id) {
                    family.retain(|h| *h != hash);
                    if family.is_empty() {
                        self.by_grant.remove(&record.grant_id);
                    }
                }
            }
        }
        let by_grant = &self.by_grant;
        self.revoked_grants.retain(|grant, _| by_grant.contains_key(grant));
        self.sweep_at = (self.by_hash.len() * 2).max(10_000);
    }
}

impl Store {
    /// Loads the tokens that have not expired into the index (at open).
    pub(crate) fn load_oauth_index(&self, now: i64) -> Result<(), StoreError> {
        let (tokens, grants) = self.read(|conn| {
            let tokens = conn
                .prepare(&format!(
                    "SELECT t.token_hash, {TOKEN_COLUMNS} {TOKEN_FROM} WHERE t.expires_at + ?1 > ?2"
                ))?
                .query_map(params![INDEX_GRACE_SECS, now], |row| {
                    let hash: Vec<u8> = row.get(0)?;
                    Ok((hash, token_from_row_at(row, 1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let grants = conn
                .prepare(
                    "SELECT grant_id, revoked_at FROM oauth_grants WHERE revoked_at IS NOT NULL",
                )?
                .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((tokens, grants))
        })?;
        let mut index = self.oauth_index.write().unwrap_or_else(|p| p.into_inner());
        *index = TokenIndex::default();
        for (hash, record) in tokens {
            if let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) {
                index.insert(hash, record, now);
            }
        }
        for (grant, revoked_at) in grants {
            if index.by_grant.contains_key(&grant) {
                index.revoked_grants.insert(grant, revoked_at);
            }
        }
        index.sweep_at = (index.by_hash.len() * 2).max(10_000);
        Ok(())
    }

    fn with_oauth_index<T>(&self, f: impl FnOnce(&mut TokenIndex) -> T) -> T {
        f(&mut self.oauth_index.write().unwrap_or_else(|p| p.into_inner()))
    }

    /// Registers `client`, replacing a registration of the same id.
    pub fn upsert_oauth_client(&self, client: &OAuthClient, now: i64) -> Result<(), StoreError> {
        let uris = client.redirect_uris.join("\n");
        self.write(|tx| {
            tx.execute(
                "INSERT INTO oauth_clients (client_id, secret_hash, redirect_uris, scopes, token_format, created_at, public)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (client_id) DO UPDATE SET secret_hash = ?2, redirect_uris = ?3, scopes = ?4,
                     token_format = ?5, public = ?7",
                params![
                    client.client_id,
                    client.secret_hash.as_ref().map(|h| &h[..]),
                    uris,
                    client.scopes.join(" "),
                    client.token_format.as_str(),
                    now,
                    client.public
                ],
            )?;
            Ok(())
        })
    }

    /// The client `client_id`.
    pub fn oauth_client(&self, client_id: &str) -> Result<Option<OAuthClient>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT client_id, secret_hash, redirect_uris, scopes, token_format, public FROM oauth_clients
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
                    public: row.get(5)?,
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

    /// The client a code was issued to, without redeeming it.
    pub fn code_client(&self, code_hash: &[u8; 32]) -> Result<Option<String>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached("SELECT client_id FROM oauth_codes WHERE code_hash = ?1")?
                .query_row([&code_hash[..]], |row| row.get(0))
                .optional()
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
        })?;
        self.with_oauth_index(|index| {
            index.revoked_grants.entry(grant_id.to_owned()).or_insert(now);
        });
        Ok(())
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
        })?;
        let now = crate::app::now();
        self.with_oauth_index(|index| index.insert(*token_hash, token.clone(), now));
        Ok(())
    }

    /// The token whose SHA-256 is `token_hash`, with its family's revocation folded in.
    /// From the index: a token expired for longer than a few minutes is `None`.
    pub fn oauth_token(&self, token_hash: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError> {
        let index = self.oauth_index.read().unwrap_or_else(|p| p.into_inner());
        Ok(index.get(token_hash))
    }

    /// The JWT access token with `jti` (from the index, like [`Store::oauth_token`]).
    pub fn oauth_token_by_jti(&self, jti: &str) -> Result<Option<TokenRecord>, StoreError> {
        let index = self.oauth_index.read().unwrap_or_else(|p| p.into_inner());
        Ok(index.by_jti.get(jti).and_then(|hash| index.get(hash)))
    }

    /// Marks a refresh token rotated and returns it as it was before (a set
    /// `rotated_at` means reuse). Atomic, like [`Store::redeem_code`].
    pub fn rotate_refresh(
        &self,
        token_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let token = self.write(|tx| {
            let token = tx
                .prepare(&format!(
                    "SELECT {TOKEN_COLUMNS} {TOKEN_FROM} WHERE t.token_hash = ?1 AND t.kind = 'refresh'"
                ))?
                .query_row([&token_hash[..]], |row| token_from_row_at(row, 0))
                .optional()?;
            if token.as_ref().is_some_and(|t| t.rotated_at.is_none()) {
                tx.execute(
                    "UPDATE oauth_tokens SET rotated_at = ?2 WHERE token_hash = ?1",
                    params![&token_hash[..], now],
                )?;
            }
            Ok(token)
        })?;
        self.with_oauth_index(|index| {
            if let Some(record) = index.by_hash.get_mut(token_hash) {
                record.rotated_at.get_or_insert(now);
            }
        });
        Ok(token)
    }

    /// Revokes one token.
    pub fn revoke_oauth_token(&self, token_hash: &[u8; 32], now: i64) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE oauth_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE token_hash = ?1",
                params![&token_hash[..], now],
            )?;
            Ok(())
        })?;
        self.with_oauth_index(|index| {
            if let Some(record) = index.by_hash.get_mut(token_hash) {
                record.revoked_at.get_or_insert(now);
            }
        });
        Ok(())
    }

    /// Records a DPoP proof `jti`; `false` if it was seen before (a replay).
    pub fn record_dpop_jti(
        &self,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let fresh = self.record_dpop_jtis(&[(jti, expires_at)], Some(now))?;
        Ok(fresh.first().copied().unwrap_or(false))
    }

    /// Records a batch of proof identifiers in one transaction (one fsync for
    /// all): for each, whether it was new. Within a batch a repeated
    /// identifier is new the first time only. With `sweep_before`, identifiers
    /// that expired before it are deleted first.
    pub fn record_dpop_jtis(
        &self,
        entries: &[(&str, i64)],
        sweep_before: Option<i64>,
    ) -> Result<Vec<bool>, StoreError> {
        self.write(|tx| {
            if let Some(now) = sweep_before {
                tx.prepare_cached("DELETE FROM dpop_proofs WHERE expires_at < ?1")?
                    .execute([now])?;
            }
            let mut insert = tx.prepare_cached(
                "INSERT INTO dpop_proofs (jti, expires_at) VALUES (?1, ?2) ON CONFLICT (jti) DO NOTHING",
            )?;
            entries
                .iter()
                .map(|(jti, expires_at)| Ok(insert.execute(params![jti, expires_at])? == 1))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests;
