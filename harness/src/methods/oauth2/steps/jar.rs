//! JWT-secured authorization requests (RFC 9101), when the metadata says
//! `request_parameter_supported` and the profile's `private_key_jwt` client
//! gives the key to sign them: a signed request object yields a code; one
//! signed with another key, unsigned, or naming another client does not;
//! parameters outside it do not count; and `require_signed_request_object`
//! means what it says.

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::methods::oauth2::profile::PrivateKeyJwtTarget;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The client whose key signs request objects, or a skip.
fn client<'s>(s: &'s Session<'_>) -> Result<&'s PrivateKeyJwtTarget, Verdict> {
    let supported =
        s.meta.raw.get("request_parameter_supported").and_then(Value::as_bool).unwrap_or(false);
    if !supported {
        return Err(Verdict::skip(
            "the metadata does not say request_parameter_supported (RFC 9101 §10.1)",
        ));
    }
    s.require_login()?;
    s.t.private_key_jwt.as_ref().ok_or_else(|| {
        Verdict::skip(
            "the profile's [oauth2] has no private_key_jwt client, whose key signs request objects",
        )
    })
}

/// The claims of a request object for `client`: the profile's authorization
/// request with the client's id, made out to the issuer.
fn claims(s: &Session<'_>, client: &PrivateKeyJwtTarget, state: &str) -> Value {
    let mut object = serde_json::Map::new();
    for (n, v) in s.auth_request().params {
        object.insert(n, Value::String(v));
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    object.insert("client_id".into(), Value::String(client.client_id.clone()));
    object.insert("state".into(), Value::String(state.to_owned()));
    object.insert("iss".into(), Value::String(client.client_id.clone()));
    object.insert("aud".into(), Value::String(s.meta.issuer.clone()));
    object.insert("iat".into(), Value::from(now));
    object.insert("exp".into(), Value::from(now + 300));
    Value::Object(object)
}

fn sign(
    key: &jsonwebtoken::EncodingKey,
    alg: jsonwebtoken::Algorithm,
    claims: &Value,
) -> Result<String, Verdict> {
    let mut header = jsonwebtoken::Header::new(alg);
    header.typ = Some("oauth-authz-req+jwt".to_owned());
    jsonwebtoken::encode(&header, claims, key)
        .map_err(|e| Verdict::error("a request object", e.to_string()))
}

/// How a request object is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Made {
    /// Signed with the client's key.
    Valid,
    /// Signed with a key the server never saw.
    Stranger,
    /// `alg: none`.
    Unsigned,
}

fn make(client: &PrivateKeyJwtTarget, claims: &Value, how: Made) -> Result<String, Verdict> {
    match how {
        Made::Valid => sign(&client.key.encoding, client.key.algorithm, claims),
        Made::Stranger => {
            let pem = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                .map_err(|e| Verdict::error("a stranger's key", e.to_string()))?
                .serialize_pem();
            let key = jsonwebtoken::EncodingKey::from_ec_pem(pem.as_bytes())
                .map_err(|e| Verdict::error("a stranger's key", e.to_string()))?;
            sign(&key, jsonwebtoken::Algorithm::ES256, claims)
        }
        Made::Unsigned => {
            let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"oauth-authz-req+jwt"}"#);
            Ok(format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string())))
        }
    }
}

/// The authorization request carrying `object`, with `extra` query parameters.
async fn authorize_with(
    s: &Session<'_>,
    client: &PrivateKeyJwtTarget,
    object: String,
    extra: &[(&str, &str)],
) -> Result<Authorized, Verdict> {
    let mut params =
        vec![("client_id".to_owned(), client.client_id.clone()), ("request".to_owned(), object)];
    params.extend(extra.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())));
    Ok(s.authorize(&params).await?)
}

fn fresh_state() -> String {
    crate::methods::forge::random_string(crate::methods::forge::ALNUM, 24)
}

/// The control: a valid request object yields a code.
async fn control(s: &Session<'_>, client: &PrivateKeyJwtTarget) -> Result<(), Verdict> {
    let object = make(client, &claims(s, client, &fresh_state()), Made::Valid)?;
    let outcome = authorize_with(s, client, object, &[]).await?;
    match outcome.param("code") {
        Some(_) => Ok(()),
        None => Err(Verdict::error(
            "a code for a valid request object",
            format!(
                "a valid request object ended in {}, so refusals prove nothing",
                outcome.describe()
            ),
        )),
    }
}

