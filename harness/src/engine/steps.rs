//! Multi-exchange checks that data cannot express, referenced from the catalog by name.

use authbench_scenarios::Case;
use authbench_scenarios::case::{
    ApiKeyCredential, ApiKeyMutation, BasicCredential, Credential, KeySelector,
};

use super::Shared;
use super::judge::{Verdict, observe};
use crate::client::RawResponse;
use crate::forge::Forged;

/// The steps the engine implements, for catalog validation.
pub const NAMES: &[&str] = &[
    "basic-colon-and-utf8",
    "basic-same-answer",
    "basic-throttle",
    "api-key-same-answer",
    "api-key-timing",
    "api-key-entropy",
    "jwt-replay-window",
    "api-key-flood",
    "api-key-revocation-latency",
    "jwt-revocation-latency",
];

/// Every step name the catalog may reference: these, OAuth's, mTLS's and the layered ones.
pub fn all_names() -> Vec<&'static str> {
    NAMES
        .iter()
        .chain(crate::oauth::steps::NAMES)
        .chain(crate::mtls::NAMES)
        .chain(crate::layered::NAMES)
        .copied()
        .collect()
}

/// Steps that mostly wait (a code's lifetime): they start first and hold no
/// concurrency permit, so their wait overlaps the rest of the run instead of
/// ending it.
pub const WAITING: &[&str] = &["oauth2-code-expired"];

/// Steps that measure time: they run alone, after every other case, so that
/// the rest of the suite does not load the machine while they measure.
pub const EXCLUSIVE: &[&str] = &["api-key-timing", "api-key-flood"];

/// Runs step `name` for `case`.
pub async fn run(shared: &Shared, case: &Case, name: &str) -> Verdict {
    match name {
        "basic-colon-and-utf8" => basic_colon_and_utf8(shared, case).await,
        "basic-same-answer" => basic_same_answer(shared, case).await,
        "basic-throttle" => basic_throttle(shared, case).await,
        "api-key-same-answer" => api_key_same_answer(shared, case).await,
        "api-key-timing" => api_key_timing(shared, case).await,
        "api-key-entropy" => api_key_entropy(shared, case),
        "jwt-replay-window" => jwt_replay_window(shared, case).await,
        "api-key-flood" => api_key_flood(shared, case).await,
        "api-key-revocation-latency" => super::revocation::api_key(shared, case).await,
        "jwt-revocation-latency" => super::revocation::jwt(shared, case).await,
        other if other.starts_with("oauth2-") => {
            match crate::oauth::steps::run(shared, case, other) {
                Some(step) => step.await,
                None => Verdict::error("", format!("no step `{other}`")),
            }
        }
        other if other.starts_with("mtls-") => crate::mtls::run(shared, case, other).await,
        other if other.starts_with("layered-") => crate::layered::run(shared, case, other).await,
        other => Verdict::error(
            "",
            format!("no step `{other}` (catalog validation should have caught this)"),
        ),
    }
}

async fn send(
    shared: &Shared,
    method: &str,
    credential: &Credential,
) -> Result<(RawResponse, Forged), Verdict> {
    let (request, forged) =
        super::request_for(shared, method, credential, None, Default::default(), None)?;
    let response = shared.client.send(&request).await.map_err(|e| Verdict::unanswered("", &e))?;
    Ok((response, forged))
}

/// Comparative steps compare refusals: they mean something only when the
/// method's valid credential is served (else two identical 404s or 500s are
/// "the same answer") and every answer compared is a refusal, not a 5xx
/// (judging principle 3). Served answers are the step's own verdict.
async fn comparable(
    shared: &Shared,
    method: &str,
    answers: &[&RawResponse],
) -> Result<(), Verdict> {
    if let Some(r) = answers.iter().find(|r| r.status >= 500) {
        return Err(Verdict::server_error("refusals to compare", observe(r), r.status));
    }
    shared.control(method, None).await.map_err(|why| {
        Verdict::error(
            "refusals to compare",
            format!("{why}, so comparing refusals proves nothing"),
        )
        .because(super::judge::Cause::Shared("error:control".to_owned()))
    })
}

/// A credential that must be refused was served: a failure and a security
/// finding, whatever the keyword of the case's citation.
fn served(expected: impl Into<String>, observed: String, why: impl Into<String>) -> Verdict {
    Verdict::unmet(authbench_scenarios::Severity::Must, expected.into(), observed, why)
        .because(super::judge::Cause::Own(authbench_reports::FindingKind::Security))
}

fn challenge(r: &RawResponse) -> Vec<&str> {
    r.header_values("www-authenticate").collect()
}

