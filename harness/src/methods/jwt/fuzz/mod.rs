//! JWT mutations, structure-aware: a token is kept as header and claims
//! members (duplicates allowed, in order), a signature mode, and edits of the
//! final text, so a mutation can be JSON-level (a duplicate `alg`, an `exp`
//! of 1e308), JOSE-level (`alg: none`, the public key as an HMAC secret) or
//! text-level (padding, a fourth segment, a JWE-shaped token).
//!
//! The oracle ([`acceptable`]) is an independent strict reading of RFC 7515
//! and RFC 7519: a token a correct server may accept verifies under the
//! profile's key with the expected `alg`, has no `crit`, and carries valid
//! `exp`, `nbf`, `iss`, `aud` (and scope) — read with the last duplicate
//! member winning, as both RFCs allow. Anything else accepted is a finding.

mod edit;
mod oracle;
pub mod sign;
pub mod wycheproof;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt as _;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};
use sign::Signer;

#[allow(clippy::wildcard_imports)]
use edit::*;
pub use oracle::acceptable;

/// The valid token's parts, and what the oracle checks against.
#[derive(Debug)]
pub struct Base {
    /// Header members of a valid token.
    pub header: Vec<(String, Value)>,
    /// Claims of a valid token (times relative to when it is rendered).
    pub claims: Vec<(String, Value)>,
    /// The expected `alg`.
    pub alg: &'static str,
    /// Issuer and audience the resource expects.
    pub issuer: String,
    /// See `issuer`.
    pub audience: String,
    /// A scope the resource requires.
    pub scope: Option<String>,
    /// Clock leeway, seconds.
    pub leeway: i64,
    /// The public key as PEM (key confusion), for asymmetric keys.
    pub public_pem: Option<String>,
    /// The public JWK text, for asymmetric keys.
    pub public_jwk: Option<String>,
}

/// How the token is signed.
#[derive(Debug, Clone, PartialEq)]
pub enum Sig {
    /// With the profile's key over the final signing input.
    Valid,
    /// No signature (`a.b.`).
    Empty,
    /// The signature of the unmutated token (a tampered payload).
    Original,
    /// A valid signature with one bit flipped.
    Flip(usize),
    /// HMAC-SHA256 keyed with this (key confusion).
    Hmac(HmacKey),
    /// Random bytes.
    Garbage(usize),
    /// The encoded message, which verifies under an RSA key with e = 1.
    ExponentOne,
}

/// What key confusion uses as the HMAC secret.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HmacKey {
    /// The public key's PEM text.
    PublicPem,
    /// The PEM text without its final newline.
    PublicPemTrimmed,
    /// The public JWK's text.
    PublicJwk,
    /// The empty key.
    Empty,
}

