//! Fuzzing API keys: mutations of the key and where it goes, and the oracle.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngExt as _;
use rand::rngs::StdRng;

use crate::methods::forge::pick;

/// An API key mutation.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyOp {
    /// The key replaced by a variant of itself.
    Key(KeyVariant),
    /// The scheme before the key (Authorization only).
    Scheme(&'static str),
    /// Bytes inserted at a position (per mille).
    Bytes(u16, Vec<u8>),
}

/// Variants of the valid key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KeyVariant {
    /// `sk_live_` ↔ `sk_test_`.
    OtherMode,
    /// The prefix removed.
    NoPrefix,
    /// The last character dropped.
    Truncated,
    /// A character appended.
    Longer,
    /// Letters' case swapped.
    SwapCase,
    /// The last character replaced.
    LastChanged,
    /// Percent-encoded.
    PercentEncoded,
    /// Base64 of the key.
    Base64,
    /// The key twice.
    Twice,
    /// Empty.
    Empty,
    /// 64 KiB of key-looking characters.
    Huge,
    /// The profile's revoked key.
    Revoked,
    /// Surrounding whitespace (equivalent: it is not part of a field value).
    Padded,
}

/// An API key request being mutated.
#[derive(Debug, Clone)]
pub struct ApiKey {
    key: String,
    scheme: String,
    inserted: Option<(u16, Vec<u8>)>,
}

impl ApiKey {
    /// The valid key, with the profile's scheme (`Bearer ` or none).
    pub fn valid(key: &str, scheme: Option<&str>) -> ApiKey {
        ApiKey {
            key: key.to_owned(),
            scheme: scheme.map(|s| format!("{s} ")).unwrap_or_default(),
            inserted: None,
        }
    }

    /// Applies `op`; `revoked` is the profile's revoked key, if any.
    pub fn apply(&mut self, op: &KeyOp, revoked: Option<&str>) {
        let k = self.key.clone();
        match op {
            KeyOp::Key(v) => {
                self.key = match v {
                    KeyVariant::OtherMode => {
                        if let Some(rest) = k.strip_prefix("sk_live_") {
                            format!("sk_test_{rest}")
                        } else if let Some(rest) = k.strip_prefix("sk_test_") {
                            format!("sk_live_{rest}")
                        } else {
                            format!("x{k}")
                        }
                    }
                    KeyVariant::NoPrefix => k.split_once('_').map_or(k.clone(), |(_, r)| {
                        r.split_once('_').map_or(r.to_owned(), |(_, r)| r.to_owned())
                    }),
                    KeyVariant::Truncated => k[..k.len().saturating_sub(1)].to_owned(),
                    KeyVariant::Longer => format!("{k}A"),
                    KeyVariant::SwapCase => crate::methods::forge::swap_case(&k),
                    KeyVariant::LastChanged => {
                        let mut s = k[..k.len().saturating_sub(1)].to_owned();
                        s.push(if k.ends_with('A') { 'B' } else { 'A' });
                        s
                    }
                    KeyVariant::PercentEncoded => {
                        k.bytes().map(|b| format!("%{b:02X}")).collect::<String>()
                    }
                    KeyVariant::Base64 => STANDARD.encode(&k),
                    KeyVariant::Twice => format!("{k}{k}"),
                    KeyVariant::Empty => String::new(),
                    KeyVariant::Huge => "A".repeat(65_536),
                    KeyVariant::Revoked => revoked.unwrap_or("sk_live_revoked").to_owned(),
                    KeyVariant::Padded => format!(" {k}\t"),
                }
            }
            KeyOp::Scheme(s) => {
                if !self.scheme.is_empty() {
                    self.scheme = (*s).to_owned();
                }
            }
            KeyOp::Bytes(p, b) => self.inserted = Some((*p, b.clone())),
        }
    }

    /// The header value.
    pub fn render(&self) -> Vec<u8> {
        let mut key = self.key.clone().into_bytes();
        if let Some((p, b)) = &self.inserted {
            let i = key.len() * usize::from((*p).min(1000)) / 1000;
            key.splice(i..i, b.iter().copied());
        }
        let mut value = self.scheme.as_bytes().to_vec();
        value.extend_from_slice(&key);
        value
    }
}

impl KeyOp {
    /// A random mutation.
    pub fn random(rng: &mut StdRng) -> KeyOp {
        use KeyVariant as V;
        match rng.random_range(0..100) {
            0..=69 => KeyOp::Key(pick(
                rng,
                &[
                    V::OtherMode,
                    V::NoPrefix,
                    V::Truncated,
                    V::Longer,
                    V::SwapCase,
                    V::LastChanged,
                    V::PercentEncoded,
                    V::Base64,
                    V::Twice,
                    V::Empty,
                    V::Huge,
                    V::Revoked,
                    V::Padded,
                ],
            )),
            70..=84 => KeyOp::Scheme(pick(rng, &["bearer ", "Bearer  ", "", "Basic ", "ApiKey "])),
            _ => KeyOp::Bytes(
                rng.random_range(0..1000),
                pick(rng, &[vec![0u8], vec![0x7f], vec![0xff], b"%00".to_vec(), b" ".to_vec()]),
            ),
        }
    }

    /// A short name for reports.
    pub fn name(&self) -> String {
        match self {
            KeyOp::Key(v) => format!("key {v:?}"),
            KeyOp::Scheme(s) => format!("scheme {s:?}"),
            KeyOp::Bytes(_, b) => format!("bytes {b:?}"),
        }
    }
}

/// Whether a correct server may accept the API key header `value`: after
/// whitespace trimming (and the scheme, case-insensitive) it is the key.
pub fn key_acceptable(value: &[u8], key: &str, scheme: Option<&str>) -> bool {
    let Ok(value) = std::str::from_utf8(value) else { return false };
    let value = value.trim_matches([' ', '\t']);
    let presented = match scheme {
        None => value,
        Some(s) => match value.split_once(' ') {
            Some((got, rest)) if got.eq_ignore_ascii_case(s) => rest.trim_start_matches(' '),
            _ => return false,
        },
    };
    presented == key
}

// ---------------------------------------------------------- OAuth token

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_oracle_trims_whitespace_only() {
        let k = "sk_live_abc";
        let mut a = ApiKey::valid(k, Some("Bearer"));
        assert!(key_acceptable(&a.render(), k, Some("Bearer")));
        a.apply(&KeyOp::Key(KeyVariant::Padded), None);
        assert!(key_acceptable(&a.render(), k, Some("Bearer")));
        let mut a = ApiKey::valid(k, None);
        a.apply(&KeyOp::Key(KeyVariant::OtherMode), None);
        assert!(!key_acceptable(&a.render(), k, None));
    }
}
