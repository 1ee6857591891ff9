//! What a grant's tokens are bound to: a refresh token to the resources and
//! scope consented to and to its own exact value (RFC 9700 §4.14.2), and an
//! access token to whom it speaks for, a user or the client itself (§4.15).

#[allow(clippy::wildcard_imports)]
use super::*;

/// The claims of an access token: its JWT payload, else what introspection
/// says of it while active; `None` when neither is readable.
async fn claims_of(s: &Session<'_>, token: &str) -> Result<Option<Value>, Verdict> {
    if let Some(claims) = jwt_payload(token) {
        return Ok(Some(claims));
    }
    if s.meta.introspection_endpoint.is_none() {
        return Ok(None);
    }
    let r = s.introspect(token).await?;
    Ok(r.json().filter(|j| j.get("active") == Some(&Value::Bool(true))))
}

/// The audiences a claim set names (`aud`, a string or an array).
fn audiences(claims: &Value) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(list)) => {
            list.iter().filter_map(Value::as_str).map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

pub(super) async fn refresh_other_resource(s: &Session<'_>, sev: Severity) -> Outcome {
    let (Some(resource), Some(other)) = (s.t.resource.clone(), s.t.other_resource.clone()) else {
        return Err(Verdict::skip("the profile's [oauth2] needs both resource and other_resource"));
    };
    let tokens = s.refreshable().await?;
    let r = s
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_of(&tokens)),
                ("resource", other.as_str()),
            ],
            &s.client_auth(),
        )
        .await?;
    let expected = "a refresh naming a resource the grant did not cover is refused (invalid_target), or yields a token only for the granted one (RFC 9700 §4.14.2, RFC 8707 §2.2)";
    if r.status >= 500 {
        return Err(Verdict::server_error(expected, observe(&r), r.status));
    }
    let Some(fresh) = Tokens::from_response(&r) else {
        return pass(expected, observe(&r));
    };
    match claims_of(s, &fresh.access_token).await? {
        Some(claims) if audiences(&claims).contains(&other) => unmet(
            sev,
            expected,
            format!("the refreshed access token's aud names {other}"),
            "the refresh token opens resources the user never consented to",
        ),
        Some(claims) if audiences(&claims).contains(&resource) => {
            pass(expected, format!("the parameter ignored: aud still {resource}"))
        }
        Some(claims) => warn(
            expected,
            format!("tokens issued; their aud is {:?}", audiences(&claims)),
            "the refresh was not refused and the new token's audience does not say which resource it is for",
        ),
        None => warn(
            expected,
            "tokens issued; their audience cannot be read (opaque, no introspection)",
            "the refresh was not refused and nothing shows the new token is limited to the granted resource",
        ),
    }
}

/// `token` with the character at `at` replaced by another of the base64url alphabet.
fn altered_at(token: &str, at: usize) -> String {
    token
        .char_indices()
        .map(|(i, c)| {
            if i != at {
                c
            } else if c == 'A' {
                'B'
            } else {
                'A'
            }
        })
        .collect()
}

/// Altered copies of a refresh token: its last character, one in the
/// middle, and for a JWS its payload widened (signature kept) and `alg: none`.
fn tampered(token: &str) -> Vec<(&'static str, String)> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut out = vec![
        ("its last character changed", altered_at(token, token.len().saturating_sub(1))),
        ("a character in the middle changed", altered_at(token, token.len() / 2)),
    ];
    let parts: Vec<&str> = token.split('.').collect();
    if let [header, _, signature] = parts[..]
        && let Some(mut claims) = jwt_payload(token)
    {
        claims["scope"] = Value::String("read write admin".to_owned());
        claims["exp"] = Value::from(4_102_444_800_i64);
        let payload = b64.encode(claims.to_string());
        out.push((
            "its payload widened, signature kept",
            format!("{header}.{payload}.{signature}"),
        ));
        out.push((
            "re-signed with alg none",
            format!("{}.{payload}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#)),
        ));
    }
    out
}

pub(super) async fn refresh_token_tampered(s: &Session<'_>, sev: Severity) -> Outcome {
    let tokens = s.refreshable().await?;
    let original = refresh_of(&tokens);
    let expected =
        "every altered copy of a refresh token refused (RFC 9700 §4.14.2, RFC 6749 §5.2)";
    let mut seen = Vec::new();
    for (how, copy) in tampered(original) {
        let r = refresh_with(s, &copy, &s.client_auth()).await?;
        if Tokens::from_response(&r).is_some() {
            return unmet(
                sev,
                expected,
                format!("the refresh token with {how} refreshed"),
                "the AS does not check the refresh token's whole value: a guessed or edited token works",
            );
        }
        if r.status >= 500 {
            return Err(Verdict::server_error(expected, observe(&r), r.status));
        }
        seen.push(format!("{how}: {}", r.status));
    }
    // The untouched token must still work, or the refusals prove nothing.
    let r = refresh_with(s, original, &s.client_auth()).await?;
    if Tokens::from_response(&r).is_none() {
        return Err(Verdict::error(
            "the untouched refresh token to refresh after its altered copies were refused",
            observe(&r),
        ));
    }
    pass(expected, seen.join("; "))
}

pub(super) async fn client_and_user_tokens(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let user = s.code_flow().await?;
    let client = s.client_credentials().await?;
    let client_is_jwt = jwt_payload(&client.access_token).is_some();
    let (Some(user_claims), Some(client_claims)) =
        (claims_of(s, &user.access_token).await?, claims_of(s, &client.access_token).await?)
    else {
        return Err(Verdict::skip(
            "the access tokens' claims cannot be read (opaque tokens, no introspection)",
        ));
    };
    let sub = |c: &Value| c.get("sub").and_then(Value::as_str).map(str::to_owned);
    let expected = "a user's access token names the user as sub, the client's own token names the client, and the two differ (RFC 9700 §4.15, RFC 9068 §2.2)";
    let observed = format!(
        "user token sub {:?}, client-credentials token sub {:?}",
        sub(&user_claims),
        sub(&client_claims)
    );
    let client_id = &s.t.client_id;
    match (sub(&user_claims), sub(&client_claims)) {
        (Some(u), _) if &u == client_id => unmet(
            sev,
            expected,
            observed,
            "the user's token names the client as its subject: a resource server takes it for the client acting for itself",
        ),
        (Some(u), Some(c)) if u == c => unmet(
            sev,
            expected,
            observed,
            "the same sub for the user and the client: nothing tells a resource server who the token speaks for",
        ),
        (None, _) => unmet(sev, expected, observed, "the user's token names no subject"),
        // Opaque: introspection's sub is optional (RFC 7662 §2.2); its
        // absence itself tells the client's token from a user's.
        (Some(_), None) if !client_is_jwt => pass(expected, format!("{observed} (introspected)")),
        (Some(_), None) => warn(
            expected,
            observed,
            "the client's own JWT access token has no sub: RFC 9068 §2.2 requires one, the client's identifier",
        ),
        (Some(_), Some(_)) => pass(expected, observed),
    }
}
