//! The authorization endpoint: metadata, redirect URI matching, `state`,
//! `iss`, parameters and response types.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) fn metadata(s: &Session<'_>, sev: Severity) -> Outcome {
    let expected = "metadata whose issuer is the profile's issuer, with https endpoints";
    let want = s.t.issuer.as_str().trim_end_matches('/');
    let observed = format!("issuer `{}` at {}", s.meta.issuer, s.meta.found_at);
    if s.meta.issuer.trim_end_matches('/') != want {
        return unmet(sev, expected, observed, "the metadata names another issuer (RFC 8414 §3.3)");
    }
    match endpoint_problem(&s.meta) {
        Some((url, why)) => unmet(sev, expected, format!("{observed}; {url}"), why),
        None => pass(expected, observed),
    }
}

/// The first endpoint the metadata names that is not https, or that has a
/// fragment (RFC 6749 §3.1, §3.2: the endpoint URI MUST NOT include one).
fn endpoint_problem(meta: &Metadata) -> Option<(Url, &'static str)> {
    meta.endpoints().into_iter().find_map(|u| {
        if u.scheme() != "https" {
            Some((u, "an endpoint is not https"))
        } else if u.fragment().is_some() {
            Some((u, "an endpoint URI has a fragment (RFC 6749 §3.1: MUST NOT)"))
        } else {
            None
        }
    })
}

pub(super) fn metadata_pkce(s: &Session<'_>, sev: Severity) -> Outcome {
    let expected = "code_challenge_methods_supported lists S256 and not plain";
    let methods = s.meta.list("code_challenge_methods_supported");
    let observed = format!("code_challenge_methods_supported: {methods:?}");
    if !methods.iter().any(|m| m == "S256") {
        return unmet(
            sev,
            expected,
            observed,
            "S256 is not advertised (RFC 8414 §2, RFC 9700 §2.1.1)",
        );
    }
    if methods.iter().any(|m| m == "plain") {
        return unmet(sev, expected, observed, "plain is advertised");
    }
    pass(expected, observed)
}

pub(super) fn metadata_no_implicit(s: &Session<'_>, sev: Severity) -> Outcome {
    let expected = "neither the implicit nor the password grant advertised";
    let responses = s.meta.list("response_types_supported");
    let grants = s.meta.list("grant_types_supported");
    let observed = format!("response_types {responses:?}, grant_types {grants:?}");
    let implicit = responses.iter().any(|r| r.split(' ').any(|p| p == "token"));
    let password = grants.iter().any(|g| g == "password" || g == "implicit");
    if implicit || password {
        return unmet(
            sev,
            expected,
            observed,
            "a grant RFC 9700 §2.1.2 and §2.4 rule out is offered",
        );
    }
    pass(expected, observed)
}

// ---------------------------------------------------------------- authorization endpoint

pub(super) async fn redirect_variant(
    s: &Session<'_>,
    sev: Severity,
    variant: impl Fn(&str) -> String,
) -> Outcome {
    // A valid request must get a page or a code, or an error page for the
    // altered one proves nothing.
    authorization_works(s).await?;
    let registered = s.t.redirect_uri.clone();
    let bad = variant(registered.as_str());
    let mut req = s.auth_request();
    req.set("redirect_uri", &bad);
    let outcome = s.authorize(&req.params).await?;
    judge_redirect(sev, &outcome, &registered, &bad)
}

/// The verdict on an authorization request whose redirect_uri was `bad`.
fn judge_redirect(sev: Severity, outcome: &Authorized, registered: &Url, bad: &str) -> Outcome {
    let expected = "an error page; nothing sent to the altered redirect_uri";
    let observed = format!("redirect_uri `{bad}`: {}", outcome.describe());
    match outcome {
        Authorized::NeedsLogin => Err(Verdict::skip(
            "the server asks for a login before judging the redirect_uri; give [oauth2] login",
        )),
        Authorized::Page { status, .. } if *status >= 500 => {
            unmet(sev, expected, observed, "a server error")
        }
        Authorized::Page { .. } => pass(expected, observed),
        Authorized::Redirected(u)
            if is_registered(u, registered) && outcome.param("code").is_none() =>
        {
            warn(expected, observed, "redirected to the registered URI instead of an error page")
        }
        // The altered URI ignored and the code sent to the registered one:
        // nothing reached the attacker's URI, but the request was not refused.
        Authorized::Redirected(u) if is_registered(&without_code(u), registered) => warn(
            expected,
            observed,
            "the altered redirect_uri was ignored and the code sent to the registered URI; nothing leaked, but RFC 6749 §4.1.2.1 asks for an error page",
        ),
        Authorized::Redirected(_) => {
            unmet(sev, expected, observed, "the server redirected to a URI that is not registered")
        }
    }
}

