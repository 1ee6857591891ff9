//! Refresh tokens: rotation, reuse detection, races, binding to the client,
//! scope, entropy.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) async fn refresh_with(
    s: &Session<'_>,
    refresh_token: &str,
    auth: &ClientAuth,
) -> Result<RawResponse, Verdict> {
    Ok(s.token(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)], auth).await?)
}

pub(super) fn refresh_of(tokens: &Tokens) -> &str {
    tokens.refresh_token.as_deref().unwrap_or_default()
}

pub(super) async fn refresh(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.refreshable().await?;
    let r = refresh_with(s, refresh_of(&tokens), &s.client_auth()).await?;
    let expected = "a refresh yields a new access token the resource accepts";
    let Some(fresh) = Tokens::from_response(&r) else {
        return unmet(sev, expected, observe(&r), "the refresh failed");
    };
    let used = s.use_token(&fresh).await?;
    if used.status == 200 {
        pass(expected, "200")
    } else {
        unmet(sev, expected, observe(&used), "the refreshed token is refused")
    }
}

pub(super) async fn refresh_rotation(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.refreshable().await?;
    let r = refresh_with(s, refresh_of(&tokens), &s.client_auth()).await?;
    let fresh =
        Tokens::from_response(&r).ok_or_else(|| Verdict::error("a refresh", observe(&r)))?;
    let expected = "a new refresh token on each refresh (RFC 9700 §4.14.2)";
    match &fresh.refresh_token {
        Some(new) if new != refresh_of(&tokens) => pass(expected, "rotated"),
        Some(_) => unmet(sev, expected, "the same refresh token came back", "no rotation"),
        None => unmet(sev, expected, "no refresh token in the answer", "no rotation"),
    }
}

pub(super) async fn refresh_reuse(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.refreshable().await?;
    let old = refresh_of(&tokens).to_owned();
    let r = refresh_with(s, &old, &s.client_auth()).await?;
    let fresh =
        Tokens::from_response(&r).ok_or_else(|| Verdict::error("a refresh", observe(&r)))?;
    let expected = "a rotated refresh token refused, and its family revoked (RFC 9700 §4.14.2)";
    let Some(new) = fresh.refresh_token.clone().filter(|n| *n != old) else {
        return unmet(
            sev,
            expected,
            "no rotation",
            "refresh tokens are not rotated, so a stolen one lives on",
        );
    };
    let replay = refresh_with(s, &old, &s.client_auth()).await?;
    if (200..300).contains(&replay.status) {
        return unmet(sev, expected, observe(&replay), "the rotated refresh token was accepted");
    }
    let after = refresh_with(s, &new, &s.client_auth()).await?;
    if (200..300).contains(&after.status) {
        return unmet(
            sev,
            expected,
            format!("replay {}, newest {}", replay.status, after.status),
            "the family survived the replay",
        );
    }
    judge_refused_at_rs(
        s,
        sev,
        expected,
        &fresh,
        &format!("replay {}, newest {}", replay.status, after.status),
    )
    .await
}

pub(super) async fn refresh_race(s: &Session<'_>, sev: Severity) -> Outcome {
    const RACERS: usize = 4;
    let tokens = s.refreshable().await?;
    let old = refresh_of(&tokens).to_owned();
    let auth = s.client_auth();
    let request = Session::form_request(
        &s.meta.token_endpoint,
        &[("grant_type", "refresh_token"), ("refresh_token", &old)],
        &auth,
    );
    // Last-byte synchronized: the refreshes arrive together.
    let answers = s.send_together(&request, RACERS).await;
    let mut statuses = Vec::new();
    for a in answers {
        statuses.push(a?.status);
    }
    let won = statuses.iter().filter(|s| **s == 200).count();
    let expected = "one of 4 refreshes with one token, arriving together, succeeds";
    let observed = format!("statuses {statuses:?}");
    match won {
        1 => pass(expected, observed),
        0 => Err(Verdict::error(expected, format!("no refresh succeeded: {observed}"))),
        _ => unmet(sev, expected, observed, "one refresh token was used more than once"),
    }
}

pub(super) async fn refresh_other_client(s: &Session<'_>, sev: Severity) -> Outcome {
    let other = s.other_client_auth()?;
    let tokens = s.refreshable().await?;
    let r = refresh_with(s, refresh_of(&tokens), &other).await?;
    judge_error(
        sev,
        "400 invalid_grant: the refresh token belongs to another client",
        &r,
        &["invalid_grant"],
    )
}

pub(super) async fn refresh_without_auth(s: &Session<'_>, sev: Severity) -> Outcome {
    if s.t.client_secret.is_none() {
        return Err(Verdict::skip("the profile's client has no client_secret"));
    }
    let tokens = s.refreshable().await?;
    let r =
        refresh_with(s, refresh_of(&tokens), &ClientAuth::IdOnly(s.t.client_id.clone())).await?;
    judge_error(
        sev,
        "a confidential client's refresh without authentication refused (RFC 6749 §6)",
        &r,
        &["invalid_client", "invalid_request", "unauthorized_client"],
    )
}

pub(super) async fn refresh_wider_scope(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.refreshable().await?;
    let granted = tokens
        .raw
        .get("scope")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or(s.t.scope.clone())
        .unwrap_or_default();
    let wider = format!("{granted} authbench-never-granted").trim().to_owned();
    let r = s
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_of(&tokens)),
                ("scope", &wider),
            ],
            &s.client_auth(),
        )
        .await?;
    judge_error(
        sev,
        "400 invalid_scope: a refresh cannot widen the scope (RFC 6749 §6)",
        &r,
        &["invalid_scope"],
    )
}

pub(super) async fn refresh_entropy(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.refreshable().await?;
    judge_entropy(sev, "refresh token", refresh_of(&tokens))
}

// ---------------------------------------------------------------- revocation
