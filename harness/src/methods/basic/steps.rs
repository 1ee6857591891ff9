//! Basic's multi-exchange cases: a password with `:` and UTF-8, one answer
//! for every wrong login, throttling after failures.

use authbench_scenarios::Case;
use authbench_scenarios::case::{BasicCredential, Credential};

use crate::methods::steps::{FLOOD_SECONDS, challenge, comparable, send, served};
use crate::methods::{Method, Shared};
use crate::verdict::{Verdict, observe};

pub(super) async fn basic_colon_and_utf8(shared: &Shared, case: &Case) -> Verdict {
    let password =
        shared.forge.target().basic.as_ref().map(|b| b.password.clone()).unwrap_or_default();
    if !password.contains(':') || password.is_ascii() {
        return Verdict::skip(
            "the profile's password has no ':' or no non-ASCII character; give one that has both to run this case",
        );
    }
    let expected = "200 for a password with ':' and UTF-8".to_owned();
    match send(shared, Method::Basic, &Credential::Valid).await {
        Ok((r, _)) if r.status == 200 => Verdict::pass(expected, observe(&r)),
        Ok((r, _)) => {
            Verdict::unmet(case.severity, expected, observe(&r), "the valid credential was refused")
        }
        Err(v) => v,
    }
}

pub(super) async fn basic_same_answer(shared: &Shared, case: &Case) -> Verdict {
    let wrong = Credential::Basic(BasicCredential {
        password: Some("$random".into()),
        ..Default::default()
    });
    let unknown = Credential::Basic(BasicCredential {
        username: Some("$random".into()),
        password: Some("$random".into()),
        ..Default::default()
    });
    let (a, _) = match send(shared, Method::Basic, &wrong).await {
        Ok(x) => x,
        Err(v) => return v,
    };
    let (b, _) = match send(shared, Method::Basic, &unknown).await {
        Ok(x) => x,
        Err(v) => return v,
    };
    let expected = "the same status, challenge and body for both".to_owned();
    let observed = format!("wrong password: {}; unknown user: {}", observe(&a), observe(&b));
    if crate::verdict::is_served(a.status) || crate::verdict::is_served(b.status) {
        return served(expected, observed, "a wrong credential was served");
    }
    if let Err(v) = comparable(shared, Method::Basic, &[&a, &b]).await {
        return v;
    }
    if a.status == b.status && challenge(&a) == challenge(&b) && a.body == b.body {
        Verdict::pass(expected, observed)
    } else {
        let why =
            if a.body != b.body { "the bodies differ" } else { "the status or challenge differs" };
        Verdict::unmet(case.severity, expected, observed, why)
    }
}

pub(super) async fn basic_throttle(shared: &Shared, case: &Case) -> Verdict {
    // One more failure than the declared threshold: the 429 is due by then.
    let Some(declared) = shared.forge.target().basic.as_ref().and_then(|b| b.throttle_after) else {
        return Verdict::skip("declare [basic] throttle_after to run this case");
    };
    let attempts = declared as usize + 1;
    let started = std::time::Instant::now();
    let budget = std::time::Duration::from_secs(FLOOD_SECONDS);
    let user = format!(
        "authbench-throttle-{}",
        crate::methods::forge::random_string(crate::methods::forge::ALNUM, 10)
    );
    let credential = Credential::Basic(BasicCredential {
        username: Some(user),
        password: Some("$random".into()),
        ..Default::default()
    });
    let expected = format!("429 with Retry-After within {attempts} failures for one user");
    let mut sent = 0;
    for attempt in 1..=attempts {
        if started.elapsed() > budget {
            break;
        }
        sent = attempt;
        let (r, _) = match send(shared, Method::Basic, &credential).await {
            Ok(x) => x,
            Err(v) => return v,
        };
        if r.status >= 500 {
            return Verdict::server_error(expected, observe(&r), r.status);
        }
        if r.status == 429 {
            let observed = format!("429 after {} failures", attempt - 1);
            return if r.header_values("retry-after").next().is_some() {
                Verdict::pass(expected, observed)
            } else {
                Verdict::unmet(case.severity, expected, observed, "429 without Retry-After")
            };
        }
    }
    Verdict::unmet(
        case.severity,
        expected,
        format!("no 429 after {sent} failures (declared: {declared})"),
        "failed logins are not throttled",
    )
    .because(crate::verdict::Cause::Own(authbench_reports::FindingKind::Policy))
}
