//! Golden-file tests: each renderer's output for a fixed set of results.
//! Run with `AUTHBENCH_UPDATE_GOLDEN=1` to rewrite the files after an intended change.

#![allow(clippy::unwrap_used)]

use authbench_reports::compare::{
    Band, Comparison, Complexity, Counts, Distributions, Exchanges, Interval, Machine, NoiseFloor,
    PERCENTILES, Point, Row, Security,
};
use authbench_reports::{
    CaseResult, Finding, FindingKind, Format, Outcome, Parts, Results, render, render_comparison,
};

fn case(id: &str, outcome: Outcome, reason: Option<&str>) -> CaseResult {
    CaseResult {
        id: id.to_owned(),
        method: id.split("::").next().unwrap_or_default().to_owned(),
        title: format!("Title of {id}"),
        requirements: vec!["RFC 7519 §4.1.4".to_owned()],
        severity: "must".to_owned(),
        outcome,
        expected: "401 + WWW-Authenticate: Bearer error=\"invalid_token\"".to_owned(),
        observed: if outcome == Outcome::Fail { "200".to_owned() } else { "401".to_owned() },
        reason: reason.map(str::to_owned),
        duration_ms: 3,
        measurement: None,
        parts: None,
        findings: Vec::new(),
        operation: None,
        threats: Vec::new(),
    }
}

fn results() -> Results {
    let mut r = Results::new(
        "golden-target",
        "2026-11-29T12:00:00Z".to_owned(),
        1234,
        vec![
            case("basic::no-credentials", Outcome::Pass, None),
            case("basic::throttled | piped", Outcome::Warn, Some("429 without Retry-After")),
            case("jwt::exp-past-leeway", Outcome::Fail, Some("status 200")),
            case(
                "jwt::revoked-token",
                Outcome::Skip,
                Some("the profile's [jwt] has no revoked credential"),
            ),
            case("jwt::valid-token", Outcome::Error, Some("no answer within 10s")),
        ],
    );
    // Parts and findings as conform writes them: the warned case refused but
    // without the right form; the failed one served an expired token.
    r.cases[1].parts = Some(Parts { outcome: Outcome::Pass, form: Outcome::Warn });
    r.cases[1].findings = vec!["form:header-retry-after".to_owned()];
    r.cases[2].parts = Some(Parts { outcome: Outcome::Fail, form: Outcome::Skip });
    r.cases[2].findings = vec!["security:exp-not-enforced".to_owned()];
    r.cases[2].observed = "200 <script>\u{1b}[2J".to_owned();
    r.cases[4].findings = vec!["error:timeout".to_owned()];
    let finding = |id: &str, kind, severity: &str, title: &str, case: &str| Finding {
        id: id.to_owned(),
        kind,
        title: title.to_owned(),
        requirements: vec!["RFC 7519 §4.1.4".to_owned()],
        severity: severity.to_owned(),
        cases: vec![case.to_owned()],
        remediation: "Require `exp` and refuse a token once it has passed.".to_owned(),
    };
    r.with_findings(vec![
        finding(
            "security:exp-not-enforced",
            FindingKind::Security,
            "must",
            "The token lifetime (`exp`) is not enforced",
            "jwt::exp-past-leeway",
        ),
        finding(
            "error:timeout",
            FindingKind::Error,
            "must",
            "The target gave no complete answer within the timeout",
            "jwt::valid-token",
        ),
        finding(
            "form:header-retry-after",
            FindingKind::Form,
            "should",
            "Answers lack the `Retry-After` header | piped <b>",
            "basic::throttled | piped",
        ),
    ])
}

