//! Authorization codes and PKCE: one use, races, expiry, binding to the
//! client, entropy; PKCE required, S256 only, verifiers checked.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) async fn code_flow(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.code_flow().await?;
    let r = s.use_token(&tokens).await?;
    let expected = "the code flow with PKCE yields a token the resource accepts";
    if r.status == 200 {
        pass(expected, format!("token_type {}, resource {}", tokens.token_type, r.status))
    } else {
        unmet(sev, expected, observe(&r), "the resource refused the token")
    }
}

pub(super) async fn code_reuse(s: &Session<'_>, sev: Severity) -> Outcome {
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    let first = s.exchange(&req, &code).await?;
    if first.status != 200 {
        return Err(Verdict::error("tokens for a fresh code", observe(&first)));
    }
    let second = s.exchange(&req, &code).await?;
    judge_error(sev, "400 invalid_grant for a code used twice", &second, &["invalid_grant"])
}

pub(super) async fn code_reuse_revokes(s: &Session<'_>, sev: Severity, use_first: bool) -> Outcome {
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    let first = s.exchange(&req, &code).await?;
    let tokens = Tokens::from_response(&first)
        .ok_or_else(|| Verdict::error("tokens for a fresh code", observe(&first)))?;
    if use_first {
        s.require_accepted(&tokens).await?;
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    let second = s.exchange(&req, &code).await?;
    let expected = "the tokens of a replayed code are revoked (RFC 6749 §4.1.2, RFC 9700 §4.2.4)";
    if (200..300).contains(&second.status) {
        return unmet(sev, expected, observe(&second), "the replayed code was redeemed again");
    }
    judge_refused_at_rs(s, sev, expected, &tokens, &format!("replay answered {}", second.status))
        .await
}

pub(super) async fn code_race(s: &Session<'_>, sev: Severity) -> Outcome {
    const RACERS: usize = 8;
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    // Last-byte synchronized: the exchanges arrive together (OAuch's
    // SingleFast/MultiFast tests), spread over the host's addresses.
    let answers = s.send_together(&s.exchange_request(&req, &code), RACERS).await;
    let mut won = 0;
    let mut statuses = Vec::new();
    for a in answers {
        let r = a?;
        statuses.push(r.status);
        if r.status == 200 {
            won += 1;
        }
    }
    let expected = "exactly one of 8 exchanges of one code, arriving together, succeeds";
    let observed = format!("statuses {statuses:?}");
    match won {
        1 => pass(expected, observed),
        0 => Err(Verdict::error(expected, format!("no exchange succeeded: {observed}"))),
        _ => unmet(sev, expected, observed, "one code was redeemed more than once"),
    }
}

pub(super) async fn code_expired(s: &Session<'_>, sev: Severity) -> Outcome {
    const LONGEST_WAIT: u64 = 15;
    let Some(lifetime) = s.t.code_lifetime_seconds.filter(|l| *l <= LONGEST_WAIT) else {
        return Err(Verdict::skip(format!(
            "needs [oauth2] code_lifetime_seconds of at most {LONGEST_WAIT} (the case waits it out)"
        )));
    };
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    tokio::time::sleep(std::time::Duration::from_secs(lifetime + 2)).await;
    let r = s.exchange(&req, &code).await?;
    judge_error(
        sev,
        &format!("400 invalid_grant {} s after a {lifetime} s code was issued", lifetime + 2),
        &r,
        &["invalid_grant"],
    )
}

pub(super) async fn code_other_client(s: &Session<'_>, sev: Severity) -> Outcome {
    let other = s.other_client_auth()?;
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    let r = s
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", req.get("redirect_uri").unwrap_or_default()),
                ("code_verifier", &req.pkce.verifier),
            ],
            &other,
        )
        .await?;
    judge_error(
        sev,
        "400 invalid_grant: the code belongs to another client",
        &r,
        &["invalid_grant"],
    )
}

/// Bits an opaque string can carry at most, from its length and alphabet.
pub(super) fn entropy_bits(text: &str) -> f64 {
    let per_char = if text.bytes().all(|b| b.is_ascii_hexdigit()) {
        4.0
    } else if text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        62f64.log2()
    } else {
        6.0
    };
    per_char * text.len() as f64
}

/// RFC 6749 §10.10: the odds of guessing a token MUST be at most 2^-128
/// and SHOULD be at most 2^-160.
pub(super) fn judge_entropy(sev: Severity, what: &str, value: &str) -> Outcome {
    let expected = format!("at least 128 bits in the {what}, 160 advised (RFC 6749 §10.10)");
    let bits = entropy_bits(value);
    let observed = format!("{} characters, at most {bits:.0} bits", value.len());
    if bits >= 160.0 {
        pass(&expected, observed)
    } else if bits >= 128.0 {
        warn(&expected, observed, "under the 160 bits RFC 6749 §10.10 advises")
    } else {
        unmet(sev, &expected, observed, "too short to carry 128 random bits")
    }
}

