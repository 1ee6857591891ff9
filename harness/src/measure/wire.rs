//! The load generator's HTTP/1.1 exchange: a request serialized once per
//! phase, written over a kept-alive TLS connection, and its answer framed
//! with httparse — all in the connection's own task.
//!
//! hyper's client hands every request from the caller's task to the
//! connection's task and back, and builds a header map per request; under a
//! closed loop on a machine the target shares, that bookkeeping is CPU the
//! target does not get, and the generator measured 95–99 % of wrk's rate.
//! The load path needs none of it: the request is the same bytes every time
//! (but for a one-use header), and the answer is read only to its end.
//! Answers are framed as RFC 9112 §6.3 says: no body for 1xx, 204 and 304;
//! `Transfer-Encoding: chunked`; `Content-Length`; otherwise until the
//! server closes. `Connection: close` (or HTTP/1.0 without keep-alive) ends
//! the connection after the answer.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::client::keepalive::{Endpoint, OneUse};

/// The most header bytes an answer may have.
const MAX_HEAD: usize = 64 * 1024;

/// The request of a phase: everything but a one-use header, serialized once.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Request line and fixed headers, each ending in CRLF (no blank line).
    head: Vec<u8>,
    one_use: Option<Arc<OneUse>>,
}

impl Prepared {
    /// The GET request of `endpoint`.
    pub fn new(endpoint: &Endpoint) -> Prepared {
        let (target, host) = crate::client::target_and_host(&endpoint.url);
        let mut head = format!("GET {target} HTTP/1.1\r\nhost: {host}\r\n").into_bytes();
        for (name, value) in &endpoint.headers {
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        Prepared { head, one_use: endpoint.one_use.clone() }
    }

    /// Writes the next request into `out` (cleared first); `None` when the
    /// one-use pool is spent.
    pub fn next(&self, out: &mut Vec<u8>) -> Option<()> {
        out.clear();
        out.extend_from_slice(&self.head);
        if let Some(pool) = &self.one_use {
            let value = pool.take()?;
            out.extend_from_slice(pool.name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        Some(())
    }

    /// Whether every request is the same bytes (no one-use header).
    pub fn is_fixed(&self) -> bool {
        self.one_use.is_none()
    }
}

/// One kept-alive connection (over TLS; any stream in the tests).
pub struct Conn<S = TlsStream<TcpStream>> {
    stream: S,
    buf: Vec<u8>,
    /// Start of the unread bytes in `buf`.
    pos: usize,
}

/// An answer: its status, and whether the connection can carry another request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Whether the connection stays open.
    pub keep_alive: bool,
}

impl Conn {
    /// A TCP and TLS connection to `endpoint`'s origin.
    pub async fn connect(endpoint: &Endpoint) -> Result<Conn, String> {
        let stream = crate::client::keepalive::connect_tls(&endpoint.url, &endpoint.tls)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Conn::over(stream))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    /// A connection over `stream`.
    pub fn over(stream: S) -> Conn<S> {
        Conn { stream, buf: Vec::with_capacity(16 * 1024), pos: 0 }
    }

    /// Reads more bytes into the buffer; an error at the end of the stream.
    async fn fill(&mut self) -> Result<usize, String> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > self.buf.capacity() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(16 * 1024);
        }
        self.stream.read_buf(&mut self.buf).await.map_err(|e| format!("reading the answer: {e}"))
    }

    async fn fill_some(&mut self, what: &str) -> Result<(), String> {
        match self.fill().await? {
            0 => Err(format!("the server closed the connection in the middle of {what}")),
            _ => Ok(()),
        }
    }

    /// Sends `request` and reads its answer to the end.
    pub async fn exchange(&mut self, request: &[u8], max_body: u64) -> Result<Answer, String> {
        self.stream.write_all(request).await.map_err(|e| format!("writing the request: {e}"))?;
        self.stream.flush().await.map_err(|e| format!("writing the request: {e}"))?;
        loop {
            let head = self.head().await?;
            // Interim answers (100 Continue, 103 Early Hints) precede the real one.
            if (100..200).contains(&head.status) && head.status != 101 {
                continue;
            }
            let keep_alive = head.keep_alive && self.body(&head, max_body).await?;
            return Ok(Answer { status: head.status, keep_alive });
        }
    }

