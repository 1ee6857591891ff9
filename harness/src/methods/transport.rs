//! What every method's endpoints owe before any credential: TLS 1.2 or 1.3
//! with a valid certificate, no TLS 1.0/1.1, no suite RFC 9325 forbids, and
//! nothing offered over plain HTTP. The same four cases for every method
//! whose resource is reached over TLS (`transport.toml`), judged on every
//! origin the method uses: the resource's, and for OAuth each endpoint its
//! metadata names.

use std::sync::Arc;

use authbench_scenarios::Case;
use url::Url;

use super::{Method, Shared, StepFuture, spec};
use crate::client::tls_probe::{self, Offer, Reply, version_name};
use crate::client::{RawRequest, SendError};
use crate::verdict::Verdict;

/// The steps, by the name after `<method>::`.
pub const STEPS: [&str; 5] = [
    "tls-handshake",
    "tls-legacy-versions-refused",
    "tls-weak-ciphers-refused",
    "tls-discouraged-suites-refused",
    "plain-http-refused",
];

/// Runs transport step `name` of `method`; `None` for another name.
pub fn run<'a>(
    shared: &'a Shared,
    case: &'a Case,
    method: Method,
    name: &str,
) -> Option<StepFuture<'a>> {
    let which = STEPS.iter().position(|s| *s == name)?;
    Some(Box::pin(async move {
        let urls = match spec(method).transport_urls(shared).await {
            Ok(urls) => urls,
            Err(v) => return v,
        };
        let origins = origins(&urls);
        if origins.is_empty() {
            return Verdict::skip("the method's profile section names no endpoint");
        }
        let https: Vec<&Url> = origins.iter().filter(|u| u.scheme() == "https").collect();
        if which < 4 && https.is_empty() {
            return Verdict::skip("every endpoint is plain http; `plain-http-refused` judges that");
        }
        match which {
            0 => handshake(shared, method, &https).await,
            1 => offered(shared, case, method, &https, Offer::Legacy).await,
            2 => offered(shared, case, method, &https, Offer::WeakSuites).await,
            3 => offered(shared, case, method, &https, Offer::Discouraged).await,
            _ => plain_http(shared, case, &distinct(urls)).await,
        }
    }))
}

/// One URL per origin (scheme, host, port), the first seen of each.
fn origins(urls: &[Url]) -> Vec<Url> {
    let mut out: Vec<Url> = Vec::new();
    for u in urls {
        if !out.iter().any(|o| o.origin() == u.origin()) {
            out.push(u.clone());
        }
    }
    out
}

/// Each URL once, in order.
fn distinct(urls: Vec<Url>) -> Vec<Url> {
    let mut out: Vec<Url> = Vec::new();
    for u in urls {
        if !out.contains(&u) {
            out.push(u);
        }
    }
    out
}

fn origin_of(u: &Url) -> String {
    u.origin().ascii_serialization()
}

async fn handshake(shared: &Shared, method: Method, urls: &[&Url]) -> Verdict {
    let expected = "a TLS 1.2 or 1.3 handshake with a certificate valid for the host";
    let identity = spec(method).transport_identity(shared);
    let mut seen = Vec::new();
    for url in urls {
        match shared.client.handshake(url, identity.clone()).await {
            Ok(n) => seen.push(format!("{}: {} {}", origin_of(url), n.version, n.suite)),
            Err(SendError::Tls { reason, .. }) => {
                return Verdict::unmet(
                    authbench_scenarios::Severity::Must,
                    expected.to_owned(),
                    format!("{}: {reason}", origin_of(url)),
                    "no verified TLS 1.2 or 1.3 handshake: an invalid or untrusted certificate, or no modern version",
                );
            }
            Err(e) => return Verdict::unanswered(expected, &e),
        }
    }
    Verdict::pass(expected.to_owned(), seen.join("; "))
}

async fn offered(
    shared: &Shared,
    case: &Case,
    method: Method,
    urls: &[&Url],
    offer: Offer,
) -> Verdict {
    let (expected, why) = match offer {
        Offer::Legacy => (
            "a TLS alert or a close to a ClientHello offering TLS 1.0 and 1.1 only",
            "a deprecated TLS version was negotiated (RFC 8996 §2–3: MUST NOT)",
        ),
        Offer::WeakSuites => (
            "a TLS alert or a close to a ClientHello offering only NULL, RC4, export, DES and anonymous suites",
            "a suite RFC 9325 §4.1 forbids was chosen",
        ),
        Offer::Discouraged => (
            "a TLS alert or a close to a TLS 1.2 ClientHello offering only static-RSA and 3DES suites",
            "a suite RFC 9325 §4.1 says not to negotiate was chosen: static-RSA key transport (no forward secrecy) or 3DES",
        ),
    };
    let mut seen = Vec::new();
    let identity = spec(method).transport_identity(shared);
    for url in urls {
        // The control: a modern handshake works here, so a refusal of the
        // probe is a choice, not a server that refuses everything.
        if let Err(e) = shared.client.handshake(url, identity.clone()).await {
            return Verdict::error(
                expected,
                format!(
                    "{}: no TLS 1.2/1.3 handshake either ({e}), so a refusal proves nothing",
                    origin_of(url)
                ),
            );
        }
        match tls_probe::offer(url, offer, shared.client.timeout()).await {
            Ok(Reply::Accepted { version, suite }) => {
                let agreed = match offer {
                    Offer::Legacy => version < 0x0303,
                    Offer::WeakSuites => tls_probe::is_weak_suite(suite),
                    Offer::Discouraged => tls_probe::is_discouraged_suite(suite),
                };
                if agreed {
                    return Verdict::unmet(
                        case.severity,
                        expected.to_owned(),
                        format!(
                            "{}: a ServerHello for {} with suite 0x{suite:04x}",
                            origin_of(url),
                            version_name(version)
                        ),
                        why,
                    );
                }
                seen.push(format!(
                    "{}: a ServerHello for {} with suite 0x{suite:04x}, neither offered",
                    origin_of(url),
                    version_name(version)
                ));
            }
            Ok(Reply::Refused(how)) => seen.push(format!("{}: {how}", origin_of(url))),
            Err(e) => return Verdict::unanswered(expected, &e),
        }
    }
    Verdict::pass(expected.to_owned(), seen.join("; "))
}

