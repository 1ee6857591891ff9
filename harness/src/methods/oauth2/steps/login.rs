//! How the authorization server answers the login form's submission: the
//! request that carries the user's password must not be redirected with a
//! status that makes the browser send its body again (RFC 9700 §4.12).

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::methods::oauth2::Hop;

/// The answers to the login form's submission on a valid authorization
/// request and on one with an unknown scope, which a server may redirect to
/// the client with an error straight after the login. The valid request must
/// end in a code, else the observation proves nothing.
async fn login_answers(s: &Session<'_>) -> Result<Vec<Hop>, Verdict> {
    s.require_login()?;
    let valid = s.auth_request();
    let mut erroneous = s.auth_request();
    erroneous.set("scope", "authbench-unknown-scope");
    let (outcome, hops) =
        s.walk_traced(RawRequest::get(s.authorization_url(&valid.params))).await?;
    if outcome.param("code").is_none() {
        return Err(Verdict::error(
            "a code from a valid authorization request",
            format!("the valid authorization request ended in {}", outcome.describe()),
        ));
    }
    let mut answers: Vec<Hop> = hops.into_iter().filter(|h| h.credentials).collect();
    let (_, hops) = s.walk_traced(RawRequest::get(s.authorization_url(&erroneous.params))).await?;
    answers.extend(hops.into_iter().filter(|h| h.credentials));
    if answers.is_empty() {
        return Err(Verdict::skip(
            "the authorization requests were approved without a login form: no request carried the user's credentials",
        ));
    }
    Ok(answers)
}

/// `METHOD /path -> status Location` for a report: no query (codes, state).
fn shown(h: &Hop) -> String {
    let target = h.location.as_ref().map(|l| {
        let mut l = l.clone();
        l.set_query(None);
        format!(" to {l}")
    });
    format!("{} {} answered {}{}", h.method, h.url.path(), h.status, target.unwrap_or_default())
}

fn observed(answers: &[Hop]) -> String {
    answers.iter().map(shown).collect::<Vec<_>>().join("; ")
}

pub(super) async fn login_redirect_not_307(s: &Session<'_>, sev: Severity) -> Outcome {
    let answers = login_answers(s).await?;
    let expected = "the login form's submission never redirected with 307 or 308, which make the browser send the user's credentials again to the new location (RFC 9700 §4.12)";
    let origin = s.meta.authorization_endpoint.origin();
    let keeps_body: Vec<&Hop> = answers.iter().filter(|h| matches!(h.status, 307 | 308)).collect();
    let leaves =
        keeps_body.iter().find(|h| h.location.as_ref().is_none_or(|l| l.origin() != origin));
    if let Some(h) = leaves {
        return unmet(
            sev,
            expected,
            shown(h),
            "the browser re-posts the username and password to the redirect target: the client (or an attacker's redirect URI) receives them",
        );
    }
    if let Some(h) = keeps_body.first() {
        return warn(
            expected,
            shown(h),
            "the browser posts the credentials again, though only to the authorization server's own origin; RFC 9700 §4.12 forbids 307 for such a request",
        );
    }
    pass(expected, observed(&answers))
}

pub(super) async fn login_redirect_303(s: &Session<'_>, sev: Severity) -> Outcome {
    let answers = login_answers(s).await?;
    let expected =
        "the login form's submission answered by a page or a 303 redirect (RFC 9700 §4.12)";
    match answers.iter().find(|h| (300..400).contains(&h.status) && h.status != 303) {
        Some(h) => unmet(
            sev,
            expected,
            shown(h),
            "only 303 tells every user agent to drop the body carrying the credentials; with 301 or 302 that is custom, not required",
        ),
        None => pass(expected, observed(&answers)),
    }
}
