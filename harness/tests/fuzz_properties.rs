//! Properties of the fuzzer's forge and oracle (proptest), checked against
//! the reference verifier: rendering never panics, the unmutated token is
//! acceptable and verifies, and whatever the reference verifier accepts the
//! oracle calls acceptable — so the oracle never blames a correct server.

#![allow(clippy::unwrap_used)]

use authbench::methods::jwt::fuzz::sign::Signer;
use authbench::methods::jwt::fuzz::{Base, Jwt, Op, acceptable};
use authbench::profile::SigningKey;
use authbench_servers::jwt::verify::{Verifier, VerifierFlaws, VerifierSettings};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use proptest::prelude::*;
use rand::SeedableRng as _;
use serde_json::json;

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn base() -> Base {
    Base {
        header: vec![("alg".into(), json!("HS256")), ("typ".into(), json!("at+jwt"))],
        claims: vec![
            ("iss".into(), json!("https://issuer")),
            ("aud".into(), json!("api")),
            ("sub".into(), json!("alice")),
            ("scope".into(), json!("read")),
        ],
        alg: "HS256",
        issuer: "https://issuer".into(),
        audience: "api".into(),
        // The verifier checks the token; the scope is the resource's check.
        scope: None,
        leeway: 30,
        public_pem: None,
        public_jwk: None,
    }
}

fn signer() -> Signer {
    Signer::new(&SigningKey {
        algorithm: Algorithm::HS256,
        encoding: EncodingKey::from_secret(b"fuzz-secret").unwrap(),
        material: b"fuzz-secret".to_vec(),
        public_pem: None,
    })
    .unwrap()
}

fn verifier() -> Verifier {
    let settings = VerifierSettings {
        issuer: "https://issuer".into(),
        audience: "api".into(),
        leeway_secs: 30,
        max_lifetime_secs: 86_400,
        flaws: VerifierFlaws::default(),
    };
    Verifier::new(
        Algorithm::HS256,
        &DecodingKey::from_secret(b"fuzz-secret").unwrap(),
        "k1".into(),
        settings,
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn the_oracle_never_blames_the_reference_verifier(seed in any::<u64>(), count in 1usize..4) {
        let (base, signer, verifier) = (base(), signer(), verifier());
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let ops: Vec<Op> = (0..count).map(|_| Op::random(&mut rng, &base, false)).collect();
        let mut token = Jwt::valid(&base);
        for op in &ops {
            token.apply(op);
        }
        let value = token.render(&base, &signer);
        let now = now();
        let verdict = acceptable(&value, &base, &signer, now);
        // What the reference verifier accepts behind a Bearer scheme.
        let text = String::from_utf8_lossy(&value).into_owned();
        let accepted = text
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .is_some_and(|(_, t)| verifier.verify(t.trim_start_matches(' '), now).is_ok());
        if accepted {
            prop_assert!(verdict != Some(false), "the verifier accepted what the oracle refuses: {ops:?}");
        }
    }

    #[test]
    fn the_valid_token_is_acceptable_and_verifies(_n in 0u8..4) {
        let (base, signer, verifier) = (base(), signer(), verifier());
        let value = Jwt::valid(&base).render(&base, &signer);
        prop_assert_eq!(acceptable(&value, &base, &signer, now()), Some(true));
        let text = String::from_utf8(value).unwrap();
        prop_assert!(verifier.verify(text.strip_prefix("Bearer ").unwrap(), now()).is_ok());
    }
}
