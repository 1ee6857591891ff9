//! The conformance engine: runs selected cases against a target, each lane in
//! order and lanes concurrently; a single exchange is built by the method's
//! forge and judged here, a step is the method's own (the registry in
//! `methods/` finds it from the case id); verdicts become results, and
//! results are grouped into findings ([`findings`]).

pub mod findings;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use authbench_reports::CaseResult;
use authbench_scenarios::case::{Exchange, UrlSelector};
use authbench_scenarios::{Case, CaseBody};
use tokio::sync::Semaphore;

use crate::methods::{self, Schedule, Shared, request_for, spec};
use crate::verdict::{self as judge, Verdict};

/// Watches a run, for the progress line: told when each case starts and
/// when it ends.
pub trait Observer: Send + Sync {
    /// Case `id` starts.
    fn started(&self, id: &str);
    /// A case ended with `result`.
    fn done(&self, result: &CaseResult);
}

/// An observer shared by the run's tasks.
pub type OnDone = Arc<dyn Observer>;

/// Runs one case, telling `observer`.
async fn observed(shared: &Shared, case: &Case, observer: Option<&OnDone>) -> CaseResult {
    if let Some(o) = observer {
        o.started(&case.id);
    }
    let result = run_case(shared, case).await;
    if let Some(o) = observer {
        o.done(&result);
    }
    result
}

/// Runs `cases` and returns their results in the same order.
pub async fn run(
    shared: Arc<Shared>,
    cases: Vec<Case>,
    on_done: Option<OnDone>,
) -> Vec<CaseResult> {
    // Cases of one lane run in catalog order, in one task; every other case is a lane of its own.
    let total = cases.len();
    let mut lanes: BTreeMap<String, Vec<(usize, Case)>> = BTreeMap::new();
    let mut exclusive = Vec::new();
    let mut waiting = Vec::new();
    for (i, case) in cases.into_iter().enumerate() {
        let schedule = match &case.body {
            CaseBody::Step(id) => methods::schedule(id),
            CaseBody::Exchange(_) => Schedule::Normal,
        };
        if schedule == Schedule::Waiting {
            waiting.push((i, case));
            continue;
        }
        if schedule == Schedule::Exclusive {
            exclusive.push((i, case));
            continue;
        }
        let lane = case.lane.clone().unwrap_or_else(|| format!("\u{0}{i}"));
        lanes.entry(lane).or_default().push((i, case));
    }
    let permits = Arc::new(Semaphore::new(shared.concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, case) in waiting {
        let shared = Arc::clone(&shared);
        let on_done = on_done.clone();
        tasks.spawn(async move { vec![(i, observed(&shared, &case, on_done.as_ref()).await)] });
    }
    for (_, lane) in lanes {
        let shared = Arc::clone(&shared);
        let permits = Arc::clone(&permits);
        let on_done = on_done.clone();
        tasks.spawn(async move {
            let mut out = Vec::new();
            for (i, case) in lane {
                let _permit = permits.acquire().await;
                out.push((i, observed(&shared, &case, on_done.as_ref()).await));
            }
            out
        });
    }
    let mut results: Vec<Option<CaseResult>> = (0..total).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        // A panicking case would be a bug in authbench; its cases stay `None`
        // and are reported as errors below rather than taking the run down.
        if let Ok(done) = joined {
            for (i, r) in done {
                results[i] = Some(r);
            }
        }
    }
    for (i, case) in exclusive {
        results[i] = Some(observed(&shared, &case, on_done.as_ref()).await);
    }
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| CaseResult {
                id: "internal::panic".to_owned(),
                method: "internal".to_owned(),
                title: "a case crashed the engine".to_owned(),
                requirements: Vec::new(),
                severity: "must".to_owned(),
                outcome: authbench_reports::Outcome::Error,
                expected: String::new(),
                observed: String::new(),
                reason: Some("internal error: the case's task panicked".to_owned()),
                duration_ms: 0,
                measurement: None,
                parts: None,
                findings: Vec::new(),
                operation: None,
                threats: Vec::new(),
            })
        })
        .collect()
}

/// The threats `cases` name, each once, in `threats.toml`'s order (a
/// catalog's own threats after the embedded ones).
pub fn threats_of(cases: &[Case]) -> Vec<authbench_reports::Threat> {
    let mut out: Vec<authbench_reports::Threat> = Vec::new();
    for t in cases.iter().flat_map(|c| &c.threats) {
        if !out.iter().any(|o| o.id == t.id) {
            out.push(authbench_reports::Threat {
                id: t.id.clone(),
                title: t.title.clone(),
                sources: t.sources.clone(),
            });
        }
    }
    let embedded = authbench_scenarios::embedded_threats();
    out.sort_by_key(|t| embedded.iter().position(|e| e.id == t.id).unwrap_or(usize::MAX));
    out
}

