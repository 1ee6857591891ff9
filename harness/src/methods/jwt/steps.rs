//! JWT's multi-exchange cases: how long a captured token can be replayed,
//! and the placeholders clients send when they have no token.

use authbench_scenarios::Case;
use authbench_scenarios::case::Credential;

use crate::methods::steps::send;
use crate::methods::{Method, Shared};
use crate::verdict::{Verdict, observe};

/// How long a captured token keeps working: it is replayed, and its `exp`
/// bounds the window. A bearer token with no `exp` is replayable for ever.
pub(super) async fn jwt_replay_window(shared: &Shared, case: &Case) -> Verdict {
    let token = match shared.forge.valid_token() {
        Ok(t) => t,
        Err(skip) => return Verdict::skip(skip.0),
    };
    let expected = "a captured token is replayable only until a bounded exp".to_owned();
    let mut statuses = Vec::new();
    for _ in 0..2 {
        match send(shared, Method::Jwt, &Credential::Valid).await {
            Ok((r, _)) => statuses.push(r.status),
            Err(v) => return v,
        }
    }
    if statuses.iter().any(|s| *s != 200) {
        return Verdict::error(
            expected,
            format!("the valid token was not accepted ({statuses:?})"),
        );
    }
    let claims = token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, p).ok()
        })
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // The window closes at exp only where exp is enforced: a target that
    // serves everything would otherwise be credited with a bounded window.
    let mut expired = authbench_scenarios::case::JwtCredential::default();
    expired.claims.insert("exp".to_owned(), toml::Value::String("-1h".to_owned()));
    match send(shared, Method::Jwt, &Credential::Jwt(expired)).await {
        Ok((r, _)) if crate::verdict::is_served(r.status) => {
            return Verdict::unmet(
                case.severity,
                expected,
                format!("a token that expired an hour ago got {}", r.status),
                "exp is not enforced: a captured token is replayable for ever",
            );
        }
        Ok((r, _)) if r.status >= 500 => {
            return Verdict::server_error(expected, observe(&r), r.status);
        }
        Ok(_) => {}
        // Without a signing key nothing shows that exp is enforced: a target
        // that serves everything would be credited with a bounded window.
        Err(v) if v.outcome == authbench_reports::Outcome::Skip => {
            return Verdict::skip(
                "needs [jwt] signing_key_file to check that an expired token is refused before crediting a window that closes at exp",
            );
        }
        Err(v) => return v,
    }
    match claims.as_ref().and_then(|c| c.get("exp")).and_then(serde_json::Value::as_i64) {
        Some(exp) => Verdict::pass(
            expected,
            format!("replayed twice; the window closes at exp, in {} s", exp - now),
        )
        .measured("replay_window_s", (exp - now).max(0) as u64),
        None => Verdict::unmet(
            case.severity,
            expected,
            "replayed twice; no exp".to_owned(),
            "the token never expires",
        ),
    }
}

/// What front ends send when the token they should send is missing: the
/// text of JavaScript's and Python's empty values, an empty token, an
/// object's default string (jwt_tool's `Bearer null` prescan, widened).
const PLACEHOLDERS: &[&str] =
    &["null", "undefined", "", "None", "nil", "false", "0", "[object Object]", "Bearer"];

/// Each placeholder after `Bearer ` is refused; none is served and none
/// breaks the server (a 5xx is reported, not judged).
pub(super) async fn bearer_placeholders(shared: &Shared, case: &Case) -> Verdict {
    let expected = format!("`Bearer <placeholder>` refused for each of {}", PLACEHOLDERS.len());
    if let Err(why) = shared.control(Method::Jwt, None).await {
        return Verdict::error(expected, format!("the positive control failed: {why}"));
    }
    let mut statuses = Vec::new();
    for placeholder in PLACEHOLDERS {
        let value = format!("Bearer {placeholder}");
        let credential = Credential::Raw(authbench_scenarios::case::RawCredential {
            header: None,
            values: vec![value.clone()],
        });
        let r = match send(shared, Method::Jwt, &credential).await {
            Ok((r, _)) => r,
            Err(v) => return v,
        };
        if crate::verdict::is_served(r.status) {
            return Verdict::unmet(
                case.severity,
                expected,
                format!("`{value}` got {}", observe(&r)),
                "a placeholder for a missing token is accepted as a credential",
            );
        }
        if r.status >= 500 {
            return Verdict::server_error(
                expected,
                format!("`{value}`: {}", observe(&r)),
                r.status,
            );
        }
        statuses.push(r.status);
    }
    statuses.sort_unstable();
    statuses.dedup();
    Verdict::pass(expected, format!("{} placeholders refused ({statuses:?})", PLACEHOLDERS.len()))
}

/// Every `[[jwt.variants]]` resource (PS256, RS512, HS384, ES384 …, and
/// the ES256, EdDSA and HS256 ones that also have a case of their own)
/// serves a validly signed token of its algorithm: without it, every
/// refusal that resource gives would prove nothing.
pub(super) async fn variants_serve_valid_tokens(shared: &Shared, case: &Case) -> Verdict {
    let Some(j) = shared.forge.target().jwt.as_ref() else {
        return Verdict::skip("the target profile has no [jwt] section");
    };
    let algorithms: Vec<&str> = j
        .variants
        .iter()
        .map(|(alg, _, _)| *alg)
        .filter(|alg| *alg != j.algorithm)
        .map(crate::methods::jwt::forge::alg_name)
        .collect();
    if algorithms.is_empty() {
        return Verdict::skip("the profile's [jwt] has no [[jwt.variants]] resource");
    }
    let expected =
        format!("a validly signed token served by each variant ({})", algorithms.join(", "));
    let mut served = Vec::new();
    for alg in algorithms {
        let credential = Credential::Jwt(authbench_scenarios::case::JwtCredential::default());
        let request = match crate::methods::request_for(
            shared,
            Method::Jwt,
            &credential,
            Some(alg),
            authbench_scenarios::case::UrlSelector::Url,
            None,
        ) {
            Ok((request, _)) => request,
            Err(v) => return v,
        };
        match shared.client.send(&request).await {
            Ok(r) if crate::verdict::is_served(r.status) => served.push(alg),
            Ok(r) if r.status >= 500 => {
                return Verdict::server_error(
                    expected,
                    format!("{alg}: {}", observe(&r)),
                    r.status,
                );
            }
            Ok(r) => {
                return Verdict::refused_valid(
                    case.severity,
                    expected,
                    format!("{alg}: {}", observe(&r)),
                    "a validly signed token was refused by its own resource",
                );
            }
            Err(e) => return Verdict::unanswered(&expected, &e),
        }
    }
    Verdict::pass(expected, format!("served: {}", served.join(", ")))
}
