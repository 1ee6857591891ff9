//! The resource server (RFC 6750): bearer tokens in the header only,
//! challenges, scope, audience, token types; the replay window.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) async fn rs_valid(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.any_tokens().await?;
    let r = s.use_token(&tokens).await?;
    let expected = "200 for a valid access token";
    if r.status == 200 {
        pass(expected, "200")
    } else {
        unmet(sev, expected, observe(&r), "refused")
    }
}

pub(super) fn bearer_challenge(r: &RawResponse) -> Option<crate::verdict::Challenge> {
    r.header_values("www-authenticate")
        .flat_map(parse_challenges)
        .find(|c| c.scheme.eq_ignore_ascii_case("bearer") || c.scheme.eq_ignore_ascii_case("dpop"))
}

/// Judges a resource server's refusal in two parts: served (security),
/// then the form — the status, and a Bearer (or DPoP) challenge with `error`
/// (`None`: no error code, as for a request without a token).
pub(super) fn judge_bearer_refusal(
    sev: Severity,
    expected: &str,
    r: &RawResponse,
    status: u16,
    error: Option<&str>,
) -> Outcome {
    let observed = observe(r);
    if is_served(r.status) {
        return unmet(sev, expected, observed, "served without a usable token");
    }
    if r.status >= 500 {
        return server_error(expected, r);
    }
    if r.status != status {
        return form(
            &format!("form:status-{}", r.status),
            expected,
            observed,
            &format!("not {status}"),
        );
    }
    let Some(challenge) = bearer_challenge(r) else {
        let key = if r.header("www-authenticate").is_none() {
            "form:no-challenge"
        } else {
            "form:challenge-scheme"
        };
        return form(key, expected, observed, "no Bearer challenge");
    };
    match (error, challenge.param("error")) {
        (None, None) => pass(expected, observed),
        (None, Some(_)) => form(
            "form:error-without-credentials",
            expected,
            observed,
            "an error code though no credentials were sent",
        ),
        (Some(want), Some(got)) if want == got => pass(expected, observed),
        (Some(want), _) => {
            form("form:error-code", expected, observed, &format!("no error=\"{want}\""))
        }
    }
}

pub(super) async fn rs_no_token(s: &Session<'_>, sev: Severity) -> Outcome {
    let r = s.send(&RawRequest::get(s.t.resource_url.clone())).await?;
    let expected = "401 with a Bearer challenge and no error code (RFC 6750 §3.1)";
    judge_bearer_refusal(sev, expected, &r, 401, None)
}

pub(super) async fn rs_invalid(s: &Session<'_>, sev: Severity) -> Outcome {
    let r = s.call(&s.t.resource_url, "Bearer", "authbench-not-a-token").await?;
    let expected = "401 Bearer error=\"invalid_token\" (RFC 6750 §3.1)";
    judge_bearer_refusal(sev, expected, &r, 401, Some("invalid_token"))
}

pub(super) async fn rs_in_query(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.any_tokens().await?;
    let mut url = s.t.resource_url.clone();
    url.query_pairs_mut().append_pair("access_token", &tokens.access_token);
    let r = s.send(&RawRequest::get(url)).await?;
    let expected = "401: a token in the query string is not accepted (RFC 9700 §4.3.2)";
    if (200..300).contains(&r.status) {
        unmet(sev, expected, observe(&r), "the token was accepted from the URL")
    } else {
        pass(expected, observe(&r))
    }
}

pub(super) async fn rs_header_and_body(s: &Session<'_>, _sev: Severity) -> Outcome {
    let tokens = s.any_tokens().await?;
    let request = RawRequest::form(
        s.t.resource_url.clone(),
        &[("access_token", tokens.access_token.as_str())],
    )
    .header("Authorization", format!("Bearer {}", tokens.access_token));
    let r = s.send(&request).await?;
    let expected = "400 invalid_request: a token in two places (RFC 6750 §2)";
    match r.status {
        400 => pass(expected, observe(&r)),
        s if (200..300).contains(&s) => {
            warn(expected, observe(&r), "accepted a request carrying the token twice")
        }
        // A resource that takes no POST cannot be asked (RFC 9110 §15.5.6, §15.6.2).
        405 | 501 => Err(Verdict::skip(format!(
            "the resource answers POST with {}: it takes no form body, so a token in two places cannot be tried",
            r.status
        ))),
        s if s >= 500 => server_error(expected, &r),
        s => form(&format!("form:status-{s}"), expected, observe(&r), "refused, but not with 400"),
    }
}

