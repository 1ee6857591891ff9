//! A key's source-address allowlist (the guide's answer for fixed, known
//! partners) and its usage record: served from an allowed address, refused
//! from another, refused whatever address the client claims in a header,
//! refused without revealing that the key is valid; each use counted where
//! the target reports usage.
//!
//! Every request names its source address: on Linux any `127.0.0.0/8`
//! address is a loopback source, so one machine can be both the partner
//! and the stranger. Each refusal is judged only after the same key was
//! served from its allowed address in the same case, so a target that
//! refuses the key everywhere (a wrong profile) is `error`, never `pass`.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use authbench_scenarios::Case;
use authbench_scenarios::case::{ApiKeyCredential, Credential, KeySelector};
use serde_json::Value;
use url::Url;

use super::profile::{Allowlist, ApiKeyTarget, UsageEndpoint};
use crate::client::{RawRequest, RawResponse};
use crate::methods::steps::{challenge, served};
use crate::methods::{Method, Shared};
use crate::verdict::{Verdict, is_served, observe};

/// How long a target may take to show a use in its usage report.
pub const USAGE_DEADLINE: Duration = Duration::from_secs(10);
/// Requests the usage case sends with the key.
const USES: u64 = 3;

fn target(shared: &Shared) -> Result<(&ApiKeyTarget, &Allowlist), Verdict> {
    let a = shared.forge.target().api_key.as_ref().ok_or_else(|| Verdict::skip("no [api_key]"))?;
    let list = a.allowlist.as_ref().ok_or_else(|| {
        Verdict::skip("the profile declares no allowlisted key ([api_key.allowlist])")
    })?;
    Ok((a, list))
}

/// A GET of `url` with `key` where the profile puts keys, sent from `source`.
fn request_to(a: &ApiKeyTarget, url: &Url, key: &str, source: Option<IpAddr>) -> RawRequest {
    let mut r = RawRequest::get(url.clone());
    r = match (&a.header, &a.scheme) {
        (Some(h), _) => r.header(h, key),
        (None, Some(s)) => r.header("Authorization", format!("{s} {key}")),
        (None, None) => r,
    };
    r.source = source;
    r
}

/// The allowlisted key at the allowlist's resource, sent from `source`.
fn request(list: &Allowlist, a: &ApiKeyTarget, source: IpAddr) -> RawRequest {
    request_to(a, &list.url, &list.key, Some(source))
}

async fn send(shared: &Shared, request: &RawRequest) -> Result<RawResponse, Verdict> {
    shared.client.send(request).await.map_err(|e| Verdict::unanswered("an answer", &e))
}

/// The positive control every refusal case starts with: the key is served
/// from its allowed address.
async fn control(shared: &Shared, a: &ApiKeyTarget, list: &Allowlist) -> Result<(), Verdict> {
    let r = send(shared, &request(list, a, list.allowed_source)).await?;
    if is_served(r.status) {
        return Ok(());
    }
    Err(Verdict::error(
        format!("the allowlisted key served from its allowed address {}", list.allowed_source),
        format!(
            "{}: with the key refused from its own allowed address, a refusal elsewhere proves nothing",
            observe(&r)
        ),
    ))
}

/// The profile's allowlist, after the positive control passed.
async fn controlled(shared: &Shared) -> Result<(&ApiKeyTarget, &Allowlist), Verdict> {
    let (a, list) = target(shared)?;
    control(shared, a, list).await?;
    Ok((a, list))
}

/// `api_key::allowlisted-key-served-from-allowed-source`.
pub(super) async fn served_from_allowed_source(shared: &Shared, case: &Case) -> Verdict {
    let (a, list) = match target(shared) {
        Ok(t) => t,
        Err(v) => return v,
    };
    let expected = format!("the allowlisted key served from {}", list.allowed_source);
    match send(shared, &request(list, a, list.allowed_source)).await {
        Err(v) => v,
        Ok(r) if is_served(r.status) => Verdict::pass(expected, observe(&r)),
        Ok(r) if r.status >= 500 => Verdict::server_error(expected, observe(&r), r.status),
        Ok(r) if r.status == 429 => {
            Verdict::error(expected, format!("{}: throttled, so nothing to judge", observe(&r)))
        }
        Ok(r) => Verdict::refused_valid(
            case.severity,
            expected,
            observe(&r),
            format!(
                "the key is refused from {}, an address its allowlist names",
                list.allowed_source
            ),
        ),
    }
}