pub(super) async fn jar_request_object(s: &Session<'_>, sev: Severity) -> Outcome {
    let client = client(s)?;
    let state = fresh_state();
    let object = make(client, &claims(s, client, &state), Made::Valid)?;
    let outcome = authorize_with(s, client, object, &[]).await?;
    let expected = "a code, and the request object's state, for a request object signed with the client's key (RFC 9101 §5)";
    match (outcome.param("code"), outcome.param("state")) {
        (Some(_), Some(got)) if got == state => pass(expected, outcome.describe()),
        (Some(_), _) => unmet(
            sev,
            expected,
            outcome.describe(),
            "the code came back without the object's state",
        ),
        _ => unmet(sev, expected, outcome.describe(), "a valid request object yielded no code"),
    }
}

/// A request object that must not yield a code.
async fn refused(
    s: &Session<'_>,
    sev: Severity,
    expected: &str,
    how: Made,
    other_client: bool,
) -> Outcome {
    let client = client(s)?;
    control(s, client).await?;
    let mut c = claims(s, client, &fresh_state());
    if other_client {
        let other =
            s.t.other_client.as_ref().map_or("authbench-someone-else", |o| o.client_id.as_str());
        c["client_id"] = Value::String(other.to_owned());
    }
    let object = make(client, &c, how)?;
    let outcome = authorize_with(s, client, object, &[]).await?;
    let observed = outcome.describe();
    match &outcome {
        Authorized::Page { status, .. } if *status >= 500 => {
            Err(Verdict::server_error(expected, observed, *status))
        }
        _ if outcome.param("code").is_some() => {
            unmet(sev, expected, observed, "the request object was honoured")
        }
        _ => pass(expected, observed),
    }
}

pub(super) async fn jar_wrong_key(s: &Session<'_>, sev: Severity) -> Outcome {
    refused(
        s,
        sev,
        "no code for a request object signed with another key (RFC 9101 §6.2)",
        Made::Stranger,
        false,
    )
    .await
}

pub(super) async fn jar_alg_none(s: &Session<'_>, sev: Severity) -> Outcome {
    refused(s, sev, "no code for an unsigned (alg none) request object from a client with a registered key (RFC 9101 §6.2)", Made::Unsigned, false).await
}

pub(super) async fn jar_client_id_mismatch(s: &Session<'_>, sev: Severity) -> Outcome {
    refused(
        s,
        sev,
        "no code for a request object naming another client_id than the request (RFC 9101 §5)",
        Made::Valid,
        true,
    )
    .await
}

pub(super) async fn jar_query_ignored(s: &Session<'_>, sev: Severity) -> Outcome {
    let client = client(s)?;
    let state = fresh_state();
    let object = make(client, &claims(s, client, &state), Made::Valid)?;
    let outcome = authorize_with(s, client, object, &[("state", "authbench-query-state")]).await?;
    let expected = "the request object's state, not the query's (RFC 9101 §5: only the object's parameters count)";
    match (outcome.param("code"), outcome.param("state")) {
        (Some(_), Some(got)) if got == state => pass(expected, outcome.describe()),
        (Some(_), Some(got)) if got == "authbench-query-state" => unmet(
            sev,
            expected,
            outcome.describe(),
            "a parameter outside the request object overrode the one inside",
        ),
        // A server may refuse a request that repeats a parameter outside the object.
        (None, _) => pass(expected, format!("refused: {}", outcome.describe())),
        _ => unmet(sev, expected, outcome.describe(), "the state came back changed"),
    }
}

pub(super) async fn jar_required_as_advertised(s: &Session<'_>, sev: Severity) -> Outcome {
    client(s)?;
    let required = s.meta.raw.get("require_signed_request_object").and_then(Value::as_bool);
    let outcome = s.authorize(&s.auth_request().params).await?;
    let code = outcome.param("code").is_some();
    match required {
        Some(true) if code => unmet(
            sev,
            "no code for a plain request: the metadata says require_signed_request_object",
            outcome.describe(),
            "signed request objects are advertised as required and not enforced",
        ),
        Some(true) => {
            pass("no code for a plain request (require_signed_request_object)", outcome.describe())
        }
        _ if code => pass(
            "request objects optional, as the metadata says: a plain request still yields a code",
            outcome.describe(),
        ),
        _ => Err(Verdict::error(
            "a code for a plain request: the metadata does not require request objects",
            outcome.describe(),
        )),
    }
}
