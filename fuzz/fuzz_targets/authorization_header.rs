//! The Authorization header reader: any field value parses or is refused
//! without a panic; credentials never start with a space.
#![no_main]

use axum::http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else { return };
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value);
    let auth = authbench_servers::respond::Authorization::of(&headers);
    for scheme in ["Bearer", "Basic", "DPoP"] {
        if let Some(credentials) = auth.credentials_for(scheme) {
            assert!(!credentials.starts_with(' '));
        }
    }
});
