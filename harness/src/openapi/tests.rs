//! The reader against documents of each version with every scheme type,
//! and a valid document full of constructs authbench does not read.

use super::*;

const SWAGGER2: &str = include_str!("../../tests/data/openapi/swagger2.json");
const OPENAPI30: &str = include_str!("../../tests/data/openapi/openapi30.yaml");
const OPENAPI31: &str = include_str!("../../tests/data/openapi/openapi31.json");
const UNSUPPORTED: &str = include_str!("../../tests/data/openapi/unsupported.yaml");

fn op<'a>(d: &'a Document, id: &str) -> &'a Operation {
    d.operations.iter().find(|o| o.id() == id).unwrap_or_else(|| panic!("no operation {id}"))
}

fn kinds(d: &Document) -> Vec<(&str, &SchemeKind)> {
    d.schemes.iter().map(|s| (s.name.as_str(), &s.kind)).collect()
}

#[test]
fn swagger_2_schemes_servers_and_operations() {
    let d = Document::parse(SWAGGER2, "swagger2.json").unwrap();
    assert_eq!(d.version, SpecVersion::Swagger2);
    assert_eq!(d.servers, ["https://api.example.test/v1"]);
    let k = kinds(&d);
    assert_eq!(
        k[0],
        ("basicAuth", &SchemeKind::Http { scheme: "basic".into(), bearer_format: None })
    );
    assert_eq!(
        k[2],
        ("queryKey", &SchemeKind::ApiKey { name: "api_key".into(), location: Location::Query })
    );
    // Swagger's flow names are OpenAPI 3's.
    let flows: Vec<String> = d
        .schemes
        .iter()
        .filter_map(|s| match &s.kind {
            SchemeKind::OAuth2 { flows } => Some(flows[0].name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(flows, ["implicit", "password", "clientCredentials", "authorizationCode"]);
    let get = op(&d, "getOrder");
    assert_eq!(get.parameters[0].example.as_deref(), Some("ord-1"), "a $ref'd path parameter");
    // OR of two requirements, the second an AND of two schemes.
    let reqs = d.requirements(get);
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].0, [("application".to_owned(), vec!["orders:read".to_owned()])]);
    assert_eq!(reqs[1].schemes().collect::<Vec<_>>(), ["basicAuth", "key"]);
    // No own security: the document's applies.
    let delete = op(&d, "DELETE /orders/{orderId}");
    assert!(!delete.is_safe());
    assert_eq!(d.requirements(delete)[0].schemes().collect::<Vec<_>>(), ["key"]);
    assert!(!d.allows_anonymous(delete));
    // `security: []` replaces the document's with nothing: anonymous.
    assert!(d.allows_anonymous(op(&d, "health")));
}

#[test]
fn openapi_3_0_yaml_every_scheme_and_the_anonymous_alternative() {
    let d = Document::parse(OPENAPI30, "openapi30.yaml").unwrap();
    assert_eq!(d.version, SpecVersion::OpenApi30);
    assert_eq!(d.servers, ["https://eu.api.example.test/v1"], "server variables at their defaults");
    let k = kinds(&d);
    assert_eq!(k[0].1, &SchemeKind::Http { scheme: "basic".into(), bearer_format: None });
    assert_eq!(
        k[1].1,
        &SchemeKind::Http { scheme: "bearer".into(), bearer_format: Some("JWT".into()) }
    );
    assert_eq!(
        k[2],
        ("key", &SchemeKind::ApiKey { name: "session".into(), location: Location::Cookie })
    );
    match &d.scheme("oauth").unwrap().kind {
        SchemeKind::OAuth2 { flows } => {
            assert_eq!(flows.len(), 2);
            assert_eq!(flows[0].scopes, ["orders:read", "orders:write"]);
            assert_eq!(
                flows[1].authorization_url.as_deref(),
                Some("https://as.example.test/authorize")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(d.scheme("oidc").unwrap().kind, SchemeKind::OpenIdConnect { .. }));
    // The document's list offers `{}`: anonymous access is allowed.
    let list = op(&d, "listOrders");
    assert!(d.allows_anonymous(list));
    assert_eq!(list.parameters[0].example.as_deref(), Some("10"), "the schema's example");
    // An operation's own list replaces it: no anonymous alternative there.
    let get = op(&d, "getOrder");
    assert!(!d.allows_anonymous(get));
    assert_eq!(
        d.requirements(get)[0].0,
        [("oauth".to_owned(), vec!["orders:read".to_owned()]), ("key".to_owned(), vec![])]
    );
    assert_eq!(get.parameters[0].example.as_deref(), Some("ord-a1"), "a path-level parameter");
    // The line of its `get:` key (the second one: the first is listOrders').
    let gets: Vec<usize> = OPENAPI30
        .lines()
        .enumerate()
        .filter(|(_, l)| *l == "    get:")
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(get.line, gets[1]);
    assert_eq!(list.line, gets[0]);
    assert!(!op(&d, "putOrder").is_safe());
}

#[test]
fn openapi_3_1_json_mutual_tls_and_unknown_types_noted() {
    let d = Document::parse(OPENAPI31, "openapi31.json").unwrap();
    assert_eq!(d.version, SpecVersion::OpenApi31);
    assert_eq!(d.scheme("cert").unwrap().kind, SchemeKind::MutualTls);
    assert!(d.scheme("future").is_none());
    assert!(
        d.notes.iter().any(|n| n.contains("future") && n.contains("somethingNew")),
        "{:?}",
        d.notes
    );
    let service = op(&d, "GET /service/resource");
    assert_eq!(d.requirements(service)[0].schemes().collect::<Vec<_>>(), ["cert"]);
    let layered = op(&d, "layered");
    assert_eq!(d.requirements(layered)[0].schemes().count(), 3, "three schemes, all required");
    // Webhooks are not operations of the API.
    assert_eq!(d.operations.len(), 2);
    let line = OPENAPI31.lines().position(|l| l.contains("\"/layered\"")).unwrap() + 2;
    assert_eq!(layered.line, line);
}

#[test]
fn constructs_authbench_does_not_read_do_not_stop_the_import() {
    let d = Document::parse(UNSUPPORTED, "unsupported.yaml").unwrap();
    // The remote path item is noted, not followed; the other operation stays.
    assert_eq!(d.operations.len(), 1);
    assert_eq!(d.operations[0].id(), "GET /b");
    assert!(d.notes.iter().any(|n| n.contains("/a") && n.contains("outside")), "{:?}", d.notes);
    assert!(d.notes.iter().any(|n| n.contains("common.yaml")), "{:?}", d.notes);
    assert!(d.allows_anonymous(&d.operations[0]), "no security anywhere");
}

#[test]
fn mistakes_name_the_file_and_what_is_wrong() {
    let e = Document::parse("openapi: 4.0.0\n", "x.yaml").unwrap_err().to_string();
    assert!(e.starts_with("x.yaml: ") && e.contains("4.0.0"), "{e}");
    let e = Document::parse("title: nothing\n", "x.yaml").unwrap_err().to_string();
    assert!(e.contains("not an OpenAPI document"), "{e}");
    let e = Document::parse("a: [\n", "x.yaml").unwrap_err();
    assert!(matches!(e, OpenApiError::Syntax { .. }), "{e:?}");
    let e = Document::parse("openapi: 3.0.0\nsecurity: {a: []}\n", "x.yaml").unwrap_err();
    assert!(e.to_string().contains("list of requirements"), "{e}");
    let e = Document::load(Path::new("/nonexistent/openapi.yaml")).unwrap_err();
    assert!(matches!(e, OpenApiError::Read { .. }), "{e:?}");
}
