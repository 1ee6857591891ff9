//! Pushed authorization requests (RFC 9126), when the metadata advertises a
//! `pushed_authorization_request_endpoint`: the flow through it, client
//! authentication at it, and the `request_uri` it issues — bound to its
//! client, used once, unguessable, and dead after its `expires_in`.

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::methods::oauth2::AuthRequest;

/// The `request_uri` prefix RFC 9126 §2.2 shows; the random part follows.
const URN_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The longest `expires_in` the expiry case waits out: within a case's
/// deadline (a minute) with room for the pushes and walks around the wait.
const MAX_WAIT_SECS: u64 = 45;

/// The PAR endpoint, or a skip.
pub(super) fn endpoint(s: &Session<'_>) -> Result<Url, Verdict> {
    s.meta
        .raw
        .get("pushed_authorization_request_endpoint")
        .and_then(Value::as_str)
        .and_then(|u| Url::parse(u).ok())
        .ok_or_else(|| {
            Verdict::skip(
                "the metadata advertises no pushed_authorization_request_endpoint (RFC 9126 §5)",
            )
        })
}

/// Pushes `req` with `auth`: the answer.
pub(super) async fn push_with(
    s: &Session<'_>,
    req: &AuthRequest,
    auth: &ClientAuth,
) -> Result<RawResponse, Verdict> {
    let url = endpoint(s)?;
    // `client_id` goes where the authentication puts it, once.
    let fields: Vec<(&str, &str)> = req
        .params
        .iter()
        .filter(|(n, _)| n != "client_id" || matches!(auth, ClientAuth::Basic(..)))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    Ok(s.post_form(&url, &fields, auth).await?)
}

/// Pushes `req` as the profile's client: its `request_uri` and `expires_in`.
async fn pushed(s: &Session<'_>, req: &AuthRequest) -> Result<(String, Option<u64>), Verdict> {
    let r = push_with(s, req, &s.client_auth()).await?;
    let body = r.json().filter(|_| (200..300).contains(&r.status));
    let request_uri = body.as_ref().and_then(|b| b.get("request_uri")).and_then(Value::as_str);
    match request_uri {
        Some(uri) => Ok((
            uri.to_owned(),
            body.as_ref().and_then(|b| b.get("expires_in")).and_then(Value::as_u64),
        )),
        None => Err(Verdict::error(
            "201 with a request_uri for a valid pushed request (RFC 9126 §2.2)",
            format!("the PAR endpoint answered {}", observe(&r)),
        )),
    }
}

/// The authorization request that uses `request_uri` as `client_id`.
async fn authorize_pushed(
    s: &Session<'_>,
    client_id: &str,
    request_uri: &str,
) -> Result<Authorized, Verdict> {
    let params = [
        ("client_id".to_owned(), client_id.to_owned()),
        ("request_uri".to_owned(), request_uri.to_owned()),
    ];
    Ok(s.authorize(&params).await?)
}

/// A use of a `request_uri` that must not yield a code.
fn judge_refused(sev: Severity, expected: &str, outcome: &Authorized, why: &str) -> Outcome {
    let observed = outcome.describe();
    match outcome {
        Authorized::Page { status, .. } if *status >= 500 => {
            Err(Verdict::server_error(expected, observed, *status))
        }
        _ if outcome.param("code").is_some() => unmet(sev, expected, observed, why),
        _ => pass(expected, observed),
    }
}

pub(super) async fn par_flow(s: &Session<'_>, sev: Severity) -> Outcome {
    endpoint(s)?;
    s.require_login()?;
    let req = s.auth_request();
    let (request_uri, _) = pushed(s, &req).await?;
    let outcome = authorize_pushed(s, &s.t.client_id, &request_uri).await?;
    let expected = "a pushed request's request_uri completes the code flow (RFC 9126 §4)";
    let Some(code) = outcome.param("code") else {
        return unmet(sev, expected, outcome.describe(), "the request_uri did not yield a code");
    };
    let r = s.exchange(&req, &code).await?;
    match Tokens::from_response(&r) {
        Some(_) => pass(expected, "pushed, authorized, and exchanged for tokens"),
        None => {
            unmet(sev, expected, observe(&r), "the code from the pushed request was not exchanged")
        }
    }
}

