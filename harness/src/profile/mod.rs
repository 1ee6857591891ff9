//! Reading target profiles: errors that name the file, line and field
//! ([`ProfileError`], [`Ctx`]), and what several methods' sections read the
//! same way (keys, certificate files, JWS algorithm names, header-safe values,
//! declared throttling). Each method's section is its own
//! (`methods/<method>/profile.rs`); the whole profile is `methods::Target`.

mod ctx;

use jsonwebtoken::{Algorithm, EncodingKey};
use toml::Spanned;

pub(crate) use ctx::Ctx;

/// A profile mistake: where and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{location}: {message}")]
pub struct ProfileError {
    /// The profile file.
    pub file: String,
    /// `:line: field` or empty.
    pub location: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// The most failures a `throttle_after` may declare: the throttling cases
/// send one more than it, so it bounds their run time.
pub const MAX_THROTTLE_AFTER: u32 = 10_000;

/// A declared throttling threshold, 1 to [`MAX_THROTTLE_AFTER`].
pub(crate) fn throttle(
    ctx: &Ctx<'_>,
    value: Option<Spanned<u32>>,
    field: &str,
) -> Result<Option<u32>, ProfileError> {
    match value {
        None => Ok(None),
        Some(v) if (1..=MAX_THROTTLE_AFTER).contains(v.get_ref()) => Ok(Some(v.into_inner())),
        Some(v) => Err(ctx.err(
            v.span().start,
            field,
            format!(
                "{} is out of range: give how many failures the target allows before it answers 429, 1 to {MAX_THROTTLE_AFTER}",
                v.get_ref()
            ),
        )),
    }
}

/// Whether `value` can be sent in a header as written: a field name or auth
/// scheme must be an RFC 9110 token; a value must hold no control character.
pub(crate) fn wire_safe(value: &str, token: bool) -> Result<(), String> {
    if value.is_empty() {
        return Err("is empty".to_owned());
    }
    if token {
        let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if let Some(c) = value.chars().find(|c| !tchar(*c)) {
            return Err(format!(
                "{c:?} cannot appear in a header name or scheme (RFC 9110 §5.6.2 token)"
            ));
        }
    } else if value.chars().any(|c| c.is_control()) {
        return Err(
            "holds a control character (CR, LF, NUL…), which cannot be sent in a header".to_owned()
        );
    }
    Ok(())
}

/// A signing key from the profile.
#[derive(Clone)]
pub struct SigningKey {
    /// Its algorithm.
    pub algorithm: Algorithm,
    /// For jsonwebtoken.
    pub encoding: EncodingKey,
    /// The key file's text (PEM, or the HMAC secret's bytes).
    pub material: Vec<u8>,
    /// The public key as SPKI PEM, for asymmetric keys.
    pub public_pem: Option<String>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

/// The JWS algorithms a profile may name, by their `alg` (RFC 7518 §3.1,
/// RFC 8037 §3.1).
const ALGORITHMS: [(&str, Algorithm); 12] = [
    ("HS256", Algorithm::HS256),
    ("HS384", Algorithm::HS384),
    ("HS512", Algorithm::HS512),
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("EdDSA", Algorithm::EdDSA),
];

/// The algorithm whose `alg` is `name`.
pub fn algorithm(name: &str) -> Option<Algorithm> {
    ALGORITHMS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

/// The `alg` of `algorithm`.
pub fn alg_name(algorithm: Algorithm) -> &'static str {
    ALGORITHMS.iter().find(|(_, a)| *a == algorithm).map_or("unsupported", |(n, _)| n)
}

/// The public key (SPKI PEM) of a private key in PEM, when rcgen reads it.
pub fn public_pem(private_pem: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(private_pem).ok()?;
    rcgen::KeyPair::from_pem(text).ok().map(|k| k.public_key_pem())
}

/// A certificate chain and key from the profile, as PEM.
#[derive(Debug, Clone)]
pub struct CertificateFiles {
    /// The chain, leaf first.
    pub chain_pem: Vec<u8>,
    /// The private key.
    pub key_pem: Vec<u8>,
}

/// Whether `text` matches `pattern`, where `*` is any run of characters and `?` one.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}
