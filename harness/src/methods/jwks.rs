//! A published JSON Web Key Set, audited for what no verifier should be
//! offered — the black-box side of Project Wycheproof's JWK vectors, which
//! test a library's import of exactly these keys:
//! - secret material: a symmetric (`oct`) key or private members (OpenID
//!   Connect Discovery 1.0 §3: the set MUST NOT contain them);
//! - malformed keys: members contradicting `kty`, `crv` or `alg`, coordinates
//!   not of full size or not on the curve, RSA integers with leading zero
//!   octets, unregistered or `none` algorithms, unknown `use` (RFC 7517 §4,
//!   RFC 7518 §6, RFC 8037 §2);
//! - weak keys: RSA under 2048 bits (RFC 7518 §3.3), a public exponent of 1
//!   or an even one, moduli with the ROCA fingerprint (CVE-2017-15361);
//! - one `kid` for two keys of one type (RFC 7517 §4.5).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use url::Url;

use crate::client::RawRequest;
use crate::methods::Shared;
use crate::verdict::{Verdict, observe};

/// What a case audits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audit {
    /// No symmetric key, no private member.
    Secrets,
    /// Every key well-formed and consistent.
    Form,
    /// Every key strong enough.
    Strength,
    /// Distinct `kid`s within a key type.
    UniqueKids,
}

const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/// JWS and JWE algorithm names (RFC 7518 §3.1, §4.1; RFC 8037; RFC 9864),
/// with the key type and curve each needs.
const ALGORITHMS: &[(&str, &str, Option<&str>)] = &[
    ("HS256", "oct", None),
    ("HS384", "oct", None),
    ("HS512", "oct", None),
    ("RS256", "RSA", None),
    ("RS384", "RSA", None),
    ("RS512", "RSA", None),
    ("PS256", "RSA", None),
    ("PS384", "RSA", None),
    ("PS512", "RSA", None),
    ("ES256", "EC", Some("P-256")),
    ("ES384", "EC", Some("P-384")),
    ("ES512", "EC", Some("P-521")),
    ("EdDSA", "OKP", None),
    ("Ed25519", "OKP", Some("Ed25519")),
    ("Ed448", "OKP", Some("Ed448")),
    ("RSA1_5", "RSA", None),
    ("RSA-OAEP", "RSA", None),
    ("RSA-OAEP-256", "RSA", None),
    // Key agreement takes an EC key or an X25519/X448 one (RFC 8037 §3.2).
    ("ECDH-ES", "EC|OKP", None),
    ("ECDH-ES+A128KW", "EC|OKP", None),
    ("ECDH-ES+A192KW", "EC|OKP", None),
    ("ECDH-ES+A256KW", "EC|OKP", None),
    ("A128KW", "oct", None),
    ("A192KW", "oct", None),
    ("A256KW", "oct", None),
    ("A128GCMKW", "oct", None),
    ("A192GCMKW", "oct", None),
    ("A256GCMKW", "oct", None),
    ("dir", "oct", None),
];

/// The key set at `url`: its `keys`, or an error verdict.
pub async fn fetch(shared: &Shared, url: &Url) -> Result<Vec<Value>, Verdict> {
    let expected = "a JWK Set (RFC 7517 §5)";
    let r = shared
        .client
        .send(&RawRequest::get(url.clone()))
        .await
        .map_err(|e| Verdict::unanswered(expected, &e))?;
    if r.status != 200 {
        return Err(Verdict::error(expected, format!("{url} answered {}", observe(&r))));
    }
    r.json()
        .and_then(|j| j.get("keys").and_then(Value::as_array).cloned())
        .ok_or_else(|| Verdict::error(expected, format!("{url}: no `keys` array")))
}

fn label(key: &Value, i: usize) -> String {
    match key.get("kid").and_then(Value::as_str) {
        Some(kid) => format!("key `{kid}`"),
        None => format!("key #{}", i + 1),
    }
}

fn bytes(key: &Value, member: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(key.get(member)?.as_str()?).ok()
}

