//! The HTML reports opened in headless Chromium: they render (tables and
//! charts in the DOM), log nothing to the console (no script errors, no
//! blocked asset loads), and a screenshot is kept under the target directory.
//!
//! Chromium: `AUTHBENCH_CHROMIUM`, else `chromium` (Debian's package, which
//! `.ci/run` installs), `chromium-browser` or `google-chrome`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> String {
    let candidates = std::env::var("AUTHBENCH_CHROMIUM")
        .into_iter()
        .chain(["chromium", "chromium-browser", "google-chrome"].into_iter().map(str::to_owned));
    for candidate in candidates {
        if Command::new(&candidate).arg("--version").output().is_ok_and(|o| o.status.success()) {
            return candidate;
        }
    }
    panic!("no Chromium: install Debian's `chromium` (.ci/run does) or set AUTHBENCH_CHROMIUM");
}

/// Runs headless Chromium on `page` with `args`; (stdout, console lines).
fn open(page: &Path, args: &[&str]) -> (String, Vec<String>) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console)
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

#[test]
fn the_html_reports_render_without_console_errors() {
    for (page, svgs) in [("compare.html", 2), ("report.html", 0)] {
        let path = golden(page);
        let (dom, console) = open(&path, &["--dump-dom"]);
        assert!(console.is_empty(), "{page}: console output: {console:#?}");
        assert!(dom.contains("<table>"), "{page} did not render its tables:\n{dom}");
        assert_eq!(dom.matches("<svg").count(), svgs, "{page}: charts in the DOM");
        assert!(dom.contains("<polyline") == (svgs > 0), "{page}: chart lines");
        assert!(dom.contains("<polygon") == (svgs > 0), "{page}: the bands across rounds");

        let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        let png = shots.join(page.replace(".html", ".png"));
        let _ = std::fs::remove_file(&png);
        let (_, console) =
            open(&path, &["--window-size=1400,1800", &format!("--screenshot={}", png.display())]);
        assert!(console.is_empty(), "{page}: console output: {console:#?}");
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is not a PNG", png.display());
        // A blank 1400×1800 page compresses to a few kilobytes; ours has text and lines.
        assert!(bytes.len() > 30_000, "{}: {} bytes, blank?", png.display(), bytes.len());
        eprintln!("screenshot kept: {}", png.display());
    }
}

/// The check above can fail: a page that loads an external image (which the
/// reports' Content-Security-Policy blocks) is caught by its console line.
#[test]
fn a_blocked_asset_is_caught() {
    let html = std::fs::read_to_string(golden("compare.html")).unwrap();
    let broken = html.replacen("<h1>", "<img src=\"https://example.invalid/x.png\"><h1>", 1);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("broken.html");
    std::fs::write(&page, broken).unwrap();
    let (_, console) = open(&page, &["--dump-dom"]);
    assert!(
        console.iter().any(|l| l.contains("Content Security Policy")),
        "the blocked load went unnoticed: {console:#?}"
    );
}
