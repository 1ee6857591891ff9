//! Where results go: the progress line on a terminal, stdout in the chosen
//! format, and every format into `--out`.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use authbench_reports::{Format, Results};

use crate::engine;

/// A one-line progress line on stderr (only when it is a terminal): how
/// many cases are done, how many did not pass, and what is running.
#[derive(Clone)]
pub struct Progress {
    total: usize,
    state: Arc<std::sync::Mutex<ProgressState>>,
}

#[derive(Default)]
struct ProgressState {
    done: usize,
    not_passed: usize,
    running: Vec<String>,
}

/// A progress line over `total` cases.
pub fn progress_line(total: usize) -> Progress {
    Progress { total, state: Arc::default() }
}

impl Progress {
    fn draw(&self, state: &ProgressState) {
        let mut line = format!("[{}/{}]", state.done, self.total);
        if state.not_passed > 0 {
            line.push_str(&format!(" {} not passed ·", state.not_passed));
        }
        line.push_str(" running ");
        line.push_str(&state.running.join(", "));
        // One terminal line: a wrapped line cannot be erased with \r.
        let clipped: String = line.chars().take(110).collect();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{clipped}");
        let _ = err.flush();
    }

    /// Erases the line.
    pub fn finish(&self) {
        let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
    }
}

impl engine::Observer for Progress {
    fn started(&self, id: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.running.push(id.to_owned());
        self.draw(&state);
    }

    fn done(&self, result: &authbench_reports::CaseResult) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.done += 1;
        if !matches!(
            result.outcome,
            authbench_reports::Outcome::Pass | authbench_reports::Outcome::Skip
        ) {
            state.not_passed += 1;
        }
        state.running.retain(|r| r != &result.id);
        self.draw(&state);
    }
}

/// Writes `results` to stdout in `format`, and every format into `out` if
/// given. The table on stdout lists only the cases that did not pass unless
/// `verbose`; the files hold every case.
pub fn emit(
    results: &Results,
    format: Format,
    out: Option<&Path>,
    verbose: bool,
) -> anyhow::Result<()> {
    if let Some(dir) = out {
        emit_files(results, dir)?;
    }
    let mut stdout = std::io::stdout().lock();
    match format {
        Format::Table if !verbose => authbench_reports::table::render_brief(results, &mut stdout)?,
        _ => authbench_reports::render(results, format, &mut stdout)?,
    }
    stdout.flush()?;
    Ok(())
}

/// Writes `results` into `dir` in every format.
pub fn emit_files(results: &Results, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--out {}: cannot create the directory", dir.display()))?;
    for f in Format::ALL {
        let path = dir.join(f.file_name());
        let mut file = std::fs::File::create(&path)
            .with_context(|| format!("--out: cannot write {}", path.display()))?;
        authbench_reports::render(results, f, &mut file)?;
    }
    Ok(())
}
