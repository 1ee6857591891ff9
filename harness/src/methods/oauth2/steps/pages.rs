//! The pages the authorization server shows a user (login, consent): what
//! their headers promise about framing (clickjacking) and the Referer.

#[allow(clippy::wildcard_imports)]
use super::*;

/// Where an authorization request, followed without logging in, stops.
enum Stop {
    /// A page of the server's (login, consent, error).
    Page(RawResponse),
    /// A redirect off the server's origin: to the client.
    Left(Url),
}

/// Follows the authorization request with `params` through same-origin
/// redirects, keeping cookies, without filling any form.
async fn walk_to_page(s: &Session<'_>, params: &[(String, String)]) -> Result<Stop, Verdict> {
    let mut request = RawRequest::get(s.authorization_url(params));
    let origin = request.url.origin();
    // Cookies kept as the walk keeps them: an interaction page may need the
    // session its redirect set.
    let mut jar: Vec<(String, String)> = Vec::new();
    for _ in 0..super::super::MAX_PAGES {
        if !jar.is_empty() {
            let cookies: Vec<String> = jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
            request.headers.push(("Cookie".into(), cookies.join("; ").into_bytes()));
        }
        let r = s.send(&request).await?;
        for value in r.header_values("set-cookie") {
            if let Some((name, v)) = value.split(';').next().unwrap_or_default().split_once('=') {
                jar.retain(|(n, _)| n != name.trim());
                jar.push((name.trim().to_owned(), v.trim().to_owned()));
            }
        }
        if (300..400).contains(&r.status) {
            let next =
                r.header("location").and_then(|l| request.url.join(l).ok()).ok_or_else(|| {
                    Verdict::error("a page", format!("{} without a usable Location", r.status))
                })?;
            if next.origin() != origin {
                return Ok(Stop::Left(next));
            }
            request = RawRequest::get(next);
            continue;
        }
        return Ok(Stop::Page(r));
    }
    Err(Verdict::error("a page", "still redirected after the most pages a walk follows"))
}

/// The first page the authorization request shows, after same-origin
/// redirects: the login or consent page. `Err` a skip when the request went
/// straight back to the client, or an error when it ended on an error page.
async fn first_page(s: &Session<'_>) -> Result<RawResponse, Verdict> {
    match walk_to_page(s, &s.auth_request().params).await? {
        Stop::Left(_) => Err(Verdict::skip(
            "the authorization request went straight back to the client: no page was shown",
        )),
        Stop::Page(r) if r.status >= 400 => Err(Verdict::error(
            "the login or consent page of a valid authorization request",
            format!("the valid authorization request ended on {}", observe(&r)),
        )),
        Stop::Page(r) => Ok(r),
    }
}

pub(super) async fn error_redirect_after_login(s: &Session<'_>, sev: Severity) -> Outcome {
    authorization_works(s).await?;
    let expected = "a page (login, or an error) for an erroneous request from a user not signed in, not a redirect to the client (RFC 9700 §4.11.2)";
    let mut seen = Vec::new();
    for (name, value) in
        [("scope", "authbench-unknown-scope"), ("response_type", "authbench_unknown")]
    {
        let mut req = s.auth_request();
        req.set(name, value);
        match walk_to_page(s, &req.params).await? {
            Stop::Left(to) => {
                let mut shown = to.clone();
                shown.set_query(None);
                return unmet(
                    sev,
                    expected,
                    format!("{name}={value}: redirected to {shown} before any page"),
                    "the AS sends the user to the client with an error before authenticating them: its URL can bounce users to a registered phishing site",
                );
            }
            Stop::Page(r) if r.status >= 500 => {
                return Err(Verdict::server_error(expected, observe(&r), r.status));
            }
            Stop::Page(r) => seen.push(format!("{name}={value}: {} page first", r.status)),
        }
    }
    pass(expected, seen.join("; "))
}

/// Which of the two anti-framing measures the answer carries: a forbidding
/// `X-Frame-Options`, a CSP `frame-ancestors` that is not `*`.
pub(super) fn framing_headers(r: &RawResponse) -> (bool, bool) {
    let xfo = r.header_values("x-frame-options").any(|v| {
        let v = v.trim();
        v.eq_ignore_ascii_case("deny") || v.eq_ignore_ascii_case("sameorigin")
    });
    let csp = r.header_values("content-security-policy").any(|policy| {
        policy.split(';').map(str::trim).any(|d| {
            let mut words = d.split_whitespace();
            words.next().is_some_and(|n| n.eq_ignore_ascii_case("frame-ancestors"))
                && words.all(|w| w != "*" && w != "https:" && w != "http:")
        })
    });
    (xfo, csp)
}

/// The page's referrer policy (header, else `<meta name="referrer">`), if
/// it keeps the query string from other origins.
pub(super) fn referrer_policy(r: &RawResponse) -> Option<String> {
    const SAFE: [&str; 5] = [
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
        "origin",
    ];
    // A header may list fallbacks; the last one the browser knows wins.
    let header = r
        .header_values("referrer-policy")
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_ascii_lowercase())
        .last();
    let meta = || {
        let html = r.body_text().to_ascii_lowercase();
        let at = html.find("name=\"referrer\"")?;
        let tag = &html[html[..at].rfind('<')?..at + html[at..].find('>')?];
        let content = tag.split("content=\"").nth(1)?.split('"').next()?;
        Some(content.to_owned())
    };
    header.or_else(meta).filter(|p| SAFE.contains(&p.as_str()))
}