/// `u` without its `code` parameter.
fn without_code(u: &Url) -> Url {
    let mut out = u.clone();
    let kept: Vec<(String, String)> =
        u.query_pairs().filter(|(n, _)| n != "code").map(|(n, v)| (n.into(), v.into())).collect();
    out.set_query(None);
    if !kept.is_empty() {
        out.query_pairs_mut().extend_pairs(kept);
    }
    out
}

pub(super) async fn redirect_mismatch_at_token(s: &Session<'_>, sev: Severity) -> Outcome {
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    let mut other = req.clone();
    other
        .set("redirect_uri", &format!("{}/other", s.t.redirect_uri.as_str().trim_end_matches('/')));
    let r = s.exchange(&other, &code).await?;
    judge_error(
        sev,
        "400 invalid_grant: redirect_uri differs from the authorization request",
        &r,
        &["invalid_grant"],
    )
}

pub(super) async fn state_echoed(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let state = format!(
        "{}-._~ +/=%&;{}",
        crate::methods::forge::random_string(crate::methods::forge::ALNUM, 40),
        "s".repeat(200)
    );
    let mut req = s.auth_request();
    req.set("state", &state);
    let outcome = s.authorize(&req.params).await?;
    let expected = "the state (256 characters, with reserved ones) returned unchanged";
    match outcome.param("state") {
        Some(got) if got == state => pass(expected, "echoed exactly"),
        Some(got) => unmet(
            sev,
            expected,
            format!("returned {} characters, different", got.len()),
            "state was altered",
        ),
        None => unmet(sev, expected, outcome.describe(), "no state in the response"),
    }
}

pub(super) async fn iss_in_response(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let req = s.auth_request();
    let outcome = s.authorize(&req.params).await?;
    let expected = "iss equal to the issuer in the authorization response (RFC 9207)";
    match outcome.param("iss") {
        Some(iss) if iss.trim_end_matches('/') == s.meta.issuer.trim_end_matches('/') => {
            pass(expected, format!("iss={iss}"))
        }
        Some(iss) => unmet(sev, expected, format!("iss={iss}"), "iss differs from the issuer"),
        None => unmet(sev, expected, outcome.describe(), "no iss: mix-up attacks go unnoticed"),
    }
}

pub(super) async fn duplicate_authorization_parameter(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let mut req = s.auth_request();
    let other = Pkce::new();
    req.params.push(("code_challenge".to_owned(), other.challenge));
    let outcome = s.authorize(&req.params).await?;
    let expected = "an error (invalid_request), no code, for a repeated code_challenge";
    let observed = outcome.describe();
    if outcome.param("code").is_some() {
        return unmet(sev, expected, observed, "a code was issued for an ambiguous request");
    }
    pass(expected, observed)
}

pub(super) async fn unknown_parameter_ignored(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let mut req = s.auth_request();
    req.set("authbench_unknown", "1");
    let outcome = s.authorize(&req.params).await?;
    let expected = "a code: unknown parameters are ignored (RFC 6749 §3.1)";
    if outcome.param("code").is_some() {
        pass(expected, outcome.describe())
    } else {
        unmet(
            sev,
            expected,
            outcome.describe(),
            "the request failed because of an unknown parameter",
        )
    }
}

