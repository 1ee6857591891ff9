//! Unit tests of the parent module.

use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// A server that answers 431 after reading a little of a huge header and then
/// closes (resetting the connection, with the rest unread) has answered: the
/// reset on our write must not hide its 431.
#[tokio::test]
async fn an_answer_sent_before_the_request_is_read_is_not_lost_to_the_reset() {
    use tokio::net::TcpListener;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let server = tokio::spawn(async move {
        for _ in 0..5 {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = [0u8; 1024];
            let _ = socket.read(&mut head).await;
            let answer = b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            socket.write_all(answer).await.unwrap();
            // Dropped with unread data: the kernel answers the client with a reset.
            drop(socket);
        }
    });
    let client = HttpClient::new(None, Duration::from_secs(5)).unwrap();
    let huge = "a".repeat(4 << 20);
    for _ in 0..5 {
        let request =
            RawRequest::get(url.clone()).header("authorization", format!("Bearer {huge}"));
        let answer = client.send(&request).await.expect("the 431 is read despite the reset");
        assert_eq!(answer.status, 431);
    }
    server.await.unwrap();
}
