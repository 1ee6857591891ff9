//! `authbench advise`: the decision guide as a command. Given what is being
//! built, it answers with the method (or layering) to use and why, the
//! measured rows of the latest `compare` (or of a quick run of just those
//! configurations), and the conformance cases that matter most for that
//! choice, with their outcome when the comparison carries them.
//!
//! The guide is data ([`BRANCHES`]): each branch names compare
//! configurations and catalog cases, and tests check that every one exists.
//! Each branch opens with what the guide itself answers ([`guide`]) and, where
//! authbench's measured view differs, how and why — never a silent departure.

pub mod guide;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use authbench_reports::compare::{self as model, Comparison};
use serde::Serialize;

use crate::cli::{AdviseArgs, AdviseFormat, EXIT_FAILED, EXIT_OK};

/// One branch of the guide.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Branch {
    /// The `--for` value.
    pub id: &'static str,
    /// What is being built, as the prompt asks it.
    pub situation: &'static str,
    /// The method or layering to use.
    pub recommendation: &'static str,
    /// Why, in a few sentences.
    pub why: &'static [&'static str],
    /// The `compare` configurations that measure the recommendation.
    pub configurations: &'static [&'static str],
    /// The conformance cases that matter most for this choice.
    pub cases: &'static [&'static str],
}

