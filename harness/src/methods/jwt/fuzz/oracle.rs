//! The oracle: which mutated tokens a correct verifier may accept.

#[allow(clippy::wildcard_imports)]
use super::*;

/// Whether a correct resource server may accept `value` (the Authorization
/// header's bytes), at time `now`; `None` when it is too close to a time
/// boundary to judge.
pub fn acceptable(value: &[u8], base: &Base, signer: &Signer, now: i64) -> Option<bool> {
    let Ok(value) = std::str::from_utf8(value) else { return Some(false) };
    // OWS around the field value is not part of it (RFC 9110 §5.5).
    let value = value.trim_matches([' ', '\t']);
    let Some((scheme, token)) = value.split_once(' ') else { return Some(false) };
    // The scheme is case-insensitive, followed by one or more spaces (RFC 9110 §11.4).
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Some(false);
    }
    let token = token.trim_start_matches(' ');
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, s] = parts[..] else { return Some(false) };
    let strict = |seg: &str| -> Option<Vec<u8>> {
        if seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            URL_SAFE_NO_PAD.decode(seg).ok()
        } else {
            None
        }
    };
    let (Some(hb), Some(pb), Some(sig)) = (strict(h), strict(p), strict(s)) else {
        return Some(false);
    };
    // Unknown header parameters are ignored (RFC 7515 §4): `zip` is JWE's,
    // `b64` means something only when listed in `crit`, which is refused.
    let Some(header) = members(&hb) else { return Some(false) };
    if header.get("alg").and_then(Value::as_str) != Some(base.alg) || header.contains_key("crit") {
        return Some(false);
    }
    if !signer.verify(format!("{h}.{p}").as_bytes(), &sig) {
        return Some(false);
    }
    let Some(claims) = members(&pb) else { return Some(false) };
    const MARGIN: f64 = 3.0;
    let (now, leeway) = (now as f64, base.leeway as f64);
    let Some(exp) = claims.get("exp").and_then(Value::as_f64) else { return Some(false) };
    if (exp - (now - leeway)).abs() < MARGIN {
        return None;
    }
    if exp <= now - leeway {
        return Some(false);
    }
    if let Some(nbf) = claims.get("nbf") {
        let Some(nbf) = nbf.as_f64() else { return Some(false) };
        if (nbf - (now + leeway)).abs() < MARGIN {
            return None;
        }
        if nbf > now + leeway {
            return Some(false);
        }
    }
    if let Some(iat) = claims.get("iat")
        && !iat.is_number()
    {
        return Some(false);
    }
    if claims.get("iss").and_then(Value::as_str) != Some(base.issuer.as_str()) {
        return Some(false);
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == &base.audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&base.audience)),
        _ => false,
    };
    if !aud_ok {
        return Some(false);
    }
    if let Some(required) = &base.scope {
        let has = claims
            .get("scope")
            .and_then(Value::as_str)
            .is_some_and(|s| s.split(' ').any(|x| x == required));
        if !has {
            return Some(false);
        }
    }
    Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    use jsonwebtoken::Algorithm;

    fn base() -> (Base, Signer) {
        let key = crate::profile::SigningKey {
            algorithm: Algorithm::HS256,
            encoding: jsonwebtoken::EncodingKey::from_secret(b"secret").unwrap(),
            material: b"secret".to_vec(),
            public_pem: None,
        };
        let base = Base {
            header: vec![("alg".into(), json!("HS256")), ("typ".into(), json!("at+jwt"))],
            claims: vec![
                ("iss".into(), json!("https://issuer")),
                ("aud".into(), json!("api")),
                ("sub".into(), json!("alice")),
            ],
            alg: "HS256",
            issuer: "https://issuer".into(),
            audience: "api".into(),
            scope: None,
            leeway: 30,
            public_pem: None,
            public_jwk: None,
        };
        (base, Signer::new(&key).unwrap())
    }

    fn judge(ops: &[Op]) -> Option<bool> {
        let (base, signer) = base();
        let mut t = Jwt::valid(&base);
        for op in ops {
            t.apply(op);
        }
        acceptable(&t.render(&base, &signer), &base, &signer, now())
    }

    #[test]
    fn the_valid_token_is_acceptable_and_each_attack_is_not() {
        assert_eq!(judge(&[]), Some(true));
        assert_eq!(judge(&[Op::Scheme("bearer  ")]), Some(true));
        assert_eq!(judge(&[Op::AlgNone("none")]), Some(false));
        assert_eq!(judge(&[Op::Signature(Sig::Flip(3))]), Some(false));
        assert_eq!(
            judge(&[Op::SetClaim("sub".into(), json!("admin")), Op::Signature(Sig::Original)]),
            Some(false)
        );
        assert_eq!(judge(&[Op::SetClaim("exp".into(), json!(now() - 3600))]), Some(false));
        assert_eq!(judge(&[Op::SetClaim("exp".into(), json!("99999999999"))]), Some(false));
        assert_eq!(judge(&[Op::SetHeader("crit".into(), json!(["exp"]))]), Some(false));
        assert_eq!(judge(&[Op::Text(TextOp::Append("=".into()))]), Some(false));
        assert!(!judge(&[Op::Text(TextOp::TrailingBits(2))]).unwrap_or(false));
        assert_eq!(judge(&[Op::Text(TextOp::KeepSegments(2))]), Some(false));
    }

    #[test]
    fn the_last_duplicate_wins() {
        // A valid exp after an expired one: last wins, so acceptable.
        let expired = json!(now() - 3600);
        assert_eq!(judge(&[Op::DuplicateClaim("exp".into(), expired.clone(), true)]), Some(true));
        // An expired exp last: not acceptable, whatever came first.
        assert_eq!(judge(&[Op::DuplicateClaim("exp".into(), expired, false)]), Some(false));
        assert_eq!(judge(&[Op::DuplicateHeader("alg".into(), json!("none"), false)]), Some(false));
    }

    #[test]
    fn a_fractional_exp_is_a_numeric_date() {
        assert_eq!(judge(&[Op::SetClaim("exp".into(), json!(now() as f64 + 300.5))]), Some(true));
    }

    #[test]
    fn trailing_bits_change_only_unused_bits() {
        let s = URL_SAFE_NO_PAD.encode(b"ab");
        let flipped = flip_trailing_bits(&s);
        assert_ne!(s, flipped);
        let lenient = base64::engine::GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_allow_trailing_bits(true)
                .with_encode_padding(false)
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        assert_eq!(lenient.decode(&flipped).unwrap(), b"ab");
    }
}
