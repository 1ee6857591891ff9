//! Which profile section answers for each security scheme of the document,
//! and the credentials it gives: the valid one (with the scopes a requirement
//! lists), the invalid ones a correct server refuses, and one without a
//! scope. A credential is then placed where the scheme says: an
//! `Authorization` header, the API key's own header, query parameter or
//! cookie, or the TLS handshake.

use std::sync::Arc;

use authbench_scenarios::case::{JwtCredential, JwtMutation};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::profile::Binding;
use crate::client::{ClientIdentity, RawRequest};
use crate::methods::forge::{ALNUM, random_string};
use crate::methods::jwt::forge::JwtForge;
use crate::methods::mtls::pki::{BadCertificate, bad_identity};
use crate::methods::{Method, Shared, Target};
use crate::openapi::{HTTP_BASIC, HTTP_BEARER, Location, SchemeKind, SecurityScheme};
use crate::verdict::Verdict;

/// The section that answers for a scheme of `kind` when the profile does not
/// say: HTTP Basic → `[basic]`, bearer → `[jwt]` (else `[oauth2]`), API key →
/// `[api_key]`, OAuth 2.0 and OpenID Connect → `[oauth2]` (else `[jwt]`),
/// mutual TLS → `[mtls]`; nothing when that section is absent.
pub fn default_binding(kind: &SchemeKind, target: &Target) -> Binding {
    let first = |methods: &[Method]| {
        methods
            .iter()
            .find(|m| crate::methods::spec(**m).present(target))
            .map_or(Binding::Nothing, |m| Binding::Section(*m))
    };
    match kind {
        SchemeKind::Http { scheme, .. } if scheme == HTTP_BASIC => first(&[Method::Basic]),
        SchemeKind::Http { scheme, .. } if scheme == HTTP_BEARER => {
            first(&[Method::Jwt, Method::OAuth2])
        }
        SchemeKind::Http { .. } => Binding::Nothing,
        SchemeKind::ApiKey { .. } => first(&[Method::ApiKey]),
        SchemeKind::OAuth2 { .. } | SchemeKind::OpenIdConnect { .. } => {
            first(&[Method::OAuth2, Method::Jwt])
        }
        SchemeKind::MutualTls => first(&[Method::Mtls]),
    }
}

/// A credential before it is placed.
#[derive(Clone)]
pub enum Raw {
    /// A user-id and password.
    Basic(String, String),
    /// A token or key, sent as it is.
    Token(String),
    /// A client certificate.
    Certificate(Arc<ClientIdentity>),
}

/// A credential of one scheme, labelled for reports.
#[derive(Clone)]
pub struct Labelled {
    /// What it is: "a wrong password", "an expired token".
    pub label: String,
    /// The credential.
    pub raw: Raw,
}

fn labelled(label: &str, raw: Raw) -> Labelled {
    Labelled { label: label.to_owned(), raw }
}

/// What a request carries for one or more schemes.
#[derive(Clone, Default)]
pub struct Presented {
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    cookies: Vec<(String, String)>,
    identity: Option<Arc<ClientIdentity>>,
    /// Secrets to redact from what is reported.
    pub secrets: Vec<String>,
}

impl Presented {
    /// `other`'s parts added to these.
    pub fn with(mut self, other: Presented) -> Presented {
        self.headers.extend(other.headers);
        self.query.extend(other.query);
        self.cookies.extend(other.cookies);
        self.identity = other.identity.or(self.identity);
        self.secrets.extend(other.secrets);
        self
    }

    /// A `method` request of `url` carrying these parts.
    pub fn request(&self, method: &str, url: &url::Url) -> RawRequest {
        let mut url = url.clone();
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(self.query.iter());
        }
        let mut request = RawRequest::get(url);
        request.method = method.to_owned();
        for (name, value) in &self.headers {
            request.headers.push((name.clone(), value.clone().into_bytes()));
        }
        if !self.cookies.is_empty() {
            let cookie: Vec<String> =
                self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
            request.headers.push(("Cookie".to_owned(), cookie.join("; ").into_bytes()));
        }
        request.identity = self.identity.clone();
        request
    }
}

