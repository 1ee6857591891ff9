//! Properties of the credential parsers (proptest): no input panics them,
//! valid credentials round-trip, and a mutated credential never verifies.

#![allow(clippy::unwrap_used)]

use authbench_servers::api_key::{generate, well_formed};
use authbench_servers::basic::decode_credentials;
use authbench_servers::jwt::verify::{Verifier, VerifierFlaws, VerifierSettings};
use authbench_servers::respond::Authorization;
use authbench_servers::store::KeyMode;
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey};
use proptest::prelude::*;

const NOW: i64 = 1_800_000_000;

fn verifier() -> Verifier {
    let settings = VerifierSettings {
        issuer: "https://issuer".into(),
        audience: "api".into(),
        leeway_secs: 30,
        max_lifetime_secs: 86_400,
        flaws: VerifierFlaws::default(),
    };
    Verifier::new(Algorithm::HS256, &DecodingKey::from_secret(b"k").unwrap(), "k1".into(), settings)
        .unwrap()
}

fn signed(header: &str, claims: &str) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, b"k"), input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

fn valid_token(sub: &str) -> String {
    let claims = serde_json::json!({
        "iss": "https://issuer", "aud": "api", "sub": sub,
        "iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 300,
    });
    signed(r#"{"alg":"HS256","typ":"at+jwt","kid":"k1"}"#, &claims.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn basic_decoding_never_panics(input in ".{0,200}") {
        let _ = decode_credentials(&input);
    }

    #[test]
    fn basic_credentials_round_trip(user in "[^:\\p{Cc}]{1,40}", password in "[^\\p{Cc}]{0,60}") {
        let encoded = STANDARD.encode(format!("{user}:{password}"));
        prop_assert_eq!(decode_credentials(&encoded), Some((user, password)));
    }

    #[test]
    fn basic_decoding_refuses_control_characters(user in "[a-z]{1,8}", c in "\\p{Cc}") {
        let encoded = STANDARD.encode(format!("{user}:pass{c}word"));
        prop_assert_eq!(decode_credentials(&encoded), None);
    }

    #[test]
    fn api_key_shape_check_never_panics(input in ".{0,120}") {
        let _ = well_formed(&input);
    }

    #[test]
    fn api_keys_are_well_formed_and_no_one_character_change_keeps_a_bad_shape_accepted(
        live in any::<bool>(),
        at in 0usize..51,
        c in "[^A-Za-z0-9_-]",
    ) {
        let key = generate(if live { KeyMode::Live } else { KeyMode::Test }).key;
        prop_assert!(well_formed(&key));
        // A character outside the alphabet anywhere in the secret part.
        let mut chars: Vec<char> = key.chars().collect();
        let at = 8 + at % (chars.len() - 8);
        chars[at] = c.chars().next().unwrap();
        let spoiled: String = chars.into_iter().collect();
        prop_assert!(!well_formed(&spoiled));
        // One character more or less.
        prop_assert!(!well_formed(&key[..key.len() - 1]));
        let longer = format!("{key}A");
        prop_assert!(!well_formed(&longer));
    }

    #[test]
    fn authorization_parsing_never_panics(value in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut headers = axum::http::HeaderMap::new();
        if let Ok(v) = axum::http::HeaderValue::from_bytes(&value) {
            headers.insert(axum::http::header::AUTHORIZATION, v);
            let a = Authorization::of(&headers);
            let _ = a.credentials_for("Bearer");
        }
    }

    #[test]
    fn jwt_verification_never_panics(token in ".{0,400}") {
        let _ = verifier().verify(&token, NOW);
    }

    #[test]
    fn jwt_verification_never_panics_on_segments(
        h in proptest::collection::vec(any::<u8>(), 0..80),
        p in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let token = signed(&String::from_utf8_lossy(&h), &String::from_utf8_lossy(&p));
        let _ = verifier().verify(&token, NOW);
    }

    #[test]
    fn a_valid_token_verifies(sub in "[a-zA-Z0-9]{1,30}") {
        let v = verifier().verify(&valid_token(&sub), NOW).unwrap();
        prop_assert_eq!(v.subject, sub);
    }

    /// Any one character of a valid token replaced by another base64url
    /// character (or a dot): never accepted.
    #[test]
    fn a_token_with_one_character_changed_never_verifies(
        sub in "[a-z]{1,10}",
        at in any::<prop::sample::Index>(),
        c in "[A-Za-z0-9_.-]",
    ) {
        let token = valid_token(&sub);
        let mut bytes = token.clone().into_bytes();
        let i = at.index(bytes.len());
        let c = c.as_bytes()[0];
        prop_assume!(bytes[i] != c);
        bytes[i] = c;
        let mutated = String::from_utf8(bytes).unwrap();
        prop_assert!(verifier().verify(&mutated, NOW).is_err(), "{} accepted", mutated);
    }
}
