//! API keys and their mutations.

use authbench_scenarios::case::{ApiKeyCredential, ApiKeyMutation, KeySelector, Placement};

use crate::methods::api_key::ApiKeyTarget;
use crate::methods::forge::{Forged, Skip, random_string, swap_case};

/// The length of a key's readable prefix: up to three lower-case words each
/// followed by `_` (`sk_live_`, `ghp_`), at most 12 characters.
pub fn prefix_len(key: &str) -> usize {
    let mut len = 0;
    for _ in 0..3 {
        let rest = &key[len..];
        match rest.find('_') {
            Some(i)
                if i > 0 && len + i < 12 && rest[..i].bytes().all(|b| b.is_ascii_lowercase()) =>
            {
                len += i + 1
            }
            _ => break,
        }
    }
    len
}

/// A key split into its readable prefix and its random part.
fn split_prefix(key: &str) -> (&str, &str) {
    key.split_at(prefix_len(key))
}

/// The alphabet the random part of `key` seems to use.
fn alphabet_of(secret: &str) -> &'static [u8] {
    if secret.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        b"0123456789abcdef"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    }
}

/// A fresh key shaped like `key`: same prefix, same length, same alphabet.
pub fn random_like(key: &str) -> String {
    let (prefix, secret) = split_prefix(key);
    format!("{prefix}{}", random_string(alphabet_of(secret), secret.len()))
}

/// `key` with its last character replaced by a different one of its alphabet.
pub fn last_char_flipped(key: &str) -> String {
    let mut chars: Vec<char> = key.chars().collect();
    if let Some(last) = chars.last_mut() {
        *last = if *last == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}

/// `key` keeping its first characters (the part dashboards display), the rest random.
pub fn same_prefix(key: &str) -> String {
    let keep = if key.len() > 24 { 16 } else { key.len() / 2 };
    let (head, tail) = key.split_at(keep);
    let mut replaced = random_string(alphabet_of(tail), tail.len());
    if replaced == tail {
        replaced = last_char_flipped(&replaced);
    }
    format!("{head}{replaced}")
}

/// Forges the key `spec` describes.
pub fn forge(target: &ApiKeyTarget, spec: &ApiKeyCredential) -> Result<Forged, Skip> {
    let base = match spec.key {
        KeySelector::Valid => target.key.clone(),
        KeySelector::Revoked => target
            .revoked_key
            .clone()
            .ok_or_else(|| Skip("the profile's [api_key] has no revoked_key".to_owned()))?,
        KeySelector::Random => random_like(&target.key),
    };
    let key = match spec.mutation {
        None => base,
        Some(ApiKeyMutation::LastCharFlipped) => last_char_flipped(&base),
        Some(ApiKeyMutation::Truncated) => base[..base.len().saturating_sub(1)].to_owned(),
        Some(ApiKeyMutation::Suffixed) => format!("{base}x"),
        Some(ApiKeyMutation::CaseChanged) => swap_case(&base),
        Some(ApiKeyMutation::SamePrefix) => same_prefix(&base),
        Some(ApiKeyMutation::InnerWhitespace) => {
            let mid = base.len() / 2;
            format!("{} {}", &base[..mid], &base[mid..])
        }
        Some(ApiKeyMutation::UrlEncoded) => base.bytes().map(|b| format!("%{b:02X}")).collect(),
        Some(ApiKeyMutation::NulAppended) => format!("{base}\0"),
        Some(ApiKeyMutation::Oversized) => format!("{base}{}", "A".repeat(4096)),
    };
    let (name, value) = match (&target.header, &target.scheme) {
        (_, Some(scheme)) => ("Authorization".to_owned(), format!("{scheme} {key}")),
        (Some(header), None) => (header.clone(), key.clone()),
        (None, None) => ("X-API-Key".to_owned(), key.clone()),
    };
    let query = Some(format!("api_key={}", url_encode(&key)));
    let line = |n: String| (n, value.clone().into_bytes());
    let (headers, query) = match spec.placement {
        Placement::Header => (vec![line(name)], None),
        Placement::HeaderUppercase => (vec![line(name.to_ascii_uppercase())], None),
        Placement::HeaderTwice => (vec![line(name.clone()), line(name)], None),
        Placement::Query => (Vec::new(), query),
        Placement::HeaderAndQuery => (vec![line(name)], query),
    };
    Ok(Forged { headers, query, secrets: vec![key] })
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_the_leading_lower_case_words() {
        assert_eq!(prefix_len("sk_live_aBc_DEF"), 8);
        assert_eq!(prefix_len("sk_live_abc_DEF"), 12);
        assert_eq!(prefix_len("ghp_ABCdef"), 4);
        assert_eq!(prefix_len("ABC_def"), 0);
        assert_eq!(prefix_len("0123abcd"), 0);
    }

    #[test]
    fn random_keys_keep_the_shape_of_the_real_one() {
        let key = "sk_live_kkfoNmtdb96xQQUW9QGoGv8NaIr-fiNQrXavcFCu-k4";
        let r = random_like(key);
        assert!(r.starts_with("sk_live_") && r.len() == key.len() && r != key);
        let s = same_prefix(key);
        assert_eq!(&s[..16], &key[..16]);
        assert_ne!(s, key);
        assert_ne!(last_char_flipped(key), key);
        assert_eq!(last_char_flipped(key).len(), key.len());
    }
}