pub(super) async fn par_requires_client_auth(s: &Session<'_>, sev: Severity) -> Outcome {
    endpoint(s)?;
    let ClientAuth::Basic(client_id, _) = s.client_auth() else {
        return Err(Verdict::skip(
            "the profile's client has no secret: a public client pushes with its client_id",
        ));
    };
    // The control: an authenticated push works, so a refusal is a choice.
    pushed(s, &s.auth_request()).await?;
    let r = push_with(s, &s.auth_request(), &ClientAuth::IdOnly(client_id)).await?;
    judge_error(
        sev,
        "401 invalid_client: a confidential client's push needs its authentication (RFC 9126 §2.1)",
        &r,
        &["invalid_client", "invalid_request", "unauthorized_client"],
    )
}

pub(super) async fn par_bound_to_client(s: &Session<'_>, sev: Severity) -> Outcome {
    endpoint(s)?;
    s.require_login()?;
    let other = s.t.other_client.as_ref().ok_or_else(|| {
        Verdict::skip("the profile's [oauth2] has no other_client for cross-client cases")
    })?;
    let (request_uri, _) = pushed(s, &s.auth_request()).await?;
    let outcome = authorize_pushed(s, &other.client_id, &request_uri).await?;
    judge_refused(
        sev,
        "no code when another client_id presents the request_uri (RFC 9126 §4)",
        &outcome,
        "a request_uri pushed by one client was used by another",
    )
}

pub(super) async fn par_one_time(s: &Session<'_>, sev: Severity) -> Outcome {
    endpoint(s)?;
    s.require_login()?;
    let (request_uri, _) = pushed(s, &s.auth_request()).await?;
    let first = authorize_pushed(s, &s.t.client_id, &request_uri).await?;
    if first.param("code").is_none() {
        return Err(Verdict::error("a code for a fresh request_uri", first.describe()));
    }
    let again = authorize_pushed(s, &s.t.client_id, &request_uri).await?;
    judge_refused(
        sev,
        "no second code from a request_uri that completed a flow (RFC 9126 §4)",
        &again,
        "the request_uri worked twice: whoever sees it can start the flow again",
    )
}

pub(super) async fn par_request_uri_entropy(s: &Session<'_>, sev: Severity) -> Outcome {
    endpoint(s)?;
    let (request_uri, _) = pushed(s, &s.auth_request()).await?;
    let random = request_uri.strip_prefix(URN_PREFIX).unwrap_or(&request_uri);
    judge_entropy(sev, "request_uri's random part", random)
}

pub(super) async fn par_request_uri_expires(s: &Session<'_>, sev: Severity) -> Outcome {
    endpoint(s)?;
    s.require_login()?;
    let (request_uri, expires_in) = pushed(s, &s.auth_request()).await?;
    let Some(secs) = expires_in else {
        return Err(Verdict::skip("the PAR response states no expires_in"));
    };
    if secs > MAX_WAIT_SECS {
        return Err(Verdict::skip(format!(
            "the request_uri lives {secs} s; the case waits at most {MAX_WAIT_SECS} s"
        )));
    }
    tokio::time::sleep(std::time::Duration::from_secs(secs + 2)).await;
    let outcome = authorize_pushed(s, &s.t.client_id, &request_uri).await?;
    judge_refused(
        sev,
        &format!("no code from a request_uri 2 s past its expires_in of {secs} s (RFC 9126 §2.2)"),
        &outcome,
        "the request_uri outlived the expires_in the server stated",
    )
}

pub(super) async fn par_required_as_advertised(s: &Session<'_>, sev: Severity) -> Outcome {
    endpoint(s)?;
    s.require_login()?;
    let required = s.meta.raw.get("require_pushed_authorization_requests").and_then(Value::as_bool);
    let outcome = s.authorize(&s.auth_request().params).await?;
    let code = outcome.param("code").is_some();
    match required {
        Some(true) if code => unmet(
            sev,
            "no code for a request that was not pushed: the metadata says require_pushed_authorization_requests",
            outcome.describe(),
            "PAR is advertised as required and not enforced: clients that trust the metadata are not protected by it",
        ),
        Some(true) => pass(
            "no code for a request that was not pushed (require_pushed_authorization_requests)",
            outcome.describe(),
        ),
        _ if code => pass(
            "PAR optional, as the metadata says: a plain request still yields a code",
            outcome.describe(),
        ),
        _ => Err(Verdict::error(
            "a code for a plain request: the metadata does not require PAR",
            outcome.describe(),
        )),
    }
}
