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

/// The client credentials request's fields, as [`Session::client_credentials`] sends them.
fn client_credentials_fields<'s>(s: &'s Session<'_>) -> Vec<(&'s str, &'s str)> {
    let mut fields = vec![("grant_type", "client_credentials")];
    if let Some(scope) = &s.t.scope {
        fields.push(("scope", scope));
    }
    if let Some(resource) = &s.t.resource {
        fields.push(("resource", resource));
    }
    fields
}

pub(super) async fn token_unknown_parameter(s: &Session<'_>, sev: Severity) -> Outcome {
    // The control: the same request without the parameter yields tokens.
    s.client_credentials().await?;
    let mut fields = client_credentials_fields(s);
    fields.push(("authbench_unknown", "1"));
    let r = s.token(&fields, &s.client_auth()).await?;
    let expected = "tokens: an unknown parameter is ignored (RFC 6749 §3.2)";
    if Tokens::from_response(&r).is_some() {
        pass(expected, format!("{} with tokens", r.status))
    } else if r.status >= 500 {
        Err(Verdict::server_error(expected, observe(&r), r.status))
    } else {
        unmet(sev, expected, observe(&r), "the request failed because of an unknown parameter")
    }
}

pub(super) async fn response_type_unknown(s: &Session<'_>, sev: Severity) -> Outcome {
    let expected = "no code for response_type=authbench_unknown nor without response_type: an error page, or unsupported_response_type / invalid_request at the registered redirect URI";
    let mut seen = Vec::new();
    for value in [Some("authbench_unknown"), None] {
        let mut req = s.auth_request();
        match value {
            Some(v) => req.set("response_type", v),
            None => req.params.retain(|(n, _)| n != "response_type"),
        }
        let outcome = s.authorize(&req.params).await?;
        let label = value.map_or("no response_type".to_owned(), |v| format!("response_type={v}"));
        let observed = format!("{label}: {}", outcome.describe());
        match &outcome {
            Authorized::NeedsLogin => {
                return Err(Verdict::skip(
                    "the server asks for a login before judging the response_type; give [oauth2] login",
                ));
            }
            Authorized::Page { status, .. } if *status >= 500 => {
                return Err(Verdict::server_error(expected, observed, *status));
            }
            _ if outcome.param("code").is_some() || outcome.param("access_token").is_some() => {
                return unmet(
                    sev,
                    expected,
                    observed,
                    "a code was issued for a response_type the server does not support",
                );
            }
            Authorized::Redirected(u) if !is_registered(u, &s.t.redirect_uri) => {
                return unmet(
                    sev,
                    expected,
                    observed,
                    "the error went to a URI that is not registered",
                );
            }
            _ => seen.push(observed),
        }
    }
    pass(expected, seen.join("; "))
}

pub(super) async fn client_credentials_no_refresh(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.client_credentials().await?;
    let expected = "no refresh_token in the client credentials grant's response (RFC 6749 §4.4.3)";
    match tokens.refresh_token {
        None => pass(expected, "access token only"),
        Some(_) => unmet(
            sev,
            expected,
            "a refresh_token was issued",
            "the client can get new tokens without authenticating: a refresh token adds only a credential to steal",
        ),
    }
}

/// The JWT payload of `token`, when it is a JWS in compact form.
pub(super) fn jwt_payload(token: &str) -> Option<Value> {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let (_, payload) = (parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The longest lifetime RFC 6819 §5.1.5.3's "short-lived" is read as here.
const MAX_ACCESS_LIFETIME_SECS: i64 = 3600;

pub(super) async fn access_token_lifetime(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.client_credentials().await?;
    let expected = "a stated lifetime (expires_in, or exp in a JWT) of at most an hour";
    let expires_in = tokens
        .raw
        .get("expires_in")
        .and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|t| t.trim().parse().ok())));
    let claims = jwt_payload(&tokens.access_token);
    let exp = claims.as_ref().and_then(|c| c.get("exp")).and_then(Value::as_i64);
    let iat = claims.as_ref().and_then(|c| c.get("iat")).and_then(Value::as_i64);
    let from_jwt = exp.zip(iat).map(|(e, i)| e - i);
    let mut facts = Vec::new();
    if let Some(e) = expires_in {
        facts.push(format!("expires_in {e} s"));
    }
    if let Some(l) = from_jwt {
        facts.push(format!("exp − iat {l} s"));
    }
    let observed =
        if facts.is_empty() { "no expires_in, no exp".to_owned() } else { facts.join(", ") };
    // The longer of the two: a token outlives what the response says if its exp says so.
    let Some(lifetime) = expires_in.into_iter().chain(from_jwt).max() else {
        return unmet(
            sev,
            expected,
            observed,
            "no lifetime is stated: the client cannot know when to renew, and nothing says the token ever expires (RFC 6749 §5.1 recommends expires_in)",
        );
    };
    let measured = |v: Verdict| v.measured("access_token_lifetime_s", lifetime.max(0) as u64);
    if lifetime > MAX_ACCESS_LIFETIME_SECS {
        return Err(measured(
            unmet(sev, expected, observed, "access tokens outlive an hour: a stolen one stays useful that long (RFC 6819 §5.1.5.3, RFC 9700 §4.10)")
                .unwrap_or_else(|v| v),
        ));
    }
    Ok(measured(pass(expected, observed).unwrap_or_else(|v| v)))
}
