//! The schema, as numbered migrations applied in order (data).

/// Migrations in order; `PRAGMA user_version` records how many have run.
/// Never edit a released migration: append a new one.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: users, API keys, JWT revocations.
    "CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        password_version INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('live', 'test')),
        display_prefix TEXT NOT NULL,
        key_hash BLOB NOT NULL UNIQUE,
        scopes TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER
    );
    CREATE INDEX api_keys_by_client ON api_keys (client_id);
    CREATE INDEX api_keys_by_prefix ON api_keys (display_prefix);
    CREATE TABLE jwt_revocations (
        jti TEXT PRIMARY KEY,
        revoked_at INTEGER NOT NULL,
        expires_at INTEGER
    );",
    // 2: OAuth 2.0 clients, authorization codes, grants (token families),
    // tokens, and the DPoP proof replay cache.
    "CREATE TABLE oauth_clients (
        client_id TEXT PRIMARY KEY,
        secret_hash BLOB,
        redirect_uris TEXT NOT NULL,
        scopes TEXT NOT NULL,
        token_format TEXT NOT NULL CHECK (token_format IN ('jwt', 'opaque')),
        created_at INTEGER NOT NULL
    );
    CREATE TABLE oauth_grants (
        grant_id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        subject TEXT,
        scope TEXT NOT NULL,
        resource TEXT,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    );
    CREATE TABLE oauth_codes (
        code_hash BLOB PRIMARY KEY,
        grant_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        subject TEXT NOT NULL,
        scope TEXT NOT NULL,
        resource TEXT,
        code_challenge TEXT,
        challenge_method TEXT,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
    );
    CREATE TABLE oauth_tokens (
        token_hash BLOB PRIMARY KEY,
        jti TEXT UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
        grant_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        subject TEXT,
        scope TEXT NOT NULL,
        audience TEXT,
        jkt TEXT,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        rotated_at INTEGER,
        revoked_at INTEGER
    );
    CREATE INDEX oauth_tokens_by_grant ON oauth_tokens (grant_id);
    CREATE TABLE dpop_proofs (
        jti TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
    );",
    // 3: mTLS client identities and certificate revocations.
    "CREATE TABLE mtls_identities (
        identity TEXT PRIMARY KEY,
        permissions TEXT NOT NULL
    );
    CREATE TABLE mtls_revocations (
        serial TEXT PRIMARY KEY,
        revoked_at INTEGER NOT NULL
    );",
    // 4: certificate-bound OAuth tokens (RFC 8705).
    "ALTER TABLE oauth_tokens ADD COLUMN x5t TEXT;",
    // 5: expired DPoP proof identifiers are swept by time.
    "CREATE INDEX dpop_proofs_by_expiry ON dpop_proofs (expires_at);",
    // 6: the application a service (mTLS identity) acts for, on the layered resource.
    "ALTER TABLE mtls_identities ADD COLUMN application TEXT;",
    // 7: public clients (RFC 6749 §2.1), which authenticate with their client_id alone.
    "ALTER TABLE oauth_clients ADD COLUMN public INTEGER NOT NULL DEFAULT 0;",
    // 8: per-key source-address allowlists (CIDRs, space-separated; empty: anywhere).
    "ALTER TABLE api_keys ADD COLUMN allowed_sources TEXT NOT NULL DEFAULT '';",
];
