//! Server CPU time: from `/proc/<pid>/stat` for the reference servers run as
//! a child process, or from a target's Prometheus `process_cpu_seconds_total`.

use crate::client::{HttpClient, RawRequest};

/// Where server CPU time comes from.
#[derive(Debug, Clone)]
pub enum CpuSource {
    /// A local process: utime + stime from `/proc/<pid>/stat`.
    Proc(u32),
    /// A Prometheus endpoint exposing `process_cpu_seconds_total`.
    Metrics {
        /// The endpoint.
        url: url::Url,
        /// The client to scrape it with.
        client: HttpClient,
    },
    /// Unknown: the report says so.
    None,
}

impl CpuSource {
    /// The process's CPU seconds so far (user + system), if known.
    pub fn seconds(&self) -> Option<f64> {
        match self {
            CpuSource::Proc(pid) => proc_seconds(*pid),
            CpuSource::Metrics { url, client } => {
                // Called between phases, outside any runtime: a small one.
                let runtime =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                let response = runtime.block_on(client.send(&RawRequest::get(url.clone()))).ok()?;
                (response.status == 200).then(|| prometheus_cpu(&response.body_text())).flatten()
            }
            CpuSource::None => None,
        }
    }

    /// For the report.
    pub fn describe(&self) -> String {
        match self {
            CpuSource::Proc(pid) => format!("/proc/{pid}/stat (the reference servers' process)"),
            CpuSource::Metrics { url, .. } => format!("process_cpu_seconds_total at {url}"),
            CpuSource::None => "unknown: the profile has no metrics_url".to_owned(),
        }
    }
}

/// utime + stime of `pid`, in seconds (clock ticks of 1/100 s on Linux).
fn proc_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_proc_stat(&stat)
}

/// Fields 14 and 15 (utime, stime) of a `/proc/<pid>/stat` line, after the
/// parenthesised command name (which may hold spaces).
pub fn parse_proc_stat(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    const CLOCK_TICKS: f64 = 100.0;
    Some((utime + stime) / CLOCK_TICKS)
}

/// The value of `process_cpu_seconds_total` in a Prometheus text exposition.
pub fn prometheus_cpu(text: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (name, value) = l.split_once(char::is_whitespace)?;
        let bare = name.split('{').next()?;
        (bare == "process_cpu_seconds_total")
            .then(|| value.split_whitespace().next()?.parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_and_prometheus_are_read() {
        let stat =
            "1234 (auth bench) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 1 2 3";
        assert_eq!(parse_proc_stat(stat), Some(3.0));
        let text = "# HELP process_cpu_seconds_total CPU.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.5\n";
        assert_eq!(prometheus_cpu(text), Some(12.5));
        assert_eq!(prometheus_cpu("other 1\n"), None);
        assert!(proc_seconds(std::process::id()).is_some());
    }
}
