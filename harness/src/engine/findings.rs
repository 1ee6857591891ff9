//! Findings: the cases that did not pass, grouped by root cause (DESIGN.md,
//! "Judging principles" 1). Twenty-seven refusals without a challenge are one
//! form finding naming twenty-seven cases, not twenty-seven security failures;
//! an accepted `alg: none` in any spelling is one security finding.
//!
//! A verdict names its causes ([`Cause`]): the case's own finding (a bad
//! credential served, a valid one refused, grouped by the catalog's `finding`
//! when several cases hunt the same hole), or a root cause many cases share,
//! defined once here with its requirement, severity and remedy.

use std::collections::BTreeMap;

use authbench_reports::{CaseResult, Finding, FindingKind};
use authbench_scenarios::{Case, Severity};

use crate::verdict::Cause;

/// A root cause many cases can share, defined once.
#[derive(Debug, Clone, Copy)]
pub struct SharedFinding {
    /// The key verdicts name: exact, or a prefix ending in `-` that takes a
    /// parameter (`form:status-` + the status).
    pub key: &'static str,
    /// What it is about.
    pub kind: FindingKind,
    /// How binding the requirement is.
    pub severity: Severity,
    /// What was observed; `{}` stands for a prefix key's parameter.
    pub title: &'static str,
    /// The requirements broken.
    pub requirements: &'static [&'static str],
    /// What to change.
    pub remediation: &'static str,
}

