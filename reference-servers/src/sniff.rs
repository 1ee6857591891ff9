//! The transport flaws: what a listener does with a connection's first bytes
//! before rustls sees them. The correct servers never look (rustls refuses
//! TLS 1.0/1.1, weak suites and plain HTTP by itself). With `tls-plain-http`
//! a connection that does not open with a TLS record is served as plain
//! HTTP; with `tls-legacy-versions` or `tls-weak-ciphers` a ClientHello that
//! rustls would refuse is answered with a ServerHello agreeing to it, as an
//! old TLS stack would, and the connection is closed — the agreement is what
//! a client can observe, and no weak cryptography is ever run.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::flaws::{Flaw, Flaws};

/// What to do with a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// Hand it to rustls.
    Tls,
    /// Serve it as plain HTTP (`tls-plain-http`).
    Plain,
    /// Answered here and closed (a flawed ServerHello, or nothing came).
    Handled,
}

/// Suites rustls negotiates (TLS 1.3, and TLS 1.2 ECDHE with AES-GCM or ChaCha20).
const MODERN_SUITES: &[u16] =
    &[0x1301, 0x1302, 0x1303, 0xC02B, 0xC02C, 0xC02F, 0xC030, 0xCCA8, 0xCCA9];

/// What a ClientHello offers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hello {
    /// The highest version offered (`supported_versions`, else the legacy field).
    max_version: u16,
    /// The legacy version field.
    legacy_version: u16,
    /// The suites, in order.
    suites: Vec<u16>,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Parses the ClientHello in `record` (a whole first TLS record).
fn parse_hello(record: &[u8]) -> Option<Hello> {
    if record.first() != Some(&0x16) || record.get(5) != Some(&0x01) {
        return None;
    }
    let body = record.get(9..)?;
    let legacy_version = be16(body, 0)?;
    let mut at = 2 + 32;
    at += 1 + usize::from(*body.get(at)?);
    let suites_len = usize::from(be16(body, at)?);
    let suites: Vec<u16> = (0..suites_len / 2).filter_map(|i| be16(body, at + 2 + 2 * i)).collect();
    at += 2 + suites_len;
    at += 1 + usize::from(*body.get(at)?);
    let mut max_version = legacy_version;
    if let Some(ext_len) = be16(body, at) {
        let end = (at + 2 + usize::from(ext_len)).min(body.len());
        let mut e = at + 2;
        while e + 4 <= end {
            let (kind, len) = (be16(body, e)?, usize::from(be16(body, e + 2)?));
            if kind == 0x002B {
                // supported_versions: a length byte, then versions.
                let list = body.get(e + 5..e + 4 + len)?;
                max_version = list
                    .chunks(2)
                    .filter_map(|v| be16(v, 0))
                    .filter(|v| v & 0x0F0F != 0x0A0A) // GREASE
                    .max()
                    .unwrap_or(legacy_version);
            }
            e += 4 + len;
        }
    }
    Some(Hello { max_version, legacy_version, suites })
}

/// The ServerHello a flawed stack answers `hello` with, if a flaw applies.
fn flawed_answer(hello: &Hello, flaws: &Flaws) -> Option<Vec<u8>> {
    let legacy = flaws.has(Flaw::TlsLegacyVersions) && hello.max_version < 0x0303;
    let weak = flaws.has(Flaw::TlsWeakCiphers)
        && hello.max_version >= 0x0303
        && !hello.suites.iter().any(|s| MODERN_SUITES.contains(s));
    if !(legacy || weak) {
        return None;
    }
    let version = if legacy { hello.legacy_version } else { 0x0303 };
    let suite = *hello.suites.first()?;
    let mut body = version.to_be_bytes().to_vec();
    body.extend((0..32).map(|_| rand::random::<u8>()));
    body.push(0); // no session id
    body.extend_from_slice(&suite.to_be_bytes());
    body.push(0); // null compression
    let mut handshake = vec![0x02];
    handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16];
    record.extend_from_slice(&version.to_be_bytes());
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    Some(record)
}

/// Decides what to do with `stream`, peeking at its first bytes only when a
/// transport flaw is on.
pub async fn sniff(stream: &mut TcpStream, flaws: &Flaws, wait: Duration) -> Sniffed {
    let tls_flaws = flaws.has(Flaw::TlsLegacyVersions) || flaws.has(Flaw::TlsWeakCiphers);
    if !tls_flaws && !flaws.has(Flaw::TlsPlainHttp) {
        return Sniffed::Tls;
    }
    let mut buf = vec![0u8; 16 * 1024 + 5];
    let peeked = tokio::time::timeout(wait, async {
        loop {
            let n = stream.peek(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return 0;
            }
            let whole = n >= 5 && n >= 5 + usize::from(u16::from_be_bytes([buf[3], buf[4]]));
            if buf[0] != 0x16 || whole || n == buf.len() {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let Ok(n) = peeked else { return Sniffed::Tls };
    if n == 0 {
        return Sniffed::Handled;
    }
    if buf[0] != 0x16 {
        return if flaws.has(Flaw::TlsPlainHttp) { Sniffed::Plain } else { Sniffed::Tls };
    }
    match parse_hello(&buf[..n]).and_then(|h| flawed_answer(&h, flaws)) {
        Some(answer) => {
            let _ = stream.write_all(&answer).await;
            let _ = stream.shutdown().await;
            Sniffed::Handled
        }
        None => Sniffed::Tls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(version: u16, suites: &[u16], supported: Option<&[u16]>) -> Vec<u8> {
        let mut body = version.to_be_bytes().to_vec();
        body.extend([0u8; 32]);
        body.push(0);
        body.extend(((suites.len() * 2) as u16).to_be_bytes());
        for s in suites {
            body.extend(s.to_be_bytes());
        }
        body.extend([1, 0]);
        let mut ext = Vec::new();
        if let Some(versions) = supported {
            ext.extend([0x00, 0x2B]);
            ext.extend(((versions.len() * 2 + 1) as u16).to_be_bytes());
            ext.push((versions.len() * 2) as u8);
            for v in versions {
                ext.extend(v.to_be_bytes());
            }
        }
        body.extend((ext.len() as u16).to_be_bytes());
        body.extend(ext);
        let mut hs = vec![0x01];
        hs.extend(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend(body);
        let mut rec = vec![0x16, 0x03, 0x01];
        rec.extend((hs.len() as u16).to_be_bytes());
        rec.extend(hs);
        rec
    }

    #[test]
    fn only_what_rustls_would_refuse_is_answered_and_only_under_the_flaw() {
        let flaws: Flaws = [Flaw::TlsLegacyVersions, Flaw::TlsWeakCiphers].into_iter().collect();
        let legacy = parse_hello(&hello(0x0302, &[0xC013], None)).unwrap();
        assert_eq!(legacy.max_version, 0x0302);
        let answer = flawed_answer(&legacy, &flaws).unwrap();
        assert_eq!(&answer[..3], &[0x16, 0x03, 0x02]);
        // A modern hello (TLS 1.3 in supported_versions) goes to rustls.
        let modern =
            parse_hello(&hello(0x0303, &[0x1301, 0xC02F], Some(&[0x0304, 0x0303]))).unwrap();
        assert_eq!(modern.max_version, 0x0304);
        assert!(flawed_answer(&modern, &flaws).is_none());
        let weak = parse_hello(&hello(0x0303, &[0x0004, 0x0001], None)).unwrap();
        assert!(flawed_answer(&weak, &flaws).is_some());
        assert!(flawed_answer(&weak, &Flaws::none()).is_none());
        assert!(flawed_answer(&legacy, &Flaws::none()).is_none());
    }
}
