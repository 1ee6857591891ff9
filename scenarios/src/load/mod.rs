//! Parsing and validating catalog files: every mistake is an error naming the
//! file, the line and the field, and what to do.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

mod resolve;

use resolve::Definitions;

use crate::case::{
    Case, CaseBody, Credential, Exchange, Expect, FindingSpec, RequestSpec, Severity, ThreatSpec,
    Tolerate,
};
use crate::method::Method;

/// What the engine knows, against which a catalog is validated.
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    /// Names of the reference servers' flaws.
    pub flaws: &'a [&'a str],
    /// Names of the Rust steps the engine implements.
    pub steps: &'a [&'a str],
}

/// A catalog mistake: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {field}{message}")]
pub struct CatalogError {
    /// The catalog file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The field at fault, with a trailing `: `, or empty when the parser did not say.
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    case: Vec<RawCase>,
    #[serde(default)]
    finding: Vec<Spanned<FindingSpec>>,
    #[serde(default)]
    threat: Vec<Spanned<ThreatSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    id: Spanned<String>,
    title: String,
    requirements: Vec<String>,
    severity: Severity,
    #[serde(default)]
    methods: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    request: Option<RequestSpec>,
    #[serde(default)]
    credential: Option<Spanned<Credential>>,
    #[serde(default)]
    expect: Option<Expect>,
    #[serde(default)]
    tolerate: Option<Tolerate>,
    #[serde(default)]
    step: Option<Spanned<StepRef>>,
    #[serde(default)]
    flaws: Vec<Spanned<String>>,
    #[serde(default)]
    lane: Option<String>,
    #[serde(default)]
    finding: Option<Spanned<String>>,
    #[serde(default)]
    policy: Option<Spanned<String>>,
    #[serde(default)]
    hardening: bool,
    #[serde(default)]
    threats: Vec<String>,
}

/// A case's `step`: `true` for the step registered under the case's own id,
/// or the id of the case whose step to run.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StepRef {
    Own(bool),
    Of(String),
}

/// The methods a `*::` template expands to when it names none.
const TEMPLATE_METHODS: &[Method] = &[Method::Basic, Method::ApiKey, Method::Jwt];

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Parses and validates one catalog file's text; `file` names it in errors.
/// Its cases' `finding` references resolve against the file's own
/// `[[finding]]` tables ([`Catalog::from_sources`] resolves across files).
pub fn parse(file: &str, text: &str, known: Known<'_>) -> Result<Vec<Case>, CatalogError> {
    let (mut cases, definitions) = parse_file(file, text, known)?;
    definitions.resolve(&mut cases)?;
    Ok(cases)
}