pub(super) async fn page_anti_framing(s: &Session<'_>, sev: Severity) -> Outcome {
    let page = first_page(s).await?;
    let expected =
        "X-Frame-Options DENY or SAMEORIGIN, or CSP frame-ancestors, on the login or consent page";
    let observed = format!(
        "X-Frame-Options: {:?}; Content-Security-Policy: {:?}",
        page.header("x-frame-options"),
        page.header("content-security-policy")
    );
    let (xfo, csp) = framing_headers(&page);
    if xfo && csp {
        pass(expected, observed)
    } else if xfo || csp {
        warn(
            expected,
            observed,
            "only one of the two measures: RFC 9700 §4.16 advises CSP frame-ancestors, with X-Frame-Options for older browsers",
        )
    } else {
        unmet(
            sev,
            expected,
            observed,
            "another site can frame the page and trick the user into approving (clickjacking, RFC 9700 §4.16)",
        )
    }
}

pub(super) async fn page_referrer_policy(s: &Session<'_>, sev: Severity) -> Outcome {
    let page = first_page(s).await?;
    let expected =
        "a Referrer-Policy (header or meta) that keeps the page's URL from other origins";
    let observed = format!("Referrer-Policy: {:?}", page.header("referrer-policy"));
    match referrer_policy(&page) {
        Some(p) => pass(expected, format!("{observed} ({p})")),
        None => unmet(
            sev,
            expected,
            observed,
            "a link or resource on the page can receive its URL, with the authorization request's parameters, in the Referer (RFC 9700 §4.2.4)",
        ),
    }
}

/// The host planted in forwarding headers.
const PLANTED_HOST: &str = "attacker.authbench.invalid";

pub(super) async fn forwarded_host_ignored(s: &Session<'_>, sev: Severity) -> Outcome {
    let request = RawRequest::get(s.meta.found_at.clone())
        .header("X-Forwarded-Host", PLANTED_HOST)
        .header("X-Forwarded-Proto", "https")
        .header("Forwarded", format!("host={PLANTED_HOST};proto=https"));
    let r = s.send(&request).await?;
    let expected = "the metadata names the same issuer and endpoints whatever forwarding headers the client sends (RFC 9700 §4.13)";
    if r.status != 200 {
        return Err(Verdict::error(
            expected,
            format!("the metadata with forwarding headers answered {}", observe(&r)),
        ));
    }
    if r.body_text().contains(PLANTED_HOST) {
        unmet(
            sev,
            expected,
            format!("the metadata names {PLANTED_HOST}"),
            "a client's X-Forwarded-Host or Forwarded steers the issuer and endpoints: only a proxy may set them, and it must strip the client's",
        )
    } else {
        pass(expected, "forwarding headers ignored")
    }
}

pub(super) async fn authorization_no_cors(s: &Session<'_>, sev: Severity) -> Outcome {
    let origin = format!("https://{PLANTED_HOST}");
    let url = s.authorization_url(&s.auth_request().params);
    let get = s.send(&RawRequest::get(url.clone()).header("Origin", origin.as_str())).await?;
    let mut preflight = RawRequest::get(url).header("Origin", origin.as_str());
    preflight.method = "OPTIONS".to_owned();
    let preflight = preflight.header("Access-Control-Request-Method", "GET");
    let options = s.send(&preflight).await?;
    let expected = "no Access-Control-Allow-Origin for another origin at the authorization endpoint (RFC 9700 §2.6)";
    let allows = |r: &RawResponse| {
        r.header_values("access-control-allow-origin")
            .any(|v| v.trim() == "*" || v.trim() == origin)
    };
    let observed = format!(
        "GET {}: {:?}; OPTIONS {}: {:?}",
        get.status,
        get.header("access-control-allow-origin"),
        options.status,
        options.header("access-control-allow-origin")
    );
    if allows(&get) || allows(&options) {
        unmet(
            sev,
            expected,
            observed,
            "the authorization endpoint lets scripts of other origins read its answers",
        )
    } else {
        pass(expected, observed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(headers: &[(&str, &str)], body: &str) -> RawResponse {
        let mut raw = String::from("HTTP/1.1 200 OK\r\n");
        for (n, v) in headers {
            raw.push_str(&format!("{n}: {v}\r\n"));
        }
        raw.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        crate::client::parse_answer(raw.as_bytes()).unwrap()
    }

    #[test]
    fn framing_and_referrer_headers_are_read_as_browsers_do() {
        let framing = |h: &[(&str, &str)]| framing_headers(&answer(h, ""));
        assert_eq!(framing(&[("X-Frame-Options", "DENY")]), (true, false));
        assert_eq!(
            framing(&[("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")]),
            (false, true)
        );
        assert_eq!(framing(&[("Content-Security-Policy", "frame-ancestors *")]), (false, false));
        assert_eq!(framing(&[("X-Frame-Options", "ALLOW-FROM https://x")]), (false, false));
        assert_eq!(framing(&[]), (false, false));
        assert_eq!(
            referrer_policy(&answer(&[("Referrer-Policy", "unsafe-url, no-referrer")], "")),
            Some("no-referrer".to_owned())
        );
        assert_eq!(referrer_policy(&answer(&[("Referrer-Policy", "unsafe-url")], "")), None);
        let meta = "<html><head><meta name=\"referrer\" content=\"no-referrer\"></head></html>";
        assert_eq!(referrer_policy(&answer(&[], meta)), Some("no-referrer".to_owned()));
        assert_eq!(referrer_policy(&answer(&[], "<html></html>")), None);
    }
}
