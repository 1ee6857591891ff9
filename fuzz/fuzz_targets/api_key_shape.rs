//! API key shape check: never panics; what it accepts has a mode prefix and
//! 43 base64url characters.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(key) = std::str::from_utf8(data) else { return };
    if authbench_servers::api_key::well_formed(key) {
        assert!(key.starts_with("sk_live_") || key.starts_with("sk_test_"));
        assert_eq!(key.len(), 51);
    }
    let _ = authbench_servers::api_key::hash(key);
});
