//! Basic, API key and OAuth token-request mutations, each with its oracle:
//! an answer of 2xx is right only for a credential equivalent to the valid
//! one (the same user-id and password, the same key, a well-formed token
//! request from an authenticated client).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
use rand::RngExt as _;
use rand::rngs::StdRng;

/// A value the mutations pick from, shared by the methods.
fn pick<T: Clone>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())].clone()
}

// ------------------------------------------------------------------ Basic

/// A Basic mutation.
#[derive(Debug, Clone, PartialEq)]
pub enum BasicOp {
    /// The user-id replaced (a small set, so the server's lockout keeps them cheap).
    User(Vec<u8>),
    /// The password replaced.
    Password(Vec<u8>),
    /// The separator between them.
    Separator(Vec<u8>),
    /// How user-id:password is encoded.
    Encoding(Encoding),
    /// The scheme and separator before the credentials.
    Scheme(&'static str),
    /// Bytes appended to the header value.
    Append(Vec<u8>),
}

/// Encodings of the user-pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Encoding {
    /// Standard, padded (RFC 7617).
    Standard,
    /// Without padding.
    NoPadding,
    /// The URL-safe alphabet.
    UrlSafe,
    /// Encoded twice.
    Twice,
    /// Not encoded at all.
    Plain,
    /// A space inside the base64.
    Spaced,
}

/// A Basic credential being mutated.
#[derive(Debug, Clone)]
pub struct Basic {
    user: Vec<u8>,
    password: Vec<u8>,
    separator: Vec<u8>,
    encoding: Encoding,
    scheme: &'static str,
    append: Vec<u8>,
}

impl Basic {
    /// The valid credential.
    pub fn valid(user: &str, password: &str) -> Basic {
        Basic {
            user: user.as_bytes().to_vec(),
            password: password.as_bytes().to_vec(),
            separator: b":".to_vec(),
            encoding: Encoding::Standard,
            scheme: "Basic ",
            append: Vec::new(),
        }
    }

    /// Applies `op`.
    pub fn apply(&mut self, op: &BasicOp) {
        match op {
            BasicOp::User(u) => self.user.clone_from(u),
            BasicOp::Password(p) => self.password.clone_from(p),
            BasicOp::Separator(s) => self.separator.clone_from(s),
            BasicOp::Encoding(e) => self.encoding = *e,
            BasicOp::Scheme(s) => self.scheme = s,
            BasicOp::Append(a) => self.append.clone_from(a),
        }
    }

    /// The header value.
    pub fn render(&self) -> Vec<u8> {
        let mut pass = self.user.clone();
        pass.extend_from_slice(&self.separator);
        pass.extend_from_slice(&self.password);
        let encoded = match self.encoding {
            Encoding::Standard => STANDARD.encode(&pass).into_bytes(),
            Encoding::NoPadding => STANDARD_NO_PAD.encode(&pass).into_bytes(),
            Encoding::UrlSafe => URL_SAFE.encode(&pass).into_bytes(),
            Encoding::Twice => STANDARD.encode(STANDARD.encode(&pass)).into_bytes(),
            Encoding::Plain => pass,
            Encoding::Spaced => {
                let mut e = STANDARD.encode(&pass).into_bytes();
                e.insert(e.len() / 2, b' ');
                e
            }
        };
        let mut value = self.scheme.as_bytes().to_vec();
        value.extend_from_slice(&encoded);
        value.extend_from_slice(&self.append);
        value
    }
}

impl BasicOp {
    /// A random mutation of the credentials of `user` / `password`.
    pub fn random(rng: &mut StdRng, user: &str, password: &str) -> BasicOp {
        match rng.random_range(0..100) {
            // Few distinct user-ids: each unknown one costs the server a dummy
            // argon2 verification until its lockout starts.
            0..=9 => BasicOp::User(pick(
                rng,
                &[
                    user.to_uppercase().into_bytes(),
                    format!("{user} ").into_bytes(),
                    format!("{user}\0").into_bytes(),
                    Vec::new(),
                    vec![0xff, 0xfe],
                ],
            )),
            10..=39 => BasicOp::Password(pick(
                rng,
                &[
                    Vec::new(),
                    password.as_bytes()[..password.len() / 2].to_vec(),
                    format!("{password}x").into_bytes(),
                    format!("{password}\0").into_bytes(),
                    format!("{password}\0suffix").into_bytes(),
                    password.to_uppercase().into_bytes(),
                    format!(" {password}").into_bytes(),
                    [password.as_bytes(), &[0xc3, 0x28]].concat(),
                    "x".repeat(10_000).into_bytes(),
                    format!("{password}:{password}").into_bytes(),
                ],
            )),
            40..=49 => BasicOp::Separator(pick(
                rng,
                &[Vec::new(), b"::".to_vec(), b";".to_vec(), b" :".to_vec()],
            )),
            50..=79 => BasicOp::Encoding(pick(
                rng,
                &[
                    Encoding::NoPadding,
                    Encoding::UrlSafe,
                    Encoding::Twice,
                    Encoding::Plain,
                    Encoding::Spaced,
                ],
            )),
            80..=89 => BasicOp::Scheme(pick(
                rng,
                &["basic ", "BASIC ", "Basic  ", "Basic\t", "Bearer ", "", "Basic"],
            )),
            _ => {
                BasicOp::Append(pick(rng, &[b"=".to_vec(), b" x".to_vec(), vec![0], b",".to_vec()]))
            }
        }
    }

