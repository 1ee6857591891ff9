//! A real framework's generated OpenAPI document through the reader, and
//! the app itself through the per-operation checks: FastAPI (pinned with
//! uvicorn and PyJWT in third-party/fastapi-app/requirements.txt, installed
//! from PyPI into a virtualenv under the target directory) serves the app of
//! third-party/fastapi-app/app.py, one route per security scheme class,
//! every credential verified.
//! What FastAPI writes that a checker must know (verified here):
//! - a public route carries no `security` at all, never `security: []`, so
//!   the document cannot tell it from a forgotten one (a `should` finding);
//! - no `servers`: the document is relative to wherever it is served;
//! - `OAuth2PasswordBearer` declares the password flow, which RFC 9700 §2.4
//!   forbids, and `APIKeyQuery` a key in the query string;
//! - the document is served compact (one line), so its findings point at line 1;
//! - a GET route answers HEAD with 405 and a trailing slash with a 307 to
//!   the route without it (both refusals here: nothing is served).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use authbench::commands::conform::{OpenApiRun, RunOptions, run_against};
use authbench::openapi::lint::lint;
use authbench::openapi::{Document, Location, SchemeKind, SpecVersion};
use authbench_reports::Outcome;

fn app_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../third-party/fastapi-app")
}

/// A virtualenv with the pinned requirements, made once per requirements
/// file (and once per test process: the tests share it).
fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(make_venv).clone()
}

fn make_venv() -> PathBuf {
    use std::hash::{Hash, Hasher};
    let requirements = std::fs::read_to_string(app_dir().join("requirements.txt")).unwrap();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    requirements.hash(&mut hasher);
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fastapi-{:016x}", hasher.finish()));
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
        "pip install -r requirements.txt: {}",
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

/// The app, served by uvicorn on a free loopback port, stopped on drop.
struct Served {
    child: std::process::Child,
    port: u16,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const PASSWORD: &str = "correct horse battery";
const KEY: &str = "fa_key_0123456789abcdefghijklmnop";
const SECRET: &str = "fastapi-hs256-secret-0123456789abcdef";

fn serve() -> Served {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(python())
        .args(["app.py", "serve", &port.to_string()])
        .current_dir(app_dir())
        .env("APP_PASSWORD", PASSWORD)
        .env("APP_API_KEY", KEY)
        .env("APP_JWT_SECRET", SECRET)
        .spawn()
        .unwrap();
    let served = Served { child, port };
    // Ready when it accepts a connection, within a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "uvicorn did not listen on {port} within 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    served
}

/// Every operation of the app checked against its own generated document,
/// fetched over HTTP from the app: every check that runs passes (the app
/// verifies every credential), the POST is skipped, and what fails is the
/// document's own findings.
#[tokio::test]
async fn fastapi_s_app_passes_its_own_document_s_checks() {
    let app = serve();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jwt.key"), SECRET).unwrap();
    let profile = dir.path().join("target.toml");
    std::fs::write(
        &profile,
        format!(
            r#"version = 1
name = "fastapi"
base_url = "http://127.0.0.1:{port}"

[basic]
url = "/basic"
username = "alice"
password = "{PASSWORD}"

[api_key]
url = "/key"
header = "X-API-Key"
key = "{KEY}"

[jwt]
url = "/bearer"
issuer = "https://fastapi.authbench.test"
audience = "authbench-fastapi"
algorithm = "HS256"
signing_key_file = "jwt.key"

[openapi]
spec = "http://127.0.0.1:{port}/openapi.json"
parameters = {{ item_id = "7" }}
"#,
            port = app.port
        ),
    )
    .unwrap();
    let options = RunOptions { openapi: OpenApiRun::Yes(None), ..RunOptions::default() };
    let results = run_against(&profile, Vec::new(), &options).await.unwrap();
    let outcome = |id: &str| {
        results.cases.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("no {id}")).outcome
    };
    for c in results.cases.iter().filter(|c| !c.id.starts_with("openapi::document::")) {
        let expected = if c.id.starts_with("openapi::createItem::") {
            Outcome::Skip
        } else if c.id.contains("::scheme-confusion-") && c.outcome == Outcome::Skip {
            // Three bearer schemes look alike on the wire.
            continue;
        } else {
            Outcome::Pass
        };
        assert_eq!(c.outcome, expected, "{}: {:?} {}", c.id, c.reason, c.observed);
    }
    for id in [
        "openapi::readItem::control",
        "openapi::readItem::OAuth2PasswordBearer-without-items:read",
        "openapi::readItem::invalid-OAuth2PasswordBearer",
        "openapi::with_query_key_query_key_get::APIKeyQuery-in-header",
        "openapi::with_basic_basic_get::scheme-confusion-APIKeyHeader",
        "openapi::profile_profile_get::invalid-OpenIdConnect",
        "openapi::public_public_get::public",
    ] {
        assert_eq!(outcome(id), Outcome::Pass, "{id}");
    }
    assert_eq!(outcome("openapi::document::password-flow::OAuth2PasswordBearer"), Outcome::Fail);
    assert_eq!(outcome("openapi::document::api-key-in-query::APIKeyQuery"), Outcome::Warn);
    assert_eq!(
        outcome("openapi::document::operation-without-security::public_public_get"),
        Outcome::Warn
    );
}