/// What is wrong with the set, for `audit`, one line each.
pub fn problems(audit: Audit, keys: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let at = label(key, i);
        let kty = key.get("kty").and_then(Value::as_str).unwrap_or("");
        match audit {
            Audit::Secrets => {
                if kty == "oct" {
                    out.push(format!("{at}: a symmetric (oct) key, its secret in `k`"));
                }
                for m in PRIVATE_MEMBERS.iter().filter(|m| key.get(**m).is_some()) {
                    out.push(format!("{at}: private member `{m}`"));
                }
            }
            Audit::Form => out.extend(form(key, kty).into_iter().map(|p| format!("{at}: {p}"))),
            Audit::Strength => {
                out.extend(strength(key, kty).into_iter().map(|p| format!("{at}: {p}")));
            }
            Audit::UniqueKids => {
                let kid = key.get("kid").and_then(Value::as_str);
                let first = keys.iter().position(|k| {
                    k.get("kid").and_then(Value::as_str) == kid
                        && k.get("kty").and_then(Value::as_str) == Some(kty)
                });
                if kid.is_some() && first.is_some_and(|f| f < i) {
                    out.push(format!("{at}: the kid of an earlier {kty} key too"));
                }
            }
        }
    }
    out
}

fn form(key: &Value, kty: &str) -> Vec<String> {
    let mut out = Vec::new();
    let crv = key.get("crv").and_then(Value::as_str);
    match kty {
        "RSA" => {
            for m in ["n", "e"] {
                match bytes(key, m) {
                    None => out.push(format!("RSA `{m}` missing or not base64url")),
                    Some(b) if b.len() > 1 && b[0] == 0 => {
                        out.push(format!("RSA `{m}` has a leading zero octet (RFC 7518 §6.3.1)"));
                    }
                    Some(_) => {}
                }
            }
        }
        "EC" => {
            let size = match crv {
                Some("P-256") => 32,
                Some("P-384") => 48,
                Some("P-521") => 66,
                other => {
                    out.push(format!("EC curve {other:?} is not P-256, P-384 or P-521"));
                    0
                }
            };
            let (x, y) = (bytes(key, "x"), bytes(key, "y"));
            match (&x, &y) {
                (Some(x), Some(y)) if size > 0 && (x.len() != size || y.len() != size) => {
                    out.push(format!(
                        "coordinates of {} and {} octets, not {size} for {} (RFC 7518 §6.2.1)",
                        x.len(),
                        y.len(),
                        crv.unwrap_or("")
                    ));
                }
                (Some(x), Some(y)) if size > 0 && !on_curve(crv.unwrap_or(""), x, y) => {
                    out.push(format!("the point is not on {}", crv.unwrap_or("")));
                }
                (Some(_), Some(_)) => {}
                _ => out.push("EC `x` or `y` missing or not base64url".to_owned()),
            }
        }
        "OKP" => match (crv, bytes(key, "x").map(|x| x.len())) {
            (Some("Ed25519"), Some(32)) | (Some("Ed448"), Some(57)) => {}
            (Some("X25519"), Some(32)) | (Some("X448"), Some(56)) => {}
            other => {
                out.push(format!("OKP curve and `x` length {other:?} do not match (RFC 8037 §2)"))
            }
        },
        "oct" => {
            if bytes(key, "k").is_none() {
                out.push("oct `k` missing or not base64url".to_owned());
            }
        }
        other => out.push(format!("kty {other:?} is not RSA, EC, OKP or oct")),
    }
    if let Some(alg) = key.get("alg").and_then(Value::as_str) {
        match ALGORITHMS.iter().find(|(name, _, _)| *name == alg) {
            None => out.push(format!("alg `{alg}` is not a registered signature or key algorithm")),
            Some((_, need_kty, _)) if !need_kty.split('|').any(|k| k == kty) => {
                out.push(format!("alg `{alg}` needs an {need_kty} key, not {kty}"));
            }
            Some((_, _, Some(need_crv))) if kty == "EC" && crv != Some(*need_crv) => {
                out.push(format!("alg `{alg}` needs curve {need_crv}, not {crv:?}"));
            }
            Some(_) => {}
        }
    }
    match key.get("use").and_then(Value::as_str) {
        None | Some("sig" | "enc") => {}
        Some(other) => out.push(format!("use `{other}` is neither sig nor enc")),
    }
    out
}

