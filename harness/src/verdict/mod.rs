//! Judging an answer against a case's `expect` and `tolerate`.

use authbench_reports::{FindingKind, Outcome, Parts};
use authbench_scenarios::Severity;
use authbench_scenarios::case::{ChallengeSpec, Expect, Tolerate};

use crate::client::{RawResponse, SendError};

/// Why a verdict did not pass, as a finding's key: the case's own finding,
/// or one shared by every case with the same root cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The requirement the case exists for did not hold: a finding of the
    /// case (or of its catalog group) of this kind.
    Own(FindingKind),
    /// A root cause many cases share: a key of [`super::findings::SHARED`]
    /// (`form:no-challenge`, `error:server-error`, `form:status-403`).
    Shared(String),
}

/// A verdict before it becomes a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The outcome.
    pub outcome: Outcome,
    /// What a conforming target answers.
    pub expected: String,
    /// What this one answered.
    pub observed: String,
    /// Why (skips, errors, failures' specifics).
    pub reason: Option<String>,
    /// A figure the case measured.
    pub measurement: Option<authbench_reports::Measurement>,
    /// The two parts, where both were judged.
    pub parts: Option<Parts>,
    /// The root causes of anything that did not pass.
    pub causes: Vec<Cause>,
}

impl Verdict {
    fn new(outcome: Outcome, expected: String, observed: String, reason: Option<String>) -> Self {
        Verdict {
            outcome,
            expected,
            observed,
            reason,
            measurement: None,
            parts: None,
            causes: Vec::new(),
        }
    }

    /// A skip with its reason.
    pub fn skip(reason: impl Into<String>) -> Self {
        Verdict::new(Outcome::Skip, String::new(), String::new(), Some(reason.into()))
    }

    /// An error: nothing could be judged.
    pub fn error(expected: impl Into<String>, reason: impl Into<String>) -> Self {
        Verdict::new(Outcome::Error, expected.into(), "no answer".to_owned(), Some(reason.into()))
    }

    /// An error for a request that got no judgeable answer: a timeout, a
    /// refused connection, a reset, bytes that are not HTTP. Grouped by kind.
    pub fn unanswered(expected: impl Into<String>, e: &SendError) -> Self {
        let key = match e {
            SendError::Connect { .. } => "error:unreachable",
            SendError::Timeout(_) => "error:timeout",
            SendError::Tls { .. } | SendError::Alert { .. } => "error:tls",
            SendError::Protocol(_) => "error:not-http",
            SendError::Closed(_) => "error:closed",
        };
        Verdict::error(expected, e.to_string()).because(Cause::Shared(key.to_owned()))
    }

    /// A 5xx where a refusal or the resource was due: `error` (judging
    /// principle 3: a server error is never a refusal that passes).
    pub fn server_error(expected: impl Into<String>, observed: String, status: u16) -> Self {
        let mut v = Verdict::error(
            expected,
            format!("the target answered {status} (a server error): nothing to judge"),
        );
        v.observed = observed;
        v.because(Cause::Shared("error:server-error".to_owned()))
    }

    /// A requirement did not hold: `fail` for a must, `warn` for a should.
    /// The cause is the case's own security finding unless another is given.
    pub fn unmet(
        severity: Severity,
        expected: String,
        observed: String,
        reason: impl Into<String>,
    ) -> Self {
        Verdict::new(
            if severity == Severity::Must { Outcome::Fail } else { Outcome::Warn },
            expected,
            observed,
            Some(reason.into()),
        )
    }

    /// A valid credential was refused: the case's own `function` finding.
    pub fn refused_valid(
        severity: Severity,
        expected: String,
        observed: String,
        reason: impl Into<String>,
    ) -> Self {
        Verdict::unmet(severity, expected, observed, reason)
            .because(Cause::Own(FindingKind::Function))
    }

    /// The outcome held, the form did not: `warn` on the case, the finding
    /// `key` (shared) carries the requirement and its severity.
    pub fn form(expected: String, observed: String, key: &str, reason: impl Into<String>) -> Self {
        let mut v = Verdict::new(Outcome::Warn, expected, observed, Some(reason.into()));
        v.parts = Some(Parts { outcome: Outcome::Pass, form: Outcome::Warn });
        v.because(Cause::Shared(key.to_owned()))
    }

