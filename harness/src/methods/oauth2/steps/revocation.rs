//! Revocation (RFC 7009) and introspection (RFC 7662).

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) async fn revoke_access(s: &Session<'_>, sev: Severity) -> Outcome {
    s.revocation_endpoint()?;
    let tokens = s.any_tokens().await?;
    s.require_accepted(&tokens).await?;
    let r = s.revoke(&tokens.access_token, Some("access_token")).await?;
    let expected = "200 from revocation, then 401 at the resource (RFC 7009 §2.2)";
    if r.status != 200 {
        return unmet(sev, expected, observe(&r), "the revocation request failed");
    }
    judge_refused_at_rs(s, sev, expected, &tokens, "revoked").await
}

pub(super) async fn revoke_refresh(s: &Session<'_>, sev: Severity, check_access: bool) -> Outcome {
    s.revocation_endpoint()?;
    let tokens = s.refreshable().await?;
    s.require_accepted(&tokens).await?;
    let r = s.revoke(refresh_of(&tokens), Some("refresh_token")).await?;
    if r.status != 200 {
        return unmet(sev, "200 from revocation", observe(&r), "the revocation request failed");
    }
    if check_access {
        let expected = "revoking a refresh token kills the grant's access tokens (RFC 7009 §2.1)";
        return judge_refused_at_rs(s, sev, expected, &tokens, "refresh token revoked").await;
    }
    let after = refresh_with(s, refresh_of(&tokens), &s.client_auth()).await?;
    judge_error(
        sev,
        "a revoked refresh token is refused: invalid_grant",
        &after,
        &["invalid_grant"],
    )
}

pub(super) async fn revoke_garbage(s: &Session<'_>, sev: Severity) -> Outcome {
    s.revocation_endpoint()?;
    let r = s.revoke("authbench-not-a-token", None).await?;
    let expected = "200 for an unknown token (RFC 7009 §2.2)";
    if r.status == 200 {
        pass(expected, "200")
    } else {
        unmet(sev, expected, observe(&r), "an invalid token is not a revocation error")
    }
}

pub(super) async fn revoke_without_auth(s: &Session<'_>, sev: Severity) -> Outcome {
    let url = s.revocation_endpoint()?;
    let tokens = s.any_tokens().await?;
    let r = s.post_form(&url, &[("token", &tokens.access_token)], &ClientAuth::None).await?;
    let expected =
        "revocation without client authentication refused; the token still works (RFC 7009 §2.1)";
    if r.status == 200 {
        let used = s.use_token(&tokens).await?;
        return if used.status == 200 {
            warn(
                expected,
                "200 from revocation, token untouched",
                "an unauthenticated request is answered 200",
            )
        } else {
            unmet(
                sev,
                expected,
                format!("200, then the token got {}", used.status),
                "anyone can revoke a token",
            )
        };
    }
    let used = s.use_token(&tokens).await?;
    if used.status == 200 {
        pass(expected, format!("revocation {}, token still 200", r.status))
    } else {
        unmet(
            sev,
            expected,
            format!("revocation {}, token {}", r.status, used.status),
            "the token died anyway",
        )
    }
}

pub(super) async fn revoke_other_client(s: &Session<'_>, sev: Severity) -> Outcome {
    let url = s.revocation_endpoint()?;
    let other = s.other_client_auth()?;
    let tokens = s.any_tokens().await?;
    let r = s.post_form(&url, &[("token", &tokens.access_token)], &other).await?;
    let used = s.use_token(&tokens).await?;
    let expected = "another client cannot revoke the token (RFC 7009 §2.1)";
    let observed = format!("revocation {}, token then {}", r.status, used.status);
    if used.status == 200 {
        pass(expected, observed)
    } else {
        unmet(sev, expected, observed, "one client revoked another's token")
    }
}

