//! Basic credentials (RFC 7617): any input decodes or is refused without a
//! panic; what decodes has a non-empty user-id, no control characters, and
//! re-encodes to the same user-pass.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some((user, password)) = authbench_servers::basic::decode_credentials(text) {
        assert!(!user.is_empty() && !user.contains(':'));
        assert!(!user.chars().chain(password.chars()).any(char::is_control));
        let again = STANDARD.encode(format!("{user}:{password}"));
        assert_eq!(authbench_servers::basic::decode_credentials(&again), Some((user, password)));
    }
});