/// Every shared root cause.
pub const SHARED: &[SharedFinding] = &[
    SharedFinding {
        key: "form:no-challenge",
        kind: FindingKind::Form,
        // RFC 9110 §15.5.2: "The server generating a 401 response MUST send a
        // WWW-Authenticate header field containing at least one challenge."
        severity: Severity::Must,
        title: "401 answers carry no WWW-Authenticate challenge",
        requirements: &["RFC 9110 §15.5.2", "RFC 9110 §11.6.1", "RFC 6750 §3"],
        remediation: "Send a challenge of the method's scheme with every 401 \
            (`WWW-Authenticate: Bearer error=\"invalid_token\"`, `Basic realm=\"api\", charset=\"UTF-8\"`). \
            Error handlers that write their own 401 are where it usually goes missing.",
    },
    SharedFinding {
        key: "form:challenge-scheme",
        kind: FindingKind::Form,
        severity: Severity::Should,
        title: "401 answers challenge with another scheme than the method's",
        requirements: &["RFC 9110 §11.6.1", "RFC 6750 §3"],
        remediation: "Challenge with the scheme the resource accepts (`Bearer` for tokens, `Basic` for passwords), so clients know what to send.",
    },
    SharedFinding {
        key: "form:error-code",
        kind: FindingKind::Form,
        severity: Severity::Should,
        title: "Bearer challenges carry another error code than RFC 6750 names",
        requirements: &["RFC 6750 §3.1"],
        remediation: "Use `invalid_token` for a token that is expired, revoked, malformed or fails verification, \
            `insufficient_scope` for a valid token without the scope, `invalid_request` for a malformed request.",
    },
    SharedFinding {
        key: "form:error-without-credentials",
        kind: FindingKind::Form,
        severity: Severity::Should,
        title: "Challenges to requests without credentials carry an error code",
        requirements: &["RFC 6750 §3.1"],
        remediation: "Leave `error` out of the challenge when the request carried no credentials at all.",
    },
    SharedFinding {
        key: "form:challenge-params",
        kind: FindingKind::Form,
        severity: Severity::Should,
        title: "Challenges lack a parameter of the scheme (realm, charset)",
        requirements: &["RFC 7617 §2", "RFC 7617 §2.1", "RFC 9110 §11.5"],
        remediation: "Send `realm` (and, for Basic, `charset=\"UTF-8\"`) in the challenge.",
    },
    SharedFinding {
        key: "form:status-",
        kind: FindingKind::Form,
        severity: Severity::Should,
        title: "Refusals answer {} where the requirement names another status",
        requirements: &["RFC 9110 §15.5", "RFC 6750 §3.1"],
        remediation: "Answer 401 with a challenge for missing or invalid credentials, 403 for a valid credential \
            without the right, 400 for a malformed or ambiguous request.",
    },
    SharedFinding {
        key: "form:served-ambiguous",
        kind: FindingKind::Form,
        severity: Severity::Should,
        title: "Ambiguous requests (a credential sent twice, or in two places) are served, not refused as bad requests",
        requirements: &["RFC 9110 §5.3", "RFC 6750 §2"],
        remediation: "Refuse a request that carries its credential twice or in two places with 400: which copy was checked is otherwise up to each layer.",
    },
    SharedFinding {
        key: "form:header-",
        kind: FindingKind::Form,
        severity: Severity::Should,
        title: "Answers lack the `{}` header the requirement names",
        requirements: &["RFC 6749 §5.1", "RFC 9111 §5.2"],
        remediation: "Send the header on every answer that carries or refuses a credential.",
    },
    SharedFinding {
        key: "form:oauth-error",
        kind: FindingKind::Form,
        severity: Severity::Should,
        title: "OAuth refusals carry another error code, or no error body",
        requirements: &["RFC 6749 §5.2", "RFC 6749 §4.1.2.1"],
        remediation: "Refuse with the error response of RFC 6749 §5.2 (JSON with the `error` code the section names).",
    },
    SharedFinding {
        key: "form:refusal-status",
        kind: FindingKind::Form,
        severity: Severity::Should,
        title: "Resource refusals of a dead or unfit token are not 401",
        requirements: &["RFC 6750 §3.1"],
        remediation: "Answer 401 with `WWW-Authenticate: Bearer error=\"invalid_token\"` for a token that is revoked, expired or unfit.",
    },
    SharedFinding {
        key: "error:server-error",
        kind: FindingKind::Error,
        severity: Severity::Must,
        title: "The target answered with a server error (5xx): these cases could not be judged",
        requirements: &["RFC 9110 §15.6"],
        remediation: "Treat malformed and invalid credentials as client errors (400, 401); a 5xx means the \
            authentication path threw. The server's log for these requests says where.",
    },
    SharedFinding {
        key: "error:timeout",
        kind: FindingKind::Error,
        severity: Severity::Must,
        title: "The target gave no complete answer within the timeout",
        requirements: &["authbench"],
        remediation: "Check that the target answers these requests at all; raise `--timeout` if it is merely slow.",
    },
    SharedFinding {
        key: "error:unreachable",
        kind: FindingKind::Error,
        severity: Severity::Must,
        title: "The target could not be reached",
        requirements: &["authbench"],
        remediation: "Check the URLs of the target profile and that the target is running.",
    },
    SharedFinding {
        key: "error:tls",
        kind: FindingKind::Error,
        severity: Severity::Must,
        title: "The TLS handshake failed where no certificate was at issue",
        requirements: &["authbench"],
        remediation: "Check the profile's `ca_file` and the target's certificate and TLS versions.",
    },
    SharedFinding {
        key: "error:not-http",
        kind: FindingKind::Error,
        severity: Severity::Must,
        title: "The target's answer was not HTTP, or the connection closed without one",
        requirements: &["RFC 9112 §4"],
        remediation: "A server that answers garbage or hangs up proves nothing either way; fix what breaks its answers.",
    },
    SharedFinding {
        key: "error:closed",
        kind: FindingKind::Error,
        severity: Severity::Must,
        title: "The target closed the connection without an answer",
        requirements: &["RFC 9112 §9.6"],
        remediation: "A server that hangs up on a request proves nothing either way; its log says why it closed.",
    },
    SharedFinding {
        key: "error:control",
        kind: FindingKind::Error,
        severity: Severity::Must,
        title: "The valid credential is not served, so a refusal proves nothing",
        requirements: &["authbench"],
        remediation: "Give the profile a URL that serves the valid credential (200) and a valid credential; \
            the method's `valid` cases say what the target answered.",
    },
];

/// The definition for `key`, and its parameter for prefix keys.
pub fn shared(key: &str) -> Option<(&'static SharedFinding, Option<&str>)> {
    SHARED.iter().find_map(|f| {
        if f.key == key {
            Some((f, None))
        } else if f.key.ends_with('-') {
            key.strip_prefix(f.key).map(|param| (f, Some(param)))
        } else {
            None
        }
    })
}

/// The finding id a cause of `case` reports under.
pub fn id_of(cause: &Cause, case: &Case) -> String {
    match cause {
        Cause::Shared(key) => key.clone(),
        Cause::Own(kind) => match &case.finding {
            Some(group) => format!("{}:{}", kind.as_str(), group.id),
            None => format!("{}:{}", kind.as_str(), case.id),
        },
    }
}