/// Whether (x, y) is a point of `crv` (aws-lc parses and validates it).
fn on_curve(crv: &str, x: &[u8], y: &[u8]) -> bool {
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ECDSA_P521_SHA512_FIXED, ParsedPublicKey,
    };
    let point = [&[4u8][..], x, y].concat();
    let algorithm = match crv {
        "P-256" => &ECDSA_P256_SHA256_FIXED,
        "P-384" => &ECDSA_P384_SHA384_FIXED,
        "P-521" => &ECDSA_P521_SHA512_FIXED,
        _ => return false,
    };
    ParsedPublicKey::new(algorithm, point).is_ok()
}

fn strength(key: &Value, kty: &str) -> Vec<String> {
    let mut out = Vec::new();
    if kty != "RSA" {
        return out;
    }
    let (Some(n), Some(e)) = (bytes(key, "n"), bytes(key, "e")) else { return out };
    let n: Vec<u8> = n.into_iter().skip_while(|b| *b == 0).collect();
    let bits = n.first().map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
    if bits < 2048 {
        out.push(format!("a {bits}-bit RSA modulus (RFC 7518 §3.3: 2048 or more)"));
    }
    let e_last = e.last().copied().unwrap_or(0);
    if e.iter().rev().skip(1).all(|b| *b == 0) && e_last <= 1 {
        out.push(format!("public exponent {e_last}: every signature verifies as itself"));
    } else if e_last % 2 == 0 {
        out.push("an even public exponent: not an RSA key".to_owned());
    }
    if roca(&n) {
        out.push("the modulus has the ROCA fingerprint (CVE-2017-15361): factorable".to_owned());
    }
    out
}

/// The primes of the ROCA primorial, 2 left out (any odd modulus passes it).
const ROCA_PRIMES: [u64; 38] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
];

/// Whether modulus `n` has the ROCA fingerprint: keys from the flawed
/// generator are `k·M + (65537^a mod M)`, so `n mod p` lies in the subgroup
/// 65537 generates modulo every prime `p` of the primorial `M`. A random
/// modulus does so for all 38 primes with negligible probability.
pub fn roca(n: &[u8]) -> bool {
    ROCA_PRIMES.iter().all(|&p| {
        let residue = n.iter().fold(0u64, |acc, b| (acc * 256 + u64::from(*b)) % p);
        let generator = 65537 % p;
        let mut x = 1u64;
        for _ in 0..p {
            if x == residue {
                return true;
            }
            x = x * generator % p;
        }
        false
    })
}

