//! The mTLS checks, one method per kind of case.

use std::sync::Arc;

use authbench_scenarios::{Case, Severity};
use base64::Engine as _;
use url::Url;

use super::pki::{BadCertificate, mint_like, serial_of};
use super::pki::{bad_identity, leaf_der, sound_identity_through, unknown_identity};
use super::{HTTP_REFUSALS, Outcome, describe_error, identity, is_refusal};
use crate::client::{ClientIdentity, RawRequest, RawResponse, SendError, TlsVersion};
use crate::methods::Shared;
use crate::methods::mtls::MtlsTarget;
use crate::methods::oauth2::{ClientAuth, Session, Tokens};
use crate::verdict::{Verdict, observe};
use authbench_servers::mtls::pki::ClientCa;
use rustls_pki_types::pem::PemObject;

pub(super) enum Forwarded {
    ClientCert,
    Xfcc,
}

/// The checks of one case: the run's state and the profile's `[mtls]`.
pub struct Checks<'a> {
    pub(super) shared: &'a Shared,
    pub(super) t: &'a MtlsTarget,
}

impl Checks<'_> {
    pub(super) async fn send_with(
        &self,
        url: &Url,
        identity: Option<Arc<ClientIdentity>>,
        version: Option<TlsVersion>,
        headers: &[(&str, String)],
    ) -> Result<RawResponse, SendError> {
        let mut request = RawRequest::get(url.clone()).with_identity(identity);
        request.tls_version = version;
        for (name, value) in headers {
            request.headers.push(((*name).to_owned(), value.clone().into_bytes()));
        }
        self.shared.client.send(&request).await
    }

    pub(super) fn leaf_der(&self) -> Result<Vec<u8>, Verdict> {
        leaf_der(self.t)
    }

    /// Judges an attempt that must not reach the resource.
    pub(super) fn judge_refusal(
        sev: Severity,
        expected: &str,
        answer: Result<RawResponse, SendError>,
    ) -> Outcome {
        match answer {
            Err(e) if is_refusal(&e) => Ok(Verdict::pass(expected.to_owned(), describe_error(&e))),
            Err(e) => Err(Verdict::unanswered(expected, &e)),
            Ok(r) if r.status >= 500 => Ok(Verdict::server_error(expected, observe(&r), r.status)),
            Ok(r) if HTTP_REFUSALS.contains(&r.status) => {
                Ok(Verdict::pass(expected.to_owned(), observe(&r)))
            }
            Ok(r) if (200..300).contains(&r.status) => Ok(Verdict::unmet(
                sev,
                expected.to_owned(),
                observe(&r),
                "the certificate was accepted",
            )),
            Ok(r) => Ok(Verdict::unmet(
                sev,
                expected.to_owned(),
                observe(&r),
                "neither a TLS refusal nor 400/401/403",
            )),
        }
    }

    pub(super) async fn valid(&self, sev: Severity, version: Option<TlsVersion>) -> Outcome {
        let id = identity(&self.t.client)?;
        let label = match version {
            Some(TlsVersion::Tls12) => "over TLS 1.2",
            _ => "",
        };
        let expected =
            format!("200 for the profile's client certificate {label}").trim().to_owned();
        match self.send_with(&self.t.url, Some(id), version, &[]).await {
            Ok(r) if r.status == 200 => Ok(Verdict::pass(expected, "200".to_owned())),
            Ok(r) if r.status >= 500 => Ok(Verdict::server_error(expected, observe(&r), r.status)),
            Ok(r) => Ok(Verdict::refused_valid(
                sev,
                expected,
                observe(&r),
                "the valid certificate was refused",
            )),
            // A server that offers TLS 1.3 only is a configuration, not a
            // refusal of the certificate: nothing to judge over TLS 1.2.
            Err(SendError::Alert { alert })
                if version == Some(TlsVersion::Tls12) && alert == "protocol_version" =>
            {
                Err(Verdict::skip("the target does not offer TLS 1.2 (alert protocol_version)"))
            }
            Err(e) if is_refusal(&e) => Ok(Verdict::refused_valid(
                sev,
                expected,
                describe_error(&e),
                "the valid certificate was refused",
            )),
            Err(e) => Err(Verdict::unanswered(expected, &e)),
        }
    }

    pub(super) async fn refused(
        &self,
        sev: Severity,
        id: Option<Arc<ClientIdentity>>,
        what: &str,
    ) -> Outcome {
        let expected = format!("{what}: a TLS alert or 400/401/403, never the resource");
        let answer = self.send_with(&self.t.url, id, None, &[]).await;
        Self::judge_refusal(sev, &expected, answer)
    }

    pub(super) async fn bad(&self, sev: Severity, kind: BadCertificate) -> Outcome {
        let id = bad_identity(self.t, kind)?;
        let what = match kind {
            BadCertificate::SelfSigned => "a self-signed certificate",
            BadCertificate::UntrustedCa => "a certificate from an untrusted CA",
            BadCertificate::Expired => "an expired certificate",
            BadCertificate::NotYetValid => "a certificate valid from tomorrow",
            BadCertificate::WrongEku => "a certificate for serverAuth only",
            BadCertificate::WrongKeyUsage => "a certificate without digitalSignature",
            BadCertificate::CaAsLeaf => "a CA certificate as client certificate",
            BadCertificate::WeakKey => "an RSA-1024 certificate",
            BadCertificate::IntermediateNotCa => {
                "a certificate issued by an intermediate that is not a CA (cA=FALSE)"
            }
            BadCertificate::IntermediateNoBasicConstraints => {
                "a certificate issued by an intermediate without basicConstraints"
            }
            BadCertificate::PathLenExceeded => {
                "a certificate issued below an intermediate whose pathLenConstraint is 0"
            }
            BadCertificate::IntermediateNoKeyCertSign => {
                "a certificate issued by an intermediate whose keyUsage lacks keyCertSign"
            }
            BadCertificate::UnknownCriticalExtension => {
                "a certificate with an unknown critical extension"
            }
        };
        if kind.intermediates().is_empty() {
            return self.refused(sev, Some(id), what).await;
        }
        // The control: the same identity through sound intermediates. A
        // target that refuses it too (nginx's default ssl_verify_depth 1)
        // accepts only what the client CA issues directly, which keeps the
        // defect out as well: the refusal is a pass, said plainly.
        let control = sound_identity_through(self.t, kind)?;
        let sound = self.send_with(&self.t.url, Some(control), None, &[]).await;
        let mut verdict = self.refused(sev, Some(id), what).await?;
        let sound_refused = match &sound {
            Err(e) => is_refusal(e),
            Ok(r) => HTTP_REFUSALS.contains(&r.status),
        };
        if verdict.outcome == authbench_reports::Outcome::Pass && sound_refused {
            verdict.observed = format!(
                "{}; a sound chain through {} intermediate(s) is refused too: only certificates the client CA issues directly are accepted",
                verdict.observed,
                kind.intermediates().len()
            );
        }
        Ok(verdict)
    }

    pub(super) async fn revoked(&self, sev: Severity) -> Outcome {
        let files =
            self.t.revoked.as_ref().ok_or_else(|| {
                Verdict::skip("the profile's [mtls] has no revoked_client_cert_file")
            })?;
        self.refused(sev, Some(identity(files)?), "a revoked certificate").await
    }

    pub(super) async fn key_mismatch(&self, sev: Severity) -> Outcome {
        let valid = identity(&self.t.client)?;
        let other = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| Verdict::error("a key", e.to_string()))?;
        let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(other.serialize_pem().as_bytes())
            .map_err(|e| Verdict::error("a key", e.to_string()))?;
        let id = ClientIdentity { chain: valid.chain.clone(), key };
        self.refused(sev, Some(Arc::new(id)), "the valid certificate with another private key")
            .await
    }

    pub(super) async fn unknown_identity(&self, sev: Severity) -> Outcome {
        match self.t.identities {
            Some(crate::methods::mtls::Identities::Mapped) => {}
            Some(crate::methods::mtls::Identities::Any) => {
                return Err(Verdict::skip(
                    "the profile declares [mtls] identities = \"any\": every certificate from the client CA is a client",
                ));
            }
            None => {
                return Err(Verdict::skip(
                    "policy not declared: set [mtls] identities = \"mapped\" (only known identities are clients) or \"any\" to run this case",
                ));
            }
        }
        let id = unknown_identity(self.t).map_err(|v| match v.outcome {
            authbench_reports::Outcome::Skip => Verdict::skip(
                "needs the client CA: give [mtls] client_ca_cert_file and client_ca_key_file",
            ),
            _ => v,
        })?;
        let expected =
            "401 (or a TLS refusal) for a valid certificate of an unknown identity (RFC 8705 §2)";
        let answer = self.send_with(&self.t.url, Some(id), None, &[]).await;
        Self::judge_refusal(sev, expected, answer)
    }

    pub(super) async fn forbidden(&self, sev: Severity) -> Outcome {
        let files = self.t.forbidden.as_ref().ok_or_else(|| {
            Verdict::skip("the profile's [mtls] has no forbidden_client_cert_file")
        })?;
        let expected = "403 for a known identity without permission";
        match self.send_with(&self.t.url, Some(identity(files)?), None, &[]).await {
            Ok(r) if r.status == 403 => Ok(Verdict::pass(expected.to_owned(), observe(&r))),
            Ok(r) if (200..300).contains(&r.status) => Ok(Verdict::unmet(
                sev,
                expected.to_owned(),
                observe(&r),
                "an identity without permission was served",
            )),
            Ok(r) => Ok(Verdict::unmet(
                Severity::Should,
                expected.to_owned(),
                observe(&r),
                "refused, but not with 403",
            )),
            Err(e) if is_refusal(&e) => Ok(Verdict::unmet(
                Severity::Should,
                expected.to_owned(),
                describe_error(&e),
                "refused at the handshake, not with 403",
            )),
            Err(e) => Err(Verdict::error(expected, e.to_string())),
        }
    }

    /// A connection authenticated as an identity the resource refuses,
    /// carrying a forwarded-certificate header naming the valid client.
    pub(super) async fn forwarded(&self, sev: Severity, header: Forwarded) -> Outcome {
        let files = self.t.forbidden.as_ref().ok_or_else(|| {
            Verdict::skip(
                "needs a refused identity to connect as: give [mtls] forbidden_client_cert_file",
            )
        })?;
        let carrier = identity(files)?;
        let baseline = self.send_with(&self.t.url, Some(Arc::clone(&carrier)), None, &[]).await;
        let base_status = match &baseline {
            Ok(r) if (200..300).contains(&r.status) => {
                return Err(Verdict::error(
                    "a refused identity",
                    "the forbidden certificate is served",
                ));
            }
            Ok(r) => r.status.to_string(),
            Err(e) => {
                return Err(Verdict::error(
                    "a connection as the forbidden identity",
                    describe_error(e),
                ));
            }
        };
        let der = self.leaf_der()?;
        let (name, value) = match header {
            Forwarded::ClientCert => (
                "Client-Cert",
                format!(":{}:", base64::engine::general_purpose::STANDARD.encode(&der)),
            ),
            Forwarded::Xfcc => {
                let pem = String::from_utf8_lossy(&self.t.client.chain_pem).into_owned();
                let first = pem
                    .split_inclusive("-----END CERTIFICATE-----")
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                let encoded: String =
                    url::form_urlencoded::byte_serialize(first.as_bytes()).collect();
                ("X-Forwarded-Client-Cert", format!("Cert=\"{encoded}\""))
            }
        };
        let expected = format!("{name} from the client ignored: the answer stays {base_status}");
        match self.send_with(&self.t.url, Some(carrier), None, &[(name, value)]).await {
            Ok(r) if (200..300).contains(&r.status) => {
                Ok(Verdict::unmet(sev, expected, observe(&r), "the forwarded header was trusted"))
            }
            Ok(r) => Ok(Verdict::pass(expected, observe(&r))),
            Err(e) if is_refusal(&e) => Ok(Verdict::pass(expected, describe_error(&e))),
            Err(e) => Err(Verdict::error(expected, e.to_string())),
        }
    }

    pub(super) fn tls_client(
        &self,
    ) -> Result<&crate::methods::oauth2::TlsClientAuthTarget, Verdict> {
        self.shared
            .forge
            .target()
            .oauth2
            .as_ref()
            .and_then(|o| o.tls_client_auth.as_ref())
            .ok_or_else(|| Verdict::skip("the profile's [oauth2] has no tls_client_auth client"))
    }

    pub(super) async fn bound_tokens(
        &self,
        id: Arc<ClientIdentity>,
    ) -> Result<(Tokens, RawResponse), Verdict> {
        let tca = self.tls_client()?;
        let s = Session::open(self.shared).await?;
        let mut fields = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &s.t.scope {
            fields.push(("scope", scope.as_str()));
        }
        let r = s
            .token_with(
                &tca.token_url,
                &fields,
                &ClientAuth::IdOnly(tca.client_id.clone()),
                &[],
                Some(id),
            )
            .await?;
        let tokens = Tokens::from_response(&r)
            .ok_or_else(|| Verdict::error("a token for the tls_client_auth client", observe(&r)))?;
        Ok((tokens, r))
    }

    pub(super) async fn call_bound(
        &self,
        url: &Url,
        token: &str,
        id: Option<Arc<ClientIdentity>>,
    ) -> Result<RawResponse, SendError> {
        let request = RawRequest::get(url.clone())
            .header("Authorization", format!("Bearer {token}"))
            .with_identity(id);
        self.shared.client.send(&request).await
    }

    pub(super) async fn tls_client_auth(&self, sev: Severity) -> Outcome {
        let id = identity(&self.t.client)?;
        let (tokens, _) = self.bound_tokens(Arc::clone(&id)).await?;
        let tca = self.tls_client()?;
        let expected = "a token for tls_client_auth, accepted over the same certificate (RFC 8705)";
        match self.call_bound(&tca.resource_url, &tokens.access_token, Some(id)).await {
            Ok(r) if r.status == 200 => Ok(Verdict::pass(expected.to_owned(), "200".to_owned())),
            Ok(r) => Ok(Verdict::unmet(
                sev,
                expected.to_owned(),
                observe(&r),
                "the bound token is refused over its own certificate",
            )),
            Err(e) => Err(Verdict::error(expected, describe_error(&e))),
        }
    }

    pub(super) async fn tls_client_auth_wrong(&self, sev: Severity) -> Outcome {
        let tca = self.tls_client()?;
        let files = self.t.forbidden.as_ref().ok_or_else(|| {
            Verdict::skip(
                "needs another identity's certificate: give [mtls] forbidden_client_cert_file",
            )
        })?;
        let s = Session::open(self.shared).await?;
        let r = s
            .token_with(
                &tca.token_url,
                &[("grant_type", "client_credentials")],
                &ClientAuth::IdOnly(tca.client_id.clone()),
                &[],
                Some(identity(files)?),
            )
            .await?;
        let expected = "401 invalid_client: the certificate is not the client's (RFC 8705 §2)";
        let code =
            r.json().and_then(|b| b.get("error").and_then(|e| e.as_str()).map(str::to_owned));
        if (200..300).contains(&r.status) {
            Ok(Verdict::unmet(
                sev,
                expected.to_owned(),
                observe(&r),
                "another identity's certificate authenticated the client",
            ))
        } else if r.status == 401 && code.as_deref() == Some("invalid_client") {
            Ok(Verdict::pass(expected.to_owned(), observe(&r)))
        } else {
            Ok(Verdict::unmet(
                Severity::Should,
                expected.to_owned(),
                observe(&r),
                "refused, but not with 401 invalid_client",
            ))
        }
    }

    pub(super) async fn bound_token_misuse(
        &self,
        sev: Severity,
        other_certificate: bool,
    ) -> Outcome {
        let id = identity(&self.t.client)?;
        let (tokens, _) = self.bound_tokens(id).await?;
        let tca = self.tls_client()?;
        let (expected, answer) = if other_certificate {
            let files = self.t.forbidden.as_ref().ok_or_else(|| {
                Verdict::skip("needs another certificate: give [mtls] forbidden_client_cert_file")
            })?;
            (
                "401: a certificate-bound token over another certificate (RFC 8705 §3)",
                self.call_bound(&tca.resource_url, &tokens.access_token, Some(identity(files)?))
                    .await,
            )
        } else {
            let s = Session::open(self.shared).await?;
            (
                "401: a certificate-bound token without a certificate (RFC 8705 §3)",
                self.call_bound(&s.t.resource_url, &tokens.access_token, None).await,
            )
        };
        match answer {
            Ok(r) if r.status == 401 => Ok(Verdict::pass(expected.to_owned(), observe(&r))),
            Ok(r) if (200..300).contains(&r.status) => Ok(Verdict::unmet(
                sev,
                expected.to_owned(),
                observe(&r),
                "the binding is not checked",
            )),
            Ok(r) => Ok(Verdict::unmet(
                Severity::Should,
                expected.to_owned(),
                observe(&r),
                "refused, but not with 401",
            )),
            Err(e) if is_refusal(&e) => Ok(Verdict::pass(expected.to_owned(), describe_error(&e))),
            Err(e) => Err(Verdict::error(expected, e.to_string())),
        }
    }

    /// A fresh certificate of the valid client's identity, used, revoked
    /// through the admin API, then tried on new connections until refused.
    pub(super) async fn revocation_latency(&self, case: &Case) -> Outcome {
        use crate::methods::revocation::{admin_post, measure};
        let Some((cert, key)) = &self.t.client_ca else {
            return Err(Verdict::skip(
                "needs the client CA: give [mtls] client_ca_cert_file and client_ca_key_file",
            ));
        };
        crate::methods::revocation::require_admin(self.shared)?;
        let ca = ClientCa::from_pem(cert, key)
            .map_err(|e| Verdict::error("the client CA", e.to_string()))?;
        let (chain, key_pem) = mint_like(&ca, &self.leaf_der()?)
            .map_err(|e| Verdict::error("a fresh certificate", e.to_string()))?;
        let id = Arc::new(
            ClientIdentity::from_pem(chain.as_bytes(), key_pem.as_bytes())
                .map_err(|e| Verdict::error("a fresh certificate", e))?,
        );
        let serial = serial_of(&id.chain[0])
            .ok_or_else(|| Verdict::error("a serial number", "the certificate does not parse"))?;
        match self.send_with(&self.t.url, Some(Arc::clone(&id)), None, &[]).await {
            Ok(r) if r.status == 200 => {}
            Ok(r) => return Err(Verdict::error("the fresh certificate accepted", observe(&r))),
            Err(e) => {
                return Err(Verdict::error("the fresh certificate accepted", describe_error(&e)));
            }
        }
        let started = std::time::Instant::now();
        let revoked =
            admin_post(self.shared, "/mtls/revocations", &serde_json::json!({ "serial": serial }))
                .await?;
        if !(200..300).contains(&revoked.status) {
            return Err(Verdict::error("the certificate revoked", observe(&revoked)));
        }
        let acknowledged = started.elapsed();
        Ok(measure(case, "a revoked client certificate", started, acknowledged, || {
            let id = Arc::clone(&id);
            async move {
                match self.send_with(&self.t.url, Some(id), None, &[]).await {
                    Ok(r) => Ok(r.status != 200),
                    Err(e) if is_refusal(&e) => Ok(true),
                    // Nothing answered: not a refusal to time.
                    Err(e) => Err(Verdict::error("an answer", e.to_string())),
                }
            }
        })
        .await)
    }

    pub(super) async fn bound_token_cnf(&self, sev: Severity) -> Outcome {
        let id = identity(&self.t.client)?;
        let der = self.leaf_der()?;
        let (tokens, _) = self.bound_tokens(id).await?;
        let expected =
            "the token's cnf.x5t#S256 is the certificate's SHA-256 thumbprint (RFC 8705 §3.1)";
        use sha2::Digest as _;
        let want =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&der));
        // JWT access tokens carry it; opaque ones expose it through introspection.
        let claims = tokens
            .access_token
            .split('.')
            .nth(1)
            .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok())
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        let Some(claims) = claims else {
            return Err(Verdict::skip(
                "the access token is opaque; its binding is judged by the misuse cases",
            ));
        };
        match claims.get("cnf").and_then(|c| c.get("x5t#S256")).and_then(|v| v.as_str()) {
            Some(got) if got == want => {
                Ok(Verdict::pass(expected.to_owned(), "cnf.x5t#S256 matches".to_owned()))
            }
            Some(_) => Ok(Verdict::unmet(
                sev,
                expected.to_owned(),
                "another thumbprint".to_owned(),
                "bound to the wrong certificate",
            )),
            None => Ok(Verdict::unmet(
                sev,
                expected.to_owned(),
                "no cnf.x5t#S256".to_owned(),
                "the token is not bound",
            )),
        }
    }
}