    /// The requirement held.
    pub fn pass(expected: String, observed: String) -> Self {
        Verdict::new(Outcome::Pass, expected, observed, None)
    }

    /// The verdict with a measured figure (`name` ends with its unit).
    pub fn measured(mut self, name: &str, value: u64) -> Self {
        self.measurement = Some(authbench_reports::Measurement { name: name.to_owned(), value });
        self
    }

    /// The verdict with `cause` added.
    pub fn because(mut self, cause: Cause) -> Self {
        if !self.causes.contains(&cause) {
            self.causes.push(cause);
        }
        self
    }

    /// The causes to report: the given ones, else the case's own finding —
    /// security for a failure (a `must` that did not hold), hardening for a
    /// warning (a `should`), an error of its own for an error.
    pub fn effective_causes(&self) -> Vec<Cause> {
        if !self.causes.is_empty() || matches!(self.outcome, Outcome::Pass | Outcome::Skip) {
            return self.causes.clone();
        }
        match self.outcome {
            Outcome::Error => vec![Cause::Own(FindingKind::Error)],
            Outcome::Warn => vec![Cause::Own(FindingKind::Hardening)],
            _ => vec![Cause::Own(FindingKind::Security)],
        }
    }
}

/// One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The auth scheme as sent.
    pub scheme: String,
    /// Auth-params, names lower-cased, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of auth-param `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Parses every challenge in a `WWW-Authenticate` value: `scheme [token68 |
/// param=value *(, param=value)] *(, challenge)`.
pub fn parse_challenges(value: &str) -> Vec<Challenge> {
    let chars: Vec<char> = value.chars().collect();
    let mut i = 0;
    let mut out: Vec<Challenge> = Vec::new();
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && (chars[*i] == ' ' || chars[*i] == '\t') {
            *i += 1;
        }
    };
    let token = |i: &mut usize| {
        let start = *i;
        while *i < chars.len() && is_tchar(chars[*i]) {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    while i < chars.len() {
        skip_ws(&mut i);
        while i < chars.len() && (chars[i] == ',' || chars[i] == ' ') {
            i += 1;
        }
        let name = token(&mut i);
        if name.is_empty() {
            i += 1;
            continue;
        }
        skip_ws(&mut i);
        if i < chars.len() && chars[i] == '=' {
            // `name=value` after a scheme: an auth-param of the current challenge.
            i += 1;
            skip_ws(&mut i);
            let value = if i < chars.len() && chars[i] == '"' {
                i += 1;
                let mut v = String::new();
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    v.push(chars[i]);
                    i += 1;
                }
                i += 1;
                v
            } else {
                let start = i;
                while i < chars.len() && chars[i] != ',' {
                    i += 1;
                }
                chars[start..i].iter().collect::<String>().trim().to_owned()
            };
            match out.last_mut() {
                Some(challenge) => challenge.params.push((name.to_ascii_lowercase(), value)),
                None => out.push(Challenge {
                    scheme: String::new(),
                    params: vec![(name.to_ascii_lowercase(), value)],
                }),
            }
        } else {
            out.push(Challenge { scheme: name, params: Vec::new() });
            // A token68 may follow the scheme (`Negotiate abc==`); an
            // auth-param (`realm="x"`) may too. Only the latter matters here.
            let start = i;
            let _ = token(&mut i);
            let mut equals = 0;
            while i < chars.len() && chars[i] == '=' {
                i += 1;
                equals += 1;
            }
            skip_ws(&mut i);
            let token68 = equals != 1 || i >= chars.len() || chars[i] == ',';
            if !token68 {
                i = start;
            }
        }
    }
    out
}

fn describe_challenge(spec: &ChallengeSpec, scheme: &str) -> String {
    let mut text =
        format!("WWW-Authenticate: {}", if scheme.is_empty() { "<any scheme>" } else { scheme });
    if let Some(error) = &spec.error {
        text.push_str(&format!(" error=\"{error}\""));
    }
    if spec.no_error {
        text.push_str(" (no error)");
    }
    for (name, value) in &spec.params {
        text.push_str(&format!(" {name}={value}"));
    }
    text
}

