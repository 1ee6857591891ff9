//! Open redirectors (RFC 9700 §2.1, §4.11): no URL of the authorization
//! server forwards the browser to whatever URL a query parameter names. The
//! candidates are the parameters holding a URL or a path on every URL a
//! valid authorization walk meets (pages, redirects, links, form actions),
//! and `post_logout_redirect_uri` at the metadata's `end_session_endpoint`.

#[allow(clippy::wildcard_imports)]
use super::*;

/// Where a probe points.
const PLANTED: &str = "attacker.authbench.invalid";

/// Parameters judged by their own cases (the redirect URI), or URLs that
/// name something rather than a place to go (RFC 8707 resources, issuers,
/// URL-shaped client ids).
const NOT_PLACES: [&str; 7] =
    ["redirect_uri", "request_uri", "resource", "audience", "client_id", "iss", "issuer"];

/// The most parameters probed.
const MAX_PROBES: usize = 8;

/// Whether a parameter value names a place a browser could be sent.
fn names_a_place(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    v.starts_with("http://") || v.starts_with("https://") || v.starts_with('/')
}

/// The URLs on the server's origin with a parameter naming a place: (URL, parameter).
fn candidates(origin: &url::Origin, urls: &[Url]) -> Vec<(Url, String)> {
    let mut out: Vec<(Url, String)> = Vec::new();
    for url in urls.iter().filter(|u| u.origin() == *origin) {
        for (name, value) in url.query_pairs() {
            let seen = out.iter().any(|(u, n)| u.path() == url.path() && *n == name);
            if !NOT_PLACES.contains(&name.as_ref()) && names_a_place(&value) && !seen {
                out.push((url.clone(), name.into_owned()));
            }
        }
    }
    out.truncate(MAX_PROBES);
    out
}

/// `url` with parameter `name` set to `value`, the others kept in order.
fn with_param(url: &Url, name: &str, value: &str) -> Url {
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let mut out = url.clone();
    out.query_pairs_mut().clear().extend_pairs(
        pairs.iter().map(|(n, v)| (n.as_str(), if n == name { value } else { v.as_str() })),
    );
    out
}

/// Where the answer sends the browser without the user doing anything, if
/// to the planted host: a redirect, a `Refresh` header, or a meta refresh.
fn sends_to_planted(url: &Url, r: &RawResponse) -> Option<String> {
    let planted =
        |target: &str| url.join(target.trim()).ok().is_some_and(|u| u.host_str() == Some(PLANTED));
    if (300..400).contains(&r.status)
        && let Some(location) = r.header("location")
        && planted(location)
    {
        return Some(format!("{} to {location}", r.status));
    }
    let refresh_target = |v: &str| {
        let lower = v.to_ascii_lowercase();
        lower.find("url=").map(|at| v[at + 4..].trim_matches(['\'', '"', ' ']).to_owned())
    };
    if let Some(target) = r.header_values("refresh").find_map(refresh_target)
        && planted(&target)
    {
        return Some(format!("Refresh: to {target}"));
    }
    let html = r.body_text();
    let lower = html.to_ascii_lowercase();
    if let Some(at) =
        lower.find("http-equiv=\"refresh\"").or_else(|| lower.find("http-equiv=refresh"))
    {
        let tag_end = lower[at..].find('>').map_or(lower.len(), |e| at + e);
        let tag_start = lower[..at].rfind('<').unwrap_or(0);
        if let Some(target) = refresh_target(&html[tag_start..tag_end])
            && planted(&target)
        {
            return Some(format!("a meta refresh to {target}"));
        }
    }
    None
}