    /// A short name for reports.
    pub fn name(&self) -> String {
        match self {
            BasicOp::User(u) => format!("user {:?}", String::from_utf8_lossy(u)),
            BasicOp::Password(p) => format!("password of {} bytes", p.len()),
            BasicOp::Separator(s) => format!("separator {:?}", String::from_utf8_lossy(s)),
            BasicOp::Encoding(e) => format!("encoding {e:?}"),
            BasicOp::Scheme(s) => format!("scheme {s:?}"),
            BasicOp::Append(a) => format!("append {:?}", String::from_utf8_lossy(a)),
        }
    }
}

/// Whether a correct server may accept the Basic header `value`: it decodes
/// (leniently: padding, alphabet) to exactly `user:password`.
pub fn basic_acceptable(value: &[u8], user: &str, password: &str) -> bool {
    let Ok(value) = std::str::from_utf8(value) else { return false };
    let value = value.trim_matches([' ', '\t']);
    let Some((scheme, rest)) = value.split_once(' ') else { return false };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let token = rest.trim_start_matches(' ');
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    lenient.decode(token).is_ok_and(|d| d == format!("{user}:{password}").as_bytes())
}

// ---------------------------------------------------------------- API key

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

/// A token request's mutation.
#[derive(Debug, Clone, PartialEq)]
pub enum FormOp {
    /// A parameter sent twice (the second with this value).
    Duplicate(&'static str, String),
    /// Unreserved characters percent-encoded (equivalent).
    PercentEncode,
    /// A parameter's name in upper case.
    UpperName(&'static str),
    /// A parameter removed.
    Remove(&'static str),
    /// `grant_type` replaced.
    GrantType(&'static str),
    /// The client secret also sent in the body (two authentication methods).
    SecretInBody,
    /// The client's Basic credentials without form-encoding, or wrong.
    ClientAuth(ClientAuthVariant),
    /// An unknown parameter (ignored by a correct server).
    Unknown,
}

/// Client authentication variants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClientAuthVariant {
    /// None at all.
    None,
    /// The secret with its last character changed.
    WrongSecret,
    /// Another client's id with this client's secret.
    OtherId,
    /// In the body only (`client_secret_post`): equivalent.
    PostOnly,
}

/// A client-credentials token request being mutated.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    fields: Vec<(String, String)>,
    basic: Option<(String, String)>,
    percent_encode: bool,
}

/// Form-urlencoding of one component (RFC 6749 Appendix B).
pub fn form_encode(s: &str, all: bool) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' if !all => {
                char::from(b).to_string()
            }
            b' ' if !all => "+".to_owned(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

impl TokenRequest {
    /// A valid request for `client_id` / `secret`.
    pub fn valid(client_id: &str, secret: &str, scope: Option<&str>) -> TokenRequest {
        let mut fields = vec![("grant_type".to_owned(), "client_credentials".to_owned())];
        if let Some(s) = scope {
            fields.push(("scope".to_owned(), s.to_owned()));
        }
        TokenRequest {
            fields,
            basic: Some((client_id.to_owned(), secret.to_owned())),
            percent_encode: false,
        }
    }

    /// Applies `op`.
    pub fn apply(&mut self, op: &FormOp) {
        match op {
            FormOp::Duplicate(name, value) => {
                self.fields.push(((*name).to_owned(), value.clone()));
            }
            FormOp::PercentEncode => self.percent_encode = true,
            FormOp::UpperName(name) => {
                for f in &mut self.fields {
                    if f.0 == *name {
                        f.0 = name.to_uppercase();
                    }
                }
            }
            FormOp::Remove(name) => self.fields.retain(|(n, _)| n != name),
            FormOp::GrantType(g) => {
                for f in &mut self.fields {
                    if f.0 == "grant_type" {
                        f.1 = (*g).to_owned();
                    }
                }
            }
            FormOp::SecretInBody => {
                if let Some((id, secret)) = &self.basic {
                    self.fields.push(("client_id".into(), id.clone()));
                    self.fields.push(("client_secret".into(), secret.clone()));
                }
            }
            FormOp::ClientAuth(v) => match (v, self.basic.take()) {
                (ClientAuthVariant::None, _) | (_, None) => {}
                (ClientAuthVariant::WrongSecret, Some((id, mut secret))) => {
                    secret.pop();
                    secret.push('~');
                    self.basic = Some((id, secret));
                }
                (ClientAuthVariant::OtherId, Some((_, secret))) => {
                    self.basic = Some(("authbench-other".into(), secret));
                }
                (ClientAuthVariant::PostOnly, Some((id, secret))) => {
                    self.fields.push(("client_id".into(), id));
                    self.fields.push(("client_secret".into(), secret));
                }
            },
            FormOp::Unknown => self.fields.push(("authbench_extra".into(), "1".into())),
        }
    }

    /// The Authorization header (if any) and the body.
    pub fn render(&self) -> (Option<Vec<u8>>, Vec<u8>) {
        let body = self
            .fields
            .iter()
            .map(|(n, v)| {
                format!(
                    "{}={}",
                    form_encode(n, self.percent_encode),
                    form_encode(v, self.percent_encode)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        let header = self.basic.as_ref().map(|(id, secret)| {
            let pair = format!("{}:{}", form_encode(id, false), form_encode(secret, false));
            format!("Basic {}", STANDARD.encode(pair)).into_bytes()
        });
        (header, body.into_bytes())
    }
}

impl FormOp {
    /// A random mutation.
    pub fn random(rng: &mut StdRng) -> FormOp {
        match rng.random_range(0..100) {
            0..=24 => FormOp::Duplicate(
                pick(rng, &["grant_type", "scope", "client_id"]),
                pick(rng, &["client_credentials", "password", "read", "admin", "x"]).to_string(),
            ),
            25..=34 => FormOp::PercentEncode,
            35..=44 => FormOp::UpperName(pick(rng, &["grant_type", "scope"])),
            45..=54 => FormOp::Remove(pick(rng, &["grant_type", "scope"])),
            55..=64 => FormOp::GrantType(pick(
                rng,
                &["CLIENT_CREDENTIALS", "client_credentials ", "", "password", "implicit"],
            )),
            65..=74 => FormOp::SecretInBody,
            75..=94 => FormOp::ClientAuth(pick(
                rng,
                &[
                    ClientAuthVariant::None,
                    ClientAuthVariant::WrongSecret,
                    ClientAuthVariant::OtherId,
                    ClientAuthVariant::PostOnly,
                ],
            )),
            _ => FormOp::Unknown,
        }
    }

    /// A short name for reports.
    pub fn name(&self) -> String {
        format!("{self:?}")
    }
}

fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Whether a correct authorization server may issue a token for this
/// request: each parameter at most once (RFC 6749 §3.2), `grant_type`
/// `client_credentials`, and exactly one client authentication method with
/// the right credentials (RFC 6749 §2.3).
pub fn token_request_acceptable(
    header: Option<&[u8]>,
    body: &[u8],
    client_id: &str,
    secret: &str,
) -> bool {
    let Ok(body) = std::str::from_utf8(body) else { return false };
    let mut seen: Vec<(String, String)> = Vec::new();
    for pair in body.split('&').filter(|p| !p.is_empty()) {
        let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(n), Some(v)) = (form_decode(n), form_decode(v)) else { return false };
        if seen.iter().any(|(m, _)| *m == n) {
            return false;
        }
        seen.push((n, v));
    }
    let get = |name: &str| seen.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    if get("grant_type") != Some("client_credentials") {
        return false;
    }
    let by_header = header.and_then(|h| {
        let h = std::str::from_utf8(h).ok()?;
        let (scheme, token) = h.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = String::from_utf8(STANDARD.decode(token.trim()).ok()?).ok()?;
        let (id, s) = decoded.split_once(':')?;
        Some((form_decode(id)?, form_decode(s)?))
    });
    let by_body = get("client_secret").map(|s| (get("client_id").unwrap_or(""), s));
    match (by_header, by_body) {
        (Some((id, s)), None) => id == client_id && s == secret,
        (None, Some((id, s))) => id == client_id && s == secret,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_oracle_accepts_only_the_same_credentials() {
        let valid = Basic::valid("alice", "pw");
        assert!(basic_acceptable(&valid.render(), "alice", "pw"));
        let mut b = valid.clone();
        b.apply(&BasicOp::Encoding(Encoding::NoPadding));
        assert!(basic_acceptable(&b.render(), "alice", "pw"), "padding is not meaning");
        let mut b = valid.clone();
        b.apply(&BasicOp::Password(b"pw\0".to_vec()));
        assert!(!basic_acceptable(&b.render(), "alice", "pw"));
        let mut b = valid;
        b.apply(&BasicOp::Scheme("Bearer "));
        assert!(!basic_acceptable(&b.render(), "alice", "pw"));
    }

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

    #[test]
    fn token_request_oracle() {
        let valid = TokenRequest::valid("c", "s p", Some("read"));
        let (h, b) = valid.render();
        assert!(token_request_acceptable(h.as_deref(), &b, "c", "s p"));
        let mut r = valid.clone();
        r.apply(&FormOp::PercentEncode);
        let (h, b) = r.render();
        assert!(
            token_request_acceptable(h.as_deref(), &b, "c", "s p"),
            "re-encoding is equivalent"
        );
        let mut r = valid.clone();
        r.apply(&FormOp::Duplicate("scope", "read".into()));
        let (h, b) = r.render();
        assert!(!token_request_acceptable(h.as_deref(), &b, "c", "s p"));
        let mut r = valid;
        r.apply(&FormOp::SecretInBody);
        let (h, b) = r.render();
        assert!(!token_request_acceptable(h.as_deref(), &b, "c", "s p"));
    }
}
