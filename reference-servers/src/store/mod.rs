//! All reference-server state in one SQLite database (WAL), versioned by migrations.
//!
//! Durability contract: every write commits with `synchronous = FULL` before the
//! function returns, so whatever a server acknowledges (a key revoked, a user
//! created) survives `kill -9`. Writes block on fsync: async callers run them on
//! the blocking pool. Reads use a small pool of reader connections with cached
//! prepared statements; WAL lets them proceed while a write is in flight.

mod api_keys;
mod migrations;

use migrations::MIGRATIONS;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicUsize, Ordering};

use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use rusqlite::{Connection, OpenFlags, params};

const READERS: usize = 4;

/// An error from the state database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("state database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer authbench.
    #[error(
        "state database {path} has schema version {found}, newer than this authbench ({known}); use a newer authbench or another --state directory"
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The version found in the file.
        found: usize,
        /// The newest version this build knows.
        known: usize,
    },
    /// A row with the same unique name already exists.
    #[error("{what} already exists")]
    Conflict {
        /// What collided, for the message.
        what: String,
    },
}

/// A user of the Basic and JWT-issuing servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// PHC-format argon2id hash.
    pub password_hash: String,
    /// Bumped on every password change; keys the verified-credential cache.
    pub password_version: i64,
}

/// Whether an API key belongs to live or test mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyMode {
    /// `sk_live_` keys.
    Live,
    /// `sk_test_` keys.
    Test,
}

impl KeyMode {
    /// The mode as stored and as written in key prefixes.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyMode::Live => "live",
            KeyMode::Test => "test",
        }
    }

    fn from_db(s: &str) -> Self {
        if s == "test" { KeyMode::Test } else { KeyMode::Live }
    }
}

/// An API key as stored: never the key itself, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Public identifier (`key_…`), used by the admin API.
    pub id: String,
    /// The client the key belongs to; a client may hold several active keys.
    pub client_id: String,
    /// Live or test.
    pub mode: KeyMode,
    /// The first characters of the key, safe to display.
    pub display_prefix: String,
    /// SHA-256 of the whole key.
    pub key_hash: [u8; 32],
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; `None` never expires.
    pub expires_at: Option<i64>,
    /// Unix seconds; `None` while active.
    pub revoked_at: Option<i64>,
    /// The source addresses the key may be used from; empty: any.
    pub allowed_sources: Vec<ipnet::IpNet>,
}

impl ApiKeyRecord {
    /// Whether a request from `source` may use this key: always when the key
    /// has no allowlist; never from an unknown source when it has one.
    pub fn allows_source(&self, source: Option<std::net::IpAddr>) -> bool {
        self.allowed_sources.is_empty()
            || source.is_some_and(|ip| {
                let ip = ip.to_canonical();
                self.allowed_sources.iter().any(|net| net.contains(&ip))
            })
    }
}

/// What an mTLS identity (a service) may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtlsIdentity {
    /// Its permissions.
    pub permissions: Vec<String>,
    /// The application it is bound to, for the layered resource.
    pub application: Option<String>,
}

