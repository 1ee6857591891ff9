//! TLS seen from outside: a verified handshake that reports what was
//! negotiated, and hand-written ClientHellos offering what rustls never would
//! (TLS 1.0/1.1 only, or only cipher suites RFC 9325 forbids) — read no
//! further than the server's first answer, so no weak cryptography is ever
//! run: a ServerHello that agrees is the finding, an alert or a close is the
//! refusal.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

use super::{ClientIdentity, HttpClient, RawRequest, SendError, alert_name, authority};

/// What a verified handshake negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// `TLSv1_3`, `TLSv1_2`.
    pub version: String,
    /// The cipher suite's IANA name.
    pub suite: String,
}

impl HttpClient {
    /// Completes a TLS handshake with `url`'s host, verifying its certificate
    /// as every request does, presenting `identity` if given, and closes.
    pub async fn handshake(
        &self,
        url: &Url,
        identity: Option<Arc<ClientIdentity>>,
    ) -> Result<Negotiated, SendError> {
        let addr = authority(url);
        let request = RawRequest::get(url.clone()).with_identity(identity);
        let connect = async {
            let tcp = TcpStream::connect(&addr)
                .await
                .map_err(|e| SendError::Connect { addr: addr.clone(), reason: e.to_string() })?;
            let tls = self.tls_over(&request, tcp).await?;
            let (_, session) = tls.get_ref();
            Ok(Negotiated {
                version: session
                    .protocol_version()
                    .map_or_else(|| "unknown".to_owned(), |v| format!("{v:?}")),
                suite: session
                    .negotiated_cipher_suite()
                    .map_or_else(|| "unknown".to_owned(), |s| format!("{:?}", s.suite())),
            })
        };
        match tokio::time::timeout(self.timeout, connect).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Timeout(self.timeout)),
        }
    }
}

/// What a hand-written ClientHello offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// TLS 1.0 and 1.1 only (RFC 8996 deprecates both), with the suites
    /// servers of that time chose.
    Legacy,
    /// TLS 1.2 with only suites RFC 9325 §4.1 forbids: NULL, RC4, export,
    /// single DES and anonymous key exchange.
    WeakSuites,
    /// TLS 1.2 with only suites RFC 9325 §4.1 says not to negotiate:
    /// static-RSA key transport (no forward secrecy) and 3DES (under 128 bits).
    Discouraged,
}

/// Suites a TLS 1.0/1.1 server would pick (CBC with SHA-1, RSA or ECDHE).
const LEGACY_SUITES: &[u16] = &[0xC013, 0xC014, 0xC009, 0xC00A, 0x002F, 0x0035, 0x000A];

/// NULL (0x0001, 0x0002, 0x003B), RC4 (0x0004, 0x0005, 0xC011, 0xC007),
/// export (0x0003, 0x0006, 0x0008, 0x0014), single DES (0x0009, 0x0015) and
/// anonymous (0x0018, 0x001B, 0x0034, 0xC018).
const WEAK_SUITES: &[u16] = &[
    0x0001, 0x0002, 0x003B, 0x0004, 0x0005, 0xC011, 0xC007, 0x0003, 0x0006, 0x0008, 0x0014, 0x0009,
    0x0015, 0x0018, 0x001B, 0x0034, 0xC018,
];

/// Static-RSA key transport (AES-CBC and AES-GCM) and 3DES (with RSA,
/// ECDHE or DHE): SHOULD NOTs of RFC 9325 §4.1 that default OpenSSL cipher
/// lists (`HIGH`) still allow.
const DISCOURAGED_SUITES: &[u16] =
    &[0x002F, 0x0035, 0x003C, 0x003D, 0x009C, 0x009D, 0x000A, 0xC012, 0x0016];

/// Whether `suite` is one of the suites [`Offer::Discouraged`] offers.
pub fn is_discouraged_suite(suite: u16) -> bool {
    DISCOURAGED_SUITES.contains(&suite)
}

/// Whether `suite` is one of the suites [`Offer::WeakSuites`] offers.
pub fn is_weak_suite(suite: u16) -> bool {
    WEAK_SUITES.contains(&suite)
}

/// How the server answered a hand-written ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A ServerHello: it agreed to `version` (`0x0301` TLS 1.0 … `0x0303` TLS
    /// 1.2) and `suite`.
    Accepted {
        /// The ServerHello's version.
        version: u16,
        /// The suite it chose.
        suite: u16,
    },
    /// An alert (its name), a close, or bytes that are not TLS: no agreement.
    Refused(String),
}

/// A version's name.
pub fn version_name(version: u16) -> String {
    match version {
        0x0300 => "SSL 3.0".to_owned(),
        0x0301 => "TLS 1.0".to_owned(),
        0x0302 => "TLS 1.1".to_owned(),
        0x0303 => "TLS 1.2".to_owned(),
        0x0304 => "TLS 1.3".to_owned(),
        v => format!("version 0x{v:04x}"),
    }
}

fn u16_be(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn with_len16(out: &mut Vec<u8>, body: &[u8]) {
    u16_be(out, body.len() as u16);
    out.extend_from_slice(body);
}

fn extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    u16_be(out, kind);
    with_len16(out, body);
}