/// The decision guide.
pub const BRANCHES: &[Branch] = &[
    Branch {
        id: "internal-tool",
        situation: "an internal tool: a handful of staff users, on the company network",
        recommendation: "HTTP Basic over TLS with argon2id-hashed passwords and a verified-credential cache; move to OAuth 2.0 / OpenID Connect single sign-on once there is an identity provider",
        why: &[
            "Every HTTP client and browser speaks Basic; there is nothing to issue, rotate or refresh.",
            "argon2id makes a stolen password table expensive to crack but costs milliseconds per request: the cache (keyed to the password's version) takes that off every request but the first.",
            "It carries no delegation and no expiry: a leaked password works until it is changed, so keep it to a few people and throttle failures.",
        ],
        configurations: &["basic-cached", "basic"],
        cases: &[
            "basic::unknown-user-same-answer",
            "basic::throttled-after-failures",
            "basic::colon-and-utf8-password",
            "basic::challenge-advertises-utf8",
            "basic::no-credentials",
        ],
    },
    Branch {
        id: "public-api-own-data",
        situation: "a public API where developers reach their own data (their account, their resources)",
        recommendation: "API keys: prefixed, at least 256 random bits, stored only as a hash, scoped, revocable, several per client for rotation, sent in a header",
        why: &[
            "The developer is the data's owner: there is no user to ask for consent, so delegation (OAuth) adds flows without adding safety.",
            "A lookup by hash is the cheapest check of all the methods, and revocation takes effect on the next request.",
            "A key lives until revoked: keep it out of URLs, throttle guessing, and give prefixes so leaked keys can be found by secret scanners.",
        ],
        configurations: &["api_key"],
        cases: &[
            "api_key::revoked-key",
            "api_key::in-query-string",
            "api_key::same-public-prefix",
            "api_key::near-and-far-misses-take-equal-time",
            "api_key::key-entropy",
            "api_key::invalid-key-flood-throttled",
            "api_key::revocation-latency",
        ],
    },
    Branch {
        id: "public-api-user-data",
        situation: "a public API where third-party developers reach their users' data",
        recommendation: "OAuth 2.0 authorization code with PKCE (S256), exact redirect URIs, short-lived access tokens and rotated refresh tokens; JWT access tokens (RFC 9068) where resource servers verify locally, opaque tokens with introspection where revocation must be immediate",
        why: &[
            "The user, not the developer, owns the data: only delegation lets a user grant a client a limited scope and take it back without sharing a password.",
            "A JWT access token is verified without a call to the authorization server but lives until it expires; an opaque one is revoked at once but costs a lookup per request.",
            "Most OAuth breaches are flow bugs (code reuse, loose redirect matching, missing PKCE), which is what the cases below check.",
        ],
        configurations: &["oauth2-jwt", "oauth2-opaque"],
        cases: &[
            "oauth2::pkce-required",
            "oauth2::pkce-plain-refused",
            "oauth2::code-reuse-revokes-tokens",
            "oauth2::redirect-uri-path-suffix",
            "oauth2::refresh-reuse-revokes-family",
            "oauth2::rs-other-audience",
            "oauth2::revocation-latency",
        ],
    },
    Branch {
        id: "mobile-spa",
        situation: "a mobile or single-page app calling its own backend",
        recommendation: "OAuth 2.0 authorization code with PKCE as a public client, with sender-constrained tokens (DPoP, RFC 9449); never a client secret or an API key in the app",
        why: &[
            "Anything shipped in an app can be extracted: a public client with PKCE has no secret to lose.",
            "Tokens in a browser or on a phone leak (XSS, logs, backups): DPoP binds them to a key the app holds, so a stolen token alone is useless.",
            "DPoP costs a signature per request on the client and a verification and a replay check on the server: the row below measures it.",
        ],
        configurations: &["oauth2-dpop", "oauth2-jwt"],
        cases: &[
            "oauth2::pkce-required",
            "oauth2::pkce-downgrade",
            "oauth2::redirect-uri-http",
            "oauth2::dpop-token-as-bearer",
            "oauth2::dpop-replayed-proof",
            "oauth2::dpop-other-key",
            "oauth2::refresh-reuse-revokes-family",
        ],
    },
    Branch {
        id: "internal-services",
        situation: "internal microservices inside one trust boundary, passing the user's identity along",
        recommendation: "JWT bearer tokens from one issuer, signed with an asymmetric key (ES256 or EdDSA), verified locally with a pinned algorithm, a short exp and an audience per service",
        why: &[
            "Each service verifies a token without a network call, and the token carries the user and scopes from service to service.",
            "Asymmetric keys let every service verify while only the issuer can sign; HS256 would give every verifier the power to mint.",
            "Algorithm confusion and alg:none are the classic JWT failures: pin the algorithm per key.",
        ],
        configurations: &["jwt-es256", "jwt-eddsa", "jwt-rs256"],
        cases: &[
            "jwt::alg-none",
            "jwt::hs256-with-public-key-pem",
            "jwt::signature-flipped",
            "jwt::exp-past-leeway",
            "jwt::aud-wrong",
            "jwt::embedded-jwk",
            "jwt::replay-window",
        ],
    },
    Branch {
        id: "zero-trust-services",
        situation: "zero-trust microservices: every call authenticated at the connection, nothing trusted for being inside",
        recommendation: "mTLS between services from a private CA (short-lived certificates, a CRL), with the end user's JWT on top where there is one (layered)",
        why: &[
            "The certificate authenticates the calling service on every connection, whatever network it came from; a stolen token without the key is refused.",
            "The handshake is the cost: kept-alive connections pay it once, a connection per request pays it every time (the mtls-handshake row).",
            "Services act for users: the layered row adds an API key and a user token bound to the service's application, each verified on every request.",
        ],
        configurations: &["mtls", "mtls-handshake", "layered"],
        cases: &[
            "mtls::untrusted-ca",
            "mtls::expired",
            "mtls::revoked",
            "mtls::client-cert-header-ignored",
            "mtls::bound-token-other-certificate",
            "layered::certificate-only",
            "layered::certificate-of-other-service",
        ],
    },
    Branch {
        id: "partners",
        situation: "a fixed set of partner companies calling the API for themselves",
        recommendation: "mTLS with a certificate per partner from a CA you run, the partner identified by the certificate's SAN; an API key per partner application on top when a partner runs several",
        why: &[
            "Partners are few and known: issuing each a certificate is manageable, and the private key never travels, so nothing in a log or a proxy can be replayed.",
            "Revocation is a CRL entry, effective on the next handshake (and, on the reference servers, on open connections too).",
            "Where partners need several applications told apart, an API key per application rides on the partner's certificate.",
        ],
        configurations: &["mtls", "mtls-handshake", "api_key"],
        cases: &[
            "mtls::untrusted-ca",
            "mtls::revoked",
            "mtls::unknown-identity",
            "mtls::forbidden-identity",
            "mtls::xfcc-header-ignored",
            "mtls::revocation-latency",
            "api_key::allowlisted-key-refused-from-other-source",
            "api_key::allowlist-ignores-forwarded-for",
            "api_key::allowlist-refusal-reveals-nothing",
        ],
    },
    Branch {
        id: "partners-user-data",
        situation: "partners reaching your users' data on their behalf",
        recommendation: "Layered: mTLS for the partner's service, an API key for its application, and an OAuth 2.0 user token issued to that application (client_id/azp bound to it) — or certificate-bound tokens (RFC 8705)",
        why: &[
            "Three questions, three layers: which service is calling (certificate), for which application (key), on behalf of which user (token).",
            "Each layer alone is not enough: the binding between them is what stops a partner from using another partner's key or a token issued to someone else.",
            "The layered row measures the three checks together on one request.",
        ],
        configurations: &["layered", "oauth2-jwt"],
        cases: &[
            "layered::api-key-of-other-application",
            "layered::token-for-other-application",
            "layered::certificate-of-other-service",
            "layered::no-token",
            "layered::unknown-api-key",
            "mtls::bound-token-other-certificate",
            "oauth2::code-other-client",
        ],
    },
];