/// One mutation.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `alg` set to this value.
    SetAlg(Value),
    /// `alg: none` and no signature.
    AlgNone(&'static str),
    /// `alg: HS256` signed with public material as the secret.
    KeyConfusion(HmacKey),
    /// The signature replaced.
    Signature(Sig),
    /// A claim set (or added).
    SetClaim(String, Value),
    /// A claim duplicated with another value, before or after the original.
    DuplicateClaim(String, Value, bool),
    /// A header member duplicated with another value, before or after.
    DuplicateHeader(String, Value, bool),
    /// A claim removed.
    RemoveClaim(String),
    /// A header member added or replaced.
    SetHeader(String, Value),
    /// A header member removed.
    RemoveHeader(String),
    /// The claims replaced by this text (invalid or odd JSON).
    RawClaims(String),
    /// The header replaced by this text.
    RawHeader(String),
    /// A claim nested this deep in arrays.
    Nested(usize),
    /// A claim of this many bytes.
    Huge(usize),
    /// An edit of the final token text.
    Text(TextOp),
    /// The scheme and separator before the token.
    Scheme(&'static str),
    /// The token replaced by Wycheproof JWS vector i (signed with its own keys).
    Wycheproof(usize),
    /// Wycheproof JWK vector i's key as the header's `jwk`.
    EmbeddedJwk(usize),
    /// `alg: RS256`, Wycheproof's exponent-one key as `jwk`, and a signature
    /// that verifies under it (the encoded message): accepted only by a
    /// server that trusts keys tokens bring.
    ExponentOneJwk,
}

/// Edits of the compact serialization.
#[derive(Debug, Clone, PartialEq)]
pub enum TextOp {
    /// Only the first n segments.
    KeepSegments(usize),
    /// An extra segment appended.
    ExtraSegment(String),
    /// A JWE-shaped token (five segments) with this protected header.
    JweShaped(String),
    /// `=` padding on segment i.
    Pad(usize),
    /// The standard base64 alphabet (`+`, `/`) where the token has `-`, `_`.
    StandardAlphabet,
    /// Cut at this fraction of the length (per mille).
    Truncate(u16),
    /// Text appended.
    Append(String),
    /// Text inserted at a position (per mille).
    Insert(u16, String),
    /// Letters' case swapped.
    SwapCase,
    /// The last character of segment i changed so only unused low bits differ.
    TrailingBits(usize),
    /// Raw bytes inserted at a position (per mille): non-ASCII or control.
    Bytes(u16, Vec<u8>),
    /// The token twice, separated by a space.
    Twice,
}

/// A token being mutated.
#[derive(Debug, Clone)]
pub struct Jwt {
    header: Vec<(String, Value)>,
    claims: Vec<(String, Value)>,
    raw_header: Option<String>,
    raw_claims: Option<String>,
    sig: Sig,
    text: Vec<TextOp>,
    scheme: &'static str,
    /// A token that replaces the rendered one (a Wycheproof vector).
    replaced: Option<String>,
}

fn object_text(members: &[(String, Value)]) -> String {
    let parts: Vec<String> =
        members.iter().map(|(k, v)| format!("{}:{v}", Value::String(k.clone()))).collect();
    format!("{{{}}}", parts.join(","))
}

fn set(members: &mut Vec<(String, Value)>, name: &str, value: Value) {
    match members.iter_mut().rev().find(|(k, _)| k == name) {
        Some(m) => m.1 = value,
        None => members.push((name.to_owned(), value)),
    }
}

/// The times candidates are minted with: now, rounded down to the minute.
/// Tokens minted within a minute then share their signing inputs, so the
/// signer's memory spares most RSA signatures (a valid token still has
/// four minutes left; the edge values stay on their side of every bound).
fn minted_at() -> i64 {
    let t = now();
    t - t.rem_euclid(60)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Edge values for a claim or header member, for `name`.
fn edge_value(rng: &mut StdRng, name: &str, base: &Base) -> Value {
    let now = minted_at();
    let times = [
        json!(0),
        json!(-1),
        json!(1.5),
        json!(now - base.leeway - 60),
        json!(now - 3600),
        json!(now + base.leeway + 60),
        json!(now + 31_536_000_000_i64),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(9_007_199_254_740_993_i64),
        json!(1e308),
        json!(-1e308),
        json!(1e-7),
        json!((now + 300) as f64 + 0.5),
        json!(format!("{}", now + 300)),
        json!(null),
        json!(true),
        json!([now + 300]),
        json!({ "$date": now + 300 }),
    ];
    let strings = [
        json!(""),
        json!(base.issuer.to_uppercase()),
        json!(format!("{} ", base.issuer)),
        json!(format!("{}\u{0000}", base.audience)),
        json!(format!("{}/", base.audience)),
        json!("https://attacker.authbench.invalid"),
        json!([base.audience.clone(), "other"]),
        json!(["other"]),
        json!([]),
        json!({ "aud": base.audience }),
        json!("admin"),
        json!("read write admin"),
        json!("\u{212A}elvin"),
        json!("a".repeat(4096)),
        json!(null),
        json!(12345),
    ];
    match name {
        "exp" | "nbf" | "iat" => times[rng.random_range(0..times.len())].clone(),
        _ => strings[rng.random_range(0..strings.len())].clone(),
    }
}

const CLAIM_NAMES: [&str; 9] = ["exp", "nbf", "iat", "iss", "aud", "sub", "scope", "jti", "azp"];

const ALG_VALUES: [&str; 12] = [
    "none", "None", "NONE", "HS256", "HS512", "RS256", "ES256", "EdDSA", "PS256", "", "RS256 ",
    "hs256",
];

impl Op {
    /// A random mutation for a target whose key is asymmetric (`asymmetric`).
    pub fn random(rng: &mut StdRng, base: &Base, asymmetric: bool) -> Op {
        let claim = |rng: &mut StdRng| CLAIM_NAMES[rng.random_range(0..CLAIM_NAMES.len())];
        match rng.random_range(0..106) {
            100..=103 => Op::Wycheproof(rng.random_range(0..wycheproof::vector_count())),
            104 => Op::EmbeddedJwk(rng.random_range(0..wycheproof::data().keys.len())),
            105 => Op::ExponentOneJwk,
            0..=4 => Op::SetAlg(match rng.random_range(0..4) {
                0 => json!(null),
                1 => json!([base.alg]),
                2 => json!(0),
                _ => json!(ALG_VALUES[rng.random_range(0..ALG_VALUES.len())]),
            }),
            5..=9 => Op::AlgNone(["none", "None", "NONE", "nOnE"][rng.random_range(0..4)]),
            10..=14 if asymmetric => Op::KeyConfusion(
                [HmacKey::PublicPem, HmacKey::PublicPemTrimmed, HmacKey::PublicJwk, HmacKey::Empty]
                    [rng.random_range(0..4)],
            ),
            10..=19 => Op::Signature(match rng.random_range(0..5) {
                0 => Sig::Empty,
                1 => Sig::Original,
                2 => Sig::Flip(rng.random_range(0..512)),
                3 => Sig::Garbage(rng.random_range(0..600)),
                _ => Sig::Hmac(HmacKey::Empty),
            }),
            20..=39 => {
                let name = claim(rng);
                Op::SetClaim(name.to_owned(), edge_value(rng, name, base))
            }
            40..=47 => {
                let name = claim(rng);
                Op::DuplicateClaim(name.to_owned(), edge_value(rng, name, base), rng.random())
            }
            48..=51 => Op::DuplicateHeader(
                "alg".to_owned(),
                json!(ALG_VALUES[rng.random_range(0..ALG_VALUES.len())]),
                rng.random(),
            ),
            52..=55 => Op::RemoveClaim(claim(rng).to_owned()),
            56..=62 => {
                let (name, value) = match rng.random_range(0..10) {
                    0 => ("kid", json!("../../../../../../dev/null")),
                    1 => ("kid", json!("' OR '1'='1")),
                    2 => ("kid", json!("")),
                    3 => ("jku", json!("https://attacker.authbench.invalid/jwks.json")),
                    4 => ("x5u", json!("https://attacker.authbench.invalid/cert.pem")),
                    5 => ("crit", json!(["exp"])),
                    6 => ("b64", json!(false)),
                    7 => ("typ", json!(["JWT"])),
                    8 => ("cty", json!("JWT")),
                    _ => ("zip", json!("DEF")),
                };
                Op::SetHeader(name.to_owned(), value)
            }
            63..=64 => Op::RemoveHeader(["alg", "typ", "kid"][rng.random_range(0..3)].to_owned()),
            65..=69 => Op::RawClaims(
                [
                    "",
                    "null",
                    "[]",
                    "{",
                    "{\"exp\":1e999}",
                    "{\"exp\":NaN}",
                    "\u{feff}{}",
                    "{\"sub\":\"a\",}",
                    "{'sub':'a'}",
                    "{\"sub\":\"\\ud800\"}",
                    "{\"exp\":-0}",
                ][rng.random_range(0..11)]
                    .to_owned(),
            ),
            70..=72 => Op::RawHeader(
                [
                    "",
                    "{}",
                    "{\"alg\":\"none\"",
                    "{\"ALG\":\"none\"}",
                    "{\"alg\":\"none\",\"alg\":\"RS256\"}",
                    "[\"alg\"]",
                ][rng.random_range(0..6)]
                    .to_owned(),
            ),
            73..=74 => Op::Nested([16, 256, 4096, 100_000][rng.random_range(0..4)]),
            75..=76 => Op::Huge([1024, 16_384, 65_536, 200_000][rng.random_range(0..4)]),
            77..=94 => Op::Text(match rng.random_range(0..12) {
                0 => TextOp::KeepSegments(rng.random_range(0..3)),
                1 => TextOp::ExtraSegment(["", "e30", "AAAA"][rng.random_range(0..3)].to_owned()),
                2 => TextOp::JweShaped(
                    [
                        r#"{"alg":"RSA-OAEP-256","enc":"A256GCM"}"#,
                        r#"{"alg":"dir","enc":"A128CBC-HS256"}"#,
                        r#"{"alg":"PBES2-HS256+A128KW","enc":"A128GCM","p2s":"AAAAAAAAAAA","p2c":2147483647}"#,
                        r#"{"alg":"ECDH-ES","enc":"A256GCM","epk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}}"#,
                    ][rng.random_range(0..4)]
                        .to_owned(),
                ),
                3 => TextOp::Pad(rng.random_range(0..3)),
                4 => TextOp::StandardAlphabet,
                5 => TextOp::Truncate(rng.random_range(0..1000)),
                6 => TextOp::Append([".", "=", " ", "x", "\t"][rng.random_range(0..5)].to_owned()),
                7 => TextOp::Insert(
                    rng.random_range(0..1000),
                    [" ", ".", "%2E", "=", "+", "/", "\\"][rng.random_range(0..7)].to_owned(),
                ),
                8 => TextOp::SwapCase,
                9 => TextOp::TrailingBits(rng.random_range(0..3)),
                10 => TextOp::Bytes(
                    rng.random_range(0..1000),
                    [vec![0u8], vec![0x7f], vec![0xff], vec![0xc3, 0x28], vec![0x01]]
                        [rng.random_range(0..5)]
                        .clone(),
                ),
                _ => TextOp::Twice,
            }),
            _ => Op::Scheme(
                ["bearer ", "BEARER ", "Bearer  ", "Bearer\t", "", "Basic ", "Token ", "DPoP "]
                    [rng.random_range(0..8)],
            ),
        }
    }

    /// A short name for reports.
    pub fn name(&self) -> String {
        match self {
            Op::SetAlg(v) => format!("alg={v}"),
            Op::AlgNone(s) => format!("alg-none({s})"),
            Op::KeyConfusion(k) => format!("key-confusion({k:?})"),
            Op::Signature(s) => format!("signature({s:?})"),
            Op::SetClaim(n, v) => format!("claim {n}={}", short(v)),
            Op::DuplicateClaim(n, v, first) => {
                format!(
                    "duplicate claim {n}={} {}",
                    short(v),
                    if *first { "first" } else { "last" }
                )
            }
            Op::DuplicateHeader(n, v, first) => {
                format!("duplicate header {n}={v} {}", if *first { "first" } else { "last" })
            }
            Op::RemoveClaim(n) => format!("no {n}"),
            Op::SetHeader(n, v) => format!("header {n}={}", short(v)),
            Op::RemoveHeader(n) => format!("no header {n}"),
            Op::RawClaims(t) => format!("claims text {}", short(&json!(t))),
            Op::RawHeader(t) => format!("header text {}", short(&json!(t))),
            Op::Nested(d) => format!("nested {d}"),
            Op::Huge(n) => format!("claim of {n} bytes"),
            Op::Text(t) => format!("{t:?}"),
            Op::Scheme(s) => format!("scheme {s:?}"),
            Op::Wycheproof(i) => wycheproof::vectors().nth(*i).map_or_else(
                || format!("wycheproof #{i}"),
                |v| format!("wycheproof tcId {} ({})", v.id, v.comment),
            ),
            Op::EmbeddedJwk(i) => wycheproof::data().keys.get(*i).map_or_else(
                || format!("embedded jwk #{i}"),
                |k| format!("embedded jwk: {}", k.comment),
            ),
            Op::ExponentOneJwk => "embedded jwk with e = 1, signature = encoded message".to_owned(),
        }
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 40 { format!("{}…", &s[..s.floor_char_boundary(40)]) } else { s }
}