async fn basic_colon_and_utf8(shared: &Shared, case: &Case) -> Verdict {
    let password =
        shared.forge.target().basic.as_ref().map(|b| b.password.clone()).unwrap_or_default();
    if !password.contains(':') || password.is_ascii() {
        return Verdict::skip(
            "the profile's password has no ':' or no non-ASCII character; give one that has both to run this case",
        );
    }
    let expected = "200 for a password with ':' and UTF-8".to_owned();
    match send(shared, "basic", &Credential::Valid).await {
        Ok((r, _)) if r.status == 200 => Verdict::pass(expected, observe(&r)),
        Ok((r, _)) => {
            Verdict::unmet(case.severity, expected, observe(&r), "the valid credential was refused")
        }
        Err(v) => v,
    }
}

async fn basic_same_answer(shared: &Shared, case: &Case) -> Verdict {
    let wrong = Credential::Basic(BasicCredential {
        password: Some("$random".into()),
        ..Default::default()
    });
    let unknown = Credential::Basic(BasicCredential {
        username: Some("$random".into()),
        password: Some("$random".into()),
        ..Default::default()
    });
    let (a, _) = match send(shared, "basic", &wrong).await {
        Ok(x) => x,
        Err(v) => return v,
    };
    let (b, _) = match send(shared, "basic", &unknown).await {
        Ok(x) => x,
        Err(v) => return v,
    };
    let expected = "the same status, challenge and body for both".to_owned();
    let observed = format!("wrong password: {}; unknown user: {}", observe(&a), observe(&b));
    if super::judge::is_served(a.status) || super::judge::is_served(b.status) {
        return served(expected, observed, "a wrong credential was served");
    }
    if let Err(v) = comparable(shared, "basic", &[&a, &b]).await {
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

async fn basic_throttle(shared: &Shared, case: &Case) -> Verdict {
    // One more failure than the declared threshold: the 429 is due by then.
    let Some(declared) = shared.forge.target().basic.as_ref().and_then(|b| b.throttle_after) else {
        return Verdict::skip("declare [basic] throttle_after to run this case");
    };
    let attempts = declared as usize + 1;
    let started = std::time::Instant::now();
    let budget = std::time::Duration::from_secs(FLOOD_SECONDS);
    let user =
        format!("authbench-throttle-{}", crate::forge::random_string(crate::forge::ALNUM, 10));
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
        let (r, _) = match send(shared, "basic", &credential).await {
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
    .because(super::judge::Cause::Own(authbench_reports::FindingKind::Policy))
}

async fn api_key_same_answer(shared: &Shared, case: &Case) -> Verdict {
    let mut variants = vec![
        ("unknown", ApiKeyCredential { key: KeySelector::Random, ..Default::default() }),
        (
            "last character changed",
            ApiKeyCredential {
                mutation: Some(ApiKeyMutation::LastCharFlipped),
                ..Default::default()
            },
        ),
        (
            "truncated",
            ApiKeyCredential { mutation: Some(ApiKeyMutation::Truncated), ..Default::default() },
        ),
    ];
    if shared.forge.target().api_key.as_ref().is_some_and(|a| a.revoked_key.is_some()) {
        variants.push((
            "revoked",
            ApiKeyCredential { key: KeySelector::Revoked, ..Default::default() },
        ));
    }
    let mut answers = Vec::new();
    for (label, spec) in variants {
        match send(shared, "api_key", &Credential::ApiKey(spec)).await {
            Ok((r, _)) => answers.push((label, r)),
            Err(v) => return v,
        }
    }
    let expected =
        "one status, challenge and body for unknown, revoked and mangled keys; never 2xx"
            .to_owned();
    let observed =
        answers.iter().map(|(l, r)| format!("{l}: {}", r.status)).collect::<Vec<_>>().join(", ");
    if let Some((label, _)) = answers.iter().find(|(_, r)| (200..300).contains(&r.status)) {
        return served(expected, observed, format!("the {label} key was accepted"));
    }
    let refusals: Vec<&RawResponse> = answers.iter().map(|(_, r)| r).collect();
    if let Err(v) = comparable(shared, "api_key", &refusals).await {
        return v;
    }
    let (_, first) = &answers[0];
    match answers.iter().find(|(_, r)| {
        r.status != first.status || challenge(r) != challenge(first) || r.body != first.body
    }) {
        None => Verdict::pass(expected, observed),
        Some((label, _)) => Verdict::unmet(
            case.severity,
            expected,
            observed,
            format!("the {label} key gets a different answer"),
        ),
    }
}

/// Mann-Whitney U test: the z-score of the rank-sum difference between two samples.
pub fn mann_whitney_z(a: &[f64], b: &[f64]) -> f64 {
    let mut all: Vec<(f64, usize)> =
        a.iter().map(|&x| (x, 0)).chain(b.iter().map(|&x| (x, 1))).collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut ranks = vec![0.0; all.len()];
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for r in &mut ranks[i..=j] {
            *r = rank;
        }
        i = j + 1;
    }
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let r1: f64 = all.iter().zip(&ranks).filter(|((_, g), _)| *g == 0).map(|(_, r)| r).sum();
    let u1 = r1 - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let sd = (n1 * n2 * (n1 + n2 + 1.0) / 12.0).sqrt();
    if sd == 0.0 { 0.0 } else { (u1 - mean) / sd }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

/// One timing measurement: medians of near and far misses and the z-score.
struct Timing {
    near_median: f64,
    far_median: f64,
    z: f64,
}

impl Timing {
    fn significant(&self, min_difference_us: f64) -> bool {
        self.z.abs() >= 4.0 && (self.near_median - self.far_median).abs() >= min_difference_us
    }

    fn describe(&self, rounds: usize) -> String {
        format!(
            "median near miss {:.0} µs, far miss {:.0} µs, z = {:.1}, {rounds} samples each",
            self.near_median, self.far_median, self.z
        )
    }
}

async fn api_key_timing(shared: &Shared, case: &Case) -> Verdict {
    // Machine noise can make one measurement look significant: a difference
    // must show in two measurements in a row to count.
    const MIN_DIFFERENCE_US: f64 = 100.0;
    let expected = format!("no significant difference (|z| < 4 or under {MIN_DIFFERENCE_US} µs)");
    let mut last = None;
    for _ in 0..2 {
        match measure_timing(shared).await {
            Ok(t) if t.significant(MIN_DIFFERENCE_US) => last = Some(t),
            Ok(t) => return Verdict::pass(expected, t.describe(TIMING_ROUNDS)),
            Err(v) => return v,
        }
    }
    let observed = last.map(|t| t.describe(TIMING_ROUNDS)).unwrap_or_default();
    Verdict::unmet(
        case.severity,
        expected,
        observed,
        "near misses are answered measurably differently, twice",
    )
}

const TIMING_ROUNDS: usize = 120;

/// Fewer samples than this decide nothing.
const MIN_TIMING_SAMPLES: usize = 30;

async fn measure_timing(shared: &Shared) -> Result<Timing, Verdict> {
    // Interleaved samples cancel drift in machine load; the decision needs both
    // a significant rank difference and a difference large enough to exploit
    // over a network, so that noise alone does not fail a correct target.
    let near = Credential::ApiKey(ApiKeyCredential {
        mutation: Some(ApiKeyMutation::LastCharFlipped),
        ..Default::default()
    });
    let far =
        Credential::ApiKey(ApiKeyCredential { key: KeySelector::Random, ..Default::default() });
    let (mut near_t, mut far_t) = (Vec::new(), Vec::new());
    // Time-boxed: a slow target yields fewer samples, not a longer run; too
    // few to decide is `error`, never a pass.
    let started = std::time::Instant::now();
    for round in 0..TIMING_ROUNDS + 10 {
        if started.elapsed() > std::time::Duration::from_secs(FLOOD_SECONDS) {
            break;
        }
        // Alternate which goes first, so that order effects cancel too.
        let mut pair = [(&near, &mut near_t), (&far, &mut far_t)];
        if round % 2 == 1 {
            pair.reverse();
        }
        for (credential, sink) in pair {
            let (r, _) = send(shared, "api_key", credential).await?;
            if round == 0 {
                comparable(shared, "api_key", &[&r]).await?;
            }
            if r.status >= 500 {
                return Err(Verdict::server_error("refusals to time", observe(&r), r.status));
            }
            if (200..300).contains(&r.status) {
                return Err(served(
                    "near and far misses refused in equal time".to_owned(),
                    format!("{} for a mutated key", r.status),
                    "a key differing from a valid one was accepted",
                ));
            }
            if round >= 10 {
                sink.push(r.elapsed.as_secs_f64() * 1e6);
            }
        }
    }
    if near_t.len() < MIN_TIMING_SAMPLES {
        return Err(Verdict::error(
            "near and far misses refused in equal time",
            format!(
                "only {} samples of each in {FLOOD_SECONDS} s: the target is too slow to time",
                near_t.len()
            ),
        ));
    }
    let z = mann_whitney_z(&near_t, &far_t);
    Ok(Timing { near_median: median(&mut near_t), far_median: median(&mut far_t), z })
}

fn api_key_entropy(shared: &Shared, case: &Case) -> Verdict {
    let Some(a) = shared.forge.target().api_key.as_ref() else {
        return Verdict::skip("no [api_key]");
    };
    let secret = &a.key[crate::forge::api_key::prefix_len(&a.key)..];
    let bits_per_char: f64 = if secret.bytes().all(|b| b.is_ascii_digit()) {
        10f64.log2()
    } else if secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        4.0
    } else if secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
        62f64.log2()
    } else {
        6.0
    };
    let bits = bits_per_char * secret.len() as f64;
    let expected = "at least 128 bits in the key's random part".to_owned();
    let observed = format!("{} characters after the prefix, at most {bits:.0} bits", secret.len());
    if bits >= 128.0 {
        Verdict::pass(expected, observed)
    } else {
        Verdict::unmet(
            case.severity,
            expected,
            observed,
            "the key is too short to carry 128 random bits",
        )
    }
}

/// Sends invalid keys, eight at a time, until the target answers 429, or the
/// declared `throttle_after` and a batch more have gone, or the time box is
/// spent. Runs last: it may leave this client throttled.
async fn api_key_flood(shared: &Shared, case: &Case) -> Verdict {
    let Some(declared) = shared.forge.target().api_key.as_ref().and_then(|a| a.throttle_after)
    else {
        return Verdict::skip("declare [api_key] throttle_after to run this case");
    };
    // The declared threshold and one batch more.
    let flood_max = declared as usize + shared.concurrency.clamp(1, 8);
    let random =
        Credential::ApiKey(ApiKeyCredential { key: KeySelector::Random, ..Default::default() });
    let expected = format!("429 with Retry-After within {flood_max} invalid keys from one client");
    // Time-boxed: a small server that handshakes TLS in one thread takes
    // minutes for thousands of fresh connections; ten seconds of flood say
    // as much, and the verdict says how many went.
    let started = std::time::Instant::now();
    let budget = std::time::Duration::from_secs(FLOOD_SECONDS);
    let mut sent = 0;
    while sent < flood_max && started.elapsed() < budget {
        // As many side by side as the run's concurrency allows (at most 8),
        // so a small listen backlog is not overflowed here either. Boxed: TLS
        // exchanges side by side are too big for a test thread's stack.
        let width = shared.concurrency.clamp(1, 8);
        let batch = futures_util::future::join_all(
            (0..width).map(|_| Box::pin(send(shared, "api_key", &random))),
        )
        .await;
        for answer in batch {
            let (r, _) = match answer {
                Ok(x) => x,
                Err(v) => return v,
            };
            sent += 1;
            if r.status >= 500 {
                return Verdict::server_error(expected, observe(&r), r.status);
            }
            if (200..300).contains(&r.status) {
                return served(
                    expected,
                    format!("{} for a random key", r.status),
                    "a random key was accepted",
                );
            }
            if r.status == 429 {
                let observed = format!("429 after about {sent} invalid keys");
                return if r.header_values("retry-after").next().is_some() {
                    Verdict::pass(expected, observed)
                } else {
                    Verdict::unmet(case.severity, expected, observed, "429 without Retry-After")
                };
            }
        }
    }
    // Whether and when to throttle is the target's policy: not a security
    // failure of the credential check.
    Verdict::unmet(
        case.severity,
        expected,
        format!("no 429 after {sent} invalid keys in {:.1} s", started.elapsed().as_secs_f64()),
        "invalid keys are not throttled",
    )
    .because(super::judge::Cause::Own(authbench_reports::FindingKind::Policy))
}

/// How long the flood of invalid keys may last.
const FLOOD_SECONDS: u64 = 10;

/// How long a captured token keeps working: it is replayed, and its `exp`
/// bounds the window. A bearer token with no `exp` is replayable for ever.
async fn jwt_replay_window(shared: &Shared, case: &Case) -> Verdict {
    let token = match shared.forge.valid_token() {
        Ok(t) => t,
        Err(skip) => return Verdict::skip(skip.0),
    };
    let expected = "a captured token is replayable only until a bounded exp".to_owned();
    let mut statuses = Vec::new();
    for _ in 0..2 {
        match send(shared, "jwt", &Credential::Valid).await {
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
    match send(shared, "jwt", &Credential::Jwt(expired)).await {
        Ok((r, _)) if super::judge::is_served(r.status) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mann_whitney_separates_shifted_samples_and_not_equal_ones() {
        let a: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..100).map(|i| i as f64 + 50.0).collect();
        assert!(mann_whitney_z(&a, &b) < -4.0);
        assert!(mann_whitney_z(&a, &a).abs() < 0.01);
    }
}
