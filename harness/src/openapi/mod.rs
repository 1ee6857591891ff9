//! OpenAPI documents, read for what authentication needs and nothing else:
//! the servers, every operation (path × method) with its path-level and own
//! parameters, root and operation `security`, the security schemes, and
//! local `$ref`s. Swagger 2.0 (`securityDefinitions`) and OpenAPI 3.0, 3.1
//! and 3.2, YAML or JSON.
//!
//! A reader of our own over a tree of the document, not a typed model: the
//! published crates each refuse some valid documents (openapiv3 has no
//! `mutualTLS`; oas3 refuses a 3.0 `exclusiveMinimum: true`), and a schema
//! construct authbench never reads must not stop a run. Unknown members are
//! ignored; what cannot be used is recorded in [`Document::notes`].

pub mod lint;
pub mod plan;
mod security;
mod tree;

use std::path::Path;

pub use security::{
    Flow, HTTP_BASIC, HTTP_BEARER, Location, Requirement, SchemeKind, SecurityScheme,
};
pub use tree::Tree;

/// Why a document cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenApiError {
    /// The file cannot be read.
    #[error("{origin}: cannot read it: {reason}")]
    Read {
        /// The file.
        origin: String,
        /// Why.
        reason: String,
    },
    /// Neither YAML nor JSON.
    #[error("{origin}: not YAML or JSON: {reason}")]
    Syntax {
        /// The file.
        origin: String,
        /// Where and why.
        reason: String,
    },
    /// YAML or JSON, but not an OpenAPI document authbench can read.
    #[error("{origin}: {reason}")]
    Invalid {
        /// The file.
        origin: String,
        /// What is wrong.
        reason: String,
    },
}

/// Which specification the document follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecVersion {
    /// Swagger 2.0.
    Swagger2,
    /// OpenAPI 3.0.x.
    OpenApi30,
    /// OpenAPI 3.1.x.
    OpenApi31,
    /// OpenAPI 3.2.x.
    OpenApi32,
}

/// The HTTP methods an operation may have (a path item's fixed fields).
pub const METHODS: &[&str] =
    &["get", "put", "post", "delete", "options", "head", "patch", "trace", "query"];

/// Methods that change nothing (RFC 9110 §9.2.1): the only ones sent unless
/// the profile allows the others.
pub const SAFE_METHODS: &[&str] = &["GET", "HEAD", "OPTIONS", "QUERY"];

/// A parameter of an operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// Its name.
    pub name: String,
    /// `path`, `query`, `header` or `cookie`.
    pub location: String,
    /// Whether the operation needs it.
    pub required: bool,
    /// The document's example, if it gives one (`example`, the first of
    /// `examples`, or the schema's `example` / `default` / first `enum`).
    pub example: Option<String>,
}

/// One operation: a method on a path.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Upper case: `GET`, `POST`, …
    pub method: String,
    /// The path template, as the document writes it (`/orders/{orderId}`).
    pub path: String,
    /// `operationId`, when given.
    pub operation_id: Option<String>,
    /// Its own `security`, when it has one (it replaces the document's).
    pub security: Option<Vec<Requirement>>,
    /// Path-level and operation parameters (the operation's win by name and location).
    pub parameters: Vec<Parameter>,
    /// Its own server URLs (the operation's or its path's `servers`); empty
    /// when the document's apply.
    pub servers: Vec<String>,
    /// The line of the operation in the document.
    pub line: usize,
}

impl Operation {
    /// How case ids name it: its `operationId`, else `METHOD /path`.
    pub fn id(&self) -> String {
        self.operation_id.clone().unwrap_or_else(|| format!("{} {}", self.method, self.path))
    }

    /// Whether the method changes nothing.
    pub fn is_safe(&self) -> bool {
        SAFE_METHODS.contains(&self.method.as_str())
    }
}

/// A document, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The specification it follows.
    pub version: SpecVersion,
    /// Server URLs (variables replaced by their defaults; Swagger's
    /// `schemes`, `host` and `basePath` combined).
    pub servers: Vec<String>,
    /// The security schemes, by name, in document order.
    pub schemes: Vec<SecurityScheme>,
    /// The document's `security`, when it has one.
    pub security: Option<Vec<Requirement>>,
    /// Every operation, in document order.
    pub operations: Vec<Operation>,
    /// What was found and not used, for the report (a remote `$ref`, a
    /// scheme of an unknown type).
    pub notes: Vec<String>,
}

