//! Does the authorization server fetch a `request_uri` that no one
//! registered? RFC 9101 lets a request object be passed by reference, and
//! §10.4.1 asks the server to check that the URI does not point somewhere
//! unexpected: an authorization server that fetches whatever an
//! unauthenticated browser names is a server-side request forgery at a
//! pre-authentication endpoint (as in CVE-2026-54885 and GHSA-x4rv-c3wx-4cr8).
//! A pushed request may not carry a `request_uri` at all (RFC 9126 §2.1).
//!
//! The URIs point at the run's out-of-band listener; only its record
//! judges. Where the target cannot reach the listener the case skips.

use std::time::Duration;

#[allow(clippy::wildcard_imports)]
use super::*;

/// This case's listener names (other cases plant their own).
const PREFIX: &str = "ssrf/oauth-request-uri-";

/// How long a fetch may lag behind the answer and still be seen.
const LATE_FETCH: Duration = Duration::from_secs(1);

pub(super) async fn request_uri_not_fetched(s: &Session<'_>, sev: Severity) -> Outcome {
    let expected = "no request_uri naming another server is fetched, at the authorization or the PAR endpoint (RFC 9101 §10.4.1, RFC 9126 §2.1)";
    let Some(callback) = s.shared.forge.callback() else {
        return Err(Verdict::skip(
            "the target is not on loopback and the profile has no [callback]: authbench cannot observe what the target fetches",
        ));
    };
    let mut sent = Vec::new();
    let mut req = s.auth_request();
    let uri = callback.url(&format!("{PREFIX}authorize")).to_string();
    req.params.push(("request_uri".to_owned(), uri));
    let outcome = s.authorize(&req.params).await?;
    if let Authorized::Page { status, .. } = &outcome {
        if *status >= 500 {
            return Err(Verdict::server_error(expected, outcome.describe(), *status));
        }
        // No authorization endpoint there: nothing read the request_uri,
        // so its not being fetched proves nothing.
        if matches!(status, 404 | 405) {
            return Err(Verdict::error(
                expected,
                format!("the authorization endpoint answered {}", outcome.describe()),
            ));
        }
    }
    sent.push(format!("authorization request: {}", outcome.describe()));
    if par::endpoint(s).is_ok() {
        let mut pushed = s.auth_request();
        pushed
            .params
            .push(("request_uri".to_owned(), callback.url(&format!("{PREFIX}par")).to_string()));
        let r = par::push_with(s, &pushed, &s.client_auth()).await?;
        sent.push(format!("pushed request: {}", observe(&r)));
    }
    let hits = callback.wait(PREFIX, LATE_FETCH).await;
    if let Some(first) = hits.first() {
        let at = if first.name.ends_with("par") {
            "the PAR endpoint"
        } else {
            "the authorization endpoint"
        };
        let fetched: Vec<String> = hits.iter().take(3).map(ToString::to_string).collect();
        return unmet(
            sev,
            expected,
            format!("{}; the listener saw {}", sent.join("; "), fetched.join("; ")),
            &format!(
                "{at} fetches a request_uri any browser can name: a server-side request forgery before any authentication"
            ),
        );
    }
    pass(
        expected,
        format!(
            "{}; nothing reached the listener within {} s",
            sent.join("; "),
            LATE_FETCH.as_secs()
        ),
    )
}
