//! Running consumers we did not write: Python libraries that read our reports.

use std::process::Command;

/// A Python interpreter that can import `module`: `AUTHBENCH_PYTHON`, else
/// `python3`, else Debian's `/usr/bin/python3` (where `apt-get install
/// python3-<module>` puts it; `.ci/run` does).
pub fn python_with(module: &str) -> String {
    let candidates = std::env::var("AUTHBENCH_PYTHON")
        .into_iter()
        .chain(["python3".to_owned(), "/usr/bin/python3".to_owned()]);
    for python in candidates {
        let ok = Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return python;
        }
    }
    panic!(
        "no Python with the `{module}` module: install Debian's python3-{module} (.ci/run does)"
    );
}