impl Branch {
    /// The configurations to show: authbench's, then those that measure the
    /// guide's answer.
    pub fn measured(&self) -> Vec<&'static str> {
        let mut labels = self.configurations.to_vec();
        for label in guide::for_branch(self.id).map_or(&[][..], |g| g.configurations) {
            if !labels.contains(label) {
                labels.push(label);
            }
        }
        labels
    }
}

/// Where the comparison `compare` writes by default, read when `--compare` is not given.
pub const DEFAULT_COMPARE: &str = "authbench-compare/compare.json";

/// The branch `id`, or an error listing them.
pub fn branch(id: &str) -> anyhow::Result<&'static Branch> {
    BRANCHES.iter().find(|b| b.id == id).with_context(|| {
        format!(
            "--for {id}: not a branch of the guide; use one of: {}",
            BRANCHES.iter().map(|b| b.id).collect::<Vec<_>>().join(", ")
        )
    })
}

/// Where the figures came from.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// The compare.json read, if any.
    pub file: Option<PathBuf>,
    /// When that comparison ran.
    pub started_at: String,
    /// Whether it was a quick run.
    pub quick: bool,
}

/// One case that matters, with its outcome in the comparison when known.
#[derive(Debug, Clone, Serialize)]
pub struct CaseAdvice {
    /// Case id.
    pub id: String,
    /// What it checks.
    pub title: String,
    /// `pass`, `fail`, … in the comparison's conformance run; `None` when not run.
    pub outcome: Option<String>,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize)]
pub struct Advice {
    /// `authbench.advice/1`.
    pub schema: &'static str,
    /// The branch.
    #[serde(rename = "for")]
    pub branch: Branch,
    /// What the guide answers, and how authbench's view relates to it.
    pub guide: Option<guide::Guide>,
    /// Where the figures came from.
    pub source: Source,
    /// The measured rows of the branch's configurations.
    pub rows: Vec<model::Row>,
    /// Configurations the comparison did not hold.
    pub missing: Vec<String>,
    /// The cases that matter most.
    pub case_outcomes: Vec<CaseAdvice>,
    #[serde(skip)]
    comparison: Comparison,
}

/// The answer for `branch` from `comparison` (read from `file`, or measured now).
pub fn advise(branch: &Branch, comparison: &Comparison, file: Option<&Path>) -> Advice {
    let measured = branch.measured();
    let rows: Vec<model::Row> = measured
        .iter()
        .filter_map(|label| comparison.rows.iter().find(|r| r.configuration == *label).cloned())
        .collect();
    let missing = measured
        .iter()
        .filter(|label| !rows.iter().any(|r| r.configuration == **label))
        .map(|l| (*l).to_owned())
        .collect();
    let catalog = crate::catalog::load_catalog(None).ok();
    let case_outcomes = branch
        .cases
        .iter()
        .map(|id| {
            let title = catalog
                .as_ref()
                .and_then(|c| c.cases.iter().find(|case| case.id == *id))
                .map(|case| case.title.clone())
                .unwrap_or_default();
            let outcome = comparison.conformance.as_ref().and_then(|r| {
                r.cases.iter().find(|c| c.id == *id).map(|c| c.outcome.as_str().to_owned())
            });
            CaseAdvice { id: (*id).to_owned(), title, outcome }
        })
        .collect();
    let mut subset = comparison.clone();
    subset.rows.clone_from(&rows);
    subset.conformance = None;
    Advice {
        schema: "authbench.advice/1",
        branch: *branch,
        guide: guide::for_branch(branch.id),
        source: Source {
            file: file.map(Path::to_owned),
            started_at: comparison.started_at.clone(),
            quick: comparison.quick,
        },
        rows,
        missing,
        case_outcomes,
        comparison: subset,
    }
}