    /// Parses the next answer's head, consuming it.
    async fn head(&mut self) -> Result<Head, String> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.buf[self.pos..]) {
                Ok(httparse::Status::Complete(n)) => {
                    let head = Head::of(&response)?;
                    self.pos += n;
                    return Ok(head);
                }
                Ok(httparse::Status::Partial) if self.buf.len() - self.pos > MAX_HEAD => {
                    return Err(format!("an answer head over {} KiB", MAX_HEAD / 1024));
                }
                Ok(httparse::Status::Partial) => {
                    if self.fill().await? == 0 {
                        return Err(if self.pos == self.buf.len() {
                            "the server closed the connection without answering".to_owned()
                        } else {
                            "the server closed the connection in the middle of an answer".to_owned()
                        });
                    }
                }
                Err(e) => return Err(format!("a malformed answer: {e}")),
            }
        }
    }

    /// Reads the body to its end; whether the connection can be reused.
    async fn body(&mut self, head: &Head, max_body: u64) -> Result<bool, String> {
        if head.status == 204 || head.status == 304 {
            return Ok(true);
        }
        if head.chunked {
            self.chunked(max_body).await?;
            return Ok(true);
        }
        if let Some(length) = head.content_length {
            if length > max_body {
                return Err(format!("a body of {length} bytes, over the cap of {max_body}"));
            }
            self.skip(length).await?;
            return Ok(true);
        }
        // Delimited by the end of the connection.
        let mut total = (self.buf.len() - self.pos) as u64;
        self.pos = self.buf.len();
        while self.fill().await? > 0 {
            total += (self.buf.len() - self.pos) as u64;
            self.pos = self.buf.len();
            if total > max_body {
                return Err(format!("a body over the cap of {max_body} bytes"));
            }
        }
        Ok(false)
    }

    async fn skip(&mut self, mut left: u64) -> Result<(), String> {
        loop {
            let available = (self.buf.len() - self.pos) as u64;
            if available >= left {
                self.pos += left as usize;
                return Ok(());
            }
            left -= available;
            self.pos = self.buf.len();
            self.fill_some("a body").await?;
        }
    }

    async fn chunked(&mut self, max_body: u64) -> Result<(), String> {
        let mut total = 0u64;
        loop {
            match httparse::parse_chunk_size(&self.buf[self.pos..]) {
                Ok(httparse::Status::Complete((n, 0))) => {
                    self.pos += n;
                    return self.trailers().await;
                }
                Ok(httparse::Status::Complete((n, size))) => {
                    self.pos += n;
                    total += size;
                    if total > max_body {
                        return Err(format!("a body over the cap of {max_body} bytes"));
                    }
                    self.skip(size).await?;
                    self.crlf().await?;
                }
                Ok(httparse::Status::Partial) if self.buf.len() - self.pos > 1024 => {
                    return Err("a chunk size line over 1 KiB".to_owned());
                }
                Ok(httparse::Status::Partial) => self.fill_some("a chunked body").await?,
                Err(_) => return Err("a malformed chunk size".to_owned()),
            }
        }
    }

    async fn crlf(&mut self) -> Result<(), String> {
        while self.buf.len() - self.pos < 2 {
            self.fill_some("a chunked body").await?;
        }
        if &self.buf[self.pos..self.pos + 2] != b"\r\n" {
            return Err("a chunk not followed by CRLF".to_owned());
        }
        self.pos += 2;
        Ok(())
    }

    /// Trailer fields after the last chunk, up to the blank line.
    async fn trailers(&mut self) -> Result<(), String> {
        loop {
            let unread = &self.buf[self.pos..];
            match unread.windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    self.pos += 2;
                    return Ok(());
                }
                Some(end) => self.pos += end + 2,
                None if unread.len() > MAX_HEAD => return Err("trailers over 64 KiB".to_owned()),
                None => self.fill_some("the trailers").await?,
            }
        }
    }
}

/// What framing needs of an answer's head.
#[derive(Debug)]
struct Head {
    status: u16,
    keep_alive: bool,
    chunked: bool,
    content_length: Option<u64>,
}

