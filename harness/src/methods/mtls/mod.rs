//! Mutual TLS: bad client certificates minted on the fly ([`pki`]),
//! forwarded-header spoofing and certificate-bound tokens (RFC 8705), each a
//! step for case `mtls::<name>` ([`STEPS`], run by [`checks`]), and the
//! measured `mtls` configuration.
//!
//! A refusal may come as a TLS alert (rustls, Go, most servers in TLS 1.3
//! report a refused certificate when the client first reads) or as an HTTP
//! answer (nginx answers 400 for a certificate it could not verify): both are
//! refusals. Only an answer that serves the resource is an acceptance.

pub use profile::{Identities, MtlsTarget};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use authbench_scenarios::Case;
use pki::BadCertificate;
use url::Url;

use super::{
    Configuration, ConfigurationsFuture, Method, MethodSpec, Schedule, Shared, Step, StepFuture,
    names_of, step,
};
use crate::client::keepalive::Endpoint;
use crate::client::{ClientIdentity, SendError, TlsVersion};
use crate::methods::Target;
use crate::profile::CertificateFiles;
use crate::verdict::Verdict;

type Outcome = Result<Verdict, Verdict>;

pub mod checks;
pub mod pki;
pub mod profile;

use checks::Checks;
pub(crate) use pki::{bad_identity, unknown_identity};

type OutcomeFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// An mTLS step: the profile's `[mtls]` with the run's state, and the case.
pub type MtlsStep = for<'a> fn(&'a Checks<'a>, &'a Case) -> OutcomeFuture<'a>;

/// The mTLS steps, by the name in their case's id.
pub const STEPS: &[Step<MtlsStep>] = &[
    step("valid-certificate", |m, c| Box::pin(m.valid(c.severity, None))),
    step("valid-certificate-tls12", |m, c| Box::pin(m.valid(c.severity, Some(TlsVersion::Tls12)))),
    step("no-certificate", |m, c| Box::pin(m.refused(c.severity, None, "no client certificate"))),
    step("self-signed", |m, c| Box::pin(m.bad(c.severity, BadCertificate::SelfSigned))),
    step("untrusted-ca", |m, c| Box::pin(m.bad(c.severity, BadCertificate::UntrustedCa))),
    step("expired", |m, c| Box::pin(m.bad(c.severity, BadCertificate::Expired))),
    step("not-yet-valid", |m, c| Box::pin(m.bad(c.severity, BadCertificate::NotYetValid))),
    step("wrong-eku", |m, c| Box::pin(m.bad(c.severity, BadCertificate::WrongEku))),
    step("wrong-key-usage", |m, c| Box::pin(m.bad(c.severity, BadCertificate::WrongKeyUsage))),
    step("ca-as-leaf", |m, c| Box::pin(m.bad(c.severity, BadCertificate::CaAsLeaf))),
    step("weak-key", |m, c| Box::pin(m.bad(c.severity, BadCertificate::WeakKey))),
    step("intermediate-not-ca", |m, c| {
        Box::pin(m.bad(c.severity, BadCertificate::IntermediateNotCa))
    }),
    step("intermediate-without-basic-constraints", |m, c| {
        Box::pin(m.bad(c.severity, BadCertificate::IntermediateNoBasicConstraints))
    }),
    step("path-length-exceeded", |m, c| {
        Box::pin(m.bad(c.severity, BadCertificate::PathLenExceeded))
    }),
    step("intermediate-without-key-cert-sign", |m, c| {
        Box::pin(m.bad(c.severity, BadCertificate::IntermediateNoKeyCertSign))
    }),
    step("unknown-critical-extension", |m, c| {
        Box::pin(m.bad(c.severity, BadCertificate::UnknownCriticalExtension))
    }),
    step("revoked", |m, c| Box::pin(m.revoked(c.severity))),
    step("key-mismatch", |m, c| Box::pin(m.key_mismatch(c.severity))),
    step("unknown-identity", |m, c| Box::pin(m.unknown_identity(c.severity))),
    step("forbidden-identity", |m, c| Box::pin(m.forbidden(c.severity))),
    step("client-cert-header-ignored", |m, c| {
        Box::pin(m.forwarded(c.severity, checks::Forwarded::ClientCert))
    }),
    step("xfcc-header-ignored", |m, c| Box::pin(m.forwarded(c.severity, checks::Forwarded::Xfcc))),
    step("tls-client-auth", |m, c| Box::pin(m.tls_client_auth(c.severity))),
    step("tls-client-auth-wrong-certificate", |m, c| Box::pin(m.tls_client_auth_wrong(c.severity))),
    step("bound-token-other-certificate", |m, c| Box::pin(m.bound_token_misuse(c.severity, true))),
    step("bound-token-no-certificate", |m, c| Box::pin(m.bound_token_misuse(c.severity, false))),
    step("bound-token-cnf", |m, c| Box::pin(m.bound_token_cnf(c.severity))),
    step("revocation-latency", |m, c| Box::pin(m.revocation_latency(c))),
];