/// A comparison of three rows: one with latency charts, one saturated, one
/// with a note and no measurements.
fn comparison() -> Comparison {
    let curve = |scale: f64| -> Vec<Point> {
        PERCENTILES
            .iter()
            .map(|p| Point {
                percentile: *p,
                us: (scale * (1.0 + 100.0 / (100.5 - p)) * 10.0).round() / 10.0,
            })
            .collect()
    };
    let band = |scale: f64| -> Vec<Band> {
        curve(scale)
            .iter()
            .map(|p| Band {
                percentile: p.percentile,
                low_us: (p.us * 0.9 * 10.0).round() / 10.0,
                high_us: (p.us * 1.15 * 10.0).round() / 10.0,
            })
            .collect()
    };
    let interval = |estimate: f64, low: f64, high: f64| Interval { estimate, low, high, rounds: 8 };
    let noise = NoiseFloor {
        cpu_us: Some(3.0),
        p50_us: Some(25.0),
        p99_us: Some(400.0),
        throughput: Some(0.04),
    };
    let row = |name: &str, method: &str| Row {
        configuration: name.to_owned(),
        method: method.to_owned(),
        conformance: Counts { passed: 66, judged: 67 },
        replay_window: "24 h (exp)*".to_owned(),
        revocation: "at exp; 54 ms with a jti list*".to_owned(),
        user_context: "user".to_owned(),
        delegation: "no".to_owned(),
        credential_bytes: Some(420),
        credential_bytes_per: "req".to_owned(),
        added_cpu_us_per_request: Some(97.6),
        added_p50_us: Some(96.9),
        added_p99_us: Some(2431.0),
        throughput_ratio: Some(0.291),
        added_cpu_interval: Some(interval(97.6, 90.0, 105.2)),
        // An interval that contains zero: printed as ≈ 0.
        added_p50_interval: Some(interval(96.9, -10.0, 203.8)),
        added_p99_interval: Some(interval(2431.0, 2000.0, 2862.0)),
        throughput_interval: Some(interval(0.291, 0.281, 0.301)),
        noise_floor: Some(noise),
        expiration: "24 h (exp)*".to_owned(),
        client_secret: "short-lived token (password to get one)".to_owned(),
        complexity: Some(Complexity {
            obtain: Exchanges {
                requests: 4,
                endpoints: vec![
                    "GET https://127.0.0.1/oauth/authorize".to_owned(),
                    "POST https://127.0.0.1/oauth/login".to_owned(),
                    "POST https://127.0.0.1/oauth/token".to_owned(),
                ],
            },
            renew: Some(Exchanges {
                requests: 1,
                endpoints: vec!["POST https://127.0.0.1/oauth/token".to_owned()],
            }),
            handshake: false,
            note: None,
        }),
        server_state: "none (a public key); a jti denylist to revoke".to_owned(),
        security: Some(Security {
            countered: vec!["token-forgery".to_owned(), "stale-credential".to_owned()],
            open: vec!["validity-oracle".to_owned()],
        }),
        best_for: vec!["public-api-user-data".to_owned()],
        note: None,
        latency: Some(Distributions {
            rate: 4106.2,
            baseline: curve(180.0),
            method: curve(260.0),
            baseline_band: band(180.0),
            method_band: band(260.0),
        }),
    };
    let mut saturated = row("basic", "basic");
    saturated.added_cpu_us_per_request = Some(29_970.0);
    saturated.added_p50_us = None;
    saturated.added_p99_us = None;
    saturated.throughput_ratio = Some(0.002);
    saturated.latency = None;
    saturated.note = Some(
        "no latency figures: its capacity (64 req/s) is below the latency run's rate (4106 req/s)"
            .to_owned(),
    );
    let mut unmeasured = row("oauth2-dpop | <x>", "oauth2");
    unmeasured.credential_bytes = None;
    unmeasured.added_cpu_us_per_request = None;
    unmeasured.added_p50_us = None;
    unmeasured.added_p99_us = None;
    unmeasured.throughput_ratio = None;
    unmeasured.latency = None;
    unmeasured.note = Some("the authorization server does not advertise DPoP".to_owned());
    unmeasured.added_cpu_interval = None;
    unmeasured.added_p50_interval = None;
    unmeasured.added_p99_interval = None;
    unmeasured.throughput_interval = None;
    saturated.added_cpu_interval = None;
    saturated.added_p50_interval = None;
    saturated.added_p99_interval = None;
    saturated.throughput_interval = None;
    // Below the noise floor, a negative estimate within its interval, and a
    // throughput indistinguishable from the baseline's.
    let mut noisy = row("api_key", "api_key");
    noisy.added_cpu_us_per_request = Some(1.2);
    noisy.added_cpu_interval = Some(interval(1.2, 0.8, 1.6));
    noisy.added_p50_us = Some(-4.0);
    noisy.added_p50_interval = Some(interval(-4.0, -9.0, 1.0));
    noisy.added_p99_us = Some(-17_280.0);
    noisy.added_p99_interval = Some(interval(-17_280.0, -40_000.0, 5_000.0));
    noisy.throughput_ratio = Some(1.1);
    noisy.throughput_interval = Some(interval(1.1, 0.9, 1.3));
    let conformance = results();
    Comparison {
        schema: authbench_reports::compare::SCHEMA.to_owned(),
        tool: conformance.tool.clone(),
        started_at: "2026-11-29T12:00:00Z".to_owned(),
        duration_secs: 43.2,
        quick: true,
        baseline_capacity: Some(41_062.3),
        latency_rate: Some(4106.2),
        handshake_latency_rate: Some(205.1),
        latency_fraction: 0.1,
        conformance_summary: conformance.summary,
        rows: vec![row("jwt-es256", "jwt"), noisy, saturated, unmeasured],
        conformance: Some(conformance),
        noise_floor: Some(noise),
        machine: Some(Machine {
            cpus: 2,
            cpu_model: Some("Example CPU @ 2.00GHz".to_owned()),
            kernel: Some("6.1.0".to_owned()),
            governor: None,
            placement: "The load generator and the reference servers shared all 2 CPUs (fewer than 4, too few to pin apart): the figures include their contention.".to_owned(),
        }),
    }
}

