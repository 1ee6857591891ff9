//! Unit tests of the parent module.

use super::*;

fn token(jti: &str, grant: &str, expires_at: i64) -> TokenRecord {
    TokenRecord {
        jti: Some(jti.to_owned()),
        kind: TokenKind::Access,
        grant_id: grant.to_owned(),
        client_id: "c".into(),
        subject: Some("alice".into()),
        scope: "read".into(),
        audience: Some("api".into()),
        jkt: None,
        x5t: None,
        issued_at: 1,
        expires_at,
        rotated_at: None,
        revoked_at: None,
    }
}

/// What the index answers equals what the database answers, across
/// every change and a reopen.
#[test]
fn the_index_agrees_with_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = Store::open(&path).unwrap();
    let now = crate::app::now();
    let from_db = |store: &Store, hash: &[u8; 32]| {
        store
            .read(|conn| {
                conn.prepare(&format!(
                    "SELECT {TOKEN_COLUMNS} {TOKEN_FROM} WHERE t.token_hash = ?1"
                ))?
                .query_row([&hash[..]], |row| token_from_row_at(row, 0))
                .optional()
            })
            .unwrap()
    };
    for grant in ["g1", "g2"] {
        store.insert_grant(grant, "c", None, "read", None, now).unwrap();
    }
    let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    store.insert_token(&a, &token("ja", "g1", now + 60)).unwrap();
    store.insert_token(&b, &token("jb", "g1", now + 60)).unwrap();
    store.insert_token(&c, &token("jc", "g2", now + 60)).unwrap();
    let agree = |store: &Store| {
        for hash in [&a, &b, &c, &[9u8; 32]] {
            assert_eq!(store.oauth_token(hash).unwrap(), from_db(store, hash), "{hash:?}");
        }
        assert_eq!(store.oauth_token_by_jti("jb").unwrap(), from_db(store, &b));
    };
    agree(&store);
    store.revoke_oauth_token(&a, now + 1).unwrap();
    store.revoke_oauth_token(&a, now + 2).unwrap();
    assert_eq!(store.oauth_token(&a).unwrap().unwrap().revoked_at, Some(now + 1));
    agree(&store);
    store.revoke_grant("g1", now + 3).unwrap();
    assert_eq!(store.oauth_token(&b).unwrap().unwrap().revoked_at, Some(now + 3));
    assert_eq!(store.oauth_token(&c).unwrap().unwrap().revoked_at, None);
    agree(&store);
    drop(store);
    let reopened = Store::open(&path).unwrap();
    agree(&reopened);
    // Long-expired tokens leave the index when it sweeps; recent ones stay.
    let mut index = TokenIndex::default();
    index.insert([4u8; 32], token("old", "g3", now - INDEX_GRACE_SECS - 1), now);
    index.insert([5u8; 32], token("new", "g3", now - 1), now);
    index.sweep(now);
    assert!(index.get(&[4u8; 32]).is_none() && !index.by_jti.contains_key("old"));
    assert!(index.get(&[5u8; 32]).is_some());
}
