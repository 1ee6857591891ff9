//! Fuzzing Basic credentials: mutations of the header (scheme, encoding,
//! user and password bytes) and the oracle that says which a correct server
//! may accept.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
use rand::RngExt as _;
use rand::rngs::StdRng;

use crate::methods::forge::pick;

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
}