impl Document {
    /// Reads the document at `path`.
    pub fn load(path: &Path) -> Result<Document, OpenApiError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| OpenApiError::Read { origin: origin.clone(), reason: e.to_string() })?;
        Document::parse(&text, &origin)
    }

    /// Reads `text`, naming `origin` in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Document, OpenApiError> {
        let root = Tree::parse(text)
            .map_err(|reason| OpenApiError::Syntax { origin: origin.to_owned(), reason })?;
        let invalid = |reason: String| OpenApiError::Invalid { origin: origin.to_owned(), reason };
        let version = match (root.str("swagger"), root.str("openapi")) {
            (Some(v), _) if v.starts_with("2.") => SpecVersion::Swagger2,
            (_, Some(v)) if v.starts_with("3.0") => SpecVersion::OpenApi30,
            (_, Some(v)) if v.starts_with("3.1") => SpecVersion::OpenApi31,
            (_, Some(v)) if v.starts_with("3.2") => SpecVersion::OpenApi32,
            (Some(v), _) | (_, Some(v)) => {
                return Err(invalid(format!(
                    "version {v} is not one authbench reads (Swagger 2.0, OpenAPI 3.0, 3.1, 3.2)"
                )));
            }
            (None, None) => {
                return Err(invalid(
                    "no `openapi` or `swagger` field: not an OpenAPI document".to_owned(),
                ));
            }
        };
        let mut notes = Vec::new();
        let schemes = security::schemes(&root, version, &mut notes).map_err(invalid)?;
        let security =
            root.get("security").map(security::requirements).transpose().map_err(invalid)?;
        let operations = operations(&root, &mut notes).map_err(invalid)?;
        Ok(Document {
            version,
            servers: servers(&root, version),
            schemes,
            security,
            operations,
            notes,
        })
    }

    /// The scheme named `name`.
    pub fn scheme(&self, name: &str) -> Option<&SecurityScheme> {
        self.schemes.iter().find(|s| s.name == name)
    }

    /// The requirements that apply to `operation`: its own `security` when
    /// it has one (even empty), else the document's. A list is OR: any one
    /// requirement suffices; the schemes inside one are AND. No requirement
    /// at all, or an empty one (`{}`), means anonymous access is allowed.
    pub fn requirements<'a>(&'a self, operation: &'a Operation) -> &'a [Requirement] {
        operation.security.as_deref().or(self.security.as_deref()).unwrap_or(&[])
    }

    /// Where `operation` is served: its own servers, else the document's.
    pub fn servers_of<'a>(&'a self, operation: &'a Operation) -> &'a [String] {
        if operation.servers.is_empty() { &self.servers } else { &operation.servers }
    }

    /// Whether `operation` may be called without credentials.
    pub fn allows_anonymous(&self, operation: &Operation) -> bool {
        let requirements = self.requirements(operation);
        requirements.is_empty() || requirements.iter().any(Requirement::is_anonymous)
    }
}

/// Server URLs: OpenAPI 3's `servers` (variables at their defaults), or
/// Swagger 2.0's `schemes` × `host` + `basePath`.
fn servers(root: &Tree, version: SpecVersion) -> Vec<String> {
    if version != SpecVersion::Swagger2 {
        return server_list(root.get("servers"));
    }
    let Some(host) = root.str("host") else { return Vec::new() };
    let base = root.str("basePath").unwrap_or("");
    let schemes: Vec<&str> = root
        .get("schemes")
        .map_or_else(|| vec!["https"], |s| s.items().iter().filter_map(Tree::text).collect());
    schemes.iter().map(|s| format!("{s}://{host}{base}")).collect()
}

/// A `servers` list's URLs, variables at their defaults.
fn server_list(list: Option<&Tree>) -> Vec<String> {
    list.map(Tree::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|server| {
            let mut url = server.str("url")?.to_owned();
            if let Some(vars) = server.get("variables") {
                for (name, var) in vars.members() {
                    if let Some(default) = var.str("default") {
                        url = url.replace(&format!("{{{name}}}"), default);
                    }
                }
            }
            Some(url)
        })
        .collect()
}

/// Every operation of every path item, in document order.
fn operations(root: &Tree, notes: &mut Vec<String>) -> Result<Vec<Operation>, String> {
    let mut out = Vec::new();
    let Some(paths) = root.get("paths") else { return Ok(out) };
    for (path, item) in paths.members() {
        let item = match item.deref(root) {
            Ok(item) => item,
            Err(e) => {
                notes.push(format!("{path}: {e}; its operations are not checked"));
                continue;
            }
        };
        let shared = parameters(root, item.get("parameters"), notes);
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let mut params = shared.clone();
            for p in parameters(root, op.get("parameters"), notes) {
                params.retain(|q| !(q.name == p.name && q.location == p.location));
                params.push(p);
            }
            out.push(Operation {
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                operation_id: op.str("operationId").map(str::to_owned),
                security: op.get("security").map(security::requirements).transpose()?,
                parameters: params,
                servers: match server_list(op.get("servers")) {
                    own if !own.is_empty() => own,
                    _ => server_list(item.get("servers")),
                },
                line: op.line(),
            });
        }
    }
    Ok(out)
}

fn parameters(root: &Tree, list: Option<&Tree>, notes: &mut Vec<String>) -> Vec<Parameter> {
    let mut out = Vec::new();
    for p in list.map(Tree::items).unwrap_or_default() {
        let p = match p.deref(root) {
            Ok(p) => p,
            Err(e) => {
                notes.push(e);
                continue;
            }
        };
        let (Some(name), Some(location)) = (p.str("name"), p.str("in")) else { continue };
        let schema = p.get("schema").and_then(|s| s.deref(root).ok());
        let example = p
            .str("example")
            .or_else(|| p.get("examples")?.members().first()?.1.deref(root).ok()?.str("value"))
            .or_else(|| schema?.str("example"))
            .or_else(|| schema?.str("default"))
            .or_else(|| schema?.get("enum")?.items().first()?.text())
            .or_else(|| p.str("default"))
            .map(str::to_owned);
        out.push(Parameter {
            name: name.to_owned(),
            location: location.to_owned(),
            required: p.bool("required").unwrap_or(location == "path"),
            example,
        });
    }
    out
}

#[cfg(test)]
mod tests;