fn golden(name: &str, out: &[u8]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("AUTHBENCH_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, out).unwrap();
    }
    let golden = std::fs::read(&path).unwrap_or_default();
    assert_eq!(
        String::from_utf8_lossy(out),
        String::from_utf8_lossy(&golden),
        "{} differs from its golden file; rerun with AUTHBENCH_UPDATE_GOLDEN=1 if the change is intended",
        path.display()
    );
}

fn check(format: Format) {
    let mut out = Vec::new();
    render(&results(), format, &mut out).unwrap();
    golden(format.file_name(), &out);
}

fn check_comparison(format: Format) {
    let mut out = Vec::new();
    render_comparison(&comparison(), format, &mut out).unwrap();
    golden(format.comparison_file_name(), &out);
}

#[test]
fn html() {
    check(Format::Html);
}

#[test]
fn comparison_table() {
    check_comparison(Format::Table);
}

#[test]
fn the_comparison_fits_an_ordinary_terminal() {
    let mut out = Vec::new();
    render_comparison(&comparison(), Format::Table, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    for line in text.lines() {
        let width = line.chars().count();
        assert!(width <= 120, "{width} columns: {line}");
    }
    // Every column of the comparison is in one of the terminal's tables.
    for header in
        ["security", "expiration", "client keeps", "to obtain / renew", "server keeps", "Best for"]
    {
        assert!(text.contains(header), "no {header} column");
    }
}

#[test]
fn comparison_markdown() {
    check_comparison(Format::Markdown);
}

#[test]
fn comparison_json_round_trips() {
    check_comparison(Format::Json);
    let c = comparison();
    let back: Comparison = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);
}

#[test]
fn comparison_html() {
    check_comparison(Format::Html);
    let mut out = Vec::new();
    render_comparison(&comparison(), Format::Html, &mut out).unwrap();
    let html = String::from_utf8(out).unwrap();
    // One chart per row with a latency run; names escaped.
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(html.contains("oauth2-dpop | &lt;x&gt;"));
    // Each chart shades both sides' spread across rounds.
    assert_eq!(html.matches("<polygon class=\"band\"").count(), 4);
    assert!(html.contains("≈ 0 (±107 µs)") && html.contains("≈ 0 (noise ±3 µs)"));
}

#[test]
fn comparison_junit_and_sarif_are_its_conformance_results() {
    let c = comparison();
    for format in [Format::Junit, Format::Sarif] {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        render_comparison(&c, format, &mut ours).unwrap();
        render(c.conformance.as_ref().unwrap(), format, &mut theirs).unwrap();
        assert_eq!(ours, theirs);
    }
    let mut without = c.clone();
    without.conformance = None;
    let err = render_comparison(&without, Format::Sarif, &mut Vec::new()).unwrap_err();
    assert!(err.to_string().contains("no conformance results"), "{err}");
}

#[test]
fn table() {
    check(Format::Table);
}

#[test]
fn json() {
    check(Format::Json);
}

#[test]
fn junit() {
    check(Format::Junit);
}

#[test]
fn markdown() {
    check(Format::Markdown);
}

#[test]
fn sarif() {
    check(Format::Sarif);
}

#[test]
fn json_round_trips_and_counts() {
    let r = results();
    assert_eq!(
        (r.summary.pass, r.summary.fail, r.summary.warn, r.summary.skip, r.summary.error),
        (1, 1, 1, 1, 1)
    );
    assert!(r.failed(false));
    let text = serde_json::to_string(&r).unwrap();
    let back: Results = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);
}