/// The state database: one writer connection and a pool of readers.
pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Every API key by SHA-256, loaded at open and written through after each
    /// committed change: verifying a key is a hash and a map lookup, not a
    /// query (a WAL read transaction costs tens of µs per request).
    api_key_index: RwLock<HashMap<[u8; 32], Arc<ApiKeyRecord>>>,
    /// Every user by name, likewise: the Basic cache's hit needs the user's
    /// password version on every request.
    user_index: RwLock<HashMap<String, Arc<UserRecord>>>,
    /// Every mTLS identity (permissions, bound application), likewise: the
    /// mTLS and layered resources look one up on every request.
    mtls_index: RwLock<HashMap<String, Arc<MtlsIdentity>>>,
    /// The OAuth tokens that have not expired, likewise (see
    /// [`crate::oauth::store::TokenIndex`]).
    pub(crate) oauth_index: RwLock<crate::oauth::store::TokenIndex>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let err = |source| StoreError::Sqlite { path: path.to_owned(), source };
        let mut writer = Connection::open(path).map_err(err)?;
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = 5000;",
            )
            .map_err(err)?;
        migrate(&mut writer, path)?;
        let readers = (0..READERS)
            .map(|_| {
                let conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.execute_batch("PRAGMA busy_timeout = 5000;")?;
                Ok(Mutex::new(conn))
            })
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(err)?;
        let store = Store {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            api_key_index: RwLock::new(HashMap::new()),
            user_index: RwLock::new(HashMap::new()),
            mtls_index: RwLock::new(HashMap::new()),
            oauth_index: RwLock::new(crate::oauth::store::TokenIndex::default()),
        };
        store.load_oauth_index(crate::app::now())?;
        let users = store.read(|conn| {
            let mut stmt =
                conn.prepare("SELECT id, username, password_hash, password_version FROM users")?;
            stmt.query_map([], user_from_row)?.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        for user in users {
            store.index_user(user);
        }
        let all = store.api_keys(None)?;
        let mut index = store.api_key_index.write().unwrap_or_else(|p| p.into_inner());
        for key in all {
            index.insert(key.key_hash, Arc::new(key));
        }
        drop(index);
        let identities = store.read(|conn| {
            let mut stmt =
                conn.prepare("SELECT identity, permissions, application FROM mtls_identities")?;
            stmt.query_map([], |row| {
                let permissions: String = row.get(1)?;
                Ok((
                    row.get::<_, String>(0)?,
                    MtlsIdentity {
                        permissions: permissions.split_whitespace().map(str::to_owned).collect(),
                        application: row.get(2)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let mut index = store.mtls_index.write().unwrap_or_else(|p| p.into_inner());
        for (identity, record) in identities {
            index.insert(identity, Arc::new(record));
        }
        drop(index);
        Ok(store)
    }

    fn index_user(&self, user: UserRecord) {
        let mut index = self.user_index.write().unwrap_or_else(|p| p.into_inner());
        index.insert(user.username.clone(), Arc::new(user));
    }

    fn index_api_key(&self, record: ApiKeyRecord) {
        let mut index = self.api_key_index.write().unwrap_or_else(|p| p.into_inner());
        index.insert(record.key_hash, Arc::new(record));
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        // Take the first free reader; wait on one only when all are busy.
        let guard = (0..self.readers.len())
            .find_map(|i| self.readers[(start + i) % self.readers.len()].try_lock().ok())
            .unwrap_or_else(|| lock(&self.readers[start % self.readers.len()]));
        f(&guard).map_err(|source| StoreError::Sqlite { path: self.path.clone(), source })
    }

    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut conn = lock(&self.writer);
        let err = |source| StoreError::Sqlite { path: self.path.clone(), source };
        let tx = conn.transaction().map_err(err)?;
        let value = f(&tx).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(value)
    }

    /// The user called `username`, if any.
    pub fn user(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        // From the index, which every committed change updates.
        let index = self.user_index.read().unwrap_or_else(|p| p.into_inner());
        Ok(index.get(username).map(|u| UserRecord::clone(u)))
    }

    /// Creates a user; [`StoreError::Conflict`] if the name is taken.
    pub fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<UserRecord, StoreError> {
        let result = self.write(|tx| {
            tx.execute(
                "INSERT INTO users (username, password_hash, created_at) VALUES (?1, ?2, ?3)",
                params![username, password_hash, now],
            )?;
            Ok(UserRecord {
                id: tx.last_insert_rowid(),
                username: username.to_owned(),
                password_hash: password_hash.to_owned(),
                password_version: 1,
            })
        });
        let user = conflict_as(result, || format!("user `{username}`"))?;
        self.index_user(user.clone());
        Ok(user)
    }

    /// Replaces a user's password hash; `false` when there is no such user.
    pub fn set_password(&self, username: &str, password_hash: &str) -> Result<bool, StoreError> {
        let updated = self.write(|tx| {
            let changed = tx.execute(
                "UPDATE users SET password_hash = ?2, password_version = password_version + 1
                 WHERE username = ?1",
                params![username, password_hash],
            )?;
            if changed != 1 {
                return Ok(None);
            }
            tx.query_row(
                "SELECT id, username, password_hash, password_version FROM users WHERE username = ?1",
                [username],
                user_from_row,
            )
            .map(Some)
        })?;
        // Durable first, then visible: the old password stops working here.
        Ok(match updated {
            Some(user) => {
                self.index_user(user);
                true
            }
            None => false,
        })
    }

    /// Adds `jti` to the JWT denylist.
    pub fn revoke_jti(
        &self,
        jti: &str,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO jwt_revocations (jti, revoked_at, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (jti) DO NOTHING",
                params![jti, now, expires_at],
            )?;
            Ok(())
        })
    }

    /// Whether `jti` is on the denylist.
    pub fn is_jti_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        self.read(|conn| {
            conn.prepare_cached("SELECT 1 FROM jwt_revocations WHERE jti = ?1")?.exists([jti])
        })
    }
}

impl Store {
    /// Grants `identity` the space-separated `permissions` (replacing earlier ones).
    pub fn upsert_mtls_identity(
        &self,
        identity: &str,
        permissions: &str,
    ) -> Result<(), StoreError> {
        let mut index = self.mtls_index.write().unwrap_or_else(|p| p.into_inner());
        let application = self.write(|tx| {
            tx.execute(
                "INSERT INTO mtls_identities (identity, permissions) VALUES (?1, ?2)
                 ON CONFLICT (identity) DO UPDATE SET permissions = ?2",
                params![identity, permissions],
            )?;
            tx.query_row(
                "SELECT application FROM mtls_identities WHERE identity = ?1",
                [identity],
                |row| row.get(0),
            )
        })?;
        let permissions = permissions.split_whitespace().map(str::to_owned).collect();
        index.insert(identity.to_owned(), Arc::new(MtlsIdentity { permissions, application }));
        Ok(())
    }

    /// Binds service `identity` to `application` (the owner of API keys and the
    /// `azp`/`client_id` of user tokens), for the layered resource.
    pub fn bind_mtls_application(
        &self,
        identity: &str,
        application: &str,
    ) -> Result<bool, StoreError> {
        // The index lock is held across the commit, so readers never see
        // the index behind the database.
        let mut index = self.mtls_index.write().unwrap_or_else(|p| p.into_inner());
        let bound = self.write(|tx| {
            Ok(tx.execute(
                "UPDATE mtls_identities SET application = ?2 WHERE identity = ?1",
                params![identity, application],
            )? == 1)
        })?;
        if let Some(record) = index.get_mut(identity) {
            Arc::make_mut(record).application = Some(application.to_owned());
        }
        Ok(bound)
    }

    /// The permissions of `identity` and the application it is bound to; `None` if unknown.
    pub fn mtls_identity(&self, identity: &str) -> Result<Option<Arc<MtlsIdentity>>, StoreError> {
        // From the index, which every committed change updates.
        let index = self.mtls_index.read().unwrap_or_else(|p| p.into_inner());
        Ok(index.get(identity).cloned())
    }

    /// The permissions of `identity`, `None` if unknown.
    pub fn mtls_permissions(&self, identity: &str) -> Result<Option<Vec<String>>, StoreError> {
        Ok(self.mtls_identity(identity)?.map(|i| i.permissions.clone()))
    }

    /// Records the revocation of the certificate with serial `serial` (hex).
    pub fn revoke_certificate(&self, serial: &str, now: i64) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO mtls_revocations (serial, revoked_at) VALUES (?1, ?2) ON CONFLICT (serial) DO NOTHING",
                params![serial, now],
            )?;
            Ok(())
        })
    }

    /// Every revoked serial (hex) with its revocation time.
    pub fn revoked_certificates(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT serial, revoked_at FROM mtls_revocations ORDER BY revoked_at",
            )?;
            stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect()
        })
    }
}

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave a half-done transaction
    // (rusqlite rolls back on drop), so a poisoned connection is still usable.
    conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: row.get(0)?,
        username: row.get(1)?,
        password_hash: row.get(2)?,
        password_version: row.get(3)?,
    })
}

fn conflict_as<T>(
    result: Result<T, StoreError>,
    what: impl FnOnce() -> String,
) -> Result<T, StoreError> {
    match result {
        Err(StoreError::Sqlite { source: rusqlite::Error::SqliteFailure(e, _), .. })
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::Conflict { what: what() })
        }
        other => other,
    }
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let err = |source| StoreError::Sqlite { path: path.to_owned(), source };
    let tx = conn.transaction().map_err(err)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(err)?;
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    if version > MIGRATIONS.len() {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found: version,
            known: MIGRATIONS.len(),
        });
    }
    for migration in &MIGRATIONS[version..] {
        tx.execute_batch(migration).map_err(err)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64).map_err(err)?;
    tx.commit().map_err(err)
}
