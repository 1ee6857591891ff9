//! What keeps an unauthenticated client from exhausting a listener:
//! - a cap on connections in total (below the process's file-descriptor
//!   limit) and per client address; a connection over either is closed at
//!   once rather than left to fill the accept backlog;
//! - an idle watchdog: a connection with no request in flight that moves no
//!   byte for [`IDLE_TIMEOUT`] is closed (idle keep-alive, silence after the
//!   handshake); HTTP/1 headers must arrive within [`HEADER_TIMEOUT`]
//!   (slowloris), which hyper enforces;
//! - a request, body included, answered 408 after [`REQUEST_TIMEOUT`];
//! - accept errors (EMFILE) logged at most once a second, with a count.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A request's headers must arrive within this (HTTP/1).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// A request, body and handling included, is answered 408 after this (a body
/// sent a byte a second must not hold a handler for ever).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection with nothing in flight and no byte moving is closed after this.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(15);
/// Connections one client address may hold at once.
pub const MAX_PER_ADDRESS: usize = 512;
/// Connections in total at most (lowered to fit the file-descriptor limit).
pub const MAX_CONNECTIONS: usize = 8192;
/// Descriptors kept free for the database, files and outgoing connections.
const RESERVED_DESCRIPTORS: usize = 64;

/// The open-file soft limit, from `/proc/self/limits` (Linux); `None` elsewhere.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The connection count of one listener, in total and by address.
#[derive(Debug)]
pub struct Limits {
    max_total: usize,
    total: AtomicUsize,
    by_address: Mutex<HashMap<IpAddr, usize>>,
    refused: AtomicU64,
}

impl Default for Limits {
    fn default() -> Self {
        let fits = open_file_limit()
            .map_or(MAX_CONNECTIONS, |n| n.saturating_sub(RESERVED_DESCRIPTORS).max(16));
        Limits::with_max(fits.min(MAX_CONNECTIONS))
    }
}

impl Limits {
    /// Limits of at most `max_total` connections.
    pub fn with_max(max_total: usize) -> Self {
        Limits {
            max_total,
            total: AtomicUsize::new(0),
            by_address: Mutex::new(HashMap::new()),
            refused: AtomicU64::new(0),
        }
    }

    /// A slot for a connection from `address`, or `None` when over a cap.
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Option<Slot> {
        if self.total.fetch_add(1, Ordering::AcqRel) >= self.max_total {
            self.total.fetch_sub(1, Ordering::AcqRel);
            self.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let mut by_address = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        let count = by_address.entry(address).or_insert(0);
        if *count >= MAX_PER_ADDRESS {
            drop(by_address);
            self.total.fetch_sub(1, Ordering::AcqRel);
            self.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *count += 1;
        Some(Slot { limits: Arc::clone(self), address })
    }

    /// Connections refused so far (the log line's count).
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// A connection's place under the caps, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    limits: Arc<Limits>,
    address: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.limits.total.fetch_sub(1, Ordering::AcqRel);
        let mut by_address = self.limits.by_address.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = by_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                by_address.remove(&self.address);
            }
        }
    }
}

/// A log line at most once per interval, saying how many were suppressed.
#[derive(Debug, Default)]
pub struct RateLimitedLog {
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl RateLimitedLog {
    /// Whether to log now; `Some(n)`: log, `n` occurrences were suppressed since.
    pub fn due(&self, every: Duration) -> Option<u64> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < every) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(now);
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

/// What the watchdog reads: when a byte last moved, and how many requests
/// are in flight. Tokio's clock, so tests can pause it.
#[derive(Debug)]
pub struct Activity {
    epoch: tokio::time::Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            epoch: tokio::time::Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }
}

impl Activity {
    fn touch(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// A request started; the returned guard ends it.
    pub fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }

    /// Resolves once the connection has been idle (nothing in flight, no
    /// byte moved) for `timeout`.
    pub async fn idle(&self, timeout: Duration) {
        loop {
            let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let quiet = self.epoch.elapsed().saturating_sub(last);
            if self.in_flight.load(Ordering::Acquire) == 0 && quiet >= timeout {
                return;
            }
            let wait = if quiet >= timeout { timeout } else { timeout - quiet };
            tokio::time::sleep(wait.max(Duration::from_millis(100))).await;
        }
    }
}

/// A request in flight; dropped when its response has been produced.
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An IO whose reads and writes mark the connection active.
#[derive(Debug)]
pub struct Watched<I> {
    inner: I,
    activity: Arc<Activity>,
}

impl<I> Watched<I> {
    /// Wraps `inner`, reporting to `activity`.
    pub fn new(inner: I, activity: Arc<Activity>) -> Self {
        activity.touch();
        Watched { inner, activity }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_in_total_and_per_address_and_slots_come_back() {
        let limits = Arc::new(Limits::with_max(MAX_PER_ADDRESS + 2));
        let a: IpAddr = [127, 0, 0, 2].into();
        let b: IpAddr = [127, 0, 0, 3].into();
        let held: Vec<Slot> = (0..MAX_PER_ADDRESS).filter_map(|_| limits.admit(a)).collect();
        assert_eq!(held.len(), MAX_PER_ADDRESS);
        assert!(limits.admit(a).is_none(), "over the per-address cap");
        let b1 = limits.admit(b);
        let b2 = limits.admit(b);
        assert!(b1.is_some() && b2.is_some());
        assert!(limits.admit(b).is_none(), "over the total cap");
        assert_eq!(limits.refused(), 2);
        drop(held);
        assert!(limits.admit(a).is_some(), "slots are given back");
    }

    #[tokio::test]
    async fn the_watchdog_waits_for_quiet_and_for_no_request_in_flight() {
        let quiet = Duration::from_millis(200);
        let activity = Arc::new(Activity::default());
        activity.touch();
        let request = activity.request();
        // A request in flight keeps the connection, however quiet.
        assert!(tokio::time::timeout(quiet * 4, activity.idle(quiet)).await.is_err());
        let started = tokio::time::Instant::now();
        drop(request);
        assert!(tokio::time::timeout(quiet * 10, activity.idle(quiet)).await.is_ok());
        assert!(started.elapsed() >= quiet, "closed before the quiet period");
    }
}