/// The text of `expect` (and what is tolerated) for reports.
pub fn describe(expect: &Expect, tolerate: &Tolerate, scheme: &str) -> String {
    let mut text = expect.status.describe();
    if let Some(spec) = &expect.www_authenticate {
        text.push_str(" + ");
        text.push_str(&describe_challenge(spec, &resolve_scheme(&spec.scheme, scheme)));
    }
    for (name, value) in &expect.headers {
        text.push_str(&format!(" + {name}: {value}"));
    }
    if expect.no_credential_echo {
        text.push_str(", credential not echoed");
    }
    if !tolerate.status.is_empty() {
        let list: Vec<String> = tolerate.status.iter().map(u16::to_string).collect();
        text.push_str(&format!(" (tolerated: {})", list.join("|")));
    }
    text
}

fn resolve_scheme(spec: &str, method_scheme: &str) -> String {
    if spec == "$scheme" { method_scheme.to_owned() } else { spec.to_owned() }
}

/// What an answer looked like, for reports.
pub fn observe(response: &RawResponse) -> String {
    let mut text = response.status.to_string();
    for value in response.header_values("www-authenticate") {
        text.push_str(&format!(" + WWW-Authenticate: {value}"));
    }
    if let Ok(body) = serde_json::from_slice::<serde_json::Value>(&response.body)
        && let Some(error) = body.get("error").and_then(|e| e.as_str())
    {
        text.push_str(&format!(" (body error={error})"));
    }
    text
}

