//! Unit tests of the parent module.

use super::*;

#[test]
fn requests_are_written_exactly() {
    let req = RawRequest::get(Url::parse("https://h.test:8443/a/b?x=1").unwrap())
        .header("authorization", "Basic a")
        .header("AUTHORIZATION", b"Basic \x00b".to_vec());
    let text = req.to_bytes();
    assert!(text.starts_with(b"GET /a/b?x=1 HTTP/1.1\r\nHost: h.test:8443\r\nauthorization: Basic a\r\nAUTHORIZATION: Basic \x00b\r\n"));
}

#[test]
fn answers_are_parsed_with_chunked_bodies() {
    let raw = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    assert!(complete(raw, false));
    let r = parse(raw, false, Duration::ZERO).unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.header_values("www-authenticate").collect::<Vec<_>>(), ["Basic realm=\"x\""]);
    assert_eq!(r.body, b"abcde");
    let partial = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    assert!(!complete(partial, false));
}