pub(super) async fn rs_lowercase(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.any_tokens().await?;
    let r = s.call(&s.t.resource_url, "bearer", &tokens.access_token).await?;
    let expected = "200: auth schemes are case-insensitive (RFC 9110 §11.1)";
    if r.status == 200 {
        pass(expected, "200")
    } else {
        unmet(sev, expected, observe(&r), "`bearer` refused")
    }
}

pub(super) async fn rs_insufficient_scope(s: &Session<'_>, sev: Severity) -> Outcome {
    let Some(url) = s.t.insufficient_scope_url.clone() else {
        return Err(Verdict::skip("the profile's [oauth2] has no insufficient_scope_url"));
    };
    let tokens = s.any_tokens().await?;
    let r = s.call(&url, "Bearer", &tokens.access_token).await?;
    // `scope=` in the challenge is a MAY (RFC 6750 §3): not required.
    let expected = "403 Bearer error=\"insufficient_scope\" (RFC 6750 §3.1)";
    judge_bearer_refusal(sev, expected, &r, 403, Some("insufficient_scope"))
}

pub(super) async fn rs_other_audience(s: &Session<'_>, sev: Severity) -> Outcome {
    let Some(other) = s.t.other_resource.clone() else {
        return Err(Verdict::skip("the profile's [oauth2] has no other_resource"));
    };
    let mut fields = vec![("grant_type", "client_credentials"), ("resource", other.as_str())];
    if let Some(scope) = &s.t.scope {
        fields.push(("scope", scope));
    }
    let r = s.token(&fields, &s.client_auth()).await?;
    let tokens = Tokens::from_response(&r)
        .ok_or_else(|| Verdict::error("a token for the other resource", observe(&r)))?;
    let expected = "401: a token issued for another resource is refused (RFC 8707)";
    let used = s.use_token(&tokens).await?;
    match used.status {
        401 => pass(expected, observe(&used)),
        s if (200..300).contains(&s) => {
            unmet(sev, expected, observe(&used), "the audience is not checked")
        }
        _ => form("form:refusal-status", expected, observe(&used), "refused, but not with 401"),
    }
}

pub(super) async fn rs_refresh_as_access(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.refreshable().await?;
    let r = s.call(&s.t.resource_url, "Bearer", refresh_of(&tokens)).await?;
    let expected = "401: a refresh token is not an access token";
    if (200..300).contains(&r.status) {
        unmet(sev, expected, observe(&r), "the resource accepted a refresh token")
    } else {
        pass(expected, observe(&r))
    }
}

pub(super) async fn rs_opaque(s: &Session<'_>, sev: Severity) -> Outcome {
    let Some(client) = &s.t.opaque_client else {
        return Err(Verdict::skip("the profile's [oauth2] has no opaque_client"));
    };
    let auth = ClientAuth::Basic(client.client_id.clone(), client.client_secret.clone());
    let mut fields = vec![("grant_type", "client_credentials")];
    if let Some(scope) = &s.t.scope {
        fields.push(("scope", scope));
    }
    let r = s.token(&fields, &auth).await?;
    let tokens =
        Tokens::from_response(&r).ok_or_else(|| Verdict::error("an opaque token", observe(&r)))?;
    let expected = "an opaque token accepted, then refused once revoked";
    let used = s.use_token(&tokens).await?;
    if used.status != 200 {
        return unmet(sev, expected, observe(&used), "the opaque token is refused");
    }
    let Some(url) = s.meta.revocation_endpoint.clone() else {
        return pass(expected, "accepted (no revocation endpoint to go further)");
    };
    let revoked = s.post_form(&url, &[("token", &tokens.access_token)], &auth).await?;
    if revoked.status != 200 {
        return unmet(sev, expected, observe(&revoked), "revocation failed");
    }
    judge_refused_at_rs(s, sev, expected, &tokens, "accepted, revoked").await
}

