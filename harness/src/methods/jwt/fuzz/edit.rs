//! Applying the mutations to a token's header, claims and signature.

#[allow(clippy::wildcard_imports)]
use super::*;

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
                self.replaced = wycheproof::vectors().nth(*i).map(|v| v.jws.clone());
            }
            Op::EmbeddedJwk(i) => {
                if let Some(k) = wycheproof::data().keys.get(*i) {
                    set(&mut self.header, "jwk", k.jwk.clone());
                }
            }
            Op::ExponentOneJwk => {
                if let Some(k) = wycheproof::exponent_one() {
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
            Sig::ExponentOne => wycheproof::exponent_one()
                .and_then(|k| k["n"].as_str())
                .and_then(|n| wycheproof::exponent_one_signature(n, input.as_bytes()))
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

pub(super) fn at(len: usize, per_mille: u16) -> usize {
    len * usize::from(per_mille.min(1000)) / 1000
}

pub(super) fn edit(token: Vec<u8>, op: &TextOp) -> Vec<u8> {
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
pub(super) fn flip_trailing_bits(segment: &str) -> String {
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
pub(super) fn members(bytes: &[u8]) -> Option<Map<String, Value>> {
    let raw: std::collections::HashMap<String, &serde_json::value::RawValue> =
        serde_json::from_slice(bytes).ok()?;
    Some(
        raw.into_iter()
            .map(|(k, v)| (k, serde_json::from_str(v.get()).unwrap_or(Value::Null)))
            .collect(),
    )
}
