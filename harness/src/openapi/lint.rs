//! What the document itself says about authentication, before any request:
//! designs the RFCs advise against, and declarations that contradict
//! themselves. Each is reported as a finding of the document, with its line.

use super::{Document, Flow, Location, SchemeKind};

/// How firmly the cited text speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmness {
    /// A MUST (NOT) of the cited text, or a document that cannot mean what it says.
    Must,
    /// A SHOULD (NOT), or a hardening recommendation.
    Should,
}

/// A finding about the document, not about the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticFinding {
    /// Stable id, `openapi-<kebab-name>`.
    pub id: &'static str,
    /// What it means, in a sentence.
    pub title: &'static str,
    /// The requirement cited.
    pub requirement: &'static str,
    /// How firmly.
    pub firmness: Firmness,
    /// Where in the document (1-based line).
    pub line: usize,
    /// Which scheme, server or operation.
    pub subject: String,
}

fn finding(
    id: &'static str,
    title: &'static str,
    requirement: &'static str,
    firmness: Firmness,
    line: usize,
    subject: String,
) -> StaticFinding {
    StaticFinding { id, title, requirement, firmness, line, subject }
}

/// The document's findings, in document order of what they point at.
pub fn lint(doc: &Document) -> Vec<StaticFinding> {
    let mut out = Vec::new();
    let used: Vec<&str> = doc
        .operations
        .iter()
        .flat_map(|op| doc.requirements(op).iter().flat_map(|r| r.schemes()))
        .collect();
    let plain_http: Vec<&String> =
        doc.servers.iter().filter(|s| s.starts_with("http://")).collect();
    for scheme in &doc.schemes {
        let name = scheme.name.clone();
        match &scheme.kind {
            SchemeKind::ApiKey { location: Location::Query, .. } => out.push(finding(
                "openapi-api-key-in-query",
                "an API key sent in the query string, where logs, caches and Referer headers keep it",
                "OWASP API2:2023; RFC 6750 §5.3 (the same advice for bearer tokens)",
                Firmness::Should,
                scheme.line,
                name.clone(),
            )),
            SchemeKind::OAuth2 { flows } => {
                for flow in flows {
                    if let Some(f) = flow_finding(flow, scheme.line, &name) {
                        out.push(f);
                    }
                }
            }
            _ => {}
        }
        let credential_in_clear = matches!(
            &scheme.kind,
            SchemeKind::Http { .. } | SchemeKind::ApiKey { .. } | SchemeKind::OAuth2 { .. }
        );
        if credential_in_clear && !plain_http.is_empty() && used.contains(&name.as_str()) {
            out.push(finding(
                "openapi-credentials-over-http",
                "a credential declared for a server reached over plain http://",
                "RFC 7617 §4; RFC 6750 §5.3; RFC 9700 §4.16",
                Firmness::Must,
                scheme.line,
                format!("{name} on {}", plain_http[0]),
            ));
        }
        if !used.contains(&name.as_str()) {
            out.push(finding(
                "openapi-scheme-unused",
                "a security scheme no operation requires",
                "OpenAPI 3.1 §4.8.27 (security requirements name the schemes in use)",
                Firmness::Should,
                scheme.line,
                name,
            ));
        }
    }
    let declares_schemes = !doc.schemes.is_empty();
    for op in &doc.operations {
        for requirement in doc.requirements(op) {
            for name in requirement.schemes() {
                if doc.scheme(name).is_none() {
                    out.push(finding(
                        "openapi-undeclared-scheme",
                        "a security requirement names a scheme the document does not declare",
                        "OpenAPI 3.1 §4.8.30: each name MUST correspond to a declared scheme",
                        Firmness::Must,
                        op.line,
                        format!("{} requires {name}", op.id()),
                    ));
                }
            }
        }
        // `security: []` declares an operation public; only one that says
        // nothing at all, in a document that has schemes, is in doubt.
        if declares_schemes && op.security.is_none() && doc.security.is_none() {
            out.push(finding(
                "openapi-operation-without-security",
                "an operation that declares no security, in a document that has schemes: public by design, or forgotten?",
                "OWASP API5:2023 (function-level authorization)",
                Firmness::Should,
                op.line,
                op.id(),
            ));
        }
    }
    out.sort_by_key(|f| f.line);
    out
}

fn flow_finding(flow: &Flow, line: usize, scheme: &str) -> Option<StaticFinding> {
    match flow.name.as_str() {
        "implicit" => Some(finding(
            "openapi-implicit-flow",
            "the implicit grant: access tokens in the redirect URI, exposed and replayable",
            "RFC 9700 §2.1.2: clients SHOULD NOT use the implicit grant",
            Firmness::Should,
            line,
            scheme.to_owned(),
        )),
        "password" => Some(finding(
            "openapi-password-flow",
            "the resource owner password credentials grant: the client sees the user's password",
            "RFC 9700 §2.4: the password grant MUST NOT be used",
            Firmness::Must,
            line,
            scheme.to_owned(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<(&'static str, String)> {
        let doc = Document::parse(text, "t.yaml").unwrap();
        lint(&doc).into_iter().map(|f| (f.id, f.subject)).collect()
    }

    #[test]
    fn each_finding_from_a_document_that_has_it() {
        let found = ids(include_str!("../../tests/data/openapi/swagger2.json"));
        let has = |id: &str, subject: &str| found.iter().any(|(i, s)| *i == id && s == subject);
        assert!(has("openapi-api-key-in-query", "queryKey"), "{found:?}");
        assert!(has("openapi-implicit-flow", "implicit"), "{found:?}");
        assert!(has("openapi-password-flow", "password"), "{found:?}");
        assert!(has("openapi-scheme-unused", "queryKey"), "{found:?}");
        assert!(has("openapi-scheme-unused", "accessCode"), "{found:?}");
        assert!(!has("openapi-scheme-unused", "key"), "used by the document's security");
        // `security: []` on health: public by declaration.
        assert!(
            !found.iter().any(|(i, _)| *i == "openapi-operation-without-security"),
            "{found:?}"
        );
        assert!(!found.iter().any(|(i, _)| *i == "openapi-credentials-over-http"), "https only");
    }

    #[test]
    fn plain_http_servers_and_undeclared_schemes() {
        let text = "openapi: 3.0.0\nservers:\n  - url: http://api.example.test\npaths:\n  /a:\n    get:\n      security:\n        - basic: []\n        - ghost: []\n      responses: {}\ncomponents:\n  securitySchemes:\n    basic:\n      type: http\n      scheme: basic\n";
        let found = ids(text);
        assert!(
            found.contains(&(
                "openapi-credentials-over-http",
                "basic on http://api.example.test".into()
            )),
            "{found:?}"
        );
        assert!(
            found.contains(&("openapi-undeclared-scheme", "GET /a requires ghost".into())),
            "{found:?}"
        );
        assert!(!found.iter().any(|(i, _)| *i == "openapi-scheme-unused"), "{found:?}");
        let silent =
            text.replace("      security:\n        - basic: []\n        - ghost: []\n", "");
        assert!(ids(&silent).contains(&("openapi-operation-without-security", "GET /a".into())));
    }

    #[test]
    fn a_clean_document_has_none() {
        let text = "openapi: 3.1.0\nservers:\n  - url: https://api.example.test\nsecurity:\n  - jwt: []\npaths:\n  /a:\n    get:\n      responses: {}\ncomponents:\n  securitySchemes:\n    jwt:\n      type: http\n      scheme: bearer\n";
        assert_eq!(ids(text), []);
    }
}
