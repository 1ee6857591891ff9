//! The out-of-band listener: an HTTP endpoint the target can reach, where
//! authbench serves what an attacker would host (a key set holding the
//! attacker's key, a certificate) and records every request.
//!
//! Cases plant its URLs in credentials (a token's `jku` and `x5u`, claims
//! that look like links, the issuer). Two things become observable that a
//! name which never resolves hides:
//! - a target that follows `jku` *and finds the key there* accepts the
//!   attacker's token, where with an unresolvable name it would refuse it and
//!   be credited for refusing;
//! - a target that dereferences a URL it was handed by an unauthenticated
//!   client at all is a server-side request forgery (RFC 8725 §3.10), even
//!   when it refuses the token afterwards.
//!
//! Only requests under the run's random prefix are recorded, so a scanner or
//! a stray browser on the same port cannot make a case fail.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::sync::{Notify, Semaphore};
use url::Url;

/// The most connections served at once; more are closed unanswered.
const MAX_CONNECTIONS: usize = 32;
/// How long one connection may stay open.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(10);
/// The most requests recorded (a target in a fetch loop must not grow memory).
const MAX_HITS: usize = 1024;

/// One request the target made to the listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The planted name the request was for (the path after the run's prefix).
    pub name: String,
    /// The request method.
    pub method: String,
    /// Who connected.
    pub peer: SocketAddr,
    /// Its `User-Agent`, when it sent one: often names the library that fetched.
    pub user_agent: Option<String>,
}

impl std::fmt::Display for Hit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} from {}", self.method, self.name, self.peer.ip())?;
        if let Some(ua) = &self.user_agent {
            write!(f, " ({ua})")?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct State {
    /// name → (content type, body).
    published: Mutex<HashMap<String, (&'static str, Bytes)>>,
    hits: Mutex<Vec<Hit>>,
    arrived: Notify,
}

/// The listener of one run; it stops when dropped.
pub struct Callback {
    /// Where the target reaches the listener, with the run's prefix: ends in `/`.
    base: Url,
    state: Arc<State>,
    task: tokio::task::AbortHandle,
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callback").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Callback {
    /// Listens on `listen`. The target is told to fetch from `advertised`
    /// (`http://host:port`, for a listener behind NAT or on another
    /// interface), else from the bound address.
    pub async fn start(listen: SocketAddr, advertised: Option<&Url>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let bound = listener.local_addr()?;
        let prefix = format!("authbench-{:016x}", rand::random::<u64>());
        let origin = match advertised {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        };
        let base = Url::parse(&format!("{origin}/{prefix}/"))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let state = Arc::new(State::default());
        let task = tokio::spawn(accept(listener, Arc::clone(&state), format!("/{prefix}/")));
        Ok(Callback { base, state, task: task.abort_handle() })
    }

    /// The URL of `name`, which answers 404 but is recorded when fetched.
    pub fn url(&self, name: &str) -> Url {
        self.base.join(name).unwrap_or_else(|_| self.base.clone())
    }

    /// Serves `body` as `content_type` at `name` and returns its URL.
    pub fn publish(&self, name: &str, content_type: &'static str, body: Vec<u8>) -> Url {
        lock(&self.state.published).insert(name.to_owned(), (content_type, Bytes::from(body)));
        self.url(name)
    }

    /// The requests so far for names starting with `prefix`.
    pub fn hits(&self, prefix: &str) -> Vec<Hit> {
        lock(&self.state.hits).iter().filter(|h| h.name.starts_with(prefix)).cloned().collect()
    }

    /// The requests for names starting with `prefix`, waiting up to `within`
    /// for a first one (a target may fetch after it has answered).
    pub async fn wait(&self, prefix: &str, within: Duration) -> Vec<Hit> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let arrived = self.state.arrived.notified();
            let hits = self.hits(prefix);
            if !hits.is_empty() {
                return hits;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.hits(prefix);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn accept(listener: tokio::net::TcpListener, state: Arc<State>, prefix: String) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let prefix: Arc<str> = prefix.into();
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            // EMFILE and friends: back off rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else { continue };
        let state = Arc::clone(&state);
        let prefix = Arc::clone(&prefix);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let answer = answer(&state, &prefix, peer, &request);
                async move { Ok::<_, Infallible>(answer) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, connection).await;
            drop(permit);
        });
    }
}

fn answer(
    state: &State,
    prefix: &str,
    peer: SocketAddr,
    request: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let not_found = || {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = hyper::StatusCode::NOT_FOUND;
        r
    };
    let Some(name) = request.uri().path().strip_prefix(prefix) else { return not_found() };
    {
        let mut hits = lock(&state.hits);
        if hits.len() < MAX_HITS {
            hits.push(Hit {
                name: name.to_owned(),
                method: request.method().to_string(),
                peer,
                user_agent: request
                    .headers()
                    .get(hyper::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.chars().take(120).collect()),
            });
        }
    }
    state.arrived.notify_waiters();
    match lock(&state.published).get(name) {
        Some((content_type, body)) => {
            let mut r = Response::new(Full::new(body.clone()));
            if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
                r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
            }
            r
        }
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(url: &Url) -> (u16, String) {
        let client = crate::client::HttpClient::new(None, Duration::from_secs(5)).unwrap();
        let request = crate::client::RawRequest::get(url.clone());
        let r = client.send(&request).await.unwrap();
        (r.status, String::from_utf8_lossy(&r.body).into_owned())
    }

    #[tokio::test]
    async fn serves_what_is_published_and_records_only_its_own_prefix() {
        let callback = Callback::start("127.0.0.1:0".parse().unwrap(), None).await.unwrap();
        let jwks = callback.publish("jku/jwks.json", "application/json", b"{\"keys\":[]}".to_vec());
        assert!(callback.hits("").is_empty());
        assert_eq!(get(&jwks).await, (200, "{\"keys\":[]}".to_owned()));
        assert_eq!(get(&callback.url("iss/x")).await.0, 404);
        // Outside the run's prefix: answered, never recorded.
        let mut stray = jwks.clone();
        stray.set_path("/jku/jwks.json");
        assert_eq!(get(&stray).await.0, 404);
        let hits = callback.hits("");
        assert_eq!(
            hits.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
            ["jku/jwks.json", "iss/x"]
        );
        assert_eq!(callback.hits("jku/").len(), 1);
        assert!(callback.wait("x5u/", Duration::from_millis(50)).await.is_empty());
    }

    #[tokio::test]
    async fn wait_returns_a_fetch_that_comes_after_the_answer() {
        let callback =
            Arc::new(Callback::start("127.0.0.1:0".parse().unwrap(), None).await.unwrap());
        let url = callback.url("late/thing");
        let fetch = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            get(&url).await
        });
        let hits = callback.wait("late/", Duration::from_secs(5)).await;
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].method, "GET");
        fetch.await.unwrap();
    }

    #[tokio::test]
    async fn the_advertised_origin_is_what_urls_name() {
        let advertised = Url::parse("http://203.0.113.7:8099").unwrap();
        let callback =
            Callback::start("127.0.0.1:0".parse().unwrap(), Some(&advertised)).await.unwrap();
        let url = callback.url("jku/jwks.json");
        assert_eq!(url.host_str(), Some("203.0.113.7"));
        assert_eq!(url.port(), Some(8099));
        assert!(url.path().starts_with("/authbench-"));
    }
}
