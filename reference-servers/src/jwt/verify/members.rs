//! Decoding a token's header and claims: base64url segments into JSON
//! objects whose members are unique, and the registered claims read from them.

#[allow(clippy::wildcard_imports)]
use super::*;

/// Segments up to this size (decoded) are decoded on the stack.
pub(super) const SEGMENT_ON_STACK: usize = 1024;

/// Strict unpadded base64url, into `buffer` when it fits.
pub(super) fn decode_segment<'b>(
    segment: &str,
    buffer: &'b mut [u8],
) -> Result<Cow<'b, [u8]>, TokenError> {
    if segment.len() / 4 * 3 + 3 <= buffer.len() {
        let n = URL_SAFE_NO_PAD.decode_slice(segment, buffer).map_err(|_| TokenError::Malformed)?;
        Ok(Cow::Borrowed(&buffer[..n]))
    } else {
        URL_SAFE_NO_PAD.decode(segment).map(Cow::Owned).map_err(|_| TokenError::Malformed)
    }
}

/// A JSON object's top-level members, borrowed from the decoded segment: names
/// as written (unescaped only when they hold escapes), values as raw JSON
/// parsed only when a check reads them. Duplicate names are refused, as in
/// [`decode_object`]. The access-token path uses this rather than a map of
/// owned values: it is most of the work around the signature (criterion:
/// `benches/verify.rs`).
pub(super) struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

/// `aud`: one string, an array of strings, or something invalid.
pub(super) enum Audience<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
    Invalid,
}

pub(super) fn audience(raw: &RawValue) -> Audience<'_> {
    if raw.get().starts_with('[') {
        match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
            Ok(items) => {
                let strings: Result<Vec<_>, ()> = items.into_iter().map(json_string).collect();
                strings.map_or(Audience::Invalid, Audience::Many)
            }
            Err(_) => Audience::Invalid,
        }
    } else {
        json_string(raw).map_or(Audience::Invalid, Audience::One)
    }
}

/// A raw JSON value as a string: borrowed when it holds no escapes.
pub(super) fn json_string(raw: &RawValue) -> Result<Cow<'_, str>, ()> {
    let text = raw.get();
    if !text.starts_with('"') {
        return Err(());
    }
    if !text.contains('\\') && text.len() >= 2 {
        return Ok(Cow::Borrowed(&text[1..text.len() - 1]));
    }
    serde_json::from_str::<String>(text).map(Cow::Owned).map_err(|_| ())
}

impl<'a> Members<'a> {
    pub(super) fn parse(bytes: &'a [u8]) -> Result<Self, TokenError> {
        let members =
            serde_json::from_slice::<Members<'a>>(bytes).map_err(|_| TokenError::Malformed)?;
        // Duplicate names: a scan for the few members a token has, a sort beyond.
        let duplicate = if members.0.len() <= 16 {
            members
                .0
                .iter()
                .enumerate()
                .any(|(i, (a, _))| members.0[..i].iter().any(|(b, _)| a == b))
        } else {
            let mut names: Vec<&str> = members.0.iter().map(|(n, _)| n.as_ref()).collect();
            names.sort_unstable();
            names.windows(2).any(|w| w[0] == w[1])
        };
        if duplicate { Err(TokenError::Malformed) } else { Ok(members) }
    }

    pub(super) fn raw(&self, name: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// `None` when absent, `Some(Err)` when not a string.
    pub(super) fn string(&self, name: &str) -> Option<Result<Cow<'a, str>, ()>> {
        self.raw(name).map(json_string)
    }
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name<'de>(Cow<'de, str>);
        impl<'de> Deserialize<'de> for Name<'de> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct NameVisitor;
                impl<'de> Visitor<'de> for NameVisitor {
                    type Value = Name<'de>;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a member name")
                    }
                    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
                        Ok(Name(Cow::Borrowed(v)))
                    }
                    fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
                        Ok(Name(Cow::Owned(v.to_owned())))
                    }
                }
                d.deserialize_str(NameVisitor)
            }
        }
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut out = Vec::with_capacity(12);
                while let Some(Name(name)) = map.next_key::<Name<'de>>()? {
                    out.push((name, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(out))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

impl<'de> Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UniqueVisitor;
        impl<'de> Visitor<'de> for UniqueVisitor {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object without duplicate members")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueObject, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    if out.insert(key, value).is_some() {
                        return Err(serde::de::Error::custom("duplicate member"));
                    }
                }
                Ok(UniqueObject(out))
            }
        }
        deserializer.deserialize_map(UniqueVisitor)
    }
}

/// Decodes one segment: strict unpadded base64url, then a JSON object whose
/// members are all distinct (RFC 7515 §5.2 and RFC 7519 §7.2 let a parser
/// reject duplicates; accepting them invites parser-differential attacks).
pub fn decode_object(segment: &str) -> Result<BTreeMap<String, Value>, TokenError> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice::<UniqueObject>(&bytes).map(|o| o.0).map_err(|_| TokenError::Malformed)
}

/// A JSON object that refuses duplicate member names at its top level.
pub(super) struct UniqueObject(BTreeMap<String, Value>);
