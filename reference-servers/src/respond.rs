//! What every reference server answers with: the shared payload, challenges and
//! error bodies, so each method's responses differ only where its RFC says.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The body every protected resource and the baseline return, byte for byte, so
/// that overhead measurements compare authentication and nothing else.
pub const PAYLOAD: &str = r#"{"resource":"authbench","message":"You reached a protected resource. The baseline returns these same bytes.","items":[1,2,3,4,5,6,7,8]}"#;

/// The response header naming the authenticated principal (absent on the baseline).
pub const PRINCIPAL_HEADER: &str = "authbench-principal";

/// The realm every challenge names.
pub const REALM: &str = "authbench";

/// 200 with [`PAYLOAD`], for the baseline (`principal: None`) and every resource.
pub fn payload(method: &Method, principal: Option<&str>) -> Response {
    if method != Method::GET && method != Method::HEAD {
        // Authentication has already run: an unsupported method is refused only
        // after it, so no method slips past authentication (XC-03).
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")]).into_response();
    }
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(principal) = principal.and_then(|p| HeaderValue::from_str(p).ok()) {
        headers.insert(PRINCIPAL_HEADER, principal);
    }
    (StatusCode::OK, headers, PAYLOAD).into_response()
}

/// A JSON error body `{"error": …, "error_description": …}` with `status`, an
/// optional `WWW-Authenticate` challenge and `Cache-Control: no-store`.
pub fn error(
    status: StatusCode,
    challenge: Option<String>,
    error: &str,
    description: &str,
) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
    let body = serde_json::json!({ "error": error, "error_description": description });
    (status, headers, axum::Json(body)).into_response()
}

/// 429 with `Retry-After` in whole seconds (rounded up, at least 1).
pub fn throttled(retry_after: std::time::Duration) -> Response {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        None,
        "too_many_requests",
        "Too many failed attempts; retry later.",
    );
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    response
}

/// Formats an auth-param value as a quoted-string (RFC 9110 §5.6.4).
pub fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The `Authorization` header of a request, split into scheme and credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization<'a> {
    /// No `Authorization` header.
    Missing,
    /// More than one `Authorization` header (RFC 9110 §5.3 forbids combining them): 400.
    Duplicated,
    /// A header whose value is not visible ASCII, or has no scheme.
    Malformed,
    /// `scheme SP credentials`; the scheme compares case-insensitively (RFC 9110 §11.1).
    Present {
        /// The auth scheme as sent.
        scheme: &'a str,
        /// Everything after the scheme and its separating spaces.
        credentials: &'a str,
    },
}

impl<'a> Authorization<'a> {
    /// Reads the `Authorization` header of `headers`.
    pub fn of(headers: &'a HeaderMap) -> Self {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let Some(value) = values.next() else { return Authorization::Missing };
        if values.next().is_some() {
            return Authorization::Duplicated;
        }
        let Ok(value) = value.to_str() else { return Authorization::Malformed };
        let value = value.trim_matches(' ');
        match value.split_once(' ') {
            Some((scheme, credentials)) if !scheme.is_empty() => {
                Authorization::Present { scheme, credentials: credentials.trim_start_matches(' ') }
            }
            None if !value.is_empty() => Authorization::Present { scheme: value, credentials: "" },
            _ => Authorization::Malformed,
        }
    }

    /// The credentials when the scheme is `scheme` (any casing), `None` otherwise.
    pub fn credentials_for(&self, scheme: &str) -> Option<&'a str> {
        match *self {
            Authorization::Present { scheme: sent, credentials }
                if sent.eq_ignore_ascii_case(scheme) =>
            {
                Some(credentials)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn authorization_is_split_at_the_first_space_and_the_scheme_is_case_insensitive() {
        let h = headers(&["bAsIc  dXNlcjpwYXNz"]);
        let auth = Authorization::of(&h);
        assert_eq!(auth.credentials_for("Basic"), Some("dXNlcjpwYXNz"));
        assert_eq!(auth.credentials_for("Bearer"), None);
        assert_eq!(Authorization::of(&headers(&["a", "b"])), Authorization::Duplicated);
        assert_eq!(Authorization::of(&HeaderMap::new()), Authorization::Missing);
        assert_eq!(Authorization::of(&headers(&[" "])), Authorization::Malformed);
    }

    #[test]
    fn quoted_strings_escape_quotes_and_backslashes() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn retry_after_rounds_up() {
        let r = throttled(std::time::Duration::from_millis(1500));
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
        let r = throttled(std::time::Duration::ZERO);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
    }
}