fn parse_file(
    file: &str,
    text: &str,
    known: Known<'_>,
) -> Result<(Vec<Case>, Definitions), CatalogError> {
    let err = |offset: usize, field: &str, message: String| CatalogError {
        file: file.to_owned(),
        line: line_of(text, offset),
        field: if field.is_empty() { String::new() } else { format!("{field}: ") },
        message,
    };
    let parsed: CatalogFile = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        err(offset, "", e.message().trim().to_owned())
    })?;
    let mut definitions = Definitions::default();
    for spanned in parsed.threat {
        let at = spanned.span().start;
        let threat = spanned.into_inner();
        if !valid_name(&threat.id) {
            return Err(err(
                at,
                "threat.id",
                format!("`{}` must be lower-case words joined by single hyphens", threat.id),
            ));
        }
        if threat.title.trim().is_empty() {
            return Err(err(at, "threat.title", "a threat needs a title".to_owned()));
        }
        definitions.threats.push((threat, file.to_owned(), line_of(text, at)));
    }
    for spanned in parsed.finding {
        let at = spanned.span().start;
        let definition = spanned.into_inner();
        if !valid_name(&definition.id) {
            return Err(err(
                at,
                "finding.id",
                format!("`{}` must be lower-case words joined by single hyphens", definition.id),
            ));
        }
        if definition.title.trim().is_empty() {
            return Err(err(at, "finding.title", "a finding needs a title".to_owned()));
        }
        definitions.findings.push((definition, file.to_owned(), line_of(text, at)));
    }
    let mut cases = Vec::new();
    for raw in parsed.case {
        let at = raw.id.span().start;
        let id = raw.id.get_ref().clone();
        let Some((prefix, name)) = id.split_once("::") else {
            return Err(err(at, "id", format!("`{id}` is not `<method>::<kebab-name>`")));
        };
        if !valid_name(name) {
            return Err(err(
                at,
                "id",
                format!("`{name}` must be lower-case words joined by single hyphens"),
            ));
        }
        let methods: Vec<Method> = if prefix == "*" {
            let mut out = Vec::new();
            let names: Vec<String> = raw.methods.as_ref().map_or_else(
                || TEMPLATE_METHODS.iter().map(|m| m.name().to_owned()).collect(),
                |m| m.get_ref().clone(),
            );
            let offset = raw.methods.as_ref().map_or(at, |m| m.span().start);
            for m in &names {
                match Method::from_name(m) {
                    Some(m) => out.push(m),
                    None => {
                        return Err(err(
                            offset,
                            "methods",
                            format!("unknown method `{m}`; known: {}", Method::names()),
                        ));
                    }
                }
            }
            out
        } else {
            let Some(method) = Method::from_name(prefix) else {
                return Err(err(
                    at,
                    "id",
                    format!(
                        "unknown method `{prefix}`; known: {}, or `*` for every method",
                        Method::names()
                    ),
                ));
            };
            if let Some(m) = &raw.methods {
                return Err(err(
                    m.span().start,
                    "methods",
                    "only `*::` cases list methods".to_owned(),
                ));
            }
            vec![method]
        };
        for flaw in &raw.flaws {
            if !known.flaws.contains(&flaw.get_ref().as_str()) {
                return Err(err(
                    flaw.span().start,
                    "flaws",
                    format!(
                        "no flaw `{}`; `authbench serve --list-flaws` lists them",
                        flaw.get_ref()
                    ),
                ));
            }
        }
        if let Some(policy) = &raw.policy
            && !crate::case::POLICIES.iter().any(|(name, _)| name == policy.get_ref())
        {
            let names: Vec<&str> = crate::case::POLICIES.iter().map(|(n, _)| *n).collect();
            return Err(err(
                policy.span().start,
                "policy",
                format!("no policy `{}`; known: {}", policy.get_ref(), names.join(", ")),
            ));
        }
        let body_at = raw.credential.as_ref().map_or(at, |c| c.span().start);
        let body = match (raw.step, raw.credential, raw.expect) {
            (Some(step), None, None) => {
                let step_at = step.span().start;
                let step_id = match step.into_inner() {
                    StepRef::Own(true) => id.clone(),
                    StepRef::Own(false) => {
                        return Err(err(
                            step_at,
                            "step",
                            "`step = false` is not a step; remove the field, or write `step = true`".to_owned(),
                        ));
                    }
                    StepRef::Of(other) => crate::legacy::step(&other, known.steps).unwrap_or(other),
                };
                // A template's own step is each method's step of that name.
                let wanted: Vec<String> = match step_id.strip_prefix("*::") {
                    Some(name) => methods.iter().map(|m| format!("{m}::{name}")).collect(),
                    None => vec![step_id.clone()],
                };
                if let Some(step_id) = wanted.iter().find(|w| !known.steps.contains(&w.as_str())) {
                    // The known steps of the method the missing one belongs to.
                    let prefix = match step_id.split_once("::") {
                        Some((method, _)) if method != "*" => method,
                        _ => prefix,
                    };
                    return Err(err(
                        step_at,
                        "step",
                        format!(
                            "no step `{step_id}`: `step = true` runs the step registered under the case's own id, `step = \"<case id>\"` another case's; known: {}",
                            known
                                .steps
                                .iter()
                                .filter(|s| s.starts_with(&format!("{prefix}::")))
                                .copied()
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                if raw.request.is_some() || raw.tolerate.is_some() {
                    return Err(err(
                        at,
                        "step",
                        "a step case takes no request or tolerate".to_owned(),
                    ));
                }
                CaseBody::Step(step_id)
            }
            (None, Some(credential), Some(expect)) => {
                let credential = credential.into_inner();
                if let Some(t) = &raw.tolerate
                    && !t.status.is_empty()
                    && t.reason.as_deref().is_none_or(|r| r.trim().is_empty())
                {
                    return Err(err(
                        at,
                        "tolerate.reason",
                        "a tolerated status needs a reason: why is it safe, though not the answer the requirement names?".to_owned(),
                    ));
                }
                if raw.request.as_ref().is_some_and(|r| r.algorithm.is_some())
                    && methods != [Method::Jwt]
                {
                    return Err(err(
                        at,
                        "request.algorithm",
                        "only `jwt::` cases choose an algorithm".to_owned(),
                    ));
                }
                for method in &methods {
                    if !fits(&credential, *method) {
                        return Err(err(
                            body_at,
                            "credential.kind",
                            format!(
                                "a `{}` credential cannot be used in a `{method}` case",
                                credential.kind()
                            ),
                        ));
                    }
                }
                CaseBody::Exchange(Box::new(Exchange {
                    request: raw.request.unwrap_or_default(),
                    credential,
                    expect,
                    tolerate: raw.tolerate.unwrap_or_default(),
                }))
            }
            (Some(_), _, _) => {
                return Err(err(at, "step", "a step case has no credential or expect".to_owned()));
            }
            _ => {
                return Err(err(
                    at,
                    "credential",
                    "a case needs `credential` and `expect`, or a `step`".to_owned(),
                ));
            }
        };
        let templated = prefix == "*";
        for method in methods {
            // A template's flaws belong to the methods whose flaws they are.
            let flaws = raw
                .flaws
                .iter()
                .map(|f| f.get_ref().clone())
                // Transport flaws (`tls-…`) are every method's.
                .filter(|f| {
                    !templated
                        || f.starts_with(&format!("{}-", method.flaw_prefix()))
                        || f.starts_with("tls-")
                })
                .collect();
            let body = match &body {
                CaseBody::Step(s) if s.starts_with("*::") => {
                    CaseBody::Step(format!("{method}::{}", &s[3..]))
                }
                other => other.clone(),
            };
            cases.push(Case {
                id: format!("{method}::{name}"),
                method,
                title: raw.title.clone(),
                requirements: raw.requirements.clone(),
                severity: raw.severity,
                body,
                flaws,
                finding: raw.finding.as_ref().map(|f| FindingSpec {
                    id: f.get_ref().clone(),
                    title: String::new(),
                    remediation: None,
                }),
                policy: raw.policy.as_ref().map(|p| p.get_ref().clone()),
                hardening: raw.hardening,
                threats: raw
                    .threats
                    .iter()
                    .map(|id| ThreatSpec { id: id.clone(), title: String::new(), sources: vec![] })
                    .collect(),
                lane: raw.lane.clone(),
                file: file.to_owned(),
                line: line_of(text, at),
            });
        }
    }
    Ok((cases, definitions))
}

fn fits(credential: &Credential, method: Method) -> bool {
    match credential {
        Credential::None | Credential::Valid | Credential::Raw(_) => true,
        Credential::Basic(_) => method == Method::Basic,
        Credential::ApiKey(_) => method == Method::ApiKey,
        Credential::Jwt(_) => method == Method::Jwt,
    }
}

/// A whole catalog: cases from several files, ids unique across them.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The cases, in file then catalog order.
    pub cases: Vec<Case>,
}

impl Catalog {
    /// Builds a catalog from `(file name, text)` pairs.
    pub fn from_sources<'s>(
        sources: impl IntoIterator<Item = (&'s str, &'s str)>,
        known: Known<'_>,
    ) -> Result<Catalog, CatalogError> {
        let mut cases: Vec<Case> = Vec::new();
        let mut definitions = Definitions::default();
        let mut seen: BTreeMap<String, (String, usize)> = BTreeMap::new();
        for (file, text) in sources {
            let (parsed, defined) = parse_file(file, text, known)?;
            definitions.merge(defined)?;
            for case in parsed {
                if let Some((other_file, other_line)) = seen.get(&case.id) {
                    return Err(CatalogError {
                        file: case.file.clone(),
                        line: case.line,
                        field: "id: ".to_owned(),
                        message: format!(
                            "`{}` is already used at {other_file}:{other_line}; ids are unique and never reused",
                            case.id
                        ),
                    });
                }
                seen.insert(case.id.clone(), (case.file.clone(), case.line));
                cases.push(case);
            }
        }
        definitions.resolve(&mut cases)?;
        Ok(Catalog { cases })
    }

    /// The catalog built into authbench.
    pub fn embedded(known: Known<'_>) -> Result<Catalog, CatalogError> {
        Catalog::from_sources(crate::EMBEDDED.iter().copied(), known)
    }

    /// Every `*.toml` file of `dir` (sorted by name), for `--catalog DIR`.
    pub fn from_dir(dir: &Path, known: Known<'_>) -> Result<Catalog, CatalogError> {
        let io = |message: String| CatalogError {
            file: dir.display().to_string(),
            line: 0,
            field: String::new(),
            message,
        };
        let entries = std::fs::read_dir(dir)
            .map_err(|e| io(format!("cannot read the catalog directory: {e}")))?;
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(io("no *.toml case files in the catalog directory".to_owned()));
        }
        let texts = files
            .iter()
            .map(|p| {
                std::fs::read_to_string(p).map(|t| (p.display().to_string(), t)).map_err(|e| {
                    CatalogError {
                        file: p.display().to_string(),
                        line: 0,
                        field: String::new(),
                        message: e.to_string(),
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Catalog::from_sources(texts.iter().map(|(f, t)| (f.as_str(), t.as_str())), known)
    }
}

#[cfg(test)]
mod tests;