/// The plain-HTTP twins of an https URL: the same port (a server speaking
/// both there), and port 80 when the API is on 443 (the usual second
/// listener). A plain-http URL is its own twin.
fn plain_twins(url: &Url) -> Vec<Url> {
    if url.scheme() == "http" {
        return vec![url.clone()];
    }
    let mut same = url.clone();
    let port = url.port_or_known_default().unwrap_or(443);
    if same.set_scheme("http").is_err() || same.set_port(Some(port)).is_err() {
        return Vec::new();
    }
    let mut out = vec![same];
    if port == 443 {
        let mut eighty = url.clone();
        if eighty.set_scheme("http").is_ok() && eighty.set_port(None).is_ok() {
            out.push(eighty);
        }
    }
    out
}

/// Whether a plain-HTTP answer shows the endpoint at work: it asks for
/// credentials (a challenge), or answers as an OAuth endpoint does (a JSON
/// error or token), or serves. A redirect (to https, one hopes), a bare 400
/// ("plain HTTP sent to an HTTPS port") or a 404 offers nothing.
fn offers_service(r: &crate::client::RawResponse) -> bool {
    let challenge = r.header("www-authenticate").is_some();
    // RFC 6749 §5.2 and RFC 6750 §3.1 error codes: an OAuth endpoint at work.
    const OAUTH_ERRORS: [&str; 9] = [
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "unsupported_response_type",
        "invalid_token",
        "insufficient_scope",
    ];
    let oauth_json = r.json().is_some_and(|j| {
        j.get("access_token").is_some()
            || j.get("error").and_then(|e| e.as_str()).is_some_and(|e| OAUTH_ERRORS.contains(&e))
    });
    challenge || oauth_json || (200..300).contains(&r.status)
}

async fn plain_http(shared: &Shared, case: &Case, urls: &[Url]) -> Verdict {
    let expected = "no endpoint at work over plain HTTP: refused connections, redirects, or errors that ask for nothing";
    let mut seen = Vec::new();
    let (local, judged): (Vec<&Url>, Vec<&Url>) =
        urls.iter().partition(|u| u.scheme() == "http" && is_loopback(u));
    if judged.is_empty() {
        return Verdict::skip(format!(
            "the target is plain HTTP on loopback ({}): a development setup, where nothing travels off the machine",
            local.iter().map(|u| origin_of(u)).collect::<Vec<_>>().join(", ")
        ));
    }
    for url in judged {
        for twin in plain_twins(url) {
            // No credential goes out in clear: an endpoint that asks for one,
            // or answers as OAuth does, is offered over plain HTTP already.
            let request = RawRequest::get(twin.clone());
            match shared.client.send(&request).await {
                Ok(r) if offers_service(&r) => {
                    return Verdict::unmet(
                        case.severity,
                        expected.to_owned(),
                        format!("{twin}: {}", crate::verdict::observe(&r)),
                        "the endpoint is offered over plain HTTP, where credentials travel in clear",
                    );
                }
                Ok(r) => seen.push(format!("{twin}: {}", r.status)),
                Err(SendError::Timeout(_)) => seen.push(format!("{twin}: no answer")),
                Err(e) => seen.push(format!("{twin}: {}", short(&e))),
            }
        }
    }
    Verdict::pass(expected.to_owned(), seen.join("; "))
}

fn is_loopback(u: &Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn short(e: &SendError) -> &'static str {
    match e {
        SendError::Connect { .. } => "connection refused",
        SendError::Closed(_) => "closed without an answer",
        SendError::Protocol(_) => "not HTTP",
        _ => "no HTTP answer",
    }
}

/// A method's default endpoints: the URLs its profile section names.
pub fn profile_urls(shared: &Shared, method: Method) -> Vec<Url> {
    spec(method).urls(shared.forge.target()).into_iter().cloned().collect()
}

/// The identity to present where the endpoint wants a client certificate.
pub type Identity = Option<Arc<crate::client::ClientIdentity>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_twins_are_the_same_port_and_80_behind_443() {
        let twins = |u: &str| -> Vec<String> {
            plain_twins(&Url::parse(u).unwrap()).iter().map(|u| u.to_string()).collect()
        };
        assert_eq!(twins("https://api.test/x"), ["http://api.test:443/x", "http://api.test/x"]);
        assert_eq!(twins("https://127.0.0.1:8443/x"), ["http://127.0.0.1:8443/x"]);
        assert_eq!(twins("http://127.0.0.1:8080/x"), ["http://127.0.0.1:8080/x"]);
    }
}
