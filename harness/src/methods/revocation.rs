//! Measured revocation latency: the time from the revocation call to the
//! first refusal, for the credentials whose revocation is not a standard
//! protocol (API keys, JWT denylists, client certificates). Revoking them is
//! product-specific, so these run where the profile names the reference
//! servers' admin API (`[reference] admin_url`) and skip elsewhere; OAuth's
//! revocation (RFC 7009) is measured against any server in `oauth2::
//! revocation-latency`.

use std::time::{Duration, Instant};

use authbench_scenarios::Case;
use authbench_scenarios::case::{Credential, JwtCredential};
use serde_json::{Value, json};

use super::{Method, Shared};
use crate::client::{RawRequest, RawResponse};
use crate::verdict::{Verdict, observe};

/// How long a revocation may take to reach the resource.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// The admin API's URL and token file, or the skip that explains its absence.
pub fn require_admin(shared: &Shared) -> Result<&(String, std::path::PathBuf), Verdict> {
    shared.forge.target().admin.as_ref().ok_or_else(|| {
        Verdict::skip(
            "revocation here is product-specific: measured only against the reference servers' admin API ([reference] admin_url)",
        )
    })
}

/// Sends a JSON POST to the admin API.
pub async fn admin_post(shared: &Shared, path: &str, body: &Value) -> Result<RawResponse, Verdict> {
    let target = shared.forge.target();
    let (admin, token_file) = require_admin(shared)?;
    let token = std::fs::read_to_string(token_file)
        .map_err(|e| Verdict::error("the admin token", format!("{}: {e}", token_file.display())))?;
    let url = target
        .base_url
        .join(&format!("{}{path}", admin.trim_end_matches('/')))
        .map_err(|e| Verdict::error("the admin URL", e.to_string()))?;
    let mut request = RawRequest::get(url)
        .header("Authorization", format!("Bearer {}", token.trim()))
        .header("Content-Type", "application/json");
    request.method = "POST".to_owned();
    request.body = body.to_string().into_bytes();
    shared
        .client
        .send(&request)
        .await
        .map_err(|e| Verdict::error("an admin API answer", e.to_string()))
}

/// Polls `refused` until it says the credential is refused, from `started`;
/// the verdict reports the latency.
pub async fn measure<F, Fut>(
    case: &Case,
    what: &str,
    started: Instant,
    acknowledged: Duration,
    mut refused: F,
) -> Verdict
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, Verdict>>,
{
    let expected = format!("{what} refused within {} s of its revocation", DEADLINE.as_secs());
    loop {
        match refused().await {
            Ok(true) => {
                let latency = started.elapsed().as_millis() as u64;
                return Verdict::pass(
                    expected,
                    format!(
                        "revocation latency {latency} ms (acknowledged after {} ms)",
                        acknowledged.as_millis()
                    ),
                )
                .measured("revocation_latency_ms", latency);
            }
            Ok(false) if started.elapsed() > DEADLINE => {
                return Verdict::unmet(
                    case.severity,
                    expected,
                    format!("still accepted after {} s", DEADLINE.as_secs()),
                    "the revocation does not take effect",
                );
            }
            Ok(false) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(v) => return v,
        }
    }
}

async fn get(shared: &Shared, request: RawRequest) -> Result<RawResponse, Verdict> {
    shared.client.send(&request).await.map_err(|e| Verdict::error("an answer", e.to_string()))
}

/// A fresh API key, used, revoked, polled.
pub async fn api_key(shared: &Shared, case: &Case) -> Verdict {
    match api_key_inner(shared, case).await {
        Ok(v) | Err(v) => v,
    }
}

async fn api_key_inner(shared: &Shared, case: &Case) -> Result<Verdict, Verdict> {
    let target = shared.forge.target();
    let a = target.api_key.as_ref().ok_or_else(|| Verdict::skip("no [api_key]"))?;
    // The admin API's default scope is the one the profile's resource needs.
    let body = json!({ "client_id": "authbench-revocation-latency" });
    let created = admin_post(shared, "/api-keys", &body).await?;
    let view = created
        .json()
        .filter(|_| created.status == 201)
        .ok_or_else(|| Verdict::error("a new key from the admin API", observe(&created)))?;
    let (Some(id), Some(key)) =
        (view.get("id").and_then(Value::as_str), view.get("key").and_then(Value::as_str))
    else {
        return Err(Verdict::error("a new key", "the admin API's answer has no id or key"));
    };
    let request = || {
        let r = RawRequest::get(a.url.clone());
        match (&a.header, &a.scheme) {
            (Some(h), _) => r.header(h, key),
            (None, Some(s)) => r.header("Authorization", format!("{s} {key}")),
            (None, None) => r,
        }
    };
    let first = get(shared, request()).await?;
    if first.status != 200 {
        return Err(Verdict::error("the new key accepted", observe(&first)));
    }
    let started = Instant::now();
    let revoked = admin_post(shared, &format!("/api-keys/{id}/revoke"), &json!({})).await?;
    if !(200..300).contains(&revoked.status) {
        return Err(Verdict::error("the key revoked", observe(&revoked)));
    }
    let acknowledged = started.elapsed();
    Ok(measure(case, "a revoked API key", started, acknowledged, || async {
        Ok(get(shared, request()).await?.status != 200)
    })
    .await)
}

/// A freshly minted JWT, used at the resource that consults the denylist,
/// its `jti` revoked, polled.
pub async fn jwt(shared: &Shared, case: &Case) -> Verdict {
    match jwt_inner(shared, case).await {
        Ok(v) | Err(v) => v,
    }
}

async fn jwt_inner(shared: &Shared, case: &Case) -> Result<Verdict, Verdict> {
    let target = shared.forge.target();
    let j = target.jwt.as_ref().ok_or_else(|| Verdict::skip("no [jwt]"))?;
    let url = j.revocation_url.clone().ok_or_else(|| {
        Verdict::skip("the profile's [jwt] has no revocation_url (a resource that checks jti)")
    })?;
    let forged = shared
        .forge
        .forge(Method::Jwt, &Credential::Jwt(JwtCredential::default()))
        .map_err(|s| Verdict::skip(s.0))?;
    let header =
        forged.headers.first().cloned().ok_or_else(|| Verdict::error("a token", "none"))?;
    let token =
        String::from_utf8_lossy(&header.1).rsplit(' ').next().unwrap_or_default().to_owned();
    let claims = token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, p).ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .ok_or_else(|| Verdict::error("a minted token", "its payload does not decode"))?;
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .ok_or_else(|| Verdict::skip("minted tokens carry no jti: give [jwt] signing_key_file"))?;
    let request = || RawRequest::get(url.clone()).header(&header.0, header.1.clone());
    let first = get(shared, request()).await?;
    if first.status != 200 {
        return Err(Verdict::error("the fresh token accepted", observe(&first)));
    }
    let started = Instant::now();
    let body = json!({ "jti": jti, "expires_at": claims.get("exp") });
    let revoked = admin_post(shared, "/jwt/revocations", &body).await?;
    if !(200..300).contains(&revoked.status) {
        return Err(Verdict::error("the jti revoked", observe(&revoked)));
    }
    let acknowledged = started.elapsed();
    Ok(measure(case, "a token whose jti is revoked", started, acknowledged, || async {
        Ok(get(shared, request()).await?.status != 200)
    })
    .await)
}
