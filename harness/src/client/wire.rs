//! The wire: a request written and its answer read over one connection, and
//! the answer parsed.

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{MAX_RESPONSE, RawResponse, SendError, alert_of};

pub(super) async fn roundtrip<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    request: &[u8],
    head_only: bool,
) -> Result<RawResponse, SendError> {
    let started = Instant::now();
    // Written and read at once: a server may answer before the request is all
    // in — 431 to a header it will not read — and then stop reading or close.
    // The answer is already in our receive queue even when the write fails
    // with a reset, so it is read before the write's error is believed.
    let (mut reader, mut writer) = tokio::io::split(stream);
    let write = async {
        writer.write_all(request).await?;
        writer.flush().await
    };
    tokio::pin!(write);
    let mut writing = true;
    let mut write_error: Option<std::io::Error> = None;
    let unwritten = |e: &std::io::Error| SendError::Closed(format!("writing the request: {e}"));
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        let read = tokio::select! {
            written = &mut write, if writing => {
                writing = false;
                if let Err(e) = written {
                    if let Some(alert) = alert_of(&e) {
                        return Err(SendError::Alert { alert });
                    }
                    write_error = Some(e);
                }
                continue;
            }
            read = reader.read(&mut chunk) => read,
        };
        match read {
            Ok(0) => match &write_error {
                Some(e) if buf.is_empty() => return Err(unwritten(e)),
                _ => break,
            },
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() >= MAX_RESPONSE {
                    break;
                }
                // Stop as soon as the whole answer is in: some servers keep
                // the connection open a moment despite `Connection: close`.
                if complete(&buf, head_only) {
                    break;
                }
            }
            // A peer that closes without TLS close_notify still sent a whole answer.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !buf.is_empty() => break,
            Err(e) if !buf.is_empty() && e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => {
                return Err(match (alert_of(&e), &write_error) {
                    (Some(alert), _) => SendError::Alert { alert },
                    (None, Some(first)) if buf.is_empty() => unwritten(first),
                    (None, None) if buf.is_empty() => {
                        SendError::Closed(format!("reading the answer: {e}"))
                    }
                    (None, _) => SendError::Protocol(format!("reading the answer: {e}")),
                });
            }
        }
    }
    let elapsed = started.elapsed();
    parse(&buf, head_only, elapsed)
}

/// Whether `buf` holds a complete answer (headers and, by length, the body).
pub(super) fn complete(buf: &[u8], head_only: bool) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(head_len)) = response.parse(buf) else { return false };
    if head_only || matches!(response.code, Some(204 | 304)) {
        return true;
    }
    let length = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse::<usize>().ok());
    match length {
        Some(n) => buf.len() >= head_len + n,
        // Chunked or close-delimited: a chunked body ends with the last chunk.
        None => buf.ends_with(b"0\r\n\r\n"),
    }
}

pub(super) fn parse(
    buf: &[u8],
    head_only: bool,
    elapsed: Duration,
) -> Result<RawResponse, SendError> {
    if buf.is_empty() {
        return Err(SendError::Closed("no byte was sent".to_owned()));
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return Err(SendError::Protocol("the answer's header was cut off".to_owned()));
        }
        Err(e) => return Err(SendError::Protocol(format!("not an HTTP answer: {e}"))),
    };
    let status = response.code.unwrap_or(0);
    let headers: Vec<(String, String)> = response
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned()))
        .collect();
    let raw_body = &buf[head_len..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if head_only {
        Vec::new()
    } else if chunked {
        dechunk(raw_body)
    } else {
        raw_body.to_vec()
    };
    Ok(RawResponse { status, headers, body, elapsed })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = std::str::from_utf8(&data[..line_end]).unwrap_or("0");
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        data = &data[line_end + 2..];
        if size == 0 || size > data.len() {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
    out
}
