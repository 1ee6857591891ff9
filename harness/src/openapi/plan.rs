//! The checks an OpenAPI document calls for, operation by operation, before
//! anything is sent: which cases a run has (`openapi::<operation>::<check>`),
//! and for each one it cannot run, why. The matrix of a report is this plan
//! with the verdicts filled in; the engine runs the planned cases.

use std::collections::BTreeMap;

use super::{Document, HTTP_BEARER, Location, Operation, SchemeKind};

/// A path variant a middleware may route around (a protected operation
/// must not be served through it without credentials).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `HEAD` instead of `GET`.
    Head,
    /// The path with a trailing `/`.
    TrailingSlash,
    /// The path's letters in the other case.
    CaseChanged,
    /// The path's first `/`-separated segment percent-encoded.
    EncodedPath,
    /// `//` for the first `/`.
    DoubleSlash,
}

impl Variant {
    /// Every variant.
    pub const ALL: [Variant; 5] = [
        Variant::Head,
        Variant::TrailingSlash,
        Variant::CaseChanged,
        Variant::EncodedPath,
        Variant::DoubleSlash,
    ];

    /// Its name in case ids.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Head => "head",
            Variant::TrailingSlash => "trailing-slash",
            Variant::CaseChanged => "case-changed",
            Variant::EncodedPath => "encoded-path",
            Variant::DoubleSlash => "double-slash",
        }
    }
}

/// One check of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The profile's credentials for the operation's first requirement are
    /// accepted: every refusal check of the operation rests on it.
    Control,
    /// No credentials: refused.
    NoCredentials,
    /// Each invalid credential of `scheme` (the forge's mutations): refused.
    Invalid {
        /// The scheme.
        scheme: String,
    },
    /// A valid credential of a scheme the operation does not accept: refused.
    SchemeConfusion {
        /// The scheme it does not accept.
        scheme: String,
    },
    /// An API key of `scheme` where the document does not put it: refused.
    KeyElsewhere {
        /// The scheme.
        scheme: String,
        /// Where it is sent instead.
        location: Location,
    },
    /// One scheme of a requirement that needs several, alone: refused.
    Alone {
        /// The scheme sent alone.
        scheme: String,
    },
    /// Requirement `index` of several alternatives, alone: accepted.
    Alternative {
        /// Its index in the list.
        index: usize,
    },
    /// A token with every required scope of `scheme` but `scope`: 403
    /// `insufficient_scope` naming it (RFC 6750 §3.1).
    InsufficientScope {
        /// The scheme.
        scheme: String,
        /// The scope left out.
        scope: String,
    },
    /// The path variant, without credentials: not served.
    Variant(Variant),
    /// Function-level authorization (OWASP API5:2023): `identity`, without
    /// a scope every requirement needs, refused.
    FunctionOf {
        /// The identity.
        identity: String,
    },
    /// Object-level authorization (OWASP API1:2023): `identity`'s objects
    /// (its `owns` values in the path) refused to the profile's credentials,
    /// and the profile's objects refused to `identity`'s.
    OtherUsersObject {
        /// The other identity.
        identity: String,
    },
    /// An operation declared public answers without credentials.
    Public,
}

impl Check {
    /// The check's name in a case id.
    pub fn name(&self) -> String {
        match self {
            Check::Control => "control".to_owned(),
            Check::NoCredentials => "no-credentials".to_owned(),
            Check::Invalid { scheme } => format!("invalid-{scheme}"),
            Check::SchemeConfusion { scheme } => format!("scheme-confusion-{scheme}"),
            Check::KeyElsewhere { scheme, location } => {
                format!("{scheme}-in-{}", location_name(*location))
            }
            Check::Alone { scheme } => format!("{scheme}-alone"),
            Check::Alternative { index } => format!("alternative-{}", index + 1),
            Check::InsufficientScope { scheme, scope } => {
                format!("{scheme}-without-{scope}")
            }
            Check::Variant(v) => format!("{}-without-credentials", v.name()),
            Check::OtherUsersObject { identity } => format!("objects-of-{identity}"),
            Check::FunctionOf { identity } => format!("function-of-{identity}"),
            Check::Public => "public".to_owned(),
        }
    }
}

fn location_name(location: Location) -> &'static str {
    match location {
        Location::Header => "header",
        Location::Query => "query",
        Location::Cookie => "cookie",
    }
}

/// What a run is asked to cover.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Send POST, PUT, PATCH, DELETE (and other unsafe methods) too.
    pub unsafe_methods: bool,
    /// Values for path parameters, by name (else the document's examples).
    pub parameters: BTreeMap<String, String>,
    /// Other identities.
    pub identities: Vec<Principal>,
}

