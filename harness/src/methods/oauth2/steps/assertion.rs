//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3), when the
//! metadata advertises it and the profile gives the client's key: a valid
//! assertion authenticates; one signed with another key, unsigned, expired,
//! not yet valid, for another audience, missing a required claim, issued
//! long ago or replayed does not.

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::methods::oauth2::profile::PrivateKeyJwtTarget;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

/// RFC 7523 §2.2's `client_assertion_type`.
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The profile's `private_key_jwt` client, or a skip.
fn client<'s>(s: &'s Session<'_>) -> Result<&'s PrivateKeyJwtTarget, Verdict> {
    let advertised =
        s.meta.list("token_endpoint_auth_methods_supported").iter().any(|m| m == "private_key_jwt");
    if !advertised {
        return Err(Verdict::skip(
            "the metadata does not list private_key_jwt in token_endpoint_auth_methods_supported",
        ));
    }
    s.t.private_key_jwt.as_ref().ok_or_else(|| {
        Verdict::skip(
            "the profile's [oauth2] has no private_key_jwt client (client_id, key_file, algorithm)",
        )
    })
}

/// Valid claims for `client` at `s`'s token endpoint, issued now.
fn claims(s: &Session<'_>, client: &PrivateKeyJwtTarget) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": s.meta.token_endpoint.as_str(),
        "iat": now,
        "exp": now + 60,
        "jti": crate::methods::forge::random_string(crate::methods::forge::ALNUM, 32),
    })
}

/// `claims` signed with the client's key.
fn signed(client: &PrivateKeyJwtTarget, claims: &Value) -> Result<String, Verdict> {
    let mut header = jsonwebtoken::Header::new(client.key.algorithm);
    header.typ = Some("JWT".to_owned());
    jsonwebtoken::encode(&header, claims, &client.key.encoding)
        .map_err(|e| Verdict::error("a signed client assertion", e.to_string()))
}

/// `claims` signed with a fresh P-256 key the server never saw.
fn signed_by_stranger(claims: &Value) -> Result<String, Verdict> {
    signed_by_stranger_pointing(claims, None)
}

/// [`signed_by_stranger`], the header naming `(jku, x5u)` when given.
fn signed_by_stranger_pointing(
    claims: &Value,
    urls: Option<(&str, &str)>,
) -> Result<String, Verdict> {
    let pem = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| Verdict::error("a stranger's key", e.to_string()))?
        .serialize_pem();
    let key = jsonwebtoken::EncodingKey::from_ec_pem(pem.as_bytes())
        .map_err(|e| Verdict::error("a stranger's key", e.to_string()))?;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("JWT".to_owned());
    if let Some((jku, x5u)) = urls {
        header.jku = Some(jku.to_owned());
        header.x5u = Some(x5u.to_owned());
    }
    jsonwebtoken::encode(&header, claims, &key)
        .map_err(|e| Verdict::error("a stranger's assertion", e.to_string()))
}

/// `claims` unsigned, `alg: none`.
fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

