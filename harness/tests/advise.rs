//! `authbench advise` as a user runs it: figures from a quick run when no
//! comparison is saved, clear errors for the mistakes a script can make.
//! Every branch against a saved comparison is checked in compare.rs, which
//! has one at hand.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_authbench");

/// The branches of the guide, as the issue lists them.
const BRANCHES: [&str; 8] = [
    "internal-tool",
    "public-api-own-data",
    "public-api-user-data",
    "mobile-spa",
    "internal-services",
    "zero-trust-services",
    "partners",
    "partners-user-data",
];

fn advise(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .arg("advise")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn without_a_saved_comparison_it_measures_the_recommendation_now() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) =
        advise(dir.path(), &["--for", "public-api-own-data", "--format", "json"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("quick run"), "{stderr}");
    let advice: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(advice["schema"], "authbench.advice/1");
    assert_eq!(advice["for"]["id"], "public-api-own-data");
    assert!(advice["source"]["file"].is_null() && advice["source"]["quick"] == true);
    let rows = advice["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{advice}");
    assert_eq!(rows[0]["configuration"], "api_key");
    for field in ["added_cpu_us_per_request", "throughput_ratio", "added_p50_us"] {
        assert!(rows[0][field].is_number(), "{field}: {advice}");
    }
    let cases = advice["case_outcomes"].as_array().unwrap();
    assert!(cases.len() >= 5);
    assert!(cases.iter().all(|c| c["outcome"] == "pass" && c["title"] != ""), "{advice}");
    // Nothing written into the working directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn mistakes_get_one_clear_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    // Not on a terminal and no --for: say which values there are.
    let (code, _, stderr) = advise(dir.path(), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--for is required"), "{stderr}");
    for branch in BRANCHES {
        assert!(stderr.contains(branch), "{branch} not offered: {stderr}");
    }
    let (code, _, stderr) = advise(dir.path(), &["--for", "blockchain"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--for blockchain") && stderr.contains("partners-user-data"));
    let (code, _, stderr) = advise(dir.path(), &["--for", "partners", "--compare", "missing.json"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--compare missing.json"), "{stderr}");
    std::fs::write(
        dir.path().join("results.json"),
        r#"{"schema":"authbench.results/1","tool":{"name":"authbench","version":"0"},"target":"t","started_at":"x","duration_ms":0,"summary":{"total":0,"pass":0,"fail":0,"warn":0,"skip":0,"error":0},"cases":[]}"#,
    )
    .unwrap();
    let (code, _, stderr) = advise(dir.path(), &["--for", "partners", "--compare", "results.json"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("compare.json"), "{stderr}");
}

#[test]
fn on_a_terminal_it_asks_what_is_being_built() {
    use std::io::{Read, Write};
    // A pseudo-terminal from util-linux `script` (essential on Debian); two
    // arrow-downs and Enter pick the third branch.
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../reports/tests/golden/compare.json");
    let mut child = Command::new("script")
        .args(["-qec", &format!("{BIN} advise --compare {fixture}"), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("util-linux `script` runs the prompt on a pseudo-terminal");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"\x1b[B\x1b[B\r").unwrap();
    stdin.flush().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "the prompt did not finish");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    drop(stdin);
    let text = reader.join().unwrap();
    assert!(status.success(), "{text}");
    assert!(text.contains("What are you building?"), "{text}");
    assert!(
        text.contains("The guide:    OAuth 2.0, the user authorizing each application"),
        "{text}"
    );
    assert!(text.contains("authbench:    OAuth 2.0 authorization code with PKCE"), "{text}");
    // The golden comparison lacks this branch's rows: said, not invented.
    assert!(text.contains("oauth2-jwt: not in this comparison"), "{text}");
}