/// Measured: how long a captured access token keeps working (its lifetime).
pub(super) async fn replay_window(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.any_tokens().await?;
    for _ in 0..2 {
        s.require_accepted(&tokens).await?;
    }
    let expected = "a captured bearer token is replayable only for a bounded lifetime";
    match tokens.raw.get("expires_in").and_then(Value::as_u64) {
        Some(secs) => {
            pass(expected, format!("replayed twice; the window is expires_in = {secs} s"))
                .map(|v| v.measured("replay_window_s", secs))
        }
        None => unmet(
            sev,
            expected,
            "replayed twice; no expires_in",
            "the token's lifetime is not stated",
        ),
    }
}

// ---------------------------------------------------------------- DPoP

/// How an AS-issued JWT access token is spoiled before the resource sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Spoil {
    /// Re-headed `alg: none`, signature removed.
    AlgNone,
    /// A claim changed after signing, the signature kept.
    PayloadTampered,
}

pub(super) async fn rs_token_spoiled(s: &Session<'_>, _sev: Severity, spoil: Spoil) -> Outcome {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let tokens = s.any_tokens().await?;
    s.require_accepted(&tokens).await?;
    let parts: Vec<&str> = tokens.access_token.split('.').collect();
    let payload = parts
        .get(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter(|_| parts.len() == 3);
    let Some(mut payload) = payload else {
        return Err(Verdict::skip(
            "the AS issues opaque access tokens: nothing to re-sign or strip",
        ));
    };
    let spoiled = match spoil {
        Spoil::AlgNone => {
            let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
            format!("{header}.{}.", parts[1])
        }
        Spoil::PayloadTampered => {
            let sub = payload.get("sub").and_then(Value::as_str).unwrap_or("someone");
            payload["sub"] = Value::String(format!("{sub}-admin"));
            let body = URL_SAFE_NO_PAD.encode(payload.to_string());
            format!("{}.{body}.{}", parts[0], parts[2])
        }
    };
    let forged = Tokens { access_token: spoiled, ..tokens.clone() };
    let r = s.use_token(&forged).await?;
    let expected = match spoil {
        Spoil::AlgNone => {
            "401 for the AS's token stripped to alg none (RFC 9068 §4, RFC 8725 §3.1)"
        }
        Spoil::PayloadTampered => {
            "401 for the AS's token with its sub changed after signing (RFC 9068 §4)"
        }
    };
    if crate::verdict::is_served(r.status) {
        Err(crate::methods::steps::served(
            expected,
            observe(&r),
            "a forged access token was served",
        ))
    } else if r.status >= 500 {
        Err(Verdict::server_error(expected, observe(&r), r.status))
    } else {
        pass(expected, observe(&r))
    }
}

pub(super) async fn rs_query_token_not_cached(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.any_tokens().await?;
    // The control: the token works in the header, so a refusal is a choice.
    s.require_accepted(&tokens).await?;
    let mut url = s.t.resource_url.clone();
    url.query_pairs_mut().append_pair("access_token", &tokens.access_token);
    let r = s.send(&RawRequest::get(url)).await?;
    let expected = "a query-string token refused, or its answer marked Cache-Control: private or no-store (RFC 6750 §2.3)";
    if !(200..300).contains(&r.status) {
        return pass(expected, format!("refused ({}): nothing to cache", r.status));
    }
    let cache =
        r.header_values("cache-control").collect::<Vec<_>>().join(", ").to_ascii_lowercase();
    let kept_private = cache.split(',').map(str::trim).any(|d| d == "private" || d == "no-store");
    if kept_private {
        pass(expected, format!("served with Cache-Control: {cache}"))
    } else {
        unmet(
            sev,
            expected,
            observe(&r),
            "an answer to a token in the URL is cacheable: a shared cache may keep it and the URL with the token",
        )
    }
}
