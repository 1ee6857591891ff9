//! `overhead`, `fuzz` and `load` against TLS servers that answer with a body that
//! never ends, or never answer at all: each command ends within its duration
//! plus its timeouts, and stays under 500 MiB of memory.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

mod common;

#[derive(Clone, Copy)]
enum Mode {
    /// 200 with a chunked body that never ends.
    Endless,
    /// The TLS handshake, then silence.
    Silent,
    /// The TLS handshake, then bytes that are not HTTP (after a first,
    /// well-formed 401, so that the pre-flight finds a server).
    Garbage,
}

/// A TLS server on loopback; returns its port and the CA file to trust.
fn start(mode: Mode, dir: &std::path::Path) -> (u16, PathBuf) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, cert.pem()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = std_listener.local_addr().unwrap().port();
    std_listener.set_nonblocking(true).unwrap();
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let listener = TcpListener::from_std(std_listener).unwrap();
            loop {
                let Ok((socket, _)) = listener.accept().await else { return };
                let acceptor = acceptor.clone();
                let answered = Arc::clone(&answered);
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(socket).await else { return };
                    let mut buf = [0u8; 8192];
                    if tls.read(&mut buf).await.unwrap_or(0) == 0 {
                        return;
                    }
                    match mode {
                        Mode::Silent => tokio::time::sleep(Duration::from_secs(600)).await,
                        Mode::Garbage => {
                            let first =
                                answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
                            let answer: &[u8] = if first {
                                b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n"
                            } else {
                                b"\x00\x17garbage, not HTTP\r\n\r\n"
                            };
                            let _ = tls.write_all(answer).await;
                            let _ = tls.shutdown().await;
                        }
                        Mode::Endless => {
                            let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
                            if tls.write_all(head.as_bytes()).await.is_err() {
                                return;
                            }
                            let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
                            while tls.write_all(chunk.as_bytes()).await.is_ok() {}
                        }
                    }
                });
            }
        });
    });
    (port, ca)
}

fn profile(port: u16, ca: &std::path::Path, dir: &std::path::Path) -> PathBuf {
    let path = dir.join("target.toml");
    std::fs::write(
        &path,
        format!(
            r#"version = 1
name = "hostile-load"
base_url = "https://localhost:{port}"
baseline_url = "/baseline"
ca_file = "{}"

[api_key]
url = "/api-key"
header = "X-API-Key"
key = "sk_test_hostile0123456789abcdefghijklmnopqrstuv"
"#,
            ca.display()
        ),
    )
    .unwrap();
    path
}

/// Runs `authbench args…`, sampling its resident memory; (wall time, peak
/// RSS in MiB, exit code). Killed after `limit`.
fn run_watched(args: &[&str], limit: Duration) -> (Duration, u64, Option<i32>) {
    let started = Instant::now();
    let mut child = Command::new(common::BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut peak_kib = 0u64;
    loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", child.id())) {
            let rss = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0);
            peak_kib = peak_kib.max(rss);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (started.elapsed(), peak_kib / 1024, status.code());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return (started.elapsed(), peak_kib / 1024, None);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn check(mode: Mode, command: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (port, ca) = start(mode, dir.path());
    let profile = profile(port, &ca, dir.path());
    let mut args: Vec<&str> = command.to_vec();
    let profile_text = profile.display().to_string();
    args.extend(["--target", &profile_text]);
    let (elapsed, peak_mib, code) = run_watched(&args, Duration::from_secs(120));
    assert!(code.is_some(), "{command:?} did not end within 120 s");
    assert!(elapsed < Duration::from_secs(2 + 30), "{command:?} took {elapsed:?}");
    assert!(peak_mib < 500, "{command:?} peaked at {peak_mib} MiB");
    assert_ne!(code, Some(0), "{command:?} cannot succeed against this target");
}

#[test]
fn overhead_survives_an_endless_body() {
    check(
        Mode::Endless,
        &["overhead", "--methods", "api_key", "--duration", "2", "--rounds", "1", "--warmup", "0"],
    );
}

#[test]
fn overhead_survives_a_silent_target() {
    check(
        Mode::Silent,
        &["overhead", "--methods", "api_key", "--duration", "2", "--rounds", "1", "--warmup", "0"],
    );
}

#[test]
fn fuzz_survives_an_endless_body() {
    check(Mode::Endless, &["fuzz", "--methods", "api_key", "--duration", "2"]);
}

#[test]
fn fuzz_survives_a_silent_target() {
    check(Mode::Silent, &["fuzz", "--methods", "api_key", "--duration", "2"]);
}

#[test]
fn load_survives_an_endless_body() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path().display().to_string();
    check(Mode::Endless, &["load", "--profile", "smoke", "--duration", "2", "--out", &out]);
}

#[test]
fn load_survives_a_silent_target() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path().display().to_string();
    check(Mode::Silent, &["load", "--profile", "smoke", "--duration", "2", "--out", &out]);
}

/// A TLS server that answers bytes that are not HTTP refuses nothing: the
/// mTLS and layered cases are `error`, never a pass.
#[test]
fn garbage_after_the_handshake_is_no_certificate_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let (port, ca) = start(Mode::Garbage, dir.path());
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["client".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.path().join("client.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("client.key"), key.serialize_pem()).unwrap();
    let path = dir.path().join("target.toml");
    std::fs::write(
        &path,
        format!(
            "version = 1\nname = \"garbage\"\nbase_url = \"https://localhost:{port}\"\nca_file = \"{}\"\n\
             [mtls]\nurl = \"/resource\"\nclient_cert_file = \"client.pem\"\nclient_key_file = \"client.key\"\n",
            ca.display()
        ),
    )
    .unwrap();
    let out = Command::new(common::BIN)
        .args(["conform", "--methods", "mtls", "--format", "json", "--target"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cases = results["cases"].as_array().unwrap();
    // The transport cases judge the TLS this server does speak, and speaks
    // well (TLS 1.3, a valid certificate, legacy and weak hellos refused):
    // they may pass. Nothing that rests on an HTTP answer may.
    let transport = authbench::methods::transport::STEPS;
    let passed: Vec<&str> = cases
        .iter()
        .filter(|c| c["outcome"] == "pass")
        .map(|c| c["id"].as_str().unwrap())
        .filter(|id| !transport.iter().any(|t| id.ends_with(&format!("::{t}"))))
        .collect();
    assert!(passed.is_empty(), "passed against garbage: {passed:?}");
    let errors = cases.iter().filter(|c| c["outcome"] == "error").count();
    assert!(errors >= 5, "{cases:#?}");
    let findings = results["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["id"] == "error:not-http"), "{findings:#?}");
    assert!(findings.iter().all(|f| f["kind"] != "security"), "{findings:#?}");
}
