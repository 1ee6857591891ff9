//! Sending candidates: over kept-alive HTTP/1.1 connections (hyper) when
//! every header is a valid field value, else through the raw client, which
//! writes any bytes (NUL, control characters) on a connection of its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1;
use hyper::header::{HeaderName, HeaderValue};
use url::Url;

use crate::client::{HttpClient, RawRequest};

/// One request, exactly as the fuzzer means it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Where.
    pub url: Url,
    /// Headers, values as raw bytes.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body (empty for GET).
    pub body: Vec<u8>,
}

impl Request {
    /// The request for the raw client.
    fn raw(&self) -> RawRequest {
        RawRequest {
            method: self.method.to_owned(),
            url: self.url.clone(),
            headers: self.headers.clone(),
            body: self.body.clone(),
            identity: None,
            tls_version: None,
            source: None,
        }
    }

    /// The request as HTTP/1.1 bytes, as the raw client sends it: a
    /// reproducer file.
    pub fn to_http(&self) -> Vec<u8> {
        self.raw().to_bytes()
    }
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A status code.
    Status(u16),
    /// No answer: the connection closed or reset (twice, the second time on
    /// a fresh connection), or the answer was not HTTP.
    Failed(String),
    /// No answer within the timeout.
    Timeout,
}

type Sender = http1::SendRequest<Full<Bytes>>;

/// One connection's sender, reconnected as needed.
pub struct Connection {
    /// The open connection and the origin (`host:port`) it is to.
    sender: Option<(String, Sender)>,
    tls: Arc<rustls::ClientConfig>,
    raw: HttpClient,
    timeout: Duration,
}

impl Connection {
    /// A connection (opened on first use).
    pub fn new(tls: Arc<rustls::ClientConfig>, raw: HttpClient, timeout: Duration) -> Connection {
        Connection { sender: None, tls, raw, timeout }
    }

    fn hyper_request(req: &Request) -> Option<hyper::Request<Full<Bytes>>> {
        let (target, host) = crate::client::target_and_host(&req.url);
        let mut builder = hyper::Request::builder()
            .method(req.method)
            .uri(target)
            .header(hyper::header::HOST, host);
        for (name, value) in &req.headers {
            builder = builder.header(
                HeaderName::from_bytes(name.as_bytes()).ok()?,
                HeaderValue::from_bytes(value).ok()?,
            );
        }
        builder.body(Full::new(Bytes::from(req.body.clone()))).ok()
    }

    /// Sends `req`; the answer and how long it took.
    pub async fn send(&mut self, req: &Request) -> (Answer, Duration) {
        let started = Instant::now();
        let Some(first) = Self::hyper_request(req) else {
            // Bytes hyper will not write: the raw client, a connection of its own.
            let answer = match self.raw.send(&req.raw()).await {
                Ok(r) => Answer::Status(r.status),
                Err(crate::client::SendError::Timeout(_)) => Answer::Timeout,
                Err(e) => Answer::Failed(e.to_string()),
            };
            return (answer, started.elapsed());
        };
        let reused = self.sender.is_some();
        match self.exchange(first).await {
            Ok(answer) => (answer, started.elapsed()),
            // A kept-alive connection may have been closed by the server
            // between requests: only a fresh connection's failure counts.
            Err(_) if reused => {
                let started = Instant::now();
                let Some(again) = Self::hyper_request(req) else {
                    return (Answer::Failed("unreachable".into()), started.elapsed());
                };
                let answer = self.exchange(again).await.unwrap_or_else(Answer::Failed);
                (answer, started.elapsed())
            }
            Err(e) => (Answer::Failed(e), started.elapsed()),
        }
    }

    async fn exchange(&mut self, request: hyper::Request<Full<Bytes>>) -> Result<Answer, String> {
        let (origin, url) = origin_of(&request);
        let work = async {
            if self.sender.as_ref().is_none_or(|(o, s)| *o != origin || s.is_closed()) {
                let sender =
                    crate::client::keepalive::connect_to::<Full<Bytes>>(&url, &self.tls).await?;
                self.sender = Some((origin, sender));
            }
            let Some((_, sender)) = self.sender.as_mut() else {
                return Err("no connection".into());
            };
            sender.ready().await.map_err(|e| e.to_string())?;
            let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            crate::client::drain_body(response.into_body(), crate::client::MAX_BODY).await?;
            Ok(Answer::Status(status))
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => {
                self.sender = None;
                Err(e)
            }
            Err(_) => {
                self.sender = None;
                Ok(Answer::Timeout)
            }
        }
    }
}

/// The request's origin (`host:port`, from its Host header) and a URL for it.
fn origin_of(request: &hyper::Request<Full<Bytes>>) -> (String, Url) {
    let host = request
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    let url = Url::parse(&format!("https://{host}/")).unwrap_or_else(|_| {
        Url::parse("https://localhost/").unwrap_or_else(|_| unreachable!("a valid URL"))
    });
    (host, url)
}