/// Measured: how long after the revocation call the resource first refuses.
pub(super) async fn revocation_latency(s: &Session<'_>, sev: Severity) -> Outcome {
    const DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);
    s.revocation_endpoint()?;
    let tokens = s.any_tokens().await?;
    s.require_accepted(&tokens).await?;
    let started = std::time::Instant::now();
    let r = s.revoke(&tokens.access_token, Some("access_token")).await?;
    if r.status != 200 {
        return unmet(sev, "200 from revocation", observe(&r), "the revocation request failed");
    }
    let acknowledged = started.elapsed();
    let expected =
        format!("the resource refuses the token within {} s of revocation", DEADLINE.as_secs());
    loop {
        let used = s.use_token(&tokens).await?;
        if used.status != 200 {
            let latency = started.elapsed().as_millis() as u64;
            return pass(
                &expected,
                format!(
                    "revocation latency {latency} ms (acknowledged after {} ms)",
                    acknowledged.as_millis()
                ),
            )
            .map(|v| v.measured("revocation_latency_ms", latency));
        }
        if started.elapsed() > DEADLINE {
            return unmet(
                sev,
                &expected,
                "still accepted after 10 s",
                "revocation does not reach the resource (until expiry)",
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------- introspection

pub(super) async fn introspect_without_auth(s: &Session<'_>, sev: Severity) -> Outcome {
    let url = s.introspection_endpoint()?;
    let tokens = s.any_tokens().await?;
    let r = s.post_form(&url, &[("token", &tokens.access_token)], &ClientAuth::None).await?;
    let expected = "401 without client authentication (RFC 7662 §2.1)";
    let leaked = r.json().and_then(|b| b.get("active").and_then(Value::as_bool)) == Some(true);
    if leaked {
        unmet(sev, expected, observe(&r), "anyone can introspect tokens")
    } else if r.status == 401 {
        pass(expected, observe(&r))
    } else if (400..500).contains(&r.status) {
        form("form:refusal-status", expected, observe(&r), "refused, but not with 401")
    } else {
        unmet(sev, expected, observe(&r), "not refused")
    }
}

pub(super) async fn introspect_active(s: &Session<'_>, sev: Severity) -> Outcome {
    s.introspection_endpoint()?;
    let tokens = s.any_tokens().await?;
    let r = s.introspect(&tokens.access_token).await?;
    let expected = "{\"active\": true, ...} for a live token (RFC 7662 §2.2)";
    match r.json().and_then(|b| b.get("active").and_then(Value::as_bool)) {
        Some(true) => pass(expected, "active: true"),
        _ => unmet(sev, expected, observe(&r), "a live token is not reported active"),
    }
}

pub(super) async fn introspect_inactive(s: &Session<'_>, sev: Severity, revoked: bool) -> Outcome {
    s.introspection_endpoint()?;
    let token = if revoked {
        s.revocation_endpoint()?;
        let tokens = s.any_tokens().await?;
        let r = s.revoke(&tokens.access_token, Some("access_token")).await?;
        if r.status != 200 {
            return Err(Verdict::error("a revoked token", observe(&r)));
        }
        tokens.access_token
    } else {
        format!(
            "authbench-unknown-{}",
            crate::methods::forge::random_string(crate::methods::forge::ALNUM, 32)
        )
    };
    let r = s.introspect(&token).await?;
    let what = if revoked { "a revoked token" } else { "an unknown token" };
    let expected = format!("{{\"active\": false}} and nothing else for {what} (RFC 7662 §2.2)");
    let Some(body) = r.json().filter(|_| r.status == 200) else {
        return unmet(sev, &expected, observe(&r), "no introspection response");
    };
    let members: Vec<String> =
        body.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    match body.get("active").and_then(Value::as_bool) {
        Some(false) if members.len() == 1 => pass(&expected, "{\"active\": false}"),
        Some(false) => warn(
            &expected,
            format!("members {members:?}"),
            "details of an inactive token are disclosed",
        ),
        _ => unmet(sev, &expected, format!("members {members:?}"), "the token is reported active"),
    }
}

// ---------------------------------------------------------------- resource server

/// A refresh token that `auth` (not its client) tried to revoke still refreshes.
pub(super) async fn refresh_survives(
    s: &Session<'_>,
    sev: Severity,
    auth: ClientAuth,
    who: &str,
) -> Outcome {
    let url = s.revocation_endpoint()?;
    let tokens = s.refreshable().await?;
    let refresh = refresh_of(&tokens);
    let fields = [("token", refresh), ("token_type_hint", "refresh_token")];
    let r = s.post_form(&url, &fields, &auth).await?;
    let after = refresh_with(s, refresh, &s.client_auth()).await?;
    let expected =
        format!("{who} cannot revoke the refresh token: it still refreshes (RFC 7009 §2.1)");
    let observed = format!("revocation {}, then the refresh {}", r.status, observe(&after));
    if Tokens::from_response(&after).is_some() {
        pass(&expected, observed)
    } else if after.status >= 500 {
        Err(Verdict::server_error(&expected, observed, after.status))
    } else {
        unmet(sev, &expected, observed, "the grant was revoked by a party that may not revoke it")
    }
}
