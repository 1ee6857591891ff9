//! The forge: mints credentials from the target profile and spoils them the
//! way each case asks. Every invalid credential is derived here; the profile
//! only ever supplies valid ones.

use std::sync::Arc;

use authbench_scenarios::case::Credential;
use rand::RngExt;

use super::jwt::forge as jwt;
use super::{Method, spec};
use crate::client::callback::Callback;
use crate::methods::Target;

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
    /// The run's out-of-band listener (`conform` starts one when it can).
    callback: Option<Arc<Callback>>,
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
        Forge { target, jwt, jwt_variants, callback: None }
    }

    /// Hosts attacker material (the key set at `jku`, the certificate at
    /// `x5u`) on the run's out-of-band listener, and keeps it for the cases
    /// that watch it.
    #[must_use]
    pub fn with_callback(mut self, callback: Option<Arc<Callback>>) -> Self {
        if let Some(j) = self.jwt.as_mut() {
            j.set_callback(callback.clone());
        }
        for (_, j) in &mut self.jwt_variants {
            j.set_callback(callback.clone());
        }
        self.callback = callback;
        self
    }

    /// The run's out-of-band listener, when the target can reach one.
    pub fn callback(&self) -> Option<&Callback> {
        self.callback.as_deref()
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The header that carries `method`'s credential.
    pub fn credential_header(&self, method: Method) -> String {
        spec(method).credential_header(&self.target)
    }

    /// The challenge/credential scheme of `method`; empty for an API key in its own header.
    pub fn scheme(&self, method: Method) -> String {
        spec(method).scheme(&self.target)
    }

    /// The valid credential's header value (`Basic …`, the key, `Bearer …`).
    pub fn valid_value(&self, method: Method) -> Result<String, Skip> {
        spec(method).valid_value(self)
    }

    /// The profile's token, or one minted with its key.
    pub fn valid_token(&self) -> Result<String, Skip> {
        self.jwt.as_ref().ok_or_else(|| missing(Method::Jwt))?.valid_token()
    }

    /// Secrets of `method`'s credentials in the profile.
    pub fn valid_secrets(&self, method: Method) -> Vec<String> {
        spec(method).secrets(&self.target)
    }

    /// Expands `$valid`, `$scheme`, `$token`, `$revoked` and `$junk64k` in a catalog string.
    pub fn expand(&self, method: Method, text: &str) -> Result<String, Skip> {
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
            let revoked = spec(method).revoked(&self.target);
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
        let main = self.jwt.as_ref().ok_or_else(|| missing(Method::Jwt))?;
        let Some(name) = algorithm else { return Ok(main) };
        let alg = crate::profile::algorithm(name)
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
    pub fn forge(&self, method: Method, credential: &Credential) -> Result<Forged, Skip> {
        self.forge_for(method, credential, None)
    }

    /// Forges `credential` for a case of `method`, for the JWT resource of `algorithm`.
    pub fn forge_for(
        &self,
        method: Method,
        credential: &Credential,
        algorithm: Option<&str>,
    ) -> Result<Forged, Skip> {
        if method == Method::Jwt && algorithm.is_some() {
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
                let b = self.target.basic.as_ref().ok_or_else(|| missing(Method::Basic))?;
                let forged = super::basic::forge::forge(b, spec);
                secrets.extend(forged.secrets);
                Ok(Forged { secrets, ..forged })
            }
            Credential::ApiKey(spec) => {
                let a = self.target.api_key.as_ref().ok_or_else(|| missing(Method::ApiKey))?;
                let forged = super::api_key::forge::forge(a, spec)?;
                secrets.extend(forged.secrets);
                Ok(Forged { secrets, ..forged })
            }
            Credential::Jwt(spec) => {
                let forge = self.jwt.as_ref().ok_or_else(|| missing(Method::Jwt))?;
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

/// The skip for a profile without `method`'s section.
pub fn missing(method: Method) -> Skip {
    Skip(format!("the target profile has no [{method}] section"))
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

/// One of `items`, at random: the fuzzers' mutations pick with it.
pub fn pick<T: Clone>(rng: &mut rand::rngs::StdRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())].clone()
}
