//! JWT-secured authorization requests (RFC 9101): the `request` parameter
//! carries the authorization request as a JWT signed with the client's
//! registered key (the `private_key_jwt` client's), and only its claims
//! count — whatever else the query says (§5).

use crate::app::App;
use crate::flaws::Flaw;

/// The authorization request a `request` object in `query` stands for, as a
/// query string; `Ok(None)` without one; `Err` the error page's text.
pub fn resolve(app: &App, query: &[(String, String)]) -> Result<Option<String>, String> {
    let Some((_, jwt)) = query.iter().find(|(n, _)| n == "request") else { return Ok(None) };
    let client_id = query
        .iter()
        .find(|(n, _)| n == "client_id")
        .map(|(_, v)| v.as_str())
        .ok_or("the client_id parameter is missing")?;
    if client_id != super::assertion::CLIENT_ID {
        return Err("no key is registered for this client's request objects".to_owned());
    }
    let claims =
        app.oauth.assertions.request_object_claims(jwt, app.flaws.has(Flaw::OauthJarUnverified))?;
    let object = claims.as_object().ok_or("the request object's claims are not an object")?;
    let claimed = object.get("client_id").and_then(|v| v.as_str());
    if claimed != Some(client_id) && !app.flaws.has(Flaw::OauthJarClientIdUnchecked) {
        return Err("the request object's client_id differs from the request's".to_owned());
    }
    if object.get("iss").and_then(|v| v.as_str()).is_some_and(|iss| iss != client_id) {
        return Err("the request object's iss is not the client".to_owned());
    }
    let names_us = |v: &serde_json::Value| v.as_str() == Some(app.oauth.issuer.as_str());
    let aud_ok = match object.get("aud") {
        None => true,
        Some(serde_json::Value::Array(list)) => list.iter().any(names_us),
        Some(one) => names_us(one),
    };
    if !aud_ok {
        return Err("the request object is made out to another server".to_owned());
    }
    // Only the object's parameters count (RFC 9101 §5); the flaw lets the
    // query's override them.
    let mut params: Vec<(String, String)> = object
        .iter()
        .filter(|(n, _)| !matches!(n.as_str(), "iss" | "aud" | "exp" | "iat" | "nbf" | "jti"))
        .filter_map(|(n, v)| v.as_str().map(|v| (n.clone(), v.to_owned())))
        .collect();
    if app.flaws.has(Flaw::OauthJarMergesQuery) {
        for (n, v) in query.iter().filter(|(n, _)| n != "request") {
            params.retain(|(p, _)| p != n);
            params.push((n.clone(), v.clone()));
        }
    }
    let mut out = form_urlencoded::Serializer::new(String::new());
    out.extend_pairs(params.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    Ok(Some(out.finish()))
}
