//! Claims and header members the resource must check, given the wrong JSON
//! type (jwt_tool's forced errors and type injection): each token is validly
//! signed, so only the type is wrong. A verifier that compares loosely
//! (`[issuer]` for the issuer, `{"aud": …}` for the audience) or treats a
//! `null` as absent accepts what it should refuse; one that trips over the
//! type answers 5xx instead of 401. Only members every verifier reads are
//! spoiled: `iss`, `aud` and `exp` (which the catalog requires checked),
//! `nbf`, and the header's `alg`; and payloads that are no object at all. `sub`, `jti` and `typ` may be ignored by
//! a correct resource that does not use them, so they are left alone.

use authbench_scenarios::Case;
use serde_json::{Value, json};

use super::probe::BearerProbe;
use crate::methods::Shared;
use crate::verdict::{Verdict, is_served, observe};

/// Payloads that are not a claims set: (what, the payload's bytes).
const NOT_OBJECTS: &[(&str, &str)] = &[
    ("empty", ""),
    ("an array", "[]"),
    ("null", "null"),
    ("a string", "\"authbench\""),
    ("a number", "0"),
    ("not JSON", "\u{0}\u{1}\u{ff}"),
];

/// The probes: (where, member, value).
fn probes(issuer: &str, audience: &str, now: i64) -> Vec<(&'static str, &'static str, Value)> {
    let mut out = Vec::new();
    for value in [Value::Null, json!(true), json!(0), json!([issuer])] {
        out.push(("claim", "iss", value));
    }
    for value in [Value::Null, json!(true), json!(0), json!({ "aud": audience })] {
        out.push(("claim", "aud", value));
    }
    for value in [Value::Null, json!(true), json!([now + 300])] {
        out.push(("claim", "exp", value));
    }
    for value in [json!(true), json!({ "nbf": now })] {
        out.push(("claim", "nbf", value));
    }
    for value in [Value::Null, json!(0), json!(["RS256"])] {
        out.push(("header", "alg", value));
    }
    out
}

pub(super) async fn claim_types_refused(shared: &Shared, case: &Case) -> Verdict {
    let expected =
        "validly signed tokens whose iss, aud, exp, nbf or alg has the wrong JSON type, or whose payload is no JSON object, refused with 401, not served and not 5xx"
            .to_owned();
    let forge = match shared.forge.jwt_forge(None) {
        Ok(f) => f,
        Err(skip) => return Verdict::skip(skip.0),
    };
    let probe = match BearerProbe::new(shared, None, &expected).await {
        Ok(p) => p,
        Err(v) => return v,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (issuer, audience) = forge.issuer_audience();
    let mut crashed = Vec::new();
    let mut sent = 0;
    for (place, member, value) in probes(issuer, audience, now) {
        let edit = [(member, value.clone())];
        let token = match place {
            "header" => forge.signed_edited(&edit, &[]),
            _ => forge.signed_edited(&[], &edit),
        };
        let token = match token {
            Ok(t) => t,
            Err(skip) => return Verdict::skip(skip.0),
        };
        let r = match probe.send(shared, &token, &expected).await {
            Ok(r) => r,
            Err(v) => return v,
        };
        let what = format!("{place} {member} = {value}");
        if is_served(r.status) {
            return Verdict::unmet(
                case.severity,
                expected,
                format!("{what}: {}", observe(&r)),
                format!(
                    "a token whose {member} is {value} was accepted: the {place} member is not checked by type"
                ),
            );
        }
        if r.status >= 500 {
            crashed.push(format!("{what}: {}", r.status));
        }
        sent += 1;
    }
    // Payloads that are not a JSON object at all, validly signed (Wycheproof
    // signs empty, zero and binary payloads): a JWT's claims set is an object.
    for (what, payload) in NOT_OBJECTS {
        let token = match forge.signed_payload(payload) {
            Ok(t) => t,
            Err(skip) => return Verdict::skip(skip.0),
        };
        let r = match probe.send(shared, &token, &expected).await {
            Ok(r) => r,
            Err(v) => return v,
        };
        if is_served(r.status) {
            return Verdict::unmet(
                case.severity,
                expected,
                format!("a payload that is {what}: {}", observe(&r)),
                "a validly signed token whose payload is not a claims set was accepted",
            );
        }
        if r.status >= 500 {
            crashed.push(format!("payload {what}: {}", r.status));
        }
        sent += 1;
    }
    if !crashed.is_empty() {
        return Verdict::unmet(
            authbench_scenarios::Severity::Should,
            expected,
            crashed.join("; "),
            "a wrongly typed member or payload breaks the token check (5xx) instead of a 401",
        );
    }
    Verdict::pass(expected, format!("{sent} wrongly typed tokens refused"))
}
