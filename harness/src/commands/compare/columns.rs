//! The comparison's descriptive columns: what each configuration is (user
//! context, delegation), what the run observed of it (replay window,
//! revocation, expiration, the threats its cases counter), what the client
//! must keep, what the server keeps, and which `advise` situations
//! recommend it.

use authbench_reports::compare::Security;
use authbench_reports::{Outcome, Results};

use crate::methods::{Method, Target};

/// What the method is, as opposed to what was measured.
#[derive(Debug, Clone, Copy)]
pub struct Nature {
    /// Whose identity the credential carries: a user's, or only a client's.
    pub user_context: &'static str,
    /// Whether a user delegates limited access to a client.
    pub delegation: &'static str,
}

pub(super) const USER: Nature = Nature { user_context: "user", delegation: "no" };
pub(super) const CLIENT: Nature = Nature { user_context: "application", delegation: "no" };
pub(super) const DELEGATED: Nature = Nature { user_context: "user via client", delegation: "yes" };
pub(super) const SERVICE: Nature = Nature { user_context: "service", delegation: "no" };
pub(super) const LAYERED: Nature =
    Nature { user_context: "user + application + service", delegation: "no" };

/// A measured figure from the conformance results.
fn measured(results: &Results, id: &str) -> Option<u64> {
    results
        .cases
        .iter()
        .find(|c| c.id == id && c.outcome == Outcome::Pass)
        .and_then(|c| c.measurement.as_ref())
        .map(|m| m.value)
}

fn passed(results: &Results, id: &str) -> bool {
    results.cases.iter().any(|c| c.id == id && c.outcome == Outcome::Pass)
}

/// A measured lifetime; `*` marks what this run measured.
fn duration_text(secs: u64) -> String {
    // Measured a moment after issue: within a minute of a whole hour is that hour.
    let hours = (secs as f64 / 3600.0).round();
    match secs {
        s if s >= 3540 && (s as f64 - hours * 3600.0).abs() < 60.0 => format!("{hours} h (exp)*"),
        s if s >= 3600 => format!("{:.1} h (exp)*", s as f64 / 3600.0),
        s if s >= 60 => format!("{} min (exp)*", (s + 30) / 60),
        s => format!("{s} s (exp)*"),
    }
}

/// Replay window and revocation of configuration `label` of `method`, from
/// what the conformance run measured.
pub(super) fn facts(label: &str, method: Method, results: &Results) -> (String, String) {
    let latency = |id: &str| {
        measured(results, id).map_or_else(|| "not measured".to_owned(), |ms| format!("{ms} ms*"))
    };
    let replay_window =
        |id: &str| measured(results, id).map_or_else(|| "not measured".to_owned(), duration_text);
    match method {
        // A cached entry is keyed to the password's version: a change ends it too.
        Method::Basic => ("until password change".to_owned(), "password change".to_owned()),
        Method::ApiKey => ("until revoked".to_owned(), latency("api_key::revocation-latency")),
        Method::Jwt => (
            replay_window("jwt::replay-window"),
            match measured(results, "jwt::revocation-latency") {
                Some(ms) => format!("at exp; {ms} ms with a jti list*"),
                None => "at exp".to_owned(),
            },
        ),
        Method::OAuth2 if label == "oauth2-dpop" => (
            if passed(results, "oauth2::dpop-replayed-proof") {
                "none (one-use proofs)*".to_owned()
            } else {
                "not measured".to_owned()
            },
            latency("oauth2::revocation-latency"),
        ),
        Method::OAuth2 => {
            (replay_window("oauth2::replay-window"), latency("oauth2::revocation-latency"))
        }
        // The user layer is a JWT; any layer revoked ends the set.
        Method::Layered => (
            replay_window("jwt::replay-window"),
            format!(
                "key {}, certificate {}",
                latency("api_key::revocation-latency"),
                latency("mtls::revocation-latency")
            ),
        ),
        Method::Mtls => ("none (the key stays)".to_owned(), latency("mtls::revocation-latency")),
        // Not a configuration: its operations use the other sections' credentials.
        Method::OpenApi => ("not measured".to_owned(), "not measured".to_owned()),
    }
}

/// The credential's lifetime: what the run measured (`*`) where the method
/// has one, else what the method is.
pub(super) fn expiration(
    label: &str,
    method: Method,
    results: &Results,
    target: Option<&Target>,
) -> String {
    let token = |id: &str| {
        measured(results, id).map_or_else(|| "exp (not measured)".to_owned(), duration_text)
    };
    match method {
        Method::Basic => "none (a password)".to_owned(),
        Method::ApiKey => "none; until revoked".to_owned(),
        Method::Jwt | Method::Layered => token("jwt::replay-window"),
        Method::OAuth2 => {
            let access = token("oauth2::replay-window");
            if label == "oauth2-dpop" { format!("{access}, bound to a key") } else { access }
        }
        Method::Mtls => target
            .and_then(|t| t.mtls.as_ref())
            .and_then(|m| certificate_validity(&m.client.chain_pem))
            .unwrap_or_else(|| "certificate validity (not read)".to_owned()),
        Method::OpenApi => "n/a".to_owned(),
    }
}