impl Head {
    fn of(response: &httparse::Response<'_, '_>) -> Result<Head, String> {
        let status = response.code.ok_or("an answer without a status")?;
        let http11 = response.version == Some(1);
        let (mut close, mut keep, mut chunked, mut length) = (false, false, false, None);
        for h in response.headers.iter() {
            let value = std::str::from_utf8(h.value).unwrap_or("").trim();
            if h.name.eq_ignore_ascii_case("connection") {
                for token in value.split(',').map(str::trim) {
                    close |= token.eq_ignore_ascii_case("close");
                    keep |= token.eq_ignore_ascii_case("keep-alive");
                }
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value
                    .rsplit(',')
                    .next()
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            } else if h.name.eq_ignore_ascii_case("content-length") {
                let n: u64 =
                    value.parse().map_err(|_| format!("a malformed Content-Length: {value}"))?;
                if length.is_some_and(|l| l != n) {
                    return Err("two different Content-Length values".to_owned());
                }
                length = Some(n);
            }
        }
        Ok(Head {
            status,
            keep_alive: !close && (http11 || keep),
            chunked,
            content_length: if chunked { None } else { length },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &[u8]) -> Head {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut r = httparse::Response::new(&mut headers);
        assert!(r.parse(raw).unwrap().is_complete());
        Head::of(&r).unwrap()
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let h = head(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n");
        assert_eq!(
            (h.status, h.keep_alive, h.chunked, h.content_length),
            (200, true, false, Some(5))
        );
        let h = head(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 9\r\n\r\n",
        );
        assert!(h.chunked && h.content_length.is_none(), "chunked wins over Content-Length");
        let h = head(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        assert!(!h.keep_alive);
        let h = head(b"HTTP/1.0 200 OK\r\n\r\n");
        assert!(!h.keep_alive, "HTTP/1.0 closes unless it says keep-alive");
        let h = head(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n");
        assert!(h.keep_alive);
    }

    /// Answers written in small pieces, one after another on one connection.
    async fn exchanges(answers: &'static [u8], n: usize) -> Vec<Result<Answer, String>> {
        let (client, server) = tokio::io::duplex(64);
        let (mut requests, mut writer) = tokio::io::split(server);
        // The requests are drained as they come, so the client's writes never block.
        tokio::spawn(async move {
            let mut sink = vec![0u8; 4096];
            while matches!(requests.read(&mut sink).await, Ok(n) if n > 0) {}
        });
        tokio::spawn(async move {
            for piece in answers.chunks(7) {
                if writer.write_all(piece).await.is_err() {
                    return;
                }
            }
            // The end of the answers is the end of the stream.
            let _ = writer.shutdown().await;
        });
        let mut conn = Conn::over(client);
        let mut out = Vec::new();
        for _ in 0..n {
            let exchange = conn.exchange(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n", 1 << 20);
            let answer = tokio::time::timeout(std::time::Duration::from_secs(5), exchange)
                .await
                .unwrap_or_else(|_| Err("no answer within 5 s".to_owned()));
            out.push(answer);
        }
        out
    }

    #[tokio::test]
    async fn bodies_are_read_to_their_end_and_the_next_answer_follows() {
        let answers: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n\
HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\nhello world\
HTTP/1.1 401 Unauthorized\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n\
HTTP/1.1 204 No Content\r\n\r\n\
HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok";
        let got = exchanges(answers, 4).await;
        let statuses: Vec<_> =
            got.iter().map(|a| a.as_ref().map(|a| (a.status, a.keep_alive))).collect();
        assert_eq!(
            statuses,
            vec![Ok((200, true)), Ok((401, true)), Ok((204, true)), Ok((200, false))]
        );
    }

    #[tokio::test]
    async fn truncated_and_malformed_answers_are_errors() {
        let got = exchanges(b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\nshort", 1).await;
        assert!(got[0].as_ref().is_err_and(|e| e.contains("closed")), "{got:?}");
        let got =
            exchanges(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", 1).await;
        assert!(got[0].as_ref().is_err_and(|e| e.contains("chunk")), "{got:?}");
        let got = exchanges(b"", 1).await;
        assert!(got[0].as_ref().is_err_and(|e| e.contains("without answering")), "{got:?}");
    }

    #[tokio::test]
    async fn a_body_until_close_ends_the_connection() {
        let got = exchanges(b"HTTP/1.1 200 OK\r\n\r\nall of it", 1).await;
        assert_eq!(got[0], Ok(Answer { status: 200, keep_alive: false }));
    }

    #[test]
    fn conflicting_lengths_are_refused() {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut r = httparse::Response::new(&mut headers);
        r.parse(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n").unwrap();
        assert!(Head::of(&r).is_err());
    }
}
