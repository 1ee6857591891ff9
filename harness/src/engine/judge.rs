//! Judging an answer against a case's `expect` and `tolerate`.

use authbench_reports::Outcome;
use authbench_scenarios::Severity;
use authbench_scenarios::case::{ChallengeSpec, Expect, Tolerate};

use crate::client::RawResponse;

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
}

impl Verdict {
    /// A skip with its reason.
    pub fn skip(reason: impl Into<String>) -> Self {
        Verdict {
            outcome: Outcome::Skip,
            expected: String::new(),
            observed: String::new(),
            reason: Some(reason.into()),
            measurement: None,
        }
    }

    /// An error: nothing could be judged.
    pub fn error(expected: impl Into<String>, reason: impl Into<String>) -> Self {
        Verdict {
            outcome: Outcome::Error,
            expected: expected.into(),
            observed: "no answer".to_owned(),
            reason: Some(reason.into()),
            measurement: None,
        }
    }

    /// A requirement did not hold: `fail` for a must, `warn` for a should.
    pub fn unmet(
        severity: Severity,
        expected: String,
        observed: String,
        reason: impl Into<String>,
    ) -> Self {
        Verdict {
            outcome: if severity == Severity::Must { Outcome::Fail } else { Outcome::Warn },
            expected,
            observed,
            reason: Some(reason.into()),
            measurement: None,
        }
    }

    /// The requirement held.
    pub fn pass(expected: String, observed: String) -> Self {
        Verdict { outcome: Outcome::Pass, expected, observed, reason: None, measurement: None }
    }

    /// The verdict with a measured figure (`name` ends with its unit).
    pub fn measured(mut self, name: &str, value: u64) -> Self {
        self.measurement = Some(authbench_reports::Measurement { name: name.to_owned(), value });
        self
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

/// Judges `response` against the case's expectations.
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
    if response.status >= 500 {
        // A server error on a malformed credential is never acceptable.
        return Verdict {
            outcome: Outcome::Fail,
            expected,
            observed,
            reason: Some("the target answered with a server error".to_owned()),
            measurement: None,
        };
    }
    if !expect.status.matches(response.status) {
        if tolerate.status.contains(&response.status) {
            return Verdict {
                outcome: Outcome::Warn,
                expected,
                observed,
                reason: Some(
                    "a tolerated answer: safe, but not the one the requirement names".to_owned(),
                ),
                measurement: None,
            };
        }
        return Verdict::unmet(severity, expected, observed, format!("status {}", response.status));
    }
    let mut problems = Vec::new();
    if let Some(spec) = &expect.www_authenticate {
        let scheme = resolve_scheme(&spec.scheme, method_scheme);
        let challenges: Vec<Challenge> =
            response.header_values("www-authenticate").flat_map(parse_challenges).collect();
        let found = challenges
            .iter()
            .find(|c| scheme.is_empty() || scheme == "*" || c.scheme.eq_ignore_ascii_case(&scheme));
        match found {
            None if challenges.is_empty() => {
                problems.push("no WWW-Authenticate challenge".to_owned())
            }
            None => problems.push(format!("no {scheme} challenge")),
            Some(challenge) => {
                if let Some(error) = &spec.error
                    && challenge.param("error") != Some(error.as_str())
                {
                    problems.push(format!(
                        "challenge error is {:?}, not {error:?}",
                        challenge.param("error")
                    ));
                }
                if spec.no_error && challenge.param("error").is_some() {
                    problems.push(
                        "the challenge carries an error code although no credentials were sent"
                            .to_owned(),
                    );
                }
                for (name, value) in &spec.params {
                    match challenge.param(name) {
                        None => problems.push(format!("the challenge lacks {name}")),
                        Some(v) if value != "*" && !v.eq_ignore_ascii_case(value) => {
                            problems.push(format!("the challenge's {name} is {v:?}, not {value:?}"))
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
    for (name, value) in &expect.headers {
        let seen: Vec<&str> = response.header_values(name).collect();
        if !seen.iter().any(|v| v.trim() == value) {
            problems.push(format!("header {name} is {seen:?}, not {value:?}"));
        }
    }
    if expect.no_credential_echo {
        let body = response.body_text();
        let echoed = secrets.iter().filter(|s| s.len() >= 8).any(|s| {
            body.contains(s.as_str())
                || response.headers.iter().any(|(_, v)| v.contains(s.as_str()))
        });
        if echoed {
            problems.push("the answer echoes the credential".to_owned());
        }
    }
    if problems.is_empty() {
        Verdict::pass(expected, observed)
    } else {
        Verdict::unmet(severity, expected, observed, problems.join("; "))
    }
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
mod tests {
    use super::*;

    #[test]
    fn challenges_are_parsed_with_params_and_several_schemes() {
        let c = parse_challenges(
            r#"Bearer realm="api", error="invalid_token", error_description="The \"token\" expired""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "Bearer");
        assert_eq!(c[0].param("error"), Some("invalid_token"));
        assert_eq!(c[0].param("error_description"), Some(r#"The "token" expired"#));
        let c = parse_challenges(r#"Basic realm="x", charset="UTF-8", Bearer realm="y""#);
        assert_eq!(c.iter().map(|c| c.scheme.as_str()).collect::<Vec<_>>(), ["Basic", "Bearer"]);
        assert_eq!(c[0].param("charset"), Some("UTF-8"));
        let c = parse_challenges("Negotiate abc==, ApiKey");
        assert_eq!(
            c.iter().map(|c| c.scheme.as_str()).collect::<Vec<_>>(),
            ["Negotiate", "ApiKey"]
        );
    }

    #[test]
    fn secrets_are_redacted_to_a_prefix() {
        let text = redact("got sk_live_abcdefgh and more", &["sk_live_abcdefgh".to_owned()]);
        assert_eq!(text, "got sk_l… and more");
    }
}