pub(super) async fn no_open_redirector(s: &Session<'_>, sev: Severity) -> Outcome {
    s.require_login()?;
    let req = s.auth_request();
    let (outcome, hops) = s.walk_traced(RawRequest::get(s.authorization_url(&req.params))).await?;
    if outcome.param("code").is_none() {
        return Err(Verdict::error(
            "a code from a valid authorization request",
            format!("the valid authorization request ended in {}", outcome.describe()),
        ));
    }
    let mut urls: Vec<Url> = Vec::new();
    for hop in &hops {
        urls.push(hop.url.clone());
        urls.extend(hop.location.iter().cloned());
        urls.extend(hop.links.iter().cloned());
    }
    let origin = s.meta.authorization_endpoint.origin();
    let mut probes = candidates(&origin, &urls);
    let end_session = s.meta.raw.get("end_session_endpoint").and_then(Value::as_str);
    if let Some(end) = end_session.and_then(|e| Url::parse(e).ok()) {
        let mut url = end;
        url.query_pairs_mut()
            .append_pair("client_id", &s.t.client_id)
            .append_pair("post_logout_redirect_uri", s.t.redirect_uri.as_str());
        probes.push((url, "post_logout_redirect_uri".to_owned()));
    }
    if probes.is_empty() {
        return Err(Verdict::skip(
            "no URL of the authorization walk has a parameter naming a place to go, and the metadata has no end_session_endpoint",
        ));
    }
    let expected = "no URL of the authorization server sends the browser to a URL taken from a query parameter (RFC 9700 §2.1, §4.11)";
    let mut seen = Vec::new();
    for (url, name) in &probes {
        for planted in [
            format!("https://{PLANTED}/authbench"),
            format!("//{PLANTED}/authbench"),
            format!("/\\{PLANTED}/authbench"),
        ] {
            let probe = with_param(url, name, &planted);
            let r = s.send(&RawRequest::get(probe.clone())).await?;
            if let Some(how) = sends_to_planted(&probe, &r) {
                return unmet(
                    sev,
                    expected,
                    format!("{} with {name}={planted}: {how}", probe.path()),
                    "a link on the authorization server's own domain lands users on a phishing page (an open redirector)",
                );
            }
        }
        seen.push(format!("{} {name}", url.path()));
    }
    pass(expected, format!("probed: {}", seen.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_place_naming_parameters_on_the_servers_origin() {
        let u = |s: &str| Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        let origin = u("https://as.example/").origin();
        let found = candidates(
            &origin,
            &[
                u("https://as.example/authorize?redirect_uri=https://c/cb&client_id=c"),
                u("https://as.example/switch?return_to=%2Fauthorize%3Fx%3D1&lang=en"),
                u("https://as.example/switch?return_to=/other"),
                u("https://elsewhere.example/go?next=https://x"),
            ],
        );
        let names: Vec<_> = found.iter().map(|(u, n)| format!("{} {n}", u.path())).collect();
        assert_eq!(names, ["/switch return_to"]);
    }

    #[test]
    fn a_redirect_refresh_or_meta_refresh_to_the_planted_host_is_seen() {
        let url = Url::parse("https://as.example/go?to=x").unwrap_or_else(|e| panic!("{e}"));
        let answer = |raw: &str| {
            crate::client::parse_answer(raw.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
        };
        let moved = answer(
            "HTTP/1.1 303 See Other\r\nLocation: /\\attacker.authbench.invalid/a\r\nContent-Length: 0\r\n\r\n",
        );
        assert!(sends_to_planted(&url, &moved).is_some());
        let home = answer("HTTP/1.1 303 See Other\r\nLocation: /home\r\nContent-Length: 0\r\n\r\n");
        assert!(sends_to_planted(&url, &home).is_none());
        let body =
            "<meta http-equiv=\"refresh\" content=\"0; url=https://attacker.authbench.invalid/\">";
        let meta =
            answer(&format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
        assert!(sends_to_planted(&url, &meta).is_some());
        let refresh = answer(
            "HTTP/1.1 200 OK\r\nRefresh: 0;url=//attacker.authbench.invalid/\r\nContent-Length: 0\r\n\r\n",
        );
        assert!(sends_to_planted(&url, &refresh).is_some());
    }
}
