//! The token endpoint: POST only, client authentication, error and
//! response shapes, grants refused and allowed.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) async fn token_get(s: &Session<'_>, sev: Severity) -> Outcome {
    let mut url = s.meta.token_endpoint.clone();
    url.query_pairs_mut().append_pair("grant_type", "client_credentials");
    let mut request = RawRequest::get(url);
    s.client_auth().apply_headers(&mut request);
    let r = s.send(&request).await?;
    let expected = "a GET to the token endpoint refused (RFC 6749 §3.2)";
    if (200..300).contains(&r.status) {
        unmet(sev, expected, observe(&r), "the token endpoint issued tokens on GET")
    } else if r.status >= 500 {
        unmet(sev, expected, observe(&r), "a server error")
    } else {
        pass(expected, observe(&r))
    }
}

pub(super) async fn client_secret_in_query(s: &Session<'_>, sev: Severity) -> Outcome {
    let Some(secret) = &s.t.client_secret else {
        return Err(Verdict::skip("the profile's client has no client_secret"));
    };
    let mut url = s.meta.token_endpoint.clone();
    url.query_pairs_mut()
        .append_pair("client_id", &s.t.client_id)
        .append_pair("client_secret", secret);
    let request = RawRequest::form(url, &[("grant_type", "client_credentials")]);
    let r = s.send(&request).await?;
    let expected = "credentials in the URL refused (RFC 6749 §2.3.1)";
    if (200..300).contains(&r.status) {
        unmet(sev, expected, observe(&r), "a client secret in the URL was accepted")
    } else {
        pass(expected, observe(&r))
    }
}

#[derive(Clone, Copy)]
pub(super) enum BadAuth {
    WrongSecret,
    UnknownClient,
    PostWrongSecret,
    TwoMethods,
    Missing,
}

pub(super) async fn client_auth_bad(s: &Session<'_>, sev: Severity, kind: BadAuth) -> Outcome {
    let Some(secret) = s.t.client_secret.clone() else {
        return Err(Verdict::skip("the profile's client has no client_secret"));
    };
    let id = s.t.client_id.clone();
    let wrong = format!("{secret}x");
    let (auth, expected, statuses, codes): (ClientAuth, &str, &[u16], &[&str]) = match kind {
        BadAuth::WrongSecret => (
            ClientAuth::Basic(id, wrong),
            "401 invalid_client with a WWW-Authenticate challenge (RFC 6749 §5.2)",
            &[401],
            &["invalid_client"],
        ),
        BadAuth::UnknownClient => (
            ClientAuth::Basic(
                format!(
                    "authbench-unknown-{}",
                    crate::methods::forge::random_string(crate::methods::forge::ALNUM, 8)
                ),
                secret,
            ),
            "401 invalid_client with a WWW-Authenticate challenge (RFC 6749 §5.2)",
            &[401],
            &["invalid_client"],
        ),
        BadAuth::PostWrongSecret => (
            ClientAuth::Post(id, wrong),
            "400 or 401 invalid_client (RFC 6749 §5.2)",
            &[400, 401],
            &["invalid_client"],
        ),
        BadAuth::TwoMethods => (
            ClientAuth::Both(id, secret),
            "invalid_request: two client authentication methods (RFC 6749 §2.3)",
            &[400, 401],
            &["invalid_request", "invalid_client"],
        ),
        BadAuth::Missing => (
            ClientAuth::IdOnly(id),
            "a confidential client without authentication refused: invalid_client",
            &[400, 401],
            &["invalid_client", "invalid_request", "unauthorized_client"],
        ),
    };
    let r = s.token(&[("grant_type", "client_credentials")], &auth).await?;
    let observed = observe(&r);
    if (200..300).contains(&r.status) {
        return unmet(sev, expected, observed, "tokens were issued");
    }
    let code = error_code(&r);
    if !statuses.contains(&r.status) || !code.as_deref().is_some_and(|c| codes.contains(&c)) {
        if r.status >= 500 {
            return server_error(expected, &r);
        }
        return form(
            "form:oauth-error",
            expected,
            observed,
            "refused, but not as RFC 6749 §5.2 says",
        );
    }
    if matches!(kind, BadAuth::WrongSecret | BadAuth::UnknownClient)
        && r.header("www-authenticate").is_none()
    {
        return form("form:no-challenge", expected, observed, "401 without WWW-Authenticate");
    }
    pass(expected, observed)
}

pub(super) const ERROR_CODES: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
    "invalid_dpop_proof",
    "use_dpop_nonce",
];

