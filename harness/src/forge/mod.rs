//! The forge: mints credentials from the target profile and spoils them the
//! way each case asks. Every invalid credential is derived here; the profile
//! only ever supplies valid ones.

pub mod api_key;
pub mod basic;
pub mod jwt;

use std::sync::Arc;

use authbench_scenarios::case::Credential;
use rand::RngExt;

use crate::target::Target;

/// What a forged credential adds to a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forged {
    /// Header lines, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// A query parameter `name=value` to append, for credentials placed in the URL.
    pub query: Option<String>,
    /// Secret strings in this credential, to check for echoes and to redact.
    pub secrets: Vec<String>,
}

/// Why a credential cannot be forged for this target: the case is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip(pub String);

/// Builds credentials for one target.
#[derive(Debug)]
pub struct Forge {
    target: Arc<Target>,
    jwt: Option<jwt::JwtForge>,
    /// One forge per `[[jwt.variants]]` algorithm.
    jwt_variants: Vec<(jsonwebtoken::Algorithm, jwt::JwtForge)>,
}

impl Forge {
    /// A forge for `target`.
    pub fn new(target: Arc<Target>) -> Self {
        let jwt = target.jwt.clone().map(jwt::JwtForge::new);
        let jwt_variants = target
            .jwt
            .iter()
            .flat_map(|j| {
                j.variants.iter().map(move |(alg, url, key)| {
                    let mut variant = j.clone();
                    variant.algorithm = *alg;
                    variant.url = url.clone();
                    variant.signing_key = key.clone();
                    variant.token = None;
                    variant.revoked_token = None;
                    variant.variants = Vec::new();
                    (*alg, jwt::JwtForge::new(variant))
                })
            })
            .collect();
        Forge { target, jwt, jwt_variants }
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The header that carries `method`'s credential.
    pub fn credential_header(&self, method: &str) -> String {
        match (method, &self.target.api_key) {
            ("api_key", Some(a)) => a.header.clone().unwrap_or_else(|| "Authorization".to_owned()),
            _ => "Authorization".to_owned(),
        }
    }

    /// The challenge/credential scheme of `method`; empty for an API key in its own header.
    pub fn scheme(&self, method: &str) -> String {
        match method {
            "basic" => "Basic".to_owned(),
            "jwt" => "Bearer".to_owned(),
            "api_key" => {
                self.target.api_key.as_ref().and_then(|a| a.scheme.clone()).unwrap_or_default()
            }
            _ => String::new(),
        }
    }

    /// The valid credential's header value (`Basic …`, the key, `Bearer …`).
    pub fn valid_value(&self, method: &str) -> Result<String, Skip> {
        match method {
            "basic" => {
                let b = self.target.basic.as_ref().ok_or_else(|| missing("basic"))?;
                Ok(basic::header_value("Basic", &b.username, &b.password))
            }
            "api_key" => {
                let a = self.target.api_key.as_ref().ok_or_else(|| missing("api_key"))?;
                Ok(match &a.scheme {
                    Some(scheme) => format!("{scheme} {}", a.key),
                    None => a.key.clone(),
                })
            }
            "jwt" => Ok(format!("Bearer {}", self.valid_token()?)),
            other => Err(Skip(format!("the {other} method is not supported yet"))),
        }
    }

    /// The profile's token, or one minted with its key.
    pub fn valid_token(&self) -> Result<String, Skip> {
        self.jwt.as_ref().ok_or_else(|| missing("jwt"))?.valid_token()
    }

    /// Secrets of `method`'s valid credential.
    pub fn valid_secrets(&self, method: &str) -> Vec<String> {
        match method {
            "basic" => self.target.basic.iter().map(|b| b.password.clone()).collect(),
            "api_key" => self
                .target
                .api_key
                .iter()
                .flat_map(|a| [Some(a.key.clone()), a.revoked_key.clone()])
                .flatten()
                .collect(),
            "jwt" => self
                .target
                .jwt
                .iter()
                .flat_map(|j| [j.token.clone(), j.revoked_token.clone()])
                .flatten()
                .collect(),
            "oauth2" => self
                .target
                .oauth2
                .iter()
                .flat_map(|o| {
                    let clients = [&o.opaque_client, &o.other_client];
                    let mut out: Vec<String> = o.client_secret.iter().cloned().collect();
                    out.extend(clients.into_iter().flatten().map(|c| c.client_secret.clone()));
                    out.extend(o.login.iter().flatten().map(|(_, v)| v.clone()));
                    out
                })
                .collect(),
            "layered" => self
                .target
                .layered
                .iter()
                .flat_map(|l| {
                    let mut out = vec![l.api_key.key.clone()];
                    out.extend(l.api_key.revoked_key.clone());
                    out.extend(l.jwt.token.clone());
                    out.extend(l.other.iter().map(|o| o.key.clone()));
                    out.extend(l.other.iter().filter_map(|o| o.token.clone()));
                    out
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Expands `$valid`, `$scheme`, `$token`, `$revoked` and `$junk64k` in a catalog string.
    pub fn expand(&self, method: &str, text: &str) -> Result<String, Skip> {
        let mut out = text.to_owned();
        if out.contains("$valid") {
            out = out.replace("$valid", &self.valid_value(method)?);
        }
        let scheme = self.scheme(method);
        if scheme.is_empty() {
            out = out.replace("$scheme ", "");
        }
        out = out.replace("$scheme", &scheme);
        if out.contains("$token") {
            out = out.replace("$token", &self.valid_token()?);
        }
        if out.contains("$revoked") {
            let revoked = match method {
                "jwt" => self.target.jwt.as_ref().and_then(|j| j.revoked_token.clone()),
                "api_key" => self.target.api_key.as_ref().and_then(|a| a.revoked_key.clone()),
                _ => None,
            };
            out = out.replace(
                "$revoked",
                &revoked.ok_or_else(|| {
                    Skip(format!("the profile's [{method}] has no revoked credential"))
                })?,
            );
        }
        if out.contains("$junk64k") {
            out = out.replace("$junk64k", &"A".repeat(64 * 1024));
        }
        Ok(out)
    }

    /// The JWT forge for `algorithm` (the main one when `None` or equal to it).
    pub fn jwt_forge(&self, algorithm: Option<&str>) -> Result<&jwt::JwtForge, Skip> {
        let main = self.jwt.as_ref().ok_or_else(|| missing("jwt"))?;
        let Some(name) = algorithm else { return Ok(main) };
        let alg = crate::target::algorithm(name)
            .ok_or_else(|| Skip(format!("unknown algorithm {name}")))?;
        if self.target.jwt.as_ref().is_some_and(|j| j.algorithm == alg) {
            return Ok(main);
        }
        self.jwt_variants.iter().find(|(a, _)| *a == alg).map(|(_, f)| f).ok_or_else(|| {
            Skip(format!(
                "the profile has no {name} resource ([jwt] algorithm or [[jwt.variants]])"
            ))
        })
    }

    /// Forges `credential` for a case of `method`.
    pub fn forge(&self, method: &str, credential: &Credential) -> Result<Forged, Skip> {
        self.forge_for(method, credential, None)
    }

    /// Forges `credential` for a case of `method`, for the JWT resource of `algorithm`.
    pub fn forge_for(
        &self,
        method: &str,
        credential: &Credential,
        algorithm: Option<&str>,
    ) -> Result<Forged, Skip> {
        if method == "jwt" && algorithm.is_some() {
            let forge = self.jwt_forge(algorithm)?;
            let header = self.credential_header(method);
            return match credential {
                Credential::Valid => {
                    let token = forge.valid_token()?;
                    Ok(Forged {
                        headers: vec![(header, format!("Bearer {token}").into_bytes())],
                        query: None,
                        secrets: vec![token],
                    })
                }
                Credential::Jwt(spec) => {
                    let token = forge.forge(spec)?;
                    let scheme = spec.scheme.clone().unwrap_or_else(|| "Bearer".to_owned());
                    Ok(Forged {
                        headers: vec![(header, format!("{scheme} {token}").into_bytes())],
                        query: None,
                        secrets: vec![token],
                    })
                }
                _ => self.forge(method, credential),
            };
        }
        let header = self.credential_header(method);
        let mut secrets = self.valid_secrets(method);
        match credential {
            Credential::None => Ok(Forged::default()),
            Credential::Valid => {
                let value = self.valid_value(method)?;
                Ok(Forged { headers: vec![(header, value.into_bytes())], query: None, secrets })
            }
            Credential::Raw(raw) => {
                let name = raw.header.clone().unwrap_or(header);
                let headers = raw
                    .values
                    .iter()
                    .map(|v| Ok((name.clone(), self.expand(method, v)?.into_bytes())))
                    .collect::<Result<_, Skip>>()?;
                Ok(Forged { headers, query: None, secrets })
            }
            Credential::Basic(spec) => {
                let b = self.target.basic.as_ref().ok_or_else(|| missing("basic"))?;
                let forged = basic::forge(b, spec);
                secrets.extend(forged.secrets);
                Ok(Forged { secrets, ..forged })
            }
            Credential::ApiKey(spec) => {
                let a = self.target.api_key.as_ref().ok_or_else(|| missing("api_key"))?;
                let forged = api_key::forge(a, spec)?;
                secrets.extend(forged.secrets);
                Ok(Forged { secrets, ..forged })
            }
            Credential::Jwt(spec) => {
                let forge = self.jwt.as_ref().ok_or_else(|| missing("jwt"))?;
                let token = forge.forge(spec)?;
                let scheme = spec.scheme.clone().unwrap_or_else(|| "Bearer".to_owned());
                secrets.push(token.clone());
                Ok(Forged {
                    headers: vec![(header, format!("{scheme} {token}").into_bytes())],
                    query: None,
                    secrets,
                })
            }
        }
    }
}

fn missing(section: &str) -> Skip {
    Skip(format!("the target profile has no [{section}] section"))
}

/// `n` random characters from `alphabet`.
pub fn random_string(alphabet: &[u8], n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())])).collect()
}

/// Letters and digits.
pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Inverts the case of ASCII letters.
pub fn swap_case(s: &str) -> String {
    s.chars()
        .map(
            |c| {
                if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }
            },
        )
        .collect()
}