/// Whether `status` serves the resource: any 2xx. Everything else — a
/// refusal, a redirect (to a log-in page or the canonical path), 404, 405,
/// 501 — serves nothing (DESIGN.md, judging principle 2).
pub fn is_served(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Judges `response` against the case's expectations, in two parts: the
/// outcome (was a bad credential served, was a good one refused) and the
/// form (status, challenge, error code, headers). A case whose outcome
/// holds and whose form deviates is a `warn` under a shared form finding,
/// never a security failure; a 5xx is `error` (judging principle 3).
pub fn judge(
    severity: Severity,
    expect: &Expect,
    tolerate: &Tolerate,
    method_scheme: &str,
    response: &RawResponse,
    secrets: &[String],
) -> Verdict {
    let expected = describe(expect, tolerate, method_scheme);
    let observed = observe(response);
    let status = response.status;
    // Refusal cases name no 2xx, acceptance cases only 2xx; a case naming
    // both (a large valid token may be served or refused) judges form only.
    let wants_refusal = !expect.status.any(is_served);
    let wants_service = !expect.status.any(|s| !is_served(s));
    if status >= 500 && !expect.status.matches(status) {
        return Verdict::server_error(expected, observed, status);
    }
    if wants_refusal && is_served(status) {
        if tolerate.status.contains(&status) {
            // Served, but only what the valid credential in it grants (the
            // same credential twice, a duplicate member whose last value is
            // valid): a form deviation, with the catalog's reason.
            let reason = tolerate.reason.clone().unwrap_or_default();
            return Verdict::form(
                expected,
                observed,
                "form:served-ambiguous",
                format!("served, which is tolerated: {reason}"),
            );
        }
        // A failure whatever the cited keyword: the severity says how the
        // text words it; serving a bad credential is the hole itself.
        return outcome_only(
            Verdict::unmet(
                Severity::Must,
                expected,
                observed,
                format!("a credential that must be refused was served ({status})"),
            )
            .because(Cause::Own(FindingKind::Security)),
        );
    }
    if wants_service && !is_served(status) {
        return outcome_only(Verdict::refused_valid(
            severity,
            expected,
            observed,
            format!("a credential that must be accepted was refused ({status})"),
        ));
    }
    if expect.no_credential_echo && echoes(response, secrets) {
        return outcome_only(Verdict::unmet(
            severity,
            expected,
            observed,
            "the answer echoes the credential",
        ));
    }
    // The outcome held. Now the form.
    let mut problems: Vec<(String, String)> = Vec::new();
    if !expect.status.matches(status) {
        let text = match (&tolerate.reason, tolerate.status.contains(&status)) {
            (Some(reason), true) => format!("status {status}, tolerated: {reason}"),
            _ => format!("status {status}, not {}", expect.status.describe()),
        };
        problems.push((format!("form:status-{status}"), text));
    } else {
        if let Some(spec) = &expect.www_authenticate {
            problems.extend(challenge_problems(spec, method_scheme, response));
        }
        for (name, value) in &expect.headers {
            let seen: Vec<&str> = response.header_values(name).collect();
            if !seen.iter().any(|v| v.trim() == value) {
                problems.push((
                    format!("form:header-{}", name.to_ascii_lowercase()),
                    format!("header {name} is {seen:?}, not {value:?}"),
                ));
            }
        }
    }
    if problems.is_empty() {
        let mut v = Verdict::pass(expected, observed);
        v.parts = Some(Parts { outcome: Outcome::Pass, form: Outcome::Pass });
        return v;
    }
    let reason = problems.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join("; ");
    let mut v = Verdict::form(expected, observed, &problems[0].0, reason);
    for (key, _) in &problems[1..] {
        v = v.because(Cause::Shared(key.clone()));
    }
    v
}

/// A verdict on the outcome alone: the form is not judged once the outcome failed.
fn outcome_only(mut v: Verdict) -> Verdict {
    v.parts = Some(Parts { outcome: v.outcome, form: Outcome::Skip });
    v
}

fn echoes(response: &RawResponse, secrets: &[String]) -> bool {
    let body = response.body_text();
    secrets.iter().filter(|s| s.len() >= 8).any(|s| {
        body.contains(s.as_str()) || response.headers.iter().any(|(_, v)| v.contains(s.as_str()))
    })
}

/// What is wrong with the answer's challenges, as (finding key, text).
fn challenge_problems(
    spec: &ChallengeSpec,
    method_scheme: &str,
    response: &RawResponse,
) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let scheme = resolve_scheme(&spec.scheme, method_scheme);
    let challenges: Vec<Challenge> =
        response.header_values("www-authenticate").flat_map(parse_challenges).collect();
    let found = challenges
        .iter()
        .find(|c| scheme.is_empty() || scheme == "*" || c.scheme.eq_ignore_ascii_case(&scheme));
    let Some(challenge) = found else {
        if challenges.is_empty() {
            problems
                .push(("form:no-challenge".to_owned(), "no WWW-Authenticate challenge".to_owned()));
        } else {
            problems.push(("form:challenge-scheme".to_owned(), format!("no {scheme} challenge")));
        }
        return problems;
    };
    if let Some(error) = &spec.error
        && challenge.param("error") != Some(error.as_str())
    {
        problems.push((
            "form:error-code".to_owned(),
            format!("challenge error is {:?}, not {error:?}", challenge.param("error")),
        ));
    }
    if spec.no_error && challenge.param("error").is_some() {
        problems.push((
            "form:error-without-credentials".to_owned(),
            "the challenge carries an error code although no credentials were sent".to_owned(),
        ));
    }
    for (name, value) in &spec.params {
        match challenge.param(name) {
            None => problems
                .push(("form:challenge-params".to_owned(), format!("the challenge lacks {name}"))),
            Some(v) if value != "*" && !v.eq_ignore_ascii_case(value) => problems.push((
                "form:challenge-params".to_owned(),
                format!("the challenge's {name} is {v:?}, not {value:?}"),
            )),
            Some(_) => {}
        }
    }
    problems
}

/// Replaces every secret in `text` with its first characters and an ellipsis.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    let mut sorted: Vec<&String> = secrets.iter().filter(|s| s.len() >= 6).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in sorted {
        if out.contains(secret.as_str()) {
            let prefix: String = secret.chars().take(4).collect();
            out = out.replace(secret.as_str(), &format!("{prefix}…"));
        }
    }
    out
}

#[cfg(test)]
mod tests;