/// `raw` placed where `scheme` puts it, or sent in `location` instead (an
/// API key somewhere the document does not put it).
pub fn place(
    scheme: &SecurityScheme,
    raw: &Raw,
    elsewhere: Option<Location>,
) -> Result<Presented, Verdict> {
    let mismatch = |what: &str| {
        Verdict::skip(format!(
            "scheme `{}` carries {what}, and the section that answers for it has no such credential: map it to another section in [openapi] schemes",
            scheme.name
        ))
    };
    let mut p = Presented::default();
    match (&scheme.kind, raw) {
        (SchemeKind::Http { scheme: s, .. }, Raw::Basic(user, password)) if s == HTTP_BASIC => {
            let value = STANDARD.encode(format!("{user}:{password}"));
            p.headers.push(("Authorization".to_owned(), format!("Basic {value}")));
            p.secrets.extend([password.clone(), value]);
        }
        (SchemeKind::Http { scheme: s, .. }, _) if s == HTTP_BASIC => {
            return Err(mismatch("a user-id and password"));
        }
        (SchemeKind::Http { scheme: s, .. }, Raw::Token(token)) if s == HTTP_BEARER => {
            p.headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
            p.secrets.push(token.clone());
        }
        (SchemeKind::OAuth2 { .. } | SchemeKind::OpenIdConnect { .. }, Raw::Token(token)) => {
            p.headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
            p.secrets.push(token.clone());
        }
        (SchemeKind::Http { scheme: s, .. }, _) if s != HTTP_BEARER => {
            return Err(Verdict::skip(format!(
                "scheme `{}` is HTTP `{s}` authentication, which authbench does not speak (it speaks basic and bearer)",
                scheme.name
            )));
        }
        (SchemeKind::ApiKey { name, location }, Raw::Token(key)) => {
            let part = (name.clone(), key.clone());
            match elsewhere.unwrap_or(*location) {
                Location::Header => p.headers.push(part),
                Location::Query => p.query.push(part),
                Location::Cookie => p.cookies.push(part),
            }
            p.secrets.push(key.clone());
        }
        (SchemeKind::MutualTls, Raw::Certificate(id)) => p.identity = Some(Arc::clone(id)),
        (SchemeKind::MutualTls, _) => return Err(mismatch("a client certificate")),
        _ => return Err(mismatch("a token or key")),
    }
    Ok(p)
}

/// The JWT forge whose resource is `url` (a `[[jwt.variants]]` entry's),
/// else the `[jwt]` section's.
pub fn jwt_forge_for<'a>(shared: &'a Shared, url: &url::Url) -> Result<&'a JwtForge, Verdict> {
    let target = shared.forge.target();
    let j = target.jwt.as_ref().ok_or_else(|| Verdict::skip("the profile has no [jwt] section"))?;
    let same = |u: &url::Url| {
        u.host_str() == url.host_str()
            && u.port_or_known_default() == url.port_or_known_default()
            && u.path() == url.path()
    };
    let algorithm =
        j.variants.iter().find(|(_, u, _)| same(u)).map(|(a, _, _)| crate::profile::alg_name(*a));
    shared.forge.jwt_forge(algorithm).map_err(|s| Verdict::skip(s.0))
}

/// A token minted by `forge` with `scopes` (the template's when empty),
/// spoiled as `spec` says.
pub fn mint(
    forge: &JwtForge,
    scopes: Option<&[String]>,
    spec: JwtCredential,
) -> Result<String, Verdict> {
    let mut spec = spec;
    match scopes {
        Some([]) => spec.remove.push("scope".to_owned()),
        Some(list) => {
            spec.claims.insert("scope".to_owned(), toml::Value::String(list.join(" ")));
        }
        None => {}
    }
    forge.forge(&spec).map_err(|s| Verdict::skip(s.0))
}

fn jwt_with(claims: &[(&str, &str)], mutation: Option<JwtMutation>) -> JwtCredential {
    JwtCredential {
        claims: claims
            .iter()
            .map(|(k, v)| ((*k).to_owned(), toml::Value::String((*v).to_owned())))
            .collect(),
        mutation,
        ..JwtCredential::default()
    }
}