impl Advice {
    /// The answer as text (`markdown` for a pull request or a wiki page).
    pub fn render(&self, markdown: bool) -> String {
        let b = &self.branch;
        let mut out = String::new();
        let source = match &self.source.file {
            Some(f) => format!("{} (compare of {})", f.display(), self.source.started_at),
            None => format!(
                "a quick run of these configurations just now ({}); `authbench compare` gives steadier figures",
                self.source.started_at
            ),
        };
        if markdown {
            out.push_str(&format!("## authbench advise: {}\n\n", b.id));
            out.push_str(&format!("**Building:** {}\n\n", b.situation));
            if let Some(g) = &self.guide {
                out.push_str(&format!(
                    "**The guide** (for {}): {}\n\n**authbench's measured view** ({} the guide): {}\n\n",
                    g.situation,
                    g.answer,
                    g.relation.as_str(),
                    b.recommendation
                ));
                if !g.difference.is_empty() {
                    out.push_str(&format!("**Where they differ:** {}\n\n", g.difference));
                }
            } else {
                out.push_str(&format!("**Recommended:** {}\n\n", b.recommendation));
            }
            out.push_str("**Why:**\n\n");
            for line in b.why {
                out.push_str(&format!("- {line}\n"));
            }
            out.push_str(&format!("\n**Measured** — from {source}:\n\n"));
            if !self.rows.is_empty() {
                let table = model::markdown(&self.comparison);
                out.push_str(table.trim_start_matches("## authbench compare\n\n"));
            }
        } else {
            out.push_str(&format!("Building:     {}\n", b.situation));
            if let Some(g) = &self.guide {
                out.push_str(&format!("The guide:    {} (for {})\n", g.answer, g.situation));
                out.push_str(&format!(
                    "authbench:    {} ({} the guide)\n",
                    b.recommendation,
                    g.relation.as_str()
                ));
                if !g.difference.is_empty() {
                    out.push_str(&format!("Where they differ: {}\n", g.difference));
                }
                out.push_str("\nWhy:\n");
            } else {
                out.push_str(&format!("Recommended:  {}\n\nWhy:\n", b.recommendation));
            }
            for line in b.why {
                out.push_str(&format!("  - {line}\n"));
            }
            out.push_str(&format!("\nMeasured, from {source}:\n"));
            if !self.rows.is_empty() {
                out.push_str(&model::table(&self.comparison));
            }
        }
        for label in &self.missing {
            out.push_str(&format!(
                "{label}: not in this comparison; run `authbench compare` to measure it\n"
            ));
        }
        out.push_str(if markdown {
            "\n**Cases that matter most:**\n\n"
        } else {
            "\nCases that matter most:\n"
        });
        for c in &self.case_outcomes {
            let outcome = c.outcome.as_deref().unwrap_or("not run");
            if markdown {
                out.push_str(&format!("- `{}` ({outcome}): {}\n", c.id, c.title));
            } else {
                out.push_str(&format!("  {outcome:<8} {:<44} {}\n", c.id, c.title));
            }
        }
        let ids: Vec<&str> = self.case_outcomes.iter().map(|c| c.id.as_str()).collect();
        let methods: std::collections::BTreeSet<&str> =
            ids.iter().filter_map(|id| id.split("::").next()).collect();
        let command = format!(
            "authbench conform --target YOUR-PROFILE.toml --methods {}",
            methods.into_iter().collect::<Vec<_>>().join(",")
        );
        if markdown {
            out.push_str(&format!("\nAgainst your API: `{command}`\n"));
        } else {
            out.push_str(&format!("\nAgainst your API: {command}\n"));
        }
        out
    }

    /// Whether a case that matters failed in the comparison's run.
    pub fn has_failures(&self) -> bool {
        self.case_outcomes.iter().any(|c| matches!(c.outcome.as_deref(), Some("fail" | "error")))
    }
}

/// Asks which branch on a terminal.
fn prompt() -> anyhow::Result<&'static Branch> {
    let items: Vec<String> = BRANCHES.iter().map(|b| b.situation.to_owned()).collect();
    let choice = dialoguer::Select::new()
        .with_prompt("What are you building?")
        .items(&items)
        .default(0)
        .interact_opt()
        .context("reading the answer from the terminal")?;
    match choice {
        Some(i) => Ok(&BRANCHES[i]),
        None => bail!("no answer given; pass --for {} to skip the question", BRANCHES[0].id),
    }
}

/// The comparison to take figures from: `--compare`, else the default file
/// when it exists, else a quick run of `branch`'s configurations.
fn comparison(args: &AdviseArgs, branch: &Branch) -> anyhow::Result<(Comparison, Option<PathBuf>)> {
    let path = match &args.compare {
        Some(p) => Some(p.clone()),
        None => Some(PathBuf::from(DEFAULT_COMPARE)).filter(|p| p.is_file()),
    };
    if let Some(path) = path {
        return match crate::commands::report::load(&path, "--compare")? {
            crate::commands::report::Saved::Comparison(c) => Ok((*c, Some(path))),
            crate::commands::report::Saved::Results(_) => bail!(
                "--compare {}: holds conformance results; give the compare.json `authbench compare` writes",
                path.display()
            ),
        };
    }
    let measured = branch.measured();
    eprintln!(
        "authbench: no {DEFAULT_COMPARE}: measuring {} in a quick run (pass --compare FILE to use saved figures)",
        measured.join(", ")
    );
    let runtime = crate::commands::overhead::command_runtime()?;
    let progress = |line: &str| eprintln!("authbench: {line}");
    let comparison = runtime.block_on(crate::commands::compare::run(
        crate::commands::compare::Budget::QUICK,
        true,
        Some(&measured),
        &progress,
    ))?;
    Ok((comparison.model, None))
}