/// Another identity, as the plan needs it.
#[derive(Debug, Clone, Default)]
pub struct Principal {
    /// Its name in case ids.
    pub name: String,
    /// Path parameter values naming objects only it may use.
    pub owns: BTreeMap<String, String>,
    /// The scopes it holds, when the profile declares them.
    pub scopes: Option<Vec<String>>,
}

/// A planned case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// `openapi::<operation>::<check>`.
    pub id: String,
    /// The operation's index in [`Document::operations`].
    pub operation: usize,
    /// The check.
    pub check: Check,
    /// The path with its parameters filled in, when they all have values.
    pub path: Option<String>,
    /// Why it cannot run, when it cannot.
    pub skip: Option<String>,
}

/// The path of `op` with every `{parameter}` replaced, or the first one
/// without a value.
fn fill(op: &Operation, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = op.path.as_str();
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map(|c| open + c).ok_or_else(|| op.path.clone())?;
        let name = &rest[open + 1..close];
        let value = values
            .get(name)
            .cloned()
            .or_else(|| {
                op.parameters
                    .iter()
                    .find(|p| p.name == name && p.location == "path")
                    .and_then(|p| p.example.clone())
            })
            .ok_or_else(|| name.to_owned())?;
        out.push_str(&rest[..open]);
        out.push_str(&value);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The checks of every operation `include` accepts, in document order.
pub fn plan(
    doc: &Document,
    options: &Options,
    include: &dyn Fn(&Operation) -> bool,
) -> Vec<Planned> {
    let mut out = Vec::new();
    for (index, op) in doc.operations.iter().enumerate() {
        if !include(op) {
            continue;
        }
        let path = fill(op, &options.parameters);
        let skip = match (&path, op.is_safe() || options.unsafe_methods) {
            (_, false) => Some(format!(
                "{} changes state: set [openapi] unsafe_methods = true to send it",
                op.method
            )),
            (Err(name), true) => Some(format!(
                "no value for path parameter `{name}`: give [openapi] parameters = {{ {name} = \"…\" }} or an example in the document"
            )),
            (Ok(_), true) => None,
        };
        let mut add = |check: Check| {
            out.push(Planned {
                id: format!("openapi::{}::{}", op.id(), check.name()),
                operation: index,
                check,
                path: path.clone().ok(),
                skip: skip.clone(),
            });
        };
        if doc.allows_anonymous(op) {
            add(Check::Public);
            continue;
        }
        let requirements = doc.requirements(op);
        add(Check::Control);
        add(Check::NoCredentials);
        let accepted: Vec<&str> = requirements.iter().flat_map(|r| r.schemes()).collect();
        let mut seen: Vec<&str> = Vec::new();
        for name in &accepted {
            if seen.contains(name) {
                continue;
            }
            seen.push(name);
            add(Check::Invalid { scheme: (*name).to_owned() });
            if let Some(SchemeKind::ApiKey { location, .. }) = doc.scheme(name).map(|s| &s.kind) {
                for other in [Location::Header, Location::Query, Location::Cookie] {
                    if other != *location {
                        add(Check::KeyElsewhere { scheme: (*name).to_owned(), location: other });
                    }
                }
            }
        }
        for scheme in &doc.schemes {
            if !accepted.contains(&scheme.name.as_str()) {
                add(Check::SchemeConfusion { scheme: scheme.name.clone() });
            }
        }
        for requirement in requirements {
            if requirement.0.len() > 1 {
                for name in requirement.schemes() {
                    add(Check::Alone { scheme: name.to_owned() });
                }
            }
            for (name, scopes) in &requirement.0 {
                // OAuth 2.0 and OpenID Connect scopes; and a bearer scheme's
                // roles (OpenAPI 3.1), which for a token are its scopes.
                let scoped = match doc.scheme(name).map(|s| &s.kind) {
                    Some(SchemeKind::OAuth2 { .. } | SchemeKind::OpenIdConnect { .. }) => true,
                    Some(SchemeKind::Http { scheme, .. }) => scheme == HTTP_BEARER,
                    _ => false,
                };
                if scoped {
                    for scope in scopes {
                        add(Check::InsufficientScope {
                            scheme: name.clone(),
                            scope: scope.clone(),
                        });
                    }
                }
            }
        }
        if requirements.len() > 1 {
            for i in 0..requirements.len() {
                add(Check::Alternative { index: i });
            }
        }
        for variant in Variant::ALL {
            if variant != Variant::Head || op.method == "GET" {
                add(Check::Variant(variant));
            }
        }
        // An identity's objects, where the path names one of them.
        let in_path = |name: &String| op.path.contains(&format!("{{{name}}}"));
        for p in &options.identities {
            if p.owns.keys().any(in_path) {
                add(Check::OtherUsersObject { identity: p.name.clone() });
            }
            // Every requirement needs a scope the identity lacks.
            let lacks = |r: &super::Requirement| {
                r.0.iter().any(|(_, needed)| {
                    needed.iter().any(|n| p.scopes.as_ref().is_some_and(|held| !held.contains(n)))
                })
            };
            if p.scopes.is_some() && requirements.iter().all(lacks) {
                add(Check::FunctionOf { identity: p.name.clone() });
            }
        }
    }
    out
}

/// `op`'s path filled with `owns` first, then `values` and the examples.
pub fn fill_with(
    op: &Operation,
    owns: &BTreeMap<String, String>,
    values: &BTreeMap<String, String>,
) -> Option<String> {
    let mut merged = values.clone();
    merged.extend(owns.iter().map(|(k, v)| (k.clone(), v.clone())));
    fill(op, &merged).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(doc: &Document, options: &Options) -> Vec<String> {
        plan(doc, options, &|_| true).into_iter().map(|p| p.id).collect()
    }

    #[test]
    fn an_operation_with_two_alternatives_and_an_and() {
        let doc =
            Document::parse(include_str!("../../tests/data/openapi/swagger2.json"), "s").unwrap();
        let ids = ids(&doc, &Options::default());
        let get: Vec<&str> = ids
            .iter()
            .filter(|i| i.starts_with("openapi::getOrder::"))
            .map(String::as_str)
            .collect();
        for expected in [
            "openapi::getOrder::control",
            "openapi::getOrder::no-credentials",
            "openapi::getOrder::invalid-application",
            "openapi::getOrder::invalid-basicAuth",
            "openapi::getOrder::key-in-query",
            "openapi::getOrder::key-in-cookie",
            "openapi::getOrder::scheme-confusion-queryKey",
            "openapi::getOrder::basicAuth-alone",
            "openapi::getOrder::key-alone",
            "openapi::getOrder::application-without-orders:read",
            "openapi::getOrder::alternative-1",
            "openapi::getOrder::alternative-2",
            "openapi::getOrder::head-without-credentials",
            "openapi::getOrder::double-slash-without-credentials",
        ] {
            assert!(get.contains(&expected), "{expected} in {get:?}");
        }
        assert!(!get.iter().any(|i| i.contains("scheme-confusion-key")), "key is accepted");
        // A public operation is one check.
        assert_eq!(
            ids.iter().filter(|i| i.starts_with("openapi::health::")).collect::<Vec<_>>(),
            ["openapi::health::public"]
        );
    }

    #[test]
    fn unsafe_methods_and_missing_parameters_skip_with_the_reason() {
        let doc =
            Document::parse(include_str!("../../tests/data/openapi/swagger2.json"), "s").unwrap();
        let planned = plan(&doc, &Options::default(), &|_| true);
        let delete = planned
            .iter()
            .find(|p| p.id.starts_with("openapi::DELETE /orders/{orderId}::"))
            .unwrap();
        assert!(delete.skip.as_deref().unwrap().contains("unsafe_methods"), "{delete:?}");
        let get = planned.iter().find(|p| p.id == "openapi::getOrder::control").unwrap();
        assert_eq!((get.path.as_deref(), get.skip.as_deref()), (Some("/orders/ord-1"), None));
        let allowed = Options { unsafe_methods: true, ..Options::default() };
        assert!(plan(&doc, &allowed, &|_| true).iter().all(|p| p.skip.is_none()));
        // A parameter without example or value skips, naming it; a value fills it.
        let text = "openapi: 3.0.0\npaths:\n  /u/{id}:\n    get:\n      security: [{k: []}]\n      responses: {}\ncomponents:\n  securitySchemes:\n    k: {type: apiKey, name: K, in: header}\n";
        let doc = Document::parse(text, "t").unwrap();
        let p = plan(&doc, &Options::default(), &|_| true);
        assert!(p[0].skip.as_deref().unwrap().contains("`id`"), "{:?}", p[0]);
        let values =
            Options { parameters: [("id".into(), "7".into())].into(), ..Options::default() };
        let p = plan(&doc, &values, &|_| true);
        assert_eq!((p[0].path.as_deref(), p[0].skip.as_deref()), (Some("/u/7"), None));
    }

    #[test]
    fn only_the_operations_asked_for() {
        let doc =
            Document::parse(include_str!("../../tests/data/openapi/swagger2.json"), "s").unwrap();
        let planned = plan(&doc, &Options::default(), &|op| op.id() == "health");
        assert_eq!(planned.len(), 1);
    }
}