pub(super) async fn code_entropy(s: &Session<'_>, sev: Severity) -> Outcome {
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    judge_entropy(sev, "authorization code", &code)
}

// ---------------------------------------------------------------- PKCE

pub(super) async fn pkce_required(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let mut req = s.auth_request();
    req.remove("code_challenge");
    req.remove("code_challenge_method");
    let outcome = s.authorize(&req.params).await?;
    let expected = "no code without a code_challenge (RFC 9700 §2.1.1)";
    if outcome.param("code").is_some() {
        unmet(sev, expected, outcome.describe(), "a code was issued without PKCE")
    } else {
        pass(expected, outcome.describe())
    }
}

pub(super) async fn pkce_at_token(
    s: &Session<'_>,
    sev: Severity,
    verifier: impl Fn(&str) -> Option<String>,
) -> Outcome {
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    let v = verifier(&req.pkce.verifier);
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", req.get("redirect_uri").unwrap_or_default()),
    ];
    if let Some(v) = &v {
        fields.push(("code_verifier", v));
    }
    let r = s.token(&fields, &s.client_auth()).await?;
    let what = if v.is_some() { "a wrong code_verifier" } else { "no code_verifier" };
    judge_error(
        sev,
        &format!("400 invalid_grant for {what} (RFC 7636 §4.6)"),
        &r,
        &["invalid_grant", "invalid_request"],
    )
}

pub(super) async fn pkce_downgrade(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let mut req = s.auth_request();
    req.remove("code_challenge");
    req.remove("code_challenge_method");
    let outcome = s.authorize(&req.params).await?;
    let expected = "a verifier for a code issued without a challenge is refused (RFC 9700 §4.8.2)";
    let Some(code) = outcome.param("code") else {
        return pass(expected, format!("no code without a challenge: {}", outcome.describe()));
    };
    let r = s.exchange(&req, &code).await?;
    // RFC 9700 §4.8.2 requires the refusal and names no error code: any
    // RFC 6749 §5.2 code will do (`invalid_grant` and `invalid_request` are both seen).
    judge_error(sev, expected, &r, &["invalid_grant", "invalid_request"])
}

pub(super) async fn pkce_plain(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let mut req = s.auth_request();
    let verifier = req.pkce.verifier.clone();
    req.set("code_challenge", &verifier);
    req.set("code_challenge_method", "plain");
    let outcome = s.authorize(&req.params).await?;
    let expected = "code_challenge_method=plain refused";
    let Some(code) = outcome.param("code") else {
        return pass(expected, outcome.describe());
    };
    let r = s.exchange(&req, &code).await?;
    if r.status == 200 {
        unmet(sev, expected, "a plain challenge was accepted and redeemed", "plain PKCE accepted")
    } else {
        warn(
            expected,
            format!("code issued, exchange {}", observe(&r)),
            "the authorization endpoint accepted plain",
        )
    }
}

pub(super) async fn pkce_unknown_method(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let mut req = s.auth_request();
    req.set("code_challenge_method", "S512");
    let outcome = s.authorize(&req.params).await?;
    let expected = "an unknown code_challenge_method refused (RFC 7636 §4.4.1)";
    if outcome.param("code").is_some() {
        unmet(sev, expected, outcome.describe(), "a code was issued for an unknown method")
    } else {
        pass(expected, outcome.describe())
    }
}

pub(super) async fn pkce_bad_verifier(s: &Session<'_>, sev: Severity, verifier: String) -> Outcome {
    s.require_login()?;
    let pkce = Pkce::of(verifier);
    let mut req = s.auth_request();
    req.set("code_challenge", &pkce.challenge);
    req.pkce = pkce.clone();
    let expected = format!(
        "a {}-character or ill-formed verifier refused (RFC 7636 §4.1)",
        pkce.verifier.len()
    );
    let outcome = s.authorize(&req.params).await?;
    let Some(code) = outcome.param("code") else {
        return Err(Verdict::error(&expected, format!("no code: {}", outcome.describe())));
    };
    let r = s.exchange(&req, &code).await?;
    judge_error(sev, &expected, &r, &["invalid_grant", "invalid_request"])
}

// ---------------------------------------------------------------- token endpoint

pub(super) async fn pkce_challenge_as_verifier(s: &Session<'_>, sev: Severity) -> Outcome {
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    let challenge = req.pkce.challenge.clone();
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", req.get("redirect_uri").unwrap_or_default()),
        ("code_verifier", challenge.as_str()),
    ];
    let r = s.token(&fields, &s.client_auth()).await?;
    judge_error(
        sev,
        "400 invalid_grant for the S256 challenge sent as the verifier (RFC 7636 §4.6, RFC 9700 §4.8)",
        &r,
        &["invalid_grant", "invalid_request"],
    )
}

