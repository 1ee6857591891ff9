//! Parsing helpers: errors that name the file, line and field; URLs, files,
//! keys and certificates read relative to the profile.

use std::path::Path;

use jsonwebtoken::{Algorithm, EncodingKey};
use toml::Spanned;
use url::Url;

#[allow(clippy::wildcard_imports)]
use super::*;

pub(crate) struct Ctx<'a> {
    pub(crate) file: &'a Path,
    pub(crate) text: &'a str,
    pub(crate) dir: &'a Path,
}

impl Ctx<'_> {
    pub(crate) fn err(
        &self,
        offset: usize,
        field: &str,
        message: impl Into<String>,
    ) -> ProfileError {
        let line =
            self.text[..offset.min(self.text.len())].bytes().filter(|&b| b == b'\n').count() + 1;
        ProfileError {
            file: self.file.display().to_string(),
            location: if field.is_empty() {
                format!(":{line}")
            } else {
                format!(":{line}: {field}")
            },
            message: message.into(),
        }
    }

    pub(crate) fn url(
        &self,
        base: &Url,
        value: &Spanned<String>,
        field: &str,
    ) -> Result<Url, ProfileError> {
        let url = base.join(value.get_ref()).map_err(|e| {
            self.err(value.span().start, field, format!("`{}` is not a URL: {e}", value.get_ref()))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(self.err(
                value.span().start,
                field,
                format!("`{url}` must be an http or https URL with a host"),
            ));
        }
        Ok(url)
    }

    /// The `url` a top-level section requires.
    pub(crate) fn section_url(
        &self,
        base: &Url,
        value: &Option<Spanned<String>>,
        section: &str,
    ) -> Result<Url, ProfileError> {
        match value {
            Some(v) => self.url(base, v, &format!("{section}.url")),
            None => Err(self.err(
                self.section_offset(section),
                section,
                format!("missing field `url`: the resource [{section}] describes"),
            )),
        }
    }

    /// Where `[section]` starts in the text (0 when it cannot be found).
    pub(crate) fn section_offset(&self, section: &str) -> usize {
        let header = format!("[{section}]");
        self.text
            .match_indices(&header)
            .find(|(i, _)| *i == 0 || self.text.as_bytes()[i - 1] == b'\n')
            .map_or(0, |(i, _)| i)
    }

    /// Where `field` is set inside `[section]`, if it can be found.
    pub(crate) fn field_offset(&self, section: &str, field: &str) -> Option<usize> {
        let start = self.section_offset(section);
        let rest = &self.text[start..];
        rest.match_indices(field)
            .find(|(i, _)| *i == 0 || rest.as_bytes()[i - 1] == b'\n')
            .map(|(i, _)| start + i)
    }

    pub(crate) fn opt_url(
        &self,
        base: &Url,
        value: &Option<Spanned<String>>,
        field: &str,
    ) -> Result<Option<Url>, ProfileError> {
        value.as_ref().map(|v| self.url(base, v, field)).transpose()
    }

    pub(crate) fn read(
        &self,
        value: &Spanned<String>,
        field: &str,
    ) -> Result<Vec<u8>, ProfileError> {
        let path = self.dir.join(value.get_ref());
        std::fs::read(&path).map_err(|e| {
            self.err(value.span().start, field, format!("cannot read {}: {e}", path.display()))
        })
    }

    pub(crate) fn signing_key(
        &self,
        alg: Algorithm,
        value: &Spanned<String>,
        field: &str,
    ) -> Result<SigningKey, ProfileError> {
        let material = self.read(value, field)?;
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            self.err(
                value.span().start,
                field,
                format!("{} is not {what}: {e}", self.dir.join(value.get_ref()).display()),
            )
        };
        let (encoding, public_pem) = match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                if material.is_empty() {
                    return Err(bad("an HMAC secret", &"the file is empty"));
                }
                (EncodingKey::from_secret(&material).map_err(|e| bad("an HMAC secret", &e))?, None)
            }
            Algorithm::EdDSA => {
                let key = EncodingKey::from_ed_pem(&material)
                    .map_err(|e| bad("an Ed25519 private key in PEM", &e))?;
                (key, None)
            }
            Algorithm::ES256 | Algorithm::ES384 => {
                let key = EncodingKey::from_ec_pem(&material)
                    .map_err(|e| bad("an EC private key in PEM (PKCS#8)", &e))?;
                (key, public_pem(&material))
            }
            _ => {
                let key = EncodingKey::from_rsa_pem(&material)
                    .map_err(|e| bad("an RSA private key in PEM", &e))?;
                (key, public_pem(&material))
            }
        };
        Ok(SigningKey { algorithm: alg, encoding, material, public_pem })
    }

    pub(crate) fn certificate_files(
        &self,
        cert: &Spanned<String>,
        key: &Spanned<String>,
        field: &str,
    ) -> Result<CertificateFiles, ProfileError> {
        let chain_pem = self.read(cert, &format!("{field}_cert_file"))?;
        let key_pem = self.read(key, &format!("{field}_key_file"))?;
        {
            // Name the file at fault: the chain first, then the key.
            use rustls_pki_types::pem::PemObject;
            let chain_parses = rustls_pki_types::CertificateDer::pem_slice_iter(&chain_pem)
                .next()
                .is_some_and(|c| c.is_ok());
            if chain_parses && rustls_pki_types::PrivateKeyDer::from_pem_slice(&key_pem).is_err() {
                return Err(self.err(
                    key.span().start,
                    &format!("{field}_key_file"),
                    "not a PEM private key; give the certificate's key as PEM (PKCS#8, PKCS#1 or SEC1)",
                ));
            }
        }
        crate::client::ClientIdentity::from_pem(&chain_pem, &key_pem).map_err(|e| {
            self.err(
                cert.span().start,
                &format!("{field}_cert_file"),
                format!("{e}; give a PEM certificate chain and its PEM private key"),
            )
        })?;
        Ok(CertificateFiles { chain_pem, key_pem })
    }

    pub(crate) fn optional_pair(
        &self,
        cert: &Option<Spanned<String>>,
        key: &Option<Spanned<String>>,
        field: &str,
    ) -> Result<Option<CertificateFiles>, ProfileError> {
        match (cert, key) {
            (Some(c), Some(k)) => Ok(Some(self.certificate_files(c, k, field)?)),
            (None, None) => Ok(None),
            (Some(v), None) | (None, Some(v)) => Err(self.err(
                v.span().start,
                field,
                format!("give both {field}_cert_file and {field}_key_file, or neither"),
            )),
        }
    }

    pub(crate) fn algorithm(
        &self,
        value: &Spanned<String>,
        field: &str,
    ) -> Result<Algorithm, ProfileError> {
        algorithm(value.get_ref()).ok_or_else(|| {
            self.err(
                value.span().start,
                field,
                format!("unknown algorithm `{}`; use one of HS256, RS256, PS256, ES256, EdDSA (or their 384/512 forms)", value.get_ref()),
            )
        })
    }
}
