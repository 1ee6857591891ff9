//! `authbench serve` as a user runs it: the binary, real sockets, signals, and a
//! `kill -9` in the middle.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_authbench");

struct Serve {
    child: Child,
    base_url: String,
    /// The whole `ready` line.
    ready: String,
}

/// Starts `serve` and waits (with a deadline, never a fixed sleep) for its `ready` line.
async fn serve(state: &Path, extra: &[&str]) -> Serve {
    let mut args = vec!["--state", state.to_str().unwrap()];
    args.extend_from_slice(extra);
    serve_with(&args).await
}

/// Starts `serve --bind 127.0.0.1:0` with `args` and waits for `ready`.
async fn serve_with(args: &[&str]) -> Serve {
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("serve did not print ready within 60 s")
        .unwrap()
        .expect("serve exited before printing ready");
    assert!(line.starts_with("ready "), "{line}");
    let base_url = line.split_whitespace().nth(1).unwrap().to_owned();
    Serve { child, base_url, ready: line }
}

fn client(state: &Path) -> reqwest::Client {
    let ca = std::fs::read(state.join("pki/ca.pem")).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .build()
        .unwrap()
}

fn profile(state: &Path) -> toml::Table {
    std::fs::read_to_string(state.join("target.toml")).unwrap().parse().unwrap()
}

async fn status(request: reqwest::RequestBuilder) -> u16 {
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn revocations_survive_kill_9_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path();
    let first = serve(state, &[]).await;
    let http = client(state);
    let p = profile(state);
    let key = p["api_key"]["key"].as_str().unwrap().to_owned();
    let revoked_key = p["api_key"]["revoked_key"].as_str().unwrap().to_owned();
    let password = p["basic"]["password"].as_str().unwrap().to_owned();
    let admin = std::fs::read_to_string(state.join("admin.token")).unwrap();
    let url = |s: &Serve, path: &str| format!("{}{path}", s.base_url);

    assert_eq!(
        status(http.get(url(&first, "/api-key/resource")).header("X-API-Key", &key)).await,
        200
    );
    assert_eq!(
        status(http.get(url(&first, "/api-key/resource")).header("X-API-Key", &revoked_key)).await,
        401
    );

    // Create a key and revoke it; the 200 is the server's promise that the revocation is durable.
    let created: Value = http
        .post(url(&first, "/admin/api-keys"))
        .bearer_auth(&admin)
        .json(&json!({"client_id": "crash-test"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_key = created["key"].as_str().unwrap().to_owned();
    assert_eq!(
        status(http.get(url(&first, "/api-key/resource")).header("X-API-Key", &new_key)).await,
        200
    );
    let revoke = http
        .post(url(&first, &format!("/admin/api-keys/{}/revoke", created["id"].as_str().unwrap())))
        .bearer_auth(&admin);
    assert_eq!(status(revoke).await, 200);

    // And revoke a fresh JWT's jti through the admin API.
    let password_form = [("alg", "RS256")];
    let issued: Value = http
        .post(url(&first, "/jwt/token"))
        .basic_auth("alice", Some(&password))
        .form(&password_form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = issued["access_token"].as_str().unwrap().to_owned();
    let claims: Value =
        serde_json::from_slice(&base64_url_decode(jwt.split('.').nth(1).unwrap())).unwrap();
    assert_eq!(
        status(http.get(url(&first, "/jwt/revocable/resource")).bearer_auth(&jwt)).await,
        200
    );
    let revoke_jti = http
        .post(url(&first, "/admin/jwt/revocations"))
        .bearer_auth(&admin)
        .json(&json!({"jti": claims["jti"]}));
    assert_eq!(status(revoke_jti).await, 201);
    let ca_before = std::fs::read(state.join("pki/ca.pem")).unwrap();

    let mut first = first;
    first.child.start_kill().unwrap(); // SIGKILL: no chance to flush anything
    first.child.wait().await.unwrap();

    let second = serve(state, &[]).await;
    assert_eq!(std::fs::read(state.join("pki/ca.pem")).unwrap(), ca_before, "the PKI is reused");
    // The old client, built from the old CA, still verifies the server.
    assert_eq!(
        profile(state)["api_key"]["key"].as_str().unwrap(),
        key,
        "demo credentials are stable"
    );
    assert_eq!(
        status(http.get(url(&second, "/api-key/resource")).header("X-API-Key", &revoked_key)).await,
        401
    );
    assert_eq!(
        status(http.get(url(&second, "/api-key/resource")).header("X-API-Key", &new_key)).await,
        401
    );
    assert_eq!(
        status(http.get(url(&second, "/api-key/resource")).header("X-API-Key", &key)).await,
        200
    );
    assert_eq!(
        status(http.get(url(&second, "/basic/resource")).basic_auth("alice", Some(&password)))
            .await,
        200
    );
    let token = profile(state)["jwt"]["revoked_token"].as_str().unwrap().to_owned();
    assert_eq!(
        status(http.get(url(&second, "/jwt/revocable/resource")).bearer_auth(&token)).await,
        401
    );
    assert_eq!(
        status(http.get(url(&second, "/jwt/revocable/resource")).bearer_auth(&jwt)).await,
        401
    );
}

fn base64_url_decode(segment: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(segment).unwrap()
}

async fn signal_and_wait(child: &mut Child, signal: &str) {
    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill").args([signal, &pid]).status().unwrap();
    assert!(sent.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.unwrap().unwrap();
    assert_eq!(exit.code(), Some(0), "clean exit after {signal}");
}

#[tokio::test]
async fn sigterm_shuts_down_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = serve(dir.path(), &["--flaw", "jwt-skip-exp"]).await;
    assert_eq!(profile(dir.path())["reference"]["flaws"].as_array().unwrap().len(), 1);
    signal_and_wait(&mut s.child, "-TERM").await;
}

#[tokio::test]
async fn without_state_a_temporary_directory_is_used_and_removed_on_sigint() {
    let mut s = serve_with(&[]).await;
    let profile_path =
        s.ready.split_whitespace().find_map(|w| w.strip_prefix("profile=")).unwrap().to_owned();
    let state = Path::new(&profile_path).parent().unwrap().to_owned();
    assert!(state.join("state.db").exists());
    assert_eq!(status(client(&state).get(format!("{}/baseline", s.base_url))).await, 200);
    signal_and_wait(&mut s.child, "-INT").await;
    assert!(!state.exists(), "{} was left behind", state.display());
}

#[test]
fn list_flaws_names_every_flaw_with_a_sentence() {
    let out = std::process::Command::new(BIN).args(["serve", "--list-flaws"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flaw in authbench_servers::Flaw::ALL {
        let line = text.lines().find(|l| l.starts_with(flaw.name())).unwrap();
        assert!(line.ends_with('.'), "{line}");
    }
}

#[test]
fn user_mistakes_get_one_clear_line_and_exit_2() {
    let out = std::process::Command::new(BIN)
        .args(["serve", "--flaw", "jwt-accept-anything"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--flaw") && err.contains("--list-flaws"), "{err}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--state", dir.path().to_str().unwrap(), "--bind", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(&addr) && err.contains("--bind"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
