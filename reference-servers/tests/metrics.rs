//! `/metrics`: requests and verification time by method and outcome, process CPU.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;

#[tokio::test]
async fn metrics_count_each_method_and_outcome_and_expose_process_cpu() {
    let s = TestServer::start(&[]).await;
    let password = s.field("basic", "password");
    s.get("/basic/resource").basic_auth("alice", Some(&password)).send().await.unwrap();
    s.get("/basic/resource").send().await.unwrap();
    s.get("/api-key/resource").header("X-API-Key", s.field("api_key", "key")).send().await.unwrap();
    s.get("/jwt/rs256/resource").bearer_auth("garbage").send().await.unwrap();
    let response = s.get("/metrics").send().await.unwrap();
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for line in [
        r#"authbench_requests_total{method="basic",outcome="ok"} 1"#,
        r#"authbench_requests_total{method="basic",outcome="missing"} 1"#,
        r#"authbench_requests_total{method="api_key",outcome="ok"} 1"#,
        r#"authbench_requests_total{method="jwt_rs256",outcome="invalid_token"} 1"#,
        r#"authbench_auth_verification_seconds_count{method="basic",outcome="ok"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
    }
    let cpu: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("process_cpu_seconds_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(cpu > 0.0);
    s.stop().await;
}
