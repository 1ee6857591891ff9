//! Unit tests of the parent module.

use super::*;

#[test]
fn members_borrow_refuse_duplicates_and_unescape() {
    let m = Members::parse(br#"{"alg":"HS256","k\u0069d":"a\"b","n":1}"#).unwrap();
    assert!(matches!(m.string("alg"), Some(Ok(Cow::Borrowed("HS256")))));
    // An escaped name is the same member as its plain spelling.
    assert_eq!(m.string("kid").unwrap().unwrap(), "a\"b");
    assert_eq!(m.string("n"), Some(Err(())));
    assert!(m.raw("absent").is_none());
    assert_eq!(Members::parse(br#"{"sub":"a","s\u0075b":"b"}"#).err(), Some(TokenError::Malformed));
    let many: String = (0..40).map(|i| format!("\"m{i}\":{i},")).collect();
    assert!(Members::parse(format!("{{{many}\"last\":0}}").as_bytes()).is_ok());
    assert!(Members::parse(format!("{{{many}\"m7\":0}}").as_bytes()).is_err());
    assert!(Members::parse(b"[1,2]").is_err());
}

fn hs256_verifier(flaws: VerifierFlaws) -> Verifier {
    let settings = VerifierSettings {
        issuer: "https://issuer".into(),
        audience: "api".into(),
        leeway_secs: 0,
        max_lifetime_secs: 3600,
        flaws,
    };
    Verifier::new(Algorithm::HS256, &DecodingKey::from_secret(b"k").unwrap(), "k1".into(), settings)
        .unwrap()
}

fn encode(json: &str) -> String {
    URL_SAFE_NO_PAD.encode(json)
}

fn signed(header: &str, claims: &str) -> String {
    let input = format!("{}.{}", encode(header), encode(claims));
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, b"k"), input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

#[test]
fn the_remembered_header_skips_parsing_but_not_the_signature() {
    let header = r#"{"alg":"HS256","typ":"at+jwt","kid":"k1"}"#;
    let claims = r#"{"iss":"https://issuer","aud":"api","sub":"a","iat":10,"exp":20}"#;
    let mut verifier = hs256_verifier(VerifierFlaws::default());
    // Headers that fail a check, or name another key or algorithm, are not remembered.
    for bad in [
        r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"k2"}"#,
        r#"{"alg":"RS256","typ":"at+jwt","kid":"k1"}"#,
        r#"{"alg":"none","typ":"at+jwt"}"#,
        r#"{"alg":"HS256","typ":"at+jwt","crit":["b64"]}"#,
    ] {
        assert!(!verifier.remember_header(&encode(bad)), "{bad}");
    }
    assert!(verifier.remember_header(&encode(header)));
    let token = signed(header, claims);
    assert_eq!(verifier.verify(&token, 15).unwrap().subject, "a");
    // Same header bytes, wrong signature: still refused.
    let forged = format!("{}A", &token[..token.len() - 1]);
    assert_eq!(verifier.verify(&forged, 15), Err(TokenError::Signature));
    let unsigned = format!("{}.", &token[..token.rfind('.').unwrap()]);
    assert_eq!(verifier.verify(&unsigned, 15), Err(TokenError::Signature));
    // Claims are still checked.
    assert_eq!(verifier.verify(&token, 25), Err(TokenError::Expired));
    // Another header takes the full path with its own checks.
    let other = signed(r#"{"typ":"at+jwt","alg":"HS256"}"#, claims);
    assert!(verifier.verify(&other, 15).is_ok());
    let wrong_kid = signed(r#"{"alg":"HS256","typ":"at+jwt","kid":"k2"}"#, claims);
    assert_eq!(verifier.verify(&wrong_kid, 15), Err(TokenError::UnknownKey));
    // The skip-signature flaw applies on the fast path too.
    let mut flawed = hs256_verifier(VerifierFlaws { skip_signature: true, ..Default::default() });
    assert!(flawed.remember_header(&encode(header)));
    assert!(flawed.verify(&forged, 15).is_ok());
}

#[test]
fn extreme_dates_are_refused_without_overflow() {
    // Found by `authbench fuzz`: exp = i64::MAX overflowed `exp + leeway`.
    let header = r#"{"alg":"HS256","typ":"at+jwt","kid":"k1"}"#;
    let verifier = hs256_verifier(VerifierFlaws::default());
    let with = |iat: i64, exp: i64, nbf: i64| {
        let claims = format!(
            r#"{{"iss":"https://issuer","aud":"api","sub":"a","iat":{iat},"exp":{exp},"nbf":{nbf}}}"#
        );
        verifier.verify(&signed(header, &claims), 15)
    };
    assert_eq!(with(10, i64::MAX, 10), Err(TokenError::LifetimeTooLong));
    assert_eq!(with(i64::MIN, 20, 10), Err(TokenError::LifetimeTooLong));
    assert_eq!(with(i64::MAX, 20, 10), Err(TokenError::IssuedInFuture));
    assert_eq!(with(10, i64::MIN, 10), Err(TokenError::Expired));
    assert_eq!(with(10, 20, i64::MAX), Err(TokenError::NotYetValid));
    assert!(with(10, 20, i64::MIN).is_ok());
}

#[test]
fn audiences_are_one_string_or_an_array_of_strings() {
    let m = Members::parse(br#"{"a":"x","b":["x","y"],"c":["x",1],"d":5}"#).unwrap();
    assert!(matches!(audience(m.raw("a").unwrap()), Audience::One(a) if a == "x"));
    assert!(matches!(audience(m.raw("b").unwrap()), Audience::Many(v) if v.len() == 2));
    assert!(matches!(audience(m.raw("c").unwrap()), Audience::Invalid));
    assert!(matches!(audience(m.raw("d").unwrap()), Audience::Invalid));
}