/// The title of a case's own finding: what was observed, from the case's
/// title (which says what is required).
fn own_title(kind: FindingKind, case: &Case) -> String {
    if let Some(group) = &case.finding {
        return group.title.clone();
    }
    let title = case.title.trim_end_matches('.');
    // Case titles say what is required ("… is refused"); a finding says what
    // was observed: the requirement turned round at its verb.
    let turned: &[(&str, &str)] = match kind {
        FindingKind::Security => &[
            (" is refused", "is accepted"),
            (" are refused", "are accepted"),
            (" is rejected", "is accepted"),
            (" are rejected", "are accepted"),
            (" is not accepted", "is accepted"),
            (" is not a credential", "is accepted as a credential"),
        ],
        FindingKind::Hardening | FindingKind::Policy => &[
            (" is refused", "is served"),
            (" is not accepted", "is accepted"),
            (" is not a credential", "is accepted as a credential"),
            (" is throttled", "is not throttled"),
            (" are throttled", "are not throttled"),
        ],
        FindingKind::Function => return format!("Refused or broken: {}", lower_first(title)),
        FindingKind::Error => return format!("Could not be judged: {}", lower_first(title)),
        FindingKind::Form => &[],
    };
    turned
        .iter()
        .find_map(|(needle, verb)| title.find(needle).map(|at| format!("{} {verb}", &title[..at])))
        .unwrap_or_else(|| format!("Does not hold: {}", lower_first(title)))
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        // Keep acronyms and code (`HEAD`, `alg`) as written.
        Some(c) if chars.clone().next().is_some_and(|n| n.is_lowercase()) => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => text.to_owned(),
    }
}

fn own_remediation(kind: FindingKind, case: &Case, reason: Option<&str>) -> String {
    if let Some(text) = case.finding.as_ref().and_then(|g| g.remediation.clone()) {
        return text;
    }
    let requirements = case.requirements.join(", ");
    match kind {
        FindingKind::Security => format!(
            "Make the target refuse this, as {requirements} require; \
             `authbench conform --cases '{}'` re-checks it.",
            case.id
        ),
        FindingKind::Function => format!(
            "Make the target accept this, as {requirements} require; \
             `authbench conform --cases '{}'` re-checks it.",
            case.id
        ),
        FindingKind::Policy => format!(
            "The target does not follow the policy its profile declares; fix the target or the profile \
             (`authbench conform --cases '{}'` re-checks it).",
            case.id
        ),
        FindingKind::Hardening => format!(
            "Allowed by the RFCs, advised against ({requirements}): refuse it unless a client depends on it."
        ),
        _ => format!(
            "Nothing could be judged ({}); `authbench conform --cases '{}' --verbose` shows the answers.",
            reason.unwrap_or("see the case"),
            case.id
        ),
    }
}

fn kind_of(id: &str) -> FindingKind {
    match id.split(':').next() {
        Some("function") => FindingKind::Function,
        Some("form") => FindingKind::Form,
        Some("policy") => FindingKind::Policy,
        Some("error") => FindingKind::Error,
        Some("hardening") => FindingKind::Hardening,
        _ => FindingKind::Security,
    }
}

