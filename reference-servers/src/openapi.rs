//! The reference servers' own OpenAPI 3.1 document: every operation a
//! client calls, with the security each requires, so that a checker reading
//! the document sees the API the servers serve. Served at `/openapi.json`
//! and written to the state folder (`openapi.json`).
//!
//! Resources accept any method; the document declares `GET`, the method a
//! client reads with. The admin API is declared with its real methods (all
//! unsafe: they create and revoke credentials). The mTLS listener's paths
//! carry their own `servers`.

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value, json};

use crate::app::paths;

/// The file the document is written to, in the state folder.
pub const FILE: &str = "openapi.json";

/// Where it is served.
pub const PATH: &str = "/openapi.json";

/// The schemes whose profile section is not the default for their type:
/// the layered resource's three layers are its own section's credentials,
/// and the admin token is none of the profile's.
pub const SECTIONS: [(&str, &str); 4] = [
    ("layeredCertificate", "layered"),
    ("layeredKey", "layered"),
    ("layeredToken", "layered"),
    ("adminToken", "none"),
];

/// The profile's `[openapi]`: this document, the schemes the defaults do
/// not cover, and two more users — bob, who owns an order, and carol, who
/// holds no scope, so every scoped operation must refuse her.
pub fn profile_section() -> crate::profile::OpenApiSection {
    use crate::profile::{IdentityJwt, OpenApiIdentity};
    let user = |name: &str, owns: Option<&str>, scopes: Option<Vec<String>>| OpenApiIdentity {
        name: name.to_owned(),
        jwt: IdentityJwt { subject: name.to_owned() },
        owns: owns.map(|o| ("orderId".to_owned(), o.to_owned())).into_iter().collect(),
        scopes,
    };
    crate::profile::OpenApiSection {
        spec: FILE.to_owned(),
        schemes: SECTIONS
            .iter()
            .map(|(s, section)| ((*s).to_owned(), (*section).to_owned()))
            .collect(),
        identities: vec![
            user(crate::orders::OTHER_USER, Some(crate::orders::paths::ORDERS[1]), None),
            user("carol", None, Some(Vec::new())),
        ],
    }
}

/// The scopes OAuth tokens and JWTs carry here.
const SCOPES: [(&str, &str); 2] =
    [("read", "read the resources"), ("write", "the privileged resources")];

fn get(id: &str, summary: &str, security: Value) -> Value {
    json!({
        "get": {
            "operationId": id,
            "summary": summary,
            "security": security,
            "responses": {
                "200": { "description": "the resource" },
                "401": { "description": "no credential, or one that is refused" },
                "403": { "description": "a credential without the required scope or permission" }
            }
        }
    })
}

fn admin(method: &str, id: &str, summary: &str, parameter: Option<(&str, &str)>) -> Value {
    let mut op = json!({
        "operationId": id,
        "summary": summary,
        "security": [{ "adminToken": [] }],
        "responses": { "200": { "description": "done" }, "401": { "description": "no admin token" } }
    });
    if let Some((name, example)) = parameter {
        op["parameters"] = json!([{ "name": name, "in": "path", "required": true, "schema": { "type": "string" }, "example": example }]);
    }
    json!({ method: op })
}

/// A path item with the `orderId` path parameter.
fn with_order(mut item: Value) -> Value {
    item["parameters"] = json!([{
        "name": "orderId",
        "in": "path",
        "required": true,
        "schema": { "type": "string" },
        "example": crate::orders::paths::ORDERS[0]
    }]);
    item
}

fn on(server: &str, mut item: Value) -> Value {
    item["servers"] = json!([{ "url": server }]);
    item
}