/// Every report opens with the findings, and SARIF has one result per
/// finding with its cases as related locations — not one per case.
#[test]
fn reports_lead_with_findings() {
    let r = results();
    let text = |format| {
        let mut out = Vec::new();
        render(&r, format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let html = text(Format::Html);
    let findings_at = html.find("<h2>Findings</h2>").unwrap();
    assert!(findings_at < html.find("Cases not passed").unwrap());
    let markdown = text(Format::Markdown);
    assert!(markdown.find("## Findings").unwrap() < markdown.find("## basic").unwrap());
    let table = text(Format::Table);
    assert!(table.starts_with("Findings — 3 findings"), "{table}");
    let sarif: serde_json::Value = serde_json::from_str(&text(Format::Sarif)).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), r.findings.len());
    for (result, finding) in results.iter().zip(&r.findings) {
        assert_eq!(result["ruleId"], finding.id.as_str());
        let related = result["relatedLocations"].as_array().unwrap();
        assert_eq!(related.len(), finding.cases.len());
    }
    // Old results without findings keep one result per case not passed.
    let mut old = r.clone();
    old.findings.clear();
    let mut out = Vec::new();
    render(&old, Format::Sarif, &mut out).unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 3);
}

/// An OpenAPI check points at its operation's line in the document, so code
/// scanning annotates the spec rather than the catalog.
#[test]
fn sarif_points_openapi_checks_at_their_operation() {
    let mut r = results();
    for c in &mut r.cases {
        c.operation = Some(authbench_reports::OperationRef {
            id: "getOrder".to_owned(),
            method: "GET".to_owned(),
            path: "/orders/{orderId}".to_owned(),
            document: "api/openapi.yaml".to_owned(),
            line: 42,
        });
    }
    let mut out = Vec::new();
    render(&r, Format::Sarif, &mut out).unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "api/openapi.yaml", "{result}");
        assert_eq!(location["region"]["startLine"], 42);
        for related in result["relatedLocations"].as_array().unwrap() {
            assert_eq!(related["physicalLocation"]["region"]["startLine"], 42);
        }
    }
}

/// The OpenAPI matrix: a row per operation, the worst outcome per kind of
/// check, and the skip reasons, in the terminal table, Markdown and HTML.
#[test]
fn the_openapi_matrix_shows_each_operation_s_checks() {
    let op = |id: &str, method: &str, path: &str| authbench_reports::OperationRef {
        id: id.to_owned(),
        method: method.to_owned(),
        path: path.to_owned(),
        document: "openapi.yaml".to_owned(),
        line: 7,
    };
    let mut cases = vec![
        case("openapi::getOrder::control", Outcome::Pass, None),
        case("openapi::getOrder::no-credentials", Outcome::Pass, None),
        case("openapi::getOrder::head-without-credentials", Outcome::Pass, None),
        case("openapi::getOrder::double-slash-without-credentials", Outcome::Fail, None),
        case("openapi::deleteOrder::control", Outcome::Skip, Some("DELETE changes state")),
    ];
    for c in &mut cases[..4] {
        c.operation = Some(op("getOrder", "GET", "/orders/{id}"));
    }
    cases[4].operation = Some(op("deleteOrder", "DELETE", "/orders/{id}"));
    let r = Results::new("t", "2026-11-29T12:00:00Z".to_owned(), 1, cases);
    let text = |format| {
        let mut out = Vec::new();
        render(&r, format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let markdown = text(Format::Markdown);
    assert!(markdown.contains("## OpenAPI operations"), "{markdown}");
    // Variants: one passed, one failed: the cell is the worse.
    let row = markdown.lines().find(|l| l.starts_with("| GET /orders/{id} (getOrder)")).unwrap();
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(&cells[2..4], ["pass", "pass"], "{row}");
    assert_eq!(cells[9], "FAIL", "{row}");
    let delete = markdown.lines().find(|l| l.contains("DELETE /orders/{id}")).unwrap();
    assert!(delete.contains("skip") && delete.contains("DELETE changes state"), "{delete}");
    assert!(text(Format::Table).contains("OpenAPI operations"));
    let html = text(Format::Html);
    assert!(
        html.contains("<h3>OpenAPI operations</h3>")
            && html.contains("<td class=\"fail\">FAIL</td>")
    );
}
