//! Unit tests of the parent module.

use super::*;

fn key(id: &str, hash: u8) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.into(),
        client_id: "client-a".into(),
        mode: KeyMode::Live,
        display_prefix: format!("sk_live_{id}"),
        key_hash: [hash; 32],
        scopes: vec!["read".into(), "write".into()],
        created_at: 10,
        expires_at: None,
        revoked_at: None,
        allowed_sources: Vec::new(),
    }
}

#[test]
fn migrations_run_once_and_state_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let store = Store::open(&path).unwrap();
        store.create_user("alice", "$argon2id$x", 1).unwrap();
        store.insert_api_key(&key("k1", 1)).unwrap();
        assert!(store.revoke_api_key("k1", 20).unwrap().is_some());
        store.revoke_jti("jti-1", Some(99), 5).unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.user("alice").unwrap().unwrap().password_version, 1);
    assert_eq!(store.api_key_by_hash(&[1; 32]).unwrap().unwrap().revoked_at, Some(20));
    assert!(store.is_jti_revoked("jti-1").unwrap());
    assert!(!store.is_jti_revoked("jti-2").unwrap());
}

#[test]
fn duplicates_are_conflicts_and_revocation_keeps_the_first_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    store.create_user("alice", "h", 1).unwrap();
    assert!(matches!(store.create_user("alice", "h", 2), Err(StoreError::Conflict { .. })));
    store.insert_api_key(&key("k1", 1)).unwrap();
    store.insert_api_key(&key("k2", 2)).unwrap();
    assert_eq!(store.api_keys(Some("client-a")).unwrap().len(), 2);
    assert_eq!(store.api_keys(Some("client-b")).unwrap().len(), 0);
    store.revoke_api_key("k1", 20).unwrap();
    let again = store.revoke_api_key("k1", 30).unwrap().unwrap();
    assert_eq!(again.revoked_at, Some(20));
    assert!(store.revoke_api_key("missing", 30).unwrap().is_none());
    assert!(store.set_password("alice", "h2").unwrap());
    assert_eq!(store.user("alice").unwrap().unwrap().password_version, 2);
}

#[test]
fn the_mtls_index_agrees_with_the_database_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = Store::open(&path).unwrap();
    store.upsert_mtls_identity("svc", "read").unwrap();
    assert!(store.bind_mtls_application("svc", "app").unwrap());
    assert!(!store.bind_mtls_application("nobody", "app").unwrap());
    // Changing permissions keeps the binding.
    store.upsert_mtls_identity("svc", "read write").unwrap();
    let expected = MtlsIdentity {
        permissions: vec!["read".into(), "write".into()],
        application: Some("app".into()),
    };
    assert_eq!(*store.mtls_identity("svc").unwrap().unwrap(), expected);
    assert_eq!(store.mtls_identity("nobody").unwrap(), None);
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(*store.mtls_identity("svc").unwrap().unwrap(), expected);
    assert_eq!(store.mtls_permissions("svc").unwrap().unwrap(), ["read", "write"]);
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    assert!(matches!(Store::open(&path), Err(StoreError::TooNew { found: 99, .. })));
}

#[test]
fn allowlists_are_durable_and_match_mapped_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let net = |s: &str| s.parse::<ipnet::IpNet>().unwrap();
    {
        let store = Store::open(&path).unwrap();
        let mut k = key("k1", 1);
        k.allowed_sources = vec![net("127.0.0.2/32"), net("10.1.0.0/16")];
        store.insert_api_key(&k).unwrap();
        store.insert_api_key(&key("k2", 2)).unwrap();
        let set = store.set_allowed_sources("k2", &[net("2001:db8::/32")]).unwrap().unwrap();
        assert_eq!(set.allowed_sources, vec![net("2001:db8::/32")]);
        assert!(store.set_allowed_sources("missing", &[]).unwrap().is_none());
    }
    let store = Store::open(&path).unwrap();
    let k1 = store.api_key_by_hash(&[1; 32]).unwrap().unwrap();
    let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().unwrap());
    assert!(k1.allows_source(ip("127.0.0.2")));
    assert!(k1.allows_source(ip("::ffff:127.0.0.2")), "an IPv4-mapped peer is its IPv4 address");
    assert!(k1.allows_source(ip("10.1.200.3")));
    assert!(!k1.allows_source(ip("127.0.0.3")));
    assert!(!k1.allows_source(None), "an unknown source is refused where a list exists");
    let k2 = store.api_key("k2").unwrap().unwrap();
    assert!(k2.allows_source(ip("2001:db8::7")) && !k2.allows_source(ip("2001:db9::7")));
    assert!(key("k3", 3).allows_source(None), "no list: any source");
}