/// The verdict of `audit` on the set at `url`.
pub async fn judge(
    shared: &Shared,
    url: &Url,
    audit: Audit,
    severity: authbench_scenarios::Severity,
) -> Verdict {
    let keys = match fetch(shared, url).await {
        Ok(k) => k,
        Err(v) => return v,
    };
    let (expected, why) = match audit {
        Audit::Secrets => (
            "no symmetric key and no private member in the published key set (OpenID Connect Discovery 1.0 §3)",
            "anyone who reads the key set can sign tokens the resource accepts",
        ),
        Audit::Form => (
            "every published key well-formed: members, curve, sizes and alg consistent (RFC 7517 §4, RFC 7518 §6)",
            "a verifier importing the set either refuses it or uses a key for what it is not",
        ),
        Audit::Strength => (
            "every published RSA key of 2048 bits or more, a proper exponent, no ROCA modulus (RFC 7518 §3.3)",
            "a key an attacker can factor or bypass signs tokens for them",
        ),
        Audit::UniqueKids => (
            "distinct kids for keys of one type (RFC 7517 §4.5)",
            "a kid that names two keys lets a verifier pick the wrong one",
        ),
    };
    let found = problems(audit, &keys);
    if found.is_empty() {
        Verdict::pass(expected.to_owned(), format!("{} keys at {url}", keys.len()))
    } else {
        Verdict::unmet(severity, expected.to_owned(), found.join("; "), why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wycheproof_keys() -> Vec<(String, Value)> {
        let data: Value =
            serde_json::from_str(include_str!("../../../scenarios/fuzz/wycheproof_jose.json"))
                .unwrap_or_else(|e| panic!("{e}"));
        data["keys"]
            .as_array()
            .unwrap_or_else(|| panic!("no keys"))
            .iter()
            .map(|k| (k["comment"].as_str().unwrap_or("").to_owned(), k["jwk"].clone()))
            .collect()
    }

    fn key(prefix: &str) -> Value {
        wycheproof_keys()
            .into_iter()
            .find(|(c, _)| c.starts_with(prefix))
            .unwrap_or_else(|| panic!("no Wycheproof key {prefix}"))
            .1
    }

    #[test]
    fn wycheproofs_weak_keys_are_found() {
        let roca = problems(Audit::Strength, &[key("jws_rsa_roca_key")]);
        assert!(roca.iter().any(|p| p.contains("ROCA")), "{roca:?}");
        let small = problems(Audit::Strength, &[key("keysize_too_small")]);
        assert!(small.iter().any(|p| p.contains("1024-bit")), "{small:?}");
        let one = problems(Audit::Strength, &[key("exponentOne")]);
        assert!(one.iter().any(|p| p.contains("exponent 1")), "{one:?}");
        let oct = problems(Audit::Secrets, &[key("jws_mixedSymmetryKeyset")]);
        assert!(oct.iter().any(|p| p.contains("symmetric")), "{oct:?}");
    }

    #[test]
    fn sound_keys_pass_and_malformed_ones_do_not() {
        // A fresh P-256 key and the 2048-bit exponent-one key's modulus with e = 65537.
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .unwrap_or_else(|e| panic!("{e}"));
        let point = pair.public_key_raw().to_vec();
        let (x, y) = (URL_SAFE_NO_PAD.encode(&point[1..33]), URL_SAFE_NO_PAD.encode(&point[33..]));
        let ec = serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "alg": "ES256", "kid": "a", "use": "sig"});
        let mut rsa = key("exponentOne");
        rsa["e"] = Value::String("AQAB".to_owned());
        rsa["kid"] = Value::String("b".to_owned());
        let good = [ec.clone(), rsa];
        for audit in [Audit::Secrets, Audit::Form, Audit::Strength, Audit::UniqueKids] {
            assert!(problems(audit, &good).is_empty(), "{audit:?}: {:?}", problems(audit, &good));
        }
        let mut wrong_curve = ec.clone();
        wrong_curve["crv"] = Value::String("P-384".to_owned());
        assert!(!problems(Audit::Form, &[wrong_curve]).is_empty());
        let mut off_curve = ec.clone();
        off_curve["y"] = Value::String(URL_SAFE_NO_PAD.encode([7u8; 32]));
        assert!(problems(Audit::Form, &[off_curve])[0].contains("not on"));
        let mut bad_alg = ec.clone();
        bad_alg["alg"] = Value::String("ES224".to_owned());
        assert!(!problems(Audit::Form, &[bad_alg]).is_empty());
        assert_eq!(problems(Audit::UniqueKids, &[ec.clone(), ec]).len(), 1);
        // An X25519 key for ECDH-ES is a legal member of a set (RFC 8037).
        let x25519 = serde_json::json!({"kty": "OKP", "crv": "X25519", "x": URL_SAFE_NO_PAD.encode([9u8; 32]), "alg": "ECDH-ES", "use": "enc"});
        assert!(problems(Audit::Form, &[x25519]).is_empty());
    }
}
