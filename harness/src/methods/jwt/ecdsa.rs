//! ES256 signatures with special values (Project Wycheproof's
//! `SpecialCaseEs256` group, jwt_tool's "psychic signature"): r and s each
//! 0, 1, n − 1, n, n + 1, the field prime p or 2²⁵⁶ − 1, and r = s = 0 in DER.
//! None verifies under any key: a verifier that skips the range check
//! 0 < r, s < n (CVE-2022-21449) or reduces out-of-range values accepts some.
//! The header and claims are the resource's valid ones; only the signature
//! differs, so a refusal is the signature's.

use authbench_scenarios::Case;
use authbench_scenarios::case::{Credential, JwtCredential, JwtMutation, UrlSelector};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::methods::{Method, Shared, request_for};
use crate::verdict::{Verdict, is_served, observe};

/// P-256's group order n.
const N: [u8; 32] = hex32("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
/// P-256's field prime p.
const P: [u8; 32] = hex32("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        _ => c - b'a' + 10,
    }
}

const fn hex32(s: &str) -> [u8; 32] {
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// `x + d` over 32 big-endian bytes (wrapping), `d` small and signed.
fn offset(x: [u8; 32], d: i16) -> [u8; 32] {
    let mut out = x;
    let mut carry = i32::from(d);
    for byte in out.iter_mut().rev() {
        let v = i32::from(*byte) + carry;
        *byte = v.rem_euclid(256) as u8;
        carry = v.div_euclid(256);
        if carry == 0 {
            break;
        }
    }
    out
}

fn small(v: u8) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[31] = v;
    out
}

/// The signatures sent, each with a name for the report.
pub(super) fn special_signatures() -> Vec<(String, Vec<u8>)> {
    let values = [
        ("0", small(0)),
        ("1", small(1)),
        ("n-1", offset(N, -1)),
        ("n", N),
        ("n+1", offset(N, 1)),
        ("p", P),
        ("2^256-1", [0xff; 32]),
    ];
    let pairs = [
        ("0", "0"),
        ("0", "1"),
        ("1", "0"),
        ("1", "1"),
        ("0", "n"),
        ("n", "0"),
        ("n", "n"),
        ("n-1", "n-1"),
        ("1", "n-1"),
        ("n-1", "1"),
        ("n", "1"),
        ("1", "n"),
        ("n+1", "1"),
        ("p", "1"),
        ("1", "p"),
        ("2^256-1", "2^256-1"),
    ];
    let value = |name: &str| values.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    let mut out: Vec<(String, Vec<u8>)> = pairs
        .iter()
        .filter_map(|(r, s)| {
            let (rv, sv) = (value(r)?, value(s)?);
            Some((format!("r = {r}, s = {s}"), [rv, sv].concat()))
        })
        .collect();
    // jwt_tool's psychic signature: r = s = 0 as DER, which lax verifiers take too.
    out.push(("r = s = 0 in DER".to_owned(), vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]));
    out
}

pub(super) async fn es256_special_signatures(shared: &Shared, case: &Case) -> Verdict {
    let zero = Credential::Jwt(JwtCredential {
        mutation: Some(JwtMutation::EcdsaZeroSignature),
        ..Default::default()
    });
    let (base, _) =
        match request_for(shared, Method::Jwt, &zero, Some("ES256"), UrlSelector::Url, None) {
            Ok(x) => x,
            Err(v) => return v,
        };
    let expected = "every ES256 signature with special values (0, 1, n−1, n, n+1, p, 2²⁵⁶−1, DER) refused (RFC 7518 §3.4, CVE-2022-21449)".to_owned();
    if let Err(why) = shared.control(Method::Jwt, Some("ES256")).await {
        return Verdict::error(expected, format!("the positive control failed: {why}"));
    }
    let zero_sig = URL_SAFE_NO_PAD.encode([0u8; 64]);
    let Some(at) = base.headers.iter().position(|(_, v)| v.ends_with(zero_sig.as_bytes())) else {
        return Verdict::error(expected, "the forged token is not in the request's headers");
    };
    // Each probe: a request whose token's last segment is replaced.
    let mut probes: Vec<(String, &crate::client::RawRequest, Vec<u8>)> =
        special_signatures().into_iter().map(|(name, sig)| (name, &base, sig)).collect();
    // With the resource's key, a genuine signature re-encoded: a byte more
    // before or after, a byte less. Exactly 64 octets (RFC 7518 §3.4).
    let genuine = Credential::Jwt(JwtCredential::default());
    let valid = request_for(shared, Method::Jwt, &genuine, Some("ES256"), UrlSelector::Url, None);
    if let Ok((valid, _)) = &valid
        && let Some(sig) = valid.headers.get(at).and_then(|(_, v)| {
            let text = std::str::from_utf8(v).ok()?;
            URL_SAFE_NO_PAD.decode(text.rsplit('.').next()?).ok()
        })
        && sig.len() == 64
    {
        for (name, bytes) in [
            ("a genuine signature, 0x00 prepended", [&[0][..], &sig].concat()),
            ("a genuine signature, 0x00 appended", [&sig[..], &[0]].concat()),
            ("a genuine signature, its last byte dropped", sig[..63].to_vec()),
        ] {
            probes.push((name.to_owned(), valid, bytes));
        }
    }
    let mut refused = 0;
    for (name, template, signature) in probes {
        let mut request = template.clone();
        let value = &request.headers[at].1;
        let Some(dot) = value.iter().rposition(|b| *b == b'.') else {
            return Verdict::error(expected, "the forged token has no signature segment");
        };
        let mut replaced = value[..=dot].to_vec();
        replaced.extend_from_slice(URL_SAFE_NO_PAD.encode(&signature).as_bytes());
        request.headers[at].1 = replaced;
        let r = match shared.client.send(&request).await {
            Ok(r) => r,
            Err(e) => return Verdict::unanswered(&expected, &e),
        };
        if is_served(r.status) {
            return Verdict::unmet(
                case.severity,
                expected,
                format!("{name}: {}", observe(&r)),
                "the ECDSA verifier does not check 0 < r, s < n or the signature's length: tokens can be forged or altered",
            );
        }
        if r.status >= 500 {
            return Verdict::server_error(expected, format!("{name}: {}", observe(&r)), r.status);
        }
        refused += 1;
    }
    Verdict::pass(expected, format!("{refused} special signatures refused"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_special_values_are_what_their_names_say() {
        assert_eq!(offset(N, -1)[31], 0x50);
        assert_eq!(offset(N, 1)[31], 0x52);
        assert_eq!(offset([0xff; 32], 1), [0; 32]);
        let sigs = special_signatures();
        assert_eq!(sigs.len(), 17);
        assert!(sigs.iter().take(16).all(|(_, s)| s.len() == 64));
        assert_eq!(sigs[6].1, [N, N].concat());
    }
}