pub(super) async fn token_error_shape(s: &Session<'_>, sev: Severity) -> Outcome {
    let r = s
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", "authbench-no-such-code"),
                ("redirect_uri", s.t.redirect_uri.as_str()),
                ("code_verifier", &Pkce::new().verifier),
            ],
            &s.client_auth(),
        )
        .await?;
    let expected = "400, application/json, error from RFC 6749 §5.2, no CR/LF in error_description";
    let observed =
        format!("{} ({})", observe(&r), r.header("content-type").unwrap_or("no content type"));
    if r.status != 400 {
        return unmet(sev, expected, observed, "not 400");
    }
    if !r
        .header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/json"))
    {
        return unmet(sev, expected, observed, "the error is not JSON");
    }
    let Some(body) = r.json() else {
        return unmet(sev, expected, observed, "the body does not parse");
    };
    match body.get("error").and_then(Value::as_str) {
        Some(code) if ERROR_CODES.contains(&code) => {}
        _ => return unmet(sev, expected, observed, "error is missing or not a §5.2 code"),
    }
    if body
        .get("error_description")
        .and_then(Value::as_str)
        .is_some_and(|d| d.chars().any(|c| !(' '..='~').contains(&c)))
    {
        return unmet(sev, expected, observed, "error_description has characters outside %x20-7E");
    }
    pass(expected, observed)
}

pub(super) async fn successful_token_response(s: &Session<'_>) -> Result<RawResponse, Verdict> {
    let mut fields = vec![("grant_type", "client_credentials")];
    if let Some(scope) = &s.t.scope {
        fields.push(("scope", scope));
    }
    let r = s.token(&fields, &s.client_auth()).await?;
    if r.status == 200 {
        Ok(r)
    } else {
        Err(Verdict::error(
            "a token response",
            format!("client credentials answered {}", observe(&r)),
        ))
    }
}

pub(super) async fn token_response_header(
    s: &Session<'_>,
    sev: Severity,
    name: &str,
    token: &str,
) -> Outcome {
    let r = successful_token_response(s).await?;
    let expected = format!("{name}: {token} on the token response (RFC 6749 §5.1)");
    let values: Vec<&str> = r.header_values(name).collect();
    let observed = format!(
        "{name}: {}",
        if values.is_empty() { "absent".to_owned() } else { values.join(", ") }
    );
    if values.iter().any(|v| v.split(',').any(|d| d.trim().eq_ignore_ascii_case(token))) {
        pass(&expected, observed)
    } else {
        unmet(sev, &expected, observed, "tokens may be cached by intermediaries")
    }
}

pub(super) async fn token_response_shape(s: &Session<'_>, sev: Severity) -> Outcome {
    let r = successful_token_response(s).await?;
    let expected = "JSON with access_token, token_type Bearer or DPoP, expires_in a number";
    let Some(body) = r.json() else { return unmet(sev, expected, observe(&r), "not JSON") };
    let token_type = body.get("token_type").and_then(Value::as_str).unwrap_or_default();
    let observed = format!(
        "members {:?}",
        body.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default()
    );
    if body.get("access_token").and_then(Value::as_str).is_none() {
        return unmet(sev, expected, observed, "no access_token");
    }
    if !["bearer", "dpop", "n_a"].contains(&token_type.to_ascii_lowercase().as_str()) {
        return unmet(sev, expected, observed, "token_type missing or unknown");
    }
    if body.get("expires_in").is_some_and(|e| !e.is_u64()) {
        return unmet(sev, expected, observed, "expires_in is not a number");
    }
    pass(expected, observed)
}

pub(super) async fn grant_password(s: &Session<'_>, sev: Severity) -> Outcome {
    let (user, password) =
        s.t.login
            .as_ref()
            .and_then(|l| {
                let get = |k: &str| l.iter().find(|(n, _)| n.contains(k)).map(|(_, v)| v.clone());
                Some((get("user").or_else(|| get("login"))?, get("pass")?))
            })
            .unwrap_or_else(|| ("authbench".to_owned(), "authbench".to_owned()));
    let r = s
        .token(
            &[("grant_type", "password"), ("username", &user), ("password", &password)],
            &s.client_auth(),
        )
        .await?;
    judge_error(
        sev,
        "the password grant refused (RFC 9700 §2.4): unsupported_grant_type or unauthorized_client",
        &r,
        &["unsupported_grant_type", "unauthorized_client"],
    )
}

pub(super) async fn token_error(
    s: &Session<'_>,
    sev: Severity,
    fields: &[(&str, &str)],
    codes: &[&str],
) -> Outcome {
    let r = s.token(fields, &s.client_auth()).await?;
    judge_error(sev, &format!("400 {}", codes.join(" or ")), &r, codes)
}

pub(super) async fn client_credentials(s: &Session<'_>, sev: Severity) -> Outcome {
    // The token is judged by the server that issued it: the profile's
    // resource may serve users only (an OpenID Provider's userinfo does).
    let tokens = s.client_credentials().await?;
    let expected = "client credentials yield an access token the server reports active";
    let Some(url) = s.meta.introspection_endpoint.clone() else {
        let r = s.use_token(&tokens).await?;
        return if r.status == 200 {
            pass(expected, "no introspection endpoint; the resource accepts it")
        } else {
            unmet(sev, expected, observe(&r), "the resource refused the token")
        };
    };
    let r = s.post_form(&url, &[("token", &tokens.access_token)], &s.client_auth()).await?;
    match r.json().and_then(|b| b.get("active").and_then(Value::as_bool)) {
        Some(true) => pass(expected, "issued; introspection: active"),
        _ => unmet(sev, expected, observe(&r), "the token is not active"),
    }
}

// ---------------------------------------------------------------- refresh