/// The client certificate's validity period, from the first certificate of
/// `chain_pem`: `certificate, 365 d*`.
fn certificate_validity(chain_pem: &[u8]) -> Option<String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(chain_pem).ok()?;
    let cert = pem.parse_x509().ok()?;
    let validity = cert.validity();
    let secs = validity.not_after.timestamp() - validity.not_before.timestamp();
    Some(format!("certificate, {} d*", (secs + 43_200) / 86_400))
}

/// What the client must keep secret, from the method and the profile.
pub(super) fn client_secret(label: &str, method: Method, target: Option<&Target>) -> String {
    match method {
        Method::Basic => "password".to_owned(),
        Method::ApiKey => "API key (long-lived)".to_owned(),
        Method::Jwt => "short-lived token (password to get one)".to_owned(),
        Method::OAuth2 => {
            let client = match target.and_then(|t| t.oauth2.as_ref()) {
                Some(o) if o.client_secret.is_some() => "client secret + tokens",
                Some(o) if o.private_key_jwt.is_some() => "client private key + tokens",
                _ => "tokens",
            };
            if label == "oauth2-dpop" { format!("{client} + DPoP key") } else { client.to_owned() }
        }
        Method::Mtls => "private key + certificate".to_owned(),
        Method::Layered => "API key + token + private key + certificate".to_owned(),
        Method::OpenApi => "n/a".to_owned(),
    }
}

/// The state the reference server reads to verify the configuration's
/// credential (ARCHITECTURE.md, "The guide's columns").
pub(super) fn server_state(label: &str, method: Method) -> &'static str {
    match method {
        Method::Basic if label.ends_with("-cached") => {
            "password hashes + a cache of verified credentials"
        }
        Method::Basic => "password hashes",
        Method::ApiKey => "key table (hashes)",
        Method::Jwt if label.ends_with("hs256") => "none (a shared secret)",
        Method::Jwt => "none (a public key); a jti denylist to revoke",
        Method::OAuth2 if label.ends_with("opaque") => "token store, read on every request",
        Method::OAuth2 if label.ends_with("dpop") => "token store at the AS + a proof replay cache",
        Method::OAuth2 => "token store at the AS; none at the resource",
        Method::Mtls => "CA certificate + CRL + identity table",
        Method::Layered => "key table + CRL + identity bindings",
        Method::OpenApi => "",
    }
}

/// The threats the cases of `method` counter: countered when every judged
/// case naming one passed, open otherwise. `legitimate-use` is not a threat.
pub(super) fn security(method: Method, results: &Results) -> Option<Security> {
    let mut threats: std::collections::BTreeMap<&str, bool> = std::collections::BTreeMap::new();
    for case in results.cases.iter().filter(|c| c.method == method.name()) {
        if case.outcome == Outcome::Skip {
            continue;
        }
        for threat in case.threats.iter().filter(|t| *t != "legitimate-use") {
            let countered = threats.entry(threat).or_insert(true);
            *countered &= case.outcome == Outcome::Pass;
        }
    }
    if threats.is_empty() {
        return None;
    }
    let (countered, open): (Vec<_>, Vec<_>) = threats.into_iter().partition(|(_, ok)| *ok);
    Some(Security {
        countered: countered.into_iter().map(|(t, _)| t.to_owned()).collect(),
        open: open.into_iter().map(|(t, _)| t.to_owned()).collect(),
    })
}

/// The `advise` situations whose own recommendation is `label`.
pub(super) fn best_for(label: &str) -> Vec<String> {
    crate::commands::advise::BRANCHES
        .iter()
        .filter(|b| b.configurations.first() == Some(&label))
        .map(|b| b.id.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_as_people_write_them() {
        assert_eq!(duration_text(86_399), "24 h (exp)*");
        assert_eq!(duration_text(86_400), "24 h (exp)*");
        assert_eq!(duration_text(5_400), "1.5 h (exp)*");
        assert_eq!(duration_text(599), "10 min (exp)*");
        assert_eq!(duration_text(42), "42 s (exp)*");
    }

    #[test]
    fn every_situation_names_a_configuration_first() {
        let named: Vec<String> = super::super::labels().flat_map(best_for).collect();
        for branch in crate::commands::advise::BRANCHES {
            assert!(named.contains(&branch.id.to_owned()), "{} is best for nothing", branch.id);
        }
    }
}