/// `api_key::allowlisted-key-refused-from-other-source`.
pub(super) async fn refused_from_other_source(shared: &Shared, case: &Case) -> Verdict {
    let (a, list) = match controlled(shared).await {
        Ok(t) => t,
        Err(v) => return v,
    };
    let expected = format!(
        "the allowlisted key refused from {} (served from {})",
        list.refused_source, list.allowed_source
    );
    match send(shared, &request(list, a, list.refused_source)).await {
        Err(v) => v,
        Ok(r) => judge_refusal(
            case,
            expected,
            &r,
            observe(&r),
            "the key is served from an address its allowlist does not name",
        ),
    }
}

/// A refusal passes whatever its status (401 and 403 both refuse; which one
/// is the business of `allowlist-refusal-reveals-nothing`); a served key is
/// the case's failure; a 5xx or a 429 shows nothing about the allowlist.
fn judge_refusal(
    case: &Case,
    expected: String,
    r: &RawResponse,
    observed: String,
    why: &str,
) -> Verdict {
    if is_served(r.status) {
        Verdict::unmet(case.severity, expected, observed, why)
    } else if r.status >= 500 {
        Verdict::server_error(expected, observed, r.status)
    } else if r.status == 429 {
        Verdict::error(
            expected,
            format!("{observed}: throttled, so the allowlist cannot be judged"),
        )
    } else {
        Verdict::pass(expected, observed)
    }
}

/// Headers through which a client claims another address; a target behind
/// no proxy of its own must believe none of them (RFC 7239 §8.3).
const CLAIMS: [&str; 3] = ["X-Forwarded-For", "X-Real-IP", "Forwarded"];

/// `api_key::allowlist-ignores-forwarded-for`.
pub(super) async fn ignores_forwarded_for(shared: &Shared, case: &Case) -> Verdict {
    let (a, list) = match controlled(shared).await {
        Ok(t) => t,
        Err(v) => return v,
    };
    let expected = format!(
        "the allowlisted key refused from {} whatever address the request claims",
        list.refused_source
    );
    let mut observed = Vec::new();
    for header in CLAIMS {
        let claim = match header {
            "Forwarded" if list.allowed_source.is_ipv6() => {
                format!("for=\"[{}]\"", list.allowed_source)
            }
            "Forwarded" => format!("for={}", list.allowed_source),
            _ => list.allowed_source.to_string(),
        };
        let r = match send(
            shared,
            &request(list, a, list.refused_source).header(header, claim.clone()),
        )
        .await
        {
            Ok(r) => r,
            Err(v) => return v,
        };
        observed.push(format!("{header}: {claim} → {}", r.status));
        if is_served(r.status) || r.status >= 500 || r.status == 429 {
            return judge_refusal(
                case,
                expected,
                &r,
                observed.join("; "),
                &format!(
                    "the allowlist believes the client's own {header}, so any client claiming an allowed address passes it"
                ),
            );
        }
    }
    Verdict::pass(expected, observed.join("; "))
}

/// `api_key::allowlist-refusal-reveals-nothing`: from the refused address,
/// the valid allowlisted key and an unknown key get one answer.
pub(super) async fn refusal_reveals_nothing(shared: &Shared, case: &Case) -> Verdict {
    let (a, list) = match controlled(shared).await {
        Ok(t) => t,
        Err(v) => return v,
    };
    let expected = format!(
        "from {}, the allowlisted key and an unknown key get the same status, challenge and body",
        list.refused_source
    );
    let valid = match send(shared, &request(list, a, list.refused_source)).await {
        Ok(r) => r,
        Err(v) => return v,
    };
    let unknown =
        Credential::ApiKey(ApiKeyCredential { key: KeySelector::Random, ..Default::default() });
    let mut unknown_request = match super::super::request_for(
        shared,
        Method::ApiKey,
        &unknown,
        None,
        Default::default(),
        None,
    ) {
        Ok((r, _)) => r,
        Err(v) => return v,
    };
    unknown_request.url = list.url.clone();
    unknown_request.source = Some(list.refused_source);
    let unknown = match send(shared, &unknown_request).await {
        Ok(r) => r,
        Err(v) => return v,
    };
    let observed = format!("valid key: {}; unknown key: {}", observe(&valid), observe(&unknown));
    if is_served(valid.status) {
        return served(
            expected,
            observed,
            "the valid key is served from the refused address, which tells its holder everything",
        );
    }
    if let Some(r) = [&valid, &unknown].into_iter().find(|r| r.status >= 500) {
        return Verdict::server_error(expected, observed, r.status);
    }
    if valid.status != unknown.status
        || challenge(&valid) != challenge(&unknown)
        || valid.body != unknown.body
    {
        return Verdict::unmet(
            case.severity,
            expected,
            observed,
            "the refusal of a valid key differs from that of an unknown one, so whoever holds a leaked key learns it works and only the address is wrong",
        );
    }
    Verdict::pass(expected, observed)
}