/// The ClientHello record for `offer`, naming `host` (SNI) when it is a name.
pub fn client_hello(offer: Offer, host: Option<&str>) -> Vec<u8> {
    let (version, suites) = match offer {
        Offer::Legacy => (0x0302u16, LEGACY_SUITES),
        Offer::WeakSuites => (0x0303u16, WEAK_SUITES),
        Offer::Discouraged => (0x0303u16, DISCOURAGED_SUITES),
    };
    let mut extensions = Vec::new();
    if let Some(host) = host {
        let mut name = vec![0u8];
        with_len16(&mut name, host.as_bytes());
        let mut list = Vec::new();
        with_len16(&mut list, &name);
        extension(&mut extensions, 0x0000, &list);
    }
    // supported_groups: x25519, secp256r1, secp384r1; ec_point_formats: uncompressed.
    extension(&mut extensions, 0x000A, &[0, 6, 0x00, 0x1D, 0x00, 0x17, 0x00, 0x18]);
    extension(&mut extensions, 0x000B, &[1, 0]);
    if offer != Offer::Legacy {
        // signature_algorithms: rsa_pkcs1_sha256, ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, rsa_pkcs1_sha1.
        extension(&mut extensions, 0x000D, &[0, 8, 0x04, 0x01, 0x04, 0x03, 0x08, 0x04, 0x02, 0x01]);
    }
    let mut hello = Vec::new();
    u16_be(&mut hello, version);
    hello.extend((0..32).map(|_| rand::random::<u8>()));
    hello.push(0); // no session id
    let mut suite_bytes = Vec::new();
    for s in suites {
        u16_be(&mut suite_bytes, *s);
    }
    with_len16(&mut hello, &suite_bytes);
    hello.extend_from_slice(&[1, 0]); // compression: null only
    with_len16(&mut hello, &extensions);
    let mut handshake = vec![0x01];
    handshake.extend_from_slice(&(hello.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&hello);
    let mut record = vec![0x16, 0x03, 0x01];
    with_len16(&mut record, &handshake);
    record
}

/// Reads the server's first TLS record after `hello` and says what it was.
pub fn read_reply(first: &[u8]) -> Reply {
    if first.len() < 5 {
        return Reply::Refused("the connection closed".to_owned());
    }
    match first[0] {
        0x15 if first.len() >= 7 => {
            let alert = rustls::AlertDescription::from(first[6]);
            Reply::Refused(format!("the TLS alert {}", alert_name(alert)))
        }
        0x16 if first.len() > 5 + 4 + 2 + 32 && first[5] == 0x02 => {
            let body = &first[9..];
            let version = u16::from_be_bytes([body[0], body[1]]);
            let session = usize::from(body[34]);
            match body.get(35 + session..37 + session) {
                Some(s) => Reply::Accepted { version, suite: u16::from_be_bytes([s[0], s[1]]) },
                None => Reply::Refused("a ServerHello cut short".to_owned()),
            }
        }
        _ => Reply::Refused("an answer that is not a TLS handshake".to_owned()),
    }
}

/// Sends `offer`'s ClientHello to `url`'s host and reads the first answer,
/// within `timeout`.
pub async fn offer(url: &Url, offer: Offer, timeout: Duration) -> Result<Reply, SendError> {
    let addr = authority(url);
    let host = url.host_str().filter(|_| matches!(url.host(), Some(url::Host::Domain(_))));
    let hello = client_hello(offer, host);
    let exchange = async {
        let mut tcp = TcpStream::connect(&addr)
            .await
            .map_err(|e| SendError::Connect { addr: addr.clone(), reason: e.to_string() })?;
        if tcp.write_all(&hello).await.is_err() {
            return Ok(Reply::Refused("the connection closed".to_owned()));
        }
        let mut buf = Vec::with_capacity(1024);
        let mut chunk = [0u8; 4096];
        // Enough of the first record: its header and, for a handshake, the ServerHello's start.
        while buf.len() < 5 + 4 + 2 + 32 + 1 + 32 + 2 {
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if buf.len() >= 7 && buf[0] == 0x15 {
                break;
            }
        }
        Ok(read_reply(&buf))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(SendError::Timeout(timeout)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hellos_are_well_formed_and_replies_read() {
        let hello = client_hello(Offer::Legacy, Some("api.test"));
        assert_eq!(&hello[..3], &[0x16, 0x03, 0x01]);
        assert_eq!(usize::from(u16::from_be_bytes([hello[3], hello[4]])), hello.len() - 5);
        assert_eq!(hello[5], 0x01);
        assert_eq!(&hello[9..11], &[0x03, 0x02], "TLS 1.1 at most");
        let weak = client_hello(Offer::WeakSuites, None);
        assert_eq!(&weak[9..11], &[0x03, 0x03]);
        let alert = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46];
        assert_eq!(read_reply(&alert), Reply::Refused("the TLS alert protocol_version".to_owned()));
        let mut server_hello =
            vec![0x16, 0x03, 0x02, 0x00, 0x2A, 0x02, 0x00, 0x00, 0x26, 0x03, 0x02];
        server_hello.extend([7u8; 32]);
        server_hello.extend([0x00, 0xC0, 0x13, 0x00]);
        assert_eq!(read_reply(&server_hello), Reply::Accepted { version: 0x0302, suite: 0xC013 });
        assert!(matches!(read_reply(b"HTTP/1.1 400 Bad Request\r\n"), Reply::Refused(_)));
        assert!(matches!(read_reply(b""), Reply::Refused(_)));
    }
}
