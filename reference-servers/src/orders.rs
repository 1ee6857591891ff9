//! A small object API for the OpenAPI checks: orders read with a JWT of
//! scope `read` (`GET /orders/{orderId}`), and an order's invoice, which
//! needs an application's API key AND a user's token
//! (`GET /orders/{orderId}/invoice`). Its flaws plant the per-operation bugs
//! the checks of an OpenAPI document exist to find: an operation that forgot
//! its check, a scope not enforced, an AND taken as an OR, another user's
//! object served.
//!
//! Each order has an owner, the `sub` of the tokens that may read it: the
//! demo user owns the first, [`OTHER_USER`] the second; anyone else's token
//! gets 404, as if the order did not exist.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::{Extension, Router, routing::any};
use jsonwebtoken::Algorithm;

use crate::app::App;
use crate::flaws::Flaw;
use crate::respond;

/// Where the orders are.
pub mod paths {
    /// One order (axum's pattern).
    pub const ORDER: &str = "/orders/{order_id}";
    /// Its invoice (axum's pattern).
    pub const INVOICE: &str = "/orders/{order_id}/invoice";
    /// The orders that exist.
    pub const ORDERS: [&str; 2] = ["ord-1001", "ord-1002"];
}

/// The user who owns the second order.
pub const OTHER_USER: &str = "bob";

/// Who owns `order_id`, if it exists.
fn owner(order_id: &str) -> Option<&'static str> {
    match order_id {
        id if id == paths::ORDERS[0] => Some(crate::seed::DEMO_USER),
        id if id == paths::ORDERS[1] => Some(OTHER_USER),
        _ => None,
    }
}

/// The routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new().route(paths::ORDER, any(order)).route(paths::INVOICE, any(invoice))
}

fn not_found() -> Response {
    respond::error(StatusCode::NOT_FOUND, None, "not_found", "No such order")
}

async fn order(
    State(app): State<Arc<App>>,
    Path(order_id): Path<String>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if app.flaws.has(Flaw::OpenapiUnprotectedOperation) {
        return found(&app, &method, &order_id, None);
    }
    let scope = if app.flaws.has(Flaw::OpenapiScopeNotEnforced) { None } else { Some("read") };
    match crate::jwt::authenticate(&app, &headers, &uri, Algorithm::RS256, false) {
        Ok(token) if scope.is_none_or(|s| token.scopes.iter().any(|t| t == s)) => {
            found(&app, &method, &order_id, Some(&token.subject))
        }
        Ok(_) => crate::jwt::insufficient_scope("read"),
        Err(rejection) => rejection.response(),
    }
}

async fn invoice(
    State(app): State<Arc<App>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(order_id): Path<String>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let peer = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    let key = crate::api_key::authenticate(&app, peer, &headers, &uri)
        .is_ok_and(|r| r.scopes.iter().any(|s| s == "read"));
    let token = crate::jwt::authenticate(&app, &headers, &uri, Algorithm::RS256, false);
    let user = token.as_ref().ok().filter(|t| t.scopes.iter().any(|s| s == "read"));
    let admitted = if app.flaws.has(Flaw::OpenapiAndAsOr) {
        key || user.is_some()
    } else {
        key && user.is_some()
    };
    if admitted {
        return found(&app, &method, &order_id, user.map(|t| t.subject.as_str()));
    }
    if key && token.is_ok() {
        return crate::jwt::insufficient_scope("read");
    }
    // Which layer failed is not said (the layered resource's rule).
    respond::error(
        StatusCode::UNAUTHORIZED,
        Some(format!(
            "{}, {}",
            crate::api_key::challenge(),
            crate::jwt::bearer_challenge(None, None)
        )),
        "unauthorized",
        "This resource requires an application's API key and a user's Bearer token",
    )
}

/// The order to `principal` (the token's `sub`): only its owner's, unless
/// the check was forgotten altogether (no principal) or its owner is not
/// compared (the flaw).
fn found(app: &App, method: &Method, order_id: &str, principal: Option<&str>) -> Response {
    let Some(owner) = owner(order_id) else { return not_found() };
    let owners_only = !app.flaws.has(Flaw::OpenapiOtherUsersObject);
    match principal {
        Some(p) if owners_only && p != owner => not_found(),
        _ => respond::payload(method, principal),
    }
}