/// `token` with one character of its last part changed: a signature (or an
/// opaque token) that no longer verifies.
pub fn tampered(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    // Not the last character: its low bits may be base64 padding.
    let at = if chars.len() >= 10 { chars.len() - 10 } else { chars.len() / 2 };
    if let Some(c) = chars.get_mut(at) {
        *c = if *c == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}

/// The invalid credentials of `binding` for a scheme of `kind` at `url`,
/// each one a correct server refuses; `scopes` are the ones the requirement
/// lists (so that only the spoiled part is wrong).
pub fn invalid(
    shared: &Shared,
    binding: Binding,
    kind: &SchemeKind,
    url: &url::Url,
    valid: &Raw,
    scopes: &[String],
) -> Result<Vec<Labelled>, Verdict> {
    let target = shared.forge.target();
    let Binding::Section(method) = binding else {
        return Err(Verdict::skip("no section answers for this scheme"));
    };
    let mut out = Vec::new();
    match valid {
        Raw::Basic(user, _) => {
            out.push(labelled(
                "a wrong password",
                Raw::Basic(user.clone(), random_string(ALNUM, 16)),
            ));
            out.push(labelled(
                "an unknown user",
                Raw::Basic(
                    format!("authbench-{}", random_string(ALNUM, 8)),
                    random_string(ALNUM, 16),
                ),
            ));
        }
        Raw::Token(token) if method == Method::Jwt => {
            let forge = jwt_forge_for(shared, url)?;
            let scopes = (!scopes.is_empty()).then_some(scopes);
            for (label, spec) in [
                (
                    "an expired token",
                    jwt_with(&[("exp", "-1h"), ("iat", "-2h"), ("nbf", "-2h")], None),
                ),
                (
                    "a token for another audience",
                    jwt_with(&[("aud", "https://authbench.invalid/another-audience")], None),
                ),
                (
                    "a token whose signature was changed",
                    jwt_with(&[], Some(JwtMutation::SignatureFlipped)),
                ),
                ("an unsigned token (alg: none)", jwt_with(&[], Some(JwtMutation::AlgNone))),
            ] {
                // Without a signing key only the profile's token can be spoiled.
                if let Ok(t) = mint(forge, scopes, spec) {
                    out.push(labelled(label, Raw::Token(t)));
                }
            }
            out.push(labelled("the token with a character changed", Raw::Token(tampered(token))));
        }
        Raw::Token(token) => {
            out.push(labelled(
                "the credential with a character changed",
                Raw::Token(tampered(token)),
            ));
            out.push(labelled(
                "a random string of the same length",
                Raw::Token(random_string(ALNUM, token.len().max(8))),
            ));
            let revoked = match (method, kind) {
                (Method::ApiKey, _) => target.api_key.as_ref().and_then(|a| a.revoked_key.clone()),
                (Method::Layered, SchemeKind::ApiKey { .. }) => {
                    target.layered.as_ref().and_then(|l| l.api_key.revoked_key.clone())
                }
                _ => None,
            };
            if let Some(r) = revoked {
                out.push(labelled("the revoked key", Raw::Token(r)));
            }
        }
        Raw::Certificate(_) => {
            let mtls = match method {
                Method::Layered => target.layered.as_ref().map(|l| &l.mtls),
                _ => target.mtls.as_ref(),
            };
            let Some(m) = mtls else { return Err(Verdict::skip("no client certificate")) };
            for (label, kind) in [
                ("a self-signed certificate like the valid one", BadCertificate::SelfSigned),
                ("a certificate from a CA the server does not trust", BadCertificate::UntrustedCa),
            ] {
                out.push(labelled(label, Raw::Certificate(bad_identity(m, kind)?)));
            }
            if let Some(revoked) = &m.revoked {
                let id = crate::methods::mtls::identity(revoked)?;
                out.push(labelled("the revoked certificate", Raw::Certificate(id)));
            }
        }
    }
    Ok(out)
}
