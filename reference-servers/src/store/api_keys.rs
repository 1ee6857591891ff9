//! API key records: insert, look up (by hash from the in-memory index, by
//! id, by display prefix), list, revoke, and set a key's source allowlist.

use std::sync::Arc;

use rusqlite::{OptionalExtension, params};

use super::{ApiKeyRecord, KeyMode, Store, StoreError, conflict_as};

impl Store {
    /// Stores a new API key record.
    pub fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let result = self.write(|tx| {
            tx.execute(
                "INSERT INTO api_keys (id, client_id, mode, display_prefix, key_hash, scopes,
                                       created_at, expires_at, revoked_at, allowed_sources)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    key.id,
                    key.client_id,
                    key.mode.as_str(),
                    key.display_prefix,
                    &key.key_hash[..],
                    key.scopes.join(" "),
                    key.created_at,
                    key.expires_at,
                    key.revoked_at,
                    sources_to_db(&key.allowed_sources),
                ],
            )?;
            Ok(())
        });
        conflict_as(result, || format!("API key `{}`", key.id))?;
        self.index_api_key(key.clone());
        Ok(())
    }

    /// The key whose SHA-256 is `hash`, revoked or not (from the in-memory
    /// index, which every committed change updates).
    pub fn api_key_by_hash(
        &self,
        hash: &[u8; 32],
    ) -> Result<Option<Arc<ApiKeyRecord>>, StoreError> {
        let index = self.api_key_index.read().unwrap_or_else(|p| p.into_inner());
        Ok(index.get(hash).cloned())
    }

    /// The first key whose display prefix is `prefix`. Only the
    /// `api-key-prefix-match` flaw uses this: a prefix is public, not a secret.
    pub fn api_key_by_display_prefix(
        &self,
        prefix: &str,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "{API_KEY_COLUMNS} WHERE display_prefix = ?1 ORDER BY created_at LIMIT 1"
            ))?
            .query_row([prefix], api_key_from_row)
            .optional()
        })
    }

    /// The key whose public identifier is `id`.
    pub fn api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(&format!("{API_KEY_COLUMNS} WHERE id = ?1"))?
                .query_row([id], api_key_from_row)
                .optional()
        })
    }

    /// Every key, or those of one client, oldest first.
    pub fn api_keys(&self, client_id: Option<&str>) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "{API_KEY_COLUMNS} WHERE ?1 IS NULL OR client_id = ?1 ORDER BY created_at, id"
            ))?;
            stmt.query_map([client_id], api_key_from_row)?.collect()
        })
    }

    /// Revokes the key `id` at `now` (keeping an earlier revocation time);
    /// the record afterwards, or `None` if there is no such key.
    pub fn revoke_api_key(&self, id: &str, now: i64) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.update_api_key(
            id,
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
            now,
        )
    }

    /// Runs `update` (`?1` the id, `?2` the value) on key `id` and indexes
    /// the record afterwards: durable first, then visible to verification.
    fn update_api_key(
        &self,
        id: &str,
        update: &str,
        value: impl rusqlite::ToSql,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        let record = self.write(|tx| {
            tx.execute(update, params![id, value])?;
            tx.prepare(&format!("{API_KEY_COLUMNS} WHERE id = ?1"))?
                .query_row([id], api_key_from_row)
                .optional()
        })?;
        if let Some(r) = &record {
            self.index_api_key(r.clone());
        }
        Ok(record)
    }

    /// Replaces the source allowlist of key `id`; the record afterwards, or
    /// `None` if there is no such key.
    pub fn set_allowed_sources(
        &self,
        id: &str,
        sources: &[ipnet::IpNet],
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.update_api_key(
            id,
            "UPDATE api_keys SET allowed_sources = ?2 WHERE id = ?1",
            sources_to_db(sources),
        )
    }
}

const API_KEY_COLUMNS: &str = "SELECT id, client_id, mode, display_prefix, key_hash, scopes, \
     created_at, expires_at, revoked_at, allowed_sources FROM api_keys";

fn sources_to_db(sources: &[ipnet::IpNet]) -> String {
    sources.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

fn api_key_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKeyRecord> {
    let mode: String = row.get(2)?;
    let scopes: String = row.get(5)?;
    let sources: String = row.get(9)?;
    let allowed_sources = sources
        .split_whitespace()
        .map(|s| {
            s.parse().map_err(|e: ipnet::AddrParseError| {
                rusqlite::Error::FromSqlConversionFailure(9, rusqlite::types::Type::Text, e.into())
            })
        })
        .collect::<rusqlite::Result<_>>()?;
    Ok(ApiKeyRecord {
        id: row.get(0)?,
        client_id: row.get(1)?,
        mode: KeyMode::from_db(&mode),
        display_prefix: row.get(3)?,
        key_hash: row.get(4)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        created_at: row.get(6)?,
        expires_at: row.get(7)?,
        revoked_at: row.get(8)?,
        allowed_sources,
    })
}