/// A client credentials request authenticated by `assertion`.
async fn request(
    s: &Session<'_>,
    client: &PrivateKeyJwtTarget,
    assertion: &str,
) -> Result<RawResponse, Verdict> {
    // No scope: the profile's belongs to its main client, and the grant's
    // default serves to prove authentication (RFC 6749 §4.4.2: optional).
    let fields = [
        ("grant_type", "client_credentials"),
        ("client_id", client.client_id.as_str()),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    Ok(s.token(&fields, &ClientAuth::None).await?)
}

/// The control: a valid assertion authenticates. Every refusal case runs it
/// first, so a refusal means the flaw was seen, not that nothing works.
async fn control(s: &Session<'_>, client: &PrivateKeyJwtTarget) -> Result<(), Verdict> {
    let r = request(s, client, &signed(client, &claims(s, client))?).await?;
    match Tokens::from_response(&r) {
        Some(_) => Ok(()),
        None => Err(Verdict::error(
            "tokens for a valid client assertion",
            format!(
                "a valid private_key_jwt assertion got {}, so refusals prove nothing",
                observe(&r)
            ),
        )),
    }
}

const REFUSED: &[&str] =
    &["invalid_client", "invalid_request", "unauthorized_client", "invalid_grant"];

pub(super) async fn private_key_jwt(s: &Session<'_>, sev: Severity) -> Outcome {
    let client = client(s)?;
    let r = request(s, client, &signed(client, &claims(s, client))?).await?;
    let expected = "tokens for a client assertion signed with the registered key (RFC 7523 §2.2)";
    match Tokens::from_response(&r) {
        Some(_) => pass(expected, format!("{} with tokens", r.status)),
        None => {
            unmet(sev, expected, observe(&r), "a valid assertion did not authenticate the client")
        }
    }
}

/// A refusal case: the assertion `make` builds from valid claims must not authenticate.
async fn refused(
    s: &Session<'_>,
    sev: Severity,
    expected: &str,
    make: impl FnOnce(&PrivateKeyJwtTarget, Value) -> Result<String, Verdict>,
) -> Outcome {
    let client = client(s)?;
    control(s, client).await?;
    let assertion = make(client, claims(s, client))?;
    let r = request(s, client, &assertion).await?;
    judge_error(sev, expected, &r, REFUSED)
}

pub(super) async fn wrong_key(s: &Session<'_>, sev: Severity) -> Outcome {
    refused(s, sev, "401 invalid_client for an assertion signed with another key", |_, c| {
        signed_by_stranger(&c)
    })
    .await
}

pub(super) async fn alg_none(s: &Session<'_>, sev: Severity) -> Outcome {
    refused(s, sev, "401 invalid_client for an unsigned (alg none) assertion", |_, c| {
        Ok(unsigned(&c))
    })
    .await
}

/// Valid claims with `name` set to `value` (or removed, for `Value::Null`), signed.
fn with_claim(
    name: &'static str,
    value: Value,
) -> impl FnOnce(&PrivateKeyJwtTarget, Value) -> Result<String, Verdict> {
    move |client, mut c| {
        if value.is_null() {
            c.as_object_mut().map(|m| m.remove(name));
        } else {
            c[name] = value;
        }
        signed(client, &c)
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub(super) async fn expired(s: &Session<'_>, sev: Severity) -> Outcome {
    refused(
        s,
        sev,
        "401 invalid_client for an assertion that expired two minutes ago",
        with_claim("exp", json!(now() - 120)),
    )
    .await
}

pub(super) async fn nbf_future(s: &Session<'_>, sev: Severity) -> Outcome {
    refused(
        s,
        sev,
        "401 invalid_client for an assertion not valid for five more minutes",
        with_claim("nbf", json!(now() + 300)),
    )
    .await
}

pub(super) async fn wrong_audience(s: &Session<'_>, sev: Severity) -> Outcome {
    refused(
        s,
        sev,
        "401 invalid_client for an assertion made out to another server",
        with_claim("aud", json!("https://attacker.authbench.invalid/token")),
    )
    .await
}

pub(super) async fn old_iat(s: &Session<'_>, sev: Severity) -> Outcome {
    refused(
        s,
        sev,
        "401 invalid_client for an assertion issued a year ago (still unexpired)",
        with_claim("iat", json!(now() - 365 * 86_400)),
    )
    .await
}

pub(super) async fn claims_missing(s: &Session<'_>, sev: Severity) -> Outcome {
    let client = client(s)?;
    control(s, client).await?;
    let mut seen = Vec::new();
    for name in ["iss", "sub", "aud", "exp"] {
        let assertion = with_claim(name, Value::Null)(client, claims(s, client))?;
        let r = request(s, client, &assertion).await?;
        let expected = format!("401 invalid_client for an assertion without {name} (RFC 7523 §3)");
        match judge_error(sev, &expected, &r, REFUSED) {
            Ok(v) if v.outcome == authbench_reports::Outcome::Pass => {
                seen.push(format!("without {name}: {}", r.status));
            }
            other => return other,
        }
    }
    pass("each of iss, sub, aud and exp required", seen.join("; "))
}

pub(super) async fn replayed(s: &Session<'_>, sev: Severity) -> Outcome {
    let client = client(s)?;
    let assertion = signed(client, &claims(s, client))?;
    let first = request(s, client, &assertion).await?;
    if Tokens::from_response(&first).is_none() {
        return Err(Verdict::error("tokens for a fresh assertion", observe(&first)));
    }
    let again = request(s, client, &assertion).await?;
    judge_error(
        sev,
        "401 invalid_client for an assertion used a second time (its jti seen)",
        &again,
        REFUSED,
    )
}

/// The key of a client assertion comes from the client's registration,
/// never from URLs in the assertion's header: an authorization server that
/// fetches them is a server-side request forgery anyone can trigger at the
/// token endpoint (RFC 8725 §3.10, RFC 7523 §3).
pub(super) async fn key_urls_not_fetched(s: &Session<'_>, sev: Severity) -> Outcome {
    let expected = "no jku or x5u of a client assertion is fetched (RFC 8725 §3.10)";
    let client = client(s)?;
    let Some(callback) = s.shared.forge.callback() else {
        return Err(Verdict::skip(
            "the target is not on loopback and the profile has no [callback]: authbench cannot observe what the target fetches",
        ));
    };
    control(s, client).await?;
    let jku = callback.url("ssrf/oauth-assertion-jku").to_string();
    let x5u = callback.url("ssrf/oauth-assertion-x5u").to_string();
    let r =
        request(s, client, &signed_by_stranger_pointing(&claims(s, client), Some((&jku, &x5u)))?)
            .await?;
    if r.status >= 500 {
        return Err(Verdict::server_error(expected, observe(&r), r.status));
    }
    let hits = callback.wait("ssrf/oauth-assertion-", std::time::Duration::from_secs(1)).await;
    if let Some(first) = hits.first() {
        return unmet(
            sev,
            expected,
            format!("{}; the listener saw {first}", observe(&r)),
            "the token endpoint fetches a URL a client assertion names: a server-side request forgery before the client is authenticated",
        );
    }
    if Tokens::from_response(&r).is_some() {
        return unmet(
            sev,
            expected,
            observe(&r),
            "an assertion signed with a key the client never registered authenticated it",
        );
    }
    pass(expected, format!("{}; nothing reached the listener within 1 s", observe(&r)))
}