pub(super) async fn code_exchange_without_client_auth(s: &Session<'_>, sev: Severity) -> Outcome {
    let ClientAuth::Basic(client_id, _) = s.client_auth() else {
        return Err(Verdict::skip(
            "the profile's client has no secret: a public client redeems codes with its client_id",
        ));
    };
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", req.get("redirect_uri").unwrap_or_default()),
        ("code_verifier", req.pkce.verifier.as_str()),
    ];
    let r = s.token(&fields, &ClientAuth::IdOnly(client_id)).await?;
    judge_error(
        sev,
        "401 invalid_client: a confidential client's code needs its authentication (RFC 6749 §4.1.3, §3.2.1)",
        &r,
        &["invalid_client", "invalid_request", "unauthorized_client"],
    )
}

/// Whether `token` is a signed JWT: guessing one means forging its signature.
fn is_jws(token: &str) -> bool {
    let mut parts = token.split('.');
    let header = parts.next().and_then(|h| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(h).ok()
    });
    let signed = parts.nth(1).is_some_and(|sig| sig.len() >= 22) && parts.next().is_none();
    signed
        && header
            .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
            .and_then(|h| h.get("alg").and_then(Value::as_str).map(|a| a != "none"))
            .unwrap_or(false)
}

pub(super) async fn access_token_entropy(s: &Session<'_>, sev: Severity) -> Outcome {
    let mut tokens = vec![("the profile's client", s.client_credentials().await?.access_token)];
    if let Some(client) = &s.t.opaque_client {
        let auth = ClientAuth::Basic(client.client_id.clone(), client.client_secret.clone());
        let mut fields = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &s.t.scope {
            fields.push(("scope", scope));
        }
        let r = s.token(&fields, &auth).await?;
        let t = Tokens::from_response(&r)
            .ok_or_else(|| Verdict::error("an opaque access token", observe(&r)))?;
        tokens.push(("the opaque_client", t.access_token));
    }
    let mut seen = Vec::new();
    let mut worst: Option<Outcome> = None;
    for (whose, token) in &tokens {
        if is_jws(token) {
            seen.push(format!("{whose}: a signed JWT"));
            continue;
        }
        let verdict = judge_entropy(sev, "access token", token);
        seen.push(format!(
            "{whose}: {} characters, at most {:.0} bits",
            token.len(),
            entropy_bits(token)
        ));
        if verdict.is_err() || worst.is_none() {
            worst = Some(verdict);
        }
    }
    match worst {
        Some(Err(mut v)) => {
            v.observed = seen.join("; ");
            Err(v)
        }
        Some(Ok(mut v)) => {
            v.observed = seen.join("; ");
            Ok(v)
        }
        None => pass("at least 128 bits, or a signed JWT", seen.join("; ")),
    }
}

pub(super) async fn client_secret_entropy(s: &Session<'_>, sev: Severity) -> Outcome {
    let Some(secret) = &s.t.client_secret else {
        return Err(Verdict::skip("the profile's client has no client_secret"));
    };
    judge_entropy(sev, "client secret", secret)
}

pub(super) async fn code_reuse_revokes_refresh(s: &Session<'_>, sev: Severity) -> Outcome {
    let req = s.auth_request();
    let code = s.code_for(&req).await?;
    let first = s.exchange(&req, &code).await?;
    let tokens = Tokens::from_response(&first)
        .ok_or_else(|| Verdict::error("tokens for a fresh code", observe(&first)))?;
    let Some(refresh) = tokens.refresh_token.clone() else {
        return Err(Verdict::skip("the code exchange issued no refresh token"));
    };
    let second = s.exchange(&req, &code).await?;
    let expected = "the refresh token of a replayed code no longer refreshes (RFC 6749 §4.1.2, RFC 9700 §4.2.4)";
    if (200..300).contains(&second.status) {
        return unmet(sev, expected, observe(&second), "the replayed code was redeemed again");
    }
    let r = refresh_with(s, &refresh, &s.client_auth()).await?;
    let observed =
        format!("replay answered {}, then the first refresh token {}", second.status, observe(&r));
    if Tokens::from_response(&r).is_some() {
        unmet(
            sev,
            expected,
            observed,
            "the grant outlived the replay: its refresh token still mints tokens",
        )
    } else if r.status >= 500 {
        Err(Verdict::server_error(expected, observed, r.status))
    } else {
        pass(expected, observed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_is_judged_against_128_bits_and_160_advised() {
        let outcome = |v: &str| match judge_entropy(Severity::Must, "code", v) {
            Ok(v) | Err(v) => v.outcome.as_str(),
        };
        assert_eq!(outcome(&"a1".repeat(14)), "fail", "28 hex digits: 112 bits");
        assert_eq!(outcome(&"ab12".repeat(6)), "fail");
        assert_eq!(outcome(&"f".repeat(36)), "warn", "36 hex digits: 144 bits");
        assert_eq!(outcome(&"f".repeat(40)), "pass", "40 hex digits: 160 bits");
        assert!(is_jws(
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"
        ));
        assert!(!is_jws("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."));
        assert!(!is_jws("ato_abcdef"));
    }
}
