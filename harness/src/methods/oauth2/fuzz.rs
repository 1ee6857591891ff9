//! Fuzzing token requests (client credentials): mutations of the form and
//! the client authentication, and the oracle.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngExt as _;
use rand::rngs::StdRng;

use crate::methods::forge::pick;

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
