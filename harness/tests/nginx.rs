//! nginx (Debian's package), configured the way its documentation and
//! common practice do, against the catalog: client certificates with CRLs
//! (the mTLS cases) and the guide's partner answer, a key with an address
//! allowlist (the allowlist cases). Each deviation found is one README.md
//! explains; a new one, or a listed one that now passes, fails the test.
//! `scripts/provision` installs nginx.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use authbench::catalog::load_catalog;
use authbench::commands::conform::run_against;
use authbench::embedded::Embedded;
use common::{check, not_passing};

/// A child process killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Deviations of nginx (Debian's 1.22, OpenSSL 3) as README.md explains them.
const NGINX_DEVIATIONS: &[(&str, &str)] = &[(
    "mtls::ca-as-leaf",
    "OpenSSL's client purpose check accepts a CA certificate (CA:TRUE, clientAuth) as the end entity",
)];

/// The start of every test configuration: in the foreground, one worker,
/// every file nginx writes under `work`, and the `http` block opened.
fn preamble(work: &Path) -> String {
    let w = work.display();
    format!(
        r#"daemon off;
worker_processes 1;
pid {w}/nginx.pid;
error_log {w}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {w}/body;
    proxy_temp_path {w}/proxy;
    fastcgi_temp_path {w}/fastcgi;
    uwsgi_temp_path {w}/uwsgi;
    scgi_temp_path {w}/scgi;"#
    )
}

fn nginx_binary() -> PathBuf {
    for candidate in ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"] {
        if Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    panic!("nginx is not installed: `apt-get install nginx-light` or nginx (.ci/run does)");
}