/// `api_key::key-usage-recorded`: the target's usage report counts the
/// key's requests and their time.
pub(super) async fn usage_recorded(shared: &Shared, case: &Case) -> Verdict {
    match usage_inner(shared, case).await {
        Ok(v) | Err(v) => v,
    }
}

async fn usage_inner(shared: &Shared, case: &Case) -> Result<Verdict, Verdict> {
    let a = shared.forge.target().api_key.as_ref().ok_or_else(|| Verdict::skip("no [api_key]"))?;
    let usage = a.usage.as_ref().ok_or_else(|| {
        Verdict::skip("the profile names no usage report for its key ([api_key.usage] url)")
    })?;
    let before = read_usage(shared, usage).await?;
    for _ in 0..USES {
        let r = send(shared, &request_to(a, &a.url, &a.key, None)).await?;
        if !is_served(r.status) {
            return Err(Verdict::error("the profile's key served", observe(&r)));
        }
    }
    let expected = format!(
        "the usage report counts {USES} more requests within {} s, with their time",
        USAGE_DEADLINE.as_secs()
    );
    let started = Instant::now();
    loop {
        let now = read_usage(shared, usage).await?;
        let counted = now.count.saturating_sub(before.count);
        if counted >= USES {
            let observed = format!(
                "request count {} → {}, last use {} → {}, after {} ms",
                before.count,
                now.count,
                before.last_used.as_deref().unwrap_or("none"),
                now.last_used.as_deref().unwrap_or("none"),
                started.elapsed().as_millis()
            );
            return Ok(if usage.last_used_at.is_some() && now.last_used.is_none() {
                Verdict::unmet(
                    case.severity,
                    expected,
                    observed,
                    "requests are counted but the time of the last use is not reported",
                )
            } else {
                Verdict::pass(expected, observed)
                    .measured("usage_latency_ms", started.elapsed().as_millis() as u64)
            });
        }
        if started.elapsed() > USAGE_DEADLINE {
            return Ok(Verdict::unmet(
                case.severity,
                expected,
                format!(
                    "request count {} → {} after {} s",
                    before.count,
                    now.count,
                    USAGE_DEADLINE.as_secs()
                ),
                "the key's use is not recorded, so its owner cannot see it used or spot anomalies",
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Reading {
    count: u64,
    last_used: Option<String>,
}

async fn read_usage(shared: &Shared, usage: &UsageEndpoint) -> Result<Reading, Verdict> {
    let what = format!("the usage report at {}", usage.url);
    let mut request = RawRequest::get(usage.url.clone());
    if let Some(file) = &usage.bearer_file {
        let token = std::fs::read_to_string(file)
            .map_err(|e| Verdict::error(what.clone(), format!("{}: {e}", file.display())))?;
        request = request.header("Authorization", format!("Bearer {}", token.trim()));
    }
    let r = send(shared, &request).await?;
    let json = r
        .json()
        .filter(|_| is_served(r.status))
        .ok_or_else(|| Verdict::error(what.clone(), observe(&r)))?;
    let count = json.pointer(&usage.request_count).and_then(Value::as_u64).ok_or_else(|| {
        Verdict::error(
            what.clone(),
            format!("no count at {} (set [api_key.usage] request_count)", usage.request_count),
        )
    })?;
    let last_used = usage
        .last_used_at
        .as_ref()
        .and_then(|p| json.pointer(p))
        .filter(|v| !v.is_null())
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
    Ok(Reading { count, last_used })
}
