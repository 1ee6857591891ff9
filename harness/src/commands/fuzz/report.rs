//! The run as results (one case per configuration and finding kind) and the
//! reproducers saved for each finding.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) fn case(
    config: &Configuration,
    kind: Kind,
    id: String,
    outcome: Outcome,
    observed: String,
    slow: Duration,
) -> CaseResult {
    let (title, expected, requirements): (String, String, Vec<&str>) = match kind {
        Kind::AcceptsInvalid => (
            format!(
                "{}: mutated credentials that are not equivalent to a valid one are refused",
                config.label
            ),
            "no 2xx for any credential a correct server must refuse".into(),
            match config.method {
                Method::Jwt => vec!["RFC 7515 §5.2", "RFC 7519 §7.2", "RFC 8725 §3.1"],
                Method::Basic => vec!["RFC 7617 §2"],
                Method::ApiKey => vec!["OWASP API2:2023"],
                _ => vec!["RFC 6749 §2.3", "RFC 6749 §3.2"],
            },
        ),
        Kind::ServerError => (
            format!("{}: malformed credentials never cause a server error", config.label),
            "a 4xx for every malformed credential, never 5xx".into(),
            vec!["RFC 9110 §15.5", "OWASP API8:2023"],
        ),
        Kind::ConnectionReset => (
            format!("{}: malformed credentials are answered, never dropped", config.label),
            "an HTTP answer to every request".into(),
            vec!["RFC 9112 §9.6"],
        ),
        Kind::Slow => (
            format!("{}: malformed credentials are refused promptly", config.label),
            format!("every answer within {} ms", slow.as_millis()),
            vec!["OWASP API4:2023"],
        ),
    };
    CaseResult {
        id,
        method: config.method.name().to_owned(),
        title,
        requirements: requirements.into_iter().map(str::to_owned).collect(),
        severity: "must".to_owned(),
        outcome,
        expected,
        observed,
        reason: None,
        duration_ms: 0,
        measurement: None,
        parts: None,
        findings: Vec::new(),
        operation: None,
        threats: Vec::new(),
    }
}

/// Writes the reproducers into `dir/reproducers` (0600: they hold credentials).
pub fn write_reproducers(dir: &Path, reproducers: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    if reproducers.is_empty() {
        return Ok(());
    }
    let dir = dir.join("reproducers");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("--out: cannot create {}", dir.display()))?;
    for (name, bytes) in reproducers {
        let path = dir.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options
            .open(&path)
            .with_context(|| format!("--out: cannot write {}", path.display()))?;
        std::io::Write::write_all(&mut file, bytes)?;
    }
    Ok(())
}
