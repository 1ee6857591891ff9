//! Does the target fetch URLs that a token names? `jku`, `x5u` and `kid` in
//! the header, links among the claims (jwt_tool's `-M cc`), an issuer it does not
//! know (a multi-issuer resource that looks up any issuer's metadata): each
//! points at the run's out-of-band listener, and any request arriving there
//! is a server-side request forgery an unauthenticated client can trigger
//! (RFC 8725 §3.10), whether or not the token is refused afterwards.
//!
//! Refusing the token proves nothing here; only the listener's record does.
//! A target that cannot reach the listener (remote, no `[callback]`) is not
//! judged: the case skips rather than credit silence it could not hear.

use std::time::Duration;

use authbench_scenarios::Case;
use authbench_scenarios::case::{Credential, JwtCredential, JwtMutation, UrlSelector};

use crate::client::callback::Callback;
use crate::methods::{Method, Shared, request_for};
use crate::verdict::{Verdict, observe};

/// The listener names of this case's URLs (other cases plant their own).
const PREFIX: &str = "ssrf/jwt-";

/// How long a fetch may lag behind the answer and still be seen.
const LATE_FETCH: Duration = Duration::from_secs(1);

/// One token sent: what it plants, and the credential that forges it.
struct Probe {
    what: &'static str,
    credential: Credential,
}

fn table(entries: &[(&str, String)]) -> toml::Table {
    entries.iter().map(|(k, v)| ((*k).to_owned(), toml::Value::String(v.clone()))).collect()
}

/// The tokens sent, their URLs on `callback` under [`PREFIX`].
fn probes(callback: &Callback) -> Vec<Probe> {
    let url = |name: &str| callback.url(&format!("{PREFIX}{name}")).to_string();
    let attacker = |member: &str, mutation| {
        Credential::Jwt(JwtCredential {
            header: table(&[(member, url(&format!("attacker-{member}")))]),
            mutation: Some(mutation),
            ..Default::default()
        })
    };
    vec![
        Probe {
            what: "the jku of a token signed with the attacker's key",
            credential: attacker("jku", JwtMutation::JkuElsewhere),
        },
        Probe {
            what: "the x5u of a token signed with the attacker's key",
            credential: attacker("x5u", JwtMutation::X5uElsewhere),
        },
        Probe {
            what: "jku, x5u and link claims (picture, website, profile) of a validly signed token",
            credential: Credential::Jwt(JwtCredential {
                header: table(&[("jku", url("signed-jku")), ("x5u", url("signed-x5u"))]),
                claims: table(&[
                    ("picture", url("claim-picture")),
                    ("website", url("claim-website")),
                    ("profile", url("claim-profile")),
                ]),
                ..Default::default()
            }),
        },
        Probe {
            what: "the kid of a validly signed token (a key looked up by URL)",
            credential: Credential::Jwt(JwtCredential {
                header: table(&[("kid", url("signed-kid"))]),
                ..Default::default()
            }),
        },
        Probe {
            what: "the iss of a validly signed token (an issuer whose metadata would be looked up)",
            credential: Credential::Jwt(JwtCredential {
                claims: table(&[("iss", url("iss"))]),
                ..Default::default()
            }),
        },
    ]
}

/// Which probe planted the URL a request was for.
fn planted_by(name: &str) -> &'static str {
    let name = name.trim_start_matches(PREFIX);
    match name.split(['/', '-']).collect::<Vec<_>>().as_slice() {
        ["attacker", "jku", ..] => "the jku of an attacker-signed token",
        ["attacker", "x5u", ..] => "the x5u of an attacker-signed token",
        ["signed", member, ..] => match *member {
            "jku" => "the jku of a validly signed token",
            "kid" => "the kid of a validly signed token",
            _ => "the x5u of a validly signed token",
        },
        ["claim", claim, ..] => match *claim {
            "picture" => "the picture claim",
            "website" => "the website claim",
            _ => "the profile claim",
        },
        _ => "the iss claim",
    }
}

pub(super) async fn token_urls_not_fetched(shared: &Shared, case: &Case) -> Verdict {
    let expected = "no URL a token names (jku, x5u, link claims, iss) is fetched".to_owned();
    let Some(callback) = shared.forge.callback() else {
        return Verdict::skip(
            "the target is not on loopback and the profile has no [callback]: authbench cannot observe what the target fetches",
        );
    };
    if let Err(why) = shared.control(Method::Jwt, None).await {
        return Verdict::error(expected, format!("the positive control failed: {why}"));
    }
    let mut sent = Vec::new();
    let mut unsigned = 0;
    for probe in probes(callback) {
        let request =
            match request_for(shared, Method::Jwt, &probe.credential, None, UrlSelector::Url, None)
            {
                Ok((request, _)) => request,
                // The validly signed probes need [jwt] signing_key_file.
                Err(v) if v.outcome == authbench_reports::Outcome::Skip => {
                    unsigned += 1;
                    continue;
                }
                Err(v) => return v,
            };
        match shared.client.send(&request).await {
            Ok(r) => sent.push(format!("{}: {}", probe.what, observe(&r))),
            Err(e) => return Verdict::unanswered(&expected, &e),
        }
    }
    if sent.is_empty() {
        return Verdict::skip("no probe token could be forged for this profile");
    }
    let hits = callback.wait(PREFIX, LATE_FETCH).await;
    if let Some(first) = hits.first() {
        let fetched: Vec<String> =
            hits.iter().take(4).map(|h| format!("{} ({h})", planted_by(&h.name))).collect();
        return Verdict::unmet(
            case.severity,
            expected,
            format!("the target fetched {} planted URL(s): {}", hits.len(), fetched.join("; ")),
            format!(
                "the target dereferences {} from an unauthenticated request: anyone can make it send requests (server-side request forgery)",
                planted_by(&first.name)
            ),
        );
    }
    let note = if unsigned > 0 {
        format!("; {unsigned} validly signed probe(s) not sent: they need [jwt] signing_key_file")
    } else {
        String::new()
    };
    Verdict::pass(
        expected,
        format!(
            "{} probe token(s) sent, no request reached the listener within {} s{note}",
            sent.len(),
            LATE_FETCH.as_secs()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_planted_name_is_attributed_to_its_probe() {
        assert_eq!(planted_by("ssrf/jwt-attacker-jku"), "the jku of an attacker-signed token");
        assert_eq!(planted_by("ssrf/jwt-attacker-x5u"), "the x5u of an attacker-signed token");
        assert_eq!(planted_by("ssrf/jwt-signed-x5u"), "the x5u of a validly signed token");
        assert_eq!(planted_by("ssrf/jwt-claim-website"), "the website claim");
        assert_eq!(planted_by("ssrf/jwt-signed-kid"), "the kid of a validly signed token");
        assert_eq!(planted_by("ssrf/jwt-iss/.well-known/openid-configuration"), "the iss claim");
    }
}