/// Groups the results' finding ids into findings, most serious first: `must`
/// before `should`, then security, function, policy, error, form, hardening.
pub fn collect(catalog: &[Case], results: &[CaseResult]) -> Vec<Finding> {
    let by_id: BTreeMap<&str, &Case> = catalog.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut order: Vec<String> = Vec::new();
    let mut members: BTreeMap<String, Vec<&CaseResult>> = BTreeMap::new();
    for result in results {
        for id in &result.findings {
            if !members.contains_key(id) {
                order.push(id.clone());
            }
            members.entry(id.clone()).or_default().push(result);
        }
    }
    let mut findings: Vec<Finding> = order
        .into_iter()
        .map(|id| {
            let cases = &members[&id];
            let kind = kind_of(&id);
            let ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
            if let Some((def, param)) = shared(&id) {
                return Finding {
                    kind: def.kind,
                    title: match param {
                        Some(p) => def.title.replace("{}", p),
                        None => def.title.to_owned(),
                    },
                    requirements: def.requirements.iter().map(|r| (*r).to_owned()).collect(),
                    severity: def.severity.as_str().to_owned(),
                    remediation: def.remediation.to_owned(),
                    cases: ids,
                    id,
                };
            }
            let first = by_id.get(cases[0].id.as_str()).copied();
            let mut requirements: Vec<String> = Vec::new();
            for c in cases {
                for r in &c.requirements {
                    if !requirements.contains(r) {
                        requirements.push(r.clone());
                    }
                }
            }
            // The requirement's own keyword: `must` when any of its cases cites one.
            let must = cases.iter().any(|c| c.severity == "must");
            Finding {
                kind,
                title: first.map(|c| own_title(kind, c)).unwrap_or_else(|| cases[0].title.clone()),
                requirements,
                severity: if must { "must" } else { "should" }.to_owned(),
                remediation: first
                    .map(|c| own_remediation(kind, c, cases[0].reason.as_deref()))
                    .unwrap_or_default(),
                cases: ids,
                id,
            }
        })
        .collect();
    let rank = |f: &Finding| {
        let kind = match f.kind {
            FindingKind::Security => 0,
            FindingKind::Function => 1,
            FindingKind::Policy => 2,
            FindingKind::Error => 3,
            FindingKind::Form => 4,
            FindingKind::Hardening => 5,
        };
        (f.severity != "must", kind)
    };
    findings.sort_by_key(rank);
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_keys_take_their_parameter() {
        let (def, param) = shared("form:status-403").unwrap();
        assert_eq!(def.key, "form:status-");
        assert_eq!(param, Some("403"));
        assert_eq!(shared("form:no-challenge").unwrap().1, None);
        assert!(shared("form:nothing-like-it").is_none());
    }

    #[test]
    fn every_shared_key_has_its_kind_as_prefix() {
        for def in SHARED {
            assert_eq!(kind_of(def.key), def.kind, "{}", def.key);
            assert!(!def.remediation.is_empty() && !def.requirements.is_empty(), "{}", def.key);
        }
    }

    fn result(id: &str, severity: &str, findings: &[&str]) -> CaseResult {
        CaseResult {
            id: id.to_owned(),
            method: id.split("::").next().unwrap_or_default().to_owned(),
            title: String::new(),
            requirements: vec![format!("RFC of {id}")],
            severity: severity.to_owned(),
            outcome: authbench_reports::Outcome::Warn,
            expected: String::new(),
            observed: String::new(),
            reason: None,
            duration_ms: 0,
            measurement: None,
            parts: None,
            findings: findings.iter().map(|f| (*f).to_owned()).collect(),
            operation: None,
            threats: Vec::new(),
        }
    }

    #[test]
    fn findings_group_cases_by_root_cause_most_serious_first() {
        let results = [
            result("jwt::a", "should", &["form:no-challenge"]),
            result("jwt::b", "must", &["security:exp-not-enforced"]),
            result("layered::c", "should", &["security:exp-not-enforced"]),
            result("basic::d", "should", &["form:no-challenge", "form:status-403"]),
            result("basic::e", "should", &["hardening:basic::e"]),
        ];
        let findings = collect(&[], &results);
        let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "security:exp-not-enforced",
                "form:no-challenge",
                "form:status-403",
                "hardening:basic::e"
            ]
        );
        assert_eq!(findings[0].cases, ["jwt::b", "layered::c"]);
        assert_eq!(findings[0].severity, "must");
        assert_eq!(findings[0].requirements, ["RFC of jwt::b", "RFC of layered::c"]);
        assert_eq!(findings[1].cases, ["jwt::a", "basic::d"]);
        assert_eq!(findings[1].severity, "must", "RFC 9110 §15.5.2's MUST, whatever the cases say");
        assert_eq!(
            findings[2].title,
            "Refusals answer 403 where the requirement names another status"
        );
        assert_eq!(findings[3].kind, FindingKind::Hardening);
        assert!(!findings[3].fails_run(false) && findings[3].fails_run(true));
    }

    #[test]
    fn security_titles_say_what_was_accepted() {
        let case = authbench_scenarios::Catalog::from_sources(
            [(
                "x.toml",
                "[[case]]\nid = \"jwt::exp-missing\"\ntitle = \"A token without `exp` is refused\"\n\
                 requirements = []\nseverity = \"must\"\ncredential = { kind = \"none\" }\nexpect = { status = 401 }\n",
            )],
            authbench_scenarios::Known { flaws: &[], steps: &[] },
        )
        .unwrap()
        .cases
        .remove(0);
        assert_eq!(own_title(FindingKind::Security, &case), "A token without `exp` is accepted");
        assert_eq!(lower_first("HEAD without"), "HEAD without");
        assert_eq!(lower_first("The key"), "the key");
    }
}
