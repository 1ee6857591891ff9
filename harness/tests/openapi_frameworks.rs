//! A real framework's generated OpenAPI document through the reader:
//! FastAPI (pinned in third-party/fastapi-app/requirements.txt, installed
//! from PyPI into a virtualenv under the target directory) declares the app
//! of third-party/fastapi-app/app.py, one route per security scheme class.
//! What FastAPI writes that a checker must know (verified here):
//! - a public route carries no `security` at all, never `security: []`, so
//!   the document cannot tell it from a forgotten one (a `should` finding);
//! - no `servers`: the document is relative to wherever it is served;
//! - `OAuth2PasswordBearer` declares the password flow, which RFC 9700 §2.4
//!   forbids, and `APIKeyQuery` a key in the query string.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use authbench::openapi::lint::lint;
use authbench::openapi::{Document, Location, SchemeKind, SpecVersion};

fn app_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../third-party/fastapi-app")
}

/// A virtualenv with the pinned FastAPI, made once per pin.
fn python() -> PathBuf {
    let requirements = std::fs::read_to_string(app_dir().join("requirements.txt")).unwrap();
    let pin = requirements
        .lines()
        .find_map(|l| l.strip_prefix("fastapi=="))
        .expect("requirements.txt pins fastapi")
        .trim()
        .to_owned();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fastapi-{pin}"));
    let bin = dir.join("bin/python");
    if dir.join("installed").is_file() {
        return bin;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let ok = Command::new("python3").args(["-m", "venv"]).arg(&dir).status().unwrap().success();
    assert!(ok, "python3 -m venv failed: the test needs python3 with venv and pip");
    let out = Command::new(dir.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(app_dir().join("requirements.txt"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pip install fastapi=={pin}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(dir.join("installed"), "").unwrap();
    bin
}

#[test]
fn fastapi_s_generated_document_is_read_as_fastapi_means_it() {
    let out = Command::new(python()).arg("app.py").current_dir(app_dir()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let doc = Document::parse(&text, "fastapi").unwrap();
    assert_eq!(doc.version, SpecVersion::OpenApi31);
    assert!(doc.notes.is_empty(), "{:?}", doc.notes);
    assert!(doc.servers.is_empty());

    let kind = |name: &str| &doc.scheme(name).unwrap().kind;
    assert_eq!(
        kind("HTTPBasic"),
        &SchemeKind::Http { scheme: "basic".into(), bearer_format: None }
    );
    assert_eq!(
        kind("APIKeyHeader"),
        &SchemeKind::ApiKey { name: "X-API-Key".into(), location: Location::Header }
    );
    assert_eq!(
        kind("APIKeyQuery"),
        &SchemeKind::ApiKey { name: "api_key".into(), location: Location::Query }
    );
    assert_eq!(
        kind("HTTPBearer"),
        &SchemeKind::Http { scheme: "bearer".into(), bearer_format: Some("JWT".into()) }
    );
    assert!(
        matches!(kind("OAuth2PasswordBearer"), SchemeKind::OAuth2 { flows } if flows[0].name == "password")
    );
    assert!(matches!(kind("OpenIdConnect"), SchemeKind::OpenIdConnect { .. }));

    let op = |id: &str| doc.operations.iter().find(|o| o.id() == id).unwrap();
    let read = op("readItem");
    assert_eq!(read.path, "/items/{item_id}");
    assert_eq!(
        doc.requirements(read)[0].0,
        [("OAuth2PasswordBearer".to_owned(), vec!["items:read".to_owned()])]
    );
    assert!(!op("createItem").is_safe());
    let public = doc.operations.iter().find(|o| o.path == "/public").unwrap();
    assert!(doc.allows_anonymous(public));
    assert!(public.security.is_none(), "FastAPI writes no `security: []` for a public route");

    let found: Vec<(&str, String)> = lint(&doc).into_iter().map(|f| (f.id, f.subject)).collect();
    assert!(found.contains(&("openapi-password-flow", "OAuth2PasswordBearer".into())), "{found:?}");
    assert!(found.contains(&("openapi-api-key-in-query", "APIKeyQuery".into())), "{found:?}");
    assert!(found.contains(&("openapi-operation-without-security", public.id())), "{found:?}");
    assert!(!found.iter().any(|(id, _)| *id == "openapi-scheme-unused"), "{found:?}");
}