pub(super) async fn response_type_token(s: &Session<'_>, sev: Severity) -> Outcome {
    let mut req = s.auth_request();
    req.set("response_type", "token");
    let outcome = s.authorize(&req.params).await?;
    let expected = "no access token from the authorization endpoint (RFC 9700 §2.1.2)";
    let observed = outcome.describe();
    let leaked = match &outcome {
        Authorized::Redirected(u) => {
            u.fragment().is_some_and(|f| f.contains("access_token"))
                || outcome.param("access_token").is_some()
        }
        _ => false,
    };
    if leaked {
        unmet(sev, expected, observed, "the implicit grant issued a token")
    } else if matches!(outcome, Authorized::NeedsLogin) {
        Err(Verdict::skip("the server asks for a login first; give [oauth2] login"))
    } else {
        pass(expected, observed)
    }
}

// ---------------------------------------------------------------- codes

/// The control of the cases whose pass is an error page: a valid
/// authorization request does not end on one (a login page, a consent page
/// or a code is fine).
pub(super) async fn authorization_works(s: &Session<'_>) -> Result<(), Verdict> {
    match s.authorize(&s.auth_request().params).await? {
        Authorized::Page { status, url, .. } if status >= 400 => Err(Verdict::error(
            "a page or a code for a valid authorization request",
            format!(
                "the valid request ended on a {status} page at {}, so an error page proves nothing",
                url.path()
            ),
        )),
        _ => Ok(()),
    }
}

pub(super) async fn unknown_client_no_redirect(s: &Session<'_>, sev: Severity) -> Outcome {
    authorization_works(s).await?;
    let mut req = s.auth_request();
    req.set("client_id", "authbench-unknown-client");
    let outcome = s.authorize(&req.params).await?;
    let expected = "an error page for an unknown client, never a redirect (RFC 6749 §4.1.2.1, RFC 9700 §4.11.2)";
    let observed = outcome.describe();
    match &outcome {
        Authorized::Redirected(_) => {
            unmet(sev, expected, observed, "an unknown client's redirect_uri was trusted")
        }
        Authorized::Page { status, .. } if *status >= 500 => {
            Err(Verdict::server_error(expected, observed, *status))
        }
        _ => pass(expected, observed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(outcome: &Authorized) -> Option<&'static str> {
        let registered = Url::parse("https://client.test/cb").unwrap();
        match judge_redirect(Severity::Must, outcome, &registered, "https://client.test/cb/evil") {
            Ok(v) | Err(v) => Some(v.outcome.as_str()),
        }
    }

    #[test]
    fn endpoints_must_be_https_without_fragments() {
        let meta = |auth: &str| Metadata {
            issuer: "https://as.test".to_owned(),
            authorization_endpoint: Url::parse(auth).unwrap(),
            token_endpoint: Url::parse("https://as.test/token").unwrap(),
            revocation_endpoint: None,
            introspection_endpoint: None,
            found_at: Url::parse("https://as.test/.well-known/oauth-authorization-server").unwrap(),
            raw: serde_json::json!({}),
        };
        assert!(endpoint_problem(&meta("https://as.test/authorize")).is_none());
        assert!(endpoint_problem(&meta("https://as.test/authorize#x")).is_some());
        assert!(endpoint_problem(&meta("http://as.test/authorize")).is_some());
    }

    #[test]
    fn a_code_sent_to_the_registered_uri_is_not_a_leak() {
        let to = |u: &str| Authorized::Redirected(Url::parse(u).unwrap());
        // Ignoring the altered URI and answering the registered one: not an error page, no leak.
        assert_eq!(verdict(&to("https://client.test/cb?code=abc&state=s")), Some("warn"));
        assert_eq!(verdict(&to("https://client.test/cb?error=invalid_request")), Some("warn"));
        // The altered URI, with or without a code: the leak the case hunts.
        assert_eq!(verdict(&to("https://client.test/cb/evil?code=abc")), Some("fail"));
        assert_eq!(verdict(&to("https://client.test/cb?code=abc&x=1")), Some("fail"));
        let page = Authorized::Page {
            status: 400,
            url: Url::parse("https://as.test/authorize").unwrap(),
            excerpt: String::new(),
        };
        assert_eq!(verdict(&page), Some("pass"));
    }
}
