//! Public clients (RFC 6749 §2.1), which hold no credentials: their refresh
//! tokens must be rotated or sender-constrained (RFC 9700 §2.2.2, §4.14.2),
//! and a native app's loopback redirect URI takes any port (RFC 8252 §7.3,
//! RFC 9700 §4.1.3). Also the http redirect URIs RFC 9700 §2.6 forbids.

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::methods::oauth2::OAuth2Target;

/// The profile's `[oauth2]` as its public client sees it: no secret, its own
/// redirect URI, the same login.
fn as_public(s: &Session<'_>) -> Result<OAuth2Target, Verdict> {
    let public = s.t.public_client.as_ref().ok_or_else(|| {
        Verdict::skip("the profile's [oauth2] has no public_client (a client with no credentials)")
    })?;
    s.require_login()?;
    let mut t = s.t.clone();
    t.client_id.clone_from(&public.client_id);
    t.client_secret = None;
    t.redirect_uri = public.redirect_uri.clone();
    Ok(t)
}

/// An `http` URL whose host is a loopback IP literal (RFC 8252 §7.3).
pub(super) fn is_loopback_ip(u: &Url) -> bool {
    u.scheme() == "http"
        && match u.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            _ => false,
        }
}

pub(super) async fn public_client_refresh_protected(s: &Session<'_>, sev: Severity) -> Outcome {
    let t = as_public(s)?;
    let p = Session { shared: s.shared, t: &t, meta: s.meta.clone() };
    let tokens = p.code_flow().await?;
    let expected = "a public client's refresh token rotated on use, the used one refused after (RFC 9700 §2.2.2, §4.14.2)";
    let Some(old) = tokens.refresh_token.clone() else {
        return pass(expected, "no refresh token issued to the public client");
    };
    let r = refresh_with(&p, &old, &p.client_auth()).await?;
    let fresh = Tokens::from_response(&r).ok_or_else(|| {
        Verdict::error("a refresh with the public client's fresh refresh token", observe(&r))
    })?;
    let rotated = fresh.refresh_token.as_deref().is_some_and(|new| new != old);
    let again = refresh_with(&p, &old, &p.client_auth()).await?;
    match Tokens::from_response(&again) {
        Some(_) if rotated => unmet(
            sev,
            expected,
            "a new refresh token came back, and the used one still refreshes",
            "a stolen copy of the refresh token stays usable: rotation only protects when the used token is refused",
        ),
        Some(_) => unmet(
            sev,
            expected,
            "the same refresh token refreshes again and again",
            "a public client cannot keep its refresh token secret: without rotation or a DPoP binding a stolen one works until it expires",
        ),
        None if again.status >= 500 => {
            Err(Verdict::server_error(expected, observe(&again), again.status))
        }
        None if rotated => pass(expected, format!("rotated; the used one got {}", observe(&again))),
        None => pass(
            expected,
            format!("single use, none issued in its place; the used one got {}", observe(&again)),
        ),
    }
}

pub(super) async fn loopback_any_port(s: &Session<'_>, sev: Severity) -> Outcome {
    let t = as_public(s)?;
    if !is_loopback_ip(&t.redirect_uri) {
        return Err(Verdict::skip(
            "the public client's redirect URI is not a loopback IP literal over http (a native app's)",
        ));
    }
    let p = Session { shared: s.shared, t: &t, meta: s.meta.clone() };
    // The registered URI itself must work, or a refusal of the port proves nothing.
    p.code_for(&p.auth_request()).await?;
    let port = rand::random_range(49152..=65535u16);
    let mut uri = t.redirect_uri.clone();
    let _ = uri.set_port(Some(port));
    let mut req = p.auth_request();
    req.set("redirect_uri", uri.as_str());
    let outcome = p.authorize(&req.params).await?;
    let expected = "the native app's loopback redirect URI accepted with the port it picked, through to the tokens (RFC 8252 §7.3, RFC 9700 §4.1.3); another path still refused";
    let code = match (&outcome, outcome.param("code")) {
        (Authorized::Redirected(u), Some(code))
            if u.origin() == uri.origin() && u.path() == uri.path() =>
        {
            code
        }
        _ => {
            return unmet(
                sev,
                expected,
                format!("redirect_uri `{uri}`: {}", outcome.describe()),
                "a native app listens on whatever port the OS gives it: an AS that insists on one port breaks it or pushes it to a fixed, hijackable port",
            );
        }
    };
    let exchanged = p.exchange(&req, &code).await?;
    if Tokens::from_response(&exchanged).is_none() {
        return unmet(
            sev,
            expected,
            format!(
                "the code for port {port} was refused at the token endpoint: {}",
                observe(&exchanged)
            ),
            "the token endpoint compares the loopback redirect URI with its port",
        );
    }
    let mut other = uri.clone();
    other.set_path("/authbench-other-path");
    let mut req = p.auth_request();
    req.set("redirect_uri", other.as_str());
    let outcome = p.authorize(&req.params).await?;
    if outcome.param("code").is_some() {
        return unmet(
            sev,
            expected,
            format!("redirect_uri `{other}`: {}", outcome.describe()),
            "any loopback URI is accepted: only the port may vary",
        );
    }
    pass(
        expected,
        format!("port {port} accepted and exchanged; another path: {}", outcome.describe()),
    )
}

pub(super) async fn redirect_uri_http(s: &Session<'_>, sev: Severity) -> Outcome {
    let registered = s.t.redirect_uri.clone();
    let expected = "no code sent to an http redirect URI other than a native app's loopback one (RFC 9700 §2.6)";
    match registered.scheme() {
        "http" if is_loopback_ip(&registered) => {
            Err(Verdict::skip("the profile's redirect URI is a loopback one, which http may use"))
        }
        "http" => {
            let code = s.code_for(&s.auth_request()).await?;
            drop(code);
            unmet(
                sev,
                expected,
                format!("the profile's own redirect URI `{registered}` receives codes"),
                "codes and state travel unencrypted to a remote host",
            )
        }
        "https" => redirect_variant(s, sev, |r| r.replacen("https://", "http://", 1)).await,
        other => Err(Verdict::skip(format!(
            "the profile's redirect URI uses `{other}:` (a custom scheme), not https"
        ))),
    }
}

pub(super) async fn public_client_id_required(s: &Session<'_>, sev: Severity) -> Outcome {
    let t = as_public(s)?;
    let p = Session { shared: s.shared, t: &t, meta: s.meta.clone() };
    // The public client's own exchange works, or a refusal proves nothing.
    p.code_flow().await?;
    let req = p.auth_request();
    let code = p.code_for(&req).await?;
    let redirect = t.redirect_uri.to_string();
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", req.pkce.verifier.as_str()),
    ];
    let r = p.send(&RawRequest::form(s.meta.token_endpoint.clone(), &fields)).await?;
    let expected = "a public client's code exchange without client_id refused (RFC 6749 §4.1.3: REQUIRED of a client that does not authenticate)";
    if Tokens::from_response(&r).is_some() {
        return unmet(
            sev,
            expected,
            "tokens for the code alone, no client_id",
            "the exchange is tied to no client: the code's holder gets the tokens, whichever client it is",
        );
    }
    if r.status >= 500 {
        return Err(Verdict::server_error(expected, observe(&r), r.status));
    }
    pass(expected, observe(&r))
}