/// `authbench advise`.
pub fn command(args: AdviseArgs) -> anyhow::Result<u8> {
    let branch = match &args.r#for {
        Some(id) => branch(id)?,
        None if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => prompt()?,
        None => bail!(
            "--for is required when not on a terminal; one of: {}",
            BRANCHES.iter().map(|b| b.id).collect::<Vec<_>>().join(", ")
        ),
    };
    let (comparison, file) = comparison(&args, branch)?;
    let advice = advise(branch, &comparison, file.as_deref());
    let text = match args.format {
        AdviseFormat::Table => advice.render(false),
        AdviseFormat::Markdown => advice.render(true),
        AdviseFormat::Json => format!("{}\n", serde_json::to_string_pretty(&advice)?),
    };
    print!("{text}");
    Ok(if advice.has_failures() { EXIT_FAILED } else { EXIT_OK })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_branch_names_known_configurations_and_cases() {
        let catalog = crate::catalog::load_catalog(None).unwrap();
        let labels: Vec<&str> = crate::commands::compare::labels().collect();
        let mut ids = std::collections::BTreeSet::new();
        for b in BRANCHES {
            assert!(ids.insert(b.id), "{} twice", b.id);
            assert!(!b.configurations.is_empty() && !b.cases.is_empty() && !b.why.is_empty());
            for c in b.configurations {
                assert!(labels.contains(c), "{}: no configuration {c}", b.id);
            }
            for id in b.cases {
                // `*::` templates expand per method: basic::no-credentials exists.
                assert!(catalog.cases.iter().any(|c| c.id == *id), "{}: no case {id}", b.id);
            }
        }
        assert!(branch("nope").unwrap_err().to_string().contains("internal-tool"));
    }

    /// A comparison with no rows: the text part of the advice.
    fn empty_comparison() -> Comparison {
        Comparison {
            schema: model::SCHEMA.to_owned(),
            tool: authbench_reports::Tool { name: "authbench".into(), version: "0".into() },
            started_at: "2026-12-06T00:00:00Z".into(),
            duration_secs: 0.0,
            quick: false,
            baseline_capacity: None,
            latency_rate: None,
            handshake_latency_rate: None,
            latency_fraction: 0.1,
            conformance_summary: authbench_reports::Summary::default(),
            rows: Vec::new(),
            conformance: None,
            noise_floor: None,
            machine: None,
        }
    }

    #[test]
    fn every_branch_gives_the_guide_answer_first_and_says_where_it_differs() {
        let labels: Vec<&str> = crate::commands::compare::labels().collect();
        let comparison = empty_comparison();
        for b in BRANCHES {
            let g = guide::for_branch(b.id).unwrap_or_else(|| panic!("{}: no guide answer", b.id));
            for c in g.configurations {
                assert!(labels.contains(c), "{}: the guide's {c} is no configuration", b.id);
            }
            assert_eq!(g.difference.is_empty(), g.relation == guide::Relation::Agrees, "{}", b.id);
            let advice = advise(b, &comparison, None);
            for markdown in [false, true] {
                let text = advice.render(markdown);
                let (guide_at, ours_at) = (text.find(g.answer), text.find(b.recommendation));
                assert!(
                    matches!((guide_at, ours_at), (Some(a), Some(o)) if a < o),
                    "{}: the guide's answer comes first:\n{text}",
                    b.id
                );
                assert!(g.difference.is_empty() || text.contains(g.difference), "{}", b.id);
            }
            let json = serde_json::to_value(&advice).unwrap();
            assert_eq!(json["guide"]["answer"], g.answer, "{}", b.id);
            assert_eq!(json["guide"]["relation"], g.relation.as_str(), "{}", b.id);
            // The rows asked for include the guide's.
            for c in g.configurations {
                assert!(advice.missing.iter().any(|m| m == c), "{}: {c} not asked for", b.id);
            }
        }
        let partners = advise(branch("partners").unwrap(), &comparison, None).render(false);
        assert!(
            partners.contains("The guide:    API keys with an address allowlist"),
            "{partners}"
        );
        assert!(partners.contains("departs the guide"), "{partners}");
    }
}