/// The document for servers listening at `base_url` and `mtls_base_url`.
pub fn document(base_url: &str, mtls_base_url: &str, algorithms: &[Algorithm]) -> Value {
    let mut p = Map::new();
    let mut add = |path: &str, item: Value| {
        p.insert(path.to_owned(), item);
    };
    add(paths::BASELINE, get("baseline", "the unauthenticated baseline", json!([])));
    add(PATH, get("openapi", "this document", json!([])));
    add(paths::BASIC, get("basic", "Basic, argon2id on every request", json!([{ "basic": [] }])));
    add(
        paths::BASIC_CACHED,
        get("basicCached", "Basic behind a verified-credential cache", json!([{ "basic": [] }])),
    );
    add(paths::API_KEY, get("apiKey", "an API key with scope read", json!([{ "apiKey": [] }])));
    add(
        paths::API_KEY_PRIVILEGED,
        get("apiKeyPrivileged", "an API key with scope write", json!([{ "apiKey": ["write"] }])),
    );
    for alg in algorithms {
        let name = crate::jwt::verify::alg_name(*alg).to_ascii_lowercase();
        add(
            &paths::jwt_resource(*alg),
            get(
                &format!("jwt{}", name.to_ascii_uppercase()),
                "a JWT with scope read",
                json!([{ "jwt": ["read"] }]),
            ),
        );
    }
    add(
        paths::JWT_REVOCABLE,
        get("jwtRevocable", "a JWT checked against the jti denylist", json!([{ "jwt": ["read"] }])),
    );
    add(
        paths::JWT_PRIVILEGED,
        get("jwtPrivileged", "a JWT with scope write", json!([{ "jwt": ["write"] }])),
    );
    add(paths::JWT_JWKS, get("jwks", "the JWT servers' public keys", json!([])));
    add(
        "/orders/{orderId}",
        with_order(get(
            "getOrder",
            "an order, to a JWT with scope read",
            json!([{ "jwt": ["read"] }]),
        )),
    );
    add(
        "/orders/{orderId}/invoice",
        with_order(get(
            "getInvoice",
            "an order's invoice, to an application's API key and a user's JWT together",
            json!([{ "apiKey": [], "jwt": ["read"] }]),
        )),
    );
    add(
        crate::oauth::paths::RESOURCE,
        get(
            "oauthResource",
            "an OAuth access token with scope read",
            json!([{ "oauth2": ["read"] }]),
        ),
    );
    add(
        crate::oauth::paths::PRIVILEGED,
        get(
            "oauthPrivileged",
            "an OAuth access token with scope write",
            json!([{ "oauth2": ["write"] }]),
        ),
    );
    add(crate::oauth::paths::METADATA, get("oauthMetadata", "RFC 8414 metadata", json!([])));
    let admin_path = |rest: &str| format!("{}{rest}", paths::ADMIN);
    add(&admin_path("/users"), admin("post", "createUser", "create a user", None));
    add(
        &admin_path("/users/{username}/password"),
        admin("put", "setPassword", "change a user's password", Some(("username", "alice"))),
    );
    let mut keys = admin("post", "createApiKey", "create an API key", None);
    keys["get"] = admin("get", "listApiKeys", "list the API keys", None)["get"].take();
    add(&admin_path("/api-keys"), keys);
    add(
        &admin_path("/api-keys/{id}/revoke"),
        admin("post", "revokeApiKey", "revoke an API key", Some(("id", "1"))),
    );
    add(
        &admin_path("/api-keys/{id}/allowed-sources"),
        admin(
            "put",
            "setApiKeyAllowedSources",
            "set the addresses an API key may be used from",
            Some(("id", "1")),
        ),
    );
    add(
        &admin_path("/api-keys/{id}/usage"),
        admin(
            "get",
            "apiKeyUsage",
            "an API key's use count, last use and refusals",
            Some(("id", "1")),
        ),
    );
    add(
        &admin_path("/jwt/revocations"),
        admin("post", "revokeJti", "revoke a JWT by its jti", None),
    );
    add(
        &admin_path("/mtls/revocations"),
        admin("post", "revokeCertificate", "revoke a client certificate", None),
    );
    add(
        crate::mtls::paths::RESOURCE,
        on(
            mtls_base_url,
            get("mtls", "a client certificate", json!([{ "clientCertificate": [] }])),
        ),
    );
    add(
        crate::mtls::paths::WHOAMI,
        on(
            mtls_base_url,
            get(
                "mtlsWhoami",
                "the identity a certificate maps to",
                json!([{ "clientCertificate": [] }]),
            ),
        ),
    );
    add(
        crate::layered::paths::RESOURCE,
        on(
            mtls_base_url,
            get(
                "layered",
                "a service's certificate, its application's key and a user's token, all three",
                json!([{ "layeredCertificate": [], "layeredKey": [], "layeredToken": ["read"] }]),
            ),
        ),
    );
    let scopes: Map<String, Value> =
        SCOPES.iter().map(|(s, d)| ((*s).to_owned(), Value::from(*d))).collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "authbench reference servers",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every authentication method, each implemented as its RFCs say."
        },
        "servers": [{ "url": base_url }],
        "paths": p,
        "components": {
            "securitySchemes": {
                "basic": { "type": "http", "scheme": "basic" },
                "apiKey": { "type": "apiKey", "name": "X-API-Key", "in": "header" },
                "jwt": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
                "oauth2": {
                    "type": "oauth2",
                    "flows": {
                        "authorizationCode": {
                            "authorizationUrl": format!("{base_url}{}", crate::oauth::paths::AUTHORIZE),
                            "tokenUrl": format!("{base_url}{}", crate::oauth::paths::TOKEN),
                            "scopes": scopes
                        },
                        "clientCredentials": {
                            "tokenUrl": format!("{base_url}{}", crate::oauth::paths::TOKEN),
                            "scopes": scopes
                        }
                    }
                },
                "clientCertificate": { "type": "mutualTLS" },
                "layeredCertificate": { "type": "mutualTLS", "description": "a service's certificate" },
                "layeredKey": { "type": "apiKey", "name": "X-API-Key", "in": "header", "description": "its application's key" },
                "layeredToken": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "a user's token for that application" },
                "adminToken": { "type": "http", "scheme": "bearer" }
            }
        }
    })
}
