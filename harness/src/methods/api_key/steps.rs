//! API keys' multi-exchange cases: one answer for every bad key, near and
//! far misses in equal time, key entropy, a flood of invalid keys throttled.

use authbench_scenarios::Case;
use authbench_scenarios::case::{ApiKeyCredential, ApiKeyMutation, Credential, KeySelector};

use crate::client::RawResponse;
use crate::methods::steps::{FLOOD_SECONDS, challenge, comparable, send, served};
use crate::methods::{Method, Shared};
use crate::verdict::{Verdict, observe};

pub(super) async fn api_key_same_answer(shared: &Shared, case: &Case) -> Verdict {
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
        match send(shared, Method::ApiKey, &Credential::ApiKey(spec)).await {
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
    if let Err(v) = comparable(shared, Method::ApiKey, &refusals).await {
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

pub(super) fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

/// One timing measurement: medians of near and far misses and the z-score.
pub(super) struct Timing {
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

pub(super) async fn api_key_timing(shared: &Shared, case: &Case) -> Verdict {
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

pub(super) const TIMING_ROUNDS: usize = 120;

/// Fewer samples than this decide nothing.
pub(super) const MIN_TIMING_SAMPLES: usize = 30;

pub(super) async fn measure_timing(shared: &Shared) -> Result<Timing, Verdict> {
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
            let (r, _) = send(shared, Method::ApiKey, credential).await?;
            if round == 0 {
                comparable(shared, Method::ApiKey, &[&r]).await?;
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

pub(super) fn api_key_entropy(shared: &Shared, case: &Case) -> Verdict {
    let Some(a) = shared.forge.target().api_key.as_ref() else {
        return Verdict::skip("no [api_key]");
    };
    let secret = &a.key[crate::methods::api_key::forge::prefix_len(&a.key)..];
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
/// Headers a client forges to pass for another address behind a proxy.
const FORWARDING: [&str; 3] = ["X-Forwarded-For", "X-Real-IP", "True-Client-IP"];

/// A fresh documentation address (RFC 5737) each call.
fn spoofed_address() -> String {
    format!("203.0.113.{}", rand::random_range(1..=254u8))
}

pub(super) async fn api_key_flood(shared: &Shared, case: &Case) -> Verdict {
    flood(shared, case, false).await
}

pub(super) async fn api_key_flood_forwarded(shared: &Shared, case: &Case) -> Verdict {
    flood(shared, case, true).await
}

/// One invalid key, as [`send`] sends it, with forged forwarding headers when `spoof`.
async fn send_invalid(
    shared: &Shared,
    credential: &Credential,
    spoof: bool,
) -> Result<RawResponse, Verdict> {
    if !spoof {
        return send(shared, Method::ApiKey, credential).await.map(|(r, _)| r);
    }
    let (mut request, _) = crate::methods::request_for(
        shared,
        Method::ApiKey,
        credential,
        None,
        Default::default(),
        None,
    )?;
    let address = spoofed_address();
    for name in FORWARDING {
        request = request.header(name, address.as_str());
    }
    request = request.header("Forwarded", format!("for={address}"));
    shared.client.send(&request).await.map_err(|e| Verdict::unanswered("", &e))
}

/// Invalid keys until a 429, within the declared threshold and a batch;
/// with `spoof`, each claiming a new client address in forwarding headers,
/// which only a proxy may set (RFC 9700 §4.13).
async fn flood(shared: &Shared, case: &Case, spoof: bool) -> Verdict {
    let Some(declared) = shared.forge.target().api_key.as_ref().and_then(|a| a.throttle_after)
    else {
        return Verdict::skip("declare [api_key] throttle_after to run this case");
    };
    // The declared threshold and one batch more.
    let flood_max = declared as usize + shared.concurrency.clamp(1, 8);
    let random =
        Credential::ApiKey(ApiKeyCredential { key: KeySelector::Random, ..Default::default() });
    let expected = if spoof {
        format!(
            "429 with Retry-After within {flood_max} invalid keys from one client, each claiming another address in X-Forwarded-For"
        )
    } else {
        format!("429 with Retry-After within {flood_max} invalid keys from one client")
    };
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
            (0..width).map(|_| Box::pin(send_invalid(shared, &random, spoof))),
        )
        .await;
        for answer in batch {
            let r = match answer {
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
        if spoof {
            "a client escapes the throttle by claiming a new address in a forwarding header"
        } else {
            "invalid keys are not throttled"
        },
    )
    .because(crate::verdict::Cause::Own(authbench_reports::FindingKind::Policy))
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