/// Runs one case.
pub async fn run_case(shared: &Shared, case: &Case) -> CaseResult {
    let started = Instant::now();
    let target = shared.forge.target();
    let has_section = spec(case.method).present(target);
    let undeclared = case.policy.as_deref().filter(|p| !target.declares(p));
    let verdict = if !has_section {
        Verdict::skip(format!("the target profile has no [{}] section", case.method))
    } else if let Some(policy) = undeclared {
        let how = authbench_scenarios::case::POLICIES
            .iter()
            .find(|(name, _)| *name == policy)
            .map_or(policy, |(_, how)| *how);
        Verdict::skip(format!(
            "the verdict is the target's policy, not a protocol rule: declare it ({how}) to run this case"
        ))
    } else {
        let work = async {
            match &case.body {
                CaseBody::Exchange(exchange) => run_exchange(shared, case, exchange).await,
                CaseBody::Step(id) => methods::run_step(shared, case, id).await,
            }
        };
        // A target that answers the pre-flight and then stalls must not hold
        // a many-request case (the timing check sends hundreds) for hours.
        let limit = case_deadline(shared.client.timeout());
        match tokio::time::timeout(limit, Box::pin(work)).await {
            Ok(verdict) => verdict,
            Err(_) => {
                Verdict::error("", format!("the case did not finish within {} s", limit.as_secs()))
                    .because(judge::Cause::Shared("error:timeout".to_owned()))
            }
        }
    };
    let secrets = shared.forge.valid_secrets(case.method);
    // What the case's own failure is: a declared policy not kept, or
    // something allowed but advised against, rather than a hole.
    let own = match (&case.policy, case.hardening) {
        (Some(_), _) => Some(authbench_reports::FindingKind::Policy),
        (None, true) => Some(authbench_reports::FindingKind::Hardening),
        (None, false) => None,
    };
    let causes: Vec<judge::Cause> = verdict
        .effective_causes()
        .iter()
        .map(|c| match (c, own) {
            (
                judge::Cause::Own(
                    authbench_reports::FindingKind::Security
                    | authbench_reports::FindingKind::Hardening,
                ),
                Some(kind),
            ) => judge::Cause::Own(kind),
            _ => c.clone(),
        })
        .collect();
    // A policy case that served what it sent fails only as firmly as its
    // text (a `should` is a warning); a hardening case is always a warning,
    // since its finding never fails the run without --strict.
    let mut verdict = verdict;
    let soft = match own {
        Some(authbench_reports::FindingKind::Hardening) => true,
        Some(_) => case.severity == authbench_scenarios::Severity::Should,
        None => false,
    };
    if soft
        && verdict.outcome == authbench_reports::Outcome::Fail
        && verdict.causes.contains(&judge::Cause::Own(authbench_reports::FindingKind::Security))
    {
        verdict.outcome = authbench_reports::Outcome::Warn;
        if let Some(parts) = verdict.parts.as_mut() {
            parts.outcome = authbench_reports::Outcome::Warn;
        }
    }
    let findings = causes.iter().map(|c| findings::id_of(c, case)).collect();
    CaseResult {
        id: case.id.clone(),
        method: case.method.name().to_owned(),
        title: case.title.clone(),
        requirements: case.requirements.clone(),
        severity: case.severity.as_str().to_owned(),
        outcome: verdict.outcome,
        expected: judge::redact(&verdict.expected, &secrets),
        observed: judge::redact(&verdict.observed, &secrets),
        reason: verdict.reason.map(|r| judge::redact(&r, &secrets)),
        duration_ms: started.elapsed().as_millis() as u64,
        measurement: verdict.measurement,
        parts: verdict.parts,
        findings,
        operation: shared.openapi.as_ref().and_then(|api| api.operation_of(&case.id)),
        threats: case.threats.iter().map(|t| t.id.clone()).collect(),
    }
}

/// How long one case may take: long enough for the slowest honest case (a
/// code's lifetime waited out, a 10 s flood, a few requests at the per-request
/// timeout), short enough that a stalling target costs minutes, not hours.
pub fn case_deadline(request_timeout: std::time::Duration) -> std::time::Duration {
    (request_timeout * 4).max(std::time::Duration::from_secs(60))
}

async fn run_exchange(shared: &Shared, case: &Case, exchange: &Exchange) -> Verdict {
    let algorithm = exchange.request.algorithm.as_deref();
    let (mut request, forged) = match request_for(
        shared,
        case.method,
        &exchange.credential,
        algorithm,
        exchange.request.url,
        exchange.request.path_suffix.as_deref(),
    ) {
        Ok(x) => x,
        Err(verdict) => return verdict,
    };
    if let Some(method) = &exchange.request.method {
        request.method = method.clone();
    }
    for (name, value) in &exchange.request.headers {
        request.headers.push((name.clone(), value.clone().into_bytes()));
    }
    let scheme = shared.forge.scheme(case.method);
    let wants_refusal = !exchange.expect.status.any(judge::is_served);
    if wants_refusal
        && matches!(exchange.request.url, UrlSelector::Url | UrlSelector::RevocationUrl)
        && let Err(why) = shared.control(case.method, algorithm).await
    {
        return Verdict::error(
            judge::describe(&exchange.expect, &exchange.tolerate, &scheme),
            format!("{why}, so a refusal here proves nothing"),
        )
        .because(judge::Cause::Shared("error:control".to_owned()));
    }
    let response = match shared.client.send(&request).await {
        Ok(r) => r,
        Err(e) => {
            return Verdict::unanswered(
                judge::describe(&exchange.expect, &exchange.tolerate, &scheme),
                &e,
            );
        }
    };
    let mut secrets = forged.secrets;
    secrets.extend(shared.forge.valid_secrets(case.method));
    let mut verdict = judge::judge(
        case.severity,
        &exchange.expect,
        &exchange.tolerate,
        &scheme,
        &response,
        &secrets,
    );
    verdict.observed = judge::redact(&verdict.observed, &secrets);
    verdict
}