/// mTLS in the registry.
pub struct Spec;

impl MethodSpec for Spec {
    fn method(&self) -> Method {
        Method::Mtls
    }

    fn present(&self, target: &Target) -> bool {
        target.mtls.is_some()
    }

    fn urls<'t>(&self, target: &'t Target) -> Vec<&'t Url> {
        target.mtls.iter().map(|m| &m.url).collect()
    }

    fn secrets(&self, _target: &Target) -> Vec<String> {
        Vec::new()
    }

    fn steps(&self) -> Vec<(&'static str, Schedule)> {
        names_of(STEPS)
    }

    fn run_step<'a>(
        &self,
        shared: &'a Shared,
        case: &'a Case,
        name: &str,
    ) -> Option<StepFuture<'a>> {
        let step = STEPS.iter().find(|s| s.name == name)?;
        let run = step.run;
        Some(Box::pin(async move {
            let Some(t) = shared.forge.target().mtls.as_ref() else {
                return Verdict::skip("the target profile has no [mtls] section");
            };
            let checks = Checks { shared, t };
            run(&checks, case).await.unwrap_or_else(|v| v)
        }))
    }

    /// The profile's certificate, so that the handshake completes.
    fn transport_identity(&self, shared: &Shared) -> super::transport::Identity {
        shared.forge.target().mtls.as_ref().and_then(|m| identity(&m.client).ok())
    }

    /// `mtls`: the profile's certificate on every connection, no header.
    fn configurations<'a>(
        &'a self,
        shared: &'a Shared,
        _tls: &'a Arc<rustls::ClientConfig>,
        resumption: bool,
    ) -> ConfigurationsFuture<'a> {
        Box::pin(async move {
            let Some(m) = &shared.forge.target().mtls else { return Ok(Vec::new()) };
            let id = ClientIdentity::from_pem(&m.client.chain_pem, &m.client.key_pem)
                .map_err(anyhow::Error::msg)?;
            let tls =
                shared.client.load_config(Some(&id), resumption).map_err(anyhow::Error::msg)?;
            Ok(vec![Configuration {
                label: Method::Mtls.name().into(),
                endpoint: Endpoint::new(&m.url, Vec::new(), &tls),
            }])
        })
    }
}
pub(crate) fn identity(files: &CertificateFiles) -> Result<Arc<ClientIdentity>, Verdict> {
    ClientIdentity::from_pem(&files.chain_pem, &files.key_pem)
        .map(Arc::new)
        .map_err(|e| Verdict::error("a client certificate", e))
}

pub(crate) fn describe_error(e: &SendError) -> String {
    match e {
        SendError::Alert { alert } => format!("TLS alert {alert}"),
        SendError::Protocol(reason) | SendError::Closed(reason) => {
            format!("the connection closed without an answer ({reason})")
        }
        other => other.to_string(),
    }
}

/// A refusal at the TLS level: an alert, or a connection the server closed
/// after the handshake without answering. A failure to connect or a timeout
/// is not one: nothing was judged.
pub(crate) fn is_refusal(e: &SendError) -> bool {
    // An alert, or a close before any byte of an answer: over TLS 1.3 a
    // server's refusal of the certificate reaches the client after its side
    // of the handshake is done, and the close can overtake the alert
    // (DEPENDENCIES.md). Bytes that are not HTTP prove nothing and are no
    // refusal (judging principle 3).
    matches!(e, SendError::Alert { .. } | SendError::Closed(_))
}

/// Statuses that refuse a client certificate in HTTP (nginx uses 400, and
/// its own 495/496 internally).
pub(crate) const HTTP_REFUSALS: &[u16] = &[400, 401, 403, 495, 496];