/// nginx with `conf`, once it accepts connections on `port` (a deadline,
/// never a fixed sleep); killed when the guard drops.
fn start(nginx: &Path, conf: &Path, work: &Path, port: u16) -> Server {
    let child = Command::new(nginx)
        .arg("-c")
        .arg(conf)
        .arg("-e")
        .arg(work.join("error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not listen within 20 s: {}",
            std::fs::read_to_string(work.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn nginx_with_client_certificates_and_a_crl() {
    let nginx = nginx_binary();
    // The reference servers generate the PKI, the client certificates (one
    // revoked, on the CRL) and a profile naming them; nginx serves the resource.
    let embedded = Embedded::start(&[]).await.unwrap();
    let state = embedded.profile_path().parent().unwrap().to_owned();
    let pki = state.join("pki");
    let root_crl = root_crl(&pki);
    let work = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = work.path().join("nginx.conf");
    let p = pki.display();
    let preamble = preamble(work.path());
    std::fs::write(
        &conf,
        format!(
            r#"{preamble}
    # Identity from the verified certificate's subject: who may read.
    map $ssl_client_s_dn $mtls_verdict {{
        default                  unknown;
        "~(^|,)CN=client-a(,|$)"   allow;
        "~(^|,)CN=client-rsa(,|$)" allow;
        "~(^|,)CN=client-b(,|$)"   forbid;
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {p}/server.pem;
        ssl_certificate_key {p}/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_client_certificate {p}/ca.pem;
        ssl_verify_client on;
        ssl_verify_depth 2;
        ssl_crl {crl};
        location / {{
            default_type application/json;
            if ($mtls_verdict = unknown) {{ return 401 '{{"error":"unknown_client"}}'; }}
            if ($mtls_verdict = forbid) {{ return 403 '{{"error":"forbidden"}}'; }}
            return 200 '{{"ok":true}}';
        }}
    }}
}}
"#,
            crl = root_crl.display()
        ),
    )
    .unwrap();
    let _server = start(&nginx, &conf, work.path(), port);
    // The reference profile's [mtls] section, pointed at nginx.
    let reference = std::fs::read_to_string(embedded.profile_path()).unwrap();
    let mtls = reference.split("\n[mtls]\n").nth(1).unwrap().split("\n[").next().unwrap();
    let mtls: String = mtls
        .lines()
        .map(|l| {
            if l.starts_with("url =") {
                format!("url = \"https://127.0.0.1:{port}/resource\"")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let profile = state.join("nginx-target.toml");
    std::fs::write(
        &profile,
        format!(
            "version = 1\nname = \"nginx\"\nbase_url = \"https://127.0.0.1:{port}\"\nca_file = \"pki/ca.pem\"\n\n[mtls]\n{mtls}\n"
        ),
    )
    .unwrap();
    let found = not_passing(&profile, "mtls").await;
    embedded.stop().await;
    check(found, NGINX_DEVIATIONS);
}

/// The guide's partner answer built the common nginx way: the key checked
/// with a `map` and an `if`, the partner's address with `allow`/`deny`.
/// nginx runs the rewrite phase (the `if`) before the access phase
/// (`allow`/`deny`) whatever the order of the lines, so from a refused
/// address an unknown key gets 401 and the valid key 403: the allowlist
/// holds, X-Forwarded-For is not believed (no realip module), and the
/// refusal tells a leaked key's holder that the key is valid — the `should`
/// the allowlist cases report, and nothing else.
#[tokio::test]
async fn nginx_with_a_key_and_an_address_allowlist() {
    let nginx = nginx_binary();
    let work = tempfile::tempdir().unwrap();
    let port = free_port();
    let w = work.path().display();
    std::fs::create_dir_all(work.path().join("www/partner")).unwrap();
    std::fs::write(work.path().join("www/partner/resource"), "{\"ok\":true}\n").unwrap();
    let key = "sk_live_nginxPartnerKey0123456789abcdefghijklmnopq";
    let conf = work.path().join("nginx.conf");
    let preamble = preamble(work.path());
    std::fs::write(
        &conf,
        format!(
            r#"{preamble}
    # A 51-character key is longer than the default bucket holds.
    map_hash_bucket_size 128;
    map $http_x_api_key $api_key_valid {{
        default 0;
        "{key}" 1;
    }}
    server {{
        listen 127.0.0.1:{port};
        root {w}/www;
        default_type application/json;
        location = /partner/resource {{
            allow 127.0.0.2;
            deny all;
            if ($api_key_valid = 0) {{
                add_header WWW-Authenticate 'ApiKey realm="nginx"' always;
                return 401 '{{"error":"unauthorized"}}';
            }}
        }}
    }}
}}
"#
        ),
    )
    .unwrap();
    let _server = start(&nginx, &conf, work.path(), port);
    let profile = work.path().join("target.toml");
    std::fs::write(
        &profile,
        format!(
            "version = 1\nname = \"nginx-allowlist\"\nbase_url = \"http://127.0.0.1:{port}\"\n\n\
             [api_key]\nurl = \"/partner/resource\"\nheader = \"X-API-Key\"\nkey = \"{key}\"\n\n\
             [api_key.allowlist]\nallowed_source = \"127.0.0.2\"\nrefused_source = \"127.0.0.3\"\n"
        ),
    )
    .unwrap();
    let cases: Vec<_> = load_catalog(None)
        .unwrap()
        .cases
        .into_iter()
        .filter(|c| c.id.starts_with("api_key::allowlist"))
        .collect();
    assert_eq!(cases.len(), 4, "the allowlist cases");
    let results = run_against(&profile, cases, &Default::default()).await.unwrap();
    let outcomes: BTreeMap<&str, (&str, String)> = results
        .cases
        .iter()
        .map(|c| (c.id.as_str(), (c.outcome.as_str(), format!("{:?}: {}", c.reason, c.observed))))
        .collect();
    let outcome = |id: &str| outcomes[id].0;
    assert_eq!(
        outcome("api_key::allowlisted-key-served-from-allowed-source"),
        "pass",
        "{outcomes:#?}"
    );
    assert_eq!(
        outcome("api_key::allowlisted-key-refused-from-other-source"),
        "pass",
        "{outcomes:#?}"
    );
    assert_eq!(outcome("api_key::allowlist-ignores-forwarded-for"), "pass", "{outcomes:#?}");
    assert_eq!(outcome("api_key::allowlist-refusal-reveals-nothing"), "warn", "{outcomes:#?}");
    let reveals = &outcomes["api_key::allowlist-refusal-reveals-nothing"].1;
    assert!(
        reveals.contains("valid key: 403") && reveals.contains("unknown key: 401"),
        "{reveals}"
    );
}

/// nginx checks CRLs for the whole chain (OpenSSL's CRL_CHECK_ALL): the
/// root must publish one too. One combined file: the root's (empty) and the
/// client CA's (with the revoked client).
fn root_crl(pki: &Path) -> PathBuf {
    use rcgen::{CertificateRevocationListParams, Issuer, KeyIdMethod, KeyPair, SerialNumber};
    let ca_pem = std::fs::read_to_string(pki.join("ca.pem")).unwrap();
    let key = KeyPair::from_pem(&std::fs::read_to_string(pki.join("ca.key")).unwrap()).unwrap();
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, key).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let crl = CertificateRevocationListParams {
        this_update: now - time::Duration::minutes(5),
        next_update: now + time::Duration::days(1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: Vec::new(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .unwrap();
    let client_crl = std::fs::read_to_string(pki.join("client-ca.crl.pem")).unwrap();
    let path = pki.join("all.crl.pem");
    std::fs::write(&path, format!("{}{client_crl}", crl.pem().unwrap())).unwrap();
    path
}
